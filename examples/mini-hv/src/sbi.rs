//! The SBI that L0 offers L1, through `sbi-dispatch`: TIME, IPI, RFENCE (with the nested
//! HFENCEs of `nested-core`), HSM, SRST, DBCN, the legacy calls and NACL.

use crate::hw::{Hart, L1Ram, Pool, RealGuestFiles};
use crate::machine::Imsic;
use crate::{
    CONTEXTS, GEILEN, HART_STATE, L0Timer, MAILBOX, MAILBOXES, Mailboxes, START, machine_info,
};
use core::sync::atomic::Ordering;
use gstage::{HostMapping, L1AddressMap, Perms};
use nested_core::csr::bits::{VSSIP, VSTIP};
use nested_core::host::{GuestMemory, Host, HostParts, PartsOf, real};
use nested_core::{GuestRegs, NaclProvider, NestedContext, NestedHart, PendingFences};
use nested_core::{RemoteHfenceProvider, RfenceContext};
use sbi_dispatch::{
    Console, Departure, Dispatcher, FenceRange, HartMask, HartState, Hsm, Ipi, Legacy, Outcome,
    PhysicalRange, ResetReason, ResetType, Rfence, SbiError, SuspendType, SystemReset, Timer,
};

/// L1's guest-physical map as the host grants it: RAM and its IMSIC pages (its devices are
/// emulated, never mapped).
#[derive(Clone, Copy, Debug)]
pub struct L1Map {
    pub ram: L1Ram,
    pub imsic: Option<ImsicLend>,
}

/// The IMSIC pages L1 gets: its supervisor-level file and guest files 1..=GEILEN of each
/// hart, backed by the real guest files 1..=GEILEN + 1 of the same hart.
#[derive(Clone, Copy, Debug)]
pub struct ImsicLend {
    /// The real IMSIC.
    pub host: Imsic,
    /// L1's view of it.
    pub l1: Imsic,
    pub harts: usize,
}

impl ImsicLend {
    /// The real page behind L1's page at `l1_gpa`, if that is one of L1's IMSIC pages.
    pub fn host_page(&self, l1_gpa: u64) -> Option<u64> {
        let offset = l1_gpa.checked_sub(self.l1.base)?;
        let hart = offset / self.l1.stride();
        let file = offset % self.l1.stride() / 0x1000;
        (hart < self.harts as u64 && file <= GEILEN as u64)
            .then(|| self.host.s_file(hart as usize) + (file + 1) * 0x1000)
    }
}

impl L1AddressMap for L1Map {
    fn translate(&self, l1_gpa: u64) -> Option<HostMapping> {
        let ram = self.ram;
        if let Some(offset) = l1_gpa
            .checked_sub(ram.gpa_base)
            .filter(|&o| o < ram.window.size)
        {
            // The largest naturally aligned block around the address inside RAM, with the
            // host address equally aligned.
            let delta = ram.window.base.wrapping_sub(ram.gpa_base);
            let mut size_log2 = 12;
            while size_log2 < 30 {
                let next = 1u64 << (size_log2 + 1);
                let start = l1_gpa & !(next - 1);
                let inside =
                    start >= ram.gpa_base && start + next <= ram.gpa_base + ram.window.size;
                if !inside || !delta.is_multiple_of(next) {
                    break;
                }
                size_log2 += 1;
            }
            return Some(HostMapping {
                host_pa: ram.window.base + offset,
                size_log2,
                perms: Perms::R | Perms::W | Perms::X,
            });
        }
        let page = self.imsic.and_then(|imsic| imsic.host_page(l1_gpa))?;
        Some(HostMapping {
            host_pa: page + (l1_gpa & 0xfff),
            size_log2: 12,
            perms: Perms::R | Perms::W,
        })
    }
}

/// The host parts the engine works through, for one trap on one hart.
pub struct HwHost<'a> {
    pub memory: L1Ram,
    pub map: &'a L1Map,
    pub pool: &'a mut Pool,
    pub hart: &'a mut Hart,
    /// The real guest interrupt files lent to L1 (with the AIA).
    pub files: RealGuestFiles,
}

impl Host for HwHost<'_> {
    type Memory = L1Ram;
    type Map = L1Map;
    type Pool = Pool;
    type Hart = Hart;
    type Files = RealGuestFiles;

    fn parts(&mut self) -> PartsOf<'_, Self> {
        HostParts {
            memory: &mut self.memory,
            map: self.map,
            pool: self.pool,
            hart: self.hart,
            files: &mut self.files,
        }
    }
}

/// The context of one SBI call from L1.
pub struct Ctx<'a> {
    pub hartid: usize,
    pub nested: &'a mut NestedHart<CONTEXTS, GEILEN>,
    pub host: HwHost<'a>,
    pub regs: &'a mut GuestRegs,
    /// L1's console output of this hart, up to its next newline.
    pub line: &'a mut heapless::Vec<u8, 256>,
    /// L0's timer on this hart, which keeps L1's SBI deadline.
    pub timer: &'a mut L0Timer,
    /// A remote HFENCE waiting for other harts.
    pub parked: Option<PendingFences>,
    /// Harts that must fence L1's own VS-stage translations before the call returns.
    pub l1_fence_targets: u64,
}

impl<'a> NestedContext<CONTEXTS, GEILEN> for Ctx<'a> {
    type Host = HwHost<'a>;

    fn nested(
        &mut self,
    ) -> (
        &mut NestedHart<CONTEXTS, GEILEN>,
        &mut HwHost<'a>,
        &mut GuestRegs,
    ) {
        (self.nested, &mut self.host, self.regs)
    }
}

impl<'a> RfenceContext<CONTEXTS, MAILBOX, GEILEN> for Ctx<'a> {
    fn hart_id(&self) -> u32 {
        self.hartid as u32
    }

    fn mailboxes(&self) -> &[nested_core::FenceMailbox<MAILBOX>] {
        mailboxes()
    }

    fn kick(&mut self, hart: u32) {
        bare::sbi::send_ipi(1, hart as usize);
    }

    fn park(&mut self, pending: PendingFences) {
        self.parked = Some(pending);
    }
}

fn mailboxes() -> &'static Mailboxes {
    MAILBOXES.get().map(|m| m.as_slice()).unwrap_or(&[])
}

impl Ctx<'_> {
    /// Appends L1's console output, printing each complete line.
    fn console(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.line.push(b).is_err() {
                self.flush_line();
                let _ = self.line.push(b);
            }
            if b == b'\n' {
                self.flush_line();
            }
        }
    }

    fn flush_line(&mut self) {
        bare::console::write_bytes(self.line);
        self.line.clear();
    }

    /// L1's set_timer: its pending timer interrupt cleared, the deadline L0's timer serves
    /// (armed when the trap ends).
    fn set_timer(&mut self, deadline: u64) -> Outcome {
        clear_hvip(VSTIP);
        self.timer.sbi_deadline = deadline;
        Outcome::Return(Ok(0))
    }

    /// An IPI to L1's harts `harts`: VSSIP for this hart at once, the others through theirs.
    fn send_ipi(&mut self, harts: impl Iterator<Item = u32>) -> Outcome {
        for hart in harts {
            let hart = hart as usize;
            if hart == self.hartid {
                self.nested.inject_l1_interrupts(VSSIP, self.host.hart);
            } else if let Some(pending) = crate::PENDING_SSIP.get(hart) {
                pending.store(true, Ordering::SeqCst);
                bare::sbi::send_ipi(1, hart);
            }
        }
        Outcome::Return(Ok(0))
    }

    /// FENCE.I and SFENCE.VMA for L1's harts: this one at once, the others when they take
    /// the IPI; the caller waits for them after the call.
    fn fence_l1(&mut self, harts: impl Iterator<Item = u32>) -> Outcome {
        for hart in harts {
            let hart = hart as usize;
            if hart == self.hartid {
                crate::fence_l1(self.host.hart);
            } else if let Some(flag) = crate::FENCE_L1.get(hart)
                && HART_STATE[hart].load(Ordering::SeqCst) == HartState::Started as u8
            {
                flag.store(true, Ordering::SeqCst);
                self.l1_fence_targets |= 1 << hart;
                bare::sbi::send_ipi(1, hart);
            }
        }
        Outcome::Return(Ok(0))
    }

    /// The 64-bit hart mask a legacy call passes by address: a virtual address of L1's
    /// supervisor, read with HLV.D (hstatus.SPVP is 1 after L1's ecall from VS-mode).
    fn legacy_mask(&mut self, address: u64) -> Result<HartMask, SbiError> {
        if address == 0 {
            return Ok(HartMask::all(machine_info().harts as u32));
        }
        // A fault taken in HS-mode rewrites hstatus, which still describes L1.
        let hstatus = bare::csr::read(real::HSTATUS).unwrap_or(0);
        let mask = bare::catch::hlv_d(address);
        bare::csr::write(real::HSTATUS, hstatus);
        HartMask::from_registers(
            mask.map_err(|_| SbiError::InvalidAddress)?,
            0,
            sbi_dispatch::Xlen::Rv64,
            machine_info().harts as u32,
        )
    }
}

/// Clears bits of the real hvip.
pub fn clear_hvip(bits: u64) {
    let hvip = bare::csr::read(real::HVIP).unwrap_or(0);
    bare::csr::write(real::HVIP, hvip & !bits);
}

/// L0's own extensions (every slot but the nested ones, which `nested-core` provides).
pub struct L0;

impl Timer<Ctx<'_>> for L0 {
    fn set_timer(&mut self, ctx: &mut Ctx<'_>, stime_value: u64) -> Outcome {
        ctx.set_timer(stime_value)
    }
}

impl Ipi<Ctx<'_>> for L0 {
    fn send_ipi(&mut self, ctx: &mut Ctx<'_>, harts: HartMask) -> Outcome {
        ctx.send_ipi(harts.iter())
    }
}

impl Rfence<Ctx<'_>> for L0 {
    fn remote_fence_i(&mut self, ctx: &mut Ctx<'_>, harts: HartMask) -> Outcome {
        ctx.fence_l1(harts.iter())
    }

    fn remote_sfence_vma(&mut self, ctx: &mut Ctx<'_>, harts: HartMask, _: FenceRange) -> Outcome {
        ctx.fence_l1(harts.iter())
    }

    fn remote_sfence_vma_asid(
        &mut self,
        ctx: &mut Ctx<'_>,
        harts: HartMask,
        _: FenceRange,
        _: u16,
    ) -> Outcome {
        ctx.fence_l1(harts.iter())
    }
}

impl Hsm<Ctx<'_>> for L0 {
    fn hart_start(&mut self, _: &mut Ctx<'_>, hart: u32, start_addr: u64, opaque: u64) -> Outcome {
        let hart = hart as usize;
        let state = &HART_STATE[hart];
        if state
            .compare_exchange(
                HartState::Stopped as u8,
                HartState::StartPending as u8,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_err()
        {
            return Outcome::Return(Err(SbiError::AlreadyAvailable));
        }
        START[hart].0.store(start_addr, Ordering::SeqCst);
        START[hart].1.store(opaque, Ordering::SeqCst);
        match bare::entry::start_hart(hart, crate::secondary, 0) {
            0 => Outcome::Return(Ok(0)),
            _ => {
                state.store(HartState::Stopped as u8, Ordering::SeqCst);
                Outcome::Return(Err(SbiError::Failed))
            }
        }
    }

    fn hart_stop(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        HART_STATE[ctx.hartid].store(HartState::Stopped as u8, Ordering::SeqCst);
        Outcome::Departed(Departure::HartStopped)
    }

    fn hart_get_status(&mut self, _: &mut Ctx<'_>, hart: u32) -> Outcome {
        Outcome::Return(Ok(HART_STATE[hart as usize].load(Ordering::SeqCst).into()))
    }

    fn hart_suspend(&mut self, _: &mut Ctx<'_>, _: SuspendType, _: u64, _: u64) -> Outcome {
        Outcome::Return(Err(SbiError::NotSupported))
    }
}

impl SystemReset<Ctx<'_>> for L0 {
    fn system_reset(
        &mut self,
        _: &mut Ctx<'_>,
        reset_type: ResetType,
        reason: ResetReason,
    ) -> Outcome {
        Outcome::Departed(Departure::SystemReset { reset_type, reason })
    }
}

impl Console<Ctx<'_>> for L0 {
    fn console_write(&mut self, ctx: &mut Ctx<'_>, buffer: PhysicalRange) -> Outcome {
        let mut chunk = [0u8; 64];
        let mut done = 0;
        while done < buffer.len {
            let n = (buffer.len - done).min(chunk.len() as u64) as usize;
            if ctx
                .host
                .memory
                .read(buffer.base + done, &mut chunk[..n])
                .is_err()
            {
                return Outcome::Return(if done == 0 {
                    Err(SbiError::InvalidParam)
                } else {
                    Ok(done)
                });
            }
            ctx.console(&chunk[..n]);
            done += n as u64;
        }
        Outcome::Return(Ok(done))
    }

    fn console_read(&mut self, _: &mut Ctx<'_>, _: PhysicalRange) -> Outcome {
        Outcome::Return(Ok(0))
    }

    fn console_write_byte(&mut self, ctx: &mut Ctx<'_>, byte: u8) -> Outcome {
        ctx.console(&[byte]);
        Outcome::Return(Ok(0))
    }
}

impl Legacy<Ctx<'_>> for L0 {
    fn set_timer(&mut self, ctx: &mut Ctx<'_>, stime_value: u64) -> Outcome {
        ctx.set_timer(stime_value)
    }

    fn console_putchar(&mut self, ctx: &mut Ctx<'_>, byte: u8) -> Outcome {
        ctx.console(&[byte]);
        Outcome::Return(Ok(0))
    }

    fn console_getchar(&mut self, _: &mut Ctx<'_>) -> Outcome {
        Outcome::Return(Ok(u64::MAX))
    }

    fn clear_ipi(&mut self, _: &mut Ctx<'_>) -> Outcome {
        clear_hvip(VSSIP);
        Outcome::Return(Ok(0))
    }

    fn send_ipi(&mut self, ctx: &mut Ctx<'_>, hart_mask: u64) -> Outcome {
        match ctx.legacy_mask(hart_mask) {
            Ok(mask) => ctx.send_ipi(mask.iter()),
            Err(error) => Outcome::Return(Err(error)),
        }
    }

    fn remote_fence_i(&mut self, ctx: &mut Ctx<'_>, hart_mask: u64) -> Outcome {
        match ctx.legacy_mask(hart_mask) {
            Ok(mask) => ctx.fence_l1(mask.iter()),
            Err(error) => Outcome::Return(Err(error)),
        }
    }

    fn remote_sfence_vma(&mut self, ctx: &mut Ctx<'_>, hart_mask: u64, _: u64, _: u64) -> Outcome {
        Legacy::remote_fence_i(self, ctx, hart_mask)
    }

    fn remote_sfence_vma_asid(
        &mut self,
        ctx: &mut Ctx<'_>,
        hart_mask: u64,
        _: u64,
        _: u64,
        _: u64,
    ) -> Outcome {
        Legacy::remote_fence_i(self, ctx, hart_mask)
    }

    fn shutdown(&mut self, _: &mut Ctx<'_>) -> Outcome {
        Outcome::Departed(Departure::SystemReset {
            reset_type: ResetType::Shutdown,
            reason: ResetReason::NoReason,
        })
    }
}

/// The dispatcher of L1's SBI calls.
pub type L1Dispatcher<'a> = Dispatcher<
    Ctx<'a>,
    L0,
    L0,
    L0,
    RemoteHfenceProvider<CONTEXTS, MAILBOX, GEILEN>,
    L0,
    L0,
    L0,
    NaclProvider<CONTEXTS, GEILEN>,
    sbi_dispatch::Absent,
    L0,
>;

/// The dispatcher for a machine of `harts` harts.
pub fn dispatcher<'a>(harts: usize) -> L1Dispatcher<'a> {
    Dispatcher::new(sbi_dispatch::Platform {
        spec_version: sbi_dispatch::Version::V2_0,
        impl_id: 0x4d48,
        impl_version: 1,
        mvendorid: 0,
        marchid: 0,
        mimpid: 0,
        hart_count: harts as u32,
    })
    .with_timer(L0)
    .with_ipi(L0)
    .with_rfence(L0)
    .with_remote_hfence(RemoteHfenceProvider)
    .with_hsm(L0)
    .with_system_reset(L0)
    .with_console(L0)
    .with_nacl(NaclProvider)
    .with_legacy(L0)
}
