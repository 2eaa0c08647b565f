//! The Delta log (PROTOCOL.md of delta-io/delta), written by hand: reader version 1, writer
//! version 4, Change Data Feed on (`delta.enableChangeDataFeed`). Version 0 holds `protocol`,
//! `metaData` and one `add` per data file; an appended load commits the next version with only
//! the `add`s of its files (a blind append, as Spark's `mode("append")`: Change Data Feed
//! readers take its adds as inserts); a load with change events commits a merge, as Spark's
//! `MERGE` does: a `remove` and an `add` for every file it rewrites, the `add`s of its new
//! files, and a `cdc` action for every change data file (`_change_data/`, the version's
//! inserts, update pre- and post-images and deletes); an overwrite commits a `remove` for every
//! file it replaces and an `add` for every new one, as Spark's `mode("overwrite")` does, so
//! readers of the old version keep working and time travel shows every version. A table
//! written with writer version 2 (before the feed) is upgraded by its next commit. Every
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
/// See [`READER_VERSION`]: 4 is the first with Change Data Feed.
pub const WRITER_VERSION: u64 = 4;

/// The table properties of every table this crate writes.
pub const CONFIGURATION: [(&str, &str); 1] = [("delta.enableChangeDataFeed", "true")];

/// [`CONFIGURATION`] as a map.
pub fn configuration() -> BTreeMap<String, String> {
    CONFIGURATION.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The folder of the change data files, inside the table folder.
pub const CHANGE_DATA: &str = "_change_data";

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

/// A change data file of a commit (in [`CHANGE_DATA`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeDataFile {
    /// Path relative to the table folder (`_change_data/cdc-….parquet`).
    pub path: String,
    /// Its partition.
    pub partition: Partition,
    /// Its size in bytes.
    pub size: u64,
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
    /// The latest table properties (`metaData.configuration`).
    pub configuration: BTreeMap<String, String>,
    /// The latest protocol's writer version.
    pub writer_version: Option<u64>,
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
    /// Change data files (`cdc` actions), with their sizes.
    pub change_data: BTreeMap<String, u64>,
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
    #[serde(borrow)]
    cdc: Option<CdcAction<'a>>,
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
    #[serde(default)]
    configuration: BTreeMap<String, String>,
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

#[derive(serde::Deserialize)]
struct CdcAction<'a> {
    #[serde(borrow)]
    path: Cow<'a, str>,
    size: u64,
}

/// The writer version of a protocol this tool can extend, or why it cannot.
fn supported_protocol(reader: u64, writer: u64) -> Result<u64, String> {
    if reader > READER_VERSION || writer > WRITER_VERSION {
        return Err(format!(
            "protocol {reader}/{writer}: this tool reads {READER_VERSION} and writes {WRITER_VERSION}"
        ));
    }
    Ok(writer)
}

/// Applies one line's actions to the table.
fn apply(table: &mut Table, action: Action, change: &mut VersionChange) -> Result<(), String> {
    if let Some(protocol) = action.protocol {
        table.writer_version =
            Some(supported_protocol(protocol.min_reader_version, protocol.min_writer_version)?);
    }
    if let Some(meta) = action.meta_data {
        table.id = Some(meta.id.into_owned());
        table.schema = Some(meta.schema_string);
        table.partition_columns = meta.partition_columns;
        table.configuration = meta.configuration;
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
    if let Some(cdc) = action.cdc {
        change.change_data.insert(decode(&cdc.path)?, cdc.size);
    }
    Ok(())
}

/// The next commit for a table (as [`replay`] reads its log) that must hold exactly `files`,
/// or `None` when its latest version already does. With `change_data`, the commit is a merge
/// whose Change Data Feed those files hold. `engine` names the writer in `commitInfo`.
pub fn next_commit(
    table: &Table,
    table_id: &str,
    files: &[DataFile],
    change_data: &[ChangeDataFile],
    engine: &str,
) -> Option<Vec<u8>> {
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
    let commit_info = if change_data.is_empty() {
        json!({
            "operation": "WRITE",
            "operationParameters": { "mode": mode, "partitionBy": partition_by },
            "isBlindAppend": removes.is_empty(),
            "engineInfo": engine,
        })
    } else {
        json!({
            "operation": "MERGE",
            "operationParameters": { "predicate": "target.id_mouvement = source.id_mouvement" },
            "isBlindAppend": false,
            "engineInfo": engine,
        })
    };
    let mut lines = vec![json!({ "commitInfo": commit_info })];
    if table.writer_version != Some(WRITER_VERSION) {
        lines.push(
            json!({ "protocol": { "minReaderVersion": READER_VERSION, "minWriterVersion": WRITER_VERSION } }),
        );
    }
    let schema = schema_string();
    let configuration = configuration();
    if table.schema.as_deref() != Some(&schema)
        || table.partition_columns != PARTITION_COLUMNS
        || table.configuration != configuration
    {
        lines.push(json!({ "metaData": {
            "id": table.id.as_deref().unwrap_or(table_id),
            "format": { "provider": "parquet", "options": {} },
            "schemaString": schema,
            "partitionColumns": PARTITION_COLUMNS,
            "configuration": configuration,
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
            "partitionValues": partition_values(file.partition),
            "size": file.size,
            "modificationTime": MODIFICATION_TIME,
            "dataChange": true,
            "stats": file.stats,
        }}));
    }
    for file in change_data {
        lines.push(json!({ "cdc": {
            "path": encode(&file.path),
            "partitionValues": partition_values(file.partition),
            "size": file.size,
            "dataChange": false,
        }}));
    }
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line.to_string().as_bytes());
        bytes.push(b'\n');
    }
    Some(bytes)
}

/// The `partitionValues` of a file of `partition`.
fn partition_values(partition: Partition) -> serde_json::Value {
    json!({ "pays": partition.pays.label(), "produit": partition.produit.label() })
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
        let v0 = next_commit(
            &Table::default(),
            "id-1",
            &[file("a.parquet", 10), file("b.parquet", 20)],
            &[],
            "test",
        )
        .unwrap();
        let text = String::from_utf8(v0.clone()).unwrap();
        assert!(text.contains("\"minReaderVersion\":1") && text.contains("\"id\":\"id-1\""), "{text}");
        let table = replay(&as_log(std::slice::from_ref(&v0))).unwrap();
        assert_eq!(table.active.len(), 2);
        assert_eq!(table.active["pays=FR/produit=santé/a.parquet"].partition_values["produit"], "santé");

        // The same files again: nothing to commit.
        let same = [file("a.parquet", 10), file("b.parquet", 20)];
        let table = replay(&as_log(std::slice::from_ref(&v0))).unwrap();
        assert_eq!(next_commit(&table, "id-2", &same, &[], "test"), None);

        let v1 = next_commit(&table, "id-2", &[file("c.parquet", 30)], &[], "test").unwrap();
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
    fn a_merge_rewrites_files_and_announces_its_change_data() {
        let v0 =
            next_commit(&Table::default(), "id", &[file("a.parquet", 10), file("b.parquet", 20)], &[], "t")
                .unwrap();
        let text = String::from_utf8(v0.clone()).unwrap();
        assert!(
            text.contains("\"minWriterVersion\":4")
                && text.contains("\"delta.enableChangeDataFeed\":\"true\"")
        );
        let table = replay(&as_log(std::slice::from_ref(&v0))).unwrap();
        let partition = Partition { pays: Pays::Fr, produit: Produit::Sante };
        let cdc =
            ChangeDataFile { path: format!("{CHANGE_DATA}/{partition}/cdc-0.parquet"), partition, size: 7 };
        let files = [file("a2.parquet", 11), file("b.parquet", 20), file("c.parquet", 30)];
        let v1 = next_commit(&table, "id", &files, std::slice::from_ref(&cdc), "t").unwrap();
        let text = String::from_utf8(v1.clone()).unwrap();
        assert!(
            text.contains("\"operation\":\"MERGE\"") && text.contains("\"isBlindAppend\":false"),
            "{text}"
        );
        assert!(
            !text.contains("protocol") && !text.contains("metaData"),
            "the table is already at the feed's versions: {text}"
        );
        assert_eq!((text.matches("\"remove\"").count(), text.matches("\"add\"").count()), (1, 2), "{text}");
        let table = replay(&as_log(&[v0, v1])).unwrap();
        assert_eq!(table.versions[&1].change_data[&cdc.path], 7);
        assert_eq!(table.active.len(), 3);
    }

    #[test]
    fn a_table_of_writer_version_2_is_upgraded_by_its_next_commit() {
        let old = concat!(
            r#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#,
            "\n",
            r#"{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{}","partitionColumns":["pays","produit"],"configuration":{}}}"#,
            "\n"
        );
        let table = replay(&[(0, old.as_bytes())]).unwrap();
        assert_eq!(table.writer_version, Some(2));
        let v1 = next_commit(&table, "y", &[file("a.parquet", 1)], &[], "t").unwrap();
        let text = String::from_utf8(v1.clone()).unwrap();
        assert!(text.contains("\"minWriterVersion\":4") && text.contains("\"id\":\"x\""), "{text}");
        let table = replay(&[(0, old.as_bytes()), (1, v1.as_slice())]).unwrap();
        assert_eq!((table.writer_version, table.configuration), (Some(WRITER_VERSION), configuration()));
    }

    #[test]
    fn hostile_logs_are_refused_with_the_reason() {
        for (bad, needle) in [
            (&b"{not json"[..], "line 1"),
            (b"[1,2]", "not a JSON object"),
            (b"{\"add\":{\"size\":1}}", "missing field `path`"),
            (b"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7}}", "protocol 3/7"),
            (b"{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":5}}", "protocol 1/5"),
            (b"\xff", "not UTF-8"),
        ] {
            let err = replay(&[(0, bad)]).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        assert!(replay(&[(1, b"")]).unwrap_err().to_string().contains("checkpoints or gaps"));
    }
}
