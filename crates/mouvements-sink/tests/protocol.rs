//! The dataset protocol, run the same way on every backend: local disk, memory, GCS (the fake,
//! through object_store's real GCS client), and S3 and Azure when `cargo xtask verify` has
//! started their emulators.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mouvements_gcs_fake::FakeGcs;
use mouvements_schema::GeneratorConfig;
use mouvements_sink::{
    CommitOutcome, Dataset, Lake, LakeUrl, Layers, Objects, Produced, Run, RunRequest, ShardFormat,
    SinkError, StoreOptions, UploadShape, WriteMode, layout,
};
use object_store::gcp::GoogleCloudStorageBuilder;

/// Parts at the 5 MiB minimum of S3 and GCS, so a few MiB exercise real multipart uploads.
const SMALL_PARTS: UploadShape = UploadShape { part_size: 5 << 20, parts_in_flight: 2 };

fn dataset(seed: u64, shards: u32, format: ShardFormat) -> Dataset {
    let config = GeneratorConfig::with_rows(seed, 1000).unwrap();
    Dataset::new(config, shards, format, Layers::RAW, false).unwrap()
}

fn request(dataset: Dataset, mode: WriteMode, run_id: &str) -> RunRequest {
    RunRequest {
        dataset,
        mode,
        run_id: run_id.into(),
        shards: (0..dataset.shards).collect(),
        max_shard_bytes: 64 << 20,
    }
}

/// Deterministic bytes for a shard: `len` bytes of a pattern that depends on the shard.
fn shard_bytes(index: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[(i + index as usize * 7) % 27]).collect()
}

/// The rows of shard `index`: the dataset's rows split evenly, as the generator's plan does.
fn shard_rows(dataset: &Dataset, index: u32) -> u64 {
    let (rows, shards) = (dataset.generator.rows(), u64::from(dataset.shards));
    rows * (u64::from(index) + 1) / shards - rows * u64::from(index) / shards
}

/// Writes every shard the run has to do, with `sizes` bytes each, then commits.
async fn write_all(run: &Arc<Run>, sizes: &[usize]) -> Result<CommitOutcome, SinkError> {
    for &index in run.todo() {
        let (run2, len) = (Arc::clone(run), sizes[index as usize]);
        let rows = shard_rows(run.dataset(), index);
        tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            run2.write_shard(index, &handle, &Arc::new(AtomicBool::new(false)), |outputs| {
                let mut raw = outputs.raw()?.expect("the raw layer");
                for chunk in shard_bytes(index, len).chunks(128 * 1024) {
                    raw.write_all(chunk)?;
                }
                let files = raw.finish(rows, None)?;
                Ok(Produced { rows, files, ..Produced::default() })
            })
        })
        .await
        .unwrap()?;
    }
    run.commit("test").await
}

fn read(lake: &Arc<Lake>, name: &str) -> Vec<u8> {
    let handle = tokio::runtime::Handle::current();
    let mut reader = lake.objects().reader(name, false, &handle).unwrap();
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).unwrap();
    bytes
}

/// The whole protocol on one lake.
async fn exercise(lake: Lake) {
    let lake = Arc::new(lake);
    let first = dataset(1, 3, ShardFormat::Csv);
    let sizes = [11 << 20, 1000, 1];
    let run = Arc::new(lake.prepare(request(first, WriteMode::Fresh, "run-a")).await.unwrap());
    assert_eq!(run.todo(), [0, 1, 2]);
    let CommitOutcome::Committed(manifest) = write_all(&run, &sizes).await.unwrap() else {
        panic!("every shard was written: the dataset must commit");
    };
    assert_eq!(manifest.latest().shards.len(), 3);
    assert_eq!(manifest.bytes, sizes.iter().sum::<usize>() as u64);

    // Read back: the same bytes, the same checksum.
    let survey = lake.survey().await.unwrap();
    assert!(survey.success);
    for file in manifest.files() {
        let (lake2, name) = (Arc::clone(&lake), file.path.clone());
        let bytes = tokio::task::spawn_blocking(move || read(&lake2, &name)).await.unwrap();
        let index = manifest.latest().shards.iter().position(|s| s.files.contains(file)).unwrap();
        assert_eq!(bytes, shard_bytes(index as u32, sizes[index]), "{}", file.path);
        let receipt = lake.objects().receipt(&file.path).await.unwrap().unwrap();
        assert_eq!(mouvements_sink::crc32c_hex(receipt.crc32c), file.crc32c);
    }

    // Sizes: a store's listing reads them, a local walk leaves them to be read on demand.
    let names: Vec<&str> = manifest.files().map(|f| f.path.as_str()).chain(["raw/absent.csv"]).collect();
    let expected: Vec<Option<u64>> = manifest.files().map(|f| Some(f.bytes)).chain([None]).collect();
    assert_eq!(lake.objects().sizes(&names).await.unwrap(), expected);
    let mut every_size = lake.survey().await.unwrap();
    lake.read_sizes(&mut every_size).await.unwrap();
    assert!(every_size.objects.values().all(Option::is_some));
    for file in manifest.files() {
        assert_eq!(every_size.objects[&file.path], Some(file.bytes), "{}", file.path);
    }

    // A committed dataset is never overwritten by accident; a task of the same run finds it done.
    let again = lake.prepare(request(first, WriteMode::Fresh, "run-b")).await.err().unwrap();
    assert!(matches!(again, SinkError::Exists { .. }), "{again}");
    let retry = lake.prepare(request(first, WriteMode::Fresh, "run-a")).await.unwrap();
    assert!(retry.already_committed().is_some() && retry.todo().is_empty());

    // Resume by another run finds the same dataset complete, and refuses another configuration.
    let resumed = lake.prepare(request(first, WriteMode::Resume, "run-c")).await.unwrap();
    assert!(resumed.already_committed().is_some());
    let other = dataset(2, 2, ShardFormat::CsvGz);
    let mismatch = lake.prepare(request(other, WriteMode::Resume, "run-c")).await.err().unwrap();
    assert!(matches!(mismatch, SinkError::Mismatch { .. }), "{mismatch}");

    // Overwrite with fewer, compressed shards removes the stale ones.
    let run = Arc::new(lake.prepare(request(other, WriteMode::Overwrite, "run-d")).await.unwrap());
    assert!(!lake.survey().await.unwrap().success, "overwrite clears _SUCCESS before writing");
    let CommitOutcome::Committed(manifest) = write_all(&run, &[4000, 5000]).await.unwrap() else {
        panic!("the overwrite must commit");
    };
    let survey = lake.survey().await.unwrap();
    let data: Vec<&String> = survey.under(layout::RAW).filter(|n| !layout::hidden(n)).collect();
    let data: Vec<&String> = data.into_iter().filter(|n| !n.contains("/_")).collect();
    assert_eq!(data, ["raw/mouvements-00000-of-00002.csv.gz", "raw/mouvements-00001-of-00002.csv.gz"]);
    assert_eq!(survey.claims.len(), 1, "older claims are removed at commit");
    assert_eq!(survey.under(layout::RECORDS).count(), 2, "only the committing run's records remain");
    assert_eq!(manifest.latest().dataset, other);
    assert_eq!(manifest.latest().run_id, "run-d");
}

fn local_lake(dir: &tempfile::TempDir) -> Lake {
    let url: LakeUrl = dir.path().join("lake").to_str().unwrap().parse().unwrap();
    Lake::create(&url, &StoreOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_lake_follows_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    exercise(local_lake(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_lake_follows_the_protocol() {
    let url: LakeUrl = "memory://t".parse().unwrap();
    exercise(Lake::create(&url, &StoreOptions::default()).unwrap()).await;
}

fn gcs_lake(fake: &FakeGcs, prefix: &str) -> Lake {
    let store = GoogleCloudStorageBuilder::new()
        .with_service_account_key(fake.service_account_json())
        .with_bucket_name(fake.bucket())
        .with_retry(object_store::RetryConfig { max_retries: 0, ..Default::default() })
        .build()
        .unwrap();
    let url = LakeUrl::Gcs { bucket: fake.bucket().into(), prefix: prefix.into() };
    Lake::with_objects(Objects::with_store(url, Arc::new(store), prefix), SMALL_PARTS)
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
    let run = Arc::new(lake.prepare(request(data, WriteMode::Fresh, "r1")).await.unwrap());
    fake.fail_part_uploads_after(3);
    let err = write_all(&run, &[12 << 20, 12 << 20]).await.err().unwrap().to_string();
    assert!(err.contains("mouvements-00001-of-00002.csv"), "the error names the shard: {err}");
    let names = fake.object_names();
    assert!(!names.iter().any(|n| n.ends_with("_SUCCESS") || n.ends_with("00001-of-00002.csv")), "{names:?}");
    assert_eq!(fake.open_uploads(), 0, "the failed upload was aborted");

    fake.clear_faults();
    let run = Arc::new(lake.prepare(request(data, WriteMode::Resume, "r2")).await.unwrap());
    assert_eq!((run.kept(), run.todo()), (&[0][..], &[1][..]));
    let CommitOutcome::Committed(_) = write_all(&run, &[12 << 20, 12 << 20]).await.unwrap() else {
        panic!("resume must commit");
    };
    assert_eq!(fake.object("lake/raw/mouvements-00001-of-00002.csv").unwrap(), shard_bytes(1, 12 << 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_cannot_both_claim_a_destination() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Arc::new(local_lake(&dir));
    let (a, b) = (dataset(1, 2, ShardFormat::Csv), dataset(2, 2, ShardFormat::Csv));
    let (first, second) = tokio::join!(
        lake.prepare(request(a, WriteMode::Fresh, "one")),
        lake.prepare(request(b, WriteMode::Fresh, "two")),
    );
    assert!(first.is_ok() != second.is_ok(), "exactly one run claims the lake");
    let refused = first.err().or(second.err()).unwrap();
    assert!(matches!(refused, SinkError::Claimed { .. }), "{refused}");
    // A task of the run that holds the claim joins it.
    let holder = if lake.survey().await.unwrap().claim.unwrap().claim.unwrap().run_id == "one" {
        ("one", a)
    } else {
        ("two", b)
    };
    assert!(lake.prepare(request(holder.1, WriteMode::Fresh, holder.0)).await.is_ok());
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
    let lake = Lake::with_objects(Objects::with_store(url, Arc::new(store), ""), SMALL_PARTS);
    let err = lake.survey().await.unwrap_err().to_string();
    assert!(err.contains("gs://no-such-bucket/") && err.contains("check that the bucket"), "{err}");
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
    let objects = Objects::open(&url, &options).unwrap();
    Some(Lake::with_objects(objects, SMALL_PARTS))
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
async fn an_unfinished_gzip_object_is_aborted_not_stored() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let lake = Arc::new(gcs_lake(&fake, "lake"));
    let lake2 = Arc::clone(&lake);
    tokio::task::spawn_blocking(move || {
        let handle = tokio::runtime::Handle::current();
        let names = ["raw/x.csv.gz".to_owned()];
        let mut writer = lake2
            .objects()
            .writer(&names, true, SMALL_PARTS, &handle, Arc::new(AtomicBool::new(false)))
            .unwrap();
        writer.write_all(&shard_bytes(0, 12 << 20)).unwrap();
        // Dropped without finish, as when generation fails.
    })
    .await
    .unwrap();
    assert!(fake.object_names().is_empty(), "{:?}", fake.object_names());
    assert_eq!(fake.open_uploads(), 0, "the upload was aborted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_object_is_one_put_and_twins_get_the_same_bytes() {
    let fake = FakeGcs::start("test-bucket").unwrap();
    let lake = Arc::new(gcs_lake(&fake, "lake"));
    let lake2 = Arc::clone(&lake);
    let receipt = tokio::task::spawn_blocking(move || {
        let handle = tokio::runtime::Handle::current();
        let names = ["staging/a/x.parquet".to_owned(), "delta/a/x.parquet".to_owned()];
        let mut writer = lake2
            .objects()
            .writer(&names, false, SMALL_PARTS, &handle, Arc::new(AtomicBool::new(false)))
            .unwrap();
        writer.write_all(b"same bytes").unwrap();
        writer.finish().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(receipt.bytes, 10);
    assert_eq!(fake.object("lake/staging/a/x.parquet").unwrap(), b"same bytes");
    assert_eq!(fake.object("lake/delta/a/x.parquet").unwrap(), b"same bytes");
    assert_eq!(fake.open_uploads(), 0);
}
