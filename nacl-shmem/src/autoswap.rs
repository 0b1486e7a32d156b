//! The autoswap context: an hstatus value L0 exchanges with L1's hstatus around `sync_sret`.
//!
//! SBI spec, NACL chapter, "Feature: Autoswap CSR". Word 0 is `Autoswap_Flags` (bit 0 =
//! HSTATUS, the other bits reserved), word 1 the HSTATUS value. L0 swaps when the HSTATUS flag
//! is set: just before it emulates SRET for `sync_sret`, and right after L1's virtualisation
//! state goes from on to off (a trap from L2 delivered to L1).

use crate::access::{AccessError, WordAccess, read_xlen, read_xlen_acquire};
use crate::layout::{autoswap_flags_offset, autoswap_hstatus_offset};

/// `Autoswap_Flags` bit 0: swap hstatus.
pub const HSTATUS: u64 = 1;

/// L1: write `hstatus` into word 1, then set the HSTATUS flag (in that order, as the spec asks).
pub fn arm_hstatus<M: WordAccess + ?Sized>(mem: &mut M, hstatus: u64) -> Result<(), AccessError> {
    let xlen = mem.xlen();
    mem.write_word(autoswap_hstatus_offset(xlen), hstatus)?;
    mem.write_word_release(autoswap_flags_offset(xlen), HSTATUS)
}

/// L1: clear the flags and read back word 1 (the hstatus L0 swapped out of L1's hstatus).
pub fn disarm_hstatus<M: WordAccess + ?Sized>(mem: &mut M) -> Result<u64, AccessError> {
    let xlen = mem.xlen();
    mem.write_word(autoswap_flags_offset(xlen), 0)?;
    read_xlen(mem, autoswap_hstatus_offset(xlen))
}

/// L0: if the HSTATUS flag is set, store `hstatus` (L1's current hstatus) into word 1 and
/// return the value word 1 held, which becomes L1's hstatus once L0 has applied its WARL rules.
///
/// The reserved flag bits are ignored (only bit 0 is defined); each word is read once.
///
/// At the second swap, on the trap from L2 back to L1 (virtualisation on to off), L1's
/// hstatus changes under it: L0 must then also write the new value into the hstatus slot
/// (CSR 0x600) of the CSR space, with `Provider::write_back_csr`, because L1 reads its hstatus
/// from that slot before the next `sync_sret` (Linux does; Xvisor follows every such swap
/// with a write-back of all CSRs).
pub fn swap_hstatus<M: WordAccess + ?Sized>(
    mem: &mut M,
    hstatus: u64,
) -> Result<Option<u64>, AccessError> {
    let xlen = mem.xlen();
    let flags = read_xlen_acquire(mem, autoswap_flags_offset(xlen))?;
    if flags & HSTATUS == 0 {
        return Ok(None);
    }
    let incoming = read_xlen(mem, autoswap_hstatus_offset(xlen))?;
    mem.write_word(autoswap_hstatus_offset(xlen), hstatus)?;
    Ok(Some(incoming))
}
