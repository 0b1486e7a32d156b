//! Fuzz target `aia_file`: arbitrary MSIs (any offset, width, value), CSR accesses (any
//! number, origin, select, op), VGEIN changes and hardware attach/detach on a nested AIA with
//! three virtual guest files. After every step each file's `topei` and L1's `hgeip` must equal
//! a bit-per-identity reference that scans linearly, and the L2 projection must agree.
#![no_main]

use aia_virt::hvip::VSEIP;
use aia_virt::iselect::{VsSelect, imsic_reg};
use aia_virt::{
    AiaConfig, CsrError, CsrOp, CsrTrap, FileBacking, GuestFileHardware, Hstateen0, ImsicFile,
    MmioOp, NestedAia, Origin, PhysGuestFile, Vgein, VsContext, Xlen,
};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

const GEILEN: usize = 3;
const SIZES: [u16; 4] = [63, 127, 255, 2047];

#[derive(Arbitrary, Debug)]
enum Op {
    Mmio {
        g: u8,
        offset: u16,
        width: u8,
        value: u32,
        kind: u8,
    },
    Ireg {
        origin: u8,
        select: u16,
        kind: u8,
        value: u64,
    },
    Topei {
        origin: u8,
        kind: u8,
    },
    Csr {
        origin: u8,
        number: u16,
        kind: u8,
        value: u64,
    },
    Msi {
        g: u8,
        id: u8,
    },
    Threshold {
        t: u8,
    },
    Vgein(u8),
    Attach {
        g: u8,
        p: u8,
    },
    Detach {
        g: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    size: u8,
    ops: Vec<Op>,
}

/// Real guest files 1..=4, modelled in software.
struct Hardware([ImsicFile; 5]);

impl GuestFileHardware for Hardware {
    fn ireg_rmw(&mut self, file: PhysGuestFile, iselect: u16, op: CsrOp) -> u64 {
        let Some(f) = self.0.get_mut(usize::from(file.get())) else {
            return 0;
        };
        match imsic_reg(u64::from(iselect), Xlen::Rv64) {
            Some(VsSelect::File(reg)) => f.rmw_reg(reg, op),
            other => panic!("engine sent select {iselect:#x} ({other:?}) to the hardware"),
        }
    }
    fn topei_rmw(&mut self, file: PhysGuestFile, claim: bool) -> u64 {
        let op = if claim { CsrOp::Write(0) } else { CsrOp::Read };
        self.0
            .get_mut(usize::from(file.get()))
            .map_or(0, |f| f.rmw_topei(op))
    }
    fn set_eipnum(&mut self, file: PhysGuestFile, identity: u32) {
        if let Some(f) = self.0.get_mut(usize::from(file.get())) {
            f.set_eipnum(u64::from(identity));
        }
    }
    fn hgeip(&mut self) -> u64 {
        (1..5)
            .filter(|&p| self.0[p].signal())
            .fold(0, |v, p| v | 1 << p)
    }
}

/// One file as the spec words it.
#[derive(Clone)]
struct Reference {
    n: usize,
    pending: [bool; 2048],
    enabled: [bool; 2048],
    threshold: u64,
    delivery: bool,
}

impl Reference {
    fn topei(&self) -> u64 {
        match (1..=self.n).find(|&i| self.pending[i] && self.enabled[i]) {
            Some(i) if self.threshold == 0 || (i as u64) < self.threshold => {
                ((i as u64) << 16) | i as u64
            }
            _ => 0,
        }
    }

    /// A CSR op on register `select`; `None` if that register does not exist.
    fn reg(&mut self, select: u64, rv32: bool, op: CsrOp) -> Option<u64> {
        let mask = if rv32 { 0xFFFF_FFFF } else { u64::MAX };
        let new = |old: u64| match op {
            CsrOp::Read => None,
            CsrOp::Write(v) => Some(v & mask),
            CsrOp::Set(v) => Some(old | (v & mask)),
            CsrOp::Clear(v) => Some(old & !(v & mask)),
        };
        match select {
            0x70 => {
                let old = u64::from(self.delivery);
                if let Some(v) = new(old) {
                    self.delivery = v & 1 != 0;
                }
                Some(old)
            }
            0x72 => {
                let old = self.threshold;
                if let Some(v) = new(old) {
                    self.threshold = v & 0x7FF;
                }
                Some(old)
            }
            0x71 | 0x73..=0x7F => Some(0),
            0x80..=0xFF => {
                let (k, bits) = if select >= 0xC0 {
                    (select - 0xC0, &mut self.enabled)
                } else {
                    (select - 0x80, &mut self.pending)
                };
                if !rv32 && k % 2 == 1 {
                    return None;
                }
                let width = if rv32 { 32 } else { 64 };
                let n = self.n;
                let id = |b: u64| (32 * k + b) as usize;
                let old = (0..width)
                    .filter(|&b| (1..=n).contains(&id(b)) && bits[id(b)])
                    .fold(0u64, |v, b| v | 1 << b);
                if let Some(v) = new(old) {
                    for b in (0..width).filter(|&b| (1..=n).contains(&id(b))) {
                        bits[id(b)] = v >> b & 1 != 0;
                    }
                }
                Some(old)
            }
            _ => None,
        }
    }
}

fn op_of(kind: u8, value: u64) -> CsrOp {
    match kind % 4 {
        0 => CsrOp::Read,
        1 => CsrOp::Write(value),
        2 => CsrOp::Set(value),
        _ => CsrOp::Clear(value),
    }
}

fn origin_of(o: u8) -> Origin {
    let hstateen0 = Hstateen0::from_bits_truncate(u64::from(o) << 58);
    match o % 6 {
        0 | 1 => Origin::L1Supervisor,
        2 => Origin::L1User,
        3 => Origin::L2Supervisor {
            hstateen0: Hstateen0::all(),
            xlen: Xlen::Rv64,
        },
        4 => Origin::L2Supervisor {
            hstateen0: Hstateen0::all(),
            xlen: Xlen::Rv32,
        },
        _ => Origin::L2User {
            hstateen0,
            xlen: Xlen::Rv64,
        },
    }
}

fn blocked(o: Origin) -> Result<u64, CsrError> {
    let t = if o.from_l2() {
        CsrTrap::VirtualInstruction
    } else {
        CsrTrap::IllegalInstruction
    };
    Err(CsrError::Trap(t))
}

fuzz_target!(|input: Input| {
    let n = SIZES[usize::from(input.size) % SIZES.len()];
    let Ok(mut aia) = NestedAia::<GEILEN>::new(AiaConfig::new(n)) else {
        return;
    };
    let blank = ImsicFile::new(n).unwrap();
    let mut hw = Hardware(core::array::from_fn(|_| blank.clone()));
    let empty = Reference {
        n: usize::from(n),
        pending: [false; 2048],
        enabled: [false; 2048],
        threshold: 0,
        delivery: false,
    };
    let mut refs = [empty.clone(), empty.clone(), empty.clone(), empty];
    let ctx = VsContext {
        hideleg: !0,
        sip: 0,
        vsie: !0,
        vstimer_pending: false,
    };
    let hs = Origin::L1Supervisor;

    for op in input.ops.iter().take(512) {
        let vgein = aia.vgein().get() as usize;
        let valid = (1..=GEILEN).contains(&vgein);
        match *op {
            Op::Mmio {
                g,
                offset,
                width,
                value,
                kind,
            } => {
                let (g, offset) = (usize::from(g % 5), u64::from(offset));
                let mop = match kind % 3 {
                    0 => MmioOp::Store(u64::from(value)),
                    1 => MmioOp::Load,
                    _ => MmioOp::Amo,
                };
                let got = aia.mmio(g, offset, width, mop, &mut hw);
                let ok = width == 4 && offset % 4 == 0 && offset < 0x1000 && mop != MmioOp::Amo;
                assert_eq!(got.is_ok(), ok, "{op:?}");
                assert!(got.is_err() || got == Ok(0));
                let id = match offset {
                    0 => value as usize,
                    4 => value.swap_bytes() as usize,
                    _ => 0,
                };
                if ok
                    && matches!(mop, MmioOp::Store(_))
                    && (1..=GEILEN).contains(&g)
                    && (1..=usize::from(n)).contains(&id)
                {
                    refs[g].pending[id] = true;
                }
            }
            Op::Ireg {
                origin,
                select,
                kind,
                value,
            } => {
                // Mostly the file's registers; raw selects (top bit) for the rest of the space.
                let select = if select & 0x8000 != 0 {
                    select & 0x7FFF
                } else {
                    0x70 + select % 0x90
                };
                let o = origin_of(origin);
                let cop = op_of(kind, value);
                aia.write_then_read(0x250, u64::from(select), hs, &ctx, &mut hw)
                    .unwrap();
                let number = if o.from_l2() { 0x151 } else { 0x251 };
                let got = aia.csr_rmw(number, cop, o, &ctx, &mut hw);
                let sel = u64::from(select) & 0x1FF;
                let want = match o {
                    Origin::L1User | Origin::L2User { .. } => None,
                    _ if valid && (0x70..=0xFF).contains(&sel) => {
                        refs[vgein].reg(sel, o.xlen() == Xlen::Rv32, cop)
                    }
                    _ => None,
                };
                let reserved = !matches!(sel, 0x30..=0x3F | 0x70..=0xFF);
                match (o, want) {
                    (Origin::L1User, _) => {
                        assert_eq!(got, Err(CsrError::Trap(CsrTrap::IllegalInstruction)))
                    }
                    (Origin::L2User { .. }, _) => assert_eq!(got, blocked(o), "{op:?}"),
                    (_, Some(v)) => assert_eq!(got, Ok(v), "{op:?}"),
                    (_, None) if reserved => assert_eq!(
                        got,
                        Err(CsrError::Trap(CsrTrap::IllegalInstruction)),
                        "{op:?}"
                    ),
                    (_, None) => assert_eq!(got, blocked(o), "{op:?}"),
                }
            }
            Op::Topei { origin, kind } => {
                let o = origin_of(origin);
                let cop = op_of(kind, 0);
                let number = if o.from_l2() { 0x15C } else { 0x25C };
                let got = aia.csr_rmw(number, cop, o, &ctx, &mut hw);
                match o {
                    Origin::L1User => {
                        assert_eq!(got, Err(CsrError::Trap(CsrTrap::IllegalInstruction)))
                    }
                    Origin::L2User { .. } => assert_eq!(got, blocked(o)),
                    _ if valid => {
                        let top = refs[vgein].topei();
                        assert_eq!(got, Ok(top));
                        if cop.writes() && top != 0 {
                            refs[vgein].pending[(top & 0x7FF) as usize] = false;
                        }
                    }
                    _ => assert_eq!(got, blocked(o)),
                }
            }
            Op::Csr {
                origin,
                number,
                kind,
                value,
            } => {
                // Every CSR number except the file window (modelled above): must not panic,
                // and must leave the files alone.
                if matches!(number, 0x251 | 0x151 | 0x25C | 0x15C) {
                    continue;
                }
                let _ = aia.csr_rmw(number, op_of(kind, value), origin_of(origin), &ctx, &mut hw);
                let _ = aia.vstopi(&ctx, &mut hw);
            }
            Op::Msi { g, id } => {
                // Small identities, so that they meet the enabled bits and the threshold.
                let (g, id) = (usize::from(g % 5), u32::from(id % 80));
                aia.send_msi(g, id, &mut hw);
                if (1..=GEILEN).contains(&g) && (1..=u32::from(n)).contains(&id) {
                    refs[g].pending[id as usize] = true;
                }
            }
            Op::Threshold { t } => {
                // Small thresholds, or (top bit) one just around the file's best identity.
                let best = refs.get(vgein).and_then(|r| {
                    (1..=r.n)
                        .find(|&i| r.pending[i] && r.enabled[i])
                        .map(|i| i as u64)
                });
                let t = match best {
                    Some(b) if t & 0x80 != 0 => (b + u64::from(t % 3)).saturating_sub(1),
                    _ => u64::from(t % 80),
                };
                aia.write_then_read(0x250, 0x72, hs, &ctx, &mut hw).unwrap();
                let got = aia.write_then_read(0x251, t, hs, &ctx, &mut hw);
                if valid {
                    refs[vgein].threshold = t;
                    assert_eq!(got, Ok(t));
                } else {
                    assert_eq!(got, blocked(hs));
                }
            }
            Op::Vgein(v) => {
                // Mostly 0..=4 (no file, the three files, one past GEILEN); raw values too.
                let v = if v & 0x80 != 0 { v & 0x3F } else { v % 5 };
                aia.set_vgein(Vgein::new(u64::from(v)));
            }
            Op::Attach { g, p } => {
                if let Some(p) = PhysGuestFile::new(p % 5) {
                    let used =
                        (1..=GEILEN).any(|x| aia.backing(x) == Some(FileBacking::Hardware(p)));
                    if !used {
                        let g = usize::from(g % 5);
                        if aia.prepare_hardware(g, p, &mut hw).is_ok() {
                            aia.attach_hardware(g, p, &mut hw).unwrap();
                        }
                    }
                }
            }
            Op::Detach { g } => {
                aia.detach_hardware(usize::from(g % 5), &mut hw);
            }
        }

        let mut hgeip = 0u64;
        for g in 1..=GEILEN {
            let want = refs[g].topei();
            assert_eq!(aia.topei(g, &mut hw).bits(), want, "file {g} after {op:?}");
            if refs[g].delivery && want != 0 {
                hgeip |= 1 << g;
            }
        }
        assert_eq!(aia.hgeip(&mut hw), hgeip, "after {op:?}");
        let l2 = aia.l2_interrupts();
        match aia
            .selected_file()
            .and_then(|g| aia.backing(g).map(|b| (g, b)))
        {
            Some((_, FileBacking::Hardware(p))) => assert_eq!(l2.vgein, p.get()),
            Some((g, FileBacking::Emulated)) => {
                assert_eq!(l2.vgein, 0);
                if hgeip >> g & 1 != 0 {
                    assert_eq!(l2.hvip & VSEIP, VSEIP);
                }
            }
            None => assert_eq!(l2.vgein, 0),
        }
    }
});
