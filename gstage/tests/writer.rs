//! The page-table writer: real tables in host frames, read back by the crate's walker.

mod model;

use gstage::{
    Access, AccessType, Fences, GStageMode, GStageTable, HfenceGvma, LeafAttrs, PageSize, Perms,
    WalkConfig, WriteError, translate,
};
use model::VecPool;

const VMID: u16 = 7;

fn rw() -> LeafAttrs {
    LeafAttrs::new(Perms::R | Perms::W)
}

fn walk(pool: &mut VecPool, t: &GStageTable, gpa: u64) -> Option<(u64, u32, Perms)> {
    let load = Access::explicit(AccessType::Load);
    translate(
        t.hgatp().mode(),
        t.hgatp().root_pa(),
        gpa,
        load,
        &WalkConfig::default(),
        pool,
    )
    .ok()
    .map(|x| (x.pa, x.size_log2, x.perms))
}

fn gpa_fence(gpa: u64) -> HfenceGvma {
    HfenceGvma {
        vmid: Some(VMID),
        gpa: Some(gpa),
    }
}

#[test]
fn every_page_size_maps_and_walks_back_in_sv48x4() {
    let mut pool = VecPool::new(64);
    let mut t = GStageTable::new(GStageMode::Sv48x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    for (i, size) in PageSize::ALL.into_iter().enumerate() {
        let gpa = (i as u64 + 1) << 39;
        let pa = 0x100_0000_0000 * (i as u64 + 1);
        t.map(&mut pool, gpa, pa, size, rw(), &mut f).unwrap();
        let probe = gpa + size.bytes() - 8;
        assert_eq!(
            walk(&mut pool, &t, probe),
            Some((pa + size.bytes() - 8, size.log2(), Perms::R | Perms::W)),
            "{size:?}"
        );
        assert_eq!(t.lookup(&pool, probe).unwrap().level, size.level());
    }
    assert!(
        f.is_empty(),
        "mappings over invalid entries need no fence: {f:?}"
    );
}

#[test]
fn map_rejects_what_the_format_cannot_express() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    assert_eq!(
        t.map(&mut pool, 0x1000, 0x2001, PageSize::Size4K, rw(), &mut f),
        Err(WriteError::Misaligned)
    );
    assert_eq!(
        t.map(&mut pool, 0x1000, 0x20_0000, PageSize::Size2M, rw(), &mut f),
        Err(WriteError::Misaligned)
    );
    assert_eq!(
        t.map(&mut pool, 1 << 41, 0x2000, PageSize::Size4K, rw(), &mut f),
        Err(WriteError::OutOfRange)
    );
    assert_eq!(
        t.map(&mut pool, 0, 0, PageSize::Size512G, rw(), &mut f),
        Err(WriteError::UnsupportedSize)
    );
    let w_only = LeafAttrs::new(Perms::W);
    assert_eq!(
        t.map(&mut pool, 0x1000, 0x2000, PageSize::Size4K, w_only, &mut f),
        Err(WriteError::ReservedPermissions)
    );
    let none = LeafAttrs::new(Perms::empty());
    assert_eq!(
        t.map(&mut pool, 0x1000, 0x2000, PageSize::Size4K, none, &mut f),
        Err(WriteError::ReservedPermissions)
    );
    assert_eq!(
        GStageTable::new(GStageMode::Sv32x4, 1, &mut pool).err(),
        Some(WriteError::UnsupportedMode)
    );
    assert_eq!(
        GStageTable::new(GStageMode::Bare, 1, &mut pool).err(),
        Some(WriteError::UnsupportedMode)
    );
}

#[test]
fn remapping_a_valid_leaf_requires_a_fence_for_its_gpa() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    t.map(&mut pool, 0x5000, 0x9000, PageSize::Size4K, rw(), &mut f)
        .unwrap();
    assert!(f.is_empty());
    t.map(&mut pool, 0x5000, 0xa000, PageSize::Size4K, rw(), &mut f)
        .unwrap();
    assert_eq!(f.as_slice(), &[gpa_fence(0x5000)]);
    assert_eq!(walk(&mut pool, &t, 0x5123).unwrap().0, 0xa123);
}

#[test]
fn superpage_over_a_finer_table_frees_it_and_needs_a_vmid_wide_fence() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    t.map(&mut pool, 0x20_1000, 0x9000, PageSize::Size4K, rw(), &mut f)
        .unwrap();
    let with_table = pool.in_use();
    t.map(
        &mut pool,
        0x20_0000,
        0x40_0000,
        PageSize::Size2M,
        rw(),
        &mut f,
    )
    .unwrap();
    assert_eq!(pool.in_use(), with_table - 1, "the level-0 table is freed");
    assert!(
        f.covers(HfenceGvma {
            vmid: Some(VMID),
            gpa: None
        }),
        "a non-leaf change needs rs1=x0: {f:?}"
    );
    assert_eq!(walk(&mut pool, &t, 0x20_1234).unwrap().0, 0x40_1234);
}

#[test]
fn unmapping_part_of_a_superpage_splits_it_and_keeps_the_rest() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    t.map(
        &mut pool,
        0x4000_0000,
        0x8000_0000,
        PageSize::Size1G,
        rw(),
        &mut f,
    )
    .unwrap();
    t.unmap(&mut pool, 0x4020_3000, 0x2000, &mut f).unwrap();
    assert_eq!(walk(&mut pool, &t, 0x4020_3000), None);
    assert_eq!(walk(&mut pool, &t, 0x4020_4fff), None);
    assert_eq!(
        walk(&mut pool, &t, 0x4020_2fff),
        Some((0x8020_2fff, 12, Perms::R | Perms::W))
    );
    assert_eq!(
        walk(&mut pool, &t, 0x4020_5000),
        Some((0x8020_5000, 12, Perms::R | Perms::W))
    );
    assert_eq!(
        walk(&mut pool, &t, 0x4060_0000),
        Some((0x8060_0000, 21, Perms::R | Perms::W))
    );
    assert_eq!(
        walk(&mut pool, &t, 0x7fff_ffff),
        Some((0xbfff_ffff, 21, Perms::R | Perms::W))
    );
    assert_eq!(
        f.as_slice(),
        &[gpa_fence(0x4020_3000), gpa_fence(0x4020_4000)]
    );
}

#[test]
fn protecting_part_of_a_superpage_splits_it() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    t.map(
        &mut pool,
        0x20_0000,
        0x60_0000,
        PageSize::Size2M,
        rw(),
        &mut f,
    )
    .unwrap();
    t.protect(&mut pool, 0x20_0000, 0x1000, Perms::R, &mut f)
        .unwrap();
    assert_eq!(
        walk(&mut pool, &t, 0x20_0010),
        Some((0x60_0010, 12, Perms::R))
    );
    assert_eq!(
        walk(&mut pool, &t, 0x20_1010),
        Some((0x60_1010, 12, Perms::R | Perms::W))
    );
    assert_eq!(f.as_slice(), &[gpa_fence(0x20_0000)]);
    // Protecting with the permissions it already has changes nothing and needs no fence.
    let mut again = Fences::new();
    t.protect(
        &mut pool,
        0x20_1000,
        0x1000,
        Perms::R | Perms::W,
        &mut again,
    )
    .unwrap();
    assert!(again.is_empty());
}

#[test]
fn a_split_that_runs_out_of_frames_leaves_every_translation_unchanged() {
    let mut pool = VecPool::new(5); // the root (4) and one table
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    t.map(
        &mut pool,
        0x4000_0000,
        0x8000_0000,
        PageSize::Size1G,
        rw(),
        &mut f,
    )
    .unwrap();
    assert_eq!(
        t.unmap(&mut pool, 0x4000_1000, 0x1000, &mut f),
        Err(WriteError::OutOfFrames)
    );
    for gpa in [0x4000_0000, 0x4000_1000, 0x4020_0000, 0x7fff_f000] {
        assert_eq!(
            walk(&mut pool, &t, gpa).map(|x| x.0),
            Some(gpa + 0x4000_0000)
        );
    }
    assert!(f.is_empty());
}

#[test]
fn many_leaf_fences_widen_to_one_fence_of_the_vmid() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    for i in 0..100 {
        t.map(
            &mut pool,
            i * 0x1000,
            0x10_0000 + i * 0x1000,
            PageSize::Size4K,
            rw(),
            &mut f,
        )
        .unwrap();
    }
    t.unmap(&mut pool, 0, 100 * 0x1000, &mut f).unwrap();
    assert_eq!(
        f.as_slice(),
        &[HfenceGvma {
            vmid: Some(VMID),
            gpa: None
        }]
    );
    assert!((0..100).all(|i| walk(&mut pool, &t, i * 0x1000).is_none()));
}

#[test]
fn destroy_returns_every_frame_and_frames_in_use_counts_them() {
    let mut pool = VecPool::new(64);
    let mut t = GStageTable::new(GStageMode::Sv57x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    assert_eq!(t.frames_in_use(&pool), 1);
    t.map(&mut pool, 0x1000, 0x1000, PageSize::Size4K, rw(), &mut f)
        .unwrap();
    t.map(
        &mut pool,
        0x7_0000_0000_0000,
        0x2000,
        PageSize::Size4K,
        rw(),
        &mut f,
    )
    .unwrap();
    // Two paths of four tables below the root.
    assert_eq!(t.frames_in_use(&pool), 9);
    assert_eq!(pool.in_use(), 4 + 8);
    t.destroy(&mut pool);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn unmap_and_protect_reject_unaligned_or_empty_ranges() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    assert_eq!(
        t.unmap(&mut pool, 0x1000, 0, &mut f),
        Err(WriteError::Misaligned)
    );
    assert_eq!(
        t.unmap(&mut pool, 0x1001, 0x1000, &mut f),
        Err(WriteError::Misaligned)
    );
    assert_eq!(
        t.unmap(&mut pool, u64::MAX - 0xfff, 0x2000, &mut f),
        Err(WriteError::OutOfRange)
    );
    assert_eq!(
        t.unmap(&mut pool, (1 << 41) - 0x1000, 0x2000, &mut f),
        Err(WriteError::OutOfRange)
    );
    assert_eq!(
        t.protect(&mut pool, 0, 0x1000, Perms::empty(), &mut f),
        Err(WriteError::ReservedPermissions)
    );
    // The whole space at once is fine.
    t.unmap(&mut pool, 0, 1 << 41, &mut f).unwrap();
}

#[test]
fn map_range_uses_the_largest_pages_alignment_allows() {
    let mut pool = VecPool::new(16);
    let mut t = GStageTable::new(GStageMode::Sv39x4, VMID, &mut pool).unwrap();
    let mut f = Fences::new();
    // 4 KiB + 2 MiB - 4 KiB + 1 GiB + 2 MiB + 4 KiB, from GPA 1 GiB - 2 MiB - 4 KiB.
    let gpa = 0x4000_0000 - 0x20_1000;
    let len = 0x20_1000 + 0x4000_0000 + 0x20_1000;
    t.map_range(&mut pool, gpa, 0x8000_0000 + gpa, len, rw(), &mut f)
        .unwrap();
    let size_at =
        |t: &GStageTable, pool: &VecPool, g: u64| t.lookup(pool, g).map(|l| l.size_log2());
    assert_eq!(size_at(&t, &pool, gpa), Some(12));
    assert_eq!(size_at(&t, &pool, gpa + 0x1000), Some(21));
    assert_eq!(size_at(&t, &pool, 0x4000_0000), Some(30));
    assert_eq!(size_at(&t, &pool, 0x8000_0000), Some(21));
    assert_eq!(size_at(&t, &pool, 0x8020_0000), Some(12));
    assert_eq!(size_at(&t, &pool, 0x8020_1000), None);
    for g in [gpa, 0x4000_0000 - 8, 0x6000_0000, 0x8020_0ff8] {
        assert_eq!(walk(&mut pool, &t, g).map(|x| x.0), Some(0x8000_0000 + g));
    }
    // Host and guest addresses that are only 4 KiB-congruent give 4 KiB pages.
    t.map_range(&mut pool, 0x1_0000_0000, 0x1000, 0x20_0000, rw(), &mut f)
        .unwrap();
    assert_eq!(size_at(&t, &pool, 0x1_0000_0000), Some(12));
    assert_eq!(
        t.map_range(&mut pool, 0x1000, 0x2001, 0x1000, rw(), &mut f),
        Err(WriteError::Misaligned)
    );
    assert!(f.is_empty());
}

#[test]
fn a_gstage_leaf_needs_read_or_execute_and_never_write_without_read() {
    use gstage::{Pbmt, Pte};
    for bits in 0..8u64 {
        let perms = Perms::from_bits_truncate(bits << 1);
        let leaf = Pte::gstage_leaf(0x8000_0000, perms, Pbmt::Pma, 0);
        let legal = perms.intersects(Perms::R | Perms::X)
            && (perms.contains(Perms::R) || !perms.contains(Perms::W));
        assert_eq!(leaf.is_some(), legal, "{perms:?}");
        if let Some(pte) = leaf {
            assert!(pte.is_valid() && pte.is_leaf() && pte.perms() == perms);
        }
    }
}
