//! The BASE extension (EID 0x10): what the dispatcher answers by itself.
//!
//! SBI spec, "Base Extension": the spec version, the implementation's ID and version, the
//! machine IDs, and `probe_extension`, whose answer follows from what is plugged in.

pub use sbi_spec::base::Version;
pub use sbi_spec::base::impl_id;

/// The facts BASE reports and the machine the dispatcher validates hart numbers against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// The SBI specification version the host implements (`get_spec_version`).
    pub spec_version: Version,
    /// The implementation ID (`get_impl_id`); see [`impl_id`] for the registered ones.
    pub impl_id: u64,
    /// The implementation's own version (`get_impl_version`).
    pub impl_version: u64,
    /// `mvendorid` as the caller should see it (0: not implemented).
    pub mvendorid: u64,
    /// `marchid` as the caller should see it.
    pub marchid: u64,
    /// `mimpid` as the caller should see it.
    pub mimpid: u64,
    /// The caller's harts are numbered `0..hart_count`; hart masks and HSM calls are checked
    /// against it.
    pub hart_count: u32,
}

impl Platform {
    /// The spec version as `get_spec_version` returns it: major in bits 30:24, minor in 23:0.
    pub const fn encoded_spec_version(&self) -> u64 {
        ((self.spec_version.major() as u64 & 0x7f) << 24)
            | (self.spec_version.minor() as u64 & 0xff_ffff)
    }
}
