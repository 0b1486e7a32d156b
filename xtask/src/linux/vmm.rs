//! The Linux stage's KVM programs: `kvm-vmm`, the VMM that runs in L1 (a static riscv64 Linux
//! executable), and `kvm-guest`, the payload it loads into each VM (see examples/README.md).
//!
//! `kvm-guest` is built with the other bare-metal programs. `kvm-vmm` is a std program for
//! [`VMM_TARGET`], in its own workspace: examples/kvm-vmm/.cargo/config.toml sets its target,
//! its linker (Debian's cross gcc, which brings the static glibc) and `+crt-static`, so cargo
//! runs in that folder. This module makes sure the Rust target and the linker are there.

use std::path::PathBuf;
use std::process::Command;

use crate::{BARE_METAL_TARGET, programs, root, tools};

/// `kvm-vmm`'s target, as examples/kvm-vmm/.cargo/config.toml sets it (here to install it and
/// to find the build's output).
pub const VMM_TARGET: &str = "riscv64gc-unknown-linux-gnu";
/// The linker that config names, and the Debian package that has it and the static glibc.
const VMM_LINKER: (&str, &str) = ("riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu");

/// The files of the Linux stage's KVM runs.
pub struct VmPrograms {
    /// `kvm-vmm`, a static riscv64 Linux executable.
    pub vmm: PathBuf,
    /// `kvm-guest`'s ELF, which `kvm-vmm --guest` loads.
    pub guest: PathBuf,
}

/// Builds both: `kvm-guest` with the other programs of the examples workspace, `kvm-vmm` in its
/// own workspace (examples/kvm-vmm) into the same output folder.
pub fn build() -> Result<VmPrograms, String> {
    programs::build()?;
    tools::ensure_apt_packages(&[VMM_LINKER])?;
    tools::run(&mut cargo(&["build", "--release"])?)?;
    let programs = VmPrograms {
        vmm: release_binary(VMM_TARGET, "kvm-vmm"),
        guest: release_binary(BARE_METAL_TARGET, "kvm-guest"),
    };
    for path in [&programs.vmm, &programs.guest] {
        if !path.is_file() {
            return Err(format!("the build left no {}", path.display()));
        }
    }
    Ok(programs)
}

/// `cargo clippy` of `kvm-vmm` for its target, warnings denied (clippy does not link, so the
/// cross linker is not needed).
pub fn clippy() -> Result<(), String> {
    tools::run(&mut cargo(&[
        "clippy",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?)
}

/// `cargo ARGS` in kvm-vmm's folder (so that its config applies), into the examples' output
/// folder, once its Rust target is installed.
fn cargo(args: &[&str]) -> Result<Command, String> {
    tools::ensure_target(VMM_TARGET)?;
    let mut command = tools::cargo_command(args);
    command
        .current_dir(root().join("examples/kvm-vmm"))
        .env("CARGO_TARGET_DIR", programs::output_dir())
        // Flags from the environment would replace the config's `+crt-static`.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    Ok(command)
}

/// Where a release build for `target` puts the binary `name`.
fn release_binary(target: &str, name: &str) -> PathBuf {
    programs::output_dir()
        .join(target)
        .join("release")
        .join(name)
}
