//! An entry's four words as read, and their decoding into the fence that covers them.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized HFENCE".

use super::{HfenceConfig, HfenceRequest, HfenceType, PageRange, RangeError, ReservedType};
use super::{config_reserved_bits, pending_bit};
use crate::Xlen;

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
    /// The fence with its range capped at `max_pages` pages of 4 KiB
    /// ([`HfenceRequest::capped`]); [`Fence::Everything`] stays as it is.
    pub const fn capped(&self, max_pages: u64) -> Fence {
        match self {
            Fence::Request(request) => Fence::Request(request.capped(max_pages)),
            Fence::Everything => Fence::Everything,
        }
    }

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
    #[inline]
    pub const fn is_pending(&self, xlen: Xlen) -> bool {
        self.config & pending_bit(xlen) != 0
    }

    /// Decodes the entry (whatever its pending bit) into the fence that covers it.
    ///
    /// Fields a type ignores (the VMID of GVMA, the range of the `_ALL` types, ...) are
    /// ignored, not checked: the type already asks for the wider reading.
    #[inline]
    pub fn decode(&self, xlen: Xlen) -> DecodedHfence {
        // The words are XLEN values; a caller-built entry may hold more.
        let entry = HfenceEntry {
            config: self.config & xlen.mask(),
            page_number: self.page_number & xlen.mask(),
            reserved: self.reserved & xlen.mask(),
            page_count: self.page_count & xlen.mask(),
        };
        let config = HfenceConfig::decode(xlen, entry.config);
        let kind = match HfenceType::try_from(config.kind) {
            Ok(kind) => kind,
            Err(ReservedType(kind)) => {
                return DecodedHfence::everything(Malformation::ReservedType(kind));
            }
        };
        let reserved_config = entry.config & config_reserved_bits(xlen);
        let reserved_word = entry.reserved;
        if reserved_config != 0 || reserved_word != 0 {
            let malformation = Malformation::ReservedBits {
                config: reserved_config,
                word: reserved_word,
            };
            return DecodedHfence::everything(malformation);
        }
        let (vmid, asid) = (config.vmid, config.asid);
        let range = PageRange::new(config.order, entry.page_number, entry.page_count);
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
    /// The same decoding with a range above `max_pages` pages of 4 KiB widened to the `_ALL`
    /// form of its type, keeping the VMID and ASID ([`HfenceRequest::capped`]), for an L0
    /// that fences page by page. `malformation` is unchanged: capping is L0's choice, not a
    /// fault of the entry.
    pub const fn capped(&self, max_pages: u64) -> DecodedHfence {
        DecodedHfence {
            fence: self.fence.capped(max_pages),
            malformation: self.malformation,
        }
    }

    const fn everything(malformation: Malformation) -> DecodedHfence {
        DecodedHfence {
            fence: Fence::Everything,
            malformation: Some(malformation),
        }
    }
}
