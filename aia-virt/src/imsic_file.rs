//! A software IMSIC interrupt file: `eidelivery`, `eithreshold`, the `eip`/`eie` arrays,
//! `*topei` with its claim-by-write, and the 4 KiB MMIO page (`seteipnum_le/_be`).
//!
//! AIA IMSIC chapter, "Interrupt files and interrupt identities" onwards.
//!
//! `topei` is O(1): besides the two bit arrays the file keeps `live`, one bit per 64-bit word
//! set iff that word has a pending-and-enabled identity. The lowest identity is then two
//! `trailing_zeros` away, whatever the file size.

use crate::csr::{CsrOp, Xlen};
use crate::iselect::ImsicReg;

/// Largest number of identities an interrupt file may have (AIA IMSIC, "Interrupt files").
pub const MAX_IDENTITIES: u16 = 2047;
/// Smallest number of identities an interrupt file may have.
pub const MIN_IDENTITIES: u16 = 63;
/// 64-bit words that hold every identity of the largest file (identity 0 included).
const WORDS: usize = 32;

/// `eidelivery` value that enables delivery from the file (AIA IMSIC, `eidelivery`).
pub const EIDELIVERY_ON: u64 = 1;
/// Offset of `seteipnum_le` in the file page (AIA IMSIC, "Memory region for an interrupt file").
pub const SETEIPNUM_LE: u64 = 0x000;
/// Offset of `seteipnum_be` in the file page.
pub const SETEIPNUM_BE: u64 = 0x004;
/// Size of one interrupt file's page.
pub const PAGE_SIZE: u64 = 0x1000;

/// The host asked for a file size the AIA does not allow (N = 64k - 1, 63 <= N <= 2047).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadFileSize(pub u16);

/// An interrupt identity that is implemented by a file (1..=N).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity(u16);

impl Identity {
    /// The identity number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// The value of a `*topei` CSR: identity in bits 26:16 and again (as priority) in 10:0.
///
/// AIA IMSIC, "Top external interrupt CSRs".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Topei(u64);

impl Topei {
    /// No interrupt: the register reads zero.
    pub const NONE: Topei = Topei(0);

    pub(crate) fn of(identity: u16) -> Topei {
        let id = u64::from(identity & 0x7FF);
        Topei((id << 16) | id)
    }

    /// The raw register value.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The reported identity, if any.
    pub fn identity(self) -> Option<Identity> {
        match (self.0 >> 16) & 0x7FF {
            0 => None,
            id => Some(Identity(id as u16)),
        }
    }
}

/// How a guest touched the MMIO page of an interrupt file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioOp {
    /// A plain load.
    Load,
    /// A plain store of this value (the bytes as they reach memory, read little-endian).
    Store(u64),
    /// Any atomic memory operation (AMO, LR/SC).
    Amo,
}

/// The architectural outcome of an unsupported access to an interrupt-file page.
///
/// AIA IMSIC, "Memory region": other sizes, misaligned accesses and AMOs "should preferably
/// report an access fault"; this engine always does (load or store/AMO access fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioFault {
    /// Report an access fault (cause 5 for a load, 7 for a store or AMO) to the accessor.
    AccessFault,
}

/// One interrupt file of N identities (N chosen by the host, 63..=2047).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImsicFile {
    identities: u16,
    delivery_on: bool,
    eithreshold: u16,
    eip: [u64; WORDS],
    eie: [u64; WORDS],
    /// Bit w is set iff `eip[w] & eie[w] != 0`.
    live: u32,
}

impl ImsicFile {
    /// An empty file (nothing pending or enabled, delivery off, threshold 0) of `identities`
    /// identities; the AIA leaves reset state unspecified, so this engine picks all zeros.
    pub const fn new(identities: u16) -> Result<ImsicFile, BadFileSize> {
        if identities < MIN_IDENTITIES
            || identities > MAX_IDENTITIES
            || !(identities as u32 + 1).is_multiple_of(64)
        {
            return Err(BadFileSize(identities));
        }
        Ok(ImsicFile {
            identities,
            delivery_on: false,
            eithreshold: 0,
            eip: [0; WORDS],
            eie: [0; WORDS],
            live: 0,
        })
    }

    /// N: the highest implemented identity.
    pub const fn identities(&self) -> u16 {
        self.identities
    }

    /// `identity` as an implemented identity of this file, or `None` (0 or above N).
    pub fn identity(&self, identity: u64) -> Option<Identity> {
        if identity == 0 || identity > u64::from(self.identities) {
            None
        } else {
            Some(Identity(identity as u16))
        }
    }

    /// Bits of 64-bit word `w` that are implemented identities (bit 0 of word 0 never is).
    fn implemented(&self, w: usize) -> u64 {
        let words = usize::from(self.identities).div_ceil(64);
        match w {
            0 => !1,
            _ if w < words => !0,
            _ => 0,
        }
    }

    fn refresh(&mut self, w: usize) {
        let (Some(p), Some(e)) = (self.eip.get(w), self.eie.get(w)) else {
            return;
        };
        if p & e != 0 {
            self.live |= 1 << w;
        } else {
            self.live &= !(1 << w);
        }
    }

    /// Whether `identity` is pending.
    pub fn pending(&self, identity: Identity) -> bool {
        let (w, b) = split(identity);
        self.eip.get(w).is_some_and(|word| word >> b & 1 != 0)
    }

    /// Whether `identity` is enabled.
    pub fn enabled(&self, identity: Identity) -> bool {
        let (w, b) = split(identity);
        self.eie.get(w).is_some_and(|word| word >> b & 1 != 0)
    }

    /// Sets or clears the pending bit of `identity`.
    pub fn set_pending(&mut self, identity: Identity, pending: bool) {
        let (w, b) = split(identity);
        if let Some(word) = self.eip.get_mut(w) {
            *word = (*word & !(1 << b)) | (u64::from(pending) << b);
            self.refresh(w);
        }
    }

    /// Sets or clears the enable bit of `identity`.
    pub fn set_enabled(&mut self, identity: Identity, enabled: bool) {
        let (w, b) = split(identity);
        if let Some(word) = self.eie.get_mut(w) {
            *word = (*word & !(1 << b)) | (u64::from(enabled) << b);
            self.refresh(w);
        }
    }

    /// Whether `eidelivery` is 1 (delivery from this file enabled).
    pub const fn delivery_enabled(&self) -> bool {
        self.delivery_on
    }

    /// `eithreshold` as stored.
    pub const fn eithreshold(&self) -> u16 {
        self.eithreshold
    }

    /// The current `*topei` value. AIA IMSIC, "Top external interrupt CSRs": the lowest
    /// pending-and-enabled identity, if below `eithreshold` when that is not zero.
    pub fn topei(&self) -> Topei {
        if self.live == 0 {
            return Topei::NONE;
        }
        let w = self.live.trailing_zeros() as usize;
        let (Some(p), Some(e)) = (self.eip.get(w), self.eie.get(w)) else {
            return Topei::NONE;
        };
        let id = (w as u32) * 64 + (p & e).trailing_zeros();
        if self.eithreshold != 0 && id >= u32::from(self.eithreshold) {
            return Topei::NONE;
        }
        Topei::of(id as u16)
    }

    /// A write to `*topei`: clears the pending bit of the identity it reports (the written
    /// value is ignored). Returns the value read by the same instruction.
    pub fn claim(&mut self) -> Topei {
        let top = self.topei();
        if let Some(id) = top.identity() {
            self.set_pending(id, false);
        }
        top
    }

    /// The file's interrupt signal (to `hgeip`): `eidelivery` = 1 and `topei` != 0.
    ///
    /// AIA IMSIC, "Interrupt delivery and handling".
    pub fn signal(&self) -> bool {
        self.delivery_on && self.topei() != Topei::NONE
    }

    /// Reads an indirectly accessed register (`reg` already decoded for the current XLEN).
    pub fn read_reg(&self, reg: ImsicReg) -> u64 {
        match reg {
            ImsicReg::Eidelivery => u64::from(self.delivery_on),
            ImsicReg::Eithreshold => u64::from(self.eithreshold),
            ImsicReg::Reserved => 0,
            ImsicReg::Eip(half) => half.extract(self.eip.get(half.word).copied().unwrap_or(0)),
            ImsicReg::Eie(half) => half.extract(self.eie.get(half.word).copied().unwrap_or(0)),
        }
    }

    /// Writes an indirectly accessed register with WARL/WLRL legalisation.
    ///
    /// `eidelivery` keeps bit 0 (guest files never support 0x40000000); `eithreshold` keeps
    /// bits 10:0 (WLRL: every value 0..=N is held, larger ones mask nothing extra).
    pub fn write_reg(&mut self, reg: ImsicReg, value: u64) {
        match reg {
            ImsicReg::Eidelivery => self.delivery_on = value & EIDELIVERY_ON != 0,
            ImsicReg::Eithreshold => self.eithreshold = (value & 0x7FF) as u16,
            ImsicReg::Reserved => {}
            ImsicReg::Eip(half) => {
                let mask = self.implemented(half.word);
                if let Some(word) = self.eip.get_mut(half.word) {
                    *word = half.insert(*word, value) & mask;
                }
                self.refresh(half.word);
            }
            ImsicReg::Eie(half) => {
                let mask = self.implemented(half.word);
                if let Some(word) = self.eie.get_mut(half.word) {
                    *word = half.insert(*word, value) & mask;
                }
                self.refresh(half.word);
            }
        }
    }

    /// A CSR instruction on `*ireg` selecting `reg`: returns the old value (what rd gets).
    pub fn rmw_reg(&mut self, reg: ImsicReg, op: CsrOp) -> u64 {
        let old = self.read_reg(reg);
        if let Some(new) = op.apply(old) {
            self.write_reg(reg, new);
        }
        old
    }

    /// A CSR instruction on `*topei`: any write claims; returns the value read.
    pub fn rmw_topei(&mut self, op: CsrOp) -> u64 {
        if op.writes() {
            self.claim().bits()
        } else {
            self.topei().bits()
        }
    }

    /// A `seteipnum` write: sets the pending bit of `identity` if it is implemented.
    pub fn set_eipnum(&mut self, identity: u64) {
        if let Some(id) = self.identity(identity) {
            self.set_pending(id, true);
        }
    }

    /// An access to the file's 4 KiB page at `offset` of `width` bytes.
    ///
    /// AIA IMSIC, "Memory region for an interrupt file": only naturally aligned 32-bit plain
    /// accesses are supported; reads return zero; writes to other than `seteipnum_*` and
    /// writes of unimplemented identities are ignored.
    pub fn mmio(&mut self, offset: u64, width: u8, op: MmioOp) -> Result<u64, MmioFault> {
        mmio_check(offset, width, op)?;
        if let MmioOp::Store(value) = op
            && let Some(identity) = seteipnum_identity(offset, value)
        {
            self.set_eipnum(identity);
        }
        Ok(0)
    }
}

/// Whether an access to an interrupt-file page is one the AIA supports (naturally aligned,
/// 32-bit, plain, inside the page); see [`ImsicFile::mmio`].
pub fn mmio_check(offset: u64, width: u8, op: MmioOp) -> Result<(), MmioFault> {
    if width != 4 || !offset.is_multiple_of(4) || offset >= PAGE_SIZE || op == MmioOp::Amo {
        return Err(MmioFault::AccessFault);
    }
    Ok(())
}

/// The identity named by a plain aligned 32-bit store to `offset`, if that store sets one
/// (`seteipnum_le` takes the bytes little-endian, `seteipnum_be` big-endian).
pub fn seteipnum_identity(offset: u64, value: u64) -> Option<u64> {
    let word = value as u32;
    match offset {
        SETEIPNUM_LE => Some(u64::from(word)),
        SETEIPNUM_BE => Some(u64::from(word.swap_bytes())),
        _ => None,
    }
}

fn split(identity: Identity) -> (usize, u32) {
    (usize::from(identity.0 / 64), u32::from(identity.0 % 64))
}

/// Which part of a 64-bit array word an `eip`/`eie` register number covers. Built only by
/// [`WordPart::of`], so `word` < 32, `shift` is 0 or 32 and `bits` is 32 or 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WordPart {
    word: usize,
    shift: u32,
    bits: u32,
}

impl WordPart {
    /// The part covered by array register `k` (0..=63) at `xlen`, or `None` if it does not
    /// exist (odd `k` when XLEN = 64). AIA IMSIC, "External interrupt-pending registers".
    pub fn of(k: u8, xlen: Xlen) -> Option<WordPart> {
        let k = usize::from(k & 63);
        match xlen {
            Xlen::Rv64 if k % 2 == 1 => None,
            Xlen::Rv64 => Some(WordPart {
                word: k / 2,
                shift: 0,
                bits: 64,
            }),
            Xlen::Rv32 => Some(WordPart {
                word: k / 2,
                shift: 32 * (k as u32 % 2),
                bits: 32,
            }),
        }
    }

    /// All 64 bits of word `word` (how the host's XLEN = 64 reaches a real file).
    pub(crate) const fn whole(word: usize) -> WordPart {
        WordPart {
            word: word & (WORDS - 1),
            shift: 0,
            bits: 64,
        }
    }

    /// Index of the 64-bit word (identities 64 * word .. 64 * word + 63).
    pub const fn word(self) -> usize {
        self.word
    }

    /// Bit offset of the register in that word (0, or 32 for an odd RV32 register).
    pub const fn shift(self) -> u32 {
        self.shift
    }

    /// Register width in bits (32 or 64).
    pub const fn bits(self) -> u32 {
        self.bits
    }

    fn mask(self) -> u64 {
        if self.bits >= 64 {
            !0
        } else {
            ((1u64 << self.bits) - 1) << self.shift
        }
    }

    fn extract(self, word: u64) -> u64 {
        (word & self.mask()) >> self.shift
    }

    fn insert(self, word: u64, value: u64) -> u64 {
        (word & !self.mask()) | ((value << self.shift) & self.mask())
    }
}
