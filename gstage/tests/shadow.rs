//! The shadow G-stage manager against the rules of h-extension-aia.md sections 4.9 and 6.

mod model;

use gstage::{
    Access, AccessType, ContextKey, Fences, FillError, GStageMode, HfenceGvma, Hgatp, Perms,
    ShadowConfig, ShadowManager, SupportedModes, WalkConfig, WalkError,
};
use model::{A, D, HostMap, L1Builder, L1Memory, R, Region, U, VecPool, W, X};

const L1_ROOT: u64 = 0x10000;
const HOST_BASE: u64 = 0x40_0000_0000;
const FIRST_VMID: u16 = 100;

struct World {
    l1: L1Memory,
    b: L1Builder,
    map: HostMap,
    pool: VecPool,
    mgr: ShadowManager<4>,
    key: ContextKey,
    fences: Fences,
}

fn config() -> ShadowConfig {
    ShadowConfig {
        l1_walk: WalkConfig::default(),
        host_svvptc: true,
        first_vmid: FIRST_VMID,
        shadow_modes: SupportedModes {
            sv32x4: false,
            sv39x4: true,
            sv48x4: true,
            sv57x4: true,
        },
    }
}

/// L1 owns L1 GPAs [0, 1 GiB), mapped by the host 1:1 onto HOST_BASE with 1 GiB.
fn world_with(cfg: ShadowConfig, frames: usize) -> World {
    let map = HostMap {
        regions: vec![Region {
            l1_base: 0,
            size_log2: 30,
            host_base: HOST_BASE,
            perms: Perms::all(),
        }],
    };
    let mut w = World {
        l1: L1Memory::new(1 << 30),
        b: L1Builder::new(GStageMode::Sv39x4, L1_ROOT, 0x10_0000),
        map,
        pool: VecPool::new(frames),
        mgr: ShadowManager::new(cfg),
        key: ContextKey::from_hgatp(Hgatp::new(GStageMode::Sv39x4, 5, L1_ROOT >> 12)),
        fences: Fences::new(),
    };
    w.mgr.activate(w.key, &mut w.pool, &mut w.fences).unwrap();
    w
}

fn world() -> World {
    world_with(config(), 256)
}

fn load() -> Access {
    Access::explicit(AccessType::Load)
}
fn store() -> Access {
    Access::explicit(AccessType::Store)
}

impl World {
    fn fill(&mut self, gpa: u64, access: Access) -> Result<gstage::Filled, FillError> {
        self.mgr.fill(
            self.key,
            gpa,
            access,
            &mut self.l1,
            &self.map,
            &mut self.pool,
            &mut self.fences,
        )
    }
    fn leaf(&self, gpa: u64) -> Option<gstage::MappedLeaf> {
        self.mgr.lookup(self.key, gpa, &self.pool)
    }
    fn host_pa(&self, gpa: u64) -> Option<u64> {
        self.leaf(gpa).map(|l| l.pa_of(gpa))
    }
    fn shadow_vmid(&self) -> u16 {
        self.mgr.hgatp(self.key).unwrap().vmid()
    }
}

#[test]
fn fill_installs_the_intersection_of_both_stages_permissions() {
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x20_0000, R | W | X | U | A | D)
        .unwrap();
    w.map.regions[0].perms = Perms::R | Perms::X;
    let f = w.fill(0x1234, load()).unwrap();
    assert_eq!(f.l1_gpa, 0x20_0234);
    assert_eq!(f.leaf.pte.perms(), Perms::R | Perms::X);
    assert_eq!(w.host_pa(0x1234), Some(HOST_BASE + 0x20_0234));
    let pte = w.leaf(0x1000).unwrap().pte;
    assert!(
        pte.flags()
            .contains(gstage::PteFlags::U | gstage::PteFlags::A | gstage::PteFlags::D),
        "{pte:?}"
    );
}

#[test]
fn fill_uses_the_largest_size_both_stages_allow() {
    let mut w = world();
    // L1: 2 MiB leaf; host: 1 GiB region -> a 2 MiB shadow leaf.
    w.b.map(&mut w.l1, 0x20_0000, 1, 0x40_0000, R | W | U | A | D)
        .unwrap();
    assert_eq!(w.fill(0x21_2345, load()).unwrap().leaf.size_log2(), 21);
    // L1: 1 GiB leaf; host region of 1 GiB at L1 GPA 0 -> 1 GiB.
    w.b.map(&mut w.l1, 0x4000_0000, 2, 0, R | U | A | D)
        .unwrap();
    assert_eq!(w.fill(0x4000_0008, load()).unwrap().leaf.size_log2(), 30);
    // L1: 4 KiB leaf -> 4 KiB.
    w.b.map(&mut w.l1, 0x1000, 0, 0x3000, R | U | A | D)
        .unwrap();
    assert_eq!(w.fill(0x1000, load()).unwrap().leaf.size_log2(), 12);
    // L1: 2 MiB leaf, but the host maps L1 memory in 4 KiB pieces -> 4 KiB.
    w.map.regions = vec![Region {
        l1_base: 0x60_0000,
        size_log2: 12,
        host_base: HOST_BASE + 0x60_0000,
        perms: Perms::all(),
    }];
    w.b.map(&mut w.l1, 0x80_0000, 1, 0x60_0000, R | U | A | D)
        .unwrap();
    assert_eq!(w.fill(0x80_0010, load()).unwrap().leaf.size_log2(), 12);
    // Host 2 MiB region whose host address is only 4 KiB-aligned relative to the GPA -> 4 KiB.
    w.map.regions = vec![Region {
        l1_base: 0xa0_0000,
        size_log2: 21,
        host_base: HOST_BASE + 0x1000,
        perms: Perms::all(),
    }];
    w.b.map(&mut w.l1, 0xc0_0000, 1, 0xa0_0000, R | U | A | D)
        .unwrap();
    let f = w.fill(0xc0_0010, load()).unwrap();
    assert_eq!(
        (f.leaf.size_log2(), f.leaf.pa_of(0xc0_0010)),
        (12, HOST_BASE + 0x1010)
    );
}

#[test]
fn the_l1_mapping_size_is_kept_in_the_shadow_leafs_software_bits() {
    let mut w = world();
    w.map.regions = vec![Region {
        l1_base: 0,
        size_log2: 12,
        host_base: HOST_BASE,
        perms: Perms::all(),
    }];
    w.b.map(&mut w.l1, 0x20_0000, 1, 0, R | U | A | D).unwrap();
    let f = w.fill(0x20_0000, load()).unwrap();
    assert_eq!(
        (f.leaf.size_log2(), f.leaf.pte.rsw()),
        (12, 1),
        "4 KiB shadow leaf of a 2 MiB L1 leaf"
    );
}

#[test]
fn fill_reflects_l1_faults_with_their_cause_and_gpa() {
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | U | A | D)
        .unwrap();
    match w.fill(0x1008, store()) {
        Err(FillError::L1(WalkError::GuestPageFault(f))) => {
            assert_eq!((f.cause.code(), f.htval()), (23, 0x1008 >> 2))
        }
        other => panic!("{other:?}"),
    }
    match w.fill(0x9000, Access::explicit(AccessType::Fetch)) {
        Err(FillError::L1(WalkError::GuestPageFault(f))) => {
            assert_eq!((f.cause.code(), f.gpa), (20, 0x9000))
        }
        other => panic!("{other:?}"),
    }
    assert!(w.leaf(0x1008).is_none() && w.leaf(0x9000).is_none());
}

#[test]
fn a_missing_l1_mapping_is_never_remembered() {
    // Svvptc in L1: L1 turns an invalid entry valid without any fence.
    let mut w = world();
    assert!(matches!(w.fill(0x7000, load()), Err(FillError::L1(_))));
    w.b.map(&mut w.l1, 0x7000, 0, 0x8000, R | U | A | D)
        .unwrap();
    assert_eq!(
        w.fill(0x7000, load()).unwrap().leaf.pa_of(0x7000),
        HOST_BASE + 0x8000
    );
}

#[test]
fn svade_clean_l1_page_is_shadowed_read_only() {
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | W | U | A)
        .unwrap();
    assert_eq!(w.fill(0x1000, load()).unwrap().leaf.pte.perms(), Perms::R);
    assert!(matches!(w.fill(0x1000, store()), Err(FillError::L1(_))));
}

#[test]
fn svadu_store_sets_d_in_l1_and_upgrades_the_shadow_leaf_with_a_fence() {
    let cfg = ShadowConfig {
        l1_walk: WalkConfig {
            svadu: true,
            ..WalkConfig::default()
        },
        ..config()
    };
    let mut w = world_with(cfg, 64);
    let addr = w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | W | U).unwrap();
    assert_eq!(w.fill(0x1000, load()).unwrap().leaf.pte.perms(), Perms::R);
    assert_eq!(
        w.l1.read(addr, gstage::PteWidth::Bits64).unwrap() & (A | D),
        A
    );
    assert!(w.fences.is_empty());
    assert_eq!(
        w.fill(0x1000, store()).unwrap().leaf.pte.perms(),
        Perms::R | Perms::W
    );
    assert_eq!(
        w.l1.read(addr, gstage::PteWidth::Bits64).unwrap() & (A | D),
        A | D
    );
    let vmid = w.shadow_vmid();
    assert_eq!(
        w.fences.as_slice(),
        &[HfenceGvma {
            vmid: Some(vmid),
            gpa: Some(0x1000)
        }]
    );
}

#[test]
fn l1_gpas_the_host_does_not_back_or_denies_go_to_the_host() {
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x8000_0000, R | W | U | A | D)
        .unwrap();
    assert_eq!(
        w.fill(0x1000, load()),
        Err(FillError::L1Unbacked {
            l1_gpa: 0x8000_0000
        })
    );
    w.b.map(&mut w.l1, 0x2000, 0, 0x3000, R | W | U | A | D)
        .unwrap();
    w.map.regions[0].perms = Perms::R;
    assert!(matches!(
        w.fill(0x2000, store()),
        Err(FillError::HostDenied { l1_gpa: 0x3000, .. })
    ));
    assert!(w.leaf(0x2000).is_none());
}

fn mxr_load() -> Access {
    Access {
        mxr: true,
        ..load()
    }
}

/// Every entry of the shadow table that is valid, read back without the crate.
fn shadow_entries(w: &World) -> Vec<(u64, u32, u64)> {
    model::leaves_of(&w.pool, w.mgr.hgatp(w.key).unwrap()).unwrap()
}

#[test]
fn a_fill_never_installs_a_leaf_without_read_or_execute() {
    // HS-level MXR: L1 grants the load through X, the host through R. The intersection is
    // empty: a V=1 entry with XWR=000 would be a pointer to L1's data page.
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, X | U | A | D)
        .unwrap();
    w.map.regions[0].perms = Perms::R | Perms::W;
    assert!(matches!(
        w.fill(0x1000, mxr_load()),
        Err(FillError::NoCommonPermission { l1_gpa: 0x5000, .. })
    ));
    // And the other way round: L1 grants R, the host X only.
    w.b.map(&mut w.l1, 0x2000, 0, 0x6000, R | U | A | D)
        .unwrap();
    w.map.regions[0].perms = Perms::X;
    assert!(matches!(
        w.fill(0x2000, mxr_load()),
        Err(FillError::NoCommonPermission { l1_gpa: 0x6000, .. })
    ));
    assert!(w.leaf(0x1000).is_none() && w.leaf(0x2000).is_none());
    assert_eq!(shadow_entries(&w), vec![]);
    assert!(w.fences.is_empty());
}

#[test]
fn an_mxr_load_that_both_stages_grant_through_execute_installs_an_execute_only_leaf() {
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, X | U | A | D)
        .unwrap();
    w.map.regions[0].perms = Perms::R | Perms::X;
    let f = w.fill(0x1000, mxr_load()).unwrap();
    assert_eq!(f.leaf.pte.perms(), Perms::X);
    // Without MXR the same load is L1's fault.
    w.mgr.invalidate_vmid(None, &mut w.pool, &mut w.fences);
    assert!(matches!(
        w.fill(0x1000, load()),
        Err(FillError::L1(WalkError::GuestPageFault(_)))
    ));
}

#[test]
fn a_new_shadow_leaf_needs_a_fence_on_harts_without_svvptc() {
    let cfg = ShadowConfig {
        host_svvptc: false,
        ..config()
    };
    let mut w = world_with(cfg, 64);
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | U | A | D)
        .unwrap();
    w.b.map(&mut w.l1, 0x2000, 0, 0x6000, R | U | A | D)
        .unwrap();
    // The first fill puts tables under invalid entries: the hart may have cached one of
    // them, and a GPA-scoped fence need not reach a non-leaf entry, so the VMID is fenced.
    w.fill(0x1000, load()).unwrap();
    let vmid = w.shadow_vmid();
    assert_eq!(
        w.fences.as_slice(),
        &[HfenceGvma {
            vmid: Some(vmid),
            gpa: None
        }]
    );
    // The next leaf in the same tables needs only its own GPA fenced.
    w.fences = Fences::new();
    w.fill(0x2000, load()).unwrap();
    assert_eq!(
        w.fences.as_slice(),
        &[HfenceGvma {
            vmid: Some(vmid),
            gpa: Some(0x2000)
        }]
    );
}

#[test]
fn switching_between_l1_guests_does_not_flush() {
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | U | A | D)
        .unwrap();
    w.fill(0x1000, load()).unwrap();
    let first = w.key;
    let other = ContextKey::from_hgatp(Hgatp::new(GStageMode::Sv39x4, 6, (L1_ROOT + 0x4000) >> 12));
    let h1 = w.mgr.hgatp(first).unwrap();
    let h2 = w.mgr.activate(other, &mut w.pool, &mut w.fences).unwrap();
    assert_ne!(h1.vmid(), h2.vmid());
    assert_eq!(
        w.mgr.activate(first, &mut w.pool, &mut w.fences).unwrap(),
        h1
    );
    assert!(w.leaf(0x1000).is_some());
    assert!(w.fences.is_empty());
}

/// Two contexts with the same L1 tables but different L1 VMIDs, both filled at 0x1000.
fn two_contexts() -> (World, ContextKey) {
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | U | A | D)
        .unwrap();
    w.fill(0x1000, load()).unwrap();
    let first = w.key;
    let other = ContextKey { vmid: 9, ..first };
    w.mgr.activate(other, &mut w.pool, &mut w.fences).unwrap();
    w.key = other;
    w.fill(0x1000, load()).unwrap();
    w.key = first;
    (w, other)
}

#[test]
fn hfence_gvma_by_vmid_leaves_other_contexts_intact() {
    let (mut w, other) = two_contexts();
    w.mgr
        .invalidate_vmid(Some(w.key.vmid), &mut w.pool, &mut w.fences);
    assert!(w.leaf(0x1000).is_none());
    assert!(w.mgr.lookup(other, 0x1000, &w.pool).is_some());
    let vmid = w.shadow_vmid();
    assert_eq!(
        w.fences.as_slice(),
        &[HfenceGvma {
            vmid: Some(vmid),
            gpa: None
        }]
    );
}

#[test]
fn hfence_gvma_by_gpa_and_vmid_leaves_other_contexts_intact() {
    let (mut w, other) = two_contexts();
    w.mgr
        .invalidate_gpa(Some(w.key.vmid), 0x1000, 0x1000, &mut w.pool, &mut w.fences);
    assert!(w.leaf(0x1000).is_none());
    assert!(w.mgr.lookup(other, 0x1000, &w.pool).is_some());
    w.mgr
        .invalidate_gpa(None, 0x1000, 1, &mut w.pool, &mut w.fences);
    assert!(w.mgr.lookup(other, 0x1000, &w.pool).is_none());
}

#[test]
fn hfence_gvma_at_one_gpa_removes_every_shadow_leaf_of_that_l1_superpage() {
    let mut w = world();
    // L1 maps 2 MiB; the host only in 4 KiB pieces: the shadow holds 4 KiB leaves.
    w.map.regions = (0..512)
        .map(|i| Region {
            l1_base: 0x40_0000 + i * 0x1000,
            size_log2: 12,
            host_base: HOST_BASE + i * 0x1000,
            perms: Perms::all(),
        })
        .collect();
    w.b.map(&mut w.l1, 0x20_0000, 1, 0x40_0000, R | U | A | D)
        .unwrap();
    w.b.map(&mut w.l1, 0x40_0000, 0, 0x40_0000, R | U | A | D)
        .unwrap(); // an unrelated 4 KiB leaf
    for gpa in [0x20_0000, 0x20_5000, 0x3f_f000, 0x40_0000] {
        w.fill(gpa, load()).unwrap();
    }
    // L1 edits its 2 MiB leaf and fences one address inside it that L2 never touched.
    w.mgr.invalidate_gpa(
        Some(w.key.vmid),
        0x21_0000,
        0x1000,
        &mut w.pool,
        &mut w.fences,
    );
    for gpa in [0x20_0000, 0x20_5000, 0x3f_f000] {
        assert!(
            w.leaf(gpa).is_none(),
            "{gpa:#x} derives from the fenced L1 leaf"
        );
    }
    assert!(
        w.leaf(0x40_0000).is_some(),
        "a leaf of another L1 leaf stays"
    );
    assert_eq!(w.fences.as_slice().len(), 3);
}

#[test]
fn invalidating_an_l1_range_empties_only_the_contexts_that_map_it() {
    let (mut w, other) = two_contexts();
    // A third context maps L1 GPAs far away (another 1 GiB block).
    let third = ContextKey { vmid: 11, ..w.key };
    w.map.regions.push(Region {
        l1_base: 0x8000_0000,
        size_log2: 30,
        host_base: 0x80_0000_0000,
        perms: Perms::all(),
    });
    w.l1.size = 1 << 32;
    w.b.map(&mut w.l1, 0x9000, 0, 0x8000_0000, R | U | A | D)
        .unwrap();
    w.mgr.activate(third, &mut w.pool, &mut w.fences).unwrap();
    w.key = third;
    w.fill(0x9000, load()).unwrap();
    w.key = other;
    w.mgr
        .invalidate_l1_range(0x5000, 0x1000, &mut w.pool, &mut w.fences);
    assert!(w.leaf(0x1000).is_none());
    w.key = third;
    assert!(
        w.leaf(0x9000).is_some(),
        "a context that does not map the range keeps its leaves"
    );
}

#[test]
fn pool_exhaustion_evicts_the_least_recently_used_context() {
    // Room for two roots (frames 0-3 and 8-11) and four tables (4-7).
    let mut w = world_with(config(), 12);
    let first = w.key;
    let second = ContextKey { vmid: 9, ..first };
    for i in 0..2u64 {
        w.b.map(&mut w.l1, i << 30, 0, 0x1000, R | U | A | D)
            .unwrap();
    }
    w.fill(0, load()).unwrap();
    w.fill(1 << 30, load()).unwrap(); // three tables in all
    w.mgr.activate(second, &mut w.pool, &mut w.fences).unwrap();
    assert!(w.fences.is_empty());
    w.key = second;
    w.fill(0, load()).unwrap(); // needs two tables, one is left: evicts `first`
    assert!(w.mgr.keys().all(|k| k != first));
    assert!(
        w.fences.covers(HfenceGvma {
            vmid: Some(FIRST_VMID),
            gpa: None
        }),
        "{:?}",
        w.fences
    );
    assert!(w.leaf(0).is_some());
}

#[test]
fn pool_exhaustion_with_one_context_clears_it_and_never_fails_open() {
    let mut w = world_with(config(), 6); // the root and two tables
    for i in 0..2u64 {
        w.b.map(&mut w.l1, i << 30, 0, 0x1000, R | U | A | D)
            .unwrap();
    }
    w.fill(0, load()).unwrap();
    w.fill(1 << 30, load()).unwrap();
    assert!(w.leaf(0).is_none(), "the context was cleared to make room");
    assert!(w.leaf(1 << 30).is_some());
    let vmid = w.shadow_vmid();
    assert!(w.fences.covers(HfenceGvma {
        vmid: Some(vmid),
        gpa: None
    }));
    // A pool that cannot hold one path fails closed: nothing is mapped.
    let mut tiny = world_with(config(), 5);
    tiny.b
        .map(&mut tiny.l1, 0, 0, 0x1000, R | U | A | D)
        .unwrap();
    assert_eq!(tiny.fill(0, load()), Err(FillError::PoolExhausted));
    assert!(tiny.leaf(0).is_none());
}

#[test]
fn activating_more_contexts_than_slots_recycles_the_least_recently_used() {
    let mut w = world();
    let keys: Vec<ContextKey> = (0..5).map(|v| ContextKey { vmid: v, ..w.key }).collect();
    for k in &keys[..4] {
        w.mgr.activate(*k, &mut w.pool, &mut w.fences).unwrap();
    }
    // world() activated L1 VMID 5 first: the fifth activation recycled it.
    assert!(w.mgr.keys().all(|k| k.vmid != 5));
    w.mgr.activate(keys[1], &mut w.pool, &mut w.fences).unwrap();
    w.fences = Fences::new();
    w.mgr.activate(keys[4], &mut w.pool, &mut w.fences).unwrap();
    assert!(
        w.mgr.keys().all(|k| k != keys[0]),
        "keys[0] is now the least recently used"
    );
    assert!(w.mgr.keys().any(|k| k == keys[1]));
    let recycled = w.mgr.hgatp(keys[4]).unwrap().vmid();
    assert!(
        w.fences.covers(HfenceGvma {
            vmid: Some(recycled),
            gpa: None
        }),
        "the recycled VMID is fenced"
    );
}

#[test]
fn modes_the_host_cannot_shadow_are_refused() {
    let cfg = ShadowConfig {
        shadow_modes: SupportedModes {
            sv32x4: false,
            sv39x4: true,
            sv48x4: false,
            sv57x4: false,
        },
        ..config()
    };
    let mut w = world_with(cfg, 64);
    let wide = ContextKey {
        mode: GStageMode::Sv48x4,
        ..w.key
    };
    assert_eq!(
        w.mgr.activate(wide, &mut w.pool, &mut w.fences),
        Err(gstage::ShadowError::UnsupportedMode)
    );
    // Sv32x4 (34-bit GPAs) fits in an Sv39x4 shadow.
    let narrow = ContextKey {
        mode: GStageMode::Sv32x4,
        ..w.key
    };
    assert_eq!(
        w.mgr
            .activate(narrow, &mut w.pool, &mut w.fences)
            .unwrap()
            .mode(),
        GStageMode::Sv39x4
    );
}

#[test]
fn fill_without_an_active_context_maps_nothing() {
    let mut w = world();
    w.key = ContextKey { vmid: 42, ..w.key };
    assert_eq!(w.fill(0x1000, load()), Err(FillError::NotActive));
}

#[test]
fn a_context_mapping_1_gib_with_2_mib_pages_uses_one_table_below_the_root() {
    let mut w = world();
    for off in (0..1u64 << 30).step_by(1 << 21) {
        w.b.map(&mut w.l1, (1 << 30) + off, 1, off, R | W | U | A | D)
            .unwrap();
    }
    for off in (0..1u64 << 30).step_by(1 << 21) {
        assert_eq!(
            w.fill((1 << 30) + off + 0x800, load())
                .unwrap()
                .leaf
                .size_log2(),
            21
        );
    }
    assert_eq!(w.mgr.frames_in_use(w.key, &w.pool), Some(2));
    assert_eq!(w.pool.in_use(), 4 + 1);
}

#[test]
fn a_repeat_fault_on_an_existing_shadow_leaf_refills_and_fences_it() {
    // With Svvptc the new leaf needs no fence, but a fault at an already valid leaf means the
    // hart holds a stale entry: the refill must fence it.
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | U | A | D)
        .unwrap();
    w.fill(0x1000, load()).unwrap();
    assert!(w.fences.is_empty());
    w.fill(0x1000, load()).unwrap();
    let vmid = w.shadow_vmid();
    assert_eq!(
        w.fences.as_slice(),
        &[HfenceGvma {
            vmid: Some(vmid),
            gpa: Some(0x1000)
        }]
    );
}

#[test]
fn a_host_address_wider_than_a_pte_is_refused_not_truncated() {
    let mut w = world();
    w.map.regions[0].host_base = 1 << 56;
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | U | A | D)
        .unwrap();
    assert!(matches!(
        w.fill(0x1000, load()),
        Err(FillError::HostDenied { l1_gpa: 0x5000, .. })
    ));
    assert!(w.leaf(0x1000).is_none());
}

#[test]
fn every_physical_vmid_of_the_slots_must_fit_in_vmidlen() {
    let cfg = config(); // slots use VMIDs 100, 101, ...
    assert!(cfg.vmids_fit(4, 7)); // 100..=103 < 128
    assert!(cfg.vmids_fit(28, 7)); // 100..=127
    assert!(!cfg.vmids_fit(29, 7)); // 128 needs an eighth bit
    assert!(!cfg.vmids_fit(1, 6));
    assert!(cfg.vmids_fit(4, 14));
    let zero = ShadowConfig {
        first_vmid: 0,
        ..config()
    };
    // A hart without VMIDs (VMIDLEN = 0) has room for one context only.
    assert!(zero.vmids_fit(1, 0) && !zero.vmids_fit(2, 0));
    let top = ShadowConfig {
        first_vmid: u16::MAX,
        ..config()
    };
    assert!(top.vmids_fit(1, 16) && !top.vmids_fit(2, 16) && !top.vmids_fit(2, 32));
}

#[test]
fn changing_l1_walk_rules_empties_every_context_and_fences_each_vmid() {
    // Svade at first: a clean page is shadowed read-only and a store is L1's fault.
    let (mut w, other) = two_contexts();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | W | U | A)
        .unwrap();
    assert_eq!(w.fill(0x1000, load()).unwrap().leaf.pte.perms(), Perms::R);
    assert!(matches!(w.fill(0x1000, store()), Err(FillError::L1(_))));
    let vmids = [w.shadow_vmid(), w.mgr.hgatp(other).unwrap().vmid()];
    let frames_before = w.pool.in_use();
    w.fences = Fences::new();
    // L1 turns on Svadu (SBI FWFT): nothing filled under Svade survives.
    let svadu = WalkConfig {
        svadu: true,
        ..WalkConfig::default()
    };
    w.mgr.set_l1_walk(svadu, &mut w.pool, &mut w.fences);
    assert_eq!(w.mgr.config().l1_walk, svadu);
    assert!(w.leaf(0x1000).is_none());
    assert!(w.mgr.lookup(other, 0x1000, &w.pool).is_none());
    assert!(w.pool.in_use() < frames_before);
    for vmid in vmids {
        assert!(w.fences.covers(HfenceGvma {
            vmid: Some(vmid),
            gpa: None
        }));
    }
    // Both contexts stay active, and the store now sets D in L1's entry and is shadowed.
    assert_eq!(w.mgr.keys().count(), 2);
    assert_eq!(
        w.fill(0x1000, store()).unwrap().leaf.pte.perms(),
        Perms::R | Perms::W
    );
}

#[test]
fn a_shadow_leaf_takes_the_memory_type_of_l1s_leaf_when_l1_has_pbmte() {
    use gstage::{FaultReason, PteWidth};
    const NC: u64 = 1 << 61;
    const IO: u64 = 2 << 61;
    let cfg = ShadowConfig {
        l1_walk: WalkConfig {
            pbmte: true,
            ..WalkConfig::default()
        },
        ..config()
    };
    let mut w = world_with(cfg, 64);
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | W | U | A | D | NC)
        .unwrap();
    w.b.map(&mut w.l1, 0x2000, 0, 0x6000, R | W | U | A | D | IO)
        .unwrap();
    w.b.map(&mut w.l1, 0x3000, 0, 0x7000, R | W | U | A | D)
        .unwrap();
    let pbmt = |w: &mut World, gpa| {
        w.fill(gpa, load())
            .unwrap()
            .leaf
            .pte
            .pbmt_raw(PteWidth::Bits64)
    };
    assert_eq!(pbmt(&mut w, 0x1000), 1);
    assert_eq!(pbmt(&mut w, 0x2000), 2);
    assert_eq!(pbmt(&mut w, 0x3000), 0);
    // Without PBMTE L1's PBMT bits are reserved: L1's fault, and nothing is installed.
    let mut w = world();
    w.b.map(&mut w.l1, 0x1000, 0, 0x5000, R | W | U | A | D | NC)
        .unwrap();
    match w.fill(0x1000, load()) {
        Err(FillError::L1(WalkError::GuestPageFault(f))) => {
            assert_eq!(f.reason, FaultReason::ReservedPbmt)
        }
        other => panic!("{other:?}"),
    }
    assert!(w.leaf(0x1000).is_none());
}
