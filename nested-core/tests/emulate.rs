//! Emulation of L1's trapping instructions against the software host: results, traps raised
//! in L1, and the privilege table.

use nested_core::csr::bits::*;
use nested_core::csr::number::*;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::{SoftHost, shadow_config};
use nested_core::{
    Event, GuestRegs, Instruction, NestedConfig, NestedHart, Outcome, Permission, Trap,
    VirtualMode, cause,
};

type Hart = NestedHart<4>;

fn hart(config: NestedConfig) -> Hart {
    let shadow = shadow_config(1);
    NestedHart::new(config, shadow, 0)
}

/// csrrw/csrrs/csrrc rd, csr, rs1 (funct3 1/2/3) and the immediate forms (5/6/7).
fn csr_insn(funct3: u32, rd: u32, rs1: u32, csr: u16) -> u32 {
    u32::from(csr) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | 0x73
}

fn virtual_instruction(bits: u32, mode: VirtualMode) -> Trap {
    Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: u64::from(bits),
        mode,
    }
}

/// Emulates `bits` as trapped from L1's HS-mode.
fn from_hs(hart: &mut Hart, regs: &mut GuestRegs, host: &mut SoftHost, bits: u32) -> Outcome {
    hart.emulate(
        &virtual_instruction(bits, VirtualMode::Hypervisor),
        regs,
        host,
    )
}

const PC: u64 = 0x8020_0000;
const L1_STVEC: u64 = 0x8030_0000;

fn setup() -> (Hart, GuestRegs, Box<SoftHost>) {
    let mut host = Box::new(SoftHost::new());
    host.cpu.write_csr(real::VSTVEC, L1_STVEC);
    host.cpu.write_csr(real::VSSTATUS, SSTATUS_SIE);
    (
        hart(NestedConfig::rv64()),
        GuestRegs {
            pc: PC,
            ..GuestRegs::default()
        },
        host,
    )
}

const RESUME_HS: Outcome = Outcome::Resume {
    supervisor: true,
    effects: nested_core::Effects::empty(),
};

/// Checks that exception `code` with `tval` was raised in L1 from `from_hs`.
fn assert_raised(
    outcome: Outcome,
    regs: &GuestRegs,
    host: &SoftHost,
    code: u64,
    tval: u64,
    from_hs: bool,
) {
    assert_eq!(outcome, RESUME_HS, "L1's trap handler runs in its HS-mode");
    assert_eq!(regs.pc, L1_STVEC);
    assert_eq!(host.cpu.read_csr(real::VSEPC), PC);
    assert_eq!(host.cpu.read_csr(real::VSCAUSE), code);
    assert_eq!(host.cpu.read_csr(real::VSTVAL), tval);
    let status = host.cpu.read_csr(real::VSSTATUS);
    assert_eq!(status & SSTATUS_SIE, 0, "SIE cleared");
    assert_eq!(status & SSTATUS_SPIE, SSTATUS_SPIE, "SPIE = old SIE");
    assert_eq!(
        status & SSTATUS_SPP != 0,
        from_hs,
        "SPP = L1's mode at the trap"
    );
}

#[test]
fn csr_read_and_write_land_in_the_virtual_file_and_advance_the_pc() {
    let (mut hart, mut regs, mut host) = setup();
    regs.x[5] = 8 << 60 | 0x8_0000;
    let outcome = from_hs(&mut hart, &mut regs, &mut host, csr_insn(1, 6, 5, HGATP));
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: true,
            effects: nested_core::Effects::HGATP
        }
    );
    assert_eq!(regs.pc, PC + 4);
    assert_eq!(regs.x[6], 0, "rd gets the old value");
    assert_eq!(hart.csrs().read(HGATP, 0), Ok(8 << 60 | 0x8_0000));
    // csrrs x7, hgatp, x0 reads without writing.
    from_hs(&mut hart, &mut regs, &mut host, csr_insn(2, 7, 0, HGATP));
    assert_eq!(regs.x[7], 8 << 60 | 0x8_0000);
    assert_eq!(hart.counters().get(Event::CsrWrite), 1);
    assert_eq!(hart.counters().get(Event::CsrRead), 2);
}

#[test]
fn csrrs_and_csrrc_set_and_clear_bits_and_immediates_are_zero_extended() {
    let (mut hart, mut regs, mut host) = setup();
    let run = |hart: &mut Hart, regs: &mut GuestRegs, host: &mut SoftHost, bits| {
        hart.emulate(
            &virtual_instruction(bits, VirtualMode::Hypervisor),
            regs,
            host,
        )
    };
    regs.x[1] = VSSIP | VSTIP;
    run(&mut hart, &mut regs, &mut host, csr_insn(2, 0, 1, HVIP)); // csrrs x0, hvip, x1
    assert_eq!(hart.csrs().read(HVIP, 0), Ok(VSSIP | VSTIP));
    regs.x[1] = VSSIP;
    run(&mut hart, &mut regs, &mut host, csr_insn(3, 2, 1, HVIP)); // csrrc x2, hvip, x1
    assert_eq!(
        (regs.x[2], hart.csrs().read(HVIP, 0)),
        (VSSIP | VSTIP, Ok(VSTIP))
    );
    run(
        &mut hart,
        &mut regs,
        &mut host,
        csr_insn(6, 0, 0b11111, VSSCRATCH),
    ); // csrrsi vsscratch, 31
    assert_eq!(hart.csrs().read(VSSCRATCH, 0), Ok(31));
    run(
        &mut hart,
        &mut regs,
        &mut host,
        csr_insn(7, 3, 0b00001, VSSCRATCH),
    ); // csrrci x3, vsscratch, 1
    assert_eq!((regs.x[3], hart.csrs().read(VSSCRATCH, 0)), (31, Ok(30)));
}

#[test]
fn a_read_only_csr_is_readable_but_any_write_is_an_illegal_instruction() {
    let (mut hart, mut regs, mut host) = setup();
    let read = csr_insn(2, 4, 0, HGEIP); // csrrs x4, hgeip, x0
    assert_eq!(from_hs(&mut hart, &mut regs, &mut host, read), RESUME_HS);
    assert_eq!(regs.pc, PC + 4);
    regs.pc = PC;
    let write = csr_insn(1, 0, 0, HGEIP); // csrrw x0, hgeip, x0 writes even with x0
    let outcome = from_hs(&mut hart, &mut regs, &mut host, write);
    assert_raised(
        outcome,
        &regs,
        &host,
        cause::ILLEGAL_INSTRUCTION,
        u64::from(write),
        true,
    );
}

#[test]
fn an_absent_csr_is_an_illegal_instruction_for_l1() {
    let (mut hart, mut regs, mut host) = setup();
    let bits = csr_insn(2, 1, 0, HVICTL); // AIA is not offered
    let outcome = from_hs(&mut hart, &mut regs, &mut host, bits);
    assert_raised(
        outcome,
        &regs,
        &host,
        cause::ILLEGAL_INSTRUCTION,
        u64::from(bits),
        true,
    );
    assert_eq!(regs.x[1], 0, "rd untouched");
    assert_eq!(hart.counters().get(Event::ExceptionToL1), 1);
}

#[test]
fn raising_in_l1_clears_virtual_spv_and_gva_and_zeroes_htval_htinst() {
    let (mut hart, mut regs, mut host) = setup();
    for (csr, value) in [
        (HSTATUS, HSTATUS_SPV | HSTATUS_GVA | HSTATUS_VTSR),
        (HTVAL, 5),
        (HTINST, 7),
    ] {
        regs.x[1] = value;
        from_hs(&mut hart, &mut regs, &mut host, csr_insn(1, 0, 1, csr));
    }
    from_hs(&mut hart, &mut regs, &mut host, csr_insn(1, 0, 0, HGEIP));
    assert_eq!(hart.csrs().read(HSTATUS, 0), Ok(HSTATUS_VTSR | XL_64 << 32));
    assert_eq!(
        (hart.csrs().read(HTVAL, 0), hart.csrs().read(HTINST, 0)),
        (Ok(0), Ok(0))
    );
}

#[test]
fn h_instructions_from_l1_user_mode_are_illegal_with_spp_zero() {
    for bits in [
        csr_insn(2, 1, 0, HSTATUS),
        0x6200_0073, /* hfence.gvma */
        0x1020_0073, /* sret */
        0x6800_4073,
    ] {
        let (mut hart, mut regs, mut host) = setup();
        let outcome = hart.emulate(
            &virtual_instruction(bits, VirtualMode::User),
            &mut regs,
            &mut *host,
        );
        assert_raised(
            outcome,
            &regs,
            &host,
            cause::ILLEGAL_INSTRUCTION,
            u64::from(bits),
            false,
        );
    }
}

#[test]
fn the_instruction_is_fetched_at_the_pc_when_the_trap_gives_no_bits() {
    let (mut hart, mut regs, mut host) = setup();
    host.cpu
        .instructions
        .insert(PC, csr_insn(2, 9, 0, HSTATUS))
        .unwrap();
    let trap = Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: 0,
        mode: VirtualMode::Hypervisor,
    };
    assert_eq!(hart.emulate(&trap, &mut regs, &mut *host), RESUME_HS);
    assert_eq!(regs.x[9], XL_64 << 32, "hstatus read: VSXL");
}

#[test]
fn a_fault_of_the_instruction_fetch_is_raised_in_l1() {
    let (mut hart, mut regs, mut host) = setup();
    let trap = Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: 0,
        mode: VirtualMode::Hypervisor,
    };
    let outcome = hart.emulate(&trap, &mut regs, &mut *host);
    assert_raised(outcome, &regs, &host, 13, PC, true);
}

#[test]
fn an_undecodable_instruction_is_illegal() {
    let (mut hart, mut regs, mut host) = setup();
    let bits = 0x3020_0073; // MRET
    let outcome = from_hs(&mut hart, &mut regs, &mut host, bits);
    assert_raised(
        outcome,
        &regs,
        &host,
        cause::ILLEGAL_INSTRUCTION,
        bits.into(),
        true,
    );
}

#[test]
fn sret_with_spv_clear_returns_within_l1_as_hardware_does_at_v1() {
    let (mut hart, mut regs, mut host) = setup();
    host.cpu.write_csr(real::VSEPC, 0x1000);
    host.cpu.write_csr(real::VSSTATUS, SSTATUS_SPIE); // SPP = 0: to L1's U-mode
    let outcome = from_hs(&mut hart, &mut regs, &mut host, 0x1020_0073);
    assert_eq!(
        outcome,
        Outcome::Resume {
            supervisor: false,
            effects: nested_core::Effects::empty()
        }
    );
    assert_eq!(regs.pc, 0x1000);
    assert_eq!(
        host.cpu.read_csr(real::VSSTATUS),
        SSTATUS_SIE | SSTATUS_SPIE,
        "SIE = SPIE, SPIE = 1, SPP = 0"
    );
}

#[test]
fn wfi_waits_with_the_pc_past_it() {
    let (mut hart, mut regs, mut host) = setup();
    let outcome = from_hs(&mut hart, &mut regs, &mut host, 0x1050_0073);
    assert_eq!((outcome, regs.pc), (Outcome::WaitForInterrupt, PC + 4));
    assert_eq!(hart.counters().get(Event::Wfi), 1);
}

#[test]
fn sfence_vma_from_l1_flushes_l1s_own_vmid() {
    let (mut hart, mut regs, mut host) = setup();
    regs.x[10] = 0x4000;
    let bits = 0b000_1001 << 25 | 10 << 15 | 0x73; // sfence.vma x10, x0
    from_hs(&mut hart, &mut regs, &mut host, bits);
    assert_eq!(
        host.cpu.fences.as_slice(),
        &[nested_core::testing::Fence::Vvma(0, None, Some(0x4000))]
    );
}

#[test]
fn rv32_csr_writes_use_the_low_32_bits_of_the_source() {
    let mut hart = hart(NestedConfig::rv32());
    let (_, mut regs, mut host) = setup();
    regs.x[1] = 0xdead_beef_0000_0123;
    from_hs(
        &mut hart,
        &mut regs,
        &mut host,
        csr_insn(1, 0, 1, HTIMEDELTA),
    );
    from_hs(
        &mut hart,
        &mut regs,
        &mut host,
        csr_insn(2, 2, 0, HTIMEDELTAH),
    );
    assert_eq!(hart.csrs().read(HTIMEDELTA, 0), Ok(0x123));
    assert_eq!(
        regs.x[2], 0,
        "the high half was not written by the low-half CSR"
    );
}

/// The spec's table (priv spec, "Trap Cause Codes"), for each instruction kind and mode.
#[test]
fn privilege_follows_the_specs_table_of_virtual_and_illegal_instruction() {
    use Permission::{Illegal, Legal, VirtualInstruction as Vi};
    use nested_core::privilege::permission;
    let hlv = Instruction::decode(0x6800_4073, gstage::Xlen::Rv64).unwrap();
    let csr = Instruction::decode(csr_insn(2, 1, 0, HSTATUS), gstage::Xlen::Rv64).unwrap();
    let hfence = Instruction::decode(0x2200_0073, gstage::Xlen::Rv64).unwrap();
    let sfence = Instruction::decode(0x1200_0073, gstage::Xlen::Rv64).unwrap();
    let (sret, wfi) = (Instruction::Sret, Instruction::Wfi);
    let rows: [(Instruction, u64, [Permission; 4]); 11] = [
        // (instruction, hstatus, [HS, U, VS, VU])
        (hlv, 0, [Legal, Illegal, Vi, Vi]),
        (hlv, HSTATUS_HU, [Legal, Legal, Vi, Vi]),
        (csr, 0, [Legal, Illegal, Vi, Vi]),
        (hfence, HSTATUS_HU, [Legal, Illegal, Vi, Vi]),
        (sret, 0, [Legal, Illegal, Legal, Vi]),
        (sret, HSTATUS_VTSR, [Legal, Illegal, Vi, Vi]),
        (wfi, 0, [Legal, Illegal, Legal, Vi]),
        (wfi, HSTATUS_VTW, [Legal, Illegal, Vi, Vi]),
        (sfence, 0, [Legal, Illegal, Legal, Vi]),
        (sfence, HSTATUS_VTVM, [Legal, Illegal, Vi, Vi]),
        (
            sfence,
            HSTATUS_VTSR | HSTATUS_VTW,
            [Legal, Illegal, Legal, Vi],
        ),
    ];
    let modes = [
        VirtualMode::Hypervisor,
        VirtualMode::User,
        VirtualMode::GuestSupervisor,
        VirtualMode::GuestUser,
    ];
    for (insn, hstatus, expected) in rows {
        for (mode, want) in modes.into_iter().zip(expected) {
            assert_eq!(
                permission(&insn, mode, hstatus),
                want,
                "{insn:?} from {mode:?} with hstatus {hstatus:#x}"
            );
        }
    }
}
