//! Any a0-a7, either XLEN, any hart count and NACL feature set, to a dispatcher with every
//! extension plugged in: no panic, and every extension sees only validated arguments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sbi_dispatch::testing::{Log, check_dispatch, full_dispatcher, platform};
use sbi_dispatch::{SbiCall, Xlen};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    registers: [u64; 8],
    rv32: bool,
    hart_count: u32,
    nacl_features: u8,
}

fuzz_target!(|input: Input| {
    let xlen = if input.rv32 { Xlen::Rv32 } else { Xlen::Rv64 };
    let mut sbi = full_dispatcher(platform(input.hart_count));
    let call = SbiCall::from_registers(&input.registers, xlen);
    let mut log = Log {
        nacl_features: input.nacl_features & 0xf,
        ..Log::default()
    };
    let outcome = sbi.dispatch(&mut log, &call);
    if let Err(broken) = check_dispatch(&sbi, &call, outcome, log.seen) {
        panic!("{broken}: {call:x?} -> {outcome:?}, seen {:?}", log.seen);
    }
});
