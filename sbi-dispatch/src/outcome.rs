//! What an extension answers: return to the caller, never return, trap it, or let the host
//! finish the call.

use crate::error::SbiResult;
use crate::system_reset::{ResetReason, ResetType};

/// The outcome of one SBI call, as an extension decides it and the dispatcher passes it on.
///
/// Only [`Outcome::Return`] writes a0/a1 and resumes after the `ecall`; for the others the host
/// acts (and for [`Outcome::Deferred`], later completes the call with
/// [`SbiCall::write_return`](crate::SbiCall::write_return)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Return `(error, value)` to the caller and resume after its `ecall`.
    Return(SbiResult),
    /// The call does not return to the caller's next instruction.
    Departed(Departure),
    /// Raise this exception in the caller instead of returning.
    InjectTrap(TrapRequest),
    /// The host must finish the call (for example in a user-space VMM) and then write its
    /// return; the dispatcher has validated the arguments.
    Deferred,
}

impl From<SbiResult> for Outcome {
    fn from(result: SbiResult) -> Self {
        Self::Return(result)
    }
}

/// Why a call does not return to the instruction after the caller's `ecall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Departure {
    /// The caller's hart now runs its guest (NACL `sync_sret`).
    EnteredGuest,
    /// The call ended in a return elsewhere in the caller (NACL `sync_sret` with hstatus.SPV
    /// clear: an SRET within the caller's own modes).
    Returned,
    /// The calling hart stopped (HSM `hart_stop`).
    HartStopped,
    /// The calling hart is suspended (HSM `hart_suspend`); it resumes as the suspend type says.
    HartSuspended,
    /// The system is suspended (SUSP `system_suspend`).
    SystemSuspended,
    /// The system resets or shuts down (SRST `system_reset`, legacy `shutdown`).
    SystemReset {
        /// Shutdown, cold or warm reboot, or a vendor type.
        reset_type: ResetType,
        /// Why the caller asked.
        reason: ResetReason,
    },
}

/// An exception to raise in the caller: the values its `scause` and `stval` will hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapRequest {
    /// The exception code (the interrupt bit clear).
    pub cause: u64,
    /// The trap value.
    pub tval: u64,
}
