//! HFENCE entries: the config word, the page fields, and the typed request they encode.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized HFENCE". An entry is four words: `Config`,
//! `Page_Number`, a reserved word and `Page_Count`. The range of a ranged entry is
//! `[Page_Number << (Order + 12), (Page_Number + Page_Count) << (Order + 12))` in plain
//! guest-physical (GVMA) or guest-virtual (VVMA) addresses.
//!
//! Decoding never fails: an entry that is malformed decodes to the widest fence that covers
//! every reading of it, because invalidating too much is always safe and too little never is.

use crate::Xlen;

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
pub const fn pending_bit(xlen: Xlen) -> u64 {
    1 << config_layout(xlen).pending
}

/// The bits of a config word that the spec reserves (must be 0).
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
    /// `Type` above 15.
    TypeTooWide,
    /// `Order` above 127.
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

/// `value << shift` if no bit is lost.
const fn shl_exact(value: u64, shift: u32) -> Option<u64> {
    if shift >= 64 {
        return if value == 0 { Some(0) } else { None };
    }
    let shifted = value << shift;
    if shifted >> shift == value {
        Some(shifted)
    } else {
        None
    }
}

/// Why the page fields of an entry do not describe a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// `Order` above 127 (cannot be encoded).
    OrderTooWide,
    /// `Page_Count` is 0.
    Empty,
    /// The range does not fit in 64-bit addresses.
    Overflow,
}

/// A range of pages of size `1 << (order + 12)`: always non-empty and inside 64-bit addresses.
///
/// SBI spec, NACL chapter, "Feature: Synchronized HFENCE" (`Order`, `Page_Number`,
/// `Page_Count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRange {
    order: u8,
    page_number: u64,
    page_count: u64,
}

impl PageRange {
    /// The page size offset of `Order`: a page is `1 << (Order + 12)` bytes.
    pub const ORDER_BASE: u32 = 12;

    /// The first 4 KiB page.
    pub const FIRST_PAGE: PageRange = PageRange {
        order: 0,
        page_number: 0,
        page_count: 1,
    };

    /// The range of `page_count` pages of order `order` from page `page_number`.
    pub const fn new(
        order: u8,
        page_number: u64,
        page_count: u64,
    ) -> Result<PageRange, RangeError> {
        if order > 0x7F {
            return Err(RangeError::OrderTooWide);
        }
        if page_count == 0 {
            return Err(RangeError::Empty);
        }
        let shift = order as u32 + Self::ORDER_BASE;
        let Some(last_page) = page_number.checked_add(page_count - 1) else {
            return Err(RangeError::Overflow);
        };
        if shift >= 64 || shl_exact(last_page, shift).is_none() {
            return Err(RangeError::Overflow);
        }
        Ok(PageRange {
            order,
            page_number,
            page_count,
        })
    }

    /// The 4 KiB pages that cover `[start, start + size)`, with `size >= 1`.
    pub const fn covering(start: u64, size: u64) -> Result<PageRange, RangeError> {
        if size == 0 {
            return Err(RangeError::Empty);
        }
        let Some(last) = start.checked_add(size - 1) else {
            return Err(RangeError::Overflow);
        };
        let first_page = start >> Self::ORDER_BASE;
        PageRange::new(0, first_page, (last >> Self::ORDER_BASE) - first_page + 1)
    }

    /// `Order`.
    pub const fn order(&self) -> u8 {
        self.order
    }

    /// `Page_Number`.
    pub const fn page_number(&self) -> u64 {
        self.page_number
    }

    /// `Page_Count` (at least 1).
    pub const fn page_count(&self) -> u64 {
        self.page_count
    }

    /// The page size shift: `Order + 12` (below 64).
    pub const fn page_shift(&self) -> u32 {
        self.order as u32 + Self::ORDER_BASE
    }

    /// The first address of the range.
    pub const fn start(&self) -> u64 {
        self.page_number << self.page_shift()
    }

    /// The last address of the range (inclusive, so a range may end at the top of memory).
    pub const fn last(&self) -> u64 {
        let last_page = self.page_number + (self.page_count - 1);
        (last_page << self.page_shift()) | ((1 << self.page_shift()) - 1)
    }

    /// Whether every address of `other` is in `self`.
    pub const fn contains(&self, other: &PageRange) -> bool {
        self.start() <= other.start() && other.last() <= self.last()
    }
}

/// A well-formed HFENCE request, as L1 queues it and L0 performs it.
///
/// SBI spec, NACL chapter, "Feature: Synchronized HFENCE", HFENCE types table. The VMID of
/// the VVMA requests is explicit in the entry (unlike the HFENCE.VVMA instruction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HfenceRequest {
    /// GVMA: a GPA range, all VMIDs.
    Gvma {
        /// The guest-physical range.
        range: PageRange,
    },
    /// GVMA_ALL: all G-stage translations of all VMIDs.
    GvmaAll,
    /// GVMA_VMID: a GPA range of one VMID.
    GvmaVmid {
        /// The VMID.
        vmid: u16,
        /// The guest-physical range.
        range: PageRange,
    },
    /// GVMA_VMID_ALL: all G-stage translations of one VMID.
    GvmaVmidAll {
        /// The VMID.
        vmid: u16,
    },
    /// VVMA: a GVA range of one VMID, all ASIDs.
    Vvma {
        /// The VMID.
        vmid: u16,
        /// The guest-virtual range.
        range: PageRange,
    },
    /// VVMA_ALL: all VS-stage translations of one VMID.
    VvmaAll {
        /// The VMID.
        vmid: u16,
    },
    /// VVMA_ASID: a GVA range of one VMID and ASID.
    VvmaAsid {
        /// The VMID.
        vmid: u16,
        /// The ASID.
        asid: u16,
        /// The guest-virtual range.
        range: PageRange,
    },
    /// VVMA_ASID_ALL: all VS-stage translations of one VMID and ASID.
    VvmaAsidAll {
        /// The VMID.
        vmid: u16,
        /// The ASID.
        asid: u16,
    },
}

/// The translation stage a request invalidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// G-stage (guest-physical to host-physical), HFENCE.GVMA.
    G,
    /// VS-stage (guest-virtual to guest-physical), HFENCE.VVMA.
    Vs,
}

impl HfenceRequest {
    /// The `Type` this request encodes as.
    pub const fn kind(&self) -> HfenceType {
        match self {
            HfenceRequest::Gvma { .. } => HfenceType::Gvma,
            HfenceRequest::GvmaAll => HfenceType::GvmaAll,
            HfenceRequest::GvmaVmid { .. } => HfenceType::GvmaVmid,
            HfenceRequest::GvmaVmidAll { .. } => HfenceType::GvmaVmidAll,
            HfenceRequest::Vvma { .. } => HfenceType::Vvma,
            HfenceRequest::VvmaAll { .. } => HfenceType::VvmaAll,
            HfenceRequest::VvmaAsid { .. } => HfenceType::VvmaAsid,
            HfenceRequest::VvmaAsidAll { .. } => HfenceType::VvmaAsidAll,
        }
    }

    /// The stage the request invalidates.
    pub const fn stage(&self) -> Stage {
        match self {
            HfenceRequest::Gvma { .. }
            | HfenceRequest::GvmaAll
            | HfenceRequest::GvmaVmid { .. }
            | HfenceRequest::GvmaVmidAll { .. } => Stage::G,
            _ => Stage::Vs,
        }
    }

    /// The VMID the request is limited to, `None` for all VMIDs.
    pub const fn vmid(&self) -> Option<u16> {
        match *self {
            HfenceRequest::Gvma { .. } | HfenceRequest::GvmaAll => None,
            HfenceRequest::GvmaVmid { vmid, .. }
            | HfenceRequest::GvmaVmidAll { vmid }
            | HfenceRequest::Vvma { vmid, .. }
            | HfenceRequest::VvmaAll { vmid }
            | HfenceRequest::VvmaAsid { vmid, .. }
            | HfenceRequest::VvmaAsidAll { vmid, .. } => Some(vmid),
        }
    }

    /// The ASID the request is limited to, `None` for all ASIDs.
    pub const fn asid(&self) -> Option<u16> {
        match *self {
            HfenceRequest::VvmaAsid { asid, .. } | HfenceRequest::VvmaAsidAll { asid, .. } => {
                Some(asid)
            }
            _ => None,
        }
    }

    /// The address range the request is limited to, `None` for all addresses.
    pub const fn range(&self) -> Option<PageRange> {
        match *self {
            HfenceRequest::Gvma { range }
            | HfenceRequest::GvmaVmid { range, .. }
            | HfenceRequest::Vvma { range, .. }
            | HfenceRequest::VvmaAsid { range, .. } => Some(range),
            _ => None,
        }
    }

    /// The same scope (stage, VMID, ASID) without the address limit.
    pub const fn widened(&self) -> HfenceRequest {
        match *self {
            HfenceRequest::Gvma { .. } | HfenceRequest::GvmaAll => HfenceRequest::GvmaAll,
            HfenceRequest::GvmaVmid { vmid, .. } | HfenceRequest::GvmaVmidAll { vmid } => {
                HfenceRequest::GvmaVmidAll { vmid }
            }
            HfenceRequest::Vvma { vmid, .. } | HfenceRequest::VvmaAll { vmid } => {
                HfenceRequest::VvmaAll { vmid }
            }
            HfenceRequest::VvmaAsid { vmid, asid, .. }
            | HfenceRequest::VvmaAsidAll { vmid, asid } => {
                HfenceRequest::VvmaAsidAll { vmid, asid }
            }
        }
    }

    /// Whether performing `self` invalidates everything `other` asks for.
    pub fn covers(&self, other: &HfenceRequest) -> bool {
        let same_stage = self.stage() == other.stage();
        let vmid = self.vmid().is_none() || self.vmid() == other.vmid();
        let asid = self.asid().is_none() || self.asid() == other.asid();
        let range = match (self.range(), other.range()) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(outer), Some(inner)) => outer.contains(&inner),
        };
        same_stage && vmid && asid && range
    }

    /// The four words of a pending entry for this request (ignored fields are 0).
    pub const fn encode(&self, xlen: Xlen) -> Result<HfenceEntry, EncodeError> {
        let (order, page_number, page_count) = match self.range() {
            Some(r) => (r.order, r.page_number, r.page_count),
            None => (0, 0, 0),
        };
        let config = HfenceConfig {
            pending: true,
            kind: self.kind() as u8,
            order,
            vmid: match self.vmid() {
                Some(vmid) => vmid,
                None => 0,
            },
            asid: match self.asid() {
                Some(asid) => asid,
                None => 0,
            },
        };
        if page_number & !xlen.mask() != 0 {
            return Err(EncodeError::PageNumberTooWide);
        }
        if page_count & !xlen.mask() != 0 {
            return Err(EncodeError::PageCountTooWide);
        }
        match config.encode(xlen) {
            Ok(config) => Ok(HfenceEntry {
                config,
                page_number,
                reserved: 0,
                page_count,
            }),
            Err(e) => Err(e),
        }
    }
}

/// The four words of one HFENCE entry, as copied out of the shared memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HfenceEntry {
    /// `Config`.
    pub config: u64,
    /// `Page_Number`.
    pub page_number: u64,
    /// The reserved word (must be 0).
    pub reserved: u64,
    /// `Page_Count`.
    pub page_count: u64,
}

/// What L0 must invalidate for one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fence {
    /// Exactly this request (possibly widened from a malformed entry).
    Request(HfenceRequest),
    /// Every cached translation of both stages for every VMID: what an entry decodes to when
    /// nothing narrower is sure to cover it (a reserved type or reserved bits set).
    Everything,
}

impl Fence {
    /// Whether performing `self` invalidates everything `request` asks for.
    pub fn covers(&self, request: &HfenceRequest) -> bool {
        match self {
            Fence::Everything => true,
            Fence::Request(fence) => fence.covers(request),
        }
    }
}

/// How a malformed entry broke the rules (the fence was widened because of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformation {
    /// `Type` 8..=15: decoded as [`Fence::Everything`].
    ReservedType(u8),
    /// A reserved config bit or the reserved word is not 0: decoded as [`Fence::Everything`].
    ReservedBits {
        /// The reserved bits set in `Config`.
        config: u64,
        /// The reserved word.
        word: u64,
    },
    /// The page range overflows 64-bit addresses: decoded as the type's `_ALL` form.
    RangeOverflow,
    /// `Page_Count` is 0: decoded as the type's `_ALL` form.
    EmptyRange,
}

/// One decoded entry: the fence to perform and, if the entry was malformed, why it is wider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodedHfence {
    /// What to invalidate.
    pub fence: Fence,
    /// `Some` if the entry broke a rule and `fence` was widened.
    pub malformation: Option<Malformation>,
}

impl HfenceEntry {
    /// Whether the entry's pending bit is set.
    pub const fn is_pending(&self, xlen: Xlen) -> bool {
        self.config & pending_bit(xlen) != 0
    }

    /// Decodes the entry (whatever its pending bit) into the fence that covers it.
    ///
    /// Fields a type ignores (the VMID of GVMA, the range of the `_ALL` types, ...) are
    /// ignored, not checked: the type already asks for the wider reading.
    pub fn decode(&self, xlen: Xlen) -> DecodedHfence {
        let config = HfenceConfig::decode(xlen, self.config);
        let kind = match HfenceType::try_from(config.kind) {
            Ok(kind) => kind,
            Err(ReservedType(kind)) => {
                return DecodedHfence::everything(Malformation::ReservedType(kind));
            }
        };
        let reserved_config = self.config & xlen.mask() & config_reserved_bits(xlen);
        let reserved_word = self.reserved & xlen.mask();
        if reserved_config != 0 || reserved_word != 0 {
            let malformation = Malformation::ReservedBits {
                config: reserved_config,
                word: reserved_word,
            };
            return DecodedHfence::everything(malformation);
        }
        let (vmid, asid) = (config.vmid, config.asid);
        let range = PageRange::new(
            config.order,
            self.page_number & xlen.mask(),
            self.page_count & xlen.mask(),
        );
        let ranged = |range| match kind {
            HfenceType::Gvma => HfenceRequest::Gvma { range },
            HfenceType::GvmaVmid => HfenceRequest::GvmaVmid { vmid, range },
            HfenceType::Vvma => HfenceRequest::Vvma { vmid, range },
            _ => HfenceRequest::VvmaAsid { vmid, asid, range },
        };
        let (request, malformation) = match kind {
            HfenceType::GvmaAll => (HfenceRequest::GvmaAll, None),
            HfenceType::GvmaVmidAll => (HfenceRequest::GvmaVmidAll { vmid }, None),
            HfenceType::VvmaAll => (HfenceRequest::VvmaAll { vmid }, None),
            HfenceType::VvmaAsidAll => (HfenceRequest::VvmaAsidAll { vmid, asid }, None),
            HfenceType::Gvma | HfenceType::GvmaVmid | HfenceType::Vvma | HfenceType::VvmaAsid => {
                match range {
                    Ok(range) => (ranged(range), None),
                    // Any valid range stands in for the widening; only the scope survives it.
                    Err(RangeError::Empty) => (
                        ranged(PageRange::FIRST_PAGE).widened(),
                        Some(Malformation::EmptyRange),
                    ),
                    Err(_) => (
                        ranged(PageRange::FIRST_PAGE).widened(),
                        Some(Malformation::RangeOverflow),
                    ),
                }
            }
        };
        DecodedHfence {
            fence: Fence::Request(request),
            malformation,
        }
    }
}

impl DecodedHfence {
    const fn everything(malformation: Malformation) -> DecodedHfence {
        DecodedHfence {
            fence: Fence::Everything,
            malformation: Some(malformation),
        }
    }
}
