//! The AIA CSRs this crate owns, described as data, and the shape of one CSR access.
//!
//! AIA "CSRs" chapter, "Hypervisor and VS CSRs"; Priv spec, hypervisor chapter, "Trap Cause
//! Codes" for the virtual-instruction rule.

use bitflags::bitflags;

/// Width of the code that performs an access (`vsiselect`/`vsireg` are current-XLEN wide).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Xlen {
    /// 32-bit code.
    Rv32,
    /// 64-bit code.
    Rv64,
}

/// What a CSR instruction does to the register (Zicsr): rd always gets the old value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrOp {
    /// CSRRS/CSRRC with rs1 = x0 (or CSRRSI/CSRRCI with uimm = 0): a read, no write.
    Read,
    /// CSRRW/CSRRWI.
    Write(u64),
    /// CSRRS/CSRRSI with a source register or nonzero immediate (a write even if 0).
    Set(u64),
    /// CSRRC/CSRRCI with a source register or nonzero immediate (a write even if 0).
    Clear(u64),
}

impl CsrOp {
    /// Whether the instruction writes the CSR (and so can trap as a write or claim).
    pub const fn writes(self) -> bool {
        !matches!(self, CsrOp::Read)
    }

    /// The value to write given the old one, or `None` for a pure read.
    pub const fn apply(self, old: u64) -> Option<u64> {
        match self {
            CsrOp::Read => None,
            CsrOp::Write(v) => Some(v),
            CsrOp::Set(m) => Some(old | m),
            CsrOp::Clear(m) => Some(old & !m),
        }
    }
}

bitflags! {
    /// The `hstateen0` bits (of L1's virtual `hstateen0`) that gate AIA state for L2.
    ///
    /// AIA "CSRs", "Access control by the state-enable CSRs". L0 is taken to have the matching
    /// `mstateen0` bits set, so a clear bit here means a virtual-instruction trap.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Hstateen0: u64 {
        /// Bit 58: IMSIC guest-file state, `stopei` (really `vstopei`).
        const IMSIC = 1 << 58;
        /// Bit 59: other AIA state, `stopi` (really `vstopi`).
        const AIA = 1 << 59;
        /// Bit 60: `siselect`/`sireg` (really `vsiselect`/`vsireg`).
        const CSRIND = 1 << 60;
    }
}

/// Who executes the CSR instruction, in L1's view of privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// L1 in its virtual HS-mode (virtual V = 0). L1 is RV64.
    L1Supervisor,
    /// L1's own user mode (virtual V = 0, U).
    L1User,
    /// L2 in VS-mode (virtual V = 1), with L1's `hstateen0` and L2's XLEN.
    L2Supervisor {
        /// L1's virtual `hstateen0` (pass `Hstateen0::all()` without Smstateen).
        hstateen0: Hstateen0,
        /// L2's current XLEN.
        xlen: Xlen,
    },
    /// L2 in VU-mode (virtual V = 1).
    L2User {
        /// L1's virtual `hstateen0`.
        hstateen0: Hstateen0,
        /// L2's current XLEN.
        xlen: Xlen,
    },
}

impl Origin {
    /// The XLEN of the accessing code.
    pub const fn xlen(self) -> Xlen {
        match self {
            Origin::L1Supervisor | Origin::L1User => Xlen::Rv64,
            Origin::L2Supervisor { xlen, .. } | Origin::L2User { xlen, .. } => xlen,
        }
    }

    /// Whether the access comes from L2 (virtual V = 1).
    pub const fn from_l2(self) -> bool {
        matches!(self, Origin::L2Supervisor { .. } | Origin::L2User { .. })
    }
}

/// The architectural outcome of a CSR access that does not complete.
///
/// Priv spec, hypervisor chapter, "Trap Cause Codes"; AIA "CSRs", "Hypervisor and VS CSRs".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrTrap {
    /// Raise an illegal-instruction exception (cause 2) in the accessor's view.
    IllegalInstruction,
    /// Raise a virtual-instruction exception (cause 22): for an L2 access, reflect it to L1.
    VirtualInstruction,
}

/// Why a CSR access was not performed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrError {
    /// The access traps with this architectural outcome.
    Trap(CsrTrap),
    /// The number is not a CSR this crate owns for that origin: a routing mistake of the
    /// caller (see [`row_for`]), not a guest action.
    NotAiaCsr,
}

impl From<CsrTrap> for CsrError {
    fn from(trap: CsrTrap) -> Self {
        CsrError::Trap(trap)
    }
}

/// The AIA CSRs, one per row of [`AIA_CSRS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AiaCsr {
    /// Hypervisor virtual-interrupt enables, interrupts 13-63.
    Hvien,
    /// Hypervisor virtual-interrupt control.
    Hvictl,
    /// Hypervisor virtual-interrupt pending (bits 2, 6, 10 and 13-63).
    Hvip,
    /// VS priorities of interrupts 1, 5, 13-15.
    Hviprio1,
    /// VS priorities of interrupts 16-23.
    Hviprio2,
    /// Guest external interrupt enables.
    Hgeie,
    /// Guest external interrupt pending (read-only).
    Hgeip,
    /// VS indirect register select.
    Vsiselect,
    /// VS indirect register alias.
    Vsireg,
    /// VS top external interrupt of the guest file selected by VGEIN.
    Vstopei,
    /// VS top interrupt (read-only).
    Vstopi,
}

/// One AIA CSR as data: its numbers, name, and access properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsrRow {
    /// The CSR's own number (accessible from virtual HS-mode).
    pub number: u16,
    /// The supervisor number that means this CSR while virtual V = 1, if any.
    pub s_alias: Option<u16>,
    /// Which CSR.
    pub csr: AiaCsr,
    /// The assembler name.
    pub name: &'static str,
    /// A write is illegal even in HS-mode (so from L2 too it is illegal, not virtual).
    pub read_only: bool,
    /// The `hstateen0` bit that gates the S alias for L2.
    pub stateen: Hstateen0,
}

const fn row(
    number: u16,
    s_alias: Option<u16>,
    csr: AiaCsr,
    name: &'static str,
    read_only: bool,
    stateen: Hstateen0,
) -> CsrRow {
    CsrRow {
        number,
        s_alias,
        csr,
        name,
        read_only,
        stateen,
    }
}

/// Every CSR this crate owns. AIA "CSRs" tables; hgeie/hgeip from the Priv spec H chapter.
pub const AIA_CSRS: [CsrRow; 11] = [
    row(
        0x608,
        None,
        AiaCsr::Hvien,
        "hvien",
        false,
        Hstateen0::empty(),
    ),
    row(
        0x609,
        None,
        AiaCsr::Hvictl,
        "hvictl",
        false,
        Hstateen0::empty(),
    ),
    row(0x645, None, AiaCsr::Hvip, "hvip", false, Hstateen0::empty()),
    row(
        0x646,
        None,
        AiaCsr::Hviprio1,
        "hviprio1",
        false,
        Hstateen0::empty(),
    ),
    row(
        0x647,
        None,
        AiaCsr::Hviprio2,
        "hviprio2",
        false,
        Hstateen0::empty(),
    ),
    row(
        0x607,
        None,
        AiaCsr::Hgeie,
        "hgeie",
        false,
        Hstateen0::empty(),
    ),
    row(
        0xE12,
        None,
        AiaCsr::Hgeip,
        "hgeip",
        true,
        Hstateen0::empty(),
    ),
    row(
        0x250,
        Some(0x150),
        AiaCsr::Vsiselect,
        "vsiselect",
        false,
        Hstateen0::CSRIND,
    ),
    row(
        0x251,
        Some(0x151),
        AiaCsr::Vsireg,
        "vsireg",
        false,
        Hstateen0::CSRIND,
    ),
    row(
        0x25C,
        Some(0x15C),
        AiaCsr::Vstopei,
        "vstopei",
        false,
        Hstateen0::IMSIC,
    ),
    row(
        0xEB0,
        Some(0xDB0),
        AiaCsr::Vstopi,
        "vstopi",
        true,
        Hstateen0::AIA,
    ),
];

/// The row for `number` as executed by `origin`, and whether it was reached through its S
/// alias. Supervisor numbers belong to this crate only while virtual V = 1 (from L1 they name
/// L1's own S-level state, which is not ours).
pub fn row_for(number: u16, origin: Origin) -> Option<(&'static CsrRow, bool)> {
    AIA_CSRS.iter().find_map(|r| {
        if r.number == number {
            Some((r, false))
        } else if origin.from_l2() && r.s_alias == Some(number) {
            Some((r, true))
        } else {
            None
        }
    })
}

/// Whether `number` executed by `origin` is a CSR this crate owns (for routing).
pub fn owns(number: u16, origin: Origin) -> bool {
    row_for(number, origin).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_table_numbers_and_aliases_are_unique() {
        for (i, a) in AIA_CSRS.iter().enumerate() {
            for b in &AIA_CSRS[i + 1..] {
                assert_ne!(a.number, b.number, "{} vs {}", a.name, b.name);
                assert_ne!(a.csr, b.csr);
                if a.s_alias.is_some() {
                    assert_ne!(a.s_alias, b.s_alias, "{} vs {}", a.name, b.name);
                }
            }
        }
    }

    /// Every variant, in table order; `position` below fails to compile when a variant is
    /// added without being listed.
    const ALL: [AiaCsr; 11] = [
        AiaCsr::Hvien,
        AiaCsr::Hvictl,
        AiaCsr::Hvip,
        AiaCsr::Hviprio1,
        AiaCsr::Hviprio2,
        AiaCsr::Hgeie,
        AiaCsr::Hgeip,
        AiaCsr::Vsiselect,
        AiaCsr::Vsireg,
        AiaCsr::Vstopei,
        AiaCsr::Vstopi,
    ];

    fn position(csr: AiaCsr) -> usize {
        match csr {
            AiaCsr::Hvien => 0,
            AiaCsr::Hvictl => 1,
            AiaCsr::Hvip => 2,
            AiaCsr::Hviprio1 => 3,
            AiaCsr::Hviprio2 => 4,
            AiaCsr::Hgeie => 5,
            AiaCsr::Hgeip => 6,
            AiaCsr::Vsiselect => 7,
            AiaCsr::Vsireg => 8,
            AiaCsr::Vstopei => 9,
            AiaCsr::Vstopi => 10,
        }
    }

    #[test]
    fn every_aia_csr_has_exactly_one_row() {
        for (i, csr) in ALL.iter().enumerate() {
            assert_eq!(position(*csr), i, "{csr:?} listed once");
            let rows = AIA_CSRS.iter().filter(|r| r.csr == *csr).count();
            assert_eq!(rows, 1, "{csr:?}");
        }
        assert_eq!(AIA_CSRS.len(), ALL.len());
    }

    #[test]
    fn supervisor_numbers_are_aia_csrs_only_while_virtual_v_is_one() {
        let l2 = Origin::L2Supervisor {
            hstateen0: Hstateen0::all(),
            xlen: Xlen::Rv64,
        };
        assert!(row_for(0x151, Origin::L1Supervisor).is_none());
        let (r, via_alias) = row_for(0x151, l2).unwrap();
        assert_eq!((r.csr, via_alias), (AiaCsr::Vsireg, true));
        assert_eq!(
            row_for(0x251, l2).map(|(r, a)| (r.csr, a)),
            Some((AiaCsr::Vsireg, false))
        );
    }

    #[test]
    fn csrrs_with_x0_is_not_a_write_but_with_a_zero_register_is() {
        assert!(!CsrOp::Read.writes());
        assert!(CsrOp::Set(0).writes());
        assert_eq!(CsrOp::Set(0).apply(5), Some(5));
        assert_eq!(CsrOp::Clear(4).apply(5), Some(1));
    }
}
