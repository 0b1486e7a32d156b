//! The WARL, alias and existence rules of the virtual CSR file, one test per rule.

use nested_core::csr::bits::*;
use nested_core::csr::number::*;
use nested_core::csr::{CsrError, Effects, PROBE_WRITES, TABLE, VirtualCsrs};
use nested_core::{HardwareMismatch, NestedConfig, RealVsFields, VsatpModes};

fn rv64() -> VirtualCsrs {
    VirtualCsrs::new(NestedConfig::rv64())
}

fn rv32() -> VirtualCsrs {
    VirtualCsrs::new(NestedConfig::rv32())
}

/// Writes, then reads back at time 0.
fn write_read(file: &mut VirtualCsrs, csr: u16, value: u64) -> u64 {
    file.write(csr, value)
        .unwrap_or_else(|e| panic!("write {csr:#x}: {e:?}"));
    file.read(csr, 0).unwrap()
}

#[test]
fn table_is_sorted_by_number_without_repeats() {
    assert!(
        TABLE.windows(2).all(|w| w[0].number < w[1].number),
        "{:?}",
        TABLE
    );
}

#[test]
fn every_h_and_vs_csr_of_the_spec_exists_on_rv64() {
    let file = rv64();
    for csr in [
        HSTATUS, HEDELEG, HIDELEG, HIE, HTIMEDELTA, HCOUNTEREN, HGEIE, HENVCFG, HTVAL, HIP, HVIP,
        HTINST, HGATP, HGEIP, VSSTATUS, VSIE, VSTVEC, VSSCRATCH, VSEPC, VSCAUSE, VSTVAL, VSIP,
        VSTIMECMP, VSATP,
    ] {
        assert!(file.read(csr, 0).is_ok(), "{csr:#x}");
    }
}

#[test]
fn hstatus_keeps_only_its_writable_fields() {
    let mut file = rv64();
    let all = write_read(&mut file, HSTATUS, u64::MAX);
    let writable = HSTATUS_GVA
        | HSTATUS_SPV
        | HSTATUS_SPVP
        | HSTATUS_HU
        | HSTATUS_VTVM
        | HSTATUS_VTW
        | HSTATUS_VTSR;
    assert_eq!(
        all,
        writable | XL_64 << 32,
        "VGEIN stays 0 with GEILEN 0; VSBE, HUPMM read 0"
    );
    assert_eq!(
        write_read(&mut file, HSTATUS, 0),
        XL_64 << 32,
        "VSXL is read-only 64-bit"
    );
}

#[test]
fn hstatus_vgein_is_wlrl_up_to_geilen() {
    let mut file = VirtualCsrs::new(NestedConfig {
        geilen: 5,
        ..NestedConfig::rv64()
    });
    assert_eq!(
        write_read(&mut file, HSTATUS, 5 << 12) & HSTATUS_VGEIN,
        5 << 12
    );
    assert_eq!(
        write_read(&mut file, HSTATUS, 6 << 12) & HSTATUS_VGEIN,
        5 << 12,
        "an illegal VGEIN keeps the old one"
    );
    assert_eq!(write_read(&mut file, HSTATUS, 0) & HSTATUS_VGEIN, 0);
}

#[test]
fn rv32_hstatus_has_no_vsxl() {
    assert_eq!(
        write_read(&mut rv32(), HSTATUS, u64::MAX),
        HSTATUS_GVA
            | HSTATUS_SPV
            | HSTATUS_SPVP
            | HSTATUS_HU
            | HSTATUS_VTVM
            | HSTATUS_VTW
            | HSTATUS_VTSR
    );
}

#[test]
fn hedeleg_ecalls_from_hs_vs_m_and_guest_page_faults_are_read_only_zero() {
    let value = write_read(&mut rv64(), HEDELEG, u64::MAX);
    for read_only_zero in [9, 10, 11, 16, 20, 21, 22, 23] {
        assert_eq!(value >> read_only_zero & 1, 0, "bit {read_only_zero}");
    }
    for writable in [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 15] {
        assert_eq!(value >> writable & 1, 1, "bit {writable}");
    }
}

#[test]
fn hideleg_delegates_only_vs_level_interrupts() {
    assert_eq!(
        write_read(&mut rv64(), HIDELEG, u64::MAX),
        VSSIP | VSTIP | VSEIP
    );
}

#[test]
fn hie_sgeie_is_writable_with_or_without_guest_external_interrupts() {
    assert_eq!(
        write_read(&mut rv64(), HIE, u64::MAX),
        VS_INTERRUPTS | SGEIP
    );
    let mut with_lines = VirtualCsrs::new(NestedConfig {
        geilen: 3,
        ..NestedConfig::rv64()
    });
    assert_eq!(
        write_read(&mut with_lines, HIE, u64::MAX),
        VS_INTERRUPTS | SGEIP
    );
}

#[test]
fn hgeie_implements_bits_geilen_to_1_only() {
    assert_eq!(write_read(&mut rv64(), HGEIE, u64::MAX), 0);
    let mut file = VirtualCsrs::new(NestedConfig {
        geilen: 3,
        ..NestedConfig::rv64()
    });
    assert_eq!(write_read(&mut file, HGEIE, u64::MAX), 0b1110);
}

#[test]
fn hgeip_is_read_only() {
    assert_eq!(rv64().write(HGEIP, 0), Err(CsrError::ReadOnly));
}

#[test]
fn hgatp_write_of_unsupported_mode_keeps_a_legal_mode() {
    let mut file = rv64();
    assert_eq!(write_read(&mut file, HGATP, 8 << 60) >> 60, 8);
    // Sv57x4 is not offered: the MODE stays Sv39x4 while VMID and PPN are written.
    let after = write_read(&mut file, HGATP, 10 << 60 | 5 << 44 | 0x100);
    assert_eq!(
        (after >> 60, after >> 44 & 0x3fff, after & 0xfff_ffff_ffff),
        (8, 5, 0x100)
    );
    // A reserved MODE likewise.
    assert_eq!(write_read(&mut file, HGATP, 3 << 60) >> 60, 8);
    assert_eq!(
        write_read(&mut file, HGATP, 0) >> 60,
        0,
        "Bare is always legal"
    );
}

#[test]
fn hgatp_vmid_width_is_discovered_by_writing_all_ones() {
    for vmid_bits in [0, 1, 7, 14] {
        let mut file = VirtualCsrs::new(NestedConfig {
            vmid_bits,
            ..NestedConfig::rv64()
        });
        let vmid = write_read(&mut file, HGATP, 8 << 60 | 0x3fff << 44) >> 44 & 0x3fff;
        assert_eq!(vmid, (1 << vmid_bits) - 1, "{vmid_bits} bits");
    }
}

#[test]
fn hgatp_ppn_low_two_bits_read_zero_in_paged_modes() {
    let mut file = rv64();
    assert_eq!(
        write_read(&mut file, HGATP, 8 << 60 | 0x8_0003) & 0xfff_ffff_ffff,
        0x8_0000
    );
}

#[test]
fn rv32_hgatp_uses_the_32_bit_layout() {
    let mut file = rv32();
    let value = write_read(&mut file, HGATP, 1 << 31 | 0x7f << 22 | 0x3f_ffff);
    assert_eq!(value, 1 << 31 | 0x7f << 22 | 0x3f_fffc);
}

#[test]
fn hip_vssip_is_a_writable_alias_of_hvip_vssip() {
    let mut file = rv64();
    assert_eq!(
        write_read(&mut file, HIP, u64::MAX),
        VSSIP,
        "only VSSIP is writable through hip"
    );
    assert_eq!(file.read(HVIP, 0), Ok(VSSIP));
    assert_eq!(write_read(&mut file, HVIP, VSTIP | VSEIP), VSTIP | VSEIP);
    assert_eq!(
        file.read(HIP, 0),
        Ok(VSTIP | VSEIP),
        "VSTIP and VSEIP of hvip show in hip"
    );
    assert_eq!(
        write_read(&mut file, HIP, 0),
        VSTIP | VSEIP,
        "they are read-only in hip"
    );
}

#[test]
fn hip_vstip_follows_vstimecmp_under_sstc_when_stce_is_set() {
    let mut file = rv64();
    file.write(VSTIMECMP, 1000).unwrap();
    file.write(HTIMEDELTA, 100).unwrap();
    assert_eq!(
        file.read(HIP, 2000),
        Ok(0),
        "no timer signal while henvcfg.STCE is clear"
    );
    file.write(HENVCFG, HENVCFG_STCE).unwrap();
    assert_eq!(file.read(HIP, 899), Ok(0));
    assert_eq!(
        file.read(HIP, 900),
        Ok(VSTIP),
        "time + htimedelta >= vstimecmp"
    );
    file.write(HTIMEDELTA, u64::MAX).unwrap(); // -1: wraps
    assert_eq!(file.read(HIP, 1000), Ok(0));
}

#[test]
fn hip_vseip_follows_the_guest_external_interrupt_vgein_selects_and_sgeip_the_enabled_ones() {
    let mut file = VirtualCsrs::new(NestedConfig {
        geilen: 4,
        ..NestedConfig::rv64()
    });
    file.set_hgeip(0b100);
    assert_eq!(file.read(HIP, 0), Ok(0));
    file.write(HSTATUS, 2 << 12).unwrap();
    assert_eq!(file.read(HIP, 0), Ok(VSEIP));
    file.write(HGEIE, 0b100).unwrap();
    assert_eq!(file.read(HIP, 0), Ok(VSEIP | SGEIP));
}

#[test]
fn vsip_and_vsie_bits_are_zero_unless_hideleg_delegates_them() {
    let mut file = rv64();
    file.write(HVIP, VS_INTERRUPTS).unwrap();
    file.write(HIE, VS_INTERRUPTS).unwrap();
    assert_eq!(file.read(VSIP, 0), Ok(0));
    assert_eq!(file.read(VSIE, 0), Ok(0));
    file.write(HIDELEG, VSTIP).unwrap();
    assert_eq!(file.read(VSIP, 0), Ok(1 << 5), "vsip.STIP = hip.VSTIP");
    assert_eq!(file.read(VSIE, 0), Ok(1 << 5));
}

#[test]
fn vsip_ssip_writes_hvip_vssip_and_vsie_writes_hie() {
    let mut file = rv64();
    file.write(HIDELEG, VS_INTERRUPTS).unwrap();
    assert_eq!(
        write_read(&mut file, VSIP, u64::MAX),
        1 << 1,
        "only SSIP is writable in vsip"
    );
    assert_eq!(file.read(HVIP, 0), Ok(VSSIP));
    assert_eq!(
        write_read(&mut file, VSIE, u64::MAX),
        (1 << 1) | (1 << 5) | (1 << 9)
    );
    assert_eq!(file.read(HIE, 0), Ok(VS_INTERRUPTS));
    file.write(HIDELEG, 0).unwrap();
    assert_eq!(write_read(&mut file, VSIE, 0), 0);
    assert_eq!(
        file.read(HIE, 0),
        Ok(VS_INTERRUPTS),
        "undelegated bits are not reachable through vsie"
    );
}

#[test]
fn vsatp_write_of_an_unoffered_mode_is_ignored() {
    let mut file = rv64();
    assert_eq!(write_read(&mut file, VSATP, 9 << 60 | 0x55), 9 << 60 | 0x55);
    assert_eq!(
        write_read(&mut file, VSATP, 10 << 60 | 0x66),
        9 << 60 | 0x55,
        "Sv57 is not offered"
    );
    assert_eq!(
        write_read(&mut file, VSATP, 1 << 60),
        9 << 60 | 0x55,
        "reserved MODE"
    );
    assert_eq!(write_read(&mut file, VSATP, 0), 0);
}

#[test]
fn vsatp_asid_keeps_the_offered_width() {
    let mut file = VirtualCsrs::new(NestedConfig {
        asid_bits: 9,
        ..NestedConfig::rv64()
    });
    assert_eq!(
        write_read(&mut file, VSATP, 8 << 60 | 0xffff << 44) >> 44 & 0xffff,
        0x1ff
    );
}

#[test]
fn vstvec_writes_with_reserved_modes_are_ignored() {
    let mut file = rv64();
    assert_eq!(write_read(&mut file, VSTVEC, 0x8000_0001), 0x8000_0001);
    assert_eq!(write_read(&mut file, VSTVEC, 0x9000_0002), 0x8000_0001);
    assert_eq!(write_read(&mut file, VSTVEC, 0x9000_0003), 0x8000_0001);
}

#[test]
fn vsepc_bit_0_reads_zero() {
    assert_eq!(write_read(&mut rv64(), VSEPC, u64::MAX), u64::MAX - 1);
}

#[test]
fn vsstatus_sd_summarises_dirty_fs_and_uxl_reads_64_bit() {
    let mut file = rv64();
    let value = write_read(&mut file, VSSTATUS, SSTATUS_FS);
    assert_eq!(value, SSTATUS_FS | 1 << 63 | XL_64 << 32);
    let value = write_read(&mut file, VSSTATUS, u64::MAX);
    let writable =
        SSTATUS_SIE | SSTATUS_SPIE | SSTATUS_SPP | SSTATUS_SUM | SSTATUS_MXR | SSTATUS_FS;
    assert_eq!(
        value,
        writable | 1 << 63 | XL_64 << 32,
        "VS, XS, UBE are read-only zero here"
    );
    assert_eq!(
        write_read(&mut rv32(), VSSTATUS, SSTATUS_FS),
        SSTATUS_FS | 1 << 31
    );
}

#[test]
fn rv32_high_halves_exist_only_on_rv32_and_hold_bits_63_to_32() {
    assert_eq!(rv64().read(HTIMEDELTAH, 0), Err(CsrError::Absent));
    assert_eq!(rv64().read(VSTIMECMPH, 0), Err(CsrError::Absent));
    let mut file = rv32();
    file.write(HTIMEDELTA, 0xdead_beef_1234_5678).unwrap();
    file.write(HTIMEDELTAH, 0xcafe).unwrap();
    assert_eq!(file.read(HTIMEDELTA, 0), Ok(0x1234_5678));
    assert_eq!(file.read(HTIMEDELTAH, 0), Ok(0xcafe));
    assert_eq!(
        write_read(&mut file, HEDELEGH, u64::MAX),
        0,
        "hedeleg bits 63:32 are read-only zero"
    );
    assert_eq!(
        write_read(&mut file, HENVCFGH, u64::MAX),
        HENVCFG_STCE >> 32
    );
    assert_eq!(write_read(&mut file, VSTIMECMPH, 7), 7);
}

#[test]
fn optional_csrs_exist_only_when_offered() {
    let bare = NestedConfig {
        sstc: false,
        smstateen: false,
        ..NestedConfig::rv64()
    };
    let file = VirtualCsrs::new(bare);
    assert_eq!(file.read(VSTIMECMP, 0), Err(CsrError::Absent));
    assert_eq!(file.read(HSTATEEN0, 0), Err(CsrError::Absent));
    let mut file = VirtualCsrs::new(NestedConfig {
        smstateen: true,
        ..NestedConfig::rv64()
    });
    assert_eq!(
        write_read(&mut file, HSTATEEN0, u64::MAX),
        HSTATEEN_SE0 | HSTATEEN_ENVCFG
    );
    assert_eq!(write_read(&mut file, HSTATEEN3, u64::MAX), HSTATEEN_SE0);
}

#[test]
fn henvcfg_offers_only_the_configured_extensions() {
    assert_eq!(
        write_read(&mut rv64(), HENVCFG, u64::MAX),
        HENVCFG_FIOM | HENVCFG_STCE | HENVCFG_ADUE
    );
    let none = NestedConfig {
        sstc: false,
        svadu: false,
        ..NestedConfig::rv64()
    };
    assert_eq!(
        write_read(&mut VirtualCsrs::new(none), HENVCFG, u64::MAX),
        HENVCFG_FIOM
    );
}

#[test]
fn aia_csrs_are_absent_without_aia() {
    let file = rv64();
    for csr in [
        HVIEN, HVICTL, HVIPRIO1, HVIPRIO2, VSISELECT, VSIREG, VSTOPEI, VSTOPI,
    ] {
        assert_eq!(file.read(csr, 0), Err(CsrError::Absent), "{csr:#x}");
    }
}

#[test]
fn writes_report_what_changed() {
    let mut file = rv64();
    assert_eq!(file.write(HGATP, 8 << 60), Ok(Effects::HGATP));
    assert_eq!(
        file.write(HGATP, 8 << 60),
        Ok(Effects::empty()),
        "no change, no effect"
    );
    assert_eq!(file.write(HSTATUS, HSTATUS_SPV), Ok(Effects::SPV));
    assert_eq!(
        file.write(HSTATUS, HSTATUS_SPV | HSTATUS_VTSR),
        Ok(Effects::empty())
    );
    assert_eq!(file.write(VSTIMECMP, 5), Ok(Effects::TIMER));
    assert_eq!(file.write(HVIP, VSSIP), Ok(Effects::INTERRUPTS));
    assert_eq!(file.write(VSSCRATCH, 5), Ok(Effects::empty()));
}

/// The probe list replayed on the file, with the read-back each rule gives on RV64. The
/// mini-hypervisor issue replays the same list on QEMU's hardware H extension.
#[test]
fn probe_writes_read_back_the_legal_values() {
    let mut file = rv64();
    let expected = [
        HSTATUS_GVA
            | HSTATUS_SPV
            | HSTATUS_SPVP
            | HSTATUS_HU
            | HSTATUS_VTVM
            | HSTATUS_VTW
            | HSTATUS_VTSR
            | 2 << 32,
        2 << 32,
        HEDELEG_WRITABLE,
        VS_INTERRUPTS,
        VS_INTERRUPTS | SGEIP,
        VS_INTERRUPTS,
        VS_INTERRUPTS, // hip: VSSIP written, VSTIP/VSEIP from hvip
        0b111,
        0,
        // hgatp all ones: MODE 15 is reserved so Bare stays; VMID and PPN are written (in
        // Bare, PPN[1:0] too).
        0x3fff << 44 | 0xfff_ffff_ffff,
        8 << 60 | 0x3fff << 44 | 0x8_0000,
        8 << 60, // MODE 7 reserved: Sv39x4 stays, VMID and PPN written as 0
        0,       // vstvec: MODE 3 is reserved, the write is ignored
        u64::MAX - 1,
        8 << 60 | 0xffff << 44 | 0x1234,
        SSTATUS_SIE
            | SSTATUS_SPIE
            | SSTATUS_SPP
            | SSTATUS_SUM
            | SSTATUS_MXR
            | SSTATUS_FS
            | 1 << 63
            | 2 << 32,
    ];
    for (i, &(csr, value)) in PROBE_WRITES.iter().enumerate() {
        let got = write_read(&mut file, csr, value);
        assert_eq!(got, expected[i], "probe line {i}: {csr:#x} <- {value:#x}");
    }
}

#[test]
fn a_configuration_whose_vs_rules_are_not_the_real_harts_is_refused_field_by_field() {
    let config = NestedConfig::rv64();
    let matching = RealVsFields {
        vsatp_modes: config.vsatp_modes,
        asid_bits: config.asid_bits,
        fs: config.fp,
        vs: config.vector,
    };
    assert_eq!(config.check_hardware(&matching), Ok(()));
    let sv57 = VsatpModes {
        sv57: true,
        ..config.vsatp_modes
    };
    for (real, field) in [
        (
            RealVsFields {
                vsatp_modes: sv57,
                ..matching
            },
            HardwareMismatch::VsatpModes,
        ),
        (
            RealVsFields {
                asid_bits: 9,
                ..matching
            },
            HardwareMismatch::AsidBits,
        ),
        (
            RealVsFields {
                fs: false,
                ..matching
            },
            HardwareMismatch::Fs,
        ),
        (
            RealVsFields {
                vs: true,
                ..matching
            },
            HardwareMismatch::Vs,
        ),
    ] {
        assert_eq!(config.check_hardware(&real), Err(field), "{real:?}");
    }
}
