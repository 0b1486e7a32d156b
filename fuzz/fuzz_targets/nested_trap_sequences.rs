//! Any sequence of L1 CSR writes, SRETs into L2, L2 traps (guest-page faults, ecalls, any
//! cause) and interrupts for L1, against the software host: no panic, and after every step
//! the engine's world matches what the step must have done, every virtual CSR reads back a
//! legal value, and every shadow leaf filled maps only memory the host granted L1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{
    MEMORY_BYTES, SoftHost, Tables, check_legal_values, same, shadow_config,
};
use nested_core::{
    GuestRegs, GuestTrap, NestedConfig, NestedHart, Outcome, Trap, VirtualMode, cause,
};

#[derive(Debug, arbitrary::Arbitrary)]
enum Step {
    /// csrrw x0, csr, value from L1 (H and VS CSRs: 0x2xx, 0x6xx).
    CsrWrite { high: bool, low: u8, value: u64 },
    /// L1 sets SPV and executes SRET.
    Enter,
    /// A trap from L2.
    GuestTrap {
        code: u8,
        interrupt: bool,
        tval: u64,
        htval: u64,
        supervisor: bool,
    },
    /// The host makes L1 take an interrupt while L2 runs.
    InterruptL1 { code: u8 },
}

fn l1_trap(bits: u32) -> Trap {
    Trap {
        cause: cause::VIRTUAL_INSTRUCTION,
        tval: u64::from(bits),
        mode: VirtualMode::Hypervisor,
    }
}

fn csrrw(csr: u16) -> u32 {
    u32::from(csr) << 20 | 31 << 15 | 1 << 12 | 0x73
}

fuzz_target!(|steps: Vec<Step>| {
    let shadow = shadow_config(1);
    let mut hart: NestedHart<2> = NestedHart::new(NestedConfig::rv64(), shadow, 0);
    let mut host = Box::new(SoftHost::new());
    host.cpu.write_csr(real::VSTVEC, 0x8040_0000);
    // L1's G-stage at 0x8000_4000 maps L2 GPA 0..0x8000 onto L1 memory 0x8000_8000.. .
    let mut tables = Tables {
        next: 0x8001_0000 - 0x6000,
    };
    for page in (0..0x8000).step_by(4096) {
        tables.map(
            &mut host.memory,
            0x8000_4000,
            11,
            page,
            0x8000_8000 + page,
            R | W | U | A | D,
            same,
            same,
        );
    }
    let mut regs = GuestRegs::default();
    regs.x[31] = 8 << 60 | 1 << 44 | 0x8_0004;
    hart.emulate(&l1_trap(csrrw(0x680)), &mut regs, &mut *host);
    let mut filled = Vec::new();
    for step in steps.into_iter().take(64) {
        let was_in_guest = hart.in_guest();
        match step {
            Step::CsrWrite { high, low, value } if !was_in_guest => {
                let csr = if high { 0x600 } else { 0x200 } | u16::from(low);
                regs.x[31] = value;
                hart.emulate(&l1_trap(csrrw(csr)), &mut regs, &mut *host);
                assert!(!hart.in_guest(), "a CSR write does not switch worlds");
            }
            Step::Enter if !was_in_guest => {
                regs.x[31] = 1 << 7; // hstatus.SPV
                hart.emulate(&l1_trap(csrrw(0x600)), &mut regs, &mut *host);
                let outcome = hart.emulate(&l1_trap(0x1020_0073), &mut regs, &mut *host);
                let unavailable = matches!(outcome, Outcome::ShadowUnavailable(_));
                assert_eq!(
                    hart.in_guest(),
                    !unavailable,
                    "SRET with SPV enters the guest: {outcome:?}"
                );
            }
            Step::GuestTrap {
                code,
                interrupt,
                tval,
                htval,
                supervisor,
            } if was_in_guest => {
                let trap = GuestTrap {
                    code: u64::from(code % 64),
                    interrupt,
                    tval,
                    htval,
                    htinst: 0,
                    gva: false,
                    supervisor,
                };
                let outcome = hart.handle_guest_trap(&trap, &mut regs, &mut *host);
                let stays = matches!(outcome, Outcome::Resume { effects, .. } if !effects.contains(nested_core::Effects::WORLD))
                    || !matches!(outcome, Outcome::Resume { .. });
                assert_eq!(hart.in_guest(), stays, "{trap:?} -> {outcome:?}");
                if hart.in_guest() && !interrupt && [20, 21, 23].contains(&trap.code) {
                    filled.push((htval << 2) | (tval & 3));
                }
            }
            Step::InterruptL1 { code } if was_in_guest => {
                hart.interrupt_l1(u64::from(code % 16), true, &mut regs, &mut *host);
                assert!(!hart.in_guest(), "an interrupt for L1 returns to L1");
                assert_eq!(
                    host.cpu.read_csr(real::VSCAUSE) >> 63,
                    1,
                    "delivered as an interrupt"
                );
            }
            _ => {}
        }
        assert_eq!(check_legal_values(hart.csrs()), Ok(()));
        // Isolation: a leaf the shadow holds maps host memory inside what the host gave L1.
        let key = hart.current_context();
        for &gpa in &filled {
            if let Some(leaf) = hart.shadow().lookup(key, gpa, &host.pool) {
                let pa = leaf.pte.pa(nested_core::gstage::PteWidth::Bits64);
                assert!(
                    (0x8000_0000..0x8000_0000 + MEMORY_BYTES as u64).contains(&pa),
                    "leaf for {gpa:#x} maps {pa:#x}"
                );
            }
        }
    }
});
