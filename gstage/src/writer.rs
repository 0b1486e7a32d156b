//! The page-table writer: map, unmap and change permissions on real G-stage tables held in
//! host frames, with superpages and splitting.
//!
//! Priv spec, hypervisor chapter, "Guest Physical Address Translation" (formats) and
//! "Hypervisor Memory-Management Fence Instructions" (what each change needs).

use crate::fence::{Fences, HfenceGvma};
use crate::hgatp::{GStageMode, Hgatp};
use crate::host::{FrameKind, FramePool, HostFrame};
use crate::paging::{PteWidth, Scheme};
use crate::pte::{Pbmt, Perms, Pte, perms_form_a_leaf};
use crate::walk::low_mask;

/// Sizes a leaf can map in Sv39x4/Sv48x4/Sv57x4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageSize {
    /// 4 KiB (level 0).
    Size4K,
    /// 2 MiB (level 1).
    Size2M,
    /// 1 GiB (level 2).
    Size1G,
    /// 512 GiB (level 3; Sv48x4 and Sv57x4).
    Size512G,
}

impl PageSize {
    /// Every size, smallest first.
    pub const ALL: [PageSize; 4] = [
        PageSize::Size4K,
        PageSize::Size2M,
        PageSize::Size1G,
        PageSize::Size512G,
    ];

    /// The level of a leaf of this size.
    pub const fn level(self) -> u8 {
        self as u8
    }

    /// log2 of the size.
    pub const fn log2(self) -> u32 {
        12 + 9 * self as u32
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        1 << self.log2()
    }
}

/// Attributes of a leaf the writer installs (U, A and D are always set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeafAttrs {
    /// R/W/X; must be non-empty and not W without R.
    pub perms: Perms,
    /// Memory type (needs menvcfg.PBMTE when not PMA).
    pub pbmt: Pbmt,
    /// The two software bits (9:8).
    pub rsw: u8,
}

impl LeafAttrs {
    /// Normal memory with `perms` and clear software bits.
    pub const fn new(perms: Perms) -> Self {
        LeafAttrs {
            perms,
            pbmt: Pbmt::Pma,
            rsw: 0,
        }
    }
}

/// Why a change was refused; the table's translations are then unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteError {
    /// The writer handles Sv39x4, Sv48x4 and Sv57x4 only.
    UnsupportedMode,
    /// The page size does not exist in this mode.
    UnsupportedSize,
    /// An address or length is not aligned to the page size (4 KiB for ranges).
    Misaligned,
    /// The GPA range leaves the mode's address space, or the PA exceeds 56 bits.
    OutOfRange,
    /// Empty permissions, or W without R (reserved encodings).
    ReservedPermissions,
    /// The frame pool has no frame left for a table.
    OutOfFrames,
}

/// A leaf found by [`GStageTable::lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MappedLeaf {
    /// First GPA the leaf maps.
    pub gpa: u64,
    /// Level of the leaf.
    pub level: u8,
    /// The entry.
    pub pte: Pte,
}

impl MappedLeaf {
    /// log2 of the mapped size.
    pub const fn size_log2(&self) -> u32 {
        12 + 9 * self.level as u32
    }

    /// The host physical address `gpa` (inside the leaf) maps to.
    pub const fn pa_of(&self, gpa: u64) -> u64 {
        let mask = low_mask(self.size_log2());
        (self.pte.pa(PteWidth::Bits64) & !mask) | (gpa & mask)
    }
}

/// What [`GStageTable::set_leaf`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Installed {
    /// The leaf now in the table.
    pub(crate) leaf: MappedLeaf,
    /// A table was put under an entry that was invalid: a hart without Svvptc may have
    /// cached that invalid non-leaf entry.
    pub(crate) new_table: bool,
}

/// What to do with an existing table where a leaf is to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnTable {
    /// Free the table and put the leaf in its place (a non-leaf change: VMID-wide fence).
    Replace,
    /// Keep the table and install a smaller leaf inside it.
    Descend,
}

/// A G-stage table rooted in a host frame, with the VMID its fences name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GStageTable {
    hgatp: Hgatp,
    scheme: Scheme,
}

/// Largest PA a PTE can name (PPN is 44 bits).
const MAX_PA_BITS: u32 = 56;

impl GStageTable {
    /// A new, empty table for `mode` whose root is a fresh 16 KiB frame of `pool`.
    pub fn new<P: FramePool + ?Sized>(
        mode: GStageMode,
        vmid: u16,
        pool: &mut P,
    ) -> Result<Self, WriteError> {
        let scheme = writable_scheme(mode)?;
        let root = pool.alloc(FrameKind::Root).ok_or(WriteError::OutOfFrames)?;
        Ok(GStageTable {
            hgatp: Hgatp::new(mode, vmid, root.pa() >> 12),
            scheme,
        })
    }

    /// The hgatp value that activates this table.
    pub const fn hgatp(&self) -> Hgatp {
        self.hgatp
    }

    /// The root frame.
    pub const fn root(&self) -> HostFrame {
        HostFrame::new(self.hgatp.root_pa(), FrameKind::Root)
    }

    /// Width of the GPA space.
    pub const fn gpa_bits(&self) -> u32 {
        self.scheme.input_bits()
    }

    fn fence_gpa(&self, gpa: u64) -> HfenceGvma {
        HfenceGvma {
            vmid: Some(self.hgatp.vmid()),
            gpa: Some(gpa),
        }
    }

    fn fence_vmid(&self) -> HfenceGvma {
        HfenceGvma {
            vmid: Some(self.hgatp.vmid()),
            gpa: None,
        }
    }

    /// Maps `[gpa, gpa + size)` to `[pa, pa + size)`, replacing whatever was there (splitting
    /// a covering superpage, freeing finer tables). Appends the fences the change needs; a
    /// new mapping over an invalid entry needs none on harts with Svvptc.
    pub fn map<P: FramePool + ?Sized>(
        &mut self,
        pool: &mut P,
        gpa: u64,
        pa: u64,
        size: PageSize,
        attrs: LeafAttrs,
        fences: &mut Fences,
    ) -> Result<(), WriteError> {
        if size.level() >= self.scheme.levels() {
            return Err(WriteError::UnsupportedSize);
        }
        if (gpa | pa) & (size.bytes() - 1) != 0 {
            return Err(WriteError::Misaligned);
        }
        if gpa >> self.gpa_bits() != 0 || pa >> MAX_PA_BITS != 0 {
            return Err(WriteError::OutOfRange);
        }
        let leaf = Pte::gstage_leaf(pa, attrs.perms, attrs.pbmt, attrs.rsw)
            .ok_or(WriteError::ReservedPermissions)?;
        self.set_leaf(pool, gpa, leaf, size.level(), OnTable::Replace, fences)
            .map(|_| ())
    }

    /// Maps `[gpa, gpa + len)` to `[pa, pa + len)` with the largest pages alignment allows
    /// (4 KiB-aligned addresses and length). On an error the part before the failing page
    /// stays mapped.
    pub fn map_range<P: FramePool + ?Sized>(
        &mut self,
        pool: &mut P,
        gpa: u64,
        pa: u64,
        len: u64,
        attrs: LeafAttrs,
        fences: &mut Fences,
    ) -> Result<(), WriteError> {
        if pa & 0xfff != 0 {
            return Err(WriteError::Misaligned);
        }
        self.range(gpa, len)?;
        let mut offset = 0;
        while offset < len {
            let (g, p, left) = (gpa + offset, pa.wrapping_add(offset), len - offset);
            let fits = |s: &PageSize| {
                s.level() < self.scheme.levels()
                    && (g | p) & (s.bytes() - 1) == 0
                    && s.bytes() <= left
            };
            let size = PageSize::ALL
                .into_iter()
                .rev()
                .find(fits)
                .unwrap_or(PageSize::Size4K);
            self.map(pool, g, p, size, attrs, fences)?;
            offset += size.bytes();
        }
        Ok(())
    }

    /// Installs `leaf`, a 4 KiB leaf for `gpa`, as a leaf at `level` (its low PPN bits cleared)
    /// or, with [`OnTable::Descend`], lower. Returns the leaf installed and whether a table
    /// took the place of an invalid entry. Refuses an entry that is not a valid leaf: with
    /// neither R nor X it would be a pointer to whatever `leaf` names.
    pub(crate) fn set_leaf<P: FramePool + ?Sized>(
        &mut self,
        pool: &mut P,
        gpa: u64,
        leaf: Pte,
        level: u8,
        on_table: OnTable,
        fences: &mut Fences,
    ) -> Result<Installed, WriteError> {
        if !leaf.is_valid() || !perms_form_a_leaf(leaf.perms()) {
            return Err(WriteError::ReservedPermissions);
        }
        let scheme = self.scheme;
        let mut table = self.root();
        let mut lv = scheme.levels() - 1;
        let mut new_table = false;
        loop {
            let idx = scheme.index(gpa, lv) as usize;
            let pte = read(pool, table, idx);
            let is_table = pte.is_valid() && !pte.is_leaf();
            if lv > level || (lv > 0 && is_table && on_table == OnTable::Descend) {
                // A covering superpage is split; its other translations stay as they were.
                table = if is_table {
                    child(pte)
                } else {
                    new_table |= !pte.is_valid();
                    self.make_table(pool, table, idx, lv, pte)?
                };
                lv -= 1;
                continue;
            }
            if is_table {
                free_tree(pool, scheme, child(pte), lv.saturating_sub(1));
                pool.free(child(pte));
                fences.push(self.fence_vmid());
            } else if pte.is_valid() {
                fences.push(self.fence_gpa(gpa));
            }
            let shift = scheme.page_shift(lv);
            let leaf = Pte::from_bits(leaf.bits() & !((low_mask(shift) >> 12) << 10));
            write(pool, table, idx, leaf);
            let leaf = MappedLeaf {
                gpa: gpa & !low_mask(shift),
                level: lv,
                pte: leaf,
            };
            return Ok(Installed { leaf, new_table });
        }
    }

    /// Puts a table under entry `idx` of `table` (at level `lv`): an empty one over an invalid
    /// entry, or one equivalent to the superpage `old` (same translations, so no fence).
    fn make_table<P: FramePool + ?Sized>(
        &self,
        pool: &mut P,
        table: HostFrame,
        idx: usize,
        lv: u8,
        old: Pte,
    ) -> Result<HostFrame, WriteError> {
        let frame = pool
            .alloc(FrameKind::Table)
            .ok_or(WriteError::OutOfFrames)?;
        if old.is_valid() {
            let step = 1u64 << (self.scheme.page_shift(lv - 1) - 2);
            let words = pool.table_mut(frame);
            let mut entry = old.bits();
            for w in words.iter_mut() {
                *w = entry;
                entry = entry.wrapping_add(step);
            }
        }
        write(pool, table, idx, Pte::table(frame.pa()));
        Ok(frame)
    }

    /// Makes sure no leaf straddles `gpa` by splitting the superpages that cover it.
    fn split_at<P: FramePool + ?Sized>(&self, pool: &mut P, gpa: u64) -> Result<(), WriteError> {
        let scheme = self.scheme;
        let mut table = self.root();
        let mut lv = scheme.levels() - 1;
        loop {
            let idx = scheme.index(gpa, lv) as usize;
            let pte = read(pool, table, idx);
            if !pte.is_valid() || lv == 0 {
                return Ok(());
            }
            table = if !pte.is_leaf() {
                child(pte)
            } else if gpa & low_mask(scheme.page_shift(lv)) == 0 {
                return Ok(());
            } else {
                self.make_table(pool, table, idx, lv, pte)?
            };
            lv -= 1;
        }
    }

    /// Checks a 4 KiB-aligned range and returns its last byte.
    fn range(&self, gpa: u64, len: u64) -> Result<u64, WriteError> {
        if (gpa | len) & 0xfff != 0 || len == 0 {
            return Err(WriteError::Misaligned);
        }
        let last = gpa.checked_add(len - 1).ok_or(WriteError::OutOfRange)?;
        if last >> self.gpa_bits() != 0 {
            return Err(WriteError::OutOfRange);
        }
        Ok(last)
    }

    /// Splits superpages straddling either end of `[gpa, last]`: after this every leaf is
    /// wholly inside or wholly outside. Translations are unchanged even on failure.
    fn split_ends<P: FramePool + ?Sized>(
        &self,
        pool: &mut P,
        gpa: u64,
        last: u64,
    ) -> Result<(), WriteError> {
        self.split_at(pool, gpa)?;
        match last.checked_add(1) {
            Some(end) if end >> self.gpa_bits() == 0 => self.split_at(pool, end),
            _ => Ok(()),
        }
    }

    /// Removes every mapping in `[gpa, gpa + len)`, splitting superpages that straddle its
    /// ends. Tables stay allocated (freeing one would be a non-leaf change).
    pub fn unmap<P: FramePool + ?Sized>(
        &mut self,
        pool: &mut P,
        gpa: u64,
        len: u64,
        fences: &mut Fences,
    ) -> Result<(), WriteError> {
        let last = self.range(gpa, len)?;
        self.split_ends(pool, gpa, last)?;
        let vmid = self.hgatp.vmid();
        for_each_leaf(
            self.scheme,
            self.root(),
            pool,
            gpa,
            last,
            &mut |base, _, _| {
                fences.push(HfenceGvma {
                    vmid: Some(vmid),
                    gpa: Some(base),
                });
                Some(Pte::INVALID)
            },
        );
        Ok(())
    }

    /// Sets the permissions of every mapping in `[gpa, gpa + len)` to `perms`, splitting
    /// superpages that straddle its ends.
    pub fn protect<P: FramePool + ?Sized>(
        &mut self,
        pool: &mut P,
        gpa: u64,
        len: u64,
        perms: Perms,
        fences: &mut Fences,
    ) -> Result<(), WriteError> {
        check_perms(perms)?;
        let last = self.range(gpa, len)?;
        self.split_ends(pool, gpa, last)?;
        let vmid = self.hgatp.vmid();
        for_each_leaf(
            self.scheme,
            self.root(),
            pool,
            gpa,
            last,
            &mut |base, _, pte| {
                let new = pte.with_perms(perms);
                if new == pte {
                    return None;
                }
                fences.push(HfenceGvma {
                    vmid: Some(vmid),
                    gpa: Some(base),
                });
                Some(new)
            },
        );
        Ok(())
    }

    /// The leaf that maps `gpa`, if any.
    pub fn lookup<P: FramePool + ?Sized>(&self, pool: &P, gpa: u64) -> Option<MappedLeaf> {
        if gpa >> self.gpa_bits() != 0 {
            return None;
        }
        let scheme = self.scheme;
        let mut table = self.root();
        let mut lv = scheme.levels() - 1;
        loop {
            let pte = read(pool, table, scheme.index(gpa, lv) as usize);
            if !pte.is_valid() {
                return None;
            }
            if pte.is_leaf() {
                return Some(MappedLeaf {
                    gpa: gpa & !low_mask(scheme.page_shift(lv)),
                    level: lv,
                    pte,
                });
            }
            if lv == 0 {
                return None;
            }
            table = child(pte);
            lv -= 1;
        }
    }

    /// Calls `f(first_gpa, level, pte)` for every leaf overlapping `[first, last]`; a
    /// returned entry replaces the leaf.
    pub(crate) fn for_each_leaf<P: FramePool + ?Sized>(
        &self,
        pool: &mut P,
        first: u64,
        last: u64,
        f: &mut impl FnMut(u64, u8, Pte) -> Option<Pte>,
    ) {
        for_each_leaf(self.scheme, self.root(), pool, first, last, f);
    }

    /// Removes every mapping and frees every table but the root; appends a VMID-wide fence.
    pub fn clear<P: FramePool + ?Sized>(&mut self, pool: &mut P, fences: &mut Fences) {
        free_tree(pool, self.scheme, self.root(), self.scheme.levels() - 1);
        fences.push(self.fence_vmid());
    }

    /// Frees every frame, the root included. The caller must fence the VMID before reusing it.
    pub fn destroy<P: FramePool + ?Sized>(self, pool: &mut P) {
        free_tree(pool, self.scheme, self.root(), self.scheme.levels() - 1);
        pool.free(self.root());
    }

    /// Number of frames in use: the root (one 16 KiB frame) plus every 4 KiB table.
    pub fn frames_in_use<P: FramePool + ?Sized>(&self, pool: &P) -> usize {
        let mut count = 1;
        let mut stack = [(self.root(), 0usize); 5];
        let mut depth = 0;
        loop {
            let (frame, idx) = stack[depth];
            let lv = self.scheme.levels() - 1 - depth as u8;
            let words = pool.table(frame);
            let Some(&word) = words
                .get(idx)
                .filter(|_| idx < self.scheme.entries(lv) as usize)
            else {
                if depth == 0 {
                    return count;
                }
                depth -= 1;
                continue;
            };
            stack[depth].1 += 1;
            let pte = Pte::from_bits(word);
            if lv > 0 && pte.is_valid() && !pte.is_leaf() {
                count += 1;
                depth += 1;
                stack[depth] = (child(pte), 0);
            }
        }
    }
}

fn writable_scheme(mode: GStageMode) -> Result<Scheme, WriteError> {
    match mode {
        GStageMode::Sv39x4 | GStageMode::Sv48x4 | GStageMode::Sv57x4 => {
            mode.scheme().ok_or(WriteError::UnsupportedMode)
        }
        GStageMode::Bare | GStageMode::Sv32x4 => Err(WriteError::UnsupportedMode),
    }
}

fn check_perms(perms: Perms) -> Result<(), WriteError> {
    if !perms_form_a_leaf(perms) {
        return Err(WriteError::ReservedPermissions);
    }
    Ok(())
}

fn child(pte: Pte) -> HostFrame {
    HostFrame::new(pte.pa(PteWidth::Bits64), FrameKind::Table)
}

fn read<P: FramePool + ?Sized>(pool: &P, table: HostFrame, idx: usize) -> Pte {
    Pte::from_bits(pool.table(table).get(idx).copied().unwrap_or(0))
}

fn write<P: FramePool + ?Sized>(pool: &mut P, table: HostFrame, idx: usize, pte: Pte) {
    if let Some(w) = pool.table_mut(table).get_mut(idx) {
        *w = pte.bits();
    }
}

/// Frees every table below `table` (at level `lv`) and clears its entries; `table` itself
/// stays. Bounded: depth at most five, each table visited once.
fn free_tree<P: FramePool + ?Sized>(pool: &mut P, scheme: Scheme, table: HostFrame, lv: u8) {
    let top = lv;
    let mut stack = [(table, 0usize); 5];
    let mut depth = 0usize;
    loop {
        let (frame, idx) = stack[depth];
        let lv = top - depth as u8;
        let words = pool.table_mut(frame);
        // Find the next table pointer at or after idx, clearing entries on the way.
        let limit = (scheme.entries(lv) as usize).min(words.len());
        let mut next = None;
        let mut i = idx;
        while i < limit {
            let pte = Pte::from_bits(words[i]);
            words[i] = 0;
            i += 1;
            if lv > 0 && pte.is_valid() && !pte.is_leaf() {
                next = Some(child(pte));
                break;
            }
        }
        stack[depth].1 = i;
        match next {
            Some(c) if depth + 1 < stack.len() => {
                depth += 1;
                stack[depth] = (c, 0);
            }
            Some(_) => {}
            None => {
                if depth == 0 {
                    return;
                }
                pool.free(frame);
                depth -= 1;
            }
        }
    }
}

/// The leaf visitor behind unmap, protect and the shadow's invalidations: visits only
/// present tables, each entry at most once.
fn for_each_leaf<P: FramePool + ?Sized>(
    scheme: Scheme,
    root: HostFrame,
    pool: &mut P,
    first: u64,
    last: u64,
    f: &mut impl FnMut(u64, u8, Pte) -> Option<Pte>,
) {
    if first >> scheme.input_bits() != 0 || first > last {
        return;
    }
    let last = last.min(low_mask(scheme.input_bits()));
    let top = scheme.levels() - 1;
    // (table, first GPA the table maps, next index)
    let mut stack = [(root, 0u64, scheme.index(first, top)); 5];
    let mut depth = 0usize;
    loop {
        let (frame, base, idx) = stack[depth];
        let lv = top - depth as u8;
        let shift = scheme.page_shift(lv);
        let entry_gpa = base.wrapping_add(idx << shift);
        if idx >= scheme.entries(lv) || entry_gpa > last {
            if depth == 0 {
                return;
            }
            depth -= 1;
            continue;
        }
        stack[depth].2 += 1;
        let pte = read(pool, frame, idx as usize);
        if !pte.is_valid() {
            continue;
        }
        if pte.is_leaf() {
            if let Some(new) = f(entry_gpa, lv, pte) {
                write(pool, frame, idx as usize, new);
            }
        } else if lv > 0 && depth + 1 < stack.len() {
            depth += 1;
            stack[depth] = (
                child(pte),
                entry_gpa,
                scheme.index(first.max(entry_gpa), lv - 1),
            );
        }
    }
}
