//! `cargo xtask demo`: `mini-hv` runs `l1-hv`, which runs `l2-guest`, with NACL and without;
//! mini-hv's closing counts show how many L0 entries NACL saves per L2 round trip.

use crate::bundle::L1;
use crate::differential::LIMIT;
use crate::programs::Program;
use crate::qemu::{self, Machine, Watch};

/// L1's command lines of the two runs.
const WITH_NACL: &str = "gstage=sv39x4";
const WITHOUT_NACL: &str = "gstage=sv39x4 nacl=off";
/// How mini-hv's closing line starts; the line is
/// `[L0] round trips: R, L0 entries: E, entries per round trip: X.Y`, perhaps with more fields.
const CLOSING: &str = "[L0] round trips: ";

/// mini-hv's counts for one run.
#[derive(Debug, PartialEq)]
struct Counts {
    round_trips: u64,
    entries: u64,
    per_round_trip: f64,
}

/// Both runs, each transcript shown if `echo`, then the table.
pub fn show(echo: bool) -> Result<(), String> {
    let with = counts("demo-nacl", WITH_NACL, echo).map_err(|e| format!("NACL on: {e}"))?;
    let without =
        counts("demo-no-nacl", WITHOUT_NACL, echo).map_err(|e| format!("NACL off: {e}"))?;
    println!("\nL0 entries per L2 round trip (l1-hv under mini-hv, G-stage Sv39x4):");
    println!("  NACL  round trips  L0 entries  per round trip");
    for (nacl, c) in [("on", &with), ("off", &without)] {
        println!(
            "  {nacl:<4}  {:>11}  {:>10}  {:>14.2}",
            c.round_trips, c.entries, c.per_round_trip
        );
    }
    saves(&with, &without)
}

/// The cost model the demo proves: with NACL L1 pays fewer L0 entries than without, and the
/// same round trips.
fn saves(with: &Counts, without: &Counts) -> Result<(), String> {
    if with.round_trips == 0 || with.round_trips != without.round_trips {
        return Err(format!(
            "the runs made {} and {} round trips; they should make the same, nonzero number",
            with.round_trips, without.round_trips
        ));
    }
    if with.entries >= without.entries {
        return Err(format!(
            "NACL saved no L0 entries: {} with it, {} without",
            with.entries, without.entries
        ));
    }
    Ok(())
}

/// One run of l1-hv with `cmdline` under mini-hv, checked, and its closing counts.
fn counts(name: &str, cmdline: &str, echo: bool) -> Result<Counts, String> {
    let (image, initrd) = (Program::L1Hv.elf(), Program::L2Guest.elf());
    let l1 = L1 {
        image: &image,
        initrd: Some(&initrd),
        cmdline,
    };
    let watch = Watch {
        last_lines: &[Program::L1Hv.last_line()],
        limit: LIMIT,
        echo,
    };
    if echo {
        println!("\n=== mini-hv runs l1-hv ({cmdline}), which runs l2-guest");
    }
    let machine = Machine {
        smp: 1,
        aia: false,
        l1_mem_mib: qemu::DEFAULT_L1_MEM_MIB,
    };
    let run = qemu::run_nested(name, machine, &l1, &watch)?;
    run.keep_and_check(name, &watch)?;
    closing_counts(&run.transcript)
}

/// The counts of mini-hv's (last) closing line.
fn closing_counts(transcript: &[String]) -> Result<Counts, String> {
    let line = transcript
        .iter()
        .rev()
        .find(|line| line.starts_with(CLOSING))
        .ok_or_else(|| {
            "mini-hv printed no closing line ('[L0] round trips: R, L0 entries: E, entries per \
             round trip: X.Y')"
                .to_string()
        })?;
    parse_closing(line).ok_or_else(|| format!("mini-hv's closing line is malformed: '{line}'"))
}

fn parse_closing(line: &str) -> Option<Counts> {
    let rest = line.strip_prefix(CLOSING)?;
    let (round_trips, rest) = rest.split_once(", L0 entries: ")?;
    let (entries, rest) = rest.split_once(", entries per round trip: ")?;
    let per_round_trip = rest.split(", ").next()?;
    Some(Counts {
        round_trips: round_trips.parse().ok()?,
        entries: entries.parse().ok()?,
        per_round_trip: per_round_trip.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {

    fn counts(round_trips: u64, entries: u64) -> Counts {
        Counts {
            round_trips,
            entries,
            per_round_trip: 0.0,
        }
    }

    #[test]
    fn nacl_must_save_entries_over_the_same_round_trips() {
        assert!(saves(&counts(146, 301), &counts(146, 308)).is_ok());
        assert!(saves(&counts(146, 308), &counts(146, 308)).is_err());
        assert!(saves(&counts(145, 300), &counts(146, 308)).is_err());
        assert!(saves(&counts(0, 0), &counts(0, 1)).is_err());
    }

    use super::{Counts, closing_counts, parse_closing, saves};

    #[test]
    fn closing_line_gives_round_trips_entries_and_their_ratio() {
        let line = "[L0] round trips: 1000, L0 entries: 3500, entries per round trip: 3.5";
        assert_eq!(
            parse_closing(line),
            Some(Counts {
                round_trips: 1000,
                entries: 3500,
                per_round_trip: 3.5
            })
        );
    }

    #[test]
    fn fields_after_the_ratio_are_left_aside() {
        let line = "[L0] round trips: 4, L0 entries: 10, entries per round trip: 2.5, fewest: 2";
        let counts = parse_closing(line).unwrap();
        assert_eq!((counts.entries, counts.per_round_trip), (10, 2.5));
    }

    #[test]
    fn malformed_closing_lines_are_refused() {
        for line in [
            "[L0] round trips: 10, L0 entries: 35",
            "[L0] round trips: ten, L0 entries: 35, entries per round trip: 3.5",
            "[L0] round trips: 10, L0 entries: 35, entries per round trip: 3.5 (NACL)",
        ] {
            assert_eq!(parse_closing(line), None, "{line}");
        }
    }

    #[test]
    fn the_last_closing_line_of_the_transcript_counts() {
        let transcript = [
            "L1: done",
            "[L0] round trips: 1, L0 entries: 9, entries per round trip: 9.0",
            "[L0] round trips: 2, L0 entries: 9, entries per round trip: 4.5",
        ]
        .map(String::from);
        assert_eq!(closing_counts(&transcript).unwrap().round_trips, 2);
    }

    #[test]
    fn a_transcript_without_the_closing_line_is_an_error_saying_so() {
        let transcript = ["L1: done".to_string()];
        let error = closing_counts(&transcript).unwrap_err();
        assert!(error.contains("no closing line"), "{error}");
    }
}
