//! L0's statistics: entries by world and cause, round trips of L2 through L1, shadow fills.

use crate::hw::Hart;
use crate::{CONTEXTS, GEILEN};
use bare::println;
use nested_core::{Event, NestedHart};

const CODES: usize = 32;

/// One hart's counts.
#[derive(Debug, Default)]
pub struct Stats {
    /// Entries into L0 by world (L1, L2), kind (exception, interrupt) and code.
    entries: [[[u64; CODES]; 2]; 2],
    /// L2 guest-page faults L0 served itself (shadow fills).
    pub fills: u64,
    /// Shadow fills and L1 SRETs that found no frame for a shadow (L2 faults again, L1
    /// executes its SRET again).
    pub retries: u64,
    /// Completed round trips L2 -> L1 -> L2, their L0 entries in all, and the fewest.
    round_trips: u64,
    round_trip_entries: u64,
    fewest: Option<u64>,
    /// Entries since L2 last exited to L1, while it has not entered again.
    open: Option<u64>,
}

/// The totals over every hart.
#[derive(Debug, Default)]
pub struct Totals {
    pub round_trips: u64,
    pub entries: u64,
    pub fewest: Option<u64>,
}

impl Stats {
    /// An entry into L0 from L2 (`in_guest`) or L1.
    pub fn entry(&mut self, in_guest: bool, interrupt: bool, code: u64) {
        let code = (code as usize).min(CODES - 1);
        self.entries[usize::from(in_guest)][usize::from(interrupt)][code] += 1;
        if let Some(open) = self.open.as_mut() {
            *open += 1;
        }
    }

    /// The world before and after the entry just handled, or a step of it: an entry in which
    /// L1 enters L2 and at once takes an interrupt reports both steps, and counts for the
    /// round trip it ends and the one it begins.
    pub fn world(&mut self, was_in_guest: bool, now_in_guest: bool) {
        match (was_in_guest, now_in_guest) {
            (true, false) => self.open = Some(1),
            (false, true) => {
                if let Some(entries) = self.open.take() {
                    self.round_trips += 1;
                    self.round_trip_entries += entries;
                    self.fewest = Some(self.fewest.map_or(entries, |f| f.min(entries)));
                }
            }
            _ => {}
        }
    }

    /// Adds this hart's round trips to `totals`.
    pub fn add_to(&self, totals: &mut Totals) {
        totals.round_trips += self.round_trips;
        totals.entries += self.round_trip_entries;
        totals.fewest = match (totals.fewest, self.fewest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Prints this hart's counts.
    pub fn print(&self, hart: usize, nested: &NestedHart<CONTEXTS, GEILEN>, real: &Hart) {
        for (world, name) in [(0, "L1"), (1, "L2")] {
            let mut line: heapless::String<256> = heapless::String::new();
            let mut total = 0;
            for (interrupt, kind) in [(0, "exception"), (1, "interrupt")] {
                for (code, &count) in self.entries[world][interrupt].iter().enumerate() {
                    if count > 0 {
                        total += count;
                        let _ =
                            core::fmt::write(&mut line, format_args!(" {kind} {code}: {count};"));
                    }
                }
            }
            println!("[L0] hart {hart}: {total} entries from {name}:{line}");
        }
        let counters = nested.counters();
        let mut line: heapless::String<256> = heapless::String::new();
        for event in Event::ALL {
            let _ = core::fmt::write(
                &mut line,
                format_args!(" {event:?} {};", counters.get(event)),
            );
        }
        println!("[L0] hart {hart}: engine:{line}");
        println!(
            "[L0] hart {hart}: shadow fills {} (retried for want of frames {}), real HFENCEs {}, shadow contexts {}",
            self.fills,
            self.retries,
            real.fences,
            nested.shadow().keys().count()
        );
    }
}
