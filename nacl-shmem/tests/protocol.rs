//! The two sides of each NACL protocol, one rule per test.

mod common;

use common::{Access, SharedMem};
use nacl_shmem::consumer::{CsrError, HFENCE_SYNC_RETRIES, QueueError};
use nacl_shmem::csr_space::NotNaclCsr;
use nacl_shmem::dirty_bitmap::{DirtyBitmap, is_dirty};
use nacl_shmem::hfence::{
    EncodeError, Fence, HfenceEntry, HfenceRequest, Malformation, PageRange, RangeError,
};
use nacl_shmem::layout::{self, hfence_entries, hfence_entry_offset};
use nacl_shmem::provider::{CsrTarget, HfenceTarget, ProviderError, TakenHfence};
use nacl_shmem::sret_area::{NoSuchGpr, SretError};
use nacl_shmem::{CSR_SYNC_ORDER, Consumer, CsrSlot, Provider, Xlen};
use sbi_spec::binary::Error as SbiError;

const HVIP: u16 = 0x645;
const HSTATUS: u16 = 0x600;

fn slot(csr: u16) -> CsrSlot {
    CsrSlot::from_csr(csr).unwrap()
}

fn range(page_number: u64, page_count: u64) -> PageRange {
    PageRange::new(0, page_number, page_count).unwrap()
}

fn pending_entries(mem: &SharedMem) -> usize {
    let xlen = mem.xlen;
    (0..hfence_entries(xlen))
        .filter(|i| mem.peek(hfence_entry_offset(xlen, *i)) >> (xlen.bits() - 1) == 1)
        .count()
}

fn drain_all(mem: &SharedMem) -> Vec<TakenHfence> {
    let mut taken = Vec::new();
    Provider::new(mem.clone())
        .sync_hfence(HfenceTarget::All, |t| taken.push(t))
        .unwrap();
    taken
}

#[test]
fn csr_write_stores_the_value_in_the_slot_and_sets_the_dirty_bit() {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        l1.csr_write(HVIP, 0x404).unwrap();
        assert_eq!(mem.peek(slot(HVIP).offset(xlen)), 0x404);
        assert!(is_dirty(&mem, slot(HVIP)).unwrap());
        assert_eq!(DirtyBitmap::read(&mem).unwrap().count(), 1);
        assert_eq!(l1.csr_read(HVIP), Ok(0x404));
    }
}

#[test]
fn csr_swap_returns_the_previous_value_of_the_slot() {
    let mem = SharedMem::new(Xlen::Rv64);
    mem.poke(slot(HSTATUS).offset(Xlen::Rv64), 0x2_0000_0080);
    let mut l1 = Consumer::new(mem.clone());
    assert_eq!(l1.csr_swap(HSTATUS, 0x80), Ok(0x2_0000_0080));
    assert_eq!(l1.csr_read(HSTATUS), Ok(0x80));
    assert!(is_dirty(&mem, slot(HSTATUS)).unwrap());
}

#[test]
fn csr_access_to_a_number_outside_the_nacl_space_is_refused_and_writes_nothing() {
    let mem = SharedMem::new(Xlen::Rv64);
    let mut l1 = Consumer::new(mem.clone());
    for csr in [0x100, 0x180, 0x300, 0x1200, 0xF600] {
        assert_eq!(
            l1.csr_write(csr, 1),
            Err(CsrError::NotNaclCsr(NotNaclCsr(csr)))
        );
        assert_eq!(l1.csr_read(csr), Err(CsrError::NotNaclCsr(NotNaclCsr(csr))));
    }
    assert!(mem.take_log().is_empty());
}

#[test]
fn queued_hfence_writes_the_page_fields_before_the_config_word_with_release() {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        let request = HfenceRequest::Vvma {
            vmid: 3,
            range: range(0x12345, 4),
        };
        assert_eq!(l1.queue_hfence(&request, || unreachable!()), Ok(0));
        let writes: Vec<Access> = mem
            .take_log()
            .into_iter()
            .filter(|a| matches!(a, Access::Write(..) | Access::WriteRelease(..)))
            .collect();
        // Pending, type 4 (VVMA), order 0, VMID 3 at the spec's positions for each XLEN.
        let (w, config) = match xlen {
            Xlen::Rv32 => (4, 0x8400_0600),
            Xlen::Rv64 => (8, 0x8400_0000_0003_0000),
        };
        assert_eq!(
            writes,
            [
                Access::Write(0x800 + w, 0x12345),
                Access::Write(0x800 + 2 * w, 0),
                Access::Write(0x800 + 3 * w, 4),
                Access::WriteRelease(0x800, config),
            ]
        );
    }
}

#[test]
fn queue_takes_the_first_entry_whose_pending_bit_is_clear() {
    let mem = SharedMem::new(Xlen::Rv64);
    let mut l1 = Consumer::new(mem.clone());
    for _ in 0..3 {
        l1.queue_hfence(&HfenceRequest::GvmaAll, || unreachable!())
            .unwrap();
    }
    // L0 took entry 1 only: the next fence goes there.
    Provider::new(mem.clone())
        .sync_hfence(HfenceTarget::Entry(1), |_| {})
        .unwrap();
    assert_eq!(
        l1.queue_hfence(&HfenceRequest::GvmaVmidAll { vmid: 9 }, || unreachable!()),
        Ok(1)
    );
}

#[test]
fn a_full_queue_calls_sync_hfence_all_and_reuses_the_freed_entries() {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        for n in 0..hfence_entries(xlen) {
            assert_eq!(
                l1.queue_hfence(&HfenceRequest::GvmaAll, || unreachable!()),
                Ok(n)
            );
        }
        let mut performed = Vec::new();
        let mut calls = 0;
        let request = HfenceRequest::VvmaAll { vmid: 1 };
        let index = l1
            .queue_hfence(&request, || {
                calls += 1;
                performed.extend(drain_all(&mem));
                Ok(())
            })
            .unwrap();
        assert_eq!(
            (index, calls, performed.len()),
            (0, 1, hfence_entries(xlen))
        );
        assert_eq!(pending_entries(&mem), 1);
    }
}

#[test]
fn a_queue_that_stays_full_returns_full_after_the_bounded_retries_and_drops_nothing() {
    let mem = SharedMem::new(Xlen::Rv64);
    let mut l1 = Consumer::new(mem.clone());
    for _ in 0..60 {
        l1.queue_hfence(&HfenceRequest::GvmaAll, || unreachable!())
            .unwrap();
    }
    let mut calls = 0;
    let result = l1.queue_hfence(&HfenceRequest::VvmaAll { vmid: 1 }, || {
        calls += 1;
        Ok(())
    });
    assert_eq!(result, Err(QueueError::Full));
    assert_eq!(calls, HFENCE_SYNC_RETRIES);
    assert!(
        drain_all(&mem)
            .iter()
            .all(|t| t.decoded.fence == Fence::Request(HfenceRequest::GvmaAll))
    );
}

#[test]
fn a_failing_sync_hfence_call_is_reported_to_the_caller() {
    let mem = SharedMem::new(Xlen::Rv32);
    let mut l1 = Consumer::new(mem.clone());
    for _ in 0..120 {
        l1.queue_hfence(&HfenceRequest::GvmaAll, || unreachable!())
            .unwrap();
    }
    let result = l1.queue_hfence(&HfenceRequest::GvmaAll, || Err(SbiError::NotSupported));
    assert_eq!(result, Err(QueueError::Sync(SbiError::NotSupported)));
}

#[test]
fn a_request_wider_than_the_xlen_fields_is_refused_before_anything_is_written() {
    let mem = SharedMem::new(Xlen::Rv32);
    let mut l1 = Consumer::new(mem.clone());
    let cases = [
        (
            HfenceRequest::GvmaVmidAll { vmid: 128 },
            EncodeError::VmidTooWide,
        ),
        (
            HfenceRequest::VvmaAsidAll { vmid: 1, asid: 512 },
            EncodeError::AsidTooWide,
        ),
        (
            HfenceRequest::Gvma {
                range: range(1 << 32, 1),
            },
            EncodeError::PageNumberTooWide,
        ),
        (
            HfenceRequest::Gvma {
                range: range(0, 1 << 32),
            },
            EncodeError::PageCountTooWide,
        ),
    ];
    for (request, error) in cases {
        assert_eq!(
            l1.queue_hfence(&request, || unreachable!()),
            Err(QueueError::Encode(error))
        );
    }
    assert!(mem.take_log().is_empty());
    // The same requests fit RV64.
    assert!(
        HfenceRequest::GvmaVmidAll {
            vmid: (1 << 14) - 1
        }
        .encode(Xlen::Rv64)
        .is_ok()
    );
    assert_eq!(
        HfenceRequest::GvmaVmidAll { vmid: 1 << 14 }.encode(Xlen::Rv64),
        Err(EncodeError::VmidTooWide)
    );
}

#[test]
fn sync_hfence_index_at_or_beyond_the_entry_count_is_invalid_param() {
    for xlen in Xlen::ALL {
        let count = hfence_entries(xlen) as u64;
        assert_eq!(
            HfenceTarget::from_arg(xlen, count - 1),
            Ok(HfenceTarget::Entry(count as usize - 1))
        );
        assert_eq!(
            HfenceTarget::from_arg(xlen, count),
            Err(ProviderError::InvalidParam)
        );
        assert_eq!(
            HfenceTarget::from_arg(xlen, xlen.mask() - 1),
            Err(ProviderError::InvalidParam)
        );
        let mut l0 = Provider::new(SharedMem::new(xlen));
        let result = l0.sync_hfence(HfenceTarget::Entry(count as usize), |_| unreachable!());
        assert_eq!(result, Err(ProviderError::InvalidParam));
        assert_eq!(
            SbiError::from(ProviderError::InvalidParam),
            SbiError::InvalidParam
        );
    }
}

#[test]
fn sync_argument_all_ones_of_l1_xlen_means_all() {
    assert_eq!(
        HfenceTarget::from_arg(Xlen::Rv32, 0xFFFF_FFFF),
        Ok(HfenceTarget::All)
    );
    assert_eq!(
        HfenceTarget::from_arg(Xlen::Rv32, u64::MAX),
        Ok(HfenceTarget::All)
    );
    assert_eq!(
        HfenceTarget::from_arg(Xlen::Rv64, u64::MAX),
        Ok(HfenceTarget::All)
    );
    assert_eq!(
        HfenceTarget::from_arg(Xlen::Rv64, 0xFFFF_FFFF),
        Err(ProviderError::InvalidParam)
    );
    assert_eq!(
        CsrTarget::from_arg(Xlen::Rv32, 0xFFFF_FFFF),
        Ok(CsrTarget::All)
    );
    assert_eq!(
        CsrTarget::from_arg(Xlen::Rv64, u64::MAX),
        Ok(CsrTarget::All)
    );
    assert_eq!(
        CsrTarget::from_arg(Xlen::Rv64, 0x645),
        Ok(CsrTarget::One(slot(HVIP)))
    );
    assert_eq!(
        CsrTarget::from_arg(Xlen::Rv64, 0x345),
        Err(ProviderError::InvalidParam)
    );
    assert_eq!(
        CsrTarget::from_arg(Xlen::Rv64, 0x1645),
        Err(ProviderError::InvalidParam)
    );
}

#[test]
fn sync_hfence_of_one_index_takes_only_that_entry() {
    let mem = SharedMem::new(Xlen::Rv64);
    let mut l1 = Consumer::new(mem.clone());
    l1.queue_hfence(&HfenceRequest::GvmaAll, || unreachable!())
        .unwrap();
    l1.queue_hfence(&HfenceRequest::VvmaAll { vmid: 2 }, || unreachable!())
        .unwrap();
    let mut taken = Vec::new();
    let count = Provider::new(mem.clone())
        .sync_hfence(HfenceTarget::Entry(1), |t| taken.push(t))
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(taken[0].index, 1);
    assert_eq!(
        taken[0].decoded.fence,
        Fence::Request(HfenceRequest::VvmaAll { vmid: 2 })
    );
    assert_eq!(pending_entries(&mem), 1);
    // A non-pending index is a success that takes nothing.
    assert_eq!(
        Provider::new(mem.clone()).sync_hfence(HfenceTarget::Entry(1), |_| unreachable!()),
        Ok(0)
    );
}

#[test]
fn pending_is_cleared_only_after_the_fence_was_performed() {
    let mem = SharedMem::new(Xlen::Rv64);
    Consumer::new(mem.clone())
        .queue_hfence(&HfenceRequest::GvmaAll, || unreachable!())
        .unwrap();
    let mut seen_pending_during = false;
    Provider::new(mem.clone())
        .sync_hfence(HfenceTarget::All, |_| {
            seen_pending_during = pending_entries(&mem) == 1
        })
        .unwrap();
    assert!(seen_pending_during);
    assert_eq!(pending_entries(&mem), 0);
}

#[test]
fn provider_reads_each_hfence_word_at_most_once_and_skips_the_fields_of_free_entries() {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        l1.queue_hfence(
            &HfenceRequest::Gvma { range: range(7, 2) },
            || unreachable!(),
        )
        .unwrap();
        mem.take_log();
        drain_all(&mem);
        let reads = mem.reads_per_offset();
        assert!(reads.values().all(|n| *n == 1), "{reads:?}");
        // Every config word, plus the three other words of the one pending entry.
        assert_eq!(reads.len(), hfence_entries(xlen) + 3);
    }
}

#[test]
fn malformed_entries_decode_to_a_wider_fence_never_a_narrower_one() {
    let xlen = Xlen::Rv64;
    let pending = 1 << 63;
    let cases = [
        // Reserved type 9.
        (
            HfenceEntry {
                config: pending | 9 << 56,
                ..Default::default()
            },
            Fence::Everything,
            Malformation::ReservedType(9),
        ),
        // Unnamed bit 30 of an RV64 config word.
        (
            HfenceEntry {
                config: pending | 2 << 56 | 1 << 30,
                page_number: 1,
                reserved: 0,
                page_count: 1,
            },
            Fence::Everything,
            Malformation::ReservedBits {
                config: 1 << 30,
                word: 0,
            },
        ),
        // The reserved word.
        (
            HfenceEntry {
                config: pending | 5 << 56,
                page_number: 0,
                reserved: 1,
                page_count: 0,
            },
            Fence::Everything,
            Malformation::ReservedBits { config: 0, word: 1 },
        ),
        // Zero pages of a VVMA_ASID.
        (
            HfenceEntry {
                config: pending | 6 << 56 | 3 << 16 | 4,
                page_number: 5,
                reserved: 0,
                page_count: 0,
            },
            Fence::Request(HfenceRequest::VvmaAsidAll { vmid: 3, asid: 4 }),
            Malformation::EmptyRange,
        ),
        // A GVMA_VMID range that runs past 2^64.
        (
            HfenceEntry {
                config: pending | 2 << 56 | 7 << 16,
                page_number: 1 << 51,
                page_count: (1 << 51) + 1,
                reserved: 0,
            },
            Fence::Request(HfenceRequest::GvmaVmidAll { vmid: 7 }),
            Malformation::RangeOverflow,
        ),
        // A page of 2^(127+12) bytes.
        (
            HfenceEntry {
                config: pending | 0x7F << 48,
                page_number: 0,
                page_count: 1,
                reserved: 0,
            },
            Fence::Request(HfenceRequest::GvmaAll),
            Malformation::RangeOverflow,
        ),
    ];
    for (entry, fence, malformation) in cases {
        let decoded = entry.decode(xlen);
        assert_eq!(decoded.fence, fence, "{entry:x?}");
        assert_eq!(decoded.malformation, Some(malformation), "{entry:x?}");
    }
}

#[test]
fn rv32_reserved_config_bits_widen_to_everything() {
    for bit in [23, 28, 29, 30] {
        let entry = HfenceEntry {
            config: 1 << 31 | 1 << bit,
            page_number: 0,
            reserved: 0,
            page_count: 1,
        };
        assert_eq!(
            entry.decode(Xlen::Rv32).fence,
            Fence::Everything,
            "bit {bit}"
        );
    }
}

#[test]
fn drain_dirty_csrs_without_an_order_yields_each_dirty_csr_once_in_slot_order_and_clears_the_bitmap()
 {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        l1.csr_write(HVIP, 4).unwrap();
        l1.csr_write(0x200, 0x22).unwrap();
        l1.csr_write(HVIP, 6).unwrap();
        l1.csr_write(0xEFF, 1).unwrap();
        mem.take_log();
        let mut yielded = Vec::new();
        let count = Provider::new(mem.clone())
            .drain_dirty_csrs(&[], |csr, value| yielded.push((csr, value)))
            .unwrap();
        assert_eq!(yielded, [(0x200, 0x22), (0x645, 6), (0xEFF, 1)]);
        assert_eq!(count, 3);
        assert!(mem.reads_per_offset().values().all(|n| *n == 1));
        assert!(DirtyBitmap::read(&mem).unwrap().is_empty());
    }
}

#[test]
fn take_dirty_csr_returns_the_value_only_when_the_bit_is_set() {
    let mem = SharedMem::new(Xlen::Rv32);
    let mut l0 = Provider::new(mem.clone());
    mem.poke(slot(HVIP).offset(Xlen::Rv32), 9);
    assert_eq!(l0.take_dirty_csr(slot(HVIP)), Ok(None));
    Consumer::new(mem.clone()).csr_write(HVIP, 5).unwrap();
    assert_eq!(l0.take_dirty_csr(slot(HVIP)), Ok(Some(5)));
    assert_eq!(l0.take_dirty_csr(slot(HVIP)), Ok(None));
}

#[test]
fn write_back_stores_the_architectural_value_and_clears_a_stale_dirty_bit() {
    let mem = SharedMem::new(Xlen::Rv64);
    Consumer::new(mem.clone()).csr_write(HVIP, 0xFFFF).unwrap();
    let mut l0 = Provider::new(mem.clone());
    l0.write_back_csr(slot(HVIP), 0x444).unwrap();
    assert_eq!(mem.peek(slot(HVIP).offset(Xlen::Rv64)), 0x444);
    assert_eq!(
        l0.drain_dirty_csrs(&CSR_SYNC_ORDER, |_, _| unreachable!()),
        Ok(0)
    );
}

#[test]
fn sret_context_carries_x1_to_x31_and_never_x0() {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        mem.poke(layout::SRET_OFFSET, 0xBAD);
        let gprs: [u64; 32] = std::array::from_fn(|i| 0x1000 + i as u64);
        let mut l1 = Consumer::new(mem.clone());
        l1.set_sret_gprs(&gprs).unwrap();
        l1.set_sret_gpr(10, 0xA0).unwrap();
        let mut expected = gprs;
        expected[0] = 0;
        expected[10] = 0xA0;
        assert_eq!(Provider::new(mem.clone()).sret_gprs(), Ok(expected));
        assert_eq!(mem.peek(layout::SRET_OFFSET), 0xBAD);
        assert_eq!(
            l1.set_sret_gpr(0, 1),
            Err(SretError::NoSuchGpr(NoSuchGpr(0)))
        );
        assert_eq!(
            l1.set_sret_gpr(32, 1),
            Err(SretError::NoSuchGpr(NoSuchGpr(32)))
        );
    }
}

#[test]
fn autoswap_exchanges_hstatus_only_while_l1_has_armed_it() {
    for xlen in Xlen::ALL {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        let mut l0 = Provider::new(mem.clone());
        let (host, guest, guest_after_trap) = (0x80, 0x180, 0x1C0);
        assert_eq!(l0.autoswap_hstatus(host), Ok(None));
        l1.arm_autoswap_hstatus(guest).unwrap();
        // sync_sret: L1's hstatus becomes the guest's; the host's is parked in word 1.
        assert_eq!(l0.autoswap_hstatus(host), Ok(Some(guest)));
        // The trap from L2: swapped back.
        assert_eq!(l0.autoswap_hstatus(guest_after_trap), Ok(Some(host)));
        assert_eq!(l1.disarm_autoswap_hstatus(), Ok(guest_after_trap));
        assert_eq!(l0.autoswap_hstatus(host), Ok(None));
    }
}

#[test]
fn autoswap_ignores_the_reserved_flag_bits() {
    let mem = SharedMem::new(Xlen::Rv64);
    mem.poke(layout::AUTOSWAP_OFFSET, !1);
    assert_eq!(Provider::new(mem.clone()).autoswap_hstatus(5), Ok(None));
}

#[test]
fn page_range_covering_rounds_out_to_whole_pages_and_rejects_empty_or_overflowing_ranges() {
    let r = PageRange::covering(0x1FFF, 2).unwrap();
    assert_eq!(
        (r.page_number(), r.page_count(), r.start(), r.last()),
        (1, 2, 0x1000, 0x2FFF)
    );
    assert_eq!(PageRange::covering(0, 0), Err(RangeError::Empty));
    assert_eq!(PageRange::covering(u64::MAX, 2), Err(RangeError::Overflow));
    let top = PageRange::covering(u64::MAX - 0xFFF, 0x1000).unwrap();
    assert_eq!(top.last(), u64::MAX);
    assert_eq!(PageRange::new(128, 0, 1), Err(RangeError::OrderTooWide));
    assert_eq!(PageRange::new(52, 0, 1), Err(RangeError::Overflow));
    assert_eq!(PageRange::new(51, 1, 1).unwrap().last(), u64::MAX);
    assert_eq!(PageRange::new(51, 1, 2), Err(RangeError::Overflow));
}

#[test]
fn the_typed_layout_fields_hold_what_the_word_accesses_wrote() {
    use zerocopy::FromZeros;
    let mut shmem = layout::Shmem64::new_zeroed();
    let mut l1 = Consumer::new(&mut shmem);
    l1.csr_write(HVIP, 0x1234_5678_9ABC).unwrap();
    l1.queue_hfence(&HfenceRequest::VvmaAll { vmid: 3 }, || unreachable!())
        .unwrap();
    l1.set_sret_gpr(31, 0x31).unwrap();
    l1.arm_autoswap_hstatus(0x80).unwrap();
    assert_eq!(shmem.csr[slot(HVIP).index()].get(), 0x1234_5678_9ABC);
    assert_eq!(
        shmem.scratch.dirty_bitmap[0x145 / 64].get(),
        1 << (0x145 % 64)
    );
    // Pending, type 5 (VVMA_ALL) at bits 59:56, VMID 3 at bits 29:16.
    assert_eq!(shmem.scratch.hfence[0].config.get(), 0x8500_0000_0003_0000);
    assert_eq!(shmem.scratch.sret.x[30].get(), 0x31);
    assert_eq!(
        (
            shmem.scratch.autoswap.flags.get(),
            shmem.scratch.autoswap.hstatus.get()
        ),
        (1, 0x80)
    );

    let mut shmem = layout::Shmem32::new_zeroed();
    Consumer::new(&mut shmem)
        .csr_write(HVIP, 0x1234_5678_9ABC)
        .unwrap();
    assert_eq!(shmem.csr[slot(HVIP).index()].get(), 0x5678_9ABC);
    assert_eq!(
        shmem.scratch.dirty_bitmap[0x145 / 32].get(),
        1 << (0x145 % 32)
    );
}

#[test]
fn a_config_field_wider_than_its_bits_is_refused_by_the_config_encoder() {
    use nacl_shmem::hfence::HfenceConfig;
    let wide_order = HfenceConfig {
        pending: true,
        kind: 0,
        order: 128,
        vmid: 0,
        asid: 0,
    };
    let wide_type = HfenceConfig {
        kind: 16,
        order: 0,
        ..wide_order
    };
    for xlen in Xlen::ALL {
        assert_eq!(wide_order.encode(xlen), Err(EncodeError::OrderTooWide));
        assert_eq!(wide_type.encode(xlen), Err(EncodeError::TypeTooWide));
    }
}
