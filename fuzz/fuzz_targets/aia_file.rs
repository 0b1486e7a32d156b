//! Fuzz target `aia_file`: arbitrary MSIs (any offset, width, value), CSR accesses (any
//! number, origin, select, op), VGEIN changes and hardware attach/detach on a nested AIA with
//! three virtual guest files, from L1 and from L2 (with or without `hstateen0` bits). After
//! every step each file's `topei` and L1's `hgeip` must equal a bit-per-identity reference that
//! scans linearly, `vstopi` must equal a reference that sorts the candidates by the AIA's
//! priority rules, and the L2 projection must agree (real VGEIN, VSEIP, and the `vstopi` L2
//! sees where the projection has no documented limit).
#![no_main]

use aia_virt::hvip::VSEIP;
use aia_virt::iselect::{VsSelect, imsic_reg};
use aia_virt::{
    AiaConfig, CsrError, CsrOp, CsrTrap, FileBacking, GuestFileHardware, Hstateen0, ImsicFile,
    L2Interrupts, MmioOp, NestedAia, NoGuestFileHardware, Origin, PhysGuestFile, Vgein, VsContext,
    Xlen,
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
    /// L1 writes `hvien`, `hvip`, `hvictl`, `hviprio1`, `hviprio2` or `hgeie`.
    L1Csr {
        which: u8,
        value: u64,
    },
    Ctx {
        hideleg: u64,
        sip: u64,
        vsie: u64,
        vstimer: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    size: u8,
    /// L1's `hvien`, `hvip`, `hvictl`, `hviprio1`, `hviprio2` to start from.
    l1: [u64; 5],
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

/// L1 (HS or U), or L2 (VS-mode RV64/RV32 or VU) with all or some `hstateen0` bits.
fn origin_of(o: u8) -> Origin {
    let some = Hstateen0::from_bits_truncate(u64::from(o >> 3) << 58);
    let l2 = |hstateen0, xlen| Origin::L2Supervisor { hstateen0, xlen };
    match o % 8 {
        0 | 1 => Origin::L1Supervisor,
        2 => Origin::L1User,
        3 => l2(Hstateen0::all(), Xlen::Rv64),
        4 => l2(Hstateen0::all(), Xlen::Rv32),
        5 => Origin::L2User {
            hstateen0: some,
            xlen: Xlen::Rv64,
        },
        6 => l2(some, Xlen::Rv64),
        _ => l2(some, Xlen::Rv32),
    }
}

/// L1's `hstateen0` for an L2 VS-mode access (`None` for L1 and VU, which trap regardless).
fn stateen(o: Origin) -> Option<Hstateen0> {
    match o {
        Origin::L2Supervisor { hstateen0, .. } => Some(hstateen0),
        _ => None,
    }
}

/// The default priority position of a major interrupt (smaller is higher): the AIA table,
/// with 14 after 13 and unlisted numbers last in increasing order. Doubled to leave room for
/// an `hvictl` injection just above or below SEI.
fn rank(irq: u64) -> u64 {
    const TABLE: [u64; 36] = [
        47, 23, 46, 45, 22, 44, 43, 21, 42, 41, 20, 40, 11, 3, 7, 9, 1, 5, 12, 10, 2, 6, 13, 14,
        39, 19, 38, 37, 18, 36, 35, 17, 34, 33, 16, 32,
    ];
    2 * TABLE
        .iter()
        .position(|&i| i == irq)
        .map_or(64 + irq, |p| p as u64)
}

/// `vstopi` from raw register values (AIA VS-level chapter): the candidates sorted by
/// (zero-number class, priority number, default position). `file` is the selected guest
/// file's line and `topei` identity, when VGEIN names one.
fn reference_vstopi(
    ctx: &VsContext,
    [hvien, hvip, hvictl, hviprio1, hviprio2]: [u64; 5],
    vgein: u64,
    file: Option<(bool, u64)>,
) -> u64 {
    let on = |v: u64, b: u64| v >> b & 1 != 0;
    let mut vsip = 0;
    if on(ctx.hideleg, 2) && on(hvip, 2) {
        vsip |= 1 << 1;
    }
    if on(ctx.hideleg, 6) && (on(hvip, 6) || ctx.vstimer_pending) {
        vsip |= 1 << 5;
    }
    if on(ctx.hideleg, 10) && (on(hvip, 10) || file.is_some_and(|f| f.0)) {
        vsip |= 1 << 9;
    }
    let high = !0x1FFFu64;
    vsip |= high & ((ctx.hideleg & ctx.sip) | (!ctx.hideleg & hvien & hvip));
    let ready = vsip & ctx.vsie;
    let iid = hvictl >> 16 & 0xFFF;
    let iprio = hvictl & 0xFF;
    let byte_of = |irq: u64| match irq {
        1 => hviprio1 >> 8 & 0xFF,
        5 => hviprio1 >> 24 & 0xFF,
        13..=15 => hviprio1 >> (8 * (irq - 8)) & 0xFF,
        16..=23 => hviprio2 >> (8 * (irq - 16)) & 0xFF,
        _ => 0,
    };
    let mut list = Vec::new();
    if on(ready, 9) {
        let number = match file {
            Some((_, top)) if top != 0 => top,
            None if vgein == 0 && iid == 9 && iprio != 0 => iprio,
            _ => 256,
        };
        list.push((9, number, rank(9)));
    }
    if !on(hvictl, 30) {
        for irq in (0..64).filter(|&i| on(ready, i) && (i == 1 || i == 5 || i >= 13)) {
            list.push((irq, byte_of(irq), rank(irq)));
        }
    } else if iid != 9 {
        let pos = if on(hvictl, 9) {
            rank(9) + 1
        } else {
            rank(9) - 1
        };
        list.push((iid, iprio, pos));
    }
    let above_sei = |pos: u64| pos < rank(9);
    list.sort_by_key(|&(_, number, pos)| {
        let class = match (number, above_sei(pos)) {
            (0, true) => 0,
            (0, false) => 2,
            _ => 1,
        };
        (class, number, pos)
    });
    list.first().map_or(0, |&(irq, number, pos)| {
        let shown = if !on(hvictl, 8) {
            1
        } else if number == 0 {
            if above_sei(pos) { 0 } else { 255 }
        } else {
            number.min(255)
        };
        irq << 16 | shown
    })
}

/// The `vstopi` the real hart shows L2 once the host loads `l2` (real VGEIN = 0).
fn real_vstopi(n: u16, l2: &L2Interrupts, ctx: &VsContext) -> u64 {
    let mut real = NestedAia::<0>::new(AiaConfig::new(n)).unwrap();
    let hw = &mut NoGuestFileHardware;
    let regs = [
        (0x608, l2.hvien),
        (0x645, l2.hvip),
        (0x609, l2.hvictl),
        (0x646, l2.hviprio1),
        (0x647, l2.hviprio2),
    ];
    for (number, v) in regs {
        real.csr_rmw(number, CsrOp::Write(v), Origin::L1Supervisor, ctx, hw)
            .unwrap();
    }
    real.vstopi(ctx, hw).bits()
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
    let mut ctx = VsContext {
        hideleg: !0,
        sip: 0,
        vsie: !0,
        vstimer_pending: false,
    };
    let hs = Origin::L1Supervisor;
    for (number, value) in [0x608, 0x645, 0x609, 0x646, 0x647]
        .into_iter()
        .zip(input.l1)
    {
        aia.csr_rmw(number, CsrOp::Write(value), hs, &ctx, &mut hw)
            .unwrap();
    }

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
                let csrind_off = stateen(o).is_some_and(|h| !h.contains(Hstateen0::CSRIND));
                let file_ok = valid && stateen(o).is_none_or(|h| h.contains(Hstateen0::IMSIC));
                let want = match o {
                    Origin::L1User | Origin::L2User { .. } => None,
                    _ if csrind_off => None,
                    _ if file_ok && (0x70..=0xFF).contains(&sel) => {
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
                    (_, None) if csrind_off => assert_eq!(got, blocked(o), "{op:?}"),
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
                    _ if stateen(o).is_some_and(|h| !h.contains(Hstateen0::IMSIC)) => {
                        assert_eq!(got, blocked(o), "hstateen0.IMSIC = 0")
                    }
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
            Op::L1Csr { which, value } => {
                let numbers = [0x608, 0x645, 0x609, 0x646, 0x647, 0x607];
                let number = numbers[usize::from(which) % numbers.len()];
                aia.csr_rmw(number, CsrOp::Write(value), hs, &ctx, &mut hw)
                    .unwrap();
            }
            Op::Ctx {
                hideleg,
                sip,
                vsie,
                vstimer,
            } => {
                ctx = VsContext {
                    hideleg,
                    sip,
                    vsie,
                    vstimer_pending: vstimer,
                };
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
        let vgein = u64::from(aia.vgein().get());
        let file = usize::try_from(vgein)
            .ok()
            .filter(|g| (1..=GEILEN).contains(g))
            .map(|g| {
                (
                    refs[g].delivery && refs[g].topei() != 0,
                    refs[g].topei() & 0x7FF,
                )
            });
        let regs = [0x608, 0x645, 0x609, 0x646, 0x647]
            .map(|number| aia.csr_read(number, hs, &ctx, &mut hw).unwrap());
        let want = reference_vstopi(&ctx, regs, vgein, file);
        assert_eq!(
            aia.vstopi(&ctx, &mut hw).bits(),
            want,
            "vstopi after {op:?}"
        );
        let l2 = aia.l2_interrupts();
        let (vti, iid) = (regs[2] >> 30 & 1 != 0, regs[2] >> 16 & 0xFFF);
        let limit = (vti && iid != 9) || file.is_some_and(|(_, top)| top > 255);
        let mut round_trip = aia.clone();
        round_trip.save_l2_hvip(l2.hvip, &l2);
        assert_eq!(
            round_trip.hvip(),
            aia.hvip(),
            "hvip copy-back keeps L1's value"
        );
        if l2.vgein == 0 && !limit {
            assert_eq!(real_vstopi(n, &l2, &ctx), want, "L2's vstopi after {op:?}");
        }
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
