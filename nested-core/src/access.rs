//! HLV, HLVX and HSV: loads and stores by L1 through its guest's two-stage translation.
//!
//! Priv spec, hypervisor chapter, "Hypervisor Virtual-Machine Load and Store Instructions".

use crate::host::{GuestMemory, MemError};
use crate::insn::Width;
use gstage::paging::{MemoryFault, PteMemory, PteWidth};

/// L1's guest-physical memory as the table memory of L1's own G-stage and its guests'
/// VS-stage (both hold L1 guest-physical addresses once translated).
pub(crate) struct L1Tables<'a, M: ?Sized>(pub &'a mut M);

impl<M: GuestMemory + ?Sized> PteMemory for L1Tables<'_, M> {
    fn read_pte(&mut self, addr: u64, width: PteWidth) -> Result<u64, MemoryFault> {
        let mut bytes = [0; 8];
        let len = width.bytes() as usize;
        self.0
            .read(addr, &mut bytes[..len])
            .map_err(|MemError| MemoryFault)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn compare_exchange_pte(
        &mut self,
        addr: u64,
        width: PteWidth,
        current: u64,
        new: u64,
    ) -> Result<u64, MemoryFault> {
        match width {
            PteWidth::Bits64 => self
                .0
                .compare_exchange_u64(addr, current, new)
                .map_err(|MemError| MemoryFault),
            PteWidth::Bits32 => {
                // The 32-bit entry inside its aligned doubleword, exchanged whole.
                let word = addr & !7;
                let shift = (addr & 4) * 8;
                let whole = self.read_pte(word, PteWidth::Bits64)?;
                let found = (whole >> shift) & 0xffff_ffff;
                if found != current {
                    return Ok(found);
                }
                let replaced = (whole & !(0xffff_ffff << shift)) | (new << shift);
                let seen = self
                    .0
                    .compare_exchange_u64(word, whole, replaced)
                    .map_err(|MemError| MemoryFault)?;
                Ok((seen >> shift) & 0xffff_ffff)
            }
        }
    }
}

/// Reads `width` bytes at `pa` and extends them to 64 bits (sign unless `unsigned`).
pub(crate) fn load(
    mem: &(impl GuestMemory + ?Sized),
    pa: u64,
    width: Width,
    unsigned: bool,
) -> Result<u64, MemError> {
    let mut bytes = [0; 8];
    let len = width.bytes();
    mem.read(pa, &mut bytes[..len])?;
    let value = u64::from_le_bytes(bytes);
    let unused = 64 - 8 * len as u32;
    Ok(if unsigned {
        value
    } else {
        (((value << unused) as i64) >> unused) as u64
    })
}

/// Writes the low `width` bytes of `value` at `pa`.
pub(crate) fn store(
    mem: &mut (impl GuestMemory + ?Sized),
    pa: u64,
    width: Width,
    value: u64,
) -> Result<(), MemError> {
    mem.write(pa, &value.to_le_bytes()[..width.bytes()])
}
