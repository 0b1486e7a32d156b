//! What `l2-guest` and its hypervisor `l1-hv` agree on: L2's guest-physical memory map (its
//! interrupt file among it, on an AIA machine) and the test calls `l1-hv` offers. The guest
//! program itself is `main.rs`; `l1-hv` depends on this library so that both sides name every
//! address and call from one place.
#![no_std]
#![forbid(unsafe_code)]

/// L2's guest-physical memory map, as `l1-hv` builds it.
pub mod layout {
    /// The page size of every address below.
    pub const PAGE: u64 = 0x1000;
    /// The first byte of L2's RAM; `l2-guest` is linked 2 MiB above it, where SBI firmware
    /// would jump.
    pub const RAM_BASE: u64 = 0x8000_0000;
    /// The size of L2's RAM.
    pub const RAM_SIZE: u64 = 8 << 20;
    /// The doubleword L1 writes before L2 starts.
    pub const MAILBOX: u64 = 0x8040_0000;
    /// What L1 writes there.
    pub const MAILBOX_VALUE: u64 = 0x1234_5678_9abc_def0;
    /// The doubleword L2 stores for L1 to read with HLV.D.
    pub const HANDOFF: u64 = MAILBOX + 8;
    /// What L2 stores there.
    pub const HANDOFF_VALUE: u64 = 0x0fed_cba9_8765_4321;
    /// The first of `LAZY_PAGES` pages L1 maps only when L2 first touches each: this one
    /// among `TOUCHED_PAGES`, the others for the guest-page faults of L2's CSR probe.
    pub const LAZY_PAGE: u64 = 0x8060_0000;
    /// How many pages from `LAZY_PAGE` L1 maps on first touch.
    pub const LAZY_PAGES: u64 = 32;
    /// The pages L2's boot hart writes and reads back, the lazy one among them.
    pub const TOUCHED_PAGES: [u64; 4] = [0x8030_0000, 0x8050_0000, LAZY_PAGE, 0x807f_f000];
    /// The page hart 1 reads before and after L1 moves it to another page of its own.
    pub const MOVED_PAGE: u64 = 0x8070_0000;
    /// Its first doubleword before the move.
    pub const MOVED_BEFORE: u64 = 0xb0b0_0000_0000_0001;
    /// Its first doubleword after the move.
    pub const MOVED_AFTER: u64 = 0xa0a0_0000_0000_0002;
    /// The doubleword L1 sets to `HAS_INTERRUPT_FILE` when L2 has an interrupt file (it
    /// stays 0 otherwise, as L1 zeroes L2's RAM).
    pub const INTERRUPT_FILE_FLAG: u64 = MAILBOX + 16;
    /// What L1 writes there when L2 has an interrupt file.
    pub const HAS_INTERRUPT_FILE: u64 = 1;
    /// L2's IMSIC interrupt file, when it has one: the page of a guest interrupt file of L1's
    /// machine, mapped as device memory (AIA spec, "Incoming MSI Controller", memory region).
    pub const INTERRUPT_FILE: u64 = 0x2800_0000;
    /// A page L1 maps to an L1 physical address with nothing behind it: L2's load there
    /// faults, and L1 takes the access fault.
    pub const UNBACKED: u64 = 0x9000_0000;
    /// Three free pages of L2's RAM where it builds the identity-mapping VS-stage tables of
    /// its satp probe: the Sv39 root (1 GiB leaves), the Sv48 root and the Sv57 root.
    pub const SATP_TABLES: [u64; 3] = [0x8010_0000, 0x8010_1000, 0x8010_2000];
    /// The doubleword L2 watches, spinning without an exit, until L1's own timer fires and
    /// L1 sets it to `L1_TIMER_FIRED`.
    pub const L1_TIMER_FLAG: u64 = MAILBOX + 24;
    /// What L1 writes there.
    pub const L1_TIMER_FIRED: u64 = 0x7113_0000_0000_0005;
}

/// The test calls of `l1-hv`: an extension in the experimental range of SBI extension IDs
/// (SBI spec, "Binary Encoding": 0x08000000-0x08FFFFFF).
pub mod calls {
    /// The extension ID ("L1" in its low bytes).
    pub const EID: u64 = 0x0800_4c31;
    /// a0 = GPA: L1 reads the doubleword there with HLV.D and returns it.
    pub const HLV_READ: u64 = 0;
    /// a0 = GPA, a1 = value: the caller says what it read there.
    pub const REPORT: u64 = 1;
    /// Returns once L1 has done what the caller waits for (for hart 1: moving `MOVED_PAGE`).
    pub const WAIT: u64 = 2;
    /// a0 = identity: L1 writes it to the seteipnum_le register of L2's interrupt file, an MSI
    /// sent by L1 (not supported when L2 has no interrupt file).
    pub const SEND_MSI: u64 = 3;
    /// a0 = ticks: L1 arms its own supervisor timer (Sstc's stimecmp) that far ahead of
    /// `time` and, when it fires, writes `layout::L1_TIMER_FIRED` to `layout::L1_TIMER_FLAG`
    /// (not supported without Sstc).
    pub const ARM_L1_TIMER: u64 = 4;
}
