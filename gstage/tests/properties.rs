//! Property tests of the invariants the crate promises: isolation and coherence of the shadow
//! against a reference two-stage translation, and agreement of the writer with the walker.

mod model;

use gstage::{
    Access, AccessType, Fences, GStageMode, GStageTable, Hgatp, LeafAttrs, PageSize, Perms,
    PteWidth, TwoStageError, VsAccess, VsMode, Vsatp, WalkConfig, translate, translate_two_stage,
};
use model::sim::{Op, Sim};
use model::{
    A, D, Kind, L1Builder, L1Memory, R, RefTwoStage, U, VecPool, VsOptions, W, X,
    reference_two_stage,
};
use proptest::prelude::*;

fn ops() -> impl Strategy<Value = Vec<[u8; 6]>> {
    prop::collection::vec(any::<[u8; 6]>(), 1..60)
}

fn run(
    frames: usize,
    law_abiding: bool,
    svvptc: bool,
    (svadu, pbmte): (bool, bool),
    script: &[[u8; 6]],
) -> Result<(), TestCaseError> {
    let l1_walk = WalkConfig {
        svadu,
        pbmte,
        ..WalkConfig::default()
    };
    let mut sim = Sim::with_l1_walk(frames, law_abiding, svvptc, l1_walk);
    for (i, bytes) in script.iter().enumerate() {
        let op = Op::decode(*bytes);
        sim.step(op)
            .map_err(|e| TestCaseError::fail(format!("step {i} {op:?}: {e}")))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Isolation: whatever a hostile L1 writes in its tables, without fencing, every shadow
    /// leaf, and every translation a hart may still hold after the reported fences, maps
    /// only host memory the L1 map grants at one L1 GPA, with permissions within it.
    #[test]
    fn no_shadow_leaf_maps_memory_the_l1_map_does_not_grant(script in ops(), frames in prop::sample::select(vec![9usize, 13, 16, 64]), svvptc in any::<bool>(), l1 in any::<(bool, bool)>()) {
        run(frames, false, svvptc, l1, &script)?;
    }

    /// Coherence: when L1 follows every table edit with the fence the spec requires, the
    /// shadow, and every translation a hart may still hold after the reported fences, agrees
    /// with the reference two-stage walk after every fill, edit and fence, with L1's G-stage
    /// under Svade or Svadu; and without Svvptc no fill leaves the hart an invalid entry on
    /// its path.
    #[test]
    fn a_fence_followed_by_a_walk_never_returns_a_stale_translation(script in ops(), frames in prop::sample::select(vec![9usize, 13, 16, 64]), svvptc in any::<bool>(), l1 in any::<(bool, bool)>()) {
        run(frames, true, svvptc, l1, &script)?;
    }

    /// The writer's tables, read by the walker, give exactly the mappings a model records.
    #[test]
    fn writer_tables_walk_to_exactly_what_was_mapped(script in prop::collection::vec((0u8..3, 0u64..64, 0u8..3, 0u64..1024, 0u8..4), 1..40)) {
        let mut pool = VecPool::new(256);
        let mut t = GStageTable::new(GStageMode::Sv39x4, 3, &mut pool).unwrap();
        let mut fences = Fences::new();
        // Model: the operations themselves; a page's state is the last map/unmap covering
        // it, with the protects after that applied.
        let mut done: Vec<(u8, u64, u64, u64, Perms)> = Vec::new(); // (op, first page, pages, host page, perms)
        let perms_of = |p: u8| [Perms::R, Perms::R | Perms::W, Perms::R | Perms::X, Perms::X][p as usize % 4];
        for (op, unit, size, pages, p) in script {
            let size = [PageSize::Size4K, PageSize::Size2M, PageSize::Size1G][size as usize];
            let gpa = (unit * size.bytes()) % (4 << 30);
            let perms = perms_of(p);
            let (count, host) = match op {
                0 => {
                    let pa = 0x80_0000_0000 + (gpa * 3) % (1 << 36) / size.bytes() * size.bytes();
                    t.map(&mut pool, gpa, pa, size, LeafAttrs::new(perms), &mut fences).unwrap();
                    (size.bytes() >> 12, pa >> 12)
                }
                1 => {
                    t.unmap(&mut pool, gpa, (pages + 1) * 0x1000, &mut fences).unwrap();
                    (pages + 1, 0)
                }
                _ => {
                    t.protect(&mut pool, gpa, (pages + 1) * 0x1000, perms, &mut fences).unwrap();
                    (pages + 1, 0)
                }
            };
            done.push((op, gpa >> 12, count, host, perms));
        }
        let model = |page: u64| {
            let mut state = None;
            for &(op, first, count, host, perms) in &done {
                if page < first || page - first >= count {
                    continue;
                }
                match op {
                    0 => state = Some((host + page - first, perms)),
                    1 => state = None,
                    _ => state = state.map(|(h, _)| (h, perms)),
                }
            }
            state
        };
        // Probe both ends and the middle of every operation's range, and just outside.
        let mut probes = vec![0u64, 511, 512, 262_143, 262_144];
        for &(_, first, count, _, _) in &done {
            probes.extend([first, first + count / 2, first + count - 1, first + count, first.saturating_sub(1)]);
        }
        let exec = Access { hlvx: true, ..Access::explicit(AccessType::Load) };
        let load = Access::explicit(AccessType::Load);
        for page in probes {
            let gpa = (page << 12) | 0xabc;
            let root = t.hgatp().root_pa();
            let x = translate(GStageMode::Sv39x4, root, gpa, exec, &WalkConfig::default(), &mut pool);
            let r = translate(GStageMode::Sv39x4, root, gpa, load, &WalkConfig::default(), &mut pool);
            match model(page) {
                Some((host, perms)) => {
                    prop_assert_eq!(x.is_ok(), perms.contains(Perms::X), "{:#x}", gpa);
                    prop_assert_eq!(r.is_ok(), perms.contains(Perms::R), "{:#x}", gpa);
                    let t = x.or(r).unwrap();
                    prop_assert_eq!((t.pa, t.perms), ((host << 12) | 0xabc, perms), "{:#x}", gpa);
                }
                None => prop_assert!(x.is_err() && r.is_err(), "{:#x} should be unmapped", gpa),
            }
        }
        t.destroy(&mut pool);
        prop_assert_eq!(pool.in_use(), 0, "destroy returns every frame");
    }
}

/// G-stage flags the two-stage property draws from (full access most often).
const G_FLAGS: [u64; 8] = [
    R | W | X | U | A | D,
    R | W | X | U | A | D,
    R | U | A | D,
    X | U | A,
    R | W | U | A,
    R | W | X | A | D,
    R | W | X | U | D,
    0,
];
/// VS-stage permissions; selectors 6 and above give RWX, the most common case.
const VS_PERMS: [u64; 7] = [R, R | W, R | X, R | W | X, X, W, R | W | X];
const WINDOW: u64 = 0x10_0000;
const DATA: u64 = 0x20_0000;
const DATA_SPA: u64 = 0x40_0000;

/// GVAs with distinct indices at every level; the last is not canonical.
fn gva(i: u8) -> u64 {
    let i = u64::from(i % 7);
    let raw = (i << 30) | ((i * 7 % 512) << 21) | ((i * 13 % 512) << 12) | 0x18;
    if i == 6 {
        1 << 40
    } else if i % 2 == 1 {
        raw | !((1 << 39) - 1)
    } else {
        raw
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Two-stage translation (VS-stage tables read through the G-stage, then the final GPA)
    /// agrees with a reference written from the spec, fault causes, GPAs and the implicit flag
    /// included.
    #[test]
    fn two_stage_translation_matches_the_reference_walk(
        window in prop::collection::vec(0usize..32, 16),
        data in prop::collection::vec(0usize..32, 8),
        leaves in prop::collection::vec((0u8..7, 0u64..8, 0usize..10, 0u8..16), 4..12),
        queries in prop::collection::vec((0u8..7, 0usize..3, any::<u8>()), 1..24),
    ) {
        let mut mem = L1Memory::new(0x100_0000);
        let mut g = L1Builder::new(GStageMode::Sv39x4, 0x10000, WINDOW);
        // Selectors 8 and above give full access, the most common case.
        let flags_of = |sel: usize| G_FLAGS[sel.min(8) % 8];
        for (page, &sel) in window.iter().enumerate() {
            let gpa = WINDOW + page as u64 * 0x1000;
            match sel {
                // A VS table the G-stage places outside memory: an access fault.
                6 => g.map(&mut mem, gpa, 0, 0x4000_0000 + gpa, G_FLAGS[0]),
                _ if flags_of(sel) != 0 => g.map(&mut mem, gpa, 0, gpa, flags_of(sel)),
                _ => Some(0),
            }
            .unwrap();
        }
        for (page, sel) in data.iter().enumerate() {
            let gpa = DATA + page as u64 * 0x1000;
            let flags = flags_of(*sel);
            if flags != 0 { g.map(&mut mem, gpa, 0, DATA_SPA + page as u64 * 0x1000, flags).unwrap(); }
        }
        // VS tables in the window (SPA = GPA), root in its first page.
        let mut next = WINDOW + 0x1000;
        for (i, page, perms, bits) in leaves {
            let va = gva(i);
            let mut table = WINDOW;
            for level in [2u32, 1] {
                let addr = table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
                let pte = mem.read(addr, PteWidth::Bits64).unwrap();
                table = if pte & 1 != 0 { (pte >> 10) << 12 } else {
                    let t = next;
                    next += 0x1000;
                    mem.write(addr, PteWidth::Bits64, ((t >> 12) << 10) | 1);
                    t
                };
            }
            // A and D are usually set; U on a quarter of the leaves.
            let mut flags = VS_PERMS[perms.min(6)] | 1;
            for (set, f) in [(bits & 6 == 6, U), (bits != 0, A), (bits != 1, D)] {
                if set { flags |= f; }
            }
            let leaf = (((DATA >> 12) + page) << 10) | flags;
            mem.write(table + ((va >> 12) & 0x1ff) * 8, PteWidth::Bits64, leaf);
        }
        let vsatp = Vsatp { mode: VsMode::Sv39, asid: 0, ppn: WINDOW >> 12 };
        let hgatp = Hgatp::new(GStageMode::Sv39x4, 1, 0x10);
        for (i, kind, opts) in queries {
            let kind = [Kind::Fetch, Kind::Load, Kind::Store][kind];
            let o = VsOptions { kind, hlvx: kind == Kind::Load && opts & 1 != 0, user: opts & 6 == 6, sum: opts & 4 != 0, mxr: opts & 8 != 0, hs_mxr: opts & 16 != 0 };
            let access = VsAccess {
                kind: [AccessType::Fetch, AccessType::Load, AccessType::Store][kind as usize],
                hlvx: o.hlvx, user: o.user, sum: o.sum, mxr: o.mxr, hs_mxr: o.hs_mxr,
            };
            let expected = reference_two_stage(&mem, WINDOW, hgatp, gva(i), o);
            let got = match translate_two_stage(vsatp, &WalkConfig::default(), hgatp, &WalkConfig::default(), gva(i), access, &mut mem) {
                Ok(t) => RefTwoStage::Mapped(t.pa),
                Err(TwoStageError::PageFault { cause, .. }) => RefTwoStage::PageFault(cause),
                Err(TwoStageError::GuestPageFault(f)) => RefTwoStage::GuestPageFault(f.cause.code(), f.gpa, f.implicit.is_some()),
                Err(TwoStageError::AccessFault { cause }) => RefTwoStage::AccessFault(cause),
                Err(TwoStageError::Contended) => panic!("nothing races here"),
            };
            prop_assert_eq!(got, expected, "gva {:#x} {:?}", gva(i), o);
        }
    }
}

/// The scripts above are not vacuous: decoded at random they fill, install and check leaves.
#[test]
fn random_scripts_install_leaves_that_the_checks_see() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut fills, mut installed, mut leaves, mut no_common) = (0, 0, 0, 0);
    let (mut recycled, mut high, mut per_mode, mut pbmt) = (0, 0, [0; 5], 0);
    for round in 0..50 {
        let l1_walk = WalkConfig {
            pbmte: round % 2 == 0,
            ..WalkConfig::default()
        };
        let mut sim = Sim::with_l1_walk(64, true, true, l1_walk);
        for _ in 0..40 {
            let b = next().to_le_bytes();
            sim.step(Op::decode([b[0], b[1], b[2], b[3], b[4], b[5]]))
                .unwrap();
        }
        fills += sim.fills;
        installed += sim.installed;
        leaves += sim.leaves_checked.get();
        no_common += sim.no_common;
        recycled += sim.recycled;
        high += sim.installed_high;
        pbmt += sim.installed_pbmt;
        for (total, n) in per_mode.iter_mut().zip(sim.installed_in) {
            *total += n;
        }
    }
    assert!(
        installed * 4 > fills,
        "too few fills succeed: {installed} of {fills}"
    );
    assert!(leaves > 1000, "isolation checked only {leaves} leaves");
    assert!(
        no_common > 0,
        "no MXR fill met permissions the stages do not share"
    );
    assert!(recycled > 0, "no context was recycled");
    assert!(high > 0, "no leaf at a root index past 511");
    assert!(pbmt > 0, "no leaf took L1's memory type");
    // Sv39x4, Sv48x4, Sv32x4, Sv57x4 and Bare L1 G-stages are all shadowed.
    assert!(
        per_mode.iter().all(|&n| n > 0),
        "installed per mode: {per_mode:?}"
    );
}
