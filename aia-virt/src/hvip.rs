//! `hvien` and `hvip`, and the `vsip` that results for L2.
//!
//! AIA VS-level chapter, "Virtual interrupts for VS level" (interrupts 13-63); Priv spec,
//! hypervisor chapter, "Hypervisor Interrupt Registers" (bits 2, 6, 10).

/// The H-extension bits of `hvip`: VSSIP (2), VSTIP (6), VSEIP (10).
pub const HVIP_H_BITS: u64 = (1 << 2) | (1 << 6) | (1 << 10);
/// `hvip.VSEIP`.
pub const VSEIP: u64 = 1 << 10;
/// `hvip.VSSIP`.
pub const VSSIP: u64 = 1 << 2;
/// Interrupts 13-63, the only bits `hvien` may implement (12:0 are read-only zero).
pub const AIA_LOCAL: u64 = !0x1FFF;

/// Writable `hvien` bits given the host's choice of implemented bits.
pub const fn hvien_mask(hvien_writable: u64) -> u64 {
    hvien_writable & AIA_LOCAL
}

/// Writable `hvip` bits: the H bits, and bits 13-63 whose `hvien` bit is not read-only zero.
pub const fn hvip_mask(hvien_writable: u64) -> u64 {
    HVIP_H_BITS | hvien_mask(hvien_writable)
}

/// The L1 state outside this crate that decides what L2 sees in `vsip`/`vsie`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VsContext {
    /// L1's virtual `hideleg`.
    pub hideleg: u64,
    /// L1's virtual `sip` (its S-level pending bits 13-63, for delegated interrupts).
    pub sip: u64,
    /// `vsie` as L2 reads it (its stored bits, aliases resolved by the caller).
    pub vsie: u64,
    /// The Sstc `vstimecmp` comparison of L1's virtual `vstimecmp` is true.
    pub vstimer_pending: bool,
}

/// `vsip` as L2 reads it. AIA "effects of hideleg and hvien on vsip": for 13-63 an alias of
/// `sip` if delegated, else of `hvip` where `hvien` is set, else zero; bits 1/5/9 are
/// `hip` bits 2/6/10 when delegated, with VSEIP also fed by the guest file VGEIN selects.
pub fn vsip(hvien: u64, hvip: u64, guest_file_line: bool, ctx: &VsContext) -> u64 {
    let h = ctx.hideleg;
    let standard = [
        (2, 1, hvip & (1 << 2) != 0),
        (6, 5, hvip & (1 << 6) != 0 || ctx.vstimer_pending),
        (10, 9, hvip & VSEIP != 0 || guest_file_line),
    ];
    let low = standard
        .iter()
        .filter(|&&(hbit, _, pending)| pending && h >> hbit & 1 != 0)
        .fold(0, |v, &(_, vbit, _)| v | (1u64 << vbit));
    low | (h & ctx.sip & AIA_LOCAL) | (!h & hvien & hvip & AIA_LOCAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(hideleg: u64, sip: u64) -> VsContext {
        VsContext {
            hideleg,
            sip,
            vsie: 0,
            vstimer_pending: false,
        }
    }

    #[test]
    fn hvien_bits_12_to_0_are_read_only_zero() {
        assert_eq!(hvien_mask(!0), !0x1FFF);
        assert_eq!(hvip_mask(0), 0x444);
    }

    #[test]
    fn vsip_high_bit_aliases_sip_when_delegated() {
        let c = ctx(1 << 13, 1 << 13);
        assert_eq!(vsip(0, 0, false, &c), 1 << 13);
        assert_eq!(
            vsip(1 << 13, 0, false, &ctx(1 << 13, 0)),
            0,
            "hvip ignored when delegated"
        );
    }

    #[test]
    fn vsip_high_bit_aliases_hvip_when_hvien_set_and_not_delegated() {
        assert_eq!(vsip(1 << 40, 1 << 40, false, &ctx(0, 1 << 40)), 1 << 40);
        assert_eq!(
            vsip(0, 1 << 40, false, &ctx(0, 0)),
            0,
            "read-only zero without hvien"
        );
    }

    #[test]
    fn vsip_standard_bits_need_hideleg() {
        assert_eq!(vsip(0, HVIP_H_BITS, false, &ctx(0, 0)), 0);
        assert_eq!(vsip(0, HVIP_H_BITS, false, &ctx(HVIP_H_BITS, 0)), 0x222);
    }

    #[test]
    fn vsip_seip_is_fed_by_the_selected_guest_file() {
        assert_eq!(vsip(0, 0, true, &ctx(1 << 10, 0)), 1 << 9);
        let mut c = ctx(1 << 6, 0);
        c.vstimer_pending = true;
        assert_eq!(vsip(0, 0, false, &c), 1 << 5);
    }
}
