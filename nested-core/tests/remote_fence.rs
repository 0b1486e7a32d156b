//! The remote-fence mailbox: posting, draining, tickets, escalation, and a fence from one
//! hart reaching another hart's shadow G-stage.

#![cfg(not(loom))]

use gstage::walk::AccessType;
use gstage::{ShadowConfig, SupportedModes, WalkConfig};
use nested_core::csr::number::HGATP;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{Fence, SoftHost, Tables, same};
use nested_core::{
    Drained, FenceMailbox, GuestRegs, NestedConfig, NestedHart, RemoteFence, Trap, VirtualMode,
    cause,
};

const ALL: RemoteFence = RemoteFence::Gvma {
    vmid: None,
    range: None,
};

fn gvma(vmid: u16) -> RemoteFence {
    RemoteFence::Gvma {
        vmid: Some(vmid),
        range: None,
    }
}

#[test]
fn a_hart_not_running_l2_completes_a_posted_fence_at_once_and_drains_it_before_entering() {
    let mailbox: FenceMailbox<4> = FenceMailbox::new();
    let (ticket, kick) = mailbox.post(gvma(3));
    assert!(!kick, "no IPI for a hart outside L2");
    assert!(mailbox.is_done(ticket));
    let (drained, upto) = mailbox.enter_guest();
    assert_eq!(drained, Drained::Fences([gvma(3)].into_iter().collect()));
    mailbox.applied(upto);
    assert!(mailbox.is_done(ticket));
}

#[test]
fn a_fence_for_a_hart_in_l2_needs_a_kick_and_completes_only_once_applied() {
    let mailbox: FenceMailbox<4> = FenceMailbox::new();
    let (_, upto) = mailbox.enter_guest();
    mailbox.applied(upto);
    let (ticket, kick) = mailbox.post(gvma(1));
    assert!(kick, "the hart runs L2: it must be made to exit");
    assert!(!mailbox.is_done(ticket));
    mailbox.exit_guest();
    assert!(
        mailbox.is_done(ticket),
        "outside L2 it cannot use the stale entries"
    );
    let (drained, upto) = mailbox.enter_guest();
    assert!(!mailbox.is_done(ticket), "back in L2 before applying");
    assert_eq!(drained, Drained::Fences([gvma(1)].into_iter().collect()));
    mailbox.applied(upto);
    assert!(mailbox.is_done(ticket));
}

#[test]
fn a_full_mailbox_escalates_to_everything_and_loses_no_fence() {
    let mailbox: FenceMailbox<2> = FenceMailbox::new();
    for vmid in 0..3 {
        mailbox.post(gvma(vmid));
    }
    assert_eq!(mailbox.enter_guest().0, Drained::Everything);
    assert_eq!(
        mailbox.enter_guest().0,
        Drained::Fences(Default::default()),
        "escalation is consumed once"
    );
}

/// L1's G-stage (VMID 1) mapping L2 GPA 0x1000, filled into this hart's shadow.
fn hart_with_a_filled_shadow() -> (NestedHart<2>, Box<SoftHost>) {
    let shadow = ShadowConfig {
        l1_walk: WalkConfig::default(),
        host_svvptc: false,
        first_vmid: 20,
        shadow_modes: SupportedModes {
            sv32x4: false,
            sv39x4: true,
            sv48x4: true,
            sv57x4: false,
        },
    };
    let mut hart = NestedHart::new(NestedConfig::rv64(), shadow, 0);
    let mut host = Box::new(SoftHost::new());
    host.cpu.write_csr(real::VSTVEC, 0x8040_0000);
    Tables { next: 0x8000_8000 }.map(
        &mut host.memory,
        0x8000_4000,
        11,
        0x1000,
        0x8000_f000,
        R | W | U | A | D,
        same,
        same,
    );
    let mut regs = GuestRegs {
        x: [0; 32],
        pc: 0x8020_0000,
    };
    regs.x[31] = 8 << 60 | 1 << 44 | 0x8_0004;
    let write_hgatp = u32::from(HGATP) << 20 | 31 << 15 | 1 << 12 | 0x73;
    hart.emulate(
        &Trap {
            cause: cause::VIRTUAL_INSTRUCTION,
            tval: write_hgatp.into(),
            mode: VirtualMode::Hypervisor,
        },
        &mut regs,
        &mut *host,
    );
    hart.shadow_fault(0x1000, AccessType::Load, &mut *host)
        .expect("filled");
    host.cpu.fences.clear();
    (hart, host)
}

#[test]
fn a_fence_posted_by_another_hart_empties_the_shadow_before_l2_runs_again() {
    let (mut hart, mut host) = hart_with_a_filled_shadow();
    let key = hart.current_context();
    let mailbox: FenceMailbox<4> = FenceMailbox::new();
    mailbox.post(gvma(1));
    hart.sync_remote_fences(&mailbox, &mut *host);
    assert!(hart.shadow().lookup(key, 0x1000, &host.pool).is_none());
    assert!(
        host.cpu
            .fences
            .iter()
            .any(|f| matches!(f, Fence::Gvma(Some(20), _))),
        "{:?}",
        host.cpu.fences
    );
}

#[test]
fn a_fence_of_another_vmid_leaves_the_shadow_alone() {
    let (mut hart, mut host) = hart_with_a_filled_shadow();
    let key = hart.current_context();
    let mailbox: FenceMailbox<4> = FenceMailbox::new();
    mailbox.post(gvma(2));
    hart.sync_remote_fences(&mailbox, &mut *host);
    assert!(hart.shadow().lookup(key, 0x1000, &host.pool).is_some());
}

#[test]
fn an_escalated_mailbox_flushes_every_shadow_and_every_vs_stage() {
    let (mut hart, mut host) = hart_with_a_filled_shadow();
    let key = hart.current_context();
    let mailbox: FenceMailbox<1> = FenceMailbox::new();
    mailbox.post(gvma(7));
    mailbox.post(ALL);
    hart.sync_remote_fences(&mailbox, &mut *host);
    assert!(hart.shadow().lookup(key, 0x1000, &host.pool).is_none());
    assert!(
        host.cpu.fences.contains(&Fence::Vvma(20, None, None)),
        "{:?}",
        host.cpu.fences
    );
}

#[test]
fn a_large_vvma_range_is_fenced_whole_and_a_small_one_page_by_page() {
    let (mut hart, mut host) = hart_with_a_filled_shadow();
    let mailbox: FenceMailbox<4> = FenceMailbox::new();
    mailbox.post(RemoteFence::Vvma {
        vmid: 1,
        asid: Some(3),
        range: Some((0x4000_0800, 0x1000)),
    });
    mailbox.post(RemoteFence::Vvma {
        vmid: 1,
        asid: None,
        range: Some((0, 1 << 40)),
    });
    hart.sync_remote_fences(&mailbox, &mut *host);
    let expected = [
        Fence::Vvma(20, Some(3), Some(0x4000_0000)),
        Fence::Vvma(20, Some(3), Some(0x4000_1000)),
        Fence::Vvma(20, None, None),
    ];
    assert_eq!(host.cpu.fences.as_slice(), &expected);
}
