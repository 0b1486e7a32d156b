//! The CSRs L1 uses, by number, and the fields it sets.
//!
//! Priv spec, hypervisor chapter, "Hypervisor and Virtual Supervisor CSRs".

/// sstatus (HS-mode's own).
pub const SSTATUS: u16 = 0x100;
/// sscratch: bare's trap entry keeps the hart's trap frame there.
pub const SSCRATCH: u16 = 0x140;
/// sepc.
pub const SEPC: u16 = 0x141;
/// scause.
pub const SCAUSE: u16 = 0x142;
/// stval.
pub const STVAL: u16 = 0x143;

/// The H and VS CSRs L1 programs for L2; with NACL each is a slot of the shared memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum HCsr {
    /// Virtual supervisor address translation (L2's satp).
    Vsatp = 0x280,
    /// Hypervisor status.
    Hstatus = 0x600,
    /// Exceptions delegated to VS-mode.
    Hedeleg = 0x602,
    /// Interrupts delegated to VS-mode.
    Hideleg = 0x603,
    /// Counters VS-mode may read.
    Hcounteren = 0x606,
    /// The guest-physical address of a guest-page fault, shifted right by 2.
    Htval = 0x643,
    /// Virtual interrupts pending for VS-mode.
    Hvip = 0x645,
    /// G-stage translation: mode, VMID, root.
    Hgatp = 0x680,
}

/// sstatus fields (Priv spec, supervisor chapter, "Supervisor Status Register").
pub mod sstatus {
    /// The interrupt enable before the trap.
    pub const SPIE: u64 = 1 << 5;
    /// The privilege before the trap (1: supervisor).
    pub const SPP: u64 = 1 << 8;
}

/// hstatus fields.
pub mod hstatus {
    /// V before the trap: SRET returns to a virtual mode.
    pub const SPV: u64 = 1 << 7;
    /// The privilege HLV/HLVX/HSV act with (1: VS).
    pub const SPVP: u64 = 1 << 8;
    /// The guest interrupt file of VS-mode (bits 17:12; 0: none): its interrupts reach
    /// hip.VSEIP, and VS-mode's siselect/sireg and stopei reach its registers.
    pub const VGEIN: u64 = 0x3f << 12;
    /// VGEIN selecting guest file `guest`.
    pub const fn vgein(guest: u32) -> u64 {
        ((guest as u64) << 12) & VGEIN
    }
    /// stval holds a guest virtual address.
    pub const GVA: u64 = 1 << 6;
    /// Trap VS-mode satp accesses and SFENCE.VMA.
    pub const VTVM: u64 = 1 << 20;
    /// Trap VS-mode WFI.
    pub const VTW: u64 = 1 << 21;
    /// Trap VS-mode SRET.
    pub const VTSR: u64 = 1 << 22;
}

/// hedeleg: the exceptions a hypervisor lets its guest handle itself.
pub mod hedeleg {
    const INSTRUCTION_MISALIGNED: u64 = 1 << 0;
    const BREAKPOINT: u64 = 1 << 3;
    const ECALL_FROM_U: u64 = 1 << 8;
    const INSTRUCTION_PAGE_FAULT: u64 = 1 << 12;
    const LOAD_PAGE_FAULT: u64 = 1 << 13;
    const STORE_PAGE_FAULT: u64 = 1 << 15;
    /// All of them.
    pub const TO_L2: u64 = INSTRUCTION_MISALIGNED
        | BREAKPOINT
        | ECALL_FROM_U
        | INSTRUCTION_PAGE_FAULT
        | LOAD_PAGE_FAULT
        | STORE_PAGE_FAULT;
}

/// hideleg: the VS-level interrupts, which L2 takes as its supervisor interrupts.
pub mod hideleg {
    const VSSI: u64 = 1 << 2;
    const VSTI: u64 = 1 << 6;
    const VSEI: u64 = 1 << 10;
    /// All three.
    pub const TO_L2: u64 = VSSI | VSTI | VSEI;
}

/// hvip.VSTIP: L2's supervisor timer interrupt, pending.
pub const HVIP_VSTIP: u64 = 1 << 6;

/// hcounteren.TM: L2 may read `time`.
pub const HCOUNTEREN_TM: u64 = 1 << 1;

/// scause values of L2's exits (Priv spec, hypervisor chapter, "Trap Cause Codes").
pub mod scause {
    /// Load access fault.
    pub const LOAD_ACCESS_FAULT: u64 = 5;
    /// Store/AMO access fault.
    pub const STORE_ACCESS_FAULT: u64 = 7;
    /// Supervisor timer interrupt.
    pub const TIMER_INTERRUPT: u64 = 1 << 63 | 5;
    /// Environment call from VS-mode.
    pub const ECALL_FROM_VS: u64 = 10;
    /// Instruction guest-page fault.
    pub const INSTRUCTION_GUEST_PAGE_FAULT: u64 = 20;
    /// Load guest-page fault.
    pub const LOAD_GUEST_PAGE_FAULT: u64 = 21;
    /// Store/AMO guest-page fault.
    pub const STORE_GUEST_PAGE_FAULT: u64 = 23;
}
