//! The RFENCE extension (EID "RFNC"): remote fences.
//!
//! The three fences any supervisor needs are one trait; the four HFENCE functions, which only
//! a host that runs guest hypervisors can honour, are another. Without a [`RemoteHfence`]
//! implementation they answer `NOT_SUPPORTED`, never a silent success.

use crate::address::FenceRange;
use crate::hart_mask::HartMask;
use crate::outcome::Outcome;

/// SBI RFENCE functions 0-2: instruction-fetch and first-stage TLB fences on other harts.
pub trait Rfence<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `remote_fence_i`: a FENCE.I on every hart of `harts`.
    fn remote_fence_i(&mut self, ctx: &mut C, harts: HartMask) -> Outcome;

    /// `remote_sfence_vma`: an SFENCE.VMA of `range` for every ASID.
    fn remote_sfence_vma(&mut self, ctx: &mut C, harts: HartMask, range: FenceRange) -> Outcome;

    /// `remote_sfence_vma_asid`: an SFENCE.VMA of `range` for `asid`.
    fn remote_sfence_vma_asid(
        &mut self,
        ctx: &mut C,
        harts: HartMask,
        range: FenceRange,
        asid: u16,
    ) -> Outcome;
}

/// SBI RFENCE functions 3-6: the hypervisor fences, for a caller that runs guests of its own.
///
/// A nested-virtualization provider implements this; a VMID or ASID is the caller's own
/// (virtual) one. VVMA fences apply to the VMID in the caller's current `hgatp`.
pub trait RemoteHfence<C> {
    /// Whether the functions are plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `remote_hfence_gvma_vmid`: an HFENCE.GVMA of guest-physical `range` for `vmid`.
    fn remote_hfence_gvma_vmid(
        &mut self,
        ctx: &mut C,
        harts: HartMask,
        range: FenceRange,
        vmid: u16,
    ) -> Outcome;

    /// `remote_hfence_gvma`: an HFENCE.GVMA of guest-physical `range` for every VMID.
    fn remote_hfence_gvma(&mut self, ctx: &mut C, harts: HartMask, range: FenceRange) -> Outcome;

    /// `remote_hfence_vvma_asid`: an HFENCE.VVMA of guest-virtual `range` for `asid`.
    fn remote_hfence_vvma_asid(
        &mut self,
        ctx: &mut C,
        harts: HartMask,
        range: FenceRange,
        asid: u16,
    ) -> Outcome;

    /// `remote_hfence_vvma`: an HFENCE.VVMA of guest-virtual `range` for every ASID.
    fn remote_hfence_vvma(&mut self, ctx: &mut C, harts: HartMask, range: FenceRange) -> Outcome;
}
