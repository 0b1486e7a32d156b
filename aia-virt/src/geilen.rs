//! Guest external interrupts for L1: GEILEN virtual guest files, `hgeie`/`hgeip`,
//! `hstatus.VGEIN`, and how each virtual file is backed.
//!
//! Priv spec, hypervisor chapter, "Hypervisor Interrupt Registers (hgeip and hgeie)" and
//! `hstatus`; AIA VS-level chapter, "VS-level external interrupts with a guest interrupt file".

use crate::csr::CsrOp;

/// Most guest external interrupts on RV64.
pub const MAX_GEILEN: usize = 63;

/// Bits of `hgeie`/`hgeip` that exist with `geilen` lines: GEILEN:1 (bit 0 never).
pub const fn hgeie_mask(geilen: usize) -> u64 {
    if geilen == 0 {
        0
    } else if geilen >= MAX_GEILEN {
        !1
    } else {
        ((1u64 << geilen) - 1) << 1
    }
}

/// `hstatus.VGEIN` (bits 17:12): WLRL; this engine keeps any 6-bit value written, and the AIA
/// rules then treat a number that is not an implemented guest file as "no guest file".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vgein(u8);

impl Vgein {
    /// Bit position of VGEIN in `hstatus`.
    pub const SHIFT: u32 = 12;
    /// VGEIN's mask in `hstatus`.
    pub const HSTATUS_MASK: u64 = 0x3F << Self::SHIFT;

    /// VGEIN from a field value (bits above 6 are dropped).
    pub const fn new(value: u64) -> Vgein {
        Vgein((value & 0x3F) as u8)
    }

    /// VGEIN as found in an `hstatus` value.
    pub const fn from_hstatus(hstatus: u64) -> Vgein {
        Vgein::new(hstatus >> Self::SHIFT)
    }

    /// The field value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The guest file it selects, if it is 1..=`geilen`.
    pub const fn file(self, geilen: usize) -> Option<usize> {
        if self.0 != 0 && (self.0 as usize) <= geilen {
            Some(self.0 as usize)
        } else {
            None
        }
    }
}

/// A guest interrupt file of the real hardware (1..=63), owned by L0 and lent to L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhysGuestFile(u8);

impl PhysGuestFile {
    /// The physical file `number`, if it is a possible guest file number.
    pub const fn new(number: u8) -> Option<PhysGuestFile> {
        if number >= 1 && number as usize <= MAX_GEILEN {
            Some(PhysGuestFile(number))
        } else {
            None
        }
    }

    /// Its number (what the host puts in the real `hstatus.VGEIN`).
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// How one of L1's virtual guest files is realised; the host chooses per file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileBacking {
    /// Emulated in software: L2's and devices' writes to the file page trap to L0 as MMIO,
    /// L2's `sireg`/`stopei` accesses trap as virtual-instruction exceptions, and the engine
    /// raises VSEIP for L2 through `hvip`.
    #[default]
    Emulated,
    /// A real guest file: the host maps its page into L1's address map, and the engine steers
    /// the real `hstatus.VGEIN` to it while L2 runs, so L2's interrupts need no exit.
    Hardware(PhysGuestFile),
}

/// The real guest interrupt files, as the host reaches them (in HS-mode, by pointing the real
/// `hstatus.VGEIN` at the file and using `vsiselect`/`vsireg`/`vstopei`, and by storing to the
/// file's page). Register numbers are those of XLEN = 64.
pub trait GuestFileHardware {
    /// A CSR instruction on `vsireg` with `vsiselect` = `iselect` (0x70..=0xFF, even for the
    /// arrays) on `file`; returns the old value.
    fn ireg_rmw(&mut self, file: PhysGuestFile, iselect: u16, op: CsrOp) -> u64;
    /// A read of `vstopei` on `file`, claiming (in the same instruction) if `claim`.
    fn topei_rmw(&mut self, file: PhysGuestFile, claim: bool) -> u64;
    /// A `seteipnum_le` store of `identity` to `file`'s page.
    fn set_eipnum(&mut self, file: PhysGuestFile, identity: u32);
    /// The real `hgeip`.
    fn hgeip(&mut self) -> u64;
}

/// A host without real guest files (or one that lends none to this L1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoGuestFileHardware;

impl GuestFileHardware for NoGuestFileHardware {
    fn ireg_rmw(&mut self, _file: PhysGuestFile, _iselect: u16, _op: CsrOp) -> u64 {
        0
    }
    fn topei_rmw(&mut self, _file: PhysGuestFile, _claim: bool) -> u64 {
        0
    }
    fn set_eipnum(&mut self, _file: PhysGuestFile, _identity: u32) {}
    fn hgeip(&mut self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgeie_bit_zero_and_bits_above_geilen_are_read_only_zero() {
        assert_eq!(hgeie_mask(0), 0);
        assert_eq!(hgeie_mask(1), 0b10);
        assert_eq!(hgeie_mask(4), 0b1_1110);
        assert_eq!(hgeie_mask(63), !1);
    }

    #[test]
    fn vgein_selects_a_file_only_when_it_is_implemented() {
        assert_eq!(Vgein::new(0).file(4), None);
        assert_eq!(Vgein::new(4).file(4), Some(4));
        assert_eq!(Vgein::new(5).file(4), None);
        assert_eq!(Vgein::new(0x41).get(), 1, "VGEIN is six bits");
        assert_eq!(Vgein::from_hstatus(3 << 12).get(), 3);
    }

    #[test]
    fn physical_guest_file_numbers_are_1_to_63() {
        assert!(PhysGuestFile::new(0).is_none());
        assert!(PhysGuestFile::new(64).is_none());
        assert_eq!(PhysGuestFile::new(63).map(PhysGuestFile::get), Some(63));
    }
}
