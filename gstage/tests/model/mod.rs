//! A software model of the host and of L1 for the tests, benches and fuzz targets:
//! a frame pool, L1 guest memory, an L1 table builder, the host's map of L1, and a reference
//! two-stage translation written straight from the spec, independently of the crate's walker.
#![allow(dead_code)]

pub mod sim;

use std::collections::HashMap;

use gstage::{
    FrameKind, FramePool, Hgatp, HostFrame, HostMapping, L1AddressMap, MemoryFault, Perms,
    PteMemory, PteWidth,
};

/// Host PA of the pool's first frame (16 KiB aligned).
pub const POOL_BASE: u64 = 0x10_0000_0000;

/// A frame pool over a vector; checks that frees match allocations.
pub struct VecPool {
    words: Vec<u64>,
    used: Vec<bool>,
    hint: usize,
    in_use: usize,
}

impl VecPool {
    /// A pool of `frames` 4 KiB frames (a root takes four).
    pub fn new(frames: usize) -> Self {
        VecPool {
            words: vec![0; frames * 512],
            used: vec![false; frames],
            hint: 0,
            in_use: 0,
        }
    }

    /// Frames (4 KiB) in the pool.
    pub fn capacity(&self) -> usize {
        self.used.len()
    }

    /// Frames (4 KiB) currently allocated.
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Whether `pa` is an allocated 4 KiB frame of the pool (where a table pointer may lead).
    pub fn holds_frame(&self, pa: u64) -> bool {
        pa.checked_sub(POOL_BASE)
            .filter(|off| off % 4096 == 0)
            .and_then(|off| self.used.get((off / 4096) as usize))
            .is_some_and(|used| *used)
    }

    fn index(&self, frame: HostFrame) -> usize {
        let off = frame
            .pa()
            .checked_sub(POOL_BASE)
            .expect("frame below the pool");
        assert_eq!(off % 4096, 0, "unaligned frame");
        let i = (off / 4096) as usize;
        assert!(i < self.used.len(), "frame beyond the pool");
        assert!(self.used[i], "frame {:#x} used while free", frame.pa());
        i
    }
}

impl FramePool for VecPool {
    fn alloc(&mut self, kind: FrameKind) -> Option<HostFrame> {
        let n = self.used.len();
        let (count, step) = match kind {
            FrameKind::Table => (1, 1),
            FrameKind::Root => (4, 4),
        };
        let start = if kind == FrameKind::Table {
            self.hint
        } else {
            0
        };
        let mut i = start - start % step;
        for _ in 0..n.div_ceil(step) {
            if i + count > n {
                i = 0;
            }
            if self.used[i..i + count].iter().all(|u| !u) {
                self.used[i..i + count].iter_mut().for_each(|u| *u = true);
                self.words[i * 512..(i + count) * 512].fill(0);
                self.in_use += count;
                if kind == FrameKind::Table {
                    self.hint = i + 1;
                }
                return Some(HostFrame::new(POOL_BASE + i as u64 * 4096, kind));
            }
            i += step;
        }
        None
    }

    fn free(&mut self, frame: HostFrame) {
        let i = self.index(frame);
        let count = frame.kind().entries() / 512;
        assert!(self.used[i..i + count].iter().all(|u| *u), "double free");
        self.used[i..i + count].iter_mut().for_each(|u| *u = false);
        self.in_use -= count;
    }

    fn table(&self, frame: HostFrame) -> &[u64] {
        let i = self.index(frame);
        &self.words[i * 512..i * 512 + frame.kind().entries()]
    }

    fn table_mut(&mut self, frame: HostFrame) -> &mut [u64] {
        let i = self.index(frame);
        &mut self.words[i * 512..i * 512 + frame.kind().entries()]
    }
}

impl PteMemory for VecPool {
    fn read_pte(&mut self, addr: u64, _: PteWidth) -> Result<u64, MemoryFault> {
        let i = addr.checked_sub(POOL_BASE).ok_or(MemoryFault)? / 8;
        self.words.get(i as usize).copied().ok_or(MemoryFault)
    }

    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        w: PteWidth,
        current: u64,
        new: u64,
    ) -> Result<u64, MemoryFault> {
        let found = self.read_pte(addr, w)?;
        if found == current {
            self.words[((addr - POOL_BASE) / 8) as usize] = new;
        }
        Ok(found)
    }
}

/// L1 guest-physical memory: sparse words, backed below `size`.
#[derive(Clone, Default)]
pub struct L1Memory {
    pub words: HashMap<u64, u64>,
    pub size: u64,
    pub reads: u64,
}

impl L1Memory {
    pub fn new(size: u64) -> Self {
        L1Memory {
            words: HashMap::new(),
            size,
            reads: 0,
        }
    }

    pub fn read(&self, addr: u64, width: PteWidth) -> Option<u64> {
        if addr >= self.size || !addr.is_multiple_of(width.bytes()) {
            return None;
        }
        let word = self.words.get(&(addr & !7)).copied().unwrap_or(0);
        Some(match width {
            PteWidth::Bits64 => word,
            PteWidth::Bits32 => (word >> ((addr & 4) * 8)) & 0xffff_ffff,
        })
    }

    pub fn write(&mut self, addr: u64, width: PteWidth, value: u64) {
        let word = self.words.entry(addr & !7).or_insert(0);
        match width {
            PteWidth::Bits64 => *word = value,
            PteWidth::Bits32 => {
                let shift = (addr & 4) * 8;
                *word = (*word & !(0xffff_ffff << shift)) | ((value & 0xffff_ffff) << shift);
            }
        }
    }
}

impl PteMemory for L1Memory {
    fn read_pte(&mut self, addr: u64, width: PteWidth) -> Result<u64, MemoryFault> {
        self.reads += 1;
        self.read(addr, width).ok_or(MemoryFault)
    }

    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        width: PteWidth,
        current: u64,
        new: u64,
    ) -> Result<u64, MemoryFault> {
        let found = self.read(addr, width).ok_or(MemoryFault)?;
        if found == current {
            self.write(addr, width, new);
        }
        Ok(found)
    }
}

/// Shape of a G-stage mode for the reference: (levels, bits per level, root bits, PTE bytes).
pub fn shape(mode: gstage::GStageMode) -> (u32, u32, u32, u64) {
    use gstage::GStageMode::*;
    match mode {
        Sv32x4 => (2, 10, 12, 4),
        Sv39x4 => (3, 9, 11, 8),
        Sv48x4 => (4, 9, 11, 8),
        Sv57x4 => (5, 9, 11, 8),
        Bare => (0, 0, 0, 8),
    }
}

fn width_of(bytes: u64) -> PteWidth {
    if bytes == 4 {
        PteWidth::Bits32
    } else {
        PteWidth::Bits64
    }
}

/// PTE flag bits, written out as the spec numbers them.
pub const V: u64 = 1;
pub const R: u64 = 2;
pub const W: u64 = 4;
pub const X: u64 = 8;
pub const U: u64 = 16;
pub const G: u64 = 32;
pub const A: u64 = 64;
pub const D: u64 = 128;

/// Builds L1 G-stage tables in [`L1Memory`], allocating tables from a bump pointer.
pub struct L1Builder {
    pub mode: gstage::GStageMode,
    pub root: u64,
    pub next_table: u64,
    pub table_limit: u64,
}

impl L1Builder {
    /// Tables live in `[root, limit)`; the root (16 KiB) comes first.
    pub fn new(mode: gstage::GStageMode, root: u64, limit: u64) -> Self {
        L1Builder {
            mode,
            root,
            next_table: root + 0x4000,
            table_limit: limit,
        }
    }

    /// Address of the entry for `gpa` at `level`, creating tables above it; `None` if a leaf
    /// is in the way or the table area is full.
    pub fn entry_addr(&mut self, mem: &mut L1Memory, gpa: u64, level: u32) -> Option<u64> {
        let (levels, bits, root_bits, bytes) = shape(self.mode);
        let mut table = self.root;
        let mut lv = levels - 1;
        loop {
            let b = if lv == levels - 1 { root_bits } else { bits };
            let idx = (gpa >> (12 + bits * lv)) & ((1 << b) - 1);
            let addr = table + idx * bytes;
            if lv == level {
                return Some(addr);
            }
            let pte = mem.read(addr, width_of(bytes)).unwrap_or(0);
            if pte & V == 0 {
                if self.next_table + 4096 > self.table_limit {
                    return None;
                }
                let t = self.next_table;
                self.next_table += 4096;
                mem.write(addr, width_of(bytes), ((t >> 12) << 10) | V);
                table = t;
            } else if pte & (R | X) != 0 {
                return None;
            } else {
                table = ((pte >> 10) & ((1 << 44) - 1)) << 12;
            }
            lv -= 1;
        }
    }

    /// Maps `gpa` at `level` to `l1_pa` with `flags` (V added).
    pub fn map(
        &mut self,
        mem: &mut L1Memory,
        gpa: u64,
        level: u32,
        l1_pa: u64,
        flags: u64,
    ) -> Option<u64> {
        let (_, _, _, bytes) = shape(self.mode);
        let addr = self.entry_addr(mem, gpa, level)?;
        mem.write(addr, width_of(bytes), ((l1_pa >> 12) << 10) | flags | V);
        Some(addr)
    }
}

/// One region of the host's map of L1.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub l1_base: u64,
    pub size_log2: u32,
    pub host_base: u64,
    pub perms: Perms,
}

/// The host's map of L1 GPAs: non-overlapping aligned regions.
#[derive(Clone, Default, Debug)]
pub struct HostMap {
    pub regions: Vec<Region>,
}

impl HostMap {
    pub fn region(&self, l1_gpa: u64) -> Option<&Region> {
        self.regions
            .iter()
            .find(|r| l1_gpa >> r.size_log2 == r.l1_base >> r.size_log2)
    }
}

impl L1AddressMap for HostMap {
    fn translate(&self, l1_gpa: u64) -> Option<HostMapping> {
        let r = self.region(l1_gpa)?;
        let mask = (1u64 << r.size_log2) - 1;
        Some(HostMapping {
            host_pa: r.host_base | (l1_gpa & mask),
            size_log2: r.size_log2,
            perms: r.perms,
        })
    }
}

/// Kinds of access for the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fetch,
    Load,
    Store,
}

impl Kind {
    pub fn access(self) -> gstage::Access {
        gstage::Access::explicit(match self {
            Kind::Fetch => gstage::AccessType::Fetch,
            Kind::Load => gstage::AccessType::Load,
            Kind::Store => gstage::AccessType::Store,
        })
    }

    pub fn cause(self) -> u64 {
        match self {
            Kind::Fetch => 20,
            Kind::Load => 21,
            Kind::Store => 23,
        }
    }

    pub fn needs(self) -> Perms {
        match self {
            Kind::Fetch => Perms::X,
            Kind::Load => Perms::R,
            Kind::Store => Perms::R | Perms::W,
        }
    }
}

/// An implicit access to a VS-stage table entry, for the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefImplicit {
    /// Reading the entry: checked as a load needing R (MXR does not apply).
    Read,
    /// Setting A/D in it: checked as a store needing R and W (and D).
    Write,
}

/// A G-stage access for the reference: the original kind (it picks the cause), whether it
/// is an implicit VS-table access, HLVX and HS-level MXR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefAccess {
    pub kind: Kind,
    pub implicit: Option<RefImplicit>,
    pub hlvx: bool,
    pub mxr: bool,
}

impl RefAccess {
    pub fn explicit(kind: Kind) -> Self {
        RefAccess {
            kind,
            implicit: None,
            hlvx: false,
            mxr: false,
        }
    }

    /// Whether a G-stage leaf (or the host map) with `p` grants the access, as the spec's
    /// section 4.3 lists it.
    pub fn allows(self, p: Perms) -> bool {
        let (r, x) = (p.contains(Perms::R), p.contains(Perms::X));
        match (self.implicit, self.kind) {
            (Some(RefImplicit::Read), _) => r,
            (Some(RefImplicit::Write), _) | (None, Kind::Store) => p.contains(Perms::R | Perms::W),
            (None, Kind::Fetch) => x,
            (None, Kind::Load) if self.hlvx => x,
            (None, Kind::Load) => r || (self.mxr && x),
        }
    }

    /// Whether the access writes (needs D).
    pub fn writes(self) -> bool {
        match self.implicit {
            Some(RefImplicit::Write) => true,
            Some(RefImplicit::Read) => false,
            None => self.kind == Kind::Store,
        }
    }

    /// The same access for the crate.
    pub fn access(self) -> gstage::Access {
        gstage::Access {
            implicit: self.implicit.map(|i| match i {
                RefImplicit::Read => gstage::Implicit::Read,
                RefImplicit::Write => gstage::Implicit::Write,
            }),
            hlvx: self.hlvx,
            mxr: self.mxr,
            ..self.kind.access()
        }
    }
}

/// Outcome of the reference two-stage translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefOutcome {
    /// Host PA and the permissions both stages grant now (W only with D set, Svade).
    Mapped {
        l1_gpa: u64,
        host_pa: u64,
        perms: Perms,
        l1_size_log2: u32,
        /// PBMT of L1's leaf (0 for Sv32x4 and Bare).
        pbmt: u64,
    },
    /// L1's G-stage faults with this cause.
    L1Fault { cause: u64 },
    /// An L1 page-table read left L1 memory.
    L1AccessFault,
    /// The L1 GPA has no host memory.
    Unbacked { l1_gpa: u64 },
    /// The host denies the access.
    HostDenied,
}

/// L1's G-stage walk from the spec's algorithm (Svade, no PBMT/NAPOT/Svrsw60t59b).
pub fn reference_l1_walk(
    mem: &L1Memory,
    mode: gstage::GStageMode,
    root: u64,
    gpa: u64,
    kind: Kind,
) -> Result<(u64, Perms, u32), RefOutcome> {
    let allowed = |p: Perms| p.contains(kind.needs());
    reference_g_walk(
        mem,
        mode,
        root,
        gpa,
        kind.cause(),
        &allowed,
        kind == Kind::Store,
    )
}

/// The G-stage walk for an access that faults with `cause`, is `allowed` by a leaf's
/// permissions and is a `write` (needs D), without PBMTE.
pub fn reference_g_walk(
    mem: &L1Memory,
    mode: gstage::GStageMode,
    root: u64,
    gpa: u64,
    cause: u64,
    allowed: &dyn Fn(Perms) -> bool,
    write: bool,
) -> Result<(u64, Perms, u32), RefOutcome> {
    reference_g_leaf(mem, mode, root, gpa, cause, allowed, write, false)
        .map(|(pa, perms, size_log2, _)| (pa, perms, size_log2))
}

/// [`reference_g_walk`] with menvcfg.PBMTE = `pbmte`; also returns the leaf's PBMT.
#[allow(clippy::too_many_arguments)]
pub fn reference_g_leaf(
    mem: &L1Memory,
    mode: gstage::GStageMode,
    root: u64,
    gpa: u64,
    cause: u64,
    allowed: &dyn Fn(Perms) -> bool,
    write: bool,
    pbmte: bool,
) -> Result<(u64, Perms, u32, u64), RefOutcome> {
    if mode == gstage::GStageMode::Bare {
        return Ok((gpa, Perms::all(), 64, 0));
    }
    let fault = Err(RefOutcome::L1Fault { cause });
    let (levels, bits, root_bits, bytes) = shape(mode);
    let gpa_bits = 12 + bits * (levels - 1) + root_bits;
    if gpa >> gpa_bits != 0 {
        return fault;
    }
    let mut a = root;
    let mut i = levels as i64 - 1;
    loop {
        if i < 0 {
            return fault;
        }
        let lv = i as u32;
        let b = if lv == levels - 1 { root_bits } else { bits };
        let vpn = (gpa >> (12 + bits * lv)) & ((1 << b) - 1);
        let Some(pte) = mem.read(a + vpn * bytes, width_of(bytes)) else {
            return Err(RefOutcome::L1AccessFault);
        };
        let (r, w, x) = (pte & R != 0, pte & W != 0, pte & X != 0);
        if pte & V == 0 || (!r && w) {
            return fault;
        }
        // Bits 60:54 reserved, N (63) without Svnapot; PBMT (62:61) needs PBMTE, 3 is reserved.
        let pbmt = if bytes == 8 { (pte >> 61) & 3 } else { 0 };
        if bytes == 8 && ((pte >> 54) & 0x7f != 0 || pte >> 63 != 0) {
            return fault;
        }
        if pbmt != 0 && (!pbmte || pbmt == 3) {
            return fault;
        }
        let ppn_bits = if bytes == 8 { 44 } else { 22 };
        let ppn = (pte >> 10) & ((1 << ppn_bits) - 1);
        if !r && !x {
            if pte & (A | D | U) != 0 || pbmt != 0 {
                return fault;
            }
            a = ppn << 12;
            i -= 1;
            continue;
        }
        if pte & U == 0 {
            return fault;
        }
        let perms = Perms::from_bits_truncate(pte & (R | W | X));
        if !allowed(perms) {
            return fault;
        }
        let shift = 12 + bits * lv;
        if ppn & ((1 << (shift - 12)) - 1) != 0 {
            return fault;
        }
        if pte & A == 0 || (write && pte & D == 0) {
            return fault;
        }
        let mut granted = perms;
        if pte & D == 0 {
            granted.remove(Perms::W);
        }
        let mask = (1u64 << shift) - 1;
        return Ok(((ppn << 12) & !mask | (gpa & mask), granted, shift, pbmt));
    }
}

/// The reference two-stage translation: L1's G-stage then the host's map, every time.
pub fn reference(mem: &L1Memory, hgatp: Hgatp, map: &HostMap, gpa: u64, kind: Kind) -> RefOutcome {
    reference_access(mem, hgatp, map, gpa, RefAccess::explicit(kind), false)
}

/// [`reference`] for any G-stage access (implicit, HLVX, MXR), with L1's PBMTE. `perms` of
/// the outcome is the intersection of both stages, which may not grant the access itself
/// (MXR: one stage grants a load through R, the other through X).
pub fn reference_access(
    mem: &L1Memory,
    hgatp: Hgatp,
    map: &HostMap,
    gpa: u64,
    a: RefAccess,
    pbmte: bool,
) -> RefOutcome {
    let root = hgatp.root_pa();
    let allowed = |p: Perms| a.allows(p);
    let walk = reference_g_leaf(
        mem,
        hgatp.mode(),
        root,
        gpa,
        a.kind.cause(),
        &allowed,
        a.writes(),
        pbmte,
    );
    let (l1_gpa, l1_perms, l1_size_log2, pbmt) = match walk {
        Ok(t) => t,
        Err(e) => return e,
    };
    let Some(r) = map.region(l1_gpa) else {
        return RefOutcome::Unbacked { l1_gpa };
    };
    if !a.allows(r.perms) {
        return RefOutcome::HostDenied;
    }
    let mask = (1u64 << r.size_log2) - 1;
    let mut perms = l1_perms & r.perms;
    if !perms.contains(Perms::R) {
        perms.remove(Perms::W);
    }
    RefOutcome::Mapped {
        l1_gpa,
        host_pa: r.host_base | (l1_gpa & mask),
        perms,
        l1_size_log2,
        pbmt,
    }
}

/// The next-level table a valid XWR=000 entry of a shadow table at level `lv` points to, or
/// why it is not one: a shadow table only ever points into the pool's frames.
fn shadow_pointer(pool: &VecPool, gpa: u64, lv: u32, pte: u64) -> Result<u64, String> {
    let next = ((pte >> 10) & ((1 << 44) - 1)) << 12;
    if lv == 0 || !pool.holds_frame(next) {
        return Err(format!(
            "shadow entry {pte:#x} at {gpa:#x} (level {lv}) has XWR=000 but does not point to a shadow table"
        ));
    }
    Ok(next)
}

/// Every leaf of a shadow table, read back without the crate: (first GPA, size log2, PTE);
/// an error for an entry with XWR=000 that does not point to a table of the pool.
pub fn leaves_of(pool: &VecPool, hgatp: Hgatp) -> Result<Vec<(u64, u32, u64)>, String> {
    let (levels, bits, root_bits, _) = shape(hgatp.mode());
    let mut out = Vec::new();
    let mut stack = vec![(hgatp.root_pa(), levels - 1, 0u64)];
    while let Some((table, lv, base)) = stack.pop() {
        let b = if lv == levels - 1 { root_bits } else { bits };
        let kind = if lv == levels - 1 {
            FrameKind::Root
        } else {
            FrameKind::Table
        };
        let words = pool.table(HostFrame::new(table, kind));
        for (i, &pte) in words.iter().enumerate().take(1 << b) {
            if pte & V == 0 {
                continue;
            }
            let gpa = base | ((i as u64) << (12 + bits * lv));
            if pte & (R | W | X) != 0 {
                out.push((gpa, 12 + bits * lv, pte));
            } else {
                stack.push((shadow_pointer(pool, gpa, lv, pte)?, lv - 1, gpa));
            }
        }
    }
    Ok(out)
}

/// Checks the isolation invariant on every leaf of a shadow table (see [`check_leaf_isolated`]);
/// returns the leaves.
pub fn check_isolation(
    pool: &VecPool,
    hgatp: Hgatp,
    map: &HostMap,
) -> Result<Vec<(u64, u32, u64)>, String> {
    let leaves = leaves_of(pool, hgatp)?;
    for &(gpa, size_log2, pte) in &leaves {
        check_leaf_isolated(map, gpa, size_log2, pte)?;
    }
    Ok(leaves)
}

/// Page offsets (in pages) sampled inside a leaf of `pages` pages: the first, the last and a
/// few in between.
fn sampled_pages(pages: u64) -> impl Iterator<Item = u64> {
    let step = (pages / 8).max(1);
    (0..pages)
        .step_by(step as usize)
        .chain((pages > 1).then_some(pages - 1))
}

/// The isolation invariant for one shadow leaf (in a table or cached by a hart): it is a
/// well-formed G-stage leaf (U=1, R or X, W only with R, no reserved bits), and it stands
/// for one range of L1 GPAs, each page of which the host maps to the leaf's host page with
/// at least the leaf's permissions. Per L1 GPA: two L1 GPAs the host maps to the same host
/// page with R and with X do not add up to RX.
pub fn check_leaf_isolated(
    map: &HostMap,
    gpa: u64,
    size_log2: u32,
    pte: u64,
) -> Result<(), String> {
    let perms = Perms::from_bits_truncate(pte & (R | W | X));
    let reserved = (pte >> 54) & 0x7f != 0 || pte >> 63 != 0 || (pte >> 61) & 3 == 3;
    if pte & U == 0
        || reserved
        || !perms.intersects(Perms::R | Perms::X)
        || (perms.contains(Perms::W) && !perms.contains(Perms::R))
    {
        return Err(format!("malformed shadow leaf {pte:#x} at {gpa:#x}"));
    }
    let host = ((pte >> 10) & ((1 << 44) - 1)) << 12;
    if host & ((1 << size_log2) - 1) != 0 {
        return Err(format!("misaligned shadow leaf at {gpa:#x}"));
    }
    let pages = 1u64 << (size_log2 - 12);
    let grants = |l1: u64| {
        sampled_pages(pages).all(|p| {
            map.translate(l1 + p * 4096)
                .is_some_and(|m| m.host_pa == host + p * 4096 && m.perms.contains(perms))
        })
    };
    let l1_bases = map
        .regions
        .iter()
        .filter(|r| host >> r.size_log2 == r.host_base >> r.size_log2)
        .map(|r| r.l1_base | (host & ((1 << r.size_log2) - 1)));
    let mut candidates = l1_bases.clone();
    if candidates.any(grants) {
        return Ok(());
    }
    Err(format!(
        "shadow leaf at {gpa:#x} (2^{size_log2} bytes) maps host {host:#x} with {perms:?}; no L1 range grants that (L1 GPAs of the host page: {:x?})",
        l1_bases.collect::<Vec<_>>()
    ))
}

/// Checks coherence at `gpa`: a shadow hit must agree with the reference two-stage
/// translation (same host address, permissions within what the reference grants).
pub fn check_coherent_at(
    pool: &VecPool,
    shadow_hgatp: Hgatp,
    l1: &L1Memory,
    (l1_hgatp, pbmte): (Hgatp, bool),
    map: &HostMap,
    gpa: u64,
) -> Result<(), String> {
    let Some(leaf) = shadow_leaf_at(pool, shadow_hgatp, gpa)? else {
        return Ok(());
    };
    check_leaf_coherent_at(l1, (l1_hgatp, pbmte), map, leaf, gpa)
}

/// Checks that the shadow leaf `(base, size_log2, pte)`, in a table or cached by a hart,
/// agrees at `gpa` (inside it) with the reference two-stage translation: same host address,
/// permissions within what the reference grants for each access the leaf allows, and L1's
/// memory type (L1 has PBMTE when `pbmte`).
pub fn check_leaf_coherent_at(
    l1: &L1Memory,
    (l1_hgatp, pbmte): (Hgatp, bool),
    map: &HostMap,
    (base, size_log2, pte): (u64, u32, u64),
    gpa: u64,
) -> Result<(), String> {
    let perms = Perms::from_bits_truncate(pte & (R | W | X));
    let host = (((pte >> 10) & ((1 << 44) - 1)) << 12) | (gpa - base);
    for kind in [Kind::Fetch, Kind::Load, Kind::Store] {
        if !perms.contains(kind.needs()) {
            continue;
        }
        let access = RefAccess::explicit(kind);
        match reference_access(l1, l1_hgatp, map, gpa, access, pbmte) {
            RefOutcome::Mapped {
                host_pa,
                perms: ref_perms,
                pbmt,
                ..
            } if host_pa == host && ref_perms.contains(perms) && pbmt == (pte >> 61) & 3 => {}
            other => {
                return Err(format!(
                    "stale shadow at {gpa:#x} (size 2^{size_log2}): shadow {host:#x} {perms:?} for {kind:?}, reference {other:?}"
                ));
            }
        }
    }
    Ok(())
}

/// The shadow leaf for `gpa`, read without the crate (an error for a malformed pointer).
pub fn shadow_leaf_at(
    pool: &VecPool,
    hgatp: Hgatp,
    gpa: u64,
) -> Result<Option<(u64, u32, u64)>, String> {
    let (levels, bits, root_bits, _) = shape(hgatp.mode());
    if gpa >> (12 + bits * (levels - 1) + root_bits) != 0 {
        return Ok(None);
    }
    let mut table = hgatp.root_pa();
    let mut lv = levels - 1;
    loop {
        let b = if lv == levels - 1 { root_bits } else { bits };
        let kind = if lv == levels - 1 {
            FrameKind::Root
        } else {
            FrameKind::Table
        };
        let shift = 12 + bits * lv;
        let pte =
            pool.table(HostFrame::new(table, kind))[((gpa >> shift) & ((1 << b) - 1)) as usize];
        if pte & V == 0 {
            return Ok(None);
        }
        if pte & (R | W | X) != 0 {
            return Ok(Some((gpa & !((1u64 << shift) - 1), shift, pte)));
        }
        table = shadow_pointer(pool, gpa, lv, pte)?;
        lv -= 1;
    }
}

/// The level of the invalid entry a walk of the shadow table for `gpa` stops at (what a hart
/// without Svvptc may cache), or `None` when the walk reaches a leaf or `gpa` is out of range.
pub fn shadow_invalid_level(pool: &VecPool, hgatp: Hgatp, gpa: u64) -> Option<u32> {
    let (levels, bits, root_bits, _) = shape(hgatp.mode());
    if gpa >> (12 + bits * (levels - 1) + root_bits) != 0 {
        return None;
    }
    let mut table = hgatp.root_pa();
    let mut lv = levels - 1;
    loop {
        let b = if lv == levels - 1 { root_bits } else { bits };
        let kind = if lv == levels - 1 {
            FrameKind::Root
        } else {
            FrameKind::Table
        };
        let idx = ((gpa >> (12 + bits * lv)) & ((1 << b) - 1)) as usize;
        let pte = pool.table(HostFrame::new(table, kind))[idx];
        if pte & V == 0 {
            return Some(lv);
        }
        table = ((pte >> 10) & ((1 << 44) - 1)) << 12;
        if pte & (R | W | X) != 0 || lv == 0 || !pool.holds_frame(table) {
            return None;
        }
        lv -= 1;
    }
}

/// Outcome of the reference two-stage (VS-stage, then G-stage) translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefTwoStage {
    /// The supervisor physical address.
    Mapped(u64),
    /// VS-stage page fault with this cause.
    PageFault(u64),
    /// Guest-page fault: cause, GPA, whether an implicit VS-table access faulted.
    GuestPageFault(u64, u64, bool),
    /// Access fault with this cause.
    AccessFault(u64),
}

/// Options of an explicit access made as though at V=1.
#[derive(Clone, Copy, Debug)]
pub struct VsOptions {
    pub kind: Kind,
    pub hlvx: bool,
    pub user: bool,
    pub sum: bool,
    pub mxr: bool,
    pub hs_mxr: bool,
}

/// Sv39 VS-stage over an Sv39x4 (or Bare) G-stage, Svade in both, straight from the spec.
pub fn reference_two_stage(
    mem: &L1Memory,
    vs_root: u64,
    hgatp: Hgatp,
    gva: u64,
    o: VsOptions,
) -> RefTwoStage {
    let gpf = o.kind.cause();
    let pf = gpf - 8; // 20/21/23 -> 12/13/15
    let af = [1, 5, 7][o.kind as usize];
    let g = |gpa: u64, allowed: &dyn Fn(Perms) -> bool, write: bool| {
        reference_g_walk(mem, hgatp.mode(), hgatp.root_pa(), gpa, gpf, allowed, write)
    };
    if ((gva << 25) as i64 >> 25) as u64 != gva {
        return RefTwoStage::PageFault(pf);
    }
    let mut a = vs_root;
    for i in (0..3u32).rev() {
        let pte_gpa = a + ((gva >> (12 + 9 * i)) & 0x1ff) * 8;
        // An implicit read: a load needing R, MXR not applied.
        let spa = match g(pte_gpa, &|p: Perms| p.contains(Perms::R), false) {
            Ok((spa, _, _)) => spa,
            Err(RefOutcome::L1AccessFault) => return RefTwoStage::AccessFault(af),
            Err(_) => return RefTwoStage::GuestPageFault(gpf, pte_gpa, true),
        };
        let Some(pte) = mem.read(spa, PteWidth::Bits64) else {
            return RefTwoStage::AccessFault(af);
        };
        let (r, w, x) = (pte & R != 0, pte & W != 0, pte & X != 0);
        if pte & V == 0 || (!r && w) || pte >> 54 != 0 {
            return RefTwoStage::PageFault(pf);
        }
        let ppn = (pte >> 10) & ((1 << 44) - 1);
        if !r && !x {
            if pte & (A | D | U) != 0 || i == 0 {
                return RefTwoStage::PageFault(pf);
            }
            a = ppn << 12;
            continue;
        }
        let u = pte & U != 0;
        let privilege_ok = if o.user {
            u
        } else {
            !u || (o.sum && o.kind != Kind::Fetch)
        };
        let perm_ok = match o.kind {
            Kind::Fetch => x,
            Kind::Load if o.hlvx => x,
            Kind::Load => r || ((o.mxr || o.hs_mxr) && x),
            Kind::Store => r && w,
        };
        let shift = 12 + 9 * i;
        let aligned = ppn & ((1 << (shift - 12)) - 1) == 0;
        let ad_ok = pte & A != 0 && (o.kind != Kind::Store || pte & D != 0);
        if !privilege_ok || !perm_ok || !aligned || !ad_ok {
            return RefTwoStage::PageFault(pf);
        }
        let gpa = ((ppn << 12) & !((1u64 << shift) - 1)) | (gva & ((1u64 << shift) - 1));
        let allowed = |p: Perms| match o.kind {
            Kind::Fetch => p.contains(Perms::X),
            Kind::Load if o.hlvx => p.contains(Perms::X),
            Kind::Load => p.contains(Perms::R) || (o.hs_mxr && p.contains(Perms::X)),
            Kind::Store => p.contains(Perms::R | Perms::W),
        };
        return match g(gpa, &allowed, o.kind == Kind::Store) {
            Ok((spa, _, _)) => RefTwoStage::Mapped(spa),
            Err(RefOutcome::L1AccessFault) => RefTwoStage::AccessFault(af),
            Err(_) => RefTwoStage::GuestPageFault(gpf, gpa, false),
        };
    }
    RefTwoStage::PageFault(pf)
}
