//! Property tests: determinism, range and shard independence, domain validity, CSV round trip.

use chrono::NaiveDate;
use mouvements_generator::{Generator, GeneratorConfig, Period};
use mouvements_schema::{CSV_HEADER, Mouvement};
use proptest::prelude::*;

fn csv(generator: &Generator, range: std::ops::Range<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    generator.write_csv(range, false, &mut out).unwrap();
    out
}

prop_compose! {
    fn configs()(
        seed in any::<u64>(),
        rows in 1u64..30_000,
        start_day in 0u32..3000,
        days in 1u32..120,
        first_id in prop_oneof![Just(1u64), 0u64..20_000_000],
        anomaly_rate in prop_oneof![Just(0.0), Just(1.0), 0.0f64..0.2],
    ) -> GeneratorConfig {
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(start_day.into());
        let period = Period::new(start, start + chrono::Days::new((days - 1).into())).unwrap();
        GeneratorConfig::new(seed, rows, period, first_id, anomaly_rate).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_range_split_encodes_to_the_same_bytes(config in configs(), cut in (0.0f64..1.0, 0.0f64..1.0)) {
        let g = Generator::new(config);
        let rows = config.rows();
        let (x, y) = ((cut.0 * rows as f64) as u64, (cut.1 * rows as f64) as u64);
        let (a, b) = (x.min(y), x.max(y));
        let mut split = csv(&g, 0..a);
        split.extend(csv(&g, a..b));
        split.extend(csv(&g, b..rows));
        prop_assert_eq!(split, csv(&g, 0..rows));
    }

    #[test]
    fn concatenated_shards_do_not_depend_on_shard_count(config in configs(), count in 1u32..12) {
        let g = Generator::new(config);
        let whole = csv(&g, 0..config.rows());
        let sharded: Vec<u8> = g.shards(count).into_iter().flat_map(|s| csv(&g, s.rows)).collect();
        prop_assert_eq!(sharded, whole);
    }

    #[test]
    fn every_row_is_in_domain_and_in_order(config in configs()) {
        let g = Generator::new(config);
        let mut previous: Option<Mouvement> = None;
        for (i, row) in g.rows(0..config.rows()).enumerate() {
            prop_assert_eq!(row.id_mouvement.0, config.first_id() + i as u64);
            prop_assert!(config.period().contains(row.date_op), "{} outside", row.date_op);
            prop_assert_eq!(row.check_consistency(), Ok(()), "{:?}", row);
            if let Some(p) = previous {
                prop_assert!(p.date_op <= row.date_op);
            }
            previous = Some(row);
        }
    }

    #[test]
    fn csv_reads_back_into_the_same_rows(config in configs()) {
        let g = Generator::new(config);
        let mut bytes = Vec::new();
        g.write_csv(0..config.rows(), true, &mut bytes).unwrap();
        prop_assert!(bytes.starts_with(CSV_HEADER.as_bytes()));
        let read: Vec<Mouvement> = csv::Reader::from_reader(bytes.as_slice())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        let generated: Vec<Mouvement> = g.rows(0..config.rows()).collect();
        prop_assert_eq!(read, generated);
    }

    #[test]
    fn csv_values_never_need_quoting(config in configs()) {
        let g = Generator::new(config);
        let bytes = csv(&g, 0..config.rows());
        let text = std::str::from_utf8(&bytes).unwrap();
        for line in text.lines() {
            prop_assert_eq!(line.split(',').count(), 7, "{}", line);
            prop_assert!(!line.contains(['"', '\r']));
        }
    }

    #[test]
    fn different_seeds_give_different_data(config in configs(), other in any::<u64>()) {
        prop_assume!(other != config.seed() && config.rows() >= 20);
        let changed = GeneratorConfig::new(other, config.rows(), config.period(), config.first_id(), config.anomaly_rate()).unwrap();
        prop_assert_ne!(csv(&Generator::new(config), 0..20), csv(&Generator::new(changed), 0..20));
    }

    #[test]
    fn anomaly_labels_are_the_rows_with_exceptional_amounts(config in configs()) {
        let g = Generator::new(config);
        let rows: Vec<Mouvement> = g.rows(0..config.rows()).collect();
        for a in g.anomalies(0..config.rows()) {
            let row = rows[(a.id_mouvement.0 - config.first_id()) as usize];
            prop_assert_eq!(row.montant, a.montant);
            // Exceptional: beyond the ordinary amount, with its sign.
            prop_assert_eq!(a.montant.cents().signum(), a.usual_montant.cents().signum());
            prop_assert!(a.montant.cents().abs() > a.usual_montant.cents().abs(), "{:?}", a);
            prop_assert!(a.ratio_hundredths() >= 100);
        }
    }
}
