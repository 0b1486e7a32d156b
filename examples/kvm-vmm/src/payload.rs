//! The guest payload: an ELF for riscv64 whose PT_LOAD segments are copied into each VM's
//! RAM at their physical addresses, entered at its entry point.

use std::path::Path;

use elf::ElfBytes;
use elf::abi::{EM_RISCV, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;

/// A segment to load: its bytes from the file, where they go, and its size in memory (the
/// rest zeroes: a VM's RAM starts zeroed).
pub struct Segment {
    pub paddr: u64,
    pub bytes: Vec<u8>,
    pub memsz: u64,
}

pub struct Payload {
    pub entry: u64,
    pub segments: Vec<Segment>,
}

impl Payload {
    /// Reads and checks the ELF at `path`.
    pub fn load(path: &Path) -> Result<Payload, String> {
        let file = std::fs::read(path).map_err(|e| format!("cannot read it ({e})"))?;
        let elf = ElfBytes::<LittleEndian>::minimal_parse(&file)
            .map_err(|e| format!("not an ELF: {e}"))?;
        if elf.ehdr.class != Class::ELF64 || elf.ehdr.e_machine != EM_RISCV {
            return Err("not a 64-bit RISC-V ELF".into());
        }
        let table = elf.segments().ok_or("no program headers")?;
        let mut segments = Vec::new();
        for header in table.iter().filter(|header| header.p_type == PT_LOAD) {
            let bytes = elf
                .segment_data(&header)
                .map_err(|e| format!("a segment is outside the file: {e}"))?;
            if header.p_memsz < header.p_filesz {
                return Err("a segment is larger in the file than in memory".into());
            }
            segments.push(Segment {
                paddr: header.p_paddr,
                bytes: bytes.to_vec(),
                memsz: header.p_memsz,
            });
        }
        if segments.is_empty() {
            return Err("no PT_LOAD segment".into());
        }
        Ok(Payload {
            entry: elf.ehdr.e_entry,
            segments,
        })
    }
}
