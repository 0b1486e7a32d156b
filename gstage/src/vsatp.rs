//! The vsatp register: VS-stage translation mode, ASID and root PPN.
//!
//! Priv spec, hypervisor chapter, "Virtual Supervisor Address Translation and Protection
//! Register (vsatp)"; formats as satp (supervisor chapter, "satp").

use crate::hgatp::Xlen;
use crate::paging::{PteWidth, Scheme};

/// vsatp.MODE, an enumerated field: a value is one of these modes or reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VsMode {
    /// No VS-stage translation: the guest virtual address is the guest physical address.
    Bare,
    /// Two levels, 32-bit addresses (VSXLEN 32).
    Sv32,
    /// Three levels, 39-bit addresses.
    Sv39,
    /// Four levels, 48-bit addresses.
    Sv48,
    /// Five levels, 57-bit addresses.
    Sv57,
}

impl VsMode {
    /// Decodes a raw MODE field for `xlen`; `None` for a reserved encoding.
    pub const fn from_raw(xlen: Xlen, raw: u64) -> Option<Self> {
        match (xlen, raw) {
            (_, 0) => Some(VsMode::Bare),
            (Xlen::Rv32, 1) => Some(VsMode::Sv32),
            (Xlen::Rv64, 8) => Some(VsMode::Sv39),
            (Xlen::Rv64, 9) => Some(VsMode::Sv48),
            (Xlen::Rv64, 10) => Some(VsMode::Sv57),
            _ => None,
        }
    }

    /// The MODE field's encoding.
    pub const fn raw(self) -> u64 {
        match self {
            VsMode::Bare => 0,
            VsMode::Sv32 => 1,
            VsMode::Sv39 => 8,
            VsMode::Sv48 => 9,
            VsMode::Sv57 => 10,
        }
    }

    /// The paging scheme; `None` for Bare.
    pub const fn scheme(self) -> Option<Scheme> {
        match self {
            VsMode::Bare => None,
            VsMode::Sv32 => Some(Scheme::new(2, 10, 10, PteWidth::Bits32)),
            VsMode::Sv39 => Some(Scheme::new(3, 9, 9, PteWidth::Bits64)),
            VsMode::Sv48 => Some(Scheme::new(4, 9, 9, PteWidth::Bits64)),
            VsMode::Sv57 => Some(Scheme::new(5, 9, 9, PteWidth::Bits64)),
        }
    }
}

/// A decoded vsatp value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vsatp {
    /// vsatp.MODE.
    pub mode: VsMode,
    /// vsatp.ASID.
    pub asid: u16,
    /// vsatp.PPN: the root table's guest physical page number.
    pub ppn: u64,
}

/// Why a raw vsatp value does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VsatpError {
    /// The MODE field holds a reserved encoding (the raw field value).
    ReservedMode(u64),
}

/// (mode shift, mode mask, asid shift, asid mask, ppn mask) of one XLEN.
const fn layout(xlen: Xlen) -> (u32, u64, u32, u64, u64) {
    match xlen {
        Xlen::Rv32 => (31, 0x1, 22, 0x1ff, (1 << 22) - 1),
        Xlen::Rv64 => (60, 0xf, 44, 0xffff, (1 << 44) - 1),
    }
}

impl Vsatp {
    /// Decodes a raw register value of width `xlen`.
    pub const fn decode(xlen: Xlen, raw: u64) -> Result<Self, VsatpError> {
        let (ms, mm, as_, am, pm) = layout(xlen);
        match VsMode::from_raw(xlen, (raw >> ms) & mm) {
            Some(mode) => Ok(Vsatp {
                mode,
                asid: ((raw >> as_) & am) as u16,
                ppn: raw & pm,
            }),
            None => Err(VsatpError::ReservedMode((raw >> ms) & mm)),
        }
    }

    /// Encodes for width `xlen`; ASID and PPN are truncated to their fields.
    pub const fn encode(self, xlen: Xlen) -> u64 {
        let (ms, mm, as_, am, pm) = layout(xlen);
        ((self.mode.raw() & mm) << ms) | ((self.asid as u64 & am) << as_) | (self.ppn & pm)
    }

    /// Guest physical address of the root table.
    pub const fn root_gpa(self) -> u64 {
        self.ppn << 12
    }
}
