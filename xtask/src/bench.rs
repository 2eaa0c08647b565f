//! `cargo xtask bench`: release-mode measurements printed as one table, with ratios taken in
//! the same run against peers (`dd` writing the same bytes; DuckDB reading, converting to
//! Parquet and generating the same data). Medians of several runs; the machine is noisy, so the
//! ratios are what count.
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
pub struct Sample {
    pub seconds: f64,
    pub rss_kib: Option<u64>,
}

impl Sample {
    /// Peak RSS in MiB, when measured.
    pub fn rss_mib(&self) -> Option<f64> {
        self.rss_kib.map(|k| k as f64 / 1024.0)
    }
}

/// Runs `program args` once, timing it and reading its peak RSS.
pub fn measure(program: &str, args: &[&str]) -> Result<(Sample, String)> {
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
pub fn median(runs: usize, mut once: impl FnMut() -> Result<Sample>) -> Result<Sample> {
    let samples: Vec<Sample> = (0..runs).map(|_| once()).collect::<Result<_>>()?;
    median_of(&samples)
}

/// The median time and peak memory of `samples` (at least one).
fn median_of(samples: &[Sample]) -> Result<Sample> {
    if samples.is_empty() {
        bail!("the benchmark asked for no run");
    }
    let mut seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    let mut rss: Vec<u64> = samples.iter().filter_map(|s| s.rss_kib).collect();
    rss.sort_unstable();
    Ok(Sample { seconds: seconds[seconds.len() / 2], rss_kib: rss.get(rss.len() / 2).copied() })
}

/// A table row.
pub struct Row {
    pub what: String,
    pub seconds: f64,
    pub rows_per_s: Option<f64>,
    pub mb_per_s: Option<f64>,
    pub rss_mib: Option<f64>,
    pub ratio: Option<(f64, &'static str)>,
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

/// Flushes dirty pages so that one measurement's writeback does not land in the next, and
/// empties the page cache where allowed (as root): on this development machine a full cache
/// made the same run up to three times slower, so every run starts from an empty one.
pub fn settle() {
    let _ = Command::new("sync").status();
    let _ = std::fs::write("/proc/sys/vm/drop_caches", "3");
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

/// DuckDB turning the raw CSV into Parquet partitioned like staging/, zstd: the peer of the
/// staging layer.
const DUCKDB_PARQUET: &str = r#"
import sys, duckdb
glob, out = sys.argv[1], sys.argv[2]
duckdb.connect().execute(f"""
COPY (SELECT * FROM read_csv('{glob}', header=true, columns={{'id_mouvement':'VARCHAR','date_op':'DATE','produit':'VARCHAR','type_op':'VARCHAR','montant':'DECIMAL(18,2)','agence_id':'VARCHAR','pays':'VARCHAR'}}))
TO '{out}' (FORMAT parquet, PARTITION_BY (pays, produit), COMPRESSION zstd)
""")
"#;

/// The benchmark's settings and where it writes.
pub struct Bench {
    pub bin: String,
    pub work: PathBuf,
    pub runs: usize,
    pub rows: u64,
}

impl Bench {
    /// The median of `generate -o <folder> -n rows <extra…>`, each run into a new folder;
    /// returns the last run's lake (see [`Bench::fresh_runs`]).
    fn generate(&self, name: &str, rows: u64, extra: &[&str], runs: usize) -> Result<(Sample, PathBuf)> {
        let [one] = self.fresh_runs([name], runs, |_, lake| self.generate_into(lake, rows, extra))?;
        Ok(one)
    }

    /// The medians of `runs` runs of `once(i, folder)` for each of `names`, run in turn (the
    /// first name's run, the second's, then the first's again…), so that the machine's speed
    /// drifting from one minute to the next weighs on each alike and their ratio holds; each
    /// run is given a new folder `<work>/<name>-<n>` to write. Returns each name's median with
    /// its last run's folder, the others removed once every run is done. No run writes where
    /// files were just deleted: on a file system without a journal, ext4 skips inodes deleted
    /// in the last minutes when it creates files, so 10,000 shards written just after deleting
    /// 10,000 took 4× longer than into a new folder, and every layer (215 files) spent 7 % of
    /// its time in that search.
    pub fn fresh_runs<const N: usize>(
        &self,
        names: [&str; N],
        runs: usize,
        mut once: impl FnMut(usize, &Path) -> Result<Sample>,
    ) -> Result<[(Sample, PathBuf); N]> {
        let mut folders: [Vec<PathBuf>; N] = std::array::from_fn(|_| Vec::new());
        let mut samples: [Vec<Sample>; N] = std::array::from_fn(|_| Vec::new());
        let mut outcome = Ok(());
        'runs: for _ in 0..runs {
            for (i, name) in names.iter().enumerate() {
                // The first number free: a name measured twice keeps each call's last folder.
                let mut n = 0;
                while self.work.join(format!("{name}-{n}")).exists() {
                    n += 1;
                }
                let folder = self.work.join(format!("{name}-{n}"));
                folders[i].push(folder.clone());
                match once(i, &folder) {
                    Ok(sample) => samples[i].push(sample),
                    Err(e) => {
                        outcome = Err(e);
                        break 'runs;
                    }
                }
            }
        }
        let lasts = folders.each_mut().map(Vec::pop);
        for folder in folders.iter().flatten() {
            let _ = std::fs::remove_dir_all(folder);
        }
        outcome?;
        let mut medians = Vec::new();
        for (i, last) in lasts.into_iter().enumerate() {
            medians.push((median_of(&samples[i])?, last.context("the benchmark asked for no run")?));
        }
        Ok(medians.try_into().unwrap_or_else(|_| unreachable!("one median per name")))
    }

    /// One measured `generate -o lake -n rows <extra…>`.
    fn generate_into(&self, lake: &Path, rows: u64, extra: &[&str]) -> Result<Sample> {
        let lake_text = lake.to_string_lossy().into_owned();
        let rows_text = rows.to_string();
        settle();
        let mut args = vec!["generate", "-o", &lake_text, "-n", &rows_text, "-q"];
        args.extend(extra);
        Ok(measure(&self.bin, &args)?.0)
    }

    /// The median of `verify -o lake <extra…>`.
    fn verify(&self, lake: &Path, extra: &[&str]) -> Result<Sample> {
        let lake_text = lake.to_string_lossy().into_owned();
        median(self.runs, || {
            let mut args = vec!["verify", "-o", &lake_text, "-q"];
            args.extend(extra);
            Ok(measure(&self.bin, &args)?.0)
        })
    }
}

/// A row for a command over `rows` rows and `bytes` bytes.
pub fn row(
    what: String,
    sample: Sample,
    rows: u64,
    bytes: Option<u64>,
    ratio: Option<(f64, &'static str)>,
) -> Row {
    Row {
        what,
        seconds: sample.seconds,
        rows_per_s: Some(rows as f64 / sample.seconds),
        mb_per_s: bytes.map(|b| b as f64 / 1e6 / sample.seconds),
        rss_mib: sample.rss_mib(),
        ratio,
    }
}

/// The memory budget of `generate` and `verify --stats` whatever the rows and anomaly rate.
const MEMORY_BUDGET_MIB: f64 = 128.0;

/// Runs the benchmark.
/// The groups of rows `--only` chooses from, in the order they run.
const GROUPS: [&str; 6] = ["core", "layers", "labels", "history", "changes", "python"];

/// Measures and prints the table; `args`: `--quick`, `--runs N`, `--only GROUP,…`.
pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    // `--only history,changes`: the groups of rows to measure (all when absent).
    let only: Option<Vec<&str>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').collect());
    if let Some(unknown) = only.iter().flatten().find(|g| !GROUPS.contains(g)) {
        anyhow::bail!("--only {unknown}: the groups are {}", GROUPS.join(", "));
    }
    let wants = |group: &str| only.as_ref().is_none_or(|groups| groups.contains(&group));
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
    process::run(
        "cargo",
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "mouvements-generator",
            "--features",
            "arrow",
            "--example",
            "record_batches",
        ],
        &[],
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let core = target.join("release/examples/throughput").to_string_lossy().into_owned();
    let work = target.join("bench");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let bench =
        Bench { bin: target.join("release/mouvements-gen").to_string_lossy().into_owned(), work, runs, rows };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut table = Vec::new();

    if wants("core") {
        bench_core(&core, runs, quick, cores, &mut table)?;
    }
    if wants("layers") {
        let python = duckdb_python();
        // The raw layer and every layer in turn: their ratio is a target.
        let layer_args: [&[&str]; 2] = [&["-s", "5", "--layers", "raw"], &["-s", "5"]];
        let [(raw, raw_lake), (all, lake)] = bench
            .fresh_runs(["raw", "all"], runs, |i, lake| bench.generate_into(lake, rows, layer_args[i]))?;
        bench_raw(&bench, raw, &raw_lake, cores, &mut table)?;
        bench_layers(&bench, (raw, &raw_lake), (all, &lake), python.as_deref(), &mut table)?;
        bench_verify(&bench, &raw_lake, python.as_deref(), &mut table)?;
        bench_scale(&bench, big, raw, all, &mut table)?;
        bench_generate_peer(&bench, raw, python.as_deref(), &mut table);
    }
    if wants("labels") {
        bench_labels(&bench, quick, &mut table)?;
    }
    if wants("history") {
        bench_history(&bench, &mut table)?;
    }
    if wants("changes") {
        bench_changes(&bench, &mut table)?;
    }
    if wants("python") {
        let arrow_walk = target.join("release/examples/record_batches").to_string_lossy().into_owned();
        crate::bench_python::run(&bench, &Tools::install()?, &arrow_walk, &mut table)?;
    }

    let _ = std::fs::remove_dir_all(&bench.work);
    print_table(&table);
    println!("\n{runs} run(s) each, medians; {cores} core(s).");
    Ok(())
}

/// The raw layer alone (`raw`, which wrote `lake`), against `dd` writing the same bytes to the
/// same disk (both fsynced, as local lakes are).
fn bench_raw(bench: &Bench, raw: Sample, lake: &Path, cores: usize, table: &mut Vec<Row>) -> Result<()> {
    let bytes = tree_bytes(&lake.join("raw"))?;
    let dd_out = bench.work.join("dd.bin").to_string_lossy().into_owned();
    let mib = bytes.div_ceil(1 << 20).to_string();
    let dd = median(bench.runs, || {
        let _ = std::fs::remove_file(&dd_out);
        settle();
        let args = ["if=/dev/zero", &format!("of={dd_out}"), "bs=1M", &format!("count={mib}"), "conv=fsync"];
        Ok(measure("dd", &args)?.0)
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
    let what = format!("generate {} rows × 5 shards, raw layer only, {cores} core(s)", bench.rows);
    table.push(row(what, raw, bench.rows, Some(bytes), Some((raw.seconds / dd.seconds, "dd's time"))));
    Ok(())
}

/// Every layer (raw CSV, staging Parquet, Delta: `all`, which wrote `lake`) against the raw
/// layer alone (`raw`, which wrote `raw_lake`), and against DuckDB turning the same CSV into
/// the same partitioned Parquet; Parquet bytes against DuckDB's.
fn bench_layers(
    bench: &Bench,
    (raw, raw_lake): (Sample, &Path),
    (all, lake): (Sample, &Path),
    python: Option<&Path>,
    table: &mut Vec<Row>,
) -> Result<()> {
    let bytes = tree_bytes(lake)?;
    let staging = tree_bytes(&lake.join("staging"))?;
    let duck = python.and_then(|py| {
        let py = py.to_string_lossy().into_owned();
        let glob = format!("{}/raw/mouvements-*.csv", raw_lake.display());
        let sample = bench.fresh_runs(["duckdb-parquet"], bench.runs, |_, out| {
            settle();
            Ok(measure(&py, &["-c", DUCKDB_PARQUET, &glob, &out.to_string_lossy()])?.0)
        });
        match sample.and_then(|[(s, out)]| Ok((s, tree_bytes(&out)?))) {
            Ok(found) => Some(found),
            Err(e) => {
                println!("skipping the DuckDB Parquet peer: {e}");
                None
            }
        }
    });
    let what = format!("generate {} rows × 5 shards, every layer (raw, staging, delta)", bench.rows);
    table.push(row(
        what,
        all,
        bench.rows,
        Some(bytes),
        Some((all.seconds / raw.seconds, "the raw layer's time")),
    ));
    if let Some((d, duck_bytes)) = duck {
        let what = "DuckDB: the raw CSV to Parquet partitioned by pays, produit (zstd)".to_owned();
        table.push(row(
            what,
            d,
            bench.rows,
            None,
            Some((all.seconds / d.seconds, "ours (every layer) / DuckDB's time")),
        ));
        table.push(Row {
            what: format!("staging Parquet bytes: ours {staging}, DuckDB's {duck_bytes}"),
            seconds: 0.0,
            rows_per_s: None,
            mb_per_s: None,
            rss_mib: None,
            ratio: Some((staging as f64 / duck_bytes as f64, "DuckDB's bytes")),
        });
    }
    let verify = bench.verify(lake, &[])?;
    let what = format!("verify of every layer of the {}-row dataset", bench.rows);
    table.push(row(what, verify, bench.rows, Some(bytes), None));
    let _ = std::fs::remove_dir_all(lake);
    Ok(())
}

/// verify, verify --stats and verify --stats --html of the raw dataset, against DuckDB's
/// aggregates over the same files.
fn bench_verify(bench: &Bench, lake: &Path, python: Option<&Path>, table: &mut Vec<Row>) -> Result<()> {
    let bytes = tree_bytes(&lake.join("raw"))?;
    let duck = python.and_then(|py| {
        let py = py.to_string_lossy().into_owned();
        let glob = format!("{}/raw/mouvements-*.csv", lake.display());
        median(bench.runs, || Ok(measure(&py, &["-c", DUCKDB_READ, &glob])?.0))
            .map_err(|e| println!("skipping the DuckDB read peer: {e}"))
            .ok()
    });
    if let Some(d) = duck {
        let what = "DuckDB: count(*), count(distinct id), group by type_op".to_owned();
        table.push(row(what, d, bench.rows, Some(bytes), None));
    }
    let against_duck = |s: Sample| duck.map(|d| (s.seconds / d.seconds, "DuckDB's time"));
    let plain = bench.verify(lake, &[])?;
    table.push(row(
        format!("verify of the {}-row raw dataset", bench.rows),
        plain,
        bench.rows,
        Some(bytes),
        against_duck(plain),
    ));
    let stats = bench.verify(lake, &["--stats"])?;
    table.push(row("verify --stats".to_owned(), stats, bench.rows, Some(bytes), against_duck(stats)));
    let page = bench.work.join("report.html").to_string_lossy().into_owned();
    let html = bench.verify(lake, &["--stats", "--html", &page])?;
    table.push(row(
        "verify --stats --html".to_owned(),
        html,
        bench.rows,
        Some(bytes),
        Some((html.seconds / stats.seconds, "verify --stats's time")),
    ));
    Ok(())
}

/// Peak memory of every layer at a tenth and five times the rows, against `reference` (every
/// layer at the default rows); 10,000 shards against 5.
fn bench_scale(bench: &Bench, big: u64, raw: Sample, reference: Sample, table: &mut Vec<Row>) -> Result<()> {
    for n in [bench.rows / 10, big] {
        let (sample, _) = bench.generate("scale", n, &["-s", "5"], bench.runs.min(3))?;
        let ratio = reference
            .rss_mib()
            .zip(sample.rss_mib())
            .map(|(base, this)| (this / base, "RSS at the default rows"));
        table.push(row(format!("generate {n} rows, every layer (peak RSS)"), sample, n, None, ratio));
    }
    let many_args = ["-s", "10000", "--layers", "raw"];
    let (many, lake) = bench.generate("many", bench.rows, &many_args, bench.runs.min(3))?;
    let _ = std::fs::remove_dir_all(lake);
    let what = format!("generate {} rows × 10,000 shards, raw layer only", bench.rows);
    table.push(row(what, many, bench.rows, None, Some((many.seconds / raw.seconds, "5 shards' time"))));
    let shape = bench.work.join("many-shape");
    bench.generate_into(&shape, bench.rows, &many_args)?;
    let files = data_and_records(&shape)?;
    let _ = std::fs::remove_dir_all(&shape);
    let mut folders = 0;
    let floor = median(bench.runs.min(3), || {
        let dir = bench.work.join(format!("bare-{folders}"));
        folders += 1;
        settle();
        let seconds = bare_files(&dir, &files)?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(Sample { seconds, rss_kib: None })
    })?;
    table.push(Row {
        what: format!(
            "the same {} files (CSV shards and records) written bare: the file system's floor",
            files.len()
        ),
        seconds: floor.seconds,
        rows_per_s: None,
        mb_per_s: None,
        rss_mib: None,
        ratio: Some((floor.seconds / raw.seconds, "5 shards' time")),
    });
    let _ = std::fs::remove_dir_all(bench.work.join("scale"));
    Ok(())
}

/// A lake over time, months of the default rows each (the original sizes its lake at 10 M
/// rows a month): a month appended to a lake of 12 or more months against the first month
/// written alone (run in turn: the appends go to one lake that grows a month each run), and
/// `verify` of the 12-month lake per row against a month's.
fn bench_history(bench: &Bench, table: &mut Vec<Row>) -> Result<()> {
    let month = bench.rows;
    let month_text = month.to_string();
    let history = bench.work.join("history");
    let history_text = history.to_string_lossy().into_owned();
    let append = ["generate", "-o", &history_text, "--append", "-n", &month_text, "-s", "5", "-q"];
    bench.generate_into(&history, month, &["-s", "5", "--month", "2025-01"])?;
    for _ in 1..12 {
        measure(&bench.bin, &append)?;
    }
    let twelve = bench.verify(&history, &[])?;
    let [(first, first_lake), (appended, _)] =
        bench.fresh_runs(["first-month", "appended"], bench.runs, |i, lake| {
            if i == 0 {
                bench.generate_into(lake, month, &["-s", "5", "--month", "2025-01"])
            } else {
                settle();
                Ok(measure(&bench.bin, &append)?.0)
            }
        })?;
    table.push(row(
        format!("generate the first month alone ({month} rows, every layer)"),
        first,
        month,
        None,
        None,
    ));
    table.push(row(
        "generate --append: a month more to a lake of 12+ months".to_owned(),
        appended,
        month,
        None,
        Some((appended.seconds / first.seconds, "the first month's time")),
    ));
    let one = bench.verify(&first_lake, &[])?;
    let per_row = (twelve.seconds / (12 * month) as f64) / (one.seconds / month as f64);
    table.push(row(
        format!("verify of a 12-month lake ({} rows)", 12 * month),
        twelve,
        12 * month,
        None,
        Some((per_row, "one month's time per row")),
    ));
    let _ = std::fs::remove_dir_all(&history);
    let _ = std::fs::remove_dir_all(first_lake);
    Ok(())
}

/// An append carrying 1 % changes against a plain append of the same rows, each to a lake of
/// 3 or more loads with every layer (the one with changes merging them into its Delta table,
/// rewriting the files they touch), run in turn.
fn bench_changes(bench: &Bench, table: &mut Vec<Row>) -> Result<()> {
    let month = bench.rows;
    let month_text = month.to_string();
    let lakes = [bench.work.join("plain-appends"), bench.work.join("changes-appends")];
    let texts = lakes.each_ref().map(|l| l.to_string_lossy().into_owned());
    let append = |i: usize| {
        let mut args = vec!["generate", "-o", &texts[i], "--append", "-n", &month_text, "-s", "5", "-q"];
        if i == 1 {
            args.extend(["--changes", "0.01"]);
        }
        measure(&bench.bin, &args)
    };
    for (i, lake) in lakes.iter().enumerate() {
        bench.generate_into(lake, month, &["-s", "5", "--month", "2025-01"])?;
        append(i)?;
        append(i)?;
    }
    let [(plain, _), (changed, _)] =
        bench.fresh_runs(["plain-append", "changes-append"], bench.runs, |i, _| {
            settle();
            Ok(append(i)?.0)
        })?;
    table.push(row(
        format!("generate --append, every layer, to a lake of 3+ loads ({month} rows)"),
        plain,
        month,
        None,
        None,
    ));
    table.push(row(
        "generate --append --changes 0.01, the same".to_owned(),
        changed,
        month,
        None,
        Some((changed.seconds / plain.seconds, "the plain append's time")),
    ));
    for lake in lakes {
        let _ = std::fs::remove_dir_all(lake);
    }
    Ok(())
}

/// The CSV shards and shard records (`raw/_shards/<run>/…`) of a local lake: names relative
/// to it, and sizes.
fn data_and_records(lake: &Path) -> Result<Vec<(PathBuf, u64)>> {
    let mut files = Vec::new();
    let mut folders = vec![PathBuf::from("raw"), PathBuf::from("raw/_shards")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(lake.join(&folder))? {
            let entry = entry?;
            let name = folder.join(entry.file_name());
            if entry.file_type()?.is_dir() && folder.starts_with("raw/_shards") {
                folders.push(name);
            } else if entry.file_type()?.is_file() && !entry.file_name().to_string_lossy().starts_with('_') {
                files.push((name, entry.metadata()?.len()));
            }
        }
    }
    Ok(files)
}

/// Writes `files` (names and sizes) under `dir` as the barest lake writer would, with no
/// data to generate: on every core, each file created under a staging name (`<name>#1`),
/// written in one call and renamed, then one `sync`. Returns the seconds it took.
fn bare_files(dir: &Path, files: &[(PathBuf, u64)]) -> Result<f64> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let largest = files.iter().map(|(_, size)| *size).max().unwrap_or(0);
    let bytes = vec![b'x'; usize::try_from(largest)?];
    let started = Instant::now();
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..threads)
            .map(|first| {
                let bytes = &bytes;
                scope.spawn(move || -> std::io::Result<()> {
                    for (name, size) in files.iter().skip(first).step_by(threads) {
                        let path = dir.join(name);
                        let mut staged = path.clone().into_os_string();
                        staged.push("#1");
                        std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
                        std::fs::write(&staged, &bytes[..*size as usize])?;
                        std::fs::rename(&staged, &path)?;
                    }
                    Ok(())
                })
            })
            .collect();
        writers.into_iter().try_for_each(|w| -> Result<()> {
            w.join().map_err(|_| anyhow::anyhow!("a writer panicked"))??;
            Ok(())
        })
    })?;
    settle();
    Ok(started.elapsed().as_secs_f64())
}

/// Memory with every row an anomaly and its label, against the budget.
fn bench_labels(bench: &Bench, quick: bool, table: &mut Vec<Row>) -> Result<()> {
    let rows = if quick { 1_000_000 } else { 5_000_000 };
    let args = ["-s", "1", "--layers", "raw", "--labels", "--anomaly-rate", "1"];
    let (generate, lake) = bench.generate("labels", rows, &args, 1)?;
    let budget = |s: Sample| s.rss_mib().map(|m| (m / MEMORY_BUDGET_MIB, "the 128 MiB budget"));
    table.push(row(
        format!("generate {rows} rows, 1 shard, --labels --anomaly-rate 1"),
        generate,
        rows,
        None,
        budget(generate),
    ));
    let stats = bench.verify(&lake, &["--stats"])?;
    table.push(row("verify --stats of it".to_owned(), stats, rows, None, budget(stats)));
    let _ = std::fs::remove_dir_all(&lake);
    Ok(())
}

/// DuckDB generating the same columns, as a peer of generate.
fn bench_generate_peer(bench: &Bench, raw: Sample, python: Option<&Path>, table: &mut Vec<Row>) {
    let Some(py) = python else { return };
    let out = bench.work.join("duckdb.csv").to_string_lossy().into_owned();
    let py = py.to_string_lossy().into_owned();
    let rows_text = bench.rows.to_string();
    match median(bench.runs, || Ok(measure(&py, &["-c", DUCKDB_GENERATE, &rows_text, &out])?.0)) {
        Ok(d) => {
            let size = std::fs::metadata(&out).map_or(0, |m| m.len());
            let what = format!("DuckDB COPY of {} generated rows to CSV", bench.rows);
            table.push(row(
                what,
                d,
                bench.rows,
                Some(size),
                Some((d.seconds / raw.seconds, "generate's time (DuckDB / ours)")),
            ));
        }
        Err(e) => println!("skipping the DuckDB generation peer: {e}"),
    }
}
