//! The only unsafe code of `l1-hv`: memory it reaches by physical address (its device tree,
//! its initrd, L2's RAM, the NACL shared memory, an IMSIC interrupt file's register, the
//! UART's and the PLIC's registers) and the instructions Rust has no name for (HFENCE.GVMA,
//! HLV.D, reading sp). L1 runs with satp = Bare: addresses are physical (or guest-physical when L1 is itself a guest).

use core::cell::UnsafeCell;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering, fence};
use fdt::{Fdt, FdtError};
use nacl_shmem::{AccessError, WordAccess, Xlen};

/// The device tree at `addr`.
pub fn device_tree(addr: usize) -> Result<Fdt<'static>, FdtError> {
    // SAFETY: the firmware (or L0) passes the address of a device tree in L1's memory, which
    // nothing writes while L1 runs (L2's RAM is claimed clear of it).
    unsafe { Fdt::from_ptr(addr as *const u8) }
}

/// The bytes of the initrd at `range`.
pub fn initrd(range: &Range<u64>) -> &'static [u8] {
    let len = (range.end - range.start) as usize;
    // SAFETY: the device tree names the range as the initrd the loader put in RAM; L1 only
    // reads it, and L2's RAM is claimed clear of it.
    unsafe { core::slice::from_raw_parts(range.start as *const u8, len) }
}

/// An address outside L2's RAM.
#[derive(Clone, Copy, Debug)]
pub struct OutsideRam(pub u64);

/// L2's RAM: a range of L1's RAM that nothing else uses, written by physical address.
pub struct GuestRam {
    base: u64,
    len: u64,
}

/// Whether the one `GuestRam` exists.
static CLAIMED: AtomicBool = AtomicBool::new(false);

impl GuestRam {
    /// Claims `len` bytes at the first `align`-aligned address of `ram` above L1's image that
    /// overlaps none of `busy`. Only once: a second claim would alias the first.
    pub fn claim(ram: &Range<u64>, busy: &[Range<u64>], len: u64, align: u64) -> Option<Self> {
        let image_end = bare::entry::image_range().1 as u64;
        let mut base = image_end.max(ram.start).next_multiple_of(align);
        loop {
            let end = base.checked_add(len)?;
            if end > ram.end {
                return None;
            }
            match busy.iter().find(|b| b.start < end && base < b.end) {
                Some(b) => base = b.end.next_multiple_of(align),
                None if CLAIMED.swap(true, Ordering::AcqRel) => return None,
                None => return Some(GuestRam { base, len }),
            }
        }
    }

    /// The first physical address.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// `[pa, pa + len)`, checked to lie inside.
    fn at(&self, pa: u64, len: u64) -> Result<*mut u8, OutsideRam> {
        let inside = pa >= self.base
            && pa
                .checked_add(len)
                .is_some_and(|end| end <= self.base + self.len);
        if inside {
            Ok(pa as *mut u8)
        } else {
            Err(OutsideRam(pa))
        }
    }

    /// Copies `bytes` to `pa`.
    pub fn copy(&self, pa: u64, bytes: &[u8]) -> Result<(), OutsideRam> {
        let to = self.at(pa, bytes.len() as u64)?;
        // SAFETY: `at` checked the range lies in L2's RAM, which `claim` found clear of L1's
        // image, its device tree, its initrd and reserved memory: no Rust object lives there.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), to, bytes.len()) };
        Ok(())
    }

    /// Zeroes `[pa, pa + len)`.
    pub fn zero(&self, pa: u64, len: u64) -> Result<(), OutsideRam> {
        let to = self.at(pa, len)?;
        // SAFETY: as in `copy`.
        unsafe { core::ptr::write_bytes(to, 0, len as usize) };
        Ok(())
    }

    /// Writes the doubleword at `pa` (8-aligned).
    pub fn write_u64(&self, pa: u64, value: u64) -> Result<(), OutsideRam> {
        if !pa.is_multiple_of(8) {
            return Err(OutsideRam(pa));
        }
        let to = self.at(pa, 8)?.cast::<u64>();
        // SAFETY: as in `copy`; the address is aligned.
        unsafe { to.write_volatile(value) };
        Ok(())
    }
}

/// An IMSIC interrupt file's page (AIA spec, "Incoming MSI Controller", memory region): its
/// register seteipnum_le at offset 0 makes pending the identity written to it.
#[derive(Clone, Copy, Debug)]
pub struct InterruptFilePage(u64);

impl InterruptFilePage {
    /// The 4 KiB page at `pa`, if it lies inside `imsic`, the region of an IMSIC that the
    /// device tree names.
    pub fn within(imsic: &Range<u64>, pa: u64) -> Option<Self> {
        let inside =
            pa >= imsic.start && pa.checked_add(0x1000).is_some_and(|end| end <= imsic.end);
        (inside && pa.is_multiple_of(0x1000)).then_some(InterruptFilePage(pa))
    }

    /// Its physical address.
    pub fn pa(self) -> u64 {
        self.0
    }

    /// Writes `identity` to seteipnum_le (little-endian, as the register is).
    pub fn set_pending(self, identity: u32) {
        // SAFETY: an aligned 32-bit store to a device register (`within` checked the page lies
        // in an IMSIC's region, which holds no Rust object); it only sets a pending bit.
        unsafe { (self.0 as *mut u32).write_volatile(identity.to_le()) }
    }
}

/// A device's registers (a UART's, a PLIC's), reached by physical address: a region the
/// device tree names for that device, which holds no Rust object.
#[derive(Clone, Debug)]
pub struct DeviceRegisters(Range<u64>);

impl DeviceRegisters {
    /// The registers of the device whose `reg` is `region`.
    pub fn new(region: Range<u64>) -> Self {
        DeviceRegisters(region)
    }

    /// The address of the `width`-byte register at `offset`, aligned and inside the region.
    fn at(&self, offset: u64, width: u64) -> Option<u64> {
        let pa = self.0.start.checked_add(offset)?;
        (pa.is_multiple_of(width) && pa.checked_add(width)? <= self.0.end).then_some(pa)
    }

    /// Reads the byte register at `offset` (0 outside the region).
    pub fn read_u8(&self, offset: u64) -> u8 {
        // SAFETY: a byte load from a device register inside the region (`at` checked it),
        // which holds no Rust object.
        self.at(offset, 1)
            .map_or(0, |pa| unsafe { (pa as *const u8).read_volatile() })
    }

    /// Writes the byte register at `offset` (nothing outside the region).
    pub fn write_u8(&self, offset: u64, value: u8) {
        if let Some(pa) = self.at(offset, 1) {
            // SAFETY: as in `read_u8`, a byte store.
            unsafe { (pa as *mut u8).write_volatile(value) }
        }
    }

    /// Reads the 32-bit register at `offset` (0 outside the region or misaligned).
    pub fn read_u32(&self, offset: u64) -> u32 {
        // SAFETY: as in `read_u8`, an aligned 32-bit load.
        self.at(offset, 4).map_or(0, |pa| {
            u32::from_le(unsafe { (pa as *const u32).read_volatile() })
        })
    }

    /// Writes the 32-bit register at `offset` (nothing outside the region or misaligned).
    pub fn write_u32(&self, offset: u64, value: u32) {
        if let Some(pa) = self.at(offset, 4) {
            // SAFETY: as in `read_u8`, an aligned 32-bit store.
            unsafe { (pa as *mut u32).write_volatile(value.to_le()) }
        }
    }
}

const SHMEM_SIZE: usize = sbi_spec::nacl::shmem_size::NATIVE;

/// One hart's NACL shared memory: 4 KiB-aligned, as set_shmem requires.
#[repr(C, align(4096))]
struct ShmemPages(UnsafeCell<[u8; SHMEM_SIZE]>);

// SAFETY: each hart uses only its own pages (by hart ID); L0 reads and writes them only
// during that hart's SBI calls. Rust never makes a reference to them.
unsafe impl Sync for ShmemPages {}

static SHMEM: [ShmemPages; bare::MAX_HARTS] =
    [const { ShmemPages(UnsafeCell::new([0; SHMEM_SIZE])) }; bare::MAX_HARTS];

/// A hart's NACL shared memory, word by word, in place: L0 changes it behind Rust's back
/// (write-back of CSRs, pending bits cleared), so every access is volatile.
pub struct NaclShmem {
    base: *mut u8,
}

impl NaclShmem {
    /// The shared memory of hart `hartid` (below `bare::MAX_HARTS`, as every running hart is).
    pub fn of(hartid: usize) -> Self {
        NaclShmem {
            base: SHMEM[hartid].0.get().cast(),
        }
    }

    /// Its physical address, for set_shmem.
    pub fn pa(&self) -> usize {
        self.base as usize
    }

    fn word(&self, offset: usize) -> Result<*mut u64, AccessError> {
        if offset.is_multiple_of(8) && offset < SHMEM_SIZE {
            Ok(self.base.wrapping_add(offset).cast())
        } else {
            Err(AccessError::OutOfBounds { offset })
        }
    }
}

impl WordAccess for NaclShmem {
    fn xlen(&self) -> Xlen {
        Xlen::Rv64
    }

    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        let word = self.word(offset)?;
        // SAFETY: an aligned word inside this hart's shared memory (`word` checked).
        Ok(u64::from_le(unsafe { word.read_volatile() }))
    }

    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        let word = self.word(offset)?;
        // SAFETY: as in `read_word`.
        unsafe { word.write_volatile(value.to_le()) };
        Ok(())
    }

    fn read_word_acquire(&self, offset: usize) -> Result<u64, AccessError> {
        let value = self.read_word(offset);
        fence(Ordering::Acquire);
        value
    }

    fn write_word_release(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        fence(Ordering::Release);
        self.write_word(offset, value)
    }
}
