//! [`NestedHart`]: the virtual H extension of one L1 hart and the emulation of the
//! instructions L1 cannot execute itself.

use crate::config::NestedConfig;
use crate::counters::{Counters, Event};
use crate::csr::bits::*;
use crate::csr::{CsrError, Effects, VirtualCsrs};
use crate::host::{Host, real};
use crate::insn::{CsrOp, CsrSource, Instruction, Reg};
use crate::privilege::{Permission, VirtualMode, permission};
use gstage::{Fences, Hgatp, ShadowConfig, ShadowManager};

/// Exception codes the engine raises (priv spec, "Trap Cause Codes").
pub mod cause {
    /// Illegal instruction.
    pub const ILLEGAL_INSTRUCTION: u64 = 2;
    /// Virtual instruction.
    pub const VIRTUAL_INSTRUCTION: u64 = 22;
}

/// L1's general-purpose registers and pc at the trap, as the host saved them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestRegs {
    /// x0 to x31; x0 is read as zero and never written.
    pub x: [u64; 32],
    /// The pc of the trapping instruction (sepc); the engine moves it on.
    pub pc: u64,
}

impl GuestRegs {
    fn get(&self, reg: Reg) -> u64 {
        if reg == 0 {
            0
        } else {
            self.x[usize::from(reg & 31)]
        }
    }

    fn set(&mut self, reg: Reg, value: u64) {
        if reg != 0 {
            self.x[usize::from(reg & 31)] = value;
        }
    }
}

/// A trap the hardware took to the host while this hart's L1 ran, as the host saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trap {
    /// scause (without the interrupt bit for exceptions).
    pub cause: u64,
    /// stval: for an illegal or virtual instruction, its bits when the hardware reports them
    /// (0 otherwise).
    pub tval: u64,
    /// The mode L1 was in: its HS (real VS) or its U (real VU), from the real hstatus.SPVP.
    pub mode: VirtualMode,
}

/// What the host does after the engine handled a trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Resume L1 at `regs.pc` in real VS-mode (`supervisor`) or VU-mode, acting on `effects`.
    Resume {
        /// Return to L1's HS (real VS) rather than its U (real VU).
        supervisor: bool,
        /// What changed that the host must act on (timer, interrupts, hgatp, SPV).
        effects: Effects,
    },
    /// L1 executed WFI: resume at `regs.pc` (already past it) once an interrupt is pending
    /// for it, or at once.
    WaitForInterrupt,
    /// L1 executed SRET with virtual hstatus.SPV = 1: it enters its guest (L2).
    EnterGuest,
}

/// The nested-virtualization state of one L1 hart.
///
/// `CONTEXTS` is how many shadow G-stages (one per L1 guest address space) the hart keeps.
#[derive(Debug)]
pub struct NestedHart<const CONTEXTS: usize> {
    /// The physical VMID under which the host runs L1 itself.
    l1_vmid: u16,
    csrs: VirtualCsrs,
    shadow: ShadowManager<CONTEXTS>,
    counters: Counters,
}

impl<const CONTEXTS: usize> NestedHart<CONTEXTS> {
    /// A hart at reset: virtual H CSRs zero, hgatp Bare, no shadow context. `l1_vmid` is the
    /// physical VMID under which the host runs L1 itself.
    pub fn new(config: NestedConfig, shadow: ShadowConfig, l1_vmid: u16) -> Self {
        Self {
            l1_vmid,
            csrs: VirtualCsrs::new(config),
            shadow: ShadowManager::new(shadow),
            counters: Counters::default(),
        }
    }

    /// The configuration L1 sees.
    pub fn config(&self) -> &NestedConfig {
        self.csrs.config()
    }

    /// L1's virtual H and VS CSRs.
    pub fn csrs(&self) -> &VirtualCsrs {
        &self.csrs
    }

    /// The shadow G-stages of L1's guests.
    pub fn shadow(&self) -> &ShadowManager<CONTEXTS> {
        &self.shadow
    }

    /// What the engine has done, by kind.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Handles an illegal-instruction (2) or virtual-instruction (22) trap taken while L1
    /// ran: decodes the instruction (from `trap.tval`, else fetched at `regs.pc`), applies it
    /// to the virtual state or raises the exception the spec names in L1.
    pub fn emulate(&mut self, trap: &Trap, regs: &mut GuestRegs, host: &mut impl Host) -> Outcome {
        let xlen = self.config().xlen;
        let bits = match u32::try_from(trap.tval) {
            Ok(bits) if bits != 0 => bits,
            _ => match host.fetch_instruction(regs.pc) {
                Ok(bits) => bits,
                Err(fault) => return self.raise(fault.cause, regs.pc, trap.mode, regs, host),
            },
        };
        let Some(insn) = Instruction::decode(bits, xlen) else {
            return self.raise(
                cause::ILLEGAL_INSTRUCTION,
                u64::from(bits),
                trap.mode,
                regs,
                host,
            );
        };
        let hstatus = self.csrs.read(crate::csr::number::HSTATUS, 0).unwrap_or(0);
        match permission(&insn, trap.mode, hstatus) {
            Permission::Legal => {}
            Permission::VirtualInstruction => {
                return self.raise(
                    cause::VIRTUAL_INSTRUCTION,
                    u64::from(bits),
                    trap.mode,
                    regs,
                    host,
                );
            }
            Permission::Illegal => {
                return self.raise(
                    cause::ILLEGAL_INSTRUCTION,
                    u64::from(bits),
                    trap.mode,
                    regs,
                    host,
                );
            }
        }
        let supervisor = trap.mode == VirtualMode::Hypervisor;
        let next = regs.pc.wrapping_add(4) & self.config().xlen_mask();
        let effects = match insn {
            Instruction::Csr {
                op,
                rd,
                source,
                csr,
            } => match self.csr_op(op, rd, source, csr, regs, host) {
                Ok(effects) => effects,
                Err(_) => {
                    return self.raise(
                        cause::ILLEGAL_INSTRUCTION,
                        u64::from(bits),
                        trap.mode,
                        regs,
                        host,
                    );
                }
            },
            Instruction::Sret => return self.sret(regs, host),
            Instruction::Wfi => {
                self.counters.count(Event::Wfi);
                regs.pc = next;
                return Outcome::WaitForInterrupt;
            }
            Instruction::SfenceVma { rs1, rs2 } => {
                self.counters.count(Event::SfenceVma);
                self.sfence_vma(regs.get(rs1), regs.get(rs2), rs1, rs2, host);
                Effects::empty()
            }
            Instruction::HfenceVvma { rs1, rs2, .. } => {
                self.counters.count(Event::HfenceVvma);
                self.hfence_vvma(regs.get(rs1), regs.get(rs2), rs1, rs2, host);
                Effects::empty()
            }
            Instruction::HfenceGvma { rs1, rs2, .. } => {
                self.counters.count(Event::HfenceGvma);
                self.hfence_gvma(regs.get(rs1), regs.get(rs2), rs1, rs2, host);
                Effects::empty()
            }
            Instruction::Hlv { .. } | Instruction::Hsv { .. } => {
                return self.raise(
                    cause::ILLEGAL_INSTRUCTION,
                    u64::from(bits),
                    trap.mode,
                    regs,
                    host,
                );
            }
        };
        regs.pc = next;
        Outcome::Resume {
            supervisor,
            effects,
        }
    }

    /// A Zicsr instruction on an H or VS CSR from L1's HS-mode.
    fn csr_op(
        &mut self,
        op: CsrOp,
        rd: Reg,
        source: CsrSource,
        csr: u16,
        regs: &mut GuestRegs,
        host: &impl Host,
    ) -> Result<Effects, CsrError> {
        let mask = self.config().xlen_mask();
        let (operand, source_is_zero) = match source {
            CsrSource::Register(rs1) => (regs.get(rs1) & mask, rs1 == 0),
            CsrSource::Immediate(imm) => (u64::from(imm), imm == 0),
        };
        let writes = op == CsrOp::ReadWrite || !source_is_zero;
        let row = self.csrs.row(csr).ok_or(CsrError::Absent)?;
        if writes && row.is_read_only() {
            return Err(CsrError::ReadOnly);
        }
        let now = host.read_csr(real::TIME);
        let old = self.csrs.read(csr, now)?;
        self.counters.count(Event::CsrRead);
        let effects = if writes {
            self.counters.count(Event::CsrWrite);
            let new = match op {
                CsrOp::ReadWrite => operand,
                CsrOp::ReadSet => old | operand,
                CsrOp::ReadClear => old & !operand,
            };
            self.csrs.write(csr, new)?
        } else {
            Effects::empty()
        };
        regs.set(rd, old);
        Ok(effects)
    }

    /// SRET from L1's HS-mode: into L2 when virtual hstatus.SPV is set, else the return to
    /// L1's own U or HS that real hardware does at V=1 (it trapped only because the host
    /// asked, with the real hstatus.VTSR).
    fn sret(&mut self, regs: &mut GuestRegs, host: &mut impl Host) -> Outcome {
        self.counters.count(Event::Sret);
        let hstatus = self.csrs.read(crate::csr::number::HSTATUS, 0).unwrap_or(0);
        if hstatus & HSTATUS_SPV != 0 {
            return Outcome::EnterGuest;
        }
        let status = host.read_csr(real::VSSTATUS);
        let supervisor = status & SSTATUS_SPP != 0;
        let sie = if status & SSTATUS_SPIE != 0 {
            SSTATUS_SIE
        } else {
            0
        };
        let status = (status & !(SSTATUS_SIE | SSTATUS_SPP)) | sie | SSTATUS_SPIE;
        host.write_csr(real::VSSTATUS, status);
        regs.pc = host.read_csr(real::VSEPC);
        Outcome::Resume {
            supervisor,
            effects: Effects::empty(),
        }
    }

    /// SFENCE.VMA that trapped from L1's HS (the host set VTVM): L1's own VS-stage entries
    /// live under the host's VMID for L1, which the host flushes with an HFENCE.VVMA.
    fn sfence_vma(&mut self, va: u64, asid: u64, rs1: Reg, rs2: Reg, host: &mut impl Host) {
        host.hfence_vvma(
            self.l1_vmid,
            (rs2 != 0).then_some(asid as u16),
            (rs1 != 0).then_some(va),
        );
    }

    /// HFENCE.VVMA from L1: L2's VS-stage entries for L1's current VMID live under the
    /// physical VMIDs of the shadow contexts of that VMID.
    fn hfence_vvma(&mut self, va: u64, asid: u64, rs1: Reg, rs2: Reg, host: &mut impl Host) {
        let vmid = self.current_l1_vmid();
        let asid = (rs2 != 0).then_some(asid as u16);
        let va = (rs1 != 0).then_some(va);
        for key in self.shadow.keys().filter(|key| key.vmid == vmid) {
            if let Some(shadow) = self.shadow.hgatp(key) {
                host.hfence_vvma(shadow.vmid(), asid, va);
            }
        }
    }

    /// HFENCE.GVMA from L1: drop the shadow leaves derived from the fenced L1 mappings, and
    /// fence what the hardware may have cached of them.
    fn hfence_gvma(
        &mut self,
        gpa_shifted: u64,
        vmid: u64,
        rs1: Reg,
        rs2: Reg,
        host: &mut impl Host,
    ) {
        let vmid = (rs2 != 0).then_some(vmid as u16 & self.vmid_mask());
        let mut fences = Fences::new();
        if rs1 == 0 {
            self.shadow.invalidate_vmid(vmid, host, &mut fences);
        } else {
            // rs1 holds the GPA shifted right by 2; the L1 leaf that contains it is dropped.
            let gpa = (gpa_shifted & self.config().xlen_mask()) << 2;
            self.shadow.invalidate_gpa(vmid, gpa, 1, host, &mut fences);
        }
        for fence in fences.as_slice() {
            host.hfence_gvma(fence.vmid, fence.gpa);
        }
    }

    fn vmid_mask(&self) -> u16 {
        ((1u32 << self.config().vmid_bits.min(16)) - 1) as u16
    }

    fn current_l1_vmid(&self) -> u16 {
        let raw = self.csrs.read(crate::csr::number::HGATP, 0).unwrap_or(0);
        Hgatp::decode(self.config().xlen, raw)
            .map(|h| h.vmid())
            .unwrap_or(0)
    }

    /// Raises exception `cause` with `tval` in L1, from `mode` (its HS or U), as a trap into
    /// (virtual) HS-mode from V=0 does: L1's sepc, scause, stval and sstatus are the real
    /// vs* CSRs; its virtual hstatus.SPV and GVA clear, htval and htinst zero.
    // Priv spec, hypervisor chapter, "Trap Entry".
    fn raise(
        &mut self,
        cause: u64,
        tval: u64,
        mode: VirtualMode,
        regs: &mut GuestRegs,
        host: &mut impl Host,
    ) -> Outcome {
        use crate::csr::number::{HSTATUS, HTINST, HTVAL};
        self.counters.count(Event::ExceptionToL1);
        let mask = self.config().xlen_mask();
        host.write_csr(real::VSEPC, regs.pc);
        host.write_csr(real::VSCAUSE, cause);
        host.write_csr(real::VSTVAL, tval & mask);
        let status = host.read_csr(real::VSSTATUS);
        let spie = if status & SSTATUS_SIE != 0 {
            SSTATUS_SPIE
        } else {
            0
        };
        let spp = if mode == VirtualMode::Hypervisor {
            SSTATUS_SPP
        } else {
            0
        };
        host.write_csr(
            real::VSSTATUS,
            (status & !(SSTATUS_SIE | SSTATUS_SPIE | SSTATUS_SPP)) | spie | spp,
        );
        let hstatus = self.csrs.read(HSTATUS, 0).unwrap_or(0);
        let trap_written = [
            (HSTATUS, hstatus & !(HSTATUS_SPV | HSTATUS_GVA)),
            (HTVAL, 0),
            (HTINST, 0),
        ];
        for (csr, value) in trap_written {
            // These CSRs always exist and accept these values.
            let _ = self.csrs.write(csr, value);
        }
        regs.pc = host.read_csr(real::VSTVEC) & !3 & mask;
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty(),
        }
    }
}
