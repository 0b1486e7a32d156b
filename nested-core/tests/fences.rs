//! HFENCE.GVMA and HFENCE.VVMA from L1: the shadow leaves they remove, the contexts they
//! leave alone, and the real fences under the shadow VMIDs.

use gstage::ContextKey;
use gstage::walk::AccessType;
use nested_core::csr::number::HGATP;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{Fence, SoftHost, shadow_config};
use nested_core::testing::{Tables, same};
use nested_core::{Event, GuestRegs, NestedConfig, NestedHart, Trap, VirtualMode, cause};

/// Two G-stages of L1 (VMIDs 1 and 2), each mapping L2 GPAs 0x1000 and 0x2000.
const ROOT_1: u64 = 0x8000_4000;
const ROOT_2: u64 = 0x8000_8000;

struct Setup {
    hart: NestedHart<4>,
    regs: GuestRegs,
    host: Box<SoftHost>,
}

fn hgatp(vmid: u64, root: u64) -> u64 {
    8 << 60 | vmid << 44 | root >> 12
}

impl Setup {
    fn new() -> Self {
        let shadow = shadow_config(10);
        let mut host = Box::new(SoftHost::new());
        host.cpu.write_csr(real::VSTVEC, 0x8030_0000);
        let mut tables = Tables { next: 0x8000_c000 };
        for root in [ROOT_1, ROOT_2] {
            for gpa in [0x1000, 0x2000] {
                tables.map(
                    &mut host.memory,
                    root,
                    11,
                    gpa,
                    0x8000_f000,
                    R | W | U | A | D,
                    same,
                    same,
                );
            }
        }
        let mut s = Setup {
            hart: NestedHart::new(NestedConfig::rv64(), shadow, 0),
            regs: GuestRegs::default(),
            host,
        };
        for (vmid, root) in [(1, ROOT_1), (2, ROOT_2)] {
            s.csr_write(HGATP, hgatp(vmid, root));
            for gpa in [0x1000, 0x2000] {
                s.hart
                    .shadow_fault(
                        gpa,
                        gstage::Access::explicit(AccessType::Load),
                        &mut *s.host,
                    )
                    .expect("the fill succeeds");
            }
        }
        s.host.cpu.fences.clear();
        s
    }

    fn run(&mut self, bits: u32) {
        let trap = Trap {
            cause: cause::VIRTUAL_INSTRUCTION,
            tval: u64::from(bits),
            mode: VirtualMode::Hypervisor,
        };
        self.hart.emulate(&trap, &mut self.regs, &mut *self.host);
    }

    fn csr_write(&mut self, csr: u16, value: u64) {
        self.regs.x[31] = value;
        self.run(u32::from(csr) << 20 | 31 << 15 | 1 << 12 | 0x73);
    }

    fn mapped(&self, vmid: u64, root: u64, gpa: u64) -> bool {
        let key = ContextKey::from_hgatp(
            gstage::Hgatp::decode(gstage::Xlen::Rv64, hgatp(vmid, root)).unwrap(),
        );
        self.hart
            .shadow()
            .lookup(key, gpa, &self.host.pool)
            .is_some()
    }

    fn shadow_vmid(&self, vmid: u64, root: u64) -> u16 {
        let key = ContextKey::from_hgatp(
            gstage::Hgatp::decode(gstage::Xlen::Rv64, hgatp(vmid, root)).unwrap(),
        );
        self.hart.shadow().hgatp(key).unwrap().vmid()
    }
}

/// hfence.gvma rs1, rs2 and hfence.vvma rs1, rs2.
fn hfence_gvma(rs1: u32, rs2: u32) -> u32 {
    0b011_0001 << 25 | rs2 << 20 | rs1 << 15 | 0x73
}
fn hfence_vvma(rs1: u32, rs2: u32) -> u32 {
    0b001_0001 << 25 | rs2 << 20 | rs1 << 15 | 0x73
}

#[test]
fn the_fills_under_test_are_in_place() {
    let s = Setup::new();
    for (vmid, root) in [(1, ROOT_1), (2, ROOT_2)] {
        assert!(s.mapped(vmid, root, 0x1000) && s.mapped(vmid, root, 0x2000));
    }
    assert_ne!(s.shadow_vmid(1, ROOT_1), s.shadow_vmid(2, ROOT_2));
}

#[test]
fn hfence_gvma_by_vmid_leaves_other_contexts_intact() {
    let mut s = Setup::new();
    s.regs.x[5] = 1;
    s.run(hfence_gvma(0, 5));
    assert!(
        !s.mapped(1, ROOT_1, 0x1000) && !s.mapped(1, ROOT_1, 0x2000),
        "VMID 1 emptied"
    );
    assert!(
        s.mapped(2, ROOT_2, 0x1000) && s.mapped(2, ROOT_2, 0x2000),
        "VMID 2 intact"
    );
    let shadow_1 = s.shadow_vmid(1, ROOT_1);
    assert!(!s.host.cpu.fences.is_empty());
    assert!(
        s.host
            .cpu
            .fences
            .iter()
            .all(|f| matches!(f, Fence::Gvma(Some(v), _) if *v == shadow_1)),
        "{:?}",
        s.host.cpu.fences
    );
    assert_eq!(s.hart.counters().get(Event::HfenceGvma), 1);
}

#[test]
fn hfence_gvma_by_address_drops_that_leaf_in_every_vmid_and_nothing_else() {
    let mut s = Setup::new();
    s.regs.x[6] = 0x1000 >> 2;
    s.run(hfence_gvma(6, 0));
    for (vmid, root) in [(1, ROOT_1), (2, ROOT_2)] {
        assert!(!s.mapped(vmid, root, 0x1000), "VMID {vmid}: 0x1000 gone");
        assert!(s.mapped(vmid, root, 0x2000), "VMID {vmid}: 0x2000 kept");
    }
    let fenced: Vec<_> = s.host.cpu.fences.iter().copied().collect();
    assert!(
        fenced.contains(&Fence::Gvma(Some(s.shadow_vmid(1, ROOT_1)), Some(0x1000))),
        "{fenced:?}"
    );
    assert!(
        fenced.contains(&Fence::Gvma(Some(s.shadow_vmid(2, ROOT_2)), Some(0x1000))),
        "{fenced:?}"
    );
}

#[test]
fn hfence_gvma_of_everything_empties_every_context() {
    let mut s = Setup::new();
    s.run(hfence_gvma(0, 0));
    for (vmid, root) in [(1, ROOT_1), (2, ROOT_2)] {
        assert!(!s.mapped(vmid, root, 0x1000) && !s.mapped(vmid, root, 0x2000));
    }
}

#[test]
fn a_fill_after_a_fence_walks_l1s_tables_again() {
    let mut s = Setup::new();
    s.run(hfence_gvma(0, 0));
    s.csr_write(HGATP, hgatp(1, ROOT_1));
    assert!(
        s.hart
            .shadow_fault(
                0x1000,
                gstage::Access::explicit(AccessType::Store),
                &mut *s.host
            )
            .is_ok()
    );
    assert!(s.mapped(1, ROOT_1, 0x1000));
}

#[test]
fn hfence_vvma_fences_the_shadow_vmids_of_l1s_current_vmid_only() {
    let mut s = Setup::new(); // hgatp is VMID 2 after set-up
    s.regs.x[7] = 0x4000_0000;
    s.regs.x[8] = 3;
    s.run(hfence_vvma(7, 8));
    let expected = Fence::Vvma(s.shadow_vmid(2, ROOT_2), Some(3), Some(0x4000_0000));
    assert_eq!(s.host.cpu.fences.as_slice(), &[expected]);
    assert!(
        s.mapped(1, ROOT_1, 0x1000) && s.mapped(2, ROOT_2, 0x1000),
        "no G-stage leaf removed"
    );
}
