//! The legacy v0.1 extensions (EIDs 0x00-0x08): one function each, a0 returned only.
//!
//! SBI spec, "Legacy Extensions". The hart masks of the legacy IPI and fence calls are passed
//! by address (a supervisor virtual address, 0 for every hart), so the host reads them.

use crate::outcome::Outcome;

/// The legacy v0.1 calls, for old supervisors.
pub trait Legacy<C> {
    /// Whether the extensions are plugged in; only [`Absent`](crate::Absent) says no.
    #[doc(hidden)]
    const PRESENT: bool = true;

    /// EID 0x00 `sbi_set_timer` (on RV32 the a0/a1 halves are joined).
    fn set_timer(&mut self, ctx: &mut C, stime_value: u64) -> Outcome;

    /// EID 0x01 `sbi_console_putchar`.
    fn console_putchar(&mut self, ctx: &mut C, byte: u8) -> Outcome;

    /// EID 0x02 `sbi_console_getchar`: the byte, or -1 (an error code) when there is none.
    fn console_getchar(&mut self, ctx: &mut C) -> Outcome;

    /// EID 0x03 `sbi_clear_ipi`.
    fn clear_ipi(&mut self, ctx: &mut C) -> Outcome;

    /// EID 0x04 `sbi_send_ipi`, the hart mask at address `hart_mask`.
    fn send_ipi(&mut self, ctx: &mut C, hart_mask: u64) -> Outcome;

    /// EID 0x05 `sbi_remote_fence_i`.
    fn remote_fence_i(&mut self, ctx: &mut C, hart_mask: u64) -> Outcome;

    /// EID 0x06 `sbi_remote_sfence_vma`.
    fn remote_sfence_vma(&mut self, ctx: &mut C, hart_mask: u64, start: u64, size: u64) -> Outcome;

    /// EID 0x07 `sbi_remote_sfence_vma_asid`.
    fn remote_sfence_vma_asid(
        &mut self,
        ctx: &mut C,
        hart_mask: u64,
        start: u64,
        size: u64,
        asid: u64,
    ) -> Outcome;

    /// EID 0x08 `sbi_shutdown`; it does not return.
    fn shutdown(&mut self, ctx: &mut C) -> Outcome;
}
