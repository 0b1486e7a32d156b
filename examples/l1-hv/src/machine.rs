//! What L1 learns from its device tree: its RAM, its harts, its initrd (the `l2-guest` ELF),
//! the memory it must leave alone, its command line, (with `aia=on`) its S-level IMSIC and its
//! console's UART.

use core::fmt;
use core::ops::Range;
use gstage::GStageMode;

use crate::hw;
use crate::imsic::{Imsic, ImsicError};
use crate::uart::Uart;

/// The G-stage modes of the command line, by name (`gstage=NAME`).
const MODES: [(&str, GStageMode); 2] = [
    ("sv39x4", GStageMode::Sv39x4),
    ("sv48x4", GStageMode::Sv48x4),
];

/// The command-line name of `mode`.
pub fn mode_name(mode: GStageMode) -> &'static str {
    MODES
        .iter()
        .find(|(_, m)| *m == mode)
        .map_or("unknown", |(name, _)| name)
}

/// How many ranges of memory in use the device tree may name.
const BUSY_RANGES: usize = 16;

/// The machine L1 runs on.
pub struct Machine {
    /// The RAM region L1's image lies in.
    pub ram: Range<u64>,
    /// Harts, numbered from 0.
    pub harts: usize,
    /// The initrd: `l2-guest`.
    pub initrd: Range<u64>,
    /// Memory in use besides L1's image: the device tree, the initrd, reserved memory.
    pub busy: heapless::Vec<Range<u64>, BUSY_RANGES>,
    /// `/chosen/bootargs`.
    pub bootargs: &'static str,
    /// What the command line asks for.
    pub options: Options,
    /// The S-level IMSIC, when `aia=on` and the machine has one with guest files.
    pub imsic: Option<Imsic>,
    /// The console's UART.
    pub uart: Option<Uart>,
}

/// L1's command line (see the examples' README).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Use NACL if offered (`nacl=off` refuses it).
    pub nacl: bool,
    /// The G-stage mode of L2's table (`gstage=sv39x4`, the default, or `gstage=sv48x4`).
    pub gstage: GStageMode,
    /// Give L2 a guest interrupt file if the machine has one (`aia=on`; off by default).
    pub aia: bool,
}

/// Why the device tree does not describe a machine L1 can use.
#[derive(Clone, Copy, Debug)]
pub enum MachineError {
    /// The device tree does not parse.
    DeviceTree,
    /// No memory region holds L1's image.
    NoMemory,
    /// `/cpus` lists no hart.
    NoHarts,
    /// `/chosen` names no initrd.
    NoInitrd,
    /// More memory in use than L1 keeps track of.
    TooManyReservations,
    /// A command-line word L1 does not understand.
    BadOption(&'static str),
    /// The S-level IMSIC is not one L1 can use.
    Imsic(ImsicError),
}

impl fmt::Display for MachineError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::DeviceTree => write!(f, "the device tree does not parse"),
            Self::NoMemory => write!(f, "no memory region of the device tree holds L1"),
            Self::NoHarts => write!(f, "the device tree lists no hart"),
            Self::NoInitrd => write!(f, "no initrd (l2-guest) in /chosen"),
            Self::TooManyReservations => write!(f, "too many reserved memory ranges"),
            Self::BadOption(word) => write!(f, "unknown command-line option {word}"),
            Self::Imsic(error) => write!(f, "{error}"),
        }
    }
}

impl Machine {
    /// Reads the device tree at `dtb`.
    pub fn read(dtb: usize) -> Result<Machine, MachineError> {
        let fdt = hw::device_tree(dtb).map_err(|_| MachineError::DeviceTree)?;
        let image = bare::entry::image_range().0 as u64;
        let ram = fdt
            .find_node("/memory")
            .and_then(|memory| memory.reg())
            .into_iter()
            .flatten()
            .filter_map(region)
            .find(|ram| ram.contains(&image))
            .ok_or(MachineError::NoMemory)?;
        let harts = fdt.find_node("/cpus").map_or(0, |cpus| {
            cpus.children()
                .filter(|node| node.name.split('@').next() == Some("cpu"))
                .count()
        });
        if harts == 0 {
            return Err(MachineError::NoHarts);
        }
        let chosen = fdt.find_node("/chosen");
        let property = |name| chosen.and_then(|node| node.property(name));
        let address = |name| property(name).and_then(|p| p.as_usize()).map(|a| a as u64);
        let initrd = match (address("linux,initrd-start"), address("linux,initrd-end")) {
            (Some(start), Some(end)) if start < end => start..end,
            _ => return Err(MachineError::NoInitrd),
        };
        let bootargs = property("bootargs").and_then(|p| p.as_str()).unwrap_or("");
        let reserved = fdt
            .find_node("/reserved-memory")
            .into_iter()
            .flat_map(|node| node.children())
            .filter_map(|node| node.reg())
            .flatten()
            .filter_map(region);
        let reservations = fdt
            .memory_reservations()
            .map(|r| r.address() as u64..r.address() as u64 + r.size() as u64);
        let device_tree = dtb as u64..(dtb + fdt.total_size()) as u64;
        let mut busy = heapless::Vec::new();
        for range in [device_tree, initrd.clone()]
            .into_iter()
            .chain(reserved)
            .chain(reservations)
        {
            busy.push(range)
                .map_err(|_| MachineError::TooManyReservations)?;
        }
        let options = Options::parse(bootargs)?;
        let imsic = if options.aia {
            Imsic::find(&fdt).map_err(MachineError::Imsic)?
        } else {
            None
        };
        Ok(Machine {
            ram,
            harts,
            initrd,
            busy,
            bootargs,
            options,
            imsic,
            uart: Uart::find(&fdt),
        })
    }
}

/// A `reg` entry as an address range (none without a size).
fn region(region: fdt::standard_nodes::MemoryRegion) -> Option<Range<u64>> {
    let start = region.starting_address as u64;
    Some(start..start + region.size? as u64)
}

impl Options {
    /// Reads the words of `bootargs`; words that are not L1's are someone else's.
    fn parse(bootargs: &'static str) -> Result<Options, MachineError> {
        let mut options = Options {
            nacl: true,
            gstage: GStageMode::Sv39x4,
            aia: false,
        };
        for word in bootargs.split_ascii_whitespace() {
            match word.split_once('=') {
                Some(("nacl", "off")) => options.nacl = false,
                Some(("gstage", name)) => {
                    let mode = MODES.iter().find(|(known, _)| *known == name);
                    options.gstage = mode.ok_or(MachineError::BadOption(word))?.1;
                }
                Some(("aia", "on")) => options.aia = true,
                Some(("aia", "off")) => options.aia = false,
                Some(("nacl" | "aia", _)) => return Err(MachineError::BadOption(word)),
                _ => {}
            }
        }
        Ok(options)
    }
}
