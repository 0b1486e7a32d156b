//! Two-stage translation: GVA -> GPA through the VS-stage, whose every table access is itself
//! a G-stage translation, then GPA -> SPA through the G-stage. What HLV/HLVX/HSV need.
//!
//! Priv spec, hypervisor chapter, "Two-Stage Address Translation"; the VS-stage walk is the
//! supervisor chapter's algorithm on the shared core in [`crate::paging`].

use crate::hgatp::Hgatp;
use crate::paging::{FaultReason, MemoryFault, PteMemory, PteWidth, Stop, WalkConfig, find_leaf};
use crate::pte::{Perms, PteFlags};
use crate::vsatp::{VsMode, Vsatp};
use crate::walk::{
    Access, AccessFault, AccessFaultCause, AccessType, GuestPageFault, Implicit, Translation,
    WalkError, translate,
};

/// How the explicit access is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VsAccess {
    /// Fetch, load (HLV, HLVX) or store (HSV).
    pub kind: AccessType,
    /// HLVX: execute permission replaces read permission in both stages.
    pub hlvx: bool,
    /// Made with VU privilege (hstatus.SPVP = 0 for HLV/HSV); otherwise VS.
    pub user: bool,
    /// vsstatus.SUM: VS-mode may load and store U=1 pages.
    pub sum: bool,
    /// vsstatus.MXR: execute-only pages readable, VS-stage only.
    pub mxr: bool,
    /// HS-level sstatus.MXR: execute-only pages readable in both stages.
    pub hs_mxr: bool,
}

/// Why a two-stage translation did not produce an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TwoStageError {
    /// VS-stage page fault: exception code 12, 13 or 15 (htval 0).
    PageFault {
        /// The exception code.
        cause: u64,
        /// Which rule failed.
        reason: FaultReason,
    },
    /// G-stage fault, of the final GPA or of a VS-stage table access (then `implicit` is set
    /// and the GPA is that of the VS-stage entry).
    GuestPageFault(GuestPageFault),
    /// Access fault (exception code 1, 5 or 7): a table entry lies outside memory.
    AccessFault {
        /// The exception code.
        cause: u64,
    },
    /// A Svadu update stayed contended: re-execute the access.
    Contended,
}

/// A successful two-stage translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TwoStageTranslation {
    /// The supervisor physical address.
    pub pa: u64,
    /// The guest physical address in between.
    pub gpa: u64,
    /// The G-stage translation of `gpa`.
    pub g: Translation,
}

/// Page-fault exception code for an access type.
const fn page_fault_cause(kind: AccessType) -> u64 {
    match kind {
        AccessType::Fetch => 12,
        AccessType::Load => 13,
        AccessType::Store => 15,
    }
}

/// Memory seen through the G-stage: VS-stage table GPAs are translated (as implicit accesses
/// of `original`) before each read or compare-exchange. The G-stage's verdict is kept in
/// `failure` when it stops the walk.
struct ThroughGStage<'a, M: ?Sized> {
    mem: &'a mut M,
    hgatp: Hgatp,
    config: &'a WalkConfig,
    access: Access,
    failure: Option<WalkError>,
}

impl<M: PteMemory + ?Sized> ThroughGStage<'_, M> {
    fn spa(&mut self, gpa: u64, implicit: Implicit) -> Result<u64, MemoryFault> {
        let access = Access {
            implicit: Some(implicit),
            hlvx: false,
            ..self.access
        };
        match translate(
            self.hgatp.mode(),
            self.hgatp.root_pa(),
            gpa,
            access,
            self.config,
            self.mem,
        ) {
            Ok(t) => Ok(t.pa),
            Err(e) => {
                self.failure = Some(e);
                Err(MemoryFault)
            }
        }
    }

    /// The verdict that stopped the walk. Every `MemoryFault` this memory returns records one
    /// first; should one be missing, re-executing the access is the harmless answer.
    fn take_failure(&mut self) -> TwoStageError {
        debug_assert!(
            self.failure.is_some(),
            "a VS-stage table access failed without a recorded G-stage verdict"
        );
        self.failure
            .take()
            .map_or(TwoStageError::Contended, from_walk)
    }

    fn unbacked(&mut self, spa: u64) -> MemoryFault {
        let cause = AccessFaultCause::for_access(self.access.original);
        self.failure = Some(WalkError::AccessFault(AccessFault {
            cause,
            pte_addr: spa,
        }));
        MemoryFault
    }
}

impl<M: PteMemory + ?Sized> PteMemory for ThroughGStage<'_, M> {
    fn read_pte(&mut self, gpa: u64, width: PteWidth) -> Result<u64, MemoryFault> {
        let spa = self.spa(gpa, Implicit::Read)?;
        self.mem
            .read_pte(spa, width)
            .map_err(|_| self.unbacked(spa))
    }

    fn compare_exchange_pte(
        &mut self,
        gpa: u64,
        width: PteWidth,
        current: u64,
        new: u64,
    ) -> Result<u64, MemoryFault> {
        let spa = self.spa(gpa, Implicit::Write)?;
        self.mem
            .compare_exchange_pte(spa, width, current, new)
            .map_err(|_| self.unbacked(spa))
    }
}

/// Bound on VS-stage Svadu attempts.
const VS_AD_ATTEMPTS: u32 = 4;

/// Translates `gva` through the VS-stage of `vsatp` (checked with `vs_config`: henvcfg's
/// ADUE and PBMTE) and the G-stage of `hgatp` (checked with `g_config`), reading every table
/// through `mem` at supervisor physical addresses. Bounded: at most
/// levels x (G-stage levels + 1) reads per attempt.
pub fn translate_two_stage<M: PteMemory + ?Sized>(
    vsatp: Vsatp,
    vs_config: &WalkConfig,
    hgatp: Hgatp,
    g_config: &WalkConfig,
    gva: u64,
    access: VsAccess,
    mem: &mut M,
) -> Result<TwoStageTranslation, TwoStageError> {
    let g_access = Access {
        original: access.kind,
        implicit: None,
        hlvx: access.hlvx,
        mxr: access.hs_mxr,
    };
    let gpa = match vsatp.mode.scheme() {
        None => gva,
        Some(scheme) => {
            let mut through = ThroughGStage {
                mem: &mut *mem,
                hgatp,
                config: g_config,
                access: g_access,
                failure: None,
            };
            vs_stage(vsatp, scheme, vs_config, gva, access, &mut through)?
        }
    };
    let g = translate(hgatp.mode(), hgatp.root_pa(), gpa, g_access, g_config, mem)
        .map_err(from_walk)?;
    Ok(TwoStageTranslation { pa: g.pa, gpa, g })
}

fn from_walk(e: WalkError) -> TwoStageError {
    match e {
        WalkError::GuestPageFault(f) => TwoStageError::GuestPageFault(f),
        WalkError::AccessFault(f) => TwoStageError::AccessFault {
            cause: f.cause.code(),
        },
        WalkError::Contended { .. } => TwoStageError::Contended,
    }
}

/// The VS-stage walk proper: GVA -> GPA.
// Priv spec, supervisor chapter, "Virtual Address Translation Process", at V=1.
fn vs_stage<M: PteMemory + ?Sized>(
    vsatp: Vsatp,
    scheme: crate::paging::Scheme,
    config: &WalkConfig,
    gva: u64,
    access: VsAccess,
    mem: &mut ThroughGStage<'_, M>,
) -> Result<u64, TwoStageError> {
    let fault = |reason| TwoStageError::PageFault {
        cause: page_fault_cause(access.kind),
        reason,
    };
    let bits = scheme.input_bits();
    // Sv39/48/57 addresses must be sign-extended; Sv32 ones fit in 32 bits.
    let canonical = if vsatp.mode == VsMode::Sv32 {
        gva >> 32 == 0
    } else {
        ((gva << (64 - bits)) as i64 >> (64 - bits)) as u64 == gva
    };
    if !canonical {
        return Err(fault(FaultReason::AddressOutOfRange));
    }
    for _ in 0..VS_AD_ATTEMPTS {
        let leaf =
            find_leaf(scheme, vsatp.root_gpa(), gva, config, mem).map_err(|stop| match stop {
                Stop::Fault(reason) => fault(reason),
                Stop::Memory { .. } => mem.take_failure(),
            })?;
        let flags = leaf.pte.flags();
        let user_page = flags.contains(PteFlags::U);
        let privileged = if access.user {
            user_page
        } else {
            !user_page || (access.sum && access.kind != AccessType::Fetch)
        };
        if !privileged {
            return Err(fault(FaultReason::NotUser));
        }
        if !granted(access, leaf.pte.perms()) {
            return Err(fault(FaultReason::Permission));
        }
        let mut needed = PteFlags::A;
        if access.kind == AccessType::Store {
            needed |= PteFlags::D;
        }
        if flags.contains(needed) {
            return Ok(leaf.pa);
        }
        if !config.svadu {
            let reason = if flags.contains(PteFlags::A) {
                FaultReason::DirtyClear
            } else {
                FaultReason::AccessedClear
            };
            return Err(fault(reason));
        }
        let updated = leaf.pte.with_flags(needed);
        match mem.compare_exchange_pte(
            leaf.pte_addr,
            scheme.width(),
            leaf.pte.bits(),
            updated.bits(),
        ) {
            Ok(found) if found == leaf.pte.bits() => return Ok(leaf.pa),
            Ok(_) => continue,
            Err(MemoryFault) => return Err(mem.take_failure()),
        }
    }
    Err(TwoStageError::Contended)
}

/// Whether a VS-stage leaf with `perms` grants the access.
const fn granted(access: VsAccess, perms: Perms) -> bool {
    let r = perms.contains(Perms::R);
    let x = perms.contains(Perms::X);
    match access.kind {
        AccessType::Fetch => x,
        AccessType::Load if access.hlvx => x,
        AccessType::Load => r || ((access.mxr || access.hs_mxr) && x),
        AccessType::Store => r && perms.contains(Perms::W),
    }
}
