//! Invariants over arbitrary inputs (proptest).

mod common;

use common::SharedMem;
use nacl_shmem::dirty_bitmap::DirtyBitmap;
use nacl_shmem::hfence::{
    Fence, HfenceConfig, HfenceEntry, HfenceRequest, PageRange, Stage, asid_bits,
    config_reserved_bits, vmid_bits,
};
use nacl_shmem::layout::{hfence_entries, hfence_entry_offset};
use nacl_shmem::provider::{CsrTarget, HfenceTarget};
use nacl_shmem::{ByteShmem, Consumer, CsrSlot, Provider, WordAccess, Xlen};
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

/// A well-formed range whose fields fit one XLEN word (orders from 52 on cannot be: one page
/// of 2^64 bytes or more overflows 64-bit addresses).
fn page_range(xlen: Xlen) -> impl Strategy<Value = PageRange> {
    (0u8..52, any::<u64>(), any::<u64>()).prop_map(move |(order, number, count)| {
        let last_page = u64::MAX >> (u32::from(order) + 12);
        let count = (count & xlen.mask()) % (last_page + 1) + 1;
        let count = count.min(xlen.mask());
        let number = (number & xlen.mask()) % (last_page - (count - 1) + 1);
        PageRange::new(order, number, count).unwrap()
    })
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

/// What a raw entry asks for, computed from the spec's table without the crate's decoder:
/// stage, VMID (None = all), ASID (None = all), and the byte interval `[start, end)` clamped
/// to 64-bit addresses (None = all addresses). `None` overall if the type is reserved.
#[derive(Debug)]
struct Asked {
    stage: Stage,
    vmid: Option<u16>,
    asid: Option<u16>,
    interval: Option<(u128, u128)>,
}

fn clamp_shl(value: u128, shift: u32) -> u128 {
    let limit = 1u128 << 64;
    if value == 0 {
        0
    } else if shift >= 64 || value > limit >> shift {
        limit
    } else {
        value << shift
    }
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
    let interval = Some((clamp_shl(number, shift), clamp_shl(number + count, shift)));
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
        (Some(_), Some((start, end))) if start >= end => true,
        (Some(range), Some((start, end))) => {
            u128::from(range.start()) <= start && end - 1 <= u128::from(range.last())
        }
    };
    scope && range
}

/// Runs every provider operation on `image` and checks what the issue promises.
fn check_provider_on(xlen: Xlen, image: &[u8], csr_arg: u64, hfence_arg: u64, hstatus: u64) {
    let mut bytes = image.to_vec();
    let before = bytes.clone();
    let mut before_mem = before.clone();
    let original = ByteShmem::new(&mut before_mem, xlen).unwrap();
    let mut l0 = Provider::new(ByteShmem::new(&mut bytes, xlen).unwrap());

    let dirty = DirtyBitmap::read(&original).unwrap();
    let mut yielded = Vec::new();
    if let Ok(CsrTarget::All) = CsrTarget::from_arg(xlen, csr_arg) {
        l0.drain_dirty_csrs(|csr, value| yielded.push((csr, value)))
            .unwrap();
        let expected: Vec<(u16, u64)> = dirty
            .iter()
            .map(|s| (s.csr(), original.read_word(s.offset(xlen)).unwrap()))
            .collect();
        assert_eq!(yielded, expected);
        assert!(DirtyBitmap::read(l0.memory()).unwrap().is_empty());
    } else if let Ok(CsrTarget::One(slot)) = CsrTarget::from_arg(xlen, csr_arg) {
        let value = l0.take_dirty_csr(slot).unwrap();
        let expected = dirty
            .contains(slot)
            .then(|| original.read_word(slot.offset(xlen)).unwrap());
        assert_eq!(value, expected);
    }

    let mut taken = Vec::new();
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
                    config: original.read_word(base).unwrap(),
                    page_number: original.read_word(base + w).unwrap(),
                    reserved: original.read_word(base + 2 * w).unwrap(),
                    page_count: original.read_word(base + 3 * w).unwrap(),
                };
                assert_eq!(t.entry, raw);
                match asked(xlen, &raw) {
                    None => assert_eq!(t.decoded.fence, Fence::Everything),
                    Some(asked) => assert!(
                        fence_covers(&t.decoded.fence, &asked),
                        "{raw:x?} -> {:?}",
                        t.decoded
                    ),
                }
            }
        }
        Err(_) => assert!(
            usize::try_from(hfence_arg & xlen.mask()).map_or(true, |i| i >= hfence_entries(xlen))
        ),
    }
    let gprs = l0.sret_gprs().unwrap();
    assert_eq!(gprs[0], 0);
    let _ = l0.autoswap_hstatus(hstatus).unwrap();
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
    fn the_csr_index_is_a_bijection_between_nacl_csrs_and_slots(csr in prop_oneof![0u64..0x1000, any::<u64>()], index in 0usize..1024) {
        let valid = csr < 0x1000 && csr & 0x300 == 0x200;
        let slot = CsrSlot::from_csr(csr);
        prop_assert_eq!(slot.is_some(), valid);
        if let Some(slot) = slot {
            prop_assert_eq!(u64::from(slot.csr()), csr);
        }
        let slot = CsrSlot::from_index(index).unwrap();
        prop_assert_eq!(CsrSlot::from_csr(u64::from(slot.csr())), Some(slot));
    }

    #[test]
    fn arbitrary_images_never_panic_the_provider_and_every_fence_covers_its_entry(
        xlen in xlen(),
        image in prop::collection::vec(any::<u8>(), 0x3000),
        pending_mask in any::<u128>(),
        csr_arg in prop_oneof![Just(u64::MAX), any::<u64>(), 0x200u64..0x1000],
        hfence_arg in prop_oneof![Just(u64::MAX), 0u64..130, any::<u64>()],
        hstatus in any::<u64>(),
    ) {
        // Random bytes leave about half the entries pending; also make pending entries common
        // on purpose with a mask over the entries' pending bits.
        let mut image = image;
        image.truncate(xlen.shmem_size());
        for index in 0..hfence_entries(xlen) {
            let top = hfence_entry_offset(xlen, index) + xlen.word_bytes() - 1;
            if pending_mask >> index & 1 == 1 {
                image[top] |= 0x80;
            }
        }
        check_provider_on(xlen, &image, csr_arg, hfence_arg, hstatus);
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
    fn drained_csrs_are_the_last_value_written_to_each_once_in_slot_order(
        xlen in xlen(),
        writes in prop::collection::vec((0usize..1024, any::<u64>()), 0..64),
    ) {
        let mem = SharedMem::new(xlen);
        let mut l1 = Consumer::new(mem.clone());
        let mut model = BTreeMap::new();
        for (index, value) in writes {
            let csr = CsrSlot::from_index(index).unwrap().csr();
            l1.csr_write(u64::from(csr), value).unwrap();
            model.insert(index, (csr, value & xlen.mask()));
        }
        let mut drained = Vec::new();
        Provider::new(mem.clone()).drain_dirty_csrs(|csr, value| drained.push((csr, value))).unwrap();
        prop_assert_eq!(drained, model.into_values().collect::<Vec<_>>());
    }
}

#[test]
fn exactly_1024_csr_numbers_have_a_slot_and_no_two_share_one() {
    let mut seen = [false; 1024];
    let mut valid = 0;
    for csr in 0..0x1000u64 {
        if let Some(slot) = CsrSlot::from_csr(csr) {
            assert!(!seen[slot.index()], "{csr:#x}");
            seen[slot.index()] = true;
            valid += 1;
        }
    }
    assert_eq!(valid, 1024);
}
