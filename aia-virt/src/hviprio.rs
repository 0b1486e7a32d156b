//! `hviprio1`/`hviprio2`: priority numbers of the VS interrupts 1, 5, 13-23.
//!
//! AIA VS-level chapter, "Configuring priorities of major interrupts at VS level".

/// The interrupt whose priority each byte of `hviprio1` holds (`None`: read-only zero).
pub const HVIPRIO1_BYTES: [Option<u8>; 8] = [
    None,
    Some(1),
    None,
    Some(5),
    None,
    Some(13),
    Some(14),
    Some(15),
];
/// The interrupt whose priority each byte of `hviprio2` holds.
pub const HVIPRIO2_BYTES: [Option<u8>; 8] = [
    Some(16),
    Some(17),
    Some(18),
    Some(19),
    Some(20),
    Some(21),
    Some(22),
    Some(23),
];

/// Both priority registers. Each implemented byte is WARL with `bits` low bits (6..=8, or 0 for
/// the minimal all-read-only-zero implementation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hviprio {
    hviprio1: u64,
    hviprio2: u64,
}

fn mask_of(bytes: &[Option<u8>; 8], bits: u8) -> u64 {
    let byte: u64 = match bits {
        0 => 0,
        b if b >= 8 => 0xFF,
        b => (1u64 << b.max(6)) - 1,
    };
    bytes
        .iter()
        .enumerate()
        .filter(|(_, irq)| irq.is_some())
        .fold(0, |m, (i, _)| m | (byte << (8 * i)))
}

impl Hviprio {
    /// Writable bits of `hviprio1` with `bits` implemented priority bits.
    pub fn mask1(bits: u8) -> u64 {
        mask_of(&HVIPRIO1_BYTES, bits)
    }

    /// Writable bits of `hviprio2`.
    pub fn mask2(bits: u8) -> u64 {
        mask_of(&HVIPRIO2_BYTES, bits)
    }

    /// `hviprio1`.
    pub const fn hviprio1(self) -> u64 {
        self.hviprio1
    }

    /// `hviprio2`.
    pub const fn hviprio2(self) -> u64 {
        self.hviprio2
    }

    /// Writes `hviprio1` keeping the legal bits.
    pub fn write1(&mut self, value: u64, bits: u8) {
        self.hviprio1 = value & Self::mask1(bits);
    }

    /// Writes `hviprio2` keeping the legal bits.
    pub fn write2(&mut self, value: u64, bits: u8) {
        self.hviprio2 = value & Self::mask2(bits);
    }

    /// The priority number of VS interrupt `irq` (0: default order; interrupts without a
    /// byte have no configurable priority at VS level).
    pub fn priority(self, irq: u8) -> u8 {
        let find = |bytes: &[Option<u8>; 8], reg: u64| {
            bytes
                .iter()
                .position(|b| *b == Some(irq))
                .map(|i| (reg >> (8 * i)) as u8)
        };
        find(&HVIPRIO1_BYTES, self.hviprio1)
            .or_else(|| find(&HVIPRIO2_BYTES, self.hviprio2))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hviprio1_bytes_for_interrupts_0_4_8_are_read_only_zero() {
        let mut h = Hviprio::default();
        h.write1(u64::MAX, 8);
        assert_eq!(h.hviprio1(), 0xFFFF_FF00_FF00_FF00);
        h.write2(u64::MAX, 8);
        assert_eq!(h.hviprio2(), u64::MAX);
    }

    #[test]
    fn hviprio_bytes_map_to_their_interrupts() {
        let mut h = Hviprio::default();
        h.write1(0x0F0E_0D00_0500_0100, 8);
        h.write2(0x1716_1514_1312_1110, 8);
        for irq in [1u8, 5, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23] {
            assert_eq!(h.priority(irq), irq, "irq {irq}");
        }
        assert_eq!(h.priority(9), 0);
        assert_eq!(h.priority(40), 0);
    }

    #[test]
    fn hviprio_minimal_implementation_is_all_read_only_zero() {
        let mut h = Hviprio::default();
        h.write1(u64::MAX, 0);
        h.write2(u64::MAX, 0);
        assert_eq!((h.hviprio1(), h.hviprio2()), (0, 0));
    }

    #[test]
    fn hviprio_six_bit_bytes_keep_six_bits() {
        let mut h = Hviprio::default();
        h.write2(0xFF, 6);
        assert_eq!(h.hviprio2(), 0x3F);
    }
}
