//! GEILEN lines for L1, SGEI, and the two ways a virtual guest file is backed.
//! Priv spec H chapter (hgeip/hgeie, VGEIN); AIA VS-level chapter.

mod common;
use aia_virt::hvip::VSEIP;
use aia_virt::{
    AiaConfig, AttachError, CsrOp, FileBacking, GuestFileHardware, L2Interrupts, MmioOp, NestedAia,
    NoGuestFileHardware, PhysGuestFile, Topei, Vgein, VsContext, Vstopi,
};
use common::{CTX, FakeHardware, HS, VS, VS32, num::*};

fn aia() -> NestedAia<4> {
    NestedAia::new(AiaConfig::new(255)).unwrap()
}

/// L1 enables `id` and sets delivery on in file `g` through its own CSR window.
fn l1_arm(a: &mut NestedAia<4>, g: u8, id: u64, hw: &mut impl GuestFileHardware) {
    let old = a.vgein();
    a.set_vgein(Vgein::new(u64::from(g)));
    a.write_then_read(VSISELECT, 0xC0 + 2 * (id / 64), HS, &CTX, hw)
        .unwrap();
    a.csr_rmw(VSIREG, CsrOp::Set(1 << (id % 64)), HS, &CTX, hw)
        .unwrap();
    a.write_then_read(VSISELECT, 0x70, HS, &CTX, hw).unwrap();
    a.write_then_read(VSIREG, 1, HS, &CTX, hw).unwrap();
    a.set_vgein(old);
}

fn phys(n: u8) -> PhysGuestFile {
    PhysGuestFile::new(n).unwrap()
}

/// Both migration steps with nothing in between (the host retargets MSIs between them).
fn lend(a: &mut NestedAia<4>, g: usize, p: PhysGuestFile, hw: &mut FakeHardware) {
    a.prepare_hardware(g, p, hw).unwrap();
    a.attach_hardware(g, p, hw).unwrap();
}

#[test]
fn hgeip_bit_g_is_the_line_of_guest_file_g() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 3, 40, hw);
    assert_eq!(a.hgeip(hw), 0);
    a.send_msi(3, 40, hw);
    assert_eq!(a.hgeip(hw), 1 << 3);
    assert_eq!(a.csr_read(HGEIP, HS, &CTX, hw), Ok(1 << 3));
}

#[test]
fn a_file_with_delivery_off_does_not_assert_its_hgeip_bit() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 1, 5, hw);
    a.set_vgein(Vgein::new(1));
    a.write_then_read(VSISELECT, 0x70, HS, &CTX, hw).unwrap();
    a.write_then_read(VSIREG, 0, HS, &CTX, hw).unwrap();
    a.send_msi(1, 5, hw);
    assert_eq!(a.hgeip(hw), 0);
    assert_eq!(
        a.csr_read(VSTOPEI, HS, &CTX, hw),
        Ok((5 << 16) | 5),
        "topei ignores delivery"
    );
}

#[test]
fn sgei_is_pending_for_l1_only_for_files_with_their_hgeie_bit() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 2, 7, hw);
    a.send_msi(2, 7, hw);
    assert!(!a.sgei_pending(hw));
    a.write_then_read(HGEIE, 1 << 1, HS, &CTX, hw).unwrap();
    assert!(!a.sgei_pending(hw));
    a.write_then_read(HGEIE, 1 << 2, HS, &CTX, hw).unwrap();
    assert!(a.sgei_pending(hw));
}

#[test]
fn hgeie_does_not_gate_the_vgein_line_into_vseip() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 2, 7, hw);
    a.send_msi(2, 7, hw);
    a.set_vgein(Vgein::new(2));
    let ctx = VsContext {
        hideleg: 1 << 10,
        vsie: 1 << 9,
        ..CTX
    };
    assert_eq!(a.vsip(&ctx, hw), 1 << 9);
    let top = a.vstopi(&ctx, hw);
    assert_eq!((top.iid(), top.iprio()), (9, 1));
}

#[test]
fn vstopi_takes_sei_priority_from_the_selected_guest_file() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 1, 200, hw);
    a.send_msi(1, 200, hw);
    a.set_vgein(Vgein::new(1));
    a.write_then_read(HVICTL, 1 << 8, HS, &CTX, hw).unwrap(); // IPRIOM
    a.write_then_read(HVIPRIO1, 100 << 24, HS, &CTX, hw)
        .unwrap(); // STI priority 100
    let ctx = VsContext {
        hideleg: (1 << 10) | (1 << 6),
        vsie: 0x222,
        vstimer_pending: true,
        ..CTX
    };
    assert_eq!(
        a.csr_read(VSTOPI, HS, &CTX, hw),
        Ok(0),
        "nothing enabled in vsie"
    );
    let v = a.csr_read(VSTOPI, HS, &ctx, hw).unwrap();
    assert_eq!(v, (5 << 16) | 100, "STI at 100 beats SEI at 200");
    a.send_msi(1, 50, hw);
    l1_arm(&mut a, 1, 50, hw);
    assert_eq!(a.csr_read(VSTOPI, HS, &ctx, hw), Ok((9 << 16) | 50));
    assert_eq!(
        a.csr_read(STOPI, VS, &ctx, hw),
        Ok((9 << 16) | 50),
        "L2 reads the same"
    );
}

#[test]
fn emulated_file_raises_vseip_for_l2_through_hvip() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 4, 30, hw);
    a.set_vgein(Vgein::new(4));
    assert_eq!(a.l2_interrupts().hvip & VSEIP, 0);
    a.send_msi(4, 30, hw);
    let l2 = a.l2_interrupts();
    assert_eq!((l2.vgein, l2.hvip & VSEIP), (0, VSEIP));
    assert_eq!(
        l2.hvictl & 0x0FFF_00FF,
        (9 << 16) | 30,
        "IID 9 carries the SEI priority"
    );
    a.csr_rmw(STOPEI, CsrOp::Write(0), VS, &CTX, hw).unwrap();
    assert_eq!(a.l2_interrupts().hvip & VSEIP, 0, "the claim drops VSEIP");
}

#[test]
fn emulated_file_leaves_an_l1_vti_injection_alone() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 1, 3, hw);
    a.set_vgein(Vgein::new(1));
    a.send_msi(1, 3, hw);
    let l1_hvictl = (1 << 30) | (40 << 16) | 5;
    a.write_then_read(HVICTL, l1_hvictl, HS, &CTX, hw).unwrap();
    let l2 = a.l2_interrupts();
    assert_eq!((l2.hvictl, l2.hvip & VSEIP), (l1_hvictl, VSEIP));
}

#[test]
fn without_a_valid_vgein_l2_gets_l1_hvip_and_hvictl_unchanged() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    a.write_then_read(HVIP, VSEIP | (1 << 2), HS, &CTX, hw)
        .unwrap();
    a.write_then_read(HVICTL, (9 << 16) | 4, HS, &CTX, hw)
        .unwrap();
    let l2 = a.l2_interrupts();
    assert_eq!(
        (l2.vgein, l2.hvip, l2.hvictl),
        (0, VSEIP | (1 << 2), (9 << 16) | 4)
    );
}

#[test]
fn backed_file_steers_vgein_and_leaves_hvip_to_l1() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    lend(&mut a, 2, phys(5), &mut hw);
    assert_eq!(a.backing(2), Some(FileBacking::Hardware(phys(5))));
    a.set_vgein(Vgein::new(2));
    hw.file(phys(5)).set_eipnum(1);
    let l2 = a.l2_interrupts();
    assert_eq!((l2.vgein, l2.hvip), (5, 0));
}

#[test]
fn backed_file_interrupts_reach_l2_without_the_engine() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    lend(&mut a, 1, phys(3), &mut hw);
    l1_arm(&mut a, 1, 12, &mut hw);
    assert!(
        hw.file(phys(3)).delivery_enabled(),
        "L1's writes reach the real file"
    );
    hw.file(phys(3)).set_eipnum(12); // a device MSI straight into the real file
    assert_eq!(
        a.hgeip(&mut hw),
        1 << 1,
        "L1's hgeip follows the real hgeip bit 3"
    );
    a.set_vgein(Vgein::new(1));
    assert_eq!(a.csr_read(VSTOPEI, HS, &CTX, &mut hw), Ok((12 << 16) | 12));
    assert_eq!(a.topei(1, &mut hw).identity().map(|i| i.get()), Some(12));
    a.csr_rmw(VSTOPEI, CsrOp::Write(0), HS, &CTX, &mut hw)
        .unwrap();
    assert_eq!(
        hw.file(phys(3)).topei(),
        Topei::NONE,
        "L1's claim reaches the real file"
    );
}

#[test]
fn attach_then_detach_keeps_every_register_of_the_file() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    let sw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 3, 1, sw);
    l1_arm(&mut a, 3, 130, sw);
    a.send_msi(3, 130, sw);
    a.send_msi(3, 77, sw);
    a.set_vgein(Vgein::new(3));
    a.write_then_read(VSISELECT, 0x72, HS, &CTX, sw).unwrap();
    a.write_then_read(VSIREG, 200, HS, &CTX, sw).unwrap();
    let before = a.emulated_file(3).unwrap().clone();
    hw.file(phys(6)).set_eipnum(9); // stale state in the real file must not leak in
    lend(&mut a, 3, phys(6), &mut hw);
    assert_eq!(hw.file(phys(6)), &before);
    a.send_msi(3, 2, &mut hw); // an MSI while backed
    assert_eq!(a.detach_hardware(3, &mut hw), Some(phys(6)));
    let after = a.emulated_file(3).unwrap();
    assert!(after.pending(after.identity(2).unwrap()));
    assert_eq!(after.topei().identity().map(|i| i.get()), Some(130));
    assert_eq!(after.eithreshold(), 200);
    assert!(after.delivery_enabled());
    assert_eq!(
        hw.file(phys(6)).topei(),
        Topei::NONE,
        "the real file is left clean"
    );
    assert!(!hw.file(phys(6)).delivery_enabled());
    assert_eq!(a.detach_hardware(3, &mut hw), None);
}

#[test]
fn an_msi_reaching_the_real_file_between_prepare_and_attach_survives() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    let sw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 3, 130, sw);
    a.send_msi(3, 130, sw);
    hw.file(phys(6)).set_eipnum(9); // stale, from before the migration
    a.prepare_hardware(3, phys(6), &mut hw).unwrap();
    assert!(!hw.file(phys(6)).delivery_enabled(), "delivery off first");
    // The host now retargets the device: its next MSI lands in the real file.
    hw.file(phys(6)).set_eipnum(40);
    a.send_msi(3, 41, &mut hw); // a straggler still emulated into the software file
    a.attach_hardware(3, phys(6), &mut hw).unwrap();
    let f = hw.file(phys(6));
    let pending = |f: &aia_virt::ImsicFile, i: u64| f.pending(f.identity(i).unwrap());
    assert!(pending(f, 40), "MSI after prepare kept");
    assert!(pending(f, 41) && pending(f, 130), "saved eip ORed in");
    assert!(!pending(f, 9), "stale pending bit cleared by prepare");
    assert!(f.delivery_enabled());
}

#[test]
fn attach_needs_a_prepared_free_real_file_and_an_emulated_virtual_one() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    assert_eq!(
        a.attach_hardware(3, phys(6), &mut hw),
        Err(AttachError::NotPrepared)
    );
    a.prepare_hardware(3, phys(6), &mut hw).unwrap();
    assert_eq!(
        a.prepare_hardware(1, phys(6), &mut hw),
        Err(AttachError::InUse),
        "phys 6 is being readied for file 3"
    );
    assert_eq!(
        a.attach_hardware(3, phys(7), &mut hw),
        Err(AttachError::NotPrepared)
    );
    a.attach_hardware(3, phys(6), &mut hw).unwrap();
    assert_eq!(
        a.prepare_hardware(3, phys(7), &mut hw),
        Err(AttachError::AlreadyBacked)
    );
    assert_eq!(
        a.prepare_hardware(1, phys(6), &mut hw),
        Err(AttachError::InUse),
        "phys 6 already lent to file 3"
    );
    for g in [0, 5] {
        assert_eq!(
            a.prepare_hardware(g, phys(1), &mut hw),
            Err(AttachError::NoSuchFile)
        );
    }
}

#[test]
fn rv32_write_of_an_array_half_on_a_backed_file_changes_only_that_half() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    lend(&mut a, 1, phys(1), &mut hw);
    a.set_vgein(Vgein::new(1));
    a.write_then_read(VSISELECT, 0xC0, HS, &CTX, &mut hw)
        .unwrap();
    a.write_then_read(VSIREG, 0xAAAA_AAAA_5555_5554, HS, &CTX, &mut hw)
        .unwrap();
    a.write_then_read(SISELECT, 0xC1, VS32, &CTX, &mut hw)
        .unwrap();
    assert_eq!(
        a.write_then_read(SIREG, 0x1234_5678, VS32, &CTX, &mut hw),
        Ok(0x1234_5678)
    );
    a.write_then_read(VSISELECT, 0xC0, HS, &CTX, &mut hw)
        .unwrap();
    assert_eq!(
        a.csr_read(VSIREG, HS, &CTX, &mut hw),
        Ok(0x1234_5678_5555_5554)
    );
}

#[test]
fn mmio_to_a_backed_file_forwards_only_implemented_identities() {
    let mut a = aia();
    let mut hw = FakeHardware::new(255);
    lend(&mut a, 2, phys(2), &mut hw);
    hw.accesses = 0;
    assert_eq!(a.mmio(2, 0, 4, MmioOp::Store(0), &mut hw), Ok(0));
    assert_eq!(a.mmio(2, 0, 4, MmioOp::Store(256), &mut hw), Ok(0));
    assert_eq!(hw.accesses, 0);
    assert_eq!(
        a.mmio(
            2,
            4,
            4,
            MmioOp::Store(u64::from(8u32.swap_bytes())),
            &mut hw
        ),
        Ok(0)
    );
    let f = hw.file(phys(2));
    assert!(f.pending(f.identity(8).unwrap()));
    assert!(a.mmio(2, 0, 8, MmioOp::Store(8), &mut hw).is_err());
}

#[test]
fn pages_without_a_file_read_zero_and_ignore_writes() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    let before = a.clone();
    for g in [0, 5, usize::MAX] {
        assert_eq!(a.mmio(g, 0, 4, MmioOp::Store(3), hw), Ok(0));
        assert_eq!(a.mmio(g, 0, 4, MmioOp::Load, hw), Ok(0));
    }
    assert_eq!(a, before);
}

#[test]
fn geilen_zero_presents_no_guest_files() {
    let mut a = NestedAia::<0>::new(AiaConfig::new(63)).unwrap();
    let hw = &mut NoGuestFileHardware;
    a.set_vgein(Vgein::new(1));
    assert_eq!(a.selected_file(), None);
    assert_eq!(a.hgeip(hw), 0);
    assert!(!a.sgei_pending(hw));
    assert_eq!(a.l2_interrupts().vgein, 0);
}

#[test]
fn l2_projection_keeps_sei_at_256_when_l1_vgein_is_nonzero_without_a_signalling_file() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    // L1: VSEIP by hvip, hvictl IID = 9 IPRIO = 4 (meaningful to L1 only with VGEIN = 0).
    a.write_then_read(HVIP, VSEIP, HS, &CTX, hw).unwrap();
    a.write_then_read(HVICTL, (1 << 8) | (9 << 16) | 4, HS, &CTX, hw)
        .unwrap();
    let ctx = VsContext {
        hideleg: 1 << 10,
        vsie: 1 << 9,
        ..CTX
    };
    for vgein in [2, 6] {
        a.set_vgein(Vgein::new(vgein));
        assert_eq!(
            a.vstopi(&ctx, hw).iprio(),
            255,
            "L1 sees candidate 3 (priority 256)"
        );
        let l2 = a.l2_interrupts();
        assert_eq!(l2.vgein, 0);
        assert_ne!(
            (l2.hvictl >> 16) & 0xFFF,
            9,
            "real candidate 2 must not apply"
        );
        assert_eq!(l2.hvictl & 0x1FF, (1 << 8) | 4, "IPRIOM and IPRIO kept");
    }
    a.set_vgein(Vgein::new(0));
    assert_eq!(
        a.vstopi(&ctx, hw).iprio(),
        4,
        "with VGEIN = 0 L1 sees candidate 2"
    );
    assert_eq!(a.l2_interrupts().hvictl, (1 << 8) | (9 << 16) | 4);
}

/// What the real hart shows L2 once the host loads `l2` with the real VGEIN = 0: a GEILEN = 0
/// instance holding exactly those CSRs.
fn real_vstopi(l2: &L2Interrupts, ctx: &VsContext) -> Vstopi {
    assert_eq!(l2.vgein, 0);
    let mut real = NestedAia::<0>::new(AiaConfig::new(255)).unwrap();
    let hw = &mut NoGuestFileHardware;
    let regs = [
        (HVIEN, l2.hvien),
        (HVIP, l2.hvip),
        (HVICTL, l2.hvictl),
        (HVIPRIO1, l2.hviprio1),
        (HVIPRIO2, l2.hviprio2),
    ];
    for (n, v) in regs {
        real.csr_rmw(n, CsrOp::Write(v), HS, &CTX, hw).unwrap();
    }
    real.vstopi(ctx, hw)
}

#[test]
fn l1_hvip_vseip_takes_the_file_priority_in_l2_projection_even_with_delivery_off() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    l1_arm(&mut a, 2, 30, hw);
    a.send_msi(2, 30, hw);
    a.set_vgein(Vgein::new(2));
    a.write_then_read(VSISELECT, 0x70, HS, &CTX, hw).unwrap();
    a.write_then_read(VSIREG, 0, HS, &CTX, hw).unwrap(); // eidelivery off: the file does not signal
    a.write_then_read(HVIP, VSEIP, HS, &CTX, hw).unwrap(); // L1 raises VSEI itself
    a.write_then_read(HVICTL, 1 << 8, HS, &CTX, hw).unwrap(); // IPRIOM
    a.write_then_read(HVIPRIO1, 40 << 24, HS, &CTX, hw).unwrap(); // STI at 40
    let ctx = VsContext {
        hideleg: (1 << 10) | (1 << 6),
        vsie: (1 << 9) | (1 << 5),
        vstimer_pending: true,
        ..CTX
    };
    let l1 = a.vstopi(&ctx, hw);
    assert_eq!(
        (l1.iid(), l1.iprio()),
        (9, 30),
        "candidate 1: SEI at vstopei 30"
    );
    assert_eq!(
        real_vstopi(&a.l2_interrupts(), &ctx),
        l1,
        "L2 sees what L1 sees"
    );
}

#[test]
fn l2_projection_silences_iprio_of_a_vti_no_interrupt_marker() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    a.write_then_read(HVICTL, (1 << 30) | (9 << 16) | 7, HS, &CTX, hw)
        .unwrap();
    a.set_vgein(Vgein::new(1));
    assert_eq!(a.l2_interrupts().hvictl, (1 << 30) | (9 << 16));
}

#[test]
fn l1_vti_injection_of_a_chosen_iid_and_priority_shows_in_vstopi() {
    let mut a = aia();
    let hw = &mut NoGuestFileHardware;
    let hvictl = (1 << 30) | (12 << 16) | (1 << 8) | 0x30;
    a.write_then_read(HVICTL, hvictl, HS, &CTX, hw).unwrap();
    assert_eq!(a.csr_read(VSTOPI, HS, &CTX, hw), Ok((12 << 16) | 0x30));
    assert!(a.hvictl().vti(), "VTI: L2's sip/sie accesses trap");
    assert_eq!(
        a.l2_interrupts().hvictl,
        hvictl,
        "projected unchanged with VGEIN = 0"
    );
}
