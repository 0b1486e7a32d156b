//! The NACL extension (EID "NACL"): nested acceleration, the calls an L1 hypervisor makes.
//!
//! SBI spec, "Nested Acceleration Extension". The dispatcher checks what the spec lets it
//! check without the host: flags, alignment, the address range, CSR numbers, entry indexes,
//! and whether the feature behind a sync call is offered (else `NOT_SUPPORTED`).

use crate::outcome::Outcome;

/// A NACL feature (SBI spec, NACL, "Feature IDs").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum NaclFeature {
    /// `SYNC_CSR`: CSR writes batched in the shared memory.
    SyncCsr = sbi_spec::nacl::feature_id::SYNC_CSR as u32,
    /// `SYNC_HFENCE`: HFENCE requests queued in the shared memory.
    SyncHfence = sbi_spec::nacl::feature_id::SYNC_HFENCE as u32,
    /// `SYNC_SRET`: SRET to the guest through the shared memory.
    SyncSret = sbi_spec::nacl::feature_id::SYNC_SRET as u32,
    /// `AUTOSWAP_CSR`: CSRs swapped around `sync_sret`.
    AutoswapCsr = sbi_spec::nacl::feature_id::AUTOSWAP_CSR as u32,
}

impl TryFrom<u64> for NaclFeature {
    type Error = u64;

    /// The feature with this ID, or the ID back when it is reserved.
    fn try_from(id: u64) -> Result<Self, u64> {
        const SYNC_CSR: u64 = NaclFeature::SyncCsr as u64;
        const SYNC_HFENCE: u64 = NaclFeature::SyncHfence as u64;
        const SYNC_SRET: u64 = NaclFeature::SyncSret as u64;
        const AUTOSWAP_CSR: u64 = NaclFeature::AutoswapCsr as u64;
        match id {
            SYNC_CSR => Ok(Self::SyncCsr),
            SYNC_HFENCE => Ok(Self::SyncHfence),
            SYNC_SRET => Ok(Self::SyncSret),
            AUTOSWAP_CSR => Ok(Self::AutoswapCsr),
            reserved => Err(reserved),
        }
    }
}

/// SBI NACL, the provider side: an L0 offering nested acceleration to the caller.
pub trait Nacl<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// Whether `feature` is offered to the caller (`probe_feature`; reserved IDs answer 0
    /// without asking).
    fn probe_feature(&mut self, ctx: &mut C, feature: NaclFeature) -> bool;

    /// `set_shmem`: use the shared memory at physical address `shmem` (4 KiB aligned, within
    /// the caller's physical address space), or forget it for `None`. The host answers
    /// `INVALID_ADDRESS` for memory the caller may not use.
    fn set_shmem(&mut self, ctx: &mut C, shmem: Option<u64>) -> Outcome;

    /// `sync_csr`: apply the dirty CSR `csr` (a number of the form 0x2xx-0xExx with bits 9:8
    /// = 2), or every dirty CSR for `None`. The host answers `INVALID_PARAM` for a CSR it
    /// does not implement and `NO_SHMEM` when no shared memory is set.
    fn sync_csr(&mut self, ctx: &mut C, csr: Option<u16>) -> Outcome;

    /// `sync_hfence`: process HFENCE entry `entry` (below the entry count), or every pending
    /// one for `None`.
    fn sync_hfence(&mut self, ctx: &mut C, entry: Option<u32>) -> Outcome;

    /// `sync_sret`: sync, then SRET into the guest; on success it does not return
    /// ([`Departure::EnteredGuest`](crate::Departure::EnteredGuest)).
    fn sync_sret(&mut self, ctx: &mut C) -> Outcome;
}
