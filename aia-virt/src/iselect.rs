//! The `vsiselect` register space: what an access to `vsireg` (or L2's `sireg`) reaches.
//!
//! AIA "CSRs", "Hypervisor and VS CSRs" (the VS select space) and AIA IMSIC, "CSRs for
//! external interrupts via an IMSIC" (registers 0x70-0xFF).

use crate::csr::Xlen;
use crate::imsic_file::WordPart;

/// Bits of `vsiselect` this engine implements: exactly the required 0..=0x1FF (WARL); no
/// custom values are supported. (QEMU keeps the same nine bits.)
pub const VSISELECT_MASK: u64 = 0x1FF;

/// First select of the interrupt-file registers.
pub const IMSIC_FIRST: u64 = 0x70;
/// Last select of the interrupt-file registers.
pub const IMSIC_LAST: u64 = 0xFF;

/// A register of an interrupt file, decoded for one XLEN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImsicReg {
    /// 0x70 `eidelivery`.
    Eidelivery,
    /// 0x72 `eithreshold`.
    Eithreshold,
    /// 0x71, 0x73-0x7F: reserved, read zero, writes ignored.
    Reserved,
    /// 0x80-0xBF `eip0..eip63`.
    Eip(WordPart),
    /// 0xC0-0xFF `eie0..eie63`.
    Eie(WordPart),
}

/// What `vsiselect` designates for an access to `vsireg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VsSelect {
    /// A register of the guest file that `hstatus.VGEIN` selects.
    File(ImsicReg),
    /// An inaccessible register: 0x30-0x3F always, 0x70-0xFF without a valid VGEIN.
    Inaccessible,
    /// An odd `eip`/`eie` number while XLEN = 64: the register does not exist.
    Absent,
    /// A value reserved for other extensions (0x00-0x2F, 0x40-0x6F, 0x100-0x1FF).
    Reserved,
}

/// Decodes a select in 0x70..=0xFF into a file register for `xlen`; `None` outside that range.
///
/// AIA IMSIC, "External interrupt-pending registers": with XLEN = 64 odd `eip`/`eie` numbers
/// do not exist ([`VsSelect::Absent`]).
pub fn imsic_reg(select: u64, xlen: Xlen) -> Option<VsSelect> {
    let reg = match select {
        0x70 => ImsicReg::Eidelivery,
        0x72 => ImsicReg::Eithreshold,
        0x71 | 0x73..=0x7F => ImsicReg::Reserved,
        0x80..=0xBF => match WordPart::of((select - 0x80) as u8, xlen) {
            Some(part) => ImsicReg::Eip(part),
            None => return Some(VsSelect::Absent),
        },
        0xC0..=0xFF => match WordPart::of((select - 0xC0) as u8, xlen) {
            Some(part) => ImsicReg::Eie(part),
            None => return Some(VsSelect::Absent),
        },
        _ => return None,
    };
    Some(VsSelect::File(reg))
}

/// What an access to `vsireg` reaches, given the (stored) `vsiselect`, the accessor's XLEN,
/// and whether the VS guest file is accessible (VGEIN valid and not blocked by stateen).
///
/// AIA "CSRs", "Hypervisor and VS CSRs": 0x30-0x3F inaccessible; 0x70-0xFF the guest file only
/// when VGEIN is a valid guest file number; other values reserved.
pub fn decode(vsiselect: u64, xlen: Xlen, file_accessible: bool) -> VsSelect {
    match (imsic_reg(vsiselect, xlen), vsiselect) {
        (Some(select), _) if file_accessible => select,
        (Some(_), _) | (None, 0x30..=0x3F) => VsSelect::Inaccessible,
        (None, _) => VsSelect::Reserved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iprio_selects_are_inaccessible_at_vs_level() {
        for s in 0x30..=0x3F {
            assert_eq!(decode(s, Xlen::Rv64, true), VsSelect::Inaccessible);
            assert_eq!(decode(s, Xlen::Rv64, false), VsSelect::Inaccessible);
        }
    }

    #[test]
    fn file_registers_are_inaccessible_without_a_valid_vgein() {
        for s in 0x70..=0xFF {
            assert_eq!(decode(s, Xlen::Rv64, false), VsSelect::Inaccessible);
            assert_ne!(decode(s, Xlen::Rv32, true), VsSelect::Inaccessible);
        }
    }

    #[test]
    fn odd_eip_and_eie_numbers_do_not_exist_on_rv64() {
        assert_eq!(decode(0x81, Xlen::Rv64, true), VsSelect::Absent);
        assert_eq!(decode(0xFF, Xlen::Rv64, true), VsSelect::Absent);
        let fields = |p: WordPart| (p.word(), p.shift(), p.bits());
        let VsSelect::File(ImsicReg::Eip(part)) = decode(0x81, Xlen::Rv32, true) else {
            panic!("0x81 is eip1 for RV32 code");
        };
        assert_eq!(fields(part), (0, 32, 32), "upper half of word 0");
        let VsSelect::File(ImsicReg::Eie(part)) = decode(0xFE, Xlen::Rv64, true) else {
            panic!("0xFE is eie62 for RV64 code");
        };
        assert_eq!(fields(part), (31, 0, 64), "all of word 31");
    }

    #[test]
    fn reserved_file_selects_are_reserved_registers() {
        assert_eq!(
            decode(0x71, Xlen::Rv64, true),
            VsSelect::File(ImsicReg::Reserved)
        );
        assert_eq!(
            decode(0x7F, Xlen::Rv64, true),
            VsSelect::File(ImsicReg::Reserved)
        );
    }

    #[test]
    fn selects_outside_the_defined_ranges_are_reserved_with_or_without_a_file() {
        for s in [0, 0x2F, 0x40, 0x6F, 0x100, 0x1FF, u64::MAX] {
            assert_eq!(decode(s, Xlen::Rv64, true), VsSelect::Reserved);
            assert_eq!(decode(s, Xlen::Rv32, false), VsSelect::Reserved);
        }
    }
}
