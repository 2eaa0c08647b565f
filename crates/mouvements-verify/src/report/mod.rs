//! The verification report: a verdict, the dataset, each shard, the problems grouped by rule,
//! and the optional sample and statistics; rendered for people or serialised as JSON.

mod html;
mod svg;

use std::fmt::Write;
use std::time::Instant;

use mouvements_schema::{Mouvement, MouvementId};
use mouvements_sink::{Dataset, Lake, Load, Manifest};
use serde::Serialize;

use crate::changes::ChangeSummary;
use crate::problems::{ProblemGroup, Problems};
use crate::stats::{Count, Stats};

/// What the manifest says of the dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSummary {
    /// Rows.
    pub rows: u64,
    /// Stored bytes, every layer.
    pub bytes: u64,
    /// Files, every layer.
    pub files: usize,
    /// The last load's description: versions, generator config, shards, format, layers,
    /// labels, load number.
    pub description: Dataset,
    /// The run that committed the last load.
    pub run_id: String,
    /// The tool that wrote the manifest.
    pub tool: String,
    /// Every load of the lake's history, in order.
    pub loads: Vec<LoadSummary>,
}

/// What the manifest says of one load.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    /// Its number: 0 for the first.
    pub load: u32,
    /// First day of its period.
    pub start: chrono::NaiveDate,
    /// Last day of its period.
    pub end: chrono::NaiveDate,
    /// Rows.
    pub rows: u64,
    /// Id of its first row.
    pub first_id: String,
    /// Id of its last row.
    pub last_id: String,
    /// The Delta version that added it.
    pub delta_version: Option<u64>,
    /// The run that committed it.
    pub run_id: String,
}

impl LoadSummary {
    fn of(load: &Load) -> Self {
        let g = load.dataset.generator;
        Self {
            load: load.dataset.load,
            start: g.period().start,
            end: g.period().end,
            rows: load.rows,
            first_id: MouvementId(g.first_id()).to_string(),
            last_id: MouvementId(g.first_id() + g.rows() - 1).to_string(),
            delta_version: load.delta_version,
            run_id: load.run_id.clone(),
        }
    }
}

/// One shard as checked.
#[derive(Debug, Clone, Serialize)]
pub struct ShardSummary {
    /// Object name.
    pub name: String,
    /// Rows read.
    pub rows: u64,
    /// Bytes read.
    pub bytes: u64,
    /// CRC32C of the bytes read.
    pub crc32c: String,
    /// `ok`, `problems` or `missing`.
    pub status: &'static str,
}

impl ShardSummary {
    pub(crate) fn missing(name: &str) -> Self {
        Self { name: name.to_owned(), rows: 0, bytes: 0, crc32c: String::new(), status: "missing" }
    }

    pub(crate) fn checked(name: &str, rows: u64, bytes: u64, crc32c: &str, clean: bool) -> Self {
        let status = if clean { "ok" } else { "problems" };
        Self { name: name.to_owned(), rows, bytes, crc32c: crc32c.to_owned(), status }
    }
}

/// The whole verification report. Field names are stable: scripts read the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The lake base.
    pub base: String,
    /// `pass` or `fail`.
    pub verdict: &'static str,
    /// The dataset, when its manifest could be read.
    pub dataset: Option<DatasetSummary>,
    /// Every shard.
    pub shards: Vec<ShardSummary>,
    /// Problems found in all.
    pub problem_count: u64,
    /// Problems by rule.
    pub problems: Vec<ProblemGroup>,
    /// Sampled rows, with `--sample`.
    pub sample: Option<Vec<Mouvement>>,
    /// Statistics, with `--stats`.
    pub stats: Option<Stats>,
    /// What the change feed of the appended loads does, when they carry changes.
    pub changes: Option<ChangeSummary>,
    /// Wall time.
    pub seconds: f64,
    /// Stored megabytes (10^6) read per second.
    pub mb_per_second: f64,
}

impl Report {
    pub(crate) fn new(
        lake: &Lake,
        manifest: Option<&Manifest>,
        shards: Vec<ShardSummary>,
        problems: Problems,
        sample: Option<Vec<Mouvement>>,
        stats: Option<Stats>,
        started: Instant,
    ) -> Self {
        let seconds = started.elapsed().as_secs_f64();
        let bytes: u64 = shards.iter().map(|s| s.bytes).sum();
        let groups = problems.into_groups();
        Self {
            base: lake.url().to_string(),
            verdict: if groups.is_empty() { "pass" } else { "fail" },
            dataset: manifest.map(|m| DatasetSummary {
                rows: m.rows,
                bytes: m.bytes,
                files: m.files().count(),
                description: m.latest().dataset,
                run_id: m.latest().run_id.clone(),
                tool: m.tool.clone(),
                loads: m.loads.iter().map(LoadSummary::of).collect(),
            }),
            shards,
            problem_count: groups.iter().map(|g| g.total).sum(),
            problems: groups,
            sample,
            stats,
            changes: None,
            seconds,
            mb_per_second: bytes as f64 / 1e6 / seconds.max(1e-9),
        }
    }

    /// Whether every rule holds.
    pub fn passed(&self) -> bool {
        self.verdict == "pass"
    }

    /// The report for people.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Dataset {}", self.base);
        if let Some(d) = &self.dataset {
            let _ = writeln!(
                out,
                "  {} rows, {} files, {} bytes, written by {} (run {})",
                d.rows, d.files, d.bytes, d.tool, d.run_id
            );
            let _ = writeln!(out, "  {}", d.description.describe());
            if d.loads.len() > 1 {
                for l in &d.loads {
                    let version =
                        l.delta_version.map_or_else(String::new, |v| format!(", Delta version {v}"));
                    let _ = writeln!(
                        out,
                        "  load {:>3}: {} to {}, {} rows, {} to {}{version}",
                        l.load, l.start, l.end, l.rows, l.first_id, l.last_id
                    );
                }
            }
        }
        if let Some(c) = &self.changes {
            let _ = writeln!(
                out,
                "  changes: {} updates, {} deletes, {} late rows, {} rows delivered again; {} movements live after them, montant changed by {}",
                c.updates,
                c.deletes,
                c.late_rows,
                c.repeats,
                c.live_rows,
                mouvements_schema::Montant::from_cents(c.montant_change_cents)
            );
        }
        for s in &self.shards {
            let _ = writeln!(
                out,
                "  {:<44} {:>12} rows {:>14} bytes  crc32c {:<8}  {}",
                s.name, s.rows, s.bytes, s.crc32c, s.status
            );
        }
        if let Some(sample) = &self.sample {
            let _ = writeln!(out, "\nSample ({} rows)", sample.len());
            let _ = writeln!(
                out,
                "  id_mouvement date_op    produit    type_op                     montant agence pays"
            );
            for r in sample {
                let _ = writeln!(
                    out,
                    "  {:<12} {:<10} {:<10} {:<20} {:>14} {:<6} {}",
                    r.id_mouvement.to_string(),
                    r.date_op.to_string(),
                    r.produit.label(),
                    r.type_op.label(),
                    r.montant.to_string(),
                    r.agence_id.to_string(),
                    r.pays.label()
                );
            }
        }
        if let Some(stats) = &self.stats {
            render_stats(&mut out, stats);
        }
        if !self.problems.is_empty() {
            let _ = writeln!(out, "\nProblems ({} in all)", self.problem_count);
            for g in &self.problems {
                let _ = writeln!(out, "  {} — {} occurrence(s)", g.rule, g.total);
                for p in &g.examples {
                    let colon = if p.column.is_some() { ":" } else { "" };
                    let _ = writeln!(out, "    {}{colon} {}", p.location(), p.value);
                }
                if g.total > g.examples.len() as u64 {
                    let _ = writeln!(out, "    … and {} more", g.total - g.examples.len() as u64);
                }
            }
        }
        let _ = writeln!(
            out,
            "\nVerdict: {} ({:.1} s, {:.0} MB/s)",
            if self.passed() { "PASS — every rule holds" } else { "FAIL — see the problems above" },
            self.seconds,
            self.mb_per_second
        );
        out
    }
}

fn render_counts(out: &mut String, title: &str, counts: &[Count]) {
    let _ = writeln!(out, "\n{title}");
    for c in counts {
        let _ = writeln!(out, "  {:<22} {:>12} {:>7.2} %", c.key, c.count, c.share * 100.0);
    }
}

fn render_stats(out: &mut String, stats: &Stats) {
    render_counts(out, "Rows per shard", &stats.rows_per_shard);
    render_counts(out, "By pays", &stats.by_pays);
    render_counts(out, "By produit", &stats.by_produit);
    render_counts(out, "By type_op", &stats.by_type_op);
    render_counts(out, "By agence_id", &stats.by_agence);
    let _ = writeln!(out, "\nMontant by type_op (euros)");
    let _ = writeln!(
        out,
        "  {:<22} {:>10} {:>16} {:>11} {:>12} {:>12} {:>11} {:>11} {:>11}",
        "type_op", "count", "sum", "mean", "min", "max", "p50", "p95", "p99"
    );
    for a in &stats.montant_by_type_op {
        let _ = writeln!(
            out,
            "  {:<22} {:>10} {:>16.2} {:>11.2} {:>12.2} {:>12.2} {:>11.2} {:>11.2} {:>11.2}",
            a.type_op, a.count, a.sum, a.mean, a.min, a.max, a.p50, a.p95, a.p99
        );
    }
    render_counts(out, "Rows per day", &stats.rows_per_day);
    let _ = writeln!(out, "\nBusiness ratios (against the calibration bands)");
    for r in &stats.business_ratios {
        let _ = writeln!(
            out,
            "  {:<28} {:<10} {:<3} {:>9.4}  band {:.4} to {:.4}  {}",
            r.name,
            r.produit,
            r.pays.as_deref().unwrap_or(""),
            r.value,
            r.low,
            r.high,
            if r.in_band { "ok" } else { "outside" }
        );
    }
    let an = &stats.anomalies;
    let _ = writeln!(out, "\nAnomalies: {} row(s) flagged by {}", an.flagged_count, an.rule);
    for f in an.top.iter().take(10) {
        let _ = writeln!(
            out,
            "  {} {:<20} {:<10} |montant| {:>14.2}  {:.1}x p99",
            f.id_mouvement, f.type_op, f.produit, f.abs_montant, f.score
        );
    }
    if let Some(e) = &an.evaluation {
        let _ = writeln!(
            out,
            "  against {} labelled anomalies: precision {:.3}, recall {:.3}",
            e.labelled, e.precision, e.recall
        );
    }
}
