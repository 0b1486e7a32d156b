//! Hart masks: the (hart_mask, hart_mask_base) pair that names a set of harts.
//!
//! SBI spec, "Binary Encoding", "Hart list parameter": bit n of `hart_mask` names hart
//! `hart_mask_base + n`; a base of all ones (-1) names every hart and ignores the mask.

use crate::call::Xlen;
use crate::error::SbiError;

/// A validated set of harts, every one of them below the machine's hart count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HartMask {
    /// Bit n set: hart `base + n` is named.
    bits: u64,
    base: u32,
    hart_count: u32,
}

impl HartMask {
    /// The set that `hart_mask` and `hart_mask_base` name on a machine with harts
    /// `0..hart_count`, as a caller of width `xlen` passed them.
    ///
    /// A hart beyond the last one is `INVALID_PARAM`, as the spec says for a hart that is not
    /// available; an empty mask names no hart and is valid with any base.
    pub const fn from_registers(
        hart_mask: u64,
        hart_mask_base: u64,
        xlen: Xlen,
        hart_count: u32,
    ) -> Result<Self, SbiError> {
        let hart_mask = xlen.truncate(hart_mask);
        let hart_mask_base = xlen.truncate(hart_mask_base);
        if hart_mask_base == xlen.all_ones() {
            return Ok(Self::all(hart_count));
        }
        if hart_mask == 0 {
            return Ok(Self {
                bits: 0,
                base: 0,
                hart_count,
            });
        }
        // The highest hart named is base + the index of the highest set bit; it must exist.
        let highest_bit = 63 - hart_mask.leading_zeros() as u64;
        match hart_mask_base.checked_add(highest_bit) {
            Some(highest) if highest < hart_count as u64 => Ok(Self {
                bits: hart_mask,
                // highest < hart_count, so the base fits in u32.
                base: hart_mask_base as u32,
                hart_count,
            }),
            _ => Err(SbiError::InvalidParam),
        }
    }

    /// Every hart of a machine with `hart_count` harts.
    pub const fn all(hart_count: u32) -> Self {
        Self {
            bits: u64::MAX,
            base: u32::MAX,
            hart_count,
        }
    }

    /// Whether the mask names every hart (a base of -1).
    pub const fn is_all(&self) -> bool {
        self.base == u32::MAX
    }

    /// Whether `hart` is in the set.
    pub const fn contains(&self, hart: u32) -> bool {
        if hart >= self.hart_count {
            false
        } else if self.is_all() {
            true
        } else {
            match hart.checked_sub(self.base) {
                Some(bit) if bit < 64 => self.bits & (1 << bit) != 0,
                _ => false,
            }
        }
    }

    /// The harts in the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let (first, end) = if self.is_all() {
            (0, self.hart_count)
        } else {
            let span = 64 - self.bits.leading_zeros();
            (
                self.base,
                self.base.saturating_add(span).min(self.hart_count),
            )
        };
        (first..end).filter(|&hart| self.contains(hart))
    }
}
