//! The NACL provider: L1's nested-acceleration shared memory, served in place through its
//! guest memory (SBI spec, "Nested Acceleration Extension"; the layout and its rules are
//! `nacl-shmem`'s).
//!
//! The rule for every slot L0 writes (SBI spec, NACL chapter, "Feature: Synchronized CSR"):
//! a slot whose dirty bit is set holds a write of L1's that the next sync applies, so L0 never
//! overwrites it. The two exceptions: `set_shmem` clears the bits the page held before (they
//! are stale) and then writes every slot; a trapped CSR write gives that CSR's own slot the
//! new value and clears its bit (the trapped write is the later of L1's two). Linux KVM relies on
//! it: `vcpu_load` leaves the next vCPU's hgatp and vs* CSRs dirty, and `vcpu_put` traps on
//! `csrw vstimecmp` before the `sync_sret`; refreshing a dirty hgatp there would run one VM on
//! another's G-stage.
//!
//! - `set_shmem` checks that the host backs all of it, clears stale dirty bits without
//!   applying them, and writes every CSR the engine implements into its slot.
//! - `sync_csr` applies dirty CSRs through the same WARL path as a trapped CSR write, in the
//!   spec's dependency order, and writes every clean slot back (for one CSR: its own slot,
//!   and the clean slots of the CSRs it aliases).
//! - `sync_hfence` performs the queued HFENCEs on the shadow G-stages (a range of more than
//!   [`HFENCE_PAGE_CAP`] pages as the whole VMID or ASID), then clears their pending bits.
//! - `sync_sret` syncs CSRs and HFENCEs, loads x1-x31 from the SRET area, swaps hstatus
//!   when L1 armed the autoswap, and performs L1's SRET (into L2 when hstatus.SPV is set).
//! - After every exit from L2 to L1, and after every trapped CSR write of L1, the clean slots
//!   are refreshed, so that an L1 reading the shared memory without a sync (Linux does) sees
//!   current values.
//! - The HFENCE entries L0 writes are only those it took (their pending bit cleared once
//!   taken); the SRET area it only reads; the autoswap word it swaps at `sync_sret` and back
//!   at the exit, as that feature says.

use crate::counters::World;
use crate::csr::TABLE;
use crate::csr::number::HSTATUS;
use crate::hart::{GuestRegs, NestedHart, Outcome};
use crate::host::{
    FramePool, GuestFileHardware, GuestMemory, Host, HostParts, L1AddressMap, MemError,
    PhysicalHart,
};
use crate::remote_fence::RemoteFence;
use aia_virt::CsrOp as Rmw;
use nacl_shmem::csr_space::write_slot;
use nacl_shmem::dirty_bitmap::DirtyBitmap;
use nacl_shmem::hfence::{Fence, HfenceRequest, PageRange};
use nacl_shmem::provider::{CsrTarget, HfenceTarget};
use nacl_shmem::{AccessError, CSR_SYNC_ORDER, CsrSlot, Provider, WordAccess};
use sbi_dispatch::{NaclFeature, SbiError, SbiResult};

/// What the NACL extension needs from the host's per-hart SBI context (the `C` of
/// `sbi_dispatch::Dispatcher`): the calling hart's engine, the host, and the hart's registers.
pub trait NestedContext<const CONTEXTS: usize, const GEILEN: usize = 0> {
    /// The host the engine works through.
    type Host: Host + ?Sized;

    /// The three, borrowed together.
    fn nested(
        &mut self,
    ) -> (
        &mut NestedHart<CONTEXTS, GEILEN>,
        &mut Self::Host,
        &mut GuestRegs,
    );
}

/// The NACL extension for `sbi_dispatch`: plug it in with `Dispatcher::with_nacl`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NaclProvider<const CONTEXTS: usize, const GEILEN: usize = 0>;

impl<C: NestedContext<N, G>, const N: usize, const G: usize> sbi_dispatch::Nacl<C>
    for NaclProvider<N, G>
{
    fn probe_feature(&mut self, ctx: &mut C, feature: NaclFeature) -> bool {
        ctx.nested().0.nacl_probe_feature(feature)
    }

    fn set_shmem(&mut self, ctx: &mut C, shmem: Option<u64>) -> sbi_dispatch::Outcome {
        let (hart, host, _) = ctx.nested();
        hart.nacl_set_shmem(shmem, host).into()
    }

    fn sync_csr(&mut self, ctx: &mut C, csr: Option<u16>) -> sbi_dispatch::Outcome {
        let (hart, host, _) = ctx.nested();
        hart.nacl_sync_csr(csr, host).into()
    }

    fn sync_hfence(&mut self, ctx: &mut C, entry: Option<u32>) -> sbi_dispatch::Outcome {
        let (hart, host, _) = ctx.nested();
        hart.nacl_sync_hfence(entry, host).into()
    }

    fn sync_sret(&mut self, ctx: &mut C) -> sbi_dispatch::Outcome {
        let (hart, host, regs) = ctx.nested();
        match hart.nacl_sync_sret(regs, host) {
            Ok(_) if hart.in_guest() => {
                sbi_dispatch::Outcome::Departed(sbi_dispatch::Departure::EnteredGuest)
            }
            Ok(_) => sbi_dispatch::Outcome::Departed(sbi_dispatch::Departure::Returned),
            Err(error) => sbi_dispatch::Outcome::Return(Err(error)),
        }
    }
}

/// The trap that brings an SBI call of L1 (in VS-mode) to the host.
const ECALL_FROM_VS: u64 = 10;

/// Above this many pages a queued HFENCE is performed for its whole VMID (or ASID).
pub const HFENCE_PAGE_CAP: u64 = 64;

/// L1's shared memory, each word read and written through L1's guest memory.
struct GuestShmem<'a, M: ?Sized> {
    memory: &'a mut M,
    base: u64,
    xlen: nacl_shmem::Xlen,
}

impl<M: ?Sized> GuestShmem<'_, M> {
    /// The guest-physical address of the word at `offset`, if it is a word of the memory.
    fn word_gpa(&self, offset: usize) -> Result<u64, AccessError> {
        let len = self.xlen.word_bytes();
        let inside = offset
            .checked_add(len)
            .is_some_and(|end| end <= self.xlen.shmem_size());
        if !offset.is_multiple_of(len) || !inside {
            return Err(AccessError::OutOfBounds { offset });
        }
        Ok(self.base.wrapping_add(offset as u64))
    }
}

impl<M: GuestMemory + ?Sized> WordAccess for GuestShmem<'_, M> {
    fn xlen(&self) -> nacl_shmem::Xlen {
        self.xlen
    }

    fn read_word(&self, offset: usize) -> Result<u64, AccessError> {
        let mut bytes = [0; 8];
        let gpa = self.word_gpa(offset)?;
        let len = self.xlen.word_bytes();
        self.memory
            .read(gpa, &mut bytes[..len])
            .map_err(|MemError| AccessError::Fault { offset })?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn write_word(&mut self, offset: usize, value: u64) -> Result<(), AccessError> {
        let gpa = self.word_gpa(offset)?;
        let len = self.xlen.word_bytes();
        self.memory
            .write(gpa, &value.to_le_bytes()[..len])
            .map_err(|MemError| AccessError::Fault { offset })
    }
}

/// L1's XLEN as `nacl-shmem` names it.
fn shmem_xlen(xlen: gstage::Xlen) -> nacl_shmem::Xlen {
    match xlen {
        gstage::Xlen::Rv32 => nacl_shmem::Xlen::Rv32,
        gstage::Xlen::Rv64 => nacl_shmem::Xlen::Rv64,
    }
}

/// A fault reaching L1's shared memory: L1 moved or unmapped it under us.
const fn shmem_fault(_: AccessError) -> SbiError {
    SbiError::Failed
}

/// The fence a queued HFENCE asks for, in the engine's terms.
fn remote_fence(request: HfenceRequest) -> RemoteFence {
    let bytes = |range: PageRange| {
        Some((
            range.start(),
            range.last().saturating_sub(range.start()).saturating_add(1),
        ))
    };
    match request {
        HfenceRequest::Gvma { range } => RemoteFence::Gvma {
            vmid: None,
            range: bytes(range),
        },
        HfenceRequest::GvmaAll => RemoteFence::Gvma {
            vmid: None,
            range: None,
        },
        HfenceRequest::GvmaVmid { vmid, range } => RemoteFence::Gvma {
            vmid: Some(vmid),
            range: bytes(range),
        },
        HfenceRequest::GvmaVmidAll { vmid } => RemoteFence::Gvma {
            vmid: Some(vmid),
            range: None,
        },
        HfenceRequest::Vvma { vmid, range } => RemoteFence::Vvma {
            vmid,
            asid: None,
            range: bytes(range),
        },
        HfenceRequest::VvmaAll { vmid } => RemoteFence::Vvma {
            vmid,
            asid: None,
            range: None,
        },
        HfenceRequest::VvmaAsid { vmid, asid, range } => RemoteFence::Vvma {
            vmid,
            asid: Some(asid),
            range: bytes(range),
        },
        HfenceRequest::VvmaAsidAll { vmid, asid } => RemoteFence::Vvma {
            vmid,
            asid: Some(asid),
            range: None,
        },
    }
}

impl<const CONTEXTS: usize, const GEILEN: usize> NestedHart<CONTEXTS, GEILEN> {
    /// Whether L1 is offered the NACL `feature` (all four when the configuration offers NACL).
    pub fn nacl_probe_feature(&self, _feature: NaclFeature) -> bool {
        self.config().nacl
    }

    /// NACL `set_shmem`: use L1's shared memory at guest-physical `base` (4 KiB aligned, as
    /// the SBI layer checked), or forget it for `None`.
    pub fn nacl_set_shmem<H: Host + ?Sized>(
        &mut self,
        base: Option<u64>,
        host: &mut H,
    ) -> SbiResult {
        self.counters.count_entry(World::L1, false, ECALL_FROM_VS);
        let Some(base) = base else {
            self.nacl_shmem = None;
            return Ok(0);
        };
        let HostParts {
            memory,
            map,
            hart,
            files,
            ..
        } = host.parts();
        let size = shmem_xlen(self.config().xlen).shmem_size() as u64;
        let backed = (0..size).step_by(4096).all(|offset| {
            base.checked_add(offset)
                .and_then(|gpa| map.translate(gpa))
                .is_some_and(|m| m.perms.contains(gstage::Perms::R | gstage::Perms::W))
        });
        if !backed {
            return Err(SbiError::InvalidAddress);
        }
        self.nacl_shmem = Some(base);
        let mut provider = self.provider(memory, base);
        provider.clear_all_dirty().map_err(shmem_fault)?;
        self.write_back_all(&mut provider, self.l1_time(hart), files)
            .map_err(shmem_fault)?;
        Ok(0)
    }

    /// NACL `sync_csr`: applies the dirty CSR `csr` (every dirty CSR for `None`) as a trapped
    /// write would, then writes the clean slots back.
    pub fn nacl_sync_csr<H: Host + ?Sized>(&mut self, csr: Option<u16>, host: &mut H) -> SbiResult {
        self.counters.count_entry(World::L1, false, ECALL_FROM_VS);
        let base = self.nacl_shmem.ok_or(SbiError::NoShmem)?;
        let HostParts {
            memory,
            hart,
            files,
            ..
        } = host.parts();
        let target = match csr {
            None => CsrTarget::All,
            Some(number) => match CsrSlot::from_csr(number) {
                Some(slot) if self.implements(number) => CsrTarget::One(slot),
                _ => return Err(SbiError::InvalidParam),
            },
        };
        let mut provider = self.provider(memory, base);
        self.sync_csrs(&mut provider, target, self.l1_time(hart), files)
            .map_err(shmem_fault)?;
        Ok(0)
    }

    /// NACL `sync_hfence`: performs the queued HFENCE `entry` (every pending one for `None`).
    pub fn nacl_sync_hfence<H: Host + ?Sized>(
        &mut self,
        entry: Option<u32>,
        host: &mut H,
    ) -> SbiResult {
        self.counters.count_entry(World::L1, false, ECALL_FROM_VS);
        let base = self.nacl_shmem.ok_or(SbiError::NoShmem)?;
        let HostParts {
            memory, pool, hart, ..
        } = host.parts();
        let target = match entry {
            None => HfenceTarget::All,
            Some(index) => HfenceTarget::Entry(index as usize),
        };
        self.sync_hfences(memory, base, target, pool, hart)
    }

    /// NACL `sync_sret`: syncs CSRs and HFENCEs, loads x1-x31 from the SRET area, swaps
    /// hstatus if L1 armed the autoswap, and performs L1's SRET. On success the call does not
    /// return: L1's guest (or L1's own SRET target) runs.
    pub fn nacl_sync_sret<H: Host + ?Sized>(
        &mut self,
        regs: &mut GuestRegs,
        host: &mut H,
    ) -> Result<Outcome, SbiError> {
        self.counters.count_entry(World::L1, false, ECALL_FROM_VS);
        let base = self.nacl_shmem.ok_or(SbiError::NoShmem)?;
        let HostParts {
            memory,
            pool,
            hart,
            files,
            ..
        } = host.parts();
        // The spec's order: CSRs, then HFENCEs, then the SRET.
        let now = self.l1_time(hart);
        let mut provider = self.provider(&mut *memory, base);
        self.sync_csrs(&mut provider, CsrTarget::All, now, files)
            .map_err(shmem_fault)?;
        self.sync_hfences(&mut *memory, base, HfenceTarget::All, pool, hart)?;
        let mut provider = self.provider(memory, base);
        let gprs = provider.sret_gprs().map_err(shmem_fault)?;
        let hstatus = self.csrs.read(HSTATUS, 0).unwrap_or(0);
        let swapped = provider.autoswap_hstatus(hstatus).map_err(shmem_fault)?;
        if let Some(incoming) = swapped {
            let _ = self.write_table(HSTATUS, incoming);
        }
        match self.sret(regs, pool, hart) {
            outcome @ Outcome::Resume { .. } => {
                regs.x[1..].copy_from_slice(&gprs[1..]);
                Ok(outcome)
            }
            // No shadow for L2 (the SRET changed nothing): L1 stays as it was, its hstatus
            // and the autoswap word too, and the call fails.
            _ => {
                if let Some(incoming) = swapped {
                    provider.autoswap_hstatus(incoming).map_err(shmem_fault)?;
                    let _ = self.write_table(HSTATUS, hstatus);
                }
                Err(SbiError::Failed)
            }
        }
    }

    /// After an exit from L2 to L1 (no-op without shared memory): swaps hstatus back when L1
    /// armed the autoswap (L1 gets its own hstatus again, the autoswap word the one the trap
    /// left), then refreshes every clean slot.
    pub(crate) fn nacl_refresh(
        &mut self,
        memory: &mut (impl GuestMemory + ?Sized),
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) {
        if let Some(base) = self.nacl_shmem {
            let mut provider = self.provider(memory, base);
            // L1 reads the slots without a sync; if its memory is gone it learns at its next
            // sync call, which fails.
            let hstatus = self.csrs.read(HSTATUS, 0).unwrap_or(0);
            if let Ok(Some(own)) = provider.autoswap_hstatus(hstatus) {
                let _ = self.write_table(HSTATUS, own);
            }
            let _ = self.write_back_all(&mut provider, now, files);
        }
    }

    /// After a trapped write of L1's CSR `csr` (no-op without shared memory): its slot takes
    /// the new value and loses a stale dirty bit, and every other clean slot is refreshed
    /// (aliases: hip, hvip, vsip, vsie share state). A dirty slot keeps L1's pending write.
    pub(crate) fn nacl_trapped_write(
        &mut self,
        csr: u16,
        memory: &mut (impl GuestMemory + ?Sized),
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) {
        if let Some(base) = self.nacl_shmem {
            let mut provider = self.provider(memory, base);
            if let Some(slot) = CsrSlot::from_csr(csr) {
                let value = self
                    .l1_csr_rmw(csr, Rmw::Read, now, files)
                    .map_or(0, |(value, _)| value);
                let _ = provider.write_back_csr(slot, value);
            }
            let _ = self.write_back_all(&mut provider, now, files);
        }
    }

    /// Whether the engine implements CSR `number` for L1 (in the table or the AIA).
    fn implements(&self, number: u16) -> bool {
        self.csrs.row(number).is_some() || self.aia_answers(number)
    }

    fn provider<'a, M: GuestMemory + ?Sized>(
        &self,
        memory: &'a mut M,
        base: u64,
    ) -> Provider<GuestShmem<'a, M>> {
        Provider::new(GuestShmem {
            memory,
            base,
            xlen: shmem_xlen(self.config().xlen),
        })
    }

    /// Applies dirty CSRs as L1's CSRRW would (a slot of a CSR the engine does not implement,
    /// or whose write traps, is ignored), then writes the clean slots back.
    fn sync_csrs<M: WordAccess>(
        &mut self,
        provider: &mut Provider<M>,
        target: CsrTarget,
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<(), AccessError> {
        match target {
            CsrTarget::All => {
                provider.drain_dirty_csrs(&CSR_SYNC_ORDER, |csr, value| {
                    let _ = self.l1_csr_rmw(csr, Rmw::Write(value), now, files);
                })?;
                self.write_back_all(provider, now, files)
            }
            CsrTarget::One(slot) => {
                if let Some(value) = provider.take_dirty_csr(slot)? {
                    let _ = self.l1_csr_rmw(slot.csr(), Rmw::Write(value), now, files);
                }
                let value = self
                    .l1_csr_rmw(slot.csr(), Rmw::Read, now, files)
                    .map_or(0, |(value, _)| value);
                provider.write_back_csr(slot, value)?;
                // Its aliases (hvip: hip, vsip) changed with it; other dirty slots stay L1's.
                self.write_back_all(provider, now, files)
            }
        }
    }

    /// Writes every implemented CSR's architectural value into its slot (with AIA, those of
    /// `aia-virt` but the two views of an interrupt file, vsireg and vstopei), but for the
    /// slots whose dirty bit is set: those hold writes of L1's that the next sync applies
    /// (SBI spec, NACL chapter, "Feature: Synchronized CSR"). The bitmap is read once.
    fn write_back_all<M: WordAccess>(
        &mut self,
        provider: &mut Provider<M>,
        now: u64,
        files: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<(), AccessError> {
        let dirty = DirtyBitmap::read(provider.memory())?;
        let clean = |csr| CsrSlot::from_csr(csr).filter(|&slot| !dirty.contains(slot));
        let memory = provider.memory_mut();
        for row in TABLE.iter().filter(|row| row.exists(self.config())) {
            if let Some(slot) = clean(row.number) {
                write_slot(memory, slot, self.csrs.read_row(row, now))?;
            }
        }
        if self.aia.is_some() {
            for csr in crate::aia::written_back() {
                let Some(slot) = clean(csr) else { continue };
                if let Ok((value, _)) = self.l1_csr_rmw(csr, Rmw::Read, now, files) {
                    write_slot(memory, slot, value)?;
                }
            }
        }
        Ok(())
    }

    fn sync_hfences(
        &mut self,
        memory: &mut (impl GuestMemory + ?Sized),
        base: u64,
        target: HfenceTarget,
        pool: &mut (impl FramePool + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> SbiResult {
        let mut provider = self.provider(memory, base);
        let mut taken = heapless::Vec::<Fence, 120>::new();
        provider
            .sync_hfence(target, |entry| {
                // At most 120 entries exist; each is taken once.
                let _ = taken.push(entry.decoded.fence.capped(HFENCE_PAGE_CAP));
            })
            .map_err(|error| match error {
                nacl_shmem::provider::ProviderError::InvalidParam => SbiError::InvalidParam,
                _ => SbiError::Failed,
            })?;
        for fence in taken {
            match fence {
                Fence::Request(request) => self.apply_fence(remote_fence(request), pool, hart),
                Fence::Everything => self.apply_everything(pool, hart),
            }
        }
        Ok(0)
    }
}
