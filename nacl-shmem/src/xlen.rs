//! L1's XLEN, which fixes the word size of the whole shared memory.
//!
//! SBI spec, NACL chapter, "Nested Acceleration Shared Memory": every word is XLEN bits wide,
//! and XLEN is the one of the supervisor software that set the shared memory (L1), which an
//! RV64 L0 may run as RV32. So XLEN is a run-time value here, not the build target's.

use sbi_spec::nacl::shmem_size;

/// The XLEN of the hart that owns the shared memory (L1).
///
/// SBI spec, NACL chapter, "Nested Acceleration Shared Memory".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Xlen {
    /// 32-bit words: 8 KiB of shared memory, 120 HFENCE entries.
    Rv32,
    /// 64-bit words: 12 KiB of shared memory, 60 HFENCE entries.
    Rv64,
}

/// An XLEN value that is neither 32 nor 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsupportedXlen(pub u32);

impl Xlen {
    /// Both XLENs, for tests and tables.
    pub const ALL: [Xlen; 2] = [Xlen::Rv32, Xlen::Rv64];

    /// The number of bits in one word.
    #[inline]
    pub const fn bits(self) -> u32 {
        match self {
            Xlen::Rv32 => 32,
            Xlen::Rv64 => 64,
        }
    }

    /// The number of bytes in one word (`W` in the spec's offsets).
    #[inline]
    pub const fn word_bytes(self) -> usize {
        match self {
            Xlen::Rv32 => 4,
            Xlen::Rv64 => 8,
        }
    }

    /// All ones in the low XLEN bits: the `-1` of an SBI argument, and the mask of a word.
    #[inline]
    pub const fn mask(self) -> u64 {
        match self {
            Xlen::Rv32 => u32::MAX as u64,
            Xlen::Rv64 => u64::MAX,
        }
    }

    /// The size of the whole shared memory: `4096 + 1024 * XLEN / 8` bytes.
    ///
    /// SBI spec, NACL chapter, "Nested Acceleration Shared Memory" (taken from `sbi-spec`).
    pub const fn shmem_size(self) -> usize {
        match self {
            Xlen::Rv32 => shmem_size::RV32,
            Xlen::Rv64 => shmem_size::RV64,
        }
    }
}

impl TryFrom<u32> for Xlen {
    type Error = UnsupportedXlen;

    fn try_from(bits: u32) -> Result<Self, Self::Error> {
        match bits {
            32 => Ok(Xlen::Rv32),
            64 => Ok(Xlen::Rv64),
            other => Err(UnsupportedXlen(other)),
        }
    }
}
