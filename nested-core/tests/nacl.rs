//! The NACL provider through the SBI dispatcher: set_shmem, sync_csr, sync_hfence and
//! sync_sret on L1's shared memory in its guest memory, written on L1's side with
//! `nacl-shmem`'s consumer, and the cost of a round trip with NACL.

use gstage::walk::AccessType;
use nacl_shmem::hfence::HfenceRequest;
use nacl_shmem::{ByteShmem, Consumer, Xlen};
use nested_core::csr::bits::*;
use nested_core::csr::number::*;
use nested_core::host::{GuestMemory, PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{SoftHost, Tables, same, shadow_config};
use nested_core::{
    GuestRegs, GuestTrap, NaclProvider, NestedConfig, NestedHart, Trap, VirtualMode, World, cause,
};
use sbi_dispatch::{Departure, Dispatcher, Outcome, SbiCall, SbiError, Xlen as SbiXlen};

mod nacl_host;
use nacl_host::{Hart, NACL, Sbi};

const SHMEM: u64 = 0x8000_c000;
const G_ROOT: u64 = 0x8000_4000;

fn setup() -> (Sbi, Hart) {
    setup_with(8, shadow_config(30))
}

/// L1 with its hgatp in `mode` (8 Sv39x4, 9 Sv48x4) over a host with `shadow`.
fn setup_with(mode: u64, shadow: gstage::ShadowConfig) -> (Sbi, Hart) {
    let mut host = Box::new(SoftHost::new());
    host.cpu.write_csr(real::VSTVEC, 0x8030_0000);
    host.cpu.write_csr(real::VSEPC, 0x1000); // where L1's SRET sends L2
    host.cpu.write_csr(real::VSSTATUS, SSTATUS_SPP);
    Tables { next: 0x8000_8000 }.map(
        &mut host.memory,
        G_ROOT,
        11,
        0x1000,
        0x8000_f000,
        R | W | U | A | D,
        same,
        same,
    );
    let mut hart = Hart {
        nested: NestedHart::new(NestedConfig::rv64(), shadow, 0),
        host,
        regs: GuestRegs::default(),
    };
    hart.regs.x[31] = mode << 60 | 1 << 44 | G_ROOT >> 12;
    let write_hgatp = u32::from(HGATP) << 20 | 31 << 15 | 1 << 12 | 0x73;
    let trap = Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: write_hgatp.into(),
        mode: VirtualMode::Hypervisor,
    };
    hart.nested.emulate(&trap, &mut hart.regs, &mut *hart.host);
    (
        Dispatcher::new(sbi_dispatch::testing::platform(1)).with_nacl(NaclProvider),
        hart,
    )
}

fn call(sbi: &mut Sbi, hart: &mut Hart, fid: u64, a0: u64) -> Outcome {
    sbi.dispatch(
        hart,
        &SbiCall::new(NACL, fid, [a0, 0, 0, 0, 0, 0], SbiXlen::Rv64),
    )
}

/// Runs `f` as L1 would on its shared memory (copied out of the model and back).
fn as_l1(hart: &mut Hart, f: impl FnOnce(&mut Consumer<ByteShmem<'_>>)) {
    let mut bytes = vec![0; 0x3000];
    hart.host.memory.read(SHMEM, &mut bytes).unwrap();
    {
        let mut consumer = Consumer::new(ByteShmem::new(&mut bytes, Xlen::Rv64).unwrap());
        f(&mut consumer);
    }
    hart.host.memory.write(SHMEM, &bytes).unwrap();
}

fn slot(hart: &mut Hart, csr: u16) -> u64 {
    let mut value = 0;
    as_l1(hart, |l1| value = l1.csr_read(csr).unwrap());
    value
}

const OK: Outcome = Outcome::Return(Ok(0));

#[test]
fn every_feature_is_offered_with_nacl() {
    let (mut sbi, mut hart) = setup();
    for feature in 0..4 {
        assert_eq!(
            call(&mut sbi, &mut hart, 0, feature),
            Outcome::Return(Ok(1))
        );
    }
}

#[test]
fn set_shmem_outside_l1_memory_is_invalid_address() {
    let (mut sbi, mut hart) = setup();
    assert_eq!(
        call(&mut sbi, &mut hart, 1, 0x9000_0000),
        Outcome::Return(Err(SbiError::InvalidAddress))
    );
    assert_eq!(
        call(&mut sbi, &mut hart, 1, 0x8000_f000),
        Outcome::Return(Err(SbiError::InvalidAddress)),
        "runs past the end"
    );
}

#[test]
fn set_shmem_writes_every_csr_into_its_slot_and_drops_stale_dirty_bits() {
    let (mut sbi, mut hart) = setup();
    as_l1(&mut hart, |l1| l1.csr_write(HSTATUS, HSTATUS_SPV).unwrap()); // stale: dirty before set_shmem
    assert_eq!(call(&mut sbi, &mut hart, 1, SHMEM), OK);
    assert_eq!(slot(&mut hart, HGATP), 8 << 60 | 1 << 44 | G_ROOT >> 12);
    assert_eq!(
        slot(&mut hart, HSTATUS),
        2 << 32,
        "the real value, not the stale one"
    );
    assert_eq!(call(&mut sbi, &mut hart, 2, u64::MAX), OK);
    assert_eq!(
        hart.nested.csrs().read(HSTATUS, 0),
        Ok(2 << 32),
        "the stale dirty bit was not applied"
    );
}

#[test]
fn sync_csr_applies_a_dirty_write_through_the_warl_rules_and_writes_it_back() {
    let (mut sbi, mut hart) = setup();
    call(&mut sbi, &mut hart, 1, SHMEM);
    as_l1(&mut hart, |l1| {
        l1.csr_write(HGATP, 10 << 60 | 2 << 44).unwrap()
    }); // Sv57x4: not offered
    assert_eq!(call(&mut sbi, &mut hart, 2, u64::from(HGATP)), OK);
    assert_eq!(
        hart.nested.csrs().read(HGATP, 0),
        Ok(8 << 60 | 2 << 44),
        "MODE kept, VMID written"
    );
    assert_eq!(
        slot(&mut hart, HGATP),
        8 << 60 | 2 << 44,
        "the legal value is written back"
    );
}

#[test]
fn sync_csr_of_a_csr_the_engine_does_not_implement_is_invalid_param_and_without_shmem_no_shmem() {
    let (mut sbi, mut hart) = setup();
    assert_eq!(
        call(&mut sbi, &mut hart, 2, u64::MAX),
        Outcome::Return(Err(SbiError::NoShmem))
    );
    assert_eq!(
        call(&mut sbi, &mut hart, 3, u64::MAX),
        Outcome::Return(Err(SbiError::NoShmem))
    );
    assert_eq!(
        call(&mut sbi, &mut hart, 4, 0),
        Outcome::Return(Err(SbiError::NoShmem))
    );
    call(&mut sbi, &mut hart, 1, SHMEM);
    assert_eq!(
        call(&mut sbi, &mut hart, 2, u64::from(HVICTL)),
        Outcome::Return(Err(SbiError::InvalidParam))
    );
}

#[test]
fn sync_hfence_performs_a_queued_fence_on_the_shadow_and_clears_it() {
    let (mut sbi, mut hart) = setup();
    call(&mut sbi, &mut hart, 1, SHMEM);
    hart.nested
        .shadow_fault(
            0x1000,
            gstage::Access::explicit(AccessType::Load),
            &mut *hart.host,
        )
        .expect("filled");
    let key = hart.nested.current_context();
    as_l1(&mut hart, |l1| {
        l1.queue_hfence(&HfenceRequest::GvmaVmidAll { vmid: 1 }, || Ok(()))
            .unwrap();
    });
    assert_eq!(call(&mut sbi, &mut hart, 3, u64::MAX), OK);
    assert!(
        hart.nested
            .shadow()
            .lookup(key, 0x1000, &hart.host.pool)
            .is_none()
    );
    let mut again = 0;
    as_l1(&mut hart, |l1| {
        again = l1.queue_hfence(&HfenceRequest::GvmaAll, || Ok(())).unwrap()
    });
    assert_eq!(
        again, 0,
        "entry 0 is free again: its pending bit was cleared"
    );
}

#[test]
fn sync_sret_enters_l2_with_the_sret_areas_registers_and_a_round_trip_costs_two_host_entries() {
    let (mut sbi, mut hart) = setup();
    call(&mut sbi, &mut hart, 1, SHMEM);
    let (l1_before, l2_before) = (
        hart.nested.counters().total_entries(World::L1),
        hart.nested.counters().total_entries(World::L2),
    );
    as_l1(&mut hart, |l1| {
        l1.csr_write(HSTATUS, HSTATUS_SPV).unwrap();
        l1.csr_write(VSSCRATCH, 0x5151).unwrap();
        let mut gprs = [0; 32];
        gprs[10] = 0xa0;
        gprs[31] = 0x31;
        l1.set_sret_gprs(&gprs).unwrap();
    });
    assert_eq!(
        call(&mut sbi, &mut hart, 4, 0),
        Outcome::Departed(Departure::EnteredGuest)
    );
    assert!(hart.nested.in_guest());
    assert_eq!(
        (hart.regs.pc, hart.regs.x[10], hart.regs.x[31]),
        (0x1000, 0xa0, 0x31)
    );
    assert_eq!(
        hart.host.cpu.read_csr(real::VSSCRATCH),
        0x5151,
        "the batched write reached L2's state"
    );
    let ecall = GuestTrap {
        code: 10,
        interrupt: false,
        tval: 0,
        htval: 0,
        htinst: 0,
        gva: false,
        supervisor: true,
    };
    hart.nested
        .handle_guest_trap(&ecall, &mut hart.regs, &mut *hart.host);
    let counters = hart.nested.counters();
    assert_eq!(
        counters.total_entries(World::L1) - l1_before,
        1,
        "sync_sret only"
    );
    assert_eq!(
        counters.total_entries(World::L2) - l2_before,
        1,
        "L2's exit"
    );
    assert_eq!(
        slot(&mut hart, HSTATUS) & (HSTATUS_SPV | HSTATUS_SPVP),
        HSTATUS_SPV | HSTATUS_SPVP,
        "slots refreshed after the exit"
    );
}

/// L2's ecall, as the hardware reports it to the host.
const L2_ECALL: GuestTrap = GuestTrap {
    code: 10,
    interrupt: false,
    tval: 0,
    htval: 0,
    htinst: 0,
    gva: false,
    supervisor: true,
};

#[test]
fn autoswap_swaps_hstatus_again_when_l2_exits_to_l1() {
    let (mut sbi, mut hart) = setup();
    assert_eq!(call(&mut sbi, &mut hart, 1, SHMEM), OK);
    let own = HSTATUS_VTW | 2 << 32;
    as_l1(&mut hart, |l1| {
        l1.csr_write(HSTATUS, own).unwrap();
        l1.arm_autoswap_hstatus(HSTATUS_SPV | 2 << 32).unwrap();
    });
    assert_eq!(
        call(&mut sbi, &mut hart, 4, 0),
        Outcome::Departed(Departure::EnteredGuest)
    );
    hart.nested
        .handle_guest_trap(&L2_ECALL, &mut hart.regs, &mut *hart.host);
    // L1 has its own hstatus back, in the CSR and its slot; the autoswap word holds the
    // guest's, as the trap left it (SPV, SPVP: from L2's VS-mode).
    let hstatus = hart.nested.read_csr(HSTATUS, &mut *hart.host).unwrap();
    assert_eq!(hstatus, own);
    assert_eq!(slot(&mut hart, HSTATUS), own);
    let mut guest = 0;
    as_l1(&mut hart, |l1| {
        guest = l1.disarm_autoswap_hstatus().unwrap()
    });
    assert_eq!(
        guest & (HSTATUS_SPV | HSTATUS_SPVP),
        HSTATUS_SPV | HSTATUS_SPVP
    );
}

#[test]
fn a_sync_sret_without_a_shadow_fails_and_leaves_l1_as_it_was() {
    let mut shadow = shadow_config(30);
    shadow.shadow_modes.sv48x4 = false; // L1's Sv48x4 below has no shadow mode to run in
    let (mut sbi, mut hart) = setup_with(9, shadow);
    assert_eq!(call(&mut sbi, &mut hart, 1, SHMEM), OK);
    hart.regs.x[17] = NACL;
    hart.regs.pc = 0x7000;
    let own = HSTATUS_VTW | 2 << 32;
    as_l1(&mut hart, |l1| {
        l1.csr_write(HSTATUS, own).unwrap();
        let mut gprs = [0; 32];
        gprs[17] = 0x1234;
        l1.set_sret_gprs(&gprs).unwrap();
        l1.arm_autoswap_hstatus(HSTATUS_SPV | 2 << 32).unwrap();
    });
    assert_eq!(
        call(&mut sbi, &mut hart, 4, 0),
        Outcome::Return(Err(SbiError::Failed))
    );
    assert!(!hart.nested.in_guest());
    assert_eq!((hart.regs.x[17], hart.regs.pc), (NACL, 0x7000));
    assert_eq!(hart.nested.read_csr(HSTATUS, &mut *hart.host), Ok(own));
    let mut word = 0;
    as_l1(&mut hart, |l1| word = l1.disarm_autoswap_hstatus().unwrap());
    assert_eq!(word, HSTATUS_SPV | 2 << 32);
}

#[test]
fn hip_vstip_compares_vstimecmp_with_l1s_time_not_the_hosts() {
    let (mut sbi, mut hart) = setup();
    assert_eq!(call(&mut sbi, &mut hart, 1, SHMEM), OK);
    // L1's time = the host's (500) + the host's htimedelta for L1 (1000) = 1500.
    hart.host.cpu.write_csr(real::HTIMEDELTA, 1000);
    hart.host.cpu.write_csr(real::TIME, 500);
    as_l1(&mut hart, |l1| {
        l1.csr_write(HENVCFG, HENVCFG_STCE).unwrap();
        l1.csr_write(VSTIMECMP, 1200).unwrap();
    });
    assert_eq!(call(&mut sbi, &mut hart, 2, u64::MAX), OK);
    let hip = hart.nested.read_csr(HIP, &mut *hart.host).unwrap();
    assert_eq!(hip & VSTIP, VSTIP);
    assert_eq!(slot(&mut hart, HIP) & VSTIP, VSTIP);
}

#[test]
fn a_trapped_csr_write_updates_its_slot_and_drops_a_stale_dirty_bit() {
    let (mut sbi, mut hart) = setup();
    assert_eq!(call(&mut sbi, &mut hart, 1, SHMEM), OK);
    // L1 writes vsscratch = 1 in the shared memory (dirty, not synced), then traps on
    // csrw vsscratch, t0 with t0 = 2.
    as_l1(&mut hart, |l1| l1.csr_write(VSSCRATCH, 1).unwrap());
    hart.regs.x[5] = 2;
    let csrw = u32::from(VSSCRATCH) << 20 | 5 << 15 | 1 << 12 | 0x73;
    let trap = Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: csrw.into(),
        mode: VirtualMode::Hypervisor,
    };
    hart.nested.emulate(&trap, &mut hart.regs, &mut *hart.host);
    assert_eq!(slot(&mut hart, VSSCRATCH), 2);
    assert_eq!(call(&mut sbi, &mut hart, 2, u64::MAX), OK);
    assert_eq!(hart.nested.read_csr(VSSCRATCH, &mut *hart.host), Ok(2));
}

#[test]
fn sync_csr_of_one_csr_refreshes_the_clean_slots_of_its_aliases_and_keeps_dirty_ones() {
    let (mut sbi, mut hart) = setup();
    assert_eq!(call(&mut sbi, &mut hart, 1, SHMEM), OK);
    // hvip.VSSIP is hip.VSSIP; vsscratch is pending and unrelated.
    as_l1(&mut hart, |l1| {
        l1.csr_write(HVIP, VSSIP).unwrap();
        l1.csr_write(VSSCRATCH, 0x4444).unwrap();
    });
    assert_eq!(call(&mut sbi, &mut hart, 2, u64::from(HVIP)), OK);
    assert_eq!(slot(&mut hart, HVIP), VSSIP);
    assert_eq!(slot(&mut hart, HIP) & VSSIP, VSSIP, "the alias's slot");
    assert_eq!(
        slot(&mut hart, VSSCRATCH),
        0x4444,
        "still L1's pending write"
    );
    assert_eq!(hart.nested.read_csr(VSSCRATCH, &mut *hart.host), Ok(0));
    assert_eq!(call(&mut sbi, &mut hart, 2, u64::MAX), OK);
    assert_eq!(hart.nested.read_csr(VSSCRATCH, &mut *hart.host), Ok(0x4444));
}
