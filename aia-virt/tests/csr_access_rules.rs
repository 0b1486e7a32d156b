//! Which AIA CSR accesses complete, and which trap as illegal or virtual instruction.
//! AIA "CSRs" chapter ("Hypervisor and VS CSRs", state-enable section); Priv spec H chapter.

mod common;
use aia_virt::csr::AIA_CSRS;
use aia_virt::{
    AiaConfig, CsrError, CsrOp, CsrTrap, Hstateen0, NestedAia, NoGuestFileHardware, Origin, Vgein,
    Xlen,
};
use common::{CTX, HS, VS, VS32, VU, num::*};

const IL: Result<u64, CsrError> = Err(CsrError::Trap(CsrTrap::IllegalInstruction));
const VI: Result<u64, CsrError> = Err(CsrError::Trap(CsrTrap::VirtualInstruction));

fn aia() -> NestedAia<4> {
    NestedAia::new(AiaConfig::new(255)).unwrap()
}

fn rmw(a: &mut NestedAia<4>, n: u16, op: CsrOp, o: Origin) -> Result<u64, CsrError> {
    a.csr_rmw(n, op, o, &CTX, &mut NoGuestFileHardware)
}

fn write(a: &mut NestedAia<4>, n: u16, v: u64, o: Origin) -> Result<u64, CsrError> {
    a.write_then_read(n, v, o, &CTX, &mut NoGuestFileHardware)
}

fn read(a: &mut NestedAia<4>, n: u16, o: Origin) -> Result<u64, CsrError> {
    a.csr_read(n, o, &CTX, &mut NoGuestFileHardware)
}

fn with_stateen(bits: Hstateen0) -> Origin {
    Origin::L2Supervisor {
        hstateen0: bits,
        xlen: Xlen::Rv64,
    }
}

#[test]
fn hvien_bits_12_to_0_are_read_only_zero_and_hvip_keeps_2_6_10_and_13_to_63() {
    let mut a = aia();
    assert_eq!(write(&mut a, HVIEN, !0, HS), Ok(!0x1FFF));
    assert_eq!(write(&mut a, HVIP, !0, HS), Ok(!0x1FFF | 0x444));
}

#[test]
fn hvip_high_bits_are_read_only_zero_where_hvien_is() {
    let mut cfg = AiaConfig::new(63);
    cfg.hvien_writable = 1 << 13;
    let mut a = NestedAia::<1>::new(cfg).unwrap();
    let w = a.write_then_read(HVIP, !0, HS, &CTX, &mut NoGuestFileHardware);
    assert_eq!(w, Ok((1 << 13) | 0x444));
}

#[test]
fn hvictl_write_reads_back_only_its_fields() {
    let mut a = aia();
    assert_eq!(write(&mut a, HVICTL, !0, HS), Ok(0x4FFF_03FF));
    let mut cfg = AiaConfig::new(63);
    cfg.iid_bits = 6;
    let mut b = NestedAia::<1>::new(cfg).unwrap();
    assert_eq!(
        b.write_then_read(HVICTL, !0, HS, &CTX, &mut NoGuestFileHardware),
        Ok(0x403F_03FF)
    );
}

#[test]
fn hviprio_reserved_bytes_read_zero_through_the_csr() {
    let mut a = aia();
    assert_eq!(write(&mut a, HVIPRIO1, !0, HS), Ok(0xFFFF_FF00_FF00_FF00));
    assert_eq!(write(&mut a, HVIPRIO2, !0, HS), Ok(!0));
}

#[test]
fn hgeie_writable_bits_are_1_to_geilen() {
    let mut a = aia();
    assert_eq!(write(&mut a, HGEIE, !0, HS), Ok(0b1_1110));
    let mut none = NestedAia::<0>::new(AiaConfig::new(63)).unwrap();
    assert_eq!(
        none.write_then_read(HGEIE, !0, HS, &CTX, &mut NoGuestFileHardware),
        Ok(0)
    );
}

#[test]
fn vsiselect_holds_exactly_0_to_0x1ff() {
    let mut a = aia();
    assert_eq!(write(&mut a, VSISELECT, 0x1FF, HS), Ok(0x1FF));
    assert_eq!(
        write(&mut a, VSISELECT, 0x8000_0000_0000_0070, HS),
        Ok(0x70)
    );
}

#[test]
fn writes_to_hgeip_and_vstopi_are_illegal_even_from_hs() {
    let mut a = aia();
    for n in [HGEIP, VSTOPI] {
        assert_eq!(rmw(&mut a, n, CsrOp::Write(0), HS), IL);
        assert_eq!(
            rmw(&mut a, n, CsrOp::Set(0), HS),
            IL,
            "CSRRS with a register is a write"
        );
        assert_eq!(rmw(&mut a, n, CsrOp::Read, HS), Ok(0));
        assert_eq!(
            rmw(&mut a, n, CsrOp::Write(0), VS),
            IL,
            "not HS-qualified, so illegal"
        );
        assert_eq!(rmw(&mut a, n, CsrOp::Read, VS), VI);
    }
    assert_eq!(rmw(&mut a, STOPI, CsrOp::Write(0), VS), IL);
}

#[test]
fn l2_access_to_every_h_and_vs_csr_number_is_virtual_instruction() {
    let mut a = aia();
    a.set_vgein(Vgein::new(1));
    for row in &AIA_CSRS {
        assert_eq!(rmw(&mut a, row.number, CsrOp::Read, VS), VI, "{}", row.name);
        assert_eq!(rmw(&mut a, row.number, CsrOp::Read, VU), VI, "{}", row.name);
    }
}

#[test]
fn l1_user_mode_access_to_every_aia_csr_is_illegal() {
    let mut a = aia();
    for row in &AIA_CSRS {
        assert_eq!(
            rmw(&mut a, row.number, CsrOp::Read, Origin::L1User),
            IL,
            "{}",
            row.name
        );
    }
}

#[test]
fn supervisor_numbers_from_l1_are_not_aia_csrs() {
    let mut a = aia();
    for n in [SISELECT, SIREG, STOPEI, STOPI, 0x100, 0x644] {
        assert_eq!(rmw(&mut a, n, CsrOp::Read, HS), Err(CsrError::NotAiaCsr));
    }
    assert!(aia_virt::owns(SIREG, VS));
    assert!(!aia_virt::owns(SIREG, HS));
}

#[test]
fn vsireg_with_an_iprio_select_is_illegal_from_hs_and_virtual_from_vs() {
    let mut a = aia();
    a.set_vgein(Vgein::new(1));
    for sel in [0x30, 0x35, 0x3F] {
        write(&mut a, VSISELECT, sel, HS).unwrap();
        assert_eq!(read(&mut a, VSIREG, HS), IL);
        assert_eq!(read(&mut a, SIREG, VS), VI);
    }
}

#[test]
fn vsireg_with_a_reserved_select_is_illegal_from_hs_and_from_vs() {
    let mut a = aia();
    for vgein in [1, 0] {
        a.set_vgein(Vgein::new(vgein));
        for sel in [0, 0x2F, 0x40, 0x6F, 0x100, 0x1FF] {
            write(&mut a, VSISELECT, sel, HS).unwrap();
            assert_eq!(read(&mut a, VSIREG, HS), IL, "{sel:#x}");
            assert_eq!(read(&mut a, SIREG, VS), IL, "{sel:#x}");
            assert_eq!(read(&mut a, SIREG, VS32), IL, "{sel:#x}");
            assert_eq!(
                read(&mut a, SIREG, VU),
                VI,
                "{sel:#x}: VU is always virtual"
            );
        }
    }
    let o = with_stateen(Hstateen0::all() - Hstateen0::CSRIND);
    assert_eq!(read(&mut a, SIREG, o), VI, "stateen takes precedence");
}

#[test]
fn file_registers_need_vgein_to_name_an_implemented_guest_file() {
    let mut a = aia();
    write(&mut a, VSISELECT, 0x70, HS).unwrap();
    for vgein in [0, 5, 63] {
        a.set_vgein(Vgein::new(vgein));
        assert_eq!(read(&mut a, VSIREG, HS), IL, "VGEIN {vgein}");
        assert_eq!(read(&mut a, SIREG, VS), VI, "VGEIN {vgein}");
    }
    a.set_vgein(Vgein::new(4));
    assert_eq!(read(&mut a, VSIREG, HS), Ok(0));
    assert_eq!(read(&mut a, SIREG, VS), Ok(0));
}

#[test]
fn vstopei_without_a_valid_vgein_is_illegal_from_hs_and_virtual_from_vs() {
    let mut a = aia();
    for vgein in [0, 5] {
        a.set_vgein(Vgein::new(vgein));
        assert_eq!(read(&mut a, VSTOPEI, HS), IL);
        assert_eq!(read(&mut a, STOPEI, VS), VI);
    }
    let mut none = NestedAia::<0>::new(AiaConfig::new(63)).unwrap();
    none.set_vgein(Vgein::new(1));
    let r = none.csr_read(VSTOPEI, HS, &CTX, &mut NoGuestFileHardware);
    assert_eq!(r, IL, "GEILEN = 0: no VGEIN is valid");
}

#[test]
fn odd_array_registers_do_not_exist_for_rv64_code() {
    let mut a = aia();
    a.set_vgein(Vgein::new(1));
    for sel in [0x81, 0xBF, 0xC1, 0xFF] {
        write(&mut a, VSISELECT, sel, HS).unwrap();
        assert_eq!(read(&mut a, VSIREG, HS), IL, "{sel:#x}");
        assert_eq!(read(&mut a, SIREG, VS), VI, "{sel:#x}");
        assert_eq!(
            read(&mut a, SIREG, VS32),
            Ok(0),
            "{sel:#x} exists for RV32 code"
        );
    }
}

#[test]
fn rv32_code_moves_32_bits_per_array_register() {
    let mut a = aia();
    a.set_vgein(Vgein::new(1));
    write(&mut a, VSISELECT, 0xC1, HS).unwrap();
    assert_eq!(
        a.write_then_read(SIREG, !0, VS32, &CTX, &mut NoGuestFileHardware),
        Ok(0xFFFF_FFFF)
    );
    write(&mut a, VSISELECT, 0xC0, HS).unwrap();
    assert_eq!(read(&mut a, VSIREG, HS), Ok(0xFFFF_FFFF_0000_0000));
}

#[test]
fn vu_access_to_sireg_and_stopei_is_virtual_instruction() {
    let mut a = aia();
    a.set_vgein(Vgein::new(1));
    write(&mut a, VSISELECT, 0x70, HS).unwrap();
    for n in [SISELECT, SIREG, STOPEI, STOPI] {
        assert_eq!(read(&mut a, n, VU), VI);
    }
}

#[test]
fn hstateen0_csrind_clear_makes_every_l2_siselect_and_sireg_access_virtual() {
    let mut a = aia();
    a.set_vgein(Vgein::new(1));
    let o = with_stateen(Hstateen0::all() - Hstateen0::CSRIND);
    assert_eq!(read(&mut a, SISELECT, o), VI);
    assert_eq!(read(&mut a, SIREG, o), VI);
    assert_eq!(read(&mut a, STOPEI, o), Ok(0));
}

#[test]
fn hstateen0_imsic_clear_acts_like_vgein_zero_for_l2() {
    let mut a = aia();
    a.set_vgein(Vgein::new(1));
    write(&mut a, VSISELECT, 0x70, HS).unwrap();
    let o = with_stateen(Hstateen0::all() - Hstateen0::IMSIC);
    assert_eq!(read(&mut a, STOPEI, o), VI);
    assert_eq!(read(&mut a, SIREG, o), VI);
    assert_eq!(read(&mut a, SISELECT, o), Ok(0x70));
}

#[test]
fn hstateen0_aia_clear_makes_l2_stopi_virtual() {
    let mut a = aia();
    let o = with_stateen(Hstateen0::all() - Hstateen0::AIA);
    assert_eq!(read(&mut a, STOPI, o), VI);
    assert_eq!(read(&mut a, STOPI, VS), Ok(0));
}

#[test]
fn vstopei_read_alone_does_not_claim_but_csrrs_with_a_zero_register_does() {
    let mut a = aia();
    a.set_vgein(Vgein::new(2));
    write(&mut a, VSISELECT, 0xC0, HS).unwrap();
    write(&mut a, VSIREG, 1 << 6, HS).unwrap();
    a.send_msi(2, 6, &mut NoGuestFileHardware);
    assert_eq!(rmw(&mut a, VSTOPEI, CsrOp::Read, HS), Ok((6 << 16) | 6));
    assert_eq!(rmw(&mut a, VSTOPEI, CsrOp::Read, HS), Ok((6 << 16) | 6));
    assert_eq!(rmw(&mut a, VSTOPEI, CsrOp::Set(0), HS), Ok((6 << 16) | 6));
    assert_eq!(rmw(&mut a, VSTOPEI, CsrOp::Read, HS), Ok(0));
}

#[test]
fn l2_stopei_claims_from_the_file_l1_selected() {
    let mut a = aia();
    a.set_vgein(Vgein::new(3));
    write(&mut a, VSISELECT, 0xC0, HS).unwrap();
    write(&mut a, VSIREG, 1 << 9, HS).unwrap();
    a.send_msi(3, 9, &mut NoGuestFileHardware);
    a.send_msi(2, 9, &mut NoGuestFileHardware);
    assert_eq!(rmw(&mut a, STOPEI, CsrOp::Write(0), VS), Ok((9 << 16) | 9));
    assert_eq!(rmw(&mut a, STOPEI, CsrOp::Read, VS), Ok(0));
    let f2 = a.emulated_file(2).unwrap();
    assert!(f2.pending(f2.identity(9).unwrap()), "file 2 untouched");
}
