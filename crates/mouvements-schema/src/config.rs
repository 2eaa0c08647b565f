//! `GeneratorConfig`: the inputs the data is a pure function of, validated once at
//! construction, and the domain they live in. The generator accepts exactly the configs the
//! verifier can prove: ids that fit the id column, dates with four-digit years. A config read
//! back from a manifest goes through the same checks (serde calls the validating constructors).

use chrono::{Datelike, NaiveDate};

use crate::MouvementId;

/// Longest period accepted, in days (the calendar table holds one entry per day).
pub const MAX_PERIOD_DAYS: i64 = 366 * 100;

/// The highest change rate of an appended load: change events per new row it delivers.
pub const MAX_CHANGE_RATE: f64 = 0.5;

/// How many days before its period a late row can be dated: two months.
pub const LATE_DAYS: u64 = 61;

/// Largest dataset accepted, in rows (ids and byte counts stay far from overflow).
pub const MAX_ROWS: u64 = 1 << 48;

/// Years a date may take: four digits, as `date_op` is written `YYYY-MM-DD` (and Spark's
/// `DATE` starts at year 1).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// A closed range of days, `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawPeriod")]
pub struct Period {
    /// First day.
    pub start: NaiveDate,
    /// Last day, inclusive.
    pub end: NaiveDate,
}

impl Period {
    /// The period from `start` to `end`, both inclusive.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, ConfigError> {
        for date in [start, end] {
            if !YEARS.contains(&date.year()) {
                return Err(ConfigError::YearOutOfRange { date });
            }
        }
        if end < start {
            return Err(ConfigError::ReversedPeriod { start, end });
        }
        let days = (end - start).num_days() + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(ConfigError::PeriodTooLong { days });
        }
        Ok(Self { start, end })
    }

    /// The whole calendar month `year-month`.
    pub fn month(year: i32, month: u32) -> Result<Self, ConfigError> {
        let start =
            NaiveDate::from_ymd_opt(year, month, 1).ok_or(ConfigError::InvalidMonth { year, month })?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        };
        let end = next.and_then(|d| d.pred_opt()).ok_or(ConfigError::InvalidMonth { year, month })?;
        Self::new(start, end)
    }

    /// Number of days, at least 1.
    pub fn days(&self) -> u32 {
        ((self.end - self.start).num_days() + 1) as u32
    }

    /// Whether `date` falls inside the period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        (self.start..=self.end).contains(&date)
    }

    /// The month `YYYY-MM` when the period is exactly one calendar month.
    pub fn as_month(&self) -> Option<String> {
        let month = Self::month(self.start.year(), self.start.month()).ok()?;
        (month == *self).then(|| self.start.format("%Y-%m").to_string())
    }
}

/// A period as read from JSON, before validation.
#[derive(serde::Deserialize)]
struct RawPeriod {
    start: NaiveDate,
    end: NaiveDate,
}

impl TryFrom<RawPeriod> for Period {
    type Error = ConfigError;

    fn try_from(raw: RawPeriod) -> Result<Self, ConfigError> {
        Self::new(raw.start, raw.end)
    }
}

impl Default for Period {
    /// June 2025, the month of the original project.
    fn default() -> Self {
        Self::month(2025, 6).expect("June 2025 is a valid month")
    }
}

/// A config the generator refuses, with what is wrong and the accepted values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// `rows` is 0.
    #[error("rows must be at least 1")]
    ZeroRows,
    /// `rows` is beyond [`MAX_ROWS`].
    #[error("rows {rows} is too large: at most {MAX_ROWS}")]
    TooManyRows {
        /// The rows asked for.
        rows: u64,
    },
    /// The last id would not fit the id column.
    #[error("first id {first_id} + {rows} rows goes past the largest id, {}", MouvementId::MAX)]
    IdOverflow {
        /// The first id asked for.
        first_id: u64,
        /// The rows asked for.
        rows: u64,
    },
    /// The period ends before it starts.
    #[error("period ends ({end}) before it starts ({start}): give the earlier date first")]
    ReversedPeriod {
        /// First day given.
        start: NaiveDate,
        /// Last day given.
        end: NaiveDate,
    },
    /// A date outside [`YEARS`].
    #[error("{date} is outside years 0001 to 9999: dates are written YYYY-MM-DD")]
    YearOutOfRange {
        /// The date given.
        date: NaiveDate,
    },
    /// The period is longer than [`MAX_PERIOD_DAYS`].
    #[error("period of {days} days is too long: at most {MAX_PERIOD_DAYS} days")]
    PeriodTooLong {
        /// Its length.
        days: i64,
    },
    /// Not a calendar month.
    #[error("{year}-{month:02} is not a month: expected YYYY-MM with MM in 01..12")]
    InvalidMonth {
        /// Year given.
        year: i32,
        /// Month given.
        month: u32,
    },
    /// The anomaly rate is not a probability.
    #[error("anomaly rate {rate} is not in [0, 1]: e.g. 0.001 for one row in a thousand")]
    AnomalyRate {
        /// The rate given.
        rate: f64,
    },
    /// The late rate is not a share of the rows.
    #[error(
        "late rate {rate} is not in [0, 1]: e.g. 0.001 for one row in a thousand dated before the period"
    )]
    LateRate {
        /// The rate given.
        rate: f64,
    },
}

/// Everything the rows depend on, besides the schema and data versions: they are a pure
/// function of it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct GeneratorConfig {
    seed: u64,
    rows: u64,
    period: Period,
    first_id: u64,
    anomaly_rate: f64,
    /// Absent from the JSON when 0, so that configs written before late rows existed read
    /// (and hash) the same.
    #[serde(default, skip_serializing_if = "is_zero")]
    late_rate: f64,
}

/// Whether a rate is 0: serde's test for leaving the field out.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(rate: &f64) -> bool {
    *rate == 0.0
}

impl GeneratorConfig {
    /// Default seed.
    pub const DEFAULT_SEED: u64 = 42;
    /// Default row count.
    pub const DEFAULT_ROWS: u64 = 10_000_000;
    /// Default first id.
    pub const DEFAULT_FIRST_ID: u64 = 1;
    /// Default anomaly rate: one row in a thousand.
    pub const DEFAULT_ANOMALY_RATE: f64 = 0.001;

    /// A validated config.
    pub fn new(
        seed: u64,
        rows: u64,
        period: Period,
        first_id: u64,
        anomaly_rate: f64,
    ) -> Result<Self, ConfigError> {
        if rows == 0 {
            return Err(ConfigError::ZeroRows);
        }
        if rows > MAX_ROWS {
            return Err(ConfigError::TooManyRows { rows });
        }
        if first_id.checked_add(rows - 1).is_none_or(|last| last > MouvementId::MAX.0) {
            return Err(ConfigError::IdOverflow { first_id, rows });
        }
        if !(0.0..=1.0).contains(&anomaly_rate) {
            return Err(ConfigError::AnomalyRate { rate: anomaly_rate });
        }
        // Re-validate a period that may come from deserialisation.
        let period = Period::new(period.start, period.end)?;
        Ok(Self { seed, rows, period, first_id, anomaly_rate, late_rate: 0.0 })
    }

    /// The same config with a share `rate` of its rows *late*: new movements dated in the
    /// [`LATE_DAYS`] days before the period, delivered with it (see the generator's calendar).
    pub fn with_late_rate(self, rate: f64) -> Result<Self, ConfigError> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(ConfigError::LateRate { rate });
        }
        Ok(Self { late_rate: rate, ..self })
    }

    /// The defaults with another seed and row count: handy in tests and examples.
    pub fn with_rows(seed: u64, rows: u64) -> Result<Self, ConfigError> {
        Self::new(seed, rows, Period::default(), Self::DEFAULT_FIRST_ID, Self::DEFAULT_ANOMALY_RATE)
    }

    /// Seed of every random stream.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of rows in the dataset.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Days the rows are spread over.
    pub fn period(&self) -> Period {
        self.period
    }

    /// Id of row 0.
    pub fn first_id(&self) -> u64 {
        self.first_id
    }

    /// Share of rows given an exceptional amount.
    pub fn anomaly_rate(&self) -> f64 {
        self.anomaly_rate
    }

    /// Share of rows dated before the period: late deliveries.
    pub fn late_rate(&self) -> f64 {
        self.late_rate
    }

    /// The days a row can be dated in: the period, and the [`LATE_DAYS`] before it when some
    /// rows are late (from year 1 on at the earliest).
    pub fn dated_within(&self) -> Period {
        if self.late_rate == 0.0 {
            return self.period;
        }
        let earliest = NaiveDate::from_ymd_opt(*YEARS.start(), 1, 1).unwrap_or(self.period.start);
        let start = (self.period.start - chrono::Days::new(LATE_DAYS)).max(earliest);
        Period { start, end: self.period.end }
    }
}

/// A config as read from JSON, before validation.
#[derive(serde::Deserialize)]
struct RawConfig {
    seed: u64,
    rows: u64,
    period: Period,
    first_id: u64,
    anomaly_rate: f64,
    #[serde(default)]
    late_rate: f64,
}

impl TryFrom<RawConfig> for GeneratorConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        Self::new(raw.seed, raw.rows, raw.period, raw.first_id, raw.anomaly_rate)?
            .with_late_rate(raw.late_rate)
    }
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self::with_rows(Self::DEFAULT_SEED, Self::DEFAULT_ROWS).expect("the defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn june_2025_has_30_days() {
        let p = Period::default();
        assert_eq!(p.days(), 30);
        assert_eq!(p.as_month().as_deref(), Some("2025-06"));
    }

    #[test]
    fn december_ends_on_the_31st() {
        let p = Period::month(2024, 12).unwrap();
        assert_eq!(p.end, NaiveDate::from_ymd_opt(2024, 12, 31).unwrap());
    }

    #[test]
    fn invalid_configs_are_refused_with_the_reason() {
        let p = Period::default();
        assert_eq!(GeneratorConfig::new(1, 0, p, 1, 0.0), Err(ConfigError::ZeroRows));
        assert!(matches!(GeneratorConfig::new(1, 10, p, 1, 1.5), Err(ConfigError::AnomalyRate { .. })));
        assert!(matches!(GeneratorConfig::new(1, 10, p, 1, f64::NAN), Err(ConfigError::AnomalyRate { .. })));
        assert!(matches!(GeneratorConfig::new(1, 10, p, u64::MAX, 0.0), Err(ConfigError::IdOverflow { .. })));
        assert!(matches!(Period::month(2025, 13), Err(ConfigError::InvalidMonth { .. })));
        let (a, b) = (p.end, p.start);
        assert!(matches!(Period::new(a, b), Err(ConfigError::ReversedPeriod { .. })));
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
        assert!(matches!(Period::new(far, far), Err(ConfigError::YearOutOfRange { .. })));
    }

    #[test]
    fn the_last_id_fits_the_id_column() {
        let p = Period::default();
        let max = MouvementId::MAX.0;
        assert!(GeneratorConfig::new(1, 10, p, max - 9, 0.0).is_ok());
        assert!(matches!(GeneratorConfig::new(1, 10, p, max - 8, 0.0), Err(ConfigError::IdOverflow { .. })));
        assert!(matches!(
            GeneratorConfig::new(1, 1, p, 10_000_000_000_000_000_000, 0.0),
            Err(ConfigError::IdOverflow { .. })
        ));
    }

    #[test]
    fn a_config_read_back_is_validated() {
        let good = serde_json::to_string(&GeneratorConfig::default()).unwrap();
        assert_eq!(serde_json::from_str::<GeneratorConfig>(&good).unwrap(), GeneratorConfig::default());
        let far = good.replace("2025-06-30", "+262000-06-30");
        assert!(serde_json::from_str::<GeneratorConfig>(&far).is_err());
        let reversed = good.replace("2025-06-30", "2025-05-30");
        assert!(serde_json::from_str::<GeneratorConfig>(&reversed).is_err());
        let zero = good.replace("\"rows\":10000000", "\"rows\":0");
        assert!(serde_json::from_str::<GeneratorConfig>(&zero).is_err());
    }
}
