//! HLV, HLVX and HSV from L1: the two-stage access through L1's virtual vsatp and hgatp, the
//! value loaded or stored, and the exact exception L1 gets when it faults.

use nested_core::csr::bits::*;
use nested_core::csr::number::*;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::SoftHost;
use nested_core::{Event, GuestRegs, NestedConfig, NestedHart, Outcome, Trap, VirtualMode, cause};

use nested_core::testing::pte::{A, D, R, U, W, X};
use nested_core::testing::{Tables, l1_to_l2, l2_to_l1, same, shadow_config};

const L1_STVEC: u64 = 0x8030_0000;
const PC: u64 = 0x8020_0000;
/// L1 memory of the software host starts at 0x8000_0000 (64 KiB).
const G_ROOT: u64 = 0x8000_4000; // 16 KiB aligned
const VS_ROOT_GPA: u64 = 0x1000; // an L2 GPA
const DATA_GPA: u64 = 0x2000; // an L2 GPA
const DATA_L1: u64 = 0x8000_f000; // where L1 backs it
const GVA: u64 = 0x4000_0000;

struct Setup {
    hart: NestedHart<2>,
    regs: GuestRegs,
    host: Box<SoftHost>,
    tables: Tables,
}

impl Setup {
    fn new() -> Self {
        let shadow = shadow_config(1);
        let mut host = Box::new(SoftHost::new());
        host.cpu.write_csr(real::VSTVEC, L1_STVEC);
        Setup {
            hart: NestedHart::new(NestedConfig::rv64(), shadow, 0),
            regs: GuestRegs {
                pc: PC,
                ..Default::default()
            },
            host,
            tables: Tables { next: 0x8000_8000 },
        }
    }

    fn write_u64(&mut self, gpa: u64, value: u64) {
        Tables::write(&mut self.host.memory, gpa, value);
    }

    fn read_u64(&self, gpa: u64) -> u64 {
        Tables::read(&self.host.memory, gpa)
    }

    fn csr(&mut self, csr: u16, value: u64) {
        self.regs.x[31] = value;
        let bits = u32::from(csr) << 20 | 31 << 15 | 1 << 12 | 0x73;
        self.run(bits, VirtualMode::Hypervisor);
        self.regs.pc = PC;
    }

    fn run(&mut self, bits: u32, mode: VirtualMode) -> Outcome {
        let trap = Trap {
            cause: cause::VIRTUAL_INSTRUCTION,
            tval: u64::from(bits),
            mode,
        };
        self.hart.emulate(&trap, &mut self.regs, &mut *self.host)
    }

    /// L2 GPAs 0..0x1_0000 are L1 GPAs 0x8000_0000.. through an Sv39x4 G-stage, with
    /// DATA_GPA mapped to DATA_L1 with `data_flags`; the VS-stage maps GVA -> DATA_GPA
    /// with `vs_flags`. Both are installed in the virtual hgatp and vsatp.
    fn two_stages(&mut self, vs_flags: u64, data_flags: u64) {
        let memory = &mut self.host.memory;
        for page in (0..0x1_0000).step_by(4096).filter(|&p| p != DATA_GPA) {
            self.tables.map(
                memory,
                G_ROOT,
                11,
                page,
                0x8000_0000 + page,
                R | W | U | A | D,
                same,
                same,
            );
        }
        self.tables.map(
            memory, G_ROOT, 11, DATA_GPA, DATA_L1, data_flags, same, same,
        );
        // The G-stage maps L2 GPA g at L1 GPA 0x8000_0000 + g: VS tables are placed so.
        self.tables.map(
            memory,
            VS_ROOT_GPA,
            9,
            GVA,
            DATA_GPA,
            vs_flags,
            l2_to_l1,
            l1_to_l2,
        );
        self.csr(HGATP, 8 << 60 | 1 << 44 | G_ROOT >> 12);
        self.csr(VSATP, 8 << 60 | VS_ROOT_GPA >> 12);
        self.csr(HSTATUS, HSTATUS_SPVP); // accesses as VS
    }

    fn assert_raised(&self, code: u64, htval: u64, htinst: u64) {
        self.assert_raised_at(GVA, code, htval, htinst);
    }

    fn assert_raised_at(&self, gva: u64, code: u64, htval: u64, htinst: u64) {
        assert_eq!(self.regs.pc, L1_STVEC, "L1's trap handler");
        assert_eq!(self.host.cpu.read_csr(real::VSCAUSE), code);
        assert_eq!(
            self.host.cpu.read_csr(real::VSTVAL),
            gva,
            "stval is the guest virtual address"
        );
        let csrs = self.hart.csrs();
        assert_eq!(
            csrs.read(HSTATUS, 0).unwrap() & (HSTATUS_GVA | HSTATUS_SPV),
            HSTATUS_GVA,
            "GVA set, SPV clear"
        );
        assert_eq!(
            (csrs.read(HTVAL, 0), csrs.read(HTINST, 0)),
            (Ok(htval), Ok(htinst))
        );
    }
}

/// hlv.d x5, (x6) / hlv.b / hlv.bu / hlvx.wu / hsv.w x7, (x6).
const HLV_D: u32 = 0x6c00_4073 | 6 << 15 | 5 << 7;
const HLV_B: u32 = 0x6000_4073 | 6 << 15 | 5 << 7;
const HLV_BU: u32 = 0x6010_4073 | 6 << 15 | 5 << 7;
const HLVX_WU: u32 = 0x6830_4073 | 6 << 15 | 5 << 7;
const HSV_W: u32 = 0x6a00_4073 | 7 << 20 | 6 << 15;

#[test]
fn hlv_with_both_stages_bare_reads_l1_memory_at_the_address() {
    let mut s = Setup::new();
    s.write_u64(0x8000_1000, 0x1122_3344_5566_7788);
    s.regs.x[6] = 0x8000_1000;
    assert_eq!(
        s.run(HLV_D, VirtualMode::Hypervisor),
        Outcome::Resume {
            supervisor: true,
            effects: Default::default()
        }
    );
    assert_eq!((s.regs.x[5], s.regs.pc), (0x1122_3344_5566_7788, PC + 4));
    assert_eq!(s.hart.counters().get(Event::Hlv), 1);
}

#[test]
fn hlv_b_sign_extends_and_hlv_bu_zero_extends() {
    let mut s = Setup::new();
    s.write_u64(0x8000_1000, 0x80);
    s.regs.x[6] = 0x8000_1000;
    s.run(HLV_B, VirtualMode::Hypervisor);
    assert_eq!(s.regs.x[5], u64::MAX - 0x7f);
    s.run(HLV_BU, VirtualMode::Hypervisor);
    assert_eq!(s.regs.x[5], 0x80);
}

#[test]
fn hsv_stores_through_both_stages_into_the_l1_page_behind_them() {
    let mut s = Setup::new();
    s.two_stages(R | W | A | D, R | W | U | A | D);
    s.regs.x[6] = GVA + 8;
    s.regs.x[7] = 0xdead_beef_cafe_f00d;
    s.run(HSV_W, VirtualMode::Hypervisor);
    assert_eq!(
        s.regs.pc,
        PC + 4,
        "{:#x}",
        s.host.cpu.read_csr(real::VSCAUSE)
    );
    assert_eq!(s.read_u64(DATA_L1 + 8), 0xcafe_f00d, "a word stored");
    s.run(HLV_D, VirtualMode::Hypervisor);
    assert_eq!(s.regs.x[5], 0xcafe_f00d);
}

#[test]
fn a_g_stage_fault_of_the_data_raises_a_guest_page_fault_with_htval_and_the_transformed_instruction()
 {
    let mut s = Setup::new();
    s.two_stages(R | W | A | D, R | U | A); // read-only in L1's G-stage
    s.regs.x[6] = GVA;
    s.run(HSV_W, VirtualMode::Hypervisor);
    s.assert_raised(23, DATA_GPA >> 2, u64::from(HSV_W & !(0x1f << 15)));
}

#[test]
fn a_g_stage_fault_of_a_vs_pte_read_raises_with_the_pseudo_instruction() {
    let mut s = Setup::new();
    s.two_stages(R | A, R | U | A);
    s.csr(VSATP, 8 << 60 | 0x2_0000 >> 12); // a VS root at an L2 GPA the G-stage does not map
    s.regs.x[6] = GVA;
    s.run(HLV_D, VirtualMode::Hypervisor);
    let root_entry = 0x2_0000 + ((GVA >> 30) & 0x1ff) * 8;
    s.assert_raised(21, root_entry >> 2, 0x3000);
}

#[test]
fn a_vs_stage_fault_raises_a_page_fault_with_htval_zero() {
    let mut s = Setup::new();
    s.two_stages(R | A | D, R | W | U | A | D); // read-only in the VS-stage
    s.regs.x[6] = GVA;
    s.run(HSV_W, VirtualMode::Hypervisor);
    s.assert_raised(15, 0, u64::from(HSV_W & !(0x1f << 15)));
}

#[test]
fn spvp_zero_accesses_as_vu_so_a_supervisor_page_faults() {
    let mut s = Setup::new();
    s.two_stages(R | A, R | U | A);
    s.csr(HSTATUS, 0);
    s.regs.x[6] = GVA;
    s.run(HLV_D, VirtualMode::Hypervisor);
    s.assert_raised(13, 0, u64::from(HLV_D & !(0x1f << 15)));
}

#[test]
fn hlvx_needs_execute_permission_and_reads_execute_only_pages() {
    let mut s = Setup::new();
    s.two_stages(X | A, X | U | A);
    s.write_u64(DATA_L1, 0x1234_5678);
    s.regs.x[6] = GVA;
    s.run(HLVX_WU, VirtualMode::Hypervisor);
    assert_eq!((s.regs.pc, s.regs.x[5]), (PC + 4, 0x1234_5678));
    s.regs.pc = PC;
    s.run(HLV_D, VirtualMode::Hypervisor);
    s.assert_raised(13, 0, u64::from(HLV_D & !(0x1f << 15)));
}

#[test]
fn a_misaligned_hlv_raises_load_address_misaligned() {
    let mut s = Setup::new();
    s.regs.x[6] = GVA + 4;
    s.run(HLV_D, VirtualMode::Hypervisor);
    s.assert_raised_at(GVA + 4, 4, 0, u64::from(HLV_D & !(0x1f << 15)));
}

#[test]
fn an_hlv_of_memory_the_host_does_not_back_is_a_load_access_fault() {
    let mut s = Setup::new();
    s.regs.x[6] = GVA; // Bare stages: L1 GPA 0x4000_0000 is not backed
    s.run(HLV_D, VirtualMode::Hypervisor);
    s.assert_raised(5, 0, u64::from(HLV_D & !(0x1f << 15)));
}

#[test]
fn hlv_from_l1_user_mode_is_legal_only_with_hstatus_hu() {
    let mut s = Setup::new();
    s.write_u64(0x8000_1000, 42);
    s.regs.x[6] = 0x8000_1000;
    s.run(HLV_D, VirtualMode::User);
    assert_eq!(
        s.host.cpu.read_csr(real::VSCAUSE),
        cause::ILLEGAL_INSTRUCTION
    );
    s.regs.pc = PC;
    s.csr(HSTATUS, HSTATUS_HU);
    assert_eq!(
        s.run(HLV_D, VirtualMode::User),
        Outcome::Resume {
            supervisor: false,
            effects: Default::default()
        }
    );
    assert_eq!(s.regs.x[5], 42);
}

#[test]
fn every_hlv_and_hsv_form_loads_and_extends_or_stores_its_width() {
    // Memory holds 0x8182_8384_8586_8788 at 0x8000_1000 (every byte has its top bit set).
    let loads = [
        (0x6000_4073, 0xffff_ffff_ffff_ff88), // HLV.B sign-extends
        (0x6010_4073, 0x88),                  // HLV.BU
        (0x6400_4073, 0xffff_ffff_ffff_8788), // HLV.H
        (0x6410_4073, 0x8788),                // HLV.HU
        (0x6430_4073, 0x8788),                // HLVX.HU
        (0x6800_4073, 0xffff_ffff_8586_8788), // HLV.W
        (0x6810_4073, 0x8586_8788),           // HLV.WU
        (0x6830_4073, 0x8586_8788),           // HLVX.WU
        (0x6c00_4073, 0x8182_8384_8586_8788), // HLV.D
    ];
    for (matched, expected) in loads {
        let mut s = Setup::new();
        s.write_u64(0x8000_1000, 0x8182_8384_8586_8788);
        s.regs.x[6] = 0x8000_1000;
        s.run(matched | 6 << 15 | 5 << 7, VirtualMode::Hypervisor);
        assert_eq!((s.regs.pc, s.regs.x[5]), (PC + 4, expected), "{matched:#x}");
    }
    let stores = [
        (0x6200_4073, 0xffff_ffff_ffff_ff11),
        (0x6600_4073, 0xffff_ffff_ffff_2211),
        (0x6a00_4073, 0xffff_ffff_4433_2211),
        (0x6e00_4073, 0x8877_6655_4433_2211),
    ];
    for (matched, expected) in stores {
        let mut s = Setup::new();
        s.write_u64(0x8000_1000, u64::MAX);
        s.regs.x[6] = 0x8000_1000;
        s.regs.x[7] = 0x8877_6655_4433_2211;
        s.run(matched | 7 << 20 | 6 << 15, VirtualMode::Hypervisor);
        assert_eq!(
            (s.regs.pc, s.read_u64(0x8000_1000)),
            (PC + 4, expected),
            "{matched:#x}"
        );
    }
}
