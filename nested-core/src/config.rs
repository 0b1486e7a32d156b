//! What the host offers a guest hypervisor (L1): the shape of its virtual H extension.

pub use aia_virt::AiaConfig;
pub use gstage::{SupportedModes, VsMode, Xlen};

/// The virtual H extension one L1 hart sees, chosen by the host.
///
/// Offer nothing the host cannot back: the hgatp modes must be ones the shadow G-stage can
/// build, the VMID width must fit in what the host has left after its own tags, and the vsatp
/// modes must be ones the real hart translates (L2's VS-stage runs on the hardware).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NestedConfig {
    /// L1's XLEN, which is also its guests' (VSXLEN = HSXLEN).
    pub xlen: Xlen,
    /// The hgatp modes offered besides Bare.
    pub hgatp_modes: SupportedModes,
    /// Writable VMID bits of the virtual hgatp (at most 14 on RV64, 7 on RV32).
    pub vmid_bits: u32,
    /// The vsatp modes offered besides Bare.
    pub vsatp_modes: VsatpModes,
    /// Writable ASID bits of the virtual vsatp (at most 16 on RV64, 9 on RV32).
    pub asid_bits: u32,
    /// Number of guest external interrupt lines. With `aia` the engine sets it to the hart's
    /// `GEILEN` (see [`crate::NestedHart`]); without, hgeip is whatever the host sets.
    pub geilen: u32,
    /// The AIA offered to L1 (its hvien, hvictl, hviprio1/2, hvip bits 13-63, vsiselect,
    /// vsireg, vstopei, vstopi and GEILEN virtual guest interrupt files, held by `aia-virt`), or
    /// `None`: those CSRs are absent, as on a hart without AIA. Only an RV64 L1 can be offered
    /// the AIA; [`crate::NestedHart::new`] makes an offer `aia-virt` refuses the nearest one it
    /// accepts ([`AiaConfig::clamped`]) and drops it for an RV32 L1.
    pub aia: Option<AiaConfig>,
    /// Sstc: vstimecmp exists and henvcfg.STCE is writable.
    pub sstc: bool,
    /// Svadu: henvcfg.ADUE is writable.
    pub svadu: bool,
    /// Svpbmt: henvcfg.PBMTE is writable.
    pub svpbmt: bool,
    /// Svvptc: L1 may rely on PTE updates becoming visible without a fence.
    pub svvptc: bool,
    /// Smstateen: the hstateen CSRs exist.
    pub smstateen: bool,
    /// The F extension: vsstatus.FS is writable.
    pub fp: bool,
    /// The V extension: vsstatus.VS is writable.
    pub vector: bool,
    /// Writable bits of hcounteren (bit 0 CY, 1 TM, 2 IR, 3-31 HPM).
    pub hcounteren_mask: u32,
    /// The SBI nested-acceleration extension (all four features).
    pub nacl: bool,
}

impl NestedConfig {
    /// A plain RV64 configuration: Sv39x4 and Sv48x4 with 14 VMID bits, Sv39 and Sv48 with 16
    /// ASID bits, FP, Sstc and Svadu, no AIA.
    pub const fn rv64() -> Self {
        Self {
            xlen: Xlen::Rv64,
            hgatp_modes: SupportedModes {
                sv32x4: false,
                sv39x4: true,
                sv48x4: true,
                sv57x4: false,
            },
            vmid_bits: 14,
            vsatp_modes: VsatpModes {
                sv32: false,
                sv39: true,
                sv48: true,
                sv57: false,
            },
            asid_bits: 16,
            geilen: 0,
            aia: None,
            sstc: true,
            svadu: true,
            svpbmt: false,
            svvptc: false,
            smstateen: false,
            fp: true,
            vector: false,
            hcounteren_mask: 0b111,
            nacl: true,
        }
    }

    /// A plain RV32 configuration: Sv32x4 with 7 VMID bits, Sv32 with 9 ASID bits, FP and Sstc.
    pub const fn rv32() -> Self {
        Self {
            xlen: Xlen::Rv32,
            hgatp_modes: SupportedModes {
                sv32x4: true,
                sv39x4: false,
                sv48x4: false,
                sv57x4: false,
            },
            vmid_bits: 7,
            vsatp_modes: VsatpModes {
                sv32: true,
                sv39: false,
                sv48: false,
                sv57: false,
            },
            asid_bits: 9,
            svadu: false,
            ..Self::rv64()
        }
    }

    /// L1's XLEN in bits.
    pub const fn xlen_bits(&self) -> u32 {
        match self.xlen {
            Xlen::Rv32 => 32,
            Xlen::Rv64 => 64,
        }
    }

    /// The mask of L1's registers: 32 or 64 bits.
    pub const fn xlen_mask(&self) -> u64 {
        match self.xlen {
            Xlen::Rv32 => u32::MAX as u64,
            Xlen::Rv64 => u64::MAX,
        }
    }
}

/// Which satp modes the virtual vsatp accepts besides Bare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VsatpModes {
    /// Sv32 (RV32 only).
    pub sv32: bool,
    /// Sv39.
    pub sv39: bool,
    /// Sv48.
    pub sv48: bool,
    /// Sv57.
    pub sv57: bool,
}

impl VsatpModes {
    /// Whether `mode` is Bare or an offered mode.
    pub const fn accepts(self, mode: VsMode) -> bool {
        match mode {
            VsMode::Bare => true,
            VsMode::Sv32 => self.sv32,
            VsMode::Sv39 => self.sv39,
            VsMode::Sv48 => self.sv48,
            VsMode::Sv57 => self.sv57,
        }
    }
}
