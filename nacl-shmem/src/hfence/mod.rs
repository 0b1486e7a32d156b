//! HFENCE entries: the config word, the page fields, and the typed request they encode.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized HFENCE". An entry is four words: `Config`,
//! `Page_Number`, a reserved word and `Page_Count`. The range of a ranged entry is
//! `[Page_Number << (Order + 12), (Page_Number + Page_Count) << (Order + 12))` in plain
//! guest-physical (GVMA) or guest-virtual (VVMA) addresses.
//!
//! Decoding never fails: an entry that is malformed decodes to the widest fence that covers
//! every reading of it, because invalidating too much is always safe and too little never is.

mod config;
mod entry;
mod range;
mod request;

pub use config::{
    EncodeError, HfenceConfig, HfenceType, ReservedType, asid_bits, config_reserved_bits,
    pending_bit, vmid_bits,
};
pub use entry::{DecodedHfence, Fence, HfenceEntry, Malformation};
pub use range::{PageRange, RangeError};
pub use request::{HfenceRequest, Stage};
