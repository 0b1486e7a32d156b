//! The frames of L2's G-stage table: a static, 16 KiB-aligned region of L1's memory lent to
//! `gstage` through its `FramePool`. L1 runs with satp = Bare, so a frame's address is its
//! physical address (guest-physical when L1 is itself a guest, which is what L0 expects in
//! the hgatp it emulates).

use gstage::{FrameKind, FramePool, HostFrame};
use spin::Mutex;

/// 4 KiB tables besides the root (Sv48x4 needs three for L2's RAM).
const TABLES: usize = 8;
const ROOT_ENTRIES: usize = FrameKind::Root.entries();
const TABLE_ENTRIES: usize = FrameKind::Table.entries();

/// The root (16 KiB, 16 KiB-aligned) and the tables (4 KiB each, hence 4 KiB-aligned).
#[repr(C, align(16384))]
struct Region {
    root: [u64; ROOT_ENTRIES],
    tables: [[u64; TABLE_ENTRIES]; TABLES],
}

/// The pool: the region and which of its frames are lent.
pub struct Frames {
    region: Region,
    root_lent: bool,
    tables_lent: [bool; TABLES],
}

/// The one pool; L1 has one G-stage table.
pub static FRAMES: Mutex<Frames> = Mutex::new(Frames {
    region: Region {
        root: [0; ROOT_ENTRIES],
        tables: [[0; TABLE_ENTRIES]; TABLES],
    },
    root_lent: false,
    tables_lent: [false; TABLES],
});

impl Frames {
    fn root_pa(&self) -> u64 {
        self.region.root.as_ptr() as u64
    }

    fn table_pa(&self, index: usize) -> u64 {
        self.region.tables[index].as_ptr() as u64
    }

    /// The index of the table at `frame`, if it is one of this pool's.
    fn table_index(&self, frame: HostFrame) -> Option<usize> {
        (0..TABLES).find(|&i| frame.kind() == FrameKind::Table && self.table_pa(i) == frame.pa())
    }

    fn is_root(&self, frame: HostFrame) -> bool {
        frame.kind() == FrameKind::Root && frame.pa() == self.root_pa()
    }
}

impl FramePool for Frames {
    fn alloc(&mut self, kind: FrameKind) -> Option<HostFrame> {
        let pa = match kind {
            FrameKind::Root if !self.root_lent => {
                self.root_lent = true;
                self.region.root.fill(0);
                self.root_pa()
            }
            FrameKind::Root => return None,
            FrameKind::Table => {
                let index = self.tables_lent.iter().position(|lent| !lent)?;
                self.tables_lent[index] = true;
                self.region.tables[index].fill(0);
                self.table_pa(index)
            }
        };
        Some(HostFrame::new(pa, kind))
    }

    fn free(&mut self, frame: HostFrame) {
        if self.is_root(frame) {
            self.root_lent = false;
        } else if let Some(index) = self.table_index(frame) {
            self.tables_lent[index] = false;
        }
    }

    fn table(&self, frame: HostFrame) -> &[u64] {
        if self.is_root(frame) {
            &self.region.root
        } else if let Some(index) = self.table_index(frame) {
            &self.region.tables[index]
        } else {
            &[]
        }
    }

    fn table_mut(&mut self, frame: HostFrame) -> &mut [u64] {
        if self.is_root(frame) {
            &mut self.region.root
        } else if let Some(index) = self.table_index(frame) {
            &mut self.region.tables[index]
        } else {
            &mut []
        }
    }
}
