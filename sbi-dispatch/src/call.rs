//! The SBI calling convention: what an `ecall` passes in a0-a7 and what it gets back.
//!
//! SBI spec, "Binary Encoding": a7 = EID, a6 = FID, a0-a5 arguments; the callee returns
//! (a0 = error, a1 = value) and preserves every other register. Legacy (v0.1) calls return
//! a0 only.

use crate::error::SbiResult;

/// The width of the caller's registers (its XLEN), which decides how wide each argument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Xlen {
    /// 32-bit caller.
    Rv32,
    /// 64-bit caller.
    Rv64,
}

impl Xlen {
    /// The number of bits in a register.
    #[inline]
    pub const fn bits(self) -> u32 {
        match self {
            Self::Rv32 => 32,
            Self::Rv64 => 64,
        }
    }

    /// A register of all ones, which is also -1 as the caller sees it.
    #[inline]
    pub const fn all_ones(self) -> u64 {
        match self {
            Self::Rv32 => u32::MAX as u64,
            Self::Rv64 => u64::MAX,
        }
    }

    /// `value` cut to the caller's register width.
    #[inline]
    pub const fn truncate(self, value: u64) -> u64 {
        value & self.all_ones()
    }

    /// A 64-bit quantity passed in one register (RV64) or as a (low, high) pair (RV32).
    #[inline]
    pub const fn join_u64(self, low: u64, high: u64) -> u64 {
        match self {
            Self::Rv32 => (low & 0xffff_ffff) | (high << 32),
            Self::Rv64 => low,
        }
    }
}

/// One SBI call as the caller's registers made it, each register already cut to the caller's
/// XLEN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SbiCall {
    /// The extension ID (a7).
    pub extension: u64,
    /// The function ID (a6); legacy calls ignore it.
    pub function: u64,
    /// The arguments a0 to a5.
    pub args: [u64; 6],
    /// The caller's XLEN.
    pub xlen: Xlen,
}

/// The extension IDs below this are the legacy v0.1 calls, which return a0 only.
const FIRST_NON_LEGACY_EID: u64 = sbi_spec::base::EID_BASE as u64;

impl SbiCall {
    /// The call in the caller's argument registers `a[i] = a_i` (a0 to a7).
    #[inline]
    pub fn from_registers(a: &[u64; 8], xlen: Xlen) -> Self {
        Self::new(a[7], a[6], [a[0], a[1], a[2], a[3], a[4], a[5]], xlen)
    }

    /// A call from its parts; every part is cut to `xlen`.
    #[inline]
    pub fn new(extension: u64, function: u64, args: [u64; 6], xlen: Xlen) -> Self {
        Self {
            extension: xlen.truncate(extension),
            function: xlen.truncate(function),
            args: args.map(|arg| xlen.truncate(arg)),
            xlen,
        }
    }

    /// Whether this is a legacy v0.1 call (EID 0x00-0x0F), which returns a0 only.
    #[inline]
    pub const fn is_legacy(&self) -> bool {
        self.extension < FIRST_NON_LEGACY_EID
    }

    /// The registers a0 and a1 after the call returns `result`, as the caller sees them.
    ///
    /// A failed call leaves 0 in a1 (the spec leaves it unspecified). A legacy call returns
    /// only a0: the value, or the error code; `None` for a1 means "leave a1 as it was".
    #[inline]
    pub const fn return_registers(&self, result: SbiResult) -> (u64, Option<u64>) {
        let xlen = self.xlen;
        let (error, value) = match result {
            Ok(value) => (0, xlen.truncate(value)),
            Err(error) => (xlen.truncate(error.code() as u64), 0),
        };
        if self.is_legacy() {
            (if error == 0 { value } else { error }, None)
        } else {
            (error, Some(value))
        }
    }

    /// Writes what the call returns into the caller's `a` registers (a0, and a1 unless legacy).
    #[inline]
    pub fn write_return(&self, result: SbiResult, a: &mut [u64; 8]) {
        let (a0, a1) = self.return_registers(result);
        a[0] = a0;
        if let Some(a1) = a1 {
            a[1] = a1;
        }
    }
}
