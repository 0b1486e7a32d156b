//! Decoding the instructions that trap to the host because L1 runs in VS-mode, and the loads
//! and stores of a guest-page fault at an address the host emulates ([`MemoryAccess`]).
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

/// A load or store of a general-purpose register that trapped at an address the host
/// emulates (a device register): what the host needs to perform it and resume after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccess {
    /// Load into `reg` (true) or store from it.
    pub load: bool,
    /// The access width.
    pub width: Width,
    /// A load zero-extends (LBU, LHU, LWU) rather than sign-extends.
    pub unsigned: bool,
    /// The destination (load) or source (store) register.
    pub reg: Reg,
    /// The instruction's length in bytes: 2 (compressed) or 4.
    pub len: u8,
}

const LOAD: u32 = 0b000_0011;
const STORE: u32 = 0b010_0011;

impl MemoryAccess {
    /// Decodes htinst's transformed instruction of a load or store guest-page fault (not
    /// zero): the standard form, with bit 1 clear when the instruction was compressed. `None`
    /// for anything but the integer loads and stores of RV64 (an AMO, a floating-point access,
    /// the pseudoinstruction of an implicit access).
    // Priv spec, hypervisor chapter, "Transformed Instruction or Pseudoinstruction for mtinst
    // or htinst"; unprivileged spec, "RV32I/RV64I Base Integer Instruction Set" (loads and
    // stores).
    pub const fn from_transformed(htinst: u32) -> Option<Self> {
        match htinst & 0b11 {
            0b11 => Self::decode_standard(htinst, 4),
            0b01 => Self::decode_standard(htinst | 0b10, 2),
            _ => None,
        }
    }

    /// Decodes the instruction fetched at the pc of a load or store guest-page fault (when
    /// htinst is zero): a standard one, or a compressed one in the low 16 bits. `None` for
    /// anything but the integer loads and stores of RV64.
    // Unprivileged spec, "C Standard Extension" and "Zcb" (the compressed loads and stores).
    pub const fn from_fetched(bits: u32) -> Option<Self> {
        if bits & 0b11 == 0b11 {
            Self::decode_standard(bits, 4)
        } else {
            Self::decode_compressed(bits & 0xffff)
        }
    }

    const fn decode_standard(bits: u32, len: u8) -> Option<Self> {
        let funct3 = field(bits, 12, 3);
        let (load, reg) = match bits & 0x7f {
            LOAD => (true, field(bits, 7, 5) as Reg),
            STORE => (false, field(bits, 20, 5) as Reg),
            _ => return None,
        };
        let width = match funct3 & 0b11 {
            0 => Width::Byte,
            1 => Width::Half,
            2 => Width::Word,
            _ => Width::Double,
        };
        let unsigned = funct3 & 0b100 != 0;
        // Unsigned forms exist for loads only, and there is no LDU.
        if unsigned && (!load || matches!(width, Width::Double)) {
            return None;
        }
        Some(MemoryAccess {
            load,
            width,
            unsigned,
            reg,
            len,
        })
    }

    /// A compressed access (2 bytes long).
    const fn compressed(load: bool, width: Width, unsigned: bool, reg: Reg) -> Option<Self> {
        Some(MemoryAccess {
            load,
            width,
            unsigned,
            reg,
            len: 2,
        })
    }

    const fn decode_compressed(bits: u32) -> Option<Self> {
        // rd' / rs2' of the CL, CS and CLB/CSB formats: x8 to x15.
        let low = 8 + field(bits, 2, 3) as Reg;
        let full_rd = field(bits, 7, 5) as Reg;
        let full_rs2 = field(bits, 2, 5) as Reg;
        match (bits & 0b11, field(bits, 13, 3)) {
            (0b00, 0b010) => Self::compressed(true, Width::Word, false, low),
            (0b00, 0b011) => Self::compressed(true, Width::Double, false, low),
            (0b00, 0b110) => Self::compressed(false, Width::Word, false, low),
            (0b00, 0b111) => Self::compressed(false, Width::Double, false, low),
            // Zcb: C.LBU, C.LHU, C.LH, C.SB, C.SH (funct6 100xxx with bits 12:10 = 0..3).
            (0b00, 0b100) => match (field(bits, 10, 3), field(bits, 6, 1)) {
                (0b000, _) => Self::compressed(true, Width::Byte, true, low),
                (0b001, 0) => Self::compressed(true, Width::Half, true, low),
                (0b001, _) => Self::compressed(true, Width::Half, false, low),
                (0b010, _) => Self::compressed(false, Width::Byte, false, low),
                (0b011, 0) => Self::compressed(false, Width::Half, false, low),
                _ => None,
            },
            // C.LWSP and C.LDSP (rd 0 reserved), C.SWSP and C.SDSP.
            (0b10, 0b010) if full_rd != 0 => Self::compressed(true, Width::Word, false, full_rd),
            (0b10, 0b011) if full_rd != 0 => Self::compressed(true, Width::Double, false, full_rd),
            (0b10, 0b110) => Self::compressed(false, Width::Word, false, full_rs2),
            (0b10, 0b111) => Self::compressed(false, Width::Double, false, full_rs2),
            _ => None,
        }
    }

    /// The value a load of `raw` (the device's bytes, low-aligned) leaves in the register:
    /// `width` bytes, sign- or zero-extended to 64 bits.
    pub const fn extend(&self, raw: u64) -> u64 {
        let unused = 64 - 8 * self.width.bytes() as u32;
        if self.unsigned {
            (raw << unused) >> unused
        } else {
            (((raw << unused) as i64) >> unused) as u64
        }
    }
}
