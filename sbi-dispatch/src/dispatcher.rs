//! The dispatcher: routes a decoded call to the extension plugged in for it, after checking
//! every argument the spec lets it check.

use core::marker::PhantomData;

use crate::absent::Absent;
use crate::address::{FenceRange, PhysicalRange};
use crate::base::Platform;
use crate::call::{SbiCall, Xlen};
use crate::console::Console;
use crate::error::{SbiError, SbiResult};
use crate::hart_mask::HartMask;
use crate::hsm::{Hsm, SuspendType};
use crate::ipi::Ipi;
use crate::legacy::Legacy;
use crate::nacl::{Nacl, NaclFeature};
use crate::other::OtherExtensions;
use crate::outcome::Outcome;
use crate::rfence::{RemoteHfence, Rfence};
use crate::system_reset::{ResetReason, ResetType, SystemReset};
use crate::system_suspend::{SleepType, SystemSuspend};
use crate::time::Timer;

mod eid {
    use sbi_spec::{base, dbcn, hsm, nacl, rfnc, spi, srst, susp, time};
    pub const BASE: u64 = base::EID_BASE as u64;
    pub const TIME: u64 = time::EID_TIME as u64;
    pub const IPI: u64 = spi::EID_SPI as u64;
    pub const RFENCE: u64 = rfnc::EID_RFNC as u64;
    pub const HSM: u64 = hsm::EID_HSM as u64;
    pub const SRST: u64 = srst::EID_SRST as u64;
    pub const DBCN: u64 = dbcn::EID_DBCN as u64;
    pub const NACL: u64 = nacl::EID_NACL as u64;
    pub const SUSP: u64 = susp::EID_SUSP as u64;
    /// Legacy v0.1 EIDs 0x00-0x08 (0x09-0x0F are reserved).
    pub const LEGACY_LAST: u64 = sbi_spec::legacy::LEGACY_SHUTDOWN as u64;
}

/// Function IDs as u64, for matching on a6.
mod fid {
    macro_rules! fids {
        ($($name:ident = $path:path;)*) => { $(pub const $name: u64 = $path as u64;)* };
    }
    fids! {
        SPEC_VERSION = sbi_spec::base::GET_SBI_SPEC_VERSION;
        IMPL_ID = sbi_spec::base::GET_SBI_IMPL_ID;
        IMPL_VERSION = sbi_spec::base::GET_SBI_IMPL_VERSION;
        PROBE_EXTENSION = sbi_spec::base::PROBE_EXTENSION;
        MVENDORID = sbi_spec::base::GET_MVENDORID;
        MARCHID = sbi_spec::base::GET_MARCHID;
        MIMPID = sbi_spec::base::GET_MIMPID;
        SET_TIMER = sbi_spec::time::SET_TIMER;
        SEND_IPI = sbi_spec::spi::SEND_IPI;
        FENCE_I = sbi_spec::rfnc::REMOTE_FENCE_I;
        SFENCE_VMA = sbi_spec::rfnc::REMOTE_SFENCE_VMA;
        SFENCE_VMA_ASID = sbi_spec::rfnc::REMOTE_SFENCE_VMA_ASID;
        HFENCE_GVMA_VMID = sbi_spec::rfnc::REMOTE_HFENCE_GVMA_VMID;
        HFENCE_GVMA = sbi_spec::rfnc::REMOTE_HFENCE_GVMA;
        HFENCE_VVMA_ASID = sbi_spec::rfnc::REMOTE_HFENCE_VVMA_ASID;
        HFENCE_VVMA = sbi_spec::rfnc::REMOTE_HFENCE_VVMA;
        HART_START = sbi_spec::hsm::HART_START;
        HART_STOP = sbi_spec::hsm::HART_STOP;
        HART_GET_STATUS = sbi_spec::hsm::HART_GET_STATUS;
        HART_SUSPEND = sbi_spec::hsm::HART_SUSPEND;
        SYSTEM_RESET = sbi_spec::srst::SYSTEM_RESET;
        CONSOLE_WRITE = sbi_spec::dbcn::CONSOLE_WRITE;
        CONSOLE_READ = sbi_spec::dbcn::CONSOLE_READ;
        CONSOLE_WRITE_BYTE = sbi_spec::dbcn::CONSOLE_WRITE_BYTE;
        PROBE_FEATURE = sbi_spec::nacl::PROBE_FEATURE;
        SET_SHMEM = sbi_spec::nacl::SET_SHMEM;
        SYNC_CSR = sbi_spec::nacl::SYNC_CSR;
        SYNC_HFENCE = sbi_spec::nacl::SYNC_HFENCE;
        SYNC_SRET = sbi_spec::nacl::SYNC_SRET;
        SYSTEM_SUSPEND = sbi_spec::susp::SUSPEND;
        LEGACY_SET_TIMER = sbi_spec::legacy::LEGACY_SET_TIMER;
        LEGACY_PUTCHAR = sbi_spec::legacy::LEGACY_CONSOLE_PUTCHAR;
        LEGACY_GETCHAR = sbi_spec::legacy::LEGACY_CONSOLE_GETCHAR;
        LEGACY_CLEAR_IPI = sbi_spec::legacy::LEGACY_CLEAR_IPI;
        LEGACY_SEND_IPI = sbi_spec::legacy::LEGACY_SEND_IPI;
        LEGACY_FENCE_I = sbi_spec::legacy::LEGACY_REMOTE_FENCE_I;
        LEGACY_SFENCE_VMA = sbi_spec::legacy::LEGACY_REMOTE_SFENCE_VMA;
        LEGACY_SFENCE_VMA_ASID = sbi_spec::legacy::LEGACY_REMOTE_SFENCE_VMA_ASID;
        LEGACY_SHUTDOWN = sbi_spec::legacy::LEGACY_SHUTDOWN;
    }
}

const NOT_SUPPORTED: Outcome = Outcome::Return(Err(SbiError::NotSupported));

/// EIDs 0x09-0x0F: legacy numbers the spec reserves.
const FIRST_RESERVED_LEGACY: u64 = eid::LEGACY_LAST + 1;
const LAST_RESERVED_LEGACY: u64 = 0x0f;

/// The extensions this crate types, each with its own slot (or BASE, or none).
#[derive(Clone, Copy)]
enum Typed {
    Base,
    Time,
    Ipi,
    Rfence,
    Hsm,
    Srst,
    Dbcn,
    Nacl,
    Susp,
    Legacy,
    /// EIDs 0x09-0x0F: legacy numbers the spec reserves; never present.
    ReservedLegacy,
}

impl Typed {
    /// The typed extension `extension` names, or `None` for one the catch-all may handle.
    const fn of(extension: u64) -> Option<Typed> {
        Some(match extension {
            eid::BASE => Typed::Base,
            eid::TIME => Typed::Time,
            eid::IPI => Typed::Ipi,
            eid::RFENCE => Typed::Rfence,
            eid::HSM => Typed::Hsm,
            eid::SRST => Typed::Srst,
            eid::DBCN => Typed::Dbcn,
            eid::NACL => Typed::Nacl,
            eid::SUSP => Typed::Susp,
            0..=eid::LEGACY_LAST => Typed::Legacy,
            FIRST_RESERVED_LEGACY..=LAST_RESERVED_LEGACY => Typed::ReservedLegacy,
            _ => return None,
        })
    }
}

/// `Outcome::Return(Err(error))`.
const fn fail(error: SbiError) -> Outcome {
    Outcome::Return(Err(error))
}

/// Routes SBI calls from the harts of one caller (a guest, or a supervisor) to the extensions
/// a host plugs in; `C` is the calling hart's context, a type the host chooses.
///
/// Each slot holds an extension or [`Absent`]; BASE is answered from [`Platform`] and from
/// which slots are filled. Build one with [`Dispatcher::new`] and the `with_*` methods.
#[derive(Clone, Debug)]
pub struct Dispatcher<
    C,
    T = Absent,
    I = Absent,
    R = Absent,
    H = Absent,
    M = Absent,
    S = Absent,
    D = Absent,
    N = Absent,
    P = Absent,
    L = Absent,
    O = Absent,
> {
    /// What BASE reports, and the hart count masks are checked against.
    pub platform: Platform,
    /// TIME.
    pub timer: T,
    /// IPI.
    pub ipi: I,
    /// RFENCE functions 0-2.
    pub rfence: R,
    /// RFENCE functions 3-6 (HFENCE).
    pub hfence: H,
    /// HSM.
    pub hsm: M,
    /// SRST.
    pub reset: S,
    /// DBCN.
    pub console: D,
    /// NACL.
    pub nacl: N,
    /// SUSP.
    pub suspend: P,
    /// The legacy v0.1 calls.
    pub legacy: L,
    /// Every other extension.
    pub other: O,
    context: PhantomData<fn(&mut C)>,
}

impl<C> Dispatcher<C> {
    /// A dispatcher with nothing plugged in but BASE.
    pub const fn new(platform: Platform) -> Self {
        Self {
            platform,
            timer: Absent,
            ipi: Absent,
            rfence: Absent,
            hfence: Absent,
            hsm: Absent,
            reset: Absent,
            console: Absent,
            nacl: Absent,
            suspend: Absent,
            legacy: Absent,
            other: Absent,
            context: PhantomData,
        }
    }
}

/// `with_*` builders: each puts an extension into one slot and keeps the others.
macro_rules! with_slot {
    ($(#[$doc:meta])* $method:ident($field:ident: $New:ident: $Trait:ident) -> [$($T:ident),*], keeps [$($kept:ident),*]) => {
        $(#[$doc])*
        pub fn $method<$New: $Trait<C>>(self, $field: $New) -> Dispatcher<C, $($T),*> {
            Dispatcher { platform: self.platform, $field, $($kept: self.$kept,)* context: PhantomData }
        }
    };
}

impl<C, T, I, R, H, M, S, D, N, P, L, O> Dispatcher<C, T, I, R, H, M, S, D, N, P, L, O> {
    with_slot!(/// Plugs in TIME.
        with_timer(timer: X: Timer) -> [X, I, R, H, M, S, D, N, P, L, O],
        keeps [ipi, rfence, hfence, hsm, reset, console, nacl, suspend, legacy, other]);
    with_slot!(/// Plugs in IPI.
        with_ipi(ipi: X: Ipi) -> [T, X, R, H, M, S, D, N, P, L, O],
        keeps [timer, rfence, hfence, hsm, reset, console, nacl, suspend, legacy, other]);
    with_slot!(/// Plugs in RFENCE functions 0-2 (FENCE.I and SFENCE.VMA).
        with_rfence(rfence: X: Rfence) -> [T, I, X, H, M, S, D, N, P, L, O],
        keeps [timer, ipi, hfence, hsm, reset, console, nacl, suspend, legacy, other]);
    with_slot!(/// Plugs in RFENCE functions 3-6 (HFENCE), which answer `NOT_SUPPORTED` without it.
        with_remote_hfence(hfence: X: RemoteHfence) -> [T, I, R, X, M, S, D, N, P, L, O],
        keeps [timer, ipi, rfence, hsm, reset, console, nacl, suspend, legacy, other]);
    with_slot!(/// Plugs in HSM.
        with_hsm(hsm: X: Hsm) -> [T, I, R, H, X, S, D, N, P, L, O],
        keeps [timer, ipi, rfence, hfence, reset, console, nacl, suspend, legacy, other]);
    with_slot!(/// Plugs in SRST.
        with_system_reset(reset: X: SystemReset) -> [T, I, R, H, M, X, D, N, P, L, O],
        keeps [timer, ipi, rfence, hfence, hsm, console, nacl, suspend, legacy, other]);
    with_slot!(/// Plugs in DBCN.
        with_console(console: X: Console) -> [T, I, R, H, M, S, X, N, P, L, O],
        keeps [timer, ipi, rfence, hfence, hsm, reset, nacl, suspend, legacy, other]);
    with_slot!(/// Plugs in NACL.
        with_nacl(nacl: X: Nacl) -> [T, I, R, H, M, S, D, X, P, L, O],
        keeps [timer, ipi, rfence, hfence, hsm, reset, console, suspend, legacy, other]);
    with_slot!(/// Plugs in SUSP.
        with_system_suspend(suspend: X: SystemSuspend) -> [T, I, R, H, M, S, D, N, X, L, O],
        keeps [timer, ipi, rfence, hfence, hsm, reset, console, nacl, legacy, other]);
    with_slot!(/// Plugs in the legacy v0.1 calls.
        with_legacy(legacy: X: Legacy) -> [T, I, R, H, M, S, D, N, P, X, O],
        keeps [timer, ipi, rfence, hfence, hsm, reset, console, nacl, suspend, other]);
    with_slot!(/// Plugs in a handler for every other extension.
        with_other(other: X: OtherExtensions) -> [T, I, R, H, M, S, D, N, P, L, X],
        keeps [timer, ipi, rfence, hfence, hsm, reset, console, nacl, suspend, legacy]);
}

impl<C, T, I, R, H, M, S, D, N, P, L, O> Dispatcher<C, T, I, R, H, M, S, D, N, P, L, O>
where
    T: Timer<C>,
    I: Ipi<C>,
    R: Rfence<C>,
    H: RemoteHfence<C>,
    M: Hsm<C>,
    S: SystemReset<C>,
    D: Console<C>,
    N: Nacl<C>,
    P: SystemSuspend<C>,
    L: Legacy<C>,
    O: OtherExtensions<C>,
{
    /// Handles one call from the hart whose context is `ctx`.
    ///
    /// An unknown extension or function, or one not plugged in, answers `NOT_SUPPORTED`;
    /// arguments the spec lets the dispatcher check are checked before any extension runs.
    pub fn dispatch(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        match Typed::of(call.extension) {
            Some(typed) if !Self::is_present(typed) => NOT_SUPPORTED,
            Some(Typed::Base) => self.base(call).into(),
            Some(Typed::Time) => self.time(ctx, call),
            Some(Typed::Ipi) => self.ipi(ctx, call),
            Some(Typed::Rfence) => self.rfence(ctx, call),
            Some(Typed::Hsm) => self.hsm(ctx, call),
            Some(Typed::Srst) => self.srst(ctx, call),
            Some(Typed::Dbcn) => self.dbcn(ctx, call),
            Some(Typed::Nacl) => self.nacl(ctx, call),
            Some(Typed::Susp) => self.susp(ctx, call),
            Some(Typed::Legacy) => self.legacy(ctx, call),
            // Never present: the first arm took it.
            Some(Typed::ReservedLegacy) => NOT_SUPPORTED,
            None if self.other.probe(call.extension) != 0 => self.other.call(ctx, call),
            None => NOT_SUPPORTED,
        }
    }

    /// What BASE's `probe_extension` answers for `extension`: 0 when absent, else 1 (or the
    /// value an [`OtherExtensions`] handler gives).
    pub fn probe_extension(&self, extension: u64) -> u64 {
        match Typed::of(extension) {
            Some(typed) => u64::from(Self::is_present(typed)),
            None => self.other.probe(extension),
        }
    }

    /// Whether the slot of a typed extension is filled (BASE always is).
    const fn is_present(typed: Typed) -> bool {
        match typed {
            Typed::Base => true,
            Typed::Time => T::PRESENT,
            Typed::Ipi => I::PRESENT,
            Typed::Rfence => R::PRESENT || H::PRESENT,
            Typed::Hsm => M::PRESENT,
            Typed::Srst => S::PRESENT,
            Typed::Dbcn => D::PRESENT,
            Typed::Nacl => N::PRESENT,
            Typed::Susp => P::PRESENT,
            Typed::Legacy => L::PRESENT,
            Typed::ReservedLegacy => false,
        }
    }

    fn base(&self, call: &SbiCall) -> SbiResult {
        let platform = &self.platform;
        match call.function {
            fid::SPEC_VERSION => Ok(platform.encoded_spec_version()),
            fid::IMPL_ID => Ok(platform.impl_id),
            fid::IMPL_VERSION => Ok(platform.impl_version),
            fid::PROBE_EXTENSION => Ok(self.probe_extension(call.args[0])),
            fid::MVENDORID => Ok(platform.mvendorid),
            fid::MARCHID => Ok(platform.marchid),
            fid::MIMPID => Ok(platform.mimpid),
            _ => Err(SbiError::NotSupported),
        }
    }

    fn time(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        match call.function {
            fid::SET_TIMER => {
                let stime = call.xlen.join_u64(call.args[0], call.args[1]);
                self.timer.set_timer(ctx, stime)
            }
            _ => NOT_SUPPORTED,
        }
    }

    fn harts(&self, call: &SbiCall) -> Result<HartMask, SbiError> {
        HartMask::from_registers(
            call.args[0],
            call.args[1],
            call.xlen,
            self.platform.hart_count,
        )
    }

    fn ipi(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        match (call.function, self.harts(call)) {
            (fid::SEND_IPI, Ok(harts)) => self.ipi.send_ipi(ctx, harts),
            (fid::SEND_IPI, Err(error)) => fail(error),
            _ => NOT_SUPPORTED,
        }
    }

    fn rfence(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        let function = call.function;
        let hfence = (fid::HFENCE_GVMA_VMID..=fid::HFENCE_VVMA).contains(&function);
        let offered = if hfence {
            H::PRESENT
        } else {
            R::PRESENT && function <= fid::SFENCE_VMA_ASID
        };
        if !offered {
            return NOT_SUPPORTED;
        }
        let harts = match self.harts(call) {
            Ok(harts) => harts,
            Err(error) => return fail(error),
        };
        if function == fid::FENCE_I {
            return self.rfence.remote_fence_i(ctx, harts);
        }
        let Some(range) = FenceRange::from_registers(call.args[2], call.args[3], call.xlen) else {
            return fail(SbiError::InvalidAddress);
        };
        let tag = call.args[4];
        match function {
            fid::SFENCE_VMA => self.rfence.remote_sfence_vma(ctx, harts, range),
            fid::SFENCE_VMA_ASID => asid(tag, call.xlen).map_or_else(fail, |asid| {
                self.rfence.remote_sfence_vma_asid(ctx, harts, range, asid)
            }),
            fid::HFENCE_GVMA_VMID => vmid(tag, call.xlen).map_or_else(fail, |vmid| {
                self.hfence.remote_hfence_gvma_vmid(ctx, harts, range, vmid)
            }),
            fid::HFENCE_GVMA => self.hfence.remote_hfence_gvma(ctx, harts, range),
            fid::HFENCE_VVMA_ASID => asid(tag, call.xlen).map_or_else(fail, |asid| {
                self.hfence.remote_hfence_vvma_asid(ctx, harts, range, asid)
            }),
            _ => self.hfence.remote_hfence_vvma(ctx, harts, range),
        }
    }

    fn hart(&self, register: u64) -> Result<u32, SbiError> {
        u32::try_from(register)
            .ok()
            .filter(|&hart| hart < self.platform.hart_count)
            .ok_or(SbiError::InvalidParam)
    }

    fn hsm(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        let [a0, a1, a2, ..] = call.args;
        let result = match call.function {
            fid::HART_START => self
                .hart(a0)
                .map(|hart| self.hsm.hart_start(ctx, hart, a1, a2)),
            fid::HART_STOP => Ok(self.hsm.hart_stop(ctx)),
            fid::HART_GET_STATUS => self
                .hart(a0)
                .map(|hart| self.hsm.hart_get_status(ctx, hart)),
            fid::HART_SUSPEND => SuspendType::try_from(low32(a0))
                .map_err(|_| SbiError::InvalidParam)
                .map(|kind| self.hsm.hart_suspend(ctx, kind, a1, a2)),
            _ => Err(SbiError::NotSupported),
        };
        result.unwrap_or_else(fail)
    }

    fn srst(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        if call.function != fid::SYSTEM_RESET {
            return NOT_SUPPORTED;
        }
        match (
            ResetType::try_from(low32(call.args[0])),
            ResetReason::try_from(low32(call.args[1])),
        ) {
            (Ok(kind), Ok(reason)) => self.reset.system_reset(ctx, kind, reason),
            _ => fail(SbiError::InvalidParam),
        }
    }

    fn dbcn(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        let [len, lo, hi, ..] = call.args;
        let buffer =
            || PhysicalRange::from_registers(len, lo, hi, call.xlen).ok_or(SbiError::InvalidParam);
        let result = match call.function {
            fid::CONSOLE_WRITE => buffer().map(|b| self.console.console_write(ctx, b)),
            fid::CONSOLE_READ => buffer().map(|b| self.console.console_read(ctx, b)),
            fid::CONSOLE_WRITE_BYTE => Ok(self.console.console_write_byte(ctx, len as u8)),
            _ => Err(SbiError::NotSupported),
        };
        result.unwrap_or_else(fail)
    }

    fn nacl(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        let (xlen, a0) = (call.xlen, call.args[0]);
        let (feature, argument) = match call.function {
            fid::PROBE_FEATURE => {
                let offered =
                    NaclFeature::try_from(a0).is_ok_and(|f| self.nacl.probe_feature(ctx, f));
                return Outcome::Return(Ok(u64::from(offered)));
            }
            fid::SET_SHMEM => return self.nacl_set_shmem(ctx, call),
            fid::SYNC_CSR => (NaclFeature::SyncCsr, nacl_csr(a0, xlen)),
            fid::SYNC_HFENCE => (NaclFeature::SyncHfence, nacl_hfence_entry(a0, xlen)),
            fid::SYNC_SRET => (NaclFeature::SyncSret, Ok(Argument::None)),
            _ => return NOT_SUPPORTED,
        };
        if !self.nacl.probe_feature(ctx, feature) {
            return NOT_SUPPORTED;
        }
        match argument {
            Ok(Argument::Csr(csr)) => self.nacl.sync_csr(ctx, csr),
            Ok(Argument::Entry(entry)) => self.nacl.sync_hfence(ctx, entry),
            Ok(Argument::None) => self.nacl.sync_sret(ctx),
            Err(error) => fail(error),
        }
    }

    /// NACL `set_shmem(lo, hi, flags)` (SBI spec, NACL, "Set nested acceleration shared memory").
    fn nacl_set_shmem(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        let [lo, hi, flags, ..] = call.args;
        let all = call.xlen.all_ones();
        if flags != 0 {
            return fail(SbiError::InvalidParam);
        }
        if lo == all && hi == all {
            return self.nacl.set_shmem(ctx, None);
        }
        if lo % 4096 != 0 {
            return fail(SbiError::InvalidParam);
        }
        let size = nacl_shmem_size(call.xlen);
        match PhysicalRange::from_registers(size, lo, hi, call.xlen) {
            Some(range) => self.nacl.set_shmem(ctx, Some(range.base)),
            None => fail(SbiError::InvalidAddress),
        }
    }

    fn susp(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        let [sleep_type, resume_addr, opaque, ..] = call.args;
        match (call.function, SleepType::try_from(low32(sleep_type))) {
            (fid::SYSTEM_SUSPEND, Ok(kind)) => {
                self.suspend.system_suspend(ctx, kind, resume_addr, opaque)
            }
            (fid::SYSTEM_SUSPEND, Err(_)) => fail(SbiError::InvalidParam),
            _ => NOT_SUPPORTED,
        }
    }

    fn legacy(&mut self, ctx: &mut C, call: &SbiCall) -> Outcome {
        let [a0, a1, a2, a3, ..] = call.args;
        let legacy = &mut self.legacy;
        match call.extension {
            fid::LEGACY_SET_TIMER => legacy.set_timer(ctx, call.xlen.join_u64(a0, a1)),
            fid::LEGACY_PUTCHAR => legacy.console_putchar(ctx, a0 as u8),
            fid::LEGACY_GETCHAR => legacy.console_getchar(ctx),
            fid::LEGACY_CLEAR_IPI => legacy.clear_ipi(ctx),
            fid::LEGACY_SEND_IPI => legacy.send_ipi(ctx, a0),
            fid::LEGACY_FENCE_I => legacy.remote_fence_i(ctx, a0),
            fid::LEGACY_SFENCE_VMA => legacy.remote_sfence_vma(ctx, a0, a1, a2),
            fid::LEGACY_SFENCE_VMA_ASID => legacy.remote_sfence_vma_asid(ctx, a0, a1, a2, a3),
            fid::LEGACY_SHUTDOWN => legacy.shutdown(ctx),
            _ => NOT_SUPPORTED,
        }
    }
}

/// A 32-bit parameter: the low half of its register (the upper half of an RV64 register is
/// ignored, as OpenSBI does).
const fn low32(register: u64) -> u32 {
    register as u32
}

/// An ASID argument: at most 9 bits on RV32 and 16 on RV64 (priv spec, `satp`).
fn asid(register: u64, xlen: Xlen) -> Result<u16, SbiError> {
    let bits = if xlen == Xlen::Rv32 { 9 } else { 16 };
    tag(register, bits)
}

/// A VMID argument: at most 7 bits on RV32 and 14 on RV64 (priv spec, `hgatp`).
fn vmid(register: u64, xlen: Xlen) -> Result<u16, SbiError> {
    let bits = if xlen == Xlen::Rv32 { 7 } else { 14 };
    tag(register, bits)
}

fn tag(register: u64, bits: u32) -> Result<u16, SbiError> {
    if register >> bits == 0 {
        Ok(register as u16)
    } else {
        Err(SbiError::InvalidParam)
    }
}

/// The checked argument of a NACL sync call.
enum Argument {
    Csr(Option<u16>),
    Entry(Option<u32>),
    None,
}

/// `sync_csr`'s `csr_num`: all ones, or a CSR number whose bits 9:8 are 2 (an H or VS CSR).
fn nacl_csr(csr: u64, xlen: Xlen) -> Result<Argument, SbiError> {
    if csr == xlen.all_ones() {
        Ok(Argument::Csr(None))
    } else if csr < 0x1000 && csr & 0x300 == 0x200 {
        Ok(Argument::Csr(Some(csr as u16)))
    } else {
        Err(SbiError::InvalidParam)
    }
}

/// `sync_hfence`'s `entry_index`: all ones, or below 3840 / XLEN (60 on RV64, 120 on RV32).
fn nacl_hfence_entry(entry: u64, xlen: Xlen) -> Result<Argument, SbiError> {
    let count = 3840 / u64::from(xlen.bits());
    if entry == xlen.all_ones() {
        Ok(Argument::Entry(None))
    } else if entry < count {
        Ok(Argument::Entry(Some(entry as u32)))
    } else {
        Err(SbiError::InvalidParam)
    }
}

/// The NACL shared memory's size: 4096 + 1024 × XLEN/8 bytes.
const fn nacl_shmem_size(xlen: Xlen) -> u64 {
    match xlen {
        Xlen::Rv32 => sbi_spec::nacl::shmem_size::RV32 as u64,
        Xlen::Rv64 => sbi_spec::nacl::shmem_size::RV64 as u64,
    }
}
