//! Every EID/FID route of the dispatcher, BASE's answers, and `NOT_SUPPORTED` wherever the
//! spec says a call is not there.

use sbi_dispatch::testing::eid::{BASE, DBCN, HSM, IPI, NACL, RFENCE, SRST, SUSP, TIME};
use sbi_dispatch::testing::{Log, Recorder, Seen, full_dispatcher, platform, run};
use sbi_dispatch::{
    Departure, Dispatcher, FenceRange, HartMask, Outcome, PhysicalRange, ResetReason, ResetType,
    SbiCall, SbiError, SleepType, SuspendType, TrapRequest, Xlen,
};

const NOT_SUPPORTED: Outcome = Outcome::Return(Err(SbiError::NotSupported));

fn call(eid: u64, fid: u64, args: [u64; 6]) -> SbiCall {
    SbiCall::new(eid, fid, args, Xlen::Rv64)
}

/// A two-hart mask {1, 2} on a four-hart machine.
fn harts_1_2() -> HartMask {
    HartMask::from_registers(0b11, 1, Xlen::Rv64, 4).unwrap()
}

#[test]
fn every_function_of_every_extension_reaches_its_method_with_its_arguments() {
    let range = FenceRange::Range {
        start: 0x1000,
        size: 0x2000,
    };
    let buffer = PhysicalRange {
        base: 0x8000_1000,
        len: 16,
    };
    let routes: Vec<(SbiCall, Seen)> = vec![
        (
            call(TIME, 0, [0x1234_5678_9abc, 0, 0, 0, 0, 0]),
            Seen::SetTimer(0x1234_5678_9abc),
        ),
        (
            call(IPI, 0, [0b11, 1, 0, 0, 0, 0]),
            Seen::SendIpi(harts_1_2()),
        ),
        (
            call(RFENCE, 0, [0b11, 1, 0, 0, 0, 0]),
            Seen::RemoteFenceI(harts_1_2()),
        ),
        (
            call(RFENCE, 1, [0b11, 1, 0x1000, 0x2000, 0, 0]),
            Seen::RemoteSfenceVma(harts_1_2(), range),
        ),
        (
            call(RFENCE, 2, [0b11, 1, 0x1000, 0x2000, 7, 0]),
            Seen::RemoteSfenceVmaAsid(harts_1_2(), range, 7),
        ),
        (
            call(RFENCE, 3, [0b11, 1, 0x1000, 0x2000, 9, 0]),
            Seen::RemoteHfenceGvmaVmid(harts_1_2(), range, 9),
        ),
        (
            call(RFENCE, 4, [0b11, 1, 0x1000, 0x2000, 0, 0]),
            Seen::RemoteHfenceGvma(harts_1_2(), range),
        ),
        (
            call(RFENCE, 5, [0b11, 1, 0x1000, 0x2000, 5, 0]),
            Seen::RemoteHfenceVvmaAsid(harts_1_2(), range, 5),
        ),
        (
            call(RFENCE, 6, [0b11, 1, 0x1000, 0x2000, 0, 0]),
            Seen::RemoteHfenceVvma(harts_1_2(), range),
        ),
        (
            call(HSM, 0, [3, 0x8020_0000, 0xabc, 0, 0, 0]),
            Seen::HartStart {
                hart: 3,
                start_addr: 0x8020_0000,
                opaque: 0xabc,
            },
        ),
        (call(HSM, 1, [0; 6]), Seen::HartStop),
        (call(HSM, 2, [2, 0, 0, 0, 0, 0]), Seen::HartGetStatus(2)),
        (
            call(HSM, 3, [0x8000_0000, 0x8000_2000, 5, 0, 0, 0]),
            Seen::HartSuspend(SuspendType::DefaultNonRetentive, 0x8000_2000, 5),
        ),
        (
            call(SRST, 0, [1, 1, 0, 0, 0, 0]),
            Seen::SystemReset(ResetType::ColdReboot, ResetReason::SystemFailure),
        ),
        (
            call(DBCN, 0, [16, 0x8000_1000, 0, 0, 0, 0]),
            Seen::ConsoleWrite(buffer),
        ),
        (
            call(DBCN, 1, [16, 0x8000_1000, 0, 0, 0, 0]),
            Seen::ConsoleRead(buffer),
        ),
        (
            call(DBCN, 2, [0x141, 0, 0, 0, 0, 0]),
            Seen::ConsoleWriteByte(0x41),
        ),
        (
            call(NACL, 1, [0x8000_3000, 0, 0, 0, 0, 0]),
            Seen::NaclSetShmem(Some(0x8000_3000)),
        ),
        (
            call(NACL, 2, [0x643, 0, 0, 0, 0, 0]),
            Seen::NaclSyncCsr(Some(0x643)),
        ),
        (
            call(NACL, 3, [59, 0, 0, 0, 0, 0]),
            Seen::NaclSyncHfence(Some(59)),
        ),
        (call(NACL, 4, [0; 6]), Seen::NaclSyncSret),
        (
            call(SUSP, 0, [0, 0x8000_4000, 6, 0, 0, 0]),
            Seen::SystemSuspend(SleepType::SuspendToRam, 0x8000_4000, 6),
        ),
        (
            call(0x00, 99, [0x55, 0, 0, 0, 0, 0]),
            Seen::LegacySetTimer(0x55),
        ),
        (
            call(0x01, 99, [0x241, 0, 0, 0, 0, 0]),
            Seen::LegacyPutchar(0x41),
        ),
        (call(0x02, 0, [0; 6]), Seen::LegacyGetchar),
        (call(0x03, 0, [0; 6]), Seen::LegacyClearIpi),
        (
            call(0x04, 0, [0x9000, 0, 0, 0, 0, 0]),
            Seen::LegacySendIpi(0x9000),
        ),
        (
            call(0x05, 0, [0x9000, 0, 0, 0, 0, 0]),
            Seen::LegacyRemoteFenceI(0x9000),
        ),
        (
            call(0x06, 0, [0x9000, 1, 2, 0, 0, 0]),
            Seen::LegacyRemoteSfenceVma(0x9000, 1, 2),
        ),
        (
            call(0x07, 0, [0x9000, 1, 2, 3, 0, 0]),
            Seen::LegacyRemoteSfenceVmaAsid(0x9000, 1, 2, 3),
        ),
        (call(0x08, 0, [0; 6]), Seen::LegacyShutdown),
        (
            call(0x0a00_0000, 4, [1; 6]),
            Seen::Other(call(0x0a00_0000, 4, [1; 6])),
        ),
    ];
    let mut sbi = full_dispatcher(platform(4));
    for (call, expected) in routes {
        let (outcome, seen) = run(&mut sbi, &call);
        assert_eq!(seen, Some(expected), "{call:x?}");
        assert_eq!(outcome, Outcome::Return(Ok(0)), "{call:x?}");
    }
}

#[test]
fn base_answers_the_platform_facts_and_probes() {
    let mut sbi = full_dispatcher(platform(4));
    let answers = [
        (0, 0x0200_0000),
        (1, 0x5a),
        (2, 0x0001_0002),
        (3, 1), // probe_extension(a0 = TIME)
        (4, 0x489),
        (5, 0x8000_0000_0000_0007),
        (6, 0x2024),
    ];
    for (fid, value) in answers {
        let (outcome, seen) = run(&mut sbi, &call(BASE, fid, [TIME, 0, 0, 0, 0, 0]));
        assert_eq!(outcome, Outcome::Return(Ok(value)), "BASE function {fid}");
        assert_eq!(seen, None, "BASE is answered by the dispatcher alone");
    }
}

#[test]
fn base_probe_answers_zero_for_unknown_and_reserved_extensions() {
    let sbi = full_dispatcher(platform(4));
    for eid in [
        0x09,
        0x0f,
        0x11,
        0x4450_4d55, /* "DBTR" */
        u64::MAX,
        0x0a00_0001,
    ] {
        assert_eq!(sbi.probe_extension(eid), 0, "{eid:#x}");
    }
    for eid in [0x00, 0x08, BASE, TIME, NACL, 0x0a00_0000] {
        assert_eq!(sbi.probe_extension(eid), 1, "{eid:#x}");
    }
}

#[test]
fn unknown_function_of_every_extension_is_not_supported() {
    let mut sbi = full_dispatcher(platform(4));
    let beyond = [
        (BASE, 7),
        (TIME, 1),
        (IPI, 1),
        (RFENCE, 7),
        (HSM, 4),
        (SRST, 1),
        (DBCN, 3),
        (NACL, 5),
        (SUSP, 1),
    ];
    for (eid, fid) in beyond {
        for fid in [fid, fid + 1, 1 << 31, u64::MAX] {
            let (outcome, seen) = run(&mut sbi, &call(eid, fid, [0; 6]));
            assert_eq!(
                (outcome, seen),
                (NOT_SUPPORTED, None),
                "EID {eid:#x} FID {fid:#x}"
            );
        }
    }
}

#[test]
fn unknown_and_reserved_extensions_are_not_supported() {
    let mut sbi = full_dispatcher(platform(4));
    for eid in [
        0x09,
        0x0f,
        0x11,
        0x4657_4654, /* FWFT */
        0x0a00_0001,
        u64::MAX,
        (1 << 32) | BASE,
    ] {
        let (outcome, seen) = run(&mut sbi, &call(eid, 0, [0; 6]));
        assert_eq!((outcome, seen), (NOT_SUPPORTED, None), "EID {eid:#x}");
    }
}

#[test]
fn an_extension_not_plugged_in_is_not_supported_and_not_probed() {
    let mut sbi = Dispatcher::new(platform(4)).with_timer(Recorder);
    let mut log = Log::default();
    for (eid, fid) in [
        (IPI, 0),
        (RFENCE, 0),
        (HSM, 2),
        (SRST, 0),
        (DBCN, 2),
        (NACL, 0),
        (SUSP, 0),
        (0x01, 0),
    ] {
        assert_eq!(
            sbi.dispatch(&mut log, &call(eid, fid, [0; 6])),
            NOT_SUPPORTED,
            "{eid:#x}"
        );
        assert_eq!(sbi.probe_extension(eid), 0);
    }
    assert_eq!(log.seen, None);
    assert_eq!(
        sbi.dispatch(&mut log, &call(TIME, 0, [5, 0, 0, 0, 0, 0])),
        Outcome::Return(Ok(0))
    );
    assert_eq!(log.seen, Some(Seen::SetTimer(5)));
}

#[test]
fn hfence_without_a_nested_provider_is_not_supported_never_a_silent_success() {
    let mut sbi = Dispatcher::new(platform(4)).with_rfence(Recorder);
    let mut log = Log::default();
    assert_eq!(sbi.probe_extension(RFENCE), 1);
    for fid in 3..=6 {
        let answer = sbi.dispatch(&mut log, &call(RFENCE, fid, [1, 0, 0, 0, 0, 0]));
        assert_eq!(answer, NOT_SUPPORTED, "HFENCE function {fid}");
    }
    assert_eq!(log.seen, None);
    assert_eq!(
        sbi.dispatch(&mut log, &call(RFENCE, 1, [1, 0, 0, 0, 0, 0])),
        Outcome::Return(Ok(0))
    );
}

#[test]
fn hfence_with_a_nested_provider_is_the_providers_answer() {
    let mut sbi = Dispatcher::new(platform(4)).with_remote_hfence(Recorder);
    assert_eq!(
        sbi.probe_extension(RFENCE),
        1,
        "RFENCE is present for its HFENCE functions"
    );
    let mut log = Log {
        answer: Outcome::Return(Err(SbiError::Failed)),
        ..Log::default()
    };
    let answer = sbi.dispatch(&mut log, &call(RFENCE, 4, [1, 0, 0, 0, 0, 0]));
    assert_eq!(answer, Outcome::Return(Err(SbiError::Failed)));
    assert_eq!(
        log.seen,
        Some(Seen::RemoteHfenceGvma(
            HartMask::from_registers(1, 0, Xlen::Rv64, 4).unwrap(),
            FenceRange::All
        ))
    );
    // The first-stage fences are not there without an Rfence.
    assert_eq!(
        sbi.dispatch(&mut log, &call(RFENCE, 0, [1, 0, 0, 0, 0, 0])),
        NOT_SUPPORTED
    );
}

#[test]
fn every_kind_of_outcome_passes_through_the_dispatcher_unchanged() {
    let mut sbi = full_dispatcher(platform(2));
    let outcomes = [
        Outcome::Return(Ok(u64::MAX)),
        Outcome::Return(Err(SbiError::DeniedLocked)),
        Outcome::Departed(Departure::EnteredGuest),
        Outcome::Departed(Departure::SystemReset {
            reset_type: ResetType::Shutdown,
            reason: ResetReason::NoReason,
        }),
        Outcome::InjectTrap(TrapRequest {
            cause: 2,
            tval: 0x73,
        }),
        Outcome::Deferred,
    ];
    for answer in outcomes {
        let mut log = Log {
            answer,
            ..Log::default()
        };
        assert_eq!(sbi.dispatch(&mut log, &call(NACL, 4, [0; 6])), answer);
    }
}

#[test]
fn the_other_extensions_handler_never_sees_a_typed_extension() {
    // A handler that claims every ID still gets no call for an ID that has a typed slot.
    struct Greedy;
    impl sbi_dispatch::OtherExtensions<Log> for Greedy {
        fn probe(&self, _: u64) -> u64 {
            7
        }
        fn call(&mut self, log: &mut Log, call: &SbiCall) -> Outcome {
            log.seen = Some(Seen::Other(*call));
            Outcome::Return(Ok(7))
        }
    }
    let mut sbi = Dispatcher::new(platform(1)).with_other(Greedy);
    let mut log = Log::default();
    for eid in [TIME, NACL, 0x01, 0x0c] {
        assert_eq!(sbi.dispatch(&mut log, &call(eid, 0, [0; 6])), NOT_SUPPORTED);
        assert_eq!(sbi.probe_extension(eid), 0);
    }
    assert_eq!(log.seen, None);
    assert_eq!(
        sbi.dispatch(&mut log, &call(0x0900_0000, 0, [0; 6])),
        Outcome::Return(Ok(7))
    );
    assert_eq!(
        sbi.probe_extension(0x0900_0000),
        7,
        "the handler's own probe value"
    );
}
