//! `hvictl` (0x609): VTI, IID, DPR, IPRIOM, IPRIO.
//!
//! AIA VS-level chapter, "Virtual interrupts for VS level".

/// Bit 30: virtual trap interrupt control.
pub const VTI: u64 = 1 << 30;
/// Bits 27:16: interrupt identity (WARL, the implemented low bits).
pub const IID_SHIFT: u32 = 16;
/// Bit 9: default priority rank relative to SEI (0 above, 1 below).
pub const DPR: u64 = 1 << 9;
/// Bit 8: IPRIO mode of `vstopi`.
pub const IPRIOM: u64 = 1 << 8;
/// Bits 7:0: priority number.
pub const IPRIO_MASK: u64 = 0xFF;

/// Fewest IID bits the AIA allows.
pub const MIN_IID_BITS: u8 = 6;
/// Most IID bits the field can hold.
pub const MAX_IID_BITS: u8 = 12;

/// A legal `hvictl` value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hvictl(u64);

impl Hvictl {
    /// The bits a write keeps when `iid_bits` IID bits are implemented (clamped to 6..=12).
    pub const fn write_mask(iid_bits: u8) -> u64 {
        let k = if iid_bits < MIN_IID_BITS {
            MIN_IID_BITS
        } else if iid_bits > MAX_IID_BITS {
            MAX_IID_BITS
        } else {
            iid_bits
        };
        VTI | (((1u64 << k) - 1) << IID_SHIFT) | DPR | IPRIOM | IPRIO_MASK
    }

    /// The value kept after writing `value` with `iid_bits` implemented IID bits: IID takes
    /// bits (15+k):16 of the write, other reserved bits read zero.
    pub const fn from_write(value: u64, iid_bits: u8) -> Hvictl {
        Hvictl(value & Self::write_mask(iid_bits))
    }

    /// The register value.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// VTI: also whether VS-mode accesses to `sip`/`sie` (and writes that could clear a `vsip`
    /// bit other than SEIP, such as `stimecmp`) must raise a virtual-instruction exception.
    pub const fn vti(self) -> bool {
        self.0 & VTI != 0
    }

    /// IID.
    pub const fn iid(self) -> u16 {
        ((self.0 >> IID_SHIFT) & 0xFFF) as u16
    }

    /// DPR: the injected interrupt ranks below SEI by default.
    pub const fn dpr(self) -> bool {
        self.0 & DPR != 0
    }

    /// IPRIOM: `vstopi.IPRIO` reports the real priority number.
    pub const fn ipriom(self) -> bool {
        self.0 & IPRIOM != 0
    }

    /// IPRIO.
    pub const fn iprio(self) -> u8 {
        (self.0 & IPRIO_MASK) as u8
    }

    /// This value with IID and IPRIO replaced (IID masked to 12 bits).
    pub const fn with_iid_iprio(self, iid: u16, iprio: u8) -> Hvictl {
        let cleared = self.0 & !((0xFFF << IID_SHIFT) | IPRIO_MASK);
        Hvictl(cleared | ((iid as u64 & 0xFFF) << IID_SHIFT) | iprio as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hvictl_reserved_bits_read_zero() {
        let h = Hvictl::from_write(u64::MAX, 12);
        assert_eq!(h.bits(), 0x4FFF_03FF);
    }

    #[test]
    fn hvictl_iid_keeps_only_the_implemented_low_bits() {
        let h = Hvictl::from_write(0x0FFF_0000, 6);
        assert_eq!(h.iid(), 63);
        let h = Hvictl::from_write(0x0ABC_0000, 12);
        assert_eq!(h.iid(), 0xABC);
        assert_eq!(Hvictl::write_mask(2), Hvictl::write_mask(6));
    }

    #[test]
    fn hvictl_fields_decode_where_the_spec_puts_them() {
        let h = Hvictl::from_write(VTI | (10 << 16) | DPR | IPRIOM | 0x42, 12);
        assert!(h.vti() && h.dpr() && h.ipriom());
        assert_eq!((h.iid(), h.iprio()), (10, 0x42));
        let h = h.with_iid_iprio(9, 7);
        assert_eq!((h.iid(), h.iprio(), h.vti()), (9, 7, true));
    }
}
