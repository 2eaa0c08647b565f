//! The Python package's rows of `cargo xtask bench`, against the installed wheel (the gate's
//! or `cargo xtask wheel`'s, installed into the tools' environment): `rows()` into a pyarrow
//! table on one core against the Rust walk of the same record batches, with its peak RSS
//! against the table's own bytes; `generate()` of the default lake against the CLI, run in
//! turn; the Spark rows (the data source against Spark reading our CSV and dbldatagen, and
//! `write_lake` against the CLI, in one session: `bench_spark.py`); the wheel's size and
//! `import mouvements`'s time.

use std::path::Path;

use anyhow::{Context, Result};

use crate::bench::{Bench, Row, Sample, measure, median};
use crate::process;
use crate::python::Tools;

/// `rows()` into a table, timed; prints seconds, rows, the table's bytes and peak RSS. A
/// one-row table comes first: `pyarrow.table()`'s first call imports pandas when it is
/// installed (to ask whether its argument is a DataFrame), 0.2 s and 40 MiB that are neither
/// the table's nor the stream's.
const ROWS_TO_TABLE: &str = r#"
import json, resource, sys, time
import pyarrow, mouvements
n = int(sys.argv[1])
pyarrow.table(mouvements.rows(rows=1))
started = time.perf_counter()
table = pyarrow.table(mouvements.rows(rows=n))
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rows": table.num_rows, "nbytes": table.nbytes, "rss_kib": rss}))
"#;

/// The baseline of the RSS: the interpreter with pyarrow and mouvements imported, and the
/// one-row table of [`ROWS_TO_TABLE`] made.
const IMPORTED: &str = r#"
import json, resource
import pyarrow, mouvements
pyarrow.table(mouvements.rows(rows=1))
print(json.dumps({"rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"#;

/// Runs the Python rows; skipped with a message when the wheel is not installed.
pub fn run(bench: &Bench, tools: &Tools, arrow_walk: &str, table: &mut Vec<Row>) -> Result<()> {
    let python = tools.bin("python").to_string_lossy().into_owned();
    if process::capture(&python, &["-c", "import mouvements, pyarrow"], &[]).is_err() {
        println!(
            "python rows skipped: install the wheel first (cargo xtask wheel, then pip install it into the tools' venv)"
        );
        return Ok(());
    }
    let rows = bench.rows;
    let rows_text = rows.to_string();
    // One core, for both: the stream's batches are made on the consumer's thread.
    let one_core = |program: &str, args: &[&str]| -> Result<serde_json::Value> {
        let mut all = vec!["-c", "0", program];
        all.extend(args);
        let output = process::capture("taskset", &all, &[])?;
        Ok(serde_json::from_slice(&output.stdout)?)
    };
    let mut walks = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..bench.runs {
        walks.push(one_core(arrow_walk, &[&rows_text])?);
        streams.push(one_core(&python, &["-c", ROWS_TO_TABLE, &rows_text])?);
    }
    let seconds = |values: &[serde_json::Value]| -> Result<f64> {
        let mut s: Vec<f64> = values.iter().filter_map(|v| v["seconds"].as_f64()).collect();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().context("no run")
    };
    let (walk, stream) = (seconds(&walks)?, seconds(&streams)?);
    let last = streams.last().context("no run")?;
    let nbytes = last["nbytes"].as_u64().unwrap_or(0);
    let rss_kib = last["rss_kib"].as_u64().unwrap_or(0);
    let imported: serde_json::Value =
        serde_json::from_slice(&process::capture(&python, &["-c", IMPORTED], &[])?.stdout)?;
    let base_kib = imported["rss_kib"].as_u64().unwrap_or(0);
    let plain = |s: f64| Sample { seconds: s, rss_kib: None };
    table.push(crate::bench::row("Rust record_batches walk, 1 core".into(), plain(walk), rows, None, None));
    table.push(Row {
        rss_mib: Some(rss_kib as f64 / 1024.0),
        ..crate::bench::row(
            format!(
                "pyarrow.table(mouvements.rows()), 1 core (table {:.0} MiB; RSS {:.2}× it, {:.2}× less the warmed-up interpreter's {:.0} MiB)",
                nbytes as f64 / 1_048_576.0,
                rss_kib as f64 * 1024.0 / nbytes.max(1) as f64,
                rss_kib.saturating_sub(base_kib) as f64 * 1024.0 / nbytes.max(1) as f64,
                base_kib as f64 / 1024.0
            ),
            plain(stream),
            rows,
            None,
            Some((stream / walk, "the Rust walk")),
        )
    });

    // generate() and the CLI, the default lake, in turn.
    let generate = format!("import mouvements, sys; mouvements.generate(sys.argv[1], rows={rows})");
    let [(cli, _), (api, _)] = bench.fresh_runs(["lake-cli", "lake-python"], bench.runs, |i, lake| {
        let lake_text = lake.to_string_lossy().into_owned();
        crate::bench::settle();
        if i == 0 {
            Ok(measure(&bench.bin, &["generate", "-o", &lake_text, "-n", &rows_text, "-q"])?.0)
        } else {
            Ok(measure(&python, &["-c", &generate, &lake_text])?.0)
        }
    })?;
    table.push(crate::bench::row("generate, every layer: mouvements-gen".into(), cli, rows, None, None));
    table.push(crate::bench::row(
        "generate, every layer: mouvements.generate()".into(),
        api,
        rows,
        None,
        Some((api.seconds / cli.seconds, "the CLI")),
    ));

    spark(bench, tools, &python, table)?;

    let import = median(bench.runs, || Ok(measure(&python, &["-c", "import mouvements"])?.0))?;
    let bare = median(bench.runs, || Ok(measure(&python, &["-c", "pass"])?.0))?;
    let wheel = std::fs::read_dir(Path::new("target/wheels")).ok().and_then(|d| {
        d.filter_map(Result::ok).map(|e| e.path()).find(|p| p.extension().is_some_and(|e| e == "whl"))
    });
    let size = wheel.and_then(|w| std::fs::metadata(w).ok()).map_or(0, |m| m.len());
    table.push(Row {
        what: format!(
            "import mouvements (python -c 'pass' {:.3} s); wheel {:.1} MB",
            bare.seconds,
            size as f64 / 1e6
        ),
        seconds: import.seconds,
        rows_per_s: None,
        mb_per_s: None,
        rss_mib: import.rss_mib(),
        ratio: None,
    });
    Ok(())
}

/// The Spark rows (see `bench_spark.py`), with the CLI's time for the same lake beside.
fn spark(bench: &Bench, tools: &Tools, python: &str, table: &mut Vec<Row>) -> Result<()> {
    if process::capture(python, &["-c", "import pyspark"], &[]).is_err() {
        println!("spark rows skipped: pyspark is not installed in the tools' venv");
        return Ok(());
    }
    // dbldatagen is the peer, for the bench only; without it its row says why.
    let pip = tools.bin("pip").to_string_lossy().into_owned();
    let _ = process::capture(&pip, &["install", "--quiet", "--disable-pip-version-check", "dbldatagen"], &[]);
    let rows_text = bench.rows.to_string();
    let [(cli, csv_lake)] = bench.fresh_runs(["spark-cli"], bench.runs, |_, lake| {
        let lake_text = lake.to_string_lossy().into_owned();
        crate::bench::settle();
        Ok(measure(&bench.bin, &["generate", "-o", &lake_text, "-n", &rows_text, "-q"])?.0)
    })?;
    let script = bench.work.join("bench_spark.py");
    std::fs::write(&script, include_str!("bench_spark.py"))?;
    let (script_text, lake_text) =
        (script.to_string_lossy().into_owned(), csv_lake.to_string_lossy().into_owned());
    let work_text = bench.work.to_string_lossy().into_owned();
    let runs = bench.runs.min(3).to_string();
    let output = process::capture(python, &[&script_text, &rows_text, &lake_text, &work_text, &runs], &[])?;
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("bench_spark.py's JSON")?;
    let seconds = |key: &str| result[key].as_f64();
    let plain = |s: f64| Sample { seconds: s, rss_kib: None };
    let rows = bench.rows;
    let source = seconds("source").context("the source's time")?;
    table.push(Row {
        what: format!(
            "Spark local[2] start-up (apart), {:.1} s; mouvements source to noop",
            seconds("startup").unwrap_or(0.0)
        ),
        ..crate::bench::row(String::new(), plain(source), rows, None, None)
    });
    let floor = seconds("floor").context("the floor's time")?;
    table.push(crate::bench::row(
        "the Python Data Source API's floor: one ready batch yielded again and again, to noop".into(),
        plain(floor),
        rows,
        None,
        Some((floor / source, "the source's time")),
    ));
    if let Some(csv) = seconds("csv") {
        table.push(crate::bench::row(
            format!("Spark reading our raw CSV to noop ({:.2}× the floor's time)", csv / floor),
            plain(csv),
            rows,
            None,
            Some((csv / source, "the source's time")),
        ));
    }
    match seconds("dbldatagen") {
        Some(peer) => table.push(crate::bench::row(
            format!("dbldatagen, the same 7 columns, to noop ({:.2}× the floor's time)", peer / floor),
            plain(peer),
            rows,
            None,
            Some((peer / source, "the source's time")),
        )),
        None => println!("dbldatagen row skipped: {}", result["dbldatagen_skipped"]),
    }
    if let Some(lake) = seconds("write_lake") {
        table.push(crate::bench::row(
            "write_lake, every layer, local[2]".into(),
            plain(lake),
            rows,
            None,
            Some((lake / cli.seconds, "the CLI")),
        ));
    }
    Ok(())
}
