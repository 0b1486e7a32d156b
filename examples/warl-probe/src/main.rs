//! The WARL probe: writes each value of `nested_core::csr::PROBE_WRITES` to its H or VS CSR
//! in HS-mode and prints what reads back. Run directly on QEMU, its transcript is the
//! hardware's reference; run as L1 under `mini-hv`, it is the engine's. The two must match.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use bare::println;
use nested_core::csr::PROBE_WRITES;

bare::entry!(main);

fn main(hartid: usize, _dtb: usize) -> ! {
    println!("WARL: probe on hart {hartid}");
    let mut failed = false;
    for (csr, value) in PROBE_WRITES {
        let written = bare::csr::try_write(csr, value);
        let read = bare::csr::try_read(csr);
        match (written, read) {
            (Ok(()), Ok(back)) => {
                println!("WARL: csr {csr:#05x} write {value:#018x} read {back:#018x}")
            }
            (w, r) => {
                failed = true;
                println!("WARL: csr {csr:#05x} write {value:#018x} -> {w:?}, read {r:?}");
            }
        }
    }
    // The verdict is a compared line, so a failure on both sides is still a failure.
    println!("WARL: {}", if failed { "failed" } else { "done" });
    bare::shutdown(failed)
}
