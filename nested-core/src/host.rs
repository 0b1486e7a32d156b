//! The boundary with the host hypervisor (L0): what the engine asks of it.
//!
//! The engine never touches a real CSR, never dereferences guest memory and never allocates;
//! the host implements these traits over its hardware (a test, over a software model).

pub use aia_virt::{GuestFileHardware, NoGuestFileHardware, PhysGuestFile};
pub use gstage::{FrameKind, FramePool, HostFrame, HostMapping, L1AddressMap};

/// An L1 guest-physical address the host does not back with memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemError;

/// L1's guest-physical memory.
pub trait GuestMemory {
    /// Reads `buf.len()` bytes at `gpa`.
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError>;
    /// Writes `buf` at `gpa`.
    fn write(&mut self, gpa: u64, buf: &[u8]) -> Result<(), MemError>;
    /// Atomically replaces the little-endian u64 at `gpa` by `new` if it equals `old`;
    /// returns the value found.
    fn compare_exchange_u64(&mut self, gpa: u64, old: u64, new: u64) -> Result<u64, MemError>;
}

/// A fault the hardware raised while the host fetched an instruction of L1 (HLVX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchFault {
    /// The exception code the fetch raised.
    pub cause: u64,
}

/// The real hart the L1 vCPU runs on.
pub trait PhysicalHart {
    /// Reads a real CSR (the vs* CSRs, hstatus, `time`, ...).
    fn read_csr(&self, csr: u16) -> u64;
    /// Writes a real CSR.
    fn write_csr(&mut self, csr: u16, value: u64);
    /// A real HFENCE.GVMA; `None` operands are x0. `gpa` is the address, not shifted.
    fn hfence_gvma(&mut self, vmid: Option<u16>, gpa: Option<u64>);
    /// A real HFENCE.VVMA for the guest of physical VMID `vmid` (the host switches hgatp's
    /// VMID around it if needed); `None` operands are x0.
    fn hfence_vvma(&mut self, vmid: u16, asid: Option<u16>, va: Option<u64>);
    /// Fetches the 32-bit instruction L1 executed at guest virtual address `va` (HLVX.WU on
    /// hardware), for when the trap did not report its bits.
    fn fetch_instruction(&mut self, va: u64) -> Result<u32, FetchFault>;
}

/// Everything the engine needs from the host, lent as five separate borrows, since one
/// operation needs several at once (a shadow fill reads L1's tables, consults the L1 map and
/// takes frames from the pool).
pub trait Host {
    /// L1's guest-physical memory.
    type Memory: GuestMemory + ?Sized;
    /// The host's map of L1's guest-physical memory.
    type Map: L1AddressMap + ?Sized;
    /// Frames for shadow page tables.
    type Pool: FramePool + ?Sized;
    /// The real hart.
    type Hart: PhysicalHart + ?Sized;
    /// The real guest interrupt files the host lends L1's virtual ones (AIA), reached from
    /// HS-mode. An access must leave the real `hstatus.VGEIN` and `vsiselect` as it found
    /// them: the engine keeps L1's or L2's values there. A host that lends none (or does not
    /// offer L1 the AIA) uses [`NoGuestFileHardware`], kept as a field so it can be lent.
    type Files: GuestFileHardware + ?Sized;

    /// The five parts, borrowed together.
    fn parts(&mut self) -> PartsOf<'_, Self>;
}

/// The [`HostParts`] of host `H`.
pub type PartsOf<'a, H> = HostParts<
    'a,
    <H as Host>::Memory,
    <H as Host>::Map,
    <H as Host>::Pool,
    <H as Host>::Hart,
    <H as Host>::Files,
>;

/// The parts of a [`Host`], borrowed at once.
pub struct HostParts<'a, M: ?Sized, A: ?Sized, P: ?Sized, H: ?Sized, F: ?Sized> {
    /// L1's guest-physical memory.
    pub memory: &'a mut M,
    /// The host's map of L1's memory.
    pub map: &'a A,
    /// The frame pool.
    pub pool: &'a mut P,
    /// The real hart.
    pub hart: &'a mut H,
    /// The real guest interrupt files.
    pub files: &'a mut F,
}

/// Real CSR numbers the engine reads and writes through [`PhysicalHart`]: the same numbers as
/// the virtual file's, and `time`.
pub mod real {
    pub use crate::csr::number::*;
    /// The host's own `sstatus` (HS-level), whose MXR, FS and VS act on L2 too.
    pub const SSTATUS: u16 = 0x100;
    /// The `time` CSR.
    pub const TIME: u16 = 0xc01;
}
