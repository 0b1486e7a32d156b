//! The storage of the virtual CSR file and its read and write rules.

use super::bits::*;
use super::table::{CsrRow, Effect, Half, Rule, Slot, find};
use crate::config::{NestedConfig, Xlen};
use gstage::{Hgatp, Vsatp};

bitflags::bitflags! {
    /// What a CSR write changed that the engine or the host must act on.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Effects: u8 {
        /// hgatp changed: L2's shadow context must be chosen again.
        const HGATP = 1 << 0;
        /// hstatus.SPV changed: whether SRET enters L2.
        const SPV = 1 << 1;
        /// A timer compare or offset changed (vstimecmp, htimedelta, henvcfg.STCE).
        const TIMER = 1 << 2;
        /// A pending, enabled or delegated interrupt bit changed.
        const INTERRUPTS = 1 << 3;
        /// The hart switched between L1 and its guest: see `NestedHart::in_guest`.
        const WORLD = 1 << 4;
    }
}

/// Why a CSR access is refused; the caller turns it into the trap its privilege calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrError {
    /// No such CSR in this configuration: illegal instruction from every mode.
    Absent,
    /// A write to a read-only CSR: illegal instruction from every mode.
    ReadOnly,
}

/// The H and VS CSRs of one L1 hart, as L1 sees them while it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualCsrs {
    config: NestedConfig,
    values: [u64; Slot::COUNT],
}

impl VirtualCsrs {
    /// The file at reset: every field zero, hgatp and vsatp Bare, and on RV64 the read-only
    /// VSXL and UXL fields saying 64-bit (priv spec, "Reset": only the MODEs are defined;
    /// a deterministic zero elsewhere is our choice, as a hypervisor starts from it).
    pub fn new(config: NestedConfig) -> Self {
        Self {
            config,
            values: [0; Slot::COUNT],
        }
    }

    /// The configuration the file follows.
    pub fn config(&self) -> &NestedConfig {
        &self.config
    }

    /// The row of CSR `number` if it exists in this configuration.
    pub fn row(&self, number: u16) -> Option<&'static CsrRow> {
        find(number).filter(|row| row.exists(&self.config))
    }

    /// Reads CSR `number` as L1 would; `now` is the `time` CSR, for hip.VSTIP under Sstc.
    pub fn read(&self, number: u16, now: u64) -> Result<u64, CsrError> {
        let row = self.row(number).ok_or(CsrError::Absent)?;
        Ok(self.read_row(row, now))
    }

    /// Reads the CSR of `row` (one of this configuration's) as L1 would.
    pub(crate) fn read_row(&self, row: &CsrRow, now: u64) -> u64 {
        let full = match row.rule {
            Rule::Hstatus => self.get(Slot::Hstatus) | self.read_only_xl(HSTATUS_VSXL_SHIFT),
            Rule::Vsstatus => self.vsstatus(),
            Rule::Hip => self.hip(now),
            Rule::Vsip => (self.hip(now) & self.get(Slot::Hideleg) & VS_INTERRUPTS) >> 1,
            Rule::Vsie => (self.get(Slot::Hie) & self.get(Slot::Hideleg) & VS_INTERRUPTS) >> 1,
            _ => self.get(row.slot),
        };
        self.view(row.half, full)
    }

    /// Writes `value` to CSR `number` as L1 would: the CSR then holds the legal value the
    /// spec's WARL rules give. Returns what changed that the engine must act on.
    pub fn write(&mut self, number: u16, value: u64) -> Result<Effects, CsrError> {
        let row = self.row(number).ok_or(CsrError::Absent)?;
        let old = self.get(row.slot);
        let wanted = self.merge(row.half, old, value);
        let legal = match row.rule {
            Rule::Mask(writable) => {
                let mask = writable(&self.config);
                (old & !mask) | (wanted & mask)
            }
            Rule::Hstatus => self.legal_hstatus(old, wanted),
            Rule::Hgatp => self.legal_hgatp(old, wanted),
            Rule::Vsatp => self.legal_vsatp(old, wanted),
            Rule::Vstvec if wanted & 0b10 != 0 => old,
            Rule::Vstvec => wanted,
            Rule::Vsstatus => {
                let mask = self.vsstatus_writable();
                (old & !mask) | (wanted & mask)
            }
            // hip and vsip write only VSSIP, which lives in hvip; vsie writes hie's VS bits.
            Rule::Hip => (old & !VSSIP) | (wanted & VSSIP),
            Rule::Vsip => {
                let mask = VSSIP & self.get(Slot::Hideleg);
                (old & !mask) | ((wanted << 1) & mask)
            }
            Rule::Vsie => {
                let mask = VS_INTERRUPTS & self.get(Slot::Hideleg);
                (old & !mask) | ((wanted << 1) & mask)
            }
            Rule::ReadOnly => return Err(CsrError::ReadOnly),
        };
        self.values[row.slot as usize] = legal;
        Ok(self.effects(row, old, legal))
    }

    fn effects(&self, row: &CsrRow, old: u64, new: u64) -> Effects {
        if old == new {
            return Effects::empty();
        }
        match row.effect {
            Effect::None if row.slot == Slot::Hstatus => {
                let changed = |field| (old ^ new) & field != 0;
                let spv = if changed(HSTATUS_SPV) {
                    Effects::SPV
                } else {
                    Effects::empty()
                };
                // VGEIN picks the guest file whose line is L2's VSEIP.
                let vgein = if changed(HSTATUS_VGEIN) {
                    Effects::INTERRUPTS
                } else {
                    Effects::empty()
                };
                spv | vgein
            }
            Effect::None => Effects::empty(),
            Effect::Hgatp => Effects::HGATP,
            Effect::Timer => Effects::TIMER,
            Effect::Interrupts => Effects::INTERRUPTS,
        }
    }

    /// Sets hgeip, the guest external interrupts pending for L1, for a host that offers guest
    /// external interrupts without the AIA (with it, `aia-virt` computes hgeip).
    pub fn set_hgeip(&mut self, pending: u64) {
        self.values[Slot::Hgeip as usize] =
            pending & ((1u64 << self.config.geilen.min(63)) - 1) << 1;
    }

    pub(crate) fn get(&self, slot: Slot) -> u64 {
        self.values[slot as usize]
    }

    /// The part of a 64-bit value that a CSR number shows to an L1 of this XLEN.
    fn view(&self, half: Half, full: u64) -> u64 {
        match (half, self.config.xlen) {
            (Half::High, _) => full >> 32,
            (Half::Full, Xlen::Rv32) => full & 0xffff_ffff,
            (Half::Full, Xlen::Rv64) => full,
        }
    }

    /// The 64-bit value a write of `value` through a CSR number asks for.
    fn merge(&self, half: Half, old: u64, value: u64) -> u64 {
        match (half, self.config.xlen) {
            (Half::High, _) => (old & 0xffff_ffff) | (value << 32),
            (Half::Full, Xlen::Rv32) => (old & !0xffff_ffff) | (value & 0xffff_ffff),
            (Half::Full, Xlen::Rv64) => value,
        }
    }

    /// A read-only XL field (VSXL, UXL) saying 64-bit, on RV64 only.
    fn read_only_xl(&self, shift: u32) -> u64 {
        match self.config.xlen {
            Xlen::Rv64 => XL_64 << shift,
            Xlen::Rv32 => 0,
        }
    }

    fn legal_hstatus(&self, old: u64, wanted: u64) -> u64 {
        let mask = HSTATUS_GVA
            | HSTATUS_SPV
            | HSTATUS_SPVP
            | HSTATUS_HU
            | HSTATUS_VTVM
            | HSTATUS_VTW
            | HSTATUS_VTSR;
        let vgein = (wanted & HSTATUS_VGEIN) >> HSTATUS_VGEIN_SHIFT;
        // VGEIN is WLRL over 0..=GEILEN: an illegal value keeps the old one.
        let vgein = if vgein <= u64::from(self.config.geilen) {
            wanted & HSTATUS_VGEIN
        } else {
            old & HSTATUS_VGEIN
        };
        (wanted & mask) | vgein
    }

    fn legal_hgatp(&self, old: u64, wanted: u64) -> u64 {
        let c = &self.config;
        // The slot only ever holds legal values, so it decodes; Bare is the reset value.
        let current =
            Hgatp::decode(c.xlen, old).unwrap_or(Hgatp::new(gstage::GStageMode::Bare, 0, 0));
        current
            .write_warl(c.xlen, wanted, c.hgatp_modes, c.vmid_bits)
            .encode(c.xlen)
    }

    fn legal_vsatp(&self, old: u64, wanted: u64) -> u64 {
        let c = &self.config;
        match Vsatp::decode(c.xlen, wanted) {
            Ok(vsatp) if c.vsatp_modes.accepts(vsatp.mode) => {
                let asid_mask = ((1u32 << c.asid_bits.min(16)) - 1) as u16;
                Vsatp {
                    asid: vsatp.asid & asid_mask,
                    ..vsatp
                }
                .encode(c.xlen)
            }
            // A reserved or unoffered MODE: the write is ignored, as satp's is.
            _ => old,
        }
    }

    /// Holds `value`, what the real `csr` (one the hart stores as written: vstvec, vsscratch,
    /// vsepc, vscause, vstval, vsatp) held after L2 ran, exactly. L2 writes these to the
    /// hardware itself, so the real hart's WARL rule has already applied, and it may keep what
    /// the virtual rule would not: a vsatp MODE or ASID bit the configuration does not offer,
    /// or vsepc's bit 0 on a hart that does not clear it.
    pub(crate) fn keep_real(&mut self, csr: u16, value: u64) {
        if let Some(row) = self.row(csr) {
            self.values[row.slot as usize] = value & self.config.xlen_mask();
        }
    }

    fn vsstatus_writable(&self) -> u64 {
        let c = &self.config;
        let optional = |offered, bits| if offered { bits } else { 0 };
        SSTATUS_SIE
            | SSTATUS_SPIE
            | SSTATUS_SPP
            | SSTATUS_SUM
            | SSTATUS_MXR
            | optional(c.fp, SSTATUS_FS)
            | optional(c.vector, SSTATUS_VS)
    }

    fn vsstatus(&self) -> u64 {
        let value = self.get(Slot::Vsstatus);
        // A two-bit field is Dirty when both its bits are set.
        let is_dirty = |field: u64| value & field == field;
        let dirty = is_dirty(SSTATUS_FS) || is_dirty(SSTATUS_VS) || is_dirty(SSTATUS_XS);
        let sd = match self.config.xlen {
            Xlen::Rv32 => 1 << 31,
            Xlen::Rv64 => 1 << 63,
        };
        value | self.read_only_xl(SSTATUS_UXL_SHIFT) | if dirty { sd } else { 0 }
    }

    fn hip(&self, now: u64) -> u64 {
        self.hip_from(
            now,
            self.get(Slot::Hvip),
            self.get(Slot::Hgeip),
            self.get(Slot::Hgeie),
        )
    }

    /// hip: hvip's VSSIP, VSTIP and VSEIP, or'ed with the Sstc timer signal and the guest
    /// external interrupt VGEIN selects; SGEIP when an enabled guest file has an interrupt.
    /// hvip, hgeip and hgeie are given: with AIA they are `aia-virt`'s.
    pub(crate) fn hip_from(&self, now: u64, hvip: u64, hgeip: u64, hgeie: u64) -> u64 {
        let vgein = (self.get(Slot::Hstatus) & HSTATUS_VGEIN) >> HSTATUS_VGEIN_SHIFT;
        let external = vgein != 0 && hgeip >> vgein & 1 == 1;
        let sgei = hgeip & hgeie != 0;
        (hvip & VS_INTERRUPTS)
            | if self.vstimer_pending(now) { VSTIP } else { 0 }
            | if external { VSEIP } else { 0 }
            | if sgei { SGEIP } else { 0 }
    }

    /// The Sstc signal of vstimecmp at `time` = `now` (hip.VSTIP's other source).
    pub(crate) fn vstimer_pending(&self, now: u64) -> bool {
        self.config.sstc
            && self.get(Slot::Henvcfg) & HENVCFG_STCE != 0
            && now.wrapping_add(self.get(Slot::Htimedelta)) >= self.get(Slot::Vstimecmp)
    }
}
