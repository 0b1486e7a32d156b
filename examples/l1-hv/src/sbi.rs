//! The SBI L1 offers L2, plugged into `sbi-dispatch`: TIME (L2's timer interrupt, through
//! hvip.VSTIP), HSM (a secondary hart stops), SRST, the legacy v0.1 calls (the console among
//! them) and the test calls of `l2_guest::calls` (an MSI to L2's interrupt file among them).
//! BASE is the dispatcher's: with no DBCN plugged in, probe_extension(DBCN) answers 0 and L2
//! prints with the legacy putchar.

use bare::println;
use l2_guest::calls;
use sbi_dispatch::{
    Absent, Departure, Dispatcher, HartState, Hsm, Legacy, OtherExtensions, Outcome, Platform,
    ResetReason, ResetType, SbiCall, SbiError, SbiResult, SuspendType, SystemReset, Timer, Version,
};
use spin::Mutex;

use crate::csr::{HCsr, HVIP_VSTIP, hstatus};
use crate::hart::HartCsrs;
use crate::imsic::NoSuchIdentity;
use crate::{smp, trap, vm};

/// The hart an SBI call comes from.
pub struct Vcpu {
    /// Its hart ID (the same for L1 and L2).
    pub hartid: usize,
    /// Its H CSRs.
    pub csrs: HartCsrs,
}

/// `get_impl_id`: not a registered implementation ("L1").
const IMPL_ID: u64 = 0x4c31;

/// The dispatcher of L2's calls.
pub type L2Sbi = Dispatcher<
    Vcpu,
    VirtualTimer,
    Absent,
    Absent,
    Absent,
    L2Harts,
    L2Reset,
    Absent,
    Absent,
    Absent,
    LegacyCalls,
    TestCalls,
>;

/// The dispatcher for an L2 of `harts` harts.
pub fn dispatcher(harts: usize) -> L2Sbi {
    Dispatcher::new(Platform {
        spec_version: Version::V2_0,
        impl_id: IMPL_ID,
        impl_version: 1,
        mvendorid: 0,
        marchid: 0,
        mimpid: 0,
        hart_count: harts as u32,
    })
    .with_timer(VirtualTimer)
    .with_hsm(L2Harts)
    .with_system_reset(L2Reset)
    .with_legacy(LegacyCalls)
    .with_other(TestCalls)
}

/// TIME.
pub struct VirtualTimer;

impl Timer<Vcpu> for VirtualTimer {
    fn set_timer(&mut self, vcpu: &mut Vcpu, deadline: u64) -> Outcome {
        set_timer(vcpu, deadline).into()
    }
}

/// L2's timer interrupt is hvip.VSTIP. A deadline that has passed raises it at once, and
/// u64::MAX (never) clears it; L1 keeps no timer of its own, so it refuses any other.
fn set_timer(vcpu: &mut Vcpu, deadline: u64) -> SbiResult {
    let now = bare::time();
    if deadline != u64::MAX && deadline > now {
        return Err(SbiError::NotSupported);
    }
    if deadline <= now {
        vcpu.csrs.modify(HCsr::Hvip, HVIP_VSTIP, 0);
        trap::count(&trap::STATS.timer_interrupts);
        println!("L1: injected timer interrupt");
    } else {
        vcpu.csrs.modify(HCsr::Hvip, 0, HVIP_VSTIP);
    }
    Ok(0)
}

/// HSM: L1 starts L2's harts itself; a secondary hart may stop.
pub struct L2Harts;

impl Hsm<Vcpu> for L2Harts {
    fn hart_start(&mut self, _: &mut Vcpu, _: u32, _: u64, _: u64) -> Outcome {
        Err(SbiError::Failed).into()
    }

    fn hart_stop(&mut self, vcpu: &mut Vcpu) -> Outcome {
        if vcpu.hartid == 0 {
            // The boot hart ends L2 with SRST: L1 reports then.
            Err(SbiError::Failed).into()
        } else {
            Outcome::Departed(Departure::HartStopped)
        }
    }

    fn hart_get_status(&mut self, _: &mut Vcpu, hart: u32) -> Outcome {
        let running = hart == 0 || smp::runs_l2(hart as usize);
        let state = if running {
            HartState::Started
        } else {
            HartState::Stopped
        };
        Ok(state.into()).into()
    }

    fn hart_suspend(&mut self, _: &mut Vcpu, _: SuspendType, _: u64, _: u64) -> Outcome {
        Err(SbiError::NotSupported).into()
    }
}

/// SRST: L2 ends.
pub struct L2Reset;

impl SystemReset<Vcpu> for L2Reset {
    fn system_reset(
        &mut self,
        _: &mut Vcpu,
        reset_type: ResetType,
        reason: ResetReason,
    ) -> Outcome {
        Outcome::Departed(Departure::SystemReset { reset_type, reason })
    }
}

/// The legacy v0.1 calls: the console, the timer and shutdown.
pub struct LegacyCalls;

const NOT_SUPPORTED: Outcome = Outcome::Return(Err(SbiError::NotSupported));

impl Legacy<Vcpu> for LegacyCalls {
    fn set_timer(&mut self, vcpu: &mut Vcpu, deadline: u64) -> Outcome {
        set_timer(vcpu, deadline).into()
    }

    fn console_putchar(&mut self, vcpu: &mut Vcpu, byte: u8) -> Outcome {
        put_char(vcpu.hartid, byte);
        Ok(0).into()
    }

    fn console_getchar(&mut self, _: &mut Vcpu) -> Outcome {
        // -1: no input.
        Err(SbiError::Failed).into()
    }

    fn clear_ipi(&mut self, _: &mut Vcpu) -> Outcome {
        NOT_SUPPORTED
    }

    fn send_ipi(&mut self, _: &mut Vcpu, _: u64) -> Outcome {
        NOT_SUPPORTED
    }

    fn remote_fence_i(&mut self, _: &mut Vcpu, _: u64) -> Outcome {
        NOT_SUPPORTED
    }

    fn remote_sfence_vma(&mut self, _: &mut Vcpu, _: u64, _: u64, _: u64) -> Outcome {
        NOT_SUPPORTED
    }

    fn remote_sfence_vma_asid(&mut self, _: &mut Vcpu, _: u64, _: u64, _: u64, _: u64) -> Outcome {
        NOT_SUPPORTED
    }

    fn shutdown(&mut self, _: &mut Vcpu) -> Outcome {
        Outcome::Departed(Departure::SystemReset {
            reset_type: ResetType::Shutdown,
            reason: ResetReason::NoReason,
        })
    }
}

/// The longest line of L2's kept before it is printed anyway.
const LINE: usize = 160;

/// L2's console output, one line per hart: printed whole, so that harts never mix lines.
static LINES: [Mutex<heapless::Vec<u8, LINE>>; bare::MAX_HARTS] =
    [const { Mutex::new(heapless::Vec::new()) }; bare::MAX_HARTS];

fn put_char(hartid: usize, byte: u8) {
    let mut line = LINES[hartid].lock();
    if line.is_full() {
        print_l2_line(&mut line);
    }
    // Not full: the push succeeds.
    let _ = line.push(byte);
    if byte == b'\n' {
        print_l2_line(&mut line);
    }
}

/// Prints a line of L2's. One that does not start with `L2: ` is marked `[L2] `, so that L2
/// can never print a line that reads as L1's (or as a verdict of the run).
fn print_l2_line(line: &mut heapless::Vec<u8, LINE>) {
    const MARK: &[u8] = b"[L2] ";
    let mut out: heapless::Vec<u8, { LINE + MARK.len() }> = heapless::Vec::new();
    if !line.starts_with(b"L2: ") {
        // Fits: the mark is counted in the capacity.
        let _ = out.extend_from_slice(MARK);
    }
    let _ = out.extend_from_slice(line);
    bare::console::write_bytes(&out);
    line.clear();
}

/// The test calls of `l2_guest::calls`.
pub struct TestCalls;

impl OtherExtensions<Vcpu> for TestCalls {
    fn probe(&self, extension: u64) -> u64 {
        u64::from(extension == calls::EID)
    }

    fn call(&mut self, vcpu: &mut Vcpu, call: &SbiCall) -> Outcome {
        let [a0, a1, ..] = call.args;
        match call.function {
            calls::HLV_READ => hlv_read(vcpu, a0),
            calls::REPORT => smp::report(vcpu.hartid, a0, a1),
            calls::WAIT => smp::wait(vcpu.hartid),
            calls::SEND_MSI => send_msi(a0),
            calls::ARM_L1_TIMER => crate::faults::arm_own_timer(a0),
            _ => Err(SbiError::NotSupported),
        }
        .into()
    }
}

/// Sends `identity` to L2's interrupt file: L1 writes its seteipnum_le by physical address, as
/// a device would send an MSI.
fn send_msi(identity: u64) -> SbiResult {
    let file = vm::interrupt_file().ok_or(SbiError::NotSupported)?;
    file.send(identity).map_err(|NoSuchIdentity(identity)| {
        println!("L1: L2's interrupt file has no identity {identity}");
        SbiError::InvalidParam
    })?;
    println!("L1: sent MSI {identity} to L2's interrupt file");
    Ok(0)
}

/// Reads L2's doubleword at `gpa` with HLV.D, as L2's supervisor would (hstatus.SPVP = 1,
/// which L2's trap into L1 has set already).
fn hlv_read(vcpu: &mut Vcpu, gpa: u64) -> SbiResult {
    let status = vcpu.csrs.read(HCsr::Hstatus);
    match bare::catch::hlv_d(gpa) {
        Ok(value) => {
            println!("L1: HLV.D read {value:#018x} at L2 GPA {gpa:#x}");
            Ok(value)
        }
        Err(cause) => {
            // The fault was taken in HS-mode, which cleared hstatus.SPV: L2 must get it back.
            vcpu.csrs.write(HCsr::Hstatus, status | hstatus::SPVP);
            println!("L1: HLV.D at L2 GPA {gpa:#x} faulted (exception {cause})");
            Err(SbiError::InvalidAddress)
        }
    }
}
