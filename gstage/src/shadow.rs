//! The shadow G-stage manager: real tables (L2 GPA -> host PA) that compose L1's G-stage
//! with the host's map of L1, filled on demand and invalidated on L1's fences.
//!
//! Facts: h-extension-aia.md sections 4.9 and 6 (Svvptc, Svadu/Svade, never caching misses).

use crate::fence::{Fences, HfenceGvma};
use crate::hgatp::{GStageMode, Hgatp, SupportedModes};
use crate::host::{FramePool, HostMapping, L1AddressMap};
use crate::paging::{PteMemory, WalkConfig};
use crate::pte::{Pbmt, Perms, Pte};
use crate::walk::{Access, Origin, Translation, WalkError, low_mask, translate};
use crate::writer::{GStageTable, Installed, MappedLeaf, OnTable, WriteError};

/// Identifies one of L1's G-stages: what L1 wrote in hgatp before entering L2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContextKey {
    /// L1's VMID.
    pub vmid: u16,
    /// Address of L1's root table (hgatp.PPN << 12; 0 for Bare). Despite the name it is an
    /// L1 guest-physical address, not a host one: [`ShadowManager::fill`] reads L1's tables
    /// at L1 GPAs through the L1 memory it is given.
    pub root_pa: u64,
    /// L1's mode.
    pub mode: GStageMode,
}

impl ContextKey {
    /// The key of L1's (virtual) hgatp; Bare ignores the PPN.
    pub const fn from_hgatp(hgatp: Hgatp) -> Self {
        let root_pa = match hgatp.mode() {
            GStageMode::Bare => 0,
            _ => hgatp.root_pa(),
        };
        ContextKey {
            vmid: hgatp.vmid(),
            root_pa,
            mode: hgatp.mode(),
        }
    }
}

/// Fixed properties of the shadow manager, chosen by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShadowConfig {
    /// How L1's G-stage tables behave (L1's virtual menvcfg: ADUE, PBMTE; Svnapot, ...).
    /// With PBMTE, shadow leaves copy L1's PBMT, so the physical menvcfg.PBMTE must be set.
    /// Change it with [`ShadowManager::set_l1_walk`].
    pub l1_walk: WalkConfig,
    /// The physical hart implements Svvptc: a new shadow leaf needs no fence.
    pub host_svvptc: bool,
    /// Physical VMID of context slot 0; slot i uses `first_vmid + i`.
    pub first_vmid: u16,
    /// Modes the physical hgatp supports, for the shadow tables.
    pub shadow_modes: SupportedModes,
}

impl ShadowConfig {
    /// Whether the physical VMIDs of `contexts` slots, `first_vmid..first_vmid + contexts`,
    /// all fit in the `vmid_bits` the hart implements (VMIDLEN: write all ones to hgatp.VMID
    /// and count the bits that stick). The host checks this once, before
    /// [`ShadowManager::new`] (with `contexts` = `N`); a VMID that does not fit would alias
    /// another context's translations.
    // Priv spec, hypervisor chapter, "Hypervisor Guest Address Translation and Protection
    // Register (hgatp)": VMIDLEN.
    pub const fn vmids_fit(&self, contexts: usize, vmid_bits: u32) -> bool {
        let limit = if vmid_bits >= 16 {
            1u64 << 16
        } else {
            1u64 << vmid_bits
        };
        self.first_vmid as u64 + contexts as u64 <= limit
    }
}

/// Why a context could not be made active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShadowError {
    /// No physical mode covers L1's GPA width.
    UnsupportedMode,
    /// Not even one root frame could be found, after evicting every other context.
    PoolExhausted,
}

/// Why a fill installed nothing. Nothing about the miss is remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FillError {
    /// L1's G-stage faults (reflect it into L1 with its cause and htval), or the Svadu update
    /// stayed contended (resume L2).
    L1(WalkError),
    /// L1's G-stage maps the GPA to an L1 GPA the host has no memory for (MMIO or a hole):
    /// the host decides.
    L1Unbacked {
        /// The L1 guest physical address.
        l1_gpa: u64,
    },
    /// The host's own permissions for L1 deny the access (for example a read-only page), or
    /// its host address does not fit in a PTE.
    HostDenied {
        /// The L1 guest physical address.
        l1_gpa: u64,
        /// The host's mapping of it.
        mapping: HostMapping,
    },
    /// Each stage grants the access on its own, but through different permissions (a load
    /// under HS-level MXR that one stage grants through X and the other through R), so every
    /// shadow leaf would grant more than one of them allows. Nothing was installed: the host
    /// emulates the access or treats it as a host fault.
    NoCommonPermission {
        /// The L1 guest physical address.
        l1_gpa: u64,
        /// The host's mapping of it.
        mapping: HostMapping,
    },
    /// The GPA lies beyond what the shadow table's mode can map (L1 in Bare mode only).
    OutOfShadowRange,
    /// No context for this key: call [`ShadowManager::activate`] first.
    NotActive,
    /// The pool cannot supply the tables for one path even after evicting every other
    /// context and clearing this one. Nothing was mapped.
    PoolExhausted,
}

/// What a fill installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Filled {
    /// The shadow leaf.
    pub leaf: MappedLeaf,
    /// The L1 GPA the faulting GPA maps to.
    pub l1_gpa: u64,
}

/// One shadow context: a real table for one L1 G-stage.
#[derive(Clone, Copy, Debug)]
struct Context {
    key: ContextKey,
    table: GStageTable,
    last_used: u64,
    /// Bit c set: some leaf was filled from an L1 leaf of size code c.
    l1_sizes: u8,
    /// Bit b set: some leaf maps an L1 GPA in a 1 GiB block whose index is b modulo 64.
    footprint: u64,
}

/// Shadow G-stage contexts of one vCPU, at most `N` of them, keyed by [`ContextKey`].
///
/// Physical VMIDs: slot `i` always runs with VMID `first_vmid + i` (check them with
/// [`ShadowConfig::vmids_fit`]); they belong to this vCPU alone. The manager knows nothing
/// of harts, so the host must:
/// - execute HFENCE.GVMA for each of `first_vmid..first_vmid + N` (or one with rs2 = x0)
///   on a hart whenever this vCPU arrives there to run L2, its first run included: the hart
///   may hold entries tagged with those VMIDs from an earlier user, or from this vCPU
///   before it last left;
/// - execute the [`Fences`] every call reports on the hart the vCPU runs on, before
///   resuming L2. They are local to that hart, which is why a hart the vCPU left needs the
///   fence on arrival above;
/// - not reuse the frames a call returns to the [`FramePool`] (freed tables of a cleared,
///   evicted or refilled context) until the fences that call reported have executed: the
///   frames go back to the pool first, and the hardware may still walk them until then.
#[derive(Debug)]
pub struct ShadowManager<const N: usize> {
    config: ShadowConfig,
    slots: [Option<Context>; N],
    clock: u64,
}

/// Codes kept in a shadow leaf's RSW bits: the size of the L1 leaf it came from.
const L1_SIZE_4K: u8 = 0;
const L1_SIZE_2M: u8 = 1;
const L1_SIZE_1G: u8 = 2;
/// 512 GiB or more: taken as the largest leaf L1's mode has.
const L1_SIZE_HUGE: u8 = 3;

/// Code for an L1 leaf of 2^`size_log2` bytes; rounds up (wider invalidation is safe).
const fn l1_size_code(size_log2: u32) -> u8 {
    match size_log2 {
        0..=12 => L1_SIZE_4K,
        13..=21 => L1_SIZE_2M,
        22..=30 => L1_SIZE_1G,
        _ => L1_SIZE_HUGE,
    }
}

/// log2 of the L1 leaf size a code stands for, in L1's `mode`.
const fn l1_size_log2(code: u8, mode: GStageMode) -> u32 {
    match code {
        L1_SIZE_4K => 12,
        L1_SIZE_2M => 21,
        L1_SIZE_1G => 30,
        _ => match mode {
            GStageMode::Bare => 64,
            GStageMode::Sv57x4 => 48,
            _ => 39,
        },
    }
}

/// Footprint bits of the 1 GiB blocks touched by `[first, last]`.
fn footprint_of(first: u64, last: u64) -> u64 {
    let (a, b) = (first >> 30, last >> 30);
    if b - a >= 63 {
        return u64::MAX;
    }
    let mut bits = 0u64;
    let mut block = a;
    loop {
        bits |= 1 << (block & 63);
        if block == b {
            return bits;
        }
        block += 1;
    }
}

impl<const N: usize> ShadowManager<N> {
    /// An empty manager.
    pub const fn new(config: ShadowConfig) -> Self {
        ShadowManager {
            config,
            slots: [None; N],
            clock: 0,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &ShadowConfig {
        &self.config
    }

    /// L1 changed how its G-stage tables behave (its virtual menvcfg.ADUE or PBMTE: Linux
    /// turns on hardware A/D through SBI FWFT at run time). Empties every context, since their
    /// leaves were checked under the old rules, and appends a VMID-wide fence for each;
    /// contexts keep their root and slot.
    // Priv spec, hypervisor chapter: after menvcfg.PBMTE/ADUE change, HFENCE.GVMA x0, x0.
    pub fn set_l1_walk<P: FramePool + ?Sized>(
        &mut self,
        config: WalkConfig,
        pool: &mut P,
        fences: &mut Fences,
    ) {
        self.config.l1_walk = config;
        for ctx in self.slots.iter_mut().flatten() {
            clear(ctx, pool, fences);
        }
    }

    fn find(&self, key: ContextKey) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| matches!(s, Some(c) if c.key == key))
    }

    fn vmid_of(&self, slot: usize) -> u16 {
        self.config.first_vmid.wrapping_add(slot as u16)
    }

    /// The physical mode for shadowing L1's `mode`: the narrowest one wide enough.
    fn shadow_mode(&self, mode: GStageMode) -> Option<GStageMode> {
        let modes = [GStageMode::Sv39x4, GStageMode::Sv48x4, GStageMode::Sv57x4];
        let mut supported = modes
            .into_iter()
            .filter(|m| self.config.shadow_modes.contains(*m));
        match mode.gpa_bits() {
            // Bare: L2 GPAs are L1 GPAs; take the widest.
            None => supported.next_back(),
            Some(need) => supported.find(|m| m.gpa_bits().unwrap_or_default() >= need),
        }
    }

    /// The least recently used occupied slot other than `except`.
    fn lru(&self, except: Option<usize>) -> Option<usize> {
        let candidates = self
            .slots
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != except);
        candidates
            .filter_map(|(i, s)| s.as_ref().map(|c| (i, c.last_used)))
            .min_by_key(|&(_, t)| t)
            .map(|(i, _)| i)
    }

    /// Frees every frame of the context in `slot` and empties the slot.
    fn evict<P: FramePool + ?Sized>(&mut self, slot: usize, pool: &mut P, fences: &mut Fences) {
        if let Some(ctx) = self.slots.get_mut(slot).and_then(Option::take) {
            fences.push(HfenceGvma {
                vmid: Some(ctx.table.hgatp().vmid()),
                gpa: None,
            });
            ctx.table.destroy(pool);
        }
    }

    /// Finds or builds the context for `key` and returns the physical hgatp to run L2 with.
    /// Switching between existing contexts flushes nothing. A new context takes a free slot,
    /// else recycles the least recently used one; fences for recycled VMIDs are appended.
    pub fn activate<P: FramePool + ?Sized>(
        &mut self,
        key: ContextKey,
        pool: &mut P,
        fences: &mut Fences,
    ) -> Result<Hgatp, ShadowError> {
        self.clock = self.clock.wrapping_add(1);
        if let Some(ctx) = self
            .find(key)
            .and_then(|i| self.slots.get_mut(i))
            .and_then(Option::as_mut)
        {
            ctx.last_used = self.clock;
            return Ok(ctx.table.hgatp());
        }
        let mode = self
            .shadow_mode(key.mode)
            .ok_or(ShadowError::UnsupportedMode)?;
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                let victim = self.lru(None).ok_or(ShadowError::PoolExhausted)?;
                self.evict(victim, pool, fences);
                victim
            }
        };
        let vmid = self.vmid_of(slot);
        let table = loop {
            match GStageTable::new(mode, vmid, pool) {
                Ok(t) => break t,
                Err(_) => {
                    let victim = self.lru(None).ok_or(ShadowError::PoolExhausted)?;
                    self.evict(victim, pool, fences);
                }
            }
        };
        // The slot's VMID may have been used by an evicted context: the fence above covers it.
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(Context {
                key,
                table,
                last_used: self.clock,
                l1_sizes: 0,
                footprint: 0,
            });
        }
        Ok(table.hgatp())
    }

    /// Handles a shadow miss at `gpa` for `access`: walks L1's current G-stage (never a
    /// remembered answer), translates the L1 GPA through `l1_map`, and installs a leaf of the
    /// largest size both stages allow with the intersection of their permissions and, when
    /// `l1_walk.pbmte`, the memory type (PBMT) of L1's leaf; the host must then run L2 with
    /// the physical menvcfg.PBMTE set. The host's own memory type for that L1 memory is not
    /// combined yet ([`HostMapping`] has none): L1's type wins, PMA when L1 gives none. Appends
    /// the fences the host must execute before resuming L2. A fill where a shadow leaf already
    /// exists (the hart faulted on a lesser or stale entry) replaces it and fences it.
    ///
    /// `access` is what the hart faulted on: build it from the trap with
    /// [`Access::from_guest_page_fault`] (scause, htinst and the HS-level MXR L2 ran with), so
    /// that an implicit VS-stage table access is filled as the read or A/D write it was.
    #[allow(clippy::too_many_arguments)]
    pub fn fill<M: PteMemory + ?Sized, A: L1AddressMap + ?Sized, P: FramePool + ?Sized>(
        &mut self,
        key: ContextKey,
        gpa: u64,
        access: Access,
        l1_mem: &mut M,
        l1_map: &A,
        pool: &mut P,
        fences: &mut Fences,
    ) -> Result<Filled, FillError> {
        let slot = self.find(key).ok_or(FillError::NotActive)?;
        self.clock = self.clock.wrapping_add(1);
        let t = translate(
            key.mode,
            key.root_pa,
            gpa,
            access,
            &self.config.l1_walk,
            l1_mem,
        )
        .map_err(FillError::L1)?;
        let l1_gpa = t.pa;
        let host = l1_map
            .translate(l1_gpa)
            .ok_or(FillError::L1Unbacked { l1_gpa })?;
        // A host address a PTE cannot hold (56 bits) is refused rather than truncated.
        if !access.granted_by(host.perms) || host.host_pa >> 56 != 0 {
            return Err(FillError::HostDenied {
                l1_gpa,
                mapping: host,
            });
        }
        let mut perms = t.perms & host.perms;
        if !perms.contains(Perms::R) {
            perms.remove(Perms::W);
        }
        let code = l1_size_code(t.size_log2);
        // The leaf must grant the access itself; an empty XWR would make it a table pointer.
        let pbmt = l1_pbmt(&t, key.mode, &self.config.l1_walk);
        let leaf = Pte::gstage_leaf(host.host_pa, perms, pbmt, code)
            .filter(|_| access.granted_by(perms))
            .ok_or(FillError::NoCommonPermission {
                l1_gpa,
                mapping: host,
            })?;
        let level = leaf_level(t.size_log2.min(host.size_log2), gpa, host.host_pa);
        let svvptc = self.config.host_svvptc;
        let mut cleared_self = false;
        loop {
            let Some(ctx) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                return Err(FillError::NotActive);
            };
            ctx.last_used = self.clock;
            if gpa >> ctx.table.gpa_bits() != 0 {
                return Err(FillError::OutOfShadowRange);
            }
            let level = level.min(ctx.table.hgatp().mode().scheme().map_or(1, |s| s.levels()) - 1);
            match ctx
                .table
                .set_leaf(pool, gpa, leaf, level, OnTable::Descend, fences)
            {
                Ok(Installed { leaf, new_table }) => {
                    let size_log2 = leaf.size_log2();
                    ctx.l1_sizes |= 1 << code;
                    ctx.footprint |=
                        footprint_of(l1_gpa & !low_mask(size_log2), l1_gpa | low_mask(size_log2));
                    // Without Svvptc the hart may hold the invalid entry cached; a GPA-scoped
                    // fence need not reach a cached non-leaf one, so a new table fences the VMID.
                    if !svvptc {
                        fences.push(HfenceGvma {
                            vmid: Some(ctx.table.hgatp().vmid()),
                            gpa: (!new_table).then_some(gpa),
                        });
                    }
                    return Ok(Filled { leaf, l1_gpa });
                }
                Err(WriteError::OutOfFrames) => {
                    self.reclaim(slot, pool, fences, &mut cleared_self)?
                }
                // Not reached: the leaf was built from a leaf encoding above.
                Err(WriteError::ReservedPermissions) => {
                    return Err(FillError::NoCommonPermission {
                        l1_gpa,
                        mapping: host,
                    });
                }
                // Not reached: the GPA was checked against the table's width and the level
                // clamped to its mode above.
                Err(
                    WriteError::OutOfRange
                    | WriteError::UnsupportedMode
                    | WriteError::UnsupportedSize
                    | WriteError::Misaligned,
                ) => return Err(FillError::OutOfShadowRange),
            }
        }
    }

    /// Frees frames for the context in `slot`: evicts the least recently used other context,
    /// or, when none is left, clears this one (once). Fails when even that has been done.
    fn reclaim<P: FramePool + ?Sized>(
        &mut self,
        slot: usize,
        pool: &mut P,
        fences: &mut Fences,
        cleared_self: &mut bool,
    ) -> Result<(), FillError> {
        if let Some(victim) = self.lru(Some(slot)) {
            self.evict(victim, pool, fences);
            return Ok(());
        }
        let ctx = self
            .slots
            .get_mut(slot)
            .and_then(Option::as_mut)
            .ok_or(FillError::NotActive)?;
        if *cleared_self {
            return Err(FillError::PoolExhausted);
        }
        *cleared_self = true;
        clear(ctx, pool, fences);
        Ok(())
    }

    /// The shadow leaf that maps `gpa` in the context of `key`, if any.
    pub fn lookup<P: FramePool + ?Sized>(
        &self,
        key: ContextKey,
        gpa: u64,
        pool: &P,
    ) -> Option<MappedLeaf> {
        let ctx = self.slots.get(self.find(key)?)?.as_ref()?;
        ctx.table.lookup(pool, gpa)
    }

    /// The physical hgatp of the context of `key`, if it exists.
    pub fn hgatp(&self, key: ContextKey) -> Option<Hgatp> {
        Some(self.slots.get(self.find(key)?)?.as_ref()?.table.hgatp())
    }

    /// Keys of the contexts that exist.
    pub fn keys(&self) -> impl Iterator<Item = ContextKey> + '_ {
        self.slots.iter().flatten().map(|c| c.key)
    }

    /// Frames used by the context of `key` (root plus tables), if it exists.
    pub fn frames_in_use<P: FramePool + ?Sized>(&self, key: ContextKey, pool: &P) -> Option<usize> {
        Some(
            self.slots
                .get(self.find(key)?)?
                .as_ref()?
                .table
                .frames_in_use(pool),
        )
    }

    /// L1 executed HFENCE.GVMA for the GPAs `[gpa, gpa + len)` and L1 VMID `vmid` (`None`:
    /// every VMID). `len` is in bytes; 0 removes nothing. For an HFENCE.GVMA naming one GPA
    /// (`rs1 << 2`) any `len` from 1 will do: every leaf derived from the L1 leaf holding it
    /// goes. Removes every shadow leaf derived from an L1 leaf that overlaps the range:
    /// the L1 leaf size kept in each shadow leaf's RSW bits says which ones.
    pub fn invalidate_gpa<P: FramePool + ?Sized>(
        &mut self,
        vmid: Option<u16>,
        gpa: u64,
        len: u64,
        pool: &mut P,
        fences: &mut Fences,
    ) {
        let Some(last) = len.checked_sub(1).map(|l| gpa.saturating_add(l)) else {
            return;
        };
        for ctx in self.slots.iter_mut().flatten() {
            if vmid.is_some_and(|v| v != ctx.key.vmid) || ctx.l1_sizes == 0 {
                continue;
            }
            // Only leaves within the largest L1 leaf around the range can derive from it.
            let widest = l1_size_log2(7 - ctx.l1_sizes.leading_zeros() as u8, ctx.key.mode);
            let mode = ctx.key.mode;
            let shadow_vmid = ctx.table.hgatp().vmid();
            let (first, end) = (gpa & !low_mask(widest), last | low_mask(widest));
            ctx.table
                .for_each_leaf(pool, first, end, &mut |base, _, pte| {
                    let l1 = low_mask(l1_size_log2(pte.rsw(), mode));
                    if base & !l1 > last || base | l1 < gpa {
                        return None;
                    }
                    fences.push(HfenceGvma {
                        vmid: Some(shadow_vmid),
                        gpa: Some(base),
                    });
                    Some(Pte::INVALID)
                });
        }
    }

    /// L1 executed HFENCE.GVMA for every GPA of L1 VMID `vmid` (`None`: every VMID): empties
    /// the matching contexts (they keep their root and slot).
    pub fn invalidate_vmid<P: FramePool + ?Sized>(
        &mut self,
        vmid: Option<u16>,
        pool: &mut P,
        fences: &mut Fences,
    ) {
        for ctx in self.slots.iter_mut().flatten() {
            if vmid.is_none_or(|v| v == ctx.key.vmid) {
                clear(ctx, pool, fences);
            }
        }
    }

    /// The host changed its map of L1 GPAs `[l1_gpa, l1_gpa + len)` (`len` in bytes). Empties every context
    /// that may hold a leaf derived from that range. Cost: each context keeps a 64-bit
    /// summary of the 1 GiB blocks (modulo 64) its leaves map, so only contexts whose summary
    /// meets the range are emptied, each in time proportional to its tables, plus one
    /// VMID-wide fence each; other contexts keep everything.
    pub fn invalidate_l1_range<P: FramePool + ?Sized>(
        &mut self,
        l1_gpa: u64,
        len: u64,
        pool: &mut P,
        fences: &mut Fences,
    ) {
        let Some(last) = len.checked_sub(1).map(|l| l1_gpa.saturating_add(l)) else {
            return;
        };
        let touched = footprint_of(l1_gpa, last);
        for ctx in self.slots.iter_mut().flatten() {
            if ctx.footprint & touched != 0 {
                clear(ctx, pool, fences);
            }
        }
    }
}

/// The memory type of L1's leaf, when L1 may set one (its virtual menvcfg.PBMTE).
// Svpbmt: PBMT in a G-stage leaf overrides the PMA of the memory it maps.
fn l1_pbmt(t: &Translation, mode: GStageMode, l1_walk: &WalkConfig) -> Pbmt {
    match (t.origin, mode.scheme()) {
        (Origin::Leaf { pte, .. }, Some(scheme)) if l1_walk.pbmte => {
            // The walker has refused the reserved value 3 already.
            Pbmt::from_raw(pte.pbmt_raw(scheme.width())).unwrap_or(Pbmt::Pma)
        }
        _ => Pbmt::Pma,
    }
}

/// Empties a context, keeping its root.
fn clear<P: FramePool + ?Sized>(ctx: &mut Context, pool: &mut P, fences: &mut Fences) {
    ctx.table.clear(pool, fences);
    ctx.l1_sizes = 0;
    ctx.footprint = 0;
}

/// The level of the largest shadow leaf for `gpa` that fits in `max_log2` and maps `gpa` to
/// `host_pa` (both must share their offset within the leaf).
fn leaf_level(max_log2: u32, gpa: u64, host_pa: u64) -> u8 {
    let mut level = 3u8;
    while level > 0 {
        let shift = 12 + 9 * level as u32;
        if shift <= max_log2 && (gpa ^ host_pa) & low_mask(shift) == 0 {
            break;
        }
        level -= 1;
    }
    level
}
