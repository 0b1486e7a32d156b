//! Page-table entries of Sv32 and Sv39/48/57 (the G-stage uses the same formats).
//!
//! Priv spec, supervisor chapter, "Sv32"/"Sv39" PTE formats; Svpbmt, Svnapot, Svrsw60t59b.

use bitflags::bitflags;

use crate::paging::PteWidth;

bitflags! {
    /// The low eight PTE bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PteFlags: u64 {
        /// Valid.
        const V = 1 << 0;
        /// Readable.
        const R = 1 << 1;
        /// Writable.
        const W = 1 << 2;
        /// Executable.
        const X = 1 << 3;
        /// User (must be 1 in a G-stage leaf).
        const U = 1 << 4;
        /// Global (ignored in G-stage PTEs).
        const G = 1 << 5;
        /// Accessed.
        const A = 1 << 6;
        /// Dirty.
        const D = 1 << 7;
    }
}

bitflags! {
    /// Access permissions granted by a mapping (same bit positions as in a PTE).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Perms: u64 {
        /// Read.
        const R = 1 << 1;
        /// Write.
        const W = 1 << 2;
        /// Execute.
        const X = 1 << 3;
    }
}

/// Page-based memory type (Svpbmt), bits 62:61 of an Sv39/48/57 PTE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pbmt {
    /// Attributes of the underlying PMA.
    Pma,
    /// Non-cacheable, idempotent.
    Nc,
    /// Non-cacheable, non-idempotent I/O.
    Io,
}

impl Pbmt {
    /// Decodes the two-bit field; `None` for the reserved value 3.
    pub const fn from_raw(raw: u64) -> Option<Self> {
        match raw {
            0 => Some(Pbmt::Pma),
            1 => Some(Pbmt::Nc),
            2 => Some(Pbmt::Io),
            _ => None,
        }
    }

    /// The field's encoding.
    pub const fn raw(self) -> u64 {
        match self {
            Pbmt::Pma => 0,
            Pbmt::Nc => 1,
            Pbmt::Io => 2,
        }
    }
}

const PPN_SHIFT: u32 = 10;
const PPN64_MASK: u64 = ((1 << 44) - 1) << PPN_SHIFT;
const PPN32_MASK: u64 = ((1 << 22) - 1) << PPN_SHIFT;
const RSW_SHIFT: u32 = 8;
const PBMT_SHIFT: u32 = 61;
const N_BIT: u64 = 1 << 63;
/// Bits 60:54, reserved unless Svrsw60t59b frees 60:59.
const RESERVED_MASK: u64 = 0x7f << 54;
const RSW60T59B_MASK: u64 = 0b11 << 59;

/// Whether XWR = `perms` is a leaf encoding: R or X set, and not W without R.
pub(crate) const fn perms_form_a_leaf(perms: Perms) -> bool {
    perms.contains(Perms::R) || (perms.contains(Perms::X) && !perms.contains(Perms::W))
}

/// A raw page-table entry (the low 32 bits only, for Sv32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pte(u64);

impl Pte {
    /// The invalid entry.
    pub const INVALID: Pte = Pte(0);

    /// Wraps a raw entry.
    pub const fn from_bits(bits: u64) -> Self {
        Pte(bits)
    }

    /// The raw entry.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// A pointer to a next-level table at physical address `table_pa` (Sv39/48/57 layout).
    pub const fn table(table_pa: u64) -> Self {
        Pte(((table_pa >> 12) << PPN_SHIFT) & PPN64_MASK | PteFlags::V.bits())
    }

    /// A G-stage leaf (Sv39/48/57 layout) mapping `pa` with U=A=D=1 preset, so that the
    /// hardware never needs to update it. `None` when `perms` is not a leaf encoding: with
    /// neither R nor X a valid entry is a pointer to a next-level table, and W without R is
    /// reserved.
    // Priv spec, supervisor chapter, "Sv32" PTE format: XWR encodings.
    pub const fn gstage_leaf(pa: u64, perms: Perms, pbmt: Pbmt, rsw: u8) -> Option<Self> {
        if !perms_form_a_leaf(perms) {
            return None;
        }
        let flags =
            PteFlags::V.bits() | PteFlags::U.bits() | PteFlags::A.bits() | PteFlags::D.bits();
        Some(Pte((((pa >> 12) << PPN_SHIFT) & PPN64_MASK)
            | flags
            | perms.bits()
            | (((rsw & 0b11) as u64) << RSW_SHIFT)
            | (pbmt.raw() << PBMT_SHIFT)))
    }

    /// The low eight flag bits.
    pub const fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0)
    }

    /// Whether V is set.
    pub const fn is_valid(self) -> bool {
        self.0 & PteFlags::V.bits() != 0
    }

    /// Whether the entry is a leaf (R or X set); only meaningful when valid.
    pub const fn is_leaf(self) -> bool {
        self.0 & (PteFlags::R.bits() | PteFlags::X.bits()) != 0
    }

    /// R, W and X of the entry.
    pub const fn perms(self) -> Perms {
        Perms::from_bits_truncate(self.0)
    }

    /// The PPN field for the given PTE width.
    pub const fn ppn(self, width: PteWidth) -> u64 {
        match width {
            PteWidth::Bits32 => (self.0 & PPN32_MASK) >> PPN_SHIFT,
            PteWidth::Bits64 => (self.0 & PPN64_MASK) >> PPN_SHIFT,
        }
    }

    /// The physical address the PPN names (PPN << 12).
    pub const fn pa(self, width: PteWidth) -> u64 {
        self.ppn(width) << 12
    }

    /// The two RSW bits (9:8), free for software.
    pub const fn rsw(self) -> u8 {
        ((self.0 >> RSW_SHIFT) & 0b11) as u8
    }

    /// The raw PBMT field (bits 62:61; always 0 for Sv32).
    pub const fn pbmt_raw(self, width: PteWidth) -> u64 {
        match width {
            PteWidth::Bits32 => 0,
            PteWidth::Bits64 => (self.0 >> PBMT_SHIFT) & 0b11,
        }
    }

    /// The N bit (Svnapot; always clear for Sv32).
    pub const fn napot(self, width: PteWidth) -> bool {
        matches!(width, PteWidth::Bits64) && self.0 & N_BIT != 0
    }

    /// Reserved bits that are set (bits 60:54, or 58:54 with Svrsw60t59b; none for Sv32).
    pub const fn reserved_bits(self, width: PteWidth, svrsw60t59b: bool) -> u64 {
        match width {
            PteWidth::Bits32 => 0,
            PteWidth::Bits64 if svrsw60t59b => self.0 & RESERVED_MASK & !RSW60T59B_MASK,
            PteWidth::Bits64 => self.0 & RESERVED_MASK,
        }
    }

    /// The same entry with `flags` added.
    pub const fn with_flags(self, flags: PteFlags) -> Self {
        Pte(self.0 | flags.bits())
    }

    /// The same entry with R/W/X replaced by `perms`.
    pub const fn with_perms(self, perms: Perms) -> Self {
        Pte((self.0 & !Perms::all().bits()) | perms.bits())
    }
}
