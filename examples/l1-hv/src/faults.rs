//! What L1 sees of memory that does not exist and of its own timer, wherever it runs:
//!
//! - its own load and store at a physical address with nothing behind it take the load and
//!   store access faults (5, 7) with that address in stval;
//! - L2's load from a page L1 maps to such an address is an access fault L1 takes (it
//!   delegates none), with L2's address in stval; L1 resumes L2 after the load;
//! - its own supervisor timer (Sstc's stimecmp), armed for L2, fires and L1 takes it though
//!   L2 spins without an exit: at once when it is due as L1 returns to L2, else when due.

use bare::println;
use bare::trap::TrapFrame;
use l2_guest::layout::{L1_TIMER_FIRED, L1_TIMER_FLAG};
use sbi_dispatch::{SbiError, SbiResult};

use crate::csr::{HCsr, hstatus};
use crate::sbi::Vcpu;
use crate::vm;

/// An L1 physical address with nothing behind it while L1's RAM (from 0x8000_0000) is at most
/// 2 GiB: past RAM and below the high PCIe window on QEMU's `virt` machine, and outside what
/// `mini-hv` maps for L1.
pub const NOTHING: u64 = 0x1_0000_0000;
/// Sstc's stimecmp and the supervisor interrupt enables.
const STIMECMP: u16 = 0x14d;
const SIE: u16 = 0x104;
const STIE: u64 = 1 << 5;

/// L1's own load and store at `NOTHING`.
pub fn own_access_faults() {
    let stval = || bare::csr::read(crate::csr::STVAL).unwrap_or(0);
    match bare::catch::load_u64(NOTHING) {
        Ok(value) => println!("L1: load at {NOTHING:#x} read {value:#x}"),
        Err(cause) => println!(
            "L1: load at {NOTHING:#x}: exception {cause}, stval {:#x}",
            stval()
        ),
    }
    match bare::catch::store_u64(NOTHING, 0) {
        Ok(()) => println!("L1: store at {NOTHING:#x} completed"),
        Err(cause) => println!(
            "L1: store at {NOTHING:#x}: exception {cause}, stval {:#x}",
            stval()
        ),
    }
}

/// L2's access fault (load 5 or store 7): reported, and L2 resumed after its 4-byte
/// instruction.
pub fn l2_access_fault(vcpu: &mut Vcpu, frame: &mut TrapFrame, cause: u64) {
    let gva = vcpu.csrs.read(HCsr::Hstatus) & hstatus::GVA != 0;
    let stval = bare::csr::read(crate::csr::STVAL).unwrap_or(0);
    println!(
        "L1: L2 took access fault {cause} at {stval:#x} (hstatus.GVA {})",
        u8::from(gva)
    );
    frame.pc += 4;
}

/// L2's ARM_L1_TIMER: L1's own timer, `ahead` ticks of `time` ahead, its interrupt enabled.
/// L1 runs with its interrupts off, so one already due is taken as it returns to L2.
pub fn arm_own_timer(ahead: u64) -> SbiResult {
    bare::csr::try_write(STIMECMP, bare::time().saturating_add(ahead))
        .map_err(|_| SbiError::NotSupported)?;
    bare::csr::write(SIE, bare::csr::read(SIE).unwrap_or(0) | STIE);
    Ok(0)
}

/// L1's own timer fired while L2 ran: disarmed, and L2 told.
pub fn own_timer_fired() {
    bare::csr::write(STIMECMP, u64::MAX);
    bare::csr::write(SIE, bare::csr::read(SIE).unwrap_or(0) & !STIE);
    println!("L1: its own timer fired while L2 ran");
    if let Err(error) = vm::note(L1_TIMER_FLAG, L1_TIMER_FIRED) {
        fatal!("{error}")
    }
}
