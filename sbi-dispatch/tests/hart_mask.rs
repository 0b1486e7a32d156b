//! Hart masks: the base of -1, the edges of the hart count, and no overflow for any pair.

use sbi_dispatch::{HartMask, SbiError, Xlen};

fn harts(mask: HartMask) -> Vec<u32> {
    mask.iter().collect()
}

#[test]
fn base_of_all_ones_names_every_hart_and_ignores_the_mask() {
    for mask in [0, 1, u64::MAX] {
        let all = HartMask::from_registers(mask, u64::MAX, Xlen::Rv64, 5).unwrap();
        assert!(all.is_all());
        assert_eq!(harts(all), [0, 1, 2, 3, 4]);
    }
    let rv32 = HartMask::from_registers(0, 0xffff_ffff, Xlen::Rv32, 3).unwrap();
    assert_eq!(
        harts(rv32),
        [0, 1, 2],
        "-1 of an RV32 caller is 0xffff_ffff"
    );
}

#[test]
fn rv64_base_of_low_all_ones_is_a_hart_number_not_every_hart() {
    assert_eq!(
        HartMask::from_registers(1, 0xffff_ffff, Xlen::Rv64, 8),
        Err(SbiError::InvalidParam)
    );
}

#[test]
fn bit_n_names_hart_base_plus_n() {
    let mask = HartMask::from_registers(0b1011, 4, Xlen::Rv64, 16).unwrap();
    assert_eq!(harts(mask), [4, 5, 7]);
    assert!(mask.contains(7) && !mask.contains(6) && !mask.contains(3) && !mask.contains(8));
}

#[test]
fn the_last_hart_is_valid_and_the_one_after_it_is_invalid_param() {
    assert_eq!(
        harts(HartMask::from_registers(1, 3, Xlen::Rv64, 4).unwrap()),
        [3]
    );
    assert_eq!(
        HartMask::from_registers(1, 4, Xlen::Rv64, 4),
        Err(SbiError::InvalidParam)
    );
    assert_eq!(
        HartMask::from_registers(0b11, 2, Xlen::Rv64, 4).map(harts),
        Ok(vec![2, 3])
    );
    assert_eq!(
        HartMask::from_registers(0b111, 2, Xlen::Rv64, 4),
        Err(SbiError::InvalidParam)
    );
    assert_eq!(
        HartMask::from_registers(1 << 63, 0, Xlen::Rv64, 64).map(harts),
        Ok(vec![63])
    );
    assert_eq!(
        HartMask::from_registers(1 << 63, 0, Xlen::Rv64, 63),
        Err(SbiError::InvalidParam)
    );
}

#[test]
fn an_empty_mask_names_no_hart_whatever_the_base() {
    for base in [0, 3, 1 << 40, u64::MAX - 1] {
        let none = HartMask::from_registers(0, base, Xlen::Rv64, 4).unwrap();
        assert_eq!(harts(none), Vec::<u32>::new(), "base {base:#x}");
    }
}

#[test]
fn base_plus_bit_that_overflows_is_invalid_param_not_a_wrap() {
    assert_eq!(
        HartMask::from_registers(1 << 1, u64::MAX - 1, Xlen::Rv64, u32::MAX),
        Err(SbiError::InvalidParam)
    );
    assert_eq!(
        HartMask::from_registers(u64::MAX, u64::MAX - 1, Xlen::Rv64, u32::MAX),
        Err(SbiError::InvalidParam)
    );
    assert_eq!(
        HartMask::from_registers(1, 1 << 32, Xlen::Rv64, u32::MAX),
        Err(SbiError::InvalidParam)
    );
}

#[test]
fn rv32_mask_has_32_bits_only() {
    // Bits above 31 of an RV32 register do not exist: they are cut before the mask is read.
    let mask = HartMask::from_registers((1 << 40) | 1, 0, Xlen::Rv32, 64).unwrap();
    assert_eq!(harts(mask), [0]);
}

#[test]
fn a_machine_with_no_harts_accepts_only_empty_sets() {
    assert_eq!(
        HartMask::from_registers(1, 0, Xlen::Rv64, 0),
        Err(SbiError::InvalidParam)
    );
    assert_eq!(
        harts(HartMask::from_registers(0, u64::MAX, Xlen::Rv64, 0).unwrap()),
        Vec::<u32>::new()
    );
}
