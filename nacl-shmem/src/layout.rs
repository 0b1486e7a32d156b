//! The byte layout of the NACL shared memory, for RV32 and RV64.
//!
//! SBI spec, NACL chapter, "Nested Acceleration Shared Memory" (scratch space and CSR space).
//! The offsets are plain constants and functions of [`Xlen`]; [`Shmem32`] and [`Shmem64`] are
//! the same layout as `#[repr(C)]` zerocopy types, whose every offset and size is pinned to
//! those constants at compile time.

use crate::Xlen;
use core::mem::{offset_of, size_of};
use static_assertions::const_assert_eq;
use zerocopy::byteorder::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Offset of the scratch space (4 KiB, the same for every XLEN).
pub const SCRATCH_OFFSET: usize = 0x0000;
/// Size of the scratch space.
pub const SCRATCH_SIZE: usize = 0x1000;
/// Offset of the SRET context (feature SYNC_SRET).
pub const SRET_OFFSET: usize = 0x0000;
/// Size of the SRET context.
pub const SRET_SIZE: usize = 0x0200;
/// Offset of the autoswap context (feature AUTOSWAP_CSR).
pub const AUTOSWAP_OFFSET: usize = 0x0200;
/// Size of the autoswap context.
pub const AUTOSWAP_SIZE: usize = 0x0080;
/// Offset of the part of the scratch space that no feature defines.
pub const UNUSED_OFFSET: usize = 0x0280;
/// Size of the part of the scratch space that no feature defines.
pub const UNUSED_SIZE: usize = 0x0580;
/// Offset of the HFENCE entry array (feature SYNC_HFENCE).
pub const HFENCE_OFFSET: usize = 0x0800;
/// Size of the HFENCE entry array: `3840 / XLEN` entries of four words.
pub const HFENCE_SIZE: usize = 0x0780;
/// Offset of the CSR dirty bitmap (feature SYNC_CSR).
pub const DIRTY_BITMAP_OFFSET: usize = 0x0F80;
/// Size of the CSR dirty bitmap: one bit per CSR slot.
pub const DIRTY_BITMAP_SIZE: usize = 0x0080;
/// Offset of the CSR space (always present).
pub const CSR_OFFSET: usize = 0x1000;
/// Number of words (slots) in the CSR space.
pub const CSR_SLOTS: usize = 1024;
/// Number of general-purpose registers the SRET context holds (x1..x31).
pub const SRET_GPRS: usize = 31;

/// Size of the CSR space for this XLEN: 1024 words.
#[inline]
pub const fn csr_space_size(xlen: Xlen) -> usize {
    CSR_SLOTS * xlen.word_bytes()
}

/// Number of HFENCE entries: `3840 / XLEN` (120 on RV32, 60 on RV64).
#[inline]
pub const fn hfence_entries(xlen: Xlen) -> usize {
    3840 / xlen.bits() as usize
}

/// Size of one HFENCE entry: four words.
#[inline]
pub const fn hfence_entry_size(xlen: Xlen) -> usize {
    4 * xlen.word_bytes()
}

/// Number of words in the dirty bitmap (32 on RV32, 16 on RV64).
#[inline]
pub const fn dirty_bitmap_words(xlen: Xlen) -> usize {
    DIRTY_BITMAP_SIZE / xlen.word_bytes()
}

/// Byte offset of GPR `x<reg>` in the SRET context (`reg` in 1..=31; word 0 is reserved).
#[inline]
pub const fn sret_gpr_offset(xlen: Xlen, reg: usize) -> usize {
    SRET_OFFSET + reg * xlen.word_bytes()
}

/// Byte offset of the autoswap flags word.
#[inline]
pub const fn autoswap_flags_offset(_xlen: Xlen) -> usize {
    AUTOSWAP_OFFSET
}

/// Byte offset of the autoswap HSTATUS word.
#[inline]
pub const fn autoswap_hstatus_offset(xlen: Xlen) -> usize {
    AUTOSWAP_OFFSET + xlen.word_bytes()
}

/// Byte offset of HFENCE entry `index` (the caller keeps `index` below [`hfence_entries`]).
#[inline]
pub const fn hfence_entry_offset(xlen: Xlen, index: usize) -> usize {
    HFENCE_OFFSET + index * hfence_entry_size(xlen)
}

/// Byte offset of word `word` of the dirty bitmap.
#[inline]
pub const fn dirty_bitmap_word_offset(xlen: Xlen, word: usize) -> usize {
    DIRTY_BITMAP_OFFSET + word * xlen.word_bytes()
}

/// Byte offset of CSR slot `index` (the caller keeps `index` below [`CSR_SLOTS`]).
#[inline]
pub const fn csr_slot_offset(xlen: Xlen, index: usize) -> usize {
    CSR_OFFSET + index * xlen.word_bytes()
}

/// Declares the layout types of one XLEN; the field names are the spec's.
macro_rules! shmem_layout {
    (
        xlen: $xlen:expr, word: $word:ty,
        shmem: $shmem:ident, scratch: $scratch:ident, sret: $sret:ident,
        autoswap: $autoswap:ident, entry: $entry:ident
    ) => {
        /// The SRET context: x1..x31 to load by `sync_sret` (word 0 reserved).
        ///
        /// SBI spec, NACL chapter, "Feature: Synchronized SRET".
        #[derive(Clone, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
        #[repr(C)]
        pub struct $sret {
            /// Word 0: reserved, must be 0.
            pub reserved0: $word,
            /// Words 1..=31: `x[i - 1]` is the value of GPR `x<i>`.
            pub x: [$word; SRET_GPRS],
            /// The rest of the context: reserved.
            pub reserved: [u8; SRET_SIZE - 32 * size_of::<$word>()],
        }

        /// The autoswap context: flags and the HSTATUS value to exchange.
        ///
        /// SBI spec, NACL chapter, "Feature: Autoswap CSR".
        #[derive(Clone, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
        #[repr(C)]
        pub struct $autoswap {
            /// `Autoswap_Flags`: bit 0 = HSTATUS, the other bits reserved.
            pub flags: $word,
            /// The value to swap with L1's (virtual) hstatus.
            pub hstatus: $word,
            /// The rest of the context: reserved.
            pub reserved: [u8; AUTOSWAP_SIZE - 2 * size_of::<$word>()],
        }

        /// One HFENCE entry: four words.
        ///
        /// SBI spec, NACL chapter, "Feature: Synchronized HFENCE".
        #[derive(Clone, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
        #[repr(C)]
        pub struct $entry {
            /// `Config`: pending, type, order, VMID, ASID.
            pub config: $word,
            /// `Page_Number`: the start address shifted right by the page order.
            pub page_number: $word,
            /// Reserved, must be 0.
            pub reserved: $word,
            /// `Page_Count`: number of pages of the entry's order.
            pub page_count: $word,
        }

        /// The 4 KiB scratch space.
        ///
        /// SBI spec, NACL chapter, "Nested Acceleration Shared Memory", scratch space table.
        #[derive(Clone, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
        #[repr(C)]
        pub struct $scratch {
            /// SRET context (0x0000).
            pub sret: $sret,
            /// Autoswap context (0x0200).
            pub autoswap: $autoswap,
            /// Not defined by any feature (0x0280).
            pub unused: [u8; UNUSED_SIZE],
            /// HFENCE entries (0x0800).
            pub hfence: [$entry; hfence_entries($xlen)],
            /// CSR dirty bitmap (0x0F80), one bit per CSR slot.
            pub dirty_bitmap: [$word; dirty_bitmap_words($xlen)],
        }

        /// The whole shared memory: scratch space then CSR space.
        ///
        /// SBI spec, NACL chapter, "Nested Acceleration Shared Memory".
        #[derive(Clone, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
        #[repr(C)]
        pub struct $shmem {
            /// Scratch space (0x0000).
            pub scratch: $scratch,
            /// CSR space (0x1000): one word per CSR slot.
            pub csr: [$word; CSR_SLOTS],
        }

        const_assert_eq!(size_of::<$sret>(), SRET_SIZE);
        const_assert_eq!(offset_of!($sret, x), 1 * size_of::<$word>());
        const_assert_eq!(size_of::<$autoswap>(), AUTOSWAP_SIZE);
        const_assert_eq!(offset_of!($autoswap, hstatus), size_of::<$word>());
        const_assert_eq!(size_of::<$entry>(), hfence_entry_size($xlen));
        const_assert_eq!(offset_of!($entry, page_number), size_of::<$word>());
        const_assert_eq!(offset_of!($entry, reserved), 2 * size_of::<$word>());
        const_assert_eq!(offset_of!($entry, page_count), 3 * size_of::<$word>());
        const_assert_eq!(offset_of!($scratch, sret), SRET_OFFSET);
        const_assert_eq!(offset_of!($scratch, autoswap), AUTOSWAP_OFFSET);
        const_assert_eq!(offset_of!($scratch, unused), UNUSED_OFFSET);
        const_assert_eq!(offset_of!($scratch, hfence), HFENCE_OFFSET);
        const_assert_eq!(size_of::<[$entry; hfence_entries($xlen)]>(), HFENCE_SIZE);
        const_assert_eq!(offset_of!($scratch, dirty_bitmap), DIRTY_BITMAP_OFFSET);
        const_assert_eq!(
            size_of::<[$word; dirty_bitmap_words($xlen)]>(),
            DIRTY_BITMAP_SIZE
        );
        const_assert_eq!(size_of::<$scratch>(), SCRATCH_SIZE);
        const_assert_eq!(offset_of!($shmem, scratch), SCRATCH_OFFSET);
        const_assert_eq!(offset_of!($shmem, csr), CSR_OFFSET);
        const_assert_eq!(size_of::<[$word; CSR_SLOTS]>(), csr_space_size($xlen));
        const_assert_eq!(size_of::<$shmem>(), $xlen.shmem_size());
        const_assert_eq!(core::mem::align_of::<$shmem>(), 1);
    };
}

shmem_layout! {
    xlen: Xlen::Rv32, word: U32,
    shmem: Shmem32, scratch: Scratch32, sret: SretContext32,
    autoswap: AutoswapContext32, entry: HfenceEntry32
}

shmem_layout! {
    xlen: Xlen::Rv64, word: U64,
    shmem: Shmem64, scratch: Scratch64, sret: SretContext64,
    autoswap: AutoswapContext64, entry: HfenceEntry64
}

// The spec's own numbers, independent of the types above.
const_assert_eq!(Xlen::Rv32.shmem_size(), 0x2000);
const_assert_eq!(Xlen::Rv64.shmem_size(), 0x3000);
const_assert_eq!(hfence_entries(Xlen::Rv32), 120);
const_assert_eq!(hfence_entries(Xlen::Rv64), 60);
const_assert_eq!(SRET_OFFSET + SRET_SIZE, AUTOSWAP_OFFSET);
const_assert_eq!(AUTOSWAP_OFFSET + AUTOSWAP_SIZE, UNUSED_OFFSET);
const_assert_eq!(UNUSED_OFFSET + UNUSED_SIZE, HFENCE_OFFSET);
const_assert_eq!(HFENCE_OFFSET + HFENCE_SIZE, DIRTY_BITMAP_OFFSET);
const_assert_eq!(DIRTY_BITMAP_OFFSET + DIRTY_BITMAP_SIZE, CSR_OFFSET);
const_assert_eq!(DIRTY_BITMAP_SIZE * 8, CSR_SLOTS);
const_assert_eq!(sret_gpr_offset(Xlen::Rv64, 31), 0xF8);
const_assert_eq!(sret_gpr_offset(Xlen::Rv32, 31), 0x7C);
const_assert_eq!(autoswap_hstatus_offset(Xlen::Rv64), 0x208);
const_assert_eq!(autoswap_hstatus_offset(Xlen::Rv32), 0x204);
const_assert_eq!(hfence_entry_offset(Xlen::Rv64, 59), 0xF60);
const_assert_eq!(hfence_entry_offset(Xlen::Rv32, 119), 0xF70);
