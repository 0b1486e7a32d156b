//! Property tests of the invariants the crate promises: isolation and coherence of the shadow
//! against a reference two-stage translation, and agreement of the writer with the walker.

mod model;

use gstage::{
    Access, AccessType, Fences, GStageMode, GStageTable, LeafAttrs, PageSize, Perms, WalkConfig,
    translate,
};
use model::VecPool;
use model::sim::{Op, Sim};
use proptest::prelude::*;

fn ops() -> impl Strategy<Value = Vec<[u8; 6]>> {
    prop::collection::vec(any::<[u8; 6]>(), 1..60)
}

fn run(
    frames: usize,
    law_abiding: bool,
    svvptc: bool,
    script: &[[u8; 6]],
) -> Result<(), TestCaseError> {
    let mut sim = Sim::new(frames, law_abiding, svvptc);
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
    /// leaf maps only host memory the L1 map grants, with permissions within it.
    #[test]
    fn no_shadow_leaf_maps_memory_the_l1_map_does_not_grant(script in ops(), frames in prop::sample::select(vec![9usize, 13, 16, 64])) {
        run(frames, false, true, &script)?;
    }

    /// Coherence: when L1 follows every table edit with the fence the spec requires, the
    /// shadow agrees with the reference two-stage walk after every fill, edit and fence.
    #[test]
    fn a_fence_followed_by_a_walk_never_returns_a_stale_translation(script in ops(), frames in prop::sample::select(vec![9usize, 13, 16, 64]), svvptc in any::<bool>()) {
        run(frames, true, svvptc, &script)?;
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
    let (mut fills, mut installed, mut leaves) = (0, 0, 0);
    for _ in 0..50 {
        let mut sim = Sim::new(64, true, true);
        for _ in 0..40 {
            let b = next().to_le_bytes();
            sim.step(Op::decode([b[0], b[1], b[2], b[3], b[4], b[5]]))
                .unwrap();
        }
        fills += sim.fills;
        installed += sim.installed;
        leaves += sim.leaves_checked.get();
    }
    assert!(
        installed * 4 > fills,
        "too few fills succeed: {installed} of {fills}"
    );
    assert!(leaves > 1000, "isolation checked only {leaves} leaves");
}
