//! SBI NACL (nested acceleration) as L1 uses it: the decision to use it, one shared memory per
//! hart, HFENCEs queued there, and the entry into L2 with sync_sret.
//!
//! SBI spec, "Nested Acceleration Extension". L1 relies on three features: SYNC_CSR (its H
//! CSR writes go to the shared memory), SYNC_HFENCE (so do its G-stage fences) and SYNC_SRET
//! (which applies both and enters L2). Without all three it does not use NACL.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use gstage::HfenceGvma;
use nacl_shmem::Consumer;
use nacl_shmem::hfence::{HfenceRequest, PageRange};
use sbi_spec::binary::{Error as SbiError, SbiRet};
use sbi_spec::nacl::{EID_NACL, feature_id};

use crate::csr;
use crate::hw::NaclShmem;

/// Whether the harts use NACL; decided once, on the boot hart, before any hart enters L2.
static IN_USE: AtomicBool = AtomicBool::new(false);

/// The features L1 relies on, by name.
const FEATURES: [(usize, &str); 3] = [
    (feature_id::SYNC_CSR, "sync_csr"),
    (feature_id::SYNC_HFENCE, "sync_hfence"),
    (feature_id::SYNC_SRET, "sync_sret"),
];

/// Whether L1 uses NACL, and why.
#[derive(Clone, Copy, Debug)]
pub enum Choice {
    /// Offered with every feature L1 relies on.
    Used,
    /// The SBI below does not offer NACL.
    NotOffered,
    /// `nacl=off`.
    OffByCommandLine,
    /// Offered without this feature.
    Lacks(&'static str),
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::Used => write!(f, "used"),
            Self::NotOffered => write!(f, "not offered"),
            Self::OffByCommandLine => write!(f, "off by command line"),
            Self::Lacks(feature) => write!(f, "offered without {feature}, not used"),
        }
    }
}

/// Probes NACL and its features (unless `allowed` is false) and decides.
pub fn choose(allowed: bool) -> Choice {
    let choice = if !allowed {
        Choice::OffByCommandLine
    } else if bare::sbi::probe(EID_NACL) == 0 {
        Choice::NotOffered
    } else if let Some(&(_, name)) = FEATURES
        .iter()
        .find(|(feature, _)| bare::sbi::nacl_probe_feature(*feature) == 0)
    {
        Choice::Lacks(name)
    } else {
        Choice::Used
    };
    IN_USE.store(matches!(choice, Choice::Used), Ordering::Release);
    choice
}

/// Whether the harts use NACL.
pub fn in_use() -> bool {
    IN_USE.load(Ordering::Acquire)
}

/// Registers hart `hartid`'s shared memory (set_shmem acts on the calling hart only).
pub fn register(hartid: usize) {
    let error = bare::sbi::nacl_set_shmem(NaclShmem::of(hartid).pa());
    if error != 0 {
        fatal!("NACL set_shmem failed on hart {hartid} (SBI error {error})")
    }
}

/// Queues `fence` in the HFENCE entries; the sync_sret that next enters L2 performs it (the
/// hart runs no L2 before). A fence that cannot be queued is done with the instruction
/// itself, which L0 emulates.
pub fn hfence_gvma(shmem: &mut Consumer<NaclShmem>, fence: HfenceGvma) {
    let sync_all = || sbi_result(bare::sbi::nacl_sync_hfence(usize::MAX));
    if shmem.queue_hfence(&request(fence), sync_all).is_err() {
        bare::fence::hfence_gvma(fence.vmid, fence.gpa);
    }
}

/// The HFENCE entry that does what `fence` does (a GPA fence covers its 4 KiB page).
fn request(fence: HfenceGvma) -> HfenceRequest {
    let page = fence.gpa.and_then(|gpa| PageRange::covering(gpa, 1).ok());
    match (fence.vmid, page) {
        (Some(vmid), Some(range)) => HfenceRequest::GvmaVmid { vmid, range },
        (Some(vmid), None) => HfenceRequest::GvmaVmidAll { vmid },
        (None, Some(range)) => HfenceRequest::Gvma { range },
        (None, None) => HfenceRequest::GvmaAll,
    }
}

/// Enters L2 at `pc` with registers `x` (x1..x31): they go to the SRET context, and
/// sync_sret applies the dirty CSRs and pending HFENCEs, loads them and does L1's SRET
/// (sstatus.SPP, hstatus.SPV and sepc set as for a real one). It returns only on failure.
pub fn sync_sret(shmem: &mut Consumer<NaclShmem>, x: &[u64; 32], pc: u64) -> ! {
    if let Err(error) = shmem.set_sret_gprs(x) {
        fatal!("NACL SRET context not written: {error:?}")
    }
    bare::csr::write(csr::SEPC, pc);
    let error = bare::sbi::nacl_sync_sret();
    fatal!("NACL sync_sret failed (SBI error {error})")
}

/// An SBI error code as a result.
fn sbi_result(error: isize) -> Result<(), SbiError> {
    SbiRet {
        error: error as usize,
        value: 0,
    }
    .into_result()
    .map(|_| ())
}
