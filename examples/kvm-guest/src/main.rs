//! `kvm-guest`: the payload `kvm-vmm` runs as the only vCPU of each of its VMs, in VS-mode
//! with vsatp = Bare (its addresses are guest-physical). The VMM passes a1 = the guest-physical
//! address of a parameter block (see [`hw::Params`]); a0 is the hart ID, 0.
//!
//! It checks a few SBI answers, then, each round: writes a pattern unique to its VM and round
//! over its test region, arms a timer (Sstc's stimecmp, or SBI set_timer) and waits for it in
//! WFI, checks the deadline passed and disarms it, then reads the region back. It prints short
//! lines through the SBI debug console and ends with SBI SRST: shutdown with reason "none" when
//! every check passed, "system failure" after a line `FAIL: ...` naming the first that did not.
//! It records the rounds it completed in the parameter block for the VMM to check.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod hw;

use bare::{csr, println, sbi};
use sbi_spec::{base, binary, dbcn, srst, time};

bare::entry!(main);

const SIE: u16 = 0x104;
const SIP: u16 = 0x144;
const STIMECMP: u16 = 0x14d;
/// sie.STIE / sip.STIP, the supervisor timer interrupt's bit.
const TIMER_BIT: u64 = 1 << 5;
/// How far ahead each round's timer is armed, in `time` ticks (1 ms at QEMU virt's 10 MHz).
const TIMER_DELAY: u64 = 10_000;
/// An extension ID no SBI implementation defines (its probe must answer 0).
const ABSENT_EXTENSION: usize = 0x0A5A_5A5A;
/// A BASE function ID the SBI spec does not define.
const ABSENT_BASE_FUNCTION: usize = 0x7f;

fn main(_hartid: usize, params: usize) -> ! {
    let params = hw::Params::read(params as u64)
        .unwrap_or_else(|| fail(format_args!("no parameter block at a1")));
    let timer = if params.sbi_timer { "SBI" } else { "Sstc" };
    println!(
        "kvm-guest: vm {}, {} rounds over {} KiB, {timer} timer",
        params.vm,
        params.rounds,
        params.region_size / 1024
    );
    check_sbi();
    for round in 1..=params.rounds {
        hw::fill(&params, round);
        if params.sbi_timer {
            wait_sbi_timer(round);
        } else {
            wait_sstc_timer(round);
        }
        let (wrong, first) = hw::check(&params, round);
        if wrong != 0 {
            println!("round {round}: {wrong} words wrong, the first at {first:#x}");
            fail(format_args!("round {round}: wrong words in RAM"));
        }
        hw::set_rounds_done(round);
        println!("round {round}: pattern ok, timer ok");
    }
    println!("done");
    sbi::system_reset(srst::RESET_TYPE_SHUTDOWN, srst::RESET_REASON_NO_REASON);
    fail(format_args!("SRST shutdown returned"))
}

/// Checks answers KVM gives without asking the VMM, and that the VMM switched DBCN on.
fn check_sbi() {
    let (error, version) = sbi::call(base::EID_BASE, base::GET_SBI_SPEC_VERSION, [0; 6]);
    if error != 0 || base::Version::from_raw(version).major() < 2 {
        fail(format_args!("SBI spec version below 2.0"));
    }
    let (error, implementation) = sbi::call(base::EID_BASE, base::GET_SBI_IMPL_ID, [0; 6]);
    if error != 0 || implementation != base::impl_id::KVM {
        fail(format_args!("the SBI implementation is not KVM"));
    }
    for (eid, name) in [
        (base::EID_BASE, "BASE"),
        (time::EID_TIME, "TIME"),
        (srst::EID_SRST, "SRST"),
        (dbcn::EID_DBCN, "DBCN"),
    ] {
        if sbi::probe(eid) == 0 {
            fail(format_args!("SBI extension {name} is missing"));
        }
    }
    if sbi::probe(ABSENT_EXTENSION) != 0 {
        fail(format_args!("an undefined SBI extension probes present"));
    }
    let (error, _) = sbi::call(base::EID_BASE, ABSENT_BASE_FUNCTION, [0; 6]);
    if error != binary::RET_ERR_NOT_SUPPORTED as isize {
        fail(format_args!(
            "an undefined BASE function did not answer NOT_SUPPORTED"
        ));
    }
    println!("sbi: BASE, TIME, SRST and DBCN present, answers ok");
}

/// Arms Sstc's stimecmp the way Linux does, waits for the timer and disarms it.
fn wait_sstc_timer(round: u64) {
    if csr::try_read(STIMECMP).is_err() {
        fail(format_args!("no Sstc (stimecmp traps)"));
    }
    let deadline = bare::time() + TIMER_DELAY;
    csr::write(STIMECMP, deadline);
    wait_timer(round, deadline);
    csr::write(STIMECMP, u64::MAX);
    disarmed(round);
}

/// Arms the timer through SBI set_timer, waits for it and disarms it.
fn wait_sbi_timer(round: u64) {
    let deadline = bare::time() + TIMER_DELAY;
    if sbi::set_timer(deadline).0 != 0 {
        fail(format_args!("round {round}: SBI set_timer failed"));
    }
    wait_timer(round, deadline);
    sbi::set_timer(u64::MAX);
    disarmed(round);
}

/// Waits in WFI until the timer is pending (sie.STIE set, sstatus.SIE clear: WFI wakes, no
/// trap is taken), then checks `time` reached the deadline. A timer that never comes leaves
/// the vCPU in WFI; the VMM's watchdog reports it.
fn wait_timer(round: u64, deadline: u64) {
    csr_write(SIE, csr_read(SIE) | TIMER_BIT);
    while csr_read(SIP) & TIMER_BIT == 0 {
        bare::wfi();
    }
    csr_write(SIE, csr_read(SIE) & !TIMER_BIT);
    if bare::time() < deadline {
        fail(format_args!(
            "round {round}: the timer fired before its deadline"
        ));
    }
}

fn disarmed(round: u64) {
    if csr_read(SIP) & TIMER_BIT != 0 {
        fail(format_args!(
            "round {round}: the timer is still pending after disarming"
        ));
    }
}

fn csr_read(csr: u16) -> u64 {
    csr::read(csr).unwrap_or_else(|| fail(format_args!("CSR {csr:#x} is not readable")))
}

fn csr_write(csr: u16, value: u64) {
    csr::write(csr, value);
}

/// Prints `FAIL: what` and shuts down reporting a system failure.
fn fail(what: core::fmt::Arguments) -> ! {
    println!("FAIL: {what}");
    bare::shutdown(true)
}
