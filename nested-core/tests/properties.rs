//! Properties: any instruction word and any register values, from either of L1's modes, with
//! or without the AIA, give a defined outcome without panicking, move the pc only where the
//! spec allows, and leave every CSR reading back a legal value.

use gstage::ShadowConfig;
use nested_core::aia_virt::AiaConfig;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::{SoftHost, emulate_and_check, shadow_config};
use nested_core::{GuestRegs, NestedConfig, NestedHart};
use proptest::prelude::*;

fn shadow() -> ShadowConfig {
    shadow_config(1)
}

/// Instruction words biased towards the ones the engine emulates.
fn instruction() -> impl Strategy<Value = u32> {
    prop_oneof![
        // A CSR op on an H or VS CSR (numbers 0x2xx, 0x6xx, 0xExx) with any operands.
        (
            prop::sample::select(vec![0x200u32, 0x600, 0xe00, 0x000]),
            0u32..0x100,
            1u32..8,
            0u32..32,
            0u32..32
        )
            .prop_map(|(base, csr, f3, rs1, rd)| (base + csr) << 20
                | rs1 << 15
                | f3 << 12
                | rd << 7
                | 0x73),
        // Anything in the SYSTEM opcode.
        any::<u32>().prop_map(|bits| bits & !0x7f | 0x73),
        any::<u32>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_instruction_from_any_mode_has_a_defined_outcome_and_leaves_legal_csrs(
        program in prop::collection::vec((instruction(), any::<bool>(), any::<u64>()), 1..12),
        registers in prop::array::uniform32(any::<u64>()),
        rv32 in any::<bool>(),
        geilen in 0u32..4,
        aia in any::<bool>(),
    ) {
        let base = if rv32 { NestedConfig::rv32() } else { NestedConfig::rv64() };
        let aia = aia.then(|| AiaConfig::new(255));
        let config = NestedConfig { geilen, smstateen: geilen > 1, aia, ..base };
        let mut hart: NestedHart<2, 3> = NestedHart::new(config, shadow(), 0);
        let mut host = SoftHost::new();
        host.cpu.write_csr(real::VSTVEC, 0x8040_0000);
        host.cpu.write_csr(real::VSEPC, 0x8050_0000);
        let mut regs = GuestRegs { x: registers, pc: 0x8000_0000 };
        for (bits, user, value) in program {
            prop_assert_eq!(emulate_and_check(&mut hart, &mut regs, &mut host, bits, user, value), Ok(()), "{:#x}", bits);
        }
    }
}
