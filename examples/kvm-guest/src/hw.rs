//! The only unsafe code of `kvm-guest`: the parameter block the VMM wrote, and the doublewords
//! of the test region, by guest-physical address.
//!
//! The parameter block, little-endian doublewords (kvm-vmm writes it; keep the two in step):
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic, the bytes `KVMGUEST` |
//! | 8 | the VM's index |
//! | 16 | rounds to run |
//! | 24 | guest-physical base of the test region (8-byte aligned) |
//! | 32 | its size in bytes (a multiple of 8) |
//! | 40 | flags: bit 0 = time through SBI set_timer instead of Sstc |
//! | 48 | rounds completed, written by the guest |

use core::sync::atomic::{AtomicU64, Ordering};

/// The parameter block's magic.
const MAGIC: u64 = u64::from_le_bytes(*b"KVMGUEST");
const WORDS: usize = 7;
const ROUNDS_DONE: usize = 6;
/// Flag bit 0: the timer through SBI.
const SBI_TIMER: u64 = 1;

/// What the VMM asked for.
pub struct Params {
    pub vm: u64,
    pub rounds: u64,
    pub region_base: u64,
    pub region_size: u64,
    pub sbi_timer: bool,
}

/// Where the block is, once [`Params::read`] accepted it.
static BLOCK: AtomicU64 = AtomicU64::new(0);

/// Whether `[start, start + len)` meets the program's own image (code, data, stacks).
fn overlaps_image(start: u64, len: u64) -> bool {
    let (image_start, image_end) = bare::entry::image_range();
    start < image_end as u64 && (image_start as u64) < start.saturating_add(len)
}

impl Params {
    /// Reads the block at `gpa`; `None` if it is misplaced or lacks the magic, or names a
    /// test region that is misaligned or overlaps the program or the block.
    pub fn read(gpa: u64) -> Option<Params> {
        let block_len = (WORDS * 8) as u64;
        if gpa == 0 || !gpa.is_multiple_of(8) || overlaps_image(gpa, block_len) {
            return None;
        }
        let words = gpa as *const u64;
        let mut value = [0u64; WORDS];
        for (i, v) in value.iter_mut().enumerate() {
            // SAFETY: an aligned doubleword of the block the VMM put in RAM at `gpa` (outside
            // this program's image, checked above); vsatp = Bare makes the address the
            // guest-physical one. Were `gpa` outside RAM, the access would exit to the VMM,
            // which ends the run as a failure.
            *v = unsafe { words.add(i).read_volatile() };
        }
        if value[0] != MAGIC {
            return None;
        }
        let params = Params {
            vm: value[1],
            rounds: value[2],
            region_base: value[3],
            region_size: value[4],
            sbi_timer: value[5] & SBI_TIMER != 0,
        };
        let region_ok = params.region_base.is_multiple_of(8)
            && params.region_size.is_multiple_of(8)
            && params.region_size != 0
            && params.region_base.checked_add(params.region_size).is_some()
            && !overlaps_image(params.region_base, params.region_size)
            && (params.region_base >= gpa + block_len
                || params.region_base + params.region_size <= gpa);
        if !region_ok {
            return None;
        }
        BLOCK.store(gpa, Ordering::Relaxed);
        Some(params)
    }
}

/// Records `rounds` as completed in the block.
pub fn set_rounds_done(rounds: u64) {
    let words = BLOCK.load(Ordering::Relaxed) as *mut u64;
    // SAFETY: the block's rounds-done doubleword; `Params::read` checked the block lies
    // outside the program and the test region, so no Rust object occupies it.
    unsafe { words.add(ROUNDS_DONE).write_volatile(rounds) }
}

/// The word round `round` of VM `vm` stores at `gpa`: the VM in bits 63..56, the round in
/// 55..40, the address in 39..0.
fn pattern(vm: u64, round: u64, gpa: u64) -> u64 {
    (vm << 56) | ((round & 0xffff) << 40) | (gpa & 0xff_ffff_ffff)
}

/// Writes round `round`'s pattern over the test region.
pub fn fill(params: &Params, round: u64) {
    for gpa in (params.region_base..params.region_base + params.region_size).step_by(8) {
        // SAFETY: an aligned doubleword of the test region, which `Params::read` checked lies
        // outside the program's image and the block: no Rust object occupies it.
        unsafe { (gpa as *mut u64).write_volatile(pattern(params.vm, round, gpa)) }
    }
}

/// Reads the test region back: the number of words that differ from round `round`'s
/// pattern, and the first such address (0 if none).
pub fn check(params: &Params, round: u64) -> (u64, u64) {
    let (mut wrong, mut first) = (0, 0);
    for gpa in (params.region_base..params.region_base + params.region_size).step_by(8) {
        // SAFETY: as in `fill`.
        let word = unsafe { (gpa as *const u64).read_volatile() };
        if word != pattern(params.vm, round, gpa) {
            if wrong == 0 {
                first = gpa;
            }
            wrong += 1;
        }
    }
    (wrong, first)
}
