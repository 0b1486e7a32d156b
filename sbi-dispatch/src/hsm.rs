//! The HSM extension (EID "HSM"): hart state management.

use crate::outcome::Outcome;

/// A hart's state as `hart_get_status` reports it (SBI spec, HSM, "Hart states").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum HartState {
    /// Running.
    Started = sbi_spec::hsm::hart_state::STARTED as u64,
    /// Not running.
    Stopped = sbi_spec::hsm::hart_state::STOPPED as u64,
    /// `hart_start` accepted, not yet running.
    StartPending = sbi_spec::hsm::hart_state::START_PENDING as u64,
    /// `hart_stop` accepted, not yet stopped.
    StopPending = sbi_spec::hsm::hart_state::STOP_PENDING as u64,
    /// Suspended.
    Suspended = sbi_spec::hsm::hart_state::SUSPENDED as u64,
    /// `hart_suspend` accepted, not yet suspended.
    SuspendPending = sbi_spec::hsm::hart_state::SUSPEND_PENDING as u64,
    /// Resuming from a suspend.
    ResumePending = sbi_spec::hsm::hart_state::RESUME_PENDING as u64,
}

impl From<HartState> for u64 {
    fn from(state: HartState) -> u64 {
        state as u64
    }
}

/// The `suspend_type` of `hart_suspend` (SBI spec, HSM, "HSM Hart Suspend Types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SuspendType {
    /// 0x0000_0000: the hart keeps its state and returns from the call on resume.
    DefaultRetentive,
    /// 0x1000_0000-0x7FFF_FFFF: a platform-specific retentive suspend.
    PlatformRetentive(u32),
    /// 0x8000_0000: the hart resumes at `resume_addr`, its state lost.
    DefaultNonRetentive,
    /// 0x9000_0000-0xFFFF_FFFF: a platform-specific non-retentive suspend.
    PlatformNonRetentive(u32),
}

impl SuspendType {
    /// Whether the hart returns from the call (rather than resuming at `resume_addr`).
    pub const fn is_retentive(self) -> bool {
        matches!(self, Self::DefaultRetentive | Self::PlatformRetentive(_))
    }
}

impl TryFrom<u32> for SuspendType {
    type Error = u32;

    /// The type for a value, or the value back when the spec reserves it.
    fn try_from(value: u32) -> Result<Self, u32> {
        use sbi_spec::hsm::suspend_type::{NON_RETENTIVE, RETENTIVE};
        match value {
            RETENTIVE => Ok(Self::DefaultRetentive),
            0x1000_0000..=0x7fff_ffff => Ok(Self::PlatformRetentive(value)),
            NON_RETENTIVE => Ok(Self::DefaultNonRetentive),
            0x9000_0000..=0xffff_ffff => Ok(Self::PlatformNonRetentive(value)),
            reserved => Err(reserved),
        }
    }
}

/// SBI HSM: starting, stopping and suspending the caller's harts.
///
/// The dispatcher has checked every hart ID against the platform's hart count and every
/// suspend type against the reserved ranges.
pub trait Hsm<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `hart_start`: start `hart` at `start_addr` in S-mode with a0 = its ID, a1 = `opaque`.
    fn hart_start(&mut self, ctx: &mut C, hart: u32, start_addr: u64, opaque: u64) -> Outcome;

    /// `hart_stop`: stop the calling hart; on success it does not return
    /// ([`Departure::HartStopped`](crate::Departure::HartStopped)).
    fn hart_stop(&mut self, ctx: &mut C) -> Outcome;

    /// `hart_get_status`: the [`HartState`] of `hart`.
    fn hart_get_status(&mut self, ctx: &mut C, hart: u32) -> Outcome;

    /// `hart_suspend`: suspend the calling hart.
    fn hart_suspend(
        &mut self,
        ctx: &mut C,
        suspend_type: SuspendType,
        resume_addr: u64,
        opaque: u64,
    ) -> Outcome;
}
