//! The L1 side: what a guest hypervisor does with its own shared memory.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized CSR", "Feature: Synchronized HFENCE",
//! "Feature: Synchronized SRET", "Feature: Autoswap CSR" (the supervisor software's part).

use crate::access::{AccessError, WordAccess, read_xlen_acquire};
use crate::csr_space::{CsrSlot, NotNaclCsr, read_slot, write_slot};
use crate::dirty_bitmap::set_dirty;
use crate::hfence::{EncodeError, HfenceEntry, HfenceRequest};
use crate::layout::{hfence_entries, hfence_entry_offset};
use crate::{autoswap, sret_area};
use sbi_spec::binary::Error as SbiError;

/// How many times [`Consumer::queue_hfence`] calls `sync_hfence(-1)` before giving up.
///
/// One call frees every entry with a conforming L0; the rest only bound a misbehaving one.
pub const HFENCE_SYNC_RETRIES: usize = 3;

/// An error of a CSR access through the CSR space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrError {
    /// The CSR number has no slot in the CSR space.
    NotNaclCsr(NotNaclCsr),
    /// The shared memory could not be accessed.
    Access(AccessError),
}

impl From<AccessError> for CsrError {
    fn from(error: AccessError) -> Self {
        CsrError::Access(error)
    }
}

/// Why an HFENCE could not be queued. The fence was not queued: the caller must perform it
/// some other way (a real HFENCE, which traps to L0), never drop it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The request does not fit this XLEN's fields.
    Encode(EncodeError),
    /// Every entry stayed pending after [`HFENCE_SYNC_RETRIES`] calls of `sync_hfence(-1)`.
    Full,
    /// `sync_hfence(-1)` failed.
    Sync(SbiError),
    /// The shared memory could not be accessed.
    Access(AccessError),
}

impl From<AccessError> for QueueError {
    fn from(error: AccessError) -> Self {
        QueueError::Access(error)
    }
}

/// L1's handle on its own shared memory.
#[derive(Debug)]
pub struct Consumer<M> {
    mem: M,
}

impl<M: WordAccess> Consumer<M> {
    /// Works on `mem`, the shared memory L1 registered with `set_shmem`.
    pub fn new(mem: M) -> Self {
        Consumer { mem }
    }

    /// The shared memory.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// Gives the shared memory back.
    pub fn into_inner(self) -> M {
        self.mem
    }

    fn slot(csr: u16) -> Result<CsrSlot, CsrError> {
        CsrSlot::try_from(csr).map_err(CsrError::NotNaclCsr)
    }

    /// Reads CSR `csr` from its slot (L0 keeps every H CSR it implements up to date there).
    pub fn csr_read(&self, csr: u16) -> Result<u64, CsrError> {
        Ok(read_slot(&self.mem, Self::slot(csr)?)?)
    }

    /// Writes CSR `csr`: the value into its slot, then its dirty bit (the next `sync_csr`
    /// or `sync_sret` applies it).
    pub fn csr_write(&mut self, csr: u16, value: u64) -> Result<(), CsrError> {
        let slot = Self::slot(csr)?;
        write_slot(&mut self.mem, slot, value)?;
        Ok(set_dirty(&mut self.mem, slot)?)
    }

    /// Writes CSR `csr` like [`Consumer::csr_write`] and returns the slot's previous value.
    pub fn csr_swap(&mut self, csr: u16, value: u64) -> Result<u64, CsrError> {
        let slot = Self::slot(csr)?;
        let old = read_slot(&self.mem, slot)?;
        write_slot(&mut self.mem, slot, value)?;
        set_dirty(&mut self.mem, slot)?;
        Ok(old)
    }

    /// Queues `request` in a free HFENCE entry and returns the entry's index.
    ///
    /// Takes the first entry whose pending bit is clear, writes the page fields, then the
    /// config word with pending set (released, so that the fields are visible first). When no
    /// entry is free it calls `sync_hfence_all` (which must make the SBI call
    /// `sync_hfence(-1)`) and looks again, at most [`HFENCE_SYNC_RETRIES`] times.
    pub fn queue_hfence<F>(
        &mut self,
        request: &HfenceRequest,
        mut sync_hfence_all: F,
    ) -> Result<usize, QueueError>
    where
        F: FnMut() -> Result<(), SbiError>,
    {
        let xlen = self.mem.xlen();
        let entry = request.encode(xlen).map_err(QueueError::Encode)?;
        for attempt in 0..=HFENCE_SYNC_RETRIES {
            if let Some(index) = self.free_entry()? {
                let base = hfence_entry_offset(xlen, index);
                let word = xlen.word_bytes();
                self.mem.write_word(base + word, entry.page_number)?;
                self.mem.write_word(base + 2 * word, entry.reserved)?;
                self.mem.write_word(base + 3 * word, entry.page_count)?;
                self.mem.write_word_release(base, entry.config)?;
                return Ok(index);
            }
            if attempt < HFENCE_SYNC_RETRIES {
                sync_hfence_all().map_err(QueueError::Sync)?;
            }
        }
        Err(QueueError::Full)
    }

    /// The first entry whose pending bit is clear.
    fn free_entry(&self) -> Result<Option<usize>, AccessError> {
        let xlen = self.mem.xlen();
        for index in 0..hfence_entries(xlen) {
            let entry = HfenceEntry {
                config: read_xlen_acquire(&self.mem, hfence_entry_offset(xlen, index))?,
                ..HfenceEntry::default()
            };
            if !entry.is_pending(xlen) {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }

    /// Fills the SRET context with x1..x31 from `gprs[1..]` before `sync_sret`.
    pub fn set_sret_gprs(&mut self, gprs: &[u64; 32]) -> Result<(), AccessError> {
        sret_area::write_gprs(&mut self.mem, gprs)
    }

    /// Writes one GPR (x1..x31) of the SRET context.
    pub fn set_sret_gpr(&mut self, reg: usize, value: u64) -> Result<(), sret_area::SretError> {
        sret_area::write_gpr(&mut self.mem, reg, value)
    }

    /// Asks L0 to swap `hstatus` (the guest's) into L1's hstatus at the next `sync_sret`.
    pub fn arm_autoswap_hstatus(&mut self, hstatus: u64) -> Result<(), AccessError> {
        autoswap::arm_hstatus(&mut self.mem, hstatus)
    }

    /// After the exit from L2: stops the swap and returns the guest's hstatus L0 swapped out.
    pub fn disarm_autoswap_hstatus(&mut self) -> Result<u64, AccessError> {
        autoswap::disarm_hstatus(&mut self.mem)
    }
}
