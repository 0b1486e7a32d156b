//! The second hart. Hart 1 runs L2 on the same G-stage table (VMID 1) and reads
//! `MOVED_PAGE`; while it waits in an SBI call, hart 0 maps that page to another page of L1's,
//! fences locally and sends hart 1 a remote HFENCE.GVMA through SBI RFENCE; hart 1's next
//! read must see the new page. Hart 0 waits on hart 1's progress, so lines never interleave.

use bare::println;
use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use gstage::HfenceGvma;
use l2_guest::layout::{MOVED_AFTER, MOVED_BEFORE, MOVED_PAGE, PAGE};
use sbi_dispatch::{SbiError, SbiResult};
use sbi_spec::hsm::hart_state;

use crate::hart::{self, HartCsrs};
use crate::vm;

/// The hart that runs L2 besides hart 0.
const SECOND: usize = 1;

/// Hart 1's progress through its part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Progress {
    NotStarted,
    /// Runs L2 and has not reported the page yet.
    Running,
    /// Waits in L2's WAIT call for hart 0 to move the page.
    Waiting,
    /// Runs L2 again after the move.
    Released,
    /// L2 stopped it.
    Stopped,
}

const PROGRESSES: [Progress; 5] = [
    Progress::NotStarted,
    Progress::Running,
    Progress::Waiting,
    Progress::Released,
    Progress::Stopped,
];

static PROGRESS: AtomicU8 = AtomicU8::new(Progress::NotStarted as u8);
static HARTS: AtomicUsize = AtomicUsize::new(1);
static FAILED: AtomicBool = AtomicBool::new(false);

fn progress() -> Progress {
    PROGRESSES[usize::from(PROGRESS.load(Ordering::Acquire))]
}

fn advance(to: Progress) {
    PROGRESS.store(to as u8, Ordering::Release);
}

fn wait_for(progress_made: Progress) {
    while progress() != progress_made {
        spin_loop();
    }
}

/// Records the number of harts (L1's and L2's alike).
pub fn set_harts(harts: usize) {
    HARTS.store(harts, Ordering::Relaxed);
}

/// The number of harts.
pub fn harts() -> usize {
    HARTS.load(Ordering::Relaxed)
}

/// Whether a check of the test failed.
pub fn failed() -> bool {
    FAILED.load(Ordering::Acquire)
}

/// Whether hart `hart` (not 0) runs L2.
pub fn runs_l2(hart: usize) -> bool {
    let running = [Progress::Running, Progress::Waiting, Progress::Released];
    hart == SECOND && running.contains(&progress())
}

/// The firmware booted L1 on hart `hartid`, not 0 (OpenSBI picks its boot hart by lottery):
/// hart 0 starts over at `boot`, so that the transcript names the same harts every time.
pub fn hand_over(hartid: usize, dtb: usize) -> ! {
    println!("[L1] booted on hart {hartid}, handing over to hart 0");
    let error = bare::entry::start_hart(0, crate::boot, dtb);
    if error != 0 {
        fatal!("cannot start hart 0 (SBI error {error})")
    }
    stop(hartid)
}

/// Stops this hart (HSM hart_stop), L2's part on it being over.
pub fn stop(hartid: usize) -> ! {
    if hartid == SECOND {
        match progress() {
            Progress::Released => advance(Progress::Stopped),
            // The hart booted L1 and handed over to hart 0; the test has not begun.
            Progress::NotStarted => {}
            _ => fatal!("L2 stopped hart {hartid} before the remote-fence test ended"),
        }
    }
    let error = bare::sbi::hart_stop();
    fatal!("hart {hartid} did not stop (SBI error {error})")
}

/// On hart 0 once L2's boot hart has shut down, with two harts or more: the remote-fence test.
pub fn remote_fence_test() {
    if harts() <= SECOND {
        return;
    }
    // Hart 1 may still be stopping if it booted L1 and handed over.
    while bare::sbi::hart_status(SECOND) != (0, hart_state::STOPPED) {
        spin_loop();
    }
    println!("L1: starting hart {SECOND}");
    let error = bare::entry::start_hart(SECOND, second_hart, 0);
    if error != 0 {
        fatal!("cannot start hart {SECOND} (SBI error {error})")
    }
    wait_for(Progress::Waiting);
    let fences = vm::move_page().unwrap_or_else(|error| fatal!("{error}"));
    if fences.is_empty() {
        fatal!("moving a mapped page asked for no fence")
    }
    let mut csrs = HartCsrs::of(0);
    for &fence in fences.as_slice() {
        csrs.fence(fence);
    }
    println!("L1: moved L2 page {MOVED_PAGE:#x} to another page of L1's");
    let failure = fences
        .as_slice()
        .iter()
        .map(|&fence| remote_hfence(SECOND, fence))
        .find(|&error| error != 0);
    match failure {
        None => println!("L1: remote hfence to hart {SECOND}: ok"),
        Some(error) => {
            println!("L1: remote hfence to hart {SECOND}: SBI error {error}");
            FAILED.store(true, Ordering::Release);
        }
    }
    advance(Progress::Released);
    wait_for(Progress::Stopped);
}

/// Hart 1 in L1: runs L2, which starts afresh there (its boot hart has shut down).
fn second_hart(hartid: usize, _: usize) -> ! {
    advance(Progress::Running);
    let plan = vm::plan().unwrap_or_else(|error| fatal!("{error}"));
    hart::run_l2(hartid, &plan)
}

/// RFENCE remote_hfence_gvma(_vmid) doing `fence` on hart `hart`; returns the SBI error.
fn remote_hfence(hart: usize, fence: HfenceGvma) -> isize {
    // A GPA fence covers its page; no GPA is (0, 0), the whole space.
    let (start, size) = fence
        .gpa
        .map_or((0, 0), |gpa| ((gpa & !(PAGE - 1)) as usize, PAGE as usize));
    let mask = 1 << hart;
    match fence.vmid {
        Some(vmid) => bare::sbi::remote_hfence_gvma_vmid(mask, 0, start, size, vmid.into()),
        None => bare::sbi::remote_hfence_gvma(mask, 0, start, size),
    }
}

/// REPORT from L2: what hart `hartid` read at `gpa`. Before the move it must be
/// `MOVED_BEFORE`, after it `MOVED_AFTER`; the old value then means a stale translation.
pub fn report(hartid: usize, gpa: u64, value: u64) -> SbiResult {
    if hartid != SECOND || gpa != MOVED_PAGE {
        return Err(SbiError::InvalidParam);
    }
    println!("L1: hart {hartid} read {value:#018x} at L2 GPA {gpa:#x}");
    let expected = if progress() == Progress::Released {
        MOVED_AFTER
    } else {
        MOVED_BEFORE
    };
    if value != expected {
        if value == MOVED_BEFORE {
            println!("L1: STALE translation on hart {hartid}");
        } else {
            println!("L1: hart {hartid} should have read {expected:#018x}");
        }
        FAILED.store(true, Ordering::Release);
    }
    Ok(0)
}

/// WAIT from L2 on hart 1: returns once hart 0 has moved the page and fenced.
pub fn wait(hartid: usize) -> SbiResult {
    if hartid != SECOND || progress() != Progress::Running {
        return Err(SbiError::Denied);
    }
    advance(Progress::Waiting);
    wait_for(Progress::Released);
    Ok(0)
}
