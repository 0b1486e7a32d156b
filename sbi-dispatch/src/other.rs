//! Extensions this crate does not type (PMU, STA, FWFT, vendor and firmware ranges, ...).

use crate::call::SbiCall;
use crate::outcome::Outcome;

/// Any further extension: asked for every EID none of the typed slots handles.
pub trait OtherExtensions<C> {
    /// The `probe_extension` answer for `extension`: 0 when absent, else the non-zero value
    /// the extension defines (usually 1). Calls to an absent extension answer `NOT_SUPPORTED`.
    fn probe(&self, extension: u64) -> u64;

    /// Handles a call to an extension that `probe` says is present.
    fn call(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome;
}
