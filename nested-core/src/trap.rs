//! Trap entry into L1: what a trap into (virtual) HS-mode writes, from L1's own world or from
//! its guest's.
//!
//! Priv spec, hypervisor chapter, "Trap Entry": sepc, scause, stval and sstatus of L1 are the
//! real VS CSRs while L1 runs; its hstatus (SPV, SPVP, GVA), htval and htinst are virtual.

use crate::counters::Event;
use crate::csr::Effects;
use crate::csr::bits::*;
use crate::hart::{GuestRegs, NestedHart, Outcome};
use crate::host::{PhysicalHart, real};
use crate::privilege::VirtualMode;

/// Exception codes the engine raises (priv spec, "Trap Cause Codes").
pub mod cause {
    /// Illegal instruction.
    pub const ILLEGAL_INSTRUCTION: u64 = 2;
    /// Virtual instruction.
    pub const VIRTUAL_INSTRUCTION: u64 = 22;
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
        hart.write_csr(real::VSEPC, regs.pc & mask);
        hart.write_csr(real::VSCAUSE, exception.cause | interrupt_bit);
        hart.write_csr(real::VSTVAL, exception.tval & mask);
        let status = hart.read_csr(real::VSSTATUS);
        let spie = if status & SSTATUS_SIE != 0 {
            SSTATUS_SPIE
        } else {
            0
        };
        let spp = if supervisor { SSTATUS_SPP } else { 0 };
        hart.write_csr(
            real::VSSTATUS,
            (status & !(SSTATUS_SIE | SSTATUS_SPIE | SSTATUS_SPP)) | spie | spp,
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
