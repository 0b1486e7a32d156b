//! A VM's RAM: anonymous memory of this process that KVM maps at a guest-physical address.
//!
//! The guest writes it behind Rust's back (while its vCPU runs, inside KVM_RUN), so this
//! program sees it only as [`Cell`]s, which allow that, and copies bytes in and out. One VM's
//! RAM belongs to its thread (`GuestRam` is neither `Send` nor `Sync`), the thread that alone
//! runs the VM's only vCPU: the guest never writes it while this code reads or writes it.

use std::cell::Cell;
use std::io;
use std::ptr::NonNull;

pub struct GuestRam {
    base: u64,
    host: NonNull<u8>,
    size: usize,
}

impl GuestRam {
    /// `size` bytes of fresh, zeroed memory for guest-physical `base` onwards (not yet given
    /// to any VM: see [`GuestRam::host_address`]).
    pub fn new(base: u64, size: usize) -> io::Result<GuestRam> {
        // SAFETY: a new private anonymous mapping, placed by the kernel (no MAP_FIXED), so it
        // replaces nothing; no pointer is passed.
        let host = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if host == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let host = NonNull::new(host.cast()).ok_or_else(|| io::Error::other("mmap gave 0"))?;
        Ok(GuestRam { base, host, size })
    }

    /// Where this process has the RAM, for KVM_SET_USER_MEMORY_REGION.
    pub fn host_address(&self) -> u64 {
        self.host.as_ptr() as u64
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    fn cells(&self) -> &[Cell<u8>] {
        // SAFETY: `size` bytes mapped read-write by `new` and unmapped only by `drop`, so valid
        // for as long as `self` lends them; `Cell<u8>` has the layout of `u8`, any byte is a
        // valid one, and Cells may be changed behind shared references: by the guest, which
        // runs only inside KVM_RUN on this same thread (see the module's comment).
        unsafe { std::slice::from_raw_parts(self.host.as_ptr().cast::<Cell<u8>>(), self.size) }
    }

    /// Guest-physical `[gpa, gpa + len)`, if it is all RAM.
    fn range(&self, gpa: u64, len: usize) -> Option<&[Cell<u8>]> {
        let start = usize::try_from(gpa.checked_sub(self.base)?).ok()?;
        self.cells().get(start..start.checked_add(len)?)
    }

    /// Whether `[gpa, gpa + len)` is all RAM.
    pub fn contains(&self, gpa: u64, len: usize) -> bool {
        self.range(gpa, len).is_some()
    }

    /// Copies `bytes` to guest-physical `gpa`; false if the range is not all RAM.
    pub fn write(&self, gpa: u64, bytes: &[u8]) -> bool {
        let Some(range) = self.range(gpa, bytes.len()) else {
            return false;
        };
        range.iter().zip(bytes).for_each(|(to, &from)| to.set(from));
        true
    }

    /// Guest-physical `[gpa, gpa + len)`'s bytes, if it is all RAM.
    pub fn read(&self, gpa: u64, len: usize) -> Option<Vec<u8>> {
        Some(self.range(gpa, len)?.iter().map(Cell::get).collect())
    }
}

impl Drop for GuestRam {
    fn drop(&mut self) {
        // SAFETY: the mapping `new` made, unmapped once; no reference into it outlives `self`
        // (they borrow it), and the VM that used it is gone first (see `vm::Machine`).
        unsafe { libc::munmap(self.host.as_ptr().cast(), self.size) };
    }
}
