//! The engine of RISC-V nested virtualization: one [`NestedHart`] per hart of a guest
//! hypervisor (L1), holding the virtual H extension L1 sees and emulating the instructions
//! that trap because L1 runs in VS-mode.
//!
//! The engine is data and logic: the host hands it [`host`] traits for L1's memory, its own
//! map of L1's memory, a frame pool for shadow page tables and the physical hart.
//!
//! # Choices where the spec leaves room
//!
//! - Reset: every virtual H and VS CSR reads zero but the read-only fields (VSXL, UXL: 64-bit
//!   on RV64); the spec defines only the MODE fields.
//! - hgatp: a write with an unsupported MODE keeps the current MODE while VMID and PPN are
//!   still written (Spike's behaviour; L1s probe modes by write and read-back either way).
//! - vsatp: a write with a reserved or unoffered MODE is ignored, as satp's is.
//! - vstvec: a write with a reserved MODE (2 or 3) is ignored, as QEMU does.
//! - hie.SGEIE is writable even without guest external interrupt lines, as in QEMU.
//! - hstatus: VSBE, HUPMM and HUKTE are read-only zero (little-endian only, no Ssnpm or
//!   Svukte); VGEIN keeps its old value when written with one above GEILEN.
//! - A misaligned HLV/HSV raises address-misaligned (4 or 6) rather than being split.
//! - HLVX from VS privilege on a U page faults even with SUM set (execute never uses SUM).
//! - htinst for a fault of an explicit HLV/HSV access holds the transformed instruction;
//!   for a fault of an implicit VS-stage table access, the spec's pseudo-instruction.
//! - WFI that traps completes at once ([`Outcome::WaitForInterrupt`]).
//! - AIA (offered with [`NestedConfig::aia`], held by `aia-virt`): hideleg bits 13-63 are
//!   read-only zero, so vsip/vsie bits 13-63 exist only where hvien gives them; hstateen0's
//!   IMSIC, AIA and CSRIND bits are writable. An access of L2 that the real hart refuses but
//!   L1's view allows (its `sireg`/`stopei` on an emulated file) is performed on the virtual
//!   file. The NACL slots of vsireg and vstopei are not refreshed (reading them reaches a file).
//! - The real hstatus.VGEIN while L2 runs is the real file backing the one L1's VGEIN selects,
//!   else 0, never the host's for L1.
#![no_std]
#![forbid(unsafe_code)]

mod access;
mod aia;
pub mod config;
pub mod counters;
pub mod csr;
mod hart;
pub mod host;
pub mod insn;
pub mod nacl;
pub mod privilege;
pub mod remote_fence;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;
mod trap;
mod world;

pub use aia::GuestFileAccess;
pub use config::{HardwareMismatch, NestedConfig, RealVsFields, VsatpModes};
pub use counters::{Counters, Event, World};
pub use csr::{CsrError, Effects, VirtualCsrs};
pub use hart::{GuestRegs, NestedHart, Outcome, ShadowFault, Trap, VVMA_PAGE_LIMIT};
pub use insn::Instruction;
pub use nacl::{NaclProvider, NestedContext};
pub use privilege::{Permission, VirtualMode};
pub use remote_fence::{
    Drained, FenceMailbox, FenceTicket, PendingFences, RemoteFence, RemoteHfenceProvider,
    RfenceContext,
};
pub use trap::cause;
pub use world::{GuestTrap, Route, route};

/// The AIA crate whose state the engine holds for L1, for its configuration and guest files.
pub use aia_virt;
/// The G-stage crate the engine builds on, for its shadow configuration and host traits.
pub use gstage;
