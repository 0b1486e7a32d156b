//! The RISC-V Supervisor Binary Interface (SBI) for the code that answers it: a hypervisor
//! serving its guests, or a firmware serving its supervisor.
//!
//! - [`SbiCall`]: the calling convention, a0-a7 in and (a0 = error, a1 = value) out, for a
//!   caller of either XLEN ([`Xlen`]).
//! - [`SbiError`]: every standard error code of SBI 3.0, typed.
//! - [`HartMask`], [`FenceRange`], [`PhysicalRange`]: the argument shapes, validated.
//! - One trait per extension ([`Timer`], [`Ipi`], [`Rfence`], [`RemoteHfence`], [`Hsm`],
//!   [`SystemReset`], [`Console`], [`Nacl`], [`SystemSuspend`], [`Legacy`], and
//!   [`OtherExtensions`] for the rest), each method answering an [`Outcome`]: return a value
//!   or an error, do not return, trap the caller, or leave the call to the host.
//! - [`Dispatcher`]: routes a call to what is plugged in, answers BASE (its
//!   `probe_extension` follows from the slots that are filled) and returns `NOT_SUPPORTED`
//!   for the rest. An HFENCE call is never a silent success: without a [`RemoteHfence`]
//!   provider it answers `NOT_SUPPORTED`.
//!
//! Numbers (extension and function IDs, error codes) come from the `sbi-spec` crate.
//!
//! # Validation
//!
//! Every argument is a value the caller controls. Before an extension runs, the dispatcher
//! checks what the spec lets it check without the host: hart masks and hart IDs against
//! [`Platform::hart_count`] (`INVALID_PARAM`), fence ranges (`INVALID_ADDRESS`), ASID and
//! VMID widths, reserved suspend, sleep and reset types, DBCN buffers and the NACL shared
//! memory against the caller's physical address space, NACL flags, alignment, CSR numbers
//! and entry indexes. A 32-bit parameter is the low half of its register. No input panics.
//!
//! # Example
//!
//! A host plugs in a console and a timer and dispatches one `ecall` of its guest:
//!
//! ```
//! use sbi_dispatch::{
//!     Console, Dispatcher, Outcome, PhysicalRange, Platform, SbiCall, Timer, Version, Xlen,
//! };
//!
//! /// The host's view of the calling hart: its registers and its timer deadline.
//! struct Hart {
//!     a: [u64; 8],
//!     deadline: u64,
//! }
//!
//! struct Uart(Vec<u8>);
//! impl Console<Hart> for Uart {
//!     fn console_write(&mut self, _: &mut Hart, _: PhysicalRange) -> Outcome {
//!         Outcome::Deferred // a real host copies the guest's buffer here
//!     }
//!     fn console_read(&mut self, _: &mut Hart, _: PhysicalRange) -> Outcome {
//!         Outcome::Return(Ok(0))
//!     }
//!     fn console_write_byte(&mut self, _: &mut Hart, byte: u8) -> Outcome {
//!         self.0.push(byte);
//!         Outcome::Return(Ok(0))
//!     }
//! }
//!
//! struct Clint;
//! impl Timer<Hart> for Clint {
//!     fn set_timer(&mut self, hart: &mut Hart, stime_value: u64) -> Outcome {
//!         hart.deadline = stime_value;
//!         Outcome::Return(Ok(0))
//!     }
//! }
//!
//! let platform = Platform {
//!     spec_version: Version::V2_0,
//!     impl_id: 0x5a,
//!     impl_version: 1,
//!     mvendorid: 0,
//!     marchid: 0,
//!     mimpid: 0,
//!     hart_count: 1,
//! };
//! let mut sbi = Dispatcher::new(platform).with_console(Uart(Vec::new())).with_timer(Clint);
//!
//! // The guest ran: a7 = DBCN, a6 = console_write_byte, a0 = 'h'.
//! let mut hart = Hart { a: [b'h' as u64, 0, 0, 0, 0, 0, 2, 0x4442_434e], deadline: 0 };
//! let call = SbiCall::from_registers(&hart.a, Xlen::Rv64);
//! match sbi.dispatch(&mut hart, &call) {
//!     Outcome::Return(result) => call.write_return(result, &mut hart.a),
//!     other => panic!("a console byte returns, not {other:?}"),
//! }
//! assert_eq!(sbi.console.0, b"h");
//! assert_eq!(&hart.a[..2], &[0, 0]); // SBI_SUCCESS, value 0
//! ```
#![no_std]
#![forbid(unsafe_code)]

mod absent;
mod address;
mod base;
mod call;
mod console;
mod dispatcher;
mod error;
mod hart_mask;
mod hsm;
mod ipi;
mod legacy;
mod nacl;
mod other;
mod outcome;
mod rfence;
mod system_reset;
mod system_suspend;
#[cfg(feature = "testing")]
pub mod testing;
mod time;

pub use absent::Absent;
pub use address::{FenceRange, PhysicalRange};
pub use base::{Platform, Version, impl_id};
pub use call::{SbiCall, Xlen};
pub use console::Console;
pub use dispatcher::Dispatcher;
pub use error::{SbiError, SbiResult};
pub use hart_mask::{HartIter, HartMask};
pub use hsm::{HartState, Hsm, SuspendType};
pub use ipi::Ipi;
pub use legacy::Legacy;
pub use nacl::{Nacl, NaclFeature};
pub use other::OtherExtensions;
pub use outcome::{Departure, Outcome, TrapRequest};
pub use rfence::{RemoteHfence, Rfence};
pub use system_reset::{ResetReason, ResetType, SystemReset};
pub use system_suspend::{SleepType, SystemSuspend};
pub use time::Timer;

/// The IDs and codes of the SBI specification, re-exported from the `sbi-spec` crate.
pub use sbi_spec as spec;
