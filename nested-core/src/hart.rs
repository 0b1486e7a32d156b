//! [`NestedHart`]: the virtual H extension of one L1 hart and the emulation of the
//! instructions L1 cannot execute itself.

use crate::access::{HypervisorAccess, Kind, L1Tables};
use crate::aia::{L1Aia, rmw_op};
use crate::config::NestedConfig;
use crate::counters::{Counters, Event, World};
use crate::csr::bits::*;
use crate::csr::{CsrError, Effects, VirtualCsrs};
use crate::host::{FramePool, GuestFileHardware, GuestMemory, Host, HostParts, PhysicalHart, real};
use crate::insn::{CsrOp, CsrSource, Instruction, Reg};
use crate::privilege::{Permission, VirtualMode, permission};
use crate::trap::{Exception, cause};
use crate::world::SavedL1;
use aia_virt::{CsrOp as Rmw, CsrTrap};
use gstage::{
    ContextKey, Fences, FillError, Filled, Hgatp, ShadowConfig, ShadowError, ShadowManager,
};

/// L1's general-purpose registers and pc at the trap, as the host saved them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestRegs {
    /// x0 to x31; x0 is read as zero and never written.
    pub x: [u64; 32],
    /// The pc of the trapping instruction (sepc); the engine moves it on.
    pub pc: u64,
}

impl GuestRegs {
    pub(crate) fn get(&self, reg: Reg) -> u64 {
        if reg == 0 {
            0
        } else {
            self.x[usize::from(reg & 31)]
        }
    }

    pub(crate) fn set(&mut self, reg: Reg, value: u64) {
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

/// Why a shadow fault installed nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShadowFault {
    /// No context could be made for L1's hgatp.
    Activate(ShadowError),
    /// The fill failed: an L1 fault to reflect, an unbacked L1 address, ...
    Fill(FillError),
}

/// Executes on the real hart the HFENCE.GVMAs a shadow operation reported.
pub(crate) fn execute(fences: &Fences, hart: &mut (impl PhysicalHart + ?Sized)) {
    for fence in fences.as_slice() {
        hart.hfence_gvma(fence.vmid, fence.gpa);
    }
}

/// Above this many pages an HFENCE.VVMA range is fenced whole rather than page by page.
pub const VVMA_PAGE_LIMIT: u64 = 64;

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
    /// An interrupt for the host: handle it, then resume the guest (or make L1 take one
    /// with `NestedHart::interrupt_l1`).
    HostInterrupt,
    /// L2 accessed guest-physical `gpa`, which L1 maps to `l1_gpa`, memory the host does not
    /// back for L1 or does not grant for this access (an emulated device, or a read-only
    /// page): the host emulates the access or faults L1.
    HostMemoryFault {
        /// L2's guest physical address.
        gpa: u64,
        /// The L1 guest physical address L1 maps it to.
        l1_gpa: u64,
    },
    /// No shadow G-stage could be built for L1's hgatp.
    ShadowUnavailable(ShadowError),
    /// A shadow fill failed for a reason that is the host's to handle (pool exhausted).
    ShadowFillFailed(FillError),
}

/// The nested-virtualization state of one L1 hart.
///
/// `CONTEXTS` is how many shadow G-stages (one per L1 guest address space) the hart keeps;
/// `GEILEN` how many virtual guest interrupt files L1 gets when the configuration offers it
/// the AIA (at most 63, checked when the hart's type is built; ignored without AIA).
#[derive(Debug)]
pub struct NestedHart<const CONTEXTS: usize, const GEILEN: usize = 0> {
    /// The physical VMID under which the host runs L1 itself.
    pub(crate) l1_vmid: u16,
    pub(crate) csrs: VirtualCsrs,
    pub(crate) shadow: ShadowManager<CONTEXTS>,
    pub(crate) counters: Counters,
    /// L1's world while its guest runs.
    pub(crate) saved: Option<SavedL1>,
    /// The guest-physical address of L1's NACL shared memory, once set.
    pub(crate) nacl_shmem: Option<u64>,
    /// L1's AIA, when offered.
    pub(crate) aia: Option<L1Aia<GEILEN>>,
}

impl<const CONTEXTS: usize, const GEILEN: usize> NestedHart<CONTEXTS, GEILEN> {
    /// A hart at reset: virtual H CSRs zero, hgatp Bare, no shadow context, every virtual
    /// guest interrupt file emulated and empty. `l1_vmid` is the physical VMID under which the
    /// host runs L1 itself.
    ///
    /// With `config.aia`, L1 gets `GEILEN` guest interrupt lines (`config.geilen` is set to
    /// it) and the offer is clamped to the nearest one `aia-virt` accepts; an RV32 L1 is
    /// offered no AIA. [`NestedHart::config`] tells what L1 is offered.
    pub fn new(config: NestedConfig, shadow: ShadowConfig, l1_vmid: u16) -> Self {
        let (config, aia) = L1Aia::offer(config);
        Self {
            l1_vmid,
            csrs: VirtualCsrs::new(config),
            shadow: ShadowManager::new(shadow),
            counters: Counters::default(),
            saved: None,
            nacl_shmem: None,
            aia,
        }
    }

    /// The configuration L1 sees.
    pub fn config(&self) -> &NestedConfig {
        self.csrs.config()
    }

    /// L1's virtual H and VS CSRs (with AIA, those whose state `aia-virt` holds, wholly or
    /// in part, are answered by [`NestedHart::read_csr`] instead).
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

    /// The key of the shadow context for L1's current virtual hgatp.
    pub fn current_context(&self) -> ContextKey {
        let raw = self.csrs.read(crate::csr::number::HGATP, 0).unwrap_or(0);
        let hgatp = Hgatp::decode(self.config().xlen, raw).unwrap_or(Hgatp::new(
            gstage::GStageMode::Bare,
            0,
            0,
        ));
        ContextKey::from_hgatp(hgatp)
    }

    /// L2, running under L1's current hgatp, took a guest-page fault at `gpa` for `access`
    /// (explicit, or an implicit access to a VS-stage table entry):
    /// makes that context active (building it if needed), walks L1's G-stage and installs the
    /// shadow leaf, and executes the real fences that requires. Returns the physical hgatp
    /// and the leaf, or why nothing was installed (an L1 fault is reflected into L1).
    pub fn shadow_fault<H: Host + ?Sized>(
        &mut self,
        gpa: u64,
        access: gstage::Access,
        host: &mut H,
    ) -> Result<(Hgatp, Filled), ShadowFault> {
        let HostParts {
            memory,
            map,
            pool,
            hart,
            ..
        } = host.parts();
        let shadow = self
            .activate_shadow(pool, hart)
            .map_err(ShadowFault::Activate)?;
        let mut fences = Fences::new();
        let l1_tables = &mut L1Tables(&mut *memory);
        let filled = self.shadow.fill(
            self.current_context(),
            gpa,
            access,
            l1_tables,
            map,
            pool,
            &mut fences,
        );
        execute(&fences, hart);
        filled.map(|leaf| (shadow, leaf)).map_err(ShadowFault::Fill)
    }

    /// Handles an illegal-instruction (2) or virtual-instruction (22) trap taken while L1
    /// ran: decodes the instruction (from `trap.tval`, else fetched at `regs.pc`), applies it
    /// to the virtual state or raises the exception the spec names in L1.
    pub fn emulate<H: Host + ?Sized>(
        &mut self,
        trap: &Trap,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Outcome {
        let HostParts {
            memory,
            pool,
            hart,
            files,
            ..
        } = host.parts();
        self.counters.count_entry(World::L1, false, trap.cause);
        let xlen = self.config().xlen;
        let bits = match u32::try_from(trap.tval) {
            Ok(bits) if bits != 0 => bits,
            _ => match hart.fetch_instruction(regs.pc) {
                Ok(bits) => bits,
                Err(fault) => {
                    return self.raise(
                        Exception::plain(fault.cause, regs.pc),
                        trap.mode,
                        regs,
                        hart,
                    );
                }
            },
        };
        let Some(insn) = Instruction::decode(bits, xlen) else {
            return self.raise(
                Exception::plain(cause::ILLEGAL_INSTRUCTION, bits.into()),
                trap.mode,
                regs,
                hart,
            );
        };
        let hstatus = self.csrs.read(crate::csr::number::HSTATUS, 0).unwrap_or(0);
        match permission(&insn, trap.mode, hstatus) {
            Permission::Legal => {}
            Permission::VirtualInstruction => {
                return self.raise(
                    Exception::plain(cause::VIRTUAL_INSTRUCTION, bits.into()),
                    trap.mode,
                    regs,
                    hart,
                );
            }
            Permission::Illegal => {
                return self.raise(
                    Exception::plain(cause::ILLEGAL_INSTRUCTION, bits.into()),
                    trap.mode,
                    regs,
                    hart,
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
            } => match self.csr_op(op, rd, source, csr, regs, memory, hart, files) {
                Ok(effects) => effects,
                Err(refused) => {
                    let code = match refused {
                        CsrTrap::IllegalInstruction => cause::ILLEGAL_INSTRUCTION,
                        CsrTrap::VirtualInstruction => cause::VIRTUAL_INSTRUCTION,
                    };
                    return self.raise(Exception::plain(code, bits.into()), trap.mode, regs, hart);
                }
            },
            Instruction::Sret => return self.sret(regs, pool, hart),
            Instruction::Wfi => {
                self.counters.count(Event::Wfi);
                regs.pc = next;
                return Outcome::WaitForInterrupt;
            }
            Instruction::SfenceVma { rs1, rs2 } => {
                self.counters.count(Event::SfenceVma);
                self.sfence_vma(regs.get(rs1), regs.get(rs2), rs1, rs2, hart);
                Effects::empty()
            }
            Instruction::HfenceVvma { rs1, rs2, .. } => {
                self.counters.count(Event::HfenceVvma);
                self.hfence_vvma(regs.get(rs1), regs.get(rs2), rs1, rs2, hart);
                Effects::empty()
            }
            Instruction::HfenceGvma { rs1, rs2, .. } => {
                self.counters.count(Event::HfenceGvma);
                self.hfence_gvma(regs.get(rs1), regs.get(rs2), rs1, rs2, pool, hart);
                Effects::empty()
            }
            Instruction::Hlv {
                width,
                unsigned,
                execute,
                rd,
                rs1,
            } => {
                self.counters.count(Event::Hlv);
                let kind = Kind::Load {
                    unsigned,
                    execute,
                    rd,
                };
                let access = HypervisorAccess {
                    bits,
                    width,
                    kind,
                    rs1,
                };
                if let Err(stop) = self.hypervisor_access(access, regs, memory, hart) {
                    return self.stop_access(stop, trap.mode, regs, hart);
                }
                Effects::empty()
            }
            Instruction::Hsv { width, rs1, rs2 } => {
                self.counters.count(Event::Hsv);
                let access = HypervisorAccess {
                    bits,
                    width,
                    kind: Kind::Store { rs2 },
                    rs1,
                };
                if let Err(stop) = self.hypervisor_access(access, regs, memory, hart) {
                    return self.stop_access(stop, trap.mode, regs, hart);
                }
                Effects::empty()
            }
        };
        regs.pc = next;
        Outcome::Resume {
            supervisor,
            effects,
        }
    }

    /// A Zicsr instruction on an H, VS or AIA CSR from L1's HS-mode; the trap it raises if
    /// refused.
    #[allow(clippy::too_many_arguments)]
    fn csr_op(
        &mut self,
        op: CsrOp,
        rd: Reg,
        source: CsrSource,
        csr: u16,
        regs: &mut GuestRegs,
        memory: &mut (impl GuestMemory + ?Sized),
        hart: &(impl PhysicalHart + ?Sized),
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<Effects, CsrTrap> {
        let mask = self.config().xlen_mask();
        let (operand, source_is_zero) = match source {
            CsrSource::Register(rs1) => (regs.get(rs1) & mask, rs1 == 0),
            CsrSource::Immediate(imm) => (u64::from(imm), imm == 0),
        };
        let op = rmw_op(op, operand, source_is_zero);
        let now = self.l1_time(hart);
        let (old, effects) = self.l1_csr_rmw(csr, op, now, files)?;
        self.counters.count(Event::CsrRead);
        if op.writes() {
            self.counters.count(Event::CsrWrite);
            self.nacl_trapped_write(csr, memory, now, files);
        }
        regs.set(rd, old);
        Ok(effects)
    }

    /// One CSR instruction of L1's HS-mode (`time` = `now`): the AIA's CSRs go to `aia-virt`
    /// (or the engine's combination of its state and the table's), the others to the table.
    /// Returns the old value (rd's) and what changed, or the trap.
    pub(crate) fn l1_csr_rmw(
        &mut self,
        csr: u16,
        op: Rmw,
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<(u64, Effects), CsrTrap> {
        if self.aia_answers(csr) {
            return self.aia_csr(csr, op, now, files);
        }
        // Absent and read-only CSRs are illegal from every mode.
        let illegal = |_: CsrError| CsrTrap::IllegalInstruction;
        let row = self.csrs.row(csr).ok_or(CsrTrap::IllegalInstruction)?;
        if op.writes() && row.is_read_only() {
            return Err(CsrTrap::IllegalInstruction);
        }
        let old = self.csrs.read(csr, now).map_err(illegal)?;
        let effects = match op.apply(old) {
            Some(new) => self.write_table(csr, new).map_err(illegal)?,
            None => Effects::empty(),
        };
        Ok((old, effects))
    }

    /// Writes a CSR of the table, passing hstatus.VGEIN on to the AIA.
    pub(crate) fn write_table(&mut self, csr: u16, value: u64) -> Result<Effects, CsrError> {
        let effects = self.csrs.write(csr, value)?;
        if csr == crate::csr::number::HSTATUS {
            self.pass_vgein();
        }
        Ok(effects)
    }

    /// Reads CSR `csr` as L1's HS-mode would (CSRRS with x0), at L1's `time`: its value,
    /// or the trap the read raises. Unlike [`NestedHart::csrs`], it covers the AIA's CSRs.
    pub fn read_csr<H: Host + ?Sized>(&mut self, csr: u16, host: &mut H) -> Result<u64, CsrTrap> {
        let HostParts { hart, files, .. } = host.parts();
        let now = self.l1_time(hart);
        self.l1_csr_rmw(csr, Rmw::Read, now, files)
            .map(|(value, _)| value)
    }

    /// SRET from L1's HS-mode: into L2 when virtual hstatus.SPV is set, else the return to
    /// L1's own U or HS that real hardware does at V=1 (it trapped only because the host
    /// asked, with the real hstatus.VTSR).
    pub(crate) fn sret(
        &mut self,
        regs: &mut GuestRegs,
        pool: &mut (impl FramePool + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> Outcome {
        self.counters.count(Event::Sret);
        let hstatus = self.csrs.read(crate::csr::number::HSTATUS, 0).unwrap_or(0);
        // Into L2: its shadow context first, so that a failure leaves everything as it was.
        let shadow = if hstatus & HSTATUS_SPV != 0 {
            match self.activate_shadow(pool, hart) {
                Ok(shadow) => Some(shadow),
                Err(error) => return Outcome::ShadowUnavailable(error),
            }
        } else {
            None
        };
        // SRET at (virtual) V=0 (priv spec, "Trap Return"): the new mode is (SPV, SPP);
        // SIE := SPIE, SPIE := 1, SPP := 0; pc := sepc. L1's sstatus and sepc are the real
        // VS CSRs.
        let status = hart.read_csr(real::VSSTATUS);
        let supervisor = status & SSTATUS_SPP != 0;
        let sie = if status & SSTATUS_SPIE != 0 {
            SSTATUS_SIE
        } else {
            0
        };
        hart.write_csr(
            real::VSSTATUS,
            (status & !(SSTATUS_SIE | SSTATUS_SPP)) | sie | SSTATUS_SPIE,
        );
        regs.pc = hart.read_csr(real::VSEPC);
        let effects = match shadow {
            Some(shadow) => self.enter_guest(shadow, hart),
            None => Effects::empty(),
        };
        Outcome::Resume {
            supervisor,
            effects,
        }
    }

    /// SFENCE.VMA that trapped from L1's HS (the host set VTVM): L1's own VS-stage entries
    /// live under the host's VMID for L1, which the host flushes with an HFENCE.VVMA.
    fn sfence_vma(
        &mut self,
        va: u64,
        asid: u64,
        rs1: Reg,
        rs2: Reg,
        hart: &mut (impl PhysicalHart + ?Sized),
    ) {
        hart.hfence_vvma(
            self.l1_vmid,
            (rs2 != 0).then_some(asid as u16),
            (rs1 != 0).then_some(va),
        );
    }

    /// HFENCE.VVMA from L1 (rs1 a guest virtual address, rs2 an ASID; x0 for all).
    fn hfence_vvma(
        &mut self,
        va: u64,
        asid: u64,
        rs1: Reg,
        rs2: Reg,
        hart: &mut (impl PhysicalHart + ?Sized),
    ) {
        let asid = (rs2 != 0).then_some(asid as u16);
        let range = (rs1 != 0).then_some((va & self.config().xlen_mask(), 1));
        self.fence_vvma(self.current_l1_vmid(), asid, range, hart);
    }

    /// HFENCE.GVMA from L1 (rs1 a guest physical address shifted right by 2, rs2 a VMID; x0
    /// for all).
    fn hfence_gvma(
        &mut self,
        gpa_shifted: u64,
        vmid: u64,
        rs1: Reg,
        rs2: Reg,
        pool: &mut (impl FramePool + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) {
        let vmid = (rs2 != 0).then_some(vmid as u16);
        let range = (rs1 != 0).then_some(((gpa_shifted & self.config().xlen_mask()) << 2, 1));
        self.fence_gvma(vmid, range, pool, hart);
    }

    /// An HFENCE.VVMA of L1's `vmid`: L2's VS-stage entries live under the physical VMIDs of
    /// the shadow contexts of that VMID. A range of more than `VVMA_PAGE_LIMIT` pages is
    /// fenced whole.
    pub(crate) fn fence_vvma(
        &mut self,
        vmid: u16,
        asid: Option<u16>,
        range: Option<(u64, u64)>,
        hart: &mut (impl PhysicalHart + ?Sized),
    ) {
        // L1's VMID and ASID as its CSRs hold them (so as the shadow keys and vsatp do).
        let vmid = vmid & self.vmid_mask();
        let asid = asid.map(|asid| asid & self.asid_mask());
        let pages = range.map(|(start, size)| {
            (
                start & !0xfff,
                size.saturating_add(start & 0xfff).div_ceil(4096),
            )
        });
        for key in self.shadow.keys().filter(|key| key.vmid == vmid) {
            let Some(shadow) = self.shadow.hgatp(key) else {
                continue;
            };
            match pages {
                Some((first, count)) if count <= VVMA_PAGE_LIMIT => {
                    for page in 0..count {
                        hart.hfence_vvma(
                            shadow.vmid(),
                            asid,
                            Some(first.wrapping_add(page * 4096)),
                        );
                    }
                }
                _ => hart.hfence_vvma(shadow.vmid(), asid, None),
            }
        }
    }

    /// An HFENCE.GVMA of L1's `vmid` (every VMID for `None`) over guest-physical `range`:
    /// drops the shadow leaves derived from the fenced L1 mappings and fences what the
    /// hardware may have cached of them.
    pub(crate) fn fence_gvma(
        &mut self,
        vmid: Option<u16>,
        range: Option<(u64, u64)>,
        pool: &mut (impl FramePool + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) {
        let vmid = vmid.map(|vmid| vmid & self.vmid_mask());
        let mut fences = Fences::new();
        match range {
            None => self.shadow.invalidate_vmid(vmid, pool, &mut fences),
            Some((gpa, size)) => {
                self.shadow
                    .invalidate_gpa(vmid, gpa, size.max(1), pool, &mut fences)
            }
        }
        execute(&fences, hart);
    }

    fn vmid_mask(&self) -> u16 {
        ((1u32 << self.config().vmid_bits.min(16)) - 1) as u16
    }

    fn asid_mask(&self) -> u16 {
        ((1u32 << self.config().asid_bits.min(16)) - 1) as u16
    }

    fn current_l1_vmid(&self) -> u16 {
        let raw = self.csrs.read(crate::csr::number::HGATP, 0).unwrap_or(0);
        Hgatp::decode(self.config().xlen, raw)
            .map(|h| h.vmid())
            .unwrap_or(0)
    }
}
