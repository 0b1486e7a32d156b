//! The hypervisor fences, with x0 for each absent operand (`.option arch, +h` for LLVM).

/// HFENCE.GVMA for guest-physical address `gpa` (unshifted) of `vmid`; `None` is x0 (every
/// address, every VMID).
pub fn hfence_gvma(vmid: Option<u16>, gpa: Option<u64>) {
    let gpa = gpa.map(|gpa| gpa >> 2);
    let vmid = vmid.map(u64::from);
    // SAFETY: a fence only discards cached translations; not `nomem`, so the page-table
    // writes before it are done first.
    unsafe {
        match (gpa, vmid) {
            (None, None) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.gvma x0, x0",
                ".option pop"
            ),
            (None, Some(v)) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.gvma x0, {0}",
                ".option pop",
                in(reg) v
            ),
            (Some(g), None) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.gvma {0}, x0",
                ".option pop",
                in(reg) g
            ),
            (Some(g), Some(v)) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.gvma {0}, {1}",
                ".option pop",
                in(reg) g,
                in(reg) v
            ),
        }
    }
}

/// HFENCE.VVMA for guest virtual address `va` of `asid`, under the VMID in hgatp; `None` is
/// x0.
pub fn hfence_vvma(asid: Option<u16>, va: Option<u64>) {
    let asid = asid.map(u64::from);
    // SAFETY: as for `hfence_gvma`.
    unsafe {
        match (va, asid) {
            (None, None) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.vvma x0, x0",
                ".option pop"
            ),
            (None, Some(a)) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.vvma x0, {0}",
                ".option pop",
                in(reg) a
            ),
            (Some(v), None) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.vvma {0}, x0",
                ".option pop",
                in(reg) v
            ),
            (Some(v), Some(a)) => core::arch::asm!(
                ".option push",
                ".option arch, +h",
                "hfence.vvma {0}, {1}",
                ".option pop",
                in(reg) v,
                in(reg) a
            ),
        }
    }
}
