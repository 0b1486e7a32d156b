//! One QEMU run: boot a kernel on the `virt` machine with the H extension, keep the console's
//! transcript, stop at the program's last line, at QEMU's exit, or at the time limit.
//!
//! L1's memory is [`Machine::l1_mem_mib`]: run directly, L1 is QEMU's kernel and that is QEMU's
//! `-m`; nested ([`run_nested`]), it is `mini-hv`'s `l1-mem=` and QEMU's `-m` grows by what L0
//! needs beside it ([`host_mem_mib`]). A nested run judged by what L1 asked of SRST reads
//! `mini-hv`'s closing line with [`Run::l1_reset`].

use std::io::{BufRead, BufReader, PipeReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::bundle::{self, L1};
use crate::programs::{self, Program};
use crate::tools;

/// Interrupt files per hart for guests on the AIA machine.
const AIA_GUESTS: u32 = 4;
/// How long L0 may keep printing after the last line (its closing counts) before QEMU is killed.
const GRACE: Duration = Duration::from_secs(2);
/// The word that fails a run wherever it appears.
const PANIC: &str = "panic";
/// L1's memory unless a run says otherwise: enough for Linux with KVM and a few small VMs
/// (`mini-hv`'s own default).
pub const DEFAULT_L1_MEM_MIB: u64 = 512;
/// How `mini-hv`'s closing line starts when L1 resets the system through SRST; the line goes
/// on `type T, reason R` with SRST's type and reason as `sbi-dispatch` names them.
pub const RESET_LINE: &str = "[L0] system reset by L1: ";

/// The machine QEMU emulates.
#[derive(Clone, Copy, Debug)]
pub struct Machine {
    /// Number of harts.
    pub smp: u32,
    /// The AIA (APLIC + IMSIC, with guest interrupt files) instead of the PLIC.
    pub aia: bool,
    /// L1's RAM in MiB (a multiple of 2): QEMU's `-m` when L1 runs directly, `mini-hv`'s
    /// `l1-mem` when it runs nested.
    pub l1_mem_mib: u64,
}

/// QEMU's `-m` for `mini-hv` giving L1 `l1_mem_mib` MiB with a bundle of `bundle_bytes`.
/// QEMU (10) loads the bundle above the kernel (at RAM + 2 MiB) by half its RAM, at most
/// 512 MiB; `mini-hv` carves L1's RAM and its page-table pool (16 MiB and 1/16 of L1's RAM,
/// examples/mini-hv/src/layout.rs) from what is free, each on a 2 MiB boundary, and QEMU puts
/// its device tree in the last 2 MiB. This much RAM holds both above the bundle wherever QEMU
/// puts it.
pub fn host_mem_mib(l1_mem_mib: u64, bundle_bytes: u64) -> u64 {
    const BELOW_BUNDLE: u64 = 2 + 512;
    const ALIGNMENT_AND_DTB: u64 = 2 + 2 + 2;
    let bundle = bundle_bytes.div_ceil(1 << 20).next_multiple_of(2);
    let pool = 16 + l1_mem_mib / 16;
    BELOW_BUNDLE + bundle + l1_mem_mib + pool + ALIGNMENT_AND_DTB
}

/// What QEMU boots: its kernel, initrd and command line.
pub struct Boot<'a> {
    pub machine: Machine,
    pub kernel: &'a Path,
    pub initrd: Option<&'a Path>,
    pub append: &'a str,
}

/// How a run is watched.
pub struct Watch<'a> {
    /// The lines (any one, or a line starting with one) that end a transcript.
    pub last_lines: &'a [&'a str],
    /// When QEMU is killed if no last line came.
    pub limit: Duration,
    /// Print the console as it comes.
    pub echo: bool,
}

/// Why a run ended.
#[derive(Debug)]
pub enum Ending {
    /// QEMU exited by itself (its status proves nothing about the programs).
    Exited(ExitStatus),
    /// Killed after the grace that follows a last line or a panic.
    Stopped,
    /// Killed at the time limit.
    TimedOut(Duration),
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Ending::Exited(status) => write!(f, "QEMU exited ({status})"),
            Ending::Stopped => write!(f, "QEMU was stopped once the transcript had ended"),
            Ending::TimedOut(limit) => {
                write!(
                    f,
                    "QEMU was killed at the time limit ({} s)",
                    limit.as_secs()
                )
            }
        }
    }
}

/// A finished run.
pub struct Run {
    /// The console, line by line, without line ends.
    pub transcript: Vec<String>,
    pub ending: Ending,
}

impl Boot<'_> {
    /// QEMU's command line, with `mem_mib` MiB of RAM.
    fn command(&self, mem_mib: u64) -> Command {
        let machine = if self.machine.aia {
            format!("virt,aia=aplic-imsic,aia-guests={AIA_GUESTS}")
        } else {
            "virt".to_string()
        };
        let mut command = Command::new(tools::qemu_program());
        command.args(["-machine", &machine, "-cpu", "rv64,h=true"]);
        command.args(["-smp", &self.machine.smp.to_string()]);
        command.args(["-m", &format!("{mem_mib}M")]);
        command.args(["-nographic", "-bios", "default"]);
        command.arg("-kernel").arg(self.kernel);
        if let Some(initrd) = self.initrd {
            command.arg("-initrd").arg(initrd);
        }
        if !self.append.is_empty() {
            command.args(["-append", self.append]);
        }
        command
    }
}

/// Boots QEMU with L1's memory and watches its console.
pub fn run(boot: &Boot, watch: &Watch) -> Result<Run, String> {
    launch(boot.command(boot.machine.l1_mem_mib), watch)
}

/// Runs `command` and watches its console (stdout and stderr in one pipe, so in order).
fn launch(mut command: Command, watch: &Watch) -> Result<Run, String> {
    let (reader, writer) = std::io::pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
    let shown = format!("{command:?}");
    if watch.echo {
        println!("$ {shown}");
    }
    let copy = writer.try_clone().map_err(|e| e.to_string())?;
    command.stdin(Stdio::null()).stdout(copy).stderr(writer);
    let child = command.spawn();
    // The command holds the pipe's writing ends; without it, the pipe closes when QEMU exits.
    drop(command);
    let mut child = child.map_err(|e| format!("could not start {shown}: {e}"))?;
    let lines = read_lines(reader);
    let mut transcript = Vec::new();
    let ending = follow(&lines, watch, &mut transcript);
    let ending = finish(&mut child, ending)?;
    transcript.extend(lines.iter());
    Ok(Run { transcript, ending })
}

/// Boots `mini-hv` with `l1` in a bundle of this run's own (named after `name`, removed
/// afterwards), giving L1 `machine.l1_mem_mib` MiB.
pub fn run_nested(name: &str, machine: Machine, l1: &L1, watch: &Watch) -> Result<Run, String> {
    let bundle = bundle::write(name, l1)?;
    let append = format!("l1-mem={}M", machine.l1_mem_mib);
    let boot = Boot {
        machine,
        kernel: &Program::MiniHv.elf(),
        initrd: Some(bundle.path()),
        append: &append,
    };
    let mem = host_mem_mib(machine.l1_mem_mib, bundle.len());
    launch(boot.command(mem), watch)
}

/// The lines of `reader`, sent as they come by a thread that ends at the pipe's end.
fn read_lines(reader: PipeReader) -> Receiver<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            if sender.send(text).is_err() {
                break;
            }
            line.clear();
        }
    });
    receiver
}

/// Collects lines until the pipe closes (`None`: QEMU exited) or until QEMU must be killed.
fn follow(lines: &Receiver<String>, watch: &Watch, transcript: &mut Vec<String>) -> Option<Ending> {
    let mut deadline = Instant::now() + watch.limit;
    let mut ending = Ending::TimedOut(watch.limit);
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if watch.echo {
                    println!("{line}");
                }
                if matches!(ending, Ending::TimedOut(_))
                    && (ends(&line, watch) || line.contains(PANIC))
                {
                    deadline = deadline.min(Instant::now() + GRACE);
                    ending = Ending::Stopped;
                }
                transcript.push(line);
            }
            Err(RecvTimeoutError::Timeout) => return Some(ending),
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Whether `line` is one of the last lines (or starts with one: `mini-hv`'s reset line goes
/// on with its type and reason).
fn ends(line: &str, watch: &Watch) -> bool {
    let line = line.trim();
    watch.last_lines.iter().any(|last| line.starts_with(last))
}

/// Kills QEMU if it must be, and reaps it.
fn finish(child: &mut Child, ending: Option<Ending>) -> Result<Ending, String> {
    if ending.is_some() {
        child.kill().map_err(|e| format!("cannot kill QEMU: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for QEMU: {e}"))?;
    Ok(ending.unwrap_or(Ending::Exited(status)))
}

impl Run {
    /// A run passes when it reaches a last line in time and has no line with "panic".
    fn check(&self, watch: &Watch) -> Result<(), String> {
        if let Some(line) = self.transcript.iter().find(|l| l.contains(PANIC)) {
            return Err(format!("it panicked: \"{line}\""));
        }
        if self.transcript.iter().any(|l| ends(l, watch)) {
            return Ok(());
        }
        Err(format!(
            "{} without \"{}\" (last line: \"{}\")",
            self.ending,
            watch.last_lines.join("\" or \""),
            self.transcript.last().map_or("", String::as_str)
        ))
    }

    /// The SRST L1 asked of `mini-hv`, from its closing line: (type, reason).
    pub fn l1_reset(&self) -> Option<(&str, &str)> {
        self.transcript.iter().rev().find_map(|line| {
            let rest = line.trim().strip_prefix(RESET_LINE)?;
            let (reset_type, reason) = rest.split_once(", ")?;
            Some((
                reset_type.strip_prefix("type ")?,
                reason.strip_prefix("reason ")?,
            ))
        })
    }

    /// A nested run of any L1 passes when L1 reset the system with no reason (SRST's reason
    /// 0, whatever the type): a reason is L1 reporting a failure.
    pub fn check_l1_reset(&self) -> Result<(), String> {
        match self.l1_reset() {
            Some((_, "NoReason")) => Ok(()),
            Some((reset_type, reason)) => Err(format!(
                "L1 reset the system reporting a failure (type {reset_type}, reason {reason})"
            )),
            None => Err(format!(
                "{} without L1 resetting the system (no \"{RESET_LINE}...\" line)",
                self.ending
            )),
        }
    }

    /// Keeps the transcript as `target/examples/transcript-NAME.txt`, then checks the run;
    /// a failure names the file.
    pub fn keep_and_check(&self, name: &str, watch: &Watch) -> Result<(), String> {
        let path = programs::output_dir().join(format!("transcript-{name}.txt"));
        let mut text = self.transcript.join("\n");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        self.check(watch)
            .map_err(|e| format!("{e} (transcript: {})", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::{Ending, Run, Watch, ends, follow, host_mem_mib};
    use std::time::Duration;

    const WATCH: Watch = Watch {
        last_lines: &["L1: done"],
        limit: Duration::from_millis(50),
        echo: false,
    };

    fn run(lines: &[&str]) -> Run {
        Run {
            transcript: lines.iter().map(|l| l.to_string()).collect(),
            ending: Ending::Stopped,
        }
    }

    /// Where QEMU (10) loads the initrd, in MiB above RAM's base, for `mem` MiB of RAM.
    fn bundle_offset(mem: u64) -> u64 {
        2 + (mem / 2).min(512)
    }

    #[test]
    fn the_host_memory_holds_l1_and_the_pool_above_the_bundle_wherever_qemu_loads_it() {
        for l1 in [16, 128, 256, 512, 768, 2048] {
            for bundle_mib in [1, 30, 200, 600] {
                let mem = host_mem_mib(l1, bundle_mib << 20);
                let above = mem - bundle_offset(mem) - bundle_mib.next_multiple_of(2) - 6;
                assert!(
                    above >= l1 + 16 + l1 / 16,
                    "l1 {l1}, bundle {bundle_mib}: {mem}"
                );
            }
        }
    }

    #[test]
    fn l1_reset_is_read_from_mini_hvs_closing_line() {
        let mut run = run(&[
            "L1: done",
            "[L0] system reset by L1: type Shutdown, reason NoReason",
        ]);
        assert_eq!(run.l1_reset(), Some(("Shutdown", "NoReason")));
        assert!(run.check_l1_reset().is_ok());
        run.transcript[1] = "[L0] system reset by L1: type ColdReboot, reason SystemFailure".into();
        assert!(run.check_l1_reset().is_err());
        run.transcript.pop();
        assert_eq!(run.l1_reset(), None);
        assert!(run.check_l1_reset().is_err());
    }

    #[test]
    fn a_last_line_ends_a_transcript_also_as_the_start_of_a_line() {
        let watch = Watch {
            last_lines: &[super::RESET_LINE],
            ..WATCH
        };
        assert!(ends(
            "[L0] system reset by L1: type Shutdown, reason NoReason",
            &watch
        ));
        assert!(!ends("[L0] round trips: 3", &watch));
    }

    #[test]
    fn a_run_passes_only_with_its_last_line_and_no_panic() {
        assert!(run(&["L1: start", "L1: done"]).check(&WATCH).is_ok());
        assert!(run(&["L1: start"]).check(&WATCH).is_err());
        assert!(run(&["panic: boom", "L1: done"]).check(&WATCH).is_err());
        assert!(
            run(&["L1: done", "[L0] panic in L0"])
                .check(&WATCH)
                .is_err()
        );
    }

    #[test]
    fn following_stops_at_the_time_limit_or_after_a_last_line() {
        let (sender, receiver) = std::sync::mpsc::channel();
        sender.send("L1: start".to_string()).unwrap();
        let mut transcript = Vec::new();
        let ending = follow(&receiver, &WATCH, &mut transcript);
        assert!(matches!(ending, Some(Ending::TimedOut(_))));
        sender.send("L1: done".to_string()).unwrap();
        let ending = follow(&receiver, &WATCH, &mut transcript);
        assert!(matches!(ending, Some(Ending::Stopped)));
        drop(sender);
        assert!(follow(&receiver, &WATCH, &mut transcript).is_none());
        assert_eq!(transcript, ["L1: start", "L1: done"]);
    }
}
