//! The calendar: which day each row falls on. Rows are spread over the period in proportion to
//! each day's weight (weekdays busier than weekends, month starts busier still, the month's
//! season, and a gentle growth from the start of the period), in row order, so dates never
//! decrease as ids grow. A row's day depends only on its index.
//!
//! A config with a late rate also has *late* rows: a keyed draw of the row's index (apart from
//! the row's random stream, so every other column stays as it was) picks that share of rows,
//! and dates each one on a day of the [`LATE_DAYS`](mouvements_schema::LATE_DAYS) before the
//! period, evenly: new movements booked in an earlier month, delivered with this one. Only the
//! rows dated inside the period keep the order.

use chrono::{Datelike, NaiveDate, Weekday};
use mouvements_schema::calibration::SEASONS;
use mouvements_schema::tables::{DAY_WEIGHTS, MONTH_START_DAY_FACTOR_PCT, MONTH_START_LAST_DAY};

use crate::GeneratorConfig;
#[cfg(test)]
use crate::Period;
use crate::changes::mix;

/// One day of the period and the rows it holds.
#[derive(Debug, Clone)]
pub struct Day {
    /// The date.
    pub date: NaiveDate,
    /// `,YYYY-MM-DD` as written in the CSV after the id, padded for the encoder.
    pub text: crate::encoder::DateText,
    /// Whether cotisations peak on this day.
    pub month_start: bool,
    /// Its month, 0 for January: which season's type mix it has.
    pub month0: u32,
    /// First row index of the day.
    pub first_row: u64,
}

impl Day {
    /// `date`, its first row `first_row`.
    fn on(date: NaiveDate, first_row: u64) -> Self {
        let text = crate::encoder::DateText::new(date);
        let month_start = date.day() <= MONTH_START_LAST_DAY;
        Day { date, text, month_start, month0: date.month0(), first_row }
    }
}

/// The share of a month's rows on its start days for an average month (30.44 days, 5/7 of
/// them weekdays): 5 × 1.6 over 5 × 1.6 + 25.44.
const AVERAGE_START_SHARE: f64 = 0.239;

/// The days of a period with the row index each one starts at, then the days late rows are
/// dated on.
#[derive(Debug, Clone)]
pub struct Calendar {
    days: Vec<Day>,
    /// How many of `days` are the period's.
    period_days: usize,
    rows: u64,
    /// A row is late when 32 bits of its late draw fall below this (0: no late row).
    late_threshold: u64,
    /// The key of the late draws.
    late_key: u64,
}

/// Relative activity of a date, `years` after the period's start, in millionths (only the
/// ratios matter; whole numbers keep the split exact).
fn day_weight(date: NaiveDate, years: f64) -> u64 {
    let base = match date.weekday() {
        Weekday::Sat => DAY_WEIGHTS.saturday,
        Weekday::Sun => DAY_WEIGHTS.sunday,
        _ => DAY_WEIGHTS.weekday,
    };
    let factor = if date.day() <= MONTH_START_LAST_DAY { MONTH_START_DAY_FACTOR_PCT } else { 100 };
    let season = SEASONS.volume[date.month0() as usize] * (1.0 + SEASONS.growth_per_year * years);
    (f64::from(base * factor) * season * 1e6).round() as u64
}

impl Calendar {
    /// Spreads the rows of `config` over its period, and its late rows over the days before.
    pub fn new(config: &GeneratorConfig) -> Self {
        let (period, rows) = (config.period(), config.rows());
        let dates: Vec<NaiveDate> = period.start.iter_days().take(period.days() as usize).collect();
        let years = |date: &NaiveDate| (*date - period.start).num_days() as f64 / 365.25;
        let total: u128 = dates.iter().map(|d| u128::from(day_weight(*d, years(d)))).sum();
        let mut cumulative: u128 = 0;
        let days = dates
            .into_iter()
            .map(|date| {
                // The first row whose midpoint, (row + 0.5) / rows, lies past the days before.
                let twice = 2 * u128::from(rows) * cumulative;
                let first_row = twice.saturating_sub(total).div_ceil(2 * total) as u64;
                cumulative += u128::from(day_weight(date, years(&date)));
                Day::on(date, first_row)
            })
            .collect::<Vec<_>>();
        let period_days = days.len();
        // Late rows' days hold no row of the period's: they start past the last.
        let late = config.dated_within().start.iter_days().take_while(|d| *d < period.start);
        let late = late.map(|date| Day::on(date, rows));
        Self {
            days: days.into_iter().chain(late).collect(),
            period_days,
            rows,
            late_threshold: (config.late_rate() * f64::from(1u32 << 31) * 2.0).round() as u64,
            late_key: mix(config.seed() ^ 0x6C61_7465_2072_6F77),
        }
    }

    /// Index of the day holding `row` in the period (a late row's date is [`Self::late_day`]).
    pub fn day_index(&self, row: u64) -> usize {
        self.days[..self.period_days].partition_point(|d| d.first_row <= row) - 1
    }

    /// Whether the config has late rows.
    pub fn has_late_rows(&self) -> bool {
        self.late_threshold > 0
    }

    /// The index of the day `row` is dated on when it is a late row, `None` when it is not.
    #[inline]
    pub fn late_day(&self, row: u64) -> Option<usize> {
        let late_days = (self.days.len() - self.period_days) as u64;
        let draw = mix(self.late_key ^ mix(row));
        (u64::from(draw as u32) < self.late_threshold && late_days > 0)
            .then(|| self.period_days + ((draw >> 32) % late_days) as usize)
    }

    /// The day at `index`.
    pub fn day(&self, index: usize) -> &Day {
        &self.days[index]
    }

    /// Per month (0 = January), the share of its rows on its month-start days, over the
    /// period; an average month's where the period has no day of that month.
    pub fn month_start_shares(&self) -> [f64; 12] {
        let (mut start, mut all) = ([0u64; 12], [0u64; 12]);
        for (i, day) in self.days[..self.period_days].iter().enumerate() {
            let rows = self.end_row(i) - day.first_row;
            all[day.month0 as usize] += rows;
            if day.month_start {
                start[day.month0 as usize] += rows;
            }
        }
        std::array::from_fn(
            |m| if all[m] > 0 { start[m] as f64 / all[m] as f64 } else { AVERAGE_START_SHARE },
        )
    }

    /// First row after the day at `index` (the dataset's row count for the last day).
    pub fn end_row(&self, index: usize) -> u64 {
        self.days[..self.period_days].get(index + 1).map_or(self.rows, |d| d.first_row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_cover_every_day_in_order() {
        let cal = Calendar::new(&GeneratorConfig::with_rows(1, 1_000_000).unwrap());
        assert_eq!(cal.day_index(0), 0);
        assert_eq!(cal.day(cal.day_index(999_999)).date, Period::default().end);
        let mut previous = 0;
        for row in (0..1_000_000).step_by(997) {
            let i = cal.day_index(row);
            assert!(i >= previous);
            assert!(cal.day(i).first_row <= row && row < cal.end_row(i));
            previous = i;
        }
    }

    #[test]
    fn a_weekday_holds_more_rows_than_a_sunday() {
        let cal = Calendar::new(&GeneratorConfig::with_rows(1, 1_000_000).unwrap());
        // 2025-06-10 is a Tuesday, 2025-06-15 a Sunday.
        let rows_on = |day: usize| cal.end_row(day) - cal.day(day).first_row;
        assert!(rows_on(9) > 5 * rows_on(14));
    }

    #[test]
    fn a_single_row_lands_inside_the_period() {
        let cal = Calendar::new(&GeneratorConfig::with_rows(1, 1).unwrap());
        let i = cal.day_index(0);
        assert!(cal.day(i).first_row == 0 && cal.end_row(i) == 1);
    }

    #[test]
    fn late_rows_are_dated_in_the_two_months_before_and_change_nothing_else() {
        let plain = GeneratorConfig::with_rows(7, 200_000).unwrap();
        let late = plain.with_late_rate(0.01).unwrap();
        let period = plain.period();
        assert_eq!(late.dated_within().start, period.start - chrono::Days::new(mouvements_schema::LATE_DAYS));
        let (a, b) = (crate::Generator::new(plain), crate::Generator::new(late));
        let (mut count, mut previous) = (0, period.start);
        for (row, (p, l)) in a.rows(0..200_000).zip(b.rows(0..200_000)).enumerate() {
            assert_eq!(crate::Mouvement { date_op: p.date_op, ..l }, p, "only the date moves");
            if l.date_op < period.start {
                count += 1;
                assert!(late.dated_within().contains(l.date_op), "row {row}: {}", l.date_op);
            } else {
                assert_eq!(l.date_op, p.date_op);
                assert!(l.date_op >= previous, "rows of the period keep their order");
                previous = l.date_op;
            }
        }
        assert!((1_800..2_200).contains(&count), "{count} late rows of 200000 at 1 %");
        assert_eq!(Calendar::new(&plain.with_late_rate(0.0).unwrap()).days.len(), period.days() as usize);
    }
}
