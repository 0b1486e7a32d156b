//! The machine L0 finds (from QEMU's device tree) and the machine it gives L1 (a device tree
//! derived from the engine's configuration, so that L1 is told exactly what it gets).

extern crate alloc;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use nested_core::{NestedConfig, VsatpModes};
use vm_fdt::{Error, FdtWriter};

/// What L0 learns from its own device tree.
#[derive(Debug)]
pub struct Host {
    /// RAM: (base, size).
    pub ram: (u64, u64),
    /// Harts, numbered 0..harts.
    pub harts: usize,
    /// The timebase frequency of `time`.
    pub timebase: u32,
    /// The UART: (base, size, clock-frequency).
    pub uart: Option<(u64, u64, u32)>,
    /// The bundle QEMU loaded as initrd: (start, end).
    pub bundle: Option<(u64, u64)>,
    /// The device tree itself: (start, size).
    pub dtb: (u64, u64),
    /// L0's own command line.
    pub bootargs: String,
    /// The ISA extensions of hart 0, lower case.
    pub extensions: Vec<String>,
    /// The supervisor-level IMSIC, on a machine with the AIA.
    pub imsic: Option<Imsic>,
}

/// An IMSIC: hart h's supervisor-level file at `base + h * stride`, its guest file g `g`
/// pages further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Imsic {
    pub base: u64,
    /// log2 of the pages per hart: guest files 1..2^bits - 1 fit.
    pub guest_index_bits: u32,
    /// Interrupt identities of each file.
    pub identities: u32,
}

impl Imsic {
    /// The distance between two harts' files.
    pub const fn stride(&self) -> u64 {
        0x1000 << self.guest_index_bits
    }

    /// Hart `hart`'s supervisor-level file.
    pub const fn s_file(&self, hart: usize) -> u64 {
        self.base + hart as u64 * self.stride()
    }
}

/// The IMSIC node whose interrupts are supervisor external ones (IRQ 9).
fn supervisor_imsic(fdt: &fdt::Fdt) -> Option<Imsic> {
    fdt.all_nodes()
        .filter(|node| {
            node.compatible()
                .is_some_and(|c| c.all().any(|name| name == "riscv,imsics"))
        })
        .find(|node| {
            node.property("interrupts-extended")
                .and_then(|p| p.value.get(4..8))
                .is_some_and(|irq| irq == [0, 0, 0, 9])
        })
        .and_then(|node| {
            Some(Imsic {
                base: node.reg()?.next()?.starting_address as u64,
                guest_index_bits: node
                    .property("riscv,guest-index-bits")
                    .and_then(|p| p.as_usize())
                    .unwrap_or(0) as u32,
                identities: node.property("riscv,num-ids")?.as_usize()? as u32,
            })
        })
}

impl Host {
    /// Reads the device tree at `dtb`.
    pub fn read(dtb: &'static [u8]) -> Result<Host, &'static str> {
        let fdt = fdt::Fdt::new(dtb).map_err(|_| "the device tree does not parse")?;
        let region = fdt
            .memory()
            .regions()
            .next()
            .ok_or("the device tree lists no memory")?;
        let ram = (
            region.starting_address as u64,
            region.size.ok_or("the memory region has no size")? as u64,
        );
        let harts = fdt.cpus().count();
        let cpu0 = fdt.cpus().next().ok_or("the device tree lists no hart")?;
        let timebase = cpu0.timebase_frequency() as u32;
        let extensions = cpu0
            .property("riscv,isa-extensions")
            .map(|p| {
                p.value
                    .split(|&b| b == 0)
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| core::str::from_utf8(s).ok())
                    .map(|s| s.to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let uart = fdt.find_compatible(&["ns16550a"]).and_then(|node| {
            let reg = node.reg()?.next()?;
            let clock = node
                .property("clock-frequency")
                .and_then(|p| p.as_usize())
                .unwrap_or(3_686_400) as u32;
            Some((reg.starting_address as u64, reg.size? as u64, clock))
        });
        let chosen = fdt.chosen();
        let chosen_node = fdt.find_node("/chosen");
        let chosen_usize = |name: &str| {
            chosen_node
                .and_then(|node| node.property(name))
                .and_then(|p| p.as_usize())
                .map(|v| v as u64)
        };
        let bundle = chosen_usize("linux,initrd-start").zip(chosen_usize("linux,initrd-end"));
        Ok(Host {
            ram,
            harts,
            timebase,
            uart,
            bundle,
            dtb: (dtb.as_ptr() as u64, fdt.total_size() as u64),
            bootargs: chosen.bootargs().unwrap_or("").to_string(),
            extensions,
            imsic: supervisor_imsic(&fdt),
        })
    }

    /// Whether hart 0 has the extension `name` (lower case).
    pub fn has(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e == name)
    }
}

/// What L0 gives L1.
#[derive(Debug)]
pub struct Guest<'a> {
    /// RAM: (base, size), in L1's guest-physical space.
    pub ram: (u64, u64),
    pub harts: usize,
    pub timebase: u32,
    /// The UART L0 emulates for L1: (base, size, clock-frequency).
    pub uart: Option<(u64, u64, u32)>,
    /// Whether L1 has a PLIC (at `devices::PLIC_BASE`) with the UART's interrupt.
    pub plic: bool,
    /// Whether L1 has an APLIC (at `devices::APLIC_BASE`, sending MSIs to its IMSIC) with the
    /// UART's interrupt.
    pub aplic: bool,
    pub bootargs: &'a str,
    /// L1's initrd: (start, end) in L1's guest-physical space.
    pub initrd: Option<(u64, u64)>,
    /// The engine's configuration: what the ISA strings offer.
    pub config: &'a NestedConfig,
    /// The host's extensions, of which L1 gets the unprivileged ones.
    pub host_extensions: &'a [String],
    /// L1's supervisor-level IMSIC, when the engine offers it the AIA (its guest files are
    /// the engine's GEILEN).
    pub imsic: Option<Imsic>,
}

/// Supervisor-level extensions whose presence for L1 the engine's configuration decides.
const CONFIGURED: [&str; 6] = ["h", "sstc", "svadu", "svpbmt", "svvptc", "ssaia"];

impl Guest<'_> {
    /// The extensions L1 is told about: the host's unprivileged ones (single letters but h,
    /// and the Z ones), then those the configuration offers.
    fn extensions(&self) -> Vec<String> {
        let unprivileged = self
            .host_extensions
            .iter()
            .filter(|e| {
                let single = e.len() == 1 && e.as_str() != "h";
                (single || e.starts_with('z')) && e.as_str() != "zkr"
            })
            .cloned();
        let offered = [
            true,
            self.config.sstc,
            self.config.svadu,
            self.config.svpbmt,
            self.config.svvptc,
            self.config.aia.is_some(),
        ];
        let configured = CONFIGURED
            .iter()
            .zip(offered)
            .filter(|(_, on)| *on)
            .map(|(e, _)| e.to_string());
        let mut all: Vec<String> = unprivileged.chain(configured).collect();
        // Single letters first, in canonical order, as the ISA string wants them.
        all.sort_by_key(|e| (e.len() > 1, canonical_rank(e)));
        all
    }

    /// The `riscv,isa` string: rv64, the single letters, then the others joined by `_`.
    fn isa_string(extensions: &[String]) -> String {
        let mut isa = String::from("rv64");
        let (single, multi): (Vec<&String>, Vec<&String>) =
            extensions.iter().partition(|e| e.len() == 1);
        single.iter().for_each(|e| isa.push_str(e));
        for e in multi {
            isa.push('_');
            isa.push_str(e);
        }
        isa
    }

    /// L1's device tree.
    pub fn device_tree(&self) -> Result<Vec<u8>, Error> {
        let extensions = self.extensions();
        let isa = Self::isa_string(&extensions);
        let mut fdt = FdtWriter::new()?;
        let root = fdt.begin_node("")?;
        fdt.property_u32("#address-cells", 2)?;
        fdt.property_u32("#size-cells", 2)?;
        fdt.property_string("compatible", "riscv-virtio")?;
        fdt.property_string("model", "mini-hv L1 machine")?;

        let chosen = fdt.begin_node("chosen")?;
        fdt.property_string("bootargs", self.bootargs)?;
        if let Some((base, _, _)) = self.uart {
            fdt.property_string("stdout-path", &alloc::format!("/soc/serial@{base:x}"))?;
        }
        if let Some((start, end)) = self.initrd {
            fdt.property_u64("linux,initrd-start", start)?;
            fdt.property_u64("linux,initrd-end", end)?;
        }
        fdt.end_node(chosen)?;

        let memory = fdt.begin_node(&alloc::format!("memory@{:x}", self.ram.0))?;
        fdt.property_string("device_type", "memory")?;
        fdt.property_array_u64("reg", &[self.ram.0, self.ram.1])?;
        fdt.end_node(memory)?;

        let cpus = fdt.begin_node("cpus")?;
        fdt.property_u32("#address-cells", 1)?;
        fdt.property_u32("#size-cells", 0)?;
        fdt.property_u32("timebase-frequency", self.timebase)?;
        for hart in 0..self.harts {
            let cpu = fdt.begin_node(&alloc::format!("cpu@{hart}"))?;
            fdt.property_string("device_type", "cpu")?;
            fdt.property_u32("reg", hart as u32)?;
            fdt.property_string("status", "okay")?;
            fdt.property_string("compatible", "riscv")?;
            fdt.property_string("riscv,isa", &isa)?;
            fdt.property_string("riscv,isa-base", "rv64i")?;
            fdt.property_string_list("riscv,isa-extensions", extensions.clone())?;
            fdt.property_string("mmu-type", mmu_type(self.config.vsatp_modes))?;
            let intc = fdt.begin_node("interrupt-controller")?;
            fdt.property_u32("#interrupt-cells", 1)?;
            fdt.property_null("interrupt-controller")?;
            fdt.property_string("compatible", "riscv,cpu-intc")?;
            fdt.property_u32("phandle", hart as u32 + 1)?;
            fdt.end_node(intc)?;
            fdt.end_node(cpu)?;
        }
        fdt.end_node(cpus)?;

        let soc = fdt.begin_node("soc")?;
        fdt.property_u32("#address-cells", 2)?;
        fdt.property_u32("#size-cells", 2)?;
        fdt.property_string("compatible", "simple-bus")?;
        fdt.property_null("ranges")?;
        // After the harts' interrupt controllers (1..=harts) and the IMSIC (harts + 1); the
        // UART's interrupt controller, a PLIC or an APLIC.
        let plic_phandle = self.harts as u32 + 2;
        if self.plic {
            let base = crate::devices::PLIC_BASE;
            let node = fdt.begin_node(&alloc::format!("interrupt-controller@{base:x}"))?;
            fdt.property_string_list(
                "compatible",
                alloc::vec!["sifive,plic-1.0.0".to_string(), "riscv,plic0".to_string()],
            )?;
            fdt.property_array_u64("reg", &[base, crate::devices::PLIC_SIZE])?;
            // Context h: hart h's supervisor external interrupt.
            let targets: Vec<u32> = (0..self.harts as u32).flat_map(|h| [h + 1, 9]).collect();
            fdt.property_array_u32("interrupts-extended", &targets)?;
            fdt.property_u32("riscv,ndev", crate::devices::SOURCES)?;
            fdt.property_null("interrupt-controller")?;
            fdt.property_u32("#interrupt-cells", 1)?;
            fdt.property_u32("#address-cells", 0)?;
            fdt.property_u32("phandle", plic_phandle)?;
            fdt.end_node(node)?;
        }
        if self.aplic {
            let base = crate::devices::APLIC_BASE;
            let node = fdt.begin_node(&alloc::format!("interrupt-controller@{base:x}"))?;
            fdt.property_string("compatible", "riscv,aplic")?;
            fdt.property_array_u64("reg", &[base, crate::devices::APLIC_SIZE])?;
            fdt.property_u32("msi-parent", self.harts as u32 + 1)?;
            fdt.property_u32("riscv,num-sources", crate::devices::SOURCES)?;
            fdt.property_null("interrupt-controller")?;
            fdt.property_u32("#interrupt-cells", 2)?;
            fdt.property_u32("#address-cells", 0)?;
            fdt.property_u32("phandle", plic_phandle)?;
            fdt.end_node(node)?;
        }
        if let Some((base, size, clock)) = self.uart {
            let uart = fdt.begin_node(&alloc::format!("serial@{base:x}"))?;
            fdt.property_string("compatible", "ns16550a")?;
            fdt.property_array_u64("reg", &[base, size])?;
            fdt.property_u32("clock-frequency", clock)?;
            if self.plic {
                fdt.property_u32("interrupt-parent", plic_phandle)?;
                fdt.property_u32("interrupts", crate::devices::UART_SOURCE)?;
            } else if self.aplic {
                // Level-triggered, active high.
                fdt.property_u32("interrupt-parent", plic_phandle)?;
                fdt.property_array_u32("interrupts", &[crate::devices::UART_SOURCE, 4])?;
            }
            fdt.end_node(uart)?;
        }
        if let Some(imsic) = self.imsic {
            let node = fdt.begin_node(&alloc::format!("interrupt-controller@{:x}", imsic.base))?;
            fdt.property_string_list(
                "compatible",
                alloc::vec!["qemu,imsics".to_string(), "riscv,imsics".to_string()],
            )?;
            fdt.property_array_u64("reg", &[imsic.base, imsic.stride() * self.harts as u64])?;
            let targets: Vec<u32> = (0..self.harts as u32).flat_map(|h| [h + 1, 9]).collect();
            fdt.property_array_u32("interrupts-extended", &targets)?;
            fdt.property_u32("riscv,num-ids", imsic.identities)?;
            fdt.property_u32("riscv,guest-index-bits", imsic.guest_index_bits)?;
            fdt.property_null("msi-controller")?;
            fdt.property_null("interrupt-controller")?;
            fdt.property_u32("#interrupt-cells", 0)?;
            fdt.property_u32("phandle", self.harts as u32 + 1)?;
            fdt.end_node(node)?;
        }
        fdt.end_node(soc)?;
        fdt.end_node(root)?;
        fdt.finish()
    }
}

/// The canonical order of single-letter extensions in an ISA string.
fn canonical_rank(e: &str) -> usize {
    const ORDER: &str = "imafdqlcbkjtpvh";
    e.chars()
        .next()
        .and_then(|c| ORDER.find(c))
        .unwrap_or(ORDER.len())
}

/// The device tree's `mmu-type` for L1's satp (the real vsatp): its largest mode.
fn mmu_type(modes: VsatpModes) -> &'static str {
    if modes.sv57 {
        "riscv,sv57"
    } else if modes.sv48 {
        "riscv,sv48"
    } else if modes.sv39 {
        "riscv,sv39"
    } else {
        "riscv,none"
    }
}
