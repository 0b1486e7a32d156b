//! HLV, HLVX and HSV: loads and stores by L1 through its guest's two-stage translation.
//!
//! Priv spec, hypervisor chapter, "Hypervisor Virtual-Machine Load and Store Instructions".

use crate::csr::Effects;
use crate::csr::bits::*;
use crate::hart::{GuestRegs, NestedHart, Outcome};
use crate::host::{GuestMemory, MemError, PhysicalHart, real};
use crate::insn::{Reg, Width};
use crate::privilege::VirtualMode;
use crate::trap::Exception;
use gstage::paging::{MemoryFault, PteMemory, PteWidth};
use gstage::walk::AccessType;
use gstage::{Hgatp, TwoStageError, VsAccess, VsMode, Vsatp, WalkConfig, translate_two_stage};

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

impl<const CONTEXTS: usize, const GEILEN: usize> NestedHart<CONTEXTS, GEILEN> {
    /// HLV, HLVX or HSV from L1: the access through L1's virtual vsatp and hgatp, as though
    /// at V=1 with the privilege of hstatus.SPVP, then the load or the store.
    pub(crate) fn hypervisor_access(
        &mut self,
        access: HypervisorAccess,
        regs: &mut GuestRegs,
        memory: &mut (impl GuestMemory + ?Sized),
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> Result<(), AccessStop> {
        use crate::csr::number::{HENVCFG, HGATP, HSTATUS, VSATP, VSSTATUS};
        let c = *self.config();
        let gva = regs.get(access.rs1) & c.xlen_mask();
        let exception = |cause, htval, htinst| Exception {
            cause,
            interrupt: false,
            tval: gva,
            gva: true,
            htval,
            htinst,
        };
        // The transformed instruction: the same bits with the address offset (0) in rs1.
        let transformed = u64::from(access.bits & !(0x1f << 15));
        // Load and store access-fault codes; misaligned is one less.
        let (load_fault, store_fault) = (5, 7);
        let kind = match access.kind {
            Kind::Load { .. } => AccessType::Load,
            Kind::Store { .. } => AccessType::Store,
        };
        let access_fault = if kind == AccessType::Load {
            load_fault
        } else {
            store_fault
        };
        // Misaligned: the spec lets the hart raise address-misaligned (4 / 6) instead.
        if !gva.is_multiple_of(access.width.bytes() as u64) {
            return Err(AccessStop::Raise(exception(
                access_fault - 1,
                0,
                transformed,
            )));
        }
        let read = |csr| self.csrs.read(csr, 0).unwrap_or(0);
        let (hstatus, vsstatus, henvcfg) = (read(HSTATUS), read(VSSTATUS), read(HENVCFG));
        let vsatp = Vsatp::decode(c.xlen, read(VSATP)).unwrap_or(Vsatp {
            mode: VsMode::Bare,
            asid: 0,
            ppn: 0,
        });
        let hgatp = Hgatp::decode(c.xlen, read(HGATP)).unwrap_or(Hgatp::new(
            gstage::GStageMode::Bare,
            0,
            0,
        ));
        let vs_access = VsAccess {
            kind,
            hlvx: matches!(access.kind, Kind::Load { execute: true, .. }),
            user: hstatus & HSTATUS_SPVP == 0,
            sum: vsstatus & SSTATUS_SUM != 0,
            mxr: vsstatus & SSTATUS_MXR != 0,
            hs_mxr: hart.read_csr(real::VSSTATUS) & SSTATUS_MXR != 0,
        };
        let vs_config = WalkConfig {
            svadu: henvcfg & HENVCFG_ADUE != 0,
            pbmte: henvcfg & HENVCFG_PBMTE != 0,
            ..WalkConfig::default()
        };
        let g_config = self.shadow.config().l1_walk;
        let translated = translate_two_stage(
            vsatp,
            &vs_config,
            hgatp,
            &g_config,
            gva,
            vs_access,
            &mut L1Tables(&mut *memory),
        );
        let pa = match translated {
            Ok(t) => t.pa,
            Err(TwoStageError::PageFault { cause, .. }) => {
                return Err(AccessStop::Raise(exception(cause, 0, transformed)));
            }
            Err(TwoStageError::GuestPageFault(fault)) => {
                let htinst = fault
                    .pseudo_instruction(c.xlen)
                    .map_or(transformed, u64::from);
                return Err(AccessStop::Raise(exception(
                    fault.cause.code(),
                    fault.htval(),
                    htinst,
                )));
            }
            Err(TwoStageError::AccessFault { cause }) => {
                return Err(AccessStop::Raise(exception(cause, 0, 0)));
            }
            Err(TwoStageError::Contended) => return Err(AccessStop::Retry),
        };
        let done = match access.kind {
            Kind::Load { unsigned, rd, .. } => {
                load(&*memory, pa, access.width, unsigned).map(|v| regs.set(rd, v & c.xlen_mask()))
            }
            Kind::Store { rs2 } => store(memory, pa, access.width, regs.get(rs2)),
        };
        done.map_err(|MemError| AccessStop::Raise(exception(access_fault, 0, transformed)))
    }

    /// An HLV/HSV that did not complete: raise its exception, or resume at the same
    /// instruction so that it runs again.
    pub(crate) fn stop_access(
        &mut self,
        stop: AccessStop,
        mode: VirtualMode,
        regs: &mut GuestRegs,
        hart: &mut (impl PhysicalHart + ?Sized),
    ) -> Outcome {
        match stop {
            AccessStop::Raise(exception) => self.raise(exception, mode, regs, hart),
            AccessStop::Retry => Outcome::Resume {
                supervisor: mode == VirtualMode::Hypervisor,
                effects: Effects::empty(),
            },
        }
    }
}

/// An HLV, HLVX or HSV to perform.
#[derive(Clone, Copy)]
pub(crate) struct HypervisorAccess {
    pub bits: u32,
    pub width: Width,
    pub kind: Kind,
    pub rs1: Reg,
}

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Load {
        unsigned: bool,
        execute: bool,
        rd: Reg,
    },
    Store {
        rs2: Reg,
    },
}

/// Why an HLV/HSV stopped.
pub(crate) enum AccessStop {
    /// The exception the hardware would raise.
    Raise(Exception),
    /// Svadu contention: run the instruction again.
    Retry,
}
