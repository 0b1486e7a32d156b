//! The calls `nested-core` makes around running L2: copying the real `hvip` back, L1's `vsip`
//! writes that alias `hvip`, the real `hgeie` bits for backed files, and MSIs that change what
//! L2 must see. AIA VS-level chapter; Priv spec H chapter.

mod common;
use aia_virt::hvip::{VSEIP, VSSIP};
use aia_virt::{AiaConfig, CsrOp, NestedAia, NoGuestFileHardware, PhysGuestFile, Vgein};
use common::{CTX, FakeHardware, HS, num::*};

fn aia() -> NestedAia<4> {
    NestedAia::new(AiaConfig::new(255)).unwrap()
}

fn write(a: &mut NestedAia<4>, number: u16, value: u64) {
    a.csr_rmw(
        number,
        CsrOp::Write(value),
        HS,
        &CTX,
        &mut NoGuestFileHardware,
    )
    .unwrap();
}

/// File `g` with identity `id` enabled and delivery on, through L1's CSR window.
fn arm(a: &mut NestedAia<4>, g: u64, id: u64) {
    a.set_vgein(Vgein::new(g));
    write(a, VSISELECT, 0xC0);
    write(a, VSIREG, 1 << id);
    write(a, VSISELECT, 0x70);
    write(a, VSIREG, 1);
}

#[test]
fn l2_changes_to_hvip_aliased_bits_come_back_to_l1_but_injected_vseip_does_not() {
    let mut a = aia();
    write(&mut a, HVIEN, 1 << 40);
    write(&mut a, HVIP, (1 << 40) | VSSIP);
    arm(&mut a, 1, 5);
    a.send_msi(1, 5, &mut NoGuestFileHardware);
    let entered = a.l2_interrupts();
    assert_eq!(entered.injected_hvip, VSEIP, "the file's line is injected");
    // L2 cleared its sip bit 40 and SSIP (aliases of the real hvip); VSEIP still set.
    a.save_l2_hvip(entered.hvip & !((1 << 40) | VSSIP), &entered);
    assert_eq!(
        a.hvip(),
        0,
        "L1's hvip: L2's clears taken, VSEIP not leaked"
    );
}

#[test]
fn l1_own_hvip_vseip_is_not_injected_and_survives_the_copy_back() {
    let mut a = aia();
    write(&mut a, HVIP, VSEIP);
    arm(&mut a, 1, 5);
    a.send_msi(1, 5, &mut NoGuestFileHardware);
    let entered = a.l2_interrupts();
    assert_eq!(entered.injected_hvip, 0);
    a.save_l2_hvip(entered.hvip, &entered);
    assert_eq!(a.hvip(), VSEIP);
}

#[test]
fn l1_write_of_vsip_reaches_hvip_only_where_hvien_is_set_and_hideleg_clear() {
    let mut a = aia();
    write(&mut a, HVIEN, (1 << 40) | (1 << 41));
    let hideleg = (1 << 41) | VSSIP;
    assert_eq!(a.vs_hvien_bits(hideleg), 1 << 40);
    a.write_vsip((1 << 40) | (1 << 41) | (1 << 42) | (1 << 1), hideleg);
    assert_eq!(
        a.hvip(),
        (1 << 40) | VSSIP,
        "41 aliases sip, 42 is read-only zero"
    );
    a.write_vsip(0, 0);
    assert_eq!(
        a.hvip(),
        VSSIP,
        "SSIP aliases hvip.VSSIP only when delegated"
    );
}

#[test]
fn real_hgeie_arms_the_real_file_of_each_backed_file_l1_enabled() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    let p = |n| PhysGuestFile::new(n).unwrap();
    for (g, n) in [(1, 5), (3, 2)] {
        a.prepare_hardware(g, p(n), &mut hw).unwrap();
        a.attach_hardware(g, p(n), &mut hw).unwrap();
    }
    write(&mut a, HGEIE, (1 << 1) | (1 << 2));
    assert_eq!(
        a.real_hgeie(),
        1 << 5,
        "file 2 is emulated, file 3 not enabled"
    );
    write(&mut a, HGEIE, 0b1_1110);
    assert_eq!(a.real_hgeie(), (1 << 5) | (1 << 2));
}

#[test]
fn an_msi_reports_whether_what_l2_sees_changed() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    arm(&mut a, 2, 7);
    write(&mut a, VSISELECT, 0xC0);
    write(&mut a, VSIREG, (1 << 7) | (1 << 3));
    a.set_vgein(Vgein::new(2));
    assert!(a.send_msi(2, 7, hw), "VSEIP raised with priority 7");
    assert!(!a.send_msi(2, 9, hw), "9 is not enabled");
    assert!(a.send_msi(2, 3, hw), "3 outranks 7: IPRIO changes");
    assert!(!a.send_msi(1, 3, hw), "file 1 is not the one L2 uses");
}

#[test]
fn a_configuration_the_aia_forbids_clamps_to_the_nearest_one_it_allows() {
    let bad = AiaConfig {
        identities: 100,
        iid_bits: 3,
        hvien_writable: u64::MAX,
        hviprio_bits: 2,
    };
    assert!(NestedAia::<4>::new(bad).is_err());
    let legal = bad.clamped();
    assert_eq!(
        legal,
        AiaConfig {
            identities: 127,
            iid_bits: 6,
            hvien_writable: !0x1FFF,
            hviprio_bits: 6,
        }
    );
    assert!(NestedAia::<4>::new(legal).is_ok());
    for (identities, iid_bits, hviprio_bits) in [(0, 13, 9), (5000, 12, 0), (2047, 6, 7)] {
        let c = AiaConfig {
            identities,
            iid_bits,
            hvien_writable: 0,
            hviprio_bits,
        }
        .clamped();
        assert!(NestedAia::<4>::new(c).is_ok(), "{c:?}");
        assert_eq!(c.clamped(), c, "a legal configuration is its own clamp");
    }
    let good = AiaConfig::new(255);
    assert_eq!(good.clamped(), good);
}
