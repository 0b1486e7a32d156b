//! A recording implementation of every extension, for tests and fuzz targets (feature
//! `testing`).
//!
//! [`Recorder`] fills every slot; each call it receives is stored, with its validated
//! arguments, in the [`Log`] that serves as the calling hart's context, and answered with the
//! outcome the log holds.

use crate::{
    Console, Dispatcher, FenceRange, HartMask, Hsm, Ipi, Legacy, Nacl, NaclFeature,
    OtherExtensions, Outcome, PhysicalRange, Platform, RemoteHfence, ResetReason, ResetType,
    Rfence, SbiCall, SleepType, SuspendType, SystemReset, SystemSuspend, Timer,
};

/// One call as an extension received it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Seen {
    SetTimer(u64),
    SendIpi(HartMask),
    RemoteFenceI(HartMask),
    RemoteSfenceVma(HartMask, FenceRange),
    RemoteSfenceVmaAsid(HartMask, FenceRange, u16),
    RemoteHfenceGvmaVmid(HartMask, FenceRange, u16),
    RemoteHfenceGvma(HartMask, FenceRange),
    RemoteHfenceVvmaAsid(HartMask, FenceRange, u16),
    RemoteHfenceVvma(HartMask, FenceRange),
    HartStart {
        hart: u32,
        start_addr: u64,
        opaque: u64,
    },
    HartStop,
    HartGetStatus(u32),
    HartSuspend(SuspendType, u64, u64),
    SystemReset(ResetType, ResetReason),
    ConsoleWrite(PhysicalRange),
    ConsoleRead(PhysicalRange),
    ConsoleWriteByte(u8),
    NaclSetShmem(Option<u64>),
    NaclSyncCsr(Option<u16>),
    NaclSyncHfence(Option<u32>),
    NaclSyncSret,
    SystemSuspend(SleepType, u64, u64),
    LegacySetTimer(u64),
    LegacyPutchar(u8),
    LegacyGetchar,
    LegacyClearIpi,
    LegacySendIpi(u64),
    LegacyRemoteFenceI(u64),
    LegacyRemoteSfenceVma(u64, u64, u64),
    LegacyRemoteSfenceVmaAsid(u64, u64, u64, u64),
    LegacyShutdown,
    Other(SbiCall),
}

/// The calling hart's context in tests: what it asked, and how the extension answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Log {
    /// The last call an extension received.
    pub seen: Option<Seen>,
    /// The outcome every extension answers.
    pub answer: Outcome,
    /// The NACL features offered, bit n for feature ID n.
    pub nacl_features: u8,
}

/// The extension IDs the recorder's [`OtherExtensions`] claims: the first firmware-specific
/// ID and PMU.
pub const OTHER_EXTENSIONS: [u64; 2] = [0x0a00_0000, sbi_spec::pmu::EID_PMU as u64];

impl Default for Log {
    fn default() -> Self {
        Self {
            seen: None,
            answer: Outcome::Return(Ok(0)),
            nacl_features: 0b1111,
        }
    }
}

impl Log {
    fn record(&mut self, seen: Seen) -> Outcome {
        self.seen = Some(seen);
        self.answer
    }
}

/// An extension for every slot that records into the [`Log`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recorder;

/// A dispatcher with a [`Recorder`] in every slot.
pub type FullDispatcher = Dispatcher<
    Log,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
    Recorder,
>;

/// A dispatcher with every extension plugged in, `other` claiming [`OTHER_EXTENSIONS`].
pub fn full_dispatcher(platform: Platform) -> FullDispatcher {
    let recorder = Recorder;
    Dispatcher::new(platform)
        .with_timer(recorder)
        .with_ipi(recorder)
        .with_rfence(recorder)
        .with_remote_hfence(recorder)
        .with_hsm(recorder)
        .with_system_reset(recorder)
        .with_console(recorder)
        .with_nacl(recorder)
        .with_system_suspend(recorder)
        .with_legacy(recorder)
        .with_other(recorder)
}

impl Timer<Log> for Recorder {
    fn set_timer(&mut self, log: &mut Log, stime_value: u64) -> Outcome {
        log.record(Seen::SetTimer(stime_value))
    }
}

impl Ipi<Log> for Recorder {
    fn send_ipi(&mut self, log: &mut Log, harts: HartMask) -> Outcome {
        log.record(Seen::SendIpi(harts))
    }
}

impl Rfence<Log> for Recorder {
    fn remote_fence_i(&mut self, log: &mut Log, harts: HartMask) -> Outcome {
        log.record(Seen::RemoteFenceI(harts))
    }
    fn remote_sfence_vma(&mut self, log: &mut Log, harts: HartMask, range: FenceRange) -> Outcome {
        log.record(Seen::RemoteSfenceVma(harts, range))
    }
    fn remote_sfence_vma_asid(
        &mut self,
        log: &mut Log,
        harts: HartMask,
        range: FenceRange,
        asid: u16,
    ) -> Outcome {
        log.record(Seen::RemoteSfenceVmaAsid(harts, range, asid))
    }
}

impl RemoteHfence<Log> for Recorder {
    fn remote_hfence_gvma_vmid(
        &mut self,
        log: &mut Log,
        harts: HartMask,
        range: FenceRange,
        vmid: u16,
    ) -> Outcome {
        log.record(Seen::RemoteHfenceGvmaVmid(harts, range, vmid))
    }
    fn remote_hfence_gvma(&mut self, log: &mut Log, harts: HartMask, range: FenceRange) -> Outcome {
        log.record(Seen::RemoteHfenceGvma(harts, range))
    }
    fn remote_hfence_vvma_asid(
        &mut self,
        log: &mut Log,
        harts: HartMask,
        range: FenceRange,
        asid: u16,
    ) -> Outcome {
        log.record(Seen::RemoteHfenceVvmaAsid(harts, range, asid))
    }
    fn remote_hfence_vvma(&mut self, log: &mut Log, harts: HartMask, range: FenceRange) -> Outcome {
        log.record(Seen::RemoteHfenceVvma(harts, range))
    }
}

impl Hsm<Log> for Recorder {
    fn hart_start(&mut self, log: &mut Log, hart: u32, start_addr: u64, opaque: u64) -> Outcome {
        log.record(Seen::HartStart {
            hart,
            start_addr,
            opaque,
        })
    }
    fn hart_stop(&mut self, log: &mut Log) -> Outcome {
        log.record(Seen::HartStop)
    }
    fn hart_get_status(&mut self, log: &mut Log, hart: u32) -> Outcome {
        log.record(Seen::HartGetStatus(hart))
    }
    fn hart_suspend(
        &mut self,
        log: &mut Log,
        kind: SuspendType,
        resume_addr: u64,
        opaque: u64,
    ) -> Outcome {
        log.record(Seen::HartSuspend(kind, resume_addr, opaque))
    }
}

impl SystemReset<Log> for Recorder {
    fn system_reset(&mut self, log: &mut Log, kind: ResetType, reason: ResetReason) -> Outcome {
        log.record(Seen::SystemReset(kind, reason))
    }
}

impl Console<Log> for Recorder {
    fn console_write(&mut self, log: &mut Log, buffer: PhysicalRange) -> Outcome {
        log.record(Seen::ConsoleWrite(buffer))
    }
    fn console_read(&mut self, log: &mut Log, buffer: PhysicalRange) -> Outcome {
        log.record(Seen::ConsoleRead(buffer))
    }
    fn console_write_byte(&mut self, log: &mut Log, byte: u8) -> Outcome {
        log.record(Seen::ConsoleWriteByte(byte))
    }
}

impl Nacl<Log> for Recorder {
    fn probe_feature(&mut self, log: &mut Log, feature: NaclFeature) -> bool {
        log.nacl_features & (1 << feature as u32) != 0
    }
    fn set_shmem(&mut self, log: &mut Log, shmem: Option<u64>) -> Outcome {
        log.record(Seen::NaclSetShmem(shmem))
    }
    fn sync_csr(&mut self, log: &mut Log, csr: Option<u16>) -> Outcome {
        log.record(Seen::NaclSyncCsr(csr))
    }
    fn sync_hfence(&mut self, log: &mut Log, entry: Option<u32>) -> Outcome {
        log.record(Seen::NaclSyncHfence(entry))
    }
    fn sync_sret(&mut self, log: &mut Log) -> Outcome {
        log.record(Seen::NaclSyncSret)
    }
}

impl SystemSuspend<Log> for Recorder {
    fn system_suspend(
        &mut self,
        log: &mut Log,
        kind: SleepType,
        resume_addr: u64,
        opaque: u64,
    ) -> Outcome {
        log.record(Seen::SystemSuspend(kind, resume_addr, opaque))
    }
}

impl Legacy<Log> for Recorder {
    fn set_timer(&mut self, log: &mut Log, stime_value: u64) -> Outcome {
        log.record(Seen::LegacySetTimer(stime_value))
    }
    fn console_putchar(&mut self, log: &mut Log, byte: u8) -> Outcome {
        log.record(Seen::LegacyPutchar(byte))
    }
    fn console_getchar(&mut self, log: &mut Log) -> Outcome {
        log.record(Seen::LegacyGetchar)
    }
    fn clear_ipi(&mut self, log: &mut Log) -> Outcome {
        log.record(Seen::LegacyClearIpi)
    }
    fn send_ipi(&mut self, log: &mut Log, hart_mask: u64) -> Outcome {
        log.record(Seen::LegacySendIpi(hart_mask))
    }
    fn remote_fence_i(&mut self, log: &mut Log, hart_mask: u64) -> Outcome {
        log.record(Seen::LegacyRemoteFenceI(hart_mask))
    }
    fn remote_sfence_vma(
        &mut self,
        log: &mut Log,
        hart_mask: u64,
        start: u64,
        size: u64,
    ) -> Outcome {
        log.record(Seen::LegacyRemoteSfenceVma(hart_mask, start, size))
    }
    fn remote_sfence_vma_asid(
        &mut self,
        log: &mut Log,
        hart_mask: u64,
        start: u64,
        size: u64,
        asid: u64,
    ) -> Outcome {
        log.record(Seen::LegacyRemoteSfenceVmaAsid(
            hart_mask, start, size, asid,
        ))
    }
    fn shutdown(&mut self, log: &mut Log) -> Outcome {
        log.record(Seen::LegacyShutdown)
    }
}

impl OtherExtensions<Log> for Recorder {
    fn probe(&self, extension: u64) -> u64 {
        u64::from(OTHER_EXTENSIONS.contains(&extension))
    }
    fn call(&mut self, log: &mut Log, call: &SbiCall) -> Outcome {
        log.record(Seen::Other(*call))
    }
}

/// A platform of `hart_count` harts claiming SBI 2.0, with recognisable IDs.
pub fn platform(hart_count: u32) -> Platform {
    Platform {
        spec_version: crate::Version::V2_0,
        impl_id: 0x5a,
        impl_version: 0x0001_0002,
        mvendorid: 0x489,
        marchid: 0x8000_0000_0000_0007,
        mimpid: 0x2024,
        hart_count,
    }
}

/// Dispatches `call` from a fresh [`Log`]; returns the outcome and what the extension saw.
pub fn run(sbi: &mut FullDispatcher, call: &SbiCall) -> (Outcome, Option<Seen>) {
    let mut log = Log::default();
    let outcome = sbi.dispatch(&mut log, call);
    (outcome, log.seen)
}

/// Checks what the dispatcher promises for any call: an extension only ever sees validated
/// arguments, a call to an absent extension reaches nothing, and an error the dispatcher
/// makes by itself is one the spec names for argument checks. Returns what was broken.
pub fn check_dispatch(
    sbi: &FullDispatcher,
    call: &SbiCall,
    outcome: Outcome,
    seen: Option<Seen>,
) -> Result<(), &'static str> {
    use crate::{SbiError, Xlen};
    let xlen = call.xlen;
    let harts = sbi.platform.hart_count;
    // Recomputed from the raw a0 (mask) and a1 (base): every named hart exists, and the set
    // the extension saw is exactly the named one.
    let (raw_mask, raw_base) = (call.args[0], call.args[1]);
    let mask_ok = |m: &HartMask| {
        if raw_base == xlen.all_ones() {
            return m.is_all() && (0..harts.min(64)).all(|h| m.contains(h));
        }
        let named = (0..64u64)
            .filter(|n| raw_mask >> n & 1 == 1)
            .map(|n| raw_base as u128 + n as u128);
        named.clone().all(|h| h < u128::from(harts)) && m.iter().map(u128::from).eq(named)
    };
    let range_ok = |r: &FenceRange| match *r {
        FenceRange::All => true,
        FenceRange::Range { start, size } => start as u128 + size as u128 <= 1u128 << xlen.bits(),
    };
    let buffer_ok = |b: &PhysicalRange| {
        b.base as u128 + b.len as u128 <= 1u128 << PhysicalRange::address_bits(xlen)
    };
    let (asid_bits, vmid_bits) = if xlen == Xlen::Rv32 { (9, 7) } else { (16, 14) };
    if sbi.probe_extension(call.extension) == 0
        && (outcome, seen) != (Outcome::Return(Err(SbiError::NotSupported)), None)
    {
        return Err("an absent extension answered something other than NOT_SUPPORTED");
    }
    let Some(seen) = seen else {
        return match outcome {
            Outcome::Return(Ok(_)) if call.extension == 0x10 || call.extension == 0x4e41_434c => {
                Ok(())
            }
            Outcome::Return(Err(
                SbiError::NotSupported | SbiError::InvalidParam | SbiError::InvalidAddress,
            )) => Ok(()),
            _ => Err("the dispatcher answered by itself with an outcome it never makes"),
        };
    };
    if outcome != Log::default().answer {
        return Err("the extension's answer was not passed through");
    }
    let valid = match seen {
        Seen::SendIpi(m) | Seen::RemoteFenceI(m) => mask_ok(&m),
        Seen::RemoteSfenceVma(m, r)
        | Seen::RemoteHfenceGvma(m, r)
        | Seen::RemoteHfenceVvma(m, r) => mask_ok(&m) && range_ok(&r),
        Seen::RemoteSfenceVmaAsid(m, r, asid) | Seen::RemoteHfenceVvmaAsid(m, r, asid) => {
            mask_ok(&m) && range_ok(&r) && u32::from(asid) >> asid_bits == 0
        }
        Seen::RemoteHfenceGvmaVmid(m, r, vmid) => {
            mask_ok(&m) && range_ok(&r) && u32::from(vmid) >> vmid_bits == 0
        }
        Seen::HartStart { hart, .. } | Seen::HartGetStatus(hart) => hart < harts,
        Seen::ConsoleWrite(b) | Seen::ConsoleRead(b) => buffer_ok(&b),
        Seen::NaclSetShmem(Some(base)) => {
            base % 4096 == 0
                && buffer_ok(&PhysicalRange {
                    base,
                    len: 4096 + 1024 * u64::from(xlen.bits() / 8),
                })
        }
        Seen::NaclSyncCsr(Some(csr)) => csr < 0x1000 && csr & 0x300 == 0x200,
        Seen::NaclSyncHfence(Some(entry)) => entry < 3840 / xlen.bits(),
        Seen::Other(other) => other == *call && !(0..=0x0f).contains(&call.extension),
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err("an extension received an argument the dispatcher should have refused")
    }
}

/// Extension IDs as the SBI spec writes them (ASCII of their names), typed here by hand so
/// that tests do not check the dispatcher against its own constants.
pub mod eid {
    #![allow(missing_docs)] // the spec's names
    pub const BASE: u64 = 0x10;
    pub const TIME: u64 = 0x5449_4d45;
    pub const IPI: u64 = 0x73_5049;
    pub const RFENCE: u64 = 0x5246_4e43;
    pub const HSM: u64 = 0x48_534d;
    pub const SRST: u64 = 0x5352_5354;
    pub const DBCN: u64 = 0x4442_434e;
    pub const NACL: u64 = 0x4e41_434c;
    pub const SUSP: u64 = 0x5355_5350;
}
