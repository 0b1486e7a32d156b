//! Decoding of every instruction form the engine emulates, from the encodings the priv spec
//! lists (MATCH values of `../shared/spec/h-extension-aia.md` §4.8 and the SYSTEM opcode).

use nested_core::config::Xlen;
use nested_core::insn::{CsrOp, CsrSource, Instruction, Width};

fn decode64(bits: u32) -> Option<Instruction> {
    Instruction::decode(bits, Xlen::Rv64)
}

/// `MATCH | rd << 7 | rs1 << 15` for loads, `| rs2 << 20` for stores.
fn with_regs(matched: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    matched | rd << 7 | rs1 << 15 | rs2 << 20
}

#[test]
fn every_hlv_and_hlvx_form_decodes_from_its_match_value() {
    let loads = [
        (0x6000_4073, Width::Byte, false, false),
        (0x6010_4073, Width::Byte, true, false),
        (0x6400_4073, Width::Half, false, false),
        (0x6410_4073, Width::Half, true, false),
        (0x6430_4073, Width::Half, true, true),
        (0x6800_4073, Width::Word, false, false),
        (0x6810_4073, Width::Word, true, false),
        (0x6830_4073, Width::Word, true, true),
        (0x6c00_4073, Width::Double, false, false),
    ];
    for (matched, width, unsigned, execute) in loads {
        let bits = with_regs(matched, 5, 10, 0);
        assert_eq!(
            decode64(bits),
            Some(Instruction::Hlv {
                width,
                unsigned,
                execute,
                rd: 5,
                rs1: 10
            }),
            "{matched:#x}"
        );
    }
}

#[test]
fn every_hsv_form_decodes_from_its_match_value() {
    for (matched, width) in [
        (0x6200_4073, Width::Byte),
        (0x6600_4073, Width::Half),
        (0x6a00_4073, Width::Word),
        (0x6e00_4073, Width::Double),
    ] {
        let bits = with_regs(matched, 0, 11, 12);
        assert_eq!(
            decode64(bits),
            Some(Instruction::Hsv {
                width,
                rs1: 11,
                rs2: 12
            }),
            "{matched:#x}"
        );
    }
}

#[test]
fn rv64_only_forms_are_illegal_on_rv32() {
    for matched in [0x6810_4073, 0x6c00_4073, 0x6e00_4073] {
        assert_eq!(
            Instruction::decode(matched, Xlen::Rv32),
            None,
            "{matched:#x}"
        );
    }
    assert!(
        Instruction::decode(0x6830_4073, Xlen::Rv32).is_some(),
        "HLVX.WU exists on RV32"
    );
}

#[test]
fn hlv_with_a_reserved_rs2_variant_and_hsv_with_rd_are_illegal() {
    for rs2 in [2, 4, 31] {
        assert_eq!(
            decode64(with_regs(0x6000_4073, 1, 1, rs2)),
            None,
            "rs2 {rs2}"
        );
    }
    assert_eq!(decode64(0x6030_4073), None, "HLVX.BU does not exist");
    assert_eq!(
        decode64(with_regs(0x6200_4073, 1, 1, 1)),
        None,
        "HSV with rd != 0"
    );
    assert_eq!(decode64(0x7000_4073), None, "funct7 outside 0110xxx");
}

#[test]
fn hfence_and_hinval_decode_with_their_registers() {
    // HFENCE.VVMA 0010001, HFENCE.GVMA 0110001, HINVAL.VVMA 0010011, HINVAL.GVMA 0110011.
    let fences = [
        (
            0b001_0001,
            Instruction::HfenceVvma {
                rs1: 3,
                rs2: 4,
                invalidate: false,
            },
        ),
        (
            0b011_0001,
            Instruction::HfenceGvma {
                rs1: 3,
                rs2: 4,
                invalidate: false,
            },
        ),
        (
            0b001_0011,
            Instruction::HfenceVvma {
                rs1: 3,
                rs2: 4,
                invalidate: true,
            },
        ),
        (
            0b011_0011,
            Instruction::HfenceGvma {
                rs1: 3,
                rs2: 4,
                invalidate: true,
            },
        ),
        (0b000_1001, Instruction::SfenceVma { rs1: 3, rs2: 4 }),
    ];
    for (funct7, expected) in fences {
        let bits = funct7 << 25 | 4 << 20 | 3 << 15 | 0x73;
        assert_eq!(decode64(bits), Some(expected), "{funct7:#09b}");
        assert_eq!(decode64(bits | 1 << 7), None, "rd must be x0");
    }
}

#[test]
fn hsv_b_and_hfence_gvma_share_funct7_and_differ_in_funct3() {
    assert!(matches!(
        decode64(0x6200_4073),
        Some(Instruction::Hsv { .. })
    ));
    assert!(matches!(
        decode64(0x6200_0073),
        Some(Instruction::HfenceGvma { .. })
    ));
}

#[test]
fn sret_and_wfi_decode_only_from_their_exact_encodings() {
    assert_eq!(decode64(0x1020_0073), Some(Instruction::Sret));
    assert_eq!(decode64(0x1050_0073), Some(Instruction::Wfi));
    assert_eq!(decode64(0x1020_0073 | 1 << 15), None);
    assert_eq!(decode64(0x3020_0073), None, "MRET is not emulated");
    assert_eq!(decode64(0x0000_0073), None, "ECALL");
}

#[test]
fn all_six_csr_forms_decode_with_their_operands() {
    let forms = [
        (0b001, CsrOp::ReadWrite, false),
        (0b010, CsrOp::ReadSet, false),
        (0b011, CsrOp::ReadClear, false),
        (0b101, CsrOp::ReadWrite, true),
        (0b110, CsrOp::ReadSet, true),
        (0b111, CsrOp::ReadClear, true),
    ];
    for (funct3, op, immediate) in forms {
        let bits = 0x680 << 20 | 17 << 15 | funct3 << 12 | 9 << 7 | 0x73;
        let source = if immediate {
            CsrSource::Immediate(17)
        } else {
            CsrSource::Register(17)
        };
        assert_eq!(
            decode64(bits),
            Some(Instruction::Csr {
                op,
                rd: 9,
                source,
                csr: 0x680
            }),
            "funct3 {funct3:#b}"
        );
    }
}

#[test]
fn other_opcodes_and_compressed_encodings_are_not_decoded() {
    for bits in [0x0000_0013, 0x1020_0072, 0x0000_4501, 0xffff_ffff] {
        assert_eq!(decode64(bits), None, "{bits:#x}");
    }
}
