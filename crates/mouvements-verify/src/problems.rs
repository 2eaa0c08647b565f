//! Problems found, grouped by rule: each group keeps its first few examples (shard, line,
//! column, value) and a total, so a file with a million bad lines still gives a short report
//! in bounded memory.

use std::collections::BTreeMap;

use serde::Serialize;

/// Every rule the verifier checks, by id, with what it checks: the report lists them all,
/// with a count for each.
pub const RULES: [(&str, &str); 64] = [
    ("line.field_count", "seven comma-separated fields"),
    ("line.too_long", "a line fits the longest valid row"),
    ("line.crlf", "lines end with \\n, not \\r\\n"),
    ("id.format", "id_mouvement is M and at least 7 digits"),
    ("date.format", "date_op is YYYY-MM-DD"),
    ("date.period", "date_op lies in the configured period (a late row in the 61 days before it)"),
    ("montant.format", "montant has two decimals"),
    ("montant.sign", "montant has its type's sign"),
    ("produit.domain", "produit is one of the four"),
    ("type_op.domain", "type_op is one of the nineteen"),
    ("type_op.produit", "the product allows the type"),
    ("agence.format", "agence_id is AG_001 to AG_050"),
    ("pays.domain", "pays is FR, ES, IT, DE or BE"),
    ("pays.agence", "pays is the agency's country"),
    ("id.order", "ids increase within a shard"),
    ("date.order", "dates never decrease within a shard (late rows aside)"),
    ("id.sequence", "ids run without gaps across shards"),
    ("shard.header", "each shard starts with the header"),
    ("shard.empty", "no shard is empty"),
    ("shard.final_newline", "each shard ends with a newline"),
    ("shard.rows", "each shard holds the rows its manifest entry says"),
    ("shard.size", "each shard has the size its manifest entry says"),
    ("shard.checksum", "each shard has the CRC32C its manifest entry says"),
    ("shard.read_error", "each shard can be read back"),
    ("set.manifest_missing", "the committed dataset has its manifest"),
    ("set.manifest_invalid", "the manifest parses and is consistent"),
    ("set.success_missing", "the raw layer has its _SUCCESS marker"),
    ("set.staging_success_missing", "the staging layer has its _SUCCESS marker"),
    ("set.shard_missing", "every shard the manifest lists exists"),
    ("set.file_missing", "every file the manifest lists exists"),
    ("set.labels_missing", "the labels the manifest lists exist"),
    ("set.changes_missing", "the change files the manifest lists exist"),
    ("set.stray", "no file a reader would pick up is outside the manifest"),
    ("file.size", "each layer file has the size the manifest says"),
    ("file.checksum", "each layer file has the CRC32C the manifest says"),
    ("file.rows", "each Parquet file holds the rows its footer and the manifest say"),
    ("file.parquet", "each Parquet file reads back"),
    ("file.partition", "each Parquet file sits in its rows' partition folder"),
    ("partition.pays", "partition folders agree with the agencies' countries"),
    ("layer.rows", "every layer holds as many rows as raw"),
    ("layer.checksum", "every layer holds the same rows as raw"),
    ("delta.log_missing", "the Delta table has its log"),
    ("delta.log", "the Delta log parses and follows the protocol"),
    ("delta.files", "the Delta log adds exactly the staging files"),
    ("delta.stats", "the Delta log's statistics match the files"),
    ("labels.header", "the labels start with their header"),
    ("labels.format", "each label line parses"),
    ("labels.rows", "the labels name rows that exist and carry their amounts"),
    ("labels.checksum", "the labels have the CRC32C the manifest says"),
    ("labels.read_error", "the labels can be read back"),
    ("delta.checkpoint", "the checkpoints hold the table the log gives at their version"),
    (
        "delta.change_data",
        "each change data file holds its shard's new rows and change events, as its version announces",
    ),
    ("history.unfinished", "no load is left half-written"),
    ("history.delta_version", "each load's Delta version adds exactly its files"),
    ("changes.differs", "each change file holds the events the history gives its shard"),
    ("changes.checksum", "each change file has the size and CRC32C the manifest says"),
    ("changes.rows", "each change file holds as many events as the manifest says"),
    ("changes.unlisted", "every shard of a load with changes lists its change file"),
    (
        "changes.unexpected",
        "no change file where the load carries none, one a shard, and no file beside the rows that the load does not write",
    ),
    (
        "changes.staging",
        "each staging change file holds, byte for byte, the events of its shard in its partition",
    ),
    (
        "repeats.differs",
        "each file of repeated rows holds, byte for byte, the first delivery of the rows the history repeats in its shard",
    ),
    ("repeats.unlisted", "every shard of a load with repeats lists its file of repeated rows"),
    (
        "events.differs",
        "each events ground truth holds the late rows, repeats and changes the history gives its shard",
    ),
    ("events.unlisted", "every shard of a labelled load with events lists its events ground truth"),
];

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

impl Problem {
    /// Where it is: the shard, then its line and column when known
    /// (`raw/mouvements-00001-of-00002.csv line 10 column montant`).
    pub fn location(&self) -> String {
        let mut out = self.shard.clone();
        if self.line > 0 {
            out.push_str(&format!(" line {}", self.line));
        }
        if let Some(column) = self.column {
            out.push_str(&format!(" column {column}"));
        }
        out
    }
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

#[cfg(test)]
mod tests {
    use super::RULES;

    /// The sources that name rules: every rule id they use is in the catalogue, and every
    /// catalogued rule is used.
    const SOURCES: [&str; 10] = [
        include_str!("changes.rs"),
        include_str!("history.rs"),
        include_str!("dataset.rs"),
        include_str!("labels.rs"),
        include_str!("layers.rs"),
        include_str!("lib.rs"),
        include_str!("line.rs"),
        include_str!("lines.rs"),
        include_str!("shard.rs"),
        include_str!("digest.rs"),
    ];

    fn quoted_ids(source: &str) -> impl Iterator<Item = &str> {
        source.split('"').skip(1).step_by(2).filter(|s| {
            let (family, name) = s.split_once('.').unwrap_or_default();
            !family.is_empty()
                && !name.is_empty()
                && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
        })
    }

    #[test]
    fn the_catalogue_is_every_rule_the_verifier_uses() {
        let used: std::collections::BTreeSet<&str> = SOURCES.iter().flat_map(|s| quoted_ids(s)).collect();
        let families = [
            "line",
            "id",
            "date",
            "montant",
            "produit",
            "type_op",
            "agence",
            "pays",
            "shard",
            "set",
            "file",
            "partition",
            "layer",
            "delta",
            "labels",
            "history",
            "changes",
            "repeats",
            "events",
        ];
        let used: Vec<&str> =
            used.into_iter().filter(|id| families.contains(&id.split('.').next().unwrap_or(""))).collect();
        let catalogued: Vec<&str> = {
            let mut ids: Vec<&str> = RULES.iter().map(|r| r.0).collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(used, catalogued);
    }
}
