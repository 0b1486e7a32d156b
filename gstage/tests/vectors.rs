//! Checks every row of the independently computed vectors (copied from shared/vectors).

use gstage::walk::{GuestPageFault, GuestPageFaultCause, Implicit};
use gstage::{FaultReason, GStageMode, Hgatp, Xlen};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> u64 {
    let s = v.as_str().unwrap();
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn mode_named(name: &str) -> GStageMode {
    match name {
        "Bare" => GStageMode::Bare,
        "Sv32x4" => GStageMode::Sv32x4,
        "Sv39x4" => GStageMode::Sv39x4,
        "Sv48x4" => GStageMode::Sv48x4,
        "Sv57x4" => GStageMode::Sv57x4,
        other => panic!("unknown mode {other}"),
    }
}

#[test]
fn hgatp_encoding_matches_every_vector_row() {
    let v = load("hgatp.json");
    let rows = v["vectors"].as_array().unwrap();
    assert_eq!(rows.len(), 18);
    for row in rows {
        let xlen = if row["xlen"].as_u64().unwrap() == 64 {
            Xlen::Rv64
        } else {
            Xlen::Rv32
        };
        let mode = mode_named(row["mode"].as_str().unwrap());
        let vmid = row["vmid"].as_u64().unwrap() as u16;
        let ppn = hex(&row["ppn"]);
        let raw = hex(&row["hgatp"]);
        assert_eq!(mode.raw(), row["mode_value"].as_u64().unwrap(), "{row}");
        assert_eq!(GStageMode::from_raw(xlen, mode.raw()), Some(mode), "{row}");
        assert_eq!(
            Hgatp::new(mode, vmid, ppn).encode(xlen),
            raw,
            "encode {row}"
        );
        let d = Hgatp::decode(xlen, raw).unwrap();
        assert_eq!(
            (d.mode(), d.vmid(), d.ppn()),
            (mode, vmid, ppn),
            "decode {row}"
        );
    }
}

#[test]
fn gpa_width_and_root_index_width_match_vectors() {
    let v = load("hgatp.json");
    for (name, bits) in v["gpa_bits"].as_object().unwrap() {
        assert_eq!(
            mode_named(name).gpa_bits(),
            Some(bits.as_u64().unwrap() as u32),
            "{name}"
        );
    }
    for (name, bits) in v["root_index_bits"].as_object().unwrap() {
        let scheme = mode_named(name).scheme().unwrap();
        let root = scheme.levels() - 1;
        assert_eq!(
            scheme.index_bits_at(root),
            bits.as_u64().unwrap() as u32,
            "{name}"
        );
        assert_eq!(
            scheme.entries(root) * scheme.width().bytes(),
            16384,
            "{name}: root is 16 KiB"
        );
    }
}

#[test]
fn gstage_indices_match_every_vector_row() {
    let v = load("gstage-indices.json");
    let rows = v["vectors"].as_array().unwrap();
    assert_eq!(rows.len(), 16);
    for row in rows {
        let scheme = mode_named(row["mode"].as_str().unwrap()).scheme().unwrap();
        let gpa = hex(&row["gpa"]);
        let vpns: Vec<u64> = row["vpn_from_leaf_level_up"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(vpns.len(), scheme.levels() as usize, "{row}");
        for (level, vpn) in vpns.iter().enumerate() {
            assert_eq!(
                scheme.index(gpa, level as u8),
                *vpn,
                "level {level} of {row}"
            );
        }
        assert_eq!(gpa & 0xfff, hex(&row["page_offset"]), "{row}");
    }
}

#[test]
fn implicit_access_pseudo_instructions_match_vectors() {
    let v = load("htinst.json");
    let fault = |implicit| GuestPageFault {
        cause: GuestPageFaultCause::Load,
        gpa: 0x1000,
        implicit: Some(implicit),
        reason: FaultReason::Invalid,
    };
    let cases = [
        ("implicit_read_rv32_vsxlen", Implicit::Read, Xlen::Rv32),
        ("implicit_write_rv32_vsxlen", Implicit::Write, Xlen::Rv32),
        ("implicit_read_rv64_vsxlen", Implicit::Read, Xlen::Rv64),
        ("implicit_write_rv64_vsxlen", Implicit::Write, Xlen::Rv64),
    ];
    for (key, implicit, xlen) in cases {
        assert_eq!(
            fault(implicit).pseudo_instruction(xlen).map(u64::from),
            v[key].as_u64(),
            "{key}"
        );
    }
    let explicit = GuestPageFault {
        implicit: None,
        ..fault(Implicit::Read)
    };
    assert_eq!(explicit.pseudo_instruction(Xlen::Rv64), None);
}

#[test]
fn the_access_of_a_guest_page_fault_is_read_back_from_its_cause_and_htinst_vectors() {
    use gstage::{Access, AccessType};
    let v = load("htinst.json");
    let cases = [
        ("implicit_read_rv32_vsxlen", Some(Implicit::Read)),
        ("implicit_write_rv32_vsxlen", Some(Implicit::Write)),
        ("implicit_read_rv64_vsxlen", Some(Implicit::Read)),
        ("implicit_write_rv64_vsxlen", Some(Implicit::Write)),
    ];
    let kinds = [
        (20, AccessType::Fetch),
        (21, AccessType::Load),
        (23, AccessType::Store),
    ];
    for (cause, original) in kinds {
        for (key, implicit) in cases {
            let htinst = v[key].as_u64().unwrap();
            let a = Access::from_guest_page_fault(cause, htinst, false);
            assert_eq!(
                (a.original, a.implicit, a.hlvx),
                (original, implicit, false),
                "{key}"
            );
            // The inverse of pseudo_instruction, whatever the VSXLEN.
            let fault = GuestPageFault {
                cause: GuestPageFaultCause::for_access(original),
                gpa: 0x1000,
                implicit,
                reason: FaultReason::Invalid,
            };
            let xlen = if key.ends_with("rv32_vsxlen") {
                Xlen::Rv32
            } else {
                Xlen::Rv64
            };
            assert_eq!(fault.pseudo_instruction(xlen).map(u64::from), Some(htinst));
        }
        // 0, a transformed load (lw a0, 0(a1)) or anything else: the explicit access.
        for htinst in [0, 0x0005_a503, 0x2004, 0x3021, 0x1_3000] {
            let a = Access::from_guest_page_fault(cause, htinst, true);
            assert_eq!(
                a,
                Access {
                    mxr: true,
                    ..Access::explicit(original)
                },
                "{htinst:#x}"
            );
        }
    }
    // A code that is not a guest-page fault is taken as a store, the most demanding access.
    assert_eq!(
        Access::from_guest_page_fault(13, 0, false),
        Access::explicit(AccessType::Store)
    );
}
