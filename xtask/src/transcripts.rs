//! The docs' command transcripts, run: every ```` ```console ```` block of the README and of
//! `docs/*.md` holds `$ command` lines, each followed by the output it must print. The
//! commands of a page run in turn in one scratch folder, with the freshly built
//! `mouvements-gen` and the tools' Python first on `PATH`; the output compared is stdout, and
//! stderr too when the command fails (errors are what such a transcript shows). In the
//! expected text, a line of `…` alone (indented or not) stands for any lines, and `…` inside
//! a line for any text (timings, machine paths).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::python::Tools;

/// One `$ command` of a transcript and the lines it must print.
struct Step {
    command: String,
    expected: Vec<String>,
}

/// The steps of a page's console blocks, in order.
fn steps(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let fence = line.trim_start();
        if !inside {
            inside = fence == "```console";
            continue;
        }
        if fence.starts_with("```") {
            inside = false;
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step { command: command.to_owned(), expected: Vec::new() });
        } else if let Some(step) = steps.last_mut() {
            step.expected.push(line.to_owned());
        }
    }
    steps
}

/// Whether `line` matches `pattern`, where each `…` of the pattern is any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether the output lines match the expected ones, a line `…` standing for any lines.
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "…" => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, tail)| line_matches(first, line) && lines_match(rest, tail)),
    }
}

/// Runs every console transcript of the docs; fails naming the page, the command and both
/// outputs on the first difference.
pub fn check(tools: &Tools, bin: &Path) -> Result<()> {
    println!("\n==> the docs' console transcripts, run");
    let pages = crate::links::pages()?;
    let bin_dir = std::fs::canonicalize(bin.parent().context("the binary's folder")?)?;
    let python_dir = std::fs::canonicalize(tools.bin("python").parent().context("the venv's folder")?)?;
    let path = format!(
        "{}:{}:{}",
        bin_dir.display(),
        python_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut count = 0;
    for page in pages {
        let text = std::fs::read_to_string(&page)?;
        let steps = steps(&text);
        if steps.is_empty() {
            continue;
        }
        let stem = page.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let scratch = std::env::temp_dir().join(format!("mouvements-docs-{}-{stem}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch)?;
        for step in &steps {
            let mut command = Command::new("bash");
            command.args(["-c", &step.command]).current_dir(&scratch).env("PATH", &path);
            for (var, _) in std::env::vars() {
                if ["GCS_", "GOOGLE_", "AWS_", "AZURE_", "CLOUD_RUN_", "BATCH_", "MOUVEMENTS_"]
                    .iter()
                    .any(|p| var.starts_with(p))
                {
                    command.env_remove(var);
                }
            }
            let output = command.output().with_context(|| format!("running {}", step.command))?;
            let mut shown = String::from_utf8_lossy(&output.stdout).into_owned();
            if !output.status.success() {
                shown.push_str(&String::from_utf8_lossy(&output.stderr));
            }
            let actual: Vec<&str> = shown.lines().collect();
            if !lines_match(&step.expected, &actual) {
                bail!(
                    "{}: `{}` printed:\n{shown}\nthe page says:\n{}",
                    page.display(),
                    step.command,
                    step.expected.join("\n")
                );
            }
            count += 1;
        }
        std::fs::remove_dir_all(&scratch)?;
        println!("    {}: {} command(s) print what the page says", page.display(), steps.len());
    }
    println!("    {count} commands in all");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipses_stand_for_any_text_and_any_lines() {
        assert!(line_matches("in … s (… M rows/s)", "in 0.38 s (0.26 M rows/s)"));
        assert!(!line_matches("in … s", "in 0.38 ms"));
        assert!(line_matches("exact", "exact") && !line_matches("exact", "exact!"));
        let expected = ["a".to_owned(), "…".to_owned(), "z".to_owned()];
        assert!(lines_match(&expected, &["a", "b", "c", "z"]) && lines_match(&expected, &["a", "z"]));
        assert!(!lines_match(&expected, &["a", "b"]));
        let page = "x\n```console\n$ one\nout\n$ two\n```\n```\n$ not run\n```\n";
        let found = steps(page);
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].command.as_str(), found[0].expected.as_slice()),
            ("one", &["out".to_owned()][..])
        );
    }
}
