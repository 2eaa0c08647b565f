//! Distribution tests on a large sample: the data looks like the business tables say.

use std::collections::HashMap;

use chrono::{Datelike, Weekday};
use mouvements_generator::{Generator, GeneratorConfig};
use mouvements_schema::tables::{PAYS, PRODUITS};
use mouvements_schema::{Mouvement, Pays, Produit, TypeOp};

const ROWS: u64 = 1_000_000;

fn sample() -> Vec<Mouvement> {
    Generator::new(GeneratorConfig::with_rows(7, ROWS).unwrap()).rows(0..ROWS).collect()
}

fn share<K: Eq + std::hash::Hash>(rows: &[Mouvement], key: impl Fn(&Mouvement) -> K) -> HashMap<K, f64> {
    let mut counts = HashMap::new();
    for r in rows {
        *counts.entry(key(r)).or_insert(0.0) += 1.0;
    }
    for c in counts.values_mut() {
        *c /= rows.len() as f64;
    }
    counts
}

#[test]
fn products_and_countries_follow_their_weights() {
    let rows = sample();
    let produit = share(&rows, |r| r.produit);
    for p in PRODUITS {
        let expected = f64::from(p.weight) / 100.0;
        assert!((produit[&p.produit] - expected).abs() < 0.005, "{}: {}", p.produit, produit[&p.produit]);
    }
    let pays = share(&rows, |r| r.pays);
    for p in PAYS {
        let expected = f64::from(p.weight) / 100.0;
        assert!((pays[&p.pays] - expected).abs() < 0.005, "{}: {}", p.pays, pays[&p.pays]);
    }
}

#[test]
fn every_type_and_product_occurs_and_agency_country_holds() {
    let rows = sample();
    let types = share(&rows, |r| r.type_op);
    assert_eq!(types.len(), TypeOp::ALL.len());
    assert_eq!(share(&rows, |r| r.produit).len(), Produit::ALL.len());
    assert_eq!(share(&rows, |r| r.agence_id).len(), 50);
    assert!(rows.iter().all(|r| r.agence_id.pays() == r.pays));
    assert!(rows.iter().all(|r| r.type_op != TypeOp::Rachat || r.produit == Produit::Vie));
}

#[test]
fn weekdays_are_busier_than_weekends() {
    let rows = sample();
    let per_day = share(&rows, |r| r.date_op);
    let mean = |pick: &dyn Fn(Weekday) -> bool| {
        let days: Vec<f64> =
            per_day.iter().filter(|(d, _)| d.day() > 5 && pick(d.weekday())).map(|(_, s)| *s).collect();
        days.iter().sum::<f64>() / days.len() as f64
    };
    let weekday = mean(&|w| !matches!(w, Weekday::Sat | Weekday::Sun));
    let weekend = mean(&|w| matches!(w, Weekday::Sat | Weekday::Sun));
    assert!(weekday / weekend > 3.0 && weekday / weekend < 7.0, "{weekday} / {weekend}");
}

#[test]
fn cotisations_peak_at_the_start_of_the_month() {
    let rows = sample();
    let cotisation_share = |early: bool| {
        let days: Vec<&Mouvement> = rows.iter().filter(|r| (r.date_op.day() <= 5) == early).collect();
        days.iter().filter(|r| r.type_op == TypeOp::Cotisation).count() as f64 / days.len() as f64
    };
    assert!(cotisation_share(true) > 1.5 * cotisation_share(false));
}

#[test]
fn amounts_are_centred_on_their_medians_with_long_right_tails() {
    let rows = sample();
    // French health care lines: a log-normal of median 38 € (calibration::figures).
    let mut lines: Vec<i64> = rows
        .iter()
        .filter(|r| r.type_op == TypeOp::Remboursement && r.produit == Produit::Sante && r.pays == Pays::Fr)
        .map(|r| -r.montant.cents())
        .collect();
    lines.sort_unstable();
    let median = lines[lines.len() / 2];
    let p99 = lines[lines.len() * 99 / 100];
    assert!((median - 3_800).abs() < 80, "median {median}");
    assert!(p99 > 3 * median, "p99 {p99}");
}

#[test]
fn anomaly_share_matches_the_rate() {
    let generator = Generator::new(GeneratorConfig::with_rows(7, ROWS).unwrap());
    let count = generator.anomalies(0..ROWS).count() as f64;
    // Expected 1000 at 0.001; five standard deviations is about 160.
    assert!((count - 1000.0).abs() < 160.0, "{count}");
}
