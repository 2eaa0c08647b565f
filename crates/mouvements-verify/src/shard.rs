//! Checking one shard as it streams past: header, line framing, every field, id and date
//! order, and, when asked, statistics and sample rows. Memory stays bounded by the longest
//! accepted line, whatever the shard's size or content.

use std::io::Read;

use chrono::NaiveDate;
use mouvements_schema::{CSV_HEADER, Mouvement};

use crate::digest::Digest;
use crate::line::parse_line;
use crate::lines::{Lines, MAX_LINE_BYTES, Next};
use crate::problems::{Problem, Problems};
use crate::stats::StatsBuilder;

/// What a shard is expected to hold.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Object name inside `raw/`.
    pub name: String,
    /// Id of its first row.
    pub first_id: u64,
    /// Days its dates must fall in (late rows' included).
    pub period: (NaiveDate, NaiveDate),
    /// The period's first day: rows dated from it on never go back in time (late rows, dated
    /// before, may stand anywhere).
    pub ordered_from: NaiveDate,
    /// Dataset row index of its first row.
    pub first_row: u64,
    /// Dataset row indices to keep as samples, ascending.
    pub sample_rows: Vec<u64>,
    /// Whether to collect statistics.
    pub stats: bool,
}

/// What a shard turned out to hold.
pub struct Outcome {
    /// Data rows read (well-formed or not).
    pub rows: u64,
    /// Ids of the first and last well-formed rows.
    pub ids: Option<(u64, u64)>,
    /// Dates of the first and last well-formed rows dated in the period (late rows aside).
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// What is wrong.
    pub problems: Problems,
    /// The sampled rows with their dataset row index.
    pub sample: Vec<(u64, Mouvement)>,
    /// Statistics, if asked.
    pub stats: Option<StatsBuilder>,
    /// The well-formed rows' digest, to compare the layers.
    pub digest: Digest,
}

/// Checks a shard's bytes against `expected`.
pub fn check(reader: impl Read, expected: &Expected) -> Outcome {
    let mut outcome = Outcome {
        rows: 0,
        ids: None,
        dates: None,
        problems: Problems::default(),
        sample: Vec::new(),
        stats: expected.stats.then(StatsBuilder::new),
        digest: Digest::default(),
    };
    let mut lines = Lines::new(reader);
    let problem =
        |line: u64, column, value: String| Problem { shard: expected.name.clone(), line, column, value };
    let mut line_number = 0u64;
    let mut date_cache = None;
    let mut samples = expected.sample_rows.iter().peekable();
    let mut expected_id = expected.first_id;
    loop {
        let next = match lines.next() {
            Ok(next) => next,
            Err(e) => {
                outcome.problems.add("shard.read_error", problem(line_number + 1, None, e.to_string()));
                break;
            }
        };
        line_number += 1;
        let terminated = match next {
            Next::End => break,
            Next::TooLong => {
                outcome
                    .problems
                    .add("line.too_long", problem(line_number, None, format!("over {MAX_LINE_BYTES} bytes")));
                if line_number > 1 {
                    outcome.rows += 1;
                }
                continue;
            }
            Next::Line { terminated } => terminated,
        };
        if !terminated {
            outcome
                .problems
                .add("shard.final_newline", problem(line_number, None, "the last line has no \\n".into()));
        }
        let line = lines.line();
        if line_number == 1 {
            if line != CSV_HEADER.trim_end().as_bytes() {
                let found = String::from_utf8_lossy(line).chars().take(80).collect();
                outcome.problems.add("shard.header", problem(1, None, found));
            }
            continue;
        }
        outcome.rows += 1;
        let row = match parse_line(line, &mut date_cache) {
            Ok(row) => row,
            Err(e) => {
                outcome.problems.add(e.rule, problem(line_number, e.column, e.value));
                expected_id += 1;
                continue;
            }
        };
        let (id, date) = (row.id_mouvement.0, row.date_op);
        if id != expected_id {
            let value = format!("{} where M{expected_id:07} was expected", row.id_mouvement);
            outcome.problems.add("id.sequence", problem(line_number, Some("id_mouvement"), value));
        }
        expected_id = id + 1;
        if date < expected.period.0 || date > expected.period.1 {
            let value = format!("{date} outside {} to {}", expected.period.0, expected.period.1);
            outcome.problems.add("date.period", problem(line_number, Some("date_op"), value));
        }
        if date >= expected.ordered_from {
            if let Some((_, previous)) = outcome.dates.filter(|(_, previous)| date < *previous) {
                let value = format!("{date} after {previous}");
                outcome.problems.add("date.order", problem(line_number, Some("date_op"), value));
            }
            outcome.dates = Some((outcome.dates.map_or(date, |(first, _)| first), date));
        }
        outcome.ids = Some((outcome.ids.map_or(id, |(first, _)| first), id));
        if let Some(stats) = outcome.stats.as_mut() {
            stats.add(&row);
        }
        outcome.digest.add(&row);
        let dataset_row = expected.first_row + outcome.rows - 1;
        while samples.next_if(|r| **r < dataset_row).is_some() {}
        if samples.next_if(|r| **r == dataset_row).is_some() {
            outcome.sample.push((dataset_row, row));
        }
    }
    // `line_number` counts the end too: 1 means not even a header (a shard of 0 rows still has one).
    if line_number == 1 && !outcome.problems.has("shard.read_error") {
        outcome.problems.add("shard.empty", problem(0, None, "the shard is empty: not even a header".into()));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn expected() -> Expected {
        let june = |d| NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
        Expected {
            name: "s".into(),
            first_id: 1,
            period: (june(1), june(30)),
            ordered_from: june(1),
            first_row: 0,
            sample_rows: vec![1],
            stats: false,
        }
    }

    const GOOD: &str = "id_mouvement,date_op,produit,type_op,montant,agence_id,pays\n\
        M0000001,2025-06-02,auto,cotisation,1250.50,AG_001,FR\n\
        M0000002,2025-06-02,vie,rachat,-8000.00,AG_023,ES\n";

    #[test]
    fn a_good_shard_has_no_problem_and_gives_its_sample() {
        let outcome = check(GOOD.as_bytes(), &expected());
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        assert_eq!(outcome.rows, 2);
        assert_eq!(outcome.sample.len(), 1);
        assert_eq!(outcome.ids.unwrap().1, 2);
    }

    #[test]
    fn framing_problems_are_found() {
        let cases: [(&[u8], &str); 5] = [
            (b"", "shard.empty"),
            (&GOOD.as_bytes()[..GOOD.len() - 1], "shard.final_newline"),
            (b"id,date\nM0000001,2025-06-02,auto,cotisation,1250.50,AG_001,FR\n", "shard.header"),
            (&[b'x'; 10_000], "line.too_long"),
            (b"id_mouvement,date_op,produit,type_op,montant,agence_id,pays\nM0000003,2025-06-02,auto,cotisation,1.00,AG_001,FR\n", "id.sequence"),
        ];
        for (bytes, rule) in cases {
            let outcome = check(bytes, &expected());
            assert!(outcome.problems.has(rule), "{rule}: {:?}", outcome.problems);
        }
    }

    proptest! {
        #[test]
        fn no_bytes_make_the_shard_check_panic(bytes in proptest::collection::vec(any::<u8>(), 0..6000)) {
            let _ = check(bytes.as_slice(), &expected());
        }

        #[test]
        fn damaged_good_shards_never_panic(cut in 0usize..GOOD.len(), byte in any::<u8>()) {
            let mut bytes = GOOD.as_bytes().to_vec();
            bytes[cut] = byte;
            let _ = check(bytes.as_slice(), &expected());
        }
    }
}
