//! Differential runs: a program directly on QEMU's H extension, then as L1 under `mini-hv`,
//! and the lines it observed compared.

use std::time::{Duration, Instant};

use crate::bundle::L1;
use crate::divergences::{self, Divergence};
use crate::programs::Program;
use crate::qemu::{self, Boot, Machine, Run, Watch};
use crate::transcript;

/// Each run's time limit.
pub const LIMIT: Duration = Duration::from_secs(60);

/// One program (with its initrd and command line) on one machine, run both ways.
pub struct Pair {
    /// Names the pair in reports, its bundle and its transcripts.
    name: &'static str,
    l1: Program,
    initrd: Option<Program>,
    /// L1's command line: QEMU's `-append` directly, the bundle's command line nested.
    cmdline: &'static str,
    machine: Machine,
    /// The divergences the comparison accepts.
    known: &'static [Divergence],
}

const ONE_HART: Machine = machine(1, false);

/// `smp` harts, with the AIA or not, and L1's default memory.
const fn machine(smp: u32, aia: bool) -> Machine {
    Machine {
        smp,
        aia,
        l1_mem_mib: qemu::DEFAULT_L1_MEM_MIB,
    }
}

/// The pairs of `cargo xtask test`.
pub static PAIRS: [Pair; 7] = [
    Pair {
        name: "warl-probe",
        l1: Program::WarlProbe,
        initrd: None,
        cmdline: "",
        machine: ONE_HART,
        known: &divergences::KNOWN,
    },
    l1_hv("l1-hv-sv39x4", "gstage=sv39x4", ONE_HART),
    l1_hv("l1-hv-sv48x4", "gstage=sv48x4", ONE_HART),
    l1_hv("l1-hv-sv39x4-nacl-off", "gstage=sv39x4 nacl=off", ONE_HART),
    l1_hv("l1-hv-sv39x4-smp2", "gstage=sv39x4", machine(2, false)),
    l1_hv("l1-hv-sv39x4-aia", "gstage=sv39x4 aia=on", machine(1, true)),
    l1_hv(
        "l1-hv-sv48x4-aia-nacl-off",
        "gstage=sv48x4 aia=on nacl=off",
        machine(2, true),
    ),
];

/// `l1-hv` running `l2-guest`; no divergence is known for it.
const fn l1_hv(name: &'static str, cmdline: &'static str, machine: Machine) -> Pair {
    Pair {
        name,
        l1: Program::L1Hv,
        initrd: Some(Program::L2Guest),
        cmdline,
        machine,
        known: &[],
    }
}

impl Pair {
    /// Runs both ways and compares: the divergences used, or why the pair failed.
    fn run(&self) -> Result<Vec<&'static Divergence>, String> {
        let direct = self.side("direct", |l1, watch| {
            let boot = Boot {
                machine: self.machine,
                kernel: l1.image,
                initrd: l1.initrd,
                append: l1.cmdline,
            };
            qemu::run(&boot, watch)
        })?;
        let nested = self.side("nested", |l1, watch| {
            qemu::run_nested(self.name, self.machine, l1, watch)
        })?;
        transcript::compare(
            &transcript::compared(&direct),
            &transcript::compared(&nested),
            self.known,
        )
        .map_err(|report| format!("the transcripts differ:\n{report}"))
    }

    /// One side's run, checked, its transcript kept in `target/examples`.
    fn side(
        &self,
        side: &str,
        boot: impl FnOnce(&L1, &Watch) -> Result<Run, String>,
    ) -> Result<Vec<String>, String> {
        let (image, initrd) = (self.l1.elf(), self.initrd.map(Program::elf));
        let l1 = L1 {
            image: &image,
            initrd: initrd.as_deref(),
            cmdline: self.cmdline,
        };
        let watch = Watch {
            last_lines: &[self.l1.last_line()],
            limit: LIMIT,
            echo: false,
        };
        let run = boot(&l1, &watch).map_err(|e| format!("{side} run: {e}"))?;
        run.keep_and_check(&format!("{}-{side}", self.name), &watch)
            .map_err(|e| format!("{side} run: {e}"))?;
        Ok(run.transcript)
    }
}

/// Runs every pair, reporting each with the reason it failed; the names of the failed pairs.
pub fn run_all() -> Vec<&'static str> {
    let mut failed = Vec::new();
    for pair in &PAIRS {
        let started = Instant::now();
        match pair.run() {
            Ok(used) => {
                println!("pair {}: ok ({:.1?})", pair.name, started.elapsed());
                for row in used {
                    println!("  known divergence used: {row}");
                }
            }
            Err(reason) => {
                println!("pair {}: FAILED: {reason}", pair.name);
                failed.push(pair.name);
            }
        }
    }
    failed
}
