//! The WARL probe's known divergences: read-backs where QEMU departs from the RISC-V
//! privileged spec and the engine, nested under `mini-hv`, follows it. A compared line may
//! differ between the direct and the nested transcript only exactly as a row here says.

/// One probe write whose read-back differs between QEMU and the engine.
#[derive(Debug)]
pub struct Divergence {
    /// The CSR's number.
    pub csr: u16,
    /// The value the probe writes.
    pub written: u64,
    /// What reads back on QEMU 10 (the direct run).
    pub qemu: u64,
    /// What reads back from the engine (the nested run).
    pub engine: u64,
    /// Why the engine's read-back is the spec's, citing the spec.
    pub reason: &'static str,
}

/// The known divergences, in probe order, each measured with `cargo xtask qemu` (QEMU
/// 10.0.2, `-cpu rv64,h=true`).
pub static KNOWN: [Divergence; 9] = [
    Divergence {
        csr: 0x600, // hstatus
        written: u64::MAX,
        qemu: 0xfffc_fffe_feff_ffdf,
        engine: 0x0000_0002_0070_03c0,
        reason: "Priv spec, hypervisor chapter, hstatus: the bits outside its fields are WPRI (read-only zero where nothing is implemented); VSBE is read-only zero on a little-endian hart, HUPMM and HUKTE exist only with Ssnpm and Svukte, VGEIN holds 0 with GEILEN = 0. QEMU stores the written bits",
    },
    Divergence {
        csr: 0x602, // hedeleg
        written: u64::MAX,
        qemu: 0x4_b1ff,
        engine: 0xc_b1ff,
        reason: "Priv spec, hypervisor chapter, hedeleg table: bit 19 (hardware error) is writable, like bit 18; QEMU keeps bit 19 read-only zero",
    },
    Divergence {
        csr: 0x603, // hideleg
        written: u64::MAX,
        qemu: 0xffff_ffff_ffff_c444,
        engine: 0x444,
        reason: "Priv spec, hideleg, and AIA spec, hideleg: a bit whose interrupt is neither delegated by mideleg nor enabled by mvien is read-only zero; only VSEI, VSTI and VSSI pass here. QEMU lets bits 14-63 be written",
    },
    Divergence {
        csr: 0x645, // hvip
        written: u64::MAX,
        qemu: 0x2444,
        engine: 0x444,
        reason: "Priv spec, hvip: VSEIP, VSTIP and VSSIP are its writable bits; bits 13-63 belong to the AIA (with hvien), which this machine does not offer L1. QEMU lets bit 13 (LCOFIP) be written",
    },
    Divergence {
        csr: 0x680, // hgatp
        written: u64::MAX,
        qemu: 0,
        engine: 0x03ff_ffff_ffff_ffff,
        reason: "Priv spec, hypervisor chapter, hgatp: \"A write to hgatp with an unsupported MODE value is not ignored as it is for satp. Instead, the fields of hgatp are WARL in the normal way\": MODE 15 leaves Bare, VMID and PPN are written. QEMU drops the whole write, as for satp",
    },
    Divergence {
        csr: 0x680, // hgatp
        written: 0x83ff_f000_0008_0003,
        qemu: 0x83ff_f000_0008_0003,
        engine: 0x83ff_f000_0008_0000,
        reason: "Priv spec, hgatp: in Sv39x4 the root table is 16 KiB and \"the lowest two bits of the physical page number (PPN) in hgatp always read as zeros\". QEMU keeps them",
    },
    Divergence {
        csr: 0x680, // hgatp
        written: 0x7000_0000_0000_0000,
        qemu: 0x83ff_f000_0008_0003,
        engine: 0x8000_0000_0000_0000,
        reason: "Priv spec, hgatp: a write with an unsupported MODE (7) is not ignored; MODE stays Sv39x4, VMID and PPN are written (0). QEMU drops the whole write",
    },
    Divergence {
        csr: 0x241, // vsepc
        written: u64::MAX,
        qemu: u64::MAX,
        engine: u64::MAX - 1,
        reason: "Priv spec, sepc (vsepc is the VS copy): \"sepc[0] is always zero\". QEMU reads back bit 0",
    },
    Divergence {
        csr: 0x200, // vsstatus
        written: u64::MAX,
        qemu: 0xffff_ffff_feff_ffff,
        engine: 0x8000_0002_000c_6722,
        reason: "Priv spec, sstatus (vsstatus is the VS copy): the bits outside its fields are WPRI, read-only zero; UXL reads 64-bit, SD sums up FS, VS and XS; FS and VS are writable as in the real vsstatus mini-hv probes (the hart has F and V), XS is 0 without custom state. QEMU stores the written bits",
    },
];

impl Divergence {
    /// Whether a direct and a nested line differ exactly as this row says.
    pub fn explains(&self, direct: &str, nested: &str) -> bool {
        direct == self.probe_line(self.qemu) && nested == self.probe_line(self.engine)
    }

    /// The line warl-probe prints for this write when `read` reads back.
    fn probe_line(&self, read: u64) -> String {
        format!(
            "WARL: csr {:#05x} write {:#018x} read {read:#018x}",
            self.csr, self.written
        )
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "csr {:#05x} write {:#018x}: QEMU reads {:#018x}, the engine {:#018x}; {}",
            self.csr, self.written, self.qemu, self.engine, self.reason
        )
    }
}
