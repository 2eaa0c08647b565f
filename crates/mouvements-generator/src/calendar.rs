//! The calendar: which day each row falls on. Rows are spread over the period in proportion to
//! each day's weight (weekdays busier than weekends, month starts busier still), in row order,
//! so dates never decrease as ids grow. A row's day depends only on its index.

use chrono::{Datelike, NaiveDate, Weekday};
use mouvements_schema::tables::{DAY_WEIGHTS, MONTH_START_DAY_FACTOR_PCT, MONTH_START_LAST_DAY};

use crate::Period;

/// One day of the period and the rows it holds.
#[derive(Debug, Clone)]
pub struct Day {
    /// The date.
    pub date: NaiveDate,
    /// `,YYYY-MM-DD` as written in the CSV after the id, padded for the encoder.
    pub text: crate::encoder::DateText,
    /// Whether cotisations peak on this day.
    pub month_start: bool,
    /// First row index of the day.
    pub first_row: u64,
}

/// The days of a period with the row index each one starts at.
#[derive(Debug, Clone)]
pub struct Calendar {
    days: Vec<Day>,
    rows: u64,
}

/// Relative activity of a date.
fn day_weight(date: NaiveDate) -> u64 {
    let base = match date.weekday() {
        Weekday::Sat => DAY_WEIGHTS.saturday,
        Weekday::Sun => DAY_WEIGHTS.sunday,
        _ => DAY_WEIGHTS.weekday,
    };
    let factor = if date.day() <= MONTH_START_LAST_DAY { MONTH_START_DAY_FACTOR_PCT } else { 100 };
    u64::from(base) * u64::from(factor)
}

impl Calendar {
    /// Spreads `rows` over `period`.
    pub fn new(period: Period, rows: u64) -> Self {
        let dates: Vec<NaiveDate> = period.start.iter_days().take(period.days() as usize).collect();
        let total: u128 = dates.iter().map(|d| u128::from(day_weight(*d))).sum();
        let mut cumulative: u128 = 0;
        let days = dates
            .into_iter()
            .map(|date| {
                // The first row whose midpoint, (row + 0.5) / rows, lies past the days before.
                let twice = 2 * u128::from(rows) * cumulative;
                let first_row = twice.saturating_sub(total).div_ceil(2 * total) as u64;
                cumulative += u128::from(day_weight(date));
                let text = crate::encoder::DateText::new(date);
                Day { date, text, month_start: date.day() <= MONTH_START_LAST_DAY, first_row }
            })
            .collect();
        Self { days, rows }
    }

    /// Index of the day holding `row`.
    pub fn day_index(&self, row: u64) -> usize {
        self.days.partition_point(|d| d.first_row <= row) - 1
    }

    /// The day at `index`.
    pub fn day(&self, index: usize) -> &Day {
        &self.days[index]
    }

    /// First row after the day at `index` (the dataset's row count for the last day).
    pub fn end_row(&self, index: usize) -> u64 {
        self.days.get(index + 1).map_or(self.rows, |d| d.first_row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_cover_every_day_in_order() {
        let cal = Calendar::new(Period::default(), 1_000_000);
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
        let cal = Calendar::new(Period::default(), 1_000_000);
        // 2025-06-10 is a Tuesday, 2025-06-15 a Sunday.
        let rows_on = |day: usize| cal.end_row(day) - cal.day(day).first_row;
        assert!(rows_on(9) > 5 * rows_on(14));
    }

    #[test]
    fn a_single_row_lands_inside_the_period() {
        let cal = Calendar::new(Period::default(), 1);
        let i = cal.day_index(0);
        assert!(cal.day(i).first_row == 0 && cal.end_row(i) == 1);
    }
}
