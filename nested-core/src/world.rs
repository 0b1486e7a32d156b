//! The world switch: L1 entering its guest (L2) with SRET, and L2's traps coming back to L1.
//!
//! While L1 runs, the real VS CSRs hold L1's own supervisor state and the real H CSRs hold
//! what the host set for L1. While L2 runs, the real VS CSRs hold L2's state (from L1's
//! virtual VS CSRs) and the real H CSRs project what L1 asked for onto the hardware: its
//! delegations, its injected interrupts, its trap controls, and the shadow G-stage in place
//! of its hgatp. General registers are never swapped: L1 loads L2's before its SRET and finds
//! them as L2 left them at the trap, as on real hardware.
//!
//! Priv spec, hypervisor chapter, "Trap Entry", "Trap Return" and the note on ordering of
//! vsatp and hgatp writes (zero vsatp first).

use crate::aia::write_l2_interrupts;
use crate::counters::{Event, World};
use crate::csr::Effects;
use crate::csr::Slot;
use crate::csr::bits::*;
use crate::hart::{GuestRegs, NestedHart, Outcome, ShadowFault, execute};
use crate::host::{FramePool, Host, HostParts, PhysicalHart, real};
use crate::privilege::VirtualMode;
use crate::remote_fence::{Drained, FenceMailbox, RemoteFence};
use crate::trap::{Exception, cause};
use aia_virt::L2Interrupts;
use gstage::walk::{Access, WalkError};
use gstage::{Fences, FillError, Hgatp, ShadowError};

/// L1's supervisor CSRs that live in the real VS CSRs while it runs, swapped with L2's.
/// vsatp is handled apart, for the ordering rule.
pub(crate) const VS_SWAPPED: [u16; 7] = [
    real::VSSTATUS,
    real::VSIE,
    real::VSTVEC,
    real::VSSCRATCH,
    real::VSEPC,
    real::VSCAUSE,
    real::VSTVAL,
];

/// The real H CSRs the host set for L1, replaced by L1's projection while L2 runs.
pub(crate) const H_SWAPPED: [u16; 7] = [
    real::HSTATUS,
    real::HEDELEG,
    real::HIDELEG,
    real::HVIP,
    real::HCOUNTEREN,
    real::HENVCFG,
    real::HTIMEDELTA,
];

/// With AIA, the real AIA CSRs the host set for L1 (and L1's own siselect, the real
/// vsiselect while L1 runs), replaced by L1's projection while L2 runs.
pub(crate) const AIA_SWAPPED: [u16; 5] = [
    real::HVIEN,
    real::HVICTL,
    real::HVIPRIO1,
    real::HVIPRIO2,
    real::VSISELECT,
];

/// hstatus fields of L1's that act on L2 directly: its trap controls.
pub(crate) const HSTATUS_PROJECTED: u64 = HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM;

/// HS-level sstatus fields of L1's that act on L2 directly: MXR (both stages) and FS and VS
/// (checked in sstatus as well as vsstatus at V = 1). Priv spec, hypervisor chapter,
/// "Hypervisor and Virtual Supervisor CSRs" (vsstatus) and two-stage translation.
pub(crate) const SSTATUS_PROJECTED: u64 = SSTATUS_MXR | SSTATUS_FS | SSTATUS_VS;

/// The position of `csr` in [`H_SWAPPED`] (a constant lookup).
const fn h_index(csr: u16) -> usize {
    let mut i = 0;
    while i < H_SWAPPED.len() && H_SWAPPED[i] != csr {
        i += 1;
    }
    i
}

/// The position of `csr` in [`VS_SWAPPED`].
const fn vs_index(csr: u16) -> usize {
    let mut i = 0;
    while i < VS_SWAPPED.len() && VS_SWAPPED[i] != csr {
        i += 1;
    }
    i
}

// Positions in the saved arrays, found at compile time (an absent CSR would index out of
// bounds in a constant and fail the build).
const HENVCFG_AT: usize = h_index(real::HENVCFG);
const HTIMEDELTA_AT: usize = h_index(real::HTIMEDELTA);
const HVIP_AT: usize = h_index(real::HVIP);
const HCOUNTEREN_AT: usize = h_index(real::HCOUNTEREN);
const HSTATUS_AT: usize = h_index(real::HSTATUS);
const VSIE_AT: usize = vs_index(real::VSIE);
const VSSTATUS_AT: usize = vs_index(real::VSSTATUS);
const _: () = assert!(
    HENVCFG_AT < H_SWAPPED.len()
        && HTIMEDELTA_AT < H_SWAPPED.len()
        && HVIP_AT < H_SWAPPED.len()
        && HCOUNTEREN_AT < H_SWAPPED.len()
        && HSTATUS_AT < H_SWAPPED.len()
        && VSIE_AT < VS_SWAPPED.len()
        && VSSTATUS_AT < VS_SWAPPED.len()
);

/// What the real CSRs held for L1 when it entered L2, restored when L2 exits to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SavedL1 {
    pub vs: [u64; VS_SWAPPED.len()],
    pub h: [u64; H_SWAPPED.len()],
    /// With AIA only (zero otherwise: the real CSRs may not exist).
    pub aia: [u64; AIA_SWAPPED.len()],
    /// The host's own sstatus.
    pub sstatus: u64,
    pub vsatp: u64,
    pub hgatp: u64,
    pub vstimecmp: u64,
    /// With AIA, what the real AIA CSRs were last loaded with for L2.
    pub aia_entered: Option<L2Interrupts>,
}

/// How the engine handles a trap taken while L2 runs, by cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// A guest-page fault: fill the shadow G-stage from L1's, or reflect L1's own fault.
    ShadowFault,
    /// An interrupt for the host (its own timer, IPIs, devices, or one it raises for L1).
    Host,
    /// Everything else that reached the host: L1 takes it exactly as hardware would deliver it.
    ReflectToL1,
}

/// The route of a trap with exception or interrupt code `code` (`interrupt` set for an
/// interrupt). Every exception that reaches the host while L2 runs was not delegated by L1
/// (the host delegates in hardware what L1 delegated) or cannot be delegated (ecall from VS,
/// virtual instruction, guest-page faults), so L1 must see it.
pub const fn route(interrupt: bool, code: u64) -> Route {
    match (interrupt, code) {
        (true, _) => Route::Host,
        (false, 20 | 21 | 23) => Route::ShadowFault,
        (false, _) => Route::ReflectToL1,
    }
}

/// A trap the hardware took to the host while L2 ran, as the host saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestTrap {
    /// The exception or interrupt code (scause without its interrupt bit).
    pub code: u64,
    /// Whether it is an interrupt.
    pub interrupt: bool,
    /// stval.
    pub tval: u64,
    /// htval: for a guest-page fault, the guest physical address shifted right by 2.
    pub htval: u64,
    /// htinst.
    pub htinst: u64,
    /// hstatus.GVA: stval holds a guest virtual address.
    pub gva: bool,
    /// L2 was in VS-mode (the real hstatus.SPVP), else VU-mode.
    pub supervisor: bool,
}

/// The XLEN of the real hart: the engine runs on RV64 hosts (L1 may be RV32).
const HOST_XLEN: gstage::Xlen = gstage::Xlen::Rv64;

impl<const CONTEXTS: usize, const GEILEN: usize> NestedHart<CONTEXTS, GEILEN> {
    /// Whether L1's guest runs on this hart (L1's virtual V is 1).
    pub fn in_guest(&self) -> bool {
        self.saved.is_some()
    }

    /// Makes the shadow context of L1's current hgatp active (building it if needed) and
    /// executes the fences that takes; returns the physical hgatp to run L2 with.
    pub(crate) fn activate_shadow(
        &mut self,
        pool: &mut (impl FramePool + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> Result<Hgatp, ShadowError> {
        let mut fences = Fences::new();
        let shadow = self
            .shadow
            .activate(self.current_context(), pool, &mut fences);
        execute(&fences, hart);
        shadow
    }

    /// The world switch of an SRET with virtual hstatus.SPV set, after its effect on L1's
    /// sstatus and pc: SPV := 0, L1's world saved, L2's loaded under `shadow`.
    pub(crate) fn enter_guest(
        &mut self,
        shadow: Hgatp,
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> Effects {
        let hstatus = self.virtual_csr(real::HSTATUS);
        let _ = self.csrs.write(real::HSTATUS, hstatus & !HSTATUS_SPV);
        let mut saved = self.save_l1(hart);
        saved.aia_entered = self.load_guest(shadow, &saved, hart);
        self.saved = Some(saved);
        self.counters.count(Event::GuestEntry);
        Effects::WORLD
    }

    /// What the real CSRs hold for L1 now.
    fn save_l1(&self, hart: &(impl PhysicalHart + ?Sized)) -> SavedL1 {
        SavedL1 {
            vs: VS_SWAPPED.map(|csr| hart.read_csr(csr)),
            h: H_SWAPPED.map(|csr| hart.read_csr(csr)),
            aia: if self.aia.is_some() {
                AIA_SWAPPED.map(|csr| hart.read_csr(csr))
            } else {
                [0; AIA_SWAPPED.len()]
            },
            sstatus: hart.read_csr(real::SSTATUS),
            vsatp: hart.read_csr(real::VSATP),
            hgatp: hart.read_csr(real::HGATP),
            vstimecmp: if self.config().sstc {
                hart.read_csr(real::VSTIMECMP)
            } else {
                0
            },
            aia_entered: None,
        }
    }

    /// Programs the real CSRs for L2: L1's projection over the host's settings for L1, the
    /// shadow G-stage, and L2's VS state from L1's virtual VS CSRs. vsatp is zeroed before
    /// hgatp changes and written last (priv spec, hypervisor chapter, fence ordering note).
    /// With AIA, the real AIA CSRs and VGEIN come from `aia-virt`'s projection, returned;
    /// without, the real VGEIN is 0 (the file the host may give L1 is not L2's). L1's sstatus
    /// MXR, FS and VS replace the host's in the real sstatus.
    fn load_guest(
        &self,
        shadow: Hgatp,
        host: &SavedL1,
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> Option<L2Interrupts> {
        let virt = |csr| self.virtual_csr(csr);
        hart.write_csr(real::VSATP, 0);
        hart.write_csr(real::HGATP, shadow.encode(HOST_XLEN));
        let l2 = self.aia.as_ref().map(|aia| {
            let l2 = aia.state.l2_interrupts();
            write_l2_interrupts(&l2, hart);
            hart.write_csr(real::VSISELECT, aia.state.vsiselect());
            l2
        });
        let (hvip, vgein) = match &l2 {
            Some(l2) => (l2.hvip, u64::from(l2.vgein) << HSTATUS_VGEIN_SHIFT),
            None => (virt(real::HVIP) & VS_INTERRUPTS, 0),
        };
        let l1_sstatus = host.vs[VSSTATUS_AT];
        let projected = [
            (
                real::SSTATUS,
                (hart.read_csr(real::SSTATUS) & !SSTATUS_PROJECTED)
                    | (l1_sstatus & SSTATUS_PROJECTED),
            ),
            (real::HENVCFG, virt(real::HENVCFG) & host.h[HENVCFG_AT]),
            (
                real::HSTATUS,
                (host.h[HSTATUS_AT] & !(HSTATUS_PROJECTED | HSTATUS_VGEIN))
                    | (virt(real::HSTATUS) & HSTATUS_PROJECTED)
                    | vgein,
            ),
            (real::HEDELEG, virt(real::HEDELEG)),
            (real::HIDELEG, virt(real::HIDELEG)),
            (real::HVIP, hvip),
            (
                real::HCOUNTEREN,
                virt(real::HCOUNTEREN) & host.h[HCOUNTEREN_AT],
            ),
            (
                real::HTIMEDELTA,
                virt(real::HTIMEDELTA).wrapping_add(host.h[HTIMEDELTA_AT]),
            ),
        ];
        for (csr, value) in projected {
            hart.write_csr(csr, value);
        }
        for csr in VS_SWAPPED {
            hart.write_csr(csr, self.guest_value(csr));
        }
        if self.config().sstc {
            hart.write_csr(real::VSTIMECMP, virt(real::VSTIMECMP));
        }
        hart.write_csr(real::VSATP, virt(real::VSATP));
        l2
    }

    /// L2's value of a VS CSR as the hardware must hold it: the raw vsstatus (its read-only
    /// summary bits are the hardware's own), the architectural value of the others (with AIA,
    /// vsie's bits 13-63 too).
    fn guest_value(&self, csr: u16) -> u64 {
        match (csr, &self.aia) {
            (real::VSSTATUS, _) => self.csrs.get(Slot::Vsstatus),
            (real::VSIE, Some(aia)) => aia.vsie(&self.csrs),
            _ => self.virtual_csr(csr),
        }
    }

    /// Handles a trap the hardware took while L2 ran: fills the shadow G-stage on a miss,
    /// hands the host its own interrupts, and reflects everything else into L1 exactly as
    /// the hardware would deliver it to a hypervisor in HS-mode.
    pub fn handle_guest_trap<H: Host + ?Sized>(
        &mut self,
        trap: &GuestTrap,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Outcome {
        self.counters
            .count_entry(World::L2, trap.interrupt, trap.code);
        let from = if trap.supervisor {
            VirtualMode::GuestSupervisor
        } else {
            VirtualMode::GuestUser
        };
        let reflected = Exception {
            cause: trap.code,
            interrupt: trap.interrupt,
            tval: trap.tval,
            gva: trap.gva,
            htval: trap.htval,
            htinst: trap.htinst,
        };
        match route(trap.interrupt, trap.code) {
            Route::Host => Outcome::HostInterrupt,
            Route::ReflectToL1 if !trap.interrupt && trap.code == cause::VIRTUAL_INSTRUCTION => {
                match self.l2_aia_csr(trap, regs, host) {
                    Some(outcome) => outcome,
                    None => self.exit_to_l1(reflected, from, regs, host),
                }
            }
            Route::ReflectToL1 => self.exit_to_l1(reflected, from, regs, host),
            Route::ShadowFault => {
                // htval holds the GPA shifted right by 2; stval's low bits complete it (for an
                // implicit access they are 0: the PTE's own GPA). L2 ran with L1's sstatus.MXR
                // as the HS-level one: an execute-only L1 page is filled for a load only then,
                // and its leaf stays execute-only (the hart checks MXR at each access).
                let l1_mxr = self
                    .saved
                    .as_ref()
                    .is_some_and(|saved| saved.vs[VSSTATUS_AT] & SSTATUS_MXR != 0);
                let access = Access::from_guest_page_fault(trap.code, trap.htinst, l1_mxr);
                let gpa = (trap.htval << 2)
                    | if access.implicit.is_some() {
                        0
                    } else {
                        trap.tval & 3
                    };
                match self.shadow_fault(gpa, access, host) {
                    Ok(_) | Err(ShadowFault::Fill(FillError::L1(WalkError::Contended { .. }))) => {
                        Outcome::Resume {
                            supervisor: trap.supervisor,
                            effects: Effects::empty(),
                        }
                    }
                    Err(ShadowFault::Fill(FillError::L1(WalkError::GuestPageFault(_)))) => {
                        self.exit_to_l1(reflected, from, regs, host)
                    }
                    Err(ShadowFault::Fill(FillError::L1(WalkError::AccessFault(fault)))) => {
                        // L1's own table lies outside its memory: an access fault for L1.
                        let fault = Exception {
                            cause: fault.cause.code(),
                            htval: 0,
                            htinst: 0,
                            ..reflected
                        };
                        self.exit_to_l1(fault, from, regs, host)
                    }
                    Err(ShadowFault::Fill(
                        FillError::L1Unbacked { l1_gpa } | FillError::HostDenied { l1_gpa, .. },
                    )) => Outcome::HostMemoryFault { gpa, l1_gpa },
                    Err(ShadowFault::Fill(error)) => Outcome::ShadowFillFailed(error),
                    Err(ShadowFault::Activate(error)) => Outcome::ShadowUnavailable(error),
                }
            }
        }
    }

    /// L1 takes interrupt `code` now, while L2 runs (the host saw it pending and enabled for
    /// L1: HS-level interrupts are always enabled while V = 1). Returns to L1.
    pub fn interrupt_l1<H: Host + ?Sized>(
        &mut self,
        code: u64,
        guest_supervisor: bool,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Outcome {
        let from = if guest_supervisor {
            VirtualMode::GuestSupervisor
        } else {
            VirtualMode::GuestUser
        };
        let interrupt = Exception {
            interrupt: true,
            ..Exception::plain(code, 0)
        };
        self.exit_to_l1(interrupt, from, regs, host)
    }

    /// L2's access that trapped as `trap` (a guest-page fault) reached an L1 guest-physical
    /// address with nothing behind it that the host emulates ([`Outcome::HostMemoryFault`]):
    /// raises the access fault hardware raises for it, 1, 5 or 7 for a fetch, a load or a
    /// store/AMO, with the guest-page fault's stval and GVA, htval and htinst zero. L2 takes it
    /// if L1 delegated it in hedeleg, else L1 does.
    // Priv spec, hypervisor chapter, "Two-Stage Address Translation" (the G-stage's result is
    // a supervisor physical address, checked by PMA and PMP) and "Trap Entry".
    pub fn guest_access_fault<H: Host + ?Sized>(
        &mut self,
        trap: &GuestTrap,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Outcome {
        let fault = Exception {
            gva: trap.gva,
            ..Exception::plain(cause::access_fault(trap.code), trap.tval)
        };
        if self.csrs.get(Slot::Hedeleg) >> fault.cause & 1 == 0 {
            let from = if trap.supervisor {
                VirtualMode::GuestSupervisor
            } else {
                VirtualMode::GuestUser
            };
            return self.exit_to_l1(fault, from, regs, host);
        }
        let HostParts { hart, .. } = host.parts();
        trap_into_l2(fault.cause, fault.tval, trap.supervisor, regs, hart)
    }

    /// Makes L1's VS-level interrupts `bits` (of VSSIP, VSTIP and VSEIP: L1's SSI, STI and
    /// SEI) pending, as the host's hvip for L1 does: in the real hvip while L1 runs; while L2
    /// runs, in the hvip set aside for L1, which [`NestedHart::pending_l1_interrupt`] sees and
    /// the exit to L1 puts back.
    pub fn inject_l1_interrupts(&mut self, bits: u64, hart: &mut (impl PhysicalHart + ?Sized)) {
        let bits = bits & VS_INTERRUPTS;
        match self.saved.as_mut() {
            Some(saved) => saved.h[HVIP_AT] |= bits,
            None => {
                let hvip = hart.read_csr(real::HVIP);
                hart.write_csr(real::HVIP, hvip | bits);
            }
        }
    }

    /// Withdraws L1's VS-level interrupts `bits` (of VSSIP, VSTIP and VSEIP) that the host
    /// made pending with [`NestedHart::inject_l1_interrupts`] (a level-triggered line that
    /// fell, such as an interrupt controller's external interrupt once claimed): from the
    /// real hvip while L1 runs, from the hvip set aside for L1 while L2 runs.
    pub fn withdraw_l1_interrupts(&mut self, bits: u64, hart: &mut (impl PhysicalHart + ?Sized)) {
        let bits = bits & VS_INTERRUPTS;
        match self.saved.as_mut() {
            Some(saved) => saved.h[HVIP_AT] &= !bits,
            None => {
                let hvip = hart.read_csr(real::HVIP);
                hart.write_csr(real::HVIP, hvip & !bits);
            }
        }
    }

    /// Switches back to L1 and delivers `exception` to it, from L2 in mode `from`; refreshes
    /// L1's NACL slots.
    pub(crate) fn exit_to_l1<H: Host + ?Sized>(
        &mut self,
        exception: Exception,
        from: VirtualMode,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Outcome {
        let HostParts {
            memory,
            hart,
            files,
            ..
        } = host.parts();
        let Some(saved) = self.saved.take() else {
            // Not in the guest: deliver it as a trap from L1's own HS-mode.
            return self.raise(exception, VirtualMode::Hypervisor, regs, hart);
        };
        self.save_guest(&saved, hart);
        self.restore_l1(&saved, hart);
        self.counters.count(Event::GuestExit);
        let outcome = match self.raise(exception, from, regs, hart) {
            Outcome::Resume {
                supervisor,
                effects,
            } => Outcome::Resume {
                supervisor,
                effects: effects | Effects::WORLD,
            },
            other => other,
        };
        let now = self.l1_time(hart);
        self.nacl_refresh(memory, now, files);
        outcome
    }

    /// Copies what L2 (and the hardware on its behalf) changed back into L1's virtual CSRs:
    /// its VS CSRs, its interrupt enables (vsie aliases hie), its software interrupt
    /// (vsip.SSIP aliases hvip.VSSIP; with AIA also the bits 13-63 hvien gives it), its
    /// siselect (L1's vsiselect) and its timer compare.
    fn save_guest(&mut self, saved: &SavedL1, hart: &(impl PhysicalHart + ?Sized)) {
        for csr in VS_SWAPPED.iter().copied().chain([real::VSATP]) {
            let value = hart.read_csr(csr);
            match (csr, self.aia.as_mut()) {
                (real::VSIE, Some(aia)) => aia.set_vsie(&mut self.csrs, value),
                // Views (vsstatus's SD is computed, vsie aliases hie): written through their
                // rules, which the host checked keep what the real hart holds
                // (`NestedConfig::check_hardware`).
                (real::VSSTATUS | real::VSIE, _) => {
                    let _ = self.csrs.write(csr, value);
                }
                _ => self.csrs.keep_real(csr, value),
            }
        }
        match (self.aia.as_mut(), &saved.aia_entered) {
            (Some(aia), Some(entered)) => {
                aia.state.save_l2_hvip(hart.read_csr(real::HVIP), entered);
                aia.state.save_vsiselect(hart.read_csr(real::VSISELECT));
            }
            _ => {
                let hvip = self.virtual_csr(real::HVIP);
                let _ = self.csrs.write(
                    real::HVIP,
                    (hvip & !VSSIP) | (hart.read_csr(real::HVIP) & VSSIP),
                );
            }
        }
        if self.config().sstc {
            let _ = self
                .csrs
                .write(real::VSTIMECMP, hart.read_csr(real::VSTIMECMP));
        }
    }

    /// Puts L1's world back in the real CSRs (vsatp zeroed first, written last). The real
    /// sstatus gets the host's MXR, FS and VS back, its other fields left as the trap set
    /// them; an FS or VS that L2 made Dirty there stays Dirty (the registers changed under
    /// the host too) and makes L1's sstatus field Dirty, with SD.
    fn restore_l1(&self, saved: &SavedL1, hart: &mut (impl PhysicalHart + ?Sized)) {
        let sstatus = hart.read_csr(real::SSTATUS);
        let dirty = [SSTATUS_FS, SSTATUS_VS]
            .into_iter()
            .filter(|&field| sstatus & field == field)
            .fold(0, |fields, field| fields | field);
        hart.write_csr(
            real::SSTATUS,
            (sstatus & !SSTATUS_PROJECTED) | (saved.sstatus & SSTATUS_PROJECTED) | dirty,
        );
        let l1_sd = if dirty != 0 {
            1 << (self.config().xlen_bits() - 1)
        } else {
            0
        };
        hart.write_csr(real::VSATP, 0);
        hart.write_csr(real::HGATP, saved.hgatp);
        if self.aia.is_some() {
            // hvien first: it decides which bits of the hvip below are writable.
            for (csr, value) in AIA_SWAPPED.iter().zip(saved.aia) {
                hart.write_csr(*csr, value);
            }
        }
        for (csr, value) in H_SWAPPED.iter().zip(saved.h) {
            hart.write_csr(*csr, value);
        }
        for (csr, value) in VS_SWAPPED.iter().zip(saved.vs) {
            let value = match *csr {
                real::VSSTATUS => value | dirty | l1_sd,
                _ => value,
            };
            hart.write_csr(*csr, value);
        }
        if self.config().sstc {
            hart.write_csr(real::VSTIMECMP, saved.vstimecmp);
        }
        hart.write_csr(real::VSATP, saved.vsatp);
    }

    /// Applies the remote fences other harts posted to this hart's `mailbox`, marking the hart
    /// as running L2: the host calls it before every resume into L2, and calls
    /// [`FenceMailbox::exit_guest`] after every exit from it.
    pub fn sync_remote_fences<H: Host + ?Sized, const M: usize>(
        &mut self,
        mailbox: &FenceMailbox<M>,
        host: &mut H,
    ) {
        let HostParts { pool, hart, .. } = host.parts();
        let (drained, upto) = mailbox.enter_guest();
        match drained {
            Drained::Everything => self.apply_everything(pool, hart),
            Drained::Fences(fences) => {
                for fence in fences {
                    self.apply_fence(fence, pool, hart);
                }
            }
        }
        mailbox.applied(upto);
    }

    /// Performs one fence on this hart's shadows.
    pub(crate) fn apply_fence(
        &mut self,
        fence: RemoteFence,
        pool: &mut (impl FramePool + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) {
        match fence {
            RemoteFence::Gvma { vmid, range } => self.fence_gvma(vmid, range, pool, hart),
            RemoteFence::Vvma { vmid, asid, range } => self.fence_vvma(vmid, asid, range, hart),
        }
    }

    /// Drops every shadow leaf and fences every VS-stage translation of L1's guests.
    pub(crate) fn apply_everything(
        &mut self,
        pool: &mut (impl FramePool + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) {
        self.fence_gvma(None, None, pool, hart);
        // One fence per shadow context: its physical VMID holds L2's VS-stage entries.
        for key in self.shadow.keys() {
            if let Some(shadow) = self.shadow.hgatp(key) {
                hart.hfence_vvma(shadow.vmid(), None, None);
            }
        }
    }

    /// While L2 runs: the host time at which L1's own Sstc timer (its stimecmp, set aside in
    /// L1's saved vstimecmp, compared against L1's time = host time + the host's htimedelta
    /// for L1) fires, if the host gave L1 Sstc. When the host's timer reaches it, ask
    /// [`NestedHart::pending_l1_interrupt`].
    pub fn l1_timer_deadline(&self) -> Option<u64> {
        let saved = self.saved.as_ref()?;
        let host_henvcfg = saved.h[HENVCFG_AT];
        let offered = self.config().sstc && host_henvcfg & HENVCFG_STCE != 0;
        offered.then(|| saved.vstimecmp.wrapping_sub(saved.h[HTIMEDELTA_AT]))
    }

    /// While L2 runs: the interrupt L1 must take now (host time `now`), if any. HS-level
    /// interrupts are always enabled while V = 1, so sstatus.SIE does not matter. Candidates:
    /// in L1's sip and sie, one the host injects for L1 (its hvip for L1) or L1's Sstc timer;
    /// in L1's hip and hie, SGEI (a guest file with its hgeie bit signals) and the VS-level
    /// interrupts L1 did not delegate in its hideleg. The code is L1's, highest priority
    /// first: 9 (SEI), 1 (SSI), 5 (STI), 12 (SGEI), 10 (VSEI), 2 (VSSI), 6 (VSTI); deliver it
    /// with [`NestedHart::interrupt_l1`].
    // Priv spec, hypervisor chapter, "Hypervisor Interrupt Registers": HS-level priority
    // SEI, SSI, STI, SGEI, VSEI, VSSI, VSTI (LCOFI is not offered).
    pub fn pending_l1_interrupt<H: Host + ?Sized>(&self, now: u64, host: &mut H) -> Option<u64> {
        let saved = self.saved.as_ref()?;
        // While L1 runs, its sip/sie are the real vsip/vsie, which alias hvip/hie's VS bits.
        let injected = saved.h[HVIP_AT] & VS_INTERRUPTS;
        // The Sstc comparison, unsigned, in L1's time.
        let l1_time = now.wrapping_add(saved.h[HTIMEDELTA_AT]);
        let timer = self.l1_timer_deadline().is_some() && l1_time >= saved.vstimecmp;
        let sip = (injected >> 1) | if timer { 1 << 5 } else { 0 };
        let s_level = sip & saved.vs[VSIE_AT] & (1 << 9 | 1 << 1 | 1 << 5);
        let HostParts { files, .. } = host.parts();
        let hip = match &self.aia {
            Some(aia) => aia.hip(&self.csrs, l1_time, files),
            None => self.csrs.read(real::HIP, l1_time).unwrap_or(0),
        };
        let delegated = self.csrs.get(Slot::Hideleg);
        let h_level = hip & self.csrs.get(Slot::Hie) & !delegated & (SGEIP | VS_INTERRUPTS);
        let pending = s_level | h_level;
        [9, 1, 5, 12, 10, 2, 6]
            .into_iter()
            .find(|&code| pending >> code & 1 == 1)
    }

    /// L1's `time`: the host's, plus the host's htimedelta for L1 (in the real CSR while L1
    /// runs, set aside while L2 runs).
    pub(crate) fn l1_time(&self, hart: &(impl PhysicalHart + ?Sized)) -> u64 {
        let delta = match &self.saved {
            Some(saved) => saved.h[HTIMEDELTA_AT],
            None => hart.read_csr(real::HTIMEDELTA),
        };
        hart.read_csr(real::TIME).wrapping_add(delta)
    }

    /// A virtual CSR that always exists, read as L1 would.
    fn virtual_csr(&self, csr: u16) -> u64 {
        self.csrs.read(csr, 0).unwrap_or(0)
    }
}

/// L2 takes exception `cause` (with `tval`) in its own VS-mode, from VS-mode (`supervisor`) or
/// VU-mode, as the hart delivers a trap L1 delegated: vsepc, vscause, vstval and vsstatus's
/// SPP, SPIE and SIE are written, and L2 resumes at its vstvec (exceptions are never
/// vectored). Priv spec, supervisor chapter, "Supervisor Trap Vector Base Address Register".
pub(crate) fn trap_into_l2(
    cause: u64,
    tval: u64,
    supervisor: bool,
    regs: &mut GuestRegs,
    hart: &mut (impl PhysicalHart + ?Sized),
) -> Outcome {
    write_vs_trap(hart, regs.pc, cause, tval, supervisor);
    regs.pc = hart.read_csr(real::VSTVEC) & !3;
    Outcome::Resume {
        supervisor: true,
        effects: Effects::empty(),
    }
}

/// A trap into real VS-mode, from VS-mode (`supervisor`) or VU-mode: vsepc, vscause, vstval,
/// and vsstatus's SPP, SPIE (SIE's old value) and SIE (cleared).
pub(crate) fn write_vs_trap(
    hart: &mut (impl PhysicalHart + ?Sized),
    epc: u64,
    cause: u64,
    tval: u64,
    supervisor: bool,
) {
    hart.write_csr(real::VSEPC, epc);
    hart.write_csr(real::VSCAUSE, cause);
    hart.write_csr(real::VSTVAL, tval);
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
}
