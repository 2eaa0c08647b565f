//! The Delta log (PROTOCOL.md of delta-io/delta), written by hand: reader version 1, writer
//! version 2. Version 0 holds `protocol`, `metaData` and one `add` per data file; an appended
//! load commits the next version with only the `add`s of its files (a blind append, as
//! Spark's `mode("append")`); an overwrite commits a `remove` for every file it replaces and
//! an `add` for every new one, as Spark's `mode("overwrite")` does, so readers of the old
//! version keep working and time travel shows every version. Every
//! [`checkpoint::INTERVAL`] versions a checkpoint holds the table's state ([`checkpoint`]).
//! Nothing in it depends on the clock or on randomness: `modificationTime` is fixed and
//! removes carry no `deletionTimestamp`.
//!
//! Log entries read back are untrusted input: replaying them names the first thing wrong.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::{PARTITION_COLUMNS, Partition};

pub mod checkpoint;

/// The reader and writer versions this crate reads and writes.
pub const READER_VERSION: u64 = 1;
/// See [`READER_VERSION`].
pub const WRITER_VERSION: u64 = 2;

/// The `modificationTime` of every `add`: fixed, so the log has no wall-clock time in it.
pub const MODIFICATION_TIME: i64 = 0;

/// The table schema, as Delta's `schemaString` holds it: the data columns, then the
/// partition columns.
pub fn schema_string() -> String {
    let field =
        |name: &str, kind: &str| json!({ "name": name, "type": kind, "nullable": false, "metadata": {} });
    json!({
        "type": "struct",
        "fields": [
            field("id_mouvement", "string"),
            field("date_op", "date"),
            field("type_op", "string"),
            field("montant", "decimal(18,2)"),
            field("agence_id", "string"),
            field("pays", "string"),
            field("produit", "string"),
        ],
    })
    .to_string()
}

/// One data file of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Path relative to the table folder, raw UTF-8 (`pays=FR/produit=santé/part-….parquet`).
    pub path: String,
    /// Its partition.
    pub partition: Partition,
    /// Its size in bytes.
    pub size: u64,
    /// Its statistics JSON.
    pub stats: String,
}

/// A file the latest version holds, as its `add` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFile {
    /// Its size.
    pub size: u64,
    /// Its partition values.
    pub partition_values: BTreeMap<String, String>,
    /// Its statistics JSON, if the `add` has some.
    pub stats: Option<String>,
}

/// The table as its log says it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The latest version; `None` for an empty log.
    pub version: Option<u64>,
    /// The table id (`metaData.id`).
    pub id: Option<String>,
    /// The latest `schemaString`.
    pub schema: Option<String>,
    /// The latest partition columns.
    pub partition_columns: Vec<String>,
    /// Files of the latest version, by path (decoded, relative to the table folder).
    pub active: BTreeMap<String, ActiveFile>,
    /// Every file any version added: older versions' readers may still read them.
    pub referenced: BTreeSet<String>,
    /// What each version added and removed.
    pub versions: BTreeMap<u64, VersionChange>,
}

/// The files one version added and removed (paths decoded, relative to the table folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionChange {
    /// Files added.
    pub added: BTreeSet<String>,
    /// Files removed.
    pub removed: BTreeSet<String>,
}

/// Why a log cannot be read or extended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogError(pub String);

/// Replays the log: entries `(version, bytes)` in version order, from version 0, one JSON
/// action per line.
pub fn replay(log: &[(u64, &[u8])]) -> Result<Table, LogError> {
    let mut table = Table::default();
    for (version, bytes) in log {
        table.apply_version(*version, bytes)?;
    }
    Ok(table)
}

impl Table {
    /// Applies the log entry of the version after the table's latest (version 0 to an empty
    /// table): a log replayed once is extended by its new versions alone.
    pub fn apply_version(&mut self, version: u64, bytes: &[u8]) -> Result<(), LogError> {
        let expected = self.version.map_or(0, |v| v + 1);
        if version != expected {
            return Err(LogError(format!(
                "the log has version {version} where {expected} was expected: logs with checkpoints or gaps are not supported"
            )));
        }
        let text =
            std::str::from_utf8(bytes).map_err(|_| LogError(format!("version {version} is not UTF-8")))?;
        let mut change = VersionChange::default();
        for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let at = |what: String| LogError(format!("version {version}, line {}: {what}", number + 1));
            if !line.trim_start().starts_with('{') {
                return Err(at("an action is not a JSON object".into()));
            }
            let action: Action = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            apply(self, action, &mut change).map_err(at)?;
        }
        self.version = Some(version);
        self.versions.insert(version, change);
        Ok(())
    }
}

/// One line of a log entry: the actions this tool needs, typed, borrowing from the line where
/// it can (a log of years is replayed at every commit). Others (`commitInfo`, `txn`, `cdc`,
/// `domainMetadata`…) are skipped unparsed.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Action<'a> {
    protocol: Option<ProtocolAction>,
    #[serde(borrow)]
    meta_data: Option<MetaDataAction<'a>>,
    #[serde(borrow)]
    add: Option<AddAction<'a>>,
    #[serde(borrow)]
    remove: Option<RemoveAction<'a>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProtocolAction {
    min_reader_version: u64,
    min_writer_version: u64,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaDataAction<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    schema_string: String,
    partition_columns: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddAction<'a> {
    #[serde(borrow)]
    path: Cow<'a, str>,
    size: u64,
    partition_values: BTreeMap<String, String>,
    stats: Option<String>,
}

#[derive(serde::Deserialize)]
struct RemoveAction<'a> {
    #[serde(borrow)]
    path: Cow<'a, str>,
}

/// Applies one line's actions to the table.
fn apply(table: &mut Table, action: Action, change: &mut VersionChange) -> Result<(), String> {
    if let Some(protocol) = action.protocol {
        let (reader, writer) = (protocol.min_reader_version, protocol.min_writer_version);
        if reader > READER_VERSION || writer > WRITER_VERSION {
            return Err(format!(
                "protocol {reader}/{writer}: this tool reads {READER_VERSION} and writes {WRITER_VERSION}"
            ));
        }
    }
    if let Some(meta) = action.meta_data {
        table.id = Some(meta.id.into_owned());
        table.schema = Some(meta.schema_string);
        table.partition_columns = meta.partition_columns;
    }
    if let Some(add) = action.add {
        let path = decode(&add.path)?;
        table.referenced.insert(path.clone());
        change.added.insert(path.clone());
        table.active.insert(
            path,
            ActiveFile { size: add.size, partition_values: add.partition_values, stats: add.stats },
        );
    }
    if let Some(remove) = action.remove {
        let path = decode(&remove.path)?;
        table.active.remove(&path);
        change.removed.insert(path);
    }
    Ok(())
}

/// The next commit for a table (as [`replay`] reads its log) that must hold exactly `files`,
/// or `None` when its latest version already does. `engine` names the writer in `commitInfo`.
pub fn next_commit(table: &Table, table_id: &str, files: &[DataFile], engine: &str) -> Option<Vec<u8>> {
    let ours: BTreeMap<&str, u64> = files.iter().map(|f| (f.path.as_str(), f.size)).collect();
    let holds = table.active.len() == ours.len()
        && table.active.iter().all(|(path, file)| ours.get(path.as_str()) == Some(&file.size));
    if table.version.is_some() && holds {
        return None;
    }
    let removes: Vec<(&String, &ActiveFile)> =
        table.active.iter().filter(|(path, _)| !ours.contains_key(path.as_str())).collect();
    let mode = match (table.version, removes.is_empty()) {
        (None, _) => "ErrorIfExists",
        (Some(_), true) => "Append",
        (Some(_), false) => "Overwrite",
    };
    let partition_by = serde_json::to_string(&PARTITION_COLUMNS).expect("strings serialise");
    let mut lines = vec![json!({ "commitInfo": {
        "operation": "WRITE",
        "operationParameters": { "mode": mode, "partitionBy": partition_by },
        "isBlindAppend": removes.is_empty(),
        "engineInfo": engine,
    }})];
    if table.version.is_none() {
        lines.push(
            json!({ "protocol": { "minReaderVersion": READER_VERSION, "minWriterVersion": WRITER_VERSION } }),
        );
    }
    let schema = schema_string();
    if table.schema.as_deref() != Some(&schema) || table.partition_columns != PARTITION_COLUMNS {
        lines.push(json!({ "metaData": {
            "id": table.id.as_deref().unwrap_or(table_id),
            "format": { "provider": "parquet", "options": {} },
            "schemaString": schema,
            "partitionColumns": PARTITION_COLUMNS,
            "configuration": {},
        }}));
    }
    for (path, file) in removes {
        lines.push(json!({ "remove": {
            "path": encode(path),
            "dataChange": true,
            "extendedFileMetadata": true,
            "partitionValues": file.partition_values,
            "size": file.size,
        }}));
    }
    let mut adds: Vec<&DataFile> = files.iter().filter(|f| !table.active.contains_key(&f.path)).collect();
    adds.sort_by(|a, b| a.path.cmp(&b.path));
    for file in adds {
        lines.push(json!({ "add": {
            "path": encode(&file.path),
            "partitionValues": { "pays": file.partition.pays.label(), "produit": file.partition.produit.label() },
            "size": file.size,
            "modificationTime": MODIFICATION_TIME,
            "dataChange": true,
            "stats": file.stats,
        }}));
    }
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.to_string().as_bytes());
        bytes.push(b'\n');
    }
    Some(bytes)
}

/// A path as a relative URI: every byte but letters, digits and `-._~/=` percent-encoded
/// (`produit=santé` becomes `produit=sant%C3%A9`, the strict form; readers resolve it to the
/// raw folder).
pub fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/=".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The raw path of a relative URI.
pub fn decode(path: &str) -> Result<String, String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3).ok_or_else(|| format!("a bad escape in {path:?}"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("a bad escape in {path:?}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{path:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use mouvements_schema::{Pays, Produit};

    use super::*;

    fn file(name: &str, size: u64) -> DataFile {
        let partition = Partition { pays: Pays::Fr, produit: Produit::Sante };
        DataFile { path: format!("{partition}/{name}"), partition, size, stats: "{\"numRecords\":1}".into() }
    }

    fn as_log(entries: &[Vec<u8>]) -> Vec<(u64, &[u8])> {
        entries.iter().enumerate().map(|(v, b)| (v as u64, b.as_slice())).collect()
    }

    #[test]
    fn paths_round_trip_through_their_uri_form() {
        let raw = "pays=FR/produit=santé/part-00000-of-00005-0a1b2c3d.zstd.parquet";
        assert_eq!(encode(raw), "pays=FR/produit=sant%C3%A9/part-00000-of-00005-0a1b2c3d.zstd.parquet");
        assert_eq!(decode(&encode(raw)).unwrap(), raw);
        assert!(decode("a%zz").is_err() && decode("a%").is_err());
    }

    #[test]
    fn a_first_commit_creates_the_table_and_an_overwrite_replaces_its_files() {
        let v0 =
            next_commit(&Table::default(), "id-1", &[file("a.parquet", 10), file("b.parquet", 20)], "test")
                .unwrap();
        let text = String::from_utf8(v0.clone()).unwrap();
        assert!(text.contains("\"minReaderVersion\":1") && text.contains("\"id\":\"id-1\""), "{text}");
        let table = replay(&as_log(std::slice::from_ref(&v0))).unwrap();
        assert_eq!(table.active.len(), 2);
        assert_eq!(table.active["pays=FR/produit=santé/a.parquet"].partition_values["produit"], "santé");

        // The same files again: nothing to commit.
        let same = [file("a.parquet", 10), file("b.parquet", 20)];
        let table = replay(&as_log(std::slice::from_ref(&v0))).unwrap();
        assert_eq!(next_commit(&table, "id-2", &same, "test"), None);

        let v1 = next_commit(&table, "id-2", &[file("c.parquet", 30)], "test").unwrap();
        let text = String::from_utf8(v1.clone()).unwrap();
        assert_eq!(text.matches("\"remove\"").count(), 2, "{text}");
        assert!(!text.contains("metaData"), "the table keeps its id and schema: {text}");
        let table = replay(&as_log(&[v0, v1])).unwrap();
        assert_eq!(table.version, Some(1));
        assert_eq!(table.id.as_deref(), Some("id-1"));
        assert_eq!(table.active.keys().collect::<Vec<_>>(), ["pays=FR/produit=santé/c.parquet"]);
        assert_eq!(table.referenced.len(), 3, "older versions still refer to a and b");
    }

    #[test]
    fn hostile_logs_are_refused_with_the_reason() {
        for (bad, needle) in [
            (&b"{not json"[..], "line 1"),
            (b"[1,2]", "not a JSON object"),
            (b"{\"add\":{\"size\":1}}", "missing field `path`"),
            (b"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7}}", "protocol 3/7"),
            (b"\xff", "not UTF-8"),
        ] {
            let err = replay(&[(0, bad)]).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        assert!(replay(&[(1, b"")]).unwrap_err().to_string().contains("checkpoints or gaps"));
    }
}
