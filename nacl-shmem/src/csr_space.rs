//! The CSR space: one word per H/VS CSR number, and the number-to-slot formula.
//!
//! SBI spec, NACL chapter, "Nested Acceleration Shared Memory", CSR space:
//! `index = ((csr & 0xC00) >> 2) | (csr & 0xFF)` for the CSR numbers with bits 9:8 equal to `10`.
//!
//! A CSR number is a `u16` throughout the crate, on both sides: CSR numbers are 12 bits, and
//! `u16` is what [`CsrSlot::csr`] gives back. The one place a wider value meets a CSR number
//! is the `csr_num` argument of `sync_csr`, an XLEN word; [`crate::provider::CsrTarget::from_arg`]
//! refuses a value above `u16::MAX` there instead of truncating it, so that no argument can
//! alias a valid CSR.

use crate::access::{AccessError, WordAccess, read_xlen};
use crate::layout::{CSR_SLOTS, csr_slot_offset};

/// The slot of one CSR in the CSR space (and its bit in the dirty bitmap): 0..1024.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CsrSlot(u16);

/// A CSR number outside the NACL CSR space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotNaclCsr(pub u16);

impl CsrSlot {
    /// The slot of CSR number `csr`, or `None` if it is not a NACL CSR
    /// (`csr >= 0x1000` or `csr & 0x300 != 0x200`).
    #[inline]
    pub const fn from_csr(csr: u16) -> Option<CsrSlot> {
        if csr >= 0x1000 || csr & 0x300 != 0x200 {
            return None;
        }
        Some(CsrSlot(((csr & 0xC00) >> 2) | (csr & 0xFF)))
    }

    /// The slot with this index, if it is below 1024.
    #[inline]
    pub const fn from_index(index: usize) -> Option<CsrSlot> {
        if index < CSR_SLOTS {
            Some(CsrSlot(index as u16))
        } else {
            None
        }
    }

    /// The slot index, below 1024.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The CSR number this slot holds (the inverse of [`CsrSlot::from_csr`]).
    #[inline]
    pub const fn csr(self) -> u16 {
        ((self.0 & 0x300) << 2) | 0x200 | (self.0 & 0xFF)
    }

    /// The byte offset of the slot's word for `xlen`.
    #[inline]
    pub const fn offset(self, xlen: crate::Xlen) -> usize {
        csr_slot_offset(xlen, self.index())
    }

    /// Every slot, in index order.
    pub fn all() -> impl Iterator<Item = CsrSlot> {
        (0..CSR_SLOTS as u16).map(CsrSlot)
    }
}

impl TryFrom<u16> for CsrSlot {
    type Error = NotNaclCsr;

    fn try_from(csr: u16) -> Result<Self, Self::Error> {
        CsrSlot::from_csr(csr).ok_or(NotNaclCsr(csr))
    }
}

/// Reads the word of `slot` (its low XLEN bits).
#[inline]
pub fn read_slot<M: WordAccess + ?Sized>(mem: &M, slot: CsrSlot) -> Result<u64, AccessError> {
    read_xlen(mem, slot.offset(mem.xlen()))
}

/// Writes the word of `slot` (without touching the dirty bitmap).
#[inline]
pub fn write_slot<M: WordAccess + ?Sized>(
    mem: &mut M,
    slot: CsrSlot,
    value: u64,
) -> Result<(), AccessError> {
    let offset = slot.offset(mem.xlen());
    mem.write_word(offset, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_numbers_without_bits_9_8_equal_10_have_no_slot() {
        for csr in [0x100u16, 0x300, 0x180, 0xF12, 0x1000, 0x1200, u16::MAX] {
            assert_eq!(CsrSlot::from_csr(csr), None, "{csr:#x}");
        }
    }

    #[test]
    fn the_first_and_last_slots_are_vsstatus_and_custom_read_only_0xeff() {
        assert_eq!(CsrSlot::from_csr(0x200).map(CsrSlot::index), Some(0));
        assert_eq!(CsrSlot::from_csr(0xEFF).map(CsrSlot::index), Some(1023));
        assert_eq!(CsrSlot::from_index(1024), None);
    }
}
