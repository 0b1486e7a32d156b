//! Property: any sequence of MMIO writes and CSR accesses keeps every guest file consistent —
//! `topei`, `hgeip` and each register read agree with a simple bit-per-identity reference
//! that scans linearly (AIA IMSIC chapter).

mod common;
use aia_virt::{
    AiaConfig, CsrError, CsrOp, CsrTrap, MmioOp, NestedAia, NoGuestFileHardware, Origin, Vgein,
};
use common::{CTX, HS, VS, VS32, num::*};
use proptest::prelude::*;

const GEILEN: usize = 4;

/// One interrupt file as the spec words it: a pending and an enable bit per identity.
#[derive(Clone)]
struct RefFile {
    n: usize,
    pending: Vec<bool>,
    enabled: Vec<bool>,
    threshold: u64,
    delivery: bool,
}

impl RefFile {
    fn new(n: usize) -> Self {
        RefFile {
            n,
            pending: vec![false; 4096],
            enabled: vec![false; 4096],
            threshold: 0,
            delivery: false,
        }
    }

    fn topei(&self) -> u64 {
        for id in 1..=self.n {
            if self.pending[id] && self.enabled[id] {
                let below = self.threshold == 0 || (id as u64) < self.threshold;
                return if below {
                    ((id as u64) << 16) | id as u64
                } else {
                    0
                };
            }
        }
        0
    }

    /// `None`: the register does not exist for this XLEN (odd array register on RV64).
    fn array(&mut self, select: u64, rv32: bool, op: CsrOp) -> Option<u64> {
        let (k, eie) = if select >= 0xC0 {
            (select - 0xC0, true)
        } else {
            (select - 0x80, false)
        };
        if !rv32 && k % 2 == 1 {
            return None;
        }
        let width = if rv32 { 32 } else { 64 };
        let bits = if eie {
            &mut self.enabled
        } else {
            &mut self.pending
        };
        let ids = |b: u64| (32 * k + b) as usize;
        let mut old = 0u64;
        for b in 0..width {
            let id = ids(b);
            if (1..=self.n).contains(&id) && bits[id] {
                old |= 1 << b;
            }
        }
        let mask = if rv32 { 0xFFFF_FFFF } else { u64::MAX };
        let new = match op {
            CsrOp::Read => return Some(old),
            CsrOp::Write(v) => v & mask,
            CsrOp::Set(v) => old | (v & mask),
            CsrOp::Clear(v) => old & !(v & mask),
        };
        for b in 0..width {
            let id = ids(b);
            if (1..=self.n).contains(&id) {
                bits[id] = new >> b & 1 != 0;
            }
        }
        Some(old)
    }

    fn reg(&mut self, select: u64, rv32: bool, op: CsrOp) -> Option<u64> {
        let narrow = |v: u64| if rv32 { v & 0xFFFF_FFFF } else { v };
        let op = match op {
            CsrOp::Read => CsrOp::Read,
            CsrOp::Write(v) => CsrOp::Write(narrow(v)),
            CsrOp::Set(v) => CsrOp::Set(narrow(v)),
            CsrOp::Clear(v) => CsrOp::Clear(narrow(v)),
        };
        match select {
            0x70 => {
                let old = u64::from(self.delivery);
                if let Some(v) = apply(op, old) {
                    self.delivery = v & 1 == 1;
                }
                Some(old)
            }
            0x72 => {
                let old = self.threshold;
                if let Some(v) = apply(op, old) {
                    self.threshold = v & 0x7FF;
                }
                Some(old)
            }
            0x71 | 0x73..=0x7F => Some(0),
            0x80..=0xFF => self.array(select, rv32, op),
            _ => None,
        }
    }
}

fn apply(op: CsrOp, old: u64) -> Option<u64> {
    match op {
        CsrOp::Read => None,
        CsrOp::Write(v) => Some(v),
        CsrOp::Set(v) => Some(old | v),
        CsrOp::Clear(v) => Some(old & !v),
    }
}

#[derive(Clone, Debug)]
enum Step {
    Mmio {
        g: usize,
        offset: u64,
        width: u8,
        value: u64,
    },
    Ireg {
        origin: u8,
        select: u64,
        op: CsrOp,
    },
    Topei {
        origin: u8,
        op: CsrOp,
    },
    Vgein(u64),
}

fn csr_op() -> impl Strategy<Value = CsrOp> {
    let value = prop_oneof![
        any::<u64>(),
        Just(u64::MAX),
        (0u32..64).prop_map(|b| 1u64 << b),
        0u64..2100
    ];
    (0u8..4, value).prop_map(|(k, v)| match k {
        0 => CsrOp::Read,
        1 => CsrOp::Write(v),
        2 => CsrOp::Set(v),
        _ => CsrOp::Clear(v),
    })
}

fn step(n: u16) -> impl Strategy<Value = Step> {
    let identity = prop_oneof![
        4 => 0u64..70,
        2 => 0u64..=u64::from(n) + 2,
        1 => any::<u64>(),
        1 => Just(u64::from(n)),
    ];
    let value = (identity, any::<bool>()).prop_map(|(i, be)| {
        if be {
            u64::from((i as u32).swap_bytes())
        } else {
            i
        }
    });
    prop_oneof![
        4 => (0usize..=GEILEN + 1, prop_oneof![Just(0u64), Just(4), 0u64..0x1004], prop_oneof![Just(4u8), 0u8..9], value)
            .prop_map(|(g, offset, width, value)| Step::Mmio { g, offset, width, value }),
        4 => (0u8..3, prop_oneof![0x70u64..=0xFF, 0u64..0x200], csr_op())
            .prop_map(|(origin, select, op)| Step::Ireg { origin, select, op }),
        2 => (0u8..2, csr_op()).prop_map(|(origin, op)| Step::Topei { origin, op }),
        1 => (0u64..8).prop_map(Step::Vgein),
        1 => (0u64..70).prop_map(|t| Step::Ireg { origin: 0, select: 0x72, op: CsrOp::Write(t) }),
        1 => (0u64..2).prop_map(|t| Step::Ireg { origin: 0, select: 0xC0, op: CsrOp::Set(!t) }),
    ]
}

fn origin(o: u8) -> Origin {
    match o {
        0 => HS,
        1 => VS,
        _ => VS32,
    }
}

fn trap(o: Origin) -> Result<u64, CsrError> {
    let t = if o.from_l2() {
        CsrTrap::VirtualInstruction
    } else {
        CsrTrap::IllegalInstruction
    };
    Err(CsrError::Trap(t))
}

fn run(n: u16, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut aia = NestedAia::<GEILEN>::new(AiaConfig::new(n)).unwrap();
    let hw = &mut NoGuestFileHardware;
    let mut files = vec![RefFile::new(usize::from(n)); GEILEN + 1];
    let mut vgein = 0u64;
    for s in steps {
        let valid = (1..=GEILEN as u64).contains(&vgein);
        match *s {
            Step::Mmio {
                g,
                offset,
                width,
                value,
            } => {
                let got = aia.mmio(g, offset, width, MmioOp::Store(value), hw);
                let ok = width == 4 && offset % 4 == 0 && offset < 0x1000;
                prop_assert_eq!(got.is_ok(), ok);
                let id = match offset {
                    0 => (value as u32) as usize,
                    4 => (value as u32).swap_bytes() as usize,
                    _ => 0,
                };
                if ok && (1..=GEILEN).contains(&g) && (1..=usize::from(n)).contains(&id) {
                    files[g].pending[id] = true;
                }
            }
            Step::Ireg {
                origin: o,
                select,
                op,
            } => {
                let o = origin(o);
                let number = if o.from_l2() { SIREG } else { VSIREG };
                aia.write_then_read(VSISELECT, select, HS, &CTX, hw)
                    .unwrap();
                let got = aia.csr_rmw(number, op, o, &CTX, hw);
                let rv32 = o == VS32;
                let want = match (valid, select & 0x1FF) {
                    (true, sel @ 0x70..=0xFF) if select <= 0x1FF => {
                        files[vgein as usize].reg(sel, rv32, op)
                    }
                    _ => None,
                };
                let inaccessible = matches!(select, 0x30..=0x3F | 0x70..=0xFF);
                match want {
                    Some(v) => prop_assert_eq!(got, Ok(v), "select {:#x} {:?}", select, op),
                    None if inaccessible => prop_assert_eq!(got, trap(o), "select {:#x}", select),
                    // Reserved: illegal instruction from HS and VS alike.
                    None => prop_assert_eq!(
                        got,
                        Err(CsrError::Trap(CsrTrap::IllegalInstruction)),
                        "select {:#x}",
                        select
                    ),
                }
            }
            Step::Topei { origin: o, op } => {
                let o = origin(o);
                let number = if o.from_l2() { STOPEI } else { VSTOPEI };
                let got = aia.csr_rmw(number, op, o, &CTX, hw);
                if valid {
                    let f = &mut files[vgein as usize];
                    let top = f.topei();
                    prop_assert_eq!(got, Ok(top));
                    if op != CsrOp::Read && top != 0 {
                        f.pending[(top & 0x7FF) as usize] = false;
                    }
                } else {
                    prop_assert_eq!(got, trap(o));
                }
            }
            Step::Vgein(v) => {
                aia.set_vgein(Vgein::new(v));
                vgein = v;
            }
        }
        let mut hgeip = 0;
        for (g, f) in files.iter().enumerate().skip(1) {
            prop_assert_eq!(
                aia.topei(g, hw).bits(),
                f.topei(),
                "file {} after {:?}",
                g,
                s
            );
            if f.delivery && f.topei() != 0 {
                hgeip |= 1 << g;
            }
        }
        prop_assert_eq!(aia.hgeip(hw), hgeip);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_msis_and_csr_accesses_keeps_topei_equal_to_the_reference(
        (n, steps) in prop_oneof![Just(63u16), Just(255u16), Just(2047u16)]
            .prop_flat_map(|n| (Just(n), proptest::collection::vec(step(n), 1..120)))
    ) {
        run(n, &steps)?;
    }
}

#[test]
fn the_reference_itself_reports_the_lowest_identity_under_the_threshold() {
    let mut f = RefFile::new(63);
    f.pending[5] = true;
    f.enabled[5] = true;
    f.pending[3] = true;
    assert_eq!(f.topei(), (5 << 16) | 5);
    f.threshold = 5;
    assert_eq!(f.topei(), 0);
}
