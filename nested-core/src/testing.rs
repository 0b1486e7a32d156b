//! A software model of the host, for tests and fuzz targets (feature `testing`): the real
//! CSRs, the fences executed, L1's memory, an identity L1 address map, a frame pool and the
//! real guest interrupt files.

use crate::host::{
    FetchFault, FrameKind, FramePool, GuestFileHardware, GuestMemory, Host, HostFrame, HostMapping,
    HostParts, L1AddressMap, MemError, PartsOf, PhysGuestFile, PhysicalHart,
};
use aia_virt::iselect::{VsSelect, imsic_reg};
use aia_virt::{CsrOp, ImsicFile};
use gstage::Perms;
use heapless::{LinearMap, Vec};

/// A real fence the engine asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence {
    /// HFENCE.GVMA (vmid, gpa).
    Gvma(Option<u16>, Option<u64>),
    /// HFENCE.VVMA (vmid, asid, va).
    Vvma(u16, Option<u16>, Option<u64>),
}

/// Bytes of L1 memory the model holds.
pub const MEMORY_BYTES: usize = 64 * 1024;
/// 4 KiB frames in the model's pool.
pub const FRAMES: usize = 64;

/// Real guest interrupt files of the model's hart (1..=`REAL_GUEST_FILES`).
pub const REAL_GUEST_FILES: usize = 7;
/// Identities of each of the model's real guest files.
pub const REAL_FILE_IDENTITIES: u16 = 255;

/// The software host: one real hart, `MEMORY_BYTES` of L1 memory at 0x8000_0000 that the
/// host maps 1:1 (L1 GPA = host PA) with read, write and execute, a pool of `FRAMES`
/// frames at 0x1_0000_0000, and `REAL_GUEST_FILES` real guest interrupt files.
pub struct SoftHost {
    /// The real hart.
    pub cpu: SoftCpu,
    /// L1's memory.
    pub memory: SoftMemory,
    /// The host's map of L1's memory.
    pub map: IdentityMap,
    /// Frames for shadow tables.
    pub pool: SoftPool,
    /// The real guest interrupt files.
    pub files: SoftGuestFiles,
}

impl SoftHost {
    /// A fresh model.
    pub fn new() -> Self {
        let memory = SoftMemory {
            base: 0x8000_0000,
            bytes: [0; MEMORY_BYTES],
        };
        let map = IdentityMap {
            base: memory.base,
            len: MEMORY_BYTES as u64,
        };
        let pool = SoftPool {
            base: 0x1_0000_0000,
            frames: [0; 512 * FRAMES],
            used: [false; FRAMES],
        };
        Self {
            cpu: SoftCpu::default(),
            memory,
            map,
            pool,
            files: SoftGuestFiles::new(),
        }
    }
}

impl Default for SoftHost {
    fn default() -> Self {
        Self::new()
    }
}

impl Host for SoftHost {
    type Memory = SoftMemory;
    type Map = IdentityMap;
    type Pool = SoftPool;
    type Hart = SoftCpu;
    type Files = SoftGuestFiles;

    fn parts(&mut self) -> PartsOf<'_, Self> {
        HostParts {
            memory: &mut self.memory,
            map: &self.map,
            pool: &mut self.pool,
            hart: &mut self.cpu,
            files: &mut self.files,
        }
    }
}

/// The real guest interrupt files of the model, each an `aia-virt` [`ImsicFile`] (a real file
/// obeys the same spec); the real hgeip is their lines. Index 0 is unused (no file 0).
pub struct SoftGuestFiles {
    /// The files by number.
    pub files: [ImsicFile; REAL_GUEST_FILES + 1],
    /// How many accesses the engine made to them.
    pub accesses: usize,
}

impl SoftGuestFiles {
    /// Every file empty, delivery off.
    pub fn new() -> Self {
        // Checked when the constant is built: REAL_FILE_IDENTITIES is a legal file size.
        const EMPTY: ImsicFile = match ImsicFile::new(REAL_FILE_IDENTITIES) {
            Ok(file) => file,
            Err(_) => panic!("not a legal file size"),
        };
        Self {
            files: core::array::from_fn(|_| EMPTY),
            accesses: 0,
        }
    }

    /// Real file `p`, if the model has it.
    pub fn file(&mut self, p: PhysGuestFile) -> Option<&mut ImsicFile> {
        self.files.get_mut(usize::from(p.get()))
    }
}

impl Default for SoftGuestFiles {
    fn default() -> Self {
        Self::new()
    }
}

impl GuestFileHardware for SoftGuestFiles {
    fn ireg_rmw(&mut self, file: PhysGuestFile, iselect: u16, op: CsrOp) -> u64 {
        self.accesses += 1;
        match (
            imsic_reg(u64::from(iselect), aia_virt::Xlen::Rv64),
            self.file(file),
        ) {
            (Some(VsSelect::File(reg)), Some(f)) => f.rmw_reg(reg, op),
            // What hardware answers for a register or file it lacks is the host's to decide;
            // the model reads zero.
            _ => 0,
        }
    }

    fn topei_rmw(&mut self, file: PhysGuestFile, claim: bool) -> u64 {
        self.accesses += 1;
        let op = if claim { CsrOp::Write(0) } else { CsrOp::Read };
        self.file(file).map_or(0, |f| f.rmw_topei(op))
    }

    fn set_eipnum(&mut self, file: PhysGuestFile, identity: u32) {
        self.accesses += 1;
        if let Some(f) = self.file(file) {
            f.set_eipnum(u64::from(identity));
        }
    }

    fn hgeip(&mut self) -> u64 {
        (1..=REAL_GUEST_FILES)
            .filter(|&p| self.files[p].signal())
            .fold(0, |v, p| v | 1 << p)
    }
}

/// The real hart of the model: its CSRs, the fences it executed, the instructions it fetches.
pub struct SoftCpu {
    /// The real CSRs by number (all 4096; unwritten ones read 0).
    csrs: [u64; 4096],
    /// Every real fence executed, in order (the oldest dropped once full).
    pub fences: Vec<Fence, 64>,
    /// Instruction bits by guest virtual address, for fetches.
    pub instructions: LinearMap<u64, u32, 16>,
}

impl Default for SoftCpu {
    fn default() -> Self {
        Self {
            csrs: [0; 4096],
            fences: Vec::new(),
            instructions: LinearMap::new(),
        }
    }
}

impl PhysicalHart for SoftCpu {
    fn read_csr(&self, csr: u16) -> u64 {
        self.csrs[usize::from(csr & 0xfff)]
    }

    fn write_csr(&mut self, csr: u16, value: u64) {
        self.csrs[usize::from(csr & 0xfff)] = value;
    }

    fn hfence_gvma(&mut self, vmid: Option<u16>, gpa: Option<u64>) {
        self.log(Fence::Gvma(vmid, gpa));
    }

    fn hfence_vvma(&mut self, vmid: u16, asid: Option<u16>, va: Option<u64>) {
        self.log(Fence::Vvma(vmid, asid, va));
    }

    fn fetch_instruction(&mut self, va: u64) -> Result<u32, FetchFault> {
        // An address with no instruction faults as HLVX reports an unmapped page.
        self.instructions
            .get(&va)
            .copied()
            .ok_or(FetchFault { cause: 13 })
    }
}

impl SoftCpu {
    fn log(&mut self, fence: Fence) {
        if self.fences.is_full() {
            self.fences.remove(0);
        }
        let _ = self.fences.push(fence);
    }
}

/// L1's memory in the model.
pub struct SoftMemory {
    /// The first L1 GPA.
    pub base: u64,
    bytes: [u8; MEMORY_BYTES],
}

impl SoftMemory {
    fn offset(&self, gpa: u64, len: usize) -> Result<usize, MemError> {
        let offset = gpa.checked_sub(self.base).ok_or(MemError)?;
        let end = offset.checked_add(len as u64).ok_or(MemError)?;
        if end > MEMORY_BYTES as u64 {
            Err(MemError)
        } else {
            Ok(offset as usize)
        }
    }
}

impl GuestMemory for SoftMemory {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let at = self.offset(gpa, buf.len())?;
        buf.copy_from_slice(&self.bytes[at..at + buf.len()]);
        Ok(())
    }

    fn write(&mut self, gpa: u64, buf: &[u8]) -> Result<(), MemError> {
        let at = self.offset(gpa, buf.len())?;
        self.bytes[at..at + buf.len()].copy_from_slice(buf);
        Ok(())
    }

    fn compare_exchange_u64(&mut self, gpa: u64, old: u64, new: u64) -> Result<u64, MemError> {
        let mut bytes = [0; 8];
        self.read(gpa, &mut bytes)?;
        let found = u64::from_le_bytes(bytes);
        if found == old {
            self.write(gpa, &new.to_le_bytes())?;
        }
        Ok(found)
    }
}

/// The host's map of L1's memory in the model: `[base, base + len)` at the same host PA,
/// readable, writable and executable, in 4 KiB mappings.
pub struct IdentityMap {
    base: u64,
    len: u64,
}

impl L1AddressMap for IdentityMap {
    fn translate(&self, l1_gpa: u64) -> Option<HostMapping> {
        let inside = l1_gpa
            .checked_sub(self.base)
            .is_some_and(|offset| offset < self.len);
        inside.then_some(HostMapping {
            host_pa: l1_gpa,
            size_log2: 12,
            perms: Perms::R | Perms::W | Perms::X,
        })
    }
}

/// The model's frame pool: `FRAMES` 4 KiB frames from `base`; a root takes 4 aligned ones.
pub struct SoftPool {
    base: u64,
    frames: [u64; 512 * FRAMES],
    used: [bool; FRAMES],
}

impl SoftPool {
    /// How many frames are allocated.
    pub fn in_use(&self) -> usize {
        self.used.iter().filter(|&&u| u).count()
    }

    fn index(&self, frame: HostFrame) -> usize {
        ((frame.pa() - self.base) / 4096) as usize
    }
}

impl FramePool for SoftPool {
    fn alloc(&mut self, kind: FrameKind) -> Option<HostFrame> {
        let (count, align) = match kind {
            FrameKind::Table => (1, 1),
            FrameKind::Root => (4, 4),
        };
        let free = |i: &usize| self.used[*i..*i + count].iter().all(|u| !u);
        let first = (0..=FRAMES - count).step_by(align).find(free)?;
        self.used[first..first + count].fill(true);
        self.frames[first * 512..(first + count) * 512].fill(0);
        Some(HostFrame::new(self.base + first as u64 * 4096, kind))
    }

    fn free(&mut self, frame: HostFrame) {
        let first = self.index(frame);
        let count = frame.kind().entries() / 512;
        self.used[first..first + count].fill(false);
    }

    fn table(&self, frame: HostFrame) -> &[u64] {
        let first = self.index(frame) * 512;
        &self.frames[first..first + frame.kind().entries()]
    }

    fn table_mut(&mut self, frame: HostFrame) -> &mut [u64] {
        let first = self.index(frame) * 512;
        &mut self.frames[first..first + frame.kind().entries()]
    }
}

/// Checks that every CSR of `csrs` reads back a legal value: one that fits L1's XLEN and that
/// a write of it leaves unchanged (the fixed point of the WARL rules). Returns the first CSR
/// that breaks it.
pub fn check_legal_values(csrs: &crate::VirtualCsrs) -> Result<(), u16> {
    let mask = csrs.config().xlen_mask();
    for row in crate::csr::TABLE
        .iter()
        .filter(|row| row.exists(csrs.config()) && !row.is_read_only())
    {
        let value = csrs.read(row.number, 0).map_err(|_| row.number)?;
        let mut again = csrs.clone();
        let stable =
            again.write(row.number, value).is_ok() && again.read(row.number, 0) == Ok(value);
        if value & !mask != 0 || !stable {
            return Err(row.number);
        }
    }
    Ok(())
}

/// Checks that every writable AIA CSR of L1 (hvien, hvictl, hvip, hviprio1/2, hgeie,
/// vsiselect) reads back a legal value, the fixed point of its WARL rule. Returns the first
/// CSR that breaks it.
pub fn check_legal_aia<const G: usize>(aia: &aia_virt::NestedAia<G>) -> Result<(), u16> {
    use aia_virt::csr::{AIA_CSRS, AiaCsr};
    use aia_virt::{NoGuestFileHardware, Origin, VsContext};
    let (ctx, l1) = (VsContext::default(), Origin::L1Supervisor);
    let registers = AIA_CSRS
        .iter()
        .filter(|row| !row.read_only && !matches!(row.csr, AiaCsr::Vsireg | AiaCsr::Vstopei));
    for row in registers {
        let mut again = aia.clone();
        let hw = &mut NoGuestFileHardware;
        let value = again.csr_read(row.number, l1, &ctx, hw);
        let kept = value.and_then(|v| again.write_then_read(row.number, v, l1, &ctx, hw));
        if value.is_err() || kept != value {
            return Err(row.number);
        }
    }
    Ok(())
}

/// Emulates `bits` from L1's HS-mode (or its U-mode when `user`) with x1 = `x1`, and checks
/// what must hold after any instruction: the pc moved past it, to L1's trap vector or (SRET)
/// to its sepc; an instruction from U-mode changed no virtual CSR but those a trap writes;
/// every CSR reads back a legal value. Returns what broke.
pub fn emulate_and_check<const N: usize, const G: usize>(
    hart: &mut crate::NestedHart<N, G>,
    regs: &mut crate::GuestRegs,
    host: &mut SoftHost,
    bits: u32,
    user: bool,
    x1: u64,
) -> Result<(), &'static str> {
    use crate::csr::number::{HSTATUS, HTINST, HTVAL};
    use crate::host::real;
    use crate::{Trap, VirtualMode, cause};
    let mode = if user {
        VirtualMode::User
    } else {
        VirtualMode::Hypervisor
    };
    regs.x[1] = x1;
    let (before, old_pc) = (hart.csrs().clone(), regs.pc);
    let aia_before = hart.aia().cloned();
    let trap = Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: u64::from(bits),
        mode,
    };
    hart.emulate(&trap, regs, host);
    let targets = [
        old_pc.wrapping_add(4) & hart.config().xlen_mask(),
        host.cpu.read_csr(real::VSTVEC) & !3,
        host.cpu.read_csr(real::VSEPC),
    ];
    if !targets.contains(&regs.pc) {
        return Err("the pc moved somewhere the spec does not send it");
    }
    let trap_written = |number| [HSTATUS, HTVAL, HTINST].contains(&number);
    let rows = crate::csr::TABLE
        .iter()
        .filter(|row| !trap_written(row.number));
    if user
        && rows
            .into_iter()
            .any(|row| hart.csrs().read(row.number, 0) != before.read(row.number, 0))
    {
        return Err("L1's U-mode changed a virtual CSR");
    }
    if user && hart.aia() != aia_before.as_ref() {
        return Err("L1's U-mode changed its AIA state");
    }
    check_legal_values(hart.csrs()).map_err(|_| "a CSR reads back an illegal value")?;
    hart.aia()
        .map_or(Ok(()), check_legal_aia)
        .map_err(|_| "an AIA CSR reads back an illegal value")
}

/// PTE bits (priv spec, "Sv32" / "Sv39" PTE formats).
pub mod pte {
    #![allow(missing_docs)] // the spec's names
    pub const V: u64 = 1;
    pub const R: u64 = 2;
    pub const W: u64 = 4;
    pub const X: u64 = 8;
    pub const U: u64 = 16;
    pub const A: u64 = 64;
    pub const D: u64 = 128;
}
use pte::V;

/// Page tables in the model's L1 memory, built with the priv spec's bit positions
/// (independently of the walkers under test): a bump allocator of 4 KiB tables and a
/// 3-level (Sv39 / Sv39x4) mapper.
pub struct Tables {
    /// The L1 GPA of the next table to allocate.
    pub next: u64,
}

impl Tables {
    /// The doubleword at `gpa`.
    pub fn read(memory: &SoftMemory, gpa: u64) -> u64 {
        let mut bytes = [0; 8];
        // Table addresses come from the caller's layout inside the model's memory.
        memory
            .read(gpa, &mut bytes)
            .expect("table inside the model's memory");
        u64::from_le_bytes(bytes)
    }

    /// Writes the doubleword at `gpa`.
    pub fn write(memory: &mut SoftMemory, gpa: u64, value: u64) {
        memory
            .write(gpa, &value.to_le_bytes())
            .expect("table inside the model's memory");
    }

    /// Maps the 4 KiB page at `va` to `pa` in the 3-level table at `root`, whose root index
    /// is `root_bits` wide (9: Sv39, 11: Sv39x4). Table addresses are in the space the
    /// table's walker reads; `to_l1` turns one into the L1 GPA where it is stored, and
    /// `from_l1` turns a freshly allocated L1 GPA back into that space.
    #[allow(clippy::too_many_arguments)]
    pub fn map(
        &mut self,
        memory: &mut SoftMemory,
        root: u64,
        root_bits: u32,
        va: u64,
        pa: u64,
        flags: u64,
        to_l1: fn(u64) -> u64,
        from_l1: fn(u64) -> u64,
    ) {
        let mut table = root;
        for level in (0..3).rev() {
            let bits = if level == 2 { root_bits } else { 9 };
            let slot = to_l1(table) + ((va >> (12 + 9 * level)) & ((1 << bits) - 1)) * 8;
            if level == 0 {
                Self::write(memory, slot, (pa >> 12) << 10 | flags | V);
                return;
            }
            let entry = Self::read(memory, slot);
            table = if entry & V != 0 {
                (entry >> 10) << 12
            } else {
                let next = from_l1(self.next);
                self.next += 4096;
                Self::write(memory, slot, (next >> 12) << 10 | V);
                next
            };
        }
    }
}

/// The identity, for tables that live at L1 GPAs.
pub fn same(address: u64) -> u64 {
    address
}

/// Where the tests' G-stages put L2 guest-physical memory: L2 GPA g is L1 GPA
/// `L2_IN_L1 + g`, the model's memory.
pub const L2_IN_L1: u64 = 0x8000_0000;

/// The L1 GPA of L2 GPA `gpa`, for tables built under that G-stage.
pub fn l2_to_l1(gpa: u64) -> u64 {
    gpa.wrapping_add(L2_IN_L1)
}

/// The L2 GPA of L1 GPA `l1_gpa`, for tables built under that G-stage.
pub fn l1_to_l2(l1_gpa: u64) -> u64 {
    l1_gpa.wrapping_sub(L2_IN_L1)
}

/// The shadow configuration of the tests: L1's G-stage with Svade and no PBMT, a host
/// without Svvptc whose hgatp offers Sv39x4 and Sv48x4, physical VMIDs from `first_vmid`.
pub fn shadow_config(first_vmid: u16) -> gstage::ShadowConfig {
    gstage::ShadowConfig {
        l1_walk: gstage::WalkConfig::default(),
        host_svvptc: false,
        first_vmid,
        shadow_modes: gstage::SupportedModes {
            sv32x4: false,
            sv39x4: true,
            sv48x4: true,
            sv57x4: false,
        },
    }
}
