//! Any sequence of instruction words, from L1's HS- or U-mode, with any register values, on
//! an RV32 or RV64 L1, with or without the AIA: no panic; the pc goes only where the spec
//! sends it; U-mode changes no virtual CSR (nor AIA state); every CSR reads back a legal value;
//! each word decoded as a device access (htinst's or fetched) names a register and a length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nested_core::aia_virt::AiaConfig;
use nested_core::host::PhysicalHart;
use nested_core::host::real;
use nested_core::insn::MemoryAccess;
use nested_core::testing::{SoftHost, emulate_and_check, shadow_config};
use nested_core::{GuestRegs, NestedConfig, NestedHart};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    rv32: bool,
    geilen: u8,
    aia: bool,
    registers: [u64; 32],
    program: Vec<(u32, bool, u64)>,
}

fuzz_target!(|input: Input| {
    let base = if input.rv32 {
        NestedConfig::rv32()
    } else {
        NestedConfig::rv64()
    };
    let geilen = u32::from(input.geilen % 8);
    let config = NestedConfig {
        geilen,
        smstateen: geilen > 1,
        aia: input.aia.then(|| AiaConfig::new(255)),
        ..base
    };
    let shadow = shadow_config(1);
    let mut hart: NestedHart<2, 4> = NestedHart::new(config, shadow, 0);
    let mut host = Box::new(SoftHost::new());
    host.cpu.write_csr(real::VSTVEC, 0x8040_0000);
    host.cpu.write_csr(real::VSEPC, 0x8050_0000);
    let mut regs = GuestRegs {
        x: input.registers,
        pc: 0x8000_0000,
    };
    for &(bits, user, x1) in input.program.iter().take(64) {
        // Any htinst or fetched word decodes to a load or store of x0..x31, 2 or 4 bytes
        // long, or to nothing.
        for access in [
            MemoryAccess::from_transformed(bits),
            MemoryAccess::from_fetched(bits),
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                access.reg < 32 && matches!(access.len, 2 | 4),
                "{bits:#x}: {access:?}"
            );
            let _ = access.extend(x1);
        }
        if let Err(broken) = emulate_and_check(&mut hart, &mut regs, &mut host, bits, user, x1) {
            panic!("{broken}: instruction {bits:#010x} (user: {user})");
        }
    }
});
