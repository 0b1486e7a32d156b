//! Running cargo and the tools the tasks need, installing them when possible.

use std::process::{Command, Stdio};

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

/// cargo-fuzz needs a nightly toolchain (for the sanitizer flags) and the cargo-fuzz binary.
pub fn ensure_fuzz_tools() -> Result<(), String> {
    if !succeeds("rustup", &["--version"]) {
        return Err(
            "rustup is not installed; install it from https://rustup.rs, then run this again"
                .into(),
        );
    }
    if !succeeds("rustup", &["run", "nightly", "rustc", "--version"]) {
        run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))
            .map_err(|e| format!("could not install the nightly toolchain ({e}); run 'rustup toolchain install nightly --profile minimal'"))?;
    }
    if !succeeds("cargo", &["fuzz", "--version"]) {
        run(&mut cargo_command(&["install", "cargo-fuzz", "--locked"])).map_err(|e| {
            format!("could not install cargo-fuzz ({e}); run 'cargo install cargo-fuzz --locked'")
        })?;
    }
    Ok(())
}

/// `cargo +nightly fuzz run TARGET -- LIBFUZZER_ARGS`.
pub fn fuzz_run(target: &str, libfuzzer: &[String]) -> Result<(), String> {
    let mut command = Command::new("cargo");
    command
        .args(["+nightly", "fuzz", "run", target, "--"])
        .args(libfuzzer)
        .current_dir(root());
    run(&mut command)
}
