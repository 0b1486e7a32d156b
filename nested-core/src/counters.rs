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
    /// An exception the engine raised in L1 (illegal instruction, a fault of HLV/HSV, ...).
    ExceptionToL1,
}

impl Event {
    /// Every event, in the order of [`Counters::iter`].
    pub const ALL: [Event; 10] = [
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
    ];
}

/// How many times each [`Event`] happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    counts: [u64; Event::ALL.len()],
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

    pub(crate) fn count(&mut self, event: Event) {
        let slot = &mut self.counts[event as usize];
        *slot = slot.wrapping_add(1);
    }
}
