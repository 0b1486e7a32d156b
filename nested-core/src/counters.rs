//! Counts of what the engine did, by kind, for the host's statistics.

/// A kind of event the engine counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// An emulated read of an H or VS CSR.
    CsrRead,
    /// An emulated write of an H or VS CSR.
    CsrWrite,
    /// An emulated SRET.
    Sret,
    /// An emulated WFI.
    Wfi,
    /// An emulated SFENCE.VMA.
    SfenceVma,
    /// An emulated HFENCE.VVMA or HINVAL.VVMA.
    HfenceVvma,
    /// An emulated HFENCE.GVMA or HINVAL.GVMA.
    HfenceGvma,
    /// An emulated HLV or HLVX.
    Hlv,
    /// An emulated HSV.
    Hsv,
    /// An exception or interrupt the engine delivered to L1 (illegal instruction, a fault
    /// of HLV/HSV, a trap of L2 reflected, ...).
    ExceptionToL1,
    /// L1 entered its guest.
    GuestEntry,
    /// The guest exited to L1.
    GuestExit,
}

impl Event {
    /// Every event, in the order of [`Counters::iter`].
    pub const ALL: [Event; 12] = [
        Event::CsrRead,
        Event::CsrWrite,
        Event::Sret,
        Event::Wfi,
        Event::SfenceVma,
        Event::HfenceVvma,
        Event::HfenceGvma,
        Event::Hlv,
        Event::Hsv,
        Event::ExceptionToL1,
        Event::GuestEntry,
        Event::GuestExit,
    ];
}

/// Which world a trap to the host came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum World {
    /// L1 itself was running.
    L1,
    /// L1's guest was running.
    L2,
}

/// Exception and interrupt codes counted apart; higher codes share the last slot.
pub const COUNTED_CODES: usize = 32;

/// How many times each [`Event`] happened, and the host's entries by world and cause.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    counts: [u64; Event::ALL.len()],
    /// Entries by world (L1, L2), kind (exception, interrupt) and code.
    entries: [[[u64; COUNTED_CODES]; 2]; 2],
}

impl Counters {
    /// The count of `event`.
    pub fn get(&self, event: Event) -> u64 {
        self.counts[event as usize]
    }

    /// Each event with its count.
    pub fn iter(&self) -> impl Iterator<Item = (Event, u64)> + '_ {
        Event::ALL.iter().map(|&event| (event, self.get(event)))
    }

    /// Traps to the host from `world` with exception (or interrupt, if `interrupt`) `code`
    /// that the engine handled; codes from `COUNTED_CODES - 1` up are counted together.
    pub fn entries(&self, world: World, interrupt: bool, code: u64) -> u64 {
        self.entries[world as usize][usize::from(interrupt)][Self::slot(code)]
    }

    /// Every trap to the host from `world` that the engine handled.
    pub fn total_entries(&self, world: World) -> u64 {
        self.entries[world as usize]
            .iter()
            .flatten()
            .fold(0, |sum, &n| sum.wrapping_add(n))
    }

    fn slot(code: u64) -> usize {
        usize::try_from(code).map_or(COUNTED_CODES - 1, |c| c.min(COUNTED_CODES - 1))
    }

    pub(crate) fn count_entry(&mut self, world: World, interrupt: bool, code: u64) {
        let slot = &mut self.entries[world as usize][usize::from(interrupt)][Self::slot(code)];
        *slot = slot.wrapping_add(1);
    }

    pub(crate) fn count(&mut self, event: Event) {
        let slot = &mut self.counts[event as usize];
        *slot = slot.wrapping_add(1);
    }
}
