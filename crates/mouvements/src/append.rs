//! Appended loads: the next load's dataset, read from the lake's committed history. Its rows
//! and shards are the caller's; its period is the caller's or the month after the last load;
//! every other setting is the lake's, and a setting the caller names must be the lake's.

use chrono::{Datelike, NaiveDate};
use mouvements_generator::Period;
use mouvements_sink::{Dataset, DatasetError, Lake, Layers, ShardFormat, SinkError, layout};

use crate::JobError;

/// What an appended load takes from the caller besides its rows and shards: its period
/// (default: the month after the lake's last load) and the lake settings the caller named,
/// each of which must be the lake's (`None`: not named, the lake's is taken).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppendOptions {
    /// The load's period; `None`: the calendar month after the last load's end.
    pub period: Option<Period>,
    /// The seed named by the caller (the lake's first load's).
    pub seed: Option<u64>,
    /// The first id named by the caller: the one after the last load's last id.
    pub first_id: Option<u64>,
    /// The anomaly rate named by the caller.
    pub anomaly_rate: Option<f64>,
    /// The raw format named by the caller.
    pub format: Option<ShardFormat>,
    /// The layers named by the caller.
    pub layers: Option<Layers>,
    /// Whether the caller asked for labels.
    pub labels: Option<bool>,
    /// Change events per new row the load delivers (corrections and cancellations of earlier
    /// loads' movements, see `mouvements_generator::changes`); 0 for none. The load's own,
    /// not a lake setting.
    pub changes: f64,
    /// Share of the load's rows that are late: dated in the two months before its period
    /// (`GeneratorConfig::with_late_rate`); 0 for none. The load's own.
    pub late_rate: f64,
    /// Rows of the load before delivered again per new row, byte for byte (a repeated
    /// delivery, `mouvements_generator::changes::load_repeats`); 0 for none. The load's own.
    pub duplicate_rate: f64,
}

/// An appended load to write: its dataset, and the datasets of the loads before it.
#[derive(Debug, Clone)]
pub struct NextLoad {
    /// The load's dataset.
    pub dataset: Dataset,
    /// The committed loads before it, in order.
    pub history: Vec<Dataset>,
}

/// The calendar month after the one `date` falls in, when `date` ends a month; else the
/// period from the day after `date` to the end of that day's month.
pub fn period_after(date: NaiveDate) -> Result<Period, JobError> {
    let start = date
        .succ_opt()
        .ok_or_else(|| JobError::setting("month", "the lake's last load ends on the last day there is"))?;
    let month = Period::month(start.year(), start.month())?;
    Ok(Period::new(start, month.end)?)
}

/// The load to append to the lake: the load after its last committed one, or that last one
/// itself when `run_id` committed it (a retried task of the run finds its work done).
pub async fn next_load(
    lake: &Lake,
    rows: u64,
    shards: u32,
    append: &AppendOptions,
    run_id: Option<&str>,
) -> Result<NextLoad, JobError> {
    // The manifest and the marker only: no listing (the run's own survey comes next).
    let objects = lake.objects();
    let (manifest, success) = tokio::try_join!(lake.read_manifest(), objects.get(layout::SUCCESS))?;
    let raw = objects.url_of(layout::RAW);
    let history = match (&manifest, success.is_some()) {
        (Some(Ok(manifest)), true) => manifest,
        (Some(Err(reason)), _) => {
            return Err(SinkError::Corrupt {
                url: lake.objects().url_of(layout::MANIFEST),
                what: "manifest",
                reason: reason.clone(),
            }
            .into());
        }
        (Some(Ok(_)), false) => return Err(SinkError::no_history(raw, true).into()),
        (None, _) => return Err(SinkError::no_history(raw, false).into()),
    };
    let latest = history.latest();
    let datasets = || history.loads.iter().map(|l| l.dataset);
    if run_id.is_some_and(|id| id == latest.run_id) {
        let history = datasets().filter(|d| d.load < latest.dataset.load).collect();
        return Ok(NextLoad { dataset: latest.dataset, history });
    }
    let lake_settings = &history.loads[0].dataset;
    let last = &latest.dataset;
    let next_id = last.generator.first_id() + last.generator.rows();
    let differs = |setting: &'static str, given: String, theirs: String| {
        JobError::setting(
            setting,
            format!(
                "{given} differs from the lake's {theirs}: an appended load keeps the lake's settings (leave it out to take the lake's)"
            ),
        )
    };
    if let Some(seed) = append.seed.filter(|s| *s != lake_settings.generator.seed()) {
        return Err(differs("seed", seed.to_string(), format!("seed {}", lake_settings.generator.seed())));
    }
    if let Some(first_id) = append.first_id.filter(|id| *id != next_id) {
        return Err(differs(
            "first_id",
            first_id.to_string(),
            format!("next id {next_id} (the last load ends at {})", next_id - 1),
        ));
    }
    let rate = last.generator.anomaly_rate();
    if let Some(given) = append.anomaly_rate.filter(|r| r.to_bits() != rate.to_bits()) {
        return Err(differs("anomaly_rate", given.to_string(), format!("anomaly rate {rate}")));
    }
    if let Some(format) = append.format.filter(|f| *f != last.format) {
        return Err(differs("format", format.name().into(), format!("format {}", last.format.name())));
    }
    if let Some(layers) = append.layers.filter(|l| *l != last.layers) {
        return Err(differs("layers", layers.to_string(), format!("layers {}", last.layers)));
    }
    if let Some(labels) = append.labels.filter(|l| *l != last.labels) {
        return Err(differs("labels", labels.to_string(), format!("labels {}", last.labels)));
    }
    let period = match append.period {
        Some(period) => period,
        None => period_after(last.generator.period().end)?,
    };
    let dataset = last.next_load(rows, shards, period).map_err(|e| match e {
        DatasetError::PeriodOverlap { .. } => {
            JobError::setting(if period.as_month().is_some() { "month" } else { "from" }, e.to_string())
        }
        other => JobError::Sink(other.into()),
    })?;
    let dataset = dataset
        .with_changes(append.changes)
        .and_then(|d| d.with_late_rows(append.late_rate))
        .and_then(|d| d.with_duplicates(append.duplicate_rate))
        .map_err(|e| match e {
            DatasetError::Events { setting, reason } => JobError::setting(setting, reason),
            other => JobError::Sink(other.into()),
        })?;
    Ok(NextLoad { dataset, history: datasets().collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_period_is_the_month_after_the_last_load() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(period_after(date(2025, 6, 30)).unwrap(), Period::month(2025, 7).unwrap());
        assert_eq!(period_after(date(2025, 12, 31)).unwrap(), Period::month(2026, 1).unwrap());
        assert_eq!(
            period_after(date(2025, 6, 14)).unwrap(),
            Period::new(date(2025, 6, 15), date(2025, 6, 30)).unwrap()
        );
    }
}
