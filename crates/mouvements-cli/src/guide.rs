//! `guide`: the Databricks guide of the original project, with this lake's paths filled in:
//! read the CSV with an explicit schema, write Parquet partitioned by pays and produit into
//! `staging/`, a Delta table into `delta/`, and the example analyses as SQL.

use std::io::Write;

use mouvements_sink::{Lake, LakeUrl, ShardFormat, StoreOptions, layout};

use crate::Failure;
use crate::args::GuideArgs;

/// Prints the guide for the lake of `args` (as JSON with `--json`).
pub fn run(args: &GuideArgs) -> Result<(), Failure> {
    let url: LakeUrl = args.base.base.parse().map_err(|e| Failure::Usage(format!("--output: {e}")))?;
    let format = committed_format(&url).unwrap_or_default();
    let guide = render(&url, format);
    if args.output.json {
        crate::print_json(&serde_json::json!({ "base": url.to_string(), "guide": guide }));
    } else if !args.output.quiet {
        let _ = write!(std::io::stdout(), "{guide}");
    }
    Ok(())
}

/// The shard format of the lake's committed dataset, when one can be read (read-only).
fn committed_format(url: &LakeUrl) -> Option<ShardFormat> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    runtime.block_on(async {
        let lake = Lake::open(url, &StoreOptions { max_retries: 1, ..StoreOptions::default() }).ok()?;
        Some(lake.survey().await.ok()?.valid_manifest()?.dataset.format)
    })
}

/// The guide for the lake at `url` whose shards are stored as `format`.
pub fn render(url: &LakeUrl, format: ShardFormat) -> String {
    let raw = url.join(layout::RAW);
    let glob = format!("{raw}/{}-*.{}", layout::SHARD_STEM, format.extension());
    let staging = url.join("staging/mouvements");
    let delta = url.join("delta/mouvements");
    let access = match url {
        LakeUrl::Gcs { bucket, .. } => format!(
            "GCS: give the cluster's service account roles/storage.objectUser on gs://{bucket}
(or store a key in a secret scope and set spark.hadoop.google.cloud.auth.service.account.json.keyfile)."
        ),
        LakeUrl::S3 { bucket, .. } => format!("S3: attach an instance profile that can read and write s3://{bucket}."),
        LakeUrl::Azure { container, .. } => {
            format!("Azure: mount or configure access to the container {container} (ABFS with a service principal).")
        }
        LakeUrl::Local(_) | LakeUrl::Memory { .. } => {
            "Local lake: run Spark on this machine, or copy the folder to a bucket first (gcloud storage cp -r).".into()
        }
    };
    format!(
        r#"# Databricks guide for {url}

## 1. Access
{access}
Read only committed datasets: {raw}/_SUCCESS exists once every shard and the manifest are in place.

## 2. Read the raw CSV with an explicit schema (PySpark)
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
      .csv("{glob}"))
```

## 3. Staging: Parquet partitioned by pays and produit
```python
(df.write.mode("overwrite")
   .partitionBy("pays", "produit")
   .parquet("{staging}"))
```

## 4. Delta table
```python
(df.write.format("delta").mode("overwrite")
   .partitionBy("pays", "produit")
   .save("{delta}"))
spark.sql("CREATE TABLE IF NOT EXISTS mouvements USING DELTA LOCATION '{delta}'")
```

## 5. Analyses (SQL)
```sql
-- Anomaly detection: exceptional amounts per operation type (robust z-score on log amounts)
WITH m AS (
  SELECT *, ln(abs(montant)) AS l FROM mouvements
), s AS (
  SELECT type_op, produit, percentile_approx(l, 0.5) AS med FROM m GROUP BY type_op, produit
), d AS (
  SELECT m.*, s.med, abs(m.l - s.med) AS dev FROM m JOIN s USING (type_op, produit)
), mad AS (
  SELECT type_op, produit, percentile_approx(dev, 0.5) AS mad FROM d GROUP BY type_op, produit
)
SELECT d.id_mouvement, d.type_op, d.produit, d.montant,
       0.6745 * (d.l - d.med) / mad.mad AS robust_z
FROM d JOIN mad USING (type_op, produit)
WHERE 0.6745 * (d.l - d.med) / mad.mad > 5
ORDER BY robust_z DESC;

-- Rétrocessions by agency and country
SELECT pays, agence_id, count(*) AS n, sum(montant) AS total
FROM mouvements WHERE type_op = 'rétrocession'
GROUP BY pays, agence_id ORDER BY total;

-- Trends: cotisations and remboursements per day
SELECT date_op, type_op, count(*) AS n, sum(montant) AS total
FROM mouvements WHERE type_op IN ('cotisation', 'remboursement')
GROUP BY date_op, type_op ORDER BY date_op, type_op;

-- Agency performance: volumes and operation mix
SELECT agence_id, pays, count(*) AS n, sum(montant) AS net,
       count_if(type_op = 'cotisation') / count(*) AS share_cotisations
FROM mouvements GROUP BY agence_id, pays ORDER BY n DESC;

-- Compliance: penalties and corrections per country and product
SELECT pays, produit, type_op, count(*) AS n, sum(montant) AS total
FROM mouvements WHERE type_op IN ('pénalité', 'correction', 'annulation')
GROUP BY pays, produit, type_op ORDER BY pays, produit, type_op;
```
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_uses_the_lake_paths() {
        let url: LakeUrl = "gs://supdevinci_bucket/sanda_celia".parse().unwrap();
        let guide = render(&url, ShardFormat::Csv);
        assert!(guide.contains("gs://supdevinci_bucket/sanda_celia/raw/mouvements-*.csv"));
        assert!(guide.contains("gs://supdevinci_bucket/sanda_celia/staging/mouvements"));
        assert!(guide.contains("gs://supdevinci_bucket/sanda_celia/delta/mouvements"));
        assert!(guide.contains("partitionBy(\"pays\", \"produit\")"));
    }
}
