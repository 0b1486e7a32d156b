//! The typed request an entry encodes, and which request covers which.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized HFENCE", HFENCE types table.

use super::{EncodeError, HfenceConfig, HfenceEntry, HfenceType, PageRange};
use crate::Xlen;

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

    /// `self`, or its `_ALL` form ([`HfenceRequest::widened`]: same stage, VMID and ASID) if
    /// its range spans more than `max_pages` pages of 4 KiB.
    ///
    /// A well-formed range may span 2^52 pages; an L0 that fences page by page caps it so
    /// that one entry costs at most `max_pages` fences. Pages are counted at 4 KiB whatever
    /// the entry's order, so the bound holds for an L0 that fences at the base page size.
    pub const fn capped(&self, max_pages: u64) -> HfenceRequest {
        match self.range() {
            Some(range) if range.base_pages() > max_pages => self.widened(),
            _ => *self,
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
            Some(r) => (r.order(), r.page_number(), r.page_count()),
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
