//! The virtual H-extension and VS CSR file of one L1 hart.
//!
//! Every CSR is one row of [`TABLE`]: its number, name, storage, how a write is made legal
//! (WARL), whether it exists for this configuration, and what a change means to the engine.
//! Priv spec, hypervisor chapter, "Hypervisor and Virtual Supervisor CSRs".

pub mod bits;
mod file;
pub mod number;
mod table;

pub use file::{CsrError, Effects, VirtualCsrs};
pub(crate) use table::Slot;
pub use table::{CsrRow, PROBE_WRITES, TABLE};
