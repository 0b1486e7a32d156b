//! A scripted L1 and host driving a shadow manager, checking isolation and coherence after
//! every step. Shared by the property tests and the `shadow_ops` fuzz target, which both
//! feed it operations decoded from bytes.
//!
//! L1 has five G-stages (Sv39x4, Sv48x4, Sv32x4, Sv57x4 and Bare) for a manager of three
//! slots, so contexts are recycled. A model of one hart's TLB caches every shadow leaf that
//! was ever valid and drops only what the reported fences cover: whatever it still holds
//! must be isolated and, when L1 fences what it changes, agree with the reference. On hosts
//! without Svvptc it also caches the invalid entries L2 touched, and a fill must fence the
//! one on its path or the hart would fault on it again.

use std::collections::HashSet;

use gstage::{
    ContextKey, Fences, FillError, GStageMode, HfenceGvma, Hgatp, Perms, PteWidth, ShadowConfig,
    ShadowManager, SupportedModes, WalkConfig, WalkError,
};

use super::{
    A, D, HostMap, Kind, L1Builder, L1Memory, R, RefAccess, RefImplicit, RefOutcome, Region, U,
    VecPool, W, X, check_coherent_at, check_isolation, check_leaf_coherent_at, check_leaf_isolated,
    reference_access, shadow_invalid_level, shadow_leaf_at,
};

/// Host PA where the host's 2 MiB blocks for L1 live.
const HOST: u64 = 0x40_0000_0000;
/// L1 GPAs [6 MiB, 6 MiB + 64 KiB) are mapped by the host page by page.
const FINE_BASE: u64 = 0x60_0000;
const FINE_PAGES: u64 = 16;

/// L1's G-stages: one per mode. More than the manager's slots.
const MODES: [GStageMode; 5] = [
    GStageMode::Sv39x4,
    GStageMode::Sv48x4,
    GStageMode::Sv32x4,
    GStageMode::Sv57x4,
    GStageMode::Bare,
];
const CONTEXTS: usize = MODES.len();
/// Shadow contexts the manager holds at once.
pub const SLOTS: usize = 3;
/// Where each L1 G-stage keeps its tables in L1 memory: `[root, limit)`.
const TABLE_AREAS: [(u64, u64); CONTEXTS] = [
    (0x1_0000, 0x8_0000),
    (0x8_0000, 0x10_0000),
    (0x10_0000, 0x14_0000),
    (0x14_0000, 0x1c_0000),
    (0, 0),
];

/// log2 of the size of a leaf at `level` of L1's `mode`.
fn page_shift(mode: GStageMode, level: u32) -> u32 {
    let bits = if mode == GStageMode::Sv32x4 { 10 } else { 9 };
    12 + bits * level
}

/// A GPA whose root index has its top bit set (index 2048 and up for Sv32x4, 1024 and up
/// for the others): only the x4 root is that wide.
fn high_gpa(mode: GStageMode) -> u64 {
    1 << (mode.gpa_bits().unwrap_or(41) - 1)
}

/// One L1 leaf the script may edit: (GPA, level).
fn slot(mode: GStageMode, s: u8) -> (u64, u32) {
    let sv32 = mode == GStageMode::Sv32x4;
    match s % 41 {
        s @ 0..32 => (s as u64 * 0x1000, 0),
        // A superpage one level up (4 MiB in Sv32x4) and one two levels up (Sv32x4 has
        // only two levels: another 4 MiB one).
        32 if sv32 => (0x80_0000, 1),
        32 => (0x20_0000, 1),
        33 => (0x4000_0000, if sv32 { 1 } else { 2 }),
        s @ 34..40 => (FINE_BASE + (s as u64 - 34) * 0x1000, 0),
        _ => (high_gpa(mode) | 0x3000, 0),
    }
}

/// GPAs the checks probe in every context, besides every slot.
const PROBES: [u64; 6] = [
    0x21_0000,
    0x3f_f000,
    0x4123_4000,
    0x7f_f000,
    0x90_0000,
    0x1_0000_0000,
];

fn probes(mode: GStageMode) -> impl Iterator<Item = u64> {
    PROBES
        .into_iter()
        .chain((0..41).map(move |s| slot(mode, s).0))
}

/// A GPA for a fill or a fence, from two bytes, in L1's `mode`.
fn gpa_of(mode: GStageMode, sel: u8, extra: u8) -> u64 {
    let superpage = slot(mode, 32).0;
    let base = match sel % 5 {
        0 => slot(mode, sel / 5).0,
        1 => superpage + (extra as u64 % 512) * 0x1000,
        2 => 0x4000_0000 + (extra as u64 % 4) * 0x20_0000 + (extra as u64 / 4) * 0x1000,
        3 => PROBES[extra as usize % PROBES.len()],
        // Past each mode's width in turn: 2^38, 2^42, ..., 2^62.
        _ if extra > 0xf8 => 1 << (34 + (extra as u64 - 0xf8) * 4),
        // Root indices past 511.
        _ if extra > 0xf0 => (extra as u64) << 33,
        _ => slot(mode, extra).0,
    };
    base | (sel as u64 & 0x7) << 3
}

/// The access of a fill: mostly plain fetches, loads and stores, then MXR and HLVX loads and
/// implicit VS-stage table reads and writes of each original kind.
fn access_of(b: u8) -> RefAccess {
    let kind = [Kind::Fetch, Kind::Load, Kind::Store][b as usize % 3];
    let plain = RefAccess::explicit(kind);
    let load = RefAccess::explicit(Kind::Load);
    match (b / 3) % 8 {
        4 => RefAccess { mxr: true, ..load },
        5 => RefAccess { hlvx: true, ..load },
        6 => RefAccess {
            implicit: Some(RefImplicit::Read),
            ..plain
        },
        7 => RefAccess {
            implicit: Some(RefImplicit::Write),
            ..plain
        },
        _ => plain,
    }
}

/// One step of the script. GPAs are chosen when the step runs, from L1's mode.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// L2 touches a GPA in context `ctx` (explicitly, with HLVX or HS-level MXR, or as an
    /// implicit VS-stage table access): the shadow is filled.
    Fill {
        ctx: u8,
        sel: u8,
        extra: u8,
        access: RefAccess,
    },
    /// L1 rewrites one of its leaves (invalid when `flags` has V clear), then fences as the
    /// spec requires if the script is law-abiding.
    EditLeaf {
        ctx: u8,
        slot: u8,
        /// Chooses the L1 GPA the leaf maps.
        target: u16,
        /// Low PPN bits of a superpage set (a misaligned superpage).
        misaligned: bool,
        /// V, R, W, X, U, A, D and PBMT.
        flags: u64,
        /// Chooses the GPA inside the leaf that L1's fence names.
        fence_sel: u8,
    },
    /// L1 drops the level-1 pointer above its small leaves (a non-leaf change: rs1=x0 fence).
    DropPointer { ctx: u8 },
    /// L1 turns hardware A/D updating (SBI FWFT) or PBMT of its G-stage on or off.
    SetL1Walk { svadu: bool, pbmte: bool },
    /// Extra fences L1 may issue at any time (for one context's VMID, or all).
    FenceGpa {
        ctx: u8,
        all: bool,
        sel: u8,
        extra: u8,
        len: u64,
    },
    /// HFENCE.GVMA for all addresses of one VMID.
    FenceVmid { ctx: Option<u8> },
    /// The host changes its map of one 2 MiB block of L1 and invalidates it.
    HostRemap {
        block: u8,
        host_sel: u8,
        perms: Perms,
        present: bool,
    },
}

impl Op {
    /// Decodes one operation from six bytes.
    pub fn decode(b: [u8; 6]) -> Op {
        // Sv39x4 and Sv48x4 most often; four or five in use recycle the three slots.
        let ctx = [0, 1, 0, 1, 2, 3, 4, 0][b[1] as usize % 8];
        match b[0] % 16 {
            0..=8 => Op::Fill {
                ctx,
                sel: b[2],
                extra: b[3],
                access: access_of(b[4]),
            },
            9..=11 => {
                let perms = [R, R | W, R | X, R | W | X, X, W][b[4] as usize % 6];
                let mut flags = perms;
                for (bit, f) in [(0x08, U), (0x10, A), (0x20, D)] {
                    if b[4] & bit != 0 || b[4] & 0xc0 == 0xc0 {
                        flags |= f;
                    }
                }
                if b[4] & 0xc0 != 0 {
                    flags |= 1; // V
                }
                // Sometimes a memory type (NC, IO or the reserved 3): L1's PBMTE decides.
                if b[2] & 0x80 != 0 && b[3] & 0x80 != 0 {
                    flags |= ((b[3] as u64 >> 5) & 3) << 61;
                }
                Op::EditLeaf {
                    ctx,
                    slot: b[2],
                    target: b[3] as u16 | ((b[5] as u16 & 7) << 8),
                    misaligned: b[5] & 0x80 != 0,
                    flags,
                    fence_sel: b[5],
                }
            }
            12 if b[2] >= 0xe0 => Op::SetL1Walk {
                svadu: b[3] & 1 != 0,
                pbmte: b[3] & 2 != 0,
            },
            12 => Op::DropPointer { ctx },
            13 => Op::FenceGpa {
                ctx,
                all: b[2] & 1 != 0,
                sel: b[3],
                extra: b[4],
                len: 1 << (b[5] % 24),
            },
            14 => Op::FenceVmid {
                ctx: (b[2] & 1 == 0).then_some(ctx),
            },
            _ => Op::HostRemap {
                block: b[2] % 3,
                host_sel: b[3] % 8,
                perms: [
                    Perms::R,
                    Perms::R | Perms::W,
                    Perms::R | Perms::X,
                    Perms::all(),
                    Perms::X,
                ][b[4] as usize % 5],
                present: !b[5].is_multiple_of(4),
            },
        }
    }
}

/// A translation a hart may hold: a shadow leaf of physical VMID `vmid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Cached {
    vmid: u16,
    base: u64,
    size_log2: u32,
    pte: u64,
}

/// An invalid shadow entry a hart without Svvptc may hold: the entry at `level` for the
/// GPAs whose bits above that level's page size are `prefix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct CachedInvalid {
    vmid: u16,
    level: u32,
    prefix: u64,
}

/// The shadow tables' level sizes (every shadow mode uses 9-bit indices below the root).
const fn shadow_shift(level: u32) -> u32 {
    12 + 9 * level
}

/// L1's G-stages, the host's map of L1, a pool, a shadow manager and one hart's TLB.
pub struct Sim {
    pub l1: L1Memory,
    builders: Vec<Option<L1Builder>>,
    keys: [ContextKey; CONTEXTS],
    pub map: HostMap,
    pub pool: VecPool,
    pub mgr: ShadowManager<SLOTS>,
    /// L1 fences what it changes (the coherence property); otherwise it is hostile.
    law_abiding: bool,
    host_svvptc: bool,
    tlb: HashSet<Cached>,
    invalid_tlb: HashSet<CachedInvalid>,
    pub fills: u64,
    /// Fills that installed a leaf, and shadow leaves seen by the isolation check.
    pub installed: u64,
    /// Fills refused because the stages grant an MXR load through different permissions.
    pub no_common: u64,
    /// Fills that installed a leaf, per L1 G-stage (in the order of `MODES`), and those at a
    /// GPA whose root index only the x4 root has (past 511; past 1023 for Sv32x4).
    pub installed_in: [u64; CONTEXTS],
    pub installed_high: u64,
    /// Fills that installed a leaf with L1's memory type (NC or IO).
    pub installed_pbmt: u64,
    /// Contexts whose slot was recycled for another L1 G-stage.
    pub recycled: u64,
    /// Largest number of translations the TLB model held, and stale ones it checked (held
    /// after their shadow leaf was gone).
    pub tlb_peak: usize,
    pub stale_checked: u64,
    pub leaves_checked: std::cell::Cell<u64>,
}

impl Sim {
    /// A fresh world with `frames` frames in the pool; `l1_svadu`: L1's G-stage has
    /// hardware A/D updates (else Svade).
    pub fn new(frames: usize, law_abiding: bool, host_svvptc: bool, l1_svadu: bool) -> Sim {
        let l1_walk = WalkConfig {
            svadu: l1_svadu,
            ..WalkConfig::default()
        };
        Sim::with_l1_walk(frames, law_abiding, host_svvptc, l1_walk)
    }

    /// [`Sim::new`] with L1's G-stage rules (Svadu, PBMTE) given; with PBMTE some of L1's
    /// first leaves are NC or IO.
    pub fn with_l1_walk(
        frames: usize,
        law_abiding: bool,
        host_svvptc: bool,
        l1_walk: WalkConfig,
    ) -> Sim {
        let mut l1 = L1Memory::new(0x100_0000);
        let mut builders = Vec::new();
        let mut keys = [ContextKey::from_hgatp(Hgatp::new(GStageMode::Bare, 0, 0)); CONTEXTS];
        for (c, mode) in MODES.into_iter().enumerate() {
            let (root, limit) = TABLE_AREAS[c];
            keys[c] = ContextKey::from_hgatp(Hgatp::new(mode, c as u16 + 1, root >> 12));
            if mode == GStageMode::Bare {
                builders.push(None);
                continue;
            }
            let mut b = L1Builder::new(mode, root, limit);
            // Each L1 starts with a few mappings.
            for i in 0..32u64 {
                let perms = [R | W, R | W | X, R | X, R][i as usize % 4];
                // Some entries start clean or unaccessed: Svade faults, Svadu updates them.
                let ad = match i % 5 {
                    1 => A,
                    3 => 0,
                    _ => A | D,
                };
                let pbmt = if l1_walk.pbmte { (i % 3) << 61 } else { 0 };
                b.map(
                    &mut l1,
                    i * 0x1000,
                    0,
                    0x1000 * (i * 7 % 64),
                    perms | U | ad | pbmt,
                );
            }
            let (gpa, level) = slot(mode, 32);
            let size = 1 << page_shift(mode, level);
            b.map(&mut l1, gpa, level, size, R | W | X | U | A | D);
            let (gpa, level) = slot(mode, 33);
            b.map(&mut l1, gpa, level, 0, R | W | X | U | A | D);
            b.map(&mut l1, FINE_BASE, 0, FINE_BASE, R | W | U | A | D);
            b.map(
                &mut l1,
                high_gpa(mode) | 0x3000,
                0,
                0x3000,
                R | W | U | A | D,
            );
            builders.push(Some(b));
        }
        let mut map = HostMap::default();
        for block in 0..3u64 {
            map.regions.push(Region {
                l1_base: block << 21,
                size_log2: 21,
                host_base: HOST + (block << 21),
                perms: Perms::all(),
            });
        }
        for p in 0..FINE_PAGES {
            let perms = if p % 3 == 0 { Perms::R } else { Perms::all() };
            map.regions.push(Region {
                l1_base: FINE_BASE + p * 0x1000,
                size_log2: 12,
                host_base: HOST + 0x100_0000 + ((p * 5) % FINE_PAGES) * 0x1000,
                perms,
            });
        }
        let config = ShadowConfig {
            l1_walk,
            host_svvptc,
            first_vmid: 50,
            shadow_modes: SupportedModes {
                sv32x4: false,
                sv39x4: true,
                sv48x4: true,
                sv57x4: true,
            },
        };
        Sim {
            l1,
            builders,
            keys,
            map,
            pool: VecPool::new(frames),
            mgr: ShadowManager::new(config),
            law_abiding,
            host_svvptc,
            tlb: HashSet::new(),
            invalid_tlb: HashSet::new(),
            fills: 0,
            installed: 0,
            no_common: 0,
            installed_in: [0; CONTEXTS],
            installed_high: 0,
            installed_pbmt: 0,
            recycled: 0,
            tlb_peak: 0,
            stale_checked: 0,
            leaves_checked: std::cell::Cell::new(0),
        }
    }

    fn l1_hgatp(&self, ctx: usize) -> Hgatp {
        let k = self.keys[ctx];
        Hgatp::new(k.mode, k.vmid, k.root_pa >> 12)
    }

    fn mode(&self, ctx: usize) -> GStageMode {
        self.keys[ctx].mode
    }

    /// Runs one operation, lets the hart execute the fences it reported, and checks the
    /// invariants.
    pub fn step(&mut self, op: Op) -> Result<(), String> {
        let mut fences = Fences::new();
        let mut filled = None;
        match op {
            Op::Fill {
                ctx,
                sel,
                extra,
                access,
            } => {
                let c = ctx as usize;
                let gpa = gpa_of(self.mode(c), sel, extra);
                filled = self.fill(c, gpa, access, &mut fences)?;
            }
            Op::EditLeaf {
                ctx,
                slot: s,
                target,
                misaligned,
                flags,
                fence_sel,
            } => self.edit_leaf(
                ctx as usize,
                s,
                target,
                misaligned,
                flags,
                fence_sel,
                &mut fences,
            ),
            Op::DropPointer { ctx } => {
                let c = ctx as usize;
                let width = self.width(c);
                if let Some(b) = self.builders[c].as_mut()
                    && let Some(addr) = b.entry_addr(&mut self.l1, 0, 1)
                {
                    self.l1.write(addr, width, 0);
                    if self.law_abiding {
                        self.mgr.invalidate_vmid(
                            Some(self.keys[c].vmid),
                            &mut self.pool,
                            &mut fences,
                        );
                    }
                }
            }
            Op::SetL1Walk { svadu, pbmte } => {
                let config = WalkConfig {
                    svadu,
                    pbmte,
                    ..self.mgr.config().l1_walk
                };
                self.mgr.set_l1_walk(config, &mut self.pool, &mut fences);
            }
            Op::FenceGpa {
                ctx,
                all,
                sel,
                extra,
                len,
            } => {
                let c = ctx as usize;
                let vmid = (!all).then_some(self.keys[c].vmid);
                let gpa = gpa_of(self.mode(c), sel, extra);
                self.mgr
                    .invalidate_gpa(vmid, gpa, len, &mut self.pool, &mut fences);
            }
            Op::FenceVmid { ctx } => {
                let vmid = ctx.map(|c| self.keys[c as usize].vmid);
                self.mgr.invalidate_vmid(vmid, &mut self.pool, &mut fences);
            }
            Op::HostRemap {
                block,
                host_sel,
                perms,
                present,
            } => {
                let l1_base = (block as u64) << 21;
                self.map.regions.retain(|r| r.l1_base != l1_base);
                if present {
                    self.map.regions.push(Region {
                        l1_base,
                        size_log2: 21,
                        host_base: HOST + ((host_sel as u64) << 21),
                        perms,
                    });
                }
                // The host is trusted: it always invalidates what it changed.
                self.mgr
                    .invalidate_l1_range(l1_base, 1 << 21, &mut self.pool, &mut fences);
            }
        }
        self.execute_fences(&fences);
        if let Some((c, gpa)) = filled {
            self.check_no_stale_invalid_entry(c, gpa)?;
        }
        self.check()
    }

    fn width(&self, c: usize) -> PteWidth {
        if self.mode(c) == GStageMode::Sv32x4 {
            PteWidth::Bits32
        } else {
            PteWidth::Bits64
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn edit_leaf(
        &mut self,
        c: usize,
        s: u8,
        target: u16,
        misaligned: bool,
        flags: u64,
        fence_sel: u8,
        fences: &mut Fences,
    ) {
        let mode = self.mode(c);
        let width = self.width(c);
        let (gpa, level) = slot(mode, s);
        let size = 1u64 << page_shift(mode, level);
        let target = match level {
            0 => target as u64 * 0x1000,
            1 => (target as u64 % 4) * size + if misaligned { 0x1000 } else { 0 },
            _ => 0,
        };
        let value = ((target >> 12) << 10) | flags;
        let Some(addr) = self.builders[c]
            .as_mut()
            .and_then(|b| b.entry_addr(&mut self.l1, gpa, level))
        else {
            return;
        };
        let old = self.l1.read(addr, width).unwrap_or(0);
        self.l1.write(addr, width, value);
        if self.law_abiding && old & 1 != 0 {
            let fence_at = (fence_sel as u64 * 0x1000) % size;
            self.mgr.invalidate_gpa(
                Some(self.keys[c].vmid),
                gpa + fence_at,
                0x1000,
                &mut self.pool,
                fences,
            );
        }
    }

    /// Fills the shadow of context `c` at `gpa`; returns the context and GPA when a leaf was
    /// installed.
    fn fill(
        &mut self,
        c: usize,
        gpa: u64,
        access: RefAccess,
        fences: &mut Fences,
    ) -> Result<Option<(usize, u64)>, String> {
        let key = self.keys[c];
        let had_context = self.mgr.hgatp(key).is_some();
        let full = self.mgr.keys().count() == SLOTS;
        let shadow = self
            .mgr
            .activate(key, &mut self.pool, fences)
            .map_err(|e| format!("activate: {e:?}"))?;
        if !had_context && full {
            self.recycled += 1;
        }
        // The hart faulted here: without Svvptc it may keep the invalid entry it found.
        self.execute_fences(fences);
        *fences = Fences::new();
        self.cache_invalid(shadow, gpa);
        let got = self.mgr.fill(
            key,
            gpa,
            access.access(),
            &mut self.l1,
            &self.map,
            &mut self.pool,
            fences,
        );
        // After the fill: with Svadu it may have set A/D in L1's entry, and the Svade
        // reference on the updated tables must then agree exactly.
        let pbmte = self.mgr.config().l1_walk.pbmte;
        let expected = reference_access(&self.l1, self.l1_hgatp(c), &self.map, gpa, access, pbmte);
        self.fills += 1;
        match (expected, got) {
            // MXR: one stage grants the load through R, the other through X; no leaf may
            // grant it (a leaf without R or X would be a table pointer).
            (RefOutcome::Mapped { l1_gpa, perms, .. }, got) if !access.allows(perms) => {
                if !matches!(got, Err(FillError::NoCommonPermission { l1_gpa: g, .. }) if g == l1_gpa)
                {
                    return Err(format!(
                        "fill of {gpa:#x} ({access:?}): stages share only {perms:?}, shadow {got:?}"
                    ));
                }
                self.no_common += 1;
            }
            (
                RefOutcome::Mapped {
                    host_pa,
                    perms,
                    pbmt,
                    ..
                },
                Ok(filled),
            ) => {
                let leaf = self
                    .mgr
                    .lookup(key, gpa, &self.pool)
                    .ok_or("filled leaf not found")?;
                if leaf.pa_of(gpa) != host_pa
                    || leaf.pte.perms() != perms
                    || leaf.pte.pbmt_raw(PteWidth::Bits64) != pbmt
                    || filled.leaf != leaf
                {
                    return Err(format!(
                        "fill of {gpa:#x}: shadow {leaf:?}, reference {host_pa:#x} {perms:?} PBMT {pbmt}"
                    ));
                }
                self.installed += 1;
                self.installed_in[c] += 1;
                self.installed_pbmt += u64::from(pbmt != 0);
                // The two index bits only the x4 root has.
                if key
                    .mode
                    .gpa_bits()
                    .is_some_and(|bits| gpa >> (bits - 2) != 0)
                {
                    self.installed_high += 1;
                }
                return Ok(Some((c, gpa)));
            }
            (RefOutcome::Mapped { .. }, Err(FillError::PoolExhausted)) if self.pool_is_tiny() => {}
            (RefOutcome::Mapped { .. }, Err(FillError::OutOfShadowRange)) => {
                return Err(format!("{gpa:#x} out of shadow range"));
            }
            (RefOutcome::L1Fault { cause }, Err(FillError::L1(WalkError::GuestPageFault(f))))
                if f.cause.code() == cause && f.gpa == gpa => {}
            (RefOutcome::L1AccessFault, Err(FillError::L1(WalkError::AccessFault(_)))) => {}
            (RefOutcome::Unbacked { l1_gpa }, Err(FillError::L1Unbacked { l1_gpa: g }))
                if l1_gpa == g => {}
            (RefOutcome::HostDenied, Err(FillError::HostDenied { .. })) => {}
            (e, g) => {
                return Err(format!(
                    "fill of {gpa:#x} ({access:?}) in ctx {c}: reference {e:?}, shadow {g:?}"
                ));
            }
        }
        Ok(None)
    }

    fn pool_is_tiny(&self) -> bool {
        // A root and a table per level below it, for the widest shadow mode (Sv57x4).
        self.pool.capacity() < 4 + 4
    }

    /// The hart executes `fences`: every translation they cover leaves its TLB.
    fn execute_fences(&mut self, fences: &Fences) {
        let fences = fences.as_slice();
        let names = |f: &HfenceGvma, vmid: u16| f.vmid.is_none_or(|v| v == vmid);
        // A fence with a GPA removes every leaf that maps it.
        self.tlb.retain(|t| {
            let end = t.base + (1u64 << t.size_log2);
            !fences
                .iter()
                .any(|f| names(f, t.vmid) && f.gpa.is_none_or(|g| (t.base..end).contains(&g)))
        });
        // A fence with a GPA reaches an invalid entry only once that entry holds a leaf for
        // the GPA: HFENCE.GVMA with an address orders leaf entries only.
        let shadows: Vec<Hgatp> = self
            .keys
            .iter()
            .filter_map(|k| self.mgr.hgatp(*k))
            .collect();
        let pool = &self.pool;
        let now_leaf = |e: &CachedInvalid| {
            shadows
                .iter()
                .find(|h| h.vmid() == e.vmid)
                .is_some_and(|h| {
                    let gpa = e.prefix << shadow_shift(e.level);
                    shadow_leaf_at(pool, *h, gpa)
                        .ok()
                        .flatten()
                        .is_some_and(|(_, size_log2, _)| size_log2 == shadow_shift(e.level))
                })
        };
        self.invalid_tlb.retain(|e| {
            !fences.iter().any(|f| {
                names(f, e.vmid)
                    && match f.gpa {
                        None => true,
                        Some(g) => g >> shadow_shift(e.level) == e.prefix && now_leaf(e),
                    }
            })
        });
    }

    /// Without Svvptc the hart may cache the invalid entry a walk of `shadow` at `gpa` stops at.
    fn cache_invalid(&mut self, shadow: Hgatp, gpa: u64) {
        if self.host_svvptc {
            return;
        }
        if let Some(level) = shadow_invalid_level(&self.pool, shadow, gpa) {
            self.invalid_tlb.insert(CachedInvalid {
                vmid: shadow.vmid(),
                level,
                prefix: gpa >> shadow_shift(level),
            });
        }
    }

    /// After a fill at `gpa` and its fences, no invalid entry on the walk to the new leaf may
    /// stay cached: the hart would take the same fault again, forever.
    fn check_no_stale_invalid_entry(&self, c: usize, gpa: u64) -> Result<(), String> {
        let Some(shadow) = self.mgr.hgatp(self.keys[c]) else {
            return Ok(());
        };
        let vmid = shadow.vmid();
        let Ok(Some((_, leaf_log2, _))) = shadow_leaf_at(&self.pool, shadow, gpa) else {
            return Ok(());
        };
        // Entries on the walk to the leaf: at its level and above.
        let on_path = |e: &&CachedInvalid| {
            e.vmid == vmid
                && shadow_shift(e.level) >= leaf_log2
                && gpa >> shadow_shift(e.level) == e.prefix
        };
        match self.invalid_tlb.iter().find(on_path) {
            Some(e) => Err(format!(
                "after the fill of {gpa:#x} the hart still holds the invalid level-{} entry: no fence reached it",
                e.level
            )),
            None => Ok(()),
        }
    }

    /// Isolation always, and coherence when L1 fences what it changes: of every shadow table
    /// at the probes and of every translation the hart may still hold.
    pub fn check(&mut self) -> Result<(), String> {
        let mut live = HashSet::new();
        for c in 0..CONTEXTS {
            let key = self.keys[c];
            let Some(shadow) = self.mgr.hgatp(key) else {
                continue;
            };
            let leaves = check_isolation(&self.pool, shadow, &self.map)?;
            self.leaves_checked
                .set(self.leaves_checked.get() + leaves.len() as u64);
            for (base, size_log2, pte) in leaves {
                let cached = Cached {
                    vmid: shadow.vmid(),
                    base,
                    size_log2,
                    pte,
                };
                live.insert(cached);
                self.tlb.insert(cached);
            }
            for gpa in probes(key.mode) {
                self.cache_invalid(shadow, gpa);
                if self.law_abiding {
                    check_coherent_at(
                        &self.pool,
                        shadow,
                        &self.l1,
                        (self.l1_hgatp(c), self.mgr.config().l1_walk.pbmte),
                        &self.map,
                        gpa,
                    )?;
                }
            }
        }
        self.tlb_peak = self.tlb_peak.max(self.tlb.len());
        // Live leaves were checked above; what else the hart holds was not fenced.
        let stale: Vec<Cached> = self.tlb.difference(&live).copied().collect();
        self.stale_checked += stale.len() as u64;
        for t in stale {
            let Some(c) = (0..CONTEXTS).find(|&c| {
                self.mgr
                    .hgatp(self.keys[c])
                    .is_some_and(|h| h.vmid() == t.vmid)
            }) else {
                return Err(format!(
                    "the hart still holds {t:x?} for VMID {} that no context uses: no fence covered it",
                    t.vmid
                ));
            };
            check_leaf_isolated(&self.map, t.base, t.size_log2, t.pte)
                .map_err(|e| format!("unfenced translation: {e}"))?;
            if self.law_abiding {
                let last = t.base + (1u64 << t.size_log2) - 0x1000;
                for gpa in [t.base, last] {
                    check_leaf_coherent_at(
                        &self.l1,
                        (self.l1_hgatp(c), self.mgr.config().l1_walk.pbmte),
                        &self.map,
                        (t.base, t.size_log2, t.pte),
                        gpa,
                    )
                    .map_err(|e| format!("unfenced translation: {e}"))?;
                }
            }
        }
        Ok(())
    }
}
