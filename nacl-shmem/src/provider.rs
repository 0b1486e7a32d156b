//! The L0 side: what a host hypervisor does with an L1's shared memory during L1's SBI calls.
//!
//! SBI spec, NACL chapter, `sbi_nacl_sync_csr`, `sbi_nacl_sync_hfence`, `sbi_nacl_sync_sret`.
//! The memory is hostile: another L1 hart can write it while L0 reads it. So every word is
//! read once into a local copy, the copy is validated and only the copy is used; no value read
//! from it can make this module panic, loop longer than the fixed size of the memory, or
//! allocate.
//!
//! `sync_sret` is a sequence of these pieces, in the spec's order:
//! 1. if SYNC_CSR is offered, [`Provider::drain_dirty_csrs`] with [`CSR_SYNC_ORDER`] (so that a
//!    CSR is applied after the CSRs its value depends on), then the write-back of every CSR L0
//!    implements with [`Provider::write_back_csr`];
//! 2. if SYNC_HFENCE is offered, [`Provider::sync_hfence`] with [`HfenceTarget::All`];
//! 3. [`Provider::sret_gprs`];
//! 4. [`Provider::autoswap_hstatus`];
//! 5. L0's own SRET emulation.
//!
//! On the later trap from L2 back to L1, L0 calls [`Provider::autoswap_hstatus`] again and
//! writes L1's resulting hstatus into the hstatus slot (0x600).
//!
//! At `set_shmem`, [`Provider::clear_all_dirty`] drops the dirty bits the page happens to
//! hold without applying them, and L0 writes back every CSR it implements.

pub use crate::sync_order::CSR_SYNC_ORDER;

use crate::Xlen;
use crate::access::{AccessError, WordAccess, read_xlen, read_xlen_acquire};
use crate::csr_space::{CsrSlot, read_slot, write_slot};
use crate::dirty_bitmap::{DirtyBitmap, clear_dirty, dirty_bit_location};
use crate::hfence::{DecodedHfence, HfenceEntry, pending_bit};
use crate::layout::{
    dirty_bitmap_word_offset, dirty_bitmap_words, hfence_entries, hfence_entry_offset,
};
use crate::{autoswap, sret_area};
use sbi_spec::binary::Error as SbiError;

/// An error of a provider call, with the SBI error it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderError {
    /// An argument out of range: `SBI_ERR_INVALID_PARAM`.
    InvalidParam,
    /// The shared memory could not be reached: `SBI_ERR_FAILED`.
    Access(AccessError),
}

impl From<AccessError> for ProviderError {
    fn from(error: AccessError) -> Self {
        ProviderError::Access(error)
    }
}

impl From<ProviderError> for SbiError {
    fn from(error: ProviderError) -> Self {
        match error {
            ProviderError::InvalidParam => SbiError::InvalidParam,
            ProviderError::Access(_) => SbiError::Failed,
        }
    }
}

/// The `csr_num` argument of `sync_csr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrTarget {
    /// All-ones: every H CSR L0 implements.
    All,
    /// One CSR (L0 still answers INVALID_PARAM if it does not implement it).
    One(CsrSlot),
}

impl CsrTarget {
    /// Decodes `a0`. Only its low XLEN bits are L1's argument: what an RV64 L0 holds above
    /// them for an RV32 L1 is not part of it. A value too wide for a CSR number is
    /// INVALID_PARAM, never truncated into one.
    pub fn from_arg(xlen: Xlen, a0: u64) -> Result<CsrTarget, ProviderError> {
        let arg = a0 & xlen.mask();
        if arg == xlen.mask() {
            return Ok(CsrTarget::All);
        }
        u16::try_from(arg)
            .ok()
            .and_then(CsrSlot::from_csr)
            .map(CsrTarget::One)
            .ok_or(ProviderError::InvalidParam)
    }
}

/// The `entry_index` argument of `sync_hfence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HfenceTarget {
    /// All-ones: every pending entry.
    All,
    /// One entry, below `3840 / XLEN`.
    Entry(usize),
}

impl HfenceTarget {
    /// Decodes `a0` (its low XLEN bits): all-ones, or an index below the entry count, else
    /// INVALID_PARAM.
    pub fn from_arg(xlen: Xlen, a0: u64) -> Result<HfenceTarget, ProviderError> {
        let arg = a0 & xlen.mask();
        if arg == xlen.mask() {
            return Ok(HfenceTarget::All);
        }
        match usize::try_from(arg) {
            Ok(index) if index < hfence_entries(xlen) => Ok(HfenceTarget::Entry(index)),
            _ => Err(ProviderError::InvalidParam),
        }
    }
}

/// One HFENCE entry L0 took: where it was, its raw words and the fence that covers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakenHfence {
    /// The entry's index.
    pub index: usize,
    /// The words as read (once each).
    pub entry: HfenceEntry,
    /// What to invalidate.
    pub decoded: DecodedHfence,
}

/// L0's handle on one L1 hart's shared memory.
#[derive(Debug)]
pub struct Provider<M> {
    mem: M,
}

impl<M: WordAccess> Provider<M> {
    /// Works on `mem`, the shared memory that L1 hart registered.
    pub fn new(mem: M) -> Self {
        Provider { mem }
    }

    /// The shared memory.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// The shared memory, to write slots directly (every CSR's value after a full drain, when
    /// no dirty bit is left to clear).
    pub fn memory_mut(&mut self) -> &mut M {
        &mut self.mem
    }

    /// Gives the shared memory back.
    pub fn into_inner(self) -> M {
        self.mem
    }

    /// Yields `(csr, value)` for every dirty slot, then clears the dirty bits. Returns the
    /// number of CSRs yielded.
    ///
    /// SBI spec, NACL chapter, "Feature: Synchronized CSR": a CSR must be synced after any
    /// CSR its value depends on (hvip before hip). The bitmap is read once; the dirty CSRs of
    /// `order` come first, in that order (each once, whatever the list repeats), then every
    /// other dirty CSR in slot order; then each bitmap word that had a dirty bit is cleared.
    /// Pass [`CSR_SYNC_ORDER`] unless L0 knows better, or `&[]` for slot order.
    ///
    /// Each dirty slot is read once. L0 applies each value to the CSR (with its WARL rules)
    /// in `apply`, then writes back the architectural value of every CSR it implements with
    /// [`Provider::write_back_csr`]. A bit L1 sets while the drain runs may be lost; L1 only
    /// writes its shared memory outside its own sync calls. If an access fails, no bit is
    /// cleared, and the next sync applies the same values again.
    pub fn drain_dirty_csrs<F: FnMut(u16, u64)>(
        &mut self,
        order: &[CsrSlot],
        mut apply: F,
    ) -> Result<usize, AccessError> {
        let xlen = self.mem.xlen();
        let dirty = DirtyBitmap::read(&self.mem)?;
        let mut rest = dirty;
        let mut yielded = 0;
        for &slot in order {
            if rest.contains(slot) {
                rest.remove(slot);
                apply(slot.csr(), read_slot(&self.mem, slot)?);
                yielded += 1;
            }
        }
        for slot in rest.iter() {
            apply(slot.csr(), read_slot(&self.mem, slot)?);
            yielded += 1;
        }
        for word in 0..dirty_bitmap_words(xlen) {
            if dirty.word(xlen, word) != 0 {
                self.mem
                    .write_word_release(dirty_bitmap_word_offset(xlen, word), 0)?;
            }
        }
        Ok(yielded)
    }

    /// Clears every dirty bit without applying any value.
    ///
    /// For `set_shmem`: the spec leaves what the new page holds to L1, and Linux registers the
    /// same page again after disabling it, so bits left from before are stale. L0 clears them
    /// and writes back every CSR it implements (SBI spec, NACL chapter, `sbi_nacl_set_shmem`;
    /// the recommendation of `sbi-nacl.md` §1.3).
    pub fn clear_all_dirty(&mut self) -> Result<(), AccessError> {
        let xlen = self.mem.xlen();
        for word in 0..dirty_bitmap_words(xlen) {
            self.mem
                .write_word_release(dirty_bitmap_word_offset(xlen, word), 0)?;
        }
        Ok(())
    }

    /// If `slot` is dirty: clears its bit and returns its value (read once), for L0 to apply.
    pub fn take_dirty_csr(&mut self, slot: CsrSlot) -> Result<Option<u64>, AccessError> {
        let (offset, bit) = dirty_bit_location(self.mem.xlen(), slot);
        let word = read_xlen_acquire(&self.mem, offset)?;
        if word >> bit & 1 == 0 {
            return Ok(None);
        }
        let value = read_slot(&self.mem, slot)?;
        self.mem.write_word_release(offset, word & !(1 << bit))?;
        Ok(Some(value))
    }

    /// Writes a CSR's current (architectural) value into its slot and clears its dirty bit,
    /// so that a stale dirty value can never override it later.
    pub fn write_back_csr(&mut self, slot: CsrSlot, value: u64) -> Result<(), AccessError> {
        write_slot(&mut self.mem, slot, value)?;
        clear_dirty(&mut self.mem, slot)
    }

    /// `sync_hfence`: yields every pending entry of `target` as a [`TakenHfence`], in index
    /// order, and clears its pending bit once `perform` has returned. Returns the number of
    /// entries taken.
    ///
    /// Each word of an entry is read once: the config word first (acquire), and the page
    /// words only if it is pending.
    ///
    /// A well-formed entry may ask for up to 2^52 pages of 4 KiB (a range up to the top of
    /// 64-bit addresses). An L0 that fences page by page bounds its work with
    /// [`DecodedHfence::capped`], which turns a range above its limit into the `_ALL` form
    /// of the same type and scope: `perform(taken.decoded.capped(MAX_PAGES))`.
    pub fn sync_hfence<F: FnMut(TakenHfence)>(
        &mut self,
        target: HfenceTarget,
        mut perform: F,
    ) -> Result<usize, ProviderError> {
        let xlen = self.mem.xlen();
        let count = hfence_entries(xlen);
        let (first, end) = match target {
            HfenceTarget::All => (0, count),
            HfenceTarget::Entry(index) if index < count => (index, index + 1),
            HfenceTarget::Entry(_) => return Err(ProviderError::InvalidParam),
        };
        let mut taken = 0;
        for index in first..end {
            if let Some(entry) = self.take_entry(index)? {
                perform(entry);
                let offset = hfence_entry_offset(xlen, index);
                self.mem
                    .write_word_release(offset, entry.entry.config & !pending_bit(xlen))?;
                taken += 1;
            }
        }
        Ok(taken)
    }

    /// Reads entry `index` once, if it is pending.
    fn take_entry(&self, index: usize) -> Result<Option<TakenHfence>, AccessError> {
        let xlen = self.mem.xlen();
        let base = hfence_entry_offset(xlen, index);
        let word = xlen.word_bytes();
        let mut entry = HfenceEntry {
            config: read_xlen_acquire(&self.mem, base)?,
            ..HfenceEntry::default()
        };
        if !entry.is_pending(xlen) {
            return Ok(None);
        }
        entry.page_number = read_xlen(&self.mem, base + word)?;
        entry.reserved = read_xlen(&self.mem, base + 2 * word)?;
        entry.page_count = read_xlen(&self.mem, base + 3 * word)?;
        Ok(Some(TakenHfence {
            index,
            entry,
            decoded: entry.decode(xlen),
        }))
    }

    /// The GPRs of the SRET context as `[x0, x1, ..., x31]` (x0 = 0), each word read once.
    pub fn sret_gprs(&self) -> Result<[u64; 32], AccessError> {
        sret_area::read_gprs(&self.mem)
    }

    /// Autoswap: if L1 armed it, stores `hstatus` (L1's current hstatus) in the autoswap
    /// context and returns the value L1 left there, to become L1's hstatus (after L0's WARL).
    ///
    /// L0 calls it just before it emulates SRET for `sync_sret`, and again right after a trap
    /// from L2 is delivered to L1. After that second swap L0 must also write L1's new hstatus
    /// into the hstatus slot (0x600) with [`Provider::write_back_csr`]: L1 reads it from
    /// there (SBI spec, NACL chapter, "Feature: Autoswap CSR"; `sbi-nacl.md` §4.2).
    pub fn autoswap_hstatus(&mut self, hstatus: u64) -> Result<Option<u64>, AccessError> {
        autoswap::swap_hstatus(&mut self.mem, hstatus)
    }
}
