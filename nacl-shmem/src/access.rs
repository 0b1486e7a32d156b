//! Word access to the shared memory: the one thing both sides need from their host.
//!
//! SBI spec, binary encoding chapter, "Shared Memory Physical Address Range Parameter": the
//! shared memory is little-endian. An L0 usually reaches L1's shared memory through guest
//! memory, so every operation of this crate goes through [`WordAccess`], one XLEN word at a
//! time, and an L0 can work in place without copying 12 KiB per call.

use crate::Xlen;
use crate::layout::{Shmem32, Shmem64};
use zerocopy::IntoBytes;

/// Why a word could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// The offset lies outside the shared memory (or is not a multiple of the word size).
    OutOfBounds {
        /// The byte offset that was asked for.
        offset: usize,
    },
    /// The host could not reach the memory (for example an unbacked guest-physical page).
    Fault {
        /// The byte offset that was asked for.
        offset: usize,
    },
}

/// Read and write one XLEN word of the shared memory at a byte offset.
///
/// Offsets are relative to the start of the shared memory and always a multiple of
/// `xlen().word_bytes()`. Words are little-endian in memory; values are passed zero-extended
/// to `u64`, and a write on RV32 stores the low 32 bits.
///
/// The `_acquire` / `_release` forms are used for the words that publish or consume other
/// words (the HFENCE `Config` word, the dirty bitmap). An implementation over memory that
/// another hart writes at the same time orders them (a `fence r,rw` after the read, a
/// `fence rw,w` before the write); the defaults are the plain accesses, which suffice when
/// only one hart touches the memory at a time, as the NACL protocol arranges.
pub trait WordAccess {
    /// L1's XLEN, which sets the word size and the layout.
    fn xlen(&self) -> Xlen;

    /// Reads the word at `offset`.
    fn read_word(&self, offset: usize) -> Result<u64, AccessError>;

    /// Writes the word at `offset` (only the low XLEN bits of `value`).
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError>;

    /// Reads the word at `offset`; later accesses are ordered after it (acquire).
    fn read_word_acquire(&self, offset: usize) -> Result<u64, AccessError> {
        self.read_word(offset)
    }

    /// Writes the word at `offset`; earlier accesses are ordered before it (release).
    fn write_word_release(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        self.write_word(offset, value)
    }
}

impl<T: WordAccess + ?Sized> WordAccess for &mut T {
    #[inline]
    fn xlen(&self) -> Xlen {
        (**self).xlen()
    }
    #[inline]
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        (**self).read_word(offset)
    }
    #[inline]
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        (**self).write_word(offset, value)
    }
    #[inline]
    fn read_word_acquire(&self, offset: usize) -> Result<u64, AccessError> {
        (**self).read_word_acquire(offset)
    }
    #[inline]
    fn write_word_release(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        (**self).write_word_release(offset, value)
    }
}

/// Reads the word at `offset` as L1's XLEN bits: whatever a [`WordAccess`] returns above them
/// (an RV32 implementation that sign-extends, say) never reaches a caller. Every value this
/// crate takes from the shared memory goes through here or [`read_xlen_acquire`].
#[inline]
pub(crate) fn read_xlen<M: WordAccess + ?Sized>(
    mem: &M,
    offset: usize,
) -> Result<u64, AccessError> {
    Ok(mem.read_word(offset)? & mem.xlen().mask())
}

/// [`read_xlen`] with acquire ordering.
#[inline]
pub(crate) fn read_xlen_acquire<M: WordAccess + ?Sized>(
    mem: &M,
    offset: usize,
) -> Result<u64, AccessError> {
    Ok(mem.read_word_acquire(offset)? & mem.xlen().mask())
}

/// The shared memory as a byte slice of at least [`Xlen::shmem_size`] bytes, in place.
#[derive(Debug)]
pub struct ByteShmem<'a> {
    bytes: &'a mut [u8],
    xlen: Xlen,
}

impl<'a> ByteShmem<'a> {
    /// Wraps `bytes`; `None` if it is shorter than the shared memory of `xlen`.
    pub fn new(bytes: &'a mut [u8], xlen: Xlen) -> Option<Self> {
        (bytes.len() >= xlen.shmem_size()).then_some(ByteShmem { bytes, xlen })
    }

    /// The bytes, for a host that wants to hand them on.
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }
}

/// The `N` bytes at `offset`, if `offset` is a multiple of `N` and they lie in `bytes`.
#[inline]
fn word<const N: usize>(bytes: &[u8], offset: usize) -> Option<&[u8; N]> {
    if !offset.is_multiple_of(N) {
        return None;
    }
    bytes.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

/// The mutable form of [`word`].
#[inline]
fn word_mut<const N: usize>(bytes: &mut [u8], offset: usize) -> Option<&mut [u8; N]> {
    if !offset.is_multiple_of(N) {
        return None;
    }
    bytes
        .get_mut(offset..offset.checked_add(N)?)?
        .try_into()
        .ok()
}

#[inline]
fn read_le(bytes: &[u8], offset: usize, xlen: Xlen) -> Result<u64, AccessError> {
    // One fixed-size load per XLEN: the length is known at compile time.
    let value = match xlen {
        Xlen::Rv32 => word::<4>(bytes, offset).map(|w| u64::from(u32::from_le_bytes(*w))),
        Xlen::Rv64 => word::<8>(bytes, offset).map(|w| u64::from_le_bytes(*w)),
    };
    value.ok_or(AccessError::OutOfBounds { offset })
}

#[inline]
fn write_le(bytes: &mut [u8], offset: usize, xlen: Xlen, value: u64) -> Result<(), AccessError> {
    let written = match xlen {
        Xlen::Rv32 => word_mut::<4>(bytes, offset).map(|w| *w = (value as u32).to_le_bytes()),
        Xlen::Rv64 => word_mut::<8>(bytes, offset).map(|w| *w = value.to_le_bytes()),
    };
    written.ok_or(AccessError::OutOfBounds { offset })
}

impl WordAccess for ByteShmem<'_> {
    #[inline]
    fn xlen(&self) -> Xlen {
        self.xlen
    }
    #[inline]
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        read_le(self.bytes, offset, self.xlen)
    }
    #[inline]
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        write_le(self.bytes, offset, self.xlen, value)
    }
}

impl WordAccess for Shmem32 {
    #[inline]
    fn xlen(&self) -> Xlen {
        Xlen::Rv32
    }
    #[inline]
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        read_le(self.as_bytes(), offset, Xlen::Rv32)
    }
    #[inline]
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        write_le(self.as_mut_bytes(), offset, Xlen::Rv32, value)
    }
}

impl WordAccess for Shmem64 {
    #[inline]
    fn xlen(&self) -> Xlen {
        Xlen::Rv64
    }
    #[inline]
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        read_le(self.as_bytes(), offset, Xlen::Rv64)
    }
    #[inline]
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        write_le(self.as_mut_bytes(), offset, Xlen::Rv64, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_little_endian_and_rv32_keeps_the_low_half() {
        let mut bytes = [0u8; 0x2000];
        let mut mem = ByteShmem::new(&mut bytes, Xlen::Rv32).unwrap();
        mem.write_word(4, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(mem.read_word(4), Ok(0x5566_7788));
        assert_eq!(&mem.bytes()[4..8], &[0x88, 0x77, 0x66, 0x55]);
    }

    #[test]
    fn an_offset_outside_or_misaligned_is_an_error_not_a_panic() {
        let mut bytes = [0u8; 0x3000];
        let mut mem = ByteShmem::new(&mut bytes, Xlen::Rv64).unwrap();
        assert_eq!(
            mem.read_word(0x3000),
            Err(AccessError::OutOfBounds { offset: 0x3000 })
        );
        assert_eq!(
            mem.read_word(usize::MAX),
            Err(AccessError::OutOfBounds { offset: usize::MAX })
        );
        assert_eq!(
            mem.write_word(4, 1),
            Err(AccessError::OutOfBounds { offset: 4 })
        );
    }

    #[test]
    fn a_slice_shorter_than_the_shared_memory_is_refused() {
        let mut bytes = [0u8; 0x2FFF];
        assert!(ByteShmem::new(&mut bytes, Xlen::Rv64).is_none());
        assert!(ByteShmem::new(&mut bytes, Xlen::Rv32).is_some());
    }
}
