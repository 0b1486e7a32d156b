//! The calling convention: register widths, 64-bit values on RV32, and what is written back.

use sbi_dispatch::testing::{Seen, full_dispatcher, platform, run};
use sbi_dispatch::{Outcome, SbiCall, SbiError, Xlen};

#[test]
fn registers_are_cut_to_the_callers_xlen() {
    let call = SbiCall::from_registers(
        &[u64::MAX, 2, 3, 4, 5, 6, 1 << 33, (7 << 32) | 0x10],
        Xlen::Rv32,
    );
    assert_eq!(call.extension, 0x10);
    assert_eq!(call.function, 0);
    assert_eq!(call.args, [0xffff_ffff, 2, 3, 4, 5, 6]);
}

#[test]
fn rv32_set_timer_joins_a0_low_and_a1_high() {
    let mut sbi = full_dispatcher(platform(1));
    let call = SbiCall::new(
        0x5449_4d45,
        0,
        [0x89ab_cdef, 0x0123_4567, 0, 0, 0, 0],
        Xlen::Rv32,
    );
    assert_eq!(
        run(&mut sbi, &call).1,
        Some(Seen::SetTimer(0x0123_4567_89ab_cdef))
    );
    let legacy = SbiCall::new(0, 0, [0x89ab_cdef, 0x0123_4567, 0, 0, 0, 0], Xlen::Rv32);
    assert_eq!(
        run(&mut sbi, &legacy).1,
        Some(Seen::LegacySetTimer(0x0123_4567_89ab_cdef))
    );
}

#[test]
fn rv64_set_timer_takes_a0_alone() {
    let mut sbi = full_dispatcher(platform(1));
    let call = SbiCall::new(0x5449_4d45, 0, [u64::MAX - 1, 0x77, 0, 0, 0, 0], Xlen::Rv64);
    assert_eq!(run(&mut sbi, &call).1, Some(Seen::SetTimer(u64::MAX - 1)));
}

#[test]
fn success_writes_zero_and_the_value_into_a0_and_a1() {
    let call = SbiCall::new(0x10, 0, [0; 6], Xlen::Rv64);
    let mut a = [9; 8];
    call.write_return(Ok(0x1234), &mut a);
    assert_eq!(
        a,
        [0, 0x1234, 9, 9, 9, 9, 9, 9],
        "every other register is preserved"
    );
}

#[test]
fn an_error_is_the_negative_code_as_the_callers_register_holds_it() {
    let mut a = [9; 8];
    SbiCall::new(0x10, 0, [0; 6], Xlen::Rv64).write_return(Err(SbiError::NotSupported), &mut a);
    assert_eq!((a[0] as i64, a[1]), (-2, 0));
    SbiCall::new(0x10, 0, [0; 6], Xlen::Rv32).write_return(Err(SbiError::DeniedLocked), &mut a);
    assert_eq!((a[0], a[1]), (0xffff_fff2, 0), "-14 in 32 bits");
}

#[test]
fn rv32_value_is_cut_to_32_bits() {
    let call = SbiCall::new(0x10, 0, [0; 6], Xlen::Rv32);
    assert_eq!(call.return_registers(Ok(0x1_0000_0005)), (0, Some(5)));
}

#[test]
fn legacy_call_returns_a0_only() {
    let getchar = SbiCall::new(0x02, 0, [0; 6], Xlen::Rv64);
    let mut a = [7; 8];
    getchar.write_return(Ok(b'x' as u64), &mut a);
    assert_eq!((a[0], a[1]), (b'x' as u64, 7), "a1 preserved");
    getchar.write_return(Err(SbiError::Failed), &mut a);
    assert_eq!((a[0] as i64, a[1]), (-1, 7));
}

#[test]
fn error_codes_convert_both_ways_and_reject_undefined_ones() {
    for error in SbiError::ALL {
        assert_eq!(SbiError::try_from(error.code()), Ok(error));
        assert_eq!(i64::from(error), error.code());
        let spec: sbi_dispatch::spec::binary::Error<u64> = error.into();
        let ret = sbi_dispatch::spec::binary::SbiRet::<u64>::from(spec);
        assert_eq!(
            ret.error as i64,
            error.code(),
            "sbi-spec agrees on {error:?}"
        );
    }
    for code in [0, 1, -15, i64::MIN, i64::MAX] {
        assert_eq!(SbiError::try_from(code), Err(code));
    }
}

#[test]
fn legacy_calls_ignore_a6() {
    let mut sbi = full_dispatcher(platform(1));
    for fid in [0, 1, u64::MAX] {
        let call = SbiCall::new(0x01, fid, [b'k' as u64, 0, 0, 0, 0, 0], Xlen::Rv64);
        assert_eq!(
            run(&mut sbi, &call),
            (Outcome::Return(Ok(0)), Some(Seen::LegacyPutchar(b'k')))
        );
    }
}
