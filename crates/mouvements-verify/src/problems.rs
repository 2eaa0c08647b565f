//! Problems found, grouped by rule: each group keeps its first few examples (shard, line,
//! column, value) and a total, so a file with a million bad lines still gives a short report
//! in bounded memory.

use std::collections::BTreeMap;

use serde::Serialize;

/// Examples kept per rule.
pub const EXAMPLES_PER_RULE: usize = 5;

/// One occurrence of a broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Shard object name, or `dataset` for set-level problems.
    pub shard: String,
    /// 1-based line number in the shard (the header is line 1), 0 when not about a line.
    pub line: u64,
    /// Column at fault.
    pub column: Option<&'static str>,
    /// The offending value, or what was expected and found.
    pub value: String,
}

/// Every occurrence of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemGroup {
    /// Rule id, e.g. `montant.sign`.
    pub rule: &'static str,
    /// Occurrences in all.
    pub total: u64,
    /// The first few.
    pub examples: Vec<Problem>,
}

/// Problems by rule.
#[derive(Debug, Default, Clone)]
pub struct Problems {
    groups: BTreeMap<&'static str, ProblemGroup>,
}

impl Problems {
    /// Records one occurrence.
    pub fn add(&mut self, rule: &'static str, problem: Problem) {
        let group =
            self.groups.entry(rule).or_insert_with(|| ProblemGroup { rule, total: 0, examples: Vec::new() });
        group.total += 1;
        if group.examples.len() < EXAMPLES_PER_RULE {
            group.examples.push(problem);
        }
    }

    /// Records a problem that is not about one line.
    pub fn add_set(&mut self, rule: &'static str, shard: &str, value: String) {
        self.add(rule, Problem { shard: shard.to_owned(), line: 0, column: None, value });
    }

    /// Adds another shard's problems (examples kept in shard order by the caller).
    pub fn merge(&mut self, other: Problems) {
        for (rule, theirs) in other.groups {
            let group = self.groups.entry(rule).or_insert_with(|| ProblemGroup {
                rule,
                total: 0,
                examples: Vec::new(),
            });
            group.total += theirs.total;
            let room = EXAMPLES_PER_RULE.saturating_sub(group.examples.len());
            group.examples.extend(theirs.examples.into_iter().take(room));
        }
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Whether `rule` was broken.
    pub fn has(&self, rule: &str) -> bool {
        self.groups.contains_key(rule)
    }

    /// The groups, by rule id.
    pub fn into_groups(self) -> Vec<ProblemGroup> {
        self.groups.into_values().collect()
    }
}
