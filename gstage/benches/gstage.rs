//! Criterion benchmarks: G-stage walks, the shadow fill path, invalidation, frame use, and
//! shadow lookups against the reference two-stage walk. Figures are in BENCHMARKS.md.

#[path = "../tests/model/mod.rs"]
mod model;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use gstage::{
    Access, AccessType, ContextKey, Fences, GStageMode, GStageTable, Hgatp, L1AddressMap,
    LeafAttrs, MemoryFault, PageSize, Perms, PteMemory, PteWidth, ShadowConfig, ShadowManager,
    SupportedModes, WalkConfig, translate,
};
use model::{A, D, HostMap, L1Builder, L1Memory, R, Region, U, VecPool, W, X};

/// L1 memory as a flat array (what a host's guest-memory accessor costs, roughly).
struct FlatMem {
    words: Vec<u64>,
}

impl FlatMem {
    fn from(l1: &L1Memory) -> FlatMem {
        let mut words = vec![0; (l1.size / 8) as usize];
        for (&addr, &w) in &l1.words {
            words[(addr / 8) as usize] = w;
        }
        FlatMem { words }
    }
}

impl PteMemory for FlatMem {
    fn read_pte(&mut self, addr: u64, width: PteWidth) -> Result<u64, MemoryFault> {
        let word = *self.words.get((addr / 8) as usize).ok_or(MemoryFault)?;
        Ok(match width {
            PteWidth::Bits64 => word,
            PteWidth::Bits32 => (word >> ((addr & 4) * 8)) & 0xffff_ffff,
        })
    }

    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        width: PteWidth,
        current: u64,
        new: u64,
    ) -> Result<u64, MemoryFault> {
        let found = self.read_pte(addr, width)?;
        if found == current && width == PteWidth::Bits64 {
            self.words[(addr / 8) as usize] = new;
        }
        Ok(found)
    }
}

const L1_ROOT: u64 = 0x10000;
const HOST_BASE: u64 = 0x40_0000_0000;

fn walks(c: &mut Criterion) {
    let mut group = c.benchmark_group("walk_4k_leaf");
    for mode in [
        GStageMode::Sv32x4,
        GStageMode::Sv39x4,
        GStageMode::Sv48x4,
        GStageMode::Sv57x4,
    ] {
        let mut l1 = L1Memory::new(0x20_0000);
        let mut b = L1Builder::new(mode, L1_ROOT, 0x20_0000);
        let gpa = (1u64 << (mode.gpa_bits().unwrap() - 1)) | 0x1234;
        b.map(&mut l1, gpa, 0, 0x8000_0000, R | W | U | A | D)
            .unwrap();
        let mut mem = FlatMem::from(&l1);
        let access = Access::explicit(AccessType::Load);
        let cfg = WalkConfig::default();
        group.bench_function(format!("{mode:?}"), |bench| {
            bench.iter(|| {
                translate(mode, L1_ROOT, black_box(gpa), access, &cfg, &mut mem)
                    .unwrap()
                    .pa
            })
        });
    }
    group.finish();
}

/// The host's map of L1 as one region (what a host with one memory slot answers).
struct OneRegion(HostMap);
impl L1AddressMap for OneRegion {
    fn translate(&self, l1_gpa: u64) -> Option<gstage::HostMapping> {
        self.0.translate(l1_gpa)
    }
}

fn config() -> ShadowConfig {
    ShadowConfig {
        l1_walk: WalkConfig::default(),
        host_svvptc: true,
        first_vmid: 1,
        shadow_modes: SupportedModes {
            sv32x4: false,
            sv39x4: true,
            sv48x4: true,
            sv57x4: true,
        },
    }
}

/// L1 (Sv39x4) maps GPAs [0, 1 GiB) with pages of `level` onto L1 GPAs [1 GiB, 2 GiB), which
/// the host backs with one 1 GiB region.
fn l1_world(level: u32) -> (FlatMem, OneRegion, ContextKey) {
    let mut l1 = L1Memory::new(0x40_0000);
    let mut b = L1Builder::new(GStageMode::Sv39x4, L1_ROOT, 0x40_0000);
    let step = 1u64 << (12 + 9 * level);
    for gpa in (0..1u64 << 30).step_by(step as usize) {
        b.map(&mut l1, gpa, level, (1 << 30) + gpa, R | W | X | U | A | D)
            .unwrap();
    }
    let map = HostMap {
        regions: vec![Region {
            l1_base: 1 << 30,
            size_log2: 30,
            host_base: HOST_BASE,
            perms: Perms::all(),
        }],
    };
    let key = ContextKey::from_hgatp(Hgatp::new(GStageMode::Sv39x4, 7, L1_ROOT >> 12));
    (FlatMem::from(&l1), OneRegion(map), key)
}

fn shadow_fill(c: &mut Criterion) {
    let (mut mem, map, key) = l1_world(0);
    let mut pool = VecPool::new(1024);
    let mut mgr: ShadowManager<4> = ShadowManager::new(config());
    let mut fences = Fences::new();
    mgr.activate(key, &mut pool, &mut fences).unwrap();
    let access = Access::explicit(AccessType::Store);
    let mut next = 0u64;
    // Each fill is a miss at a new 4 KiB page; the context is emptied (untimed) every 2^16.
    c.bench_function("shadow_fill/sv39x4_4k_miss", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let batch = (iters - done).min((1 << 16) - (next & 0xffff));
                let start = Instant::now();
                for _ in 0..batch {
                    let gpa = (next & 0xffff) << 12;
                    black_box(
                        mgr.fill(key, gpa, access, &mut mem, &map, &mut pool, &mut fences)
                            .unwrap(),
                    );
                    next += 1;
                }
                total += start.elapsed();
                done += batch;
                if next & 0xffff == 0 {
                    mgr.invalidate_vmid(None, &mut pool, &mut fences);
                    fences = Fences::new();
                }
            }
            total
        })
    });
}

fn invalidate_vmid(c: &mut Criterion) {
    let (mut mem, map, key) = l1_world(0);
    let mut pool = VecPool::new(1024);
    let mut mgr: ShadowManager<4> = ShadowManager::new(config());
    let mut fences = Fences::new();
    mgr.activate(key, &mut pool, &mut fences).unwrap();
    let access = Access::explicit(AccessType::Load);
    c.bench_function("invalidate_vmid/10k_pages", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for page in 0..10_000u64 {
                    mgr.fill(
                        key,
                        page << 12,
                        access,
                        &mut mem,
                        &map,
                        &mut pool,
                        &mut fences,
                    )
                    .unwrap();
                }
                let start = Instant::now();
                mgr.invalidate_vmid(Some(7), &mut pool, &mut fences);
                total += start.elapsed();
                fences = Fences::new();
            }
            total
        })
    });
}

fn frames_for_1g_of_2m_pages() {
    let (mut mem, map, key) = l1_world(1);
    let mut pool = VecPool::new(64);
    let mut mgr: ShadowManager<4> = ShadowManager::new(config());
    let mut fences = Fences::new();
    mgr.activate(key, &mut pool, &mut fences).unwrap();
    for gpa in (0..1u64 << 30).step_by(1 << 21) {
        mgr.fill(
            key,
            gpa,
            Access::explicit(AccessType::Load),
            &mut mem,
            &map,
            &mut pool,
            &mut fences,
        )
        .unwrap();
    }
    let frames = mgr.frames_in_use(key, &pool).unwrap();
    eprintln!(
        "frames/1GiB_of_2MiB_pages: {frames} frames (one 16 KiB root + {} tables of 4 KiB) = {} KiB",
        frames - 1,
        16 + 4 * (frames - 1)
    );
}

fn lookups(c: &mut Criterion) {
    let (mut mem, map, key) = l1_world(0);
    let mut pool = VecPool::new(1024);
    let mut mgr: ShadowManager<4> = ShadowManager::new(config());
    let mut fences = Fences::new();
    mgr.activate(key, &mut pool, &mut fences).unwrap();
    let load = Access::explicit(AccessType::Load);
    let pages = 4096u64;
    for page in 0..pages {
        mgr.fill(
            key,
            page << 12,
            load,
            &mut mem,
            &map,
            &mut pool,
            &mut fences,
        )
        .unwrap();
    }
    // L0's own G-stage for L1 (L1 GPA [1 GiB, 2 GiB) -> host), built with the writer in 2 MiB pages.
    let mut l0 = GStageTable::new(GStageMode::Sv39x4, 1, &mut pool).unwrap();
    for off in (0..1u64 << 30).step_by(1 << 21) {
        let attrs = LeafAttrs::new(Perms::all());
        l0.map(
            &mut pool,
            (1 << 30) + off,
            HOST_BASE + off,
            PageSize::Size2M,
            attrs,
            &mut fences,
        )
        .unwrap();
    }
    let shadow_root = mgr.hgatp(key).unwrap().root_pa();
    let l0_root = l0.hgatp().root_pa();
    let cfg = WalkConfig::default();
    let mut group = c.benchmark_group("lookup_4096_pages");
    group.bench_function("shadow_walk", |bench| {
        bench.iter(|| {
            let mut sum = 0u64;
            for page in 0..pages {
                let t = translate(
                    GStageMode::Sv39x4,
                    shadow_root,
                    (page << 12) | 8,
                    load,
                    &cfg,
                    &mut pool,
                )
                .unwrap();
                sum = sum.wrapping_add(t.pa);
            }
            sum
        })
    });
    group.bench_function("reference_two_stage_walk", |bench| {
        bench.iter(|| {
            let mut sum = 0u64;
            for page in 0..pages {
                let t = translate(
                    GStageMode::Sv39x4,
                    L1_ROOT,
                    (page << 12) | 8,
                    load,
                    &cfg,
                    &mut mem,
                )
                .unwrap();
                let h =
                    translate(GStageMode::Sv39x4, l0_root, t.pa, load, &cfg, &mut pool).unwrap();
                sum = sum.wrapping_add(h.pa);
            }
            sum
        })
    });
    group.finish();
}

fn all(c: &mut Criterion) {
    frames_for_1g_of_2m_pages();
    walks(c);
    shadow_fill(c);
    invalidate_vmid(c);
    lookups(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
