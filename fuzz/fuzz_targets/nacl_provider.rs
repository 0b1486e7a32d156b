//! Arbitrary NACL shared-memory bytes, either XLEN, and a sequence of sync calls (with L1
//! scribbling between them, and L1 queueing fences and CSR writes): no panic, and every
//! provider call keeps the invariants issue 3 names (each word yielded as read, every taken
//! fence covers what its raw entry asked, also once capped, pending and dirty bits cleared,
//! dirty CSRs in the priority order, an index beyond the entry count refused).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacl_shmem::dirty_bitmap::DirtyBitmap;
use nacl_shmem::hfence::{Fence, HfenceEntry, HfenceRequest, PageRange, Stage};
use nacl_shmem::layout::{self, hfence_entries, hfence_entry_offset};
use nacl_shmem::provider::{CsrTarget, HfenceTarget, ProviderError};
use nacl_shmem::{ByteShmem, CSR_SYNC_ORDER, Consumer, CsrSlot, Provider, WordAccess, Xlen};

/// The cap an L0 that fences page by page might use.
const MAX_PAGES: u64 = 512;

#[derive(Debug, arbitrary::Arbitrary)]
enum Op {
    SyncCsr(u64),
    SyncHfence(u64),
    SyncSret {
        hstatus: u64,
    },
    /// `set_shmem` of the same page again: stale dirty bits dropped.
    ClearAllDirty,
    WriteBack {
        index: u16,
        value: u64,
    },
    /// Another L1 hart (or L1 itself) writes any word between two calls.
    Scribble {
        word: u16,
        value: u64,
    },
    /// L1 queues a fence built from raw fields.
    Queue {
        kind: u8,
        vmid: u16,
        asid: u16,
        order: u8,
        page_number: u64,
        page_count: u64,
    },
    CsrWrite {
        csr: u16,
        value: u64,
    },
}

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    rv32: bool,
    image: Vec<u8>,
    ops: Vec<Op>,
}

fn read_entry(mem: &impl WordAccess, index: usize) -> HfenceEntry {
    let (xlen, base) = (mem.xlen(), hfence_entry_offset(mem.xlen(), index));
    let w = xlen.word_bytes();
    HfenceEntry {
        config: mem.read_word(base).unwrap(),
        page_number: mem.read_word(base + w).unwrap(),
        reserved: mem.read_word(base + 2 * w).unwrap(),
        page_count: mem.read_word(base + 3 * w).unwrap(),
    }
}

/// The byte interval of `count` pages of `1 << shift` bytes from page `number`; `None` (all
/// addresses) for a `Page_Count` of 0 and for a range that ends beyond 2^64.
fn interval(number: u128, count: u128, shift: u32) -> Option<(u128, u128)> {
    let top = 1u128 << 64;
    if count == 0 || shift > 64 || number + count > top >> shift {
        return None;
    }
    Some((number << shift, (number + count) << shift))
}

/// Whether `fence` covers what `raw` asks, read straight from the spec's bit positions.
fn covers(xlen: Xlen, raw: &HfenceEntry, fence: &Fence) -> bool {
    let (t, o, v, vb, ab) = match xlen {
        Xlen::Rv32 => (24, 16, 9, 7, 9),
        Xlen::Rv64 => (56, 48, 16, 14, 16),
    };
    let kind = raw.config >> t & 0xF;
    let Fence::Request(r) = fence else {
        return true;
    };
    if kind > 7 {
        return false; // a reserved type must decode to Everything
    }
    let vmid = (raw.config >> v & ((1 << vb) - 1)) as u16;
    let asid = (raw.config & ((1 << ab) - 1)) as u16;
    let stage = if kind < 4 { Stage::G } else { Stage::Vs };
    let asked_vmid = matches!(kind, 2..=7).then_some(vmid);
    let asked_asid = matches!(kind, 6 | 7).then_some(asid);
    let scope = r.stage() == stage
        && (r.vmid().is_none() || r.vmid() == asked_vmid)
        && (r.asid().is_none() || r.asid() == asked_asid);
    let ranged = kind % 2 == 0;
    let shift = (raw.config >> o & 0x7F) as u32 + 12;
    let asked = interval(
        u128::from(raw.page_number),
        u128::from(raw.page_count),
        shift,
    )
    .filter(|_| ranged);
    let range = match (r.range(), asked) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(range), Some((start, end))) => {
            u128::from(range.start()) <= start && end - 1 <= u128::from(range.last())
        }
    };
    scope && range
}

fn sync_csr(mem: &mut ByteShmem<'_>, xlen: Xlen, arg: u64) {
    let before = DirtyBitmap::read(&*mem).unwrap();
    // The listed dirty CSRs in list order, then the others in slot order.
    let listed: Vec<CsrSlot> = CSR_SYNC_ORDER
        .iter()
        .copied()
        .filter(|s| before.contains(*s))
        .collect();
    let values: Vec<(u16, u64)> = listed
        .iter()
        .copied()
        .chain(before.iter().filter(|s| !listed.contains(s)))
        .map(|s| (s.csr(), mem.read_word(s.offset(xlen)).unwrap()))
        .collect();
    let mut l0 = Provider::new(&mut *mem);
    match CsrTarget::from_arg(xlen, arg) {
        Ok(CsrTarget::All) => {
            let mut yielded = Vec::new();
            let n = l0
                .drain_dirty_csrs(&CSR_SYNC_ORDER, |csr, value| yielded.push((csr, value)))
                .unwrap();
            assert_eq!(n, yielded.len());
            assert_eq!(yielded, values, "every dirty CSR once, with the value read");
            assert!(DirtyBitmap::read(l0.memory()).unwrap().is_empty());
        }
        Ok(CsrTarget::One(slot)) => {
            let taken = l0.take_dirty_csr(slot).unwrap();
            assert_eq!(taken.is_some(), before.contains(slot));
            assert!(!DirtyBitmap::read(l0.memory()).unwrap().contains(slot));
        }
        Err(ProviderError::InvalidParam) => {
            let arg = arg & xlen.mask();
            let named = u16::try_from(arg).ok().and_then(CsrSlot::from_csr);
            assert!(arg != xlen.mask() && named.is_none());
        }
        Err(other) => panic!("{other:?}"),
    }
}

fn sync_hfence(mem: &mut ByteShmem<'_>, xlen: Xlen, arg: u64) {
    let raw: Vec<HfenceEntry> = (0..hfence_entries(xlen))
        .map(|i| read_entry(&*mem, i))
        .collect();
    let target = match HfenceTarget::from_arg(xlen, arg) {
        Ok(target) => target,
        Err(error) => {
            assert_eq!(error, ProviderError::InvalidParam);
            let arg = arg & xlen.mask();
            assert!(
                arg != xlen.mask() && arg >= hfence_entries(xlen) as u64,
                "{arg:#x} refused"
            );
            return;
        }
    };
    let mut taken = Vec::new();
    let n = Provider::new(&mut *mem)
        .sync_hfence(target, |t| taken.push(t))
        .unwrap();
    assert_eq!(n, taken.len());
    for (index, entry) in raw.iter().enumerate() {
        let wanted = target == HfenceTarget::All || target == HfenceTarget::Entry(index);
        let was_pending = entry.is_pending(xlen);
        assert_eq!(
            taken.iter().any(|t| t.index == index),
            wanted && was_pending,
            "entry {index}"
        );
        if wanted {
            assert!(
                !read_entry(&*mem, index).is_pending(xlen),
                "entry {index} still pending"
            );
        }
    }
    for t in &taken {
        assert_eq!(t.entry, raw[t.index], "each word read once, as it was");
        assert!(
            covers(xlen, &t.entry, &t.decoded.fence),
            "{:x?} -> {:?}",
            t.entry,
            t.decoded
        );
        let capped = t.decoded.capped(MAX_PAGES);
        assert!(covers(xlen, &t.entry, &capped.fence), "{capped:?}");
        if let Fence::Request(request) = capped.fence {
            assert!(request.range().is_none_or(|r| r.base_pages() <= MAX_PAGES));
        }
    }
}

fn sync_sret(mem: &mut ByteShmem<'_>, xlen: Xlen, hstatus: u64) {
    sync_csr(mem, xlen, u64::MAX);
    sync_hfence(mem, xlen, u64::MAX);
    let flags = mem.read_word(layout::autoswap_flags_offset(xlen)).unwrap();
    let parked = mem
        .read_word(layout::autoswap_hstatus_offset(xlen))
        .unwrap();
    // x1..x31 as the words hold them; x0 is 0 whatever word 0 holds.
    let mut expected = [0u64; 32];
    for (reg, value) in expected.iter_mut().enumerate().skip(1) {
        *value = mem.read_word(layout::sret_gpr_offset(xlen, reg)).unwrap();
    }
    let mut l0 = Provider::new(&mut *mem);
    assert_eq!(l0.sret_gprs().unwrap(), expected);
    let swapped = l0.autoswap_hstatus(hstatus).unwrap();
    if flags & 1 == 1 {
        assert_eq!(swapped, Some(parked));
        let now = l0
            .memory()
            .read_word(layout::autoswap_hstatus_offset(xlen))
            .unwrap();
        assert_eq!(now, hstatus & xlen.mask());
    } else {
        assert_eq!(swapped, None);
    }
}

fn queue(mem: &mut ByteShmem<'_>, xlen: Xlen, op: (u8, u16, u16, u8, u64, u64)) {
    let (kind, vmid, asid, order, page_number, page_count) = op;
    let range = PageRange::new(order, page_number, page_count);
    let request = match (kind % 8, range) {
        (0, Ok(range)) => HfenceRequest::Gvma { range },
        (2, Ok(range)) => HfenceRequest::GvmaVmid { vmid, range },
        (4, Ok(range)) => HfenceRequest::Vvma { vmid, range },
        (6, Ok(range)) => HfenceRequest::VvmaAsid { vmid, asid, range },
        (3, _) => HfenceRequest::GvmaVmidAll { vmid },
        (5, _) => HfenceRequest::VvmaAll { vmid },
        (7, _) => HfenceRequest::VvmaAsidAll { vmid, asid },
        _ => HfenceRequest::GvmaAll,
    };
    let mut l1 = Consumer::new(&mut *mem);
    let mut syncs = 0;
    let result = l1.queue_hfence(&request, || {
        syncs += 1;
        Ok(())
    });
    assert!(syncs <= nacl_shmem::consumer::HFENCE_SYNC_RETRIES);
    if let Ok(index) = result {
        let entry = read_entry(l1.memory(), index);
        assert_eq!(
            entry.decode(xlen).fence,
            Fence::Request(request),
            "queued entry {index}"
        );
    }
}

fuzz_target!(|input: Input| {
    let xlen = if input.rv32 { Xlen::Rv32 } else { Xlen::Rv64 };
    let mut bytes = input.image;
    bytes.resize(xlen.shmem_size(), 0);
    let mut mem = ByteShmem::new(&mut bytes, xlen).unwrap();
    for op in input.ops.into_iter().take(64) {
        match op {
            Op::SyncCsr(arg) => sync_csr(&mut mem, xlen, arg),
            Op::SyncHfence(arg) => sync_hfence(&mut mem, xlen, arg),
            Op::SyncSret { hstatus } => sync_sret(&mut mem, xlen, hstatus),
            Op::ClearAllDirty => {
                let before = mem.bytes().to_vec();
                Provider::new(&mut mem).clear_all_dirty().unwrap();
                assert!(DirtyBitmap::read(&mem).unwrap().is_empty());
                let bitmap = layout::DIRTY_BITMAP_OFFSET
                    ..layout::DIRTY_BITMAP_OFFSET + layout::DIRTY_BITMAP_SIZE;
                assert_eq!(mem.bytes()[..bitmap.start], before[..bitmap.start]);
                assert_eq!(mem.bytes()[bitmap.end..], before[bitmap.end..]);
            }
            Op::WriteBack { index, value } => {
                if let Some(slot) = CsrSlot::from_index(usize::from(index)) {
                    Provider::new(&mut mem).write_back_csr(slot, value).unwrap();
                    assert_eq!(
                        mem.read_word(slot.offset(xlen)).unwrap(),
                        value & xlen.mask()
                    );
                    assert!(!DirtyBitmap::read(&mem).unwrap().contains(slot));
                }
            }
            Op::Scribble { word, value } => {
                let offset = usize::from(word) * xlen.word_bytes() % xlen.shmem_size();
                mem.write_word(offset, value).unwrap();
            }
            Op::Queue {
                kind,
                vmid,
                asid,
                order,
                page_number,
                page_count,
            } => queue(
                &mut mem,
                xlen,
                (kind, vmid, asid, order, page_number, page_count),
            ),
            Op::CsrWrite { csr, value } => {
                let result = Consumer::new(&mut mem).csr_write(csr, value);
                assert_eq!(result.is_ok(), CsrSlot::from_csr(csr).is_some());
            }
        }
    }
});
