//! The nested AIA state a guest hypervisor expects: virtual IMSIC interrupt files, the VS
//! iselect window, `hvictl`.
//!
//! L1 (a guest hypervisor in real VS-mode) believes it owns the AIA's hypervisor CSRs and
//! GEILEN guest interrupt files. [`NestedAia`] holds that state for one L1 hart:
//!
//! - [`NestedAia::csr_rmw`] performs one CSR instruction on an AIA CSR for L1 or L2 and returns
//!   what rd gets, or the exact trap ([`CsrTrap`]); `csr_read` and `write_then_read` are
//!   shorthands for setting up state and checking it, not for emulating an instruction;
//! - [`NestedAia::mmio`] handles a trapped access to a virtual guest file's 4 KiB page;
//! - [`NestedAia::sgei_pending`], [`NestedAia::hgeip`], [`NestedAia::vstopi`] answer what L1
//!   must see, and [`NestedAia::l2_interrupts`] what the host loads into the real `hvip`,
//!   `hvictl` and `hstatus.VGEIN` to run L2; [`NestedAia::save_l2_hvip`] takes the real `hvip`
//!   back after L2 ran, [`NestedAia::write_vsip`] L1's `vsip` writes that alias `hvip`, and
//!   [`NestedAia::real_hgeie`] names the real `hgeie` bits to arm for backed files;
//! - each virtual guest file is emulated ([`ImsicFile`]) or backed by a real guest file the
//!   host lends ([`NestedAia::prepare_hardware`], then [`NestedAia::attach_hardware`];
//!   [`GuestFileHardware`]).
//!
//! Assumptions and limits: L1 is RV64 (its HS-mode code is [`Origin::L1Supervisor`], XLEN =
//! 64; there are no RV32 high-half CSRs such as `hviph`); L2 may be RV32 or RV64. Sscsrind's
//! `sireg2`..`sireg6`/`vsireg2`..`vsireg6` are not handled here: the engine that routes CSRs
//! must trap them itself (for `vsiselect` 0x30-0x3F or 0x70-0xFF the AIA requires
//! illegal-instruction from HS and virtual-instruction from VS).
//!
//! ```
//! use aia_virt::{AiaConfig, CsrOp, NestedAia, NoGuestFileHardware, Origin, Vgein, VsContext};
//! let mut aia = NestedAia::<4>::new(AiaConfig::new(255)).unwrap();
//! let (ctx, mut hw) = (VsContext::default(), NoGuestFileHardware);
//! aia.set_vgein(Vgein::new(2));
//! let l1 = Origin::L1Supervisor;
//! aia.csr_rmw(0x250, CsrOp::Write(0xC0), l1, &ctx, &mut hw).unwrap(); // vsiselect = eie0
//! aia.csr_rmw(0x251, CsrOp::Write(1 << 7), l1, &ctx, &mut hw).unwrap(); // enable 7
//! aia.mmio(2, 0, 4, aia_virt::MmioOp::Store(7), &mut hw).unwrap(); // MSI 7 to file 2
//! let top = aia.csr_rmw(0x25C, CsrOp::Write(0), l1, &ctx, &mut hw).unwrap();
//! assert_eq!(top, (7 << 16) | 7); // claimed
//! assert_eq!(aia.csr_read(0x25C, l1, &ctx, &mut hw), Ok(0));
//! ```
#![no_std]
#![forbid(unsafe_code)]

pub mod csr;
pub mod geilen;
pub mod hvictl;
pub mod hvip;
pub mod hviprio;
pub mod imsic_file;
pub mod iselect;
pub mod nested_aia;
pub mod vstopi;

pub use csr::{AiaCsr, CsrError, CsrOp, CsrTrap, Hstateen0, Origin, Xlen, owns};
pub use geilen::{FileBacking, GuestFileHardware, NoGuestFileHardware, PhysGuestFile, Vgein};
pub use hvictl::Hvictl;
pub use hvip::VsContext;
pub use imsic_file::{ImsicFile, MmioFault, MmioOp, Topei};
pub use nested_aia::{AiaConfig, AttachError, ConfigError, L2Interrupts, NestedAia};
pub use vstopi::Vstopi;
