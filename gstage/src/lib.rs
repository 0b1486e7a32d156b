//! RISC-V G-stage page tables: formats, walker, page-table writer and the shadow G-stage
//! manager for nested virtualization.
//!
//! - [`hgatp`]: the register, its modes (an enum with fallible decoding) and WARL writes.
//! - [`pte`]: entry formats and flags.
//! - [`paging`]: the level-walking core every radix format shares (the G-stage and the
//!   VS-stage of [`two_stage`]), and the [`PteMemory`] reader the caller supplies.
//! - [`walk`]: G-stage translation with the exact guest-page or access fault.
//! - [`vsatp`] and [`two_stage`]: the VS-stage register and the two-stage translation
//!   (GVA -> GPA -> SPA) on the same core, for HLV/HLVX/HSV.
//! - [`writer`]: map/unmap/protect on real tables in host frames.
//! - [`shadow`]: shadow G-stage contexts composing L1's G-stage with the host's map of L1.
//! - [`host`]: the traits the host implements ([`FramePool`], [`L1AddressMap`]).
//! - [`fence`]: the HFENCE.GVMA instructions a change requires.
//!
//! # Choices where the spec leaves room
//!
//! - hgatp WARL: an unsupported MODE keeps the current MODE; VMID and PPN are still written.
//! - HS-level MXR is not applied to implicit VS-stage table reads (as Spike does).
//! - Svadu: when the compare-exchange finds a changed entry the walk restarts from the root,
//!   at most [`walk::AD_UPDATE_ATTEMPTS`] times, then reports [`WalkError::Contended`].
//! - Leaves written by the writer and the shadow have U=A=D=1, so the hardware never updates
//!   them; the shadow grants W only when L1's entry has D set.
//! - Fences: the writer and the shadow report a fence for every valid entry they change, a
//!   VMID-wide fence for a non-leaf change; a new shadow leaf is fenced only when the host
//!   says its harts lack Svvptc (h-extension-aia.md §4.9 and §6 item 4). Then a fill that
//!   also put a table under an invalid entry fences the whole VMID, not the GPA: a hart may
//!   have cached that invalid non-leaf entry, and HFENCE.GVMA with a GPA, like SFENCE.VMA
//!   with an address, orders only leaf entries (Priv spec, supervisor chapter, "SFENCE.VMA").
//! - A shadow leaf takes the PBMT of L1's leaf when L1 has PBMTE, else PMA; the host's own
//!   memory type for L1's memory is not combined with it yet.
//! - The VS-stage treats XWR=010 as reserved (shadow stacks, Zicfiss, are not modelled).
//!
//! # Example: build a small Sv39x4 table and walk it
//!
//! ```
//! use gstage::{Access, AccessType, Fences, FrameKind, FramePool, GStageMode, GStageTable,
//!     HostFrame, LeafAttrs, MemoryFault, PageSize, Perms, PteMemory, PteWidth, WalkConfig};
//!
//! /// Eight 4 KiB frames at host PA 0x8000_0000; frames 0-3 form the 16 KiB root.
//! struct Frames { words: Vec<u64>, next: u64 }
//! const BASE: u64 = 0x8000_0000;
//! impl FramePool for Frames {
//!     fn alloc(&mut self, kind: FrameKind) -> Option<HostFrame> {
//!         let pa = match kind { FrameKind::Root => BASE, FrameKind::Table => { self.next += 0x1000; self.next } };
//!         Some(HostFrame::new(pa, kind))
//!     }
//!     fn free(&mut self, _: HostFrame) {}
//!     fn table(&self, f: HostFrame) -> &[u64] {
//!         let i = ((f.pa() - BASE) / 8) as usize;
//!         &self.words[i..i + f.kind().entries()]
//!     }
//!     fn table_mut(&mut self, f: HostFrame) -> &mut [u64] {
//!         let i = ((f.pa() - BASE) / 8) as usize;
//!         &mut self.words[i..i + f.kind().entries()]
//!     }
//! }
//! impl PteMemory for Frames {
//!     fn read_pte(&mut self, pa: u64, _: PteWidth) -> Result<u64, MemoryFault> {
//!         let i = pa.checked_sub(BASE).ok_or(MemoryFault)? / 8;
//!         self.words.get(i as usize).copied().ok_or(MemoryFault)
//!     }
//!     fn compare_exchange_pte(&mut self, pa: u64, w: PteWidth, old: u64, new: u64) -> Result<u64, MemoryFault> {
//!         let found = self.read_pte(pa, w)?;
//!         if found == old { self.words[((pa - BASE) / 8) as usize] = new; }
//!         Ok(found)
//!     }
//! }
//!
//! let mut frames = Frames { words: vec![0; 8 * 512], next: BASE + 0x3000 };
//! let mut table = GStageTable::new(GStageMode::Sv39x4, 1, &mut frames).unwrap();
//! let mut fences = Fences::new();
//! // A 2 MiB page of RW memory at GPA 0x4020_0000 -> PA 0x9000_0000.
//! let rw = LeafAttrs::new(Perms::R | Perms::W);
//! table.map(&mut frames, 0x4020_0000, 0x9000_0000, PageSize::Size2M, rw, &mut fences).unwrap();
//! assert!(fences.is_empty()); // a new mapping over an invalid entry needs no fence (Svvptc)
//!
//! let root = table.hgatp().root_pa();
//! let cfg = WalkConfig::default();
//! let load = Access::explicit(AccessType::Load);
//! let t = gstage::translate(GStageMode::Sv39x4, root, 0x4021_2345, load, &cfg, &mut frames).unwrap();
//! assert_eq!((t.pa, t.size_log2), (0x9001_2345, 21));
//!
//! // Fetching faults with an instruction guest-page fault (cause 20) and htval = GPA >> 2.
//! let fetch = Access::explicit(AccessType::Fetch);
//! let Err(gstage::WalkError::GuestPageFault(f)) =
//!     gstage::translate(GStageMode::Sv39x4, root, 0x4021_2345, fetch, &cfg, &mut frames)
//! else { panic!("fetch must fault") };
//! assert_eq!((f.cause.code(), f.htval()), (20, 0x4021_2345 >> 2));
//! ```
#![no_std]
#![forbid(unsafe_code)]

pub mod fence;
pub mod hgatp;
pub mod host;
pub mod paging;
pub mod pte;
pub mod shadow;
pub mod two_stage;
pub mod vsatp;
pub mod walk;
pub mod writer;

pub use fence::{Fences, HfenceGvma};
pub use hgatp::{GStageMode, Hgatp, HgatpError, SupportedModes, Xlen};
pub use host::{FrameKind, FramePool, HostFrame, HostMapping, L1AddressMap};
pub use paging::{FaultReason, MemoryFault, PteMemory, PteWidth, Scheme, WalkConfig};
pub use pte::{Pbmt, Perms, Pte, PteFlags};
pub use shadow::{ContextKey, FillError, Filled, ShadowConfig, ShadowError, ShadowManager};
pub use two_stage::{TwoStageError, TwoStageTranslation, VsAccess, translate_two_stage};
pub use vsatp::{VsMode, Vsatp, VsatpError};
pub use walk::{
    Access, AccessFault, AccessFaultCause, AccessType, GuestPageFault, GuestPageFaultCause,
    Implicit, Origin, Translation, WalkError, translate,
};
pub use writer::{GStageTable, LeafAttrs, MappedLeaf, PageSize, WriteError};
