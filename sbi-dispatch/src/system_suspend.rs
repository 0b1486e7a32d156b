//! The SUSP extension (EID "SUSP"): system suspend.

use crate::outcome::Outcome;

/// The `sleep_type` of `system_suspend` (SBI spec, SUSP, "System sleep types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SleepType {
    /// 0: suspend to RAM.
    SuspendToRam,
    /// 0x8000_0000-0xFFFF_FFFF: platform specific.
    Platform(u32),
}

impl TryFrom<u32> for SleepType {
    type Error = u32;

    /// The type for a value, or the value back when the spec reserves it.
    fn try_from(value: u32) -> Result<Self, u32> {
        match value {
            0 => Ok(Self::SuspendToRam),
            0x8000_0000..=0xffff_ffff => Ok(Self::Platform(value)),
            reserved => Err(reserved),
        }
    }
}

/// SBI SUSP: suspending the whole system.
pub trait SystemSuspend<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `system_suspend`: on success the system resumes at `resume_addr` with a1 = `opaque`.
    fn system_suspend(
        &mut self,
        ctx: &mut C,
        sleep_type: SleepType,
        resume_addr: u64,
        opaque: u64,
    ) -> Outcome;
}
