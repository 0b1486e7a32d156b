//! The CSR table: one row per CSR, sorted by number.

use super::bits::*;
use super::number::*;
use crate::config::NestedConfig;

/// Where a CSR's value lives in the virtual file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Hstatus,
    Hedeleg,
    Hideleg,
    Hie,
    Htimedelta,
    Hcounteren,
    Hgeie,
    Henvcfg,
    Hstateen0,
    Hstateen1,
    Hstateen2,
    Hstateen3,
    Htval,
    Hvip,
    Htinst,
    Hgatp,
    Hgeip,
    Vsstatus,
    Vstvec,
    Vsscratch,
    Vsepc,
    Vscause,
    Vstval,
    Vstimecmp,
    Vsatp,
}

impl Slot {
    pub(crate) const COUNT: usize = Slot::Vsatp as usize + 1;
}

/// Which part of a 64-bit value a CSR number shows: all of it up to XLEN, or (RV32) bits 63:32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Half {
    Full,
    High,
}

/// How a write becomes the value the CSR holds, and how a read is formed.
#[derive(Clone, Copy)]
pub(crate) enum Rule {
    /// Bits outside the mask are read-only (and stay zero).
    Mask(fn(&NestedConfig) -> u64),
    /// hstatus: VGEIN is WLRL up to GEILEN; VSXL reads 64-bit.
    Hstatus,
    /// hgatp: MODE is an enumerated WARL field (gstage's rule), VMID width, PPN[1:0].
    Hgatp,
    /// vsatp: a write with an unoffered MODE is ignored (as satp's).
    Vsatp,
    /// vstvec: MODE values 2 and 3 are reserved; a write of one is ignored.
    Vstvec,
    /// vsstatus: SD summarises FS/VS/XS; UXL reads 64-bit.
    Vsstatus,
    /// hip: VSSIP is an alias of hvip.VSSIP; VSTIP, VSEIP and SGEIP are computed.
    Hip,
    /// vsip: hip's VS bits shifted down by one, where hideleg delegates them.
    Vsip,
    /// vsie: hie's VS bits shifted down by one, where hideleg delegates them.
    Vsie,
    /// Written only by the engine (hgeip).
    ReadOnly,
}

/// When a CSR exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Needs {
    Always,
    Rv32,
    Sstc,
    Sstc32,
    Smstateen,
    Smstateen32,
    /// Without AIA only: with it, `aia-virt` holds the state (hvip, hgeie, hgeip) or part of
    /// it (hip, vsip, vsie), and the engine answers the CSR (`crate::aia`).
    NoAia,
}

/// What a change of the CSR means to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    None,
    Hgatp,
    Timer,
    Interrupts,
}

/// One CSR of the virtual file.
#[derive(Clone, Copy)]
pub struct CsrRow {
    /// The CSR number.
    pub number: u16,
    /// The spec's name.
    pub name: &'static str,
    pub(crate) slot: Slot,
    pub(crate) half: Half,
    pub(crate) rule: Rule,
    pub(crate) needs: Needs,
    pub(crate) effect: Effect,
}

impl core::fmt::Debug for CsrRow {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({:#x})", self.name, self.number)
    }
}

impl CsrRow {
    /// Whether the CSR exists for `config`.
    pub fn exists(&self, config: &NestedConfig) -> bool {
        let rv32 = config.xlen == crate::config::Xlen::Rv32;
        match self.needs {
            Needs::Always => true,
            Needs::Rv32 => rv32,
            Needs::Sstc => config.sstc,
            Needs::Sstc32 => config.sstc && rv32,
            Needs::Smstateen => config.smstateen,
            Needs::Smstateen32 => config.smstateen && rv32,
            Needs::NoAia => config.aia.is_none(),
        }
    }

    /// Whether every write is refused (the read-only CSR numbers 0xCxx-0xFxx).
    pub fn is_read_only(&self) -> bool {
        matches!(self.rule, Rule::ReadOnly)
    }
}

const fn row(number: u16, name: &'static str, slot: Slot, rule: Rule) -> CsrRow {
    CsrRow {
        number,
        name,
        slot,
        half: Half::Full,
        rule,
        needs: Needs::Always,
        effect: Effect::None,
    }
}

const fn high(number: u16, name: &'static str, slot: Slot, rule: Rule, needs: Needs) -> CsrRow {
    CsrRow {
        number,
        name,
        slot,
        half: Half::High,
        rule,
        needs,
        effect: Effect::None,
    }
}

const fn with(mut row: CsrRow, needs: Needs, effect: Effect) -> CsrRow {
    row.needs = needs;
    row.effect = effect;
    row
}

fn all(_: &NestedConfig) -> u64 {
    u64::MAX
}
fn none(_: &NestedConfig) -> u64 {
    0
}
fn hedeleg(_: &NestedConfig) -> u64 {
    HEDELEG_WRITABLE
}
fn vs_interrupts(_: &NestedConfig) -> u64 {
    VS_INTERRUPTS
}
fn hie(_: &NestedConfig) -> u64 {
    // SGEIE is writable even when GEILEN = 0: the spec allows it (no SGEI can pend, so the
    // bit need not be writable, but may be) and QEMU, the second witness, does so.
    VS_INTERRUPTS | SGEIP
}
fn hgeie(c: &NestedConfig) -> u64 {
    // Bits GEILEN:1; bit 0 never exists.
    ((1u64 << c.geilen.min(63)) - 1) << 1
}
fn hcounteren(c: &NestedConfig) -> u64 {
    u64::from(c.hcounteren_mask)
}
fn henvcfg(c: &NestedConfig) -> u64 {
    let optional = |offered, bit| if offered { bit } else { 0 };
    HENVCFG_FIOM
        | optional(c.sstc, HENVCFG_STCE)
        | optional(c.svadu, HENVCFG_ADUE)
        | optional(c.svpbmt, HENVCFG_PBMTE)
}
fn hstateen0(c: &NestedConfig) -> u64 {
    let aia = if c.aia.is_some() { HSTATEEN_AIA_ALL } else { 0 };
    HSTATEEN_SE0 | HSTATEEN_ENVCFG | aia
}
fn hstateen_se0(_: &NestedConfig) -> u64 {
    HSTATEEN_SE0
}
fn vsepc(_: &NestedConfig) -> u64 {
    // IALIGN is 16 on a hart with C: only bit 0 is zero.
    !1
}

/// Every CSR of the virtual file, sorted by number. The AIA CSRs are not here: they belong
/// to `aia-virt`, and without it they are absent, as on a hart without AIA. With it, the rows
/// whose state `aia-virt` holds (wholly or in part) are absent too (`Needs::NoAia`).
pub static TABLE: [CsrRow; 36] = [
    with(
        row(VSSTATUS, "vsstatus", Slot::Vsstatus, Rule::Vsstatus),
        Needs::Always,
        Effect::Interrupts,
    ),
    with(
        row(VSIE, "vsie", Slot::Hie, Rule::Vsie),
        Needs::NoAia,
        Effect::Interrupts,
    ),
    row(VSTVEC, "vstvec", Slot::Vstvec, Rule::Vstvec),
    row(VSSCRATCH, "vsscratch", Slot::Vsscratch, Rule::Mask(all)),
    row(VSEPC, "vsepc", Slot::Vsepc, Rule::Mask(vsepc)),
    row(VSCAUSE, "vscause", Slot::Vscause, Rule::Mask(all)),
    row(VSTVAL, "vstval", Slot::Vstval, Rule::Mask(all)),
    with(
        row(VSIP, "vsip", Slot::Hvip, Rule::Vsip),
        Needs::NoAia,
        Effect::Interrupts,
    ),
    with(
        row(VSTIMECMP, "vstimecmp", Slot::Vstimecmp, Rule::Mask(all)),
        Needs::Sstc,
        Effect::Timer,
    ),
    with(
        high(
            VSTIMECMPH,
            "vstimecmph",
            Slot::Vstimecmp,
            Rule::Mask(all),
            Needs::Sstc32,
        ),
        Needs::Sstc32,
        Effect::Timer,
    ),
    row(VSATP, "vsatp", Slot::Vsatp, Rule::Vsatp),
    row(HSTATUS, "hstatus", Slot::Hstatus, Rule::Hstatus),
    row(HEDELEG, "hedeleg", Slot::Hedeleg, Rule::Mask(hedeleg)),
    with(
        row(HIDELEG, "hideleg", Slot::Hideleg, Rule::Mask(vs_interrupts)),
        Needs::Always,
        Effect::Interrupts,
    ),
    with(
        row(HIE, "hie", Slot::Hie, Rule::Mask(hie)),
        Needs::Always,
        Effect::Interrupts,
    ),
    with(
        row(HTIMEDELTA, "htimedelta", Slot::Htimedelta, Rule::Mask(all)),
        Needs::Always,
        Effect::Timer,
    ),
    row(
        HCOUNTEREN,
        "hcounteren",
        Slot::Hcounteren,
        Rule::Mask(hcounteren),
    ),
    with(
        row(HGEIE, "hgeie", Slot::Hgeie, Rule::Mask(hgeie)),
        Needs::NoAia,
        Effect::Interrupts,
    ),
    with(
        row(HENVCFG, "henvcfg", Slot::Henvcfg, Rule::Mask(henvcfg)),
        Needs::Always,
        Effect::Timer,
    ),
    with(
        row(
            HSTATEEN0,
            "hstateen0",
            Slot::Hstateen0,
            Rule::Mask(hstateen0),
        ),
        Needs::Smstateen,
        Effect::None,
    ),
    with(
        row(
            HSTATEEN1,
            "hstateen1",
            Slot::Hstateen1,
            Rule::Mask(hstateen_se0),
        ),
        Needs::Smstateen,
        Effect::None,
    ),
    with(
        row(
            HSTATEEN2,
            "hstateen2",
            Slot::Hstateen2,
            Rule::Mask(hstateen_se0),
        ),
        Needs::Smstateen,
        Effect::None,
    ),
    with(
        row(
            HSTATEEN3,
            "hstateen3",
            Slot::Hstateen3,
            Rule::Mask(hstateen_se0),
        ),
        Needs::Smstateen,
        Effect::None,
    ),
    high(
        HEDELEGH,
        "hedelegh",
        Slot::Hedeleg,
        Rule::Mask(none),
        Needs::Rv32,
    ),
    with(
        high(
            HTIMEDELTAH,
            "htimedeltah",
            Slot::Htimedelta,
            Rule::Mask(all),
            Needs::Rv32,
        ),
        Needs::Rv32,
        Effect::Timer,
    ),
    with(
        high(
            HENVCFGH,
            "henvcfgh",
            Slot::Henvcfg,
            Rule::Mask(henvcfg),
            Needs::Rv32,
        ),
        Needs::Rv32,
        Effect::Timer,
    ),
    high(
        HSTATEEN0H,
        "hstateen0h",
        Slot::Hstateen0,
        Rule::Mask(hstateen0),
        Needs::Smstateen32,
    ),
    high(
        HSTATEEN1H,
        "hstateen1h",
        Slot::Hstateen1,
        Rule::Mask(hstateen_se0),
        Needs::Smstateen32,
    ),
    high(
        HSTATEEN2H,
        "hstateen2h",
        Slot::Hstateen2,
        Rule::Mask(hstateen_se0),
        Needs::Smstateen32,
    ),
    high(
        HSTATEEN3H,
        "hstateen3h",
        Slot::Hstateen3,
        Rule::Mask(hstateen_se0),
        Needs::Smstateen32,
    ),
    row(HTVAL, "htval", Slot::Htval, Rule::Mask(all)),
    with(
        row(HIP, "hip", Slot::Hvip, Rule::Hip),
        Needs::NoAia,
        Effect::Interrupts,
    ),
    with(
        row(HVIP, "hvip", Slot::Hvip, Rule::Mask(vs_interrupts)),
        Needs::NoAia,
        Effect::Interrupts,
    ),
    row(HTINST, "htinst", Slot::Htinst, Rule::Mask(all)),
    with(
        row(HGATP, "hgatp", Slot::Hgatp, Rule::Hgatp),
        Needs::Always,
        Effect::Hgatp,
    ),
    with(
        row(HGEIP, "hgeip", Slot::Hgeip, Rule::ReadOnly),
        Needs::NoAia,
        Effect::None,
    ),
];

/// The row for `number`, by binary search of the table (sorted: a test checks it).
pub(crate) fn find(number: u16) -> Option<&'static CsrRow> {
    TABLE
        .binary_search_by_key(&number, |row| row.number)
        .ok()
        .map(|i| &TABLE[i])
}

/// The H-CSR writes the WARL probe replays on real hardware and the tests replay on the
/// virtual file: (CSR number, value written). Read-backs must match line for line.
pub static PROBE_WRITES: [(u16, u64); 16] = [
    (HSTATUS, u64::MAX),
    (HSTATUS, 0),
    (HEDELEG, u64::MAX),
    (HIDELEG, u64::MAX),
    (HIE, u64::MAX),
    (HVIP, u64::MAX),
    (HIP, u64::MAX),
    (HCOUNTEREN, u64::MAX),
    (HGEIE, u64::MAX),
    (HGATP, u64::MAX),
    (HGATP, 8 << 60 | 0x3fff << 44 | 0x8_0003),
    (HGATP, 7 << 60),
    (VSTVEC, u64::MAX),
    (VSEPC, u64::MAX),
    (VSATP, 8 << 60 | 0xffff << 44 | 0x1234),
    (VSSTATUS, u64::MAX),
];
