//! SBI calls to whatever runs below: OpenSBI, or a hypervisor (`mini-hv` for L1, `l1-hv` for
//! L2). The calls go through `sbi-rt`; these wrappers keep the programs' plain-integer
//! interface: an SBI error as `isize` (0 is success), addresses and hart masks as `usize`.

use sbi_rt::{HartMask, Physical, SbiRet, SharedPtr};

/// An SBI call's (error, value).
pub type SbiResult = (isize, usize);

/// The error of an `SbiRet` as the signed number the SBI specification gives it.
fn error(ret: SbiRet) -> isize {
    ret.error as isize
}

fn pair(ret: SbiRet) -> SbiResult {
    (error(ret), ret.value)
}

/// `ecall` with extension `eid`, function `fid` and arguments a0..a5: any call, including
/// those `sbi-rt` has no function for and deliberately malformed ones.
pub fn call(eid: usize, fid: usize, args: [usize; 6]) -> SbiResult {
    let [a0, a1, a2, a3, a4, a5] = args;
    // SAFETY: an SBI call; the SBI implementation preserves every register but a0 and a1.
    // What the call does to memory (shared memory it is given, harts it starts) is the
    // caller's to get right, as for the wrappers below.
    pair(unsafe { sbi_rt::raw::sbi_call_6(eid, fid, a0, a1, a2, a3, a4, a5) })
}

/// BASE probe_extension: whether `eid` is present (its nonzero probe value).
pub fn probe(eid: usize) -> usize {
    sbi_rt::probe_extension(eid).raw
}

/// The legacy console putchar (SBI v0.1), which writes a0 only.
#[expect(
    deprecated,
    reason = "the fallback console under an SBI without DBCN, which is all that remains then"
)]
pub fn legacy_putchar(byte: u8) {
    let _ = sbi_rt::legacy::console_putchar(byte.into());
}

/// DBCN console_write of the bytes at physical address `addr`.
pub fn console_write(addr: usize, len: usize) -> SbiResult {
    pair(sbi_rt::console_write(Physical::new(len, addr, 0)))
}

/// SRST system_reset: shutdown, with reason 0 (none) or 1 (system failure).
pub fn system_reset(reset_type: u32, reason: u32) -> SbiResult {
    pair(sbi_rt::system_reset(reset_type, reason))
}

/// TIME set_timer.
pub fn set_timer(deadline: u64) -> SbiResult {
    pair(sbi_rt::set_timer(deadline))
}

/// HSM hart_start; returns the SBI error.
pub fn hart_start(hartid: usize, start: usize, opaque: usize) -> isize {
    error(sbi_rt::hart_start(hartid, start, opaque))
}

/// HSM hart_get_status.
pub fn hart_status(hartid: usize) -> SbiResult {
    pair(sbi_rt::hart_get_status(hartid))
}

/// RFENCE remote_hfence_gvma_vmid on the harts of (`mask`, `base`).
pub fn remote_hfence_gvma_vmid(
    mask: usize,
    base: usize,
    gpa: usize,
    size: usize,
    vmid: usize,
) -> isize {
    let harts = HartMask::from_mask_base(mask, base);
    error(sbi_rt::remote_hfence_gvma_vmid(harts, gpa, size, vmid))
}

/// RFENCE remote_hfence_gvma (every VMID) on the harts of (`mask`, `base`).
pub fn remote_hfence_gvma(mask: usize, base: usize, gpa: usize, size: usize) -> isize {
    let harts = HartMask::from_mask_base(mask, base);
    error(sbi_rt::remote_hfence_gvma(harts, gpa, size))
}

/// NACL sync_sret: returns (the SBI error) only on failure.
pub fn nacl_sync_sret() -> isize {
    error(sbi_rt::nacl_sync_sret())
}

/// NACL probe_feature: 1 if feature `feature` is available, else 0.
pub fn nacl_probe_feature(feature: usize) -> usize {
    // sbi-rt takes feature numbers as u32; one beyond that is unknown, so absent.
    u32::try_from(feature).map_or(0, |feature| sbi_rt::nacl_probe_feature(feature).value)
}

/// NACL set_shmem at physical address `addr` (all ones disables it).
pub fn nacl_set_shmem(addr: usize) -> isize {
    // Disabling takes all ones in both halves of the address; any other address here is
    // below 2^64, so its high half is 0.
    let high = if addr == usize::MAX { usize::MAX } else { 0 };
    error(sbi_rt::nacl_set_shmem(SharedPtr::new(addr, high), 0))
}

/// NACL sync_csr of CSR `csr` (all ones: every dirty CSR).
pub fn nacl_sync_csr(csr: usize) -> isize {
    error(sbi_rt::nacl_sync_csr(csr))
}

/// NACL sync_hfence of entry `entry` (all ones: every pending entry).
pub fn nacl_sync_hfence(entry: usize) -> isize {
    error(sbi_rt::nacl_sync_hfence(entry))
}

/// IPI send_ipi to the harts of (`mask`, `base`).
pub fn send_ipi(mask: usize, base: usize) -> isize {
    error(sbi_rt::send_ipi(HartMask::from_mask_base(mask, base)))
}

/// HSM hart_stop: stops the calling hart (returns only on failure).
pub fn hart_stop() -> isize {
    error(sbi_rt::hart_stop())
}
