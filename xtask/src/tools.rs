//! Running cargo and the tools the tasks need, installing them when possible.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::root;

/// `cargo ARGS` in the workspace root, with the toolchain of `rust-toolchain.toml`.
pub fn cargo_command(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(root());
    command
}

/// Runs `cargo ARGS` and fails if it does.
pub fn cargo(args: &[&str]) -> Result<(), String> {
    run(&mut cargo_command(args))
}

/// Runs a command, echoing it first; a non-zero exit is an error naming the command.
pub fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    println!("$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} exited with {status}"))
    }
}

/// Whether a command runs and exits 0, its output hidden.
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure the toolchain of `rust-toolchain.toml` has the Rust target `target`: rustup
/// installs a toolchain file's targets only when it installs the toolchain itself, so a
/// toolchain that was already there may lack them.
pub fn ensure_target(target: &str) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("rustup is not installed ({e}); install it from https://rustup.rs"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        return Ok(());
    }
    run(Command::new("rustup")
        .args(["target", "add", target])
        .current_dir(root()))
    .map_err(|e| {
        format!(
            "could not add the Rust target {target} ({e}); run 'rustup target add {target}' in {}",
            root().display()
        )
    })
}

/// The file that pins the fuzz stage's nightly, relative to the workspace root.
const FUZZ_TOOLCHAIN_FILE: &str = "fuzz/rust-toolchain.toml";

/// cargo-fuzz needs a nightly toolchain (for the sanitizer flags), the cargo-fuzz binary and
/// a C++ compiler (libfuzzer-sys builds libFuzzer). Returns the nightly to run it with, the
/// dated one of `fuzz/rust-toolchain.toml`, which it installs when missing without touching
/// rustup itself or the default toolchain.
pub fn ensure_fuzz_tools() -> Result<String, String> {
    // A compiler chosen with CXX is the user's; libfuzzer-sys uses it instead of c++.
    if std::env::var_os("CXX").is_none() {
        ensure_apt_packages(&[("c++", "g++")])?;
    }
    let toolchain = fuzz_toolchain()?;
    let installed = output("rustup", &["toolchain", "list"])
        .ok_or("rustup is not installed; install it from https://rustup.rs, then run this again")?;
    if !lists_toolchain(&installed, &toolchain) {
        // rustup makes the first toolchain it installs the default; a rustup with no default
        // toolchain keeps none.
        let had_default = succeeds("rustup", &["default"]);
        let install = [
            "toolchain",
            "install",
            &toolchain,
            "--profile",
            "minimal",
            "--no-self-update",
        ];
        run(Command::new("rustup").args(install)).map_err(|e| {
            format!(
                "could not install the fuzz toolchain {toolchain} ({e}); run 'rustup {}'",
                install.join(" ")
            )
        })?;
        if !had_default {
            run(Command::new("rustup").args(["default", "none"]))?;
        }
    }
    if !succeeds("cargo", &["fuzz", "--version"]) {
        run(&mut cargo_command(&["install", "cargo-fuzz", "--locked"])).map_err(|e| {
            format!("could not install cargo-fuzz ({e}); run 'cargo install cargo-fuzz --locked'")
        })?;
    }
    Ok(toolchain)
}

/// The dated nightly `fuzz/rust-toolchain.toml` pins, e.g. `nightly-2026-05-20`.
fn fuzz_toolchain() -> Result<String, String> {
    let path = root().join(FUZZ_TOOLCHAIN_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    dated_nightly(&text).ok_or_else(|| {
        format!(
            "{} pins no dated nightly: its [toolchain] table needs channel = \"nightly-YYYY-MM-DD\"",
            path.display()
        )
    })
}

/// The `channel` of a toolchain file's `[toolchain]` table, if it is a dated nightly. The file
/// is TOML, but only this one key of it matters here: a line `channel = "..."`, after which a
/// comment may follow.
fn dated_nightly(toml: &str) -> Option<String> {
    let mut in_toolchain = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_toolchain = line
                .split('#')
                .next()
                .is_some_and(|t| t.trim() == "[toolchain]");
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !in_toolchain || key.trim() != "channel" {
            continue;
        }
        let (channel, _) = value.trim().strip_prefix('"')?.split_once('"')?;
        let date = channel.strip_prefix("nightly-")?.as_bytes();
        let is_date = date.len() == 10
            && date.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            });
        return is_date.then(|| channel.to_string());
    }
    None
}

/// Whether `rustup toolchain list` names `toolchain`, alone or followed by a host triple
/// (`nightly-2026-05-20-x86_64-unknown-linux-gnu (active)`).
fn lists_toolchain(list: &str, toolchain: &str) -> bool {
    list.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|name| name.strip_prefix(toolchain))
        .any(|host| {
            // A host triple starts with its architecture; `nightly` is not `nightly-2026-...`.
            host.is_empty()
                || host
                    .strip_prefix('-')
                    .is_some_and(|triple| triple.starts_with(|c: char| c.is_ascii_alphabetic()))
        })
}

/// `cargo +TOOLCHAIN fuzz run TARGET -- LIBFUZZER_ARGS`.
pub fn fuzz_run(toolchain: &str, target: &str, libfuzzer: &[String]) -> Result<(), String> {
    let mut command = Command::new("cargo");
    command
        .args([&format!("+{toolchain}"), "fuzz", "run", target, "--"])
        .args(libfuzzer)
        .current_dir(root());
    run(&mut command)
}

/// The oldest QEMU whose H extension and AIA the QEMU programs rely on.
const QEMU_MIN_MAJOR: u32 = 10;
/// The file QEMU loads for `-bios default` on riscv64, looked up in its data folders.
const OPENSBI_FIRMWARE: &str = "opensbi-riscv64-generic-fw_dynamic.bin";
/// Debian bookworm's own QEMU is 7.2; its backports carry 10.
const BACKPORTS_LIST: &str = "/etc/apt/sources.list.d/bookworm-backports.list";
const BACKPORTS_SOURCE: &str = "deb http://deb.debian.org/debian bookworm-backports main\n";
const QEMU_PACKAGES: [&str; 2] = ["qemu-system-riscv", "opensbi"];
/// Names the QEMU binary instead of `qemu-system-riscv64`.
const QEMU_VARIABLE: &str = "XTASK_QEMU";

/// The QEMU binary: `$XTASK_QEMU` if set (e.g. to try the missing-QEMU path), else
/// `qemu-system-riscv64`.
pub fn qemu_program() -> String {
    std::env::var(QEMU_VARIABLE).unwrap_or_else(|_| "qemu-system-riscv64".into())
}

/// Makes sure QEMU >= 10 and OpenSBI's firmware are present: as root with apt-get, installs
/// them; otherwise fails with one sentence saying what to install.
pub fn ensure_qemu() -> Result<(), String> {
    let Err(missing) = check_qemu() else {
        return Ok(());
    };
    // A QEMU chosen by XTASK_QEMU is the user's; packages would not change it.
    if std::env::var_os(QEMU_VARIABLE).is_none() && is_root() && succeeds("apt-get", &["--version"])
    {
        println!("xtask: {missing}; installing QEMU and OpenSBI with apt-get");
        if let Err(message) = install_qemu() {
            println!("xtask: {message}");
        }
    }
    check_qemu().map_err(|missing| {
        format!(
            "{missing}: install QEMU >= {QEMU_MIN_MAJOR} and OpenSBI (on Debian bookworm: add \
             '{}' to {BACKPORTS_LIST}, then run 'apt-get update && apt-get install -t \
             bookworm-backports {}' as root)",
            BACKPORTS_SOURCE.trim_end(),
            QEMU_PACKAGES.join(" ")
        )
    })
}

/// What is missing, if anything: the binary, a recent enough version, the firmware.
fn check_qemu() -> Result<(), String> {
    let program = qemu_program();
    let version =
        output(&program, &["--version"]).ok_or_else(|| format!("{program} is not installed"))?;
    match qemu_major(&version) {
        Some(major) if major >= QEMU_MIN_MAJOR => {}
        _ => return Err(format!("{program} is too old ({})", version.trim())),
    }
    let folders = output(&program, &["-L", "help"]).unwrap_or_default();
    if folders
        .lines()
        .any(|folder| Path::new(folder.trim()).join(OPENSBI_FIRMWARE).is_file())
    {
        Ok(())
    } else {
        Err(format!(
            "{program} finds no OpenSBI firmware ({OPENSBI_FIRMWARE})"
        ))
    }
}

/// The major version in `qemu-system-riscv64 --version`'s `QEMU emulator version 10.0.2 (...)`.
fn qemu_major(version: &str) -> Option<u32> {
    let (_, rest) = version.split_once("version ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A command's standard output, if it runs and exits 0.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0")
}

/// `apt-get install` of QEMU and OpenSBI, from bookworm-backports on Debian bookworm.
fn install_qemu() -> Result<(), String> {
    let mut release = Vec::new();
    if is_bookworm() {
        std::fs::write(BACKPORTS_LIST, BACKPORTS_SOURCE)
            .map_err(|e| format!("cannot write {BACKPORTS_LIST}: {e}"))?;
        release.extend(["-t", "bookworm-backports"]);
    }
    apt_install(&release, &QEMU_PACKAGES)
}

/// Makes sure every `(binary, package)` pair's binary is on the PATH: as root with apt-get,
/// installs the packages of the missing ones; otherwise fails with one sentence naming the
/// packages to install.
pub fn ensure_apt_packages(needed: &[(&str, &str)]) -> Result<(), String> {
    let missing = || -> Vec<(&str, &str)> {
        needed
            .iter()
            .filter(|(binary, _)| !on_path(binary))
            .copied()
            .collect()
    };
    let absent = missing();
    if absent.is_empty() {
        return Ok(());
    }
    if is_root() && succeeds("apt-get", &["--version"]) {
        let (binaries, packages) = split_pairs(&absent);
        println!(
            "xtask: {} not found; installing {} with apt-get",
            binaries.join(", "),
            packages.join(" ")
        );
        if let Err(message) = apt_install(&[], &packages) {
            println!("xtask: {message}");
        }
    }
    let absent = missing();
    if absent.is_empty() {
        return Ok(());
    }
    let (binaries, packages) = split_pairs(&absent);
    let packages = packages.join(" ");
    Err(format!(
        "{} not found: install {packages} (on Debian, as root: 'apt-get install {packages}')",
        binaries.join(", ")
    ))
}

/// The binaries of `(binary, package)` pairs, and their packages, each package once.
fn split_pairs<'a>(pairs: &[(&'a str, &'a str)]) -> (Vec<&'a str>, Vec<&'a str>) {
    let binaries = pairs.iter().map(|(binary, _)| *binary).collect();
    let mut packages = Vec::new();
    for (_, package) in pairs {
        if !packages.contains(package) {
            packages.push(*package);
        }
    }
    (binaries, packages)
}

/// Whether an executable file named `binary` is in a folder of the PATH.
fn on_path(binary: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|folders| {
        std::env::split_paths(&folders).any(|folder| {
            folder
                .join(binary)
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// How long an apt-get call waits for another apt (an upgrade, someone's install) to finish.
const APT_LOCK_SECONDS: u64 = 300;
/// How often `apt-get update` is tried again while the package lists are locked.
const APT_UPDATE_RETRY: Duration = Duration::from_secs(5);

/// `apt-get update`, then `apt-get install -y OPTIONS PACKAGES`, each waiting for the lock of
/// another apt.
fn apt_install(options: &[&str], packages: &[&str]) -> Result<(), String> {
    println!(
        "xtask: apt-get waits up to {APT_LOCK_SECONDS} s for the lock of any other apt that runs"
    );
    apt_update()?;
    run(Command::new("apt-get")
        .args(["-o", &format!("DPkg::Lock::Timeout={APT_LOCK_SECONDS}")])
        .args(["install", "-y"])
        .args(options)
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// `apt-get update`, tried again while another apt holds the package lists' lock: apt-get
/// waits for dpkg's lock (`DPkg::Lock::Timeout`) but not for that one.
fn apt_update() -> Result<(), String> {
    let started = Instant::now();
    loop {
        let mut command = Command::new("apt-get");
        command.arg("update").env("LC_ALL", "C");
        let shown = format!("{command:?}");
        println!("$ {shown}");
        let out = command
            .stdout(Stdio::inherit())
            .output()
            .map_err(|e| format!("could not start {shown}: {e}"))?;
        let errors = String::from_utf8_lossy(&out.stderr);
        eprint!("{errors}");
        if out.status.success() {
            return Ok(());
        }
        if !lists_locked(&errors) || started.elapsed().as_secs() >= APT_LOCK_SECONDS {
            return Err(format!("{shown} exited with {}", out.status));
        }
        println!(
            "xtask: another apt holds the package lists; trying again in {APT_UPDATE_RETRY:?}"
        );
        std::thread::sleep(APT_UPDATE_RETRY);
    }
}

/// Whether `apt-get update` failed (in the C locale) because another apt held its lock.
fn lists_locked(errors: &str) -> bool {
    errors
        .lines()
        .any(|line| line.starts_with("E: Could not get lock "))
}

fn is_bookworm() -> bool {
    std::fs::read_to_string("/etc/os-release").is_ok_and(|release| {
        let has = |key: &str, value: &str| {
            release
                .lines()
                .filter_map(|line| line.split_once('='))
                .any(|(k, v)| k == key && v.trim_matches('"') == value)
        };
        has("ID", "debian") && has("VERSION_CODENAME", "bookworm")
    })
}

#[cfg(test)]
mod tests {
    use super::{dated_nightly, lists_locked, lists_toolchain, on_path, qemu_major, split_pairs};

    #[test]
    fn qemu_major_version_is_read_from_the_version_line() {
        let line = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n";
        assert_eq!(qemu_major(line), Some(10));
        assert_eq!(qemu_major("QEMU emulator version 7.2.15"), Some(7));
        assert_eq!(qemu_major("not QEMU"), None);
    }

    #[test]
    fn a_busy_lists_lock_is_told_from_other_update_failures() {
        let busy = "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4564 \
                    (apt-get)\nE: Unable to lock directory /var/lib/apt/lists/\n";
        assert!(lists_locked(busy));
        let offline = "W: Failed to fetch http://example.invalid/dists/bookworm/InRelease  \
                       Temporary failure resolving 'example.invalid'\n\
                       E: Some index files failed to download.\n";
        assert!(!lists_locked(offline));
    }

    #[test]
    fn packages_of_missing_binaries_are_named_once() {
        let pairs = [
            ("riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu"),
            ("c++", "g++"),
            ("riscv64-linux-gnu-cpp", "gcc-riscv64-linux-gnu"),
        ];
        let (binaries, packages) = split_pairs(&pairs);
        assert_eq!(
            binaries,
            ["riscv64-linux-gnu-gcc", "c++", "riscv64-linux-gnu-cpp"]
        );
        assert_eq!(packages, ["gcc-riscv64-linux-gnu", "g++"]);
    }

    #[test]
    fn binaries_are_found_on_the_path() {
        assert!(on_path("sh"));
        assert!(!on_path("xtask-no-such-binary"));
        // A folder is not a binary.
        assert!(!on_path("."));
    }

    #[test]
    fn the_fuzz_nightly_is_read_from_the_toolchain_table() {
        let file = "# pinned\n[toolchain]\nprofile = \"minimal\"\nchannel = \"nightly-2026-05-20\" # a date\n";
        assert_eq!(dated_nightly(file).as_deref(), Some("nightly-2026-05-20"));
        // The project's own file parses.
        let ours = include_str!("../../fuzz/rust-toolchain.toml");
        assert!(dated_nightly(ours).is_some_and(|c| c.starts_with("nightly-")));
        // An undated channel, a malformed date or a channel outside [toolchain] pins nothing.
        assert_eq!(dated_nightly("[toolchain]\nchannel = \"nightly\"\n"), None);
        assert_eq!(dated_nightly("[toolchain]\nchannel = \"1.95.0\"\n"), None);
        assert_eq!(
            dated_nightly("[toolchain]\nchannel = \"nightly-2026-5-20\"\n"),
            None
        );
        assert_eq!(
            dated_nightly("[other]\nchannel = \"nightly-2026-05-20\"\n"),
            None
        );
        assert_eq!(dated_nightly(""), None);
    }

    #[test]
    fn an_installed_toolchain_is_found_with_or_without_its_host() {
        let list = "stable-x86_64-unknown-linux-gnu (default)\n\
                    nightly-2026-05-20-x86_64-unknown-linux-gnu (active)\n";
        assert!(lists_toolchain(list, "nightly-2026-05-20"));
        assert!(lists_toolchain(
            "nightly-2026-05-20\n",
            "nightly-2026-05-20"
        ));
        assert!(!lists_toolchain(list, "nightly-2026-05-21"));
        assert!(!lists_toolchain(list, "nightly"));
        assert!(!lists_toolchain(
            "no installed toolchains\n",
            "nightly-2026-05-20"
        ));
    }
}
