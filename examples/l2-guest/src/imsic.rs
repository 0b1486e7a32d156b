//! L2's interrupt file, programmed through siselect/sireg: from VS-mode they reach the guest
//! interrupt file that hstatus.VGEIN selects (AIA spec, "Incoming MSI Controller", the
//! indirectly accessed interrupt-file registers).

use bare::{csr, println};

const SISELECT: u16 = 0x150;
const SIREG: u16 = 0x151;

/// eidelivery: 1 delivers the file's interrupts.
const EIDELIVERY: u64 = 0x70;
/// eithreshold: 0 masks no identity.
const EITHRESHOLD: u64 = 0x72;
/// eip0: the pending bits of identities 0 to 63 (on RV64).
const EIP0: u64 = 0x80;
/// eie0: their enable bits.
const EIE0: u64 = 0xc0;

/// Writes the interrupt-file register `select`.
fn write(select: u64, value: u64) {
    csr::write(SISELECT, select);
    csr::write(SIREG, value);
}

/// Reads the interrupt-file register `select`.
fn read(select: u64) -> u64 {
    csr::write(SISELECT, select);
    csr::read(SIREG).unwrap_or(0)
}

/// Makes the file deliver `identities` (1 to 63, those of eie0) and nothing else: none
/// pending, only they enabled, no threshold. Stops L2 if the file does not deliver.
pub fn deliver(identities: &[u64]) {
    write(EIDELIVERY, 0);
    write(EIP0, 0);
    write(EIE0, identities.iter().fold(0, |bits, id| bits | 1 << id));
    write(EITHRESHOLD, 0);
    write(EIDELIVERY, 1);
    let delivery = read(EIDELIVERY);
    if delivery != 1 {
        println!("L2: its interrupt file does not deliver (eidelivery {delivery:#x})");
        bare::shutdown(true);
    }
}

/// Claims the interrupt the file reports: its identity (in bits 26:16 of stopei), 0 if none.
pub fn claim() -> u64 {
    (crate::hw::claim() >> 16) & 0x7ff
}
