//! `l1-hv`: a small guest hypervisor (L1) written with the project's crates. It runs in
//! HS-mode, directly on QEMU's H extension or nested under `mini-hv`, and runs `l2-guest` (its
//! initrd) in VS-mode:
//!
//! - L2's RAM lies in a free range of L1's, behind a G-stage table (Sv39x4, or Sv48x4 with
//!   `gstage=sv48x4`) written with `gstage`; a few pages are mapped only when L2 first touches
//!   each.
//! - L2's SBI calls go through `sbi-dispatch`: the legacy console, TIME (a timer interrupt
//!   injected through hvip.VSTIP), SRST, HSM's hart_stop, and the test calls of
//!   `l2_guest::calls` (among them a read of L2's memory with HLV.D).
//! - With two harts, hart 1 runs L2 too; hart 0 moves a page under it and sends a remote
//!   HFENCE.GVMA, which hart 1's next read must reflect.
//! - When the SBI below offers NACL (and `nacl=off` does not refuse it), H CSRs and fences go
//!   through each hart's shared memory with `nacl-shmem` and L2 is entered with sync_sret.
//! - Loads and stores at addresses with nothing behind them, L1's own and L2's, fault as the
//!   privileged spec says; L1's own timer fires while L2 runs without exits (`faults`).
//! - Its console's 16550 UART and the UART's THRE interrupt, through the PLIC (without the
//!   AIA) or the APLIC's MSI to L1's IMSIC (with it), behave as the hardware's (`uart`).
//! - With `aia=on`, on a machine whose S-level IMSIC has guest files, L2 gets guest interrupt
//!   file 1 of hart 0 (hstatus.VGEIN = 1, its page mapped at `layout::INTERRUPT_FILE`); L1
//!   sends it an MSI when L2 asks.
//!
//! Lines starting with `L1: ` are what L1 observed and must not depend on where it runs;
//! lines starting with `[L1] ` describe its environment.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

/// Prints what went wrong and stops the machine, reporting a failure.
macro_rules! fatal {
    ($($arg:tt)*) => {{
        bare::println!("L1: error: {}", format_args!($($arg)*));
        bare::shutdown(true)
    }};
}

mod csr;
mod faults;
mod frames;
mod hart;
#[allow(unsafe_code)]
mod hw;
mod imsic;
mod machine;
mod nacl;
mod sbi;
mod smp;
mod trap;
mod uart;
mod vm;

use bare::println;
use l2_guest::layout;

bare::entry!(main);

fn main(hartid: usize, dtb: usize) -> ! {
    if hartid != 0 {
        smp::hand_over(hartid, dtb)
    }
    boot(hartid, dtb)
}

/// Hart 0's start: learns the machine, builds L2 and enters it.
fn boot(hartid: usize, dtb: usize) -> ! {
    if bare::csr::try_read(csr::HCsr::Hstatus as u16).is_err() {
        println!("L1: no H extension");
        bare::shutdown(true)
    }
    println!("L1: H extension present");
    let machine = machine::Machine::read(dtb).unwrap_or_else(|error| fatal!("{error}"));
    println!(
        "[L1] memory {:#x}..{:#x}, initrd {:#x}..{:#x}, command line \"{}\"",
        machine.ram.start,
        machine.ram.end,
        machine.initrd.start,
        machine.initrd.end,
        machine.bootargs
    );
    let plural = if machine.harts == 1 { "" } else { "s" };
    println!("L1: {} hart{plural}", machine.harts);
    smp::set_harts(machine.harts);
    println!("[L1] nacl: {}", nacl::choose(machine.options.nacl));
    println!("L1: g-stage {}", machine::mode_name(machine.options.gstage));
    faults::own_access_faults();
    match &machine.uart {
        Some(uart) => uart.check(),
        None => println!("L1: no UART"),
    }
    let plan = vm::create(&machine).unwrap_or_else(|error| fatal!("{error}"));
    println!("L1: l2-guest loaded, entry {:#x}", plan.entry);
    println!(
        "L1: wrote {:#018x} to L2 GPA {:#x}",
        layout::MAILBOX_VALUE,
        layout::MAILBOX
    );
    if let Some(file) = plan.interrupt_file {
        println!(
            "[L1] IMSIC: guest file {} of hart {} at {:#x}, identities 1..={}",
            file.guest,
            file.hart,
            file.page.pa(),
            file.identities
        );
        println!("L1: guest interrupt file {} for L2", file.guest);
    }
    hart::run_l2(hartid, &plan)
}
