//! The `Config` word: pending bit, type, order, VMID and ASID, at XLEN-dependent positions.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized HFENCE", config word layout.

use crate::Xlen;
use static_assertions::const_assert;

/// The `Type` field of an HFENCE config word; 8..=15 are reserved.
///
/// SBI spec, NACL chapter, "Feature: Synchronized HFENCE", HFENCE types table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HfenceType {
    /// G-stage, a GPA range, all VMIDs.
    Gvma = 0,
    /// G-stage, everything, all VMIDs.
    GvmaAll = 1,
    /// G-stage, a GPA range, one VMID.
    GvmaVmid = 2,
    /// G-stage, everything, one VMID.
    GvmaVmidAll = 3,
    /// VS-stage, a GVA range, one VMID, all ASIDs.
    Vvma = 4,
    /// VS-stage, everything, one VMID.
    VvmaAll = 5,
    /// VS-stage, a GVA range, one VMID and one ASID.
    VvmaAsid = 6,
    /// VS-stage, everything, one VMID and one ASID.
    VvmaAsidAll = 7,
}

/// A reserved value (8..=15) of the `Type` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservedType(pub u8);

impl TryFrom<u8> for HfenceType {
    type Error = ReservedType;

    #[inline]
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Ok(match value {
            0 => HfenceType::Gvma,
            1 => HfenceType::GvmaAll,
            2 => HfenceType::GvmaVmid,
            3 => HfenceType::GvmaVmidAll,
            4 => HfenceType::Vvma,
            5 => HfenceType::VvmaAll,
            6 => HfenceType::VvmaAsid,
            7 => HfenceType::VvmaAsidAll,
            other => return Err(ReservedType(other)),
        })
    }
}

/// Bit positions of the config word for one XLEN.
struct ConfigLayout {
    pending: u32,
    kind: u32,
    order: u32,
    vmid: u32,
    vmid_bits: u32,
    asid_bits: u32,
    reserved: u64,
}

/// RV32: pending 31, reserved 30:28, type 27:24, reserved 23, order 22:16, VMID 15:9, ASID 8:0.
const RV32_CONFIG: ConfigLayout = ConfigLayout {
    pending: 31,
    kind: 24,
    order: 16,
    vmid: 9,
    vmid_bits: 7,
    asid_bits: 9,
    reserved: 0x7000_0000 | 1 << 23,
};

/// RV64: pending 63, reserved 62:60, type 59:56, reserved 55, order 54:48, unnamed 47:30,
/// VMID 29:16, ASID 15:0.
const RV64_CONFIG: ConfigLayout = ConfigLayout {
    pending: 63,
    kind: 56,
    order: 48,
    vmid: 16,
    vmid_bits: 14,
    asid_bits: 16,
    reserved: 0x7000_0000_0000_0000 | 1 << 55 | ((1 << 48) - (1 << 30)),
};

impl ConfigLayout {
    /// The masks of pending, type, order, VMID, ASID and the reserved bits.
    const fn masks(&self) -> [u64; 6] {
        [
            1 << self.pending,
            0xF << self.kind,
            0x7F << self.order,
            ((1 << self.vmid_bits) - 1) << self.vmid,
            (1 << self.asid_bits) - 1,
            self.reserved,
        ]
    }

    /// Whether the fields are disjoint and together fill the `xlen` word exactly.
    const fn partitions(&self, xlen: Xlen) -> bool {
        let masks = self.masks();
        let mut union = 0;
        let mut i = 0;
        while i < masks.len() {
            if union & masks[i] != 0 {
                return false;
            }
            union |= masks[i];
            i += 1;
        }
        union == xlen.mask()
    }

    /// The generic positions of the spec's table: pending XLEN-1, type XLEN-8, order XLEN-16,
    /// VMID just above the ASID.
    const fn at_spec_positions(&self, xlen: Xlen) -> bool {
        let bits = xlen.bits();
        self.pending == bits - 1
            && self.kind == bits - 8
            && self.order == bits - 16
            && self.vmid == self.asid_bits
    }
}

const_assert!(RV32_CONFIG.partitions(Xlen::Rv32));
const_assert!(RV64_CONFIG.partitions(Xlen::Rv64));
const_assert!(RV32_CONFIG.at_spec_positions(Xlen::Rv32));
const_assert!(RV64_CONFIG.at_spec_positions(Xlen::Rv64));

#[inline]
const fn config_layout(xlen: Xlen) -> &'static ConfigLayout {
    match xlen {
        Xlen::Rv32 => &RV32_CONFIG,
        Xlen::Rv64 => &RV64_CONFIG,
    }
}

/// The width of the VMID field: 7 bits on RV32, 14 on RV64 (hgatp.VMID's maximum).
pub const fn vmid_bits(xlen: Xlen) -> u32 {
    config_layout(xlen).vmid_bits
}

/// The width of the ASID field: 9 bits on RV32, 16 on RV64 (satp.ASID's maximum).
pub const fn asid_bits(xlen: Xlen) -> u32 {
    config_layout(xlen).asid_bits
}

/// The pending bit of a config word (bit XLEN-1).
#[inline]
pub const fn pending_bit(xlen: Xlen) -> u64 {
    1 << config_layout(xlen).pending
}

/// The bits of a config word that the spec reserves (must be 0).
#[inline]
pub const fn config_reserved_bits(xlen: Xlen) -> u64 {
    config_layout(xlen).reserved
}

/// The fields of an HFENCE `Config` word, raw (the type may be reserved).
///
/// SBI spec, NACL chapter, "Feature: Synchronized HFENCE", config word layout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HfenceConfig {
    /// The entry waits for L0 to process it.
    pub pending: bool,
    /// `Type` (4 bits): see [`HfenceType`].
    pub kind: u8,
    /// `Order` (7 bits): the page size is `1 << (order + 12)` bytes.
    pub order: u8,
    /// `VMID` (7 bits on RV32, 14 on RV64).
    pub vmid: u16,
    /// `ASID` (9 bits on RV32, 16 on RV64).
    pub asid: u16,
}

/// Why a request or config word cannot be encoded for an XLEN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// `Type` above 15. Only [`HfenceConfig::encode`] returns it (its fields are public);
    /// a request always has a type below 8.
    TypeTooWide,
    /// `Order` above 127. Only [`HfenceConfig::encode`] returns it; a request's range keeps
    /// its order below 128 ([`super::PageRange::new`]).
    OrderTooWide,
    /// The VMID does not fit the XLEN's VMID field.
    VmidTooWide,
    /// The ASID does not fit the XLEN's ASID field.
    AsidTooWide,
    /// The page number does not fit one XLEN word.
    PageNumberTooWide,
    /// The page count does not fit one XLEN word.
    PageCountTooWide,
}

impl HfenceConfig {
    /// Splits a config word into its fields (ignoring reserved bits; see
    /// [`config_reserved_bits`]).
    #[inline]
    pub const fn decode(xlen: Xlen, raw: u64) -> HfenceConfig {
        let l = config_layout(xlen);
        HfenceConfig {
            pending: raw >> l.pending & 1 == 1,
            kind: (raw >> l.kind & 0xF) as u8,
            order: (raw >> l.order & 0x7F) as u8,
            vmid: (raw >> l.vmid & ((1 << l.vmid_bits) - 1)) as u16,
            asid: (raw & ((1 << l.asid_bits) - 1)) as u16,
        }
    }

    /// Builds the config word; every field must fit its width.
    pub const fn encode(&self, xlen: Xlen) -> Result<u64, EncodeError> {
        let l = config_layout(xlen);
        if self.kind > 0xF {
            return Err(EncodeError::TypeTooWide);
        }
        if self.order > 0x7F {
            return Err(EncodeError::OrderTooWide);
        }
        if (self.vmid as u64) >> l.vmid_bits != 0 {
            return Err(EncodeError::VmidTooWide);
        }
        if (self.asid as u64) >> l.asid_bits != 0 {
            return Err(EncodeError::AsidTooWide);
        }
        Ok((self.pending as u64) << l.pending
            | (self.kind as u64) << l.kind
            | (self.order as u64) << l.order
            | (self.vmid as u64) << l.vmid
            | self.asid as u64)
    }
}
