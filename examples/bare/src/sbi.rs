//! SBI calls to whatever runs below: OpenSBI, or a hypervisor (`mini-hv` for L1, `l1-hv` for
//! L2). Numbers come from `sbi-spec`.

use sbi_spec::{base, dbcn, hsm, legacy, nacl, rfnc, spi, srst, time};

/// An SBI call's (error, value).
pub type SbiResult = (isize, usize);

/// `ecall` with extension `eid`, function `fid` and arguments a0..a5.
pub fn call(eid: usize, fid: usize, args: [usize; 6]) -> SbiResult {
    let (error, value);
    // SAFETY: an SBI call; the SBI implementation preserves every register but a0 and a1.
    unsafe {
        core::arch::asm!(
            "ecall",
            inlateout("a0") args[0] => error,
            inlateout("a1") args[1] => value,
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a5") args[5],
            in("a6") fid,
            in("a7") eid,
        );
    }
    (error, value)
}

/// BASE probe_extension: whether `eid` is present (its nonzero probe value).
pub fn probe(eid: usize) -> usize {
    match call(base::EID_BASE, base::PROBE_EXTENSION, [eid, 0, 0, 0, 0, 0]) {
        (0, value) => value,
        _ => 0,
    }
}

/// The legacy console putchar (SBI v0.1), which writes a0 only.
pub fn legacy_putchar(byte: u8) {
    let _ = call(
        legacy::LEGACY_CONSOLE_PUTCHAR,
        0,
        [byte.into(), 0, 0, 0, 0, 0],
    );
}

/// DBCN console_write of the bytes at physical address `addr`.
pub fn console_write(addr: usize, len: usize) -> SbiResult {
    call(dbcn::EID_DBCN, dbcn::CONSOLE_WRITE, [len, addr, 0, 0, 0, 0])
}

/// SRST system_reset: shutdown, with reason 0 (none) or 1 (system failure).
pub fn system_reset(reset_type: u32, reason: u32) -> SbiResult {
    call(
        srst::EID_SRST,
        srst::SYSTEM_RESET,
        [reset_type as usize, reason as usize, 0, 0, 0, 0],
    )
}

/// TIME set_timer.
pub fn set_timer(deadline: u64) -> SbiResult {
    call(
        time::EID_TIME,
        time::SET_TIMER,
        [deadline as usize, 0, 0, 0, 0, 0],
    )
}

/// HSM hart_start; returns the SBI error.
pub fn hart_start(hartid: usize, start: usize, opaque: usize) -> isize {
    call(
        hsm::EID_HSM,
        hsm::HART_START,
        [hartid, start, opaque, 0, 0, 0],
    )
    .0
}

/// HSM hart_get_status.
pub fn hart_status(hartid: usize) -> SbiResult {
    call(hsm::EID_HSM, hsm::HART_GET_STATUS, [hartid, 0, 0, 0, 0, 0])
}

/// RFENCE remote_hfence_gvma_vmid on the harts of (`mask`, `base`).
pub fn remote_hfence_gvma_vmid(
    mask: usize,
    base: usize,
    gpa: usize,
    size: usize,
    vmid: usize,
) -> isize {
    call(
        rfnc::EID_RFNC,
        rfnc::REMOTE_HFENCE_GVMA_VMID,
        [mask, base, gpa, size, vmid, 0],
    )
    .0
}

/// RFENCE remote_hfence_gvma (every VMID) on the harts of (`mask`, `base`).
pub fn remote_hfence_gvma(mask: usize, base: usize, gpa: usize, size: usize) -> isize {
    call(
        rfnc::EID_RFNC,
        rfnc::REMOTE_HFENCE_GVMA,
        [mask, base, gpa, size, 0, 0],
    )
    .0
}

/// NACL sync_sret: returns (the SBI error) only on failure.
pub fn nacl_sync_sret() -> isize {
    call(nacl::EID_NACL, nacl::SYNC_SRET, [0; 6]).0
}

/// NACL probe_feature.
pub fn nacl_probe_feature(feature: usize) -> usize {
    call(
        nacl::EID_NACL,
        nacl::PROBE_FEATURE,
        [feature, 0, 0, 0, 0, 0],
    )
    .1
}

/// NACL set_shmem at physical address `addr` (all ones disables it).
pub fn nacl_set_shmem(addr: usize) -> isize {
    call(nacl::EID_NACL, nacl::SET_SHMEM, [addr, 0, 0, 0, 0, 0]).0
}

/// NACL sync_csr of CSR `csr` (all ones: every dirty CSR).
pub fn nacl_sync_csr(csr: usize) -> isize {
    call(nacl::EID_NACL, nacl::SYNC_CSR, [csr, 0, 0, 0, 0, 0]).0
}

/// NACL sync_hfence of entry `entry` (all ones: every pending entry).
pub fn nacl_sync_hfence(entry: usize) -> isize {
    call(nacl::EID_NACL, nacl::SYNC_HFENCE, [entry, 0, 0, 0, 0, 0]).0
}

/// IPI send_ipi to the harts of (`mask`, `base`).
pub fn send_ipi(mask: usize, base: usize) -> isize {
    call(spi::EID_SPI, spi::SEND_IPI, [mask, base, 0, 0, 0, 0]).0
}

/// HSM hart_stop: stops the calling hart (returns only on failure).
pub fn hart_stop() -> isize {
    call(hsm::EID_HSM, hsm::HART_STOP, [0; 6]).0
}
