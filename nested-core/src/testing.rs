//! A software model of the host, for tests and fuzz targets (feature `testing`): the real
//! CSRs, the fences executed, L1's memory, an identity L1 address map and a frame pool.

use crate::host::{
    FetchFault, FrameKind, FramePool, GuestMemory, HostFrame, HostMapping, L1AddressMap, MemError,
    PhysicalHart,
};
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

/// The software host: one real hart, `MEMORY_BYTES` of L1 memory at `memory_base` mapped
/// 1:1 (L1 GPA = host PA) with read, write and execute, and a pool of `FRAMES` frames at
/// `frame_base`.
pub struct SoftHart {
    /// The real CSRs written so far (unwritten ones read 0).
    pub csrs: LinearMap<u16, u64, 32>,
    /// Every real fence executed, in order (the oldest kept once full).
    pub fences: Vec<Fence, 64>,
    /// Instruction bits by guest virtual address, for fetches.
    pub instructions: LinearMap<u64, u32, 16>,
    /// The first L1 GPA of the memory.
    pub memory_base: u64,
    memory: [u8; MEMORY_BYTES],
    /// The host PA of frame 0.
    pub frame_base: u64,
    frames: [u64; 512 * FRAMES],
    used: [bool; FRAMES],
}

impl SoftHart {
    /// A model with L1 memory at 0x8000_0000 and frames at 0x1_0000_0000.
    pub fn new() -> Self {
        Self {
            csrs: LinearMap::new(),
            fences: Vec::new(),
            instructions: LinearMap::new(),
            memory_base: 0x8000_0000,
            memory: [0; MEMORY_BYTES],
            frame_base: 0x1_0000_0000,
            frames: [0; 512 * FRAMES],
            used: [false; FRAMES],
        }
    }

    /// How many frames are allocated.
    pub fn frames_in_use(&self) -> usize {
        self.used.iter().filter(|&&u| u).count()
    }

    fn offset(&self, gpa: u64, len: usize) -> Result<usize, MemError> {
        let offset = gpa.checked_sub(self.memory_base).ok_or(MemError)?;
        let end = offset.checked_add(len as u64).ok_or(MemError)?;
        if end > MEMORY_BYTES as u64 {
            Err(MemError)
        } else {
            Ok(offset as usize)
        }
    }

    fn frame_index(&self, frame: HostFrame) -> usize {
        ((frame.pa() - self.frame_base) / 4096) as usize
    }
}

impl Default for SoftHart {
    fn default() -> Self {
        Self::new()
    }
}

impl GuestMemory for SoftHart {
    fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let at = self.offset(gpa, buf.len())?;
        buf.copy_from_slice(&self.memory[at..at + buf.len()]);
        Ok(())
    }

    fn write(&mut self, gpa: u64, buf: &[u8]) -> Result<(), MemError> {
        let at = self.offset(gpa, buf.len())?;
        self.memory[at..at + buf.len()].copy_from_slice(buf);
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

impl PhysicalHart for SoftHart {
    fn read_csr(&self, csr: u16) -> u64 {
        self.csrs.get(&csr).copied().unwrap_or(0)
    }

    fn write_csr(&mut self, csr: u16, value: u64) {
        // The model has room for every CSR the engine drives; a full map drops the write.
        let _ = self.csrs.insert(csr, value);
    }

    fn hfence_gvma(&mut self, vmid: Option<u16>, gpa: Option<u64>) {
        self.log(Fence::Gvma(vmid, gpa));
    }

    fn hfence_vvma(&mut self, vmid: u16, asid: Option<u16>, va: Option<u64>) {
        self.log(Fence::Vvma(vmid, asid, va));
    }

    fn fetch_instruction(&mut self, va: u64) -> Result<u32, FetchFault> {
        // An address with no instruction faults like an unmapped fetch (load page fault, as
        // HLVX reports).
        self.instructions
            .get(&va)
            .copied()
            .ok_or(FetchFault { cause: 13 })
    }
}

impl SoftHart {
    fn log(&mut self, fence: Fence) {
        if self.fences.is_full() {
            self.fences.remove(0);
        }
        let _ = self.fences.push(fence);
    }
}

impl L1AddressMap for SoftHart {
    fn translate(&self, l1_gpa: u64) -> Option<HostMapping> {
        self.offset(l1_gpa, 1).ok()?;
        Some(HostMapping {
            host_pa: l1_gpa,
            size_log2: 12,
            perms: Perms::R | Perms::W | Perms::X,
        })
    }
}

impl FramePool for SoftHart {
    fn alloc(&mut self, kind: FrameKind) -> Option<HostFrame> {
        let (count, align) = match kind {
            FrameKind::Table => (1, 1),
            FrameKind::Root => (4, 4),
        };
        let first = (0..FRAMES)
            .step_by(align)
            .find(|&i| i + count <= FRAMES && self.used[i..i + count].iter().all(|u| !u))?;
        self.used[first..first + count].fill(true);
        self.frames[first * 512..(first + count) * 512].fill(0);
        Some(HostFrame::new(self.frame_base + first as u64 * 4096, kind))
    }

    fn free(&mut self, frame: HostFrame) {
        let count = frame.kind().entries() / 512;
        let first = self.frame_index(frame);
        self.used[first..first + count].fill(false);
    }

    fn table(&self, frame: HostFrame) -> &[u64] {
        let first = self.frame_index(frame) * 512;
        &self.frames[first..first + frame.kind().entries()]
    }

    fn table_mut(&mut self, frame: HostFrame) -> &mut [u64] {
        let first = self.frame_index(frame) * 512;
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

/// Emulates `bits` from L1's HS-mode (or its U-mode when `user`) with x1 = `x1`, and checks
/// what must hold after any instruction: the pc moved past it, to L1's trap vector or (SRET)
/// to its sepc; an instruction from U-mode changed no virtual CSR but those a trap writes;
/// every CSR reads back a legal value. Returns what broke.
pub fn emulate_and_check<const N: usize>(
    hart: &mut crate::NestedHart<N>,
    regs: &mut crate::GuestRegs,
    host: &mut SoftHart,
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
    let trap = Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: u64::from(bits),
        mode,
    };
    hart.emulate(&trap, regs, host);
    let targets = [
        old_pc.wrapping_add(4) & hart.config().xlen_mask(),
        host.read_csr(real::VSTVEC) & !3,
        host.read_csr(real::VSEPC),
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
    check_legal_values(hart.csrs()).map_err(|_| "a CSR reads back an illegal value")
}
