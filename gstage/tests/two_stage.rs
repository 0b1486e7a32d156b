//! Two-stage translation (priv spec, hypervisor chapter, "Two-Stage Address Translation"):
//! the VS-stage walk, each of its table accesses through the G-stage, then the final GPA.

mod model;

use gstage::walk::AccessType;
use gstage::{
    FaultReason, GStageMode, Hgatp, Implicit, PteWidth, TwoStageError, VsAccess, VsMode, Vsatp,
    WalkConfig, Xlen, translate_two_stage,
};
use model::{A, D, L1Builder, L1Memory, R, U, W, X};

const G_ROOT: u64 = 0x10000;
/// GPAs [WINDOW, WINDOW + 1 MiB) are mapped 1:1 by the G-stage; VS tables live there.
const WINDOW: u64 = 0x10_0000;
const VS_ROOT: u64 = WINDOW;
const GVA: u64 = 0xffff_ffc0_1234_5000; // a canonical high Sv39 address
const DATA_GPA: u64 = 0x40_0000;
const DATA_SPA: u64 = 0x80_0000;

struct World {
    mem: L1Memory,
    g: L1Builder,
    next_vs_table: u64,
}

impl World {
    /// G-stage (Sv39x4) maps the table window 1:1 with `window_flags` and DATA_GPA -> DATA_SPA
    /// with `data_flags`; the VS-stage (Sv39) maps GVA -> DATA_GPA with `vs_flags`.
    fn new(window_flags: u64, data_flags: u64, vs_flags: u64) -> World {
        let mut w = World {
            mem: L1Memory::new(0x100_0000),
            g: L1Builder::new(GStageMode::Sv39x4, G_ROOT, WINDOW),
            next_vs_table: VS_ROOT + 0x1000,
        };
        for page in (WINDOW..WINDOW + 0x10_0000).step_by(0x1000) {
            w.g.map(&mut w.mem, page, 0, page, window_flags).unwrap();
        }
        w.g.map(&mut w.mem, DATA_GPA, 0, DATA_SPA, data_flags)
            .unwrap();
        w.vs_map(GVA, DATA_GPA, vs_flags);
        w
    }

    /// An Sv39 leaf for `gva` (tables allocated in the window, written at SPA = GPA).
    fn vs_map(&mut self, gva: u64, gpa: u64, flags: u64) -> u64 {
        let mut table = VS_ROOT;
        for level in [2u32, 1] {
            let addr = table + ((gva >> (12 + 9 * level)) & 0x1ff) * 8;
            let pte = self.mem.read(addr, PteWidth::Bits64).unwrap();
            table = if pte & 1 != 0 {
                (pte >> 10) << 12
            } else {
                let t = self.next_vs_table;
                self.next_vs_table += 0x1000;
                self.mem
                    .write(addr, PteWidth::Bits64, ((t >> 12) << 10) | 1);
                t
            };
        }
        let addr = table + ((gva >> 12) & 0x1ff) * 8;
        self.mem
            .write(addr, PteWidth::Bits64, ((gpa >> 12) << 10) | flags | 1);
        addr
    }

    fn run(
        &mut self,
        access: VsAccess,
        vs_config: &WalkConfig,
        g_config: &WalkConfig,
    ) -> Result<u64, TwoStageError> {
        let vsatp = Vsatp {
            mode: VsMode::Sv39,
            asid: 0,
            ppn: VS_ROOT >> 12,
        };
        let hgatp = Hgatp::new(GStageMode::Sv39x4, 1, G_ROOT >> 12);
        translate_two_stage(
            vsatp,
            vs_config,
            hgatp,
            g_config,
            GVA | 0x10,
            access,
            &mut self.mem,
        )
        .map(|t| t.pa)
    }
}

const WINDOW_FLAGS: u64 = R | W | U | A | D;
const DATA_RW: u64 = R | W | U | A | D;

fn vs(kind: AccessType) -> VsAccess {
    VsAccess {
        kind,
        hlvx: false,
        user: false,
        sum: false,
        mxr: false,
        hs_mxr: false,
    }
}

fn cfg() -> WalkConfig {
    WalkConfig::default()
}

fn page_fault(r: Result<u64, TwoStageError>) -> (u64, FaultReason) {
    match r {
        Err(TwoStageError::PageFault { cause, reason }) => (cause, reason),
        other => panic!("expected a page fault, got {other:?}"),
    }
}

#[test]
fn vsatp_decodes_only_defined_modes_at_their_bit_positions() {
    let v = Vsatp::decode(Xlen::Rv64, (9 << 60) | (0xbeef << 44) | 0x123_4567).unwrap();
    assert_eq!(
        v,
        Vsatp {
            mode: VsMode::Sv48,
            asid: 0xbeef,
            ppn: 0x123_4567
        }
    );
    assert_eq!(
        v.encode(Xlen::Rv64),
        (9 << 60) | (0xbeef << 44) | 0x123_4567
    );
    let v32 = Vsatp::decode(Xlen::Rv32, (1 << 31) | (0x1ff << 22) | 0x3f_ffff).unwrap();
    assert_eq!(
        v32,
        Vsatp {
            mode: VsMode::Sv32,
            asid: 0x1ff,
            ppn: 0x3f_ffff
        }
    );
    let defined: Vec<u64> = (0..16)
        .filter(|m| Vsatp::decode(Xlen::Rv64, m << 60).is_ok())
        .collect();
    assert_eq!(defined, [0, 8, 9, 10]);
}

#[test]
fn both_stages_translate_a_load_and_a_store() {
    let mut w = World::new(WINDOW_FLAGS, DATA_RW, R | W | A | D);
    assert_eq!(
        w.run(vs(AccessType::Load), &cfg(), &cfg()),
        Ok(DATA_SPA | 0x10)
    );
    assert_eq!(
        w.run(vs(AccessType::Store), &cfg(), &cfg()),
        Ok(DATA_SPA | 0x10)
    );
}

#[test]
fn bare_stages_are_the_identity() {
    let mut mem = L1Memory::new(0);
    let vsatp = Vsatp {
        mode: VsMode::Bare,
        asid: 0,
        ppn: 0,
    };
    let hgatp = Hgatp::new(GStageMode::Bare, 0, 0);
    let t = translate_two_stage(
        vsatp,
        &cfg(),
        hgatp,
        &cfg(),
        0x8000_1234,
        vs(AccessType::Store),
        &mut mem,
    )
    .unwrap();
    assert_eq!((t.pa, t.gpa), (0x8000_1234, 0x8000_1234));
}

#[test]
fn a_non_canonical_gva_is_a_page_fault() {
    let mut mem = L1Memory::new(0x10_0000);
    let vsatp = Vsatp {
        mode: VsMode::Sv39,
        asid: 0,
        ppn: VS_ROOT >> 12,
    };
    let hgatp = Hgatp::new(GStageMode::Bare, 0, 0);
    let r = translate_two_stage(
        vsatp,
        &cfg(),
        hgatp,
        &cfg(),
        1 << 40,
        vs(AccessType::Load),
        &mut mem,
    )
    .map(|t| t.pa);
    assert_eq!(page_fault(r), (13, FaultReason::AddressOutOfRange));
}

#[test]
fn vu_access_needs_u_and_vs_access_to_u_pages_needs_sum_and_never_fetches() {
    let mut w = World::new(WINDOW_FLAGS, R | W | X | U | A | D, R | X | A);
    let user = VsAccess {
        user: true,
        ..vs(AccessType::Load)
    };
    assert_eq!(
        page_fault(w.run(user, &cfg(), &cfg())),
        (13, FaultReason::NotUser)
    );
    let mut w = World::new(WINDOW_FLAGS, R | W | X | U | A | D, R | X | U | A);
    assert!(w.run(user, &cfg(), &cfg()).is_ok());
    assert_eq!(
        page_fault(w.run(vs(AccessType::Load), &cfg(), &cfg())),
        (13, FaultReason::NotUser)
    );
    assert!(
        w.run(
            VsAccess {
                sum: true,
                ..vs(AccessType::Load)
            },
            &cfg(),
            &cfg()
        )
        .is_ok()
    );
    let fetch = VsAccess {
        sum: true,
        ..vs(AccessType::Fetch)
    };
    assert_eq!(
        page_fault(w.run(fetch, &cfg(), &cfg())),
        (12, FaultReason::NotUser)
    );
}

#[test]
fn vsstatus_mxr_acts_on_the_vs_stage_only_and_hs_mxr_on_both() {
    // Execute-only in both stages.
    let mut w = World::new(WINDOW_FLAGS, X | U | A, X | A);
    let load = vs(AccessType::Load);
    assert_eq!(
        page_fault(w.run(load, &cfg(), &cfg())),
        (13, FaultReason::Permission)
    );
    match w.run(VsAccess { mxr: true, ..load }, &cfg(), &cfg()) {
        Err(TwoStageError::GuestPageFault(f)) => assert_eq!(
            (f.cause.code(), f.implicit, f.gpa),
            (21, None, DATA_GPA | 0x10)
        ),
        other => panic!("vsstatus.MXR must not reach the G-stage: {other:?}"),
    }
    assert!(
        w.run(
            VsAccess {
                hs_mxr: true,
                ..load
            },
            &cfg(),
            &cfg()
        )
        .is_ok()
    );
}

#[test]
fn hlvx_needs_execute_in_both_stages() {
    let mut w = World::new(WINDOW_FLAGS, X | U | A, X | A);
    assert!(
        w.run(
            VsAccess {
                hlvx: true,
                ..vs(AccessType::Load)
            },
            &cfg(),
            &cfg()
        )
        .is_ok()
    );
    let mut w = World::new(WINDOW_FLAGS, R | U | A, X | A);
    match w.run(
        VsAccess {
            hlvx: true,
            ..vs(AccessType::Load)
        },
        &cfg(),
        &cfg(),
    ) {
        Err(TwoStageError::GuestPageFault(f)) => assert_eq!(f.reason, FaultReason::Permission),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_g_stage_fault_on_a_vs_table_read_reports_the_original_cause_and_the_pte_gpa() {
    // The window (VS tables) is not readable in the G-stage.
    let mut w = World::new(X | U | A | D, DATA_RW, R | W | A | D);
    match w.run(vs(AccessType::Store), &cfg(), &cfg()) {
        Err(TwoStageError::GuestPageFault(f)) => {
            let root_entry = VS_ROOT + ((GVA >> 30) & 0x1ff) * 8;
            assert_eq!(
                (f.cause.code(), f.implicit, f.gpa),
                (23, Some(Implicit::Read), root_entry)
            );
            assert_eq!(f.pseudo_instruction(Xlen::Rv64), Some(0x3000));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_g_stage_fault_on_the_final_gpa_is_a_guest_page_fault_of_the_access() {
    let mut w = World::new(WINDOW_FLAGS, R | U | A | D, R | W | A | D);
    match w.run(vs(AccessType::Store), &cfg(), &cfg()) {
        Err(TwoStageError::GuestPageFault(f)) => assert_eq!(
            (f.cause.code(), f.implicit, f.htval()),
            (23, None, (DATA_GPA | 0x10) >> 2)
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn svade_vs_stage_faults_on_a_clear_accessed_bit() {
    let mut w = World::new(WINDOW_FLAGS, DATA_RW, R | W);
    assert_eq!(
        page_fault(w.run(vs(AccessType::Load), &cfg(), &cfg())),
        (13, FaultReason::AccessedClear)
    );
}

#[test]
fn svadu_vs_stage_update_is_an_implicit_store_through_the_g_stage() {
    let adue = WalkConfig {
        svadu: true,
        ..WalkConfig::default()
    };
    let mut w = World::new(WINDOW_FLAGS, DATA_RW, R | W);
    let leaf = w.vs_map(GVA, DATA_GPA, R | W);
    assert!(w.run(vs(AccessType::Store), &adue, &cfg()).is_ok());
    assert_eq!(w.mem.read(leaf, PteWidth::Bits64).unwrap() & (A | D), A | D);
    // The same with VS tables read-only in the G-stage: a guest-page fault for the write.
    let mut w = World::new(R | U | A | D, DATA_RW, R | W);
    match w.run(vs(AccessType::Load), &adue, &cfg()) {
        Err(TwoStageError::GuestPageFault(f)) => {
            assert_eq!((f.cause.code(), f.implicit), (21, Some(Implicit::Write)));
            assert_eq!(f.pseudo_instruction(Xlen::Rv64), Some(0x3020));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_vs_table_outside_memory_is_an_access_fault() {
    let mut w = World::new(WINDOW_FLAGS, DATA_RW, R | W | A | D);
    // Point the G-stage mapping of the VS root page at SPA beyond memory.
    let addr = w.g.entry_addr(&mut w.mem, VS_ROOT, 0).unwrap();
    w.mem.write(
        addr,
        PteWidth::Bits64,
        ((0x4000_0000u64 >> 12) << 10) | WINDOW_FLAGS | 1,
    );
    assert_eq!(
        w.run(vs(AccessType::Fetch), &cfg(), &cfg()),
        Err(TwoStageError::AccessFault { cause: 1 })
    );
}

#[test]
fn sv32_vs_stage_over_sv32x4_uses_4_byte_entries_at_both_stages() {
    let mut mem = L1Memory::new(0x100_0000);
    // G-stage Sv32x4: GPAs [0, 4 MiB) -> SPA [8 MiB, 12 MiB) with one 4 MiB superpage.
    let mut g = L1Builder::new(GStageMode::Sv32x4, G_ROOT, WINDOW);
    g.map(&mut mem, 0, 1, 0x80_0000, R | W | X | U | A | D)
        .unwrap();
    // VS-stage Sv32: root at GPA 0x1000, one 4 MiB megapage for GVA 0xc000_0000 -> GPA 0.
    let root_spa = 0x80_1000;
    let gva = 0xc012_3456u64;
    mem.write(
        root_spa + (gva >> 22) * 4,
        PteWidth::Bits32,
        R | W | A | D | 1,
    );
    let vsatp = Vsatp {
        mode: VsMode::Sv32,
        asid: 0,
        ppn: 1,
    };
    let hgatp = Hgatp::new(GStageMode::Sv32x4, 1, G_ROOT >> 12);
    let t = translate_two_stage(
        vsatp,
        &cfg(),
        hgatp,
        &cfg(),
        gva,
        vs(AccessType::Store),
        &mut mem,
    )
    .unwrap();
    assert_eq!((t.gpa, t.pa), (0x12_3456, 0x80_0000 + 0x12_3456));
    // Addresses above 32 bits do not exist in Sv32.
    let r = translate_two_stage(
        vsatp,
        &cfg(),
        hgatp,
        &cfg(),
        1 << 32,
        vs(AccessType::Load),
        &mut mem,
    )
    .map(|t| t.pa);
    assert_eq!(page_fault(r), (13, FaultReason::AddressOutOfRange));
}
