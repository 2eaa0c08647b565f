//! The report as one self-contained HTML page: the verdict with every rule, the dataset, and
//! with statistics the analyses of the original project (trends, mix, amounts, rétrocessions,
//! agencies, compliance, anomalies) and the business ratios against their bands. Inline CSS
//! and SVG, no script, no external reference: it opens offline, prints, and can be mailed.

use std::fmt::Write;

use chrono::{Datelike, NaiveDate, Weekday};
use mouvements_schema::tables::MONTH_START_LAST_DAY;
use mouvements_schema::{Pays, Produit};

use super::Report;
use super::svg::{
    self, COUNTRY_COLOURS, EITHER, IN, MAIN, OUT, PRODUCT_COLOURS, Point, Series, compact, escape,
};
use crate::problems::RULES;
use crate::stats::{AmountStats, COMPLIANCE_TYPES, Stats};

/// Shards listed in the dataset table and drawn in its chart; the rest are counted.
const SHARDS_SHOWN: usize = 200;
/// Flagged rows listed in the anomalies table.
const FLAGGED_SHOWN: usize = 10;

/// The page's style: readable on screen, one column, and sections kept whole when printed.
const STYLE: &str = "
body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;color:#222;margin:0;background:#f4f5f7}
main{max-width:980px;margin:0 auto;padding:16px 24px 48px;background:#fff}
nav{font-size:13px;margin:8px 0 16px}nav a{margin-right:12px;color:#1f4e99}
h1{font-size:24px;margin:12px 0 4px}h2{font-size:19px;margin:28px 0 6px;border-bottom:2px solid #b8c4d6;padding-bottom:4px}
p.lead{color:#555;font-size:14px;margin:4px 0 10px}
section{break-inside:avoid;page-break-inside:avoid}
.verdict{font-size:20px;font-weight:bold;padding:14px 18px;border-radius:6px;color:#fff}
.pass{background:#2a7d4f}.fail{background:#b3261e}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0;width:100%}
th,td{border-bottom:1px solid #e1e4ea;padding:3px 6px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fdecea}td.out{background:#fdecea;color:#b3261e;font-weight:bold}
.rules{display:grid;grid-template-columns:repeat(3,1fr);gap:3px 10px;margin:10px 0;font-size:12px}
.rule{display:flex;justify-content:space-between;padding:2px 6px;border-left:4px solid #2a7d4f;background:#f3f8f4}
.rule.bad{border-left-color:#b3261e;background:#fdecea;font-weight:bold}
dl{display:grid;grid-template-columns:150px 1fr;gap:2px 12px;font-size:13.5px}dt{color:#666}dd{margin:0}
svg{width:100%;height:auto;display:block;margin:8px 0}
.chart-title{font-size:15px;font-weight:bold;fill:#222}
.tick{font-size:11px;fill:#444}.tick-light{font-size:11px;fill:#fff}.axis-label{font-size:12px;fill:#555}
.key span{display:inline-block;width:11px;height:11px;margin:0 4px 0 12px;vertical-align:-1px}
@media print{body{background:#fff}main{max-width:none}nav{display:none}}
";

/// The page under construction.
struct Page {
    out: String,
}

impl Page {
    fn section(&mut self, id: &str, title: &str, lead: &str, body: &str) {
        let _ = write!(
            self.out,
            r#"<section id="{id}"><h2>{}</h2><p class="lead">{}</p>{body}</section>"#,
            escape(title),
            escape(lead)
        );
    }
}

/// The sections, in order: anchor and title (the navigation bar lists them).
const SECTIONS: [(&str, &str); 10] = [
    ("verdict", "Verdict"),
    ("dataset", "Dataset"),
    ("trends", "Trends"),
    ("mix", "Mix"),
    ("amounts", "Amounts"),
    ("retrocessions", "Rétrocessions"),
    ("agencies", "Agencies"),
    ("compliance", "Compliance"),
    ("anomalies", "Anomalies"),
    ("ratios", "Business ratios"),
];

impl Report {
    /// The report as a self-contained HTML page (inline CSS and SVG, no script, no external
    /// reference). Every figure a chart draws is in a `data-value` attribute beside its
    /// `data-label`, equal to the figure in the JSON report. Without statistics the page
    /// holds the verdict and the dataset only.
    pub fn render_html(&self) -> String {
        let mut page = Page { out: String::with_capacity(256 * 1024) };
        let _ = write!(
            page.out,
            r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>mouvements — {}</title><style>{STYLE}</style></head><body><main><h1>Dataset report</h1><p class="lead">{} · verified in {:.1} s at {:.0} MB/s</p><nav>"#,
            escape(&self.base),
            escape(&self.base),
            self.seconds,
            self.mb_per_second
        );
        for (id, title) in SECTIONS {
            let _ = write!(page.out, "<a href=\"#{id}\">{}</a>", escape(title));
        }
        page.out.push_str("</nav>");
        verdict(&mut page, self);
        dataset(&mut page, self);
        if let Some(stats) = &self.stats {
            trends(&mut page, stats);
            mix(&mut page, stats);
            amounts(&mut page, stats);
            retrocessions(&mut page, stats);
            agencies(&mut page, stats);
            compliance(&mut page, stats);
            anomalies(&mut page, stats);
            ratios(&mut page, stats);
        } else {
            page.section("statistics", "Statistics", "Not computed: run verify with --stats or --html.", "");
        }
        page.out.push_str("</main></body></html>\n");
        page.out
    }
}

fn verdict(page: &mut Page, report: &Report) {
    let rows = report.dataset.as_ref().map_or(0, |d| d.rows);
    let (class, headline) = if report.passed() {
        ("pass", format!("PASS — every rule holds on {rows} rows"))
    } else {
        (
            "fail",
            format!("FAIL — {} problem(s) under {} rule(s)", report.problem_count, report.problems.len()),
        )
    };
    let mut body = format!(
        r#"<div class="verdict {class}" data-label="verdict" data-value="{}">{}</div>"#,
        report.verdict,
        escape(&headline)
    );
    if !report.problems.is_empty() {
        body.push_str(r#"<table><tr><th>Rule</th><th>What it checks</th><th class="n">Problems</th><th>First examples</th></tr>"#);
        for group in &report.problems {
            let what = RULES.iter().find(|(rule, _)| *rule == group.rule).map_or("", |(_, what)| what);
            let examples: Vec<String> =
                group.examples.iter().map(|p| escape(&format!("{}: {}", p.location(), p.value))).collect();
            let _ = write!(
                body,
                r#"<tr class="bad"><td><code>{}</code></td><td>{}</td><td class="n">{}</td><td>{}</td></tr>"#,
                group.rule,
                escape(what),
                group.total,
                examples.join("<br>")
            );
        }
        body.push_str("</table>");
    }
    body.push_str(r#"<div class="rules">"#);
    for (rule, what) in RULES {
        let total = report.problems.iter().find(|g| g.rule == rule).map_or(0, |g| g.total);
        let _ = write!(
            body,
            r#"<div class="rule {}" title="{}"><code>{rule}</code><span data-label="{rule}" data-value="{total}">{total}</span></div>"#,
            if total > 0 { "bad" } else { "ok" },
            escape(what)
        );
    }
    body.push_str("</div>");
    page.section(
        "verdict",
        "Verdict",
        "Every rule the verifier checks with its count (hover for what it checks); a failing rule is listed first with where it fails.",
        &body,
    );
}

fn dataset(page: &mut Page, report: &Report) {
    let mut body = String::from("<dl>");
    let mut item = |term: &str, value: &str| {
        let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(value));
    };
    item("Lake", &report.base);
    match &report.dataset {
        Some(d) => {
            item("Rows", &d.rows.to_string());
            item("Files", &d.files.to_string());
            item("Bytes", &format!("{} ({})", d.bytes, compact(d.bytes as f64)));
            item("Run", &d.run_id);
            item("Written by", &d.tool);
            item("Description", &d.description.describe());
        }
        None => item("Manifest", "missing or unreadable: see the verdict"),
    }
    body.push_str("</dl>");
    let shown = &report.shards[..report.shards.len().min(SHARDS_SHOWN)];
    let labels: Vec<String> = (0..shown.len()).map(|i| i.to_string()).collect();
    let rows: Vec<f64> = shown.iter().map(|s| s.rows as f64).collect();
    let colours: Vec<&str> = shown.iter().map(|s| if s.status == "ok" { MAIN } else { OUT }).collect();
    body.push_str(&svg::bars("Rows per shard", &labels, &rows, &colours, "shard", "rows"));
    body.push_str(r#"<table><tr><th>Shard</th><th class="n">Rows</th><th class="n">Bytes</th><th>CRC32C</th><th>Status</th></tr>"#);
    for s in shown {
        let _ = write!(
            body,
            r#"<tr{}><td>{}</td><td class="n">{}</td><td class="n">{}</td><td><code>{}</code></td><td>{}</td></tr>"#,
            if s.status == "ok" { "" } else { r#" class="bad""# },
            escape(&s.name),
            s.rows,
            s.bytes,
            escape(&s.crc32c),
            s.status
        );
    }
    body.push_str("</table>");
    if report.shards.len() > shown.len() {
        let _ = write!(body, "<p>… and {} more shards.</p>", report.shards.len() - shown.len());
    }
    page.section("dataset", "Dataset", "What the manifest says, and each shard as read.", &body);
}

/// The colour of a day: weekends lighter, the month's first weekdays (when premiums are
/// collected) in orange, other weekdays in blue.
fn day_colour(date: &str) -> &'static str {
    match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(d) if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) => "#a9b7cc",
        Ok(d) if d.day() <= MONTH_START_LAST_DAY => COUNTRY_COLOURS[1],
        _ => MAIN,
    }
}

fn trends(page: &mut Page, stats: &Stats) {
    let labels: Vec<String> = stats.days.iter().map(|d| d.date.clone()).collect();
    let rows: Vec<f64> = stats.days.iter().map(|d| d.rows as f64).collect();
    let colours: Vec<&str> = stats.days.iter().map(|d| day_colour(&d.date)).collect();
    let mut body =
        key(&[(MAIN, "weekday"), ("#a9b7cc", "weekend"), (COUNTRY_COLOURS[1], "month start (days 1 to 5)")]);
    body.push_str(&svg::bars("Rows per day", &labels, &rows, &colours, "day", "rows"));
    let series = [
        Series {
            name: "cotisations",
            colour: IN,
            values: stats.days.iter().map(|d| d.cotisations).collect(),
        },
        Series {
            name: "remboursements (paid out)",
            colour: OUT,
            values: stats.days.iter().map(|d| -d.remboursements).collect(),
        },
        Series { name: "net", colour: MAIN, values: stats.days.iter().map(|d| d.net).collect() },
    ];
    body.push_str(&svg::lines("Money per day", &labels, &series, "day", "euros"));
    monthly_trends(&mut body, stats);
    page.section(
        "trends",
        "Trends",
        "Activity and money per day: weekday rhythm, month-start collections, the net flow; and month by month when the lake holds several.",
        &body,
    );
}

/// The days summed by month, side by side, when they span more than one month (a lake of
/// several loads).
fn monthly_trends(body: &mut String, stats: &Stats) {
    let mut months: Vec<(String, f64, f64, f64, f64)> = Vec::new();
    for day in &stats.days {
        let month = day.date.get(..7).unwrap_or(&day.date);
        match months.last_mut() {
            Some(last) if last.0 == month => {
                last.1 += day.rows as f64;
                last.2 += day.cotisations;
                last.3 += -day.remboursements;
                last.4 += day.net;
            }
            _ => months.push((
                month.to_owned(),
                day.rows as f64,
                day.cotisations,
                -day.remboursements,
                day.net,
            )),
        }
    }
    if months.len() < 2 {
        return;
    }
    let labels: Vec<String> = months.iter().map(|m| m.0.clone()).collect();
    let rows: Vec<f64> = months.iter().map(|m| m.1).collect();
    body.push_str(&svg::bars("Rows per month", &labels, &rows, &vec![MAIN; months.len()], "month", "rows"));
    let series = [
        Series { name: "cotisations", colour: IN, values: months.iter().map(|m| m.2).collect() },
        Series {
            name: "remboursements (paid out)",
            colour: OUT,
            values: months.iter().map(|m| m.3).collect(),
        },
        Series { name: "net", colour: MAIN, values: months.iter().map(|m| m.4).collect() },
    ];
    body.push_str(&svg::lines("Money per month", &labels, &series, "month", "euros"));
}

/// A colour legend.
fn key(items: &[(&str, &str)]) -> String {
    let mut out = String::from(r#"<p class="key">"#);
    for (colour, name) in items {
        let _ = write!(out, r#"<span style="background:{colour}"></span>{}"#, escape(name));
    }
    out.push_str("</p>");
    out
}

/// Green for money in, red for money out, grey for either, from the share of negative amounts.
fn sign_colour(amount: Option<&AmountStats>) -> &'static str {
    match amount.map(|a| a.negative_share) {
        Some(s) if s >= 0.9 => OUT,
        Some(s) if s <= 0.1 => IN,
        _ => EITHER,
    }
}

fn amount_of<'a>(stats: &'a Stats, type_op: &str) -> Option<&'a AmountStats> {
    stats.montant_by_type_op.iter().find(|a| a.type_op == type_op)
}

fn country_colour(pays: &str) -> &'static str {
    let i = Pays::ALL.iter().position(|p| p.label() == pays).unwrap_or(0);
    COUNTRY_COLOURS[i]
}

fn mix(page: &mut Page, stats: &Stats) {
    let counts = |c: &[crate::stats::Count]| -> (Vec<String>, Vec<f64>) {
        (c.iter().map(|c| c.key.clone()).collect(), c.iter().map(|c| c.count as f64).collect())
    };
    let (pays, pays_rows) = counts(&stats.by_pays);
    let mut body = svg::bars("Rows per country", &pays, &pays_rows, &COUNTRY_COLOURS, "pays", "rows");
    let (produits, produit_rows) = counts(&stats.by_produit);
    body.push_str(&svg::bars(
        "Rows per product",
        &produits,
        &produit_rows,
        &PRODUCT_COLOURS,
        "produit",
        "rows",
    ));
    let mut types: Vec<&crate::stats::Count> = stats.by_type_op.iter().filter(|c| c.count > 0).collect();
    types.sort_by_key(|c| std::cmp::Reverse(c.count));
    let labels: Vec<String> = types.iter().map(|c| c.key.clone()).collect();
    let values: Vec<f64> = types.iter().map(|c| c.count as f64).collect();
    let colours: Vec<&str> = types.iter().map(|c| sign_colour(amount_of(stats, &c.key))).collect();
    body.push_str(&key(&[(IN, "money in"), (OUT, "money out"), (EITHER, "either way")]));
    body.push_str(&svg::hbars("Rows per operation type", &labels, &values, &colours, "rows"));
    let columns: Vec<String> = Produit::ALL.iter().map(|p| p.label().to_owned()).collect();
    let grid: Vec<Vec<f64>> = labels
        .iter()
        .map(|t| {
            Produit::ALL
                .iter()
                .map(|p| {
                    let cell =
                        stats.type_by_produit.iter().find(|c| &c.type_op == t && c.produit == p.label());
                    cell.map_or(0.0, |c| c.rows as f64)
                })
                .collect()
        })
        .collect();
    body.push_str(&svg::heatmap("Rows per operation type and product", &labels, &columns, &grid, "rows"));
    page.section(
        "mix",
        "Mix",
        "Countries weighted by market size, products, operation types and which product allows which.",
        &body,
    );
}

fn amounts(page: &mut Page, stats: &Stats) {
    let mut sorted: Vec<&AmountStats> = stats.montant_by_type_op.iter().collect();
    sorted.sort_by(|a, b| b.magnitude.p50.total_cmp(&a.magnitude.p50));
    let labels: Vec<String> = sorted.iter().map(|a| a.type_op.clone()).collect();
    let boxes: Vec<_> = sorted.iter().map(|a| a.magnitude).collect();
    let colours: Vec<&str> = sorted.iter().map(|a| sign_colour(Some(a))).collect();
    let mut body = key(&[(IN, "money in"), (OUT, "money out"), (EITHER, "either way")]);
    body.push_str(&svg::boxes(
        "|montant| per operation type (percentiles 1, 25, 50, 75, 99; log scale)",
        &labels,
        &boxes,
        &colours,
        &[],
        "euros",
    ));
    body.push_str(r#"<table><tr><th>type_op</th><th class="n">rows</th><th class="n">sum €</th><th class="n">mean €</th><th class="n">p50 €</th><th class="n">p95 €</th><th class="n">p99 €</th><th class="n">negative</th></tr>"#);
    for a in sorted {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{:.2}</td><td class="n">{:.2}</td><td class="n">{:.2}</td><td class="n">{:.2}</td><td class="n">{:.2}</td><td class="n">{:.1} %</td></tr>"#,
            escape(&a.type_op),
            a.count,
            a.sum,
            a.mean,
            a.p50,
            a.p95,
            a.p99,
            a.negative_share * 100.0
        );
    }
    body.push_str("</table>");
    page.section(
        "amounts",
        "Amounts",
        "The law of each type's amounts, from small fees to large claims.",
        &body,
    );
}

fn retrocessions(page: &mut Page, stats: &Stats) {
    let mut agencies: Vec<_> = stats.agencies.iter().filter(|a| a.retrocessions > 0).collect();
    agencies.sort_by(|a, b| b.retrocession_amount.abs().total_cmp(&a.retrocession_amount.abs()));
    let labels: Vec<String> = agencies.iter().map(|a| format!("{} {}", a.agence_id, a.pays)).collect();
    let values: Vec<f64> = agencies.iter().map(|a| a.retrocession_amount.abs()).collect();
    let colours: Vec<&str> = agencies.iter().map(|a| country_colour(&a.pays)).collect();
    let legend: Vec<(&str, &str)> =
        Pays::ALL.iter().map(|p| (country_colour(p.label()), p.label())).collect();
    let mut body = key(&legend);
    body.push_str(&svg::hbars("Rétrocessions paid per agency", &labels, &values, &colours, "euros"));
    let per_country: Vec<f64> = Pays::ALL
        .iter()
        .map(|p| {
            stats.agencies.iter().filter(|a| a.pays == p.label()).map(|a| a.retrocession_amount.abs()).sum()
        })
        .collect();
    let countries: Vec<String> = Pays::ALL.iter().map(|p| p.label().to_owned()).collect();
    body.push_str(&svg::bars(
        "Rétrocessions paid per country",
        &countries,
        &per_country,
        &COUNTRY_COLOURS,
        "pays",
        "euros",
    ));
    page.section(
        "retrocessions",
        "Rétrocessions",
        "Commissions paid back to agencies, largest first.",
        &body,
    );
}

fn agencies(page: &mut Page, stats: &Stats) {
    let points: Vec<Point<'_>> = stats
        .agencies
        .iter()
        .map(|a| Point {
            label: format!("{} {}", a.agence_id, a.pays),
            x: a.rows as f64,
            y: a.net,
            colour: country_colour(&a.pays),
        })
        .collect();
    let legend: Vec<(&str, &str)> =
        Pays::ALL.iter().map(|p| (p.label(), country_colour(p.label()))).collect();
    let body = svg::scatter("Agencies: rows and net amount", &points, &legend, "rows", "net euros");
    page.section(
        "agencies",
        "Agencies",
        "Each agency's activity against its net flow; an agency far from its country's cloud is worth a look.",
        &body,
    );
}

fn compliance(page: &mut Page, stats: &Stats) {
    let rows: Vec<String> = Pays::ALL.iter().map(|p| p.label().to_owned()).collect();
    let columns: Vec<String> = Produit::ALL.iter().map(|p| p.label().to_owned()).collect();
    let mut body = String::new();
    for t in COMPLIANCE_TYPES {
        let grid: Vec<Vec<f64>> = Pays::ALL
            .iter()
            .map(|pays| {
                Produit::ALL
                    .iter()
                    .map(|produit| {
                        let cell = stats.compliance.iter().find(|c| {
                            c.type_op == t.label() && c.pays == pays.label() && c.produit == produit.label()
                        });
                        cell.map_or(0.0, |c| c.rows as f64)
                    })
                    .collect()
            })
            .collect();
        body.push_str(&svg::heatmap(
            &format!("{}: rows per country and product", t.label()),
            &rows,
            &columns,
            &grid,
            "rows",
        ));
    }
    page.section(
        "compliance",
        "Compliance",
        "Pénalités, corrections and annulations per country and product.",
        &body,
    );
}

fn anomalies(page: &mut Page, stats: &Stats) {
    let an = &stats.anomalies;
    let mut body = format!(
        r#"<p><b data-label="flagged" data-value="{}">{}</b> row(s) flagged by the rule: {}.</p>"#,
        an.flagged_count,
        an.flagged_count,
        escape(&an.rule)
    );
    if let Some(e) = &an.evaluation {
        let _ = write!(
            body,
            r#"<p>Against the {} labelled anomalies: precision <b data-label="precision" data-value="{}">{:.3}</b>, recall <b data-label="recall" data-value="{}">{:.3}</b>.</p>"#,
            e.labelled, e.precision, e.precision, e.recall, e.recall
        );
    }
    let labels: Vec<String> = an.by_type_op.iter().map(|c| c.key.clone()).collect();
    let values: Vec<f64> = an.by_type_op.iter().map(|c| c.count as f64).collect();
    let colours: Vec<&str> = labels.iter().map(|t| sign_colour(amount_of(stats, t))).collect();
    body.push_str(&svg::hbars("Flagged rows per operation type", &labels, &values, &colours, "rows"));
    let types: Vec<&AmountStats> = stats.montant_by_type_op.iter().collect();
    let type_labels: Vec<String> = types.iter().map(|a| a.type_op.clone()).collect();
    let boxes: Vec<_> = types.iter().map(|a| a.magnitude).collect();
    let marks: Vec<(usize, f64)> = an
        .top
        .iter()
        .filter_map(|f| type_labels.iter().position(|t| *t == f.type_op).map(|i| (i, f.abs_montant)))
        .collect();
    body.push_str(&svg::boxes(
        "Flagged amounts (red rings) against each type's usual range",
        &type_labels,
        &boxes,
        &[MAIN],
        &marks,
        "euros",
    ));
    body.push_str(r#"<table><tr><th>id_mouvement</th><th>type_op</th><th>produit</th><th class="n">|montant| €</th><th class="n">× p99</th></tr>"#);
    for f in an.top.iter().take(FLAGGED_SHOWN) {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="n">{:.2}</td><td class="n">{:.1}</td></tr>"#,
            escape(&f.id_mouvement),
            escape(&f.type_op),
            escape(&f.produit),
            f.abs_montant,
            f.score
        );
    }
    body.push_str("</table>");
    page.section(
        "anomalies",
        "Anomalies",
        "What the percentile rule flags, and how it fares against the labels.",
        &body,
    );
}

fn ratios(page: &mut Page, stats: &Stats) {
    let items: Vec<(String, f64, f64, f64)> = stats
        .business_ratios
        .iter()
        .filter(|r| r.pays.is_none())
        .map(|r| (format!("{} {}", r.name, r.produit), r.value, r.low, r.high))
        .collect();
    let mut body = key(&[("#dfe8d8", "band"), (MAIN, "in band"), (OUT, "outside")]);
    body.push_str(&svg::bullets("Business ratios per product against their bands", &items));
    body.push_str(
        r#"<table><tr><th>ratio</th><th>produit</th><th class="n">band</th><th class="n">all</th>"#,
    );
    for pays in Pays::ALL {
        let _ = write!(body, r#"<th class="n">{}</th>"#, pays.label());
    }
    body.push_str("</tr>");
    for whole in stats.business_ratios.iter().filter(|r| r.pays.is_none()) {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{:.4} to {:.4}</td>"#,
            whole.name,
            escape(&whole.produit),
            whole.low,
            whole.high
        );
        let cells = std::iter::once(whole).chain(
            stats
                .business_ratios
                .iter()
                .filter(|r| r.name == whole.name && r.produit == whole.produit && r.pays.is_some()),
        );
        for r in cells {
            let _ = write!(
                body,
                r#"<td class="n{}" title="band {:.4} to {:.4}">{:.4}</td>"#,
                if r.in_band { "" } else { " out" },
                r.low,
                r.high,
                r.value
            );
        }
        body.push_str("</tr>");
    }
    body.push_str("</table>");
    page.section(
        "ratios",
        "Business ratios",
        "Loss ratio, commission rate and the other ratios an analyst checks, per product (chart) and per product and country (table, red when outside the band), with flagged amounts capped at the anomaly rule's threshold.",
        &body,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_coloured_by_rhythm() {
        assert_eq!(day_colour("2024-06-01"), "#a9b7cc"); // a Saturday
        assert_eq!(day_colour("2024-07-02"), COUNTRY_COLOURS[1]); // a Tuesday, 2nd of the month
        assert_eq!(day_colour("2024-07-10"), MAIN);
        assert_eq!(day_colour("not a date"), MAIN);
    }
}
