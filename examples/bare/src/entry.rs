//! The entry points: `_start` (the boot hart, from the firmware or a hypervisor: a0 = hart ID,
//! a1 = device tree) and `_start_secondary` (a hart started through SBI HSM).

use crate::{MAX_HARTS, STACK_SIZE, TRAP_STACK_SIZE};

const _: () = assert!(STACK_SIZE.is_power_of_two());
use core::sync::atomic::{AtomicUsize, Ordering};

core::arch::global_asm!(
    ".section .text.entry",
    ".globl _start",
    "_start:",
    "   li t0, {harts}",
    "   bgeu a0, t0, 3f",
    // sp = __stacks_start + (hartid + 1) * STACK_SIZE
    "   la sp, __stacks_start",
    "   addi t1, a0, 1",
    "   slli t1, t1, {stack_log2}",
    "   add sp, sp, t1",
    "   la t0, __bss_start",
    "   la t1, __bss_end",
    "1: bgeu t0, t1, 2f",
    "   sd zero, 0(t0)",
    "   addi t0, t0, 8",
    "   j 1b",
    "2: tail {primary}",
    ".globl _start_secondary",
    "_start_secondary:",
    "   li t0, {harts}",
    "   bgeu a0, t0, 3f",
    "   la sp, __stacks_start",
    "   addi t1, a0, 1",
    "   slli t1, t1, {stack_log2}",
    "   add sp, sp, t1",
    "   tail {secondary}",
    "3: wfi",
    "   j 3b",
    harts = const MAX_HARTS,
    stack_log2 = const STACK_SIZE.trailing_zeros(),
    primary = sym primary,
    secondary = sym secondary,
);

unsafe extern "C" {
    fn _start_secondary();
    static __stacks_start: u8;
    static __trap_stacks_start: u8;
    static __image_start: u8;
    static __image_end: u8;
}

unsafe extern "Rust" {
    /// The program's entry, defined by [`entry!`](crate::entry!).
    fn bare_main(hartid: usize, dtb: usize) -> !;
}

extern "C" fn primary(hartid: usize, dtb: usize) -> ! {
    // SAFETY: `bare_main` is defined by the program through `entry!`, with this signature.
    unsafe { bare_main(hartid, dtb) }
}

/// Entry functions of started harts, as addresses (0: none).
static SECONDARY: [AtomicUsize; MAX_HARTS] = [const { AtomicUsize::new(0) }; MAX_HARTS];

extern "C" fn secondary(hartid: usize, opaque: usize) -> ! {
    let f = SECONDARY[hartid].load(Ordering::Acquire);
    if f == 0 {
        crate::shutdown(true);
    }
    // SAFETY: only `start_hart` stores into SECONDARY, and it stores a `fn(usize, usize) -> !`.
    let f: fn(usize, usize) -> ! = unsafe { core::mem::transmute(f) };
    f(hartid, opaque)
}

/// Starts hart `hartid` (SBI HSM hart_start) running `f(hartid, opaque)` on its own stack.
/// Returns the SBI error code (0 on success).
pub fn start_hart(hartid: usize, f: fn(usize, usize) -> !, opaque: usize) -> isize {
    if hartid >= MAX_HARTS {
        return sbi_spec::binary::RET_ERR_INVALID_PARAM as isize;
    }
    SECONDARY[hartid].store(f as *const () as usize, Ordering::Release);
    crate::sbi::hart_start(hartid, _start_secondary as *const () as usize, opaque)
}

/// The physical range the program occupies (code, data, stacks).
pub fn image_range() -> (usize, usize) {
    (
        core::ptr::addr_of!(__image_start) as usize,
        core::ptr::addr_of!(__image_end) as usize,
    )
}

/// The top of hart `hartid`'s trap stack, on which the trap handler runs (apart from the
/// stack of the program's main flow, so that a trap taken in the program's own mode does not
/// overwrite it).
pub fn trap_stack_top(hartid: usize) -> usize {
    let base = core::ptr::addr_of!(__trap_stacks_start) as usize;
    base + (hartid + 1) * TRAP_STACK_SIZE
}

/// Declares the program's entry: `entry!(main)` with `fn main(hartid: usize, dtb: usize) -> !`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        // SAFETY: the one definition of the symbol `bare`'s entry calls.
        #[unsafe(no_mangle)]
        fn bare_main(hartid: usize, dtb: usize) -> ! {
            $main(hartid, dtb)
        }
    };
}
