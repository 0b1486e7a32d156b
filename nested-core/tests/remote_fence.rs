//! The remote-fence mailbox: posting, draining, tickets, escalation, and a fence from one
//! hart reaching another hart's shadow G-stage.

#![cfg(not(loom))]

use gstage::walk::AccessType;
use nested_core::csr::number::HGATP;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{Fence, SoftHost, Tables, same, shadow_config};
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
    let shadow = shadow_config(20);
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
    hart.shadow_fault(
        0x1000,
        gstage::Access::explicit(AccessType::Load),
        &mut *host,
    )
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

/// Hart 0's SBI context: its engine and host, every hart's mailbox, and what it asked the
/// host to do (IPIs, a parked call).
struct Hart0 {
    nested: NestedHart<2>,
    host: Box<SoftHost>,
    regs: GuestRegs,
    mailboxes: [FenceMailbox<4>; 2],
    kicked: Vec<u32>,
    parked: Option<nested_core::PendingFences>,
}

impl nested_core::NestedContext<2> for Hart0 {
    type Host = SoftHost;
    fn nested(&mut self) -> (&mut NestedHart<2>, &mut SoftHost, &mut GuestRegs) {
        (&mut self.nested, &mut *self.host, &mut self.regs)
    }
}

impl nested_core::RfenceContext<2, 4> for Hart0 {
    fn hart_id(&self) -> u32 {
        0
    }
    fn mailboxes(&self) -> &[FenceMailbox<4>] {
        &self.mailboxes
    }
    fn kick(&mut self, hart: u32) {
        self.kicked.push(hart);
    }
    fn park(&mut self, pending: nested_core::PendingFences) {
        self.parked = Some(pending);
    }
}

fn two_harts() -> (Hart0, NestedHart<2>, Box<SoftHost>) {
    let (nested, host) = hart_with_a_filled_shadow();
    let (other, other_host) = hart_with_a_filled_shadow();
    let hart0 = Hart0 {
        nested,
        host,
        regs: GuestRegs::default(),
        mailboxes: [FenceMailbox::new(), FenceMailbox::new()],
        kicked: Vec::new(),
        parked: None,
    };
    (hart0, other, other_host)
}

/// remote_hfence_gvma_vmid(harts {0, 1}, everything, VMID 1) through the dispatcher.
fn rfence_gvma_vmid_1(
    sbi: &mut sbi_dispatch::Dispatcher<
        Hart0,
        sbi_dispatch::Absent,
        sbi_dispatch::Absent,
        sbi_dispatch::Absent,
        nested_core::RemoteHfenceProvider<2, 4>,
    >,
    hart0: &mut Hart0,
) -> sbi_dispatch::Outcome {
    let call = sbi_dispatch::SbiCall::new(
        0x5246_4e43,
        3,
        [0b11, 0, 0, 0, 1, 0],
        sbi_dispatch::Xlen::Rv64,
    );
    sbi.dispatch(hart0, &call)
}

#[test]
fn a_remote_hfence_to_a_hart_outside_l2_fences_the_caller_at_once_and_completes() {
    let (mut hart0, _, _) = two_harts();
    let mut sbi = sbi_dispatch::Dispatcher::new(sbi_dispatch::testing::platform(2))
        .with_remote_hfence(nested_core::RemoteHfenceProvider::<2, 4>);
    let key = hart0.nested.current_context();
    assert_eq!(
        rfence_gvma_vmid_1(&mut sbi, &mut hart0),
        sbi_dispatch::Outcome::Return(Ok(0))
    );
    assert!(
        hart0
            .nested
            .shadow()
            .lookup(key, 0x1000, &hart0.host.pool)
            .is_none(),
        "the caller fenced itself"
    );
    assert!(hart0.kicked.is_empty());
    assert_eq!(
        hart0.mailboxes[1].enter_guest().0,
        Drained::Fences([gvma(1)].into_iter().collect()),
        "hart 1 gets it before L2"
    );
}

#[test]
fn a_remote_hfence_to_a_hart_running_l2_kicks_it_and_completes_only_after_it_applied_the_fence() {
    let (mut hart0, mut hart1, mut host1) = two_harts();
    let mut sbi = sbi_dispatch::Dispatcher::new(sbi_dispatch::testing::platform(2))
        .with_remote_hfence(nested_core::RemoteHfenceProvider::<2, 4>);
    hart1.sync_remote_fences(&hart0.mailboxes[1], &mut *host1); // hart 1 runs L2
    assert_eq!(
        rfence_gvma_vmid_1(&mut sbi, &mut hart0),
        sbi_dispatch::Outcome::Deferred
    );
    assert_eq!(hart0.kicked, [1]);
    let pending = hart0.parked.clone().expect("the call is parked");
    assert!(!pending.is_done(&hart0.mailboxes));
    // Hart 1 takes the IPI, leaves L2, and applies its mailbox before running L2 again.
    hart0.mailboxes[1].exit_guest();
    let key = hart1.current_context();
    hart1.sync_remote_fences(&hart0.mailboxes[1], &mut *host1);
    assert!(
        hart1.shadow().lookup(key, 0x1000, &host1.pool).is_none(),
        "hart 1's stale shadow is gone"
    );
    assert!(pending.is_done(&hart0.mailboxes));
}
