//! The page fields of an entry: `Order`, `Page_Number`, `Page_Count`.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized HFENCE".

/// `value << shift` if no bit is lost.
#[inline]
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
    #[inline]
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

    /// The number of 4 KiB pages the range spans, whatever its order (at most 2^52).
    pub const fn base_pages(&self) -> u64 {
        (self.last() >> Self::ORDER_BASE) - (self.start() >> Self::ORDER_BASE) + 1
    }

    /// Whether every address of `other` is in `self`.
    pub const fn contains(&self, other: &PageRange) -> bool {
        self.start() <= other.start() && other.last() <= self.last()
    }
}
