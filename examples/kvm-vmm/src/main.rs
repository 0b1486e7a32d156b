//! `kvm-vmm --guest PATH --vms N --cpus C0,C1,... --rounds R [--sbi-timer] [--timeout S]`
//!
//! Runs N VMs of the payload at PATH (kvm-guest's ELF) at once under Linux KVM on riscv64,
//! through rust-vmm's `kvm-ioctls`. Each VM has its own thread with one vCPU, pinned to CPU
//! `C[i % len]`, 8 MiB of RAM at guest-physical 0x8000_0000, the payload's PT_LOAD segments at
//! their physical addresses and a parameter block at 0x8000_0000 (see [`vm`]). The guest's
//! console lines are printed as `[vm I] LINE`. When every VM has ended, or the watchdog's
//! deadline (S seconds, 60 unless given) has passed, one verdict line per VM is printed in VM
//! order, `VMM: vm I: ok, R rounds` or `VMM: vm I: FAILED: REASON`, with no timings in them,
//! then `VMM: N of N VMs passed` (exit 0) or `VMM: FAILED, K of N VMs passed` (exit 1). A
//! usage error exits 2.
//!
//! The watchdog: a vCPU that never exits again (a lost timer leaves it in WFI) keeps its
//! thread inside KVM_RUN, and such a thread cannot be joined or stopped from outside. So the
//! main thread only waits for the VMs' reports, with a deadline; past it, it gives the VMs that
//! did not report their verdict and ends the whole process, stuck threads included.
//!
//! Known: `--sbi-timer` with several VMs on one CPU loses timers on stock KVM even on bare
//! QEMU. With Sstc on the host, KVM's SBI set_timer writes vstimecmp but not its saved copy
//! (`next_cycles`, taken from vstimecmp at each guest exit); a vCPU scheduled out before it
//! re-enters the guest gets the old copy back, the new deadline is lost and the vCPU waits in
//! WFI until the watchdog. With Sstc's own stimecmp (the default) the guest writes the CSR
//! itself and nothing is lost.
#![warn(clippy::undocumented_unsafe_blocks)]

mod payload;
mod ram;
mod vm;

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use payload::Payload;

/// The most VMs one run takes.
const MAX_VMS: usize = 64;
/// The most rounds the guest's pattern can tell apart.
const MAX_ROUNDS: u64 = 0xffff;
/// The watchdog's default, in seconds.
const DEFAULT_TIMEOUT: u64 = 60;

const USAGE: &str =
    "usage: kvm-vmm --guest PATH --vms N --cpus C0,C1,... --rounds R [--sbi-timer] [--timeout S]";

/// Prints one line on standard output. Standard output's lock keeps lines whole; a failed write
/// (standard output closed) is ignored rather than ending the run.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// What the command line asks for.
pub struct Options {
    pub guest: PathBuf,
    pub vms: usize,
    cpus: Vec<usize>,
    pub rounds: u64,
    pub sbi_timer: bool,
    timeout: u64,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = OsString>) -> Result<Options, String> {
        let mut guest = None;
        let (mut vms, mut rounds, mut timeout) = (None, None, DEFAULT_TIMEOUT);
        let mut cpus = Vec::new();
        let mut sbi_timer = false;
        while let Some(arg) = args.next() {
            let mut value = || {
                args.next()
                    .ok_or_else(|| format!("{} needs a value", arg.display()))
            };
            match arg.to_str() {
                Some("--sbi-timer") => sbi_timer = true,
                Some("--guest") => guest = Some(PathBuf::from(value()?)),
                Some("--vms") => vms = Some(number(&value()?)?),
                Some("--rounds") => rounds = Some(number(&value()?)?),
                Some("--timeout") => timeout = number(&value()?)?,
                Some("--cpus") => {
                    let list = value()?;
                    for cpu in list.to_string_lossy().split(',') {
                        cpus.push(number(OsStr::new(cpu))? as usize);
                    }
                }
                _ => return Err(format!("unknown option {}", arg.display())),
            }
        }
        let guest = guest.ok_or("--guest is missing")?;
        let vms = vms.ok_or("--vms is missing")? as usize;
        let rounds = rounds.ok_or("--rounds is missing")?;
        if !(1..=MAX_VMS).contains(&vms) {
            return Err(format!("--vms must be 1 to {MAX_VMS}"));
        }
        if !(1..=MAX_ROUNDS).contains(&rounds) {
            return Err(format!("--rounds must be 1 to {MAX_ROUNDS}"));
        }
        if cpus.is_empty() {
            return Err("--cpus is missing".into());
        }
        if timeout == 0 {
            return Err("--timeout must be at least 1".into());
        }
        Ok(Options {
            guest,
            vms,
            cpus,
            rounds,
            sbi_timer,
            timeout,
        })
    }

    /// The CPU VM `index` is pinned to.
    pub fn cpu(&self, index: usize) -> usize {
        self.cpus[index % self.cpus.len()]
    }
}

fn number(text: &OsStr) -> Result<u64, String> {
    text.to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{} is not a number", text.display()))
}

/// What a VM's thread tells the main thread.
enum Report {
    /// A line the guest printed on its console.
    Line(usize, String),
    /// The VM's verdict: passed, or why it failed. The thread's last report.
    Verdict(usize, Result<(), String>),
}

fn main() {
    let code = run();
    let _ = std::io::stdout().flush();
    // Ends the threads of VMs that never reported too: they cannot be joined.
    std::process::exit(code);
}

fn run() -> i32 {
    let options = match Options::parse(std::env::args_os().skip(1)) {
        Ok(options) => Arc::new(options),
        Err(message) => {
            eprintln!("kvm-vmm: {message}\n{USAGE}");
            return 2;
        }
    };
    let payload = match Payload::load(&options.guest) {
        Ok(payload) => Arc::new(payload),
        Err(message) => {
            say!("VMM: cannot load the guest payload: {message}");
            say!("VMM: FAILED");
            return 1;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(options.timeout);
    let (sender, reports) = mpsc::channel();
    let mut verdicts: Vec<Option<Result<(), String>>> = vec![None; options.vms];
    let mut threads: Vec<Option<JoinHandle<()>>> = Vec::with_capacity(options.vms);
    for (index, verdict) in verdicts.iter_mut().enumerate() {
        let (options, payload, sender) = (options.clone(), payload.clone(), sender.clone());
        let spawned = thread::Builder::new()
            .name(format!("vm{index}"))
            .spawn(move || {
                let result = vm::run(index, &options, &payload, |line| {
                    let _ = sender.send(Report::Line(index, line));
                });
                let _ = sender.send(Report::Verdict(index, result));
            });
        match spawned {
            Ok(thread) => threads.push(Some(thread)),
            Err(error) => {
                *verdict = Some(Err(format!("cannot start its thread ({error})")));
                threads.push(None);
            }
        }
    }
    // Only the VMs' threads hold senders now: when all have ended, `recv` says so.
    drop(sender);

    let mut last_lines: Vec<Option<String>> = vec![None; options.vms];
    while verdicts.iter().any(Option::is_none) {
        match reports.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Report::Line(index, line)) => {
                say!("[vm {index}] {line}");
                last_lines[index] = Some(line);
            }
            Ok(Report::Verdict(index, result)) => verdicts[index] = Some(result),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }

    let mut passed = 0;
    for (index, verdict) in verdicts.into_iter().enumerate() {
        match verdict {
            Some(Ok(())) => {
                passed += 1;
                say!("VMM: vm {index}: ok, {} rounds", options.rounds);
            }
            Some(Err(reason)) => say!("VMM: vm {index}: FAILED: {reason}"),
            None if threads[index].as_ref().is_some_and(JoinHandle::is_finished) => {
                say!("VMM: vm {index}: FAILED: its thread ended without a verdict")
            }
            None => match &last_lines[index] {
                Some(line) => say!(
                    "VMM: vm {index}: FAILED: no verdict within {} s; the guest's last line: {line}",
                    options.timeout
                ),
                None => say!(
                    "VMM: vm {index}: FAILED: no verdict within {} s; the guest printed nothing",
                    options.timeout
                ),
            },
        }
    }
    if passed == options.vms {
        say!("VMM: {passed} of {} VMs passed", options.vms);
        0
    } else {
        say!("VMM: FAILED, {passed} of {} VMs passed", options.vms);
        1
    }
}
