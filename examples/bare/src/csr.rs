//! CSR access by number, for the CSRs the programs name at run time (the engine's
//! `PhysicalHart`, the WARL probe). A number outside the list is `None`; a CSR the hart does
//! not implement traps, unless accessed through [`try_read`] / [`try_write`].

macro_rules! csrs {
    ($($n:literal)*) => {
        /// Reads CSR `csr`.
        pub fn read(csr: u16) -> Option<u64> {
            match csr {
                $($n => {
                    let v: u64;
                    // SAFETY: reading a listed CSR; programs only name CSRs they may access.
                    unsafe { core::arch::asm!(concat!("csrr {0}, ", stringify!($n)), out(reg) v) };
                    Some(v)
                })*
                _ => None,
            }
        }

        /// Writes CSR `csr`; false if it is not in the list.
        pub fn write(csr: u16, value: u64) -> bool {
            match csr {
                $($n => {
                    // SAFETY: writing a listed CSR; the caller owns the state it controls.
                    unsafe { core::arch::asm!(concat!("csrw ", stringify!($n), ", {0}"), in(reg) value) };
                    true
                })*
                _ => false,
            }
        }

        /// Reads CSR `csr`, catching the trap of an absent one (its exception code).
        pub fn try_read(csr: u16) -> Result<u64, u64> {
            match csr {
                $($n => crate::catch::guarded(|| {
                    let (v, fault): (u64, u64);
                    // SAFETY: a trap is caught and reported in t6.
                    unsafe {
                        core::arch::asm!(
                            concat!("csrr {0}, ", stringify!($n)),
                            out(reg) v,
                            inout("t6") 0u64 => fault,
                        )
                    };
                    if fault == 0 { Ok(v) } else { Err(fault - 1) }
                }),)*
                _ => Err(2),
            }
        }

        /// Writes CSR `csr`, catching the trap of an absent or read-only one.
        pub fn try_write(csr: u16, value: u64) -> Result<(), u64> {
            match csr {
                $($n => crate::catch::guarded(|| {
                    let fault: u64;
                    // SAFETY: a trap is caught and reported in t6.
                    unsafe {
                        core::arch::asm!(
                            concat!("csrw ", stringify!($n), ", {0}"),
                            in(reg) value,
                            inout("t6") 0u64 => fault,
                        )
                    };
                    if fault == 0 { Ok(()) } else { Err(fault - 1) }
                }),)*
                _ => Err(2),
            }
        }
    };
}

csrs! {
    // Supervisor.
    0x100 0x104 0x105 0x106 0x10a 0x140 0x141 0x142 0x143 0x144 0x14d 0x150 0x151 0x15c 0x180
    0xdb0
    // Hypervisor.
    0x600 0x602 0x603 0x604 0x605 0x606 0x607 0x608 0x609 0x60a 0x643 0x644 0x645 0x646 0x647
    0x60c 0x64a 0x680 0xe12
    // Virtual supervisor.
    0x200 0x204 0x205 0x240 0x241 0x242 0x243 0x244 0x24d 0x250 0x251 0x25c 0x280 0xeb0
    // Time.
    0xc01
}
