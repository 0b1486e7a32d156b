//! The hardware layer: the only module of `mini-hv` with `unsafe` code. It gives the engine
//! its host traits over the real hart and memory: CSRs, HFENCEs, HLVX fetches, L1's memory
//! and the frame pool, each a window of host physical memory that `mini-hv` owns (it runs with
//! satp = Bare, so a physical address is a pointer).

use gstage::{FrameKind, FramePool, HostFrame};
use nested_core::csr::bits::{SSTATUS_FS, SSTATUS_VS};
use nested_core::host::{FetchFault, GuestMemory, MemError, PhysicalHart, real};
use nested_core::{RealVsFields, VsatpModes};

/// A window of host physical memory `mini-hv` owns: `[base, base + size)`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub base: u64,
    pub size: u64,
}

impl Window {
    /// The host address of `[offset, offset + len)` inside the window, if it is inside.
    fn at(&self, offset: u64, len: usize) -> Option<*mut u8> {
        let end = offset.checked_add(len as u64)?;
        (end <= self.size).then(|| (self.base + offset) as *mut u8)
    }

    /// Copies `bytes` to `offset`; false when out of the window.
    pub fn write(&self, offset: u64, bytes: &[u8]) -> bool {
        let Some(to) = self.at(offset, bytes.len()) else {
            return false;
        };
        // SAFETY: the window is memory `mini-hv` owns exclusively (carved at boot from RAM
        // the device tree lists, apart from the firmware, this image and the bundle), and the
        // range was checked to lie inside it.
        unsafe { core::ptr::copy(bytes.as_ptr(), to, bytes.len()) };
        true
    }

    /// Copies from `offset` into `buf`; false when out of the window. An aligned doubleword
    /// or word (a page-table entry of L1's, a shared-memory word) is read in one access, so
    /// that a write by L1 on another hart cannot tear it.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> bool {
        use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
        let Some(from) = self.at(offset, buf.len()) else {
            return false;
        };
        let aligned = |n: usize| buf.len() == n && (from as usize).is_multiple_of(n);
        if aligned(8) {
            // SAFETY: an aligned u64 inside the window (as in `write`), read atomically since
            // L1 may write it concurrently.
            let word = unsafe { AtomicU64::from_ptr(from.cast()) }.load(Relaxed);
            buf.copy_from_slice(&word.to_le_bytes());
        } else if aligned(4) {
            // SAFETY: as above, for an aligned u32.
            let word = unsafe { AtomicU32::from_ptr(from.cast()) }.load(Relaxed);
            buf.copy_from_slice(&word.to_le_bytes());
        } else {
            // SAFETY: as in `write`.
            unsafe { core::ptr::copy(from, buf.as_mut_ptr(), buf.len()) };
        }
        true
    }

    /// Zeroes `[offset, offset + len)`; false when out of the window.
    pub fn zero(&self, offset: u64, len: u64) -> bool {
        let Some(to) = usize::try_from(len).ok().and_then(|n| self.at(offset, n)) else {
            return false;
        };
        // SAFETY: as in `write`.
        unsafe { core::ptr::write_bytes(to, 0, len as usize) };
        true
    }

    /// The window's bytes `[offset, offset + len)`, read-only (the bundle).
    pub fn bytes(&self, offset: u64, len: usize) -> Option<&'static [u8]> {
        let from = self.at(offset, len)?;
        // SAFETY: as in `write`; the bundle window is never written.
        Some(unsafe { core::slice::from_raw_parts(from, len) })
    }
}

/// L1's RAM: guest-physical `[gpa_base, gpa_base + window.size)` at the host window.
#[derive(Clone, Copy, Debug)]
pub struct L1Ram {
    pub gpa_base: u64,
    pub window: Window,
}

impl L1Ram {
    fn offset(&self, gpa: u64) -> Result<u64, MemError> {
        gpa.checked_sub(self.gpa_base).ok_or(MemError)
    }
}

impl GuestMemory for L1Ram {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let offset = self.offset(gpa)?;
        self.window.read(offset, buf).then_some(()).ok_or(MemError)
    }

    fn write(&mut self, gpa: u64, buf: &[u8]) -> Result<(), MemError> {
        let offset = self.offset(gpa)?;
        self.window.write(offset, buf).then_some(()).ok_or(MemError)
    }

    fn compare_exchange_u64(&mut self, gpa: u64, old: u64, new: u64) -> Result<u64, MemError> {
        let offset = self.offset(gpa)?;
        if !gpa.is_multiple_of(8) {
            return Err(MemError);
        }
        let at = self.window.at(offset, 8).ok_or(MemError)?;
        // SAFETY: an aligned u64 inside L1's RAM, which L1 may be using concurrently on
        // another hart: the access is atomic, as the hardware's A/D update would be.
        let word = unsafe { core::sync::atomic::AtomicU64::from_ptr(at.cast()) };
        Ok(
            match word.compare_exchange(
                old,
                new,
                core::sync::atomic::Ordering::AcqRel,
                core::sync::atomic::Ordering::Acquire,
            ) {
                Ok(found) | Err(found) => found,
            },
        )
    }
}

/// Frames for page tables (L1's G-stage and the shadows), from a window: a bump allocator
/// with a free list per kind, linked through the free frames' first words (0 ends a list), so
/// that every freed frame is used again however many there are.
#[derive(Debug)]
pub struct Pool {
    window: Window,
    next: u64,
    free_tables: u64,
    free_roots: u64,
    in_use: usize,
}

impl Pool {
    pub const fn new(window: Window) -> Self {
        Pool {
            window,
            next: 0,
            free_tables: 0,
            free_roots: 0,
            in_use: 0,
        }
    }

    /// The free list of frames of `kind`.
    fn free_list(&mut self, kind: FrameKind) -> &mut u64 {
        match kind {
            FrameKind::Table => &mut self.free_tables,
            FrameKind::Root => &mut self.free_roots,
        }
    }

    /// Frames handed out and not returned.
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    fn words(&self, frame: HostFrame) -> *mut u64 {
        let len = frame.kind().entries() * 8;
        let offset = frame.pa().wrapping_sub(self.window.base);
        match self.window.at(offset, len) {
            Some(at) => at.cast(),
            // Only frames of this pool are passed back to it.
            None => panic!("frame {:#x} is not the pool's", frame.pa()),
        }
    }
}

impl FramePool for Pool {
    fn alloc(&mut self, kind: FrameKind) -> Option<HostFrame> {
        let bytes = kind.entries() as u64 * 8;
        let head = *self.free_list(kind);
        let pa = match head {
            0 => {
                let offset = self.next.next_multiple_of(bytes);
                if offset + bytes > self.window.size {
                    return None;
                }
                self.next = offset + bytes;
                self.window.base + offset
            }
            pa => {
                let mut next = [0; 8];
                self.window.read(pa - self.window.base, &mut next);
                *self.free_list(kind) = u64::from_le_bytes(next);
                pa
            }
        };
        self.window.zero(pa - self.window.base, bytes);
        self.in_use += 1;
        Some(HostFrame::new(pa, kind))
    }

    fn free(&mut self, frame: HostFrame) {
        self.in_use -= 1;
        let head = *self.free_list(frame.kind());
        // Only frames of this pool are passed back to it: the write lies in the window.
        self.window
            .write(frame.pa() - self.window.base, &head.to_le_bytes());
        *self.free_list(frame.kind()) = frame.pa();
    }

    fn table(&self, frame: HostFrame) -> &[u64] {
        // SAFETY: the frame lies in the pool's window (checked by `words`), is 8-byte aligned
        // and is borrowed as long as the pool is.
        unsafe { core::slice::from_raw_parts(self.words(frame), frame.kind().entries()) }
    }

    fn table_mut(&mut self, frame: HostFrame) -> &mut [u64] {
        // SAFETY: as in `table`, borrowed mutably with the pool.
        unsafe { core::slice::from_raw_parts_mut(self.words(frame), frame.kind().entries()) }
    }
}

/// The real hart.
#[derive(Debug, Default)]
pub struct Hart {
    /// HFENCEs executed on behalf of the engine.
    pub fences: u64,
}

impl PhysicalHart for Hart {
    fn read_csr(&self, csr: u16) -> u64 {
        // The engine names only CSRs of the H extension it was configured for.
        bare::csr::read(csr).unwrap_or(0)
    }

    fn write_csr(&mut self, csr: u16, value: u64) {
        bare::csr::write(csr, value);
    }

    fn hfence_gvma(&mut self, vmid: Option<u16>, gpa: Option<u64>) {
        self.fences += 1;
        bare::fence::hfence_gvma(vmid, gpa);
    }

    fn hfence_vvma(&mut self, vmid: u16, asid: Option<u16>, va: Option<u64>) {
        self.fences += 1;
        // HFENCE.VVMA acts on the VMID in hgatp: switch to `vmid` around it.
        let hgatp = bare::csr::read(0x680).unwrap_or(0);
        let vmid_field = 0x3fff_u64 << 44;
        bare::csr::write(0x680, (hgatp & !vmid_field) | (u64::from(vmid) << 44));
        bare::fence::hfence_vvma(asid, va);
        bare::csr::write(0x680, hgatp);
    }

    fn fetch_instruction(&mut self, va: u64) -> Result<u32, FetchFault> {
        // A trap from HS-mode would rewrite hstatus.SPV and GVA, which still describe L1.
        let hstatus = bare::csr::read(0x600).unwrap_or(0);
        let fetched = bare::catch::hlvx_wu(va);
        bare::csr::write(0x600, hstatus);
        fetched.map_err(|cause| FetchFault { cause })
    }
}

/// FENCE.I: instruction fetches see earlier stores.
pub fn fence_i() {
    // SAFETY: an instruction-fetch fence has no other effect.
    unsafe { core::arch::asm!("fence.i") };
}

#[global_allocator]
static HEAP: embedded_alloc::LlffHeap = embedded_alloc::LlffHeap::empty();
const HEAP_SIZE: usize = 1 << 20;

/// The heap (for building L1's device tree at boot).
pub fn init_heap() {
    static mut MEMORY: [core::mem::MaybeUninit<u8>; HEAP_SIZE] =
        [core::mem::MaybeUninit::uninit(); HEAP_SIZE];
    // SAFETY: called once, by the boot hart before anything allocates; the array is used by
    // nothing else.
    unsafe { HEAP.init(core::ptr::addr_of_mut!(MEMORY) as usize, HEAP_SIZE) }
}

/// A critical section for the allocator: interrupts are always masked in `mini-hv`'s own
/// code, so a spin lock across harts suffices.
struct SpinSection;
critical_section::set_impl!(SpinSection);
static SECTION: spin::Mutex<()> = spin::Mutex::new(());

// SAFETY: acquire and release pair up (the allocator never nests sections), and only one
// hart at a time holds the lock.
unsafe impl critical_section::Impl for SpinSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        core::mem::forget(SECTION.lock());
    }

    unsafe fn release(_: critical_section::RawRestoreState) {
        // SAFETY: the lock was taken (and its guard forgotten) by `acquire`.
        unsafe { SECTION.force_unlock() };
    }
}

/// The device tree the firmware passed, as a slice of its `totalsize`.
pub fn device_tree(address: usize) -> Result<&'static [u8], &'static str> {
    if address == 0 || !address.is_multiple_of(8) {
        return Err("no device tree");
    }
    // SAFETY: the firmware passes the address of a flattened device tree in RAM, which
    // `mini-hv` never writes; its header is 40 bytes.
    let header = unsafe { core::slice::from_raw_parts(address as *const u8, 40) };
    if header[..4] != [0xd0, 0x0d, 0xfe, 0xed] {
        return Err("a1 does not point to a device tree");
    }
    let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    // SAFETY: as above, `totalsize` bytes from its start.
    Ok(unsafe { core::slice::from_raw_parts(address as *const u8, size) })
}

/// The bits of `value` that stick when written to `csr` (its old value is put back): how
/// L0 learns the hart's VMIDLEN (hgatp.VMID) and hcounteren's writable bits.
pub fn sticky_bits(csr: u16, value: u64) -> u64 {
    let old = bare::csr::read(csr).unwrap_or(0);
    bare::csr::write(csr, value);
    let stuck = bare::csr::read(csr).unwrap_or(0) & value;
    bare::csr::write(csr, old);
    stuck
}

/// What the real hart accepts in the VS CSR fields L2 writes directly and a
/// [`nested_core::NestedConfig`] configures: vsatp's MODEs (each tried from Bare, a write of
/// an unsupported one being ignored) and ASID width, vsstatus.FS and vsstatus.VS.
pub fn real_vs_fields() -> RealVsFields {
    let accepts = |mode: u64| {
        bare::csr::write(real::VSATP, 0);
        sticky_bits(real::VSATP, mode << 60) == mode << 60
    };
    let old = bare::csr::read(real::VSATP).unwrap_or(0);
    let vsatp_modes = VsatpModes {
        sv32: false,
        sv39: accepts(8),
        sv48: accepts(9),
        sv57: accepts(10),
    };
    // The ASID field is there whatever the MODE, but only a translating MODE shows its width.
    let asid_bits = if vsatp_modes.sv39 {
        (sticky_bits(real::VSATP, 8 << 60 | 0xffff << 44) >> 44).count_ones()
    } else {
        0
    };
    bare::csr::write(real::VSATP, old);
    RealVsFields {
        vsatp_modes,
        asid_bits,
        fs: sticky_bits(real::VSSTATUS, SSTATUS_FS) == SSTATUS_FS,
        vs: sticky_bits(real::VSSTATUS, SSTATUS_VS) == SSTATUS_VS,
    }
}

/// The H CSRs under which a hart runs L1.
pub struct L1Csrs {
    pub hgatp: u64,
    pub hedeleg: u64,
    pub hideleg: u64,
    pub hstatus: u64,
    pub henvcfg: u64,
    /// sstatus bits to set (SPP for VS-mode, FS so that L1 may use the FPU).
    pub sstatus_set: u64,
}

/// Programs the hart to run L1 from reset.
pub fn enter_l1_csrs(csrs: L1Csrs) {
    let write = |csr, value| {
        bare::csr::write(csr, value);
    };
    write(0x280, 0); // vsatp
    write(0x680, csrs.hgatp);
    bare::fence::hfence_gvma(None, None);
    write(0x602, csrs.hedeleg);
    write(0x603, csrs.hideleg);
    write(0x600, csrs.hstatus);
    write(0x60a, csrs.henvcfg);
    write(0x606, 0xffff_ffff); // hcounteren
    write(0x605, 0); // htimedelta
    write(0x645, 0); // hvip
    write(0x200, 0); // vsstatus
    write(0x204, 0); // vsie
    if csrs.henvcfg >> 63 != 0 {
        write(0x24d, u64::MAX); // vstimecmp
    }
    // L0's own interrupts: software (IPIs) and timer; taken whenever V = 1.
    write(0x104, (1 << 1) | (1 << 5));
    let sstatus = bare::csr::read(0x100).unwrap_or(0);
    write(0x100, sstatus | csrs.sstatus_set);
}

/// Clears this hart's pending supervisor software interrupt (an IPI was taken).
pub fn clear_ssip() {
    let sip = bare::csr::read(0x144).unwrap_or(0);
    bare::csr::write(0x144, sip & !(1 << 1));
}

/// The real guest interrupt files of this hart's IMSIC, lent to L1's virtual guest files:
/// each access selects the file with hstatus.VGEIN and the register with vsiselect, and puts
/// both back.
#[derive(Clone, Copy, Debug)]
pub struct RealGuestFiles {
    /// The physical address of this hart's supervisor-level file (guest file g follows it,
    /// g pages on).
    pub s_file: u64,
}

const VGEIN_SHIFT: u32 = 12;
const VGEIN: u64 = 0x3f << VGEIN_SHIFT;

impl RealGuestFiles {
    /// Runs `f` with hstatus.VGEIN = `file`, then puts VGEIN back.
    fn with_file<R>(file: nested_core::host::PhysGuestFile, f: impl FnOnce() -> R) -> R {
        let hstatus = bare::csr::read(0x600).unwrap_or(0);
        let selected = (hstatus & !VGEIN) | (u64::from(file.get()) << VGEIN_SHIFT);
        bare::csr::write(0x600, selected);
        let result = f();
        bare::csr::write(0x600, hstatus);
        result
    }
}

impl nested_core::aia_virt::GuestFileHardware for RealGuestFiles {
    fn ireg_rmw(
        &mut self,
        file: nested_core::host::PhysGuestFile,
        iselect: u16,
        op: nested_core::aia_virt::CsrOp,
    ) -> u64 {
        use nested_core::aia_virt::CsrOp;
        Self::with_file(file, || {
            let vsiselect = bare::csr::read(0x250).unwrap_or(0);
            bare::csr::write(0x250, iselect.into());
            let old: u64;
            // SAFETY: an access to the selected register of a guest file this hart owns;
            // vsiselect and VGEIN are put back below.
            unsafe {
                match op {
                    CsrOp::Read => core::arch::asm!("csrr {0}, 0x251", out(reg) old),
                    CsrOp::Write(v) => {
                        core::arch::asm!("csrrw {0}, 0x251, {1}", out(reg) old, in(reg) v)
                    }
                    CsrOp::Set(v) => {
                        core::arch::asm!("csrrs {0}, 0x251, {1}", out(reg) old, in(reg) v)
                    }
                    CsrOp::Clear(v) => {
                        core::arch::asm!("csrrc {0}, 0x251, {1}", out(reg) old, in(reg) v)
                    }
                }
            }
            bare::csr::write(0x250, vsiselect);
            old
        })
    }

    fn topei_rmw(&mut self, file: nested_core::host::PhysGuestFile, claim: bool) -> u64 {
        Self::with_file(file, || {
            let topei: u64;
            // SAFETY: vstopei of a guest file this hart owns; a write claims its top interrupt.
            unsafe {
                if claim {
                    core::arch::asm!("csrrw {0}, 0x25c, x0", out(reg) topei);
                } else {
                    core::arch::asm!("csrr {0}, 0x25c", out(reg) topei);
                }
            }
            topei
        })
    }

    fn set_eipnum(&mut self, file: nested_core::host::PhysGuestFile, identity: u32) {
        let page = self.s_file + u64::from(file.get()) * 0x1000;
        // SAFETY: seteipnum_le, the first register of the guest file's page, a device register
        // of this hart's IMSIC (listed in the device tree) that `mini-hv` owns.
        unsafe { core::ptr::write_volatile(page as *mut u32, identity) };
    }

    fn hgeip(&mut self) -> u64 {
        bare::csr::read(0xe12).unwrap_or(0)
    }
}
