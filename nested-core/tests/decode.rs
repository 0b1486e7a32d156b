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

mod memory_access {
    use nested_core::insn::{MemoryAccess, Width};

    fn access(load: bool, width: Width, unsigned: bool, reg: u8, len: u8) -> Option<MemoryAccess> {
        Some(MemoryAccess {
            load,
            width,
            unsigned,
            reg,
            len,
        })
    }

    #[test]
    fn every_integer_load_and_store_decodes_from_the_fetched_instruction() {
        // lb a0, 0(a1) .. lwu a0, 0(a1); sb a2, 0(a1) .. sd a2, 0(a1); offsets do not matter.
        let loads = [
            (0x0005_8503, Width::Byte, false),
            (0x0005_9503, Width::Half, false),
            (0x0005_a503, Width::Word, false),
            (0x0005_b503, Width::Double, false),
            (0x0005_c503, Width::Byte, true),
            (0x0005_d503, Width::Half, true),
            (0x0005_e503, Width::Word, true),
        ];
        for (bits, width, unsigned) in loads {
            assert_eq!(
                MemoryAccess::from_fetched(bits | 0x7ff << 20),
                access(true, width, unsigned, 10, 4),
                "{bits:#x}"
            );
        }
        let stores = [
            (0x00c5_8023, Width::Byte),
            (0x00c5_9023, Width::Half),
            (0x00c5_a023, Width::Word),
            (0x00c5_b023, Width::Double),
        ];
        for (bits, width) in stores {
            assert_eq!(
                MemoryAccess::from_fetched(bits | 0x7f << 25 | 0x1f << 7),
                access(false, width, false, 12, 4),
                "{bits:#x}"
            );
        }
    }

    #[test]
    fn ldu_unsigned_stores_amos_and_float_accesses_are_not_decoded() {
        for bits in [
            0x0005_f503, // "ldu"
            0x00c5_c023, // funct3 4 store
            0x00c5_a02f, // amoadd.w
            0x0005_a507, // flw
            0x00c5_a027, // fsw
            0x0000_0013, // addi
        ] {
            assert_eq!(MemoryAccess::from_fetched(bits), None, "{bits:#x}");
            assert_eq!(MemoryAccess::from_transformed(bits), None, "{bits:#x}");
        }
    }

    #[test]
    fn a_transformed_instruction_with_bit_1_clear_was_compressed() {
        // htinst for c.lw a0, 0(a1): lw a0, 0(a1) with bit 1 cleared; for sd: bit 1 kept.
        assert_eq!(
            MemoryAccess::from_transformed(0x0005_a501),
            access(true, Width::Word, false, 10, 2)
        );
        assert_eq!(
            MemoryAccess::from_transformed(0x00c5_b023),
            access(false, Width::Double, false, 12, 4)
        );
        // The pseudoinstructions of implicit VS-stage table accesses (bits 1:0 = 00).
        for pseudo in [0x0000_2000, 0x0000_3000, 0x0000_2020, 0x0000_3020] {
            assert_eq!(MemoryAccess::from_transformed(pseudo), None);
        }
    }

    #[test]
    fn compressed_loads_and_stores_decode_with_their_registers_and_length_2() {
        let cases = [
            (0x4188, access(true, Width::Word, false, 10, 2)), // c.lw a0, 0(a1)
            (0x6188, access(true, Width::Double, false, 10, 2)), // c.ld a0, 0(a1)
            (0xc190, access(false, Width::Word, false, 12, 2)), // c.sw a2, 0(a1)
            (0xe190, access(false, Width::Double, false, 12, 2)), // c.sd a2, 0(a1)
            (0x8188, access(true, Width::Byte, true, 10, 2)),  // c.lbu a0, 0(a1)
            (0x8588, access(true, Width::Half, true, 10, 2)),  // c.lhu a0, 0(a1)
            (0x85c8, access(true, Width::Half, false, 10, 2)), // c.lh a0, 0(a1)
            (0x8990, access(false, Width::Byte, false, 12, 2)), // c.sb a2, 0(a1)
            (0x8d90, access(false, Width::Half, false, 12, 2)), // c.sh a2, 0(a1)
            (0x4502, access(true, Width::Word, false, 10, 2)), // c.lwsp a0, 0(sp)
            (0x6502, access(true, Width::Double, false, 10, 2)), // c.ldsp a0, 0(sp)
            (0xc032, access(false, Width::Word, false, 12, 2)), // c.swsp a2, 0(sp)
            (0xe032, access(false, Width::Double, false, 12, 2)), // c.sdsp a2, 0(sp)
        ];
        for (bits, expected) in cases {
            // The fetch reads 32 bits: the next instruction's half must not matter.
            assert_eq!(
                MemoryAccess::from_fetched(0xabcd_0000 | bits),
                expected,
                "{bits:#x}"
            );
        }
        // c.lwsp with rd = x0 is reserved; c.addi and c.j are not accesses.
        for bits in [0x4002, 0x0505, 0xa001] {
            assert_eq!(MemoryAccess::from_fetched(bits), None, "{bits:#x}");
        }
    }

    #[test]
    fn a_load_extends_the_device_bytes_by_its_signedness() {
        let lb = access(true, Width::Byte, false, 10, 4).unwrap();
        let lbu = access(true, Width::Byte, true, 10, 4).unwrap();
        let lw = access(true, Width::Word, false, 10, 4).unwrap();
        assert_eq!(lb.extend(0x80), 0xffff_ffff_ffff_ff80);
        assert_eq!(lbu.extend(0x1_80), 0x80);
        assert_eq!(lw.extend(0x8000_0000), 0xffff_ffff_8000_0000);
    }
}
