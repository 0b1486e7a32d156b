//! loom models of the remote-fence handshake: a sender posting a fence while the target hart
//! enters L2. Whatever the interleaving, once the sender sees its ticket done, the target
//! cannot run L2 over the stale shadow entry.
//!
//! `RUSTFLAGS="--cfg loom" cargo test --release -p nested-core --test loom`
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use nested_core::{Drained, FenceMailbox, RemoteFence};

const FENCE: RemoteFence = RemoteFence::Gvma {
    vmid: Some(1),
    range: None,
};

/// The target hart: enters L2 (draining with `enter`), applies what it drained to its
/// "shadow entry", then runs L2, which must not see the entry once the sender completed.
fn target(
    mailbox: &FenceMailbox<2>,
    stale: &AtomicBool,
    sender_done: &AtomicBool,
    enter: impl Fn(&FenceMailbox<2>) -> (Drained<2>, u64),
) {
    let (drained, upto) = enter(mailbox);
    if drained != Drained::Fences(Default::default()) {
        stale.store(false, Ordering::SeqCst);
    }
    mailbox.applied(upto);
    // L2 runs: a completed fence must not leave its entry usable.
    let done = sender_done.load(Ordering::SeqCst);
    let still_stale = stale.load(Ordering::SeqCst);
    assert!(
        !(done && still_stale),
        "L2 ran over a shadow entry a completed fence removed"
    );
    mailbox.exit_guest();
}

fn sender(mailbox: &FenceMailbox<2>, sender_done: &AtomicBool) {
    let (ticket, _kick) = mailbox.post(FENCE);
    if mailbox.is_done(ticket) {
        sender_done.store(true, Ordering::SeqCst);
    }
}

fn run(enter: fn(&FenceMailbox<2>) -> (Drained<2>, u64)) {
    loom::model(move || {
        let mailbox = Arc::new(FenceMailbox::<2>::new());
        let stale = Arc::new(AtomicBool::new(true));
        let done = Arc::new(AtomicBool::new(false));
        let (m, d) = (mailbox.clone(), done.clone());
        let sending = thread::spawn(move || sender(&m, &d));
        target(&mailbox, &stale, &done, enter);
        sending.join().unwrap();
    });
}

#[test]
fn a_completed_remote_fence_is_never_missed_by_the_target() {
    run(FenceMailbox::enter_guest);
}

/// The same model with the target draining *before* marking itself in the guest (the
/// mailbox's order reversed): loom finds the interleaving where the sender sees the target
/// outside L2, completes, and the target then runs L2 over the stale entry.
#[test]
#[should_panic(expected = "L2 ran over a shadow entry")]
fn draining_before_marking_the_hart_in_l2_would_miss_a_fence() {
    run(|mailbox| {
        mailbox.exit_guest(); // not marked yet while draining
        let drained = mailbox.enter_guest();
        mailbox.exit_guest();
        // ... and only now marked in L2: too late.
        let _ = mailbox.enter_guest();
        drained
    });
}
