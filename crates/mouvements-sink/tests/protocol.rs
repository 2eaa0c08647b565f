//! The commit protocol, run the same way on every backend: local disk, memory, GCS (the fake,
//! through object_store's real GCS client), and S3 and Azure when `cargo xtask verify` has
//! started their emulators.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mouvements_gcs_fake::FakeGcs;
use mouvements_sink::{
    CommitOutcome, Dataset, Lake, LakeUrl, ShardEntry, ShardFormat, ShardRecord, SinkError, StoreOptions,
    UploadShape, WriteMode, crc32c_hex,
};
use object_store::gcp::GoogleCloudStorageBuilder;

/// Parts at the 5 MiB minimum of S3 and GCS, so a few MiB exercise real multipart uploads.
const SMALL_PARTS: UploadShape = UploadShape { part_size: 5 << 20, parts_in_flight: 2 };

fn dataset(seed: u64, shard_count: u32, format: ShardFormat) -> Dataset {
    Dataset { description: serde_json::json!({ "seed": seed }), shard_count, format, labels: false }
}

/// Deterministic bytes for a shard: `len` bytes of a pattern that depends on the shard.
fn shard_bytes(index: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[(i + index as usize * 7) % 27]).collect()
}

/// Writes every shard of `dataset` with `sizes`, records it, and tries to commit after each.
async fn write_dataset(
    lake: &Arc<Lake>,
    dataset: &Dataset,
    sizes: &[usize],
) -> Result<CommitOutcome, SinkError> {
    let mut outcome = None;
    for (index, &len) in sizes.iter().enumerate() {
        let index = index as u32;
        let (lake2, dataset2) = (Arc::clone(lake), dataset.clone());
        let receipt = tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            let mut writer =
                lake2.create_shard(index, &dataset2, &handle, Arc::new(AtomicBool::new(false)))?;
            for chunk in shard_bytes(index, len).chunks(128 * 1024) {
                writer.write_all(chunk).map_err(|source| SinkError::Write { url: "test".into(), source })?;
            }
            writer.finish()
        })
        .await
        .unwrap()?;
        let name = mouvements_sink::layout::shard_name(index, dataset.shard_count, dataset.format);
        let entry = ShardEntry {
            index,
            name,
            rows: len as u64,
            bytes: receipt.bytes,
            first_id: String::new(),
            last_id: String::new(),
            crc32c: crc32c_hex(receipt.crc32c),
        };
        lake.record_shard(&ShardRecord { dataset: dataset.clone(), entry }).await?;
        outcome = Some(lake.try_commit(dataset, "test").await?);
    }
    Ok(outcome.expect("at least one shard"))
}

fn read_shard(lake: &Arc<Lake>, name: &str, format: ShardFormat) -> Vec<u8> {
    let handle = tokio::runtime::Handle::current();
    let mut reader = lake.open_shard(name, format, &handle).unwrap();
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).unwrap();
    bytes
}

/// The whole protocol on one lake.
async fn exercise(lake: Lake) {
    let lake = Arc::new(lake.with_upload_shape(SMALL_PARTS));
    let first = dataset(1, 3, ShardFormat::Csv);
    let sizes = [11 << 20, 1000, 0];
    assert!(lake.prepare(&first, WriteMode::Fresh, &[0, 1, 2]).await.unwrap().is_empty());
    let CommitOutcome::Committed(manifest) = write_dataset(&lake, &first, &sizes).await.unwrap() else {
        panic!("every shard was written: the dataset must commit");
    };
    assert_eq!(manifest.shards.len(), 3);
    assert_eq!(manifest.bytes, sizes.iter().sum::<usize>() as u64);

    // Read back: the same bytes, the same checksum.
    let survey = lake.survey().await.unwrap();
    assert!(survey.success);
    for entry in &manifest.shards {
        let lake2 = Arc::clone(&lake);
        let name = entry.name.clone();
        let bytes =
            tokio::task::spawn_blocking(move || read_shard(&lake2, &name, ShardFormat::Csv)).await.unwrap();
        assert_eq!(bytes, shard_bytes(entry.index, sizes[entry.index as usize]), "{}", entry.name);
        assert_eq!(lake.stored_crc32c(&entry.name).await.unwrap(), entry.crc32c);
    }

    // A committed dataset is never overwritten by accident.
    let again = lake.prepare(&first, WriteMode::Fresh, &[0, 1, 2]).await.unwrap_err().to_string();
    assert!(again.contains("--overwrite") && again.contains("_SUCCESS"), "{again}");

    // Resume keeps every matching shard.
    assert_eq!(lake.prepare(&first, WriteMode::Resume, &[0, 1, 2]).await.unwrap(), vec![0, 1, 2]);
    // Resume refuses another configuration.
    let other = dataset(2, 2, ShardFormat::CsvGz);
    let mismatch = lake.prepare(&other, WriteMode::Resume, &[0, 1]).await.unwrap_err().to_string();
    assert!(mismatch.contains("cannot resume"), "{mismatch}");

    // Overwrite with fewer, compressed shards removes the stale ones.
    lake.prepare(&other, WriteMode::Overwrite, &[0, 1]).await.unwrap();
    assert!(!lake.survey().await.unwrap().success, "overwrite clears _SUCCESS before writing");
    let CommitOutcome::Committed(manifest) = write_dataset(&lake, &other, &[4000, 5000]).await.unwrap()
    else {
        panic!("the overwrite must commit");
    };
    let survey = lake.survey().await.unwrap();
    let names: Vec<&String> = survey.shards.keys().collect();
    assert_eq!(names, ["mouvements-00000-of-00002.csv.gz", "mouvements-00001-of-00002.csv.gz"]);
    assert!(survey.records.iter().all(|r| r.dataset == other));
    assert_eq!(manifest.dataset, other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_lake_follows_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let url: LakeUrl = dir.path().join("lake").to_str().unwrap().parse().unwrap();
    exercise(Lake::open(&url, &StoreOptions::default()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_lake_follows_the_protocol() {
    exercise(Lake::open(&"memory://t".parse().unwrap(), &StoreOptions::default()).unwrap()).await;
}

fn gcs_lake(fake: &FakeGcs, prefix: &str) -> Lake {
    let store = GoogleCloudStorageBuilder::new()
        .with_service_account_key(fake.service_account_json())
        .with_bucket_name(fake.bucket())
        .with_retry(object_store::RetryConfig { max_retries: 0, ..Default::default() })
        .build()
        .unwrap();
    let url = LakeUrl::Gcs { bucket: fake.bucket().into(), prefix: prefix.into() };
    Lake::with_store(url, Arc::new(store), prefix, SMALL_PARTS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_lake_follows_the_protocol_through_the_real_client() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    exercise(gcs_lake(&fake, "lake")).await;
    assert_eq!(fake.open_uploads(), 0, "every multipart upload was completed or aborted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upload_leaves_no_object_and_resume_completes() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let lake = Arc::new(gcs_lake(&fake, "lake"));
    let data = dataset(1, 2, ShardFormat::Csv);
    lake.prepare(&data, WriteMode::Fresh, &[0, 1]).await.unwrap();
    fake.fail_part_uploads_after(3);
    let err = write_dataset(&lake, &data, &[12 << 20, 12 << 20]).await.unwrap_err().to_string();
    assert!(err.contains("mouvements-00001-of-00002.csv"), "the error names the shard: {err}");
    let names = fake.object_names();
    assert!(!names.iter().any(|n| n.ends_with("_SUCCESS") || n.ends_with("00001-of-00002.csv")), "{names:?}");
    assert_eq!(fake.open_uploads(), 0, "the failed upload was aborted");

    fake.clear_faults();
    assert_eq!(lake.prepare(&data, WriteMode::Resume, &[0, 1]).await.unwrap(), vec![0]);
    let CommitOutcome::Committed(_) = write_dataset(&lake, &data, &[12 << 20, 12 << 20]).await.unwrap()
    else {
        panic!("resume must commit");
    };
    assert_eq!(fake.object("lake/raw/mouvements-00001-of-00002.csv").unwrap(), shard_bytes(1, 12 << 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_named_in_the_error() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let store = GoogleCloudStorageBuilder::new()
        .with_service_account_key(fake.service_account_json())
        .with_bucket_name("no-such-bucket")
        .with_retry(object_store::RetryConfig { max_retries: 0, ..Default::default() })
        .build()
        .unwrap();
    let url = LakeUrl::Gcs { bucket: "no-such-bucket".into(), prefix: String::new() };
    let lake = Lake::with_store(url, Arc::new(store), "", SMALL_PARTS);
    let err = lake.survey().await.unwrap_err().to_string();
    assert!(err.contains("gs://no-such-bucket/raw"), "{err}");
}

/// The lake of an emulator `cargo xtask verify` started, from `var` (a lake URL) and the
/// client's own environment variables. Outside CI a missing emulator skips the test; in CI it
/// fails it, so the emulator tests can never silently stop running.
fn emulator_lake(var: &str, test: &str) -> Option<Lake> {
    let Ok(base) = std::env::var(var) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{var} is not set: run the tests through `cargo xtask verify`"
        );
        eprintln!("skipping: {var} is not set (cargo xtask verify sets it)");
        return None;
    };
    let url: LakeUrl = format!("{base}/{test}-{}", std::process::id()).parse().unwrap();
    let options = StoreOptions { max_retries: 1, ..StoreOptions::default() };
    Some(Lake::open(&url, &options).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_lake_follows_the_protocol_on_moto() {
    if let Some(lake) = emulator_lake("MOUVEMENTS_TEST_S3", "sink") {
        exercise(lake).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_lake_follows_the_protocol_on_azurite() {
    if let Some(lake) = emulator_lake("MOUVEMENTS_TEST_AZURE", "sink") {
        exercise(lake).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_gzip_shard_is_aborted_not_stored() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let lake = Arc::new(gcs_lake(&fake, "lake"));
    let data = dataset(1, 1, ShardFormat::CsvGz);
    let lake2 = Arc::clone(&lake);
    tokio::task::spawn_blocking(move || {
        let handle = tokio::runtime::Handle::current();
        let mut writer = lake2.create_shard(0, &data, &handle, Arc::new(AtomicBool::new(false))).unwrap();
        writer.write_all(&shard_bytes(0, 12 << 20)).unwrap();
        // Dropped without finish, as when generation fails.
    })
    .await
    .unwrap();
    assert!(fake.object_names().is_empty(), "{:?}", fake.object_names());
    assert_eq!(fake.open_uploads(), 0, "the upload was aborted");
}
