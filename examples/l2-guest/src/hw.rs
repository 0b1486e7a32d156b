//! The only unsafe code of `l2-guest`: doublewords of its RAM by guest-physical address, the
//! stack its boot hart moves to, and its interrupt file (its seteipnum_le register, and the
//! claim through stopei, which Rust cannot express as a read or a write alone).

use core::cell::UnsafeCell;
use l2_guest::layout::{
    HAS_INTERRUPT_FILE, INTERRUPT_FILE, INTERRUPT_FILE_FLAG, RAM_BASE, RAM_SIZE,
};

/// The doubleword at `gpa`, after checking it is in L2's RAM and outside this program.
fn word(gpa: u64) -> *mut u64 {
    let (image_start, image_end) = bare::entry::image_range();
    let in_ram = (RAM_BASE..RAM_BASE + RAM_SIZE - 7).contains(&gpa);
    let in_image = (image_start as u64..image_end as u64).contains(&gpa);
    if !in_ram || in_image || !gpa.is_multiple_of(8) {
        bare::println!("L2: {gpa:#x} is not a free doubleword of RAM");
        bare::shutdown(true);
    }
    gpa as *mut u64
}

/// Reads the doubleword at `gpa`.
pub fn read(gpa: u64) -> u64 {
    let word = word(gpa);
    // SAFETY: an aligned doubleword of RAM that no Rust object occupies (`word` checked); L2
    // runs with vsatp = Bare, so the address is the guest-physical one.
    unsafe { word.read_volatile() }
}

/// Writes the doubleword at `gpa`.
pub fn write(gpa: u64, value: u64) {
    let word = word(gpa);
    // SAFETY: as in `read`.
    unsafe { word.write_volatile(value) }
}

const STACK_SIZE: usize = 16 * 1024;

/// The boot hart's stack after it leaves bare's boot stack to the trap handler.
#[repr(C, align(16))]
struct Stack(UnsafeCell<[u8; STACK_SIZE]>);

// SAFETY: only the boot hart uses the stack, through sp; Rust never makes a reference to it.
unsafe impl Sync for Stack {}

static STACK: Stack = Stack(UnsafeCell::new([0; STACK_SIZE]));

/// The top of that stack.
pub fn stack_top() -> u64 {
    STACK.0.get() as u64 + STACK_SIZE as u64
}

/// Whether L1 gave L2 an interrupt file (at `INTERRUPT_FILE`).
pub fn has_interrupt_file() -> bool {
    read(INTERRUPT_FILE_FLAG) == HAS_INTERRUPT_FILE
}

/// Writes `identity` to the seteipnum_le register of L2's interrupt file (offset 0 of its
/// page, little-endian): the file makes it pending, as for an MSI from a device.
pub fn set_pending(identity: u32) {
    if !has_interrupt_file() {
        bare::println!("L2: no interrupt file to write to");
        bare::shutdown(true);
    }
    // SAFETY: an aligned 32-bit store to a device register: L1 maps its interrupt file's page
    // at INTERRUPT_FILE (it said so through the flag), where no Rust object lives.
    unsafe { (INTERRUPT_FILE as *mut u32).write_volatile(identity.to_le()) }
}

/// Claims the interrupt the interrupt file reports (AIA spec, "Incoming MSI Controller",
/// *topei): stopei (vstopei from VS-mode) read and written by one CSRRW, so that a newer
/// interrupt is never cleared unseen. Returns what it read: (identity << 16) | identity, or 0.
pub fn claim() -> u64 {
    let topei: u64;
    // SAFETY: a CSR access that only clears the pending bit of the identity it returns.
    unsafe { core::arch::asm!("csrrw {0}, 0x15c, zero", out(reg) topei) };
    topei
}

/// Loads from `layout::UNBACKED`, which L1 maps to nothing: the load faults into L1, which
/// resumes after it (so it is a 4-byte instruction), leaving some value.
pub fn load_unbacked() {
    let _value: u64;
    // SAFETY: a load from a page L1 maps for L2 outside its RAM, where no Rust object lives;
    // it writes no memory.
    unsafe {
        core::arch::asm!(
            ".option push",
            ".option norvc",
            "ld {v}, 0({a})",
            ".option pop",
            v = out(reg) _value,
            a = in(reg) l2_guest::layout::UNBACKED,
        );
    }
}
