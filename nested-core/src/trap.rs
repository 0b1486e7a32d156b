//! Trap entry into L1: what a trap into (virtual) HS-mode writes, from L1's own world or from
//! its guest's.
//!
//! Priv spec, hypervisor chapter, "Trap Entry": sepc, scause, stval and sstatus of L1 are the
//! real VS CSRs while L1 runs; its hstatus (SPV, SPVP, GVA), htval and htinst are virtual.

use crate::counters::{Event, World};
use crate::csr::Effects;
use crate::csr::bits::*;
use crate::hart::{GuestRegs, NestedHart, Outcome};
use crate::host::{Host, HostParts, PhysicalHart, real};
use crate::privilege::VirtualMode;

/// Exception codes the engine raises (priv spec, "Trap Cause Codes").
pub mod cause {
    /// Illegal instruction.
    pub const ILLEGAL_INSTRUCTION: u64 = 2;
    /// Virtual instruction.
    pub const VIRTUAL_INSTRUCTION: u64 = 22;
    /// Instruction access fault.
    pub const FETCH_ACCESS_FAULT: u64 = 1;
    /// Load access fault.
    pub const LOAD_ACCESS_FAULT: u64 = 5;
    /// Store/AMO access fault.
    pub const STORE_ACCESS_FAULT: u64 = 7;
    /// Instruction guest-page fault.
    pub const FETCH_GUEST_PAGE_FAULT: u64 = 20;
    /// Load guest-page fault.
    pub const LOAD_GUEST_PAGE_FAULT: u64 = 21;
    /// Store/AMO guest-page fault.
    pub const STORE_GUEST_PAGE_FAULT: u64 = 23;

    /// The access fault of the same access as guest-page fault `code` (20, 21, 23 give 1, 5,
    /// 7); any other code is returned unchanged.
    pub const fn access_fault(code: u64) -> u64 {
        match code {
            FETCH_GUEST_PAGE_FAULT => FETCH_ACCESS_FAULT,
            LOAD_GUEST_PAGE_FAULT => LOAD_ACCESS_FAULT,
            STORE_GUEST_PAGE_FAULT => STORE_ACCESS_FAULT,
            other => other,
        }
    }
}

/// An exception the engine raises in L1, with what a trap into HS-mode writes besides cause
/// and tval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exception {
    /// The exception or interrupt code.
    pub cause: u64,
    /// An interrupt rather than an exception.
    pub interrupt: bool,
    pub tval: u64,
    /// stval holds a guest virtual address (hstatus.GVA).
    pub gva: bool,
    pub htval: u64,
    pub htinst: u64,
}

impl Exception {
    /// An exception whose tval is not a guest virtual address (htval, htinst zero).
    pub(crate) const fn plain(cause: u64, tval: u64) -> Self {
        Exception {
            cause,
            interrupt: false,
            tval,
            gva: false,
            htval: 0,
            htinst: 0,
        }
    }
}

impl<const CONTEXTS: usize, const GEILEN: usize> NestedHart<CONTEXTS, GEILEN> {
    /// An exception L1 itself took to the host (L1's `mode`, its HS or U) that the engine does
    /// not emulate and the host does not handle: L1 takes it as hardware delivers it to an
    /// HS-mode hypervisor, with `tval`. A guest-page fault (20, 21, 23) means L1 reached a
    /// guest-physical address the host does not map for it, which is, for L1, a physical
    /// address with nothing behind it: L1 takes the access fault of the same access (1, 5,
    /// 7) with the same stval.
    // Priv spec, machine chapter, "Physical Memory Attributes" (an access to a region without
    // the access type faults), and the supervisor chapter's stval.
    pub fn exception_to_l1<H: Host + ?Sized>(
        &mut self,
        code: u64,
        tval: u64,
        mode: VirtualMode,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Outcome {
        self.counters.count_entry(World::L1, false, code);
        let HostParts { hart, .. } = host.parts();
        let exception = Exception::plain(cause::access_fault(code), tval);
        self.raise(exception, mode, regs, hart)
    }

    /// Raises `exception` in L1 as a trap into its (virtual) HS-mode does, taken `from` one of
    /// its modes or its guest's. L1's sepc, scause, stval and sstatus are the real VS CSRs
    /// (the caller has put L1's world in place); hstatus.SPV records whether the trap came
    /// from the guest, SPVP the guest's privilege (only then), GVA whether stval is a guest
    /// virtual address; htval and htinst take the exception's values. The pc is L1's stvec,
    /// plus 4 × cause for an interrupt in vectored mode.
    // Priv spec, hypervisor chapter, "Trap Entry"; supervisor chapter, stvec.
    pub(crate) fn raise(
        &mut self,
        exception: Exception,
        from: VirtualMode,
        regs: &mut GuestRegs,
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> Outcome {
        use crate::csr::number::{HSTATUS, HTINST, HTVAL};
        self.counters.count(Event::ExceptionToL1);
        let mask = self.config().xlen_mask();
        let from_guest = matches!(from, VirtualMode::GuestSupervisor | VirtualMode::GuestUser);
        let supervisor = matches!(from, VirtualMode::Hypervisor | VirtualMode::GuestSupervisor);
        let interrupt_bit = if exception.interrupt {
            1 << (self.config().xlen_bits() - 1)
        } else {
            0
        };
        crate::world::write_vs_trap(
            hart,
            regs.pc & mask,
            exception.cause | interrupt_bit,
            exception.tval & mask,
            supervisor,
        );
        let mut hstatus = self.csrs.read(HSTATUS, 0).unwrap_or(0) & !(HSTATUS_SPV | HSTATUS_GVA);
        if from_guest {
            hstatus =
                (hstatus & !HSTATUS_SPVP) | HSTATUS_SPV | if supervisor { HSTATUS_SPVP } else { 0 };
        }
        if exception.gva {
            hstatus |= HSTATUS_GVA;
        }
        for (csr, value) in [
            (HSTATUS, hstatus),
            (HTVAL, exception.htval),
            (HTINST, exception.htinst),
        ] {
            // These CSRs always exist and hold any value a trap writes.
            let _ = self.csrs.write(csr, value & mask);
        }
        let stvec = hart.read_csr(real::VSTVEC) & mask;
        let vectored = exception.interrupt && stvec & 3 == 1;
        let offset = if vectored {
            exception.cause.wrapping_mul(4)
        } else {
            0
        };
        regs.pc = (stvec & !3).wrapping_add(offset) & mask;
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty(),
        }
    }
}
