//! Address arguments: the ranges RFENCE takes and the physical memory DBCN and NACL take.

use crate::call::Xlen;

/// The address range of a remote fence.
///
/// SBI spec, RFENCE extension: `start_addr == 0 && size == 0`, or `size` of all ones,
/// means the whole address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FenceRange {
    /// Every address.
    All,
    /// `size` bytes from `start`; `start + size` does not pass the end of the address space.
    Range {
        /// First address.
        start: u64,
        /// Length in bytes.
        size: u64,
    },
}

impl FenceRange {
    /// The range of `(start_addr, size)` from a caller of width `xlen`, or `None` when it runs
    /// past the end of the address space (the spec's `INVALID_ADDRESS`).
    #[inline]
    pub const fn from_registers(start: u64, size: u64, xlen: Xlen) -> Option<Self> {
        let (start, size) = (xlen.truncate(start), xlen.truncate(size));
        if (start == 0 && size == 0) || size == xlen.all_ones() {
            return Some(Self::All);
        }
        // Both fit in XLEN bits, so the sum fits in u128; the range may end exactly at 2^XLEN.
        if start as u128 + size as u128 > 1u128 << xlen.bits() {
            None
        } else {
            Some(Self::Range { start, size })
        }
    }

    /// Whether `address` is in the range.
    #[inline]
    pub const fn contains(&self, address: u64) -> bool {
        match *self {
            Self::All => true,
            Self::Range { start, size } => address >= start && address - start < size,
        }
    }
}

/// Physical memory that a caller names with a length and a (low, high) address pair.
///
/// SBI spec, "Binary Encoding", "Shared memory physical address range parameter": the
/// address is the 2×XLEN value `base_hi:base_lo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhysicalRange {
    /// The first byte's physical address.
    pub base: u64,
    /// The number of bytes.
    pub len: u64,
}

impl PhysicalRange {
    /// Bits of physical address a caller of width `xlen` can reach: 34 with Sv32, 56 on RV64
    /// (priv spec, "Supervisor-Level ISA": the widest physical address of each XLEN).
    #[inline]
    pub const fn address_bits(xlen: Xlen) -> u32 {
        match xlen {
            Xlen::Rv32 => 34,
            Xlen::Rv64 => 56,
        }
    }

    /// The range `len` bytes from `base_hi:base_lo`, or `None` when any of it lies beyond the
    /// physical address space of a caller of width `xlen`.
    #[inline]
    pub const fn from_registers(len: u64, base_lo: u64, base_hi: u64, xlen: Xlen) -> Option<Self> {
        let (len, lo, hi) = (
            xlen.truncate(len),
            xlen.truncate(base_lo),
            xlen.truncate(base_hi),
        );
        let base = lo as u128 | ((hi as u128) << xlen.bits());
        match base.checked_add(len as u128) {
            // The end is at most 2^56, so the base fits in u64.
            Some(end) if end <= 1u128 << Self::address_bits(xlen) => Some(Self {
                base: base as u64,
                len,
            }),
            _ => None,
        }
    }
}
