//! The bare-metal runtime of the example programs: the entry point and per-hart stacks, SBI
//! calls, a line-buffered console, a trap frame with its entry and return paths, CSR access by
//! number, and a fault catcher for probing instructions that may trap.
//!
//! This crate and each program's hardware module are the only places with `unsafe` code; each
//! block says why it is sound.
#![no_std]

pub mod catch;
pub mod console;
pub mod csr;
pub mod entry;
pub mod fence;
pub mod image;
pub mod sbi;
pub mod trap;

/// Harts the runtime gives a stack and a trap frame (QEMU `virt` numbers harts from 0).
pub const MAX_HARTS: usize = 8;
/// Bytes of stack per hart (must match `link.x`).
pub const STACK_SIZE: usize = 0x10000;
/// Bytes of trap-handler stack per hart (must match `link.x`).
pub const TRAP_STACK_SIZE: usize = 0x8000;

/// The `time` CSR.
pub fn time() -> u64 {
    let t: u64;
    // SAFETY: reading `time` has no side effect; every program runs where it is readable.
    unsafe { core::arch::asm!("rdtime {0}", out(reg) t) };
    t
}

/// Waits for an interrupt (or returns at once: WFI is a hint).
pub fn wfi() {
    // SAFETY: WFI changes no state.
    unsafe { core::arch::asm!("wfi") };
}

/// Stops the machine, reporting `failure` to whoever runs it (SBI SRST).
pub fn shutdown(failure: bool) -> ! {
    sbi::system_reset(0, u32::from(failure));
    loop {
        wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("panic: {info}");
    shutdown(true)
}
