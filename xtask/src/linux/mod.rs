//! The Linux stage: Debian's riscv64 kernels as L1, their KVM running VMs of `kvm-vmm`, once on
//! bare QEMU (the reference) and once nested under `mini-hv`; the VMM's verdict lines must be
//! the same both ways.
//!
//! One boot runs several scenarios in sequence: `/init` reads them from the kernel parameter
//! `vmm_runs` (which the kernel hands to init as an environment variable), loads `kvm.ko`, runs
//! `kvm-vmm` once per scenario and powers off.

mod debian;
mod initramfs;
mod vmm;

pub use vmm::clippy as vmm_clippy;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bundle::L1;
use crate::programs;
use crate::qemu::{self, Boot, Machine, Run, Watch};
use crate::tools;
use debian::{Kernel, Suite};
use initramfs::File;
use vmm::VmPrograms;

/// L1's console: the UART, and SBI's console from the first instruction.
const CONSOLE: &str = "console=ttyS0 earlycon=sbi";
/// The line `/init` prints once every scenario has run.
const DONE: &str = "init: done";
/// The prefix of the VMM's verdict lines, the lines compared between the two runs.
const VERDICT: &str = "VMM: ";
/// Kernel messages that fail a run (a line with "panic" fails it in any case).
const KERNEL_FAILURES: [&str; 3] = ["Oops", "BUG:", "Kernel panic"];
/// The VMM's watchdog: nested on a busy machine, six VMs on one hart can take longer than
/// its default minute.
const VMM_TIMEOUT: Duration = Duration::from_secs(120);
/// A boot's time limit beyond its scenarios' watchdogs: bare, and nested (slower to boot).
const BARE_BOOT: Duration = Duration::from_secs(60);
const NESTED_BOOT: Duration = Duration::from_secs(180);

/// `/init`: sets up busybox and the kernel's file systems, loads KVM, runs each scenario of
/// `$vmm_runs` (separated by `;`) and powers off.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
if ! insmod /kvm.ko; then
    echo "init: insmod /kvm.ko failed"
elif [ ! -c /dev/kvm ]; then
    echo "init: no /dev/kvm"
else
    echo "init: /dev/kvm is there"
    echo "$vmm_runs" | tr ';' '\n' | {
        run=0
        while read -r args; do
            [ -n "$args" ] || continue
            run=$((run + 1))
            echo "init: run $run: kvm-vmm $args"
            /bin/kvm-vmm --guest /kvm-guest $args </dev/null
            echo "init: run $run exited with $?"
        done
    }
fi
echo "init: done"
poweroff -f
"#;

/// One run of the VMM: its VMs' vCPU threads pinned to the given L1 harts. The guests use
/// Sstc's timer: with `--sbi-timer`, stock KVM loses a timer whenever a vCPU is scheduled out
/// before it re-enters the guest, which even bare QEMU showed with one VM per hart.
struct Scenario {
    /// The L1 hart of each VM's vCPU, one entry per VM.
    cpus: &'static [u32],
    rounds: u32,
}

/// VMs on `cpus` for `rounds` rounds.
const fn vms(cpus: &'static [u32], rounds: u32) -> Scenario {
    Scenario { cpus, rounds }
}

impl Scenario {
    /// The VMM's arguments after `--guest PATH`.
    fn args(&self) -> String {
        let cpus: Vec<String> = self.cpus.iter().map(u32::to_string).collect();
        format!(
            "--vms {} --cpus {} --rounds {} --timeout {}",
            self.cpus.len(),
            cpus.join(","),
            self.rounds,
            VMM_TIMEOUT.as_secs()
        )
    }
}

/// One boot of one kernel on one machine, running its scenarios in sequence.
struct Case {
    /// Names the case in reports, bundles and transcripts, after the kernel's version.
    name: &'static str,
    suite: Suite,
    machine: Machine,
    scenarios: &'static [Scenario],
}

const ONE_HART: Machine = Machine {
    smp: 1,
    aia: false,
    l1_mem_mib: qemu::DEFAULT_L1_MEM_MIB,
};
const TWO_HARTS: Machine = Machine {
    smp: 2,
    aia: false,
    l1_mem_mib: qemu::DEFAULT_L1_MEM_MIB,
};
const TWO_HARTS_AIA: Machine = Machine {
    smp: 2,
    aia: true,
    l1_mem_mib: qemu::DEFAULT_L1_MEM_MIB,
};

/// One VM; four and six VMs at once on hart 0; one VM for many rounds.
const ONE_HART_SCENARIOS: &[Scenario] = &[
    vms(&[0], 2),
    vms(&[0, 0, 0, 0], 2),
    vms(&[0, 0, 0, 0, 0, 0], 2),
    vms(&[0], 20),
];
/// VMs spread over both harts: one each, two each.
const TWO_HART_SCENARIOS: &[Scenario] = &[vms(&[0, 1], 3), vms(&[0, 1, 0, 1], 2)];

/// The cases of `cargo xtask linux`, each kernel on each machine.
const FULL: [Case; 6] = [
    Case {
        name: "6.12-one-hart",
        suite: Suite::Trixie,
        machine: ONE_HART,
        scenarios: ONE_HART_SCENARIOS,
    },
    Case {
        name: "6.12-smp2",
        suite: Suite::Trixie,
        machine: TWO_HARTS,
        scenarios: TWO_HART_SCENARIOS,
    },
    Case {
        name: "6.12-aia-smp2",
        suite: Suite::Trixie,
        machine: TWO_HARTS_AIA,
        scenarios: TWO_HART_SCENARIOS,
    },
    Case {
        name: "7.x-one-hart",
        suite: Suite::Sid,
        machine: ONE_HART,
        scenarios: ONE_HART_SCENARIOS,
    },
    Case {
        name: "7.x-smp2",
        suite: Suite::Sid,
        machine: TWO_HARTS,
        scenarios: TWO_HART_SCENARIOS,
    },
    Case {
        name: "7.x-aia-smp2",
        suite: Suite::Sid,
        machine: TWO_HARTS_AIA,
        scenarios: TWO_HART_SCENARIOS,
    },
];

/// The cases of `cargo xtask test`: both kernels with one VM and with four VMs on one hart,
/// and with VMs spread over two harts (6.12 with the PLIC, 7.x with the AIA).
const SHORT: [Case; 4] = [
    Case {
        name: "6.12-one-hart-short",
        suite: Suite::Trixie,
        machine: ONE_HART,
        scenarios: &[vms(&[0], 2), vms(&[0, 0, 0, 0], 2)],
    },
    Case {
        name: "7.x-one-hart-short",
        suite: Suite::Sid,
        machine: ONE_HART,
        scenarios: &[vms(&[0], 2), vms(&[0, 0, 0, 0], 2)],
    },
    Case {
        name: "6.12-smp2-short",
        suite: Suite::Trixie,
        machine: TWO_HARTS,
        scenarios: &[vms(&[0, 1, 0, 1], 2)],
    },
    Case {
        name: "7.x-aia-smp2-short",
        suite: Suite::Sid,
        machine: TWO_HARTS_AIA,
        scenarios: &[vms(&[0, 1, 0, 1], 2)],
    },
];

/// `cargo xtask linux [--short]`: every case, or the short cases of `cargo xtask test`.
pub fn command(args: &[String]) -> Result<(), String> {
    match args {
        [] => run_cases(&FULL),
        [short] if short == "--short" => run_cases(&SHORT),
        _ => Err("usage: cargo xtask linux [--short]".into()),
    }
}

/// The Linux stage of `cargo xtask test`: the short cases.
pub fn short() -> Result<(), String> {
    run_cases(&SHORT)
}

/// What a case measured, for the closing table.
struct Outcome {
    case: &'static str,
    /// How long each run took; `None` for a run that did not happen.
    bare: Option<Duration>,
    nested: Option<Duration>,
    /// When each kernel started `/init`, by its own clock.
    bare_init: Option<f64>,
    nested_init: Option<f64>,
    /// mini-hv's counters, if it printed them.
    figures: Option<Figures>,
    failure: Option<String>,
}

/// What mini-hv counted over a nested run, its harts added up.
#[derive(Debug, Default, PartialEq)]
struct Figures {
    /// "N.NN" from its closing line.
    entries_per_round_trip: String,
    shadow_fills: u64,
    real_hfences: u64,
    shadow_contexts: u64,
}

/// Runs the cases, prints the table, and fails naming the cases that failed.
fn run_cases(cases: &[Case]) -> Result<(), String> {
    let started = Instant::now();
    // The kernels first: on a cold cache their download is the long part.
    let mut kernels = Vec::new();
    for case in cases {
        if !kernels.iter().any(|k: &Kernel| k.suite == case.suite) {
            kernels.push(debian::kernel(case.suite)?);
        }
    }
    tools::ensure_qemu()?;
    let vm_programs = vmm::build()?;
    let mut outcomes = Vec::new();
    for case in cases {
        let kernel = kernels
            .iter()
            .find(|k| k.suite == case.suite)
            .expect("every case's kernel was fetched above");
        println!("--- linux {} (Linux {})", case.name, kernel.release);
        let initrd = write_initramfs(kernel, &vm_programs)?;
        let outcome = case.run(kernel, &initrd);
        match &outcome.failure {
            Some(reason) => println!("linux {}: FAILED: {reason}", case.name),
            None => println!("linux {}: ok", case.name),
        }
        outcomes.push(outcome);
    }
    print!("{}", table(&outcomes));
    println!("the Linux cases took {:.0?}", started.elapsed());
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.failure.is_some())
        .map(|o| o.case)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} Linux cases failed: {}",
            failed.len(),
            outcomes.len(),
            failed.join(", ")
        ))
    }
}

/// Writes `target/examples/linux-initramfs-SUITE.cpio.gz` for the kernel's KVM module.
fn write_initramfs(kernel: &Kernel, vm_programs: &VmPrograms) -> Result<PathBuf, String> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let files = [
        File {
            path: "init",
            executable: true,
            contents: INIT.as_bytes().to_vec(),
        },
        File {
            path: "bin/busybox",
            executable: true,
            contents: read(&debian::busybox()?)?,
        },
        File {
            path: "kvm.ko",
            executable: false,
            contents: read(&kernel.kvm)?,
        },
        File {
            path: "bin/kvm-vmm",
            executable: true,
            contents: read(&vm_programs.vmm)?,
        },
        File {
            path: "kvm-guest",
            executable: false,
            contents: read(&vm_programs.guest)?,
        },
    ];
    let path =
        programs::output_dir().join(format!("linux-initramfs-{}.cpio.gz", kernel.suite.name()));
    // Written beside and renamed, so that a QEMU of another xtask never reads half a file.
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&partial, initramfs::encode(&files)?)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

impl Case {
    /// L1's command line: the console and the scenarios.
    fn cmdline(&self) -> String {
        let runs: Vec<String> = self.scenarios.iter().map(Scenario::args).collect();
        format!("{CONSOLE} vmm_runs=\"{}\"", runs.join(";"))
    }

    /// A boot's time limit: long enough for each scenario's VMM to report a hung VM.
    fn limit(&self, boot: Duration) -> Duration {
        boot + VMM_TIMEOUT * self.scenarios.len() as u32
    }

    /// Boots the case bare, then nested; checks each run and compares their verdicts.
    fn run(&self, kernel: &Kernel, initrd: &Path) -> Outcome {
        let mut outcome = Outcome {
            case: self.name,
            bare: None,
            nested: None,
            bare_init: None,
            nested_init: None,
            figures: None,
            failure: None,
        };
        let result = self.run_both(kernel, initrd, &mut outcome);
        outcome.failure = result.err();
        outcome
    }

    fn run_both(
        &self,
        kernel: &Kernel,
        initrd: &Path,
        outcome: &mut Outcome,
    ) -> Result<(), String> {
        let cmdline = self.cmdline();
        let bare_name = format!("linux-{}-bare", self.name);
        let started = Instant::now();
        let boot = Boot {
            machine: self.machine,
            kernel: &kernel.image,
            initrd: Some(initrd),
            append: &cmdline,
        };
        let bare_watch = Watch {
            last_lines: &[DONE],
            limit: self.limit(BARE_BOOT),
            echo: false,
        };
        let bare = qemu::run(&boot, &bare_watch)?;
        outcome.bare = Some(started.elapsed());
        outcome.bare_init = init_started(&bare.transcript);
        let bare_verdicts = self.check(&bare_name, &bare, &bare_watch)?;

        let nested_name = format!("linux-{}-nested", self.name);
        let started = Instant::now();
        let l1 = L1 {
            image: &kernel.image,
            initrd: Some(initrd),
            cmdline: &cmdline,
        };
        // mini-hv prints its statistics, then the reset line, when Linux powers off.
        let nested_watch = Watch {
            last_lines: &[qemu::RESET_LINE],
            limit: self.limit(NESTED_BOOT),
            echo: false,
        };
        let nested = qemu::run_nested(&nested_name, self.machine, &l1, &nested_watch)?;
        outcome.nested = Some(started.elapsed());
        outcome.nested_init = init_started(&nested.transcript);
        outcome.figures = figures(&nested.transcript);
        let nested_verdicts = self.check(&nested_name, &nested, &nested_watch)?;
        nested.check_l1_reset().map_err(|e| {
            format!(
                "{e} (transcript: {})",
                transcript_path(&nested_name).display()
            )
        })?;
        compare(&bare_verdicts, &nested_verdicts).map_err(|e| {
            format!(
                "{e} (transcripts: {}, {})",
                transcript_path(&bare_name).display(),
                transcript_path(&nested_name).display()
            )
        })
    }

    /// Keeps the run's transcript and checks it: it reached its last line, `/init` reached its
    /// end, no kernel failure, each scenario exited with 0 and printed one verdict per VM and a
    /// summary. Returns the verdict lines.
    fn check(&self, name: &str, run: &Run, watch: &Watch) -> Result<Vec<String>, String> {
        run.keep_and_check(name, watch)?;
        let verdicts = check_transcript(&run.transcript, self.scenarios);
        verdicts.map_err(|e| format!("{e} (transcript: {})", transcript_path(name).display()))
    }
}

/// Where [`Run::keep_and_check`] keeps a transcript.
fn transcript_path(name: &str) -> PathBuf {
    programs::output_dir().join(format!("transcript-{name}.txt"))
}

/// The checks of one transcript beyond [`Run::keep_and_check`]'s; returns its verdict lines.
fn check_transcript(transcript: &[String], scenarios: &[Scenario]) -> Result<Vec<String>, String> {
    if let Some(line) = transcript
        .iter()
        .find(|line| KERNEL_FAILURES.iter().any(|word| line.contains(word)))
    {
        return Err(format!("the kernel failed: \"{line}\""));
    }
    if !transcript
        .iter()
        .any(|line| line == "init: /dev/kvm is there")
    {
        return Err("KVM did not come up (no /dev/kvm)".into());
    }
    if !transcript.iter().any(|line| line == DONE) {
        return Err(format!("/init did not end (no \"{DONE}\")"));
    }
    let mut verdicts = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let run = index + 1;
        let start = format!("init: run {run}: ");
        let end = format!("init: run {run} exited with ");
        let lines: Vec<&String> = transcript
            .iter()
            .skip_while(|line| !line.starts_with(&start))
            .take_while(|line| !line.starts_with(&end))
            .collect();
        let status = transcript
            .iter()
            .find_map(|line| line.strip_prefix(&end))
            .ok_or_else(|| format!("run {run} ({}) did not end", scenario.args()))?;
        let run_verdicts: Vec<String> = lines
            .iter()
            .filter_map(|line| line.find(VERDICT).map(|at| line[at..].to_string()))
            .collect();
        let per_vm = run_verdicts
            .iter()
            .filter(|line| line.starts_with("VMM: vm "))
            .count();
        if per_vm != scenario.cpus.len() || run_verdicts.len() <= per_vm {
            return Err(format!(
                "run {run} ({}) printed {per_vm} verdicts for {} VMs and {} summary lines",
                scenario.args(),
                scenario.cpus.len(),
                run_verdicts.len() - per_vm
            ));
        }
        if status != "0" {
            return Err(format!(
                "run {run} ({}) exited with {status}",
                scenario.args()
            ));
        }
        verdicts.extend(run_verdicts);
    }
    Ok(verdicts)
}

/// The verdicts must be the same line for line.
fn compare(bare: &[String], nested: &[String]) -> Result<(), String> {
    for (index, (b, n)) in bare.iter().zip(nested).enumerate() {
        if b != n {
            return Err(format!(
                "verdict {} differs: bare \"{b}\", nested \"{n}\"",
                index + 1
            ));
        }
    }
    if bare.len() != nested.len() {
        return Err(format!(
            "{} verdict lines bare, {} nested",
            bare.len(),
            nested.len()
        ));
    }
    Ok(())
}

/// The kernel's time stamp of `Run /init as init process`: when the boot reached `/init`.
fn init_started(transcript: &[String]) -> Option<f64> {
    transcript.iter().find_map(|line| {
        let (stamp, message) = line.strip_prefix('[')?.split_once(']')?;
        (message.trim() == "Run /init as init process")
            .then(|| stamp.trim().parse().ok())
            .flatten()
    })
}

/// mini-hv's counters: entries per round trip from its closing line, shadow fills, real
/// HFENCEs and shadow contexts from each hart's `[L0] hart N: shadow fills F (...), real
/// HFENCEs H, shadow contexts C` line.
fn figures(transcript: &[String]) -> Option<Figures> {
    let entries_per_round_trip = transcript.iter().rev().find_map(|line| {
        let rest = line.strip_prefix("[L0] round trips: ")?;
        let (_, per) = rest.split_once("entries per round trip: ")?;
        Some(per.split(',').next()?.to_string())
    })?;
    let mut figures = Figures {
        entries_per_round_trip,
        ..Figures::default()
    };
    let number_after = |line: &str, label: &str| -> Option<u64> {
        let (_, rest) = line.split_once(label)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    for line in transcript.iter().filter(|l| l.starts_with("[L0] hart ")) {
        if let (Some(fills), Some(fences), Some(contexts)) = (
            number_after(line, "shadow fills "),
            number_after(line, "real HFENCEs "),
            number_after(line, "shadow contexts "),
        ) {
            figures.shadow_fills += fills;
            figures.real_hfences += fences;
            figures.shadow_contexts += contexts;
        }
    }
    Some(figures)
}

/// Seconds with one decimal, `-` for what did not happen.
fn seconds(time: Option<f64>) -> String {
    time.map_or("-".into(), |time| format!("{time:.1}"))
}

/// The closing table: per case, each run's seconds in all and to `/init` (the kernel's
/// clock), the result, and mini-hv's counters.
fn table(outcomes: &[Outcome]) -> String {
    let mut text = format!(
        "\n{:<16} {:>13} {:>15}  {:<6} {:>9} {:>8} {:>8} {:>8}\n",
        "case",
        "bare s (init)",
        "nested s (init)",
        "result",
        "entries/rt",
        "fills",
        "HFENCEs",
        "contexts"
    );
    for outcome in outcomes {
        let both = |run: Option<Duration>, init: Option<f64>| {
            format!(
                "{} ({})",
                seconds(run.map(|time| time.as_secs_f64())),
                seconds(init)
            )
        };
        let figures = outcome.figures.as_ref();
        let figure = |value: Option<u64>| value.map_or("-".into(), |v| v.to_string());
        let _ = writeln!(
            text,
            "{:<16} {:>13} {:>15}  {:<6} {:>9} {:>8} {:>8} {:>8}",
            outcome.case,
            both(outcome.bare, outcome.bare_init),
            both(outcome.nested, outcome.nested_init),
            if outcome.failure.is_some() {
                "FAILED"
            } else {
                "ok"
            },
            figures.map_or("-", |f| f.entries_per_round_trip.as_str()),
            figure(figures.map(|f| f.shadow_fills)),
            figure(figures.map(|f| f.real_hfences)),
            figure(figures.map(|f| f.shadow_contexts)),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{
        Case, Figures, ONE_HART, Outcome, Scenario, Suite, check_transcript, compare, figures,
        init_started, table, vms,
    };
    use std::time::Duration;

    const SCENARIOS: &[Scenario] = &[vms(&[0], 2), vms(&[0, 1], 3)];

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    const GOOD: &str = "\
[    2.2] kvm [98]: hypervisor extension available
init: /dev/kvm is there
init: run 1: kvm-vmm --vms 1 --cpus 0 --rounds 2 --timeout 120
[vm 0] round 1
VMM: vm 0: ok, 2 rounds
VMM: 1 of 1 VMs passed
init: run 1 exited with 0
init: run 2: kvm-vmm --vms 2 --cpus 0,1 --rounds 3 --timeout 120
VMM: vm 0: ok, 3 rounds
[   9.1] some kernel message VMM: vm 1: ok, 3 rounds
VMM: 2 of 2 VMs passed
init: run 2 exited with 0
init: done";

    #[test]
    fn a_good_transcript_gives_its_verdicts_in_order() {
        let verdicts = check_transcript(&lines(GOOD), SCENARIOS).unwrap();
        assert_eq!(
            verdicts,
            [
                "VMM: vm 0: ok, 2 rounds",
                "VMM: 1 of 1 VMs passed",
                "VMM: vm 0: ok, 3 rounds",
                "VMM: vm 1: ok, 3 rounds",
                "VMM: 2 of 2 VMs passed"
            ]
        );
    }

    #[test]
    fn kernel_failures_missing_verdicts_and_failed_runs_fail_the_transcript() {
        let broken = [
            GOOD.replace("init: done", "[   9.9] Oops - load access fault [#1]"),
            GOOD.replace(
                "[    2.2] kvm",
                "[    2.2] BUG: scheduling while atomic\nkvm",
            ),
            GOOD.replace("init: /dev/kvm is there", "init: no /dev/kvm"),
            GOOD.replace("VMM: vm 0: ok, 2 rounds\n", ""),
            GOOD.replace("VMM: 2 of 2 VMs passed\n", ""),
            GOOD.replace("run 2 exited with 0", "run 2 exited with 1"),
            GOOD.replace("init: run 2 exited with 0\n", ""),
            GOOD.replace("init: done", ""),
        ];
        for transcript in &broken {
            assert!(
                check_transcript(&lines(transcript), SCENARIOS).is_err(),
                "{transcript}"
            );
        }
    }

    #[test]
    fn verdicts_must_match_line_for_line() {
        let bare = lines("VMM: vm 0: ok, 2 rounds\nVMM: 1 of 1 VMs passed");
        assert!(compare(&bare, &bare).is_ok());
        let other = lines("VMM: vm 0: FAILED: timer lost\nVMM: 1 of 1 VMs passed");
        assert!(
            compare(&bare, &other)
                .unwrap_err()
                .contains("verdict 1 differs")
        );
        assert!(compare(&bare, &bare[..1]).is_err());
        assert!(compare(&bare[..1], &bare).is_err());
    }

    #[test]
    fn a_scenario_becomes_the_vmm_arguments_with_its_watchdog() {
        assert_eq!(
            SCENARIOS[0].args(),
            "--vms 1 --cpus 0 --rounds 2 --timeout 120"
        );
        assert_eq!(
            SCENARIOS[1].args(),
            "--vms 2 --cpus 0,1 --rounds 3 --timeout 120"
        );
    }

    #[test]
    fn a_case_passes_its_scenarios_to_init_in_one_quoted_kernel_parameter() {
        let case = Case {
            name: "test",
            suite: Suite::Trixie,
            machine: ONE_HART,
            scenarios: SCENARIOS,
        };
        assert_eq!(
            case.cmdline(),
            "console=ttyS0 earlycon=sbi vmm_runs=\"--vms 1 --cpus 0 --rounds 2 \
             --timeout 120;--vms 2 --cpus 0,1 --rounds 3 --timeout 120\""
        );
    }

    const NESTED_END: &str = "\
[    2.725467] Run /init as init process
init: done
[L0] hart 0: shadow fills 2895 (retried for want of frames 0), real HFENCEs 1147, shadow contexts 3
[L0] hart 1: shadow fills 2904 (retried for want of frames 0), real HFENCEs 1148, shadow contexts 2
[L0] round trips: 8077, L0 entries: 23835, entries per round trip: 2.95, fewest: 2
[L0] system reset by L1: type Shutdown, reason NoReason";

    #[test]
    fn mini_hv_figures_add_up_its_harts() {
        let transcript = lines(NESTED_END);
        assert_eq!(
            figures(&transcript),
            Some(Figures {
                entries_per_round_trip: "2.95".into(),
                shadow_fills: 5799,
                real_hfences: 2295,
                shadow_contexts: 5,
            })
        );
        assert_eq!(figures(&transcript[..4]), None);
        assert_eq!(init_started(&transcript), Some(2.725467));
        assert_eq!(init_started(&transcript[1..]), None);
    }

    #[test]
    fn the_table_shows_what_did_not_happen_as_a_dash() {
        let outcomes = [
            Outcome {
                case: "6.12-one-hart",
                bare: Some(Duration::from_millis(8_940)),
                nested: Some(Duration::from_millis(26_420)),
                bare_init: Some(1.5),
                nested_init: Some(2.72),
                figures: figures(&lines(NESTED_END)),
                failure: None,
            },
            Outcome {
                case: "7.x-smp2",
                bare: Some(Duration::from_secs(180)),
                nested: None,
                bare_init: None,
                nested_init: None,
                figures: None,
                failure: Some("time-out".into()),
            },
        ];
        let table = table(&outcomes);
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip(2)
            .map(|row| row.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows[0],
            [
                "6.12-one-hart",
                "8.9",
                "(1.5)",
                "26.4",
                "(2.7)",
                "ok",
                "2.95",
                "5799",
                "2295",
                "5"
            ]
        );
        assert_eq!(
            rows[1],
            [
                "7.x-smp2", "180.0", "(-)", "-", "(-)", "FAILED", "-", "-", "-", "-"
            ]
        );
    }
}
