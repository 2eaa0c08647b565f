//! Opening the object store behind a `LakeUrl`. Credentials and endpoints come from the
//! environment, the way object_store's builders read them; nothing here prints them.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::{ObjectStore, RetryConfig};

use crate::{LakeUrl, SinkError};

/// How the store client behaves.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Retries of a failed request (transient errors only).
    pub max_retries: usize,
    /// Time after which a request is no longer retried.
    pub retry_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_retries: 10, retry_timeout: Duration::from_mins(3) }
    }
}

impl StoreOptions {
    /// The defaults, with `MOUVEMENTS_MAX_RETRIES` applied when set to a number.
    pub fn from_env() -> Self {
        let mut options = Self::default();
        if let Some(n) = std::env::var("MOUVEMENTS_MAX_RETRIES").ok().and_then(|v| v.parse().ok()) {
            options.max_retries = n;
        }
        options
    }

    fn retry(&self) -> RetryConfig {
        RetryConfig {
            max_retries: self.max_retries,
            retry_timeout: self.retry_timeout,
            ..RetryConfig::default()
        }
    }
}

/// Builds the store for `url`, and the folder inside it where the lake starts. A local lake
/// folder is created and checked writable here, before any data is generated.
pub fn open_store(
    url: &LakeUrl,
    options: &StoreOptions,
) -> Result<(Arc<dyn ObjectStore>, String), SinkError> {
    let open_error = |source, hint| SinkError::Open { url: url.to_string(), source, hint };
    let cloud_hint = "check the bucket name and the credentials in the environment";
    match url {
        LakeUrl::Local(path) => {
            let not_writable =
                |source| SinkError::LocalNotWritable { path: path.display().to_string(), source };
            std::fs::create_dir_all(path).map_err(not_writable)?;
            let probe = path.join(format!(".mouvements-write-probe-{}", std::process::id()));
            std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe)).map_err(not_writable)?;
            let store = LocalFileSystem::new_with_prefix(path)
                .map(|store| store.with_fsync(true))
                .map_err(|e| open_error(e, "check that the folder exists and is readable"))?;
            Ok((Arc::new(store), String::new()))
        }
        LakeUrl::Gcs { bucket, prefix } => {
            let store = GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .with_retry(options.retry())
                .build()
                .map_err(|e| open_error(e, cloud_hint))?;
            Ok((Arc::new(store), prefix.clone()))
        }
        LakeUrl::S3 { bucket, prefix } => {
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(options.retry())
                .build()
                .map_err(|e| open_error(e, cloud_hint))?;
            Ok((Arc::new(store), prefix.clone()))
        }
        LakeUrl::Azure { container, prefix } => {
            let store = MicrosoftAzureBuilder::from_env()
                .with_container_name(container)
                .with_retry(options.retry())
                .build()
                .map_err(|e| open_error(e, cloud_hint))?;
            Ok((Arc::new(store), prefix.clone()))
        }
        LakeUrl::Memory { prefix } => Ok((Arc::new(InMemory::new()), prefix.clone())),
    }
}
