//! L2's exits into L1. bare's trap entry saves L2's registers in the hart's frame and calls
//! `on_trap`, which handles the exit and returns to L2: an SBI call, the guest-page fault of
//! the page L1 maps on first touch, an access fault of L2's, or L1's own timer. Anything else
//! ends the run.

use bare::println;
use bare::trap::TrapFrame;
use core::sync::atomic::{AtomicU32, Ordering};
use sbi_dispatch::{Departure, Outcome, ResetReason, SbiCall, Xlen};

use crate::csr::{self, HCsr, scause};
use crate::hart::HartCsrs;
use crate::sbi::{self, Vcpu};
use crate::{faults, smp, vm};

/// What L1 saw of L2, on every hart; printed when L2 ends.
pub struct Stats {
    /// Exits from L2 that L1 returned from (not the last of a hart).
    pub round_trips: AtomicU32,
    /// SBI calls.
    pub ecalls: AtomicU32,
    /// Guest-page faults.
    pub guest_page_faults: AtomicU32,
    /// Timer interrupts L1 injected.
    pub timer_interrupts: AtomicU32,
}

/// The counters.
pub static STATS: Stats = Stats {
    round_trips: AtomicU32::new(0),
    ecalls: AtomicU32::new(0),
    guest_page_faults: AtomicU32::new(0),
    timer_interrupts: AtomicU32::new(0),
};

/// Adds one to `counter`.
pub fn count(counter: &AtomicU32) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn total(counter: &AtomicU32) -> u32 {
    counter.load(Ordering::Relaxed)
}

/// The trap handler of every hart.
pub fn on_trap(frame: &mut TrapFrame) {
    let hartid = frame.hartid();
    let mut vcpu = Vcpu {
        hartid,
        csrs: HartCsrs::of(hartid),
    };
    match read(csr::SCAUSE) {
        scause::ECALL_FROM_VS => ecall(&mut vcpu, frame),
        cause @ (scause::INSTRUCTION_GUEST_PAGE_FAULT
        | scause::LOAD_GUEST_PAGE_FAULT
        | scause::STORE_GUEST_PAGE_FAULT) => guest_page_fault(&mut vcpu, cause),
        cause @ (scause::LOAD_ACCESS_FAULT | scause::STORE_ACCESS_FAULT) => {
            faults::l2_access_fault(&mut vcpu, frame, cause)
        }
        scause::TIMER_INTERRUPT => faults::own_timer_fired(),
        cause => fatal!(
            "unexpected trap from L2 on hart {hartid}: scause {cause:#x}, sepc {:#x}",
            frame.pc
        ),
    }
    count(&STATS.round_trips);
    vcpu.csrs.resume(frame)
}

fn read(csr: u16) -> u64 {
    bare::csr::read(csr).unwrap_or_else(|| fatal!("cannot read CSR {csr:#x}"))
}

/// An SBI call from L2: answered, or the end of L2 (SRST) or of one of its harts (HSM).
fn ecall(vcpu: &mut Vcpu, frame: &mut TrapFrame) {
    count(&STATS.ecalls);
    let mut a = [0; 8];
    a.copy_from_slice(&frame.x[10..18]);
    let call = SbiCall::from_registers(&a, Xlen::Rv64);
    match sbi::dispatcher(smp::harts()).dispatch(vcpu, &call) {
        Outcome::Return(result) => {
            call.write_return(result, &mut a);
            frame.x[10..18].copy_from_slice(&a);
            frame.pc += 4;
        }
        Outcome::Departed(Departure::SystemReset { reason, .. }) => l2_ended(vcpu.hartid, reason),
        Outcome::Departed(Departure::HartStopped) => smp::stop(vcpu.hartid),
        outcome => fatal!("unexpected SBI outcome {outcome:?}"),
    }
}

/// A guest-page fault: the first touch of a lazy page maps it; a fault at a page already
/// mapped was a stale translation, which a fence removes.
fn guest_page_fault(vcpu: &mut Vcpu, cause: u64) {
    count(&STATS.guest_page_faults);
    let htval = vcpu.csrs.read(HCsr::Htval);
    let stval = read(csr::STVAL);
    // htval holds the GPA shifted right by 2, or 0 where the hart does not say; then the
    // guest virtual address in stval is that GPA, as long as L2 runs with vsatp = Bare.
    let gpa = if htval != 0 {
        (htval << 2) | (stval & 3)
    } else if vcpu.csrs.read(HCsr::Vsatp) == 0 {
        stval
    } else {
        fatal!(
            "a guest-page fault without htval while L2 translates (hart {})",
            vcpu.hartid
        )
    };
    let fences = match vm::guest_page_fault(cause, gpa) {
        Ok(vm::Fault::Mapped(page, fences)) => {
            println!("L1: lazily mapped L2 page {page:#x}");
            fences
        }
        Ok(vm::Fault::Stale(fences)) => fences,
        Err(error) => fatal!("{error} (hart {})", vcpu.hartid),
    };
    for &fence in fences.as_slice() {
        vcpu.csrs.fence(fence);
    }
}

/// L2 shut down. After the boot hart's shutdown, with two harts, the remote-fence test runs
/// on hart 1; then L1 reports what it saw and stops the machine.
fn l2_ended(hartid: usize, reason: ResetReason) -> ! {
    if hartid != 0 {
        fatal!("L2 reset the system from hart {hartid}, not its boot hart")
    }
    if reason != ResetReason::NoReason {
        println!("L1: L2 shut down on hart {hartid} reporting {reason:?}");
        bare::shutdown(true)
    }
    smp::remote_fence_test();
    println!(
        "L1: L2 stopped (round trips: {})",
        total(&STATS.round_trips)
    );
    println!(
        "L1: exits: ecalls {}, guest-page faults {}; timer interrupts injected: {}",
        total(&STATS.ecalls),
        total(&STATS.guest_page_faults),
        total(&STATS.timer_interrupts)
    );
    if smp::failed() {
        println!("L1: failed");
        bare::shutdown(true)
    }
    println!("L1: done");
    bare::shutdown(false)
}
