//! The docs' links: every relative link of the README, the CHANGELOG and `docs/*.md` names a
//! file of the repository, and every `#anchor` a heading of its page (GitHub's anchors: the
//! heading in lower case, punctuation dropped, spaces as hyphens). Links inside code blocks
//! and to other sites are left alone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The anchor GitHub gives a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown text outside its fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The anchors of a page's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .iter()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// The targets of the Markdown links `[text](target)` of a page's prose.
fn targets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            found.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    found
}

/// The pages of the docs: the README and `docs/*.md`, in name order.
pub fn pages() -> Result<Vec<PathBuf>> {
    let mut pages = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir("docs").context("reading docs/")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    Ok(pages)
}

/// Checks every link of the docs and the CHANGELOG; fails naming each broken one.
pub fn check() -> Result<()> {
    println!("==> the docs' links and anchors");
    let mut pages = pages()?;
    pages.push(PathBuf::from("CHANGELOG.md"));
    let mut broken = Vec::new();
    let mut count = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
        for target in targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            count += 1;
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap_or(Path::new("")).join(path)
            };
            if !file.exists() {
                broken.push(format!("{}: {target}: no file {}", page.display(), file.display()));
                continue;
            }
            if !fragment.is_empty() {
                let linked = std::fs::read_to_string(&file).unwrap_or_default();
                if !anchors(&linked).contains(fragment) {
                    broken.push(format!(
                        "{}: {target}: no heading #{fragment} in {}",
                        page.display(),
                        file.display()
                    ));
                }
            }
        }
    }
    if !broken.is_empty() {
        bail!("broken links in the docs:\n  {}", broken.join("\n  "));
    }
    println!("    {count} relative links in {} pages resolve", pages.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor("The lake over time: `--append`"), "the-lake-over-time---append");
        assert_eq!(anchor("The data (schema v1, data version 2)"), "the-data-schema-v1-data-version-2");
        assert_eq!(
            anchor("Python and Spark (`cargo xtask bench`, 2026-12-01, 2 cores, 10 M rows)"),
            "python-and-spark-cargo-xtask-bench-2026-12-01-2-cores-10-m-rows"
        );
        assert_eq!(targets("see [a](b.md#c) and [d](#e)\n```\n[x](y)\n```"), ["b.md#c", "#e"]);
    }
}
