//! The IPI extension (EID "sPI").

use crate::hart_mask::HartMask;
use crate::outcome::Outcome;

/// SBI IPI: supervisor software interrupts to other harts.
pub trait Ipi<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `send_ipi`: make a supervisor software interrupt pending on every hart of `harts`.
    fn send_ipi(&mut self, ctx: &mut C, harts: HartMask) -> Outcome;
}
