//! A `WordAccess` whose RV32 reads sign-extend (as `lw` does on an RV64 host) must not leak
//! high bits into anything the crate hands out: every value is L1's XLEN bits.

mod common;

use common::SharedMem;
use nacl_shmem::dirty_bitmap::{DirtyBitmap, is_dirty};
use nacl_shmem::hfence::{Fence, HfenceRequest, PageRange};
use nacl_shmem::layout::{self, hfence_entry_offset};
use nacl_shmem::provider::HfenceTarget;
use nacl_shmem::{AccessError, CSR_SYNC_ORDER, Consumer, CsrSlot, Provider, WordAccess, Xlen};

/// [`SharedMem`] read through a sign-extending load on RV32.
#[derive(Clone)]
struct SignExtending(SharedMem);

fn sign_extend(xlen: Xlen, value: u64) -> u64 {
    match xlen {
        Xlen::Rv32 => value as u32 as i32 as i64 as u64,
        Xlen::Rv64 => value,
    }
}

impl WordAccess for SignExtending {
    fn xlen(&self) -> Xlen {
        self.0.xlen
    }
    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        Ok(sign_extend(self.0.xlen, self.0.read_word(offset)?))
    }
    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        self.0.write_word(offset, value)
    }
    fn read_word_acquire(&self, offset: usize) -> Result<u64, AccessError> {
        Ok(sign_extend(self.0.xlen, self.0.read_word_acquire(offset)?))
    }
    fn write_word_release(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        self.0.write_word_release(offset, value)
    }
}

const TOP: u64 = 0x8000_0001; // bit 31 set: sign-extends on RV32

fn slot(csr: u16) -> CsrSlot {
    CsrSlot::from_csr(csr).unwrap()
}

#[test]
fn the_sign_extending_access_really_sign_extends() {
    let mem = SharedMem::new(Xlen::Rv32);
    mem.poke(0x1000, TOP);
    assert_eq!(
        SignExtending(mem).read_word(0x1000),
        Ok(0xFFFF_FFFF_8000_0001)
    );
}

#[test]
fn dirty_csr_values_and_bitmap_words_are_l1_xlen_bits() {
    let mem = SharedMem::new(Xlen::Rv32);
    // Slot 31 (CSR 0x21F) is bit 31 of bitmap word 0: sign-extended, its high bits would
    // name slots 32..63 as well.
    let mut l1 = Consumer::new(mem.clone());
    l1.csr_write(0x21F, TOP).unwrap();
    l1.csr_write(0x645, TOP).unwrap();
    let ext = SignExtending(mem.clone());
    assert_eq!(DirtyBitmap::read(&ext).unwrap().count(), 2);
    assert!(!is_dirty(&ext, slot(0x220)).unwrap());
    let mut drained = Vec::new();
    Provider::new(ext.clone())
        .drain_dirty_csrs(&CSR_SYNC_ORDER, |csr, value| drained.push((csr, value)))
        .unwrap();
    assert_eq!(drained, [(0x645, TOP), (0x21F, TOP)]);

    Consumer::new(mem.clone()).csr_write(0x645, TOP).unwrap();
    assert_eq!(
        Provider::new(ext.clone()).take_dirty_csr(slot(0x645)),
        Ok(Some(TOP))
    );
    let mut l1 = Consumer::new(ext);
    assert_eq!(l1.csr_read(0x645), Ok(TOP));
    assert_eq!(l1.csr_swap(0x645, 1), Ok(TOP));
}

#[test]
fn sret_registers_and_autoswap_words_are_l1_xlen_bits() {
    let mem = SharedMem::new(Xlen::Rv32);
    let gprs: [u64; 32] = std::array::from_fn(|i| TOP + i as u64);
    let mut l1 = Consumer::new(mem.clone());
    l1.set_sret_gprs(&gprs).unwrap();
    l1.arm_autoswap_hstatus(TOP).unwrap();
    mem.poke(layout::AUTOSWAP_OFFSET, 0xFFFF_FFFF); // flag bit 0 and every reserved bit
    let ext = SignExtending(mem.clone());
    let mut l0 = Provider::new(ext.clone());
    let mut expected = gprs;
    expected[0] = 0;
    assert_eq!(l0.sret_gprs(), Ok(expected));
    assert_eq!(l0.autoswap_hstatus(0x80), Ok(Some(TOP)));
    assert_eq!(l0.autoswap_hstatus(TOP + 1), Ok(Some(0x80)));
    assert_eq!(Consumer::new(ext).disarm_autoswap_hstatus(), Ok(TOP + 1));
}

#[test]
fn hfence_entries_decode_alike_through_a_sign_extending_access() {
    let mem = SharedMem::new(Xlen::Rv32);
    let request = HfenceRequest::VvmaAsid {
        vmid: 3,
        asid: 4,
        range: PageRange::new(0, TOP, 0x8000_0000).unwrap(),
    };
    let mut l1 = Consumer::new(SignExtending(mem.clone()));
    assert_eq!(l1.queue_hfence(&request, || unreachable!()), Ok(0));
    // The next free entry is found through the sign-extending pending test too.
    assert_eq!(
        l1.queue_hfence(&HfenceRequest::GvmaAll, || unreachable!()),
        Ok(1)
    );
    let mut taken = Vec::new();
    Provider::new(SignExtending(mem.clone()))
        .sync_hfence(HfenceTarget::All, |t| taken.push(t))
        .unwrap();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[0].decoded.fence, Fence::Request(request));
    assert_eq!(taken[0].decoded.malformation, None);
    assert_eq!(taken[0].entry.page_number, TOP);
    assert_eq!(taken[0].entry.page_count, 0x8000_0000);
    assert_eq!(taken[0].entry.config >> 32, 0);
    assert_eq!(mem.peek(hfence_entry_offset(Xlen::Rv32, 0)) >> 31, 0);
}
