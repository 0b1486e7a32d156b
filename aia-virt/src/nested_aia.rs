//! [`NestedAia`]: the AIA state one L1 hart expects, and the calls `nested-core` makes on it.
//!
//! AIA VS-level chapter and "CSRs" chapter; Priv spec, hypervisor chapter (`hgeie`/`hgeip`).

use crate::csr::{AiaCsr, CsrError, CsrOp, CsrRow, CsrTrap, Hstateen0, Origin, Xlen, row_for};
use crate::geilen::{FileBacking, GuestFileHardware, MAX_GEILEN, PhysGuestFile, Vgein, hgeie_mask};
use crate::hvictl::{Hvictl, MAX_IID_BITS, MIN_IID_BITS};
use crate::hvip::{AIA_LOCAL, VSEIP, VSSIP, VsContext, hvien_mask, hvip_mask, vsip};
use crate::hviprio::Hviprio;
use crate::imsic_file::{
    BadFileSize, ImsicFile, MAX_IDENTITIES, MmioFault, MmioOp, Topei, WordPart, mmio_check,
    seteipnum_identity,
};
use crate::iselect::{ImsicReg, VSISELECT_MASK, VsSelect, decode};
use crate::vstopi::{SEI, SeiPriority, Vstopi, VstopiInputs, vstopi};

/// The host's choices for the AIA it presents to L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AiaConfig {
    /// N, the identities of every virtual guest file (63..=2047, 64k - 1). With real backing
    /// files it must equal the real guest files' size.
    pub identities: u16,
    /// Implemented `hvictl.IID` bits (6..=12); match the real `hvictl` so it can be projected.
    pub iid_bits: u8,
    /// Which `hvien` bits 13-63 are writable (others read-only zero); match the real `hvien`.
    pub hvien_writable: u64,
    /// Implemented bits of each `hviprio` byte: 0 (all read-only zero) or 6..=8.
    pub hviprio_bits: u8,
}

impl AiaConfig {
    /// Files of `identities` identities, 12 IID bits, every `hvien` bit 13-63 writable, 8-bit
    /// `hviprio` bytes.
    pub const fn new(identities: u16) -> AiaConfig {
        AiaConfig {
            identities,
            iid_bits: MAX_IID_BITS,
            hvien_writable: AIA_LOCAL,
            hviprio_bits: 8,
        }
    }

    /// The configuration [`NestedAia::new`] accepts that is nearest to this one: the file
    /// size rounded up to 64k - 1 within 63..=2047, IID bits within 6..=12, `hviprio` bits 1..=5
    /// raised to 6 and above 8 lowered to 8, `hvien` bits 12:0 cleared.
    pub const fn clamped(self) -> AiaConfig {
        let rounded = (self.identities as u32 | 63) as u16;
        let identities = if rounded > MAX_IDENTITIES {
            MAX_IDENTITIES
        } else {
            rounded
        };
        let iid_bits = if self.iid_bits < MIN_IID_BITS {
            MIN_IID_BITS
        } else if self.iid_bits > MAX_IID_BITS {
            MAX_IID_BITS
        } else {
            self.iid_bits
        };
        let hviprio_bits = match self.hviprio_bits {
            0 => 0,
            1..=6 => 6,
            7 => 7,
            _ => 8,
        };
        AiaConfig {
            identities,
            iid_bits,
            hvien_writable: hvien_mask(self.hvien_writable),
            hviprio_bits,
        }
    }
}

/// A configuration the AIA does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The file size is not 64k - 1 in 63..=2047.
    FileSize(BadFileSize),
    /// GEILEN above 63.
    Geilen(usize),
    /// IID bits outside 6..=12.
    IidBits(u8),
    /// `hviprio` bits neither 0 nor 6..=8.
    HviprioBits(u8),
}

/// One of L1's virtual guest files.
#[derive(Clone, Debug, PartialEq, Eq)]
struct GuestFile {
    backing: FileBacking,
    /// The real file [`NestedAia::prepare_hardware`] readied for this one, until attached.
    prepared: Option<PhysGuestFile>,
    /// The file's state while emulated (stale while backed by hardware).
    soft: ImsicFile,
}

/// What the host must load into the real CSRs before it runs L2 (AIA VS-level chapter;
/// ARCHITECTURE "entering/leaving L2"). Everything else AIA-related is L1's value unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L2Interrupts {
    /// Real `hstatus.VGEIN`: the real file backing L1's selected file, else 0.
    pub vgein: u8,
    /// Real `hvip`: L1's, plus VSEIP when L1's selected file is emulated and signals.
    pub hvip: u64,
    /// Real `hvictl`: L1's, with IID/IPRIO adjusted while L1's VGEIN is nonzero but the real
    /// one is 0 (see [`NestedAia::l2_interrupts`]).
    pub hvictl: u64,
    /// Real `hvien`: L1's.
    pub hvien: u64,
    /// Real `hviprio1`: L1's.
    pub hviprio1: u64,
    /// Real `hviprio2`: L1's.
    pub hviprio2: u64,
    /// Bits of `hvip` above that the projection added (VSEIP for a signalling emulated file);
    /// L1's own `hvip` has them clear. See [`NestedAia::save_l2_hvip`].
    pub injected_hvip: u64,
}

/// Why a real guest file could not be lent to a virtual one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachError {
    /// The virtual file number is 0 or above GEILEN.
    NoSuchFile,
    /// The virtual file is already backed by a real file.
    AlreadyBacked,
    /// The real file backs, or was prepared for, another virtual file.
    InUse,
    /// [`NestedAia::prepare_hardware`] was not called for this pair first.
    NotPrepared,
}

/// The nested AIA of one L1 hart, with `GEILEN` (0..=63) virtual guest files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedAia<const GEILEN: usize> {
    config: AiaConfig,
    hvien: u64,
    hvip: u64,
    hvictl: Hvictl,
    hviprio: Hviprio,
    hgeie: u64,
    vgein: Vgein,
    vsiselect: u64,
    files: [GuestFile; GEILEN],
}

/// Trap for an access the spec blocks: virtual-instruction when the accessor is L2 (virtual
/// V = 1), illegal-instruction otherwise.
fn blocked(origin: Origin) -> CsrTrap {
    if origin.from_l2() {
        CsrTrap::VirtualInstruction
    } else {
        CsrTrap::IllegalInstruction
    }
}

/// Trap for `vsireg`/`sireg` with a reserved `vsiselect` (from VU it is virtual-instruction
/// before this). AIA "Changes for RC5": VS access to `sireg` then "should preferably raise an
/// illegal instruction exception"; QEMU answers virtual-instruction instead.
const fn reserved_select() -> CsrTrap {
    CsrTrap::IllegalInstruction
}

/// The access rules that do not depend on the selected register. Priv spec, hypervisor
/// chapter, "Trap Cause Codes"; AIA "CSRs", "Hypervisor and VS CSRs" and "state-enable CSRs".
fn check_privilege(
    row: &CsrRow,
    via_alias: bool,
    op: CsrOp,
    origin: Origin,
) -> Result<(), CsrTrap> {
    match origin {
        Origin::L1User => Err(CsrTrap::IllegalInstruction),
        _ if row.read_only && op.writes() => Err(CsrTrap::IllegalInstruction),
        Origin::L1Supervisor => Ok(()),
        Origin::L2User { .. } => Err(CsrTrap::VirtualInstruction),
        Origin::L2Supervisor { hstateen0, .. } => {
            if !via_alias || !hstateen0.contains(row.stateen) {
                Err(CsrTrap::VirtualInstruction)
            } else {
                Ok(())
            }
        }
    }
}

impl<const GEILEN: usize> NestedAia<GEILEN> {
    /// Fresh state: every register zero, every file emulated and empty.
    pub fn new(config: AiaConfig) -> Result<Self, ConfigError> {
        if GEILEN > MAX_GEILEN {
            return Err(ConfigError::Geilen(GEILEN));
        }
        if !(MIN_IID_BITS..=MAX_IID_BITS).contains(&config.iid_bits) {
            return Err(ConfigError::IidBits(config.iid_bits));
        }
        if !matches!(config.hviprio_bits, 0 | 6..=8) {
            return Err(ConfigError::HviprioBits(config.hviprio_bits));
        }
        let soft = ImsicFile::new(config.identities).map_err(ConfigError::FileSize)?;
        let file = GuestFile {
            backing: FileBacking::Emulated,
            prepared: None,
            soft,
        };
        Ok(NestedAia {
            config,
            hvien: 0,
            hvip: 0,
            hvictl: Hvictl::default(),
            hviprio: Hviprio::default(),
            hgeie: 0,
            vgein: Vgein::default(),
            vsiselect: 0,
            files: core::array::from_fn(|_| file.clone()),
        })
    }

    /// The configuration.
    pub const fn config(&self) -> &AiaConfig {
        &self.config
    }

    fn file(&self, g: usize) -> Option<&GuestFile> {
        self.files.get(g.checked_sub(1)?)
    }

    fn file_mut(&mut self, g: usize) -> Option<&mut GuestFile> {
        self.files.get_mut(g.checked_sub(1)?)
    }

    /// The software state of virtual guest file `g` (1..=GEILEN), meaningful while emulated.
    pub fn emulated_file(&self, g: usize) -> Option<&ImsicFile> {
        self.file(g).map(|f| &f.soft)
    }

    /// How virtual guest file `g` is backed.
    pub fn backing(&self, g: usize) -> Option<FileBacking> {
        self.file(g).map(|f| f.backing)
    }

    // ---- hstatus.VGEIN (owned by nested-core's hstatus; mirrored here) ----

    /// L1's `hstatus.VGEIN`.
    pub const fn vgein(&self) -> Vgein {
        self.vgein
    }

    /// Records L1's `hstatus.VGEIN` after a write of L1's `hstatus` (every 6-bit value is
    /// kept; see [`Vgein`]).
    pub fn set_vgein(&mut self, vgein: Vgein) {
        self.vgein = vgein;
    }

    /// The virtual guest file L1's VGEIN selects, if valid.
    pub const fn selected_file(&self) -> Option<usize> {
        self.vgein.file(GEILEN)
    }

    // ---- Guest external interrupt lines ----

    /// Whether virtual guest file `g` asserts its line (its `hgeip` bit).
    fn line(&self, g: usize, hw_hgeip: u64) -> bool {
        match self.file(g) {
            Some(GuestFile {
                backing: FileBacking::Emulated,
                soft,
                ..
            }) => soft.signal(),
            Some(GuestFile {
                backing: FileBacking::Hardware(p),
                ..
            }) => hw_hgeip >> p.get() & 1 != 0,
            None => false,
        }
    }

    fn any_hardware(&self) -> bool {
        self.files
            .iter()
            .any(|f| matches!(f.backing, FileBacking::Hardware(_)))
    }

    fn hw_hgeip(&self, hw: &mut (impl GuestFileHardware + ?Sized)) -> u64 {
        if self.any_hardware() { hw.hgeip() } else { 0 }
    }

    /// L1's `hgeip`: bit g set iff virtual guest file g signals (AIA IMSIC, "Interrupt
    /// delivery and handling").
    pub fn hgeip(&self, hw: &mut (impl GuestFileHardware + ?Sized)) -> u64 {
        let real = self.hw_hgeip(hw);
        (1..=GEILEN)
            .filter(|&g| self.line(g, real))
            .fold(0, |v, g| v | (1u64 << g))
    }

    /// L1's `hgeie`.
    pub const fn hgeie(&self) -> u64 {
        self.hgeie
    }

    /// L1's `hip.SGEIP`: some file with its `hgeie` bit set signals. Priv spec, H chapter,
    /// "hip.SGEIP = OR over hgeip & hgeie".
    pub fn sgei_pending(&self, hw: &mut (impl GuestFileHardware + ?Sized)) -> bool {
        self.hgeip(hw) & self.hgeie != 0
    }

    /// The line of the file VGEIN selects (feeds L2's `hip.VSEIP`).
    fn selected_line(&self, hw: &mut (impl GuestFileHardware + ?Sized)) -> bool {
        match self.selected_file() {
            Some(g) => {
                let real = match self.file(g).map(|f| f.backing) {
                    Some(FileBacking::Hardware(_)) => hw.hgeip(),
                    _ => 0,
                };
                self.line(g, real)
            }
            None => false,
        }
    }

    /// `vsip` as L2 reads it.
    pub fn vsip(&self, ctx: &VsContext, hw: &mut (impl GuestFileHardware + ?Sized)) -> u64 {
        vsip(self.hvien, self.hvip, self.selected_line(hw), ctx)
    }

    /// The `vstopei` of the selected file without claiming (0 without a valid VGEIN).
    fn selected_topei(&self, hw: &mut (impl GuestFileHardware + ?Sized)) -> u64 {
        match self.selected_file().and_then(|g| self.file(g)) {
            Some(GuestFile {
                backing: FileBacking::Emulated,
                soft,
                ..
            }) => soft.topei().bits(),
            Some(GuestFile {
                backing: FileBacking::Hardware(p),
                ..
            }) => hw.topei_rmw(*p, false),
            None => 0,
        }
    }

    /// L2's `vstopi` (what L1 reads from `vstopi`, and whether L2 has an interrupt pending).
    pub fn vstopi(&self, ctx: &VsContext, hw: &mut (impl GuestFileHardware + ?Sized)) -> Vstopi {
        let sei = match (self.selected_file(), self.vgein.get()) {
            (Some(_), _) => {
                SeiPriority::GuestFile(((self.selected_topei(hw) >> 16) & 0x7FF) as u16)
            }
            (None, 0) => SeiPriority::VgeinZero,
            (None, _) => SeiPriority::InvalidVgein,
        };
        vstopi(&VstopiInputs {
            vsip: self.vsip(ctx, hw),
            vsie: ctx.vsie,
            sei,
            hvictl: self.hvictl,
            hviprio: self.hviprio,
        })
    }

    /// `hvictl` (also tells `nested-core` whether VTI traps L2's `sip`/`sie`/`stimecmp`).
    pub const fn hvictl(&self) -> Hvictl {
        self.hvictl
    }

    /// L1's `hvip`.
    pub const fn hvip(&self) -> u64 {
        self.hvip
    }

    /// L1's `vsiselect` (the host loads it into the real `vsiselect` to run L2).
    pub const fn vsiselect(&self) -> u64 {
        self.vsiselect
    }

    /// Stores the real `vsiselect` after L2 ran (L2 writes it without trapping).
    pub fn save_vsiselect(&mut self, value: u64) {
        self.vsiselect = value & VSISELECT_MASK;
    }

    // ---- CSR accesses ----

    /// Reads CSR `number` as `origin` would.
    pub fn csr_read(
        &mut self,
        number: u16,
        origin: Origin,
        ctx: &VsContext,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, CsrError> {
        self.csr_rmw(number, CsrOp::Read, origin, ctx, hw)
    }

    /// Writes `value` to CSR `number` (CSRRW), then reads it again, and returns that second
    /// read: the value kept after WARL legalisation (for `vstopei`, the next interrupt after the
    /// claim). Not what rd gets: a CSR instruction goes through [`NestedAia::csr_rmw`].
    pub fn write_then_read(
        &mut self,
        number: u16,
        value: u64,
        origin: Origin,
        ctx: &VsContext,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, CsrError> {
        self.csr_rmw(number, CsrOp::Write(value), origin, ctx, hw)?;
        self.csr_rmw(number, CsrOp::Read, origin, ctx, hw)
    }

    /// One CSR instruction (CSRRW/CSRRS/CSRRC and immediates) on CSR `number` from `origin`:
    /// returns the value rd receives, or the exact trap. `ctx` gives the L1 state `vsip`
    /// depends on (read only for `vstopi`).
    pub fn csr_rmw(
        &mut self,
        number: u16,
        op: CsrOp,
        origin: Origin,
        ctx: &VsContext,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, CsrError> {
        let (row, via_alias) = row_for(number, origin).ok_or(CsrError::NotAiaCsr)?;
        check_privilege(row, via_alias, op, origin)?;
        let cfg = self.config;
        let old = match row.csr {
            AiaCsr::Hvien => rmw(&mut self.hvien, op, hvien_mask(cfg.hvien_writable)),
            AiaCsr::Hvip => rmw(&mut self.hvip, op, hvip_mask(cfg.hvien_writable)),
            AiaCsr::Hgeie => rmw(&mut self.hgeie, op, hgeie_mask(GEILEN)),
            AiaCsr::Vsiselect => rmw(&mut self.vsiselect, op, VSISELECT_MASK),
            AiaCsr::Hvictl => {
                let old = self.hvictl.bits();
                if let Some(new) = op.apply(old) {
                    self.hvictl = Hvictl::from_write(new, cfg.iid_bits);
                }
                old
            }
            AiaCsr::Hviprio1 => {
                let old = self.hviprio.hviprio1();
                if let Some(new) = op.apply(old) {
                    self.hviprio.write1(new, cfg.hviprio_bits);
                }
                old
            }
            AiaCsr::Hviprio2 => {
                let old = self.hviprio.hviprio2();
                if let Some(new) = op.apply(old) {
                    self.hviprio.write2(new, cfg.hviprio_bits);
                }
                old
            }
            AiaCsr::Hgeip => self.hgeip(hw),
            AiaCsr::Vstopi => self.vstopi(ctx, hw).bits(),
            AiaCsr::Vsireg => self.vsireg(op, origin, hw)?,
            AiaCsr::Vstopei => self.vstopei(op, origin, hw)?,
        };
        Ok(old)
    }

    /// Whether the VS guest file is reachable for `origin`: VGEIN valid, and for L2 not
    /// blocked by `hstateen0.IMSIC` (which "acts like VGEIN = 0").
    fn file_accessible(&self, origin: Origin) -> Option<usize> {
        let g = self.selected_file()?;
        match origin {
            Origin::L2Supervisor { hstateen0, .. } | Origin::L2User { hstateen0, .. }
                if !hstateen0.contains(Hstateen0::IMSIC) =>
            {
                None
            }
            _ => Some(g),
        }
    }

    /// `vsireg` (or L2's `sireg`). AIA "CSRs", "Hypervisor and VS CSRs"; AIA IMSIC registers.
    fn vsireg(
        &mut self,
        op: CsrOp,
        origin: Origin,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, CsrTrap> {
        let g = self.file_accessible(origin);
        let xlen = origin.xlen();
        let reg = match decode(self.vsiselect, xlen, g.is_some()) {
            VsSelect::File(reg) => reg,
            VsSelect::Inaccessible | VsSelect::Absent => return Err(blocked(origin)),
            VsSelect::Reserved => return Err(reserved_select()),
        };
        let op = narrow(op, xlen);
        let file = g.and_then(|g| self.file_mut(g)).ok_or(blocked(origin))?;
        Ok(match file.backing {
            FileBacking::Emulated => file.soft.rmw_reg(reg, op),
            FileBacking::Hardware(p) => hardware_ireg(hw, p, reg, op),
        })
    }

    /// `vstopei` (or L2's `stopei`): read, and claim on any write.
    fn vstopei(
        &mut self,
        op: CsrOp,
        origin: Origin,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, CsrTrap> {
        let g = self.file_accessible(origin).ok_or(blocked(origin))?;
        let file = self.file_mut(g).ok_or(blocked(origin))?;
        Ok(match file.backing {
            FileBacking::Emulated => file.soft.rmw_topei(op),
            FileBacking::Hardware(p) => hw.topei_rmw(p, op.writes()),
        })
    }

    // ---- MMIO and MSIs ----

    /// An access that trapped to L0 on the page of virtual guest file `g` (from L2 or from
    /// L1, or a device L0 emulates). Pages of files that do not exist (g = 0 or above GEILEN)
    /// read zero and ignore writes, as the AIA recommends for unused pages of the block.
    pub fn mmio(
        &mut self,
        g: usize,
        offset: u64,
        width: u8,
        op: MmioOp,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<u64, MmioFault> {
        mmio_check(offset, width, op)?;
        let Some(file) = self.file_mut(g) else {
            return Ok(0);
        };
        match (file.backing, op) {
            (FileBacking::Emulated, _) => file.soft.mmio(offset, width, op),
            (FileBacking::Hardware(p), MmioOp::Store(value)) => {
                if let Some(id) =
                    seteipnum_identity(offset, value).and_then(|i| file.soft.identity(i))
                {
                    hw.set_eipnum(p, u32::from(id.get()));
                }
                Ok(0)
            }
            (FileBacking::Hardware(_), _) => Ok(0),
        }
    }

    /// An MSI of `identity` for virtual guest file `g` from a device L0 emulates (a
    /// `seteipnum_le` store); ignored for identities the file does not implement. Returns
    /// whether [`NestedAia::l2_interrupts`] changed, i.e. whether a hart running L2 must exit
    /// to reload the real CSRs (L1's SGEI is [`NestedAia::sgei_pending`]).
    pub fn send_msi(
        &mut self,
        g: usize,
        identity: u32,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> bool {
        let before = self.l2_interrupts();
        let _ = self.mmio(g, 0, 4, MmioOp::Store(u64::from(identity)), hw);
        self.l2_interrupts() != before
    }

    // ---- World switch ----

    /// What the host loads into the real AIA CSRs before it runs L2.
    ///
    /// With a hardware-backed file, L2's interrupts arrive in the real file with no exit; with
    /// an emulated one, VSEIP in `hvip` stands for the file's line (AIA VS-level chapter,
    /// "without a guest interrupt file"). Whenever L1's VGEIN is nonzero but the real one is 0,
    /// `hvictl` is adjusted so that the real `vstopi` candidate 2 (which needs VGEIN = 0)
    /// gives exactly what L1's candidates 1 or 3 give: IID = 9 with IPRIO = the file's
    /// `vstopei` identity when the projected VSEIP is set (by the file's signal or by L1's own
    /// `hvip`) and that identity is nonzero, else IID/IPRIO that disable
    /// candidate 2 (SEI at 256). Two limits remain: IPRIO holds at most 255, so a file identity
    /// above 255 competes as 255; and with L1's VTI = 1 and IID != 9 the file priority cannot
    /// be carried (SEI competes at 256).
    pub fn l2_interrupts(&self) -> L2Interrupts {
        let mut out = L2Interrupts {
            vgein: 0,
            hvip: self.hvip,
            hvictl: self.hvictl.bits(),
            hvien: self.hvien,
            hviprio1: self.hviprio.hviprio1(),
            hviprio2: self.hviprio.hviprio2(),
            injected_hvip: 0,
        };
        if self.vgein.get() == 0 {
            return out;
        }
        let file = self.selected_file().and_then(|g| self.file(g));
        if let Some(GuestFile {
            backing: FileBacking::Hardware(p),
            ..
        }) = file
        {
            out.vgein = p.get();
            return out;
        }
        if file.is_some_and(|f| f.soft.signal()) {
            out.hvip |= VSEIP;
            out.injected_hvip = VSEIP & !self.hvip;
        }
        // L1's candidate 1 needs only a pending SEI and vstopei != 0 (topei ignores
        // eidelivery), so L1's own hvip.VSEIP takes its priority from the file too.
        let top = match file {
            Some(GuestFile { soft, .. }) if out.hvip & VSEIP != 0 => soft.topei().identity(),
            _ => None,
        };
        let h = self.hvictl;
        out.hvictl = match top {
            Some(id) => {
                if !h.vti() || h.iid() == SEI {
                    let iprio = u8::try_from(id.get()).unwrap_or(u8::MAX);
                    h.with_iid_iprio(SEI, iprio).bits()
                } else {
                    h.bits()
                }
            }
            // Candidate 2 off: with VTI = 0 IID serves nothing else; with VTI = 1 and IID = 9
            // IPRIO serves nothing else.
            None if !h.vti() && h.iid() == SEI => h.with_iid_iprio(0, h.iprio()).bits(),
            None if h.vti() && h.iid() == SEI => h.with_iid_iprio(SEI, 0).bits(),
            None => h.bits(),
        };
        out
    }

    /// After L2 ran: takes the real `hvip` back into L1's. L2's writes of its `sip` reach the
    /// real `hvip` where `vsip` aliases it (VSSIP; bits 13-63 with `hvien` set and `hideleg`
    /// clear), so those are L1's new value; bits the projection injected keep L1's value.
    pub fn save_l2_hvip(&mut self, real_hvip: u64, entered: &L2Interrupts) {
        let injected = entered.injected_hvip;
        let merged = (real_hvip & !injected) | (self.hvip & injected);
        self.hvip = merged & hvip_mask(self.config.hvien_writable);
    }

    /// Bits 13-63 where, for L1's `hideleg`, `vsip` is an alias of `hvip` and `vsie` an
    /// independent writable bit (`hideleg` clear, `hvien` set). AIA VS-level chapter, table of
    /// the effects of `hideleg` and `hvien`.
    pub fn vs_hvien_bits(&self, hideleg: u64) -> u64 {
        AIA_LOCAL & !hideleg & self.hvien
    }

    /// An L1 write of `vsip` leaving it at `value`: the bits that alias `hvip` land there
    /// (SSIP as `hvip.VSSIP` when `hideleg` bit 2 is set; [`NestedAia::vs_hvien_bits`]).
    /// Bits that alias L1's `sip` are the engine's.
    pub fn write_vsip(&mut self, value: u64, hideleg: u64) {
        let high = self.vs_hvien_bits(hideleg);
        self.hvip = (self.hvip & !high) | (value & high);
        if hideleg & VSSIP != 0 {
            self.hvip = (self.hvip & !VSSIP) | ((value << 1) & VSSIP);
        }
    }

    /// The real `hgeie` bits the host arms for L1's hardware-backed files: bit p for each
    /// virtual file g backed by real file p with L1's `hgeie` bit g set. A real SGEI then means
    /// L1's SGEI may have changed ([`NestedAia::sgei_pending`]).
    pub fn real_hgeie(&self) -> u64 {
        (1..=GEILEN)
            .filter(|&g| self.hgeie >> g & 1 != 0)
            .filter_map(|g| match self.file(g)?.backing {
                FileBacking::Hardware(p) => Some(1u64 << p.get()),
                FileBacking::Emulated => None,
            })
            .fold(0, |v, b| v | b)
    }

    /// First step of lending real guest file `p` to virtual file `g` (AIA IMSIC, "Migrating
    /// a virtual hart to a different guest interrupt file"): at the new file, delivery off and
    /// every pending bit cleared. Between this call and [`NestedAia::attach_hardware`] the host
    /// retargets the virtual file's MSIs (IOMMU, APLIC targets) to `p` and drains stragglers;
    /// MSIs that reach `p` from then on are kept. The virtual file stays emulated until then.
    pub fn prepare_hardware(
        &mut self,
        g: usize,
        p: PhysGuestFile,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<(), AttachError> {
        let taken = self.files.iter().enumerate().any(|(i, f)| {
            i + 1 != g && (f.backing == FileBacking::Hardware(p) || f.prepared == Some(p))
        });
        let file = self.file_mut(g).ok_or(AttachError::NoSuchFile)?;
        if file.backing != FileBacking::Emulated {
            return Err(AttachError::AlreadyBacked);
        }
        if taken {
            return Err(AttachError::InUse);
        }
        hw.ireg_rmw(p, 0x70, CsrOp::Write(0));
        for w in 0..words(self.config.identities) {
            hw.ireg_rmw(p, array_selects(w).0, CsrOp::Write(0));
        }
        if let Some(file) = self.file_mut(g) {
            file.prepared = Some(p);
        }
        Ok(())
    }

    /// Second step: moves virtual file `g`'s emulated state into the real file `p` it was
    /// prepared with (eie loaded, the saved eip ORed in with a set so MSIs that already reached
    /// `p` survive, then threshold and delivery restored), and from now on backs `g` with `p`.
    pub fn attach_hardware(
        &mut self,
        g: usize,
        p: PhysGuestFile,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Result<(), AttachError> {
        let words = words(self.config.identities);
        let file = self.file_mut(g).ok_or(AttachError::NoSuchFile)?;
        if file.backing != FileBacking::Emulated {
            return Err(AttachError::AlreadyBacked);
        }
        if file.prepared != Some(p) {
            return Err(AttachError::NotPrepared);
        }
        let soft = &file.soft;
        for w in 0..words {
            let (sel_p, sel_e) = array_selects(w);
            let part = WordPart::whole(w);
            hw.ireg_rmw(p, sel_e, CsrOp::Write(soft.read_reg(ImsicReg::Eie(part))));
            hw.ireg_rmw(p, sel_p, CsrOp::Set(soft.read_reg(ImsicReg::Eip(part))));
        }
        hw.ireg_rmw(p, 0x72, CsrOp::Write(u64::from(soft.eithreshold())));
        hw.ireg_rmw(p, 0x70, CsrOp::Write(u64::from(soft.delivery_enabled())));
        file.backing = FileBacking::Hardware(p);
        file.prepared = None;
        Ok(())
    }

    /// Takes virtual file `g` back into software, copying the real file's state and leaving
    /// the real file with delivery off and nothing pending. The host must first stop routing
    /// MSIs to it (and drain stragglers). Returns the real file released, if `g` was backed.
    pub fn detach_hardware(
        &mut self,
        g: usize,
        hw: &mut (impl GuestFileHardware + ?Sized),
    ) -> Option<PhysGuestFile> {
        let words = words(self.config.identities);
        let file = self.file_mut(g)?;
        let FileBacking::Hardware(p) = file.backing else {
            return None;
        };
        let delivery = hw.ireg_rmw(p, 0x70, CsrOp::Write(0));
        let threshold = hw.ireg_rmw(p, 0x72, CsrOp::Read);
        for w in 0..words {
            let (sel_p, sel_e) = array_selects(w);
            let part = WordPart::whole(w);
            let eip = hw.ireg_rmw(p, sel_p, CsrOp::Write(0));
            let eie = hw.ireg_rmw(p, sel_e, CsrOp::Read);
            file.soft.write_reg(ImsicReg::Eip(part), eip);
            file.soft.write_reg(ImsicReg::Eie(part), eie);
        }
        file.soft.write_reg(ImsicReg::Eithreshold, threshold);
        file.soft.write_reg(ImsicReg::Eidelivery, delivery);
        file.backing = FileBacking::Emulated;
        Some(p)
    }

    /// The `topei` of virtual file `g` as seen by its owner, without claiming.
    pub fn topei(&self, g: usize, hw: &mut (impl GuestFileHardware + ?Sized)) -> Topei {
        match self.file(g) {
            Some(GuestFile {
                backing: FileBacking::Emulated,
                soft,
                ..
            }) => soft.topei(),
            Some(GuestFile {
                backing: FileBacking::Hardware(p),
                ..
            }) => {
                let raw = hw.topei_rmw(*p, false);
                let id = (raw >> 16) & 0x7FF;
                if id == 0 {
                    Topei::NONE
                } else {
                    Topei::of(id as u16)
                }
            }
            None => Topei::NONE,
        }
    }
}

fn rmw(reg: &mut u64, op: CsrOp, mask: u64) -> u64 {
    let old = *reg;
    if let Some(new) = op.apply(old) {
        *reg = new & mask;
    }
    old
}

/// A 32-bit access only carries 32 bits.
fn narrow(op: CsrOp, xlen: Xlen) -> CsrOp {
    let m = match xlen {
        Xlen::Rv32 => 0xFFFF_FFFF,
        Xlen::Rv64 => u64::MAX,
    };
    match op {
        CsrOp::Read => CsrOp::Read,
        CsrOp::Write(v) => CsrOp::Write(v & m),
        CsrOp::Set(v) => CsrOp::Set(v & m),
        CsrOp::Clear(v) => CsrOp::Clear(v & m),
    }
}

fn array_selects(word: usize) -> (u16, u16) {
    let k = (word as u16 & 31) * 2;
    (0x80 + k, 0xC0 + k)
}

/// 64-bit words of the `eip`/`eie` arrays that a file of `identities` identities uses.
fn words(identities: u16) -> usize {
    usize::from(identities).div_ceil(64)
}

/// `reg` on real file `p`, through the host's XLEN = 64 `vsireg`. A 32-bit register becomes
/// a set and/or clear of its half (a CSRRW of a half is a set then a clear, not one access).
fn hardware_ireg(
    hw: &mut (impl GuestFileHardware + ?Sized),
    p: PhysGuestFile,
    reg: ImsicReg,
    op: CsrOp,
) -> u64 {
    let (select, part) = match reg {
        ImsicReg::Eidelivery => (0x70, None),
        ImsicReg::Eithreshold => (0x72, None),
        ImsicReg::Reserved => return 0,
        ImsicReg::Eip(part) => (array_selects(part.word()).0, Some(part)),
        ImsicReg::Eie(part) => (array_selects(part.word()).1, Some(part)),
    };
    let Some(part) = part.filter(|p| p.bits() < 64) else {
        return hw.ireg_rmw(p, select, op);
    };
    let half = 0xFFFF_FFFFu64;
    let old = match op {
        CsrOp::Read => hw.ireg_rmw(p, select, CsrOp::Read),
        CsrOp::Set(m) => hw.ireg_rmw(p, select, CsrOp::Set((m & half) << part.shift())),
        CsrOp::Clear(m) => hw.ireg_rmw(p, select, CsrOp::Clear((m & half) << part.shift())),
        CsrOp::Write(v) => {
            let old = hw.ireg_rmw(p, select, CsrOp::Set((v & half) << part.shift()));
            hw.ireg_rmw(p, select, CsrOp::Clear((!v & half) << part.shift()));
            old
        }
    };
    (old >> part.shift()) & half
}
