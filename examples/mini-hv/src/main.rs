//! `mini-hv`, L0: a small hypervisor that runs one guest hypervisor (L1) on every hart of
//! QEMU's `virt` machine and lets it run guests of its own through `nested-core`.
//!
//! The worked example of embedding the crates:
//! - `hw`: the host traits over the real hart and memory (the only `unsafe` code);
//! - `sbi`: L1's SBI through `sbi-dispatch`, with NACL and the nested HFENCEs of
//!   `nested-core`;
//! - `machine`: the device trees, L0's in and L1's out;
//! - `devices`: the UART and the PLIC L0 emulates for L1;
//! - `layout`: L0's command line (`l1-mem=SIZE`), the pool it implies, and where L1's initrd
//!   and device tree go;
//! - this file: boot (L1's memory, G-stage, image and device tree) and the trap handler that
//!   hands every trap of L1 and L2 to the engine, performs L1's accesses to its devices, keeps
//!   L0's timer armed for L1 and makes L1 take its interrupts while L2 runs.
#![no_std]
#![no_main]

extern crate alloc;

mod devices;
mod hw;
mod layout;
mod machine;
mod sbi;
mod stats;

use alloc::format;
use alloc::string::String;
use bare::println;
use bare::trap::TrapFrame;
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use devices::DeviceMap;
use gstage::{
    FillError, GStageMode, GStageTable, LeafAttrs, Perms, ShadowConfig, SupportedModes, WalkConfig,
};
use hw::RealGuestFiles;
use hw::{Hart, L1Ram, Pool, Window};
use nested_core::aia_virt::AiaConfig;
use nested_core::csr::bits::*;
use nested_core::host::real;
use nested_core::host::{GuestMemory, PhysGuestFile, PhysicalHart};
use nested_core::insn::MemoryAccess;
use nested_core::{
    Effects, FenceMailbox, GuestRegs, GuestTrap, NestedConfig, NestedHart, Outcome, Trap,
};
use nested_core::{Route, VirtualMode};
use sbi::{Ctx, HwHost, ImsicLend, L1Map};
use sbi_dispatch::{Departure, HartState, ResetReason, ResetType, SbiCall};
use spin::{Mutex, Once};
use stats::Stats;

/// Shadow G-stages kept per hart: one per address space of L1's guests that the hart switches
/// between without rebuilding (Linux KVM gives each VM its own), so an L1 hart can run eight
/// VMs in turn, each keeping its shadow.
pub const CONTEXTS: usize = 8;
/// Guest interrupt files each L1 hart gets on a machine with the AIA (GEILEN), each backed by
/// a real one; the real file after them is L1's own supervisor-level file.
pub const GEILEN: usize = 3;
/// Remote fences a hart's mailbox holds before it escalates to a full flush.
pub const MAILBOX: usize = 16;
/// L1's RAM, at the guest-physical address QEMU's `virt` uses.
const L1_RAM_GPA: u64 = 0x8000_0000;
/// The physical VMID L1 runs under; shadows use the ones after it.
const L1_VMID: u16 = 1;

/// The supervisor CSRs of L0's own traps.
const SCAUSE: u16 = 0x142;
const STVAL: u16 = 0x143;
const SCAUSE_INTERRUPT: u64 = 1 << 63;
/// sstatus.FS = Initial: L1 may use the FPU.
const SSTATUS_FS_INITIAL: u64 = 1 << 13;

/// What boot found and built, shared by every hart.
pub struct Machine {
    pub harts: usize,
    pub config: NestedConfig,
    shadow: ShadowConfig,
    map: L1Map,
    /// L1's emulated devices.
    devices: DeviceMap,
    l1_hgatp: u64,
    l1_dtb: u64,
}

static MACHINE: Once<Machine> = Once::new();
static POOL: Mutex<Pool> = Mutex::new(Pool::new(Window { base: 0, size: 0 }));

/// One L1 hart.
struct Vcpu {
    nested: NestedHart<CONTEXTS, GEILEN>,
    hart: Hart,
    line: heapless::Vec<u8, 256>,
    stats: Stats,
    timer: L0Timer,
    /// L1's supervisor external interrupt from its PLIC, as last made pending.
    sei: bool,
}

/// L0's timer on one hart, which serves L1's SBI timer and, while L2 runs, L1's Sstc timer
/// (whose stimecmp the hardware compares only while L1 runs).
#[derive(Debug)]
pub struct L0Timer {
    /// L1's SBI set_timer deadline, until it fires (`u64::MAX`: none).
    pub sbi_deadline: u64,
    /// What L0's timer is set to (`u64::MAX`: nothing).
    armed: u64,
}

impl L0Timer {
    /// Sets L0's timer for the earliest deadline that must wake L0: L1's SBI deadline and,
    /// while L2 runs, L1's Sstc deadline if it is still ahead (one already passed is either
    /// taken now or masked by L1, which cannot unmask it while L2 runs).
    fn arm(&mut self, nested: &NestedHart<CONTEXTS, GEILEN>) {
        let now = bare::time();
        let sstc = nested
            .l1_timer_deadline()
            .filter(|&deadline| deadline > now)
            .unwrap_or(u64::MAX);
        let wanted = self.sbi_deadline.min(sstc);
        if wanted != self.armed {
            bare::sbi::set_timer(wanted);
            self.armed = wanted;
        }
    }
}

static VCPUS: [Mutex<Option<Vcpu>>; bare::MAX_HARTS] =
    [const { Mutex::new(None) }; bare::MAX_HARTS];
pub type Mailboxes = [FenceMailbox<MAILBOX>];
pub static MAILBOXES: Once<[FenceMailbox<MAILBOX>; bare::MAX_HARTS]> = Once::new();
/// HSM state of each L1 hart, and where a started one begins (address, opaque).
pub static HART_STATE: [AtomicU8; bare::MAX_HARTS] =
    [const { AtomicU8::new(HartState::Stopped as u8) }; bare::MAX_HARTS];
pub static START: [(AtomicU64, AtomicU64); bare::MAX_HARTS] =
    [const { (AtomicU64::new(0), AtomicU64::new(0)) }; bare::MAX_HARTS];
/// An IPI for L1 is pending on this hart.
pub static PENDING_SSIP: [AtomicBool; bare::MAX_HARTS] =
    [const { AtomicBool::new(false) }; bare::MAX_HARTS];
/// This hart must fence L1's own translations (a remote SFENCE.VMA or FENCE.I of L1).
pub static FENCE_L1: [AtomicBool; bare::MAX_HARTS] =
    [const { AtomicBool::new(false) }; bare::MAX_HARTS];

pub fn machine_info() -> &'static Machine {
    MACHINE
        .get()
        .expect("the machine is set up before any L1 hart runs")
}

bare::entry!(main);

fn main(hartid: usize, dtb: usize) -> ! {
    hw::init_heap();
    match boot(hartid, dtb) {
        Ok(entry) => {
            HART_STATE[hartid].store(HartState::Started as u8, Ordering::SeqCst);
            enter_l1(hartid, entry, machine_info().l1_dtb)
        }
        Err(error) => {
            println!("[L0] cannot boot L1: {error}");
            bare::shutdown(true)
        }
    }
}

/// A hart L1 started with HSM hart_start.
pub fn secondary(hartid: usize, _: usize) -> ! {
    HART_STATE[hartid].store(HartState::Started as u8, Ordering::SeqCst);
    let (entry, opaque) = &START[hartid];
    enter_l1(
        hartid,
        entry.load(Ordering::SeqCst),
        opaque.load(Ordering::SeqCst),
    )
}

/// Sets up L1's memory, G-stage, image and device tree; returns L1's entry point.
fn boot(hartid: usize, dtb: usize) -> Result<u64, String> {
    let mut host = machine::Host::read(hw::device_tree(dtb)?)?;
    // L1 gets the harts L0 has stacks for, the same number everywhere.
    host.harts = host.harts.min(bare::MAX_HARTS);
    println!(
        "[L0] mini-hv on hart {hartid}: {} harts, RAM {:#x}+{:#x}, command line \"{}\"",
        host.harts, host.ram.0, host.ram.1, host.bootargs
    );
    let options = layout::Options::parse(&host.bootargs)?;
    let l1_mem = options.l1_mem;
    let (bundle_start, bundle_end) = host
        .bundle
        .filter(|(start, end)| start < end)
        .ok_or("no bundle: QEMU's -initrd must carry L1 (cargo xtask run)")?;
    let image = bare::entry::image_range();
    let taken = [
        (host.ram.0, image.1 as u64),
        (bundle_start, bundle_end),
        (host.dtb.0, host.dtb.0 + host.dtb.1),
    ];
    let too_small = |what: &str, size: u64| {
        format!(
            "no room for {what} ({} MiB) in L0's RAM {:#x}+{:#x} beside the firmware, L0, the \
             bundle ({bundle_start:#x}..{bundle_end:#x}) and the device tree: give QEMU more \
             memory (-m)",
            size >> 20,
            host.ram.0,
            host.ram.1
        )
    };
    let ram_window = carve(&host, &taken, l1_mem).ok_or_else(|| too_small("L1's RAM", l1_mem))?;
    let taken_more = [
        taken[0],
        taken[1],
        taken[2],
        (ram_window.base, ram_window.base + ram_window.size),
    ];
    let pool_size = layout::pool_size(l1_mem);
    let pool_window = carve(&host, &taken_more, pool_size)
        .ok_or_else(|| too_small("the page-table pool", pool_size))?;
    let bundle = Window {
        base: bundle_start,
        size: bundle_end - bundle_start,
    };
    let parts = Bundle::parse(bundle)?;

    let mut ram = L1Ram {
        gpa_base: L1_RAM_GPA,
        window: ram_window,
    };
    let (entry, image_range) = load_l1(parts.l1, ram_window)?;

    // L1 gets the hart's hcounteren bits and Sstc; A/D bits of its G-stage are its own to
    // set (Svade), as the virtual menvcfg.ADUE is a fixed platform property.
    let imsic = lend_imsic(&host);
    // The UART is emulated; its interrupt goes through a PLIC, or with an IMSIC (which owns
    // the supervisor external interrupt) through an APLIC sending MSIs to it.
    let devices = DeviceMap {
        uart: host.uart.map(|(base, _, _)| base),
        plic: host.uart.is_some() && imsic.is_none(),
        aplic: host.uart.is_some() && imsic.is_some(),
    };
    devices::set_harts(host.harts);
    // L2 writes its VS CSRs to the hardware itself: L1's virtual ones follow the same rules.
    let real_vs = hw::real_vs_fields();
    let config = NestedConfig {
        vsatp_modes: real_vs.vsatp_modes,
        asid_bits: real_vs.asid_bits,
        fp: real_vs.fs,
        vector: real_vs.vs,
        sstc: host.has("sstc"),
        svadu: false,
        hcounteren_mask: hw::sticky_bits(real::HCOUNTEREN, u64::from(u32::MAX)) as u32,
        aia: imsic.map(|lend| aia_config(lend.host.identities)),
        geilen: if imsic.is_some() { GEILEN as u32 } else { 0 },
        ..NestedConfig::rv64()
    };
    config
        .check_hardware(&real_vs)
        .map_err(|field| format!("L1's {field:?} differ from the real hart's"))?;
    let mut guest = machine::Guest {
        ram: (L1_RAM_GPA, l1_mem),
        harts: host.harts,
        timebase: host.timebase,
        uart: host.uart,
        plic: devices.plic,
        aplic: devices.aplic,
        bootargs: parts.bootargs,
        // The device tree's size does not depend on where the initrd is, only on whether.
        initrd: parts.initrd.map(|_| (0, 0)),
        config: &config,
        host_extensions: &host.extensions,
        imsic: imsic.map(|lend| lend.l1),
    };
    let cannot_write = |_| "cannot write L1's device tree";
    let dtb_len = guest.device_tree().map_err(cannot_write)?.len() as u64;
    let placed = layout::place(
        (L1_RAM_GPA, L1_RAM_GPA + l1_mem),
        image_range,
        parts.initrd.map(|initrd| initrd.len() as u64),
        dtb_len,
    )?;
    if let (Some(initrd), Some((start, _))) = (parts.initrd, placed.initrd) {
        ram.write(start, initrd)
            .map_err(|_| "L1's initrd lies outside L1's RAM")?;
    }
    guest.initrd = placed.initrd;
    let l1_dtb = guest.device_tree().map_err(cannot_write)?;
    ram.write(placed.dtb, &l1_dtb)
        .map_err(|_| "L1's device tree lies outside L1's RAM")?;

    let mut pool = POOL.lock();
    *pool = Pool::new(pool_window);
    let map = L1Map { ram, imsic };
    let l1_hgatp = build_l1_gstage(&mut pool, &map)?;
    drop(pool);

    let vmid_bits = (hw::sticky_bits(real::HGATP, 0x3fff << 44) >> 44).count_ones();
    let shadow = ShadowConfig {
        l1_walk: WalkConfig {
            svadu: config.svadu,
            pbmte: false,
            svnapot: false,
            svrsw60t59b: false,
        },
        host_svvptc: host.has("svvptc"),
        first_vmid: L1_VMID + 1,
        shadow_modes: SupportedModes {
            sv32x4: false,
            sv39x4: true,
            sv48x4: true,
            sv57x4: false,
        },
    };
    if !shadow.vmids_fit(CONTEXTS, vmid_bits) {
        return Err("the hart has too few VMID bits for the shadow contexts".into());
    }
    MAILBOXES.call_once(|| core::array::from_fn(|_| FenceMailbox::new()));
    MACHINE.call_once(|| Machine {
        harts: host.harts,
        config,
        shadow,
        map,
        devices,
        l1_hgatp,
        l1_dtb: placed.dtb,
    });
    println!(
        "[L0] L1 image loaded, entry {entry:#x}; L1 RAM {L1_RAM_GPA:#x}+{l1_mem:#x} at host {:#x}, \
         initrd {:x?}, device tree {:#x}; page-table pool {} MiB; {} VMID bits",
        ram_window.base,
        placed.initrd,
        placed.dtb,
        pool_size >> 20,
        vmid_bits
    );
    Ok(entry)
}

/// Loads L1's image into its RAM `window`: its entry point and the guest-physical range it
/// occupies (a Linux image's with its effective size, which counts its bss). A part outside
/// L1's RAM is an error saying by how much.
fn load_l1(image: &[u8], window: Window) -> Result<(u64, (u64, u64)), String> {
    let end = L1_RAM_GPA + window.size;
    let extent = Cell::new((u64::MAX, 0));
    let outside = Cell::new(None);
    let note = |gpa: u64, len: u64, placed: bool| {
        let stop = gpa.saturating_add(len);
        let (low, high) = extent.get();
        extent.set((low.min(gpa), high.max(stop)));
        if !placed {
            outside.set(Some((gpa, stop)));
        }
        placed
    };
    let loaded = bare::image::load(
        image,
        L1_RAM_GPA,
        bare::image::Placement {
            copy: &mut |gpa, bytes| {
                let placed = gpa
                    .checked_sub(L1_RAM_GPA)
                    .is_some_and(|offset| window.write(offset, bytes));
                note(gpa, bytes.len() as u64, placed)
            },
            zero: &mut |gpa, len| {
                let placed = gpa
                    .checked_sub(L1_RAM_GPA)
                    .is_some_and(|offset| window.zero(offset, len));
                note(gpa, len, placed)
            },
        },
    );
    let mut extent = extent.get();
    let entry = match (loaded, outside.get()) {
        (Ok(entry), _) => entry,
        (Err(bare::image::ImageError::OutOfRange), Some((start, stop))) if start < L1_RAM_GPA => {
            return Err(format!(
                "the L1 image does not fit: its part {start:#x}..{stop:#x} starts {} bytes below \
                 L1's RAM ({L1_RAM_GPA:#x}..{end:#x})",
                L1_RAM_GPA - start
            ));
        }
        (Err(bare::image::ImageError::OutOfRange), Some((start, stop))) => {
            return Err(format!(
                "the L1 image does not fit: its part {start:#x}..{stop:#x} ends {} bytes past \
                 L1's RAM ({L1_RAM_GPA:#x}..{end:#x}); raise l1-mem",
                stop.saturating_sub(end)
            ));
        }
        (Err(_), _) => return Err("the L1 image is neither a valid ELF nor a raw image".into()),
    };
    if let Some(size) = bare::image::linux_image_size(image) {
        let stop = entry.saturating_add(size);
        if stop > end {
            return Err(format!(
                "the L1 image does not fit: Linux's effective size ({size} bytes from \
                 {entry:#x}) ends {} bytes past L1's RAM ({L1_RAM_GPA:#x}..{end:#x}); raise \
                 l1-mem",
                stop - end
            ));
        }
        extent.1 = extent.1.max(stop);
    }
    Ok((entry, extent))
}

/// The first 2 MiB-aligned window of `size` bytes of RAM that overlaps nothing `taken`.
fn carve(host: &machine::Host, taken: &[(u64, u64)], size: u64) -> Option<Window> {
    const ALIGN: u64 = 2 << 20;
    let (ram_base, ram_size) = host.ram;
    let mut base = ram_base.next_multiple_of(ALIGN);
    while base + size <= ram_base + ram_size {
        match taken
            .iter()
            .find(|&&(start, end)| start < base + size && base < end)
        {
            Some(&(_, end)) => base = end.next_multiple_of(ALIGN),
            None => return Some(Window { base, size }),
        }
    }
    None
}

/// The parts of the bundle QEMU loaded (examples/README.md).
struct Bundle {
    l1: &'static [u8],
    initrd: Option<&'static [u8]>,
    bootargs: &'static str,
}

impl Bundle {
    fn parse(window: Window) -> Result<Bundle, &'static str> {
        let header = window.bytes(0, 64).ok_or("the bundle is too short")?;
        if &header[..8] != b"NESTBNDL" {
            return Err("the initrd is not a bundle (cargo xtask run makes one)");
        }
        if header[8..16] != [1, 0, 0, 0, 0, 0, 0, 0] {
            return Err("the bundle is not of version 1 (examples/README.md)");
        }
        let word = |at: usize| {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&header[at..at + 8]);
            u64::from_le_bytes(bytes)
        };
        let part = |at: usize| -> Result<&'static [u8], &'static str> {
            let len = usize::try_from(word(at + 8)).map_err(|_| "bad bundle")?;
            window
                .bytes(word(at), len)
                .ok_or("a bundle part lies outside it")
        };
        let initrd = part(32)?;
        Ok(Bundle {
            l1: part(16)?,
            initrd: (!initrd.is_empty()).then_some(initrd),
            bootargs: core::str::from_utf8(part(48)?)
                .map_err(|_| "L1's command line is not UTF-8")?,
        })
    }
}

/// The IMSIC pages L1 gets, when the machine has the AIA with enough real guest files
/// (GEILEN + 1 per hart: hgeie's writable bits count them).
fn lend_imsic(host: &machine::Host) -> Option<ImsicLend> {
    let real = host.imsic?;
    let real_files = hw::sticky_bits(real::HGEIE, u64::MAX).count_ones() as usize;
    (real_files > GEILEN).then_some(ImsicLend {
        host: real,
        l1: machine::Imsic {
            // Its own file and GEILEN guest files per hart.
            guest_index_bits: (GEILEN + 1).next_power_of_two().trailing_zeros(),
            ..real
        },
        harts: host.harts,
    })
}

/// The AIA L1 gets: files of the real ones' size, and the real hvictl, hvien and hviprio
/// fields, so that the engine can project them onto the hardware.
fn aia_config(identities: u32) -> AiaConfig {
    AiaConfig {
        identities: identities as u16,
        iid_bits: (hw::sticky_bits(real::HVICTL, 0xfff << 16) >> 16).count_ones() as u8,
        hvien_writable: hw::sticky_bits(real::HVIEN, u64::MAX),
        hviprio_bits: (hw::sticky_bits(real::HVIPRIO1, 0xff << 8) >> 8).count_ones() as u8,
    }
    .clamped()
}

/// L1's G-stage, in Sv39x4 under VMID `L1_VMID`: its RAM and its IMSIC pages (its devices
/// are left out, so that their accesses trap).
fn build_l1_gstage(pool: &mut Pool, map: &L1Map) -> Result<u64, &'static str> {
    let ram = map.ram;
    let mut fences = gstage::Fences::new();
    let mut table = GStageTable::new(GStageMode::Sv39x4, L1_VMID, pool)
        .map_err(|_| "cannot allocate L1's G-stage root")?;
    table
        .map_range(
            pool,
            ram.gpa_base,
            ram.window.base,
            ram.window.size,
            LeafAttrs::new(Perms::R | Perms::W | Perms::X),
            &mut fences,
        )
        .map_err(|_| "cannot map L1's RAM")?;
    if let Some(imsic) = map.imsic {
        for hart in 0..imsic.harts {
            for file in 0..=GEILEN as u64 {
                let page = imsic.l1.s_file(hart) + file * 0x1000;
                let real = imsic.host_page(page).ok_or("an IMSIC page outside L1's")?;
                table
                    .map(
                        pool,
                        page,
                        real,
                        gstage::PageSize::Size4K,
                        LeafAttrs::new(Perms::R | Perms::W),
                        &mut fences,
                    )
                    .map_err(|_| "cannot map L1's IMSIC pages")?;
            }
        }
    }
    Ok(table.hgatp().encode(gstage::Xlen::Rv64))
}

/// This hart's real guest files (none without the AIA).
fn real_files(hartid: usize) -> RealGuestFiles {
    RealGuestFiles {
        s_file: machine_info()
            .map
            .imsic
            .map_or(0, |imsic| imsic.host.s_file(hartid)),
    }
}

/// Programs this hart for L1 and enters it at `entry` with a0 = hart ID, a1 = `arg`.
fn enter_l1(hartid: usize, entry: u64, arg: u64) -> ! {
    let machine = machine_info();
    let mut vcpu = Vcpu {
        nested: NestedHart::new(machine.config, machine.shadow, L1_VMID),
        hart: Hart::default(),
        line: heapless::Vec::new(),
        stats: Stats::default(),
        timer: L0Timer {
            sbi_deadline: u64::MAX,
            armed: u64::MAX,
        },
        sei: false,
    };
    // With the AIA: L1's own file is real guest file 1 (VGEIN while L1 runs), its guest files
    // 1..=GEILEN are real files 2..=GEILEN + 1, their pages mapped where L1 sees them.
    let mut vgein = 0;
    if machine.map.imsic.is_some() {
        vgein = 1;
        let mut pool = POOL.lock();
        let mut host = HwHost {
            memory: machine.map.ram,
            map: &machine.map,
            pool: &mut pool,
            hart: &mut vcpu.hart,
            files: real_files(hartid),
        };
        for g in 1..=GEILEN {
            let real = PhysGuestFile::new(g as u8 + 1).expect("GEILEN + 1 is a file number");
            let lent = vcpu
                .nested
                .prepare_guest_file(g, real, &mut host)
                .and_then(|()| vcpu.nested.attach_guest_file(g, real, &mut host));
            if let Err(error) = lent {
                println!(
                    "[L0] cannot lend real guest file {} to L1: {error:?}",
                    g + 1
                );
                bare::shutdown(true);
            }
        }
        // Smstateen (when the hart has it): L1 may reach its IMSIC, the AIA CSRs and the
        // indirect CSRs.
        let _ = bare::csr::try_write(real::HSTATEEN0, HSTATEEN_SE0 | HSTATEEN_AIA_ALL);
    }
    *VCPUS[hartid].lock() = Some(vcpu);
    bare::trap::install(hartid, on_trap);
    hw::enter_l1_csrs(hw::L1Csrs {
        hgatp: machine.l1_hgatp,
        // Misaligned accesses, breakpoint, ecall from U, and the page faults: what a
        // hypervisor delegates.
        hedeleg: (1 << 0)
            | (1 << 3)
            | (1 << 4)
            | (1 << 6)
            | (1 << 8)
            | (1 << 12)
            | (1 << 13)
            | (1 << 15),
        // L1's own VS interrupts (its SSI, STI, SEI).
        hideleg: VS_INTERRUPTS,
        hstatus: XL_64 << HSTATUS_VSXL_SHIFT
            | HSTATUS_VTSR
            | HSTATUS_SPV
            | HSTATUS_SPVP
            | vgein << HSTATUS_VGEIN_SHIFT,
        henvcfg: if machine.config.sstc { HENVCFG_STCE } else { 0 },
        sstatus_set: SSTATUS_SPP | SSTATUS_FS_INITIAL,
    });
    let mut context = TrapFrame::default();
    context.x[10] = hartid as u64;
    context.x[11] = arg;
    context.pc = entry;
    bare::trap::enter(hartid, &context)
}

/// Every trap of L1 or L2 on this hart.
fn on_trap(frame: &mut TrapFrame) {
    let hartid = frame.hartid();
    let scause = bare::csr::read(SCAUSE).unwrap_or(0);
    let interrupt = scause & SCAUSE_INTERRUPT != 0;
    let code = scause & !SCAUSE_INTERRUPT;
    let mut regs = GuestRegs {
        x: frame.x,
        pc: frame.pc,
    };
    let machine = machine_info();
    let mut slot = VCPUS[hartid].lock();
    let vcpu = slot
        .as_mut()
        .expect("a hart takes traps only after enter_l1 set up its vCPU");
    let in_guest = vcpu.nested.in_guest();
    let mailbox = &MAILBOXES.get().expect("set at boot")[hartid];
    if in_guest {
        mailbox.exit_guest();
    }
    vcpu.stats.entry(in_guest, interrupt, code);
    let mut pool = POOL.lock();
    let mut host = HwHost {
        memory: machine.map.ram,
        map: &machine.map,
        pool: &mut pool,
        hart: &mut vcpu.hart,
        files: real_files(hartid),
    };
    let mut parked = None;
    let mut l1_fence_targets = 0;
    let mut leave = None;
    let outcome = if interrupt {
        host_interrupt(hartid, code, &mut vcpu.nested, &mut vcpu.timer, host.hart);
        None
    } else if in_guest {
        let hstatus = bare::csr::read(real::HSTATUS).unwrap_or(0);
        let trap = GuestTrap {
            code,
            interrupt: false,
            tval: bare::csr::read(STVAL).unwrap_or(0),
            htval: bare::csr::read(real::HTVAL).unwrap_or(0),
            htinst: bare::csr::read(real::HTINST).unwrap_or(0),
            gva: hstatus & HSTATUS_GVA != 0,
            supervisor: hstatus & HSTATUS_SPVP != 0,
        };
        let nested = &mut vcpu.nested;
        Some(
            match nested.handle_guest_trap(&trap, &mut regs, &mut host) {
                // L2 reached an L1 address with nothing behind it (L0 emulates no device), or one
                // no shadow leaf can grant as both stages do: the access fault of hardware.
                Outcome::HostMemoryFault { .. }
                | Outcome::ShadowFillFailed(
                    FillError::NoCommonPermission { .. } | FillError::OutOfShadowRange,
                ) => nested.guest_access_fault(&trap, &mut regs, &mut host),
                other => other,
            },
        )
    } else {
        match code {
            // An SBI call.
            10 => {
                let l2_supervisor = bare::csr::read(real::VSSTATUS).unwrap_or(0) & SSTATUS_SPP != 0;
                let mut a = [0u64; 8];
                a.copy_from_slice(&regs.x[10..18]);
                let call = SbiCall::from_registers(&a, sbi_dispatch::Xlen::Rv64);
                let mut ctx = Ctx {
                    hartid,
                    nested: &mut vcpu.nested,
                    host,
                    regs: &mut regs,
                    line: &mut vcpu.line,
                    timer: &mut vcpu.timer,
                    parked: None,
                    l1_fence_targets: 0,
                };
                let result = sbi::dispatcher(machine.harts).dispatch(&mut ctx, &call);
                if result == sbi_dispatch::Outcome::Deferred {
                    // Only the remote HFENCE defers a call, and it parks what it waits for.
                    let pending = ctx.parked.take().expect("a deferred call parks its fences");
                    parked = Some((pending, call, a));
                }
                l1_fence_targets = ctx.l1_fence_targets;
                sbi_outcome(result, &call, l2_supervisor, &mut regs, &mut leave)
            }
            // An instruction of the H extension (or one L1 may not execute).
            2 | 22 => {
                let trap = Trap {
                    cause: code,
                    tval: bare::csr::read(STVAL).unwrap_or(0),
                    mode: l1_mode(),
                };
                Some(vcpu.nested.emulate(&trap, &mut regs, &mut host))
            }
            // A load or store of one of L1's devices.
            21 | 23 if machine.devices.contains(fault_gpa()) => {
                match device_access(hartid, code, &machine.devices, &mut regs, host.hart) {
                    Some(outcome) => Some(outcome),
                    None => Some(vcpu.nested.exception_to_l1(
                        code,
                        bare::csr::read(STVAL).unwrap_or(0),
                        l1_mode(),
                        &mut regs,
                        &mut host,
                    )),
                }
            }
            // What L0 does not delegate: L1 takes it as hardware delivers it (an address L0
            // does not map for L1 is one with nothing behind it: an access fault).
            _ => Some(vcpu.nested.exception_to_l1(
                code,
                bare::csr::read(STVAL).unwrap_or(0),
                l1_mode(),
                &mut regs,
                &mut host,
            )),
        }
    };
    match outcome {
        Some(Outcome::Resume { supervisor, .. }) => resume_mode(supervisor),
        Some(Outcome::WaitForInterrupt | Outcome::HostInterrupt) | None => {}
        // L2's fill found no frame even after the hart evicted its other contexts (other
        // harts hold the pool): L2 runs again and faults again, as after a fence.
        Some(Outcome::ShadowFillFailed(_)) => vcpu.stats.retries += 1,
        // L1's SRET found no shadow G-stage for the same reason (or for a mode L1 was not
        // offered): it changed nothing and L1 executes it again.
        Some(Outcome::ShadowUnavailable(_)) => vcpu.stats.retries += 1,
        // Turned into an access fault above.
        Some(Outcome::HostMemoryFault { .. }) => {}
    }
    let mut host = HwHost {
        memory: machine.map.ram,
        map: &machine.map,
        pool: &mut pool,
        hart: &mut vcpu.hart,
        files: real_files(hartid),
    };
    vcpu.stats.world(in_guest, vcpu.nested.in_guest());
    // L1's external interrupt follows its PLIC context's line.
    let sei = devices::SEI_LINES.load(Ordering::SeqCst) >> hartid & 1 == 1;
    if sei != vcpu.sei {
        if sei {
            vcpu.nested.inject_l1_interrupts(VSEIP, host.hart);
        } else {
            vcpu.nested.withdraw_l1_interrupts(VSEIP, host.hart);
        }
        vcpu.sei = sei;
    }
    // While V = 1, an interrupt pending and enabled for L1 is taken at once: L2 does not
    // run (after L1's SRET into it, or after an exit L0 handled itself). Entering L2 and
    // leaving it again at once is a round trip of L1's, counted as one.
    if vcpu.nested.in_guest()
        && let Some(l1_code) = vcpu.nested.pending_l1_interrupt(bare::time(), &mut host)
    {
        let l2_supervisor = bare::csr::read(real::SSTATUS).unwrap_or(0) & SSTATUS_SPP != 0;
        let taken = vcpu
            .nested
            .interrupt_l1(l1_code, l2_supervisor, &mut regs, &mut host);
        if let Outcome::Resume { supervisor, .. } = taken {
            resume_mode(supervisor);
        }
        vcpu.stats.world(true, false);
    }
    let now_in_guest = vcpu.nested.in_guest();
    if now_in_guest {
        vcpu.nested.sync_remote_fences(mailbox, &mut host);
    }
    vcpu.timer.arm(&vcpu.nested);
    if in_guest && now_in_guest && nested_core::route(interrupt, code) == Route::ShadowFault {
        vcpu.stats.fills += 1;
    }
    drop(pool);
    drop(slot);
    // Leaving L1 for good happens with no lock held, so that the other harts go on.
    match leave {
        Some(Leave::HartStop) => {
            bare::sbi::hart_stop();
            println!("[L0] hart {hartid} did not stop");
            bare::shutdown(true)
        }
        Some(Leave::Reset { reset_type, reason }) => {
            print_statistics();
            // The closing line `cargo xtask` judges the run by.
            println!("{RESET_LINE}type {reset_type:?}, reason {reason:?}");
            bare::shutdown(reason != ResetReason::NoReason)
        }
        None => {}
    }
    if let Some((pending, call, mut a)) = parked {
        // A remote HFENCE completes once no target can use a stale shadow entry; the
        // targets apply it when they take the IPI, which needs the locks released.
        wait_serving(hartid, || {
            pending.is_done(MAILBOXES.get().expect("set at boot"))
        });
        call.write_return(Ok(0), &mut a);
        regs.x[10..18].copy_from_slice(&a);
        regs.pc += 4;
    }
    wait_for_l1_fences(hartid, l1_fence_targets);
    frame.x = regs.x;
    frame.pc = regs.pc;
}

/// The guest-physical address of L1's guest-page fault: htval holds it shifted right by 2,
/// stval (the virtual address) its low 2 bits.
fn fault_gpa() -> u64 {
    let htval = bare::csr::read(real::HTVAL).unwrap_or(0);
    htval << 2 | bare::csr::read(STVAL).unwrap_or(0) & 3
}

/// L1's load or store (guest-page fault `code`, 21 or 23) of one of its devices: performed,
/// L1's register written, its pc past the instruction, the harts whose external interrupt
/// changed (other than this one, which follows its line when the trap ends) told with an
/// IPI. The instruction is htinst's transformed one, or the one at the
/// pc when htinst is 0. `None` when it is not an integer load or store of that kind (L1 then
/// takes the access fault).
fn device_access(
    hartid: usize,
    code: u64,
    devices: &DeviceMap,
    regs: &mut GuestRegs,
    hart: &mut Hart,
) -> Option<Outcome> {
    let htinst = bare::csr::read(real::HTINST).unwrap_or(0) as u32;
    let access = if htinst != 0 {
        MemoryAccess::from_transformed(htinst)
    } else {
        hart.fetch_instruction(regs.pc)
            .ok()
            .and_then(MemoryAccess::from_fetched)
    }
    .filter(|access| access.load == (code == 21))?;
    let reg = usize::from(access.reg);
    let store = (!access.load).then(|| if reg == 0 { 0 } else { regs.x[reg] });
    let (value, changed) = devices::access(
        devices,
        fault_gpa(),
        access.width,
        store,
        |byte| bare::console::write_bytes(&[byte]),
        send_msi,
    );
    if access.load && reg != 0 {
        regs.x[reg] = access.extend(value);
    }
    regs.pc = regs.pc.wrapping_add(u64::from(access.len));
    for other in (0..bare::MAX_HARTS).filter(|&h| h != hartid && changed >> h & 1 == 1) {
        bare::sbi::send_ipi(1, other);
    }
    Some(Outcome::Resume {
        supervisor: l1_mode() == VirtualMode::Hypervisor,
        effects: Effects::empty(),
    })
}

/// An MSI of L1's APLIC: identity `eiid` in interrupt file `guest` of hart `hart` of L1's
/// IMSIC, which is real guest file `guest + 1` of that hart. One to a file or hart L1 does not
/// have is dropped, as it would reach no IMSIC.
fn send_msi(msi: devices::Msi) {
    use nested_core::aia_virt::GuestFileHardware;
    let real = u8::try_from(msi.guest + 1)
        .ok()
        .filter(|&file| usize::from(file) <= GEILEN + 1)
        .and_then(PhysGuestFile::new);
    if let Some(file) = real
        && msi.hart < machine_info().harts.min(bare::MAX_HARTS)
        && machine_info().map.imsic.is_some()
    {
        real_files(msi.hart).set_eipnum(file, msi.eiid);
    }
}

/// L1's mode at a trap from its own world: its HS (real VS) or U (real VU).
fn l1_mode() -> VirtualMode {
    if bare::csr::read(real::HSTATUS).unwrap_or(0) & HSTATUS_SPVP != 0 {
        VirtualMode::Hypervisor
    } else {
        VirtualMode::User
    }
}

/// How L0's closing line starts when L1 resets the system; the line is
/// `[L0] system reset by L1: type T, reason R` with SRST's type and reason (`Shutdown`,
/// `ColdReboot`, `WarmReboot`, `Vendor(n)`; `NoReason`, `SystemFailure`,
/// `SbiImplementation(n)`, `Vendor(n)`).
const RESET_LINE: &str = "[L0] system reset by L1: ";

/// An SBI call after which this hart does not return to L1.
enum Leave {
    /// HSM hart_stop.
    HartStop,
    /// SRST (or the legacy shutdown).
    Reset {
        reset_type: ResetType,
        reason: ResetReason,
    },
}

/// Fences L1's own VS-stage translations (under L1's VMID, whatever hgatp holds now) and its
/// instruction fetches, for L1's SFENCE.VMA and FENCE.I on its harts.
pub fn fence_l1(hart: &mut Hart) {
    hart.hfence_vvma(L1_VMID, None, None);
    hw::fence_i();
}

/// Performs the L1 fence another hart asked of this one, if any.
fn serve_l1_fence(hartid: usize, hart: &mut Hart) {
    if FENCE_L1[hartid].swap(false, Ordering::SeqCst) {
        fence_l1(hart);
    }
}

/// Waits (no lock held) until `done`, serving meanwhile the L1 fences other harts ask of this
/// one: two harts waiting for each other's fence would otherwise never finish, since a hart
/// takes no IPI while it handles a trap.
fn wait_serving(hartid: usize, done: impl Fn() -> bool) {
    while !done() {
        let mut hart = Hart::default();
        serve_l1_fence(hartid, &mut hart);
        if let Some(vcpu) = VCPUS[hartid].lock().as_mut() {
            vcpu.hart.fences += hart.fences;
        }
        core::hint::spin_loop();
    }
}

/// Waits until the harts of `targets` fenced L1's translations.
fn wait_for_l1_fences(hartid: usize, targets: u64) {
    wait_serving(hartid, || {
        (0..bare::MAX_HARTS).all(|hart| {
            targets & (1 << hart) == 0
                || !FENCE_L1[hart].load(Ordering::SeqCst)
                || HART_STATE[hart].load(Ordering::SeqCst) != HartState::Started as u8
        })
    });
}

/// The result of an SBI call of L1: its return, or where L1 goes instead.
fn sbi_outcome(
    result: sbi_dispatch::Outcome,
    call: &SbiCall,
    l2_supervisor: bool,
    regs: &mut GuestRegs,
    leave: &mut Option<Leave>,
) -> Option<Outcome> {
    let resume = |supervisor| {
        Some(Outcome::Resume {
            supervisor,
            effects: nested_core::Effects::empty(),
        })
    };
    match result {
        sbi_dispatch::Outcome::Return(value) => {
            let mut a = [0u64; 8];
            a.copy_from_slice(&regs.x[10..18]);
            call.write_return(value, &mut a);
            regs.x[10..18].copy_from_slice(&a);
            regs.pc += 4;
            resume(true)
        }
        // sync_sret: the engine set pc and registers; the mode is what L1's sstatus.SPP was.
        sbi_dispatch::Outcome::Departed(Departure::EnteredGuest | Departure::Returned) => {
            resume(l2_supervisor)
        }
        sbi_dispatch::Outcome::Departed(Departure::HartStopped) => {
            *leave = Some(Leave::HartStop);
            None
        }
        sbi_dispatch::Outcome::Departed(Departure::SystemReset { reset_type, reason }) => {
            *leave = Some(Leave::Reset { reset_type, reason });
            None
        }
        sbi_dispatch::Outcome::Deferred => resume(true),
        other => {
            println!("[L0] unsupported SBI outcome {other:?}");
            bare::shutdown(true)
        }
    }
}

/// An interrupt for L0: its timer (L1's SBI deadline, or L1's Sstc deadline while L2 runs),
/// an IPI (an IPI or a fence for L1). What it makes pending for L1 goes in L1's hvip; while L2
/// runs, the caller then asks whether L1 takes it now.
fn host_interrupt(
    hartid: usize,
    code: u64,
    nested: &mut NestedHart<CONTEXTS, GEILEN>,
    timer: &mut L0Timer,
    hart: &mut Hart,
) {
    match code {
        5 => {
            bare::sbi::set_timer(u64::MAX);
            timer.armed = u64::MAX;
            if bare::time() >= timer.sbi_deadline {
                timer.sbi_deadline = u64::MAX;
                nested.inject_l1_interrupts(VSTIP, hart);
            }
        }
        1 => {
            // Requests are read after the IPI is cleared, so none set since is lost.
            hw::clear_ssip();
            serve_l1_fence(hartid, hart);
            if PENDING_SSIP[hartid].swap(false, Ordering::SeqCst) {
                nested.inject_l1_interrupts(VSSIP, hart);
            }
        }
        _ => {}
    }
}

/// Returns to L1 or L2 (always V = 1) in VS-mode or VU-mode.
fn resume_mode(supervisor: bool) {
    let hstatus = bare::csr::read(real::HSTATUS).unwrap_or(0);
    bare::csr::write(real::HSTATUS, hstatus | HSTATUS_SPV);
    let sstatus = bare::csr::read(real::SSTATUS).unwrap_or(0);
    let sstatus = if supervisor {
        sstatus | SSTATUS_SPP
    } else {
        sstatus & !SSTATUS_SPP
    };
    bare::csr::write(real::SSTATUS, sstatus);
}

/// Prints L0's statistics of every hart (at shutdown), then the closing line `cargo xtask`
/// reads.
fn print_statistics() {
    let mut totals = stats::Totals::default();
    for (hart, slot) in VCPUS.iter().enumerate() {
        // A hart still handling a trap of its own is skipped rather than waited for.
        if let Some(guard) = slot.try_lock()
            && let Some(vcpu) = guard.as_ref()
        {
            vcpu.stats.print(hart, &vcpu.nested, &vcpu.hart);
            vcpu.stats.add_to(&mut totals);
        }
    }
    let frames = POOL.try_lock().map_or(0, |pool| pool.in_use());
    println!(
        "[L0] memory: engine state {} bytes per L1 hart; {frames} page-table frames in use (4 KiB each, roots 16 KiB)",
        core::mem::size_of::<NestedHart<CONTEXTS, GEILEN>>(),
    );
    // Hundredths, rounded.
    let per_trip = (totals.entries * 100 + totals.round_trips / 2)
        .checked_div(totals.round_trips)
        .unwrap_or(0);
    println!(
        "[L0] round trips: {}, L0 entries: {}, entries per round trip: {}.{:02}, fewest: {}",
        totals.round_trips,
        totals.entries,
        per_trip / 100,
        per_trip % 100,
        totals.fewest.unwrap_or(0)
    );
}
