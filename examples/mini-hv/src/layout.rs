//! Sizes and places: L0's command line (`l1-mem=SIZE`), the frame pool that size implies, and
//! where L1's initrd and device tree go in L1's RAM so that none of image, initrd and device
//! tree overlaps another or the end.

use alloc::format;
use alloc::string::String;

/// L1's RAM when the command line does not say: enough for Linux with KVM and a few small VMs.
pub const DEFAULT_L1_MEM: u64 = 512 << 20;
/// L1's RAM is a whole number of 2 MiB blocks (so that its G-stage uses large leaves), from
/// 16 MiB to 64 GiB.
const L1_MEM_ALIGN: u64 = 2 << 20;
const MIN_L1_MEM: u64 = 16 << 20;
const MAX_L1_MEM: u64 = 64 << 30;
/// L1's device tree goes in the last 2 MiB of its RAM (2 MiB-aligned, as QEMU places one).
pub const DTB_SLOT: u64 = 2 << 20;
const PAGE: u64 = 4096;

/// What L0's command line (QEMU's `-append`) says.
#[derive(Debug)]
pub struct Options {
    /// L1's RAM in bytes (`l1-mem=SIZE`, SIZE in bytes or with a K, M or G suffix).
    pub l1_mem: u64,
}

impl Options {
    /// Reads the space-separated words of `bootargs`; an unknown one is an error.
    pub fn parse(bootargs: &str) -> Result<Self, String> {
        let mut options = Options {
            l1_mem: DEFAULT_L1_MEM,
        };
        for word in bootargs.split_ascii_whitespace() {
            match word.split_once('=') {
                Some(("l1-mem", size)) => options.l1_mem = l1_mem(size)?,
                _ => {
                    return Err(format!(
                        "unknown word \"{word}\" on L0's command line (it takes l1-mem=SIZE)"
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// `SIZE` of `l1-mem=SIZE`.
fn l1_mem(text: &str) -> Result<u64, String> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|size| (MIN_L1_MEM..=MAX_L1_MEM).contains(size))
        .filter(|size| size.is_multiple_of(L1_MEM_ALIGN))
        .ok_or_else(|| {
            format!("l1-mem={text}: L1's RAM must be a multiple of 2 MiB from 16 MiB to 64 GiB")
        })
}

/// The frame pool for L1's G-stage and the shadows: 16 MiB (L1's own G-stage and every
/// context's root) and 1/16 of L1's RAM. A shadow maps at most all of L1's RAM, with one
/// 4 KiB table per 2 MiB of it in the worst case (1/512), so 1/16 holds every context of
/// four harts fully mapped in 4 KiB pages; beyond that, a hart evicts its own contexts.
/// `cargo xtask run` sizes QEMU's memory with the same rule (xtask/src/qemu.rs).
pub const fn pool_size(l1_mem: u64) -> u64 {
    (16 << 20) + l1_mem / 16
}

/// Where L1's initrd and device tree go, in L1's guest-physical space.
#[derive(Debug)]
pub struct Placement {
    /// The initrd: (start, end).
    pub initrd: Option<(u64, u64)>,
    /// The device tree's address.
    pub dtb: u64,
}

/// Places the device tree (`dtb_len` bytes) in the last 2 MiB of L1's RAM `[base, end)` and
/// the initrd (`initrd_len` bytes) right below it on a page boundary, both clear of the image
/// `[image.0, image.1)`; what does not fit is named with how many bytes it lacks.
pub fn place(
    (base, end): (u64, u64),
    image: (u64, u64),
    initrd_len: Option<u64>,
    dtb_len: u64,
) -> Result<Placement, String> {
    if dtb_len > DTB_SLOT {
        return Err(format!(
            "L1's device tree ({dtb_len} bytes) is {} bytes larger than its 2 MiB slot",
            dtb_len - DTB_SLOT
        ));
    }
    let dtb = end - DTB_SLOT;
    // How far the image reaches into [start, stop): what L1's RAM lacks for it.
    let overlap =
        |start: u64, stop: u64| (image.0 < stop && start < image.1).then(|| image.1 - start);
    if let Some(bytes) = overlap(dtb, end) {
        return Err(format!(
            "L1's device tree does not fit: its slot, the last 2 MiB of L1's RAM \
             ({dtb:#x}..{end:#x}), overlaps the image ({:#x}..{:#x}) by {bytes} bytes; \
             raise l1-mem",
            image.0, image.1
        ));
    }
    let initrd = match initrd_len {
        None => None,
        Some(len) => {
            let start = dtb
                .checked_sub(len)
                .map(|start| start & !(PAGE - 1))
                .filter(|&start| start >= base);
            let short = match start {
                None => Some(len - (dtb - base)),
                Some(start) => overlap(start, start + len),
            };
            if let Some(bytes) = short {
                return Err(format!(
                    "L1's initrd ({len} bytes) does not fit below the device tree at {dtb:#x} \
                     beside the image ({:#x}..{:#x}): it lacks {bytes} bytes; raise l1-mem",
                    image.0, image.1
                ));
            }
            start.map(|start| (start, start + len))
        }
    };
    Ok(Placement { initrd, dtb })
}
