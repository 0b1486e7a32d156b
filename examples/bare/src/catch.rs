//! Running an instruction that may trap: while the catcher is installed, a trap skips the
//! (4-byte) instruction and reports scause + 1 in t6. Used to probe for the H extension, for
//! CSRs that may not exist, and for HLVX fetches that may fault.

core::arch::global_asm!(
    ".balign 4",
    ".globl bare_catcher",
    "bare_catcher:",
    "   csrr t6, sepc",
    "   addi t6, t6, 4",
    "   csrw sepc, t6",
    "   csrr t6, scause",
    "   addi t6, t6, 1",
    "   sret",
);

unsafe extern "C" {
    fn bare_catcher();
}

/// Runs `f` with the catcher as stvec; `f` must report what its own asm found in t6. sstatus
/// (SPP, SPIE, SIE) and stvec are put back afterwards; a caller that needs hstatus (SPV, GVA)
/// intact saves it itself, since a trap from HS-mode rewrites them.
pub fn guarded<R>(f: impl FnOnce() -> R) -> R {
    let (old_stvec, old_sstatus): (usize, usize);
    // SAFETY: swaps stvec for the catcher, which only skips the trapping instruction and
    // writes t6; interrupts are masked so no other trap can reach it.
    unsafe {
        core::arch::asm!(
            "csrrci {s}, sstatus, 2",
            "csrrw {v}, stvec, {c}",
            s = out(reg) old_sstatus,
            v = out(reg) old_stvec,
            c = in(reg) bare_catcher as *const () as usize,
        );
    }
    let result = f();
    // SAFETY: puts back what was there.
    unsafe {
        core::arch::asm!(
            "csrw stvec, {v}",
            "csrw sstatus, {s}",
            v = in(reg) old_stvec,
            s = in(reg) old_sstatus,
        );
    }
    result
}

/// A hypervisor load `insn` (with the current hstatus.SPVP) at guest address `va`: the value,
/// or the exception code the access raised.
macro_rules! hypervisor_load {
    ($insn:literal, $va:expr) => {
        guarded(|| {
            let (value, fault): (u64, u64);
            // SAFETY: a hypervisor load, which writes no memory; a fault is caught and
            // reported in t6.
            unsafe {
                core::arch::asm!(
                    ".option push",
                    ".option arch, +h",
                    concat!($insn, " {v}, ({a})"),
                    ".option pop",
                    v = out(reg) value,
                    a = in(reg) $va,
                    inout("t6") 0u64 => fault,
                );
            }
            match fault {
                0 => Ok(value),
                code => Err(code - 1),
            }
        })
    };
}

/// HLVX.WU at guest virtual address `va`: the instruction word, or the exception code the
/// fetch raised.
pub fn hlvx_wu(va: u64) -> Result<u32, u64> {
    hypervisor_load!("hlvx.wu", va).map(|word| word as u32)
}

/// HLV.D at guest address `va`: the doubleword, or the exception code of the fault.
pub fn hlv_d(va: u64) -> Result<u64, u64> {
    hypervisor_load!("hlv.d", va)
}

/// A load of the doubleword at `address` (with the current translation): the value, or the
/// exception code the access raised (stval then holds the address).
pub fn load_u64(address: u64) -> Result<u64, u64> {
    guarded(|| {
        let (value, fault): (u64, u64);
        // SAFETY: a load, which writes no memory; a fault is caught and reported in t6. The
        // instruction is not compressed: the catcher skips 4 bytes.
        unsafe {
            core::arch::asm!(
                ".option push",
                ".option norvc",
                "ld {v}, 0({a})",
                ".option pop",
                v = out(reg) value,
                a = in(reg) address,
                inout("t6") 0u64 => fault,
            );
        }
        match fault {
            0 => Ok(value),
            code => Err(code - 1),
        }
    })
}

/// A store of `value` to the doubleword at `address`: the exception code it raised, if any.
/// The caller makes sure no Rust object lives there.
pub fn store_u64(address: u64, value: u64) -> Result<(), u64> {
    guarded(|| {
        let fault: u64;
        // SAFETY: a store to an address the caller owns or that has no memory behind it (it
        // faults, caught and reported in t6); not compressed, as in `load_u64`.
        unsafe {
            core::arch::asm!(
                ".option push",
                ".option norvc",
                "sd {v}, 0({a})",
                ".option pop",
                v = in(reg) value,
                a = in(reg) address,
                inout("t6") 0u64 => fault,
            );
        }
        match fault {
            0 => Ok(()),
            code => Err(code - 1),
        }
    })
}
