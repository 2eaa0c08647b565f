//! `cargo xtask bench`: release-mode measurements printed as one table, with ratios taken in
//! the same run against peers (`dd` writing the same bytes; DuckDB reading and generating the
//! same data). Medians of several runs; the machine is noisy, so the ratios are what count.
//!
//! `--quick` does one run of each at smaller sizes; `--runs N` sets the repetitions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::process;
use crate::python::Tools;

/// One measured command: wall seconds and peak RSS in KiB (when `/usr/bin/time` exists).
#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: f64,
    rss_kib: Option<u64>,
}

impl Sample {
    /// Peak RSS in MiB, when measured.
    fn rss_mib(&self) -> Option<f64> {
        self.rss_kib.map(|k| k as f64 / 1024.0)
    }
}

/// Runs `program args` once, timing it and reading its peak RSS.
fn measure(program: &str, args: &[&str]) -> Result<(Sample, String)> {
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "%M"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args);
    let started = Instant::now();
    let output = cmd.output().with_context(|| format!("cannot run {program}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        bail!("{program} {} failed: {stderr}", args.join(" "));
    }
    let rss_kib =
        if time.exists() { stderr.lines().last().and_then(|l| l.trim().parse().ok()) } else { None };
    Ok((Sample { seconds, rss_kib }, String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// The median time and the median peak RSS of `runs` measurements.
fn median(runs: usize, mut once: impl FnMut() -> Result<Sample>) -> Result<Sample> {
    let samples: Vec<Sample> = (0..runs).map(|_| once()).collect::<Result<_>>()?;
    let mut seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    let mut rss: Vec<u64> = samples.iter().filter_map(|s| s.rss_kib).collect();
    rss.sort_unstable();
    Ok(Sample { seconds: seconds[seconds.len() / 2], rss_kib: rss.get(rss.len() / 2).copied() })
}

/// A table row.
struct Row {
    what: String,
    seconds: f64,
    rows_per_s: Option<f64>,
    mb_per_s: Option<f64>,
    rss_mib: Option<f64>,
    ratio: Option<(f64, &'static str)>,
}

fn print_table(rows: &[Row]) {
    println!("\n| measurement | seconds | M rows/s | MB/s | peak RSS MiB | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    let opt = |v: Option<f64>, digits: usize| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"));
    for r in rows {
        let ratio = r.ratio.map_or_else(|| "—".to_owned(), |(x, what)| format!("{x:.2}× {what}"));
        println!(
            "| {} | {:.3} | {} | {} | {} | {} |",
            r.what,
            r.seconds,
            opt(r.rows_per_s.map(|v| v / 1e6), 2),
            opt(r.mb_per_s, 0),
            opt(r.rss_mib, 1),
            ratio
        );
    }
}

/// Flushes dirty pages so that one measurement's writeback does not land in the next.
fn settle() {
    let _ = Command::new("sync").status();
}

/// The size of everything under `dir`.
fn tree_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { tree_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

/// The Python of the tools' environment (DuckDB among them); `None`, with the reason printed,
/// if it cannot be installed.
fn duckdb_python() -> Option<PathBuf> {
    match Tools::install() {
        Ok(tools) => Some(tools.bin("python")),
        Err(e) => {
            println!("skipping the DuckDB peers: cannot install the Python tools ({e})");
            None
        }
    }
}

/// The DuckDB query script: reads the shards and runs the three aggregates, in one process.
const DUCKDB_READ: &str = r#"
import sys, duckdb
glob = sys.argv[1]
con = duckdb.connect()
src = f"read_csv('{glob}', header=true, columns={{'id_mouvement':'VARCHAR','date_op':'DATE','produit':'VARCHAR','type_op':'VARCHAR','montant':'DECIMAL(18,2)','agence_id':'VARCHAR','pays':'VARCHAR'}})"
con.execute(f'SELECT count(*) FROM {src}').fetchall()
con.execute(f'SELECT count(DISTINCT id_mouvement) FROM {src}').fetchall()
con.execute(f'SELECT type_op, count(*), sum(montant) FROM {src} GROUP BY type_op').fetchall()
"#;

/// DuckDB generating the same seven columns with one COPY statement.
const DUCKDB_GENERATE: &str = r"
import sys, duckdb
rows, out = int(sys.argv[1]), sys.argv[2]
duckdb.connect().execute(f'''
COPY (
  SELECT 'M' || lpad(CAST(i + 1 AS VARCHAR), 7, '0') AS id_mouvement,
         DATE '2025-06-01' + CAST(i * 30 // {rows} AS INTEGER) AS date_op,
         ['auto', 'santé', 'habitation', 'vie'][1 + CAST(hash(i) % 4 AS BIGINT)] AS produit,
         ['cotisation', 'remboursement', 'commission', 'rétrocession', 'ajustement', 'régularisation',
          'pénalité', 'correction', 'annulation', 'virement', 'provision', 'réassurance', 'frais_gestion',
          'prime_exceptionnelle', 'bonus_malus', 'indemnisation', 'franchise', 'rachat', 'recours'][1 + CAST(hash(i + 1) % 19 AS BIGINT)] AS type_op,
         round(exp(4.0 + random()), 2) AS montant,
         'AG_' || lpad(CAST(1 + hash(i + 2) % 50 AS VARCHAR), 3, '0') AS agence_id,
         ['FR', 'ES', 'IT', 'DE', 'BE'][1 + CAST(hash(i + 3) % 5 AS BIGINT)] AS pays
  FROM range({rows}) t(i)
) TO '{out}' (HEADER)
''')
";

/// The generator core into a discarding writer, on one thread and on every core.
fn bench_core(core: &str, runs: usize, quick: bool, cores: usize, table: &mut Vec<Row>) -> Result<()> {
    let core_rows: u64 = if quick { 5_000_000 } else { 20_000_000 };
    for threads in [1, cores] {
        let mut bytes = 0u64;
        let sample = median(runs, || {
            let (_, out) = measure(core, &[&core_rows.to_string(), &threads.to_string()])?;
            let json: serde_json::Value = serde_json::from_str(out.trim())?;
            bytes = json["bytes"].as_u64().unwrap_or(0);
            Ok(Sample { seconds: json["seconds"].as_f64().unwrap_or(f64::NAN), rss_kib: None })
        })?;
        table.push(Row {
            what: format!("generator core, {threads} thread(s), {core_rows} rows"),
            seconds: sample.seconds,
            rows_per_s: Some(core_rows as f64 / sample.seconds),
            mb_per_s: Some(bytes as f64 / 1e6 / sample.seconds),
            rss_mib: None,
            ratio: None,
        });
    }

    Ok(())
}

/// verify and verify --stats of the dataset, against DuckDB's aggregates over the same files.
fn bench_verify(
    bin: &str,
    lake_text: &str,
    rows: u64,
    bytes: u64,
    runs: usize,
    python: Option<&Path>,
    table: &mut Vec<Row>,
) -> Result<()> {
    let duck = match python {
        Some(py) => {
            let py = py.to_string_lossy().into_owned();
            let glob = format!("{lake_text}/raw/mouvements-*.csv");
            match median(runs, || Ok(measure(&py, &["-c", DUCKDB_READ, &glob])?.0)) {
                Ok(d) => Some(d),
                Err(e) => {
                    println!("skipping the DuckDB read peer: {e}");
                    None
                }
            }
        }
        None => None,
    };
    if let Some(d) = duck {
        table.push(Row {
            what: "DuckDB: count(*), count(distinct id), group by type_op".into(),
            seconds: d.seconds,
            rows_per_s: Some(rows as f64 / d.seconds),
            mb_per_s: Some(bytes as f64 / 1e6 / d.seconds),
            rss_mib: d.rss_mib(),
            ratio: None,
        });
    }
    for (what, extra) in [("verify", None), ("verify --stats", Some("--stats"))] {
        let sample = median(runs, || {
            let mut args = vec!["verify", "-o", lake_text];
            args.extend(extra);
            Ok(measure(bin, &args)?.0)
        })?;
        table.push(Row {
            what: format!("{what} of the {rows}-row dataset"),
            seconds: sample.seconds,
            rows_per_s: Some(rows as f64 / sample.seconds),
            mb_per_s: Some(bytes as f64 / 1e6 / sample.seconds),
            rss_mib: sample.rss_mib(),
            ratio: duck.map(|d| (sample.seconds / d.seconds, "DuckDB's time")),
        });
    }

    Ok(())
}

/// Peak RSS of `generate` at other row counts, against the default run's.
fn bench_rss(
    bin: &str,
    work: &Path,
    sizes: &[u64],
    runs: usize,
    reference: Sample,
    table: &mut Vec<Row>,
) -> Result<()> {
    for &n in sizes {
        let other = work.join(format!("lake-{n}"));
        let other_text = other.to_string_lossy().into_owned();
        let n_text = n.to_string();
        let sample = median(runs, || {
            let _ = std::fs::remove_dir_all(&other);
            settle();
            Ok(measure(bin, &["generate", "-o", &other_text, "-n", &n_text, "-s", "5", "-q"])?.0)
        })?;
        let _ = std::fs::remove_dir_all(&other);
        table.push(Row {
            what: format!("generate {n} rows (peak RSS)"),
            seconds: sample.seconds,
            rows_per_s: Some(n as f64 / sample.seconds),
            mb_per_s: None,
            rss_mib: sample.rss_mib(),
            ratio: reference
                .rss_mib()
                .zip(sample.rss_mib())
                .map(|(base, this)| (this / base, "RSS of the default run")),
        });
    }
    Ok(())
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map_or(if quick { 1 } else { 5 }, |n| n.parse().unwrap_or(5));
    let (rows, big) = if quick { (2_000_000u64, 5_000_000u64) } else { (10_000_000, 50_000_000) };
    process::run("cargo", &["build", "--release", "--locked", "-p", "mouvements-cli"], &[])?;
    process::run(
        "cargo",
        &["build", "--release", "--locked", "-p", "mouvements-generator", "--example", "throughput"],
        &[],
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let bin = target.join("release/mouvements-gen").to_string_lossy().into_owned();
    let core = target.join("release/examples/throughput").to_string_lossy().into_owned();
    let work = target.join("bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut table = Vec::new();

    bench_core(&core, runs, quick, cores, &mut table)?;

    // generate to local disk, and dd writing the same bytes to the same filesystem.
    let lake = work.join("lake");
    let lake_text = lake.to_string_lossy().into_owned();
    let rows_text = rows.to_string();
    let generate = median(runs, || {
        let _ = std::fs::remove_dir_all(&lake);
        settle();
        Ok(measure(&bin, &["generate", "-o", &lake_text, "-n", &rows_text, "-s", "5", "-q"])?.0)
    })?;
    let bytes = tree_bytes(&lake.join("raw"))?;
    let dd_out = work.join("dd.bin").to_string_lossy().into_owned();
    let mib = bytes.div_ceil(1 << 20).to_string();
    // Both write fresh files and flush them: local lakes are fsynced before they commit.
    let dd = median(runs, || {
        let _ = std::fs::remove_file(&dd_out);
        settle();
        Ok(measure(
            "dd",
            &["if=/dev/zero", &format!("of={dd_out}"), "bs=1M", &format!("count={mib}"), "conv=fsync"],
        )?
        .0)
    })?;
    let _ = std::fs::remove_file(&dd_out);
    table.push(Row {
        what: format!("dd, {mib} MiB to the same disk, fsynced"),
        seconds: dd.seconds,
        rows_per_s: None,
        mb_per_s: Some(bytes as f64 / 1e6 / dd.seconds),
        rss_mib: dd.rss_mib(),
        ratio: None,
    });
    table.push(Row {
        what: format!("generate {rows} rows × 5 shards, local disk, {cores} core(s)"),
        seconds: generate.seconds,
        rows_per_s: Some(rows as f64 / generate.seconds),
        mb_per_s: Some(bytes as f64 / 1e6 / generate.seconds),
        rss_mib: generate.rss_mib(),
        ratio: Some((generate.seconds / dd.seconds, "dd's time")),
    });

    bench_rss(&bin, &work, &[rows / 10, big], runs.min(3), generate, &mut table)?;

    let python = duckdb_python();
    bench_verify(&bin, &lake_text, rows, bytes, runs, python.as_deref(), &mut table)?;

    // DuckDB generating the same columns, as a peer of generate.
    if let Some(py) = &python {
        let out = work.join("duckdb.csv").to_string_lossy().into_owned();
        let py = py.to_string_lossy().into_owned();
        match median(runs, || Ok(measure(&py, &["-c", DUCKDB_GENERATE, &rows_text, &out])?.0)) {
            Ok(d) => {
                let size = std::fs::metadata(&out).map_or(0, |m| m.len());
                table.push(Row {
                    what: format!("DuckDB COPY of {rows} generated rows to CSV"),
                    seconds: d.seconds,
                    rows_per_s: Some(rows as f64 / d.seconds),
                    mb_per_s: Some(size as f64 / 1e6 / d.seconds),
                    rss_mib: d.rss_mib(),
                    ratio: Some((d.seconds / generate.seconds, "generate's time (DuckDB / ours)")),
                });
            }
            Err(e) => println!("skipping the DuckDB generation peer: {e}"),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    print_table(&table);
    println!("\n{runs} run(s) each, medians; {cores} core(s).");
    Ok(())
}
