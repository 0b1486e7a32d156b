//! What L1 sees of its console's 16550 UART and of its interrupt, wherever it runs (directly
//! on QEMU or under `mini-hv`, which emulates them): registers read back as written (scratch,
//! divisor latch, loopback's modem status), THR empty and the transmitter idle, the THRE
//! interrupt as IIR reports it; through a PLIC, its priority, threshold, claim and complete as
//! seen in sip.SEIP; through an APLIC in MSI delivery mode, the MSI its source sends to L1's
//! IMSIC (identity [`IDENTITY`] of hart 0's supervisor-level file), seen in sip.SEIP and
//! stopei, and the pending bit of a level-sensitive source. L1 polls: its interrupts stay off.
//! The registers are put back as found, so the firmware's console works on.

use bare::println;
use fdt::Fdt;

use crate::hw::DeviceRegisters;
use crate::imsic::{hart_of, interrupts};

const SIP: u16 = 0x144;
const SISELECT: u16 = 0x150;
const SIREG: u16 = 0x151;
const STOPEI: u16 = 0x15c;
/// The IMSIC's interrupt delivery enable and the enables of identities 0..63 (siselect).
const EIDELIVERY: u64 = 0x70;
const EIE0: u64 = 0xc0;
/// The identity the APLIC's MSI for the UART makes pending.
const IDENTITY: u32 = 10;
const SEIP: u64 = 1 << 9;
/// The supervisor external interrupt in a PLIC's interrupts-extended.
const SUPERVISOR_EXTERNAL: u32 = 9;

// 16550 registers and bits.
const THR: u64 = 0;
const IER: u64 = 1;
const IIR_FCR: u64 = 2;
const LCR: u64 = 3;
const MCR: u64 = 4;
const LSR: u64 = 5;
const MSR: u64 = 6;
const SCR: u64 = 7;
const IER_THRI: u8 = 0x02;
const LCR_DLAB: u8 = 0x80;
const MCR_LOOP: u8 = 0x10;
const LSR_THRE: u8 = 0x20;

/// The PLIC's registers (RISC-V PLIC spec, "Memory Map").
const fn priority(source: u32) -> u64 {
    4 * source as u64
}
const fn enable(context: u32) -> u64 {
    0x2000 + 0x80 * context as u64
}
const fn threshold(context: u32) -> u64 {
    0x20_0000 + 0x1000 * context as u64
}
const fn claim(context: u32) -> u64 {
    threshold(context) + 4
}

/// The console UART and its interrupt: through a PLIC, through an APLIC in MSI mode, or none
/// L1 checks.
pub struct Uart {
    registers: DeviceRegisters,
    interrupt: Option<Interrupt>,
}

/// What the UART's interrupt goes through.
enum Interrupt {
    Plic(Plic),
    Aplic(Aplic),
}

/// An APLIC domain that delivers by MSI (its node has msi-parent), and the UART's source.
struct Aplic {
    registers: DeviceRegisters,
    source: u32,
}

// APLIC registers (AIA spec, "Advanced Platform-Level Interrupt Controller", memory map).
const DOMAINCFG: u64 = 0x0000;
const SETIP: u64 = 0x1c00;
const IN_CLRIP: u64 = 0x1d00;
const SETIENUM: u64 = 0x1edc;
const CLRIENUM: u64 = 0x1fdc;
const SETIPNUM_LE: u64 = 0x2000;
const DOMAINCFG_IE: u32 = 1 << 8;
const DOMAINCFG_DM: u32 = 1 << 2;
const SM_LEVEL_HIGH: u32 = 6;
const fn sourcecfg(source: u32) -> u64 {
    4 * source as u64
}
const fn target(source: u32) -> u64 {
    0x3000 + 4 * source as u64
}

/// A PLIC, the UART's source in it and hart 0's supervisor context.
struct Plic {
    registers: DeviceRegisters,
    source: u32,
    context: u32,
}

impl Uart {
    /// The `ns16550a` UART of `fdt`, and its interrupt parent when that is a PLIC (compatible
    /// `riscv,plic0` or `sifive,plic-1.0.0`) with a supervisor context for hart 0, or an
    /// APLIC (`riscv,aplic`) that delivers by MSI.
    pub fn find(fdt: &Fdt) -> Option<Uart> {
        let node = fdt.find_compatible(&["ns16550a"])?;
        let registers = DeviceRegisters::new(region(node)?);
        let parent = node.property("interrupt-parent").and_then(|p| p.as_usize());
        // The first cell of `interrupts` (an APLIC's second is the trigger).
        let source = node
            .property("interrupts")
            .and_then(|p| p.value.get(..4))
            .map(|cell| u32::from_be_bytes([cell[0], cell[1], cell[2], cell[3]]))
            .filter(|s| (1..32).contains(s));
        let controller = fdt
            .all_nodes()
            .find(|n| n.property("phandle").and_then(|p| p.as_usize()) == parent);
        let compatible = |name: &str| {
            controller.is_some_and(|n| n.compatible().is_some_and(|c| c.all().any(|c| c == name)))
        };
        let interrupt = if compatible("riscv,aplic") {
            controller
                .filter(|n| n.property("msi-parent").is_some())
                .and_then(|aplic| {
                    Some(Interrupt::Aplic(Aplic {
                        registers: DeviceRegisters::new(region(aplic)?),
                        source: source?,
                    }))
                })
        } else if compatible("riscv,plic0") || compatible("sifive,plic-1.0.0") {
            controller.and_then(|plic| {
                let context = interrupts(plic).position(|(phandle, irq)| {
                    irq == SUPERVISOR_EXTERNAL && hart_of(fdt, phandle) == Some(0)
                })?;
                Some(Interrupt::Plic(Plic {
                    registers: DeviceRegisters::new(region(plic)?),
                    source: source?,
                    context: u32::try_from(context).ok()?,
                }))
            })
        } else {
            None
        };
        Some(Uart {
            registers,
            interrupt,
        })
    }

    /// Runs the checks, printing what L1 observed.
    pub fn check(&self) {
        let r = &self.registers;
        let saved = [LCR, MCR, IER].map(|offset| r.read_u8(offset));
        // FIFOs on and cleared, as a driver starts.
        r.write_u8(IIR_FCR, 0x07);
        r.write_u8(SCR, 0xa5);
        println!("L1: uart: scratch reads {:#04x}", r.read_u8(SCR));
        r.write_u8(LCR, LCR_DLAB | 0x03);
        let divisor = [r.read_u8(THR), r.read_u8(IER)];
        r.write_u8(THR, 0x0c);
        r.write_u8(IER, 0x00);
        let set = [r.read_u8(THR), r.read_u8(IER)];
        r.write_u8(THR, divisor[0]);
        r.write_u8(IER, divisor[1]);
        r.write_u8(LCR, 0x03);
        println!(
            "L1: uart: divisor latch reads {:#04x} {:#04x}, LCR {:#04x}",
            set[0],
            set[1],
            r.read_u8(LCR)
        );
        r.write_u8(IER, 0);
        println!(
            "L1: uart: LSR {:#04x}, IIR {:#04x} with no interrupt enabled",
            r.read_u8(LSR),
            r.read_u8(IIR_FCR)
        );
        // Nothing is printed in loopback: the firmware's output would loop back too.
        r.write_u8(MCR, MCR_LOOP | 0x0a);
        let msr = r.read_u8(MSR);
        r.write_u8(MCR, saved[1]);
        println!(
            "L1: uart: MSR in loopback with OUT2 and RTS: {:#04x}",
            msr & 0xf0
        );
        match &self.interrupt {
            Some(Interrupt::Plic(plic)) => self.check_plic(plic),
            Some(Interrupt::Aplic(aplic)) => self.check_aplic(aplic),
            None => println!("[L1] uart: no interrupt controller it checks"),
        }
        r.write_u8(LCR, saved[0]);
        r.write_u8(IER, saved[2]);
    }

    /// The THRE interrupt through the PLIC, seen in sip.SEIP. Nothing is printed while
    /// ETBEI is set: the firmware's console output (directly on QEMU) would raise THRE.
    fn check_plic(&self, plic: &Plic) {
        let (r, p) = (&self.registers, &plic.registers);
        let (source, context) = (plic.source, plic.context);
        let seip = || u8::from(bare::csr::read(SIP).unwrap_or(0) & SEIP != 0);
        let mut seen = [0u8; 6];
        p.write_u32(priority(source), 1);
        p.write_u32(threshold(context), 1);
        p.write_u32(enable(context), 1 << source);
        r.write_u8(IER, IER_THRI);
        seen[0] = seip();
        p.write_u32(threshold(context), 0);
        seen[1] = seip();
        let claimed = p.read_u32(claim(context)) == source;
        seen[2] = seip();
        let iir = [r.read_u8(IIR_FCR), r.read_u8(IIR_FCR)];
        p.write_u32(claim(context), source);
        seen[3] = seip();
        for &byte in b"L1: uart: this line went out through THR\n" {
            while r.read_u8(LSR) & LSR_THRE == 0 {}
            r.write_u8(THR, byte);
        }
        seen[4] = seip();
        let claimed_again = p.read_u32(claim(context)) == source;
        let iir_again = r.read_u8(IIR_FCR);
        p.write_u32(claim(context), source);
        seen[5] = seip();
        r.write_u8(IER, 0);
        p.write_u32(enable(context), 0);
        p.write_u32(priority(source), 0);
        println!(
            "L1: uart: THRE enabled; priority 1, threshold 1: sip.SEIP {}",
            seen[0]
        );
        println!("L1: uart: threshold 0: sip.SEIP {}", seen[1]);
        println!(
            "L1: uart: claim gives the UART's source: {claimed}; sip.SEIP {}",
            seen[2]
        );
        println!("L1: uart: IIR {:#04x}, then {:#04x}", iir[0], iir[1]);
        println!("L1: uart: completed; sip.SEIP {}", seen[3]);
        println!("L1: uart: THR written: sip.SEIP {}", seen[4]);
        println!(
            "L1: uart: claimed again: {claimed_again}, IIR {iir_again:#04x}; completed: sip.SEIP {}",
            seen[5]
        );
    }
}

impl Uart {
    /// The THRE interrupt through an APLIC in MSI delivery mode to L1's IMSIC, seen in
    /// sip.SEIP and stopei. Nothing is printed while ETBEI is set (as for the PLIC).
    fn check_aplic(&self, aplic: &Aplic) {
        let (r, a) = (&self.registers, &aplic.registers);
        let source = aplic.source;
        let bit = 1 << source;
        let seip = || u8::from(bare::csr::read(SIP).unwrap_or(0) & SEIP != 0);
        let indirect = |select: u64, value: Option<u64>| {
            bare::csr::write(SISELECT, select);
            match value {
                Some(value) => {
                    bare::csr::write(SIREG, value);
                    0
                }
                None => bare::csr::read(SIREG).unwrap_or(0),
            }
        };
        let saved = [indirect(EIDELIVERY, None), indirect(EIE0, None)];
        indirect(EIE0, Some(saved[1] | 1 << IDENTITY));
        indirect(EIDELIVERY, Some(1));
        a.write_u32(DOMAINCFG, DOMAINCFG_IE | DOMAINCFG_DM);
        let domaincfg = a.read_u32(DOMAINCFG);
        a.write_u32(sourcecfg(source), SM_LEVEL_HIGH);
        // Hart index 0, guest index 0 (the supervisor-level file).
        a.write_u32(target(source), IDENTITY);
        let config = [a.read_u32(sourcecfg(source)), a.read_u32(target(source))];
        a.write_u32(SETIENUM, source);
        let mut seen = [0u8; 4];
        r.write_u8(IER, IER_THRI);
        seen[0] = seip();
        let topei = bare::csr::read(STOPEI).unwrap_or(0);
        bare::csr::write(STOPEI, 0);
        seen[1] = seip();
        let pending = a.read_u32(SETIP) & bit != 0;
        let iir = r.read_u8(IIR_FCR);
        let input = a.read_u32(IN_CLRIP) & bit != 0;
        // Retriggering a level-sensitive source whose input is low sends nothing.
        a.write_u32(SETIPNUM_LE, source);
        seen[2] = seip();
        for &byte in b"L1: uart: this line went out through THR\n" {
            while r.read_u8(LSR) & LSR_THRE == 0 {}
            r.write_u8(THR, byte);
        }
        seen[3] = seip();
        let topei_again = bare::csr::read(STOPEI).unwrap_or(0);
        bare::csr::write(STOPEI, 0);
        r.write_u8(IER, 0);
        a.write_u32(CLRIENUM, source);
        a.write_u32(sourcecfg(source), 0);
        indirect(EIDELIVERY, Some(saved[0]));
        indirect(EIE0, Some(saved[1]));
        println!(
            "L1: uart: APLIC domaincfg {domaincfg:#x}, sourcecfg {:#x}, target {:#x}",
            config[0], config[1]
        );
        println!("L1: uart: THRE enabled: sip.SEIP {}", seen[0]);
        println!(
            "L1: uart: stopei {:#x}; claimed: sip.SEIP {}; source pending: {pending}",
            topei, seen[1]
        );
        println!(
            "L1: uart: IIR {iir:#04x}, input high: {input}; retriggered: sip.SEIP {}",
            seen[2]
        );
        println!(
            "L1: uart: THR written: sip.SEIP {}, stopei {topei_again:#x}",
            seen[3]
        );
    }
}

/// A node's first `reg` entry as a range.
fn region(node: fdt::node::FdtNode) -> Option<core::ops::Range<u64>> {
    let reg = node.reg()?.next()?;
    let start = reg.starting_address as u64;
    Some(start..start + reg.size? as u64)
}
