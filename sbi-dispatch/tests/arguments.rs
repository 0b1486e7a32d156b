//! The arguments the dispatcher checks before an extension runs, each with the error the SBI
//! spec names for it.

use sbi_dispatch::testing::eid::{DBCN, HSM, IPI, NACL, RFENCE, SRST, SUSP};
use sbi_dispatch::testing::{Seen, full_dispatcher, platform, run};
use sbi_dispatch::{
    FenceRange, HartMask, Outcome, PhysicalRange, ResetReason, ResetType, SbiCall, SbiError,
    SleepType, SuspendType, Xlen,
};

fn answer(eid: u64, fid: u64, args: [u64; 6], xlen: Xlen) -> (Outcome, Option<Seen>) {
    run(
        &mut full_dispatcher(platform(4)),
        &SbiCall::new(eid, fid, args, xlen),
    )
}

fn error(eid: u64, fid: u64, args: [u64; 6], xlen: Xlen) -> Option<SbiError> {
    match answer(eid, fid, args, xlen) {
        (Outcome::Return(Err(error)), None) => Some(error),
        (Outcome::Return(Ok(_)), Some(_)) => None,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn fence_range_of_zero_and_zero_or_of_all_ones_size_is_everything() {
    assert_eq!(
        FenceRange::from_registers(0, 0, Xlen::Rv64),
        Some(FenceRange::All)
    );
    assert_eq!(
        FenceRange::from_registers(0x1000, u64::MAX, Xlen::Rv64),
        Some(FenceRange::All)
    );
    assert_eq!(
        FenceRange::from_registers(0x1000, 0xffff_ffff, Xlen::Rv32),
        Some(FenceRange::All)
    );
    assert_eq!(
        FenceRange::from_registers(0x1000, 0, Xlen::Rv64),
        Some(FenceRange::Range {
            start: 0x1000,
            size: 0
        }),
        "a size of 0 at a non-zero start fences nothing"
    );
}

#[test]
fn fence_range_past_the_end_of_the_address_space_is_invalid_address() {
    assert_eq!(FenceRange::from_registers(u64::MAX, 2, Xlen::Rv64), None);
    assert_eq!(
        FenceRange::from_registers(u64::MAX - 0xfff, 0x1000, Xlen::Rv64),
        Some(FenceRange::Range {
            start: u64::MAX - 0xfff,
            size: 0x1000
        }),
        "a range may end exactly at 2^XLEN"
    );
    assert_eq!(
        FenceRange::from_registers(0xffff_f000, 0x2000, Xlen::Rv32),
        None
    );
    for fid in 1..=6 {
        assert_eq!(
            error(RFENCE, fid, [1, 0, u64::MAX, 2, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidAddress)
        );
    }
}

#[test]
fn fence_range_contains_its_addresses_only() {
    let range = FenceRange::Range {
        start: 0x1000,
        size: 0x1000,
    };
    assert!(range.contains(0x1000) && range.contains(0x1fff));
    assert!(!range.contains(0xfff) && !range.contains(0x2000));
    assert!(FenceRange::All.contains(u64::MAX));
}

#[test]
fn rfence_to_a_hart_beyond_the_last_is_invalid_param() {
    for fid in 0..=6 {
        assert_eq!(
            error(RFENCE, fid, [1, 4, 0, 0, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidParam),
            "{fid}"
        );
    }
    assert_eq!(
        error(IPI, 0, [0b10000, 0, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam)
    );
}

#[test]
fn asid_and_vmid_wider_than_the_architecture_allows_are_invalid_param() {
    // RV64: ASID 16 bits, VMID 14 bits; RV32: ASID 9 bits, VMID 7 bits.
    let cases = [
        (2, 0xffff, 0x1_0000, Xlen::Rv64),
        (5, 0xffff, 0x1_0000, Xlen::Rv64),
        (3, 0x3fff, 0x4000, Xlen::Rv64),
        (2, 0x1ff, 0x200, Xlen::Rv32),
        (5, 0x1ff, 0x200, Xlen::Rv32),
        (3, 0x7f, 0x80, Xlen::Rv32),
    ];
    for (fid, widest, too_wide, xlen) in cases {
        assert_eq!(
            error(RFENCE, fid, [1, 0, 0, 0, widest, 0], xlen),
            None,
            "{fid} {widest:#x} {xlen:?}"
        );
        assert_eq!(
            error(RFENCE, fid, [1, 0, 0, 0, too_wide, 0], xlen),
            Some(SbiError::InvalidParam)
        );
    }
}

#[test]
fn hsm_hart_ids_beyond_the_last_are_invalid_param() {
    assert_eq!(error(HSM, 0, [3, 0, 0, 0, 0, 0], Xlen::Rv64), None);
    for hart in [4, 1 << 32, u64::MAX] {
        assert_eq!(
            error(HSM, 0, [hart, 0, 0, 0, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidParam)
        );
        assert_eq!(
            error(HSM, 2, [hart, 0, 0, 0, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidParam)
        );
    }
}

#[test]
fn hsm_suspend_types_follow_the_spec_table() {
    let valid = [
        (0, SuspendType::DefaultRetentive),
        (0x1000_0000, SuspendType::PlatformRetentive(0x1000_0000)),
        (0x7fff_ffff, SuspendType::PlatformRetentive(0x7fff_ffff)),
        (0x8000_0000, SuspendType::DefaultNonRetentive),
        (0x9000_0000, SuspendType::PlatformNonRetentive(0x9000_0000)),
        (0xffff_ffff, SuspendType::PlatformNonRetentive(0xffff_ffff)),
    ];
    for (value, kind) in valid {
        let (_, seen) = answer(HSM, 3, [value, 0x100, 0x200, 0, 0, 0], Xlen::Rv64);
        assert_eq!(seen, Some(Seen::HartSuspend(kind, 0x100, 0x200)));
    }
    assert!(
        SuspendType::DefaultRetentive.is_retentive()
            && !SuspendType::DefaultNonRetentive.is_retentive()
    );
    for reserved in [1, 0x0fff_ffff, 0x8000_0001, 0x8fff_ffff] {
        assert_eq!(
            error(HSM, 3, [reserved, 0, 0, 0, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidParam)
        );
    }
}

#[test]
fn srst_reset_types_and_reasons_follow_the_spec_table() {
    let valid = [
        (0, 0, ResetType::Shutdown, ResetReason::NoReason),
        (
            2,
            0xe000_0000,
            ResetType::WarmReboot,
            ResetReason::SbiImplementation(0xe000_0000),
        ),
        (
            0xf000_0000,
            0xffff_ffff,
            ResetType::Vendor(0xf000_0000),
            ResetReason::Vendor(0xffff_ffff),
        ),
    ];
    for (kind, reason, reset_type, reset_reason) in valid {
        let (_, seen) = answer(SRST, 0, [kind, reason, 0, 0, 0, 0], Xlen::Rv64);
        assert_eq!(seen, Some(Seen::SystemReset(reset_type, reset_reason)));
    }
    for (kind, reason) in [(3, 0), (0xefff_ffff, 0), (0, 2), (0, 0xdfff_ffff)] {
        assert_eq!(
            error(SRST, 0, [kind, reason, 0, 0, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidParam)
        );
    }
}

#[test]
fn susp_sleep_types_follow_the_spec_table() {
    let (_, seen) = answer(SUSP, 0, [0x8000_0000, 1, 2, 0, 0, 0], Xlen::Rv64);
    assert_eq!(
        seen,
        Some(Seen::SystemSuspend(SleepType::Platform(0x8000_0000), 1, 2))
    );
    for reserved in [1, 0x7fff_ffff] {
        assert_eq!(
            error(SUSP, 0, [reserved, 0, 0, 0, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidParam)
        );
    }
}

#[test]
fn dbcn_buffer_is_the_joined_address_on_rv32() {
    let (_, seen) = answer(DBCN, 0, [8, 0x1000, 0x3, 0, 0, 0], Xlen::Rv32);
    assert_eq!(
        seen,
        Some(Seen::ConsoleWrite(PhysicalRange {
            base: 0x3_0000_1000,
            len: 8
        }))
    );
}

#[test]
fn dbcn_buffer_beyond_the_physical_address_space_is_invalid_param() {
    // RV64 reaches 56 bits of physical address, RV32 34 bits.
    assert_eq!(
        error(DBCN, 0, [1, 1 << 56, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam)
    );
    assert_eq!(
        error(DBCN, 1, [2, (1 << 56) - 1, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam)
    );
    assert_eq!(
        error(DBCN, 0, [1, (1 << 56) - 1, 0, 0, 0, 0], Xlen::Rv64),
        None
    );
    assert_eq!(
        error(DBCN, 0, [1, 0, 1, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam),
        "hi on RV64"
    );
    assert_eq!(
        error(DBCN, 0, [1, 0, 4, 0, 0, 0], Xlen::Rv32),
        Some(SbiError::InvalidParam)
    );
    assert_eq!(
        error(DBCN, 0, [u64::MAX, u64::MAX, u64::MAX, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam)
    );
    assert_eq!(
        error(DBCN, 0, [0, 0x8000_0000, 0, 0, 0, 0], Xlen::Rv64),
        None,
        "an empty write is valid"
    );
}

#[test]
fn nacl_set_shmem_checks_flags_alignment_and_range_and_disables_on_all_ones() {
    let all = u64::MAX;
    assert_eq!(
        answer(NACL, 1, [all, all, 0, 0, 0, 0], Xlen::Rv64).1,
        Some(Seen::NaclSetShmem(None))
    );
    assert_eq!(
        answer(NACL, 1, [0xffff_ffff, 0xffff_ffff, 0, 0, 0, 0], Xlen::Rv32).1,
        Some(Seen::NaclSetShmem(None))
    );
    assert_eq!(
        error(NACL, 1, [0x8000_0000, 0, 1, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam),
        "flags"
    );
    assert_eq!(
        error(NACL, 1, [all, all, 1, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam),
        "flags"
    );
    assert_eq!(
        error(NACL, 1, [0x8000_0800, 0, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam),
        "align"
    );
    assert_eq!(
        error(NACL, 1, [all, 0, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam),
        "lo alone"
    );
    assert_eq!(
        error(NACL, 1, [0, all, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidAddress),
        "hi alone"
    );
    // 12 KiB on RV64 must end within 2^56; 8 KiB on RV32 within 2^34.
    assert_eq!(
        error(NACL, 1, [(1 << 56) - 0x3000, 0, 0, 0, 0, 0], Xlen::Rv64),
        None
    );
    assert_eq!(
        error(NACL, 1, [(1 << 56) - 0x2000, 0, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidAddress)
    );
    assert_eq!(
        answer(NACL, 1, [0xffff_e000, 3, 0, 0, 0, 0], Xlen::Rv32).1,
        Some(Seen::NaclSetShmem(Some(0x3_ffff_e000)))
    );
    assert_eq!(
        error(NACL, 1, [0xffff_f000, 3, 0, 0, 0, 0], Xlen::Rv32),
        Some(SbiError::InvalidAddress)
    );
}

#[test]
fn nacl_sync_csr_accepts_only_h_and_vs_csr_numbers() {
    for csr in [0x200, 0x600, 0x643, 0x680, 0xa00, 0xe12, 0xeff] {
        assert_eq!(
            answer(NACL, 2, [csr, 0, 0, 0, 0, 0], Xlen::Rv64).1,
            Some(Seen::NaclSyncCsr(Some(csr as u16)))
        );
    }
    for csr in [0x100, 0x180, 0x300, 0x7ff, 0x1200, 0x1000, 0xffff_ffff] {
        assert_eq!(
            error(NACL, 2, [csr, 0, 0, 0, 0, 0], Xlen::Rv64),
            Some(SbiError::InvalidParam),
            "{csr:#x}"
        );
    }
    assert_eq!(
        answer(NACL, 2, [0xffff_ffff, 0, 0, 0, 0, 0], Xlen::Rv32).1,
        Some(Seen::NaclSyncCsr(None))
    );
}

#[test]
fn nacl_sync_hfence_entry_index_is_below_3840_over_xlen() {
    assert_eq!(
        answer(NACL, 3, [59, 0, 0, 0, 0, 0], Xlen::Rv64).1,
        Some(Seen::NaclSyncHfence(Some(59)))
    );
    assert_eq!(
        error(NACL, 3, [60, 0, 0, 0, 0, 0], Xlen::Rv64),
        Some(SbiError::InvalidParam)
    );
    assert_eq!(
        answer(NACL, 3, [119, 0, 0, 0, 0, 0], Xlen::Rv32).1,
        Some(Seen::NaclSyncHfence(Some(119)))
    );
    assert_eq!(
        error(NACL, 3, [120, 0, 0, 0, 0, 0], Xlen::Rv32),
        Some(SbiError::InvalidParam)
    );
}

#[test]
fn nacl_sync_of_a_feature_not_offered_is_not_supported_before_any_argument_check() {
    let mut sbi = full_dispatcher(platform(1));
    let mut log = sbi_dispatch::testing::Log {
        nacl_features: 0,
        ..Default::default()
    };
    for (fid, arg) in [(2, 0x100), (2, u64::MAX), (3, 1000), (4, 0)] {
        let outcome = sbi.dispatch(
            &mut log,
            &SbiCall::new(NACL, fid, [arg, 0, 0, 0, 0, 0], Xlen::Rv64),
        );
        assert_eq!(
            outcome,
            Outcome::Return(Err(SbiError::NotSupported)),
            "FID {fid}"
        );
    }
    assert_eq!(log.seen, None);
}

#[test]
fn nacl_probe_of_a_reserved_or_oversized_feature_answers_zero_with_success() {
    for feature in [4, 5, 1 << 32, u64::MAX] {
        assert_eq!(
            answer(NACL, 0, [feature, 0, 0, 0, 0, 0], Xlen::Rv64).0,
            Outcome::Return(Ok(0))
        );
    }
}

#[test]
fn physical_range_knows_each_xlens_address_width() {
    assert_eq!(PhysicalRange::address_bits(Xlen::Rv32), 34);
    assert_eq!(PhysicalRange::address_bits(Xlen::Rv64), 56);
    assert_eq!(
        PhysicalRange::from_registers(0x10, 0x8000_0000, 0, Xlen::Rv64),
        Some(PhysicalRange {
            base: 0x8000_0000,
            len: 0x10
        })
    );
}

#[test]
fn hart_mask_of_the_dispatcher_uses_the_platform_hart_count() {
    let (_, seen) = answer(IPI, 0, [0, u64::MAX, 0, 0, 0, 0], Xlen::Rv64);
    assert_eq!(seen, Some(Seen::SendIpi(HartMask::all(4))));
}
