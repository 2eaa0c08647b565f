//! End-to-end tests of `mouvements-gen verify --html`: the page parses, holds every section and
//! chart, refers to nothing outside itself, and its figures are the `--json` statistics of the
//! same run; a failing dataset's page names the rule, the shard and the line.

#![allow(clippy::float_cmp)] // the page must show the very figures of the JSON, not close ones

mod common;

use std::path::Path;

use common::{mouvements_gen, scratch};

const SECTIONS: [&str; 10] = [
    "verdict",
    "dataset",
    "trends",
    "mix",
    "amounts",
    "retrocessions",
    "agencies",
    "compliance",
    "anomalies",
    "ratios",
];

/// 20 000 rows in 3 shards, with the anomaly labels.
fn lake() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, lake) = scratch();
    let output = mouvements_gen()
        .args(["generate", "-n", "20000", "-s", "3", "--seed", "9", "--labels", "-q", "-o"])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    (dir, lake)
}

/// Runs `verify --html` (and `--json`), returning the exit code, the JSON and the page.
fn verify_html(lake: &Path, page: &Path) -> (Option<i32>, serde_json::Value, String) {
    let output =
        mouvements_gen().args(["verify", "--json", "--html"]).arg(page).arg("-o").arg(lake).output().unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), report, std::fs::read_to_string(page).unwrap())
}

/// The `(data-label, data-value)` pairs of each chart of a section, chart by chart.
fn charts(html: &str, section: &str) -> Vec<Vec<(String, String)>> {
    let dom = tl::parse(html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let node = dom.get_element_by_id(section).unwrap_or_else(|| panic!("no section {section}"));
    let tag = node.get(parser).unwrap().as_tag().unwrap();
    tag.children()
        .all(parser)
        .iter()
        .filter_map(|n| n.as_tag().filter(|t| t.name() == "svg"))
        .map(|svg| {
            svg.children()
                .all(parser)
                .iter()
                .filter_map(|n| {
                    let attributes = n.as_tag()?.attributes();
                    let label = attributes.get("data-label")??.as_utf8_str().into_owned();
                    let value = attributes.get("data-value")??.as_utf8_str().into_owned();
                    Some((label, value))
                })
                .collect()
        })
        .collect()
}

/// The value a chart shows for `label`.
fn value(chart: &[(String, String)], label: &str) -> f64 {
    let found = chart.iter().find(|(l, _)| l == label).unwrap_or_else(|| panic!("no {label} in {chart:?}"));
    found.1.parse().unwrap()
}

fn number(value: &serde_json::Value) -> f64 {
    value.as_f64().unwrap()
}

#[test]
fn the_page_is_whole_self_contained_and_shows_the_json_figures() {
    let (_dir, lake) = lake();
    let page = lake.parent().unwrap().join("report.html");
    let (code, report, html) = verify_html(&lake, &page);
    assert_eq!(code, Some(0), "{report}");
    let stats = &report["stats"];

    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    for id in SECTIONS {
        assert!(dom.get_element_by_id(id).is_some(), "section {id} is missing");
    }
    let svgs = dom.query_selector("svg").unwrap().count();
    assert!(svgs >= 10, "{svgs} charts");
    assert!(!html.contains("http://") && !html.contains("https://"), "the page refers outside itself");
    assert!(!html.contains("<script"), "the page needs no script");

    let mix = charts(&html, "mix");
    for c in stats["by_pays"].as_array().unwrap() {
        assert_eq!(value(&mix[0], c["key"].as_str().unwrap()), number(&c["count"]));
    }
    for c in stats["by_produit"].as_array().unwrap() {
        assert_eq!(value(&mix[1], c["key"].as_str().unwrap()), number(&c["count"]));
    }
    for c in stats["by_type_op"].as_array().unwrap().iter().filter(|c| number(&c["count"]) > 0.0) {
        assert_eq!(value(&mix[2], c["key"].as_str().unwrap()), number(&c["count"]));
    }

    let trends = charts(&html, "trends");
    let days = stats["days"].as_array().unwrap();
    assert_eq!(trends[0].len(), days.len());
    for d in days {
        assert_eq!(value(&trends[0], d["date"].as_str().unwrap()), number(&d["rows"]));
    }
    let shown: f64 = trends[0].iter().map(|(_, v)| v.parse::<f64>().unwrap()).sum();
    assert_eq!(shown, number(&stats["rows"]));
    let cotisations: f64 = days.iter().map(|d| number(&d["cotisations"])).sum();
    assert!((value(&trends[1], "cotisations") - cotisations).abs() < 1e-6 * cotisations.abs().max(1.0));

    let amounts = charts(&html, "amounts");
    for a in stats["montant_by_type_op"].as_array().unwrap() {
        assert_eq!(value(&amounts[0], a["type_op"].as_str().unwrap()), number(&a["magnitude"]["p50"]));
    }

    let agencies = charts(&html, "agencies");
    for a in stats["agencies"].as_array().unwrap() {
        let label = format!("{} {}", a["agence_id"].as_str().unwrap(), a["pays"].as_str().unwrap());
        assert_eq!(value(&agencies[0], &label), number(&a["net"]));
    }

    let anomalies = &stats["anomalies"];
    let flagged = charts(&html, "anomalies");
    for c in anomalies["by_type_op"].as_array().unwrap() {
        assert_eq!(value(&flagged[0], c["key"].as_str().unwrap()), number(&c["count"]));
    }
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let figure = |label: &str| -> f64 {
        let selector = format!("b[data-label={label}]");
        let node = dom.query_selector(&selector).unwrap().next().unwrap_or_else(|| panic!("no {label}"));
        let tag = node.get(dom.parser()).unwrap().as_tag().unwrap();
        tag.attributes().get("data-value").unwrap().unwrap().as_utf8_str().parse().unwrap()
    };
    assert_eq!(figure("flagged"), number(&anomalies["flagged_count"]));
    assert!(anomalies["evaluation"].is_object(), "the labels give precision and recall");
    assert_eq!(figure("precision"), number(&anomalies["evaluation"]["precision"]));
    assert_eq!(figure("recall"), number(&anomalies["evaluation"]["recall"]));

    let ratios = charts(&html, "ratios");
    let per_product = stats["business_ratios"].as_array().unwrap().iter().filter(|r| r["pays"].is_null());
    for r in per_product {
        let label = format!("{} {}", r["name"].as_str().unwrap(), r["produit"].as_str().unwrap());
        assert_eq!(value(&ratios[0], &label), number(&r["value"]));
    }

    let verdict = charts(&html, "verdict");
    assert!(verdict.is_empty(), "the verdict is a table, not a chart");
    assert!(html.contains(r#"data-label="verdict" data-value="pass""#));
}

#[test]
fn a_failing_dataset_gets_a_page_naming_rule_shard_and_line() {
    let (_dir, lake) = lake();
    let shard = "raw/mouvements-00001-of-00003.csv";
    let path = lake.join(shard);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let mut fields: Vec<String> = lines[9].trim_end().split(',').map(str::to_owned).collect();
    fields[4] = "12.5".to_owned(); // one decimal: montant.format
    lines[9] = format!("{}\n", fields.join(","));
    std::fs::write(&path, lines.concat()).unwrap();

    let page = lake.parent().unwrap().join("failed.html");
    let (code, report, html) = verify_html(&lake, &page);
    assert_eq!(code, Some(1), "{report}");
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let verdict = dom.get_element_by_id("verdict").unwrap().get(dom.parser()).unwrap();
    let text = verdict.inner_text(dom.parser());
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("montant.format") && text.contains(&format!("{shard} line 10")), "{text}");
}

#[test]
fn html_alone_keeps_the_terminal_short_and_a_bad_path_is_refused_before_reading() {
    let (dir, lake) = lake();
    let page = dir.path().join("alone.html");
    let output =
        mouvements_gen().args(["verify", "--html"]).arg(&page).arg("-o").arg(&lake).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Verdict: PASS") && !text.contains("By pays"), "{text}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("alone.html"));
    assert!(std::fs::read_to_string(&page).unwrap().contains(r#"id="ratios""#));

    let nowhere = dir.path().join("no-such-folder").join("report.html");
    let output =
        mouvements_gen().args(["verify", "--html"]).arg(&nowhere).arg("-o").arg(&lake).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("--html") && message.contains("no-such-folder"), "{message}");
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().ends_with(".tmp")), "{leftovers:?}");
}
