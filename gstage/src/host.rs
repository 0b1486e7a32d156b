//! The boundary with the host hypervisor (L0): memory for tables and L1's address map.
//!
//! The crate never touches memory by itself; the host lends frames through [`FramePool`]
//! and says what it granted L1 through [`L1AddressMap`]. `nested-core` reuses these traits.

use crate::pte::Perms;

/// Size and alignment class of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A 4 KiB, 4 KiB-aligned frame (512 PTEs): every non-root table.
    Table,
    /// A 16 KiB, 16 KiB-aligned frame (2048 PTEs): the root of an x4 G-stage table.
    Root,
}

impl FrameKind {
    /// Number of 64-bit entries in a frame of this kind.
    pub const fn entries(self) -> usize {
        match self {
            FrameKind::Table => 512,
            FrameKind::Root => 2048,
        }
    }
}

/// A frame lent by the host: its host physical address and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HostFrame {
    pa: u64,
    kind: FrameKind,
}

impl HostFrame {
    /// Names the frame at host physical address `pa`.
    pub const fn new(pa: u64, kind: FrameKind) -> Self {
        HostFrame { pa, kind }
    }

    /// Host physical address of the frame.
    pub const fn pa(self) -> u64 {
        self.pa
    }

    /// Kind of the frame.
    pub const fn kind(self) -> FrameKind {
        self.kind
    }
}

/// Memory for page tables, owned by the host.
pub trait FramePool {
    /// A zeroed frame of `kind`, or `None` when the pool is exhausted.
    fn alloc(&mut self, kind: FrameKind) -> Option<HostFrame>;

    /// Returns a frame obtained from [`FramePool::alloc`]; the pool zeroes it before reuse.
    fn free(&mut self, frame: HostFrame);

    /// The frame's PTE words (512 or 2048 of them), for reading.
    fn table(&self, frame: HostFrame) -> &[u64];

    /// The frame's PTE words, for writing.
    fn table_mut(&mut self, frame: HostFrame) -> &mut [u64];
}

/// How the host maps one L1 guest-physical address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HostMapping {
    /// Host physical address of the queried L1 GPA itself.
    pub host_pa: u64,
    /// log2 of the size of the naturally aligned block of L1 GPAs around the query that the
    /// host maps contiguously with the same permissions (at least 12).
    pub size_log2: u32,
    /// What the host lets L1 (and hence L2) do there.
    pub perms: Perms,
}

/// The host's map of L1 guest-physical memory: what L0 granted L1.
pub trait L1AddressMap {
    /// The host mapping of `l1_gpa`, or `None` when L1 has no memory there (MMIO, a hole).
    fn translate(&self, l1_gpa: u64) -> Option<HostMapping>;
}
