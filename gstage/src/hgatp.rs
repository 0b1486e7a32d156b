//! The hgatp register: G-stage translation mode, VMID and root-table PPN.
//!
//! Priv spec, hypervisor chapter, "Hypervisor Guest Address Translation and Protection
//! Register (hgatp)".

use crate::paging::{PteWidth, Scheme};

/// Register width (HSXLEN) that decides the hgatp layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Xlen {
    /// 32-bit layout: MODE 31, VMID 28:22, PPN 21:0.
    Rv32,
    /// 64-bit layout: MODE 63:60, VMID 57:44, PPN 43:0.
    Rv64,
}

/// hgatp.MODE, an enumerated WARL field: a value is either one of these modes or illegal.
// Priv spec, hypervisor chapter, table "Encoding of hgatp MODE field".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GStageMode {
    /// No G-stage translation: the guest physical address is the supervisor physical address.
    Bare,
    /// Two levels, 34-bit GPA (RV32 only).
    Sv32x4,
    /// Three levels, 41-bit GPA.
    Sv39x4,
    /// Four levels, 50-bit GPA.
    Sv48x4,
    /// Five levels, 59-bit GPA.
    Sv57x4,
}

impl GStageMode {
    /// All modes, Bare first.
    pub const ALL: [GStageMode; 5] = [
        GStageMode::Bare,
        GStageMode::Sv32x4,
        GStageMode::Sv39x4,
        GStageMode::Sv48x4,
        GStageMode::Sv57x4,
    ];

    /// Decodes a raw MODE field for `xlen`; `None` for a reserved encoding.
    pub const fn from_raw(xlen: Xlen, raw: u64) -> Option<Self> {
        match (xlen, raw) {
            (_, 0) => Some(GStageMode::Bare),
            (Xlen::Rv32, 1) => Some(GStageMode::Sv32x4),
            (Xlen::Rv64, 8) => Some(GStageMode::Sv39x4),
            (Xlen::Rv64, 9) => Some(GStageMode::Sv48x4),
            (Xlen::Rv64, 10) => Some(GStageMode::Sv57x4),
            _ => None,
        }
    }

    /// The MODE field's encoding.
    pub const fn raw(self) -> u64 {
        match self {
            GStageMode::Bare => 0,
            GStageMode::Sv32x4 => 1,
            GStageMode::Sv39x4 => 8,
            GStageMode::Sv48x4 => 9,
            GStageMode::Sv57x4 => 10,
        }
    }

    /// Whether the mode can be encoded in an hgatp of width `xlen`.
    pub const fn exists_in(self, xlen: Xlen) -> bool {
        matches!(
            (self, xlen),
            (GStageMode::Bare, _)
                | (GStageMode::Sv32x4, Xlen::Rv32)
                | (
                    GStageMode::Sv39x4 | GStageMode::Sv48x4 | GStageMode::Sv57x4,
                    Xlen::Rv64
                )
        )
    }

    /// The paging scheme of the mode (levels, index widths, PTE width); `None` for Bare.
    pub const fn scheme(self) -> Option<Scheme> {
        // Priv spec, hypervisor chapter, "Guest Physical Address Translation": only the root
        // index widens by two bits.
        match self {
            GStageMode::Bare => None,
            GStageMode::Sv32x4 => Some(Scheme::new(2, 10, 12, PteWidth::Bits32)),
            GStageMode::Sv39x4 => Some(Scheme::new(3, 9, 11, PteWidth::Bits64)),
            GStageMode::Sv48x4 => Some(Scheme::new(4, 9, 11, PteWidth::Bits64)),
            GStageMode::Sv57x4 => Some(Scheme::new(5, 9, 11, PteWidth::Bits64)),
        }
    }

    /// Width of the guest physical address space (34/41/50/59 bits); `None` for Bare.
    pub const fn gpa_bits(self) -> Option<u32> {
        match self.scheme() {
            Some(s) => Some(s.input_bits()),
            None => None,
        }
    }
}

/// Which paged modes an implementation offers (Bare is always legal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupportedModes {
    /// Sv32x4 (RV32 layout only).
    pub sv32x4: bool,
    /// Sv39x4.
    pub sv39x4: bool,
    /// Sv48x4.
    pub sv48x4: bool,
    /// Sv57x4.
    pub sv57x4: bool,
}

impl SupportedModes {
    /// Whether `mode` is offered.
    pub const fn contains(self, mode: GStageMode) -> bool {
        match mode {
            GStageMode::Bare => true,
            GStageMode::Sv32x4 => self.sv32x4,
            GStageMode::Sv39x4 => self.sv39x4,
            GStageMode::Sv48x4 => self.sv48x4,
            GStageMode::Sv57x4 => self.sv57x4,
        }
    }
}

/// A decoded hgatp value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hgatp {
    mode: GStageMode,
    vmid: u16,
    ppn: u64,
}

/// Why a raw hgatp value does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HgatpError {
    /// The MODE field holds a reserved encoding (the raw field value).
    ReservedMode(u64),
}

/// Field layout of one XLEN: (mode shift, mode mask, vmid shift, vmid mask, ppn mask).
const fn layout(xlen: Xlen) -> (u32, u64, u32, u64, u64) {
    match xlen {
        Xlen::Rv32 => (31, 0x1, 22, 0x7f, (1 << 22) - 1),
        Xlen::Rv64 => (60, 0xf, 44, 0x3fff, (1 << 44) - 1),
    }
}

impl Hgatp {
    /// An hgatp value; VMID and PPN are kept as given (see [`Hgatp::encode`] for masking).
    pub const fn new(mode: GStageMode, vmid: u16, ppn: u64) -> Self {
        Hgatp { mode, vmid, ppn }
    }

    /// Decodes a raw register value of width `xlen`.
    pub const fn decode(xlen: Xlen, raw: u64) -> Result<Self, HgatpError> {
        let (ms, mm, vs, vm, pm) = layout(xlen);
        let mode_raw = (raw >> ms) & mm;
        match GStageMode::from_raw(xlen, mode_raw) {
            Some(mode) => Ok(Hgatp {
                mode,
                vmid: ((raw >> vs) & vm) as u16,
                ppn: raw & pm,
            }),
            None => Err(HgatpError::ReservedMode(mode_raw)),
        }
    }

    /// Encodes for width `xlen`; VMID and PPN are truncated to their fields.
    pub const fn encode(self, xlen: Xlen) -> u64 {
        let (ms, mm, vs, vm, pm) = layout(xlen);
        ((self.mode.raw() & mm) << ms) | ((self.vmid as u64 & vm) << vs) | (self.ppn & pm)
    }

    /// WARL write of `raw` over the current value `self`: the value the register then holds.
    ///
    /// Choices where the spec leaves it open: an unsupported MODE keeps the current MODE while
    /// VMID and PPN are still written (as Spike does); VMID keeps its low `vmid_bits` bits;
    /// PPN bits 1:0 read as zero in paged modes (16 KiB root).
    // Priv spec, hypervisor chapter, hgatp: "the fields are WARL in the normal way".
    pub const fn write_warl(
        self,
        xlen: Xlen,
        raw: u64,
        supported: SupportedModes,
        vmid_bits: u32,
    ) -> Self {
        let (ms, mm, vs, vm, pm) = layout(xlen);
        let mode = match GStageMode::from_raw(xlen, (raw >> ms) & mm) {
            Some(m) if supported.contains(m) => m,
            _ => self.mode,
        };
        let vmid_mask = if vmid_bits >= 16 {
            vm
        } else {
            vm & ((1u64 << vmid_bits) - 1)
        };
        let mut ppn = raw & pm;
        if !matches!(mode, GStageMode::Bare) {
            ppn &= !0b11;
        }
        Hgatp {
            mode,
            vmid: ((raw >> vs) & vmid_mask) as u16,
            ppn,
        }
    }

    /// hgatp.MODE.
    pub const fn mode(self) -> GStageMode {
        self.mode
    }

    /// hgatp.VMID.
    pub const fn vmid(self) -> u16 {
        self.vmid
    }

    /// hgatp.PPN.
    pub const fn ppn(self) -> u64 {
        self.ppn
    }

    /// Physical address of the 16 KiB root table (PPN bits 1:0 ignored).
    pub const fn root_pa(self) -> u64 {
        (self.ppn & !0b11) << 12
    }
}
