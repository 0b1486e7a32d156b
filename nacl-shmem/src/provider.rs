//! The L0 side: what a host hypervisor does with an L1's shared memory during L1's SBI calls.
//!
//! SBI spec, NACL chapter, `sbi_nacl_sync_csr`, `sbi_nacl_sync_hfence`, `sbi_nacl_sync_sret`.
//! The memory is hostile: another L1 hart can write it while L0 reads it. So every word is
//! read once into a local copy, the copy is validated and only the copy is used; no value read
//! from it can make this module panic, loop longer than the fixed size of the memory, or
//! allocate.
//!
//! `sync_sret` is a sequence of these pieces, in the spec's order: [`Provider::drain_dirty_csrs`]
//! and the write-back of every implemented CSR (if SYNC_CSR is offered),
//! [`Provider::sync_hfence`] with [`HfenceTarget::All`] (if SYNC_HFENCE is offered),
//! [`Provider::sret_gprs`], [`Provider::autoswap_hstatus`], then L0's own SRET emulation.

use crate::Xlen;
use crate::access::{AccessError, WordAccess};
use crate::csr_space::{CsrSlot, read_slot, write_slot};
use crate::dirty_bitmap::{clear_dirty, dirty_bit_location};
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
    /// them for an RV32 L1 is not part of it.
    pub fn from_arg(xlen: Xlen, a0: u64) -> Result<CsrTarget, ProviderError> {
        let arg = a0 & xlen.mask();
        if arg == xlen.mask() {
            return Ok(CsrTarget::All);
        }
        CsrSlot::from_csr(arg)
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

    /// Gives the shared memory back.
    pub fn into_inner(self) -> M {
        self.mem
    }

    /// Yields `(csr, value)` for every dirty slot, in slot order, and clears the dirty bits.
    ///
    /// Each bitmap word and each dirty slot is read once. L0 applies each value to the CSR
    /// (with its WARL rules) in `apply`, then writes back the architectural value of every
    /// CSR it implements with [`Provider::write_back_csr`]. A bit L1 sets while a bitmap
    /// word is being drained may be lost with it; L1 only writes its shared memory outside
    /// its own sync calls. Returns the number of CSRs yielded.
    ///
    /// L0s whose CSRs depend on each other (hvip before hip) use
    /// [`Provider::take_dirty_csr`] in their own order instead.
    pub fn drain_dirty_csrs<F: FnMut(u16, u64)>(
        &mut self,
        mut apply: F,
    ) -> Result<usize, AccessError> {
        let xlen = self.mem.xlen();
        let mut yielded = 0;
        for word in 0..dirty_bitmap_words(xlen) {
            let offset = dirty_bitmap_word_offset(xlen, word);
            let mut bits = self.mem.read_word_acquire(offset)? & xlen.mask();
            if bits == 0 {
                continue;
            }
            let first = word * xlen.bits() as usize;
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(slot) = CsrSlot::from_index(first + bit) {
                    apply(slot.csr(), read_slot(&self.mem, slot)?);
                    yielded += 1;
                }
            }
            self.mem.write_word_release(offset, 0)?;
        }
        Ok(yielded)
    }

    /// If `slot` is dirty: clears its bit and returns its value (read once), for L0 to apply.
    pub fn take_dirty_csr(&mut self, slot: CsrSlot) -> Result<Option<u64>, AccessError> {
        let (offset, bit) = dirty_bit_location(self.mem.xlen(), slot);
        let word = self.mem.read_word_acquire(offset)?;
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
        let config = self.mem.read_word_acquire(base)? & xlen.mask();
        if config & pending_bit(xlen) == 0 {
            return Ok(None);
        }
        let entry = HfenceEntry {
            config,
            page_number: self.mem.read_word(base + word)? & xlen.mask(),
            reserved: self.mem.read_word(base + 2 * word)? & xlen.mask(),
            page_count: self.mem.read_word(base + 3 * word)? & xlen.mask(),
        };
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
    pub fn autoswap_hstatus(&mut self, hstatus: u64) -> Result<Option<u64>, AccessError> {
        autoswap::swap_hstatus(&mut self.mem, hstatus)
    }
}
