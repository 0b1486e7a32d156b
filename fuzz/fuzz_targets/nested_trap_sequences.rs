//! Any sequence of L1 CSR writes (H, VS and AIA CSRs), SRETs into L2, L2 traps (guest-page
//! faults, ecalls, trapped accesses to its interrupt file, any cause), interrupts for L1,
//! MSIs to L1's virtual guest files and real files lent or taken back, against the software
//! host, with or without the AIA (any offer, clamped): no panic, and after every step the
//! engine's world matches what the step must have done, every virtual CSR (AIA ones too)
//! reads back a legal value, the real CSRs the host set for L1 are its own whenever L1 runs,
//! the real VGEIN while L2 runs is the real file backing L1's selected one (or 0), L1's sstatus
//! MXR, FS and VS are the real ones while L2 runs and the host's whenever L1 runs (FS or VS
//! Dirty once L2 dirtied them, and then L1's Dirty too), every interrupt said pending for L1
//! is one of its codes, and every shadow leaf filled maps only memory the host granted L1.
//!
//! Isolation between L2 contexts: L1 switches among several G-stages (three tables and an
//! empty one, four VMIDs, Sv39x4 or Sv48x4, so one VMID also comes back with another root) as
//! Linux KVM does with NACL: hgatp written into its shared-memory slot with the dirty bit
//! (`ncsr_write`) or by a trapped write, other slots written, trapped CSR writes (the
//! `csrw vstimecmp, -1` of `vcpu_put`), HFENCEs by instruction and through the queue, tables
//! remapped (and fenced), entries by sync_sret or by a trapped SRET, L2 accesses and exits in
//! between. The target keeps its own record of the hgatp L1 architecturally set (the last
//! trapped write, or the dirty slot a sync applied) and, whenever L2 runs, walks the real
//! hgatp's shadow tables for every GPA of the checked range: each translation L2 can get must
//! be exactly what L1's table for that hgatp maps now, composed with the host's map of L1.
#![no_main]

use l1_shmem::Hfence;
use libfuzzer_sys::fuzz_target;
use nested_core::aia_virt::{AiaConfig, FileBacking, MmioOp, PhysGuestFile};
use nested_core::csr::bits::{HSTATUS_VGEIN, SSTATUS_MXR};
use nested_core::gstage::{
    Access, ContextKey, GStageMode, Hgatp, MemoryFault, PteMemory, PteWidth, WalkConfig, Xlen,
    translate,
};
use nested_core::host::{
    FrameKind, FramePool, GuestMemory, HostFrame, L1AddressMap, PhysicalHart, real,
};
use nested_core::testing::pte::{A, D, R, U, V, W, X};
use nested_core::testing::{
    FRAMES, MEMORY_BYTES, SoftHost, SoftMemory, SoftPool, Tables, check_legal_aia,
    check_legal_values, shadow_config,
};
use nested_core::{
    GuestRegs, GuestTrap, NestedConfig, NestedHart, Outcome, Trap, VirtualMode, cause,
};
use sbi_dispatch::SbiError;

/// The host's own settings for L1 in the AIA CSRs and hstatus.VGEIN.
const HOST_HVICTL: u64 = 1 << 30 | 12 << 16;
const HOST_HVIEN: u64 = 1 << 20;
const HOST_VGEIN: u64 = 7 << 12;
const HOST_SISELECT: u64 = 0x72;

/// L1's memory, page by page (`SoftHost`: 64 KiB at 0x8000_0000, mapped 1:1 with RWX):
/// page 0 stays zero (the root of an empty table), pages 1-3 are the NACL shared memory, and
/// table k (k = 0, 1, 2) has its 16 KiB root at page 4 + 4k, its second level at page 5 + 4k
/// and its last level at page 6 + 4k. L2 GPAs below `CHECKED_PAGES` pages walk only root
/// entry 0 and those two tables, never the shared memory, which the engine rewrites.
const L1_BASE: u64 = 0x8000_0000;
const SHMEM: u64 = L1_BASE + 0x1000;
const ROOTS: [u64; 4] = [
    L1_BASE + 0x4000,
    L1_BASE + 0x8000,
    L1_BASE + 0xc000,
    L1_BASE,
];
/// The pages of L2 GPAs whose translations the isolation check compares.
const CHECKED_PAGES: u64 = 40;
/// The leaves of the three tables at start.
const INITIAL_PAGES: u64 = 32;
/// Where `SoftPool` puts its frames (its documented base).
const POOL_BASE: u64 = 0x1_0000_0000;

/// hgatp.MODE values.
const SV39X4: u64 = 8;
const SV48X4: u64 = 9;

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    /// The AIA offer (identities, IID bits, writable hvien bits, hviprio bits), if any.
    aia: Option<(u16, u8, u64, u8)>,
    /// L1 registers its NACL shared memory first.
    nacl: bool,
    steps: Vec<Step>,
}

#[derive(Debug, arbitrary::Arbitrary)]
enum Step {
    /// csrrw x0, csr, value from L1 (H and VS CSRs: 0x2xx, 0x6xx).
    CsrWrite { high: bool, low: u8, value: u64 },
    /// L1's csrrs x5 of an AIA CSR by number (0xE12 hgeip, 0xEB0 vstopi among them).
    CsrRead { csr: u16 },
    /// L1 sets SPV and executes SRET.
    Enter,
    /// A trap from L2.
    GuestTrap {
        code: u8,
        interrupt: bool,
        tval: u64,
        htval: u64,
        supervisor: bool,
    },
    /// L2's CSR instruction on one of its AIA CSRs (siselect, sireg, stopei, stopi) traps
    /// with a virtual-instruction exception.
    L2AiaCsr {
        which: u8,
        funct3: u8,
        rs1: u8,
        value: u64,
        supervisor: bool,
    },
    /// The host makes L1 take an interrupt while L2 runs.
    InterruptL1 { code: u8 },
    /// The host asks which interrupt L1 must take.
    PendingL1 { now: u64 },
    /// An access to virtual guest file `g`'s page.
    FileAccess {
        g: u8,
        offset: u16,
        width: u8,
        op: u8,
        value: u64,
    },
    /// The host lends real file `p` to virtual file `g` (both steps, or only the first).
    Lend { g: u8, p: u8, attach: bool },
    /// The host takes virtual file `g` back into software.
    TakeBack { g: u8 },
    /// L1 writes its own sstatus (the real vsstatus): SIE, SPIE, SPP, VS, FS, SUM, MXR.
    L1Sstatus { value: u64 },
    /// L2 writes an FP (or vector) register: the hart makes the real sstatus field Dirty.
    L2Dirties { vector: bool },
    /// Linux's `vcpu_load`: L1 writes the hgatp of context `ctx` (see [`context_hgatp`]) into
    /// its slot with the dirty bit, or with a trapped write (`trapped`, or without NACL).
    Load { ctx: u8, trapped: bool },
    /// Linux's `vcpu_put` with Sstc: a trapped `csrw vstimecmp, -1`.
    Put,
    /// L1 writes CSR slot `index` (of 1024) of its shared memory, with or without its dirty
    /// bit.
    SlotWrite { index: u16, value: u64, dirty: bool },
    /// NACL sync_csr of one CSR (hgatp, hstatus, vsatp, vstimecmp, any) or of all.
    SyncCsr { csr: Option<(u8, u16)> },
    /// L1 enters L2 with NACL sync_sret (SPV through the hstatus slot, or a trapped write);
    /// x1-x31 come from the SRET area, filled from `seed`.
    SyncSret { trapped_hstatus: bool, seed: u64 },
    /// L1 rewrites last-level entry `page` of table `table` (a leaf to L1 page `target`, with
    /// `flags`, or invalid) and fences it at once (`fence`: HFENCE.GVMA of the GPA or of all,
    /// or a queued GVMA or GVMA_ALL and its sync_hfence).
    Remap {
        table: u8,
        page: u8,
        target: u8,
        flags: u8,
        fence: u8,
    },
    /// HFENCE.GVMA (or .VVMA) from L1, with or without an address and a VMID (ASID).
    Hfence {
        vvma: bool,
        page: Option<u8>,
        id: Option<u16>,
    },
    /// L1 queues an HFENCE entry of type `kind`; `sync` 0 leaves it to the next sync_sret, 1
    /// syncs that entry, 2 every entry.
    QueueHfence {
        kind: u8,
        vmid: u16,
        asid: u16,
        page: u8,
        count: u8,
        order: u8,
        sync: u8,
    },
    /// L2 fetches from, loads from or stores to a GPA of the checked range: the real shadow
    /// serves it, or the hart takes the guest-page fault.
    L2Access { page: u8, offset: u16, kind: u8 },
}

/// The sstatus fields of L1 that act on L2: MXR, FS, VS.
const PROJECTED: u64 = 1 << 19 | 3 << 13 | 3 << 9;

fn l1_trap(bits: u32) -> Trap {
    Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: u64::from(bits),
        mode: VirtualMode::Hypervisor,
    }
}

fn csrrw(csr: u16) -> u32 {
    u32::from(csr) << 20 | 31 << 15 | 1 << 12 | 0x73
}

/// HFENCE.GVMA (or .VVMA) rs1, rs2.
fn hfence(vvma: bool, rs1: u32, rs2: u32) -> u32 {
    let funct7 = if vvma { 0x11 } else { 0x31 };
    funct7 << 25 | rs2 << 20 | rs1 << 15 | 0x73
}

/// The hgatp of L1 context `ctx`: one of the four roots, VMID 0-3, Sv39x4 or Sv48x4.
fn context_hgatp(ctx: u8) -> u64 {
    let root = ROOTS[usize::from(ctx % 4)];
    let vmid = u64::from(ctx / 4 % 4);
    let mode = if (ctx / 16).is_multiple_of(2) {
        SV39X4
    } else {
        SV48X4
    };
    mode << 60 | vmid << 44 | root >> 12
}

/// The last-level entry of table `table` for L2 page `page` at start: distinct per table
/// (targets, permissions, D, holes, some beyond L1's memory); table 1 maps page 0 to L1 page
/// 0, 2 MiB aligned, so that its Sv48x4 reading holds a superpage.
fn initial_leaf(table: u64, page: u64) -> u64 {
    if (page + table) % 7 == 6 {
        return 0;
    }
    let target = if table == 1 && page == 0 {
        0
    } else {
        (page * 7 + table * 5 + 3) % 20
    };
    let perms = [R | W | X, R, R | W, R | X][((page + table) % 4) as usize];
    let dirty = if (page + 2 * table).is_multiple_of(5) {
        0
    } else {
        D
    };
    ((L1_BASE >> 12) + target) << 10 | perms | U | A | dirty | V
}

/// The L1 GPA of last-level entry `page` of table `table`.
fn last_level_entry(table: u64, page: u64) -> u64 {
    ROOTS[table as usize] + 0x2000 + page * 8
}

/// Builds the three tables: root entry 0 -> second level, its entry 0 -> last level.
fn build_tables(memory: &mut SoftMemory) {
    let pointer = |table: u64| (table >> 12) << 10 | V;
    for table in 0..3 {
        let root = ROOTS[table as usize];
        Tables::write(memory, root, pointer(root + 0x1000));
        Tables::write(memory, root + 0x1000, pointer(root + 0x2000));
        for page in 0..INITIAL_PAGES {
            Tables::write(
                memory,
                last_level_entry(table, page),
                initial_leaf(table, page),
            );
        }
    }
}

/// L1's side of its NACL shared memory, written from the SBI spec ("Nested Acceleration
/// Extension": the shared-memory layout, "Feature: Synchronized CSR", "Feature: Synchronized
/// HFENCE", "Feature: Synchronized SRET") rather than through `nacl-shmem`, which the engine
/// itself uses.
mod l1_shmem {
    use super::SHMEM;
    use nested_core::host::GuestMemory;
    use nested_core::testing::SoftMemory;

    /// The slot index of CSR `csr`.
    pub fn index(csr: u16) -> usize {
        usize::from(csr & 0xc00) >> 2 | usize::from(csr & 0xff)
    }

    fn read(memory: &SoftMemory, offset: u64) -> u64 {
        let mut bytes = [0; 8];
        // The shared memory lies inside the model's memory.
        memory
            .read(SHMEM + offset, &mut bytes)
            .expect("shared memory");
        u64::from_le_bytes(bytes)
    }

    fn write(memory: &mut SoftMemory, offset: u64, value: u64) {
        memory
            .write(SHMEM + offset, &value.to_le_bytes())
            .expect("shared memory");
    }

    /// Reads slot `index`, as Linux's `ncsr_read`.
    pub fn read_slot(memory: &SoftMemory, index: usize) -> u64 {
        read(memory, 0x1000 + index as u64 * 8)
    }

    /// Writes slot `index` and, when `dirty`, sets its bit (Linux's `ncsr_write`: byte
    /// 0xF80 + index / 8, bit index % 8).
    pub fn write_slot(memory: &mut SoftMemory, index: usize, value: u64, dirty: bool) {
        write(memory, 0x1000 + index as u64 * 8, value);
        if dirty {
            let mut byte = [0];
            let at = SHMEM + 0xf80 + index as u64 / 8;
            memory.read(at, &mut byte).expect("shared memory");
            byte[0] |= 1 << (index % 8);
            memory.write(at, &byte).expect("shared memory");
        }
    }

    /// Fills the SRET area's x1-x31.
    pub fn write_sret_gprs(memory: &mut SoftMemory, gprs: &[u64; 32]) {
        for (i, value) in gprs.iter().enumerate().skip(1) {
            write(memory, i as u64 * 8, *value);
        }
    }

    /// An RV64 HFENCE entry: 60 of them from 0x800, 32 bytes each.
    pub const HFENCE_ENTRIES: usize = 60;

    fn entry(i: usize) -> u64 {
        0x800 + i as u64 * 32
    }

    /// The first entry whose pending bit is clear.
    pub fn free_entry(memory: &SoftMemory) -> Option<usize> {
        (0..HFENCE_ENTRIES).find(|&i| read(memory, entry(i)) >> 63 == 0)
    }

    /// An HFENCE request as L1 words it.
    pub struct Hfence {
        /// The type (0-7: GVMA, GVMA_ALL, GVMA_VMID, GVMA_VMID_ALL, VVMA, ...).
        pub kind: u64,
        /// log2 of the page size, at least 12.
        pub order: u64,
        pub vmid: u64,
        pub asid: u64,
        pub page_number: u64,
        pub page_count: u64,
    }

    /// Queues `fence` in free entry `i`: page number, page count, then the config word
    /// (pending, type, order - 12, VMID, ASID).
    pub fn queue(memory: &mut SoftMemory, i: usize, fence: &Hfence) {
        let config = 1 << 63
            | (fence.kind & 0xf) << 56
            | (fence.order - 12) << 48
            | (fence.vmid & 0x3fff) << 16
            | (fence.asid & 0xffff);
        write(memory, entry(i) + 8, fence.page_number);
        write(memory, entry(i) + 16, 0);
        write(memory, entry(i) + 24, fence.page_count);
        write(memory, entry(i), config);
    }
}

/// What L1 architecturally set as its hgatp, and a value of its slot whose dirty bit is set
/// (a write the next sync applies).
// SBI spec, "Nested Acceleration Extension", "Feature: Synchronized CSR": a dirty slot takes
// effect at the sync; a trapped write takes effect at once and replaces what the slot held.
struct L1Hgatp {
    value: u64,
    pending: Option<u64>,
    config: NestedConfig,
}

impl L1Hgatp {
    /// hgatp's WARL rule: gstage's, as the engine's CSR file applies it.
    fn warl(&self, wanted: u64) -> u64 {
        let old =
            Hgatp::decode(Xlen::Rv64, self.value).unwrap_or(Hgatp::new(GStageMode::Bare, 0, 0));
        old.write_warl(
            Xlen::Rv64,
            wanted,
            self.config.hgatp_modes,
            self.config.vmid_bits,
        )
        .encode(Xlen::Rv64)
    }

    /// A trapped write of `csr` that the engine performed.
    fn trapped_write(&mut self, csr: u16, value: u64) {
        if csr == real::HGATP {
            self.value = self.warl(value);
            self.pending = None;
        }
    }

    /// L1 wrote slot `index` (a bit already set stays set).
    fn slot_write(&mut self, index: usize, value: u64, dirty: bool) {
        if index == l1_shmem::index(real::HGATP) && (dirty || self.pending.is_some()) {
            self.pending = Some(value);
        }
    }

    /// A sync of hgatp's slot (sync_csr of it or of all, sync_sret).
    fn sync(&mut self) {
        if let Some(wanted) = self.pending.take() {
            self.value = self.warl(wanted);
        }
    }

    fn key(&self) -> ContextKey {
        // Every value the record holds went through the WARL rule: its mode is legal.
        ContextKey::from_hgatp(Hgatp::decode(Xlen::Rv64, self.value).expect("a legal hgatp"))
    }
}

/// L1's memory as the reference walk reads its G-stage tables (read-only: the tests' L1
/// walk has Svade, so no A/D update is ever asked for).
struct L1Memory<'a>(&'a SoftMemory);

impl PteMemory for L1Memory<'_> {
    fn read_pte(&mut self, addr: u64, width: PteWidth) -> Result<u64, MemoryFault> {
        let mut bytes = [0; 8];
        let len = width.bytes() as usize;
        self.0
            .read(addr, &mut bytes[..len])
            .map_err(|_| MemoryFault)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        _: PteWidth,
        _: u64,
        _: u64,
    ) -> Result<u64, MemoryFault> {
        unreachable!("a walk with Svade never sets A or D ({addr:#x})")
    }
}

/// The host's frames as the hardware reads the real shadow tables (walked with Svade: the
/// shadow's leaves have A and D set).
struct ShadowTables<'a>(&'a SoftPool);

impl PteMemory for ShadowTables<'_> {
    fn read_pte(&mut self, addr: u64, width: PteWidth) -> Result<u64, MemoryFault> {
        let offset = addr
            .checked_sub(POOL_BASE)
            .filter(|&o| o < (FRAMES * 4096) as u64 && o % 8 == 0 && width == PteWidth::Bits64)
            .ok_or(MemoryFault)?;
        let frame = HostFrame::new(addr & !0xfff, FrameKind::Table);
        Ok(self.0.table(frame)[(offset & 0xfff) as usize / 8])
    }

    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        _: PteWidth,
        _: u64,
        _: u64,
    ) -> Result<u64, MemoryFault> {
        unreachable!("a walk with Svade never sets A or D ({addr:#x})")
    }
}

/// The guest-page fault codes, by kind of access.
const ACCESS_CODES: [u64; 3] = [20, 21, 23];

/// The host address L2 reaches at `gpa` for `access` through the real hgatp, if the real
/// shadow tables translate it.
fn shadow_walk(host: &SoftHost, gpa: u64, access: Access) -> Option<u64> {
    let shadow = Hgatp::decode(Xlen::Rv64, host.cpu.read_csr(real::HGATP)).ok()?;
    let config = WalkConfig::default();
    let walk = translate(
        shadow.mode(),
        shadow.root_pa(),
        gpa,
        access,
        &config,
        &mut ShadowTables(&host.pool),
    );
    walk.ok().map(|t| t.pa)
}

/// What L1's G-stage for `key` maps `gpa` to for `access` now, composed with the host's map
/// of L1: the host address, if both stages grant it.
fn reference_walk(host: &SoftHost, key: ContextKey, gpa: u64, access: Access) -> Option<u64> {
    let l1_walk = shadow_config(1).l1_walk;
    let l1 = translate(
        key.mode,
        key.root_pa,
        gpa,
        access,
        &l1_walk,
        &mut L1Memory(&host.memory),
    )
    .ok()?;
    let mapping = host.map.translate(l1.pa)?;
    access.granted_by(mapping.perms).then_some(mapping.host_pa)
}

/// The access an L2 hart makes for kind `code` with the HS-level MXR it runs with.
fn l2_access(host: &SoftHost, code: u64) -> Access {
    let mxr = host.cpu.read_csr(real::SSTATUS) & SSTATUS_MXR != 0;
    Access::from_guest_page_fault(code, 0, mxr)
}

/// Isolation between L2 contexts, while L2 runs: the real hgatp is a shadow table in the
/// host's pool, and every translation it gives in the checked range is exactly L1's for the
/// hgatp L1 set, composed with the host's map.
fn check_isolation(host: &SoftHost, l1: &L1Hgatp) {
    let raw = host.cpu.read_csr(real::HGATP);
    let shadow = Hgatp::decode(Xlen::Rv64, raw);
    let in_pool = |pa: u64| (POOL_BASE..POOL_BASE + (FRAMES * 4096) as u64).contains(&pa);
    assert!(
        shadow.is_ok_and(|h| h.mode() != GStageMode::Bare && in_pool(h.root_pa())),
        "L2 runs on a shadow table, not {raw:#x}"
    );
    let key = l1.key();
    for gpa in (0..CHECKED_PAGES).map(|page| page << 12) {
        for code in ACCESS_CODES {
            let access = l2_access(host, code);
            if let Some(pa) = shadow_walk(host, gpa, access) {
                let expected = reference_walk(host, key, gpa, access);
                assert_eq!(
                    Some(pa),
                    expected,
                    "L2 under L1's {key:x?} reaches host {pa:#x} at GPA {gpa:#x} for \
                     {access:?} through the shadow {raw:#x}; L1's table maps {expected:x?}"
                );
            }
        }
    }
}

/// L1 queues an HFENCE (syncing every entry first when none is free, as Linux does) and
/// returns its entry.
fn queue_hfence(
    hart: &mut NestedHart<2, 4>,
    host: &mut SoftHost,
    fence: &l1_shmem::Hfence,
) -> usize {
    let i = match l1_shmem::free_entry(&host.memory) {
        Some(i) => i,
        None => {
            assert_eq!(hart.nacl_sync_hfence(None, host), Ok(0));
            l1_shmem::free_entry(&host.memory).expect("sync_hfence frees every entry")
        }
    };
    l1_shmem::queue(&mut host.memory, i, fence);
    i
}

fuzz_target!(|input: Input| {
    let shadow = shadow_config(1);
    let aia = input.aia.map(
        |(identities, iid_bits, hvien_writable, hviprio_bits)| AiaConfig {
            identities,
            iid_bits,
            hvien_writable,
            hviprio_bits,
        },
    );
    let config = NestedConfig {
        aia,
        ..NestedConfig::rv64()
    };
    let mut hart: NestedHart<2, 4> = NestedHart::new(config, shadow, 0);
    assert_eq!(
        hart.aia().is_some(),
        aia.is_some(),
        "RV64: every offer is clamped, not dropped"
    );
    assert!(!shadow.l1_walk.svadu, "the reference walk only reads");
    let mut host = Box::new(SoftHost::new());
    for (csr, value) in [
        (real::VSTVEC, 0x8040_0000),
        (real::HVICTL, HOST_HVICTL),
        (real::HVIEN, HOST_HVIEN),
        (real::HSTATUS, HOST_VGEIN),
        (real::VSISELECT, HOST_SISELECT),
    ] {
        host.cpu.write_csr(csr, value);
    }
    build_tables(&mut host.memory);
    let nacl = input.nacl;
    if nacl {
        assert_eq!(hart.nacl_set_shmem(Some(SHMEM), &mut *host), Ok(0));
    }
    let mut l1 = L1Hgatp {
        value: 0,
        pending: None,
        config: *hart.config(),
    };
    let mut regs = GuestRegs::default();
    regs.x[31] = context_hgatp(4);
    hart.emulate(&l1_trap(csrrw(real::HGATP)), &mut regs, &mut *host);
    l1.trapped_write(real::HGATP, regs.x[31]);
    let mut filled = Vec::new();
    // FS/VS fields L2 dirtied (or may have): in this run of L2, and ever (the host's stay
    // Dirty).
    let (mut dirtied_now, mut dirtied_ever) = (0u64, 0u64);
    for step in input.steps.into_iter().take(64) {
        let was_in_guest = hart.in_guest();
        let l1_sstatus = host.cpu.read_csr(real::VSSTATUS);
        match step {
            Step::CsrWrite { high, low, value } if !was_in_guest => {
                let csr = if high { 0x600 } else { 0x200 } | u16::from(low);
                regs.x[31] = value;
                let outcome = hart.emulate(&l1_trap(csrrw(csr)), &mut regs, &mut *host);
                assert!(!hart.in_guest(), "a CSR write does not switch worlds");
                if matches!(outcome, Outcome::Resume { .. }) {
                    l1.trapped_write(csr, value);
                }
            }
            Step::CsrRead { csr } if !was_in_guest => {
                let bits = u32::from(csr & 0xfff) << 20 | 2 << 12 | 5 << 7 | 0x73;
                hart.emulate(&l1_trap(bits), &mut regs, &mut *host);
                assert!(!hart.in_guest(), "a CSR read does not switch worlds");
            }
            Step::Enter if !was_in_guest => {
                regs.x[31] = 1 << 7; // hstatus.SPV
                hart.emulate(&l1_trap(csrrw(0x600)), &mut regs, &mut *host);
                let outcome = hart.emulate(&l1_trap(0x1020_0073), &mut regs, &mut *host);
                let unavailable = matches!(outcome, Outcome::ShadowUnavailable(_));
                assert_eq!(
                    hart.in_guest(),
                    !unavailable,
                    "SRET with SPV enters the guest: {outcome:?}"
                );
            }
            Step::GuestTrap {
                code,
                interrupt,
                tval,
                htval,
                supervisor,
            } if was_in_guest => {
                let trap = GuestTrap {
                    code: u64::from(code % 64),
                    interrupt,
                    tval,
                    htval,
                    htinst: 0,
                    gva: false,
                    supervisor,
                };
                let outcome = hart.handle_guest_trap(&trap, &mut regs, &mut *host);
                let stays = matches!(outcome, Outcome::Resume { effects, .. } if !effects.contains(nested_core::Effects::WORLD))
                    || !matches!(outcome, Outcome::Resume { .. });
                assert_eq!(hart.in_guest(), stays, "{trap:?} -> {outcome:?}");
                if hart.in_guest() && !interrupt && [20, 21, 23].contains(&trap.code) {
                    filled.push((htval << 2) | (tval & 3));
                }
            }
            Step::L2AiaCsr {
                which,
                funct3,
                rs1,
                value,
                supervisor,
            } if was_in_guest => {
                let csr = [0x150u32, 0x151, 0x15c, 0xdb0, 0x250, 0x251][usize::from(which % 6)];
                let funct3 = [1u32, 2, 3, 5, 6, 7][usize::from(funct3 % 6)];
                let bits = csr << 20 | u32::from(rs1 % 32) << 15 | funct3 << 12 | 6 << 7 | 0x73;
                regs.x[usize::from(rs1 % 32)] = value;
                let trap = GuestTrap {
                    code: cause::VIRTUAL_INSTRUCTION,
                    interrupt: false,
                    tval: u64::from(bits),
                    htval: 0,
                    htinst: 0,
                    gva: false,
                    supervisor,
                };
                let pc = regs.pc;
                let outcome = hart.handle_guest_trap(&trap, &mut regs, &mut *host);
                if hart.in_guest() {
                    assert!(
                        regs.pc == pc.wrapping_add(4)
                            || regs.pc == host.cpu.read_csr(real::VSTVEC) & !3,
                        "performed, or an illegal instruction L2 takes: {outcome:?}"
                    );
                    assert!(hart.aia().is_some(), "only the AIA performs L2's accesses");
                }
            }
            Step::InterruptL1 { code } if was_in_guest => {
                hart.interrupt_l1(u64::from(code % 16), true, &mut regs, &mut *host);
                assert!(!hart.in_guest(), "an interrupt for L1 returns to L1");
                assert_eq!(
                    host.cpu.read_csr(real::VSCAUSE) >> 63,
                    1,
                    "delivered as an interrupt"
                );
            }
            Step::PendingL1 { now } => {
                let pending = hart.pending_l1_interrupt(now, &mut *host);
                assert!(
                    pending.is_none_or(|code| [9, 1, 5, 12, 10, 2, 6].contains(&code)),
                    "{pending:?}"
                );
                assert!(pending.is_none() || was_in_guest, "only while L2 runs");
            }
            Step::FileAccess {
                g,
                offset,
                width,
                op,
                value,
            } => {
                let op = match op % 3 {
                    0 => MmioOp::Load,
                    1 => MmioOp::Store(value),
                    _ => MmioOp::Amo,
                };
                let access = hart.guest_file_mmio(
                    usize::from(g % 8),
                    u64::from(offset),
                    width,
                    op,
                    &mut *host,
                );
                let plain = width == 4 && offset % 4 == 0 && offset < 4096 && op != MmioOp::Amo;
                assert_eq!(access.is_ok(), plain && hart.aia().is_some(), "{op:?}");
                assert_eq!(
                    hart.in_guest(),
                    was_in_guest,
                    "a file access switches no world"
                );
            }
            Step::Lend { g, p, attach } => {
                if let Some(p) = PhysGuestFile::new(p % 8) {
                    let g = usize::from(g % 6);
                    if hart.prepare_guest_file(g, p, &mut *host).is_ok() && attach {
                        let attached = hart.attach_guest_file(g, p, &mut *host);
                        assert_eq!(attached, Ok(()), "prepared, then attached");
                    }
                }
            }
            Step::TakeBack { g } => {
                hart.detach_guest_file(usize::from(g % 6), &mut *host);
            }
            Step::L1Sstatus { value } if !was_in_guest => {
                host.cpu.write_csr(
                    real::VSSTATUS,
                    value & (0x2 | 0x20 | 0x100 | 1 << 18 | PROJECTED),
                );
            }
            Step::L2Dirties { vector } if was_in_guest => {
                let field = if vector { 3 << 9 } else { 3 << 13 };
                let sstatus = host.cpu.read_csr(real::SSTATUS);
                host.cpu.write_csr(real::SSTATUS, sstatus | field);
                dirtied_now |= field;
                dirtied_ever |= field;
            }
            Step::Load { ctx, trapped } if !was_in_guest => {
                let value = context_hgatp(ctx);
                if trapped || !nacl {
                    regs.x[31] = value;
                    hart.emulate(&l1_trap(csrrw(real::HGATP)), &mut regs, &mut *host);
                    l1.trapped_write(real::HGATP, value);
                } else {
                    let index = l1_shmem::index(real::HGATP);
                    l1_shmem::write_slot(&mut host.memory, index, value, true);
                    l1.slot_write(index, value, true);
                }
            }
            Step::Put if !was_in_guest => {
                regs.x[31] = u64::MAX;
                hart.emulate(&l1_trap(csrrw(real::VSTIMECMP)), &mut regs, &mut *host);
                assert!(!hart.in_guest(), "a CSR write does not switch worlds");
            }
            Step::SlotWrite {
                index,
                value,
                dirty,
            } if nacl && !was_in_guest => {
                let index = usize::from(index % 1024);
                l1_shmem::write_slot(&mut host.memory, index, value, dirty);
                l1.slot_write(index, value, dirty);
            }
            Step::SyncCsr { csr } if nacl && !was_in_guest => {
                let csr = csr.map(|(which, any)| match which % 5 {
                    0 => real::HGATP,
                    1 => real::HSTATUS,
                    2 => real::VSATP,
                    3 => real::VSTIMECMP,
                    _ => any,
                });
                let synced = hart.nacl_sync_csr(csr, &mut *host);
                if synced.is_ok() && csr.is_none_or(|csr| csr == real::HGATP) {
                    l1.sync();
                }
                assert!(!hart.in_guest(), "sync_csr does not switch worlds");
            }
            Step::SyncSret {
                trapped_hstatus,
                seed,
            } if nacl && !was_in_guest => {
                let index = l1_shmem::index(real::HSTATUS);
                let hstatus = l1_shmem::read_slot(&host.memory, index) | 1 << 7;
                if trapped_hstatus {
                    regs.x[31] = hstatus;
                    hart.emulate(&l1_trap(csrrw(real::HSTATUS)), &mut regs, &mut *host);
                } else {
                    l1_shmem::write_slot(&mut host.memory, index, hstatus, true);
                }
                let gprs: [u64; 32] = core::array::from_fn(|i| seed.rotate_left(i as u32));
                l1_shmem::write_sret_gprs(&mut host.memory, &gprs);
                let result = hart.nacl_sync_sret(&mut regs, &mut *host);
                l1.sync();
                match result {
                    Ok(_) => {
                        assert!(hart.in_guest(), "sync_sret with SPV enters the guest");
                        assert_eq!(regs.x[1..], gprs[1..], "x1-x31 from the SRET area");
                    }
                    Err(error) => {
                        assert_eq!(error, SbiError::Failed, "only a missing shadow fails");
                        assert!(!hart.in_guest(), "a failed sync_sret stays in L1");
                    }
                }
            }
            Step::Remap {
                table,
                page,
                target,
                flags,
                fence,
            } if !was_in_guest => {
                let (table, page) = (u64::from(table % 3), u64::from(page) % CHECKED_PAGES);
                let mut flags = u64::from(flags);
                if flags & (R | W | X) == 0 {
                    flags &= !V; // a leaf or nothing: a pointer could lead into the NACL page
                }
                let pte = ((L1_BASE >> 12) + u64::from(target % 24)) << 10 | flags;
                Tables::write(&mut host.memory, last_level_entry(table, page), pte);
                match (fence % 4, nacl) {
                    (0, _) | (2, false) => {
                        regs.x[5] = page << 12 >> 2;
                        hart.emulate(&l1_trap(hfence(false, 5, 0)), &mut regs, &mut *host);
                    }
                    (1, _) | (3, false) => {
                        hart.emulate(&l1_trap(hfence(false, 0, 0)), &mut regs, &mut *host);
                    }
                    (2, true) => {
                        let range = Hfence {
                            kind: 0, // GVMA
                            order: 12,
                            vmid: 0,
                            asid: 0,
                            page_number: page,
                            page_count: 1,
                        };
                        let i = queue_hfence(&mut hart, &mut host, &range);
                        let synced = hart.nacl_sync_hfence(Some(i as u32), &mut *host);
                        assert_eq!(synced, Ok(0));
                    }
                    _ => {
                        let all = Hfence {
                            kind: 1, // GVMA_ALL
                            order: 12,
                            vmid: 0,
                            asid: 0,
                            page_number: 0,
                            page_count: 0,
                        };
                        queue_hfence(&mut hart, &mut host, &all);
                        assert_eq!(hart.nacl_sync_hfence(None, &mut *host), Ok(0));
                    }
                }
                assert!(!hart.in_guest(), "a fence does not switch worlds");
            }
            Step::Hfence { vvma, page, id } if !was_in_guest => {
                let address = page.map(|page| u64::from(page) << 12);
                regs.x[5] = address.map_or(0, |a| if vvma { a } else { a >> 2 });
                regs.x[6] = id.map_or(0, u64::from);
                let bits = hfence(
                    vvma,
                    if page.is_some() { 5 } else { 0 },
                    if id.is_some() { 6 } else { 0 },
                );
                hart.emulate(&l1_trap(bits), &mut regs, &mut *host);
                assert!(!hart.in_guest(), "a fence does not switch worlds");
            }
            Step::QueueHfence {
                kind,
                vmid,
                asid,
                page,
                count,
                order,
                sync,
            } if nacl && !was_in_guest => {
                let fence = Hfence {
                    kind: u64::from(kind % 8),
                    order: 12 + u64::from(order % 10),
                    vmid: u64::from(vmid % 5),
                    asid: u64::from(asid),
                    page_number: u64::from(page),
                    page_count: u64::from(count),
                };
                let i = queue_hfence(&mut hart, &mut host, &fence);
                match sync % 3 {
                    0 => {}
                    1 => assert_eq!(hart.nacl_sync_hfence(Some(i as u32), &mut *host), Ok(0)),
                    _ => assert_eq!(hart.nacl_sync_hfence(None, &mut *host), Ok(0)),
                }
            }
            Step::L2Access { page, offset, kind } if was_in_guest => {
                let gpa = (u64::from(page) % CHECKED_PAGES) << 12 | u64::from(offset & 0xfff);
                let code = ACCESS_CODES[usize::from(kind % 3)];
                let access = l2_access(&host, code);
                if shadow_walk(&host, gpa, access).is_none() {
                    let trap = GuestTrap {
                        code,
                        interrupt: false,
                        tval: gpa,
                        htval: gpa >> 2,
                        htinst: 0,
                        gva: false,
                        supervisor: true,
                    };
                    let outcome = hart.handle_guest_trap(&trap, &mut regs, &mut *host);
                    let resumed = matches!(outcome, Outcome::Resume { effects, .. } if !effects.contains(nested_core::Effects::WORLD));
                    if resumed {
                        assert!(
                            shadow_walk(&host, gpa, access).is_some(),
                            "a fill L2 resumes from serves the access: {trap:?}"
                        );
                    }
                    if hart.in_guest() {
                        filled.push(gpa);
                    }
                }
            }
            _ => {}
        }
        assert_eq!(check_legal_values(hart.csrs()), Ok(()));
        if let Some(aia) = hart.aia() {
            assert_eq!(check_legal_aia(aia), Ok(()));
        }
        let real_sstatus = host.cpu.read_csr(real::SSTATUS) & PROJECTED;
        if hart.in_guest() && !was_in_guest {
            assert_eq!(
                real_sstatus,
                l1_sstatus & PROJECTED,
                "L1's MXR, FS, VS act on L2"
            );
            // A field L1 enters with Dirty may be dirtied by L2 unseen: the engine counts it so.
            for field in [3 << 9, 3 << 13] {
                if l1_sstatus & field == field {
                    dirtied_now |= field;
                    dirtied_ever |= field;
                }
            }
        }
        if !hart.in_guest() {
            assert_eq!(
                real_sstatus, dirtied_ever,
                "the host's MXR, FS, VS (all 0), Dirty once L2 dirtied them"
            );
        }
        if was_in_guest && !hart.in_guest() {
            let l1 = host.cpu.read_csr(real::VSSTATUS);
            assert_eq!(l1 & dirtied_now, dirtied_now, "L1's field is Dirty");
            assert!(dirtied_now == 0 || l1 >> 63 == 1, "with SD");
            dirtied_now = 0;
        }
        let real_vgein = host.cpu.read_csr(real::HSTATUS) & HSTATUS_VGEIN;
        if !hart.in_guest() {
            // Whenever L1 runs, the real CSRs hold the host's settings for it.
            assert_eq!(real_vgein, HOST_VGEIN, "the host's VGEIN for L1");
            assert_eq!(host.cpu.read_csr(real::HVICTL), HOST_HVICTL);
            assert_eq!(host.cpu.read_csr(real::HVIEN), HOST_HVIEN);
            assert_eq!(host.cpu.read_csr(real::VSISELECT), HOST_SISELECT);
        } else {
            let aia = hart.aia();
            let backing = aia.and_then(|aia| aia.backing(aia.selected_file()?));
            let expected = match backing {
                Some(FileBacking::Hardware(p)) => u64::from(p.get()) << 12,
                _ => 0,
            };
            assert_eq!(
                real_vgein, expected,
                "L2 sees the file L1 selected, and only that"
            );
            check_isolation(&host, &l1);
        }
        // Isolation: a leaf the shadow holds maps host memory inside what the host gave L1.
        let key = hart.current_context();
        for &gpa in &filled {
            if let Some(leaf) = hart.shadow().lookup(key, gpa, &host.pool) {
                let pa = leaf.pte.pa(nested_core::gstage::PteWidth::Bits64);
                assert!(
                    (L1_BASE..L1_BASE + MEMORY_BYTES as u64).contains(&pa),
                    "leaf for {gpa:#x} maps {pa:#x}"
                );
            }
        }
    }
});
