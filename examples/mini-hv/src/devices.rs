//! The devices L0 emulates for L1: a 16550 UART whose bytes go out on the real console at
//! once, and, on a machine without the AIA, a PLIC whose only wired source is the UART's
//! interrupt. L1 reaches both through guest-page faults (their pages are not in its G-stage);
//! every register value comes from L1 and is taken as any 16550 or PLIC would take it.

use core::sync::atomic::{AtomicU64, Ordering};
use nested_core::insn::Width;
use spin::Mutex;

/// The PLIC source of the UART, as on QEMU's `virt`.
pub const UART_SOURCE: u32 = 10;
/// The PLIC's sources: 1..=SOURCES (`riscv,ndev`); only [`UART_SOURCE`] is wired.
pub const SOURCES: u32 = 10;
/// Where L1's PLIC is and how much space it takes (as on QEMU's `virt`).
pub const PLIC_BASE: u64 = 0x0c00_0000;
pub const PLIC_SIZE: u64 = 0x40_0000;
/// Interrupt priorities 1..=7 (0: never interrupts); thresholds 0..=7.
const PRIORITY_MASK: u32 = 7;

// The 16550's registers (offsets with DLAB = 0 unless said) and bits.
const RBR_THR: u64 = 0;
const IER: u64 = 1;
const IIR_FCR: u64 = 2;
const LCR: u64 = 3;
const MCR: u64 = 4;
const LSR: u64 = 5;
const MSR: u64 = 6;
const SCR: u64 = 7;
const IER_RDI: u8 = 0x01;
const IER_THRI: u8 = 0x02;
const IIR_NO_INT: u8 = 0x01;
const IIR_THRI: u8 = 0x02;
const IIR_RDI: u8 = 0x04;
const IIR_FIFO_ENABLED: u8 = 0xc0;
const FCR_ENABLE: u8 = 0x01;
const FCR_CLEAR_RECEIVER: u8 = 0x02;
const LCR_DLAB: u8 = 0x80;
const MCR_LOOP: u8 = 0x10;
const LSR_DR: u8 = 0x01;
/// THRE and TEMT: the transmitter is always empty, its byte already out.
const LSR_IDLE: u8 = 0x60;
/// DCD, DSR and CTS: a terminal is attached.
const MSR_ATTACHED: u8 = 0xb0;

/// A 16550 with its FIFOs. The transmitter sends each byte as it is written, so THR is
/// empty again at once; nothing is received but what loopback sends.
#[derive(Debug)]
pub struct Uart {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    fifos: bool,
    divisor: [u8; 2],
    /// The THRE interrupt is pending (until IIR reports it or IER.ETBEI is cleared).
    thr_pending: bool,
    /// A byte received through loopback, when LSR.DR.
    received: Option<u8>,
}

impl Uart {
    /// A 16550 after reset.
    pub const fn new() -> Self {
        Uart {
            ier: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            fifos: false,
            divisor: [0; 2],
            thr_pending: false,
            received: None,
        }
    }

    /// The interrupt identification: the highest-priority cause enabled and present.
    fn iir(&self) -> u8 {
        let cause = if self.ier & IER_RDI != 0 && self.received.is_some() {
            IIR_RDI
        } else if self.ier & IER_THRI != 0 && self.thr_pending {
            IIR_THRI
        } else {
            IIR_NO_INT
        };
        cause | if self.fifos { IIR_FIFO_ENABLED } else { 0 }
    }

    /// The interrupt line.
    pub fn interrupt(&self) -> bool {
        self.iir() & IIR_NO_INT == 0
    }

    /// Reads the register at `offset` (only the low 3 bits select one).
    pub fn read(&mut self, offset: u64) -> u8 {
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset & 7 {
            RBR_THR if dlab => self.divisor[0],
            RBR_THR => self.received.take().unwrap_or(0),
            IER if dlab => self.divisor[1],
            IER => self.ier,
            IIR_FCR => {
                let iir = self.iir();
                // Reading IIR while it reports THRE clears that interrupt.
                if iir & 0x0f == IIR_THRI {
                    self.thr_pending = false;
                }
                iir
            }
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => LSR_IDLE | if self.received.is_some() { LSR_DR } else { 0 },
            MSR if self.mcr & MCR_LOOP != 0 => {
                // Loopback: RTS drives CTS, DTR DSR, OUT1 RI and OUT2 DCD.
                let mcr = self.mcr;
                (mcr & 0x02) << 3 | (mcr & 0x01) << 5 | (mcr & 0x0c) << 4
            }
            MSR => MSR_ATTACHED,
            _ => self.scr,
        }
    }

    /// Writes `value` to the register at `offset`; a transmitted byte goes to `send`.
    pub fn write(&mut self, offset: u64, value: u8, send: impl FnOnce(u8)) {
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset & 7 {
            RBR_THR if dlab => self.divisor[0] = value,
            RBR_THR => {
                if self.mcr & MCR_LOOP != 0 {
                    self.received = Some(value);
                } else {
                    send(value);
                }
                // Sent at once: THR is empty again.
                self.thr_pending = true;
            }
            IER if dlab => self.divisor[1] = value,
            IER => {
                let ier = value & 0x0f;
                // Setting ETBEI while THR is empty (always) raises THRE; clearing it drops it.
                if (ier ^ self.ier) & IER_THRI != 0 {
                    self.thr_pending = ier & IER_THRI != 0;
                }
                self.ier = ier;
            }
            IIR_FCR => {
                let fifos = value & FCR_ENABLE != 0;
                if value & FCR_CLEAR_RECEIVER != 0 || fifos != self.fifos {
                    self.received = None;
                }
                self.fifos = fifos;
            }
            LCR => self.lcr = value,
            MCR => self.mcr = value & 0x1f,
            SCR => self.scr = value,
            // LSR and MSR are read-only.
            _ => {}
        }
    }
}

/// A PLIC (RISC-V PLIC spec) with one supervisor context per L1 hart (context h: hart h's
/// S-mode) and level-triggered gateways.
#[derive(Debug)]
pub struct Plic {
    harts: usize,
    /// Indexed by source; source 0 does not exist.
    priority: [u32; SOURCES as usize + 1],
    /// Bit s: source s is pending.
    pending: u32,
    /// Bit s: source s was claimed and not completed (its gateway forwards nothing).
    claimed: u32,
    /// Per context, bit s: source s is enabled.
    enable: [u32; bare::MAX_HARTS],
    threshold: [u32; bare::MAX_HARTS],
}

/// Bits of the sources that exist.
const SOURCE_BITS: u32 = ((1 << (SOURCES + 1)) - 1) & !1;
const PENDING: u64 = 0x1000;
const ENABLE: u64 = 0x2000;
const ENABLE_STRIDE: u64 = 0x80;
const CONTEXT: u64 = 0x20_0000;
const CONTEXT_STRIDE: u64 = 0x1000;

/// A register of the PLIC, by its offset (RISC-V PLIC spec, "Memory Map").
enum PlicRegister {
    Priority(usize),
    Pending,
    Enable(usize),
    Threshold(usize),
    Claim(usize),
    /// Reserved, a word past the sources, or a context with no hart: reads 0.
    None,
}

impl Plic {
    pub const fn new(harts: usize) -> Self {
        Plic {
            harts,
            priority: [0; SOURCES as usize + 1],
            pending: 0,
            claimed: 0,
            enable: [0; bare::MAX_HARTS],
            threshold: [0; bare::MAX_HARTS],
        }
    }

    fn register(&self, offset: u64) -> PlicRegister {
        let context = |index: u64| {
            usize::try_from(index)
                .ok()
                .filter(|&c| c < self.harts.min(bare::MAX_HARTS))
        };
        match offset {
            _ if offset < PENDING => match usize::try_from(offset / 4) {
                Ok(source) if (1..=SOURCES as usize).contains(&source) => {
                    PlicRegister::Priority(source)
                }
                _ => PlicRegister::None,
            },
            // One word of pending bits and of enables holds every source.
            PENDING => PlicRegister::Pending,
            _ if (ENABLE..CONTEXT).contains(&offset) && offset.is_multiple_of(ENABLE_STRIDE) => {
                context((offset - ENABLE) / ENABLE_STRIDE)
                    .map_or(PlicRegister::None, PlicRegister::Enable)
            }
            _ if offset >= CONTEXT => {
                let index = context((offset - CONTEXT) / CONTEXT_STRIDE);
                match (index, offset % CONTEXT_STRIDE) {
                    (Some(c), 0) => PlicRegister::Threshold(c),
                    (Some(c), 4) => PlicRegister::Claim(c),
                    _ => PlicRegister::None,
                }
            }
            _ => PlicRegister::None,
        }
    }

    /// The source context `c` would take now: pending, enabled there and of a priority
    /// above its threshold, the highest priority first and then the lowest number.
    fn best(&self, c: usize) -> Option<u32> {
        let candidates = self.pending & self.enable[c];
        (1..=SOURCES)
            .filter(|&s| candidates >> s & 1 == 1 && self.priority[s as usize] > self.threshold[c])
            .max_by_key(|&s| (self.priority[s as usize], core::cmp::Reverse(s)))
    }

    /// Whether context `c` (hart c's supervisor external interrupt) is asserted.
    pub fn asserted(&self, c: usize) -> bool {
        c < self.harts.min(bare::MAX_HARTS) && self.best(c).is_some()
    }

    /// The gateway of `source` sees its line at `level`: a request while none is in flight.
    pub fn set_level(&mut self, source: u32, level: bool) {
        if level && self.claimed >> source & 1 == 0 {
            self.pending |= 1 << source;
        }
    }

    /// Reads the word at `offset`; a read of claim claims.
    pub fn read(&mut self, offset: u64) -> u32 {
        match self.register(offset) {
            PlicRegister::Priority(s) => self.priority[s],
            PlicRegister::Pending => self.pending,
            PlicRegister::Enable(c) => self.enable[c],
            PlicRegister::Threshold(c) => self.threshold[c],
            PlicRegister::Claim(c) => match self.best(c) {
                Some(s) => {
                    self.pending &= !(1 << s);
                    self.claimed |= 1 << s;
                    s
                }
                None => 0,
            },
            PlicRegister::None => 0,
        }
    }

    /// Writes the word at `offset`; a write of claim completes.
    pub fn write(&mut self, offset: u64, value: u32) {
        match self.register(offset) {
            PlicRegister::Priority(s) => self.priority[s] = value & PRIORITY_MASK,
            PlicRegister::Enable(c) => self.enable[c] = value & SOURCE_BITS,
            PlicRegister::Threshold(c) => self.threshold[c] = value & PRIORITY_MASK,
            // A completion of a source not enabled for the context is ignored.
            PlicRegister::Claim(c) => {
                if value <= SOURCES && self.enable[c] >> value & 1 == 1 {
                    self.claimed &= !(1 << value);
                }
            }
            PlicRegister::Pending | PlicRegister::None => {}
        }
    }
}

/// Where L1's devices are: the UART's page, and whether the PLIC is at [`PLIC_BASE`].
#[derive(Clone, Copy, Debug)]
pub struct DeviceMap {
    pub uart: Option<u64>,
    pub plic: bool,
}

impl DeviceMap {
    /// Whether an L1 guest-physical address is a device's.
    pub fn contains(&self, gpa: u64) -> bool {
        self.uart.is_some_and(|page| gpa >> 12 == page >> 12)
            || (self.plic && (PLIC_BASE..PLIC_BASE + PLIC_SIZE).contains(&gpa))
    }
}

/// L1's devices, shared by its harts.
struct Devices {
    uart: Uart,
    plic: Plic,
}

static DEVICES: Mutex<Devices> = Mutex::new(Devices {
    uart: Uart::new(),
    plic: Plic::new(0),
});

/// Bit h: the PLIC asserts hart h's supervisor external interrupt.
pub static SEI_LINES: AtomicU64 = AtomicU64::new(0);

/// Gives the PLIC its contexts, one per L1 hart (at boot).
pub fn set_harts(harts: usize) {
    DEVICES.lock().plic = Plic::new(harts);
}

/// L1's load (`store` None) or store of `width` at `gpa` of the device `map` places there:
/// the value a load reads (the register's bytes, low-aligned) and the harts whose external
/// interrupt line changed. A byte the UART sends goes to `send`. Device registers are
/// byte-wide (UART) or word-wide (PLIC): a wider access reaches the register at its address,
/// a narrower PLIC access reads 0 and writes nothing.
pub fn access(
    map: &DeviceMap,
    gpa: u64,
    width: Width,
    store: Option<u64>,
    send: impl FnOnce(u8),
) -> (u64, u64) {
    let mut devices = DEVICES.lock();
    let mut value = 0;
    if map.uart.is_some_and(|page| gpa >> 12 == page >> 12) {
        let offset = gpa & 0xfff;
        match store {
            // Past the eight registers, the page reads 0 and ignores writes.
            _ if offset >= 8 => {}
            Some(data) => devices.uart.write(offset, data as u8, send),
            None => value = u64::from(devices.uart.read(offset)),
        }
    } else if map.plic && width.bytes() >= 4 && gpa.is_multiple_of(4) {
        let offset = gpa.wrapping_sub(PLIC_BASE);
        match store {
            Some(data) => devices.plic.write(offset, data as u32),
            None => value = u64::from(devices.plic.read(offset)),
        }
    }
    let level = devices.uart.interrupt();
    devices.plic.set_level(UART_SOURCE, level);
    let lines = (0..bare::MAX_HARTS)
        .filter(|&h| devices.plic.asserted(h))
        .fold(0u64, |lines, h| lines | 1 << h);
    let changed = SEI_LINES.swap(lines, Ordering::SeqCst) ^ lines;
    (value, changed)
}
