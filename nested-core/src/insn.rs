//! Decoding the instructions that trap to the host because L1 runs in VS-mode.
//!
//! Priv spec, "Instruction listings" (SYSTEM opcode) and hypervisor chapter, "Hypervisor
//! Instructions". Anything else decodes to `None`: an illegal instruction for L1.

use crate::config::Xlen;

/// A general-purpose register number, 0 to 31.
pub type Reg = u8;

/// The three CSR operations (priv spec, "Zicsr").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrOp {
    /// CSRRW / CSRRWI: write the source; read unless rd is x0.
    ReadWrite,
    /// CSRRS / CSRRSI: set the source's bits; write unless the source is x0 / 0.
    ReadSet,
    /// CSRRC / CSRRCI: clear the source's bits; write unless the source is x0 / 0.
    ReadClear,
}

/// The second operand of a CSR instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrSource {
    /// A register (CSRRW, CSRRS, CSRRC).
    Register(Reg),
    /// A 5-bit zero-extended immediate (CSRRWI, CSRRSI, CSRRCI).
    Immediate(u8),
}

/// The width of an HLV/HSV access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// 8 bits.
    Byte,
    /// 16 bits.
    Half,
    /// 32 bits.
    Word,
    /// 64 bits (RV64 only).
    Double,
}

impl Width {
    /// The size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Width::Byte => 1,
            Width::Half => 2,
            Width::Word => 4,
            Width::Double => 8,
        }
    }
}

/// A decoded trapping instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// A Zicsr instruction.
    Csr {
        /// The operation.
        op: CsrOp,
        /// The destination register.
        rd: Reg,
        /// The source operand.
        source: CsrSource,
        /// The CSR number.
        csr: u16,
    },
    /// SRET.
    Sret,
    /// WFI.
    Wfi,
    /// SFENCE.VMA rs1 (address), rs2 (ASID).
    SfenceVma {
        /// The address register (x0: every address).
        rs1: Reg,
        /// The ASID register (x0: every ASID).
        rs2: Reg,
    },
    /// HFENCE.VVMA rs1 (guest virtual address), rs2 (ASID); HINVAL.VVMA when `invalidate`.
    HfenceVvma {
        /// The address register (x0: every address).
        rs1: Reg,
        /// The ASID register (x0: every ASID).
        rs2: Reg,
        /// HINVAL.VVMA (Svinval), which behaves the same here.
        invalidate: bool,
    },
    /// HFENCE.GVMA rs1 (guest physical address >> 2), rs2 (VMID); HINVAL.GVMA when
    /// `invalidate`.
    HfenceGvma {
        /// The address register (x0: every address); it holds the GPA shifted right by 2.
        rs1: Reg,
        /// The VMID register (x0: every VMID).
        rs2: Reg,
        /// HINVAL.GVMA (Svinval), which behaves the same here.
        invalidate: bool,
    },
    /// HLV.* and HLVX.*: load from guest virtual address rs1 into rd.
    Hlv {
        /// The access width.
        width: Width,
        /// Zero-extend (the U forms) rather than sign-extend.
        unsigned: bool,
        /// HLVX: execute permission replaces read permission.
        execute: bool,
        /// Destination register.
        rd: Reg,
        /// Address register.
        rs1: Reg,
    },
    /// HSV.*: store rs2 to guest virtual address rs1.
    Hsv {
        /// The access width.
        width: Width,
        /// Address register.
        rs1: Reg,
        /// Source register.
        rs2: Reg,
    },
}

const SYSTEM: u32 = 0b111_0011;
const SRET: u32 = 0x1020_0073;
const WFI: u32 = 0x1050_0073;

const fn field(bits: u32, shift: u32, width: u32) -> u32 {
    (bits >> shift) & ((1 << width) - 1)
}

impl Instruction {
    /// Decodes `bits` as L1 (of width `xlen`) executed them; `None` for anything that is not
    /// one of the instructions the engine emulates, or is reserved, or needs RV64 on RV32.
    pub const fn decode(bits: u32, xlen: Xlen) -> Option<Self> {
        if bits & 0x7f != SYSTEM {
            return None;
        }
        let rd = field(bits, 7, 5) as Reg;
        let funct3 = field(bits, 12, 3);
        let rs1 = field(bits, 15, 5) as Reg;
        let rs2 = field(bits, 20, 5) as Reg;
        let funct7 = field(bits, 25, 7);
        match funct3 {
            0b000 => Self::decode_privileged(bits, rd, rs1, rs2, funct7),
            0b100 => Self::decode_hlsv(rd, rs1, rs2, funct7, xlen),
            0b001 | 0b010 | 0b011 | 0b101 | 0b110 | 0b111 => {
                let op = match funct3 & 0b11 {
                    0b01 => CsrOp::ReadWrite,
                    0b10 => CsrOp::ReadSet,
                    _ => CsrOp::ReadClear,
                };
                let source = if funct3 & 0b100 == 0 {
                    CsrSource::Register(rs1)
                } else {
                    CsrSource::Immediate(rs1)
                };
                Some(Instruction::Csr {
                    op,
                    rd,
                    source,
                    csr: field(bits, 20, 12) as u16,
                })
            }
            _ => None,
        }
    }

    const fn decode_privileged(
        bits: u32,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
        funct7: u32,
    ) -> Option<Self> {
        match bits {
            SRET => return Some(Instruction::Sret),
            WFI => return Some(Instruction::Wfi),
            _ => {}
        }
        if rd != 0 {
            return None;
        }
        match funct7 {
            0b000_1001 => Some(Instruction::SfenceVma { rs1, rs2 }),
            0b001_0001 => Some(Instruction::HfenceVvma {
                rs1,
                rs2,
                invalidate: false,
            }),
            0b001_0011 => Some(Instruction::HfenceVvma {
                rs1,
                rs2,
                invalidate: true,
            }),
            0b011_0001 => Some(Instruction::HfenceGvma {
                rs1,
                rs2,
                invalidate: false,
            }),
            0b011_0011 => Some(Instruction::HfenceGvma {
                rs1,
                rs2,
                invalidate: true,
            }),
            _ => None,
        }
    }

    /// HLV/HLVX/HSV: funct7 bits 2:1 give the width, bit 0 store; rs2 the load variant.
    const fn decode_hlsv(rd: Reg, rs1: Reg, rs2: Reg, funct7: u32, xlen: Xlen) -> Option<Self> {
        if funct7 >> 3 != 0b0110 {
            return None;
        }
        let width = match (funct7 >> 1) & 0b11 {
            0 => Width::Byte,
            1 => Width::Half,
            2 => Width::Word,
            _ => Width::Double,
        };
        let rv64 = matches!(xlen, Xlen::Rv64);
        if funct7 & 1 == 1 {
            if rd != 0 || (matches!(width, Width::Double) && !rv64) {
                return None;
            }
            return Some(Instruction::Hsv { width, rs1, rs2 });
        }
        let (unsigned, execute) = match (rs2, width) {
            (0, Width::Word) | (0, Width::Half) | (0, Width::Byte) => (false, false),
            (0, Width::Double) if rv64 => (false, false),
            (1, Width::Byte) | (1, Width::Half) => (true, false),
            (1, Width::Word) if rv64 => (true, false),
            (3, Width::Half) | (3, Width::Word) => (true, true),
            _ => return None,
        };
        Some(Instruction::Hlv {
            width,
            unsigned,
            execute,
            rd,
            rs1,
        })
    }

    /// Whether the instruction reads or writes guest memory (HLV, HLVX, HSV).
    pub const fn is_hypervisor_access(&self) -> bool {
        matches!(self, Instruction::Hlv { .. } | Instruction::Hsv { .. })
    }
}
