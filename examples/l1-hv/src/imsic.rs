//! The S-level IMSIC of L1's device tree and the guest interrupt files it holds.
//!
//! AIA spec, "Incoming MSI Controller", memory region: one 4 KiB page per interrupt file, and
//! each hart's S-level file followed by its guest files in one block, [S, guest 1, guest 2, ...],
//! of 2^guest-index-bits pages; the blocks follow the order of the node's interrupts-extended.

use core::fmt;
use core::ops::Range;
use fdt::Fdt;

use crate::hw::InterruptFilePage;

/// Bytes of one interrupt file's page.
pub const FILE_SIZE: u64 = 0x1000;
/// The most guest-index bits: guest files are numbered up to 63 (hstatus.VGEIN's six bits).
const MAX_GUEST_INDEX_BITS: u32 = 6;
/// The supervisor external interrupt, which an S-level IMSIC names in interrupts-extended
/// (an M-level one names 11).
const SUPERVISOR_EXTERNAL: u32 = 9;

/// The S-level IMSIC: the harts' S-level and guest interrupt files.
#[derive(Clone, Debug)]
pub struct Imsic {
    /// The first `reg` range: the blocks of the harts (of the first group, with several).
    region: Range<u64>,
    /// riscv,guest-index-bits: guest files are numbered 1 to 2^bits - 1, at most.
    guest_index_bits: u32,
    /// riscv,num-ids: identities 1 to this in every file.
    identities: u32,
    /// The block of each hart L1 can run on, by hart ID.
    blocks: [Option<u64>; bare::MAX_HARTS],
}

/// A guest interrupt file: its hart, its number (the hstatus.VGEIN that selects it) and page.
#[derive(Clone, Copy, Debug)]
pub struct GuestFile {
    /// The hart whose guest file it is.
    pub hart: usize,
    /// Its guest index.
    pub guest: u32,
    /// Its page.
    pub page: InterruptFilePage,
    /// Its identities are 1 to this.
    pub identities: u32,
}

/// Why the device tree's S-level IMSIC cannot be used.
#[derive(Clone, Copy, Debug)]
pub enum ImsicError {
    /// No `reg`, or an empty one.
    NoRegion,
    /// No riscv,num-ids.
    NoIdentities,
    /// More riscv,guest-index-bits than guest files can be numbered with.
    GuestIndexBits(u32),
    /// An interrupts-extended entry names a phandle that is not a hart's interrupt controller.
    UnknownHart(u32),
    /// The hart has no block.
    NoBlock(usize),
    /// The guest index is 0 or beyond guest-index-bits.
    NoGuestFile(u32),
    /// The page would lie outside `reg`.
    OutsideRegion(u64),
}

impl fmt::Display for ImsicError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::NoRegion => write!(f, "the S-level IMSIC has no reg"),
            Self::NoIdentities => write!(f, "the S-level IMSIC has no riscv,num-ids"),
            Self::GuestIndexBits(bits) => {
                write!(
                    f,
                    "the S-level IMSIC has {bits} guest-index bits (at most 6)"
                )
            }
            Self::UnknownHart(phandle) => {
                write!(f, "the S-level IMSIC names phandle {phandle}, no hart's")
            }
            Self::NoBlock(hart) => write!(f, "the S-level IMSIC has no files for hart {hart}"),
            Self::NoGuestFile(guest) => write!(f, "the S-level IMSIC has no guest file {guest}"),
            Self::OutsideRegion(pa) => write!(f, "IMSIC page {pa:#x} lies outside its reg"),
        }
    }
}

/// An identity the interrupt file does not have.
#[derive(Clone, Copy, Debug)]
pub struct NoSuchIdentity(pub u64);

impl Imsic {
    /// The S-level IMSIC of `fdt` (compatible "riscv,imsics", its interrupts-extended naming
    /// supervisor external interrupts); none when there is none or it has no guest files.
    pub fn find(fdt: &Fdt) -> Result<Option<Imsic>, ImsicError> {
        let node = fdt.all_nodes().find(|node| {
            let compatible = node
                .compatible()
                .map(|c| c.all().any(|c| c == "riscv,imsics"));
            let mut irqs = interrupts(*node).map(|(_, irq)| irq).peekable();
            compatible == Some(true)
                && irqs.peek().is_some()
                && irqs.all(|irq| irq == SUPERVISOR_EXTERNAL)
        });
        let Some(node) = node else { return Ok(None) };
        let number = |name| node.property(name).and_then(|p| p.as_usize());
        let guest_index_bits = number("riscv,guest-index-bits").unwrap_or(0) as u32;
        if guest_index_bits == 0 {
            return Ok(None);
        }
        if guest_index_bits > MAX_GUEST_INDEX_BITS {
            return Err(ImsicError::GuestIndexBits(guest_index_bits));
        }
        let region = node
            .reg()
            .and_then(|mut reg| reg.next())
            .and_then(|reg| {
                let start = reg.starting_address as u64;
                Some(start..start + reg.size? as u64)
            })
            .filter(|region| !region.is_empty())
            .ok_or(ImsicError::NoRegion)?;
        let identities = number("riscv,num-ids").ok_or(ImsicError::NoIdentities)? as u32;
        let stride = FILE_SIZE << guest_index_bits;
        let mut blocks = [None; bare::MAX_HARTS];
        for (block, (phandle, _)) in interrupts(node).enumerate() {
            let hart = hart_of(fdt, phandle).ok_or(ImsicError::UnknownHart(phandle))?;
            if let Some(slot) = blocks.get_mut(hart) {
                *slot = Some(region.start + block as u64 * stride);
            }
        }
        Ok(Some(Imsic {
            region,
            guest_index_bits,
            identities,
            blocks,
        }))
    }

    /// Guest file `guest` of hart `hart`.
    pub fn guest_file(&self, hart: usize, guest: u32) -> Result<GuestFile, ImsicError> {
        let block = self
            .blocks
            .get(hart)
            .copied()
            .flatten()
            .ok_or(ImsicError::NoBlock(hart))?;
        if guest == 0 || guest >= 1 << self.guest_index_bits {
            return Err(ImsicError::NoGuestFile(guest));
        }
        let pa = block + u64::from(guest) * FILE_SIZE;
        let page =
            InterruptFilePage::within(&self.region, pa).ok_or(ImsicError::OutsideRegion(pa))?;
        Ok(GuestFile {
            hart,
            guest,
            page,
            identities: self.identities,
        })
    }
}

impl GuestFile {
    /// Makes `identity` pending in the file: an MSI, written to its seteipnum_le.
    pub fn send(&self, identity: u64) -> Result<(), NoSuchIdentity> {
        match u32::try_from(identity) {
            Ok(id) if (1..=self.identities).contains(&id) => {
                self.page.set_pending(id);
                Ok(())
            }
            _ => Err(NoSuchIdentity(identity)),
        }
    }
}

/// The (phandle, interrupt) pairs of `node`'s interrupts-extended: a hart's interrupt
/// controller (riscv,cpu-intc) has one interrupt cell.
pub fn interrupts<'a>(node: fdt::node::FdtNode<'_, 'a>) -> impl Iterator<Item = (u32, u32)> + 'a {
    let cells = node
        .property("interrupts-extended")
        .map_or(&[][..], |p| p.value);
    cells.chunks_exact(8).map(|pair| {
        let cell =
            |at: usize| u32::from_be_bytes([pair[at], pair[at + 1], pair[at + 2], pair[at + 3]]);
        (cell(0), cell(4))
    })
}

/// The hart whose interrupt controller has `phandle`.
pub fn hart_of(fdt: &Fdt, phandle: u32) -> Option<usize> {
    fdt.find_node("/cpus")?
        .children()
        .filter(|cpu| cpu.name.split('@').next() == Some("cpu"))
        .find(|cpu| {
            cpu.children().any(|intc| {
                intc.name == "interrupt-controller"
                    && intc.property("phandle").and_then(|p| p.as_usize()) == Some(phandle as usize)
            })
        })
        .and_then(|cpu| cpu.property("reg")?.as_usize())
}
