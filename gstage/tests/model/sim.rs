//! A scripted L1 and host driving a shadow manager, checking isolation and coherence after
//! every step. Shared by the property tests and the `shadow_ops` fuzz target, which both
//! feed it operations decoded from bytes.

use gstage::{
    ContextKey, Fences, FillError, GStageMode, Hgatp, Perms, PteWidth, ShadowConfig, ShadowManager,
    SupportedModes, WalkConfig, WalkError,
};

use super::{
    A, D, HostMap, Kind, L1Builder, L1Memory, R, RefAccess, RefImplicit, RefOutcome, Region, U,
    VecPool, W, X, check_coherent_at, check_isolation, reference_access,
};

/// Host PA where the host's 2 MiB blocks for L1 live.
const HOST: u64 = 0x40_0000_0000;
/// L1 GPAs [6 MiB, 6 MiB + 64 KiB) are mapped by the host page by page.
const FINE_BASE: u64 = 0x60_0000;
const FINE_PAGES: u64 = 16;

/// One L1 leaf the script may edit: (GPA, level).
fn slot(s: u8) -> (u64, u32) {
    match s % 40 {
        s @ 0..32 => (s as u64 * 0x1000, 0),
        32 => (0x20_0000, 1),
        33 => (0x4000_0000, 2),
        s => (0x60_0000 + (s as u64 - 34) * 0x1000, 0),
    }
}

/// GPAs the checks probe in every context.
const PROBES: [u64; 12] = [
    0,
    0x1000,
    0x5000,
    0x1f000,
    0x20_0000,
    0x21_0000,
    0x3f_f000,
    0x4000_0000,
    0x4123_4000,
    0x60_0000,
    0x60_5000,
    0x7f_f000,
];

fn gpa_of(sel: u8, extra: u8) -> u64 {
    let base = match sel % 5 {
        0 => slot(sel / 5).0,
        1 => 0x20_0000 + (extra as u64 % 512) * 0x1000,
        2 => 0x4000_0000 + (extra as u64 % 4) * 0x20_0000 + (extra as u64 / 4) * 0x1000,
        3 => PROBES[extra as usize % PROBES.len()],
        _ if extra > 0xf0 => (extra as u64) << 33, // beyond Sv39x4 for the high ones
        _ => slot(extra).0,
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

/// One step of the script.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// L2 touches `gpa` in context `ctx` (explicitly, with HLVX or HS-level MXR, or as an
    /// implicit VS-stage table access): the shadow is filled.
    Fill {
        ctx: u8,
        gpa: u64,
        access: RefAccess,
    },
    /// L1 rewrites one of its leaves (invalid when `value` has V clear), then fences as the
    /// spec requires if the script is law-abiding.
    EditLeaf {
        ctx: u8,
        slot: u8,
        value: u64,
        fence_at: u64,
    },
    /// L1 drops the level-1 pointer above its small leaves (a non-leaf change: rs1=x0 fence).
    DropPointer { ctx: u8 },
    /// L1 turns hardware A/D updating of its G-stage on or off (SBI FWFT).
    SetL1Svadu { svadu: bool },
    /// Extra fences L1 may issue at any time.
    FenceGpa { ctx: Option<u8>, gpa: u64, len: u64 },
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
        let ctx = b[1] % 2;
        match b[0] % 16 {
            0..=8 => Op::Fill {
                ctx,
                gpa: gpa_of(b[2], b[3]),
                access: access_of(b[4]),
            },
            9..=11 => {
                let level = slot(b[2]).1;
                let size = 1u64 << (12 + 9 * level);
                let target = match level {
                    0 => (b[3] as u64 | ((b[5] as u64 & 7) << 8)) * 0x1000,
                    1 => (b[3] as u64 % 4) * 0x20_0000 + if b[5] & 0x80 != 0 { 0x1000 } else { 0 },
                    _ => 0,
                };
                let perms = [R, R | W, R | X, R | W | X, X, W][b[4] as usize % 6];
                let mut flags = perms;
                for (bit, f) in [(0x08, U), (0x10, A), (0x20, D)] {
                    if b[4] & bit != 0 || b[4] & 0xc0 == 0xc0 {
                        flags |= f;
                    }
                }
                let valid = if b[4] & 0xc0 == 0 { 0 } else { 1 };
                let value = ((target >> 12) << 10) | flags | valid;
                Op::EditLeaf {
                    ctx,
                    slot: b[2],
                    value,
                    fence_at: (b[5] as u64 * 0x1000) % size,
                }
            }
            12 if b[2] >= 0xe0 => Op::SetL1Svadu {
                svadu: b[3] & 1 != 0,
            },
            12 => Op::DropPointer { ctx },
            13 => Op::FenceGpa {
                ctx: (b[2] & 1 == 0).then_some(ctx),
                gpa: gpa_of(b[3], b[4]),
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

/// Two L1 G-stages (Sv39x4 and Sv48x4), the host's map of L1, a pool and a shadow manager.
pub struct Sim {
    pub l1: L1Memory,
    builders: [L1Builder; 2],
    keys: [ContextKey; 2],
    pub map: HostMap,
    pub pool: VecPool,
    pub mgr: ShadowManager<2>,
    /// L1 fences what it changes (the coherence property); otherwise it is hostile.
    law_abiding: bool,
    pub fills: u64,
    /// Fills that installed a leaf, and shadow leaves seen by the isolation check.
    pub installed: u64,
    /// Fills refused because the stages grant an MXR load through different permissions.
    pub no_common: u64,
    pub leaves_checked: std::cell::Cell<u64>,
}

impl Sim {
    /// A fresh world with `frames` frames in the pool; `l1_svadu`: L1's G-stage has
    /// hardware A/D updates (else Svade).
    pub fn new(frames: usize, law_abiding: bool, host_svvptc: bool, l1_svadu: bool) -> Sim {
        let mut l1 = L1Memory::new(0x100_0000);
        let mut builders = [
            L1Builder::new(GStageMode::Sv39x4, 0x10000, 0x80000),
            L1Builder::new(GStageMode::Sv48x4, 0x80000, 0x100000),
        ];
        let keys = [
            ContextKey::from_hgatp(Hgatp::new(GStageMode::Sv39x4, 1, 0x10)),
            ContextKey::from_hgatp(Hgatp::new(GStageMode::Sv48x4, 2, 0x80)),
        ];
        // Each L1 starts with a few mappings.
        for b in builders.iter_mut() {
            for i in 0..32u64 {
                let perms = [R | W, R | W | X, R | X, R][i as usize % 4];
                // Some entries start clean or unaccessed: Svade faults, Svadu updates them.
                let ad = match i % 5 {
                    1 => A,
                    3 => 0,
                    _ => A | D,
                };
                b.map(
                    &mut l1,
                    i * 0x1000,
                    0,
                    0x1000 * (i * 7 % 64),
                    perms | U | ad,
                );
            }
            b.map(&mut l1, 0x20_0000, 1, 0x20_0000, R | W | X | U | A | D);
            b.map(&mut l1, 0x4000_0000, 2, 0, R | W | X | U | A | D);
            b.map(&mut l1, 0x60_0000, 0, FINE_BASE, R | W | U | A | D);
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
            l1_walk: WalkConfig {
                svadu: l1_svadu,
                ..WalkConfig::default()
            },
            host_svvptc,
            first_vmid: 50,
            shadow_modes: SupportedModes {
                sv32x4: false,
                sv39x4: true,
                sv48x4: true,
                sv57x4: false,
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
            fills: 0,
            installed: 0,
            no_common: 0,
            leaves_checked: std::cell::Cell::new(0),
        }
    }

    fn l1_hgatp(&self, ctx: usize) -> Hgatp {
        let k = self.keys[ctx];
        Hgatp::new(k.mode, k.vmid, k.root_pa >> 12)
    }

    /// Runs one operation and checks the invariants.
    pub fn step(&mut self, op: Op) -> Result<(), String> {
        let mut fences = Fences::new();
        match op {
            Op::Fill { ctx, gpa, access } => self.fill(ctx as usize, gpa, access, &mut fences)?,
            Op::EditLeaf {
                ctx,
                slot: s,
                value,
                fence_at,
            } => {
                let c = ctx as usize;
                let (gpa, level) = slot(s);
                let width = PteWidth::Bits64;
                let Some(addr) = self.builders[c].entry_addr(&mut self.l1, gpa, level) else {
                    return Ok(());
                };
                let old = self.l1.read(addr, width).unwrap_or(0);
                self.l1.write(addr, width, value);
                if self.law_abiding && old & 1 != 0 {
                    self.mgr.invalidate_gpa(
                        Some(self.keys[c].vmid),
                        gpa + fence_at,
                        0x1000,
                        &mut self.pool,
                        &mut fences,
                    );
                }
            }
            Op::DropPointer { ctx } => {
                let c = ctx as usize;
                if let Some(addr) = self.builders[c].entry_addr(&mut self.l1, 0, 1) {
                    self.l1.write(addr, PteWidth::Bits64, 0);
                    if self.law_abiding {
                        self.mgr.invalidate_vmid(
                            Some(self.keys[c].vmid),
                            &mut self.pool,
                            &mut fences,
                        );
                    }
                }
            }
            Op::SetL1Svadu { svadu } => {
                let config = WalkConfig {
                    svadu,
                    ..self.mgr.config().l1_walk
                };
                self.mgr.set_l1_walk(config, &mut self.pool, &mut fences);
            }
            Op::FenceGpa { ctx, gpa, len } => {
                let vmid = ctx.map(|c| self.keys[c as usize].vmid);
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
        self.check()
    }

    fn fill(
        &mut self,
        c: usize,
        gpa: u64,
        access: RefAccess,
        fences: &mut Fences,
    ) -> Result<(), String> {
        let key = self.keys[c];
        self.mgr
            .activate(key, &mut self.pool, fences)
            .map_err(|e| format!("activate: {e:?}"))?;
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
        let expected = reference_access(&self.l1, self.l1_hgatp(c), &self.map, gpa, access);
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
            (RefOutcome::Mapped { host_pa, perms, .. }, Ok(filled)) => {
                let leaf = self
                    .mgr
                    .lookup(key, gpa, &self.pool)
                    .ok_or("filled leaf not found")?;
                if leaf.pa_of(gpa) != host_pa || leaf.pte.perms() != perms || filled.leaf != leaf {
                    return Err(format!(
                        "fill of {gpa:#x}: shadow {leaf:?}, reference {host_pa:#x} {perms:?}"
                    ));
                }
                self.installed += 1;
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
        Ok(())
    }

    fn pool_is_tiny(&self) -> bool {
        self.pool.capacity() < 4 + 5
    }

    /// Isolation always; coherence when L1 fences what it changes.
    pub fn check(&self) -> Result<(), String> {
        for c in 0..2 {
            let key = self.keys[c];
            let Some(shadow) = self.mgr.hgatp(key) else {
                continue;
            };
            let leaves = check_isolation(&self.pool, shadow, &self.map)?;
            self.leaves_checked
                .set(self.leaves_checked.get() + leaves as u64);
            if self.law_abiding {
                for gpa in PROBES.into_iter().chain((0..40).map(|s| slot(s).0)) {
                    check_coherent_at(
                        &self.pool,
                        shadow,
                        &self.l1,
                        self.l1_hgatp(c),
                        &self.map,
                        gpa,
                    )?;
                }
            }
        }
        Ok(())
    }
}
