//! hgatp: MODE is an enumerated WARL field, VMID and PPN are WARL (priv spec, hypervisor
//! chapter, "Hypervisor Guest Address Translation and Protection Register (hgatp)").

use gstage::{GStageMode, Hgatp, HgatpError, SupportedModes, Xlen};

const ALL: SupportedModes = SupportedModes {
    sv32x4: true,
    sv39x4: true,
    sv48x4: true,
    sv57x4: true,
};

#[test]
fn only_the_defined_mode_encodings_decode() {
    let rv64: Vec<u64> = (0..16)
        .filter(|m| GStageMode::from_raw(Xlen::Rv64, *m).is_some())
        .collect();
    assert_eq!(rv64, [0, 8, 9, 10]);
    let rv32: Vec<u64> = (0..16)
        .filter(|m| GStageMode::from_raw(Xlen::Rv32, *m).is_some())
        .collect();
    assert_eq!(rv32, [0, 1]);
    assert_eq!(
        Hgatp::decode(Xlen::Rv64, 11 << 60),
        Err(HgatpError::ReservedMode(11))
    );
    // Mode 9 is not "mode 8 plus a bit": each value is its own mode.
    assert_eq!(
        Hgatp::decode(Xlen::Rv64, 9 << 60).unwrap().mode(),
        GStageMode::Sv48x4
    );
}

#[test]
fn hgatp_write_of_unsupported_mode_keeps_a_legal_mode() {
    let old = Hgatp::new(GStageMode::Sv39x4, 3, 0x100);
    let only39 = SupportedModes {
        sv32x4: false,
        sv39x4: true,
        sv48x4: false,
        sv57x4: false,
    };
    // Sv48x4 is defined but not offered; 11 is reserved: MODE stays, VMID and PPN are written.
    for mode in [9u64, 11] {
        let new = old.write_warl(Xlen::Rv64, (mode << 60) | (5 << 44) | 0x204, only39, 14);
        assert_eq!(
            (new.mode(), new.vmid(), new.ppn()),
            (GStageMode::Sv39x4, 5, 0x204)
        );
    }
    let bare = old.write_warl(Xlen::Rv64, 0, only39, 14);
    assert_eq!(bare.mode(), GStageMode::Bare);
}

#[test]
fn vmid_keeps_only_vmidlen_bits() {
    let h = Hgatp::new(GStageMode::Bare, 0, 0).write_warl(
        Xlen::Rv64,
        (8 << 60) | (0x3fff << 44),
        ALL,
        7,
    );
    assert_eq!(h.vmid(), 0x7f);
    let h =
        Hgatp::new(GStageMode::Bare, 0, 0).write_warl(Xlen::Rv32, (1 << 31) | (0x7f << 22), ALL, 0);
    assert_eq!((h.mode(), h.vmid()), (GStageMode::Sv32x4, 0));
}

#[test]
fn ppn_low_two_bits_read_zero_in_paged_modes_for_a_16_kib_root() {
    let h = Hgatp::new(GStageMode::Bare, 0, 0).write_warl(Xlen::Rv64, (10 << 60) | 0x1237, ALL, 14);
    assert_eq!((h.ppn(), h.root_pa()), (0x1234, 0x1234 << 12));
    let bare = Hgatp::new(GStageMode::Bare, 0, 0).write_warl(Xlen::Rv64, 0x1237, ALL, 14);
    assert_eq!(bare.ppn(), 0x1237);
}

#[test]
fn the_zero_bits_59_58_are_ignored_on_write_and_encode() {
    let h = Hgatp::new(GStageMode::Bare, 0, 0).write_warl(
        Xlen::Rv64,
        (8 << 60) | (3 << 58) | 0x10,
        ALL,
        14,
    );
    assert_eq!(h.encode(Xlen::Rv64), (8 << 60) | 0x10);
}

#[test]
fn modes_exist_only_in_their_xlen() {
    assert!(GStageMode::Sv32x4.exists_in(Xlen::Rv32) && !GStageMode::Sv32x4.exists_in(Xlen::Rv64));
    assert!(GStageMode::Sv57x4.exists_in(Xlen::Rv64) && !GStageMode::Sv57x4.exists_in(Xlen::Rv32));
    assert!(GStageMode::Bare.exists_in(Xlen::Rv32) && GStageMode::Bare.exists_in(Xlen::Rv64));
}
