//! The DBCN extension (EID "DBCN"): the debug console.

use crate::address::PhysicalRange;
use crate::outcome::Outcome;

/// SBI DBCN: reading and writing the debug console.
///
/// The dispatcher has checked that each buffer lies within the caller's physical address
/// space (else `INVALID_PARAM`); the host checks that it is memory the caller owns.
pub trait Console<C> {
    /// Whether the extension is plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// `console_write`: write up to `buffer.len` bytes, without blocking; return how many.
    fn console_write(&mut self, ctx: &mut C, buffer: PhysicalRange) -> Outcome;

    /// `console_read`: read up to `buffer.len` bytes, without blocking; return how many.
    fn console_read(&mut self, ctx: &mut C, buffer: PhysicalRange) -> Outcome;

    /// `console_write_byte`: write one byte, blocking until it is written.
    fn console_write_byte(&mut self, ctx: &mut C, byte: u8) -> Outcome;
}
