//! The SRET context: the GPRs that `sync_sret` loads before it emulates SRET.
//!
//! SBI spec, NACL chapter, "Feature: Synchronized SRET": word `i` (1..=31) holds `x<i>`;
//! word 0 is reserved and x0 is never loaded.

use crate::access::{AccessError, WordAccess, read_xlen};
use crate::layout::{SRET_GPRS, sret_gpr_offset};

/// A GPR number outside 1..=31 (x0 has no slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSuchGpr(pub usize);

/// An error of a single-GPR write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SretError {
    /// The register is not x1..x31.
    NoSuchGpr(NoSuchGpr),
    /// The shared memory could not be written.
    Access(AccessError),
}

/// Writes `x<reg>` (`reg` in 1..=31).
pub fn write_gpr<M: WordAccess + ?Sized>(
    mem: &mut M,
    reg: usize,
    value: u64,
) -> Result<(), SretError> {
    if !(1..=SRET_GPRS).contains(&reg) {
        return Err(SretError::NoSuchGpr(NoSuchGpr(reg)));
    }
    let offset = sret_gpr_offset(mem.xlen(), reg);
    mem.write_word(offset, value).map_err(SretError::Access)
}

/// Writes x1..x31 from `gprs[1..]` (`gprs[0]`, x0, is not written).
pub fn write_gprs<M: WordAccess + ?Sized>(
    mem: &mut M,
    gprs: &[u64; 32],
) -> Result<(), AccessError> {
    for (reg, value) in gprs.iter().enumerate().skip(1) {
        let offset = sret_gpr_offset(mem.xlen(), reg);
        mem.write_word(offset, *value)?;
    }
    Ok(())
}

/// Reads x1..x31, each word once, into `[x0, x1, ..., x31]` with x0 = 0.
pub fn read_gprs<M: WordAccess + ?Sized>(mem: &M) -> Result<[u64; 32], AccessError> {
    let mut gprs = [0; 32];
    for (reg, value) in gprs.iter_mut().enumerate().skip(1) {
        *value = read_xlen(mem, sret_gpr_offset(mem.xlen(), reg))?;
    }
    Ok(gprs)
}
