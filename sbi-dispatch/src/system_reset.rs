//! The SRST extension (EID "SRST"): system reset.

use crate::outcome::Outcome;

/// The `reset_type` of `system_reset` (SBI spec, SRST, "Reset types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetType {
    /// 0: power off.
    Shutdown,
    /// 1: a cold reboot.
    ColdReboot,
    /// 2: a warm reboot.
    WarmReboot,
    /// 0xF000_0000-0xFFFF_FFFF: vendor or platform specific.
    Vendor(u32),
}

impl TryFrom<u32> for ResetType {
    type Error = u32;

    /// The type for a value, or the value back when the spec reserves it.
    fn try_from(value: u32) -> Result<Self, u32> {
        use sbi_spec::srst::{RESET_TYPE_COLD_REBOOT, RESET_TYPE_SHUTDOWN, RESET_TYPE_WARM_REBOOT};
        match value {
            RESET_TYPE_SHUTDOWN => Ok(Self::Shutdown),
            RESET_TYPE_COLD_REBOOT => Ok(Self::ColdReboot),
            RESET_TYPE_WARM_REBOOT => Ok(Self::WarmReboot),
            0xf000_0000..=0xffff_ffff => Ok(Self::Vendor(value)),
            reserved => Err(reserved),
        }
    }
}

/// The `reset_reason` of `system_reset` (SBI spec, SRST, "Reset reasons").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetReason {
    /// 0: no reason given.
    NoReason,
    /// 1: a system failure.
    SystemFailure,
    /// 0xE000_0000-0xEFFF_FFFF: specific to the SBI implementation.
    SbiImplementation(u32),
    /// 0xF000_0000-0xFFFF_FFFF: vendor or platform specific.
    Vendor(u32),
}

impl TryFrom<u32> for ResetReason {
    type Error = u32;

    /// The reason for a value, or the value back when the spec reserves it.
    fn try_from(value: u32) -> Result<Self, u32> {
        use sbi_spec::srst::{RESET_REASON_NO_REASON, RESET_REASON_SYSTEM_FAILURE};
        match value {
            RESET_REASON_NO_REASON => Ok(Self::NoReason),
            RESET_REASON_SYSTEM_FAILURE => Ok(Self::SystemFailure),
            0xe000_0000..=0xefff_ffff => Ok(Self::SbiImplementation(value)),
            0xf000_0000..=0xffff_ffff => Ok(Self::Vendor(value)),
            reserved => Err(reserved),
        }
    }
}

/// SBI SRST: resetting or powering off the system.
pub trait SystemReset<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `system_reset`; on success it does not return
    /// ([`Departure::SystemReset`](crate::Departure::SystemReset)).
    fn system_reset(&mut self, ctx: &mut C, reset_type: ResetType, reason: ResetReason) -> Outcome;
}
