//! The order in which L0 applies dirty CSRs: every CSR after the CSRs its value depends on.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized CSR": when several CSRs are synced, a CSR
//! must be synced after any CSR its value depends on (the spec's example: hvip before hip).
//! The list below is Xvisor's sync list reordered so that it keeps that rule (`sbi-nacl.md`
//! §5): delegation before what it masks (hideleg before vsie and vsip), the interrupt sources
//! before the pending bits they feed (hvip before hip and vsip), htimedelta before vstimecmp.
//! Each RV32 high half follows its low half; on RV64 those slots are never dirty and cost
//! nothing. Slots the list does not name are drained after it, in slot order.

use crate::CsrSlot;

/// The slots of `csrs`, checked when the constant is built (a number outside the NACL CSR
/// space, or one named twice, does not compile).
const fn slots<const N: usize>(csrs: [u16; N]) -> [CsrSlot; N] {
    let Some(first) = CsrSlot::from_index(0) else {
        panic!("slot 0 exists");
    };
    let mut out = [first; N];
    let mut i = 0;
    while i < N {
        let Some(slot) = CsrSlot::from_csr(csrs[i]) else {
            panic!("not a NACL CSR number");
        };
        let mut j = 0;
        while j < i {
            if csrs[j] == csrs[i] {
                panic!("a CSR named twice");
            }
            j += 1;
        }
        out[i] = slot;
        i += 1;
    }
    out
}

/// The recommended order for [`crate::Provider::drain_dirty_csrs`].
///
/// hstatus, hedeleg(h), hideleg(h), the AIA controls hvien(h) and hvictl (hvien decides which
/// bits of hvip above 12 are writable), hvip(h), hie, hip, hgeie, hcounteren, htimedelta(h),
/// vstimecmp(h), htval, htinst, hgatp, henvcfg(h), vsstatus, vsip(h), vsie(h), vstvec,
/// vsscratch, vsepc, vscause, vstval, vsatp. An RV32 L0 that applies vstimecmp and vstimecmph
/// one by one can raise a spurious timer interrupt between the two (the low half new, the
/// high half old); it should apply the pair as one 64-bit value.
pub const CSR_SYNC_ORDER: [CsrSlot; 34] = slots([
    0x600, // hstatus
    0x602, // hedeleg
    0x612, // hedelegh
    0x603, // hideleg
    0x613, // hidelegh
    0x608, // hvien
    0x618, // hvienh
    0x609, // hvictl
    0x645, // hvip
    0x655, // hviph
    0x604, // hie
    0x644, // hip
    0x607, // hgeie
    0x606, // hcounteren
    0x605, // htimedelta
    0x615, // htimedeltah
    0x24D, // vstimecmp
    0x25D, // vstimecmph
    0x643, // htval
    0x64A, // htinst
    0x680, // hgatp
    0x60A, // henvcfg
    0x61A, // henvcfgh
    0x200, // vsstatus
    0x244, // vsip
    0x254, // vsiph
    0x204, // vsie
    0x214, // vsieh
    0x205, // vstvec
    0x240, // vsscratch
    0x241, // vsepc
    0x242, // vscause
    0x243, // vstval
    0x280, // vsatp
]);
