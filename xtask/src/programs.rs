//! The bare-metal QEMU programs of `examples/`, built into `target/examples`.

use std::path::PathBuf;

use crate::{BARE_METAL_TARGET, root, tools};

/// One program of `examples/` (see examples/README.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// L0: runs the L1 image of a bundle.
    MiniHv,
    /// L1: a guest hypervisor; runs `l2-guest`.
    L1Hv,
    /// L2: the guest of `l1-hv`.
    L2Guest,
    /// Probes the H CSRs' WARL behaviour.
    WarlProbe,
}

impl Program {
    /// The package's name, which is also its ELF's.
    pub fn name(self) -> &'static str {
        match self {
            Program::MiniHv => "mini-hv",
            Program::L1Hv => "l1-hv",
            Program::L2Guest => "l2-guest",
            Program::WarlProbe => "warl-probe",
        }
    }

    /// The line that ends the program's transcript when it runs as L1 (or directly).
    pub fn last_line(self) -> &'static str {
        match self {
            Program::WarlProbe => "WARL: done",
            _ => "L1: done",
        }
    }

    /// The ELF, once [`build`] has run.
    pub fn elf(self) -> PathBuf {
        output_dir()
            .join(BARE_METAL_TARGET)
            .join("release")
            .join(self.name())
    }
}

/// Where the programs, their bundles and the transcripts go: `target/examples`, so the root
/// `target/` holds everything and `examples/target` stays free for builds by hand.
pub fn output_dir() -> PathBuf {
    root().join("target/examples")
}

/// `cargo build --release` of every program (`examples/.cargo/config.toml` sets the target).
pub fn build() -> Result<(), String> {
    tools::ensure_target(BARE_METAL_TARGET)?;
    let mut command = tools::cargo_command(&["build", "--release"]);
    command
        .current_dir(root().join("examples"))
        .env("CARGO_TARGET_DIR", output_dir());
    tools::run(&mut command)
}
