//! The G-stage walker: GPA -> supervisor physical address, or the exact architectural fault.
//!
//! Priv spec, hypervisor chapter, "Guest Physical Address Translation" and "Guest-Page Faults".

use crate::hgatp::{GStageMode, Xlen};
use crate::paging::{FaultReason, MemoryFault, PteMemory, Stop, WalkConfig, find_leaf};
use crate::pte::{Perms, Pte, PteFlags};

/// The type of the access that started the translation (it chooses the fault cause).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessType {
    /// Instruction fetch (cause 20 on a guest-page fault).
    Fetch,
    /// Load, including HLV/HLVX (cause 21).
    Load,
    /// Store or AMO (cause 23).
    Store,
}

/// An implicit access to a VS-stage page-table entry, translated through the G-stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Implicit {
    /// Reading the VS-stage PTE (checked as a load).
    Read,
    /// Setting A/D in the VS-stage PTE (checked as a store).
    Write,
}

/// What a G-stage translation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// The original access; decides the fault cause even for implicit accesses.
    pub original: AccessType,
    /// Set when the GPA is that of a VS-stage PTE rather than of the original access.
    pub implicit: Option<Implicit>,
    /// HLVX: execute permission replaces read permission.
    pub hlvx: bool,
    /// HS-level sstatus.MXR: execute-only pages are readable (not for implicit reads).
    pub mxr: bool,
}

impl Access {
    /// An explicit access of type `original`.
    pub const fn explicit(original: AccessType) -> Self {
        Access {
            original,
            implicit: None,
            hlvx: false,
            mxr: false,
        }
    }

    /// An implicit access to a VS-stage PTE during the translation of `original`.
    pub const fn vs_pte(original: AccessType, implicit: Implicit) -> Self {
        Access {
            original,
            implicit: Some(implicit),
            hlvx: false,
            mxr: false,
        }
    }

    /// The access a guest-page fault was taken for, from the trap's exception code and
    /// htinst: the inverse of [`GuestPageFault::pseudo_instruction`]. htinst 0x2000/0x3000 is
    /// an implicit VS-stage table read, 0x2020/0x3020 an implicit write (setting A/D); any
    /// other value (0 or a transformed instruction) is an explicit access of the cause's type.
    /// `cause` 20 is a fetch, 21 a load and 23 a store; the caller routes only those here, and
    /// any other code is taken as 23, the access needing the most permission. `hs_mxr` is the
    /// HS-level sstatus.MXR the access ran with. HLVX is never set: a guest at V=1 cannot
    /// execute it.
    // Priv spec, hypervisor chapter, "Transformed Instruction or Pseudoinstruction for htinst".
    pub const fn from_guest_page_fault(cause: u64, htinst: u64, hs_mxr: bool) -> Access {
        let original = match cause {
            20 => AccessType::Fetch,
            21 => AccessType::Load,
            _ => AccessType::Store,
        };
        let implicit = match htinst {
            0x2000 | 0x3000 => Some(Implicit::Read),
            0x2020 | 0x3020 => Some(Implicit::Write),
            _ => None,
        };
        Access {
            original,
            implicit,
            hlvx: false,
            mxr: hs_mxr,
        }
    }

    /// Whether the G-stage sees a write (needs W and D).
    pub const fn is_write(self) -> bool {
        match self.implicit {
            Some(Implicit::Write) => true,
            Some(Implicit::Read) => false,
            None => matches!(self.original, AccessType::Store),
        }
    }

    /// Whether a leaf with `perms` grants this access.
    // Priv spec, hypervisor chapter, "Guest Physical Address Translation": checked as U-mode.
    pub const fn granted_by(self, perms: Perms) -> bool {
        let r = perms.contains(Perms::R);
        let w = perms.contains(Perms::W);
        let x = perms.contains(Perms::X);
        match (self.implicit, self.original) {
            (Some(Implicit::Read), _) => r,
            (Some(Implicit::Write), _) | (None, AccessType::Store) => r && w,
            (None, AccessType::Fetch) => x,
            (None, AccessType::Load) if self.hlvx => x,
            (None, AccessType::Load) => r || (self.mxr && x),
        }
    }
}

/// Guest-page fault exception codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GuestPageFaultCause {
    /// 20: instruction guest-page fault.
    Instruction = 20,
    /// 21: load guest-page fault.
    Load = 21,
    /// 23: store/AMO guest-page fault.
    StoreAmo = 23,
}

impl GuestPageFaultCause {
    /// The cause for an original access type.
    pub const fn for_access(original: AccessType) -> Self {
        match original {
            AccessType::Fetch => GuestPageFaultCause::Instruction,
            AccessType::Load => GuestPageFaultCause::Load,
            AccessType::Store => GuestPageFaultCause::StoreAmo,
        }
    }

    /// The scause/mcause exception code.
    pub const fn code(self) -> u64 {
        self as u64
    }
}

/// Access-fault exception codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessFaultCause {
    /// 1: instruction access fault.
    Instruction = 1,
    /// 5: load access fault.
    Load = 5,
    /// 7: store/AMO access fault.
    StoreAmo = 7,
}

impl AccessFaultCause {
    /// The cause for an original access type.
    pub const fn for_access(original: AccessType) -> Self {
        match original {
            AccessType::Fetch => AccessFaultCause::Instruction,
            AccessType::Load => AccessFaultCause::Load,
            AccessType::Store => AccessFaultCause::StoreAmo,
        }
    }

    /// The scause/mcause exception code.
    pub const fn code(self) -> u64 {
        self as u64
    }
}

/// A guest-page fault as the hardware would report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GuestPageFault {
    /// 20, 21 or 23, from the original access type.
    pub cause: GuestPageFaultCause,
    /// The faulting GPA (that of the VS-stage PTE for an implicit access).
    pub gpa: u64,
    /// Set when an implicit VS-stage PTE access faulted.
    pub implicit: Option<Implicit>,
    /// Which rule failed (not architecturally visible; for diagnostics and tests).
    pub reason: FaultReason,
}

impl GuestPageFault {
    /// The htval value: the GPA shifted right by two.
    // Priv spec, hypervisor chapter, "Hypervisor Trap Value Register (htval)".
    pub const fn htval(&self) -> u64 {
        self.gpa >> 2
    }

    /// The htinst pseudo-instruction for a fault on an implicit VS-stage PTE access
    /// (`vsxlen` is the VS-stage PTE width); `None` for an explicit access, whose htinst is
    /// 0 or the transformed instruction, which only the trapping instruction can give.
    // Priv spec, hypervisor chapter, "Transformed Instruction or Pseudoinstruction for mtinst or htinst".
    pub const fn pseudo_instruction(&self, vsxlen: Xlen) -> Option<u32> {
        let base = match vsxlen {
            Xlen::Rv32 => 0x2000,
            Xlen::Rv64 => 0x3000,
        };
        match self.implicit {
            Some(Implicit::Read) => Some(base),
            Some(Implicit::Write) => Some(base | 0x20),
            None => None,
        }
    }
}

/// An access fault: a G-stage table entry lies outside memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccessFault {
    /// 1, 5 or 7, from the original access type.
    pub cause: AccessFaultCause,
    /// The physical address of the unreadable G-stage entry.
    pub pte_addr: u64,
}

/// Why a G-stage translation did not produce an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WalkError {
    /// Guest-page fault (cause 20/21/23).
    GuestPageFault(GuestPageFault),
    /// Access fault (cause 1/5/7).
    AccessFault(AccessFault),
    /// Svadu: the leaf changed under every bounded compare-exchange attempt. Not an
    /// architectural event: resume the guest so that it re-executes the access.
    Contended {
        /// Physical address of the contended entry.
        pte_addr: u64,
    },
}

/// Where a translation came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// hgatp.MODE is Bare: identity.
    Bare,
    /// A leaf entry.
    Leaf {
        /// Level of the leaf (0 for 4 KiB).
        level: u8,
        /// Physical address of the leaf entry.
        pte_addr: u64,
        /// The entry after any A/D update.
        pte: Pte,
    },
}

/// A successful G-stage translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Translation {
    /// The supervisor physical address.
    pub pa: u64,
    /// log2 of the mapping's size (64 for Bare: the whole space).
    pub size_log2: u32,
    /// What the mapping grants now without another walk: R and X, and W only once D is set.
    pub perms: Perms,
    /// The leaf it came from.
    pub origin: Origin,
}

/// Mask of the low `bits` bits (all ones for 64 or more).
pub(crate) const fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Bound on Svadu compare-exchange attempts before giving up with [`WalkError::Contended`].
pub const AD_UPDATE_ATTEMPTS: u32 = 4;

/// Translates `gpa` through the G-stage rooted at `root_pa` in `mode`, reading entries
/// through `mem`; at most `levels` reads per attempt and [`AD_UPDATE_ATTEMPTS`] attempts.
// Priv spec, hypervisor chapter, "Guest Physical Address Translation".
pub fn translate<M: PteMemory + ?Sized>(
    mode: GStageMode,
    root_pa: u64,
    gpa: u64,
    access: Access,
    config: &WalkConfig,
    mem: &mut M,
) -> Result<Translation, WalkError> {
    let Some(scheme) = mode.scheme() else {
        return Ok(Translation {
            pa: gpa,
            size_log2: 64,
            perms: Perms::all(),
            origin: Origin::Bare,
        });
    };
    let fault = |reason| {
        WalkError::GuestPageFault(GuestPageFault {
            cause: GuestPageFaultCause::for_access(access.original),
            gpa,
            implicit: access.implicit,
            reason,
        })
    };
    // GPAs are zero-extended, not sign-extended: every bit above the width must be zero.
    if gpa >> scheme.input_bits() != 0 {
        return Err(fault(FaultReason::AddressOutOfRange));
    }
    let mut last_pte_addr = root_pa;
    for _ in 0..AD_UPDATE_ATTEMPTS {
        let leaf = find_leaf(scheme, root_pa, gpa, config, mem).map_err(|stop| match stop {
            Stop::Fault(reason) => fault(reason),
            Stop::Memory { pte_addr } => access_fault(access, pte_addr),
        })?;
        let flags = leaf.pte.flags();
        if !flags.contains(PteFlags::U) {
            return Err(fault(FaultReason::NotUser));
        }
        if !access.granted_by(leaf.pte.perms()) {
            return Err(fault(FaultReason::Permission));
        }
        let mut needed = PteFlags::A;
        if access.is_write() {
            needed |= PteFlags::D;
        }
        let pte = if flags.contains(needed) {
            leaf.pte
        } else if !config.svadu {
            let reason = if flags.contains(PteFlags::A) {
                FaultReason::DirtyClear
            } else {
                FaultReason::AccessedClear
            };
            return Err(fault(reason));
        } else {
            let updated = leaf.pte.with_flags(needed);
            let width = scheme.width();
            let found = mem
                .compare_exchange_pte(leaf.pte_addr, width, leaf.pte.bits(), updated.bits())
                .map_err(|MemoryFault| access_fault(access, leaf.pte_addr))?;
            if found != leaf.pte.bits() {
                // The entry changed: walk again (Priv spec, Svadu: "return to step 2").
                last_pte_addr = leaf.pte_addr;
                continue;
            }
            updated
        };
        let mut perms = pte.perms();
        if !pte.flags().contains(PteFlags::D) {
            perms.remove(Perms::W);
        }
        return Ok(Translation {
            pa: leaf.pa,
            size_log2: leaf.size_log2,
            perms,
            origin: Origin::Leaf {
                level: leaf.level,
                pte_addr: leaf.pte_addr,
                pte,
            },
        });
    }
    Err(WalkError::Contended {
        pte_addr: last_pte_addr,
    })
}

fn access_fault(access: Access, pte_addr: u64) -> WalkError {
    WalkError::AccessFault(AccessFault {
        cause: AccessFaultCause::for_access(access.original),
        pte_addr,
    })
}
