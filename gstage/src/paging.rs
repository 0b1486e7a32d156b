//! The level-walking core shared by every radix page-table format (the G-stage walker and the
//! VS-stage walk of the two-stage translation): index computation, PTE format checks and the
//! bounded descent to a leaf.
//!
//! Priv spec, supervisor chapter, "Virtual Address Translation Process", steps 1-6 and 8.

use crate::pte::{Pbmt, Pte, PteFlags};

/// Size of one page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PteWidth {
    /// 4-byte entries (Sv32, Sv32x4).
    Bits32,
    /// 8-byte entries (Sv39/48/57 and their x4 forms).
    Bits64,
}

impl PteWidth {
    /// Bytes per entry.
    pub const fn bytes(self) -> u64 {
        match self {
            PteWidth::Bits32 => 4,
            PteWidth::Bits64 => 8,
        }
    }
}

/// Shape of a radix page table: levels, index widths and PTE width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scheme {
    levels: u8,
    index_bits: u8,
    root_index_bits: u8,
    width: PteWidth,
}

impl Scheme {
    /// A scheme with `levels` levels (at least 1), `index_bits` per non-root level and
    /// `root_index_bits` at the root (two more than `index_bits` for the G-stage x4 modes).
    /// Schemes come from [`crate::GStageMode::scheme`] and [`crate::VsMode::scheme`], which
    /// keep `levels` within 2..=5 so that every shift stays below 64.
    pub(crate) const fn new(
        levels: u8,
        index_bits: u8,
        root_index_bits: u8,
        width: PteWidth,
    ) -> Self {
        Scheme {
            levels,
            index_bits,
            root_index_bits,
            width,
        }
    }

    /// Number of levels; the root is level `levels() - 1`, leaves of 4 KiB are level 0.
    pub const fn levels(self) -> u8 {
        self.levels
    }

    /// Entry width.
    pub const fn width(self) -> PteWidth {
        self.width
    }

    /// Width of the translated address space (offset plus every index).
    pub const fn input_bits(self) -> u32 {
        12 + self.index_bits as u32 * (self.levels as u32 - 1) + self.root_index_bits as u32
    }

    /// Index bits at `level`.
    pub const fn index_bits_at(self, level: u8) -> u32 {
        if level + 1 == self.levels {
            self.root_index_bits as u32
        } else {
            self.index_bits as u32
        }
    }

    /// log2 of the size a leaf at `level` maps.
    pub const fn page_shift(self, level: u8) -> u32 {
        12 + self.index_bits as u32 * level as u32
    }

    /// Index of `addr` in the table at `level`.
    pub const fn index(self, addr: u64, level: u8) -> u64 {
        (addr >> self.page_shift(level)) & ((1 << self.index_bits_at(level)) - 1)
    }

    /// Entries in a table at `level`.
    pub const fn entries(self, level: u8) -> u64 {
        1 << self.index_bits_at(level)
    }

    /// Address of the entry for `addr` in the table at `table_pa`, `level`.
    pub const fn pte_addr(self, table_pa: u64, addr: u64, level: u8) -> u64 {
        table_pa.wrapping_add(self.index(addr, level) * self.width.bytes())
    }
}

/// The PTE address is not backed by memory (becomes an access fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryFault;

/// Read access to the memory that holds page tables, supplied by the caller.
pub trait PteMemory {
    /// Reads the entry of `width` at physical address `addr`.
    fn read_pte(&mut self, addr: u64, width: PteWidth) -> Result<u64, MemoryFault>;

    /// Atomically replaces the entry at `addr` by `new` if it still equals `current`;
    /// returns the value found (equal to `current` exactly when the store happened).
    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        width: PteWidth,
        current: u64,
        new: u64,
    ) -> Result<u64, MemoryFault>;
}

/// Extensions that change how PTEs are checked and updated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct WalkConfig {
    /// Svadu enabled for this stage (menvcfg.ADUE for the G-stage): the walker sets A/D
    /// itself; otherwise Svade: a clear A (or D on a write) faults.
    pub svadu: bool,
    /// menvcfg.PBMTE: PBMT may be nonzero in leaves.
    pub pbmte: bool,
    /// Svnapot: N=1 leaves of 64 KiB are legal.
    pub svnapot: bool,
    /// Svrsw60t59b: bits 60:59 are software bits, not reserved.
    pub svrsw60t59b: bool,
}

/// Why a walk stopped with a page fault (the cause itself depends on the access).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultReason {
    /// The address has nonzero bits above the mode's width.
    AddressOutOfRange,
    /// A PTE on the path has V=0.
    Invalid,
    /// XWR is 010 or 110.
    ReservedPermissions,
    /// A reserved bit (60:54, or 58:54 with Svrsw60t59b) is set.
    ReservedBits,
    /// PBMT is 3, or nonzero without PBMTE.
    ReservedPbmt,
    /// N is set without Svnapot, on a non-4 KiB leaf, or with an undefined NAPOT size.
    BadNapot,
    /// A non-leaf PTE has D, A, U, N or PBMT set.
    NonLeafAttributes,
    /// Level 0 holds a pointer instead of a leaf.
    NoLeaf,
    /// A superpage's low PPN bits are not zero.
    MisalignedSuperpage,
    /// A G-stage leaf with U=0.
    NotUser,
    /// The leaf does not grant the access.
    Permission,
    /// A=0 with Svade.
    AccessedClear,
    /// D=0 on a write with Svade.
    DirtyClear,
}

/// A well-formed leaf found by [`find_leaf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Leaf {
    /// Level of the leaf (0 for 4 KiB pages).
    pub level: u8,
    /// Physical address of the leaf entry.
    pub pte_addr: u64,
    /// The entry as read.
    pub pte: Pte,
    /// log2 of the mapped size (16 for a 64 KiB NAPOT page).
    pub size_log2: u32,
    /// The translated address.
    pub pa: u64,
}

/// Why [`find_leaf`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A format rule failed; a page fault of the access's type.
    Fault(FaultReason),
    /// The entry at this address is not in memory; an access fault.
    Memory {
        /// Physical address of the unreadable entry.
        pte_addr: u64,
    },
}

/// Descends from the root at `root_pa` to the leaf for `addr`: at most `levels` reads, so a
/// cyclic or hostile table cannot make it loop. Checks every format rule; permissions, U
/// and A/D are the caller's (they differ between stages).
pub fn find_leaf<M: PteMemory + ?Sized>(
    scheme: Scheme,
    root_pa: u64,
    addr: u64,
    config: &WalkConfig,
    mem: &mut M,
) -> Result<Leaf, Stop> {
    let width = scheme.width();
    let mut table = root_pa;
    let mut level = scheme.levels().saturating_sub(1);
    loop {
        let pte_addr = scheme.pte_addr(table, addr, level);
        let pte = Pte::from_bits(
            mem.read_pte(pte_addr, width)
                .map_err(|_| Stop::Memory { pte_addr })?,
        );
        check_common(pte, width, config).map_err(Stop::Fault)?;
        if !pte.is_leaf() {
            check_pointer(pte, width).map_err(Stop::Fault)?;
            if level == 0 {
                return Err(Stop::Fault(FaultReason::NoLeaf));
            }
            level -= 1;
            table = pte.pa(width);
            continue;
        }
        let (size_log2, pa) =
            leaf_address(scheme, pte, level, addr, config).map_err(Stop::Fault)?;
        return Ok(Leaf {
            level,
            pte_addr,
            pte,
            size_log2,
            pa,
        });
    }
}

/// Checks every valid entry must pass, leaf or not.
// Priv spec, supervisor chapter, translation step 3; Svpbmt; Svnapot.
fn check_common(pte: Pte, width: PteWidth, config: &WalkConfig) -> Result<(), FaultReason> {
    let flags = pte.flags();
    if !flags.contains(PteFlags::V) {
        return Err(FaultReason::Invalid);
    }
    if flags.contains(PteFlags::W) && !flags.contains(PteFlags::R) {
        return Err(FaultReason::ReservedPermissions);
    }
    if pte.reserved_bits(width, config.svrsw60t59b) != 0 {
        return Err(FaultReason::ReservedBits);
    }
    let pbmt = pte.pbmt_raw(width);
    if pbmt != 0 && (!config.pbmte || Pbmt::from_raw(pbmt).is_none()) {
        return Err(FaultReason::ReservedPbmt);
    }
    if pte.napot(width) && !config.svnapot {
        return Err(FaultReason::BadNapot);
    }
    Ok(())
}

/// Rules for a pointer to the next level: D, A, U, N and PBMT are reserved.
fn check_pointer(pte: Pte, width: PteWidth) -> Result<(), FaultReason> {
    let attrs = PteFlags::D | PteFlags::A | PteFlags::U;
    if pte.flags().intersects(attrs) || pte.napot(width) || pte.pbmt_raw(width) != 0 {
        return Err(FaultReason::NonLeafAttributes);
    }
    Ok(())
}

/// Size and translated address of a leaf at `level`, or the alignment/NAPOT fault.
// Priv spec, supervisor chapter, translation steps 6 and 8; Svnapot.
fn leaf_address(
    scheme: Scheme,
    pte: Pte,
    level: u8,
    addr: u64,
    config: &WalkConfig,
) -> Result<(u32, u64), FaultReason> {
    let width = scheme.width();
    let ppn = pte.ppn(width);
    let shift = if pte.napot(width) {
        // Only the 64 KiB size (ppn[3:0] = 1000) at level 0 is defined.
        if level != 0 || ppn & 0xf != 0b1000 || !config.svnapot {
            return Err(FaultReason::BadNapot);
        }
        16
    } else {
        let shift = scheme.page_shift(level);
        if ppn & ((1 << (shift - 12)) - 1) != 0 {
            return Err(FaultReason::MisalignedSuperpage);
        }
        shift
    };
    let mask = (1u64 << shift) - 1;
    Ok((shift, ((ppn << 12) & !mask) | (addr & mask)))
}
