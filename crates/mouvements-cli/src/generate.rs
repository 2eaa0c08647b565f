//! `generate`: the library's job with a progress bar, log lines and Ctrl-C, and the summary
//! printed for people or as JSON.

use std::io::Write;
use std::sync::Arc;

use mouvements::{Control, Level, Summary};

use crate::Failure;
use crate::args::OutputArgs;
use crate::log::Log;
use crate::progress::Bar;
use crate::settings::GenerateSettings;

/// Runs `generate` and prints its summary.
pub fn run(settings: &GenerateSettings, log: Log, output: OutputArgs) -> Result<(), Failure> {
    let options = &settings.options;
    let bar = Bar::new(!output.quiet && !output.json);
    let control = Arc::new(Control::new(bar.is_shown()).with_listener(move |event| match event.level {
        Level::Info => log.info(event.message, &event.fields),
        Level::Progress => log.progress(event.message, &event.fields),
    }));
    let runtime = mouvements::runtime(options.threads).map_err(Failure::from)?;
    let summary = runtime.block_on(async {
        let interrupt = {
            let control = Arc::clone(&control);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    control.cancel();
                }
            })
        };
        let shown = bar.follow(Arc::clone(&control));
        let summary = mouvements::generate(options, &control).await;
        interrupt.abort();
        shown.finish();
        summary
    });
    let summary = summary.map_err(Failure::from)?;
    if output.json {
        crate::print_json(&summary);
    } else if !output.quiet {
        let _ = write!(std::io::stdout(), "{}", render(&summary));
    }
    Ok(())
}

/// The summary for people.
fn render(s: &Summary) -> String {
    let mut out = match s.status {
        "committed" | "already-committed" => format!(
            "{} {}: {} rows in {} files (layers {})\n",
            if s.status == "committed" { "committed" } else { "already committed, nothing to write:" },
            s.base.trim_end_matches('/'),
            s.dataset_rows.unwrap_or(0),
            s.dataset_files.unwrap_or(0),
            s.layers
        ),
        _ => format!(
            "task {} of {} done; waiting for shard(s) {:?} from other tasks of run {} (the last one to finish commits)\n",
            s.task.index, s.task.count, s.shards_missing, s.run_id
        ),
    };
    out.push_str(&format!(
        "this run: {} rows, {:.1} MB stored ({:.1} MB of CSV generated) in {} shard(s) in {:.2} s ({:.2} M rows/s, {:.0} MB/s)",
        s.rows,
        s.bytes as f64 / 1e6,
        s.csv_bytes as f64 / 1e6,
        s.shards_written.len(),
        s.seconds,
        s.rows_per_second / 1e6,
        s.mb_per_second
    ));
    if !s.shards_kept.is_empty() {
        out.push_str(&format!("; kept {} shard(s) from before", s.shards_kept.len()));
    }
    out.push_str(&format!("\nmanifest: {}\n", s.manifest));
    out
}
