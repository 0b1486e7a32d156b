//! `l2-guest`: the guest of `l1-hv`, in VS-mode with vsatp = Bare (so its addresses are
//! guest-physical) but for its satp probe, which maps them to themselves. Its boot hart writes
//! and reads back a few pages (one of them mapped by L1 only on first touch), prints the value
//! L1 left in its mailbox, takes the timer interrupt L1 injects for `set_timer(0)`, and, when
//! L1 gave it an interrupt file, takes two external interrupts from it: one it sends itself,
//! one it asks L1 to send. It loads from a page L1 maps to nothing (L1 takes the access fault
//! and resumes it), checks that what its supervisor CSRs hold (satp in each MODE) survives
//! exits to L1 of four kinds (`probe_vs_csrs`), spins without an exit until L1's own timer
//! has fired, then stores a value for L1 to read with HLV.D and shuts down. Hart 1 reads a
//! page, reports it, waits while L1 moves that page and reports it again.
//!
//! It prints with the legacy console putchar: L1 offers no DBCN and copies no memory for it.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod hw;
mod imsic;

use bare::trap::{self, TrapFrame};
use bare::{csr, println, sbi};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use l2_guest::{calls, layout};

bare::entry!(main);

const SSTATUS: u16 = 0x100;
const SIE: u16 = 0x104;
const STVEC: u16 = 0x105;
const SSCRATCH: u16 = 0x140;
const SEPC: u16 = 0x141;
const SCAUSE: u16 = 0x142;
const STVAL: u16 = 0x143;
const SATP: u16 = 0x180;

/// sstatus fields (Priv spec, supervisor chapter, "Supervisor Status Register").
mod sstatus {
    pub const SIE: u64 = 1 << 1;
    pub const SPIE: u64 = 1 << 5;
    pub const SPP: u64 = 1 << 8;
    pub const SUM: u64 = 1 << 18;
    pub const MXR: u64 = 1 << 19;
}

/// sie.STIE, the supervisor timer interrupt enable.
const STIE: u64 = 1 << 5;
/// sie.SEIE, the supervisor external interrupt enable.
const SEIE: u64 = 1 << 9;
/// scause of the supervisor timer interrupt.
const TIMER_INTERRUPT: u64 = (1 << 63) | 5;
/// scause of the supervisor external interrupt.
const EXTERNAL_INTERRUPT: u64 = (1 << 63) | 9;
/// The identity L2 makes pending in its interrupt file itself.
const OWN_IDENTITY: u64 = 5;
/// The identity L2 asks L1 to send its interrupt file.
const L1_IDENTITY: u64 = 6;
/// Mixed into each touched page's address to make the value written there.
const PATTERN: u64 = 0x5a5a_0000_0000_0000;

/// Set by the trap handler when the timer interrupt came.
static TIMER_TAKEN: AtomicBool = AtomicBool::new(false);
/// The identity the trap handler claimed from the interrupt file (0: none yet).
static CLAIMED: AtomicU64 = AtomicU64::new(0);

fn main(hartid: usize, _dtb: usize) -> ! {
    bare::console::use_legacy();
    println!("L2: hello from L2 on hart {hartid}");
    if hartid == 0 {
        boot_hart()
    } else {
        watch_moved_page()
    }
}

fn boot_hart() -> ! {
    touch_pages();
    println!("L2: L1 wrote {:#018x}", hw::read(layout::MAILBOX));
    // bare runs the trap handler at the top of this hart's boot stack, so the rest of the
    // program leaves that stack: it is entered as a context of its own, in VS-mode again.
    trap::install(0, on_trap);
    let mut rest = TrapFrame::default();
    rest.pc = timer_and_handoff as *const () as u64;
    rest.x[2] = hw::stack_top();
    let status = read(SSTATUS);
    write(SSTATUS, (status | sstatus::SPP) & !sstatus::SPIE);
    trap::enter(0, &rest)
}

/// Writes a value into each page of `TOUCHED_PAGES`, then checks every one reads it back.
fn touch_pages() {
    let pages = layout::TOUCHED_PAGES;
    for page in pages {
        hw::write(page, page ^ PATTERN);
    }
    if let Some(page) = pages.iter().find(|&&page| hw::read(page) != page ^ PATTERN) {
        println!("L2: page {page:#x} lost what was written to it");
        bare::shutdown(true);
    }
    println!("L2: touched {} pages", pages.len());
}

/// The boot hart's second half, on its own stack.
extern "C" fn timer_and_handoff() -> ! {
    take_timer();
    println!("L2: timer interrupt taken");
    sbi::set_timer(u64::MAX);
    if hw::has_interrupt_file() {
        external_interrupts();
    }
    hw::load_unbacked();
    println!("L2: resumed after the load from {:#x}", layout::UNBACKED);
    probe_vs_csrs();
    // Due at once: L1 takes it as it returns to L2. Then 1 ms ahead: it fires while L2 spins.
    l1_timer_while_spinning(0);
    l1_timer_while_spinning(10_000);
    hw::write(layout::HANDOFF, layout::HANDOFF_VALUE);
    match test_call(calls::HLV_READ, layout::HANDOFF, 0) {
        (0, value) if value == layout::HANDOFF_VALUE => {
            println!("L2: L1 read {value:#018x} back");
            bare::shutdown(false)
        }
        (error, value) => {
            println!("L2: L1 read {value:#018x} (SBI error {error})");
            bare::shutdown(true)
        }
    }
}

/// Asks for a timer interrupt at once (`set_timer(0)`) and waits until it is taken.
fn take_timer() {
    TIMER_TAKEN.store(false, Ordering::Release);
    write(SIE, read(SIE) | STIE);
    sbi::set_timer(0);
    wait_until(|| TIMER_TAKEN.load(Ordering::Acquire));
}

/// The next of the lazy pages (`layout::LAZY_PAGES`) L2 has not touched; the first is
/// `touch_pages`'s.
static NEXT_LAZY_PAGE: AtomicU64 = AtomicU64::new(layout::LAZY_PAGE + layout::PAGE);

/// Ways of leaving to L1 with a probe value in place: an SBI call, a load L1 takes the access
/// fault of, a load from a page L1 maps on its guest-page fault, and a timer interrupt L1
/// injects (L2 takes it itself, so its trap entry writes sepc, scause and stval and uses
/// sscratch and stvec).
const EXITS: [(&str, fn()); 4] = [
    ("an SBI call", || {
        sbi::probe(0x10);
    }),
    ("an access fault", hw::load_unbacked),
    ("a guest-page fault", || {
        let page = NEXT_LAZY_PAGE.fetch_add(layout::PAGE, Ordering::Relaxed);
        assert!(page < layout::LAZY_PAGE + layout::LAZY_PAGES * layout::PAGE);
        hw::read(page);
    }),
    ("a timer interrupt", || {
        take_timer();
        sbi::set_timer(u64::MAX);
    }),
];

/// Writes L2's supervisor CSRs, which it holds in the real VS CSRs, with probe values, leaves
/// to L1 with each in place through `EXITS` (those its own trap does not overwrite), and
/// prints what each reads back, then puts the CSR back. A hypervisor must give L2 back what
/// the hart kept: the same lines directly on QEMU and nested.
fn probe_vs_csrs() {
    probe_satp();
    let status = read(SSTATUS);
    probe(
        SSTATUS,
        &[status | sstatus::SUM | sstatus::MXR],
        &EXITS,
        status,
    );
    let all = u64::MAX;
    probe(SIE, &[all], &EXITS[..3], read(SIE));
    let vector = read(STVEC);
    // Vectored, then the reserved MODE 2 (ignored).
    probe(STVEC, &[vector | 1, vector | 2], &EXITS[..3], vector);
    probe(
        SSCRATCH,
        &[all, 0x5555_aaaa_5555_aaaa],
        &EXITS[..3],
        read(SSCRATCH),
    );
    for csr in [SEPC, SCAUSE, STVAL] {
        probe(csr, &[all, 0x8000_1234_5678_9abd], &EXITS[..3], 0);
    }
}

/// Writes `csr` with each of `values`, leaves to L1 through each of `exits`, prints what it
/// reads, and writes `restore` back.
fn probe(csr: u16, values: &[u64], exits: &[(&str, fn())], restore: u64) {
    for &value in values {
        for (exit, leave) in exits {
            write(csr, value);
            leave();
            let read_back = read(csr);
            write(csr, restore);
            println!("L2: CSR {csr:#x} {value:#018x} reads {read_back:#018x} after {exit}");
        }
    }
}

/// Writes satp with each translating MODE (Sv39, Sv48, Sv57, over identity-mapping tables
/// with 1 GiB leaves) and MODEs no hart of ours has (Sv32's, a reserved one, a custom one;
/// priv spec, supervisor chapter, "Supervisor Address Translation and Protection (satp)
/// Register": a write with an unsupported MODE is ignored), through `probe`.
fn probe_satp() {
    const ASID: u64 = 0x5a << 44;
    // V, R, W, X, A and D: a supervisor leaf, neither global nor user, accessed and dirty.
    const LEAF: u64 = 0b1100_1111;
    let [sv39_root, sv48_root, sv57_root] = layout::SATP_TABLES;
    for gib in 0..4 {
        hw::write(sv39_root + gib * 8, gib << 28 | LEAF);
    }
    // A non-leaf entry: V only, the next table's page number.
    hw::write(sv48_root, sv39_root >> 2 | 1);
    hw::write(sv57_root, sv48_root >> 2 | 1);
    let probes = [
        8 << 60 | ASID | sv39_root >> 12,
        9 << 60 | ASID | sv48_root >> 12,
        10 << 60 | ASID | sv57_root >> 12,
        1 << 60 | ASID | sv39_root >> 12, // Sv32's number, reserved in RV64
        11 << 60 | ASID | sv39_root >> 12, // reserved
        15 << 60 | ASID | sv39_root >> 12, // for custom use, none here
    ];
    probe(SATP, &probes, &EXITS, 0);
}

/// Takes an interrupt from its own interrupt file: one it makes pending itself, then one L1
/// sends (an MSI from L1, through L1's own mapping of the file).
fn external_interrupts() {
    imsic::deliver(&[OWN_IDENTITY, L1_IDENTITY]);
    write(SIE, read(SIE) | SEIE);
    hw::set_pending(OWN_IDENTITY as u32);
    expect_external(OWN_IDENTITY);
    println!("L2: external interrupt {OWN_IDENTITY} from its interrupt file");
    let (error, _) = test_call(calls::SEND_MSI, L1_IDENTITY, 0);
    if error != 0 {
        println!("L2: L1 did not send identity {L1_IDENTITY} (SBI error {error})");
        bare::shutdown(true)
    }
    expect_external(L1_IDENTITY);
    println!("L2: external interrupt {L1_IDENTITY} sent by L1");
}

/// Asks L1 to arm its own timer `ahead` ticks of `time` ahead, then spins with no exit until
/// L1, having taken it, says so.
fn l1_timer_while_spinning(ahead: u64) {
    hw::write(layout::L1_TIMER_FLAG, 0);
    match test_call(calls::ARM_L1_TIMER, ahead, 0) {
        (0, _) => {
            while hw::read(layout::L1_TIMER_FLAG) != layout::L1_TIMER_FIRED {
                core::hint::spin_loop();
            }
            println!("L2: L1's own timer, armed {ahead} ticks ahead, fired while L2 spun");
        }
        (error, _) => println!("L2: L1 armed no timer of its own (SBI error {error})"),
    }
}

/// Waits for the trap handler to claim an external interrupt, which must be `identity`.
fn expect_external(identity: u64) {
    wait_until(|| CLAIMED.load(Ordering::Acquire) != 0);
    let claimed = CLAIMED.swap(0, Ordering::AcqRel);
    if claimed != identity {
        println!("L2: external interrupt {claimed}, not {identity}");
        bare::shutdown(true)
    }
}

/// Waits for an interrupt's handler to make `done` true. sstatus.SIE opens only after WFI: an
/// interrupt taken between the check and WFI would leave WFI waiting for one that already came.
fn wait_until(done: impl Fn() -> bool) {
    while !done() {
        bare::wfi();
        let status = read(SSTATUS);
        write(SSTATUS, status | sstatus::SIE);
        write(SSTATUS, status & !sstatus::SIE);
    }
}

fn on_trap(_frame: &mut TrapFrame) {
    match csr::read(SCAUSE) {
        Some(TIMER_INTERRUPT) => {
            // The interrupt stays pending until set_timer clears it; mask it until then.
            write(SIE, read(SIE) & !STIE);
            TIMER_TAKEN.store(true, Ordering::Release);
        }
        Some(EXTERNAL_INTERRUPT) => CLAIMED.store(imsic::claim(), Ordering::Release),
        scause => {
            println!("L2: unexpected trap, scause {scause:#x?}");
            bare::shutdown(true)
        }
    }
}

/// Hart 1: reads `MOVED_PAGE`, waits while L1 moves it, reads it again, and stops.
fn watch_moved_page() -> ! {
    report(hw::read(layout::MOVED_PAGE));
    test_call(calls::WAIT, 0, 0);
    report(hw::read(layout::MOVED_PAGE));
    let error = sbi::hart_stop();
    println!("L2: hart_stop failed (SBI error {error})");
    bare::shutdown(true)
}

fn report(value: u64) {
    test_call(calls::REPORT, layout::MOVED_PAGE, value);
}

/// One of `l1-hv`'s test calls; returns (error, value).
fn test_call(function: u64, a0: u64, a1: u64) -> (isize, u64) {
    let (error, value) = sbi::call(
        calls::EID as usize,
        function as usize,
        [a0 as usize, a1 as usize, 0, 0, 0, 0],
    );
    (error, value as u64)
}

fn read(csr: u16) -> u64 {
    csr::read(csr).unwrap_or_else(|| {
        println!("L2: cannot read CSR {csr:#x}");
        bare::shutdown(true)
    })
}

fn write(csr: u16, value: u64) {
    csr::write(csr, value);
}
