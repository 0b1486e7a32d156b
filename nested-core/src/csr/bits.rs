//! Fields of the H and VS CSRs (priv spec, hypervisor chapter; masks as RV64 bit positions).
#![allow(missing_docs)] // each constant is the spec's name for the field

// hstatus
pub const HSTATUS_VSBE: u64 = 1 << 5;
pub const HSTATUS_GVA: u64 = 1 << 6;
pub const HSTATUS_SPV: u64 = 1 << 7;
pub const HSTATUS_SPVP: u64 = 1 << 8;
pub const HSTATUS_HU: u64 = 1 << 9;
pub const HSTATUS_VGEIN_SHIFT: u32 = 12;
pub const HSTATUS_VGEIN: u64 = 0x3f << HSTATUS_VGEIN_SHIFT;
pub const HSTATUS_VTVM: u64 = 1 << 20;
pub const HSTATUS_VTW: u64 = 1 << 21;
pub const HSTATUS_VTSR: u64 = 1 << 22;
pub const HSTATUS_VSXL_SHIFT: u32 = 32;

// The VS-level interrupts as hip/hie/hvip/hideleg number them, and SGEI.
pub const VSSIP: u64 = 1 << 2;
pub const VSTIP: u64 = 1 << 6;
pub const VSEIP: u64 = 1 << 10;
pub const SGEIP: u64 = 1 << 12;
pub const VS_INTERRUPTS: u64 = VSSIP | VSTIP | VSEIP;

// sstatus / vsstatus
pub const SSTATUS_SIE: u64 = 1 << 1;
pub const SSTATUS_SPIE: u64 = 1 << 5;
pub const SSTATUS_SPP: u64 = 1 << 8;
pub const SSTATUS_VS: u64 = 3 << 9;
pub const SSTATUS_FS: u64 = 3 << 13;
pub const SSTATUS_XS: u64 = 3 << 15;
pub const SSTATUS_SUM: u64 = 1 << 18;
pub const SSTATUS_MXR: u64 = 1 << 19;
pub const SSTATUS_UXL_SHIFT: u32 = 32;

// henvcfg
pub const HENVCFG_FIOM: u64 = 1 << 0;
pub const HENVCFG_CBIE: u64 = 3 << 4;
pub const HENVCFG_CBCFE: u64 = 1 << 6;
pub const HENVCFG_CBZE: u64 = 1 << 7;
pub const HENVCFG_ADUE: u64 = 1 << 61;
pub const HENVCFG_PBMTE: u64 = 1 << 62;
pub const HENVCFG_STCE: u64 = 1 << 63;

// hstateen0
pub const HSTATEEN_IMSIC: u64 = 1 << 58;
pub const HSTATEEN_AIA: u64 = 1 << 59;
pub const HSTATEEN_CSRIND: u64 = 1 << 60;
/// The three bits that gate L2's AIA state (AIA "CSRs", state-enable CSRs).
pub const HSTATEEN_AIA_ALL: u64 = HSTATEEN_IMSIC | HSTATEEN_AIA | HSTATEEN_CSRIND;
pub const HSTATEEN_ENVCFG: u64 = 1 << 62;
pub const HSTATEEN_SE0: u64 = 1 << 63;

/// hedeleg bits that are writable: the exceptions a hypervisor may hand to its guest
/// (0-8, 12, 13, 15, 18 software check, 19 hardware error); 9-11, 16 and 20-23 are read-only
/// zero (priv spec, hypervisor chapter, hedeleg table).
pub const HEDELEG_WRITABLE: u64 = 0xc_b1ff;

/// The MXL encoding of a 64-bit XLEN, for the read-only VSXL and UXL fields.
pub const XL_64: u64 = 2;
