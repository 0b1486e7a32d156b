//! The TIME extension (EID "TIME").

use crate::outcome::Outcome;

/// SBI TIME: the supervisor timer.
pub trait Timer<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `set_timer`: raise the supervisor timer interrupt at absolute time `stime_value`, and
    /// clear it until then. On RV32 the dispatcher has joined the a0/a1 halves.
    fn set_timer(&mut self, ctx: &mut C, stime_value: u64) -> Outcome;
}
