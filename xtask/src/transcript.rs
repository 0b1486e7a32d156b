//! Comparing two transcripts of one program: run directly on QEMU and nested under `mini-hv`,
//! it must observe the same (examples/README.md, "Transcripts").

use crate::divergences::Divergence;

/// The lines a program itself prints about what it observed; all others are not compared.
const COMPARED: [&str; 3] = ["L1: ", "L2: ", "WARL: "];
/// Unchanged lines shown around each difference.
const CONTEXT: usize = 3;

/// The lines of a transcript that a differential run compares, in order.
pub fn compared(transcript: &[String]) -> Vec<&str> {
    transcript
        .iter()
        .map(String::as_str)
        .filter(|line| COMPARED.iter().any(|prefix| line.starts_with(prefix)))
        .collect()
}

/// One step of the alignment of the direct lines with the nested lines.
#[derive(Clone, Copy)]
enum Step {
    /// Equal, or different exactly as a known divergence says.
    Both(usize, usize),
    OnlyDirect(usize),
    OnlyNested(usize),
}

/// Compares the compared lines of a direct and a nested run. Lines must be equal, or differ
/// exactly as a row of `known` says: the rows used on success, a unified-diff-like report
/// otherwise.
pub fn compare<'k>(
    direct: &[&str],
    nested: &[&str],
    known: &'k [Divergence],
) -> Result<Vec<&'k Divergence>, String> {
    let matches = |d: &str, n: &str| d == n || known.iter().any(|row| row.explains(d, n));
    let steps = align(direct, nested, matches);
    let used = steps
        .iter()
        .filter_map(|&step| match step {
            Step::Both(i, j) if direct[i] != nested[j] => {
                known.iter().find(|row| row.explains(direct[i], nested[j]))
            }
            _ => None,
        })
        .collect();
    if steps.iter().all(|step| matches!(step, Step::Both(..))) {
        Ok(used)
    } else {
        Err(report(&steps, direct, nested, &used))
    }
}

/// A longest common subsequence under `matches`, as steps.
fn align(direct: &[&str], nested: &[&str], matches: impl Fn(&str, &str) -> bool) -> Vec<Step> {
    let (n, m) = (direct.len(), nested.len());
    // common[i][j]: length of the longest common subsequence of direct[i..] and nested[j..].
    let mut common = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if matches(direct[i], nested[j]) {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut steps) = (0, 0, Vec::new());
    while i < n || j < m {
        let step = if i < n && j < m && matches(direct[i], nested[j]) {
            Step::Both(i, j)
        } else if j == m || (i < n && common[i + 1][j] >= common[i][j + 1]) {
            Step::OnlyDirect(i)
        } else {
            Step::OnlyNested(j)
        };
        i += usize::from(!matches!(step, Step::OnlyNested(_)));
        j += usize::from(!matches!(step, Step::OnlyDirect(_)));
        steps.push(step);
    }
    steps
}

/// `-` for a direct line missing from the nested run, `+` for a nested line missing from the
/// direct run, `CONTEXT` matched lines around each (`~` for both lines of a known divergence),
/// `@@ -i +j @@` at each hunk (1-based positions among the compared lines), then the
/// divergences used.
fn report(steps: &[Step], direct: &[&str], nested: &[&str], used: &[&Divergence]) -> String {
    let changed: Vec<bool> = steps.iter().map(|s| !matches!(s, Step::Both(..))).collect();
    let near_change = |k: usize| {
        changed[k.saturating_sub(CONTEXT)..steps.len().min(k + CONTEXT + 1)].contains(&true)
    };
    let mut out = vec![
        "--- direct (QEMU's H extension)".to_string(),
        "+++ nested (under mini-hv)".to_string(),
    ];
    if !used.is_empty() {
        out.push("~~~ a known divergence: the direct line, then the nested line".to_string());
    }
    let (mut i, mut j) = (0, 0);
    for (k, &step) in steps.iter().enumerate() {
        if near_change(k) {
            if k == 0 || !near_change(k - 1) {
                out.push(format!("@@ -{} +{} @@", i + 1, j + 1));
            }
            match step {
                Step::Both(d, n) if direct[d] != nested[n] => {
                    out.extend([format!("~{}", direct[d]), format!("~{}", nested[n])]);
                }
                Step::Both(d, _) => out.push(format!(" {}", direct[d])),
                Step::OnlyDirect(d) => out.push(format!("-{}", direct[d])),
                Step::OnlyNested(n) => out.push(format!("+{}", nested[n])),
            }
        }
        i += usize::from(!matches!(step, Step::OnlyNested(_)));
        j += usize::from(!matches!(step, Step::OnlyDirect(_)));
    }
    out.extend(
        used.iter()
            .map(|row| format!("known divergence used: {row}")),
    );
    out.push(String::new());
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::{compare, compared};
    use crate::divergences::{Divergence, KNOWN};

    const HGATP_BARE: &str = "WARL: csr 0x680 write 0xffffffffffffffff read 0x0000000000000000";
    const HGATP_SV39: &str = "WARL: csr 0x680 write 0x83fff00000080003 read 0x83fff00000080003";
    const HGATP_MODE_7_ON_QEMU: &str =
        "WARL: csr 0x680 write 0x7000000000000000 read 0x83fff00000080003";
    const HGATP_MODE_7_ON_ENGINE: &str =
        "WARL: csr 0x680 write 0x7000000000000000 read 0x8000000000000000";

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn only_lines_of_what_a_program_observed_are_compared() {
        let transcript = lines(
            "OpenSBI v1.5.1\n[L0] mini-hv on hart 0\nL1: start\n[L1] NACL offered\n\
             L2: hello\nWARL: done\n[L0] round trips: 3, L0 entries: 9, entries per round trip: 3.0",
        );
        assert_eq!(
            compared(&transcript),
            ["L1: start", "L2: hello", "WARL: done"]
        );
    }

    #[test]
    fn equal_lines_match_without_divergences() {
        let run = [HGATP_BARE, HGATP_SV39, "WARL: done"];
        assert!(compare(&run, &run, &KNOWN).unwrap().is_empty());
    }

    #[test]
    fn a_known_divergence_lets_exactly_its_lines_differ_and_is_reported() {
        let direct = [HGATP_SV39, HGATP_MODE_7_ON_QEMU, "WARL: done"];
        let nested = [HGATP_SV39, HGATP_MODE_7_ON_ENGINE, "WARL: done"];
        let used = compare(&direct, &nested, &KNOWN).unwrap();
        assert_eq!(used.len(), 1);
        assert_eq!(
            (used[0].csr, used[0].written),
            (0x680, 0x7000_0000_0000_0000)
        );
    }

    #[test]
    fn a_divergence_is_not_used_the_other_way_round() {
        let direct = [HGATP_MODE_7_ON_ENGINE];
        let nested = [HGATP_MODE_7_ON_QEMU];
        assert!(compare(&direct, &nested, &KNOWN).is_err());
    }

    #[test]
    fn a_read_back_no_row_explains_is_a_mismatch_shown_as_a_diff() {
        let other = Divergence {
            csr: 0x680,
            written: 0x7000_0000_0000_0000,
            qemu: 0x83ff_f000_0008_0003,
            engine: 0x1,
            reason: "test",
        };
        let direct = [HGATP_BARE, HGATP_MODE_7_ON_QEMU, "WARL: done"];
        let nested = [HGATP_BARE, HGATP_MODE_7_ON_ENGINE, "WARL: done"];
        let report = compare(&direct, &nested, std::slice::from_ref(&other)).unwrap_err();
        assert_eq!(
            report,
            format!(
                "--- direct (QEMU's H extension)\n+++ nested (under mini-hv)\n@@ -1 +1 @@\n \
                 {HGATP_BARE}\n-{HGATP_MODE_7_ON_QEMU}\n+{HGATP_MODE_7_ON_ENGINE}\n WARL: done\n"
            )
        );
    }

    #[test]
    fn a_missing_line_is_a_mismatch_with_context_around_it() {
        let direct: Vec<String> = (0..12).map(|k| format!("L2: step {k}")).collect();
        let direct: Vec<&str> = direct.iter().map(String::as_str).collect();
        let mut nested = direct.clone();
        nested.remove(6);
        let report = compare(&direct, &nested, &[]).unwrap_err();
        let body: Vec<&str> = report.lines().skip(2).collect();
        assert_eq!(
            body,
            [
                "@@ -4 +4 @@",
                " L2: step 3",
                " L2: step 4",
                " L2: step 5",
                "-L2: step 6",
                " L2: step 7",
                " L2: step 8",
                " L2: step 9",
            ]
        );
    }

    #[test]
    fn the_report_of_a_mismatch_lists_the_divergences_used() {
        let direct = [HGATP_MODE_7_ON_QEMU, "L1: done"];
        let nested = [HGATP_MODE_7_ON_ENGINE];
        let report = compare(&direct, &nested, &KNOWN).unwrap_err();
        let body: Vec<&str> = report.lines().skip(3).collect();
        assert_eq!(
            body[..4],
            [
                "@@ -1 +1 @@",
                &format!("~{HGATP_MODE_7_ON_QEMU}"),
                &format!("~{HGATP_MODE_7_ON_ENGINE}"),
                "-L1: done",
            ]
        );
        assert!(body[4].starts_with("known divergence used: csr 0x680 write 0x7000000000000000"));
    }
}
