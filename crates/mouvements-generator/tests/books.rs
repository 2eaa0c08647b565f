//! The books an analyst would check: on a month and on a full year, every ratio of the
//! calibration bands lands in its band for each product (and each country where a band is
//! given); the seasons show in a year; every type occurs for every product that has it; and
//! anomalies differ from ordinary rows by their size alone.

use chrono::{Datelike, NaiveDate};
use mouvements_generator::{Generator, GeneratorConfig, Period};
use mouvements_schema::calibration::{BANDS, Ratio};
use mouvements_schema::{Mouvement, Pays, Produit, TypeOp};

/// Rows and absolute amounts per `[type][produit][pays]`.
struct Books {
    cells: Vec<[[(u64, f64); 5]; 4]>,
}

impl Books {
    fn of(rows: impl Iterator<Item = Mouvement>) -> Self {
        let mut cells = vec![[[(0u64, 0f64); 5]; 4]; 19];
        for row in rows {
            let cell = &mut cells[row.type_op.index()][row.produit.index()][row.pays.index()];
            cell.0 += 1;
            cell.1 += row.montant.cents().unsigned_abs() as f64 / 100.0;
        }
        Self { cells }
    }

    fn total(&self, (types, counted): (&[TypeOp], bool), produit: Produit, pays: Option<Pays>) -> f64 {
        let mut sum = 0.0;
        for t in types {
            for c in Pays::ALL.iter().filter(|c| pays.is_none_or(|x| x == **c)) {
                let (n, euros) = self.cells[t.index()][produit.index()][c.index()];
                sum += if counted { n as f64 } else { euros };
            }
        }
        sum
    }

    fn ratio(&self, ratio: Ratio, produit: Produit, pays: Option<Pays>) -> f64 {
        self.total(ratio.numerator(produit), produit, pays) / self.total(ratio.denominator(), produit, pays)
    }

    /// Every band, checked; returns what is out.
    fn out_of_band(&self) -> Vec<String> {
        BANDS
            .iter()
            .filter_map(|b| {
                let value = self.ratio(b.ratio, b.produit, b.pays);
                (!(b.low..=b.high).contains(&value)).then(|| {
                    format!(
                        "{} {} {:?}: {value:.4} outside [{:.4}, {:.4}]",
                        b.ratio.name(),
                        b.produit,
                        b.pays,
                        b.low,
                        b.high
                    )
                })
            })
            .collect()
    }
}

fn generator(rows: u64, from: (i32, u32, u32), to: (i32, u32, u32), anomaly_rate: f64) -> Generator {
    let date = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let period = Period::new(date(from), date(to)).unwrap();
    Generator::new(GeneratorConfig::new(42, rows, period, 1, anomaly_rate).unwrap())
}

#[test]
fn every_ratio_is_in_its_band_on_a_month() {
    let g = generator(4_000_000, (2025, 6, 1), (2025, 6, 30), 0.0);
    let out = Books::of(g.rows(0..4_000_000)).out_of_band();
    assert!(out.is_empty(), "{out:#?}");
}

#[test]
fn every_ratio_is_in_its_band_on_a_year_and_the_seasons_show() {
    let rows = 6_000_000;
    let g = generator(rows, (2025, 1, 1), (2025, 12, 31), 0.0);
    let all: Vec<Mouvement> = g.rows(0..rows).collect();
    let out = Books::of(all.iter().copied()).out_of_band();
    assert!(out.is_empty(), "{out:#?}");

    // Per calendar month: rows of a type of a product over all rows of that product.
    let share = |produit: Produit, types: &[TypeOp], months: &[u32]| {
        let of_product = all.iter().filter(|r| r.produit == produit && months.contains(&r.date_op.month()));
        let (mut hits, mut total) = (0u64, 0u64);
        for r in of_product {
            total += 1;
            hits += u64::from(types.contains(&r.type_op));
        }
        hits as f64 / total as f64
    };
    let winter = [10, 11, 12, 1, 2, 3];
    let summer = [4, 5, 6, 7, 8, 9];
    let home_claims = [TypeOp::Indemnisation];
    assert!(
        share(Produit::Habitation, &home_claims, &winter)
            > 1.05 * share(Produit::Habitation, &home_claims, &summer)
    );
    let care = [TypeOp::Remboursement];
    assert!(share(Produit::Sante, &care, &[1, 2]) > 1.05 * share(Produit::Sante, &care, &[8]));
    let life_premiums = [TypeOp::Cotisation];
    for peak in [1, 7] {
        assert!(
            share(Produit::Vie, &life_premiums, &[peak]) > share(Produit::Vie, &life_premiums, &[8]),
            "{peak}"
        );
    }
    // The August lull and a growing year.
    let in_month = |m: u32| all.iter().filter(|r| r.date_op.month() == m).count() as f64;
    assert!(in_month(8) < 0.9 * in_month(7));
    // Rows per ordinary weekday (past the month start), in two months of the same season.
    let per_weekday = |m: u32| {
        let days: std::collections::BTreeSet<NaiveDate> = all
            .iter()
            .map(|r| r.date_op)
            .filter(|d| d.month() == m && d.day() > 5 && d.weekday().num_days_from_monday() < 5)
            .collect();
        let rows = all.iter().filter(|r| days.contains(&r.date_op)).count();
        rows as f64 / days.len() as f64
    };
    assert!(per_weekday(11) > 1.01 * per_weekday(3), "activity grows over the year");
}

#[test]
fn every_type_occurs_for_every_product_that_has_it() {
    let g = generator(1_000_000, (2025, 6, 1), (2025, 6, 30), 0.0);
    let books = Books::of(g.rows(0..1_000_000));
    for t in TypeOp::ALL {
        for p in Produit::ALL {
            let rows = books.total((&[*t], true), *p, None);
            assert_eq!(rows > 0.0, t.allowed_for(*p), "{t} for {p}: {rows} rows");
        }
    }
}

/// Pearson's chi-square statistic of two samples of counts over the same categories.
fn chi_square(a: &[u64], b: &[u64]) -> f64 {
    let (na, nb) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
    a.iter()
        .zip(b)
        .filter(|(x, y)| **x + **y > 0)
        .map(|(x, y)| {
            let total = (*x + *y) as f64;
            let (ea, eb) = (total * na / (na + nb), total * nb / (na + nb));
            (*x as f64 - ea).powi(2) / ea + (*y as f64 - eb).powi(2) / eb
        })
        .sum()
}

#[test]
fn anomalies_differ_from_ordinary_rows_by_their_size_alone() {
    let rows = 1_000_000;
    let g = generator(rows, (2025, 6, 1), (2025, 6, 30), 0.05);
    let labelled: std::collections::HashSet<u64> = g.anomalies(0..rows).map(|a| a.id_mouvement.0).collect();
    assert!(labelled.len() > 45_000);
    // Counts per category, [ordinary, anomalous].
    let mut cents = [[0u64; 10], [0u64; 10]];
    let mut whole = [[0u64; 2], [0u64; 2]];
    let mut weekdays = [[0u64; 7], [0u64; 7]];
    let mut agencies = [[0u64; 50], [0u64; 50]];
    for r in g.rows(0..rows) {
        let k = usize::from(labelled.contains(&r.id_mouvement.0));
        let c = r.montant.cents().unsigned_abs();
        cents[k][(c % 10) as usize] += 1;
        whole[k][usize::from(c % 100 == 0)] += 1;
        weekdays[k][r.date_op.weekday().num_days_from_monday() as usize] += 1;
        agencies[k][r.agence_id.index()] += 1;
    }
    // 99.9th percentiles of chi-square with 9, 1, 6 and 49 degrees of freedom.
    for (what, statistic, limit) in [
        ("last cent digit", chi_square(&cents[0], &cents[1]), 27.88),
        ("whole euros", chi_square(&whole[0], &whole[1]), 10.83),
        ("weekday", chi_square(&weekdays[0], &weekdays[1]), 22.46),
        ("agency", chi_square(&agencies[0], &agencies[1]), 85.35),
    ] {
        assert!(statistic < limit, "{what}: chi-square {statistic:.1} above {limit}");
    }
}
