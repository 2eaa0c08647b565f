//! Opening the object store behind a `LakeUrl`. Credentials and endpoints come from the
//! environment, the way object_store's builders read them (`from_env`); nothing here prints
//! them. The builders are used rather than `object_store::parse_url_opts` because that
//! function reads no environment: it would need every credential variable copied in by hand,
//! and the builders give typed retry settings per backend.
//!
//! Opening never writes: `verify`, `guide` and `config` work on a lake the user can only
//! read. Only [`prepare_local`] (called by the writers) creates and probes a local folder.

use std::path::{Path, PathBuf};
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
    /// object_store settings applied over the environment's (credentials, endpoints).
    pub settings: StoreSettings,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_retries: 10, retry_timeout: Duration::from_mins(3), settings: StoreSettings::default() }
    }
}

/// object_store settings by name, as deltalake's and polars' `storage_options` take them:
/// `google_service_account_key`, `aws_endpoint_url`, `azure_storage_account_name`, … (any
/// case). They apply over what the environment sets. Their values are never shown: `Debug`
/// prints the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoreSettings(Vec<(String, String)>);

impl StoreSettings {
    /// Settings from `(name, value)` pairs; a later pair overrides an earlier one of the same name.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The names set, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    /// Each setting as the backend's key, or the error naming the first the backend does not
    /// know.
    fn keys<K: std::str::FromStr>(&self, backend: &'static str) -> Result<Vec<(K, &str)>, SinkError> {
        self.0
            .iter()
            .map(|(name, value)| match name.to_ascii_lowercase().parse() {
                Ok(key) => Ok((key, value.as_str())),
                Err(_) => Err(SinkError::StoreSetting { name: name.clone(), backend }),
            })
            .collect()
    }
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(name, _)| (name, "(hidden)"))).finish()
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

/// Whether local writes are made durable in batches (one `syncfs` per commit step, see
/// `Objects::make_durable`, plus big files as they complete) rather than by an fsync of every
/// file: on Linux, where `syncfs` exists.
pub(crate) const LOCAL_FLUSH_IN_BATCHES: bool = cfg!(target_os = "linux");

/// Creates a local lake folder and checks that files can be written in it, before any data
/// is generated.
pub fn prepare_local(path: &Path) -> Result<(), SinkError> {
    let not_writable = |source| SinkError::LocalNotWritable { path: path.display().to_string(), source };
    std::fs::create_dir_all(path).map_err(not_writable)?;
    let probe = path.join(format!(".mouvements-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe)).map_err(not_writable)
}

/// An opened store: the client, the folder inside it where the lake starts, and for a local
/// lake its folder on disk.
pub(crate) struct OpenedStore {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: String,
    pub local_root: Option<PathBuf>,
}

/// Builds the store for `url`. A local folder must exist.
pub(crate) fn open_store(url: &LakeUrl, options: &StoreOptions) -> Result<OpenedStore, SinkError> {
    let open_error = |source| SinkError::Open { url: url.to_string(), source };
    match url {
        LakeUrl::Local(path) => {
            if !path.is_dir() {
                return Err(SinkError::NoLocalLake { path: path.display().to_string() });
            }
            let store = LocalFileSystem::new_with_prefix(path)
                .map(|store| store.with_fsync(!LOCAL_FLUSH_IN_BATCHES))
                .map_err(open_error)?;
            let root = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            Ok(OpenedStore { store: Arc::new(store), prefix: String::new(), local_root: Some(root) })
        }
        LakeUrl::Gcs { bucket, prefix } => {
            let builder = options
                .settings
                .keys::<object_store::gcp::GoogleConfigKey>("GCS")?
                .into_iter()
                .fold(GoogleCloudStorageBuilder::from_env(), |builder, (key, value)| {
                    builder.with_config(key, value)
                });
            let store =
                builder.with_bucket_name(bucket).with_retry(options.retry()).build().map_err(open_error)?;
            Ok(OpenedStore { store: Arc::new(store), prefix: prefix.clone(), local_root: None })
        }
        LakeUrl::S3 { bucket, prefix } => {
            let builder = options
                .settings
                .keys::<object_store::aws::AmazonS3ConfigKey>("S3")?
                .into_iter()
                .fold(AmazonS3Builder::from_env(), |builder, (key, value)| builder.with_config(key, value));
            let store =
                builder.with_bucket_name(bucket).with_retry(options.retry()).build().map_err(open_error)?;
            Ok(OpenedStore { store: Arc::new(store), prefix: prefix.clone(), local_root: None })
        }
        LakeUrl::Azure { container, prefix } => {
            let builder = options
                .settings
                .keys::<object_store::azure::AzureConfigKey>("Azure")?
                .into_iter()
                .fold(MicrosoftAzureBuilder::from_env(), |builder, (key, value)| {
                    builder.with_config(key, value)
                });
            let store = builder
                .with_container_name(container)
                .with_retry(options.retry())
                .build()
                .map_err(open_error)?;
            Ok(OpenedStore { store: Arc::new(store), prefix: prefix.clone(), local_root: None })
        }
        LakeUrl::Memory { prefix } => {
            Ok(OpenedStore { store: Arc::new(InMemory::new()), prefix: prefix.clone(), local_root: None })
        }
    }
}
