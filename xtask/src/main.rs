//! `cargo xtask`: the project's commands and their helpers.
//!
//! - `cargo xtask test`: every check CI runs, in order, stopping at the first failure.
//! - `cargo xtask fuzz [--smoke] [--seconds N] [TARGET]`: the cargo-fuzz targets.
//! - `cargo xtask qemu`: the QEMU stage of `test` alone (differential runs and the demo).
//! - `cargo xtask demo`: mini-hv runs l1-hv runs l2-guest, with NACL and without.
//! - `cargo xtask linux [--short]`: Debian's Linux as L1 runs VMs with KVM, bare and under
//!   mini-hv (`--short`: the cases of `test`).
//! - `cargo xtask run --l1 PATH ...`: mini-hv boots any L1.
//!
//! Missing tools are installed when that is possible (rustup toolchains, cargo-fuzz, QEMU);
//! otherwise the task stops with one sentence saying what to install.

mod bundle;
mod demo;
mod differential;
mod divergences;
mod linux;
mod programs;
mod qemu;
mod tools;
mod transcript;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bundle::L1;
use qemu::{Machine, Watch};

/// The bare-metal target every library crate must build for (proves `no_std`).
const BARE_METAL_TARGET: &str = "riscv64gc-unknown-none-elf";
/// Bounds of one fuzz target's smoke run in `cargo xtask test`.
const SMOKE_RUNS: u32 = 200_000;
const SMOKE_SECONDS: u32 = 25;
/// `cargo xtask run`'s default time limit.
const RUN_SECONDS: u64 = 300;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("qemu") => qemu_stage(),
        Some("demo") => demo(),
        Some("run") => run(&args[1..]),
        Some("linux") => linux::command(&args[1..]),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: cargo xtask test | qemu | demo | linux [--short]\n       \
     cargo xtask fuzz [--smoke] [--seconds N] [TARGET]\n       \
     cargo xtask run --l1 PATH [--initrd PATH] [--append ARGS] [--smp N] [--aia] [--mem SIZE]\n       \
                     [--timeout S]"
        .into()
}

/// The project's root: the parent of this crate's folder.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// A named check of `cargo xtask test`.
struct Stage {
    name: &'static str,
    run: fn() -> Result<(), String>,
}

fn test() -> Result<(), String> {
    let stages = [
        Stage {
            name: "format",
            run: check_format,
        },
        Stage {
            name: "clippy",
            run: clippy,
        },
        Stage {
            name: "unit, property and doc tests",
            run: unit_tests,
        },
        Stage {
            name: "loom models",
            run: loom_models,
        },
        Stage {
            name: "no_std build for riscv64",
            run: bare_metal_build,
        },
        Stage {
            name: "fuzz smoke",
            run: fuzz_smoke,
        },
        Stage {
            name: "qemu",
            run: qemu_stage,
        },
        Stage {
            name: "linux",
            run: linux::short,
        },
    ];
    let started = Instant::now();
    let mut passed = 0;
    for stage in &stages {
        println!("\n==> xtask test: {}", stage.name);
        let stage_started = Instant::now();
        if let Err(message) = (stage.run)() {
            println!("xtask test: {passed} passed, 1 failed");
            return Err(format!("stage '{}' failed: {message}", stage.name));
        }
        passed += 1;
        println!("<== {} ok ({:.0?})", stage.name, stage_started.elapsed());
    }
    println!("\nxtask test took {:.0?}", started.elapsed());
    println!("stages: {passed} passed, 0 failed");
    Ok(())
}

fn check_format() -> Result<(), String> {
    tools::cargo(&["fmt", "--all", "--check"])?;
    tools::cargo(&[
        "fmt",
        "--all",
        "--check",
        "--manifest-path",
        "fuzz/Cargo.toml",
    ])?;
    tools::cargo(&[
        "fmt",
        "--all",
        "--check",
        "--manifest-path",
        "examples/Cargo.toml",
    ])?;
    // kvm-vmm is a workspace of its own (examples/Cargo.toml excludes it).
    tools::cargo(&[
        "fmt",
        "--all",
        "--check",
        "--manifest-path",
        "examples/kvm-vmm/Cargo.toml",
    ])
}

fn clippy() -> Result<(), String> {
    tools::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ])?;
    // The QEMU programs, for their own target (examples/.cargo/config.toml), in the folder
    // their release builds use.
    tools::ensure_target(BARE_METAL_TARGET)?;
    let mut command = tools::cargo_command(&["clippy", "--workspace", "--", "-D", "warnings"]);
    command
        .current_dir(root().join("examples"))
        .env("CARGO_TARGET_DIR", programs::output_dir());
    tools::run(&mut command)?;
    linux::vmm_clippy()
}

fn unit_tests() -> Result<(), String> {
    // --all-targets runs the criterion benches once each in test mode, so they cannot rot;
    // it leaves out doc tests, which run next.
    tools::cargo(&["test", "--workspace", "--all-targets", "--all-features"])?;
    tools::cargo(&["test", "--workspace", "--doc", "--all-features"])
}

/// Every crate with a `tests/loom.rs` runs it under `--cfg loom` in its own target folder,
/// so the ordinary build is not invalidated.
fn loom_models() -> Result<(), String> {
    for krate in library_crates()? {
        if root().join(&krate).join("tests/loom.rs").exists() {
            let mut command =
                tools::cargo_command(&["test", "--release", "-p", &krate, "--test", "loom"]);
            command
                .env("RUSTFLAGS", "--cfg loom")
                .env("CARGO_TARGET_DIR", root().join("target/loom"));
            tools::run(&mut command)?;
        }
    }
    Ok(())
}

fn bare_metal_build() -> Result<(), String> {
    tools::ensure_target(BARE_METAL_TARGET)?;
    for krate in library_crates()? {
        tools::cargo(&["build", "-p", &krate, "--target", BARE_METAL_TARGET])?;
    }
    Ok(())
}

fn fuzz_smoke() -> Result<(), String> {
    fuzz(&["--smoke".to_string()])
}

/// `cargo xtask fuzz [--smoke] [--seconds N] [TARGET]`.
fn fuzz(args: &[String]) -> Result<(), String> {
    let mut smoke = false;
    let mut seconds = None;
    let mut only = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--smoke" => smoke = true,
            "--seconds" => {
                let value = rest.next().ok_or_else(usage)?;
                seconds = Some(value.parse::<u32>().map_err(|_| usage())?);
            }
            name if !name.starts_with('-') => only = Some(name.to_string()),
            _ => return Err(usage()),
        }
    }
    let targets = fuzz_targets()?;
    if let Some(name) = &only
        && !targets.contains(name)
    {
        return Err(format!(
            "no fuzz target '{name}'; the targets are: {}",
            targets.join(", ")
        ));
    }
    let toolchain = tools::ensure_fuzz_tools()?;
    for target in targets
        .iter()
        .filter(|t| only.as_ref().is_none_or(|o| o == *t))
    {
        let mut libfuzzer = Vec::new();
        if smoke {
            libfuzzer.push(format!("-runs={SMOKE_RUNS}"));
            libfuzzer.push(format!(
                "-max_total_time={}",
                seconds.unwrap_or(SMOKE_SECONDS)
            ));
        } else if let Some(seconds) = seconds {
            libfuzzer.push(format!("-max_total_time={seconds}"));
        }
        println!("--- fuzz target {target}");
        tools::fuzz_run(&toolchain, target, &libfuzzer)?;
    }
    Ok(())
}

/// Every differential pair, then the demo, each reported; fails naming those that failed.
fn qemu_stage() -> Result<(), String> {
    tools::ensure_qemu()?;
    programs::build()?;
    let mut failed = differential::run_all();
    if let Err(reason) = demo::show(false) {
        println!("demo: FAILED: {reason}");
        failed.push("demo");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        let checks = differential::PAIRS.len() + 1;
        Err(format!(
            "{} of {checks} checks failed: {}",
            failed.len(),
            failed.join(", ")
        ))
    }
}

/// `cargo xtask demo`.
fn demo() -> Result<(), String> {
    let started = Instant::now();
    tools::ensure_qemu()?;
    programs::build()?;
    demo::show(true)?;
    println!("\nthe demo took {:.1?}", started.elapsed());
    Ok(())
}

/// `cargo xtask run --l1 PATH [--initrd PATH] [--append ARGS] [--smp N] [--aia] [--mem SIZE]
/// [--timeout S]`: passes when L1 resets the system through SRST with no reason before the
/// time limit, with no line containing "panic".
fn run(args: &[String]) -> Result<(), String> {
    let args = RunArgs::parse(args)?;
    tools::ensure_qemu()?;
    programs::build()?;
    let l1 = L1 {
        image: &args.image,
        initrd: args.initrd.as_deref(),
        cmdline: &args.cmdline,
    };
    let watch = Watch {
        last_lines: &[qemu::RESET_LINE],
        limit: args.timeout,
        echo: true,
    };
    let run = qemu::run_nested("run", args.machine, &l1, &watch)?;
    run.keep_and_check(&format!("run-{}", std::process::id()), &watch)?;
    run.check_l1_reset()?;
    println!("xtask: {}", run.ending);
    Ok(())
}

/// The options of `cargo xtask run`.
struct RunArgs {
    image: PathBuf,
    initrd: Option<PathBuf>,
    cmdline: String,
    machine: Machine,
    timeout: Duration,
}

impl RunArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let (mut image, mut initrd, mut cmdline) = (None, None, String::new());
        let mut machine = Machine {
            smp: 1,
            aia: false,
            l1_mem_mib: qemu::DEFAULT_L1_MEM_MIB,
        };
        let mut seconds = RUN_SECONDS;
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let mut value = || rest.next().ok_or_else(usage);
            match arg.as_str() {
                "--l1" => image = Some(PathBuf::from(value()?)),
                "--initrd" => initrd = Some(PathBuf::from(value()?)),
                "--append" => cmdline.clone_from(value()?),
                "--smp" => machine.smp = value()?.parse().map_err(|_| usage())?,
                "--aia" => machine.aia = true,
                "--mem" => machine.l1_mem_mib = parse_mem_mib(value()?).ok_or_else(usage)?,
                "--timeout" => seconds = value()?.parse().map_err(|_| usage())?,
                _ => return Err(usage()),
            }
        }
        Ok(RunArgs {
            image: image.ok_or_else(usage)?,
            initrd,
            cmdline,
            machine,
            timeout: Duration::from_secs(seconds),
        })
    }
}

/// `--mem SIZE` in MiB: a number of MiB, or one with an `M` or `G` suffix; a multiple of
/// 2 MiB from 16 MiB (what `mini-hv`'s `l1-mem` takes).
fn parse_mem_mib(text: &str) -> Option<u64> {
    let (digits, scale) = match text.strip_suffix(['G', 'g']) {
        Some(digits) => (digits, 1024),
        None => (text.strip_suffix(['M', 'm']).unwrap_or(text), 1),
    };
    digits
        .parse::<u64>()
        .ok()?
        .checked_mul(scale)
        .filter(|&mib| mib >= 16 && mib.is_multiple_of(2))
}

/// Library crates: top-level folders with a `Cargo.toml` and a `src/lib.rs`.
fn library_crates() -> Result<Vec<String>, String> {
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(root()).map_err(|e| format!("cannot list the workspace: {e}"))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.join("Cargo.toml").is_file() && path.join("src/lib.rs").is_file() {
            crates.push(
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    crates.sort();
    Ok(crates)
}

/// Fuzz targets: the files of `fuzz/fuzz_targets/`.
fn fuzz_targets() -> Result<Vec<String>, String> {
    let dir = root().join("fuzz/fuzz_targets");
    let mut targets = Vec::new();
    for entry in
        std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?
    {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            targets.push(
                path.file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    targets.sort();
    Ok(targets)
}
