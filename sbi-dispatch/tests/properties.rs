//! Property: any a0-a7, from a caller of either XLEN, to a dispatcher with every extension
//! plugged in, gives a defined outcome, never a panic, and extensions only see valid
//! arguments.

use proptest::prelude::*;
use sbi_dispatch::testing::{Log, check_dispatch, full_dispatcher, platform};
use sbi_dispatch::{SbiCall, Xlen};

/// Extension IDs that reach code, and any other value.
fn extension() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(vec![
            0x10,
            0x5449_4d45,
            0x73_5049,
            0x5246_4e43,
            0x48_534d,
            0x5352_5354,
            0x4442_434e,
            0x4e41_434c,
            0x5355_5350,
            0x504d55,
            0x0a00_0000,
            0,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            0x0f,
        ]),
        any::<u64>(),
    ]
}

/// Small values, values near the edges the dispatcher checks, and anything.
fn argument() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..16,
        prop::sample::select(vec![
            u64::MAX,
            u64::MAX - 1,
            0xffff_ffff,
            1 << 56,
            (1 << 56) - 0x3000,
            0x8000_0000,
            0x643,
            0x1000,
            0xf000_0000,
            0x8000_0000_0000_0000,
        ]),
        any::<u64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn any_registers_give_a_defined_outcome_and_extensions_see_only_valid_arguments(
        eid in extension(),
        fid in prop_oneof![0u64..10, any::<u64>()],
        args in prop::array::uniform6(argument()),
        rv32 in any::<bool>(),
        hart_count in prop_oneof![1u32..8, any::<u32>()],
        nacl_features in 0u8..16,
    ) {
        let xlen = if rv32 { Xlen::Rv32 } else { Xlen::Rv64 };
        let mut sbi = full_dispatcher(platform(hart_count));
        let call = SbiCall::new(eid, fid, args, xlen);
        let mut log = Log { nacl_features, ..Log::default() };
        let outcome = sbi.dispatch(&mut log, &call);
        prop_assert_eq!(check_dispatch(&sbi, &call, outcome, log.seen), Ok(()));
        // The return registers are well formed for the caller's width.
        if let sbi_dispatch::Outcome::Return(result) = outcome {
            let (a0, a1) = call.return_registers(result);
            prop_assert_eq!(a0, xlen.truncate(a0));
            prop_assert_eq!(a1.is_none(), call.is_legacy());
        }
    }
}
