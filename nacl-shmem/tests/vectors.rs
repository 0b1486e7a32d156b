//! Every row of the independently computed vectors in `tests/data/` against the crate.

use nacl_shmem::dirty_bitmap::dirty_bit_location;
use nacl_shmem::hfence::{Fence, HfenceConfig, HfenceEntry, HfenceType, Malformation};
use nacl_shmem::layout;
use nacl_shmem::{CsrSlot, Xlen};
use serde_json::Value;
use std::mem::{offset_of, size_of};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn int(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap(),
        other => panic!("not an integer: {other}"),
    }
}

fn pair(value: &Value) -> (usize, usize) {
    (int(&value[0]) as usize, int(&value[1]) as usize)
}

/// The (offset, size) of each region from the typed layout of one XLEN.
struct TypedLayout {
    total: usize,
    sret: (usize, usize),
    autoswap: (usize, usize),
    hfence: (usize, usize),
    dirty: (usize, usize),
    csr: (usize, usize),
    entry_size: usize,
    entries: usize,
    autoswap_hstatus: usize,
}

fn typed_layout(xlen: Xlen) -> TypedLayout {
    macro_rules! of {
        ($shmem:ty, $scratch:ty, $sret:ty, $autoswap:ty, $entry:ty, $word:expr) => {{
            let s = offset_of!($shmem, scratch);
            let v: $shmem = zerocopy::FromZeros::new_zeroed();
            TypedLayout {
                total: size_of::<$shmem>(),
                sret: (s + offset_of!($scratch, sret), size_of::<$sret>()),
                autoswap: (s + offset_of!($scratch, autoswap), size_of::<$autoswap>()),
                hfence: (
                    s + offset_of!($scratch, hfence),
                    size_of_val(&v.scratch.hfence),
                ),
                dirty: (
                    s + offset_of!($scratch, dirty_bitmap),
                    size_of_val(&v.scratch.dirty_bitmap),
                ),
                csr: (offset_of!($shmem, csr), size_of_val(&v.csr)),
                entry_size: size_of::<$entry>(),
                entries: v.scratch.hfence.len(),
                autoswap_hstatus: s
                    + offset_of!($scratch, autoswap)
                    + offset_of!($autoswap, hstatus),
            }
        }};
    }
    use layout::*;
    match xlen {
        Xlen::Rv32 => of!(
            Shmem32,
            Scratch32,
            SretContext32,
            AutoswapContext32,
            HfenceEntry32,
            4
        ),
        Xlen::Rv64 => of!(
            Shmem64,
            Scratch64,
            SretContext64,
            AutoswapContext64,
            HfenceEntry64,
            8
        ),
    }
}

#[test]
fn layout_matches_the_vectors_for_both_xlens() {
    let vectors = load("nacl-layout.json");
    for (key, xlen) in [("rv32", Xlen::Rv32), ("rv64", Xlen::Rv64)] {
        let v = &vectors[key];
        assert_eq!(int(&v["xlen"]), u64::from(xlen.bits()));
        let typed = typed_layout(xlen);
        assert_eq!(int(&v["total_size"]) as usize, xlen.shmem_size(), "{key}");
        assert_eq!(int(&v["total_size"]) as usize, typed.total, "{key}");
        assert_eq!(
            pair(&v["sret_area"]),
            (layout::SRET_OFFSET, layout::SRET_SIZE),
            "{key}"
        );
        assert_eq!(pair(&v["sret_area"]), typed.sret, "{key}");
        assert_eq!(
            pair(&v["autoswap_area"]),
            (layout::AUTOSWAP_OFFSET, layout::AUTOSWAP_SIZE),
            "{key}"
        );
        assert_eq!(pair(&v["autoswap_area"]), typed.autoswap, "{key}");
        assert_eq!(
            pair(&v["hfence_area"]),
            (layout::HFENCE_OFFSET, layout::HFENCE_SIZE),
            "{key}"
        );
        assert_eq!(pair(&v["hfence_area"]), typed.hfence, "{key}");
        assert_eq!(
            pair(&v["dirty_bitmap"]),
            (layout::DIRTY_BITMAP_OFFSET, layout::DIRTY_BITMAP_SIZE)
        );
        assert_eq!(pair(&v["dirty_bitmap"]), typed.dirty, "{key}");
        assert_eq!(
            pair(&v["csr_space"]),
            (layout::CSR_OFFSET, layout::csr_space_size(xlen)),
            "{key}"
        );
        assert_eq!(pair(&v["csr_space"]), typed.csr, "{key}");
        assert_eq!(
            int(&v["hfence_entry_size"]) as usize,
            layout::hfence_entry_size(xlen)
        );
        assert_eq!(int(&v["hfence_entry_size"]) as usize, typed.entry_size);
        assert_eq!(
            int(&v["hfence_entries"]) as usize,
            layout::hfence_entries(xlen)
        );
        assert_eq!(int(&v["hfence_entries"]) as usize, typed.entries);
        let gprs = v["sret_gpr_offset"].as_object().unwrap();
        assert!(!gprs.is_empty());
        for (reg, offset) in gprs {
            let reg: usize = reg.trim_start_matches('x').parse().unwrap();
            assert_eq!(
                layout::sret_gpr_offset(xlen, reg),
                int(offset) as usize,
                "{key} x{reg}"
            );
        }
        assert_eq!(
            layout::autoswap_flags_offset(xlen),
            int(&v["autoswap_flags_offset"]) as usize
        );
        assert_eq!(
            layout::autoswap_hstatus_offset(xlen),
            int(&v["autoswap_hstatus_offset"]) as usize
        );
        assert_eq!(
            typed.autoswap_hstatus,
            int(&v["autoswap_hstatus_offset"]) as usize
        );
    }
}

#[test]
fn csr_slots_match_the_vectors() {
    let vectors = load("nacl-csr-slots.json");
    let valid = vectors["valid"].as_array().unwrap();
    assert!(valid.len() >= 30);
    for row in valid {
        let name = row["csr"].as_str().unwrap();
        let number = int(&row["number"]);
        let slot = CsrSlot::from_csr(u16::try_from(number).unwrap())
            .unwrap_or_else(|| panic!("{name} has no slot"));
        assert_eq!(slot.index() as u64, int(&row["index"]), "{name}");
        assert_eq!(u64::from(slot.csr()), number, "{name}");
        assert_eq!(
            slot.offset(Xlen::Rv32) as u64,
            int(&row["offset_rv32"]),
            "{name}"
        );
        assert_eq!(
            slot.offset(Xlen::Rv64) as u64,
            int(&row["offset_rv64"]),
            "{name}"
        );
        let byte = int(&row["dirty_bit"]["byte"]) as usize;
        let bit = int(&row["dirty_bit"]["bit"]) as u32;
        for xlen in Xlen::ALL {
            // The word holding the bit, and the bit within it, name the same byte and bit.
            let (word_offset, word_bit) = dirty_bit_location(xlen, slot);
            assert_eq!(
                word_offset + (word_bit / 8) as usize,
                byte,
                "{name} {xlen:?}"
            );
            assert_eq!(word_bit % 8, bit, "{name} {xlen:?}");
        }
    }
    let invalid = vectors["invalid"].as_array().unwrap();
    assert!(!invalid.is_empty());
    for number in invalid {
        let number = u16::try_from(int(number)).unwrap();
        assert_eq!(CsrSlot::from_csr(number), None, "{number}");
    }
}

#[test]
fn hfence_config_words_match_the_vectors() {
    let vectors = load("nacl-hfence.json");
    let rows = vectors["vectors"].as_array().unwrap();
    assert_eq!(rows.len(), 48);
    for row in rows {
        let xlen = Xlen::try_from(int(&row["xlen"]) as u32).unwrap();
        let config = int(&row["config"]);
        let fields = HfenceConfig {
            pending: int(&row["pending"]) == 1,
            kind: int(&row["type"]) as u8,
            order: int(&row["order"]) as u8,
            vmid: int(&row["vmid"]) as u16,
            asid: int(&row["asid"]) as u16,
        };
        assert_eq!(fields.encode(xlen), Ok(config), "{row}");
        assert_eq!(HfenceConfig::decode(xlen, config), fields, "{row}");
        let kind = HfenceType::try_from(fields.kind).unwrap();
        let name = row["type_name"].as_str().unwrap();
        assert_eq!(
            format!("{kind:?}").to_uppercase(),
            name.replace('_', ""),
            "{row}"
        );
        let page_size = row["page_size"].as_str().unwrap();
        let shift: u32 = page_size.trim_start_matches("1 << ").parse().unwrap();
        assert_eq!(u32::from(fields.order) + 12, shift, "{row}");
        // The vector as a one-page entry at page number 1: its own type if that page fits in
        // 64-bit addresses, else the type's _ALL form (a range that overflows is widened).
        let entry = HfenceEntry {
            config,
            page_number: 1,
            reserved: 0,
            page_count: 1,
        };
        assert!(entry.is_pending(xlen));
        let decoded = entry.decode(xlen);
        let Fence::Request(request) = decoded.fence else {
            panic!("{row} decoded to everything")
        };
        let ranged = matches!(
            kind,
            HfenceType::Gvma | HfenceType::GvmaVmid | HfenceType::Vvma | HfenceType::VvmaAsid
        );
        if ranged && shift < 63 {
            assert_eq!(request.kind(), kind, "{row}");
            assert_eq!(request.range().unwrap().start(), 1 << shift, "{row}");
            assert_eq!(decoded.malformation, None, "{row}");
        } else if ranged {
            let widened = match kind {
                HfenceType::Gvma => HfenceType::GvmaAll,
                HfenceType::GvmaVmid => HfenceType::GvmaVmidAll,
                HfenceType::Vvma => HfenceType::VvmaAll,
                _ => HfenceType::VvmaAsidAll,
            };
            assert_eq!(request.kind(), widened, "{row}");
            assert_eq!(
                decoded.malformation,
                Some(Malformation::RangeOverflow),
                "{row}"
            );
        } else {
            assert_eq!(request.kind(), kind, "{row}");
        }
        let vmid_kept = !matches!(kind, HfenceType::Gvma | HfenceType::GvmaAll);
        assert_eq!(request.vmid(), vmid_kept.then_some(fields.vmid), "{row}");
        let asid_kept = matches!(kind, HfenceType::VvmaAsid | HfenceType::VvmaAsidAll);
        assert_eq!(request.asid(), asid_kept.then_some(fields.asid), "{row}");
    }
}
