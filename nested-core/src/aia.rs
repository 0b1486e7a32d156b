//! L1's AIA, wired in. `aia-virt` holds the state (hvien, hvictl, hviprio1/2, hvip, hgeie,
//! hgeip, vsiselect and the virtual guest interrupt files); this module routes L1's accesses
//! to it, answers the CSRs that combine its state with the table's (hip, vsip, vsie), serves
//! the files' pages, L2's trapped accesses to an emulated file, and the host's lending of real
//! files. VGEIN stays in the table's hstatus and is passed on at every hstatus write.
//!
//! AIA "CSRs" and VS-level chapters; Priv spec, hypervisor chapter (hip, hie, hgeip, hgeie).

use crate::config::{NestedConfig, Xlen};
use crate::csr::bits::*;
use crate::csr::number::*;
use crate::csr::{Effects, Slot, VirtualCsrs};
use crate::hart::{GuestRegs, NestedHart, Outcome};
use crate::host::{GuestFileHardware, Host, HostParts, PhysGuestFile, PhysicalHart, real};
use crate::insn::{CsrSource, Instruction};
use crate::privilege::VirtualMode;
use crate::trap::{Exception, cause};
use crate::world::GuestTrap;
use aia_virt::csr::{AIA_CSRS, AiaCsr};
use aia_virt::{
    AiaConfig, AttachError, CsrError, CsrOp, CsrTrap, Hstateen0, L2Interrupts, MmioFault, MmioOp,
    NestedAia, Origin, Vgein, VsContext,
};

/// L1's AIA: `aia-virt`'s state, and the vsie bits it leaves to its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct L1Aia<const G: usize> {
    pub(crate) state: NestedAia<G>,
    /// vsie bits 13-63: independent enables where L1's hideleg is clear and its hvien set
    /// (AIA VS-level chapter, table of the effects of hideleg and hvien on vsip and vsie).
    vsie_local: u64,
}

/// The CSRs the engine answers with AIA by combining the table's state and `aia-virt`'s.
const MIXED: [u16; 3] = [HIP, VSIP, VSIE];

/// What an access to one of L1's virtual guest interrupt files did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestFileAccess {
    /// What a load reads (0 for a store).
    pub value: u64,
    /// What the real CSRs must present to L2 as its external interrupt changed (hvip.VSEIP,
    /// or its priority in hvictl). If L2 runs on this hart the engine has already reloaded them.
    pub vseip_changed: bool,
    /// L1's hip.SGEIP changed: when it is now set and L1 enabled it (hie.SGEIE), L1 must take
    /// SGEI (while L2 runs, [`NestedHart::pending_l1_interrupt`] says so).
    pub sgeip_changed: bool,
}

/// What decides whether an AIA change is one the host must act on.
#[derive(PartialEq, Eq)]
struct Snapshot {
    l2: L2Interrupts,
    hgeip: u64,
    hgeie: u64,
    vsie: u64,
}

impl<const G: usize> L1Aia<G> {
    /// What L1 is offered for `config`, and its AIA if any (see [`NestedHart::new`]).
    pub(crate) fn offer(config: NestedConfig) -> (NestedConfig, Option<Self>) {
        const { assert!(G <= aia_virt::geilen::MAX_GEILEN, "GEILEN is at most 63") };
        let legal = config
            .aia
            .filter(|_| config.xlen == Xlen::Rv64)
            .map(AiaConfig::clamped);
        match legal.and_then(|c| Some((c, NestedAia::new(c).ok()?))) {
            Some((offered, state)) => (
                NestedConfig {
                    aia: Some(offered),
                    geilen: G as u32,
                    ..config
                },
                Some(L1Aia {
                    state,
                    vsie_local: 0,
                }),
            ),
            None => (
                NestedConfig {
                    aia: None,
                    ..config
                },
                None,
            ),
        }
    }

    /// vsie as L1 reads it: hie's VS bits where hideleg delegates them, and the local bits
    /// where hvien gives them.
    pub(crate) fn vsie(&self, csrs: &VirtualCsrs) -> u64 {
        let hideleg = csrs.get(Slot::Hideleg);
        let standard = (csrs.get(Slot::Hie) & hideleg & VS_INTERRUPTS) >> 1;
        standard | (self.vsie_local & self.state.vs_hvien_bits(hideleg))
    }

    /// A write of vsie leaving it at `value`.
    pub(crate) fn set_vsie(&mut self, csrs: &mut VirtualCsrs, value: u64) {
        let hideleg = csrs.get(Slot::Hideleg);
        let standard = VS_INTERRUPTS & hideleg;
        let hie = (csrs.get(Slot::Hie) & !standard) | ((value << 1) & standard);
        // hie always exists and keeps its own WARL rule (SGEIE untouched here).
        let _ = csrs.write(HIE, hie);
        let local = self.state.vs_hvien_bits(hideleg);
        self.vsie_local = (self.vsie_local & !local) | (value & local);
    }

    /// The L1 state `vsip` and `vstopi` depend on, at `time` = `now`.
    fn context(&self, csrs: &VirtualCsrs, now: u64) -> VsContext {
        VsContext {
            hideleg: csrs.get(Slot::Hideleg),
            // hideleg bits 13-63 are read-only zero: no vsip bit aliases L1's sip.
            sip: 0,
            vsie: self.vsie(csrs),
            vstimer_pending: csrs.vstimer_pending(now),
        }
    }

    fn snapshot(
        &self,
        csrs: &VirtualCsrs,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Snapshot {
        Snapshot {
            l2: self.state.l2_interrupts(),
            hgeip: self.state.hgeip(files),
            hgeie: self.state.hgeie(),
            vsie: self.vsie(csrs),
        }
    }

    /// L1's hip at `time` = `now`.
    pub(crate) fn hip(
        &self,
        csrs: &VirtualCsrs,
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> u64 {
        csrs.hip_from(
            now,
            self.state.hvip(),
            self.state.hgeip(files),
            self.state.hgeie(),
        )
    }

    /// One CSR instruction of L1's HS-mode on `csr`, one of [`MIXED`] or `aia-virt`'s.
    fn rmw(
        &mut self,
        csrs: &mut VirtualCsrs,
        csr: u16,
        op: CsrOp,
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, CsrTrap> {
        match csr {
            HIP => {
                let old = self.hip(csrs, now, files);
                if let Some(new) = op.apply(old) {
                    // Only VSSIP is writable: the alias of hvip.VSSIP.
                    let hvip = (self.state.hvip() & !VSSIP) | (new & VSSIP);
                    self.l1_rmw(csrs, HVIP, CsrOp::Write(hvip), now, files)?;
                }
                Ok(old)
            }
            VSIP => {
                let old = self.state.vsip(&self.context(csrs, now), files);
                if let Some(new) = op.apply(old) {
                    self.state.write_vsip(new, csrs.get(Slot::Hideleg));
                }
                Ok(old)
            }
            VSIE => {
                let old = self.vsie(csrs);
                if let Some(new) = op.apply(old) {
                    self.set_vsie(csrs, new);
                }
                Ok(old)
            }
            _ => self.l1_rmw(csrs, csr, op, now, files),
        }
    }

    fn l1_rmw(
        &mut self,
        csrs: &VirtualCsrs,
        csr: u16,
        op: CsrOp,
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, CsrTrap> {
        let ctx = self.context(csrs, now);
        self.state
            .csr_rmw(csr, op, Origin::L1Supervisor, &ctx, files)
            .map_err(trap)
    }
}

/// The trap of a refused `aia-virt` access (a number it does not own is illegal: the caller
/// routed it only after checking).
fn trap(error: CsrError) -> CsrTrap {
    match error {
        CsrError::Trap(trap) => trap,
        CsrError::NotAiaCsr => CsrTrap::IllegalInstruction,
    }
}

/// The `aia-virt` CSRs whose value L0 writes back into L1's NACL shared memory: all but the
/// two that are views of an interrupt file (reading them reaches the file; no L1 reads them
/// from the shared memory).
pub(crate) fn written_back() -> impl Iterator<Item = u16> {
    AIA_CSRS
        .iter()
        .filter(|row| !matches!(row.csr, AiaCsr::Vsireg | AiaCsr::Vstopei))
        .map(|row| row.number)
        .chain(MIXED)
}

impl<const CONTEXTS: usize, const GEILEN: usize> NestedHart<CONTEXTS, GEILEN> {
    /// L1's AIA state (`aia-virt`), when the configuration offers it.
    pub fn aia(&self) -> Option<&NestedAia<GEILEN>> {
        self.aia.as_ref().map(|aia| &aia.state)
    }

    /// Whether L1's access to `csr` is the AIA's to answer.
    pub(crate) fn aia_answers(&self, csr: u16) -> bool {
        self.aia.is_some() && (MIXED.contains(&csr) || aia_virt::owns(csr, Origin::L1Supervisor))
    }

    /// Passes L1's hstatus.VGEIN on to `aia-virt` (after every write of hstatus).
    pub(crate) fn pass_vgein(&mut self) {
        let hstatus = self.csrs.get(Slot::Hstatus);
        if let Some(aia) = self.aia.as_mut() {
            aia.state.set_vgein(Vgein::from_hstatus(hstatus));
        }
    }

    /// One CSR instruction of L1's HS-mode on a CSR the AIA answers, at `time` = `now`:
    /// the old value (rd's) and what changed.
    pub(crate) fn aia_csr(
        &mut self,
        csr: u16,
        op: CsrOp,
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<(u64, Effects), CsrTrap> {
        let Self { aia, csrs, .. } = self;
        let aia = aia.as_mut().ok_or(CsrTrap::IllegalInstruction)?;
        let before = op.writes().then(|| aia.snapshot(csrs, files));
        let old = aia.rmw(csrs, csr, op, now, files)?;
        let changed = before.is_some_and(|before| aia.snapshot(csrs, files) != before);
        let effects = if changed {
            Effects::INTERRUPTS
        } else {
            Effects::empty()
        };
        Ok((old, effects))
    }

    /// L2 (or a device the host emulates for L1) accessed virtual guest file `g`'s page at
    /// `offset`, `width` bytes: performs it on the file.
    ///
    /// Placement: the host puts L1's virtual guest files where it tells L1 they are (its
    /// device tree), one 4 KiB page each — the AIA recommends the page of L1's
    /// supervisor-level file followed by the pages of guest files 1..=GEILEN. It backs the
    /// page of an emulated file with no memory, so L2's access through L1's G-stage ends in
    /// [`Outcome::HostMemoryFault`] (and one of L1's in the host's own fault); the host finds
    /// `g` and `offset` from the L1 address and calls this. For a file backed by a real one it
    /// maps the real file's page there instead. Without AIA every access faults.
    pub fn guest_file_mmio<H: Host + ?Sized>(
        &mut self,
        g: usize,
        offset: u64,
        width: u8,
        op: MmioOp,
        host: &mut H,
    ) -> Result<GuestFileAccess, MmioFault> {
        let HostParts { hart, files, .. } = host.parts();
        let Self { aia, csrs, .. } = self;
        let aia = aia.as_mut().ok_or(MmioFault::AccessFault)?;
        let before = aia.snapshot(csrs, files);
        let value = aia.state.mmio(g, offset, width, op, files)?;
        let after = aia.snapshot(csrs, files);
        let sgei = |s: &Snapshot| s.hgeip & s.hgeie != 0;
        let access = GuestFileAccess {
            value,
            vseip_changed: after.l2 != before.l2,
            sgeip_changed: sgei(&after) != sgei(&before),
        };
        if access.vseip_changed {
            self.reload_l2_interrupts(hart);
        }
        Ok(access)
    }

    /// First step of lending real guest file `p` to L1's virtual file `g`
    /// (`NestedAia::prepare_hardware`; the host then retargets the file's MSIs to `p`).
    pub fn prepare_guest_file<H: Host + ?Sized>(
        &mut self,
        g: usize,
        p: PhysGuestFile,
        host: &mut H,
    ) -> Result<(), AttachError> {
        let HostParts { files, .. } = host.parts();
        let aia = self.aia.as_mut().ok_or(AttachError::NoSuchFile)?;
        aia.state.prepare_hardware(g, p, files)
    }

    /// Second step: virtual file `g` is backed by real file `p` from now on
    /// (`NestedAia::attach_hardware`); if L2 runs on this hart, the real VGEIN follows at once.
    /// The host maps `p`'s page into L1's address map where `g`'s page is.
    pub fn attach_guest_file<H: Host + ?Sized>(
        &mut self,
        g: usize,
        p: PhysGuestFile,
        host: &mut H,
    ) -> Result<(), AttachError> {
        let HostParts { hart, files, .. } = host.parts();
        let aia = self.aia.as_mut().ok_or(AttachError::NoSuchFile)?;
        aia.state.attach_hardware(g, p, files)?;
        self.reload_l2_interrupts(hart);
        Ok(())
    }

    /// Takes virtual file `g` back into software (`NestedAia::detach_hardware`; the host has
    /// stopped routing MSIs to the real file and unmapped its page). Returns the real file
    /// released, if `g` was backed.
    pub fn detach_guest_file<H: Host + ?Sized>(
        &mut self,
        g: usize,
        host: &mut H,
    ) -> Option<PhysGuestFile> {
        let HostParts { hart, files, .. } = host.parts();
        let released = self.aia.as_mut()?.state.detach_hardware(g, files);
        self.reload_l2_interrupts(hart);
        released
    }

    /// While L2 runs: puts what `aia-virt` projects for L2 into the real CSRs again, after
    /// taking back what L2 changed in the real hvip (no-op otherwise).
    pub(crate) fn reload_l2_interrupts(&mut self, hart: &mut (impl PhysicalHart + ?Sized)) {
        let (Some(saved), Some(aia)) = (self.saved.as_mut(), self.aia.as_mut()) else {
            return;
        };
        if let Some(entered) = saved.aia_entered {
            aia.state.save_l2_hvip(hart.read_csr(real::HVIP), &entered);
        }
        let l2 = aia.state.l2_interrupts();
        write_l2_interrupts(&l2, hart);
        let hstatus = hart.read_csr(real::HSTATUS) & !HSTATUS_VGEIN;
        hart.write_csr(
            real::HSTATUS,
            hstatus | u64::from(l2.vgein) << HSTATUS_VGEIN_SHIFT,
        );
        saved.aia_entered = Some(l2);
    }

    /// L2 trapped with a virtual-instruction exception: if the instruction is an access to a
    /// CSR of L2's AIA that L1's view allows (the real hart refused it because the file L1
    /// selected is emulated), performs it on the virtual file and resumes L2. Returns `None`
    /// when the trap is L1's to see.
    pub(crate) fn l2_aia_csr<H: Host + ?Sized>(
        &mut self,
        trap: &GuestTrap,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Option<Outcome> {
        self.aia.as_ref()?;
        let bits = {
            let HostParts { hart, .. } = host.parts();
            match u32::try_from(trap.tval) {
                Ok(bits) if bits != 0 => bits,
                _ => hart.fetch_instruction(regs.pc).ok()?,
            }
        };
        // With AIA, L1 and so its guests are RV64 (VSXL and UXL read-only 64-bit).
        let Some(Instruction::Csr {
            op,
            rd,
            source,
            csr,
        }) = Instruction::decode(bits, Xlen::Rv64)
        else {
            return None;
        };
        let hstateen0 = if self.config().smstateen {
            Hstateen0::from_bits_truncate(self.csrs.get(Slot::Hstateen0))
        } else {
            Hstateen0::all()
        };
        let xlen = aia_virt::Xlen::Rv64;
        let origin = if trap.supervisor {
            Origin::L2Supervisor { hstateen0, xlen }
        } else {
            Origin::L2User { hstateen0, xlen }
        };
        if !aia_virt::owns(csr, origin) {
            return None;
        }
        let (operand, source_is_zero) = match source {
            CsrSource::Register(rs1) => (regs.get(rs1), rs1 == 0),
            CsrSource::Immediate(imm) => (u64::from(imm), imm == 0),
        };
        let op = rmw_op(op, operand, source_is_zero);
        let HostParts { hart, files, .. } = host.parts();
        let Self { aia, csrs, .. } = self;
        let aia = aia.as_mut()?;
        // L2 writes siselect (the real vsiselect) without trapping.
        aia.state.save_vsiselect(hart.read_csr(real::VSISELECT));
        let ctx = VsContext {
            hideleg: csrs.get(Slot::Hideleg),
            sip: 0,
            vsie: hart.read_csr(real::VSIE),
            vstimer_pending: l2_timer_pending(csrs.config().sstc, hart),
        };
        match aia.state.csr_rmw(csr, op, origin, &ctx, files) {
            Ok(old) => {
                hart.write_csr(real::VSISELECT, aia.state.vsiselect());
                regs.set(rd, old);
                regs.pc = regs.pc.wrapping_add(4);
                self.reload_l2_interrupts(hart);
                Some(Outcome::Resume {
                    supervisor: trap.supervisor,
                    effects: Effects::empty(),
                })
            }
            Err(CsrError::Trap(CsrTrap::IllegalInstruction)) => {
                Some(self.illegal_in_l2(bits, trap.supervisor, regs, host))
            }
            Err(_) => None,
        }
    }

    /// An illegal-instruction exception of L2: L2 takes it if L1 delegated it (hedeleg bit 2),
    /// else L1 does. Priv spec, hypervisor chapter, "Trap Entry" (a trap into VS-mode writes
    /// vsepc, vscause, vstval and vsstatus's SPP, SPIE and SIE).
    fn illegal_in_l2<H: Host + ?Sized>(
        &mut self,
        bits: u32,
        supervisor: bool,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Outcome {
        if self.csrs.get(Slot::Hedeleg) >> cause::ILLEGAL_INSTRUCTION & 1 == 0 {
            let from = if supervisor {
                VirtualMode::GuestSupervisor
            } else {
                VirtualMode::GuestUser
            };
            let exception = Exception::plain(cause::ILLEGAL_INSTRUCTION, bits.into());
            return self.exit_to_l1(exception, from, regs, host);
        }
        let HostParts { hart, .. } = host.parts();
        crate::world::trap_into_l2(
            cause::ILLEGAL_INSTRUCTION,
            bits.into(),
            supervisor,
            regs,
            hart,
        )
    }
}

/// The `aia-virt` form of a Zicsr instruction: a read when CSRRS/CSRRC have x0 (or a zero
/// immediate) as their source.
pub(crate) fn rmw_op(op: crate::insn::CsrOp, operand: u64, source_is_zero: bool) -> CsrOp {
    use crate::insn::CsrOp as Zicsr;
    match op {
        Zicsr::ReadWrite => CsrOp::Write(operand),
        _ if source_is_zero => CsrOp::Read,
        Zicsr::ReadSet => CsrOp::Set(operand),
        Zicsr::ReadClear => CsrOp::Clear(operand),
    }
}

/// The real AIA CSRs that project L1's for L2, hvien first (it decides which hvip bits
/// above 12 are writable).
pub(crate) fn write_l2_interrupts(l2: &L2Interrupts, hart: &mut (impl PhysicalHart + ?Sized)) {
    for (csr, value) in [
        (real::HVIEN, l2.hvien),
        (real::HVICTL, l2.hvictl),
        (real::HVIPRIO1, l2.hviprio1),
        (real::HVIPRIO2, l2.hviprio2),
        (real::HVIP, l2.hvip),
    ] {
        hart.write_csr(csr, value);
    }
}

/// While L2 runs: the Sstc signal of its timer (the real vstimecmp against L2's time).
fn l2_timer_pending(sstc: bool, hart: &(impl PhysicalHart + ?Sized)) -> bool {
    let time = hart
        .read_csr(real::TIME)
        .wrapping_add(hart.read_csr(real::HTIMEDELTA));
    sstc && hart.read_csr(real::HENVCFG) & HENVCFG_STCE != 0
        && time >= hart.read_csr(real::VSTIMECMP)
}
