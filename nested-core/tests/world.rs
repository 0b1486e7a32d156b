//! The world switch over the software host: L1 entering L2 with SRET, L2's traps filled,
//! handed to the host or reflected into L1 with exactly what hardware writes, and L2's state
//! kept across the switch.

use nested_core::csr::bits::*;
use nested_core::csr::number::*;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W, X};
use nested_core::testing::{SoftHost, Tables, same, shadow_config};
use nested_core::{
    Effects, Event, GuestRegs, GuestTrap, NestedConfig, NestedHart, Outcome, Route, Trap,
    VirtualMode, World, cause, route,
};

const L1_STVEC: u64 = 0x8030_0000;
const L1_PC: u64 = 0x8020_0000;
const L2_ENTRY: u64 = 0x1000;
const G_ROOT: u64 = 0x8000_4000;
/// The host's own settings for L1, which must come back after every exit.
const HOST_HEDELEG: u64 = 0xb1ff;
const HOST_HTIMEDELTA: u64 = 1000;
const HOST_HGATP: u64 = 8 << 60 | 7 << 44 | 0x12345;
const HOST_HCOUNTEREN: u64 = 0b101;

struct Setup {
    hart: NestedHart<2>,
    regs: GuestRegs,
    host: Box<SoftHost>,
}

impl Setup {
    /// L1 has a G-stage (VMID 5) mapping L2 GPA 0..0x8000 to L1 GPA 0x8000_8000.. and has
    /// prepared L2's state; it is about to SRET into L2.
    fn ready_to_enter() -> Self {
        let shadow = shadow_config(40);
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
            (real::VSSTATUS, SSTATUS_SPP | SSTATUS_SPIE), // L1's sstatus: SRET goes to VS
            (real::VSEPC, L2_ENTRY),
            (real::VSSCRATCH, 0x1111),
            (real::VSATP, 8 << 60 | 0x80001),
            (real::HEDELEG, HOST_HEDELEG),
            (real::HTIMEDELTA, HOST_HTIMEDELTA),
            (real::HGATP, HOST_HGATP),
            (real::HCOUNTEREN, HOST_HCOUNTEREN),
        ] {
            host.cpu.write_csr(csr, value);
        }
        let mut s = Setup {
            hart: NestedHart::new(NestedConfig::rv64(), shadow, 7),
            regs: GuestRegs {
                pc: L1_PC,
                ..Default::default()
            },
            host,
        };
        for (csr, value) in [
            (HGATP, 8 << 60 | 5 << 44 | G_ROOT >> 12),
            (HEDELEG, 1 << 8 | 1 << 12 | 1 << 13 | 1 << 15),
            (HIDELEG, VSSIP | VSTIP),
            (HVIP, VSTIP),
            (HTIMEDELTA, 24),
            (HCOUNTEREN, 0b111),
            (VSSTATUS, SSTATUS_SPP),
            (VSTVEC, 0x3000),
            (VSSCRATCH, 0x2222),
            (VSATP, 0),
            (HSTATUS, HSTATUS_SPV | HSTATUS_VTSR),
        ] {
            s.csr_write(csr, value);
        }
        s
    }

    fn csr_write(&mut self, csr: u16, value: u64) {
        self.regs.x[31] = value;
        let bits = u32::from(csr) << 20 | 31 << 15 | 1 << 12 | 0x73;
        let trap = Trap {
            cause: cause::VIRTUAL_INSTRUCTION,
            tval: bits.into(),
            mode: VirtualMode::Hypervisor,
        };
        self.hart.emulate(&trap, &mut self.regs, &mut *self.host);
        self.regs.pc = L1_PC;
    }

    fn enter(&mut self) -> Outcome {
        let trap = Trap {
            cause: cause::VIRTUAL_INSTRUCTION,
            tval: 0x1020_0073,
            mode: VirtualMode::Hypervisor,
        };
        self.hart.emulate(&trap, &mut self.regs, &mut *self.host)
    }

    fn guest_trap(&mut self, code: u64, tval: u64, htval: u64) -> Outcome {
        let trap = GuestTrap {
            code,
            interrupt: false,
            tval,
            htval,
            htinst: 0x3000,
            gva: true,
            supervisor: true,
        };
        self.hart
            .handle_guest_trap(&trap, &mut self.regs, &mut *self.host)
    }

    fn real(&self, csr: u16) -> u64 {
        self.host.cpu.read_csr(csr)
    }

    fn virt(&self, csr: u16) -> u64 {
        self.hart.csrs().read(csr, 0).unwrap()
    }
}

const ENTERED: Outcome = Outcome::Resume {
    supervisor: true,
    effects: Effects::WORLD,
};

#[test]
fn sret_with_spv_enters_l2_at_l1s_sepc_in_the_mode_of_its_spp() {
    let mut s = Setup::ready_to_enter();
    assert_eq!(s.enter(), ENTERED);
    assert!(s.hart.in_guest());
    assert_eq!(s.regs.pc, L2_ENTRY);
    assert_eq!(s.virt(HSTATUS) & HSTATUS_SPV, 0, "SRET clears SPV");
    assert_eq!(s.hart.counters().get(Event::GuestEntry), 1);
}

#[test]
fn entering_l2_projects_l1s_settings_onto_the_real_csrs() {
    let mut s = Setup::ready_to_enter();
    s.enter();
    let hgatp = s.real(real::HGATP);
    assert_eq!(
        (hgatp >> 60, hgatp >> 44 & 0x3fff),
        (8, 40),
        "the shadow hgatp, under its own VMID"
    );
    assert_eq!(
        s.real(real::HEDELEG),
        1 << 8 | 1 << 12 | 1 << 13 | 1 << 15,
        "L1's delegations"
    );
    assert_eq!(s.real(real::HIDELEG), VSSIP | VSTIP);
    assert_eq!(
        s.real(real::HVIP),
        VSTIP,
        "L1's injected interrupt reaches L2 without an exit"
    );
    assert_eq!(
        s.real(real::HTIMEDELTA),
        HOST_HTIMEDELTA + 24,
        "the two offsets add"
    );
    assert_eq!(
        s.real(real::HCOUNTEREN),
        HOST_HCOUNTEREN & 0b111,
        "the intersection"
    );
    assert_eq!(
        s.real(real::HSTATUS) & HSTATUS_VTSR,
        HSTATUS_VTSR,
        "L1's VTSR acts on L2"
    );
    assert_eq!(
        (
            s.real(real::VSTVEC),
            s.real(real::VSSCRATCH),
            s.real(real::VSATP)
        ),
        (0x3000, 0x2222, 0),
        "L2's VS CSRs"
    );
}

#[test]
fn an_ecall_from_l2_is_reflected_into_l1_as_hardware_would() {
    let mut s = Setup::ready_to_enter();
    s.enter();
    s.regs.pc = 0x1234;
    let outcome = s.hart.handle_guest_trap(
        &GuestTrap {
            code: 10,
            interrupt: false,
            tval: 0,
            htval: 0,
            htinst: 0,
            gva: false,
            supervisor: true,
        },
        &mut s.regs,
        &mut *s.host,
    );
    assert_eq!(outcome, ENTERED, "back in L1's HS-mode");
    assert!(!s.hart.in_guest());
    assert_eq!(s.regs.pc, L1_STVEC);
    assert_eq!(
        (
            s.real(real::VSEPC),
            s.real(real::VSCAUSE),
            s.real(real::VSTVAL)
        ),
        (0x1234, 10, 0)
    );
    let hstatus = s.virt(HSTATUS);
    assert_eq!(
        hstatus & (HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA),
        HSTATUS_SPV | HSTATUS_SPVP,
        "from V=1, VS"
    );
    let status = s.real(real::VSSTATUS);
    assert_eq!(
        status & (SSTATUS_SPP | SSTATUS_SIE),
        SSTATUS_SPP,
        "L1's sstatus: SPP = VS, SIE cleared"
    );
    assert_eq!(s.hart.counters().get(Event::GuestExit), 1);
}

#[test]
fn leaving_l2_restores_the_hosts_settings_for_l1() {
    let mut s = Setup::ready_to_enter();
    s.enter();
    s.guest_trap(10, 0, 0);
    for (csr, value) in [
        (real::HGATP, HOST_HGATP),
        (real::HEDELEG, HOST_HEDELEG),
        (real::HTIMEDELTA, HOST_HTIMEDELTA),
        (real::HCOUNTEREN, HOST_HCOUNTEREN),
        (real::VSSCRATCH, 0x1111),
        (real::VSATP, 8 << 60 | 0x80001),
    ] {
        assert_eq!(s.real(csr), value, "{csr:#x}");
    }
}

#[test]
fn what_l2_changed_in_hardware_is_kept_in_l1s_virtual_csrs() {
    let mut s = Setup::ready_to_enter();
    s.enter();
    s.host.cpu.write_csr(real::VSSCRATCH, 0x5555);
    s.host.cpu.write_csr(real::VSEPC, 0x7770);
    s.host.cpu.write_csr(real::HVIP, VSTIP | VSSIP); // L2 set its sip.SSIP
    s.guest_trap(10, 0, 0);
    assert_eq!((s.virt(VSSCRATCH), s.virt(VSEPC)), (0x5555, 0x7770));
    assert_eq!(s.virt(HVIP), VSTIP | VSSIP, "vsip.SSIP lands in hvip.VSSIP");
}

#[test]
fn a_guest_page_fault_on_a_shadow_miss_is_filled_and_l2_resumes() {
    let mut s = Setup::ready_to_enter();
    s.enter();
    let outcome = s.guest_trap(21, 0x4000_0010, 0x2010 >> 2);
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty()
        }
    );
    assert!(s.hart.in_guest());
    let key = s.hart.current_context();
    let leaf = s
        .hart
        .shadow()
        .lookup(key, 0x2010, &s.host.pool)
        .expect("a shadow leaf for the GPA");
    assert_eq!(
        leaf.pte.pa(gstage::PteWidth::Bits64) & !0xfff,
        0x8000_a000,
        "host PA of L1 GPA 0x8000_a000"
    );
}

#[test]
fn a_guest_page_fault_l1s_table_forbids_is_reflected_with_htval_htinst_and_gva() {
    let mut s = Setup::ready_to_enter();
    s.enter();
    s.regs.pc = 0x1500;
    let outcome = s.guest_trap(23, 0x4000_0008, 0x9_0008 >> 2); // L2 GPA 0x9_0008: unmapped by L1
    assert_eq!(outcome, ENTERED);
    assert_eq!(
        (
            s.real(real::VSCAUSE),
            s.real(real::VSTVAL),
            s.real(real::VSEPC)
        ),
        (23, 0x4000_0008, 0x1500)
    );
    assert_eq!((s.virt(HTVAL), s.virt(HTINST)), (0x9_0008 >> 2, 0x3000));
    assert_eq!(s.virt(HSTATUS) & HSTATUS_GVA, HSTATUS_GVA);
}

#[test]
fn an_interrupt_for_l1_while_l2_runs_exits_to_l1s_vector() {
    let mut s = Setup::ready_to_enter();
    s.host.cpu.write_csr(real::VSTVEC, L1_STVEC | 1); // vectored
    s.enter();
    let outcome = s.hart.interrupt_l1(5, true, &mut s.regs, &mut *s.host);
    assert_eq!(outcome, ENTERED);
    assert_eq!(s.real(real::VSCAUSE), 1 << 63 | 5);
    assert_eq!(s.regs.pc, L1_STVEC + 4 * 5);
}

#[test]
fn guest_page_faults_fill_interrupts_go_to_the_host_and_everything_else_to_l1() {
    for code in 0..64 {
        let expected = if [20, 21, 23].contains(&code) {
            Route::ShadowFault
        } else {
            Route::ReflectToL1
        };
        assert_eq!(route(false, code), expected, "exception {code}");
        assert_eq!(route(true, code), Route::Host, "interrupt {code}");
    }
}

#[test]
fn a_round_trip_without_nacl_costs_two_host_entries_plus_one_per_emulated_csr_access() {
    let mut s = Setup::ready_to_enter();
    let (l1_before, l2_before) = (
        s.hart.counters().total_entries(World::L1),
        s.hart.counters().total_entries(World::L2),
    );
    s.csr_write(HTVAL, 0); // L1 touches one H CSR before entering: one entry
    s.enter(); // the SRET: one entry
    s.guest_trap(10, 0, 0); // L2's exit: one entry
    let counts = s.hart.counters();
    assert_eq!(
        counts.total_entries(World::L1) - l1_before,
        2,
        "the H-CSR access and the SRET"
    );
    assert_eq!(counts.total_entries(World::L2) - l2_before, 1, "the exit");
    assert_eq!(counts.entries(World::L2, false, 10), 1, "counted by cause");
    assert_eq!(
        counts.entries(World::L1, false, cause::VIRTUAL_INSTRUCTION),
        l1_before + 2
    );
    assert_eq!(
        (counts.get(Event::GuestEntry), counts.get(Event::GuestExit)),
        (1, 1),
        "one round trip"
    );
}

#[test]
fn l1s_own_sstc_timer_is_armed_in_host_time_while_l2_runs_and_delivered_when_enabled() {
    let mut s = Setup::ready_to_enter();
    s.host.cpu.write_csr(real::HENVCFG, HENVCFG_STCE); // the host gave L1 Sstc
    s.host.cpu.write_csr(real::VSTIMECMP, 5000); // L1's stimecmp, in L1's time
    s.host.cpu.write_csr(real::VSIE, 1 << 5); // L1's sie.STIE
    assert_eq!(s.hart.l1_timer_deadline(), None, "only while L2 runs");
    s.enter();
    assert_eq!(s.hart.l1_timer_deadline(), Some(5000 - HOST_HTIMEDELTA));
    assert_eq!(s.hart.pending_l1_interrupt(3999, &mut *s.host), None);
    assert_eq!(
        s.hart.pending_l1_interrupt(4000, &mut *s.host),
        Some(5),
        "STI at L1's time 5000"
    );
}

#[test]
fn an_interrupt_the_host_injects_for_l1_is_pending_while_l2_runs_by_priority_and_enable() {
    let mut s = Setup::ready_to_enter();
    s.host.cpu.write_csr(real::HVIP, VSEIP | VSSIP); // the host's injections for L1: SEI, SSI
    s.host.cpu.write_csr(real::VSIE, 1 << 1); // L1 enables SSI only
    s.enter();
    assert_eq!(
        s.hart.pending_l1_interrupt(0, &mut *s.host),
        Some(1),
        "SEI is not enabled, SSI is"
    );
}

#[test]
fn a_guest_page_fault_on_an_implicit_vs_table_read_is_filled_as_a_read_whatever_the_original_access()
 {
    let mut s = Setup::ready_to_enter();
    s.enter();
    // An instruction fetch of L2 faulted while the hardware read a VS-stage PTE at L2 GPA
    // 0x3008, which L1 maps read-write but not executable: the PTE read needs only R.
    let trap = GuestTrap {
        code: 20,
        interrupt: false,
        tval: 0x4000_0000,
        htval: 0x3008 >> 2,
        htinst: 0x3000,
        gva: true,
        supervisor: true,
    };
    let outcome = s.hart.handle_guest_trap(&trap, &mut s.regs, &mut *s.host);
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty()
        },
        "filled, not reflected"
    );
    let key = s.hart.current_context();
    assert!(s.hart.shadow().lookup(key, 0x3008, &s.host.pool).is_some());
}

/// The host's own sstatus when it resumes L1 into L2: SUM and SIE of its own, FS Clean.
const HOST_SSTATUS: u64 = SSTATUS_SUM | SSTATUS_SIE | 2 << 13;
/// FS or VS Initial, Clean and Dirty.
const INITIAL: u64 = 1;
const DIRTY: u64 = 3;

impl Setup {
    /// L1's sstatus (the real vsstatus while L1 runs) gets `fields` besides SPP and SPIE, and
    /// the host runs with `HOST_SSTATUS`.
    fn l1_sstatus(&mut self, fields: u64) {
        self.host
            .cpu
            .write_csr(real::VSSTATUS, SSTATUS_SPP | SSTATUS_SPIE | fields);
        self.host.cpu.write_csr(real::SSTATUS, HOST_SSTATUS);
    }

    /// An explicit load of L2 at guest-physical `gpa` took a guest-page fault.
    fn load_fault(&mut self, gpa: u64) -> Outcome {
        let trap = GuestTrap {
            code: 21,
            interrupt: false,
            tval: 0x4000_0000 | (gpa & 0xfff),
            htval: gpa >> 2,
            htinst: 0,
            gva: true,
            supervisor: true,
        };
        self.hart
            .handle_guest_trap(&trap, &mut self.regs, &mut *self.host)
    }

    /// L1 maps L2 GPA 0x5000 execute-only.
    fn execute_only_page(&mut self) {
        let mut tables = Tables { next: 0x8000_f000 };
        tables.map(
            &mut self.host.memory,
            G_ROOT,
            11,
            0x5000,
            0x8000_d000,
            X | U | A,
            same,
            same,
        );
    }
}

#[test]
fn entering_l2_puts_l1s_mxr_fs_and_vs_in_the_real_sstatus_and_keeps_the_hosts_other_bits() {
    let mut s = Setup::ready_to_enter();
    s.l1_sstatus(SSTATUS_MXR | INITIAL << 13 | INITIAL << 9);
    s.enter();
    assert_eq!(
        s.real(real::SSTATUS),
        SSTATUS_SUM | SSTATUS_SIE | SSTATUS_MXR | INITIAL << 13 | INITIAL << 9,
        "L1's MXR, FS and VS; the host's SUM and SIE"
    );
}

#[test]
fn leaving_l2_gives_the_host_its_sstatus_fields_back_and_keeps_what_the_trap_set() {
    let mut s = Setup::ready_to_enter();
    s.l1_sstatus(SSTATUS_MXR | INITIAL << 13);
    s.enter();
    // The trap from L2 set SPP and SPIE in the real sstatus and cleared SIE.
    let at_trap = (s.real(real::SSTATUS) & !SSTATUS_SIE) | SSTATUS_SPP | SSTATUS_SPIE;
    s.host.cpu.write_csr(real::SSTATUS, at_trap);
    s.guest_trap(10, 0, 0);
    assert_eq!(
        s.real(real::SSTATUS),
        SSTATUS_SUM | SSTATUS_SPP | SSTATUS_SPIE | 2 << 13,
        "the host's MXR (clear) and FS (Clean) back; SPP/SPIE as the trap left them"
    );
    let l1 = s.real(real::VSSTATUS);
    assert_eq!(
        (l1 & SSTATUS_MXR, l1 & SSTATUS_FS, l1 >> 63),
        (SSTATUS_MXR, INITIAL << 13, 0),
        "L1's sstatus unchanged: L2 dirtied nothing"
    );
}

#[test]
fn fp_and_vector_state_l2_dirtied_make_l1s_sstatus_fs_and_vs_dirty_with_sd() {
    for (field, shift) in [(SSTATUS_FS, 13), (SSTATUS_VS, 9)] {
        let mut s = Setup::ready_to_enter();
        s.l1_sstatus(INITIAL << 13 | INITIAL << 9);
        s.enter();
        // L2 wrote an FP (vector) register: the hart set the HS-level field Dirty.
        let sstatus = s.real(real::SSTATUS);
        s.host
            .cpu
            .write_csr(real::SSTATUS, sstatus & !field | DIRTY << shift);
        s.guest_trap(10, 0, 0);
        let l1 = s.real(real::VSSTATUS);
        assert_eq!(l1 & field, field, "L1's field is Dirty ({field:#x})");
        assert_eq!(l1 >> 63, 1, "and SD says so");
        assert_eq!(
            s.real(real::SSTATUS) & field,
            field,
            "the registers changed under the host too: its field stays Dirty"
        );
    }
}

#[test]
fn with_l1s_fs_off_l2s_fp_instruction_traps_to_the_host_and_is_reflected_to_l1_as_illegal() {
    let mut s = Setup::ready_to_enter();
    s.l1_sstatus(0); // FS Off
    s.enter();
    assert_eq!(s.real(real::SSTATUS) & SSTATUS_FS, 0, "L2's FP traps");
    assert_eq!(route(false, 2), Route::ReflectToL1);
    s.regs.pc = 0x1400;
    let fadd = 0x0020_f0d3; // fadd.s f1, f1, f2
    let outcome = s.guest_trap(2, fadd, 0);
    assert_eq!(outcome, ENTERED);
    assert_eq!(
        (
            s.real(real::VSCAUSE),
            s.real(real::VSTVAL),
            s.real(real::VSEPC)
        ),
        (2, fadd, 0x1400)
    );
}

#[test]
fn a_load_from_a_page_l1_maps_execute_only_is_filled_under_l1s_mxr_and_the_leaf_stays_execute_only()
{
    let mut s = Setup::ready_to_enter();
    s.execute_only_page();
    s.l1_sstatus(SSTATUS_MXR);
    s.enter();
    assert_eq!(
        s.real(real::SSTATUS) & SSTATUS_MXR,
        SSTATUS_MXR,
        "the hart checks L2's loads against L1's MXR"
    );
    let outcome = s.load_fault(0x5010);
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty()
        },
        "filled"
    );
    let key = s.hart.current_context();
    let leaf = s.hart.shadow().lookup(key, 0x5010, &s.host.pool).unwrap();
    assert_eq!(
        leaf.pte.perms(),
        gstage::Perms::X,
        "readable only while MXR is set: no wider than L1's leaf"
    );
}

#[test]
fn without_l1s_mxr_a_load_from_an_execute_only_page_is_reflected_to_l1() {
    let mut s = Setup::ready_to_enter();
    s.execute_only_page();
    s.l1_sstatus(0);
    s.enter();
    s.regs.pc = 0x1500;
    assert_eq!(s.load_fault(0x5010), ENTERED);
    assert_eq!((s.real(real::VSCAUSE), s.virt(HTVAL)), (21, 0x5010 >> 2));
    let key = s.hart.current_context();
    assert!(s.hart.shadow().lookup(key, 0x5010, &s.host.pool).is_none());
}

#[test]
fn an_l2_access_to_an_l1_address_with_nothing_behind_it_is_an_access_fault_taken_by_l1() {
    let mut s = Setup::ready_to_enter();
    s.enter();
    s.regs.pc = 0x1500;
    let trap = GuestTrap {
        code: 21,
        interrupt: false,
        tval: 0x4000_0010,
        htval: 0x2010 >> 2,
        htinst: 0x3000,
        gva: true,
        supervisor: true,
    };
    let outcome = s.hart.guest_access_fault(&trap, &mut s.regs, &mut *s.host);
    assert_eq!(outcome, ENTERED);
    assert!(!s.hart.in_guest());
    assert_eq!(s.regs.pc, L1_STVEC);
    assert_eq!(
        (
            s.real(real::VSCAUSE),
            s.real(real::VSTVAL),
            s.real(real::VSEPC)
        ),
        (cause::LOAD_ACCESS_FAULT, 0x4000_0010, 0x1500),
        "a load access fault at L2's address"
    );
    assert_eq!((s.virt(HTVAL), s.virt(HTINST)), (0, 0));
    assert_eq!(
        s.virt(HSTATUS) & (HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA),
        HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_GVA
    );
}

#[test]
fn an_access_fault_l1_delegated_is_taken_by_l2_in_vs_mode() {
    let mut s = Setup::ready_to_enter();
    s.csr_write(HEDELEG, 1 << cause::STORE_ACCESS_FAULT);
    s.enter();
    s.host.cpu.write_csr(real::VSSTATUS, SSTATUS_SIE);
    s.regs.pc = 0x1500;
    let trap = GuestTrap {
        code: 23,
        interrupt: false,
        tval: 0x4000_0018,
        htval: 0x2018 >> 2,
        htinst: 0,
        gva: true,
        supervisor: false,
    };
    let outcome = s.hart.guest_access_fault(&trap, &mut s.regs, &mut *s.host);
    assert!(matches!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            ..
        }
    ));
    assert!(s.hart.in_guest(), "L2 takes it without an exit");
    assert_eq!(s.regs.pc, 0x3000, "L2's stvec");
    assert_eq!(
        (
            s.real(real::VSCAUSE),
            s.real(real::VSTVAL),
            s.real(real::VSEPC)
        ),
        (cause::STORE_ACCESS_FAULT, 0x4000_0018, 0x1500)
    );
    assert_eq!(
        s.real(real::VSSTATUS) & (SSTATUS_SIE | SSTATUS_SPIE | SSTATUS_SPP),
        SSTATUS_SPIE,
        "from VU-mode, interrupts were enabled"
    );
}

#[test]
fn l1s_own_access_to_an_address_the_host_does_not_map_is_an_access_fault_at_the_same_stval() {
    let mut s = Setup::ready_to_enter();
    s.regs.pc = 0x4000;
    let outcome = s.hart.exception_to_l1(
        cause::STORE_GUEST_PAGE_FAULT,
        0x1_0000_0000,
        VirtualMode::User,
        &mut s.regs,
        &mut *s.host,
    );
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            effects: Effects::empty()
        }
    );
    assert_eq!(s.regs.pc, L1_STVEC);
    assert_eq!(
        (
            s.real(real::VSCAUSE),
            s.real(real::VSTVAL),
            s.real(real::VSEPC)
        ),
        (cause::STORE_ACCESS_FAULT, 0x1_0000_0000, 0x4000)
    );
    assert_eq!(s.real(real::VSSTATUS) & SSTATUS_SPP, 0, "from L1's U-mode");
    assert_eq!(s.virt(HSTATUS) & (HSTATUS_SPV | HSTATUS_GVA), 0);
    assert_eq!(s.hart.counters().entries(World::L1, false, 23), 1);
}

#[test]
fn an_interrupt_the_host_injects_while_l2_runs_is_pending_for_l1_and_in_its_hvip_after_the_exit() {
    let mut s = Setup::ready_to_enter();
    s.host.cpu.write_csr(real::VSIE, 1 << 5); // L1's sie.STIE
    s.enter();
    assert_eq!(s.hart.pending_l1_interrupt(0, &mut *s.host), None);
    s.hart.inject_l1_interrupts(VSTIP, &mut s.host.cpu);
    assert_eq!(s.hart.pending_l1_interrupt(0, &mut *s.host), Some(5));
    assert_eq!(s.real(real::HVIP) & VSTIP, VSTIP, "L1's own VSTIP to L2");
    s.hart.interrupt_l1(5, true, &mut s.regs, &mut *s.host);
    assert_eq!(s.real(real::HVIP), VSTIP, "the host's hvip for L1");
    s.hart.inject_l1_interrupts(VSSIP, &mut s.host.cpu);
    assert_eq!(
        s.real(real::HVIP),
        VSTIP | VSSIP,
        "while L1 runs, the real hvip"
    );
}

#[test]
fn an_interrupt_the_host_withdraws_is_no_longer_pending_for_l1_while_l2_runs_nor_after_the_exit() {
    let mut s = Setup::ready_to_enter();
    s.host.cpu.write_csr(real::VSIE, 1 << 9 | 1 << 5); // L1's sie.SEIE and STIE
    s.host.cpu.write_csr(real::HVIP, VSEIP); // an external interrupt for L1, raised
    s.enter();
    assert_eq!(s.hart.pending_l1_interrupt(0, &mut *s.host), Some(9));
    // Its line fell (another hart claimed it) while L2 runs: L1 must not take it.
    s.hart.withdraw_l1_interrupts(VSEIP, &mut s.host.cpu);
    assert_eq!(s.hart.pending_l1_interrupt(0, &mut *s.host), None);
    s.hart.inject_l1_interrupts(VSTIP, &mut s.host.cpu);
    s.hart.interrupt_l1(5, true, &mut s.regs, &mut *s.host);
    assert_eq!(
        s.real(real::HVIP),
        VSTIP,
        "the host's hvip for L1, without SEI"
    );
    s.hart.inject_l1_interrupts(VSEIP, &mut s.host.cpu);
    s.hart
        .withdraw_l1_interrupts(VSEIP | VSTIP, &mut s.host.cpu);
    assert_eq!(s.real(real::HVIP), 0, "while L1 runs, the real hvip");
}

#[test]
fn a_vsepc_bit_0_the_real_hart_keeps_is_kept_for_l1_and_given_back_to_l2() {
    // The virtual vsepc clears bit 0 when L1 writes it; a hart that keeps it for L2 wins.
    let mut s = Setup::ready_to_enter();
    s.enter();
    s.host.cpu.write_csr(real::VSEPC, 0x7771);
    s.guest_trap(10, 0, 0);
    assert_eq!(s.virt(VSEPC), 0x7771);
    s.host.cpu.write_csr(real::VSEPC, L2_ENTRY); // L1's sepc
    assert_eq!(s.enter(), ENTERED);
    assert_eq!(s.real(real::VSEPC), 0x7771);
}

#[test]
fn an_sv57_satp_l2_set_in_hardware_survives_its_trap_to_l1_and_the_next_entry() {
    // The real hart accepts Sv57 in vsatp even where the configuration offers only Sv39 and
    // Sv48: L2 writes its satp to the hardware directly, so the engine keeps what it finds.
    let sv57 = 10 << 60 | 0x42 << 44 | 0x8_0123;
    let mut s = Setup::ready_to_enter();
    assert!(!NestedConfig::rv64().vsatp_modes.sv57);
    s.enter();
    s.host.cpu.write_csr(real::VSATP, sv57);
    s.guest_trap(10, 0, 0);
    assert_eq!(s.virt(VSATP), sv57, "L1 reads L2's satp as L2 set it");
    s.regs.pc = L1_PC;
    s.host.cpu.write_csr(real::VSEPC, L2_ENTRY); // L1's sepc
    assert_eq!(s.enter(), ENTERED);
    assert_eq!(s.real(real::VSATP), sv57, "re-entering L2 gives it back");
}
