//! The standard SBI error codes.
//!
//! SBI spec, "Binary Encoding", table "Standard SBI Errors" (v3.0: codes 0 and -1 to -14).

use sbi_spec::binary::SbiRegister;

/// An SBI error: the negative value a callee leaves in `a0`.
///
/// The numbers come from the `sbi-spec` crate; this enum adds the typed, exhaustive view a
/// dispatcher needs (every spec code, nothing else).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum SbiError {
    /// `SBI_ERR_FAILED` (-1): the call failed for an unspecified reason.
    Failed = <i64 as SbiRegister>::RET_ERR_FAILED,
    /// `SBI_ERR_NOT_SUPPORTED` (-2): unknown extension or function, or not offered.
    NotSupported = <i64 as SbiRegister>::RET_ERR_NOT_SUPPORTED,
    /// `SBI_ERR_INVALID_PARAM` (-3).
    InvalidParam = <i64 as SbiRegister>::RET_ERR_INVALID_PARAM,
    /// `SBI_ERR_DENIED` (-4).
    Denied = <i64 as SbiRegister>::RET_ERR_DENIED,
    /// `SBI_ERR_INVALID_ADDRESS` (-5).
    InvalidAddress = <i64 as SbiRegister>::RET_ERR_INVALID_ADDRESS,
    /// `SBI_ERR_ALREADY_AVAILABLE` (-6).
    AlreadyAvailable = <i64 as SbiRegister>::RET_ERR_ALREADY_AVAILABLE,
    /// `SBI_ERR_ALREADY_STARTED` (-7, SBI 0.3).
    AlreadyStarted = <i64 as SbiRegister>::RET_ERR_ALREADY_STARTED,
    /// `SBI_ERR_ALREADY_STOPPED` (-8, SBI 0.3).
    AlreadyStopped = <i64 as SbiRegister>::RET_ERR_ALREADY_STOPPED,
    /// `SBI_ERR_NO_SHMEM` (-9, SBI 2.0).
    NoShmem = <i64 as SbiRegister>::RET_ERR_NO_SHMEM,
    /// `SBI_ERR_INVALID_STATE` (-10, SBI 3.0).
    InvalidState = <i64 as SbiRegister>::RET_ERR_INVALID_STATE,
    /// `SBI_ERR_BAD_RANGE` (-11, SBI 3.0).
    BadRange = <i64 as SbiRegister>::RET_ERR_BAD_RANGE,
    /// `SBI_ERR_TIMEOUT` (-12, SBI 3.0).
    Timeout = <i64 as SbiRegister>::RET_ERR_TIMEOUT,
    /// `SBI_ERR_IO` (-13, SBI 3.0).
    Io = <i64 as SbiRegister>::RET_ERR_IO,
    /// `SBI_ERR_DENIED_LOCKED` (-14, SBI 3.0).
    DeniedLocked = <i64 as SbiRegister>::RET_ERR_DENIED_LOCKED,
}

impl SbiError {
    /// Every error, in the order of their codes (-1 first).
    pub const ALL: [SbiError; 14] = [
        Self::Failed,
        Self::NotSupported,
        Self::InvalidParam,
        Self::Denied,
        Self::InvalidAddress,
        Self::AlreadyAvailable,
        Self::AlreadyStarted,
        Self::AlreadyStopped,
        Self::NoShmem,
        Self::InvalidState,
        Self::BadRange,
        Self::Timeout,
        Self::Io,
        Self::DeniedLocked,
    ];

    /// The signed code as the spec gives it (-1 to -14).
    #[inline]
    pub const fn code(self) -> i64 {
        self as i64
    }

    /// The error with this code; `None` for 0 (success) and for codes the spec does not define.
    #[inline]
    pub const fn from_code(code: i64) -> Option<Self> {
        if code <= -1 && code >= -(Self::ALL.len() as i64) {
            Some(Self::ALL[(-code - 1) as usize])
        } else {
            None
        }
    }
}

impl TryFrom<i64> for SbiError {
    type Error = i64;

    /// The error for a code, or the code back when the spec defines no error with it.
    fn try_from(code: i64) -> Result<Self, i64> {
        Self::from_code(code).ok_or(code)
    }
}

impl From<SbiError> for i64 {
    fn from(error: SbiError) -> i64 {
        error.code()
    }
}

impl From<SbiError> for sbi_spec::binary::Error<u64> {
    fn from(error: SbiError) -> Self {
        use sbi_spec::binary::Error;
        match error {
            SbiError::Failed => Error::Failed,
            SbiError::NotSupported => Error::NotSupported,
            SbiError::InvalidParam => Error::InvalidParam,
            SbiError::Denied => Error::Denied,
            SbiError::InvalidAddress => Error::InvalidAddress,
            SbiError::AlreadyAvailable => Error::AlreadyAvailable,
            SbiError::AlreadyStarted => Error::AlreadyStarted,
            SbiError::AlreadyStopped => Error::AlreadyStopped,
            SbiError::NoShmem => Error::NoShmem,
            SbiError::InvalidState => Error::InvalidState,
            SbiError::BadRange => Error::BadRange,
            SbiError::Timeout => Error::Timeout,
            SbiError::Io => Error::Io,
            SbiError::DeniedLocked => Error::DeniedLocked,
        }
    }
}

impl core::fmt::Display for SbiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SBI error {} ({:?})", self.code(), self)
    }
}

impl core::error::Error for SbiError {}

/// What an SBI function answers when it returns: a value, or an error.
pub type SbiResult = Result<u64, SbiError>;
