//! The books of a generated period: every ratio of the calibration bands, per product and per
//! country, from the rows. Prints one line per ratio with its band.
//!
//! Usage: `cargo run --release -p mouvements-generator --example books -- [ROWS] [FROM] [TO]`

use mouvements_generator::{Generator, GeneratorConfig, Period};
use mouvements_schema::calibration::{Ratio, band_for};
use mouvements_schema::{Pays, Produit, TypeOp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let from = args.next().map_or(Ok(Period::default().start), |a| a.parse())?;
    let to = args.next().map_or(Ok(Period::default().end), |a| a.parse())?;
    let generator = Generator::new(GeneratorConfig::new(42, rows, Period::new(from, to)?, 1, 0.0)?);
    // [type][produit][pays]: rows and sum of absolute cents.
    let mut cells = vec![[[(0u64, 0i128); 5]; 4]; 19];
    for row in generator.rows(0..rows) {
        let cell = &mut cells[row.type_op.index()][row.produit.index()][row.pays.index()];
        cell.0 += 1;
        cell.1 += i128::from(row.montant.cents().abs());
    }
    let total = |types: &[TypeOp], counted: bool, p: Produit, pays: Option<Pays>| -> f64 {
        let mut sum = 0.0;
        for t in types {
            for c in Pays::ALL.iter().filter(|c| pays.is_none_or(|x| x == **c)) {
                let (n, cents) = cells[t.index()][p.index()][c.index()];
                sum += if counted { n as f64 } else { cents as f64 / 100.0 };
            }
        }
        sum
    };
    for ratio in Ratio::ALL {
        for p in Produit::ALL {
            for pays in std::iter::once(None).chain(Pays::ALL.iter().map(|c| Some(*c))) {
                let Some(band) = band_for(ratio, *p, pays) else { continue };
                let (num, nc) = ratio.numerator(*p);
                let (den, dc) = ratio.denominator();
                let value = total(num, nc, *p, pays) / total(den, dc, *p, pays);
                let ok = (band.low..=band.high).contains(&value);
                println!(
                    "{:<28} {:<10} {:<3} {:>8.4}  [{:.4}, {:.4}] {}",
                    ratio.name(),
                    p.label(),
                    pays.map_or("", |c| c.label()),
                    value,
                    band.low,
                    band.high,
                    if ok { "ok" } else { "OUT" }
                );
            }
        }
    }
    Ok(())
}
