//! Rules of one IMSIC interrupt file (AIA IMSIC chapter), each test named after its rule.

use aia_virt::imsic_file::{BadFileSize, WordPart};
use aia_virt::iselect::{ImsicReg, VsSelect, imsic_reg};
use aia_virt::{CsrOp, ImsicFile, MmioFault, MmioOp, Topei, Xlen};

fn reg(select: u64, xlen: Xlen) -> ImsicReg {
    match imsic_reg(select, xlen) {
        Some(VsSelect::File(r)) => r,
        other => panic!("{select:#x}: {other:?}"),
    }
}

fn file(n: u16) -> ImsicFile {
    ImsicFile::new(n).unwrap()
}

/// Pending + enabled identity `id` through the register interface.
fn arm(f: &mut ImsicFile, id: u64) {
    let sel = 0x80 + 2 * (id / 64);
    f.rmw_reg(reg(sel, Xlen::Rv64), CsrOp::Set(1 << (id % 64)));
    f.rmw_reg(reg(sel + 0x40, Xlen::Rv64), CsrOp::Set(1 << (id % 64)));
}

fn top(f: &ImsicFile) -> u64 {
    f.topei().identity().map_or(0, |i| u64::from(i.get()))
}

#[test]
fn file_sizes_are_64k_minus_1_between_63_and_2047() {
    assert!(ImsicFile::new(63).is_ok());
    assert!(ImsicFile::new(2047).is_ok());
    assert_eq!(ImsicFile::new(64), Err(BadFileSize(64)));
    assert_eq!(ImsicFile::new(31), Err(BadFileSize(31)));
    assert_eq!(ImsicFile::new(4095), Err(BadFileSize(4095)));
}

#[test]
fn topei_reports_the_lowest_pending_and_enabled_identity() {
    let mut f = file(2047);
    assert_eq!(f.topei(), Topei::NONE);
    for id in [2000, 700, 64, 65] {
        arm(&mut f, id);
    }
    assert_eq!(top(&f), 64);
    assert_eq!(
        f.topei().bits(),
        (64 << 16) | 64,
        "identity in 26:16 and 10:0"
    );
}

#[test]
fn topei_ignores_pending_but_disabled_and_enabled_but_idle_identities() {
    let mut f = file(255);
    f.rmw_reg(reg(0x80, Xlen::Rv64), CsrOp::Set(1 << 3));
    f.rmw_reg(reg(0xC0, Xlen::Rv64), CsrOp::Set(1 << 4));
    assert_eq!(f.topei(), Topei::NONE);
    arm(&mut f, 5);
    assert_eq!(top(&f), 5);
}

#[test]
fn eithreshold_masks_identities_at_and_above_it() {
    let mut f = file(255);
    arm(&mut f, 10);
    f.rmw_reg(ImsicReg::Eithreshold, CsrOp::Write(10));
    assert_eq!(f.topei(), Topei::NONE, "identity P itself is masked");
    f.rmw_reg(ImsicReg::Eithreshold, CsrOp::Write(11));
    assert_eq!(top(&f), 10);
    f.rmw_reg(ImsicReg::Eithreshold, CsrOp::Write(0));
    assert_eq!(top(&f), 10, "zero masks nothing");
}

#[test]
fn eithreshold_holds_every_value_up_to_n() {
    let mut f = file(2047);
    f.rmw_reg(ImsicReg::Eithreshold, CsrOp::Write(2047));
    assert_eq!(f.read_reg(ImsicReg::Eithreshold), 2047);
}

#[test]
fn msi_write_sets_pending_and_topei_write_claims_it() {
    let mut f = file(63);
    f.rmw_reg(reg(0xC0, Xlen::Rv64), CsrOp::Write(!0));
    assert_eq!(f.mmio(0, 4, MmioOp::Store(9)), Ok(0));
    assert_eq!(top(&f), 9);
    assert_eq!(
        f.rmw_topei(CsrOp::Write(0x1234)),
        (9 << 16) | 9,
        "value written is ignored"
    );
    assert_eq!(f.topei(), Topei::NONE);
    assert_eq!(f.read_reg(reg(0x80, Xlen::Rv64)), 0);
}

#[test]
fn topei_read_without_write_does_not_claim() {
    let mut f = file(63);
    arm(&mut f, 1);
    assert_eq!(f.rmw_topei(CsrOp::Read), (1 << 16) | 1);
    assert_eq!(top(&f), 1);
}

#[test]
fn topei_write_with_nothing_reported_has_no_effect() {
    let mut f = file(63);
    arm(&mut f, 20);
    f.rmw_reg(ImsicReg::Eithreshold, CsrOp::Write(5));
    assert_eq!(f.claim(), Topei::NONE);
    f.rmw_reg(ImsicReg::Eithreshold, CsrOp::Write(0));
    assert_eq!(top(&f), 20, "the masked identity stays pending");
}

#[test]
fn topei_claim_clears_only_the_reported_identity() {
    let mut f = file(127);
    arm(&mut f, 3);
    arm(&mut f, 100);
    f.claim();
    assert_eq!(top(&f), 100);
}

#[test]
fn eidelivery_off_holds_the_signal_low_but_topei_still_reports() {
    let mut f = file(63);
    arm(&mut f, 2);
    assert!(!f.signal(), "files start with delivery off");
    f.rmw_reg(ImsicReg::Eidelivery, CsrOp::Write(1));
    assert!(f.signal());
    f.rmw_reg(ImsicReg::Eidelivery, CsrOp::Write(0));
    assert!(!f.signal());
    assert_eq!(top(&f), 2);
}

#[test]
fn eidelivery_of_a_guest_file_never_takes_the_aplic_value() {
    let mut f = file(63);
    f.rmw_reg(ImsicReg::Eidelivery, CsrOp::Write(0x4000_0000));
    assert_eq!(f.read_reg(ImsicReg::Eidelivery), 0);
    f.rmw_reg(ImsicReg::Eidelivery, CsrOp::Write(0x4000_0001));
    assert_eq!(f.read_reg(ImsicReg::Eidelivery), 1);
}

#[test]
fn identity_zero_and_identities_above_n_are_ignored_by_seteipnum() {
    let mut f = file(63);
    f.rmw_reg(reg(0xC0, Xlen::Rv64), CsrOp::Write(!0));
    for v in [0u64, 64, 2047, 0xFFFF_FFFF, 1 << 40] {
        assert_eq!(f.mmio(0, 4, MmioOp::Store(v)), Ok(0));
    }
    assert_eq!(f.topei(), Topei::NONE);
    assert_eq!(f.read_reg(reg(0x80, Xlen::Rv64)), 0);
}

#[test]
fn bit_0_of_eip0_and_unimplemented_identities_are_read_only_zero() {
    let mut f = file(63);
    f.rmw_reg(reg(0x80, Xlen::Rv64), CsrOp::Write(!0));
    assert_eq!(f.read_reg(reg(0x80, Xlen::Rv64)), !1);
    f.rmw_reg(reg(0x82, Xlen::Rv64), CsrOp::Write(!0));
    f.rmw_reg(reg(0xC2, Xlen::Rv64), CsrOp::Write(!0));
    assert_eq!(
        f.read_reg(reg(0x82, Xlen::Rv64)),
        0,
        "identities 64-127 absent with N = 63"
    );
    assert_eq!(f.read_reg(reg(0xC2, Xlen::Rv64)), 0);
}

#[test]
fn rv32_array_registers_cover_32_identities_each() {
    let mut f = file(63);
    f.rmw_reg(reg(0xC1, Xlen::Rv32), CsrOp::Write(1));
    f.rmw_reg(reg(0x81, Xlen::Rv32), CsrOp::Write(1));
    assert_eq!(top(&f), 32);
    assert_eq!(f.read_reg(reg(0x80, Xlen::Rv64)), 1 << 32);
    assert_eq!(f.read_reg(reg(0x80, Xlen::Rv32)), 0);
    let part = WordPart::of(1, Xlen::Rv32).unwrap();
    assert_eq!((part.word(), part.shift(), part.bits()), (0, 32, 32));
    assert_eq!(f.read_reg(ImsicReg::Eip(part)), 1);
}

#[test]
fn array_register_numbers_wrap_into_the_64_that_exist() {
    for k in [0u8, 63, 64, 127, 255] {
        for xlen in [Xlen::Rv32, Xlen::Rv64] {
            if let Some(p) = WordPart::of(k, xlen) {
                assert!(p.word() < 32 && p.shift() + p.bits() <= 64, "{k} {xlen:?}");
            }
        }
    }
}

#[test]
fn reserved_file_registers_read_zero_and_ignore_writes() {
    let mut f = file(63);
    let before = f.clone();
    for sel in [0x71, 0x73, 0x7F] {
        assert_eq!(f.rmw_reg(reg(sel, Xlen::Rv64), CsrOp::Write(!0)), 0);
        assert_eq!(f.read_reg(reg(sel, Xlen::Rv64)), 0);
    }
    assert_eq!(f, before);
}

#[test]
fn seteipnum_be_takes_a_big_endian_identity() {
    let mut f = file(2047);
    f.rmw_reg(reg(0xC0 + 2 * 4, Xlen::Rv64), CsrOp::Write(!0));
    assert_eq!(
        f.mmio(4, 4, MmioOp::Store(u64::from(300u32.swap_bytes()))),
        Ok(0)
    );
    assert_eq!(top(&f), 300);
}

#[test]
fn file_page_reads_return_zero() {
    let mut f = file(63);
    arm(&mut f, 1);
    for off in [0, 4, 8, 0xFFC] {
        assert_eq!(f.mmio(off, 4, MmioOp::Load), Ok(0));
    }
}

#[test]
fn stores_to_other_words_of_the_page_are_ignored() {
    let mut f = file(63);
    f.rmw_reg(reg(0xC0, Xlen::Rv64), CsrOp::Write(!0));
    assert_eq!(f.mmio(8, 4, MmioOp::Store(5)), Ok(0));
    assert_eq!(f.mmio(0xFFC, 4, MmioOp::Store(5)), Ok(0));
    assert_eq!(f.topei(), Topei::NONE);
}

#[test]
fn misaligned_wrong_width_amo_and_out_of_page_accesses_fault() {
    let mut f = file(63);
    f.rmw_reg(reg(0xC0, Xlen::Rv64), CsrOp::Write(!0));
    let cases = [
        (0, 8, MmioOp::Store(5)),
        (0, 1, MmioOp::Store(5)),
        (0, 2, MmioOp::Load),
        (2, 4, MmioOp::Store(5)),
        (1, 4, MmioOp::Load),
        (0, 4, MmioOp::Amo),
        (0x1000, 4, MmioOp::Store(5)),
        (u64::MAX - 3, 4, MmioOp::Store(5)),
    ];
    for (off, width, op) in cases {
        assert_eq!(
            f.mmio(off, width, op),
            Err(MmioFault::AccessFault),
            "{off:#x}/{width}/{op:?}"
        );
    }
    assert_eq!(f.topei(), Topei::NONE, "a faulting store sets nothing");
}
