//! The SBI nested-acceleration (NACL) shared memory: typed layout, consumer (L1) and provider
//! (L0) sides.
//!
//! SBI spec (v2.0 and v3.0), chapter "Nested Acceleration Extension (EID #0x4E41434C)".
//! The `sbi-spec` crate has the extension's IDs and sizes; this crate has the rest: the
//! layout of the shared memory for RV32 and RV64 ([`layout`]), the CSR space ([`csr_space`])
//! and its [`dirty_bitmap`], the [`hfence`] entries, the [`sret_area`] and the [`autoswap`]
//! context, and the two sides that use them, [`Consumer`] for L1 and [`Provider`] for L0.
//! Everything goes through [`WordAccess`], one little-endian XLEN word at a time, so that an
//! L0 can work in place on guest memory; [`ByteShmem`] implements it over a byte slice.
//!
//! # Example: L1 queues a fence, L0 drains it
//!
//! ```
//! use nacl_shmem::hfence::{Fence, HfenceRequest, PageRange};
//! use nacl_shmem::provider::HfenceTarget;
//! use nacl_shmem::{ByteShmem, CSR_SYNC_ORDER, Consumer, Provider, Xlen};
//!
//! let mut page = vec![0u8; Xlen::Rv64.shmem_size()];
//!
//! // L1: flush two 4 KiB pages of VMID 5's guest-physical space.
//! let mut l1 = Consumer::new(ByteShmem::new(&mut page, Xlen::Rv64).unwrap());
//! let range = PageRange::covering(0x8020_0000, 0x2000).unwrap();
//! let request = HfenceRequest::GvmaVmid { vmid: 5, range };
//! let index = l1.queue_hfence(&request, || Ok(())).unwrap(); // the hook would call sync_hfence(-1)
//! l1.csr_write(0x244, 0x4).unwrap(); // vsip and hvip, applied at the next sync
//! l1.csr_write(0x645, 0x4).unwrap();
//!
//! // L0, inside L1's sync_sret (or sync_hfence(-1) and sync_csr(-1)):
//! let mut l0 = Provider::new(ByteShmem::new(&mut page, Xlen::Rv64).unwrap());
//! let mut writes = Vec::new();
//! l0.drain_dirty_csrs(&CSR_SYNC_ORDER, |csr, value| writes.push((csr, value))).unwrap();
//! // hvip first: vsip's value depends on it (its slot comes first, its sync does not).
//! assert_eq!(writes, [(0x645, 0x4), (0x244, 0x4)]);
//!
//! let target = HfenceTarget::from_arg(Xlen::Rv64, u64::MAX).unwrap();
//! let mut fences = Vec::new();
//! // An L0 that fences page by page caps each range (here at 512 pages of 4 KiB).
//! l0.sync_hfence(target, |taken| fences.push((taken.index, taken.decoded.capped(512).fence)))
//!     .unwrap();
//! assert_eq!(fences, [(index, Fence::Request(request))]);
//! ```
//!
//! # Choices where the spec leaves room
//!
//! - **XLEN** is L1's and chosen at run time ([`Xlen`]): an RV64 L0 may host an RV32 L1. An SBI
//!   argument is taken modulo 2^XLEN, so all-ones means all-ones of L1's XLEN.
//! - **HFENCE write order** (spec: page fields, then `Config`; Linux: `Config` first): the
//!   consumer follows the spec and publishes `Config` with release ordering; the provider
//!   reads `Config` with acquire ordering. With Linux's order an entry can be seen pending
//!   before its fields are written, so a provider must drain only inside the owning hart's
//!   own sync call, never asynchronously (the loom models in `tests/loom.rs` show both).
//! - **Pending is cleared after** the provider's callback has performed the fence (the
//!   spec's order; Xvisor clears it before, which L1 cannot tell apart).
//! - **Malformed HFENCE entries** never fail and never panic; they decode to the widest fence
//!   that covers every reading of them ([`hfence::Malformation`] says why): a reserved type,
//!   or a reserved bit set in `Config` (including RV64 bits 47:30, which the spec leaves
//!   unnamed) or in the reserved word, decodes to [`hfence::Fence::Everything`] (both stages,
//!   all VMIDs), since no single type is sure to cover it; a range whose end overflows 64-bit
//!   addresses, or a `Page_Count` of 0 (which the spec does not define; RFENCE reads a zero
//!   size as "everything"), decodes to the type's `_ALL` form with the same VMID and ASID.
//! - **Fields a type ignores** (VMID and ASID of GVMA, ASID of GVMA_VMID and VVMA, the range
//!   of the `_ALL` types; the spec says "must be 0 / ignored") are ignored, not rejected: the
//!   type already asks for the wider reading. The encoder writes them as 0.
//! - **The VMID of VVMA entries** is the entry's own, as the spec says (Xvisor ignores it).
//! - **CSR numbers** are `u16` on both sides (what [`CsrSlot::csr`] returns); only the raw
//!   `sync_csr` argument is an XLEN word, and [`provider::CsrTarget::from_arg`] refuses one
//!   too wide for a CSR number rather than truncate it.
//! - **Words are L1's XLEN bits**: every value read from the shared memory (CSR slots, SRET
//!   registers, autoswap words, HFENCE and bitmap words) is masked to L1's XLEN in one place,
//!   so a [`WordAccess`] that sign-extends RV32 words cannot leak high bits.
//! - **Dirty-bit draining** applies an order: [`Provider::drain_dirty_csrs`] reads the bitmap
//!   once, yields the dirty CSRs of a priority list first ([`CSR_SYNC_ORDER`], so that every
//!   CSR comes after those its value depends on), then the rest in slot order, then clears
//!   the bitmap words; [`Provider::write_back_csr`] also clears the bit, so that a stale
//!   dirty value never overrides a later write L0 emulated (Xvisor does the same), and
//!   [`Provider::clear_all_dirty`] drops stale bits at `set_shmem` without applying them.
//! - **Large ranges**: a legal HFENCE entry may span 2^52 pages; [`hfence::DecodedHfence::capped`]
//!   lets an L0 that fences page by page turn a range above its limit into the `_ALL` form.
//! - **Autoswap on the trap to L1**: after the swap, L0 also refreshes the hstatus slot
//!   (0x600), because L1 reads its hstatus from there ([`Provider::autoswap_hstatus`]).
//! - **Autoswap flags**: only bit 0 (HSTATUS) is defined; the reserved bits are ignored.
//! - **SRET context word 0** (reserved) is never read; x0 is never loaded.
//! - **HFENCE retries**: the consumer calls `sync_hfence(-1)` at most
//!   [`consumer::HFENCE_SYNC_RETRIES`] times and then returns [`consumer::QueueError::Full`];
//!   it never drops a fence (Linux warns and drops it after 5 tries).
//! - **Precedence of errors** (INVALID_PARAM against NO_SHMEM) is the caller's: this crate
//!   only sees a shared memory that exists.
#![no_std]
#![forbid(unsafe_code)]

pub mod access;
pub mod autoswap;
pub mod consumer;
pub mod csr_space;
pub mod dirty_bitmap;
pub mod hfence;
pub mod layout;
pub mod provider;
pub mod sret_area;
pub mod sync_order;
mod xlen;

pub use access::{AccessError, ByteShmem, WordAccess};
pub use consumer::Consumer;
pub use csr_space::CsrSlot;
pub use provider::Provider;
pub use sync_order::CSR_SYNC_ORDER;
pub use xlen::{UnsupportedXlen, Xlen};
