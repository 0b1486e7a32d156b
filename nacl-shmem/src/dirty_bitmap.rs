//! The CSR dirty bitmap: one bit per CSR slot, set by L1 after it writes a slot.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized CSR". Bit `i` is bit `i % XLEN` of
//! little-endian word `i / XLEN` at 0x0F80, which is also bit `i % 8` of byte `0x0F80 + i / 8`
//! (how Linux and Xvisor address it).

use crate::Xlen;
use crate::access::{AccessError, WordAccess, read_xlen, read_xlen_acquire};
use crate::csr_space::CsrSlot;
use crate::layout::{CSR_SLOTS, dirty_bitmap_word_offset, dirty_bitmap_words};

/// Where the dirty bit of `slot` lives: the byte offset of its word and the bit in that word.
#[inline]
pub const fn dirty_bit_location(xlen: Xlen, slot: CsrSlot) -> (usize, u32) {
    let bits = xlen.bits() as usize;
    (
        dirty_bitmap_word_offset(xlen, slot.index() / bits),
        (slot.index() % bits) as u32,
    )
}

/// Whether the dirty bit of `slot` is set.
#[inline]
pub fn is_dirty<M: WordAccess + ?Sized>(mem: &M, slot: CsrSlot) -> Result<bool, AccessError> {
    let (offset, bit) = dirty_bit_location(mem.xlen(), slot);
    Ok(read_xlen_acquire(mem, offset)? >> bit & 1 == 1)
}

/// Sets the dirty bit of `slot` (a read-modify-write of its word, released).
#[inline]
pub fn set_dirty<M: WordAccess + ?Sized>(mem: &mut M, slot: CsrSlot) -> Result<(), AccessError> {
    let (offset, bit) = dirty_bit_location(mem.xlen(), slot);
    let word = read_xlen(mem, offset)?;
    mem.write_word_release(offset, word | 1 << bit)
}

/// Clears the dirty bit of `slot` (a read-modify-write of its word, released).
#[inline]
pub fn clear_dirty<M: WordAccess + ?Sized>(mem: &mut M, slot: CsrSlot) -> Result<(), AccessError> {
    let (offset, bit) = dirty_bit_location(mem.xlen(), slot);
    let word = read_xlen(mem, offset)?;
    if word >> bit & 1 == 0 {
        return Ok(());
    }
    mem.write_word_release(offset, word & !(1 << bit))
}

/// A copy of the whole dirty bitmap, each word read once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirtyBitmap {
    /// Bit `i` of the bitmap is bit `i % 64` of `chunks[i / 64]`, whatever the XLEN.
    chunks: [u64; CSR_SLOTS / 64],
}

impl DirtyBitmap {
    /// Reads every word of the bitmap once (acquire).
    pub fn read<M: WordAccess + ?Sized>(mem: &M) -> Result<DirtyBitmap, AccessError> {
        let xlen = mem.xlen();
        let mut bitmap = DirtyBitmap::default();
        for word in 0..dirty_bitmap_words(xlen) {
            let value = read_xlen_acquire(mem, dirty_bitmap_word_offset(xlen, word))?;
            bitmap.set_word(xlen, word, value);
        }
        Ok(bitmap)
    }

    /// Word `word` of the bitmap as XLEN bits (`word` below the number of bitmap words).
    pub fn word(&self, xlen: Xlen, word: usize) -> u64 {
        match xlen {
            Xlen::Rv64 => self.chunks.get(word).copied().unwrap_or(0),
            Xlen::Rv32 => {
                let chunk = self.chunks.get(word / 2).copied().unwrap_or(0);
                chunk >> (32 * (word % 2)) & xlen.mask()
            }
        }
    }

    fn set_word(&mut self, xlen: Xlen, word: usize, value: u64) {
        let (chunk, shift) = match xlen {
            Xlen::Rv64 => (word, 0),
            Xlen::Rv32 => (word / 2, 32 * (word % 2)),
        };
        if let Some(chunk) = self.chunks.get_mut(chunk) {
            *chunk |= value << shift;
        }
    }

    /// Marks `slot` dirty in this copy.
    pub fn insert(&mut self, slot: CsrSlot) {
        self.chunks[slot.index() / 64] |= 1 << (slot.index() % 64);
    }

    /// Marks `slot` clean in this copy.
    pub fn remove(&mut self, slot: CsrSlot) {
        self.chunks[slot.index() / 64] &= !(1 << (slot.index() % 64));
    }

    /// Whether `slot` is dirty in this copy.
    pub fn contains(&self, slot: CsrSlot) -> bool {
        self.chunks[slot.index() / 64] >> (slot.index() % 64) & 1 == 1
    }

    /// How many slots are dirty.
    pub fn count(&self) -> usize {
        self.chunks.iter().map(|c| c.count_ones() as usize).sum()
    }

    /// Whether no slot is dirty.
    pub fn is_empty(&self) -> bool {
        self.chunks.iter().all(|c| *c == 0)
    }

    /// The dirty slots, in index order (at most 1024 steps).
    pub fn iter(&self) -> impl Iterator<Item = CsrSlot> + '_ {
        self.chunks.iter().enumerate().flat_map(|(n, chunk)| {
            let mut rest = *chunk;
            core::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                CsrSlot::from_index(n * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ByteShmem;

    #[test]
    fn the_dirty_bit_of_index_i_is_bit_i_mod_8_of_byte_0xf80_plus_i_div_8() {
        for xlen in Xlen::ALL {
            let mut bytes = [0u8; 0x3000];
            let mut mem = ByteShmem::new(&mut bytes, xlen).unwrap();
            let slot = CsrSlot::from_index(0x10D).unwrap();
            set_dirty(&mut mem, slot).unwrap();
            assert_eq!(mem.bytes()[0xF80 + 0x10D / 8], 1 << (0x10D % 8));
            assert!(is_dirty(&mem, slot).unwrap());
            clear_dirty(&mut mem, slot).unwrap();
            assert!(mem.bytes()[0xF80..0x1000].iter().all(|b| *b == 0));
        }
    }

    #[test]
    fn the_bitmap_copy_lists_dirty_slots_in_index_order() {
        let mut bytes = [0u8; 0x2000];
        let mut mem = ByteShmem::new(&mut bytes, Xlen::Rv32).unwrap();
        for index in [1023, 5, 64, 33] {
            set_dirty(&mut mem, CsrSlot::from_index(index).unwrap()).unwrap();
        }
        let bitmap = DirtyBitmap::read(&mem).unwrap();
        let dirty: [usize; 4] = core::array::from_fn(|n| bitmap.iter().nth(n).unwrap().index());
        assert_eq!(dirty, [5, 33, 64, 1023]);
        assert_eq!(bitmap.count(), 4);
    }
}
