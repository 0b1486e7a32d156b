//! Every row of `tests/data/sbi.json` (numbers computed from the SBI spec, apart from this
//! crate) against the crate's behaviour.

use sbi_dispatch::testing::{Seen, full_dispatcher, platform, run};
use sbi_dispatch::{Dispatcher, NaclFeature, Outcome, SbiCall, SbiError, Xlen};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/sbi.json")).expect("sbi.json parses")
}

fn rows<'a>(v: &'a Value, table: &str) -> Vec<(&'a str, i64)> {
    let rows: Vec<_> = v[table]
        .as_object()
        .unwrap_or_else(|| panic!("table {table}"))
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_i64().expect("integer")))
        .collect();
    assert!(!rows.is_empty(), "table {table} is empty");
    rows
}

#[test]
fn every_error_code_of_the_spec_maps_to_its_variant_and_back() {
    let v = vectors();
    let mut errors = 0;
    for (name, code) in rows(&v, "errors") {
        if name == "SUCCESS" {
            assert_eq!(code, 0);
            assert_eq!(SbiError::from_code(code), None);
            continue;
        }
        let error = SbiError::from_code(code).unwrap_or_else(|| panic!("{name} = {code}"));
        assert_eq!(error.code(), code, "{name}");
        let expected = name
            .trim_start_matches("ERR_")
            .replace('_', "")
            .to_lowercase();
        assert_eq!(format!("{error:?}").to_lowercase(), expected, "{name}");
        errors += 1;
    }
    assert_eq!(
        errors,
        SbiError::ALL.len(),
        "the enum has exactly the spec's errors"
    );
}

#[test]
fn every_typed_extension_id_is_probed_present_when_plugged_and_absent_when_not() {
    let v = vectors();
    let full = full_dispatcher(platform(4));
    let bare = Dispatcher::<()>::new(platform(4));
    for (name, eid) in rows(&v, "eids") {
        let eid = eid as u64;
        let typed = [
            "BASE", "TIME", "IPI", "RFENCE", "HSM", "SRST", "DBCN", "NACL", "SUSP",
        ]
        .contains(&name);
        let expected_full = u64::from(typed || name == "PMU"); // the recorder also claims PMU
        assert_eq!(
            full.probe_extension(eid),
            expected_full,
            "{name} plugged in"
        );
        assert_eq!(
            bare.probe_extension(eid),
            u64::from(name == "BASE"),
            "{name} absent"
        );
    }
}

#[test]
fn every_rfence_function_id_reaches_its_function() {
    let v = vectors();
    let eid = v["eids"]["RFENCE"].as_u64().unwrap();
    let mut sbi = full_dispatcher(platform(4));
    for (name, fid) in rows(&v, "rfence_fids") {
        let call = SbiCall::new(eid, fid as u64, [1, 0, 0x1000, 0x2000, 3, 0], Xlen::Rv64);
        let (outcome, seen) = run(&mut sbi, &call);
        assert_eq!(outcome, Outcome::Return(Ok(0)), "{name}");
        let reached = match seen.unwrap_or_else(|| panic!("{name} reached nothing")) {
            Seen::RemoteFenceI(..) => "REMOTE_FENCE_I",
            Seen::RemoteSfenceVma(..) => "REMOTE_SFENCE_VMA",
            Seen::RemoteSfenceVmaAsid(..) => "REMOTE_SFENCE_VMA_ASID",
            Seen::RemoteHfenceGvmaVmid(..) => "REMOTE_HFENCE_GVMA_VMID",
            Seen::RemoteHfenceGvma(..) => "REMOTE_HFENCE_GVMA",
            Seen::RemoteHfenceVvmaAsid(..) => "REMOTE_HFENCE_VVMA_ASID",
            Seen::RemoteHfenceVvma(..) => "REMOTE_HFENCE_VVMA",
            other => panic!("{name} reached {other:?}"),
        };
        assert_eq!(reached, name);
    }
}

#[test]
fn every_nacl_function_id_reaches_its_function() {
    let v = vectors();
    let eid = v["eids"]["NACL"].as_u64().unwrap();
    let mut sbi = full_dispatcher(platform(1));
    for (name, fid) in rows(&v, "nacl_fids") {
        // Arguments valid for every function: feature 0, shmem at 0x8000_0000, CSR 0x600 is
        // not all ones... so pass all ones, which every sync function accepts.
        let args = match name {
            "SET_SHMEM" => [0x8000_0000, 0, 0, 0, 0, 0],
            "PROBE_FEATURE" => [0, 0, 0, 0, 0, 0],
            _ => [u64::MAX, 0, 0, 0, 0, 0],
        };
        let (outcome, seen) = run(&mut sbi, &SbiCall::new(eid, fid as u64, args, Xlen::Rv64));
        match name {
            "PROBE_FEATURE" => assert_eq!((outcome, seen), (Outcome::Return(Ok(1)), None)),
            "SET_SHMEM" => assert_eq!(seen, Some(Seen::NaclSetShmem(Some(0x8000_0000)))),
            "SYNC_CSR" => assert_eq!(seen, Some(Seen::NaclSyncCsr(None))),
            "SYNC_HFENCE" => assert_eq!(seen, Some(Seen::NaclSyncHfence(None))),
            "SYNC_SRET" => assert_eq!(seen, Some(Seen::NaclSyncSret)),
            other => panic!("unknown NACL function {other}"),
        }
    }
}

#[test]
fn every_nacl_feature_id_converts_and_probes_by_its_number() {
    let v = vectors();
    let eid = v["eids"]["NACL"].as_u64().unwrap();
    let probe = v["nacl_fids"]["PROBE_FEATURE"].as_u64().unwrap();
    let mut sbi = full_dispatcher(platform(1));
    for (name, id) in rows(&v, "nacl_features") {
        let feature = NaclFeature::try_from(id as u64).unwrap_or_else(|_| panic!("{name}"));
        assert_eq!(feature as i64, id, "{name}");
        let expected = name.replace('_', "").to_lowercase();
        assert_eq!(format!("{feature:?}").to_lowercase(), expected);
        // Offer only this feature: the probe answers 1 for it alone.
        let mut log = sbi_dispatch::testing::Log {
            nacl_features: 1 << id,
            ..Default::default()
        };
        for other in 0..6u64 {
            let call = SbiCall::new(eid, probe, [other, 0, 0, 0, 0, 0], Xlen::Rv64);
            let answer = sbi.dispatch(&mut log, &call);
            assert_eq!(
                answer,
                Outcome::Return(Ok(u64::from(other == id as u64))),
                "{name} vs {other}"
            );
        }
    }
}
