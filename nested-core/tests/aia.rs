//! L1's AIA wired into the engine over the software host: its CSRs routed to `aia-virt`,
//! absent without the AIA, projected onto the real CSRs while L2 runs and taken back after,
//! guest external interrupts for L1 (hgeip, SGEI), the guest files' pages, L2's trapped
//! accesses to an emulated file, and files backed by real ones.

use nacl_shmem::{ByteShmem, Consumer, Xlen};
use nested_core::aia_virt::hvictl::{IPRIOM, VTI};
use nested_core::aia_virt::{AiaConfig, CsrTrap, FileBacking, MmioOp, PhysGuestFile};
use nested_core::csr::bits::*;
use nested_core::csr::number::*;
use nested_core::host::{GuestMemory, PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{SoftHost, Tables, same, shadow_config};
use nested_core::{
    Effects, GuestFileAccess, GuestRegs, GuestTrap, NestedConfig, NestedHart, Outcome, Trap,
    VirtualMode, cause,
};

const L1_STVEC: u64 = 0x8030_0000;
const L1_PC: u64 = 0x8020_0000;
const L2_ENTRY: u64 = 0x1000;
const L2_STVEC: u64 = 0x3000;
const G_ROOT: u64 = 0x8000_4000;
const SHMEM: u64 = 0x8000_c000;
/// The host's own settings for L1 that L2's projection replaces.
const HOST_HVICTL: u64 = VTI | 12 << 16;
const HOST_VGEIN: u64 = 6 << HSTATUS_VGEIN_SHIFT;
const HOST_SISELECT: u64 = 0x70;
/// GEILEN of the tests' L1.
const GEILEN: usize = 4;

fn offered() -> NestedConfig {
    NestedConfig {
        aia: Some(AiaConfig::new(255)),
        ..NestedConfig::rv64()
    }
}

struct Setup {
    hart: NestedHart<2, GEILEN>,
    regs: GuestRegs,
    host: Box<SoftHost>,
}

/// csrrw rd, csr, x31 (x31 = value first).
fn csrrw(csr: u16, rd: u32) -> u32 {
    u32::from(csr) << 20 | 31 << 15 | 1 << 12 | rd << 7 | 0x73
}

impl Setup {
    /// An RV64 L1 offered the AIA with `GEILEN` files, a G-stage (VMID 5) mapping L2 GPA
    /// 0..0x8000, L2's state ready; the host runs L1 with its own hvictl, VGEIN and siselect.
    fn new(config: NestedConfig) -> Self {
        let mut host = Box::new(SoftHost::new());
        let mut tables = Tables {
            next: 0x8001_0000 - 0x6000,
        };
        for page in (0..0x8000).step_by(4096) {
            tables.map(
                &mut host.memory,
                G_ROOT,
                11,
                page,
                0x8000_8000 + page,
                R | W | U | A | D,
                same,
                same,
            );
        }
        for (csr, value) in [
            (real::VSTVEC, L1_STVEC),
            (real::VSSTATUS, SSTATUS_SPP | SSTATUS_SPIE),
            (real::VSEPC, L2_ENTRY),
            (real::HVICTL, HOST_HVICTL),
            (real::HSTATUS, HOST_VGEIN),
            (real::VSISELECT, HOST_SISELECT),
        ] {
            host.cpu.write_csr(csr, value);
        }
        let mut s = Setup {
            hart: NestedHart::new(config, shadow_config(40), 7),
            regs: GuestRegs {
                pc: L1_PC,
                ..Default::default()
            },
            host,
        };
        for (csr, value) in [
            (HGATP, 8 << 60 | 5 << 44 | G_ROOT >> 12),
            (VSSTATUS, SSTATUS_SPP),
            (VSTVEC, L2_STVEC),
        ] {
            s.write(csr, value);
        }
        s
    }

    fn with_aia() -> Self {
        Self::new(offered())
    }

    /// L1 executes `bits` in its HS-mode; returns the outcome and puts the pc back.
    fn l1(&mut self, bits: u32) -> Outcome {
        let trap = Trap {
            cause: cause::VIRTUAL_INSTRUCTION,
            tval: bits.into(),
            mode: VirtualMode::Hypervisor,
        };
        let outcome = self.hart.emulate(&trap, &mut self.regs, &mut *self.host);
        if !self.hart.in_guest() {
            self.regs.pc = L1_PC;
        }
        outcome
    }

    /// L1's csrrw x0, csr, value.
    fn write(&mut self, csr: u16, value: u64) -> Outcome {
        self.regs.x[31] = value;
        self.l1(csrrw(csr, 0))
    }

    /// L1's csrrs x5, csr, x0.
    fn read(&mut self, csr: u16) -> u64 {
        self.l1(u32::from(csr) << 20 | 2 << 12 | 5 << 7 | 0x73);
        self.regs.x[5]
    }

    /// L1 enables identity `id` of virtual file `g` and turns its delivery on, through its
    /// vsiselect window (VGEIN pointed at `g` meanwhile).
    fn arm_file(&mut self, g: u64, id: u64) {
        let hstatus = self.read(HSTATUS);
        self.write(HSTATUS, g << HSTATUS_VGEIN_SHIFT);
        self.write(VSISELECT, 0xc0);
        self.write(VSIREG, 1 << id);
        self.write(VSISELECT, 0x70);
        self.write(VSIREG, 1);
        self.write(HSTATUS, hstatus);
    }

    fn enter(&mut self) -> Outcome {
        let hstatus = self.read(HSTATUS);
        self.write(HSTATUS, hstatus | HSTATUS_SPV);
        self.l1(0x1020_0073)
    }

    /// L2, in VS-mode, traps with `code`.
    fn guest_trap(&mut self, code: u64, tval: u64) -> Outcome {
        let trap = GuestTrap {
            code,
            interrupt: false,
            tval,
            htval: 0,
            htinst: 0,
            gva: false,
            supervisor: true,
        };
        self.hart
            .handle_guest_trap(&trap, &mut self.regs, &mut *self.host)
    }

    /// An MSI of `id` to virtual file `g` (a seteipnum_le store on its page).
    fn msi(&mut self, g: usize, id: u64) -> GuestFileAccess {
        self.hart
            .guest_file_mmio(g, 0, 4, MmioOp::Store(id), &mut *self.host)
            .expect("an aligned 32-bit store")
    }

    fn real(&self, csr: u16) -> u64 {
        self.host.cpu.read_csr(csr)
    }

    fn virt(&mut self, csr: u16) -> Result<u64, CsrTrap> {
        self.hart.read_csr(csr, &mut *self.host)
    }

    fn raised(&self) -> u64 {
        self.real(real::VSCAUSE)
    }
}

fn phys(n: u8) -> PhysGuestFile {
    PhysGuestFile::new(n).unwrap()
}

const ENTERED: Outcome = Outcome::Resume {
    supervisor: true,
    effects: Effects::WORLD,
};

#[test]
fn hvictl_written_by_l1_lands_in_aia_virt_and_reads_back_its_legal_value() {
    let mut s = Setup::with_aia();
    let outcome = s.write(HVICTL, u64::MAX);
    assert!(matches!(outcome, Outcome::Resume { effects, .. } if effects == Effects::INTERRUPTS));
    assert_eq!(s.read(HVICTL), 0x4fff_03ff, "reserved bits read zero");
    assert_eq!(s.hart.aia().unwrap().hvictl().bits(), 0x4fff_03ff);
    s.write(HVICTL, 9 << 16 | 0x40);
    assert_eq!(s.virt(HVICTL), Ok(9 << 16 | 0x40));
}

#[test]
fn hvien_bits_12_to_0_read_zero_and_hvip_above_12_exists_only_where_hvien_is_writable() {
    let mut s = Setup::new(NestedConfig {
        aia: Some(AiaConfig {
            hvien_writable: 1 << 40 | 1 << 41,
            ..AiaConfig::new(255)
        }),
        ..NestedConfig::rv64()
    });
    s.write(HVIEN, u64::MAX);
    assert_eq!(s.read(HVIEN), 1 << 40 | 1 << 41);
    s.write(HVIP, u64::MAX);
    assert_eq!(s.read(HVIP), 1 << 40 | 1 << 41 | VS_INTERRUPTS);
}

#[test]
fn hviprio_bytes_hold_the_priorities_l1_writes() {
    let mut s = Setup::with_aia();
    s.write(HVIPRIO1, 0x2211_0000_3300_4400);
    assert_eq!(
        s.read(HVIPRIO1),
        s.hart.aia().unwrap().l2_interrupts().hviprio1
    );
    assert_eq!(s.read(HVIPRIO1) >> 8 & 0xff, 0x44, "the SSI byte");
    s.write(HVIPRIO2, 0x0102_0304_0506_0708);
    assert_eq!(s.read(HVIPRIO2), 0x0102_0304_0506_0708);
}

#[test]
fn aia_csrs_are_absent_without_the_aia_and_raise_illegal_instruction() {
    for config in [
        NestedConfig::rv64(),
        // An RV32 L1 cannot be offered the AIA (aia-virt serves RV64 L1s).
        NestedConfig {
            aia: Some(AiaConfig::new(255)),
            ..NestedConfig::rv32()
        },
    ] {
        let mut s = Setup::new(config);
        assert_eq!(s.hart.config().aia, None);
        assert!(s.hart.aia().is_none());
        for csr in [
            HVIEN, HVICTL, HVIPRIO1, HVIPRIO2, VSISELECT, VSIREG, VSTOPEI, VSTOPI,
        ] {
            s.write(csr, 0);
            assert_eq!(s.raised(), cause::ILLEGAL_INSTRUCTION, "{csr:#x}");
            assert_eq!(s.virt(csr), Err(CsrTrap::IllegalInstruction));
        }
    }
}

#[test]
fn an_offer_aia_virt_refuses_is_clamped_and_geilen_is_the_harts() {
    let s = Setup::new(NestedConfig {
        geilen: 9,
        aia: Some(AiaConfig {
            identities: 100,
            iid_bits: 2,
            ..AiaConfig::new(255)
        }),
        ..NestedConfig::rv64()
    });
    let config = s.hart.config();
    assert_eq!(config.geilen, GEILEN as u32);
    assert_eq!(
        config.aia.map(|c| (c.identities, c.iid_bits)),
        Some((127, 6))
    );
}

#[test]
fn a_write_l1_cannot_make_is_illegal_from_hs_for_the_aia_csrs_too() {
    let mut s = Setup::with_aia();
    s.write(HGEIP, 1);
    assert_eq!(s.raised(), cause::ILLEGAL_INSTRUCTION, "hgeip is read-only");
    s.write(VSTOPI, 1);
    assert_eq!(
        s.raised(),
        cause::ILLEGAL_INSTRUCTION,
        "vstopi is read-only"
    );
    s.write(VSISELECT, 0x70);
    s.write(VSIREG, 1);
    assert_eq!(
        s.raised(),
        cause::ILLEGAL_INSTRUCTION,
        "no guest file is selected (VGEIN = 0)"
    );
}

#[test]
fn vti_injection_of_a_chosen_iid_reaches_the_real_hvictl_on_l2_entry_and_the_hosts_comes_back() {
    let mut s = Setup::with_aia();
    let injected = VTI | 13 << 16 | IPRIOM | 0x20;
    s.write(HVICTL, injected);
    assert_eq!(s.enter(), ENTERED);
    assert_eq!(
        s.real(real::HVICTL),
        injected,
        "L2 takes IID 13 without an exit"
    );
    s.guest_trap(10, 0);
    assert!(!s.hart.in_guest());
    assert_eq!(
        s.real(real::HVICTL),
        HOST_HVICTL,
        "the host's hvictl for L1"
    );
    assert_eq!(s.read(HVICTL), injected, "L1's own value is untouched");
}

#[test]
fn hvip_vseip_and_l2s_changes_to_the_bits_hvien_gives_it_survive_a_round_trip() {
    let mut s = Setup::with_aia();
    s.write(HVIEN, 1 << 40);
    s.write(HVIP, VSEIP | 1 << 40);
    s.enter();
    assert_eq!(s.real(real::HVIP), VSEIP | 1 << 40, "L1's hvip, projected");
    // L2 clears its sip bit 40, an alias of the real hvip.
    s.host.cpu.write_csr(real::HVIP, VSEIP);
    s.guest_trap(10, 0);
    assert_eq!(
        s.read(HVIP),
        VSEIP,
        "VSEIP kept, L2's clear of bit 40 taken"
    );
    assert_eq!(s.real(real::HVIP), 0, "the host's hvip for L1");
}

#[test]
fn vseip_an_emulated_file_raises_for_l2_does_not_leak_into_l1s_hvip() {
    let mut s = Setup::with_aia();
    s.arm_file(1, 5);
    s.write(HSTATUS, 1 << HSTATUS_VGEIN_SHIFT);
    s.msi(1, 5);
    s.enter();
    assert_eq!(
        s.real(real::HVIP) & VSEIP,
        VSEIP,
        "the file's line, injected"
    );
    assert_eq!(
        s.real(real::HSTATUS) & HSTATUS_VGEIN,
        0,
        "an emulated file has no real VGEIN"
    );
    s.guest_trap(10, 0);
    assert_eq!(s.read(HVIP), 0, "L1's own hvip has no VSEIP");
    assert_eq!(s.read(HIP) & VSEIP, VSEIP, "hip.VSEIP: hgeip[VGEIN]");
}

#[test]
fn vsie_bits_hvien_gives_l2_are_kept_across_the_world_switch() {
    let mut s = Setup::with_aia();
    s.write(HVIEN, 1 << 40 | 1 << 41);
    s.write(VSIE, u64::MAX);
    assert_eq!(
        s.read(VSIE),
        1 << 40 | 1 << 41,
        "no standard bit is delegated"
    );
    s.enter();
    assert_eq!(s.real(real::VSIE), 1 << 40 | 1 << 41, "L2's sie");
    s.host.cpu.write_csr(real::VSIE, 1 << 41); // L2 disables 40
    s.guest_trap(10, 0);
    assert_eq!(s.read(VSIE), 1 << 41);
    s.write(HVIEN, 0);
    assert_eq!(s.read(VSIE), 0, "read-only zero without hvien");
}

#[test]
fn an_msi_to_an_emulated_file_sets_its_hgeip_bit_and_sgei_for_l1_while_l2_runs() {
    let mut s = Setup::with_aia();
    s.arm_file(2, 9);
    s.write(HGEIE, 1 << 2);
    s.write(HIE, SGEIP);
    s.enter();
    assert_eq!(s.hart.pending_l1_interrupt(0, &mut *s.host), None);
    let access = s.msi(2, 9);
    assert_eq!(
        access,
        GuestFileAccess {
            value: 0,
            vseip_changed: false,
            sgeip_changed: true
        },
        "file 2 is not the one L2 uses"
    );
    assert_eq!(s.virt(HGEIP), Ok(1 << 2));
    assert_eq!(s.virt(HIP).map(|hip| hip & SGEIP), Ok(SGEIP));
    assert_eq!(
        s.hart.pending_l1_interrupt(0, &mut *s.host),
        Some(12),
        "L1 takes SGEI"
    );
    let outcome = s.hart.interrupt_l1(12, true, &mut s.regs, &mut *s.host);
    assert_eq!(outcome, ENTERED);
    assert_eq!(s.raised(), 1 << 63 | 12);
}

#[test]
fn l1s_pending_interrupts_follow_the_hs_priority_order_sei_ssi_sti_sgei_vsei() {
    // (the host injects STI for L1, L1's hie, L1's hideleg) -> what L1 takes first.
    for (host_sti, hie, hideleg, expected) in [
        (true, SGEIP | VSEIP, 0, Some(5)),
        (false, SGEIP | VSEIP, 0, Some(12)),
        (false, VSEIP, 0, Some(10)),
        (false, VSEIP, VSEIP, None),
    ] {
        let mut s = Setup::with_aia();
        s.arm_file(1, 3);
        s.write(HGEIE, 1 << 1);
        s.write(HVIP, VSEIP);
        s.write(HIE, hie);
        s.write(HIDELEG, hideleg);
        if host_sti {
            s.host.cpu.write_csr(real::HVIP, VSTIP); // the host's STI for L1
            s.host.cpu.write_csr(real::VSIE, 1 << 5); // L1's sie.STIE
        }
        s.enter();
        s.msi(1, 3);
        assert_eq!(
            s.hart.pending_l1_interrupt(0, &mut *s.host),
            expected,
            "STI {host_sti}, hie {hie:#x}, hideleg {hideleg:#x}"
        );
    }
}

#[test]
fn an_emulated_file_signalling_raises_vseip_for_l2_at_once_and_l2s_claim_lowers_it() {
    let mut s = Setup::with_aia();
    s.arm_file(1, 7);
    s.write(HIDELEG, VSEIP);
    s.write(HSTATUS, 1 << HSTATUS_VGEIN_SHIFT);
    s.enter();
    assert_eq!(s.real(real::HVIP) & VSEIP, 0);
    let access = s.msi(1, 7);
    assert!(access.vseip_changed && !access.sgeip_changed);
    assert_eq!(s.real(real::HVIP) & VSEIP, VSEIP, "reloaded while L2 runs");
    // L2: csrrw x6, stopei, x0 traps (the real VGEIN is 0); the engine claims for it.
    s.regs.pc = 0x1234;
    let claim = 0x15c << 20 | 1 << 12 | 6 << 7 | 0x73;
    let outcome = s.guest_trap(cause::VIRTUAL_INSTRUCTION, claim);
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty()
        }
    );
    assert!(s.hart.in_guest());
    assert_eq!((s.regs.x[6], s.regs.pc), (7 << 16 | 7, 0x1238));
    assert_eq!(s.real(real::HVIP) & VSEIP, 0, "nothing left pending");
}

#[test]
fn l2s_sireg_access_reaches_the_emulated_file_at_the_select_l2_wrote() {
    let mut s = Setup::with_aia();
    s.arm_file(2, 4);
    s.write(HSTATUS, 2 << HSTATUS_VGEIN_SHIFT);
    s.enter();
    s.host.cpu.write_csr(real::VSISELECT, 0xc0); // L2's siselect = eie0
    s.regs.x[31] = 0;
    let read_eie0 = 0x151 << 20 | 2 << 12 | 8 << 7 | 0x73; // csrrs x8, sireg, x0
    s.guest_trap(cause::VIRTUAL_INSTRUCTION, read_eie0);
    assert_eq!(s.regs.x[8], 1 << 4);
    s.guest_trap(10, 0);
    assert_eq!(s.read(VSISELECT), 0xc0, "L2's siselect is L1's vsiselect");
    assert_eq!(s.real(real::VSISELECT), HOST_SISELECT, "L1's own siselect");
}

#[test]
fn l2s_access_l1s_view_refuses_is_reflected_to_l1_or_to_l2_as_hedeleg_says() {
    let mut s = Setup::with_aia();
    s.enter();
    // VGEIN = 0: no file, so stopei is a virtual instruction for L1 to see.
    s.regs.pc = 0x1234;
    let stopei = 0x15c << 20 | 2 << 12 | 6 << 7 | 0x73;
    assert_eq!(s.guest_trap(cause::VIRTUAL_INSTRUCTION, stopei), ENTERED);
    assert_eq!((s.raised(), s.real(real::VSEPC)), (22, 0x1234));
    // A write of stopi is illegal; with hedeleg bit 2, L2 takes it itself.
    s.regs.pc = L1_PC;
    s.write(HEDELEG, 1 << 2);
    s.enter();
    s.regs.pc = 0x1234;
    let write_stopi = 0xdb0 << 20 | 31 << 15 | 1 << 12 | 0x73;
    let outcome = s.guest_trap(cause::VIRTUAL_INSTRUCTION, write_stopi);
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty()
        }
    );
    assert!(s.hart.in_guest());
    assert_eq!(
        (s.real(real::VSCAUSE), s.real(real::VSEPC), s.regs.pc),
        (2, 0x1234, L2_STVEC)
    );
}

#[test]
fn a_file_backed_by_a_real_one_steers_the_real_vgein_while_l2_runs() {
    let mut s = Setup::with_aia();
    s.hart.prepare_guest_file(1, phys(5), &mut *s.host).unwrap();
    s.hart.attach_guest_file(1, phys(5), &mut *s.host).unwrap();
    assert_eq!(
        s.hart.aia().unwrap().backing(1),
        Some(FileBacking::Hardware(phys(5)))
    );
    s.arm_file(1, 3); // through vsireg: lands in the real file
    let real_file = &s.host.files.files[5];
    assert!(real_file.enabled(real_file.identity(3).unwrap()));
    s.write(HSTATUS, 1 << HSTATUS_VGEIN_SHIFT);
    s.enter();
    assert_eq!(
        s.real(real::HSTATUS) & HSTATUS_VGEIN,
        5 << HSTATUS_VGEIN_SHIFT
    );
    s.guest_trap(10, 0);
    assert_eq!(
        s.real(real::HSTATUS) & HSTATUS_VGEIN,
        HOST_VGEIN,
        "the host's"
    );
}

#[test]
fn hgeie_arms_sgei_for_a_backed_file_through_the_real_hgeip() {
    let mut s = Setup::with_aia();
    s.hart.prepare_guest_file(3, phys(2), &mut *s.host).unwrap();
    s.hart.attach_guest_file(3, phys(2), &mut *s.host).unwrap();
    s.arm_file(3, 6);
    s.write(HGEIE, 1 << 3);
    assert_eq!(
        s.hart.aia().unwrap().real_hgeie(),
        1 << 2,
        "the host arms real file 2"
    );
    s.host.files.files[2].set_eipnum(6); // a device's MSI lands in the real file
    assert_eq!(s.virt(HGEIP), Ok(1 << 3));
    assert_eq!(s.virt(HIP).map(|hip| hip & SGEIP), Ok(SGEIP));
}

#[test]
fn vgein_above_geilen_keeps_the_old_file_selected() {
    let mut s = Setup::with_aia();
    s.hart.prepare_guest_file(2, phys(3), &mut *s.host).unwrap();
    s.hart.attach_guest_file(2, phys(3), &mut *s.host).unwrap();
    s.write(HSTATUS, 2 << HSTATUS_VGEIN_SHIFT);
    s.write(HSTATUS, (GEILEN as u64 + 1) << HSTATUS_VGEIN_SHIFT);
    assert_eq!(s.read(HSTATUS) & HSTATUS_VGEIN, 2 << HSTATUS_VGEIN_SHIFT);
    assert_eq!(s.hart.aia().unwrap().vgein().get(), 2);
    s.enter();
    assert_eq!(
        s.real(real::HSTATUS) & HSTATUS_VGEIN,
        3 << HSTATUS_VGEIN_SHIFT
    );
}

#[test]
fn without_the_aia_l2_runs_with_no_guest_file_selected() {
    let mut s = Setup::new(NestedConfig::rv64());
    s.enter();
    assert_eq!(s.real(real::HSTATUS) & HSTATUS_VGEIN, 0);
    assert_eq!(s.real(real::HVICTL), HOST_HVICTL, "no AIA CSR touched");
}

/// Runs `f` as L1 would on its shared memory.
fn as_l1(s: &mut Setup, f: impl FnOnce(&mut Consumer<ByteShmem<'_>>)) {
    let mut bytes = vec![0; 0x3000];
    s.host.memory.read(SHMEM, &mut bytes).unwrap();
    {
        let mut consumer = Consumer::new(ByteShmem::new(&mut bytes, Xlen::Rv64).unwrap());
        f(&mut consumer);
    }
    s.host.memory.write(SHMEM, &bytes).unwrap();
}

#[test]
fn nacl_syncs_the_aia_csrs_through_aia_virt_and_writes_them_back() {
    let mut s = Setup::with_aia();
    s.hart.nacl_set_shmem(Some(SHMEM), &mut *s.host).unwrap();
    as_l1(&mut s, |l1| {
        l1.csr_write(HVICTL, u64::MAX).unwrap();
        l1.csr_write(HVIPRIO1, 0x4400).unwrap();
        l1.csr_write(VSISELECT, 0x72).unwrap();
    });
    s.hart.nacl_sync_csr(None, &mut *s.host).unwrap();
    assert_eq!(s.hart.aia().unwrap().hvictl().bits(), 0x4fff_03ff);
    assert_eq!(s.hart.aia().unwrap().vsiselect(), 0x72);
    let mut slots = (0, 0);
    as_l1(&mut s, |l1| {
        slots = (l1.csr_read(HVICTL).unwrap(), l1.csr_read(HVIPRIO1).unwrap());
    });
    assert_eq!(
        slots,
        (0x4fff_03ff, 0x4400),
        "the legal values, written back"
    );
    assert_eq!(
        s.hart.nacl_sync_csr(Some(HVICTL), &mut *s.host),
        Ok(0),
        "an AIA CSR is one the engine implements"
    );
}

#[test]
fn hstateen0_gates_l2s_access_to_its_guest_file_as_l1_set_it() {
    let mut s = Setup::new(NestedConfig {
        smstateen: true,
        ..offered()
    });
    s.write(HSTATEEN0, u64::MAX);
    assert_eq!(
        s.read(HSTATEEN0) & HSTATEEN_AIA_ALL,
        HSTATEEN_AIA_ALL,
        "IMSIC, AIA and CSRIND are writable with the AIA"
    );
    s.write(HSTATEEN0, HSTATEEN_SE0); // L1 withholds the IMSIC state from L2
    s.arm_file(1, 7);
    s.write(HSTATUS, 1 << HSTATUS_VGEIN_SHIFT);
    s.enter();
    s.msi(1, 7);
    let stopei = 0x15c << 20 | 2 << 12 | 6 << 7 | 0x73;
    assert_eq!(s.guest_trap(cause::VIRTUAL_INSTRUCTION, stopei), ENTERED);
    assert_eq!(
        s.raised(),
        cause::VIRTUAL_INSTRUCTION,
        "L1 sees its own refusal"
    );
    let file = s.hart.aia().unwrap().emulated_file(1).unwrap();
    assert!(file.topei().identity().is_some(), "nothing was claimed");
}
