//! `guide`: the Databricks guide of the original project, with this lake's paths filled in:
//! access and Unity Catalog, then for each layer the lake has how to register and read it
//! (the Delta table, the staging Parquet, the raw CSV with an explicit schema, and the Spark
//! conversion when only raw was generated), and the original analyses as SQL.

use mouvements_sink::{Lake, LakeUrl, Layer, Layers, ShardFormat, StoreOptions, layout};

/// The guide for the lake at `url` as Markdown: for the layers and raw format of its committed
/// dataset when its manifest can be read (read-only, one try), else for what `generate`
/// writes by default.
pub fn guide(url: &LakeUrl, store: &StoreOptions) -> String {
    let (layers, format) = committed_layout(url, store);
    render(url, layers, format)
}

/// The committed dataset's layers and raw format, when a manifest can be read.
fn committed_layout(url: &LakeUrl, store: &StoreOptions) -> (Layers, ShardFormat) {
    let read = || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        runtime.block_on(async {
            let lake = Lake::open(url, &StoreOptions { max_retries: 1, ..store.clone() }).ok()?;
            let dataset = lake.survey().await.ok()?.valid_manifest()?.latest().dataset;
            Some((dataset.layers, dataset.format))
        })
    };
    read().unwrap_or((Layers::ALL, ShardFormat::Csv))
}

/// How a Databricks workspace reaches the lake.
fn access(url: &LakeUrl) -> String {
    match url {
        LakeUrl::Gcs { bucket, .. } => format!(
            "GCS: give the Databricks compute service account (the storage credential's) \
roles/storage.objectViewer and roles/storage.legacyBucketReader on gs://{bucket} only \
(terraform: set databricks_service_account); add roles/storage.objectUser only to write back."
        ),
        LakeUrl::S3 { bucket, .. } => {
            format!("S3: an IAM role (instance profile or storage credential) that can read s3://{bucket}.")
        }
        LakeUrl::Azure { container, .. } => format!(
            "Azure: an access connector (managed identity) with Storage Blob Data Reader on the container {container}."
        ),
        LakeUrl::Local(_) | LakeUrl::Memory { .. } => {
            "Local lake: run Spark on this machine, or copy the folder to a bucket first (gcloud storage cp -r).".into()
        }
    }
}

/// `text` as a Spark SQL string literal: quoted with `'`, with Spark's backslash escapes, so
/// that a lake path holding a quote stays one literal (object names may hold any character).
fn sql(text: &str) -> String {
    format!("'{}'", escaped(text, '\''))
}

/// `text` as a Python string literal, quoted with `"`.
fn py(text: &str) -> String {
    format!("\"{}\"", escaped(text, '"'))
}

/// `text` with backslashes, `quote` and line breaks escaped with a backslash, the rule both
/// Spark SQL and Python literals follow.
fn escaped(text: &str, quote: char) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Unity Catalog: a storage credential, an external location over the lake, then tables.
fn unity_catalog(url: &LakeUrl) -> String {
    let base = url.join("");
    let base = sql(base.trim_end_matches('/'));
    format!(
        r"```sql
-- Once, by a metastore admin: the credential (Catalog Explorer > External data > Credentials,
-- a GCP service account, an AWS IAM role or an Azure access connector), then the location.
CREATE EXTERNAL LOCATION IF NOT EXISTS mouvements_lake
  URL {base}
  WITH (STORAGE CREDENTIAL mouvements_credential);
GRANT READ FILES ON EXTERNAL LOCATION mouvements_lake TO `data-analysts`;
```"
    )
}

/// The guide for the lake at `url`, for its layers and raw format.
pub fn render(url: &LakeUrl, layers: Layers, format: ShardFormat) -> String {
    let raw = url.join(layout::RAW);
    let glob = format!("{raw}/{}-*.{}", layout::SHARD_STEM, format.extension());
    let staging = url.join(layout::STAGING);
    let delta = url.join(layout::DELTA);
    let (staging_py, staging_sql, delta_sql) = (py(&staging), sql(&staging), sql(&delta));
    let mut guide = format!(
        "# Databricks guide for {url}\n\n## 1. Access\n{}\nRead only committed datasets: {raw}/_SUCCESS exists once every layer is in place.\n\n{}\n\n",
        access(url),
        unity_catalog(url)
    );
    if layers.contains(Layer::Delta) {
        guide.push_str(&format!(
            r"## 2. The Delta table (written by mouvements-gen; no Spark job needed)
```sql
CREATE TABLE IF NOT EXISTS main.finance.mouvements USING DELTA LOCATION {delta_sql};
DESCRIBE HISTORY main.finance.mouvements;   -- one version per generate, --overwrite adds the next
SELECT count(*) FROM main.finance.mouvements WHERE pays = 'FR' AND produit = 'santé';
```

"
        ));
    }
    if layers.contains(Layer::Staging) {
        guide.push_str(&format!(
            r#"## {}. Staging Parquet, partitioned by pays and produit
```python
staging = spark.read.parquet({staging_py})   # pays and produit come from the folder names
staging.where("pays = 'FR' AND produit = 'santé'").count()
```
```sql
CREATE TABLE IF NOT EXISTS main.finance.mouvements_staging USING PARQUET LOCATION {staging_sql};
MSCK REPAIR TABLE main.finance.mouvements_staging;   -- registers the pays=/produit= partitions
```

"#,
            if layers.contains(Layer::Delta) { 3 } else { 2 }
        ));
    }
    if layers.contains(Layer::Raw) {
        let number =
            2 + usize::from(layers.contains(Layer::Delta)) + usize::from(layers.contains(Layer::Staging));
        let glob = py(&glob);
        guide.push_str(&format!(
            r#"## {number}. The raw CSV, with an explicit schema (PySpark)
```python
from pyspark.sql.types import StructType, StructField, StringType, DateType, DecimalType

schema = StructType([
    StructField("id_mouvement", StringType(), False),
    StructField("date_op", DateType(), False),
    StructField("produit", StringType(), False),
    StructField("type_op", StringType(), False),
    StructField("montant", DecimalType(18, 2), False),
    StructField("agence_id", StringType(), False),
    StructField("pays", StringType(), False),
])

df = (spark.read
      .option("header", "true")
      .option("encoding", "UTF-8")
      .option("mode", "FAILFAST")
      .schema(schema)
      .csv({glob}))
```

"#
        ));
        if !layers.has_parquet() {
            let delta_py = py(&delta);
            let register =
                py(&format!("CREATE TABLE IF NOT EXISTS mouvements USING DELTA LOCATION {delta_sql}"));
            guide.push_str(&format!(
                r#"Generated with --layers raw: convert with Spark (or generate again with the default layers).
```python
df.write.mode("overwrite").partitionBy("pays", "produit").parquet({staging_py})
df.write.format("delta").mode("overwrite").partitionBy("pays", "produit").save({delta_py})
spark.sql({register})
```

"#
            ));
        }
    }
    guide.push_str(&history(url, layers, format));
    guide.push_str(&cluster(url));
    guide.push_str(ANALYSES);
    guide
}

/// Consuming a lake that grows: each `generate --append` adds a load (a month by default) to
/// every layer, and one Delta version that only adds files.
fn history(url: &LakeUrl, layers: Layers, format: ShardFormat) -> String {
    let raw = py(&url.join(layout::RAW));
    let filter = py(&format!("{}-*.{}", layout::SHARD_STEM, format.extension()));
    let mut text = format!(
        r#"## The lake over time: `mouvements-gen generate --append` adds the next month
Every layer grows: raw/ gains the load's shards under new names, staging/ its files, the Delta table one version that only adds them (WRITE, mode Append; for a load with change events, a MERGE that also rewrites the files they touch), with a checkpoint every 10 versions.
```python
# Auto Loader on raw/: each load's shards are read once (names are never reused).
raw_stream = (spark.readStream.format("cloudFiles")
              .option("cloudFiles.format", "csv").option("header", "true")
              .option("pathGlobFilter", {filter})
              .schema(schema)   # the explicit schema of the raw CSV section
              .load({raw}))
"#
    );
    if layers.contains(Layer::Delta) {
        let delta = py(&url.join(layout::DELTA));
        text.push_str(&format!(
            r#"# The Delta table as a stream from a version: each later version is exactly one load.
loads = spark.readStream.format("delta").option("startingVersion", 1).load({delta})
# A load with --changes is a MERGE version (it rewrites the files its events touch): its
# Change Data Feed is exactly its new rows and events.
feed = spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 1).load({delta})
```
```sql
DESCRIBE HISTORY main.finance.mouvements;                       -- version N is load N
SELECT count(*) FROM main.finance.mouvements VERSION AS OF 0;   -- time travel: the first load alone
SELECT date_trunc('month', date_op) AS month, count(*) AS n, sum(montant) AS net
FROM main.finance.mouvements GROUP BY month ORDER BY month;     -- each month as it arrived
SELECT _change_type, count(*) FROM table_changes('main.finance.mouvements', 1)
GROUP BY _change_type;                                          -- insert, update_pre/postimage, delete
```
"#
        ));
    } else {
        text.push_str("```\n");
    }
    let changes = py(&url.join(layout::CHANGES));
    text.push_str(&format!(
        r#"```python
# With `generate --append --changes RATE`: the corrections and cancellations, each file read once.
changes = (spark.readStream.format("cloudFiles")
           .option("cloudFiles.format", "csv").option("header", "true")
           .schema("change_type STRING, change_seq BIGINT, id_mouvement STRING, date_op DATE, produit STRING, "
                   "type_op STRING, montant DECIMAL(18,2), agence_id STRING, pays STRING")
           .load({changes}))
```
```sql
-- The book as a correct MERGE of raw/ leaves it (`raw_rows`, `changes`: the two streams above, as tables):
-- each movement once (`--duplicate-rate` delivers rows again, byte for byte their first), then the events.
CREATE OR REPLACE TABLE book AS SELECT DISTINCT * FROM raw_rows;
MERGE INTO book USING (
  SELECT * FROM changes QUALIFY row_number() OVER (PARTITION BY id_mouvement ORDER BY change_seq DESC) = 1
) AS c ON book.id_mouvement = c.id_mouvement
WHEN MATCHED AND c.change_type = 'delete' THEN DELETE
WHEN MATCHED THEN UPDATE SET montant = c.montant;
-- `mouvements-gen verify` prints the rows and the montant change that MERGE must give;
-- with the Delta layer, the lake's table is that MERGE's result, row for row.
```

"#
    ));
    text
}

/// Generating on the cluster itself, with the Python package: the data source and
/// `write_lake` into this lake.
fn cluster(url: &LakeUrl) -> String {
    let base = url.join("");
    let base = py(base.trim_end_matches('/'));
    format!(
        r#"## On the cluster: the Python package (Databricks Runtime 15.4 LTS and later)
```python
%pip install mouvements-0.2.0-cp39-abi3-manylinux_2_28_x86_64.whl   # from a volume or your index

from mouvements.spark import MouvementsDataSource, write_lake
spark.dataSource.register(MouvementsDataSource)
# Rows generated on the executors, the same rows as this lake's for the same settings:
spark.read.format("mouvements").option("rows", "10M").load().write.saveAsTable("main.finance.mouvements_generated")
# Or the whole lake, written by the executors (the bytes mouvements-gen writes):
write_lake(spark, {base}, rows=10_000_000, shards=10, mode="overwrite")
```

"#
    )
}

/// The original project's analyses, as SQL on the `mouvements` table.
const ANALYSES: &str = r"## Analyses (SQL, on the table registered above; `USE main.finance` first)
```sql
-- Anomaly detection: amounts beyond 3 times the 99th percentile of their type and product
WITH p AS (
  SELECT type_op, produit, percentile_approx(abs(montant), 0.99) AS p99
  FROM mouvements GROUP BY type_op, produit
)
SELECT m.id_mouvement, m.type_op, m.produit, m.pays, m.montant,
       abs(m.montant) / p.p99 AS score
FROM mouvements m JOIN p USING (type_op, produit)
WHERE abs(m.montant) > 3 * p.p99
ORDER BY score DESC;

-- Rétrocessions by agency and country
SELECT pays, agence_id, count(*) AS n, sum(montant) AS total
FROM mouvements WHERE type_op = 'rétrocession'
GROUP BY pays, agence_id ORDER BY total;

-- Trends: cotisations and remboursements per day
SELECT date_op, type_op, count(*) AS n, sum(montant) AS total
FROM mouvements WHERE type_op IN ('cotisation', 'remboursement')
GROUP BY date_op, type_op ORDER BY date_op, type_op;

-- Month over month: volumes and net amount per month and product
SELECT date_trunc('month', date_op) AS month, produit, count(*) AS n, sum(montant) AS net
FROM mouvements GROUP BY month, produit ORDER BY month, produit;

-- Agency performance: volumes and operation mix
SELECT agence_id, pays, count(*) AS n, sum(montant) AS net,
       count_if(type_op = 'cotisation') / count(*) AS share_cotisations
FROM mouvements GROUP BY agence_id, pays ORDER BY n DESC;

-- Compliance: penalties and corrections per country and product
SELECT pays, produit, type_op, count(*) AS n, sum(montant) AS total
FROM mouvements WHERE type_op IN ('pénalité', 'correction', 'annulation')
GROUP BY pays, produit, type_op ORDER BY pays, produit, type_op;
```
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_registers_each_layer_the_lake_has() {
        let url: LakeUrl = "gs://supdevinci_bucket/sanda_celia".parse().unwrap();
        let guide = render(&url, Layers::ALL, ShardFormat::Csv);
        assert!(guide.contains("USING DELTA LOCATION 'gs://supdevinci_bucket/sanda_celia/delta/mouvements'"));
        assert!(
            guide.contains("spark.read.parquet(\"gs://supdevinci_bucket/sanda_celia/staging/mouvements\")")
        );
        assert!(guide.contains("gs://supdevinci_bucket/sanda_celia/raw/mouvements-*.csv"));
        assert!(
            guide.contains("CREATE EXTERNAL LOCATION") && guide.contains("roles/storage.legacyBucketReader")
        );
        assert!(!guide.contains("partitionBy"), "no Spark conversion when the layers exist");
        assert!(guide.contains(r#"write_lake(spark, "gs://supdevinci_bucket/sanda_celia", rows="#));
        assert!(guide.contains(r#"spark.read.format("mouvements")"#));
    }

    #[test]
    fn a_raw_only_lake_keeps_the_spark_conversion() {
        let url: LakeUrl = "s3://b/p".parse().unwrap();
        let guide = render(&url, Layers::RAW, ShardFormat::CsvGz);
        assert!(guide.contains("s3://b/p/raw/mouvements-*.csv.gz"));
        assert!(guide.contains("partitionBy(\"pays\", \"produit\")"));
        assert!(!guide.contains("USING DELTA LOCATION 's3://b/p/delta/mouvements';"));
        assert!(guide.contains(
            r#"spark.sql("CREATE TABLE IF NOT EXISTS mouvements USING DELTA LOCATION 's3://b/p/delta/mouvements'")"#
        ));
        assert!(guide.contains(r#".load("s3://b/p/raw/changes"))"#), "the change feed's stream");
        assert!(guide.contains("WHEN MATCHED AND c.change_type = 'delete' THEN DELETE"));
    }

    #[test]
    fn quotes_in_the_lake_path_stay_inside_their_literals() {
        let url: LakeUrl = r#"gs://b/it's "x"\y"#.parse().unwrap();
        let guide = render(&url, Layers::ALL, ShardFormat::Csv);
        assert!(guide.contains(r#"USING DELTA LOCATION 'gs://b/it\'s "x"\\y/delta/mouvements';"#));
        assert!(guide.contains(r#"spark.read.parquet("gs://b/it's \"x\"\\y/staging/mouvements")"#));
        assert!(guide.contains(r#".csv("gs://b/it's \"x\"\\y/raw/mouvements-*.csv"))"#));
        assert!(guide.contains(r#"URL 'gs://b/it\'s "x"\\y'"#));
        let raw_only = render(&url, Layers::RAW, ShardFormat::Csv);
        assert!(raw_only.contains(
            r#"spark.sql("CREATE TABLE IF NOT EXISTS mouvements USING DELTA LOCATION 'gs://b/it\\'s \"x\"\\\\y/delta/mouvements'")"#
        ));
    }
}
