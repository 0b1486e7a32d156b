//! Who may execute the emulated instructions: the spec's table of legal, virtual-instruction
//! and illegal-instruction outcomes, applied to L1's virtual privilege modes.
//!
//! Priv spec, hypervisor chapter, "Trap Cause Codes" (virtual vs illegal instruction).

use crate::csr::bits::{HSTATUS_HU, HSTATUS_VTSR, HSTATUS_VTVM, HSTATUS_VTW};
use crate::insn::Instruction;

/// The privilege mode, as L1 sees it, of the code that executed an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VirtualMode {
    /// L1 itself: virtual HS-mode (real VS-mode).
    Hypervisor,
    /// L1's user programs: virtual U-mode with V=0 (real VU-mode).
    User,
    /// L2's kernel: virtual VS-mode (real VS-mode while L2 runs).
    GuestSupervisor,
    /// L2's user programs: virtual VU-mode.
    GuestUser,
}

/// What the spec says an instruction does in a mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// It executes.
    Legal,
    /// Virtual-instruction exception (cause 22).
    VirtualInstruction,
    /// Illegal-instruction exception (cause 2).
    Illegal,
}

/// The permission of `insn` in `mode`, under L1's virtual `hstatus`.
///
/// CSR accesses are judged by number only here (an H or VS CSR from HS is legal); whether
/// the CSR exists and is writable is the CSR file's answer, illegal from every mode.
/// `mstatus.TW`, `TSR` and `TVM` of the virtual machine are 0: the host offers L1 no M-mode.
pub fn permission(insn: &Instruction, mode: VirtualMode, hstatus: u64) -> Permission {
    use Permission::{Illegal, Legal, VirtualInstruction};
    use VirtualMode::{GuestSupervisor, GuestUser, Hypervisor, User};
    let set = |bit: u64| hstatus & bit != 0;
    match (insn, mode) {
        (_, Hypervisor) => Legal,
        (Instruction::Hlv { .. } | Instruction::Hsv { .. }, User) if set(HSTATUS_HU) => Legal,
        (_, User) => Illegal,
        (Instruction::Sret, GuestSupervisor) if !set(HSTATUS_VTSR) => Legal,
        (Instruction::Wfi, GuestSupervisor) if !set(HSTATUS_VTW) => Legal,
        (Instruction::SfenceVma { .. }, GuestSupervisor) if !set(HSTATUS_VTVM) => Legal,
        (_, GuestSupervisor | GuestUser) => VirtualInstruction,
    }
}
