//! The engine of RISC-V nested virtualization: one [`NestedHart`] per hart of a guest
//! hypervisor (L1), holding the virtual H extension L1 sees and emulating the instructions
//! that trap because L1 runs in VS-mode.
//!
//! The engine is data and logic: the host hands it [`host`] traits for L1's memory, its own
//! map of L1's memory, a frame pool for shadow page tables and the physical hart.
#![no_std]
#![forbid(unsafe_code)]

mod access;
pub mod config;
pub mod counters;
pub mod csr;
mod hart;
pub mod host;
pub mod insn;
pub mod privilege;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{NestedConfig, VsatpModes};
pub use counters::{Counters, Event};
pub use csr::{CsrError, Effects, VirtualCsrs};
pub use hart::{GuestRegs, NestedHart, Outcome, ShadowFault, Trap, cause};
pub use insn::Instruction;
pub use privilege::{Permission, VirtualMode};

/// The G-stage crate the engine builds on, for its shadow configuration and host traits.
pub use gstage;
