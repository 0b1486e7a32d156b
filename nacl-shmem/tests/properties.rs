//! Invariants over arbitrary inputs (proptest).

mod common;

use common::SharedMem;
use nacl_shmem::dirty_bitmap::DirtyBitmap;
use nacl_shmem::hfence::{
    Fence, HfenceConfig, HfenceEntry, HfenceRequest, PageRange, Stage, asid_bits,
    config_reserved_bits, vmid_bits,
};
use nacl_shmem::layout::{self, hfence_entries, hfence_entry_offset};
use nacl_shmem::provider::{CsrTarget, HfenceTarget};
use nacl_shmem::{ByteShmem, CSR_SYNC_ORDER, Consumer, CsrSlot, Provider, WordAccess, Xlen};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn xlen() -> impl Strategy<Value = Xlen> {
    prop_oneof![Just(Xlen::Rv32), Just(Xlen::Rv64)]
}

fn config_fields(xlen: Xlen) -> impl Strategy<Value = HfenceConfig> {
    (
        any::<bool>(),
        0u8..16,
        0u8..128,
        0u16..(1 << vmid_bits(xlen)),
        0..(1u32 << asid_bits(xlen)),
    )
        .prop_map(|(pending, kind, order, vmid, asid)| HfenceConfig {
            pending,
            kind,
            order,
            vmid,
            asid: asid as u16,
        })
}

/// The last page number of order `order` in 64-bit addresses.
fn last_page(order: u8) -> u64 {
    u64::MAX >> (u32::from(order) + 12)
}

/// The well-formed range of `count` pages (clamped to what fits) from a page derived from
/// `number`, with both fields inside one XLEN word.
fn fitted_range(xlen: Xlen, order: u8, number: u64, count: u64) -> PageRange {
    let last = last_page(order);
    let count = count.clamp(1, (last + 1).min(xlen.mask()));
    let number = (number & xlen.mask()) % (last - (count - 1) + 1);
    PageRange::new(order, number, count).unwrap()
}

/// A well-formed range whose fields fit one XLEN word (orders from 52 on cannot be: one page
/// of 2^64 bytes or more overflows 64-bit addresses). Weighted toward what L1s ask and where
/// the arithmetic is at its edge: single pages, small ranges, and ranges whose last page is
/// the last page of the address space (on RV32 the page number must fit 32 bits, so those
/// need an order of 20 or more).
fn page_range(xlen: Xlen) -> impl Strategy<Value = PageRange> {
    let single =
        (0u8..52, any::<u64>()).prop_map(move |(order, n)| fitted_range(xlen, order, n, 1));
    let small = (0u8..52, any::<u64>(), 2u64..=16)
        .prop_map(move |(order, n, count)| fitted_range(xlen, order, n, count));
    let lowest_top_order = match xlen {
        Xlen::Rv32 => 20u8,
        Xlen::Rv64 => 0,
    };
    let at_top = (lowest_top_order..52, 1u64..=16).prop_map(move |(order, count)| {
        let last = last_page(order);
        let count = count.min(last + 1);
        PageRange::new(order, last - (count - 1), count).unwrap()
    });
    let anything = (0u8..52, any::<u64>(), any::<u64>()).prop_map(move |(order, n, count)| {
        let count = (count & xlen.mask()) % (last_page(order) + 1) + 1;
        fitted_range(xlen, order, n, count)
    });
    prop_oneof![3 => single, 3 => small, 2 => at_top, 2 => anything]
}

fn request(xlen: Xlen) -> impl Strategy<Value = HfenceRequest> {
    let vmid = 0u16..(1 << vmid_bits(xlen));
    let asid = (0..(1u32 << asid_bits(xlen))).prop_map(|a| a as u16);
    prop_oneof![
        page_range(xlen).prop_map(|range| HfenceRequest::Gvma { range }),
        Just(HfenceRequest::GvmaAll),
        (vmid.clone(), page_range(xlen))
            .prop_map(|(vmid, range)| HfenceRequest::GvmaVmid { vmid, range }),
        vmid.clone()
            .prop_map(|vmid| HfenceRequest::GvmaVmidAll { vmid }),
        (vmid.clone(), page_range(xlen))
            .prop_map(|(vmid, range)| HfenceRequest::Vvma { vmid, range }),
        vmid.clone()
            .prop_map(|vmid| HfenceRequest::VvmaAll { vmid }),
        (vmid.clone(), asid.clone(), page_range(xlen))
            .prop_map(|(vmid, asid, range)| HfenceRequest::VvmaAsid { vmid, asid, range }),
        (vmid, asid).prop_map(|(vmid, asid)| HfenceRequest::VvmaAsidAll { vmid, asid }),
    ]
}

/// A word that is often small, sometimes anything.
fn word() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..8,
        any::<u64>(),
        (0u32..64).prop_map(|s| 1u64 << s),
        Just(u64::MAX)
    ]
}

/// A raw entry: mostly the shape L1 would write, sometimes with reserved bits or any words.
fn raw_entry(xlen: Xlen) -> impl Strategy<Value = HfenceEntry> {
    let reserved = prop_oneof![4 => Just(0u64), 1 => any::<u64>()];
    (
        config_fields(xlen),
        reserved.clone(),
        word(),
        reserved,
        word(),
        any::<u64>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            move |(fields, noise, page_number, reserved, page_count, junk, use_junk)| {
                let config = fields.encode(xlen).unwrap() | (noise & config_reserved_bits(xlen));
                let config = if use_junk { junk } else { config };
                HfenceEntry {
                    config,
                    page_number,
                    reserved,
                    page_count,
                }
            },
        )
}

/// The whole HFENCE area: mostly entries as an L1 writes them (reserved bits zero), some raw
/// entries that break a rule, a few of any four words.
fn hfence_area(xlen: Xlen) -> impl Strategy<Value = Vec<HfenceEntry>> {
    let junk = (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
        |(config, page_number, reserved, page_count)| HfenceEntry {
            config,
            page_number,
            reserved,
            page_count,
        },
    );
    let entry = prop_oneof![
        3 => request(xlen).prop_map(move |r| r.encode(xlen).unwrap()),
        2 => raw_entry(xlen),
        1 => junk,
    ];
    prop::collection::vec(entry, hfence_entries(xlen))
}

/// What a raw entry asks for, computed from the spec's table without the crate's decoder:
/// stage, VMID (None = all), ASID (None = all), and the byte interval `[start, end)`
/// (None = all addresses). `None` overall if the type is reserved.
#[derive(Debug)]
struct Asked {
    stage: Stage,
    vmid: Option<u16>,
    asid: Option<u16>,
    interval: Option<(u128, u128)>,
}

/// The byte interval of `count` pages of `1 << shift` bytes from page `number`; `None` (all
/// addresses) where the spec gives no range: a `Page_Count` of 0 (undefined; the crate reads
/// it as RFENCE reads a zero size, "everything") and a range that ends beyond 2^64.
fn interval(number: u128, count: u128, shift: u32) -> Option<(u128, u128)> {
    let top = 1u128 << 64;
    if count == 0 || shift > 64 || number + count > top >> shift {
        return None;
    }
    Some((number << shift, (number + count) << shift))
}

fn asked(xlen: Xlen, entry: &HfenceEntry) -> Option<Asked> {
    let (t, o, v, vb, ab) = match xlen {
        Xlen::Rv32 => (24, 16, 9, 7, 9),
        Xlen::Rv64 => (56, 48, 16, 14, 16),
    };
    let config = entry.config & xlen.mask();
    let kind = config >> t & 0xF;
    let order = (config >> o & 0x7F) as u32;
    let vmid = (config >> v & ((1 << vb) - 1)) as u16;
    let asid = (config & ((1 << ab) - 1)) as u16;
    let shift = order + 12;
    let number = u128::from(entry.page_number & xlen.mask());
    let count = u128::from(entry.page_count & xlen.mask());
    let interval = interval(number, count, shift);
    let (stage, vmid, asid, interval) = match kind {
        0 => (Stage::G, None, None, interval),
        1 => (Stage::G, None, None, None),
        2 => (Stage::G, Some(vmid), None, interval),
        3 => (Stage::G, Some(vmid), None, None),
        4 => (Stage::Vs, Some(vmid), None, interval),
        5 => (Stage::Vs, Some(vmid), None, None),
        6 => (Stage::Vs, Some(vmid), Some(asid), interval),
        7 => (Stage::Vs, Some(vmid), Some(asid), None),
        _ => return None,
    };
    Some(Asked {
        stage,
        vmid,
        asid,
        interval,
    })
}

fn fence_covers(fence: &Fence, asked: &Asked) -> bool {
    let Fence::Request(r) = fence else {
        return true;
    };
    let scope = r.stage() == asked.stage
        && (r.vmid().is_none() || r.vmid() == asked.vmid)
        && (r.asid().is_none() || r.asid() == asked.asid);
    let range = match (r.range(), asked.interval) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(range), Some((start, end))) => {
            u128::from(range.start()) <= start && end - 1 <= u128::from(range.last())
        }
    };
    scope && range
}

/// The order [`Provider::drain_dirty_csrs`] promises for `dirty` with the priority list
/// `order`: the listed dirty slots in list order (each once), then the rest in slot order.
fn expected_drain_order(dirty: &DirtyBitmap, order: &[CsrSlot]) -> Vec<CsrSlot> {
    let mut listed: Vec<CsrSlot> = Vec::new();
    for slot in order {
        if dirty.contains(*slot) && !listed.contains(slot) {
            listed.push(*slot);
        }
    }
    let rest = dirty
        .iter()
        .filter(|s| !listed.contains(s))
        .collect::<Vec<_>>();
    listed.into_iter().chain(rest).collect()
}

/// Runs every provider operation on `image` and checks what the issue promises. Returns how
/// many taken entries decoded to a typed request (not `Everything`) and were checked.
fn check_provider_on(
    xlen: Xlen,
    image: &[u8],
    csr_arg: u64,
    hfence_arg: u64,
    hstatus: u64,
) -> usize {
    let mut bytes = image.to_vec();
    let mut before = image.to_vec();
    let original = ByteShmem::new(&mut before, xlen).unwrap();
    let word_at = |offset: usize| original.read_word(offset).unwrap();
    let mut l0 = Provider::new(ByteShmem::new(&mut bytes, xlen).unwrap());

    let dirty = DirtyBitmap::read(&original).unwrap();
    let mut yielded = Vec::new();
    if let Ok(CsrTarget::All) = CsrTarget::from_arg(xlen, csr_arg) {
        l0.drain_dirty_csrs(&CSR_SYNC_ORDER, |csr, value| yielded.push((csr, value)))
            .unwrap();
        let expected: Vec<(u16, u64)> = expected_drain_order(&dirty, &CSR_SYNC_ORDER)
            .into_iter()
            .map(|s| (s.csr(), word_at(s.offset(xlen))))
            .collect();
        assert_eq!(yielded, expected);
        assert!(DirtyBitmap::read(l0.memory()).unwrap().is_empty());
    } else if let Ok(CsrTarget::One(slot)) = CsrTarget::from_arg(xlen, csr_arg) {
        let value = l0.take_dirty_csr(slot).unwrap();
        let expected = dirty.contains(slot).then(|| word_at(slot.offset(xlen)));
        assert_eq!(value, expected);
    }

    let mut taken = Vec::new();
    let mut typed = 0;
    match HfenceTarget::from_arg(xlen, hfence_arg) {
        Ok(target) => {
            l0.sync_hfence(target, |t| taken.push(t)).unwrap();
            let wanted: Vec<usize> = (0..hfence_entries(xlen))
                .filter(|i| target == HfenceTarget::All || target == HfenceTarget::Entry(*i))
                .collect();
            for index in &wanted {
                let offset = hfence_entry_offset(xlen, *index);
                assert_eq!(
                    l0.memory().read_word(offset).unwrap() >> (xlen.bits() - 1),
                    0,
                    "entry {index} still pending"
                );
            }
            for t in &taken {
                assert!(wanted.contains(&t.index));
                let w = xlen.word_bytes();
                let base = hfence_entry_offset(xlen, t.index);
                let raw = HfenceEntry {
                    config: word_at(base),
                    page_number: word_at(base + w),
                    reserved: word_at(base + 2 * w),
                    page_count: word_at(base + 3 * w),
                };
                assert_eq!(t.entry, raw);
                match asked(xlen, &raw) {
                    None => assert_eq!(t.decoded.fence, Fence::Everything),
                    Some(asked) => {
                        assert!(
                            fence_covers(&t.decoded.fence, &asked),
                            "{raw:x?} -> {:?}",
                            t.decoded
                        );
                        typed += usize::from(matches!(t.decoded.fence, Fence::Request(_)));
                    }
                }
            }
        }
        Err(_) => assert!(
            usize::try_from(hfence_arg & xlen.mask()).map_or(true, |i| i >= hfence_entries(xlen))
        ),
    }

    // x1..x31 as the words held them; x0 is 0 whatever word 0 holds.
    let mut gprs = [0u64; 32];
    for (reg, value) in gprs.iter_mut().enumerate().skip(1) {
        *value = word_at(layout::sret_gpr_offset(xlen, reg));
    }
    assert_eq!(l0.sret_gprs().unwrap(), gprs);

    // Autoswap: only when flag bit 0 is set, whatever the reserved bits.
    let flags = word_at(layout::autoswap_flags_offset(xlen));
    let parked = word_at(layout::autoswap_hstatus_offset(xlen));
    let swapped = l0.autoswap_hstatus(hstatus).unwrap();
    let now = l0
        .memory()
        .read_word(layout::autoswap_hstatus_offset(xlen))
        .unwrap();
    if flags & 1 == 1 {
        assert_eq!((swapped, now), (Some(parked), hstatus & xlen.mask()));
    } else {
        assert_eq!((swapped, now), (None, parked));
    }
    typed
}

proptest! {
    #[test]
    fn config_word_fields_round_trip_for_both_xlens((xlen, fields) in xlen().prop_flat_map(|x| (Just(x), config_fields(x)))) {
        let raw = fields.encode(xlen).unwrap();
        prop_assert_eq!(raw & !xlen.mask(), 0);
        prop_assert_eq!(raw & config_reserved_bits(xlen), 0);
        prop_assert_eq!(HfenceConfig::decode(xlen, raw), fields);
    }

    #[test]
    fn any_config_word_decodes_to_fields_that_encode_back_without_the_reserved_bits(xlen in xlen(), raw in any::<u64>()) {
        let raw = raw & xlen.mask();
        let fields = HfenceConfig::decode(xlen, raw);
        prop_assert_eq!(fields.encode(xlen), Ok(raw & !config_reserved_bits(xlen)));
    }

    #[test]
    fn a_well_formed_request_decodes_to_itself((xlen, request) in xlen().prop_flat_map(|x| (Just(x), request(x)))) {
        let entry = request.encode(xlen).unwrap();
        prop_assert!(entry.is_pending(xlen));
        let decoded = entry.decode(xlen);
        prop_assert_eq!(decoded.fence, Fence::Request(request));
        prop_assert_eq!(decoded.malformation, None);
    }

    #[test]
    fn every_decoded_fence_covers_what_the_raw_entry_asked((xlen, entry) in xlen().prop_flat_map(|x| (Just(x), raw_entry(x)))) {
        let decoded = entry.decode(xlen);
        match asked(xlen, &entry) {
            None => prop_assert_eq!(decoded.fence, Fence::Everything),
            Some(asked) => prop_assert!(fence_covers(&decoded.fence, &asked), "{:?} does not cover {:?}", decoded, asked),
        }
        // An entry that is not malformed decodes to a request that re-encodes to itself.
        if decoded.malformation.is_none() {
            let Fence::Request(request) = decoded.fence else { panic!("everything without a reason") };
            prop_assert_eq!(request.encode(xlen).unwrap().decode(xlen).fence, decoded.fence);
        }
    }

    #[test]
    fn the_csr_index_is_a_bijection_between_nacl_csrs_and_slots(csr in prop_oneof![0u16..0x1000, any::<u16>()], index in 0usize..1024) {
        let valid = csr < 0x1000 && csr & 0x300 == 0x200;
        let slot = CsrSlot::from_csr(csr);
        prop_assert_eq!(slot.is_some(), valid);
        if let Some(slot) = slot {
            prop_assert_eq!(slot.csr(), csr);
        }
        let slot = CsrSlot::from_index(index).unwrap();
        prop_assert_eq!(CsrSlot::from_csr(slot.csr()), Some(slot));
    }

    #[test]
    fn a_sync_csr_argument_names_a_csr_only_if_it_is_one_without_truncation(xlen in xlen(), arg in prop_oneof![0u64..0x1000, (0u64..0x1000).prop_map(|a| a | 1 << 16), any::<u64>()]) {
        let arg = arg & xlen.mask();
        let expected = if arg == xlen.mask() {
            Ok(CsrTarget::All)
        } else if arg < 0x1000 && arg & 0x300 == 0x200 {
            Ok(CsrTarget::One(CsrSlot::from_index((((arg & 0xC00) >> 2) | (arg & 0xFF)) as usize).unwrap()))
        } else {
            Err(nacl_shmem::provider::ProviderError::InvalidParam)
        };
        prop_assert_eq!(CsrTarget::from_arg(xlen, arg), expected);
    }

    #[test]
    fn arbitrary_images_never_panic_the_provider_and_every_fence_covers_its_entry(
        (xlen, entries) in xlen().prop_flat_map(|x| (Just(x), hfence_area(x))),
        image in prop::collection::vec(any::<u8>(), 0x3000),
        csr_arg in prop_oneof![Just(u64::MAX), any::<u64>(), 0x200u64..0x1000],
        hfence_arg in prop_oneof![3 => Just(u64::MAX), 1 => 0u64..130, 1 => any::<u64>()],
        hstatus in any::<u64>(),
    ) {
        // Random bytes everywhere but the HFENCE area, whose entries come mostly in the shape
        // L1 writes: random bytes alone would set a reserved bit in nearly every entry, and
        // every fence would be `Everything`.
        let mut image = image;
        image.truncate(xlen.shmem_size());
        {
            let mut mem = ByteShmem::new(&mut image, xlen).unwrap();
            for (index, entry) in entries.iter().enumerate() {
                let (base, w) = (hfence_entry_offset(xlen, index), xlen.word_bytes());
                mem.write_word(base, entry.config).unwrap();
                mem.write_word(base + w, entry.page_number).unwrap();
                mem.write_word(base + 2 * w, entry.reserved).unwrap();
                mem.write_word(base + 3 * w, entry.page_count).unwrap();
            }
        }
        let typed = check_provider_on(xlen, &image, csr_arg, hfence_arg, hstatus);
        if HfenceTarget::from_arg(xlen, hfence_arg) == Ok(HfenceTarget::All) {
            prop_assert!(typed > 0, "no typed fence was checked");
        }
    }

    #[test]
    fn queued_requests_are_drained_in_order_and_exactly_once(
        (xlen, requests) in xlen().prop_flat_map(|x| (Just(x), prop::collection::vec(request(x), 0..130)))
    ) {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        let mut drained = Vec::new();
        for request in &requests {
            l1.queue_hfence(request, || {
                Provider::new(mem.clone()).sync_hfence(HfenceTarget::All, |t| drained.push(t.decoded.fence)).unwrap();
                Ok(())
            }).unwrap();
        }
        Provider::new(mem.clone()).sync_hfence(HfenceTarget::All, |t| drained.push(t.decoded.fence)).unwrap();
        let expected: Vec<Fence> = requests.iter().map(|r| Fence::Request(*r)).collect();
        prop_assert_eq!(drained, expected);
    }

    #[test]
    fn drained_csrs_without_an_order_are_the_last_value_written_to_each_once_in_slot_order(
        xlen in xlen(),
        writes in prop::collection::vec((0usize..1024, any::<u64>()), 0..64),
    ) {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        let mut model = BTreeMap::new();
        for (index, value) in writes {
            let csr = CsrSlot::from_index(index).unwrap().csr();
            l1.csr_write(csr, value).unwrap();
            model.insert(index, (csr, value & xlen.mask()));
        }
        let mut drained = Vec::new();
        Provider::new(mem.clone()).drain_dirty_csrs(&[], |csr, value| drained.push((csr, value))).unwrap();
        prop_assert_eq!(drained, model.into_values().collect::<Vec<_>>());
    }

    #[test]
    fn drained_csrs_come_in_priority_list_order_then_slot_order_each_once(
        xlen in xlen(),
        dirty in prop::collection::btree_set(prop_oneof![
            prop::sample::select(CSR_SYNC_ORDER.to_vec()),
            (0usize..1024).prop_map(|i| CsrSlot::from_index(i).unwrap()),
        ], 0..48),
        order in prop::collection::vec((0usize..1024).prop_map(|i| CsrSlot::from_index(i).unwrap()), 0..16),
    ) {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        for slot in &dirty {
            l1.csr_write(slot.csr(), slot.index() as u64).unwrap();
        }
        // A caller's list (with repeats), and the default one.
        for order in [&order[..], &CSR_SYNC_ORDER[..]] {
            let bitmap = DirtyBitmap::read(&mem).unwrap();
            let expected: Vec<u16> = expected_drain_order(&bitmap, order).iter().map(|s| s.csr()).collect();
            let mut drained = Vec::new();
            let n = Provider::new(mem.clone()).drain_dirty_csrs(order, |csr, _| drained.push(csr)).unwrap();
            prop_assert_eq!(n, dirty.len());
            prop_assert_eq!(&drained, &expected);
            for slot in &dirty {
                l1.csr_write(slot.csr(), slot.index() as u64).unwrap();
            }
        }
    }
}

#[test]
fn exactly_1024_csr_numbers_have_a_slot_and_no_two_share_one() {
    let mut seen = [false; 1024];
    let mut valid = 0;
    for csr in 0..0x1000u16 {
        if let Some(slot) = CsrSlot::from_csr(csr) {
            assert!(!seen[slot.index()], "{csr:#x}");
            seen[slot.index()] = true;
            valid += 1;
        }
    }
    assert_eq!(valid, 1024);
}

/// The coverage check itself on the edges where it used to accept anything: an entry with
/// `Page_Count` 0, and a range that ends beyond 2^64. There the entry asks for the whole
/// scope, the decoder widens to the `_ALL` form, and a narrower fence fails the check.
#[test]
fn coverage_check_demands_the_whole_scope_for_zero_counts_and_ranges_beyond_2_pow_64() {
    let narrow = |vmid| {
        Fence::Request(HfenceRequest::GvmaVmid {
            vmid,
            range: PageRange::new(0, 5, 1).unwrap(),
        })
    };
    // (xlen, config of a pending GVMA_VMID with VMID 7 and the order, page number, count)
    let cases = [
        // Page_Count 0.
        (Xlen::Rv32, 0x8200_0E00u64, 5u64, 0u64),
        (Xlen::Rv64, 0x8200_0000_0007_0000, 5, 0),
        // Order 20 (pages of 2^32 bytes): pages 0xFFFF_FFFF and one beyond.
        (Xlen::Rv32, 0x8214_0E00, 0xFFFF_FFFF, 2),
        // Order 40 (2^52-byte pages): 0x1001 << 52 > 2^64.
        (Xlen::Rv64, 0x8228_0000_0007_0000, 0xFFF, 2),
        // Order 60 and 127: a single page is already beyond 2^64.
        (Xlen::Rv64, 0x823C_0000_0007_0000, 0, 1),
        (Xlen::Rv32, 0x827F_0E00, 1, 1),
    ];
    for (xlen, config, page_number, page_count) in cases {
        let entry = HfenceEntry {
            config,
            page_number,
            reserved: 0,
            page_count,
        };
        let asked = asked(xlen, &entry).unwrap();
        assert!(asked.interval.is_none(), "{entry:x?}");
        let decoded = entry.decode(xlen).fence;
        assert_eq!(
            decoded,
            Fence::Request(HfenceRequest::GvmaVmidAll { vmid: 7 }),
            "{entry:x?}"
        );
        assert!(fence_covers(&decoded, &asked));
        assert!(!fence_covers(&narrow(7), &asked), "{entry:x?}");
    }
    // Ending exactly at 2^64 is a range like any other: the last 2^32-byte page on RV32.
    let entry = HfenceEntry {
        config: 0x8214_0E00,
        page_number: 0xFFFF_FFFF,
        reserved: 0,
        page_count: 1,
    };
    let asked = asked(Xlen::Rv32, &entry).unwrap();
    assert_eq!(asked.interval, Some((0xFFFF_FFFF << 32, 1 << 64)));
    let decoded = entry.decode(Xlen::Rv32);
    assert_eq!(decoded.malformation, None);
    assert!(fence_covers(&decoded.fence, &asked));
    assert!(!fence_covers(&narrow(7), &asked));
}
