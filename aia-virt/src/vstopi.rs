//! `vstopi` (0xEB0): the highest-priority interrupt for VS level.
//!
//! AIA VS-level chapter, "Virtual supervisor top interrupt CSR (vstopi)"; priority rules from
//! AIA M/S-level chapter, "Interrupt priorities" tables and `stopi`.

use crate::hvictl::Hvictl;
use crate::hviprio::Hviprio;

/// Major interrupt 9: supervisor external interrupt (as VS level numbers it).
pub const SEI: u16 = 9;

/// Bits of `vsip`/`vsie` that can exist: 1 (SSI), 5 (STI), 9 (SEI), 13-63.
pub const VS_INTERRUPTS: u64 = !0x1FFF | (1 << 1) | (1 << 5) | (1 << 9);

/// Default priority order, highest first: the AIA table (AIA M/S-level chapter, "Default
/// priorities of major interrupts") with its planned order for 16-23 and 32-47. The AIA
/// reserves 14 as a future local interrupt without placing it; this engine ranks it directly
/// after 13. Interrupts not listed (0, 4, 8, 15, 24-31, 48-63) rank after all of these in
/// increasing number, an implementation choice the AIA leaves open.
const DEFAULT_ORDER: [u8; 36] = [
    47, 23, 46, 45, 22, 44, 43, 21, 42, 41, 20, 40, 11, 3, 7, 9, 1, 5, 12, 10, 2, 6, 13, 14, 39,
    19, 38, 37, 18, 36, 35, 17, 34, 33, 16, 32,
];

/// Rank of `irq` in the default order (lower is higher priority).
pub fn default_rank(irq: u16) -> u32 {
    match DEFAULT_ORDER.iter().position(|&i| u16::from(i) == irq) {
        Some(pos) => pos as u32,
        None => DEFAULT_ORDER.len() as u32 + u32::from(irq),
    }
}

/// Whether `irq` has a default priority above SEI.
pub fn above_sei(irq: u16) -> bool {
    default_rank(irq) < default_rank(SEI)
}

/// Where a pending SEI for VS level takes its priority number from (candidates 1-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeiPriority {
    /// VGEIN names a valid guest file: its `vstopei` identity (0 if nothing is pending).
    GuestFile(u16),
    /// VGEIN = 0: `hvictl` IID = 9 with IPRIO != 0 supplies it.
    VgeinZero,
    /// VGEIN is neither 0 nor a valid guest file.
    InvalidVgein,
}

/// Everything `vstopi` depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VstopiInputs {
    /// `vsip` as VS-mode reads it.
    pub vsip: u64,
    /// `vsie` as VS-mode reads it.
    pub vsie: u64,
    /// The SEI priority source.
    pub sei: SeiPriority,
    /// `hvictl`.
    pub hvictl: Hvictl,
    /// `hviprio1`/`hviprio2`.
    pub hviprio: Hviprio,
}

/// A `vstopi` value: IID in bits 27:16, IPRIO in 7:0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vstopi(u64);

impl Vstopi {
    /// No interrupt pending for VS level.
    pub const NONE: Vstopi = Vstopi(0);

    /// The register value.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// IID: the major interrupt (the `vscause` code of the trap it causes).
    pub const fn iid(self) -> u16 {
        ((self.0 >> 16) & 0xFFF) as u16
    }

    /// IPRIO.
    pub const fn iprio(self) -> u8 {
        self.0 as u8
    }
}

/// One candidate: identity, priority number (0..=2047, 256 for SEI without controller), its
/// default rank doubled (so an `hvictl` injection can sit just above or below SEI), and
/// whether a zero priority number means "highest".
#[derive(Clone, Copy, Debug)]
struct Candidate {
    iid: u16,
    priority: u16,
    rank2: u32,
    above_sei: bool,
}

impl Candidate {
    fn major(iid: u16, priority: u16) -> Candidate {
        Candidate {
            iid,
            priority,
            rank2: 2 * default_rank(iid),
            above_sei: above_sei(iid),
        }
    }

    /// Sort key, smaller is higher priority. AIA "Effect of the supervisor-level iprio array":
    /// number 0 is highest for interrupts above SEI by default and lowest for the others.
    fn key(self) -> (u32, u32) {
        let nominal = match self.priority {
            0 if self.above_sei => 0,
            0 => u32::MAX,
            p => u32::from(p),
        };
        (nominal, self.rank2)
    }

    fn vstopi(self, ipriom: bool) -> Vstopi {
        let iprio: u64 = match self.priority {
            _ if !ipriom => 1,
            0 if self.above_sei => 0,
            0 => 255,
            p @ 1..=255 => u64::from(p),
            _ => 255,
        };
        Vstopi((u64::from(self.iid & 0xFFF) << 16) | iprio)
    }
}

fn better(a: Option<Candidate>, b: Option<Candidate>) -> Option<Candidate> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.key() < x.key() { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn sei_candidate(i: &VstopiInputs) -> Option<Candidate> {
    if (i.vsip & i.vsie) >> SEI & 1 == 0 {
        return None;
    }
    let priority = match i.sei {
        SeiPriority::GuestFile(id) if id != 0 => id,
        SeiPriority::VgeinZero if i.hvictl.iid() == SEI && i.hvictl.iprio() != 0 => {
            u16::from(i.hvictl.iprio())
        }
        _ => 256,
    };
    Some(Candidate::major(SEI, priority))
}

fn local_candidate(i: &VstopiInputs) -> Option<Candidate> {
    if i.hvictl.vti() {
        if i.hvictl.iid() == SEI {
            return None;
        }
        let rank2 = 2 * default_rank(SEI);
        let (rank2, above_sei) = if i.hvictl.dpr() {
            (rank2 + 1, false)
        } else {
            (rank2 - 1, true)
        };
        return Some(Candidate {
            iid: i.hvictl.iid(),
            priority: u16::from(i.hvictl.iprio()),
            rank2,
            above_sei,
        });
    }
    let mut active = i.vsip & i.vsie & VS_INTERRUPTS & !(1 << SEI);
    let mut best = None;
    while active != 0 {
        let irq = active.trailing_zeros() as u16;
        active &= active - 1;
        let priority = u16::from(i.hviprio.priority(irq as u8));
        best = better(best, Some(Candidate::major(irq, priority)));
    }
    best
}

/// Computes `vstopi` from its five candidates (the first three and the last two are mutually
/// exclusive), ties broken by default order, or by `hvictl.DPR` for the injected one.
pub fn vstopi(inputs: &VstopiInputs) -> Vstopi {
    match better(sei_candidate(inputs), local_candidate(inputs)) {
        Some(c) => c.vstopi(inputs.hvictl.ipriom()),
        None => Vstopi::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hvictl::{DPR, IPRIOM, VTI};

    fn inputs(vsip: u64, hvictl: u64) -> VstopiInputs {
        VstopiInputs {
            vsip,
            vsie: !0,
            sei: SeiPriority::VgeinZero,
            hvictl: Hvictl::from_write(hvictl, 12),
            hviprio: Hviprio::default(),
        }
    }

    #[test]
    fn vstopi_is_zero_without_a_pending_and_enabled_candidate() {
        assert_eq!(vstopi(&inputs(0, 0)), Vstopi::NONE);
        let mut i = inputs(1 << 5, 0);
        i.vsie = 0;
        assert_eq!(vstopi(&i), Vstopi::NONE);
    }

    #[test]
    fn vstopi_default_order_puts_sei_above_ssi_above_sti() {
        let v = vstopi(&inputs((1 << 1) | (1 << 5) | (1 << 9), IPRIOM));
        assert_eq!(v.iid(), 9);
        assert_eq!(
            v.iprio(),
            255,
            "SEI without a controller has priority 256 -> 255"
        );
        let v = vstopi(&inputs((1 << 1) | (1 << 5), IPRIOM));
        assert_eq!(
            (v.iid(), v.iprio()),
            (1, 255),
            "zero priority below SEI reads 255"
        );
    }

    #[test]
    fn vstopi_iprio_reads_one_when_ipriom_is_zero() {
        assert_eq!(vstopi(&inputs(1 << 13, 0)).iprio(), 1);
    }

    #[test]
    fn vstopi_hviprio_number_beats_sei_with_priority_256() {
        let mut i = inputs((1 << 5) | (1 << 9), IPRIOM);
        i.hviprio.write1(0x10 << 24, 8);
        let v = vstopi(&i);
        assert_eq!((v.iid(), v.iprio()), (5, 0x10));
    }

    #[test]
    fn vstopi_sei_priority_comes_from_the_guest_file_topei() {
        let mut i = inputs((1 << 5) | (1 << 9), IPRIOM);
        i.hviprio.write1(0x10 << 24, 8);
        i.sei = SeiPriority::GuestFile(3);
        let v = vstopi(&i);
        assert_eq!((v.iid(), v.iprio()), (9, 3));
        i.sei = SeiPriority::GuestFile(300);
        let v = vstopi(&i);
        assert_eq!(
            (v.iid(), v.iprio()),
            (5, 0x10),
            "identity 300 ranks below priority 16"
        );
    }

    #[test]
    fn vstopi_sei_priority_from_hvictl_only_with_vgein_zero_and_iid_9() {
        let mut i = inputs(1 << 9, IPRIOM | (9 << 16) | 7);
        assert_eq!(vstopi(&i).iprio(), 7);
        i.sei = SeiPriority::InvalidVgein;
        assert_eq!(vstopi(&i).iprio(), 255);
        let i = inputs(1 << 9, IPRIOM | (9 << 16));
        assert_eq!(vstopi(&i).iprio(), 255, "IPRIO 0 leaves SEI at 256");
    }

    #[test]
    fn vti_injects_the_chosen_iid_and_priority() {
        let v = vstopi(&inputs(0, VTI | IPRIOM | (12 << 16) | 0x20));
        assert_eq!((v.iid(), v.iprio()), (12, 0x20));
        let v = vstopi(&inputs(1 << 5, VTI | IPRIOM | (9 << 16)));
        assert_eq!(
            v,
            Vstopi::NONE,
            "VTI=1 hides vsip and IID=9 means no interrupt"
        );
    }

    #[test]
    fn vti_dpr_decides_ties_with_sei() {
        let base = VTI | IPRIOM | (40 << 16) | 9;
        let mut i = inputs(1 << 9, base | (9 << 16));
        i.hvictl = Hvictl::from_write(base, 12);
        i.sei = SeiPriority::GuestFile(9);
        assert_eq!(
            vstopi(&i).iid(),
            40,
            "DPR=0: injected ranks above SEI on a tie"
        );
        i.hvictl = Hvictl::from_write(base | DPR, 12);
        assert_eq!(
            vstopi(&i).iid(),
            9,
            "DPR=1: injected ranks below SEI on a tie"
        );
    }

    #[test]
    fn vti_zero_priority_is_highest_or_lowest_by_dpr() {
        let mut i = inputs(1 << 9, VTI | IPRIOM | (40 << 16));
        i.sei = SeiPriority::GuestFile(1);
        let v = vstopi(&i);
        assert_eq!((v.iid(), v.iprio()), (40, 0));
        i.hvictl = Hvictl::from_write(VTI | IPRIOM | DPR | (40 << 16), 12);
        assert_eq!(vstopi(&i).iid(), 9);
    }

    #[test]
    fn default_order_ranks_rule_table_entries() {
        assert!(above_sei(11) && above_sei(47) && above_sei(40));
        assert!(!above_sei(1) && !above_sei(13) && !above_sei(32) && !above_sei(63));
        assert!(default_rank(23) < default_rank(46));
        assert!(default_rank(13) < default_rank(39));
    }

    #[test]
    fn interrupt_14_ranks_directly_after_13_and_above_the_low_local_interrupts() {
        assert_eq!(default_rank(14), default_rank(13) + 1);
        assert!(default_rank(14) < default_rank(39) && default_rank(14) < default_rank(35));
        let v = vstopi(&inputs((1 << 14) | (1 << 16), 0));
        assert_eq!(
            v.iid(),
            14,
            "vsip 14 and 16 pending at equal priority: 14 wins"
        );
    }

    #[test]
    fn vsip_bits_that_cannot_exist_are_ignored() {
        assert_eq!(vstopi(&inputs(1 << 2 | 1 << 10, 0)), Vstopi::NONE);
    }
}
