//! The G-stage walker against the rules of the priv spec, hypervisor chapter, "Guest Physical
//! Address Translation", one test per rule.

mod model;

use gstage::{
    Access, AccessType, FaultReason, GStageMode, Implicit, MemoryFault, Origin, Perms, PteMemory,
    PteWidth, WalkConfig, WalkError, translate,
};
use model::{A, D, G, L1Builder, L1Memory, R, U, V, W, X};

const ROOT: u64 = 0x10000;
const LEAF: u64 = U | A | D;

fn setup(mode: GStageMode) -> (L1Memory, L1Builder) {
    (
        L1Memory::new(0x100_0000),
        L1Builder::new(mode, ROOT, 0x80000),
    )
}

fn walk(
    mem: &mut L1Memory,
    mode: GStageMode,
    gpa: u64,
    access: Access,
    cfg: &WalkConfig,
) -> Result<gstage::Translation, WalkError> {
    translate(mode, ROOT, gpa, access, cfg, mem)
}

fn load() -> Access {
    Access::explicit(AccessType::Load)
}
fn store() -> Access {
    Access::explicit(AccessType::Store)
}
fn fetch() -> Access {
    Access::explicit(AccessType::Fetch)
}

/// The fault's (cause, reason), or a panic naming what came instead.
fn fault(r: Result<gstage::Translation, WalkError>) -> (u64, FaultReason) {
    match r {
        Err(WalkError::GuestPageFault(f)) => (f.cause.code(), f.reason),
        other => panic!("expected a guest-page fault, got {other:?}"),
    }
}

#[test]
fn four_kib_leaf_translates_in_every_paged_mode() {
    for (mode, gpa) in [
        (GStageMode::Sv32x4, 0x3_2345_6789u64),
        (GStageMode::Sv39x4, 0x1ab_cdef_0123),
        (GStageMode::Sv48x4, 0x3_0000_1234_5678),
        (GStageMode::Sv57x4, 0x700_0000_0000_0abc),
    ] {
        let (mut mem, mut b) = setup(mode);
        b.map(&mut mem, gpa, 0, 0x2_3456_7000, R | W | LEAF)
            .unwrap();
        let t = walk(&mut mem, mode, gpa, store(), &WalkConfig::default()).unwrap();
        assert_eq!(t.pa, 0x2_3456_7000 | (gpa & 0xfff), "{mode:?}");
        assert_eq!(t.size_log2, 12);
        assert_eq!(t.perms, Perms::R | Perms::W);
        assert!(matches!(t.origin, Origin::Leaf { level: 0, .. }));
        let levels = mode.scheme().unwrap().levels() as u64;
        assert_eq!(mem.reads, levels, "{mode:?}: one read per level");
    }
}

#[test]
fn gpa_bits_above_the_mode_width_give_a_guest_page_fault_of_the_access_type() {
    for mode in [
        GStageMode::Sv32x4,
        GStageMode::Sv39x4,
        GStageMode::Sv48x4,
        GStageMode::Sv57x4,
    ] {
        let (mut mem, mut b) = setup(mode);
        let bits = mode.gpa_bits().unwrap();
        b.map(&mut mem, 0, 0, 0x5000, R | W | X | LEAF).unwrap();
        // Zero-extended, not sign-extended: the top bit set faults.
        let gpa = 1u64 << bits;
        for (access, cause) in [(fetch(), 20), (load(), 21), (store(), 23)] {
            let r = walk(&mut mem, mode, gpa, access, &WalkConfig::default());
            assert_eq!(
                fault(r),
                (cause, FaultReason::AddressOutOfRange),
                "{mode:?}"
            );
        }
        let Err(WalkError::GuestPageFault(f)) =
            walk(&mut mem, mode, gpa | 0x123, load(), &WalkConfig::default())
        else {
            panic!()
        };
        assert_eq!(f.htval(), (gpa | 0x123) >> 2);
        assert_eq!(f.gpa, gpa | 0x123);
    }
}

#[test]
fn bare_mode_is_the_identity() {
    let mut mem = L1Memory::new(0);
    let t = walk(
        &mut mem,
        GStageMode::Bare,
        0xdead_beef_f00d,
        store(),
        &WalkConfig::default(),
    )
    .unwrap();
    assert_eq!((t.pa, t.origin), (0xdead_beef_f00d, Origin::Bare));
    assert_eq!(mem.reads, 0);
}

#[test]
fn gstage_leaf_without_u_faults() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x1000, 0, 0x5000, R | W | X | A | D)
        .unwrap();
    assert_eq!(
        fault(walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            load(),
            &WalkConfig::default()
        )),
        (21, FaultReason::NotUser)
    );
}

#[test]
fn g_bit_is_ignored_in_gstage_ptes() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x1000, 0, 0x5000, R | G | LEAF).unwrap();
    assert_eq!(
        walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            load(),
            &WalkConfig::default()
        )
        .unwrap()
        .pa,
        0x5000
    );
}

#[test]
fn xwr_010_and_110_are_reserved_in_gstage_ptes() {
    for flags in [W, W | X] {
        let (mut mem, mut b) = setup(GStageMode::Sv39x4);
        b.map(&mut mem, 0x1000, 0, 0x5000, flags | LEAF).unwrap();
        // Even for a store (a shadow-stack-like page): 010 has no meaning in the G-stage.
        let r = walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            store(),
            &WalkConfig::default(),
        );
        assert_eq!(fault(r), (23, FaultReason::ReservedPermissions));
    }
}

#[test]
fn misaligned_superpage_faults() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x20_0000, 1, 0x40_1000, R | LEAF).unwrap();
    let r = walk(
        &mut mem,
        GStageMode::Sv39x4,
        0x20_0000,
        load(),
        &WalkConfig::default(),
    );
    assert_eq!(fault(r), (21, FaultReason::MisalignedSuperpage));
    b.map(&mut mem, 0x4000_0000, 2, 0x4020_0000, R | LEAF)
        .unwrap();
    let r = walk(
        &mut mem,
        GStageMode::Sv39x4,
        0x4000_0000,
        load(),
        &WalkConfig::default(),
    );
    assert_eq!(fault(r), (21, FaultReason::MisalignedSuperpage));
}

#[test]
fn superpages_translate_with_the_offset_inside_them() {
    let (mut mem, mut b) = setup(GStageMode::Sv48x4);
    b.map(&mut mem, 0x20_0000, 1, 0x60_0000, R | LEAF).unwrap();
    b.map(&mut mem, 0x4000_0000, 2, 0x8000_0000, R | LEAF)
        .unwrap();
    b.map(&mut mem, 0x80_0000_0000, 3, 0x100_0000_0000, R | LEAF)
        .unwrap();
    for (gpa, pa, size) in [
        (0x2f_1234, 0x6f_1234, 21),
        (0x7fff_fff8, 0xbfff_fff8, 30),
        (0x81_2345_6789, 0x101_2345_6789, 39),
    ] {
        let t = walk(
            &mut mem,
            GStageMode::Sv48x4,
            gpa,
            load(),
            &WalkConfig::default(),
        )
        .unwrap();
        assert_eq!((t.pa, t.size_log2), (pa, size));
    }
}

#[test]
fn non_leaf_pte_with_a_d_or_u_faults() {
    for bit in [A, D, U] {
        let (mut mem, mut b) = setup(GStageMode::Sv39x4);
        let leaf = b.map(&mut mem, 0x1000, 0, 0x5000, R | LEAF).unwrap();
        let _ = leaf;
        let pointer = b.entry_addr(&mut mem, 0x1000, 1).unwrap();
        let old = mem.read(pointer, PteWidth::Bits64).unwrap();
        mem.write(pointer, PteWidth::Bits64, old | bit);
        let r = walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            load(),
            &WalkConfig::default(),
        );
        assert_eq!(
            fault(r),
            (21, FaultReason::NonLeafAttributes),
            "bit {bit:#x}"
        );
    }
}

#[test]
fn pointer_at_level_zero_faults() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x1000, 0, 0x5000, 0).unwrap(); // V only: a pointer
    assert_eq!(
        fault(walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            load(),
            &WalkConfig::default()
        )),
        (21, FaultReason::NoLeaf)
    );
}

#[test]
fn pbmt_needs_pbmte_and_value_three_is_reserved() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    let addr = b.map(&mut mem, 0x1000, 0, 0x5000, R | LEAF).unwrap();
    let base = mem.read(addr, PteWidth::Bits64).unwrap();
    let with_pbmte = WalkConfig {
        pbmte: true,
        ..WalkConfig::default()
    };
    mem.write(addr, PteWidth::Bits64, base | (1 << 61));
    assert_eq!(
        fault(walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            load(),
            &WalkConfig::default()
        )),
        (21, FaultReason::ReservedPbmt)
    );
    assert!(walk(&mut mem, GStageMode::Sv39x4, 0x1000, load(), &with_pbmte).is_ok());
    mem.write(addr, PteWidth::Bits64, base | (3 << 61));
    assert_eq!(
        fault(walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            load(),
            &with_pbmte
        )),
        (21, FaultReason::ReservedPbmt)
    );
}

#[test]
fn reserved_bits_fault_and_svrsw60t59b_frees_bits_60_59() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    let addr = b.map(&mut mem, 0x1000, 0, 0x5000, R | LEAF).unwrap();
    let base = mem.read(addr, PteWidth::Bits64).unwrap();
    let rsw = WalkConfig {
        svrsw60t59b: true,
        ..WalkConfig::default()
    };
    for bit in 54..=60 {
        mem.write(addr, PteWidth::Bits64, base | (1 << bit));
        let plain = walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            load(),
            &WalkConfig::default(),
        );
        assert_eq!(fault(plain), (21, FaultReason::ReservedBits), "bit {bit}");
        let freed = walk(&mut mem, GStageMode::Sv39x4, 0x1000, load(), &rsw);
        assert_eq!(freed.is_ok(), bit >= 59, "bit {bit} with Svrsw60t59b");
    }
}

#[test]
fn napot_needs_svnapot_and_maps_64_kib() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    let addr = b.map(&mut mem, 0x3_2000, 0, 0x9_8000, R | LEAF).unwrap();
    let base = mem.read(addr, PteWidth::Bits64).unwrap();
    mem.write(addr, PteWidth::Bits64, base | (1 << 63));
    let napot = WalkConfig {
        svnapot: true,
        ..WalkConfig::default()
    };
    assert_eq!(
        fault(walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x3_2abc,
            load(),
            &WalkConfig::default()
        )),
        (21, FaultReason::BadNapot)
    );
    let t = walk(&mut mem, GStageMode::Sv39x4, 0x3_2abc, load(), &napot).unwrap();
    assert_eq!((t.pa, t.size_log2), (0x9_2abc, 16));
    // Only ppn[3:0] = 1000 is defined.
    mem.write(
        addr,
        PteWidth::Bits64,
        ((0x9_4000u64 >> 12) << 10) | R | LEAF | V | (1 << 63),
    );
    assert_eq!(
        fault(walk(&mut mem, GStageMode::Sv39x4, 0x3_2abc, load(), &napot)),
        (21, FaultReason::BadNapot)
    );
}

#[test]
fn permissions_follow_the_access_type() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x1000, 0, 0x5000, R | LEAF).unwrap();
    b.map(&mut mem, 0x2000, 0, 0x6000, X | LEAF).unwrap();
    let cfg = WalkConfig::default();
    let m = GStageMode::Sv39x4;
    assert_eq!(
        fault(walk(&mut mem, m, 0x1000, store(), &cfg)),
        (23, FaultReason::Permission)
    );
    assert_eq!(
        fault(walk(&mut mem, m, 0x1000, fetch(), &cfg)),
        (20, FaultReason::Permission)
    );
    assert_eq!(
        fault(walk(&mut mem, m, 0x2000, load(), &cfg)),
        (21, FaultReason::Permission)
    );
    // HS-level MXR makes execute-only readable; HLVX needs X instead of R.
    assert!(
        walk(
            &mut mem,
            m,
            0x2000,
            Access {
                mxr: true,
                ..load()
            },
            &cfg
        )
        .is_ok()
    );
    assert!(
        walk(
            &mut mem,
            m,
            0x2000,
            Access {
                hlvx: true,
                ..load()
            },
            &cfg
        )
        .is_ok()
    );
    assert_eq!(
        fault(walk(
            &mut mem,
            m,
            0x1000,
            Access {
                hlvx: true,
                ..load()
            },
            &cfg
        )),
        (21, FaultReason::Permission)
    );
}

#[test]
fn implicit_vs_pte_access_faults_with_the_original_cause_and_the_pte_gpa() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x1000, 0, 0x5000, X | LEAF).unwrap();
    b.map(&mut mem, 0x2000, 0, 0x6000, R | LEAF).unwrap();
    let cfg = WalkConfig::default();
    let m = GStageMode::Sv39x4;
    // A fetch whose VS-stage PTE sits on an execute-only page: MXR does not help implicit reads.
    let read = Access {
        mxr: true,
        ..Access::vs_pte(AccessType::Fetch, Implicit::Read)
    };
    let Err(WalkError::GuestPageFault(f)) = walk(&mut mem, m, 0x1ff8, read, &cfg) else {
        panic!()
    };
    assert_eq!(
        (f.cause.code(), f.implicit, f.htval()),
        (20, Some(Implicit::Read), 0x1ff8 >> 2)
    );
    assert_eq!(f.pseudo_instruction(gstage::Xlen::Rv64), Some(0x3000));
    // Setting A/D in a VS PTE is a store through the G-stage, reported for the original load.
    let write = Access::vs_pte(AccessType::Load, Implicit::Write);
    let Err(WalkError::GuestPageFault(f)) = walk(&mut mem, m, 0x2010, write, &cfg) else {
        panic!()
    };
    assert_eq!(
        (f.cause.code(), f.implicit, f.reason),
        (21, Some(Implicit::Write), FaultReason::Permission)
    );
    assert_eq!(f.pseudo_instruction(gstage::Xlen::Rv32), Some(0x2020));
    // The implicit read itself is fine.
    assert!(
        walk(
            &mut mem,
            m,
            0x2010,
            Access::vs_pte(AccessType::Store, Implicit::Read),
            &cfg
        )
        .is_ok()
    );
}

#[test]
fn svade_faults_on_clear_a_and_on_clear_d_for_a_store() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x1000, 0, 0x5000, R | W | U).unwrap();
    b.map(&mut mem, 0x2000, 0, 0x6000, R | W | U | A).unwrap();
    let cfg = WalkConfig::default();
    let m = GStageMode::Sv39x4;
    assert_eq!(
        fault(walk(&mut mem, m, 0x1000, load(), &cfg)),
        (21, FaultReason::AccessedClear)
    );
    assert_eq!(
        fault(walk(&mut mem, m, 0x2000, store(), &cfg)),
        (23, FaultReason::DirtyClear)
    );
    // A load through a clean page succeeds, but the translation does not grant W yet.
    assert_eq!(
        walk(&mut mem, m, 0x2000, load(), &cfg).unwrap().perms,
        Perms::R
    );
}

#[test]
fn svadu_sets_a_and_d_with_a_compare_exchange() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    let addr = b.map(&mut mem, 0x1000, 0, 0x5000, R | W | U).unwrap();
    let cfg = WalkConfig {
        svadu: true,
        ..WalkConfig::default()
    };
    let m = GStageMode::Sv39x4;
    let t = walk(&mut mem, m, 0x1000, load(), &cfg).unwrap();
    assert_eq!(mem.read(addr, PteWidth::Bits64).unwrap() & (A | D), A);
    assert_eq!(t.perms, Perms::R);
    let t = walk(&mut mem, m, 0x1000, store(), &cfg).unwrap();
    assert_eq!(mem.read(addr, PteWidth::Bits64).unwrap() & (A | D), A | D);
    assert_eq!(t.perms, Perms::R | Perms::W);
    // No update for a faulting access.
    let addr2 = b.map(&mut mem, 0x2000, 0, 0x6000, R | U).unwrap();
    assert!(walk(&mut mem, m, 0x2000, store(), &cfg).is_err());
    assert_eq!(mem.read(addr2, PteWidth::Bits64).unwrap() & (A | D), 0);
}

/// Memory whose entry changes before every compare-exchange (another hart racing).
struct Racing(L1Memory, u32);
impl PteMemory for Racing {
    fn read_pte(&mut self, addr: u64, w: PteWidth) -> Result<u64, MemoryFault> {
        self.0.read_pte(addr, w)
    }
    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        w: PteWidth,
        _: u64,
        _: u64,
    ) -> Result<u64, MemoryFault> {
        self.1 += 1;
        let v = self.0.read(addr, w).unwrap() ^ (1 << 8); // flip a software bit
        self.0.write(addr, w, v);
        Ok(v)
    }
}

#[test]
fn svadu_retries_are_bounded_when_the_entry_keeps_changing() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    b.map(&mut mem, 0x1000, 0, 0x5000, R | W | U).unwrap();
    let mut racing = Racing(mem, 0);
    let cfg = WalkConfig {
        svadu: true,
        ..WalkConfig::default()
    };
    let r = translate(GStageMode::Sv39x4, ROOT, 0x1000, store(), &cfg, &mut racing);
    assert!(matches!(r, Err(WalkError::Contended { .. })), "{r:?}");
    assert_eq!(racing.1, gstage::walk::AD_UPDATE_ATTEMPTS);
}

#[test]
fn cyclic_table_cannot_make_the_walk_loop() {
    for mode in [GStageMode::Sv32x4, GStageMode::Sv39x4, GStageMode::Sv57x4] {
        let mut mem = L1Memory::new(0x100_0000);
        let bytes = mode.scheme().unwrap().width().bytes();
        let w = mode.scheme().unwrap().width();
        // Every root entry points back at the root.
        for i in 0..(16384 / bytes) {
            mem.write(ROOT + i * bytes, w, ((ROOT >> 12) << 10) | 1);
        }
        let r = walk(&mut mem, mode, 0x1234, load(), &WalkConfig::default());
        assert_eq!(fault(r), (21, FaultReason::NoLeaf));
        assert_eq!(mem.reads, mode.scheme().unwrap().levels() as u64);
    }
}

#[test]
fn table_outside_memory_gives_an_access_fault_of_the_original_type() {
    let (mut mem, mut b) = setup(GStageMode::Sv39x4);
    let pointer = b.entry_addr(&mut mem, 0x1000, 1).unwrap();
    mem.write(
        pointer,
        PteWidth::Bits64,
        ((0x4000_0000u64 >> 12) << 10) | 1,
    );
    for (access, cause) in [
        (fetch(), 1),
        (load(), 5),
        (store(), 7),
        (Access::vs_pte(AccessType::Fetch, Implicit::Read), 1),
    ] {
        match walk(
            &mut mem,
            GStageMode::Sv39x4,
            0x1000,
            access,
            &WalkConfig::default(),
        ) {
            Err(WalkError::AccessFault(f)) => {
                assert_eq!((f.cause.code(), f.pte_addr >> 30), (cause, 1))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn sv32x4_uses_4_byte_entries_and_34_bit_addresses() {
    let (mut mem, mut b) = setup(GStageMode::Sv32x4);
    b.map(&mut mem, 0x3_0040_0000, 1, 0x3_ff80_0000, R | X | LEAF)
        .unwrap();
    let t = walk(
        &mut mem,
        GStageMode::Sv32x4,
        0x3_0041_2345,
        fetch(),
        &WalkConfig::default(),
    )
    .unwrap();
    assert_eq!((t.pa, t.size_log2), (0x3_ff81_2345, 22));
}
