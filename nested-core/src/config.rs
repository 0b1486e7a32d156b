//! What the host offers a guest hypervisor (L1): the shape of its virtual H extension.

pub use aia_virt::AiaConfig;
pub use gstage::{SupportedModes, VsMode, Xlen};

/// The virtual H extension one L1 hart sees, chosen by the host.
///
/// Offer nothing the host cannot back: the hgatp modes must be ones the shadow G-stage can
/// build, and the VMID width must fit in what the host has left after its own tags.
///
/// L2 writes its supervisor CSRs (the real vsstatus, vstvec, vsie, vsscratch, vsepc, vscause,
/// vstval and vsatp) to the hardware directly, where the real hart's WARL rules apply, and L1
/// writes the same CSRs through the engine's rules, which follow this configuration. The two
/// must agree, or L1 and L2 would see one CSR behave two ways and a value L2 set could be lost
/// at its next trap. So the vsatp modes and ASID width must be exactly what the real hart
/// accepts, and `fp` and `vector` exactly whether its vsstatus.FS and vsstatus.VS are
/// writable: the host probes these and passes them to [`NestedConfig::check_hardware`]
/// before it builds a hart (vsie's writable bits are the delegated ones on both sides).
/// Whatever the configuration, the engine keeps what L2 leaves in the real vstvec,
/// vsscratch, vsepc, vscause, vstval and vsatp exactly as the hardware holds it, even where
/// the virtual rule for L1's own writes differs (QEMU keeps vsepc's bit 0, which the spec
/// makes zero).
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

    /// Checks that the WARL rules this configuration gives the VS CSRs L2 writes to the
    /// hardware directly are the real hart's, as the host probed them: the first field
    /// offered otherwise (less or more) is the error.
    pub fn check_hardware(&self, real: &RealVsFields) -> Result<(), HardwareMismatch> {
        if self.vsatp_modes != real.vsatp_modes {
            Err(HardwareMismatch::VsatpModes)
        } else if self.asid_bits != real.asid_bits {
            Err(HardwareMismatch::AsidBits)
        } else if self.fp != real.fs {
            Err(HardwareMismatch::Fs)
        } else if self.vector != real.vs {
            Err(HardwareMismatch::Vs)
        } else {
            Ok(())
        }
    }
}

/// What the real hart accepts in the configurable fields of the VS CSRs L2 writes directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealVsFields {
    /// The modes the real vsatp accepts besides Bare.
    pub vsatp_modes: VsatpModes,
    /// The writable ASID bits of the real vsatp.
    pub asid_bits: u32,
    /// Whether the real vsstatus.FS is writable.
    pub fs: bool,
    /// Whether the real vsstatus.VS is writable.
    pub vs: bool,
}

/// A field whose WARL rule in a [`NestedConfig`] is not the real hart's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HardwareMismatch {
    /// `vsatp_modes`.
    VsatpModes,
    /// `asid_bits`.
    AsidBits,
    /// `fp` (vsstatus.FS).
    Fs,
    /// `vector` (vsstatus.VS).
    Vs,
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
