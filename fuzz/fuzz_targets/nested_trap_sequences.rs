//! Any sequence of L1 CSR writes (H, VS and AIA CSRs), SRETs into L2, L2 traps (guest-page
//! faults, ecalls, trapped accesses to its interrupt file, any cause), interrupts for L1,
//! MSIs to L1's virtual guest files and real files lent or taken back, against the software
//! host, with or without the AIA (any offer, clamped): no panic, and after every step the
//! engine's world matches what the step must have done, every virtual CSR (AIA ones too)
//! reads back a legal value, the real CSRs the host set for L1 are its own whenever L1 runs,
//! the real VGEIN while L2 runs is the real file backing L1's selected one (or 0), L1's sstatus
//! MXR, FS and VS are the real ones while L2 runs and the host's whenever L1 runs (FS or VS
//! Dirty once L2 dirtied them, and then L1's Dirty too), every interrupt said pending for L1
//! is one of its codes, and every shadow leaf filled maps only memory the host granted L1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nested_core::aia_virt::{AiaConfig, FileBacking, MmioOp, PhysGuestFile};
use nested_core::csr::bits::HSTATUS_VGEIN;
use nested_core::host::{PhysicalHart, real};
use nested_core::testing::pte::{A, D, R, U, W};
use nested_core::testing::{
    MEMORY_BYTES, SoftHost, Tables, check_legal_aia, check_legal_values, same, shadow_config,
};
use nested_core::{
    GuestRegs, GuestTrap, NestedConfig, NestedHart, Outcome, Trap, VirtualMode, cause,
};

/// The host's own settings for L1 in the AIA CSRs and hstatus.VGEIN.
const HOST_HVICTL: u64 = 1 << 30 | 12 << 16;
const HOST_HVIEN: u64 = 1 << 20;
const HOST_VGEIN: u64 = 7 << 12;
const HOST_SISELECT: u64 = 0x72;

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    /// The AIA offer (identities, IID bits, writable hvien bits, hviprio bits), if any.
    aia: Option<(u16, u8, u64, u8)>,
    steps: Vec<Step>,
}

#[derive(Debug, arbitrary::Arbitrary)]
enum Step {
    /// csrrw x0, csr, value from L1 (H and VS CSRs: 0x2xx, 0x6xx).
    CsrWrite { high: bool, low: u8, value: u64 },
    /// L1's csrrs x5 of an AIA CSR by number (0xE12 hgeip, 0xEB0 vstopi among them).
    CsrRead { csr: u16 },
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
    /// L2's CSR instruction on one of its AIA CSRs (siselect, sireg, stopei, stopi) traps
    /// with a virtual-instruction exception.
    L2AiaCsr {
        which: u8,
        funct3: u8,
        rs1: u8,
        value: u64,
        supervisor: bool,
    },
    /// The host makes L1 take an interrupt while L2 runs.
    InterruptL1 { code: u8 },
    /// The host asks which interrupt L1 must take.
    PendingL1 { now: u64 },
    /// An access to virtual guest file `g`'s page.
    FileAccess {
        g: u8,
        offset: u16,
        width: u8,
        op: u8,
        value: u64,
    },
    /// The host lends real file `p` to virtual file `g` (both steps, or only the first).
    Lend { g: u8, p: u8, attach: bool },
    /// The host takes virtual file `g` back into software.
    TakeBack { g: u8 },
    /// L1 writes its own sstatus (the real vsstatus): SIE, SPIE, SPP, VS, FS, SUM, MXR.
    L1Sstatus { value: u64 },
    /// L2 writes an FP (or vector) register: the hart makes the real sstatus field Dirty.
    L2Dirties { vector: bool },
}

/// The sstatus fields of L1 that act on L2: MXR, FS, VS.
const PROJECTED: u64 = 1 << 19 | 3 << 13 | 3 << 9;

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

fuzz_target!(|input: Input| {
    let shadow = shadow_config(1);
    let aia = input.aia.map(
        |(identities, iid_bits, hvien_writable, hviprio_bits)| AiaConfig {
            identities,
            iid_bits,
            hvien_writable,
            hviprio_bits,
        },
    );
    let config = NestedConfig {
        aia,
        ..NestedConfig::rv64()
    };
    let mut hart: NestedHart<2, 4> = NestedHart::new(config, shadow, 0);
    assert_eq!(
        hart.aia().is_some(),
        aia.is_some(),
        "RV64: every offer is clamped, not dropped"
    );
    let mut host = Box::new(SoftHost::new());
    for (csr, value) in [
        (real::VSTVEC, 0x8040_0000),
        (real::HVICTL, HOST_HVICTL),
        (real::HVIEN, HOST_HVIEN),
        (real::HSTATUS, HOST_VGEIN),
        (real::VSISELECT, HOST_SISELECT),
    ] {
        host.cpu.write_csr(csr, value);
    }
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
    // FS/VS fields L2 dirtied (or may have): in this run of L2, and ever (the host's stay
    // Dirty).
    let (mut dirtied_now, mut dirtied_ever) = (0u64, 0u64);
    for step in input.steps.into_iter().take(64) {
        let was_in_guest = hart.in_guest();
        let l1_sstatus = host.cpu.read_csr(real::VSSTATUS);
        match step {
            Step::CsrWrite { high, low, value } if !was_in_guest => {
                let csr = if high { 0x600 } else { 0x200 } | u16::from(low);
                regs.x[31] = value;
                hart.emulate(&l1_trap(csrrw(csr)), &mut regs, &mut *host);
                assert!(!hart.in_guest(), "a CSR write does not switch worlds");
            }
            Step::CsrRead { csr } if !was_in_guest => {
                let bits = u32::from(csr & 0xfff) << 20 | 2 << 12 | 5 << 7 | 0x73;
                hart.emulate(&l1_trap(bits), &mut regs, &mut *host);
                assert!(!hart.in_guest(), "a CSR read does not switch worlds");
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
            Step::L2AiaCsr {
                which,
                funct3,
                rs1,
                value,
                supervisor,
            } if was_in_guest => {
                let csr = [0x150u32, 0x151, 0x15c, 0xdb0, 0x250, 0x251][usize::from(which % 6)];
                let funct3 = [1u32, 2, 3, 5, 6, 7][usize::from(funct3 % 6)];
                let bits = csr << 20 | u32::from(rs1 % 32) << 15 | funct3 << 12 | 6 << 7 | 0x73;
                regs.x[usize::from(rs1 % 32)] = value;
                let trap = GuestTrap {
                    code: cause::VIRTUAL_INSTRUCTION,
                    interrupt: false,
                    tval: u64::from(bits),
                    htval: 0,
                    htinst: 0,
                    gva: false,
                    supervisor,
                };
                let pc = regs.pc;
                let outcome = hart.handle_guest_trap(&trap, &mut regs, &mut *host);
                if hart.in_guest() {
                    assert!(
                        regs.pc == pc.wrapping_add(4)
                            || regs.pc == host.cpu.read_csr(real::VSTVEC) & !3,
                        "performed, or an illegal instruction L2 takes: {outcome:?}"
                    );
                    assert!(hart.aia().is_some(), "only the AIA performs L2's accesses");
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
            Step::PendingL1 { now } => {
                let pending = hart.pending_l1_interrupt(now, &mut *host);
                assert!(
                    pending.is_none_or(|code| [9, 1, 5, 12, 10, 2, 6].contains(&code)),
                    "{pending:?}"
                );
                assert!(pending.is_none() || was_in_guest, "only while L2 runs");
            }
            Step::FileAccess {
                g,
                offset,
                width,
                op,
                value,
            } => {
                let op = match op % 3 {
                    0 => MmioOp::Load,
                    1 => MmioOp::Store(value),
                    _ => MmioOp::Amo,
                };
                let access = hart.guest_file_mmio(
                    usize::from(g % 8),
                    u64::from(offset),
                    width,
                    op,
                    &mut *host,
                );
                let plain = width == 4 && offset % 4 == 0 && offset < 4096 && op != MmioOp::Amo;
                assert_eq!(access.is_ok(), plain && hart.aia().is_some(), "{op:?}");
                assert_eq!(
                    hart.in_guest(),
                    was_in_guest,
                    "a file access switches no world"
                );
            }
            Step::Lend { g, p, attach } => {
                if let Some(p) = PhysGuestFile::new(p % 8) {
                    let g = usize::from(g % 6);
                    if hart.prepare_guest_file(g, p, &mut *host).is_ok() && attach {
                        let attached = hart.attach_guest_file(g, p, &mut *host);
                        assert_eq!(attached, Ok(()), "prepared, then attached");
                    }
                }
            }
            Step::TakeBack { g } => {
                hart.detach_guest_file(usize::from(g % 6), &mut *host);
            }
            Step::L1Sstatus { value } if !was_in_guest => {
                host.cpu.write_csr(
                    real::VSSTATUS,
                    value & (0x2 | 0x20 | 0x100 | 1 << 18 | PROJECTED),
                );
            }
            Step::L2Dirties { vector } if was_in_guest => {
                let field = if vector { 3 << 9 } else { 3 << 13 };
                let sstatus = host.cpu.read_csr(real::SSTATUS);
                host.cpu.write_csr(real::SSTATUS, sstatus | field);
                dirtied_now |= field;
                dirtied_ever |= field;
            }
            _ => {}
        }
        assert_eq!(check_legal_values(hart.csrs()), Ok(()));
        if let Some(aia) = hart.aia() {
            assert_eq!(check_legal_aia(aia), Ok(()));
        }
        let real_sstatus = host.cpu.read_csr(real::SSTATUS) & PROJECTED;
        if hart.in_guest() && !was_in_guest {
            assert_eq!(
                real_sstatus,
                l1_sstatus & PROJECTED,
                "L1's MXR, FS, VS act on L2"
            );
            // A field L1 enters with Dirty may be dirtied by L2 unseen: the engine counts it so.
            for field in [3 << 9, 3 << 13] {
                if l1_sstatus & field == field {
                    dirtied_now |= field;
                    dirtied_ever |= field;
                }
            }
        }
        if !hart.in_guest() {
            assert_eq!(
                real_sstatus, dirtied_ever,
                "the host's MXR, FS, VS (all 0), Dirty once L2 dirtied them"
            );
        }
        if was_in_guest && !hart.in_guest() {
            let l1 = host.cpu.read_csr(real::VSSTATUS);
            assert_eq!(l1 & dirtied_now, dirtied_now, "L1's field is Dirty");
            assert!(dirtied_now == 0 || l1 >> 63 == 1, "with SD");
            dirtied_now = 0;
        }
        let real_vgein = host.cpu.read_csr(real::HSTATUS) & HSTATUS_VGEIN;
        if !hart.in_guest() {
            // Whenever L1 runs, the real CSRs hold the host's settings for it.
            assert_eq!(real_vgein, HOST_VGEIN, "the host's VGEIN for L1");
            assert_eq!(host.cpu.read_csr(real::HVICTL), HOST_HVICTL);
            assert_eq!(host.cpu.read_csr(real::HVIEN), HOST_HVIEN);
            assert_eq!(host.cpu.read_csr(real::VSISELECT), HOST_SISELECT);
        } else {
            let aia = hart.aia();
            let backing = aia.and_then(|aia| aia.backing(aia.selected_file()?));
            let expected = match backing {
                Some(FileBacking::Hardware(p)) => u64::from(p.get()) << 12,
                _ => 0,
            };
            assert_eq!(
                real_vgein, expected,
                "L2 sees the file L1 selected, and only that"
            );
        }
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
