//! Loading a program image: an ELF (its PT_LOAD segments at their physical addresses) or a
//! raw image (a Linux `Image` at RAM base + its text_offset, anything else at RAM base +
//! 2 MiB, where OpenSBI would jump).

use elf::ElfBytes;
use elf::abi::PT_LOAD;
use elf::endian::LittleEndian;

/// Why an image cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The ELF headers do not parse.
    BadElf,
    /// A segment lies outside the file.
    Truncated,
    /// A part of the image falls outside the target's memory.
    OutOfRange,
}

/// Where an image goes: `copy(addr, bytes)` and `zero(addr, len)` write the target memory,
/// and say false when the range is not all target memory.
pub struct Placement<'a> {
    /// Copies bytes to a physical address of the target.
    pub copy: &'a mut dyn FnMut(u64, &[u8]) -> bool,
    /// Zeroes a range of the target.
    pub zero: &'a mut dyn FnMut(u64, u64) -> bool,
}

const LINUX_MAGIC: &[u8; 4] = b"RSC\x05";

/// A Linux `Image`'s effective size (its header's image_size: the memory it occupies from its
/// load address, bss included); `None` for anything else.
pub fn linux_image_size(image: &[u8]) -> Option<u64> {
    if image.get(56..60) != Some(LINUX_MAGIC) {
        return None;
    }
    let mut size = [0; 8];
    size.copy_from_slice(image.get(16..24)?);
    Some(u64::from_le_bytes(size))
}

/// Loads `image` for a machine whose RAM starts at `ram_base`; returns the entry address.
pub fn load(image: &[u8], ram_base: u64, to: Placement) -> Result<u64, ImageError> {
    if image.starts_with(b"\x7fELF") {
        let file =
            ElfBytes::<LittleEndian>::minimal_parse(image).map_err(|_| ImageError::BadElf)?;
        let segments = file.segments().ok_or(ImageError::BadElf)?;
        for segment in segments.iter().filter(|s| s.p_type == PT_LOAD) {
            let start = usize::try_from(segment.p_offset).map_err(|_| ImageError::Truncated)?;
            let len = usize::try_from(segment.p_filesz).map_err(|_| ImageError::Truncated)?;
            let bytes = image
                .get(start..start.checked_add(len).ok_or(ImageError::Truncated)?)
                .ok_or(ImageError::Truncated)?;
            let bss = segment.p_memsz.saturating_sub(segment.p_filesz);
            let bss_start = segment.p_paddr.checked_add(segment.p_filesz);
            let placed = (to.copy)(segment.p_paddr, bytes)
                && (bss == 0 || bss_start.is_some_and(|start| (to.zero)(start, bss)));
            if !placed {
                return Err(ImageError::OutOfRange);
            }
        }
        return Ok(file.ehdr.e_entry);
    }
    let offset = if image.get(56..60) == Some(LINUX_MAGIC) {
        let mut text_offset = [0; 8];
        text_offset.copy_from_slice(&image[8..16]);
        u64::from_le_bytes(text_offset)
    } else {
        0x20_0000
    };
    let entry = ram_base.checked_add(offset).ok_or(ImageError::OutOfRange)?;
    if !(to.copy)(entry, image) {
        return Err(ImageError::OutOfRange);
    }
    Ok(entry)
}
