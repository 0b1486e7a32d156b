//! Hart masks: the (hart_mask, hart_mask_base) pair that names a set of harts.
//!
//! SBI spec, "Binary Encoding", "Hart list parameter": bit n of `hart_mask` names hart
//! `hart_mask_base + n`; a base of all ones (-1) names every hart and ignores the mask.

use crate::call::Xlen;
use crate::error::SbiError;

/// A validated set of harts, every one of them below the machine's hart count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HartMask {
    set: Set,
    hart_count: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Set {
    /// Every hart of the machine.
    All,
    /// Bit n set: hart `base + n`, which exists.
    Bits { base: u32, bits: u64 },
}

impl HartMask {
    /// The set that `hart_mask` and `hart_mask_base` name on a machine with harts
    /// `0..hart_count`, as a caller of width `xlen` passed them.
    ///
    /// A hart beyond the last one is `INVALID_PARAM`, as the spec says for a hart that is not
    /// available; an empty mask names no hart and is valid with any base.
    #[inline]
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
                set: Set::Bits { base: 0, bits: 0 },
                hart_count,
            });
        }
        // The highest hart named is base + the index of the highest set bit; it must exist.
        let highest_bit = 63 - hart_mask.leading_zeros() as u64;
        match hart_mask_base.checked_add(highest_bit) {
            Some(highest) if highest < hart_count as u64 => Ok(Self {
                // highest < hart_count, so the base fits in u32.
                set: Set::Bits {
                    base: hart_mask_base as u32,
                    bits: hart_mask,
                },
                hart_count,
            }),
            _ => Err(SbiError::InvalidParam),
        }
    }

    /// Every hart of a machine with `hart_count` harts.
    #[inline]
    pub const fn all(hart_count: u32) -> Self {
        Self {
            set: Set::All,
            hart_count,
        }
    }

    /// Whether the mask names every hart (a base of -1).
    #[inline]
    pub const fn is_all(&self) -> bool {
        matches!(self.set, Set::All)
    }

    /// Whether `hart` is in the set.
    #[inline]
    pub const fn contains(&self, hart: u32) -> bool {
        match self.set {
            Set::All => hart < self.hart_count,
            Set::Bits { base, bits } => match hart.checked_sub(base) {
                Some(bit) if bit < 64 => bits & (1 << bit) != 0,
                _ => false,
            },
        }
    }

    /// The harts in the set, in increasing order.
    #[inline]
    pub const fn iter(&self) -> HartIter {
        HartIter {
            mask: *self,
            next_of_all: 0,
        }
    }
}

impl IntoIterator for HartMask {
    type Item = u32;
    type IntoIter = HartIter;

    fn into_iter(self) -> HartIter {
        self.iter()
    }
}

/// The harts of a [`HartMask`], in increasing order.
#[derive(Clone, Debug)]
pub struct HartIter {
    mask: HartMask,
    /// For a mask of every hart: the next hart to yield.
    next_of_all: u32,
}

impl Iterator for HartIter {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match &mut self.mask.set {
            Set::All => {
                let hart = self.next_of_all;
                (hart < self.mask.hart_count).then(|| {
                    self.next_of_all = hart + 1;
                    hart
                })
            }
            Set::Bits { base, bits } => {
                if *bits == 0 {
                    return None;
                }
                let bit = bits.trailing_zeros();
                *bits &= *bits - 1;
                // Validated at construction: base + bit < hart_count, so no overflow.
                Some(*base + bit)
            }
        }
    }
}
