//! The devices L0 emulates for L1: a 16550 UART whose bytes go out on the real console at
//! once, and the controller of its interrupt, the only wired source: a PLIC on a machine
//! without the AIA, an APLIC in MSI delivery mode (to L1's IMSIC) on one with it. L1 reaches
//! them through guest-page faults (their pages are not in its G-stage); every register value
//! comes from L1 and is taken as the device would take it.

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

/// Where L1's APLIC is, on a machine with the AIA (as QEMU's supervisor-level one), and its
/// registers' extent (no interrupt delivery controls: it delivers by MSI only).
pub const APLIC_BASE: u64 = 0x0d00_0000;
pub const APLIC_SIZE: u64 = 0x4000;

const DOMAINCFG: u64 = 0x0000;
const SOURCECFG: u64 = 0x0004;
const SETIP: u64 = 0x1c00;
const SETIPNUM: u64 = 0x1cdc;
const IN_CLRIP: u64 = 0x1d00;
const CLRIPNUM: u64 = 0x1ddc;
const SETIE: u64 = 0x1e00;
const SETIENUM: u64 = 0x1edc;
const CLRIE: u64 = 0x1f00;
const CLRIENUM: u64 = 0x1fdc;
const SETIPNUM_LE: u64 = 0x2000;
const SETIPNUM_BE: u64 = 0x2004;
const GENMSI: u64 = 0x3000;
const TARGET: u64 = 0x3004;
/// domaincfg: bits 31:24 read 0x80; IE (interrupts enabled) and DM (MSI delivery mode).
/// genmsi's writable fields: Hart Index (bits 31:18) and EIID (bits 10:0).
const GENMSI_MASK: u32 = 0xfffc_07ff;
const DOMAINCFG_FIXED: u32 = 0x8000_0000;
const DOMAINCFG_IE: u32 = 1 << 8;
const DOMAINCFG_DM: u32 = 1 << 2;
/// target in MSI delivery mode: hart index (31:18), guest index (17:12), EIID (10:0).
const TARGET_MASK: u32 = 0xffff_f7ff;

/// A source's mode (sourcecfg.SM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SourceMode {
    Inactive,
    Detached,
    EdgeRise,
    EdgeFall,
    LevelHigh,
    LevelLow,
}

impl SourceMode {
    /// sourcecfg.SM's value; a reserved one (2, 3) makes the source inactive.
    fn from_sm(sm: u32) -> Self {
        match sm {
            1 => SourceMode::Detached,
            4 => SourceMode::EdgeRise,
            5 => SourceMode::EdgeFall,
            6 => SourceMode::LevelHigh,
            7 => SourceMode::LevelLow,
            _ => SourceMode::Inactive,
        }
    }

    fn sm(self) -> u32 {
        match self {
            SourceMode::Inactive => 0,
            SourceMode::Detached => 1,
            SourceMode::EdgeRise => 4,
            SourceMode::EdgeFall => 5,
            SourceMode::LevelHigh => 6,
            SourceMode::LevelLow => 7,
        }
    }

    /// The rectified input of a source whose wire is at `input`.
    fn rectified(self, input: bool) -> bool {
        match self {
            SourceMode::EdgeRise | SourceMode::LevelHigh => input,
            SourceMode::EdgeFall | SourceMode::LevelLow => !input,
            SourceMode::Inactive | SourceMode::Detached => false,
        }
    }

    fn level(self) -> bool {
        matches!(self, SourceMode::LevelHigh | SourceMode::LevelLow)
    }
}

/// An MSI the APLIC sends: identity `eiid` to interrupt file `guest` (0: the supervisor-level
/// one) of hart `hart`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msi {
    pub hart: usize,
    pub guest: u32,
    pub eiid: u32,
}

impl Msi {
    /// The MSI a target register (or genmsi) names.
    fn of(target: u32) -> Msi {
        Msi {
            hart: (target >> 18) as usize,
            guest: target >> 12 & 0x3f,
            eiid: target & 0x7ff,
        }
    }
}

/// An APLIC interrupt domain at supervisor level, with no child domain, in MSI delivery mode
/// (AIA spec, "Advanced Platform-Level Interrupt Controller"), of sources 1..=SOURCES.
#[derive(Debug)]
pub struct Aplic {
    domaincfg: u32,
    /// Indexed by source; source 0 does not exist.
    mode: [SourceMode; SOURCES as usize + 1],
    target: [u32; SOURCES as usize + 1],
    /// Bit s: the wire of source s is high.
    input: u32,
    pending: u32,
    enabled: u32,
}

impl Aplic {
    pub const fn new() -> Self {
        Aplic {
            domaincfg: 0,
            mode: [SourceMode::Inactive; SOURCES as usize + 1],
            target: [0; SOURCES as usize + 1],
            input: 0,
            pending: 0,
            enabled: 0,
        }
    }

    /// Bits of the sources whose rectified input is high.
    fn rectified(&self) -> u32 {
        (1..=SOURCES)
            .filter(|&s| self.mode[s as usize].rectified(self.input >> s & 1 == 1))
            .fold(0, |bits, s| bits | 1 << s)
    }

    /// A write that sets the pending bits `bits` (setip, setipnum): an active source's, but a
    /// level-sensitive one's only while its rectified input is high.
    fn set_pending(&mut self, bits: u32) {
        let rectified = self.rectified();
        for s in (1..=SOURCES).filter(|&s| bits >> s & 1 == 1) {
            let mode = self.mode[s as usize];
            if mode != SourceMode::Inactive && (!mode.level() || rectified >> s & 1 == 1) {
                self.pending |= 1 << s;
            }
        }
    }

    /// The wire of `source` is at `level`: a rising rectified input makes it pending, and a
    /// level-sensitive source is not pending while its rectified input is low.
    pub fn set_input(&mut self, source: u32, level: bool) {
        let before = self.rectified();
        self.input = (self.input & !(1 << source)) | u32::from(level) << source;
        let after = self.rectified();
        let mode = self.mode[source as usize];
        if (after & !before) >> source & 1 == 1 {
            self.pending |= 1 << source;
        }
        if mode.level() && after >> source & 1 == 0 {
            self.pending &= !(1 << source);
        }
    }

    /// Sends the MSIs of the enabled pending sources (their pending bits cleared) to `send`.
    pub fn forward(&mut self, mut send: impl FnMut(Msi)) {
        let ready = DOMAINCFG_IE | DOMAINCFG_DM;
        if self.domaincfg & ready != ready {
            return;
        }
        let ready = self.pending & self.enabled;
        for s in (1..=SOURCES).filter(|&s| ready >> s & 1 == 1) {
            self.pending &= !(1 << s);
            send(Msi::of(self.target[s as usize]));
        }
    }

    /// The source a register at `base + 4 * (s - 1)` names, if it exists.
    fn source_at(offset: u64, base: u64) -> Option<usize> {
        let index = offset.checked_sub(base)? / 4 + 1;
        (offset.is_multiple_of(4) && index <= u64::from(SOURCES)).then_some(index as usize)
    }

    /// A source number written to a ...num register, if it exists.
    fn number(value: u32) -> u32 {
        if (1..=SOURCES).contains(&value) {
            1 << value
        } else {
            0
        }
    }

    /// Reads the word at `offset`.
    pub fn read(&self, offset: u64) -> u32 {
        match offset {
            DOMAINCFG => DOMAINCFG_FIXED | self.domaincfg,
            // One word of each bit array holds every source.
            SETIP => self.pending,
            IN_CLRIP => self.rectified(),
            SETIE => self.enabled,
            _ => {
                if let Some(s) = Self::source_at(offset, SOURCECFG).filter(|_| offset < SETIP) {
                    self.mode[s].sm()
                } else if let Some(s) = Self::source_at(offset, TARGET) {
                    self.target[s]
                } else {
                    // genmsi reads idle; the rest reads 0.
                    0
                }
            }
        }
    }

    /// Writes the word at `offset`; an MSI genmsi asks for goes to `send`.
    pub fn write(&mut self, offset: u64, value: u32, send: impl FnOnce(Msi)) {
        match offset {
            // BE (big-endian) is hardwired to 0.
            DOMAINCFG => self.domaincfg = value & (DOMAINCFG_IE | DOMAINCFG_DM),
            SETIP => self.set_pending(value),
            SETIPNUM | SETIPNUM_LE => self.set_pending(Self::number(value)),
            SETIPNUM_BE => self.set_pending(Self::number(value.swap_bytes())),
            IN_CLRIP => self.pending &= !value,
            CLRIPNUM => self.pending &= !Self::number(value),
            SETIE => self.enabled |= value & self.active(),
            SETIENUM => self.enabled |= Self::number(value) & self.active(),
            CLRIE => self.enabled &= !value,
            CLRIENUM => self.enabled &= !Self::number(value),
            // genmsi holds a Hart Index and an EIID, no guest index (AIA spec, APLIC chapter,
            // genmsi): the MSI goes to the hart's supervisor-level file.
            GENMSI => send(Msi::of(value & GENMSI_MASK)),
            _ => {
                if let Some(s) = Self::source_at(offset, SOURCECFG).filter(|_| offset < SETIP) {
                    // No child domain: D is 0, SM the only field.
                    let mode = SourceMode::from_sm(value & 7);
                    self.mode[s] = mode;
                    if mode == SourceMode::Inactive {
                        self.pending &= !(1 << s);
                        self.enabled &= !(1 << s);
                    }
                } else if let Some(s) = Self::source_at(offset, TARGET) {
                    self.target[s] = value & TARGET_MASK;
                }
            }
        }
    }

    /// Bits of the active sources (an inactive one's pending and enable bits stay 0).
    fn active(&self) -> u32 {
        (1..=SOURCES)
            .filter(|&s| self.mode[s as usize] != SourceMode::Inactive)
            .fold(0, |bits, s| bits | 1 << s)
    }
}

/// Where L1's devices are: the UART's page, and which interrupt controller L1 has for it: a
/// PLIC at [`PLIC_BASE`] (without the AIA) or an APLIC at [`APLIC_BASE`] (with it).
#[derive(Clone, Copy, Debug)]
pub struct DeviceMap {
    pub uart: Option<u64>,
    pub plic: bool,
    pub aplic: bool,
}

impl DeviceMap {
    /// Whether an L1 guest-physical address is a device's.
    pub fn contains(&self, gpa: u64) -> bool {
        self.uart.is_some_and(|page| gpa >> 12 == page >> 12)
            || (self.plic && (PLIC_BASE..PLIC_BASE + PLIC_SIZE).contains(&gpa))
            || (self.aplic && (APLIC_BASE..APLIC_BASE + APLIC_SIZE).contains(&gpa))
    }
}

/// L1's devices, shared by its harts.
struct Devices {
    uart: Uart,
    plic: Plic,
    aplic: Aplic,
}

static DEVICES: Mutex<Devices> = Mutex::new(Devices {
    uart: Uart::new(),
    plic: Plic::new(0),
    aplic: Aplic::new(),
});

/// Bit h: the PLIC asserts hart h's supervisor external interrupt.
pub static SEI_LINES: AtomicU64 = AtomicU64::new(0);

/// Gives the PLIC its contexts, one per L1 hart (at boot).
pub fn set_harts(harts: usize) {
    DEVICES.lock().plic = Plic::new(harts);
}

/// L1's load (`store` None) or store of `width` at `gpa` of the device `map` places there:
/// the value a load reads (the register's bytes, low-aligned) and the harts whose PLIC
/// external interrupt line changed. A byte the UART sends goes to `send`, an MSI the APLIC
/// sends to `msi`. Device registers are byte-wide (UART) or word-wide (PLIC, APLIC): a wider
/// access reaches the register at its address, a narrower (A)PLIC access reads 0 and writes
/// nothing.
pub fn access(
    map: &DeviceMap,
    gpa: u64,
    width: Width,
    store: Option<u64>,
    send: impl FnOnce(u8),
    mut msi: impl FnMut(Msi),
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
    } else if width.bytes() < 4 || !gpa.is_multiple_of(4) {
        // Not a word of an interrupt controller.
    } else if map.plic && (PLIC_BASE..PLIC_BASE + PLIC_SIZE).contains(&gpa) {
        let offset = gpa - PLIC_BASE;
        match store {
            Some(data) => devices.plic.write(offset, data as u32),
            None => value = u64::from(devices.plic.read(offset)),
        }
    } else if map.aplic && (APLIC_BASE..APLIC_BASE + APLIC_SIZE).contains(&gpa) {
        let offset = gpa - APLIC_BASE;
        match store {
            Some(data) => devices.aplic.write(offset, data as u32, &mut msi),
            None => value = u64::from(devices.aplic.read(offset)),
        }
    }
    let level = devices.uart.interrupt();
    devices.plic.set_level(UART_SOURCE, level);
    devices.aplic.set_input(UART_SOURCE, level);
    devices.aplic.forward(msi);
    let lines = (0..bare::MAX_HARTS)
        .filter(|&h| devices.plic.asserted(h))
        .fold(0u64, |lines, h| lines | 1 << h);
    let changed = SEI_LINES.swap(lines, Ordering::SeqCst) ^ lines;
    (value, changed)
}
