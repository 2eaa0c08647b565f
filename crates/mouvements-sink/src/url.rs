//! `LakeUrl`: where a lake lives. One parser for every destination, refusing anything it
//! cannot serve with a message that names the URL and the accepted forms. Anything that looks
//! like a scheme (`s3:/x`, `gs:bucket`, `gcs://x`) is refused with the right spelling rather
//! than taken for a local folder named `s3:`; a local path holding a colon is written with a
//! folder first (`./a:b`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The accepted forms, quoted in every URL error.
pub const ACCEPTED_FORMS: &str = "a local path, file:///abs/path, gs://bucket/prefix, s3://bucket/prefix, az://container/prefix or memory://prefix";

/// A parsed lake location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeUrl {
    /// A folder on this machine.
    Local(PathBuf),
    /// Google Cloud Storage.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Folder inside the bucket, without leading or trailing `/` (may be empty).
        prefix: String,
    },
    /// Amazon S3 or a compatible store.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Folder inside the bucket.
        prefix: String,
    },
    /// Azure Blob Storage.
    Azure {
        /// Container name.
        container: String,
        /// Folder inside the container.
        prefix: String,
    },
    /// An in-process store, for tests; gone when the process ends.
    Memory {
        /// Folder inside the store.
        prefix: String,
    },
}

/// A destination the sink cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid lake URL {url:?}: {reason}; expected {ACCEPTED_FORMS}")]
pub struct UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

fn bucket_and_prefix(url: &str, rest: &str, what: &str) -> Result<(String, String), UrlError> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(UrlError { url: url.into(), reason: format!("the {what} name is missing") });
    }
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.');
    if !bucket.chars().all(valid) {
        return Err(UrlError {
            url: url.into(),
            reason: format!(
                "{what} name {bucket:?} may only hold lowercase letters, digits, '-', '_' and '.'"
            ),
        });
    }
    Ok((bucket.to_owned(), clean_prefix(prefix)))
}

fn clean_prefix(prefix: &str) -> String {
    prefix.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/")
}

/// The scheme a user most likely meant, for the schemes people type.
fn canonical_scheme(scheme: &str) -> Option<&'static str> {
    match scheme.to_ascii_lowercase().as_str() {
        "gs" | "gcs" | "gcp" => Some("gs"),
        "s3" | "s3a" | "s3n" | "aws" => Some("s3"),
        "az" | "azure" | "abfs" | "abfss" | "wasb" | "wasbs" | "adl" => Some("az"),
        "file" => Some("file"),
        "memory" => Some("memory"),
        _ => None,
    }
}

/// The scheme-like start of `text` (`s3` in `s3:/x`), if it has one: a letter, then letters,
/// digits, `+`, `-` or `.`, then a colon.
fn scheme_prefix(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some((scheme, rest))
}

/// The error for a scheme-like URL that is not one of ours, with the likely spelling.
fn misspelt(url: &str, scheme: &str, rest: &str) -> UrlError {
    let body = rest.trim_start_matches('/');
    let reason = match canonical_scheme(scheme) {
        Some("file") => format!("did you mean file:///{body}?"),
        Some(canonical) => format!("did you mean {canonical}://{body}?"),
        None => {
            format!("unknown scheme {scheme:?} (for a local folder whose name holds a colon, write ./{url})")
        }
    };
    UrlError { url: url.into(), reason }
}

impl FromStr for LakeUrl {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<Self, UrlError> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(UrlError { url: url.into(), reason: "it is empty".into() });
        }
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return match scheme_prefix(trimmed) {
                // `file:/abs/path` is a valid file URI, and the form Spark prints.
                Some(("file", rest)) if rest.starts_with('/') && !rest.starts_with("//") => {
                    Ok(LakeUrl::Local(PathBuf::from(rest)))
                }
                Some((scheme, rest)) => Err(misspelt(url, scheme, rest)),
                None => Ok(LakeUrl::Local(PathBuf::from(trimmed))),
            };
        };
        match scheme {
            "gs" => {
                bucket_and_prefix(url, rest, "bucket").map(|(bucket, prefix)| LakeUrl::Gcs { bucket, prefix })
            }
            "s3" => {
                bucket_and_prefix(url, rest, "bucket").map(|(bucket, prefix)| LakeUrl::S3 { bucket, prefix })
            }
            "az" => bucket_and_prefix(url, rest, "container")
                .map(|(container, prefix)| LakeUrl::Azure { container, prefix }),
            "memory" => Ok(LakeUrl::Memory { prefix: clean_prefix(rest) }),
            "file" if rest.starts_with('/') => Ok(LakeUrl::Local(PathBuf::from(rest))),
            "file" => Err(UrlError {
                url: url.into(),
                reason: "file:// needs an absolute path, as in file:///data/lake".into(),
            }),
            other if canonical_scheme(other).is_some() => Err(misspelt(url, other, rest)),
            other => Err(UrlError { url: url.into(), reason: format!("unknown scheme {other:?}") }),
        }
    }
}

impl fmt::Display for LakeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |scheme: &str, bucket: &str, prefix: &str| {
            if prefix.is_empty() {
                format!("{scheme}://{bucket}")
            } else {
                format!("{scheme}://{bucket}/{prefix}")
            }
        };
        match self {
            LakeUrl::Local(path) => write!(f, "{}", path.display()),
            LakeUrl::Gcs { bucket, prefix } => f.write_str(&join("gs", bucket, prefix)),
            LakeUrl::S3 { bucket, prefix } => f.write_str(&join("s3", bucket, prefix)),
            LakeUrl::Azure { container, prefix } => f.write_str(&join("az", container, prefix)),
            LakeUrl::Memory { prefix } => write!(f, "memory://{prefix}"),
        }
    }
}

impl LakeUrl {
    /// The URL of a folder under this lake (`raw`, `staging/mouvements`…), as Spark would
    /// address it. Local lakes give a `file:` URL of the absolute path.
    pub fn join(&self, sub: &str) -> String {
        match self {
            LakeUrl::Local(path) => {
                let abs = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                format!("file:{}", abs.join(sub).display())
            }
            _ => format!("{}/{sub}", self.to_string().trim_end_matches('/')),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_destination_parses() {
        assert_eq!("./datalake".parse(), Ok(LakeUrl::Local("./datalake".into())));
        assert_eq!("file:///data/lake".parse(), Ok(LakeUrl::Local("/data/lake".into())));
        assert_eq!(
            "gs://supdevinci_bucket/sanda_celia/".parse(),
            Ok(LakeUrl::Gcs { bucket: "supdevinci_bucket".into(), prefix: "sanda_celia".into() })
        );
        assert_eq!("s3://b".parse(), Ok(LakeUrl::S3 { bucket: "b".into(), prefix: String::new() }));
        assert_eq!("az://c/a//b".parse(), Ok(LakeUrl::Azure { container: "c".into(), prefix: "a/b".into() }));
        assert_eq!("memory://x".parse(), Ok(LakeUrl::Memory { prefix: "x".into() }));
    }

    #[test]
    fn bad_urls_name_the_url_and_the_fix() {
        for (bad, needle) in [
            ("gs://", "bucket name is missing"),
            ("gs:///prefix", "bucket name is missing"),
            ("hdfs://x/y", "unknown scheme \"hdfs\""),
            ("file://relative", "absolute path"),
            ("s3://My_Bucket", "lowercase"),
            ("", "empty"),
        ] {
            let err = bad.parse::<LakeUrl>().unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("gs://bucket/prefix"), "{bad}: {err}");
        }
    }

    #[test]
    fn scheme_typos_are_refused_with_the_right_spelling() {
        for (typo, meant) in [
            ("s3:/bad", "did you mean s3://bad?"),
            ("gs:/bucket/x", "did you mean gs://bucket/x?"),
            ("az:/c/x", "did you mean az://c/x?"),
            ("s3:bucket", "did you mean s3://bucket?"),
            ("gcs://bucket/x", "did you mean gs://bucket/x?"),
            ("GS:bucket", "did you mean gs://bucket?"),
            ("abfss://c/x", "did you mean az://c/x?"),
            ("a:b", "write ./a:b"),
        ] {
            let err = typo.parse::<LakeUrl>().unwrap_err().to_string();
            assert!(err.contains(meant), "{typo}: {err}");
        }
    }

    #[test]
    fn local_paths_with_a_colon_stay_possible() {
        assert_eq!("./a:b".parse(), Ok(LakeUrl::Local("./a:b".into())));
        assert_eq!("/data/a:b".parse(), Ok(LakeUrl::Local("/data/a:b".into())));
        assert_eq!("file:/data/lake".parse(), Ok(LakeUrl::Local("/data/lake".into())));
    }

    #[test]
    fn display_round_trips() {
        for url in ["gs://b/p/q", "s3://b", "az://c/p", "memory://t"] {
            assert_eq!(url.parse::<LakeUrl>().unwrap().to_string(), url);
        }
    }
}
