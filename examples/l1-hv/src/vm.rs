//! L2's machine: its RAM in a free range of L1's, the `l2-guest` image loaded there, and its
//! G-stage table (VMID 1) written with `gstage`, which maps L2's RAM but one page, left for
//! L2's first touch, and maps `UNBACKED` to an L1 address with nothing behind it. One more
//! page of L1's waits to take `MOVED_PAGE`'s place. On an AIA machine (with `aia=on`) the
//! table also maps a guest interrupt file, L2's own.

use core::fmt;
use gstage::{Fences, GStageTable, HfenceGvma, Hgatp, LeafAttrs, PageSize, Perms, WriteError};
use l2_guest::layout::{
    HAS_INTERRUPT_FILE, INTERRUPT_FILE, INTERRUPT_FILE_FLAG, LAZY_PAGE, LAZY_PAGES, MAILBOX,
    MAILBOX_VALUE, MOVED_AFTER, MOVED_BEFORE, MOVED_PAGE, PAGE, RAM_BASE, RAM_SIZE, UNBACKED,
};
use spin::Mutex;

use crate::frames::FRAMES;
use crate::hw::{self, GuestRam, OutsideRam};
use crate::imsic::{GuestFile, ImsicError};
use crate::machine::Machine;

/// L2's VMID.
const VMID: u16 = 1;
/// L2's RAM is placed on this alignment, so that its table can use 2 MiB leaves.
const SUPERPAGE: u64 = 2 << 20;
/// Every leaf of L2's table: ordinary memory, readable, writable, executable.
const RWX: LeafAttrs = LeafAttrs::new(Perms::R.union(Perms::W).union(Perms::X));
/// The leaf of L2's interrupt file: readable and writable, not executable; its memory type is
/// the PMA's (I/O).
const DEVICE: LeafAttrs = LeafAttrs::new(Perms::R.union(Perms::W));
/// L2's interrupt file: guest file 1 of hart 0, the hart L2's boot hart runs on.
const L2_FILE: (usize, u32) = (0, 1);

/// What a hart needs to enter L2.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// L2's entry point.
    pub entry: u64,
    /// The hgatp of L2's table.
    pub hgatp: Hgatp,
    /// L2's interrupt file, if it has one.
    pub interrupt_file: Option<GuestFile>,
}

/// L2's memory, table and interrupt file.
struct Vm {
    ram: GuestRam,
    table: GStageTable,
    entry: u64,
    interrupt_file: Option<GuestFile>,
}

static VM: Mutex<Option<Vm>> = Mutex::new(None);

/// Why L2's machine cannot be built or changed.
#[derive(Clone, Copy, Debug)]
pub enum VmError {
    /// No free range of L1's RAM is large enough.
    NoRoom,
    /// `l2-guest` does not load.
    Image(bare::image::ImageError),
    /// An address outside L2's RAM.
    OutsideRam(u64),
    /// The table writer refused.
    Table(WriteError),
    /// L2 touched a guest-physical address L1 does not map.
    NotMapped(u64),
    /// L2's access is one L1's mapping of the page does not allow.
    Denied(u64),
    /// The machine was not built yet.
    NotBuilt,
    /// The machine's IMSIC has no interrupt file for L2.
    Imsic(ImsicError),
}

impl From<OutsideRam> for VmError {
    fn from(OutsideRam(pa): OutsideRam) -> Self {
        VmError::OutsideRam(pa)
    }
}

impl From<WriteError> for VmError {
    fn from(error: WriteError) -> Self {
        VmError::Table(error)
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::NoRoom => write!(f, "no room for L2's RAM"),
            Self::Image(error) => write!(f, "l2-guest does not load: {error:?}"),
            Self::OutsideRam(address) => write!(f, "{address:#x} is outside L2's RAM"),
            Self::Table(error) => write!(f, "the G-stage writer refused: {error:?}"),
            Self::NotMapped(gpa) => write!(f, "L2 touched unmapped GPA {gpa:#x}"),
            Self::Denied(gpa) => write!(f, "L2's access to GPA {gpa:#x} is not allowed"),
            Self::NotBuilt => write!(f, "L2's machine is not built"),
            Self::Imsic(error) => write!(f, "{error}"),
        }
    }
}

/// Builds L2's machine: claims its RAM (and the spare page), loads `l2-guest`, writes the
/// table (with L2's interrupt file, when the machine has an IMSIC), and writes `MAILBOX_VALUE`,
/// `MOVED_BEFORE` and the interrupt-file flag through L2's own mapping.
pub fn create(machine: &Machine) -> Result<Plan, VmError> {
    let ram = GuestRam::claim(&machine.ram, &machine.busy, RAM_SIZE + PAGE, SUPERPAGE)
        .ok_or(VmError::NoRoom)?;
    ram.zero(ram.base(), RAM_SIZE + PAGE)?;
    let entry = load(&ram, hw::initrd(&machine.initrd))?;
    let mut vm = VM.lock();
    let mut pool = FRAMES.lock();
    let mut table = GStageTable::new(machine.options.gstage, VMID, &mut *pool)?;
    // No hart has used this table: each fences VMID 1 before its first entry.
    let mut fences = Fences::new();
    let hole = LAZY_PAGE - RAM_BASE;
    table.map_range(&mut *pool, RAM_BASE, ram.base(), hole, RWX, &mut fences)?;
    let rest = hole + LAZY_PAGES * PAGE;
    let (gpa, pa) = (RAM_BASE + rest, ram.base() + rest);
    table.map_range(&mut *pool, gpa, pa, RAM_SIZE - rest, RWX, &mut fences)?;
    let interrupt_file = match &machine.imsic {
        Some(imsic) => Some(
            imsic
                .guest_file(L2_FILE.0, L2_FILE.1)
                .map_err(VmError::Imsic)?,
        ),
        None => None,
    };
    if let Some(file) = interrupt_file {
        let pa = file.page.pa();
        table.map(
            &mut *pool,
            INTERRUPT_FILE,
            pa,
            PageSize::Size4K,
            DEVICE,
            &mut fences,
        )?;
    }
    table.map(
        &mut *pool,
        UNBACKED,
        crate::faults::NOTHING,
        PageSize::Size4K,
        RWX,
        &mut fences,
    )?;
    let flag = interrupt_file.map(|_| (INTERRUPT_FILE_FLAG, HAS_INTERRUPT_FILE));
    let notes = [(MAILBOX, MAILBOX_VALUE), (MOVED_PAGE, MOVED_BEFORE)];
    for (gpa, value) in notes.into_iter().chain(flag) {
        let leaf = table.lookup(&*pool, gpa).ok_or(VmError::NotMapped(gpa))?;
        ram.write_u64(leaf.pa_of(gpa), value)?;
    }
    let plan = Plan {
        entry,
        hgatp: table.hgatp(),
        interrupt_file,
    };
    *vm = Some(Vm {
        ram,
        table,
        entry,
        interrupt_file,
    });
    Ok(plan)
}

/// Loads the ELF `image` into `ram`, its segments' physical addresses read as L2 GPAs.
fn load(ram: &GuestRam, image: &[u8]) -> Result<u64, VmError> {
    // An L2 GPA below RAM_BASE or past L2's RAM is refused, not wrapped.
    let pa = |gpa: u64| {
        gpa.checked_sub(RAM_BASE)
            .filter(|&offset| offset < RAM_SIZE)
            .map(|offset| ram.base() + offset)
    };
    bare::image::load(
        image,
        RAM_BASE,
        bare::image::Placement {
            copy: &mut |gpa, bytes| pa(gpa).is_some_and(|pa| ram.copy(pa, bytes).is_ok()),
            zero: &mut |gpa, len| pa(gpa).is_some_and(|pa| ram.zero(pa, len).is_ok()),
        },
    )
    .map_err(VmError::Image)
}

/// Writes `value` to L2's doubleword at `gpa`, through L2's own mapping.
pub fn note(gpa: u64, value: u64) -> Result<(), VmError> {
    let vm = VM.lock();
    let vm = vm.as_ref().ok_or(VmError::NotBuilt)?;
    let pool = FRAMES.lock();
    let leaf = vm
        .table
        .lookup(&*pool, gpa)
        .ok_or(VmError::NotMapped(gpa))?;
    vm.ram.write_u64(leaf.pa_of(gpa), value)?;
    Ok(())
}

/// What a hart needs to enter L2, once it is built.
pub fn plan() -> Result<Plan, VmError> {
    let vm = VM.lock();
    let vm = vm.as_ref().ok_or(VmError::NotBuilt)?;
    Ok(Plan {
        entry: vm.entry,
        hgatp: vm.table.hgatp(),
        interrupt_file: vm.interrupt_file,
    })
}

/// L2's interrupt file, if it has one.
pub fn interrupt_file() -> Option<GuestFile> {
    VM.lock().as_ref().and_then(|vm| vm.interrupt_file)
}

/// What a guest-page fault at a mapped address asks for.
pub enum Fault {
    /// The lazy page at this GPA is mapped now; the faulting hart must run these fences.
    Mapped(u64, Fences),
    /// The page was mapped already: the hart saw a translation from before the mapping was
    /// fenced (allowed for an invalid entry made valid). Fencing the page is enough.
    Stale(Fences),
}

/// Handles L2's guest-page fault (exception `cause`: 20 fetch, 21 load, 23 store) at `gpa`:
/// maps a lazy page, or finds a stale translation (the mapping allows the access).
pub fn guest_page_fault(cause: u64, gpa: u64) -> Result<Fault, VmError> {
    let mut vm = VM.lock();
    let vm = vm.as_mut().ok_or(VmError::NotBuilt)?;
    let mut pool = FRAMES.lock();
    let page = gpa & !(PAGE - 1);
    // Without Svvptc a hart may keep the invalid entry it faulted on, so the page is fenced
    // even though a new mapping over an invalid entry asks the writer for no fence.
    let mut fences = Fences::new();
    fences.push(HfenceGvma {
        vmid: Some(VMID),
        gpa: Some(page),
    });
    if let Some(leaf) = vm.table.lookup(&*pool, page) {
        let needed = match cause {
            20 => Perms::X,
            21 => Perms::R,
            _ => Perms::W,
        };
        return if leaf.pte.perms().contains(needed) {
            Ok(Fault::Stale(fences))
        } else {
            Err(VmError::Denied(gpa))
        };
    }
    if !(LAZY_PAGE..LAZY_PAGE + LAZY_PAGES * PAGE).contains(&page) {
        return Err(VmError::NotMapped(gpa));
    }
    let pa = vm.ram.base() + (page - RAM_BASE);
    vm.table
        .map(&mut *pool, page, pa, PageSize::Size4K, RWX, &mut fences)?;
    Ok(Fault::Mapped(page, fences))
}

/// Moves `MOVED_PAGE` to the spare page of L1's, which holds `MOVED_AFTER`; returns the
/// fences every hart that ran L2 needs.
pub fn move_page() -> Result<Fences, VmError> {
    let mut vm = VM.lock();
    let vm = vm.as_mut().ok_or(VmError::NotBuilt)?;
    let mut pool = FRAMES.lock();
    let spare = vm.ram.base() + RAM_SIZE;
    vm.ram.write_u64(spare, MOVED_AFTER)?;
    let mut fences = Fences::new();
    vm.table.map(
        &mut *pool,
        MOVED_PAGE,
        spare,
        PageSize::Size4K,
        RWX,
        &mut fences,
    )?;
    Ok(fences)
}
