//! Keyword arguments to the library's values. A bad value is a `mouvements.ArgumentError`
//! (also a `ValueError`) whose message names the keyword and what it accepts, as the CLI's
//! names the flag.

use mouvements::options::{parse_date, parse_month, parse_rows};
use mouvements::{LakeUrl, StoreOptions, StoreSettings, WriteMode};
use mouvements_generator::Period;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};

use crate::errors;

/// `value` parsed, or the argument error naming `keyword`.
pub fn parsed<T>(py: Python<'_>, keyword: &str, value: Result<T, String>) -> PyResult<T> {
    value.map_err(|message| errors::argument(py, format!("{keyword}: {message}")))
}

/// A whole number of the type `T` (a Python `int`, not a `bool`).
pub fn whole<'py, T: FromPyObjectOwned<'py>>(
    py: Python<'py>,
    keyword: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<T> {
    let bad = || {
        let shown = value.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string());
        errors::argument(py, format!("{keyword}: expected a whole number in range, got {shown}"))
    };
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(bad());
    }
    value.extract::<T>().map_err(|_| bad())
}

/// The row count: an `int`, or text such as `"10M"`, `"250k"`, `"10_000_000"`.
pub fn rows(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    let py = value.py();
    if value.is_instance_of::<PyString>() {
        return parsed(py, "rows", parse_rows(&value.extract::<String>()?));
    }
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(errors::argument(
            py,
            "rows: expected a row count such as 10_000_000 or \"10M\"".to_owned(),
        ));
    }
    let text = value.str()?.to_string();
    parsed(py, "rows", parse_rows(&text))
}

/// The period: `month` (`"2025-06"`), or `start` and `end` (`"2025-06-01"`, inclusive), or
/// `None` when neither is given.
pub fn period(
    py: Python<'_>,
    month: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
) -> PyResult<Option<Period>> {
    let built = match (month, start, end) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(errors::argument(
                py,
                "month: give either month or start and end, not both".to_owned(),
            ));
        }
        (Some(month), None, None) => {
            let (year, month) = parsed(py, "month", parse_month(month))?;
            Period::month(year, month)
        }
        (None, Some(start), Some(end)) => {
            Period::new(parsed(py, "start", parse_date(start))?, parsed(py, "end", parse_date(end))?)
        }
        (None, Some(_), None) => return Err(errors::argument(py, "start: needs end too".to_owned())),
        (None, None, Some(_)) => return Err(errors::argument(py, "end: needs start too".to_owned())),
        (None, None, None) => return Ok(None),
    };
    built.map(Some).map_err(|e| errors::from_job(py, e.into()))
}

/// The lake URL.
pub fn url(py: Python<'_>, base: &str) -> PyResult<LakeUrl> {
    base.parse().map_err(|e| errors::argument(py, format!("base: {e}")))
}

/// The write mode of `create`, `overwrite`, `resume`, `append` or `append-resume`, and
/// whether it appends a load.
pub fn mode(py: Python<'_>, mode: &str) -> PyResult<(WriteMode, bool)> {
    match mode {
        "create" => Ok((WriteMode::Fresh, false)),
        "overwrite" => Ok((WriteMode::Overwrite, false)),
        "resume" => Ok((WriteMode::Resume, false)),
        "append" => Ok((WriteMode::Fresh, true)),
        "append-resume" => Ok((WriteMode::Resume, true)),
        other => Err(errors::argument(
            py,
            format!(
                "mode: expected \"create\", \"overwrite\", \"resume\", \"append\" or \"append-resume\", got {other:?}"
            ),
        )),
    }
}

/// Threads: 1 to 1024.
pub fn threads(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let threads: usize = whole(py, "threads", value)?;
    if !(1..=1024).contains(&threads) {
        return Err(errors::argument(py, format!("threads: expected 1 to 1024, got {threads}")));
    }
    Ok(threads)
}

/// The store options: the environment's retries, with `storage_options` (a dict of
/// object_store settings, values `str`, `bool` or `int`) over the environment's settings.
/// Values never appear in a message.
pub fn store(py: Python<'_>, storage_options: Option<&Bound<'_, PyAny>>) -> PyResult<StoreOptions> {
    let mut options = StoreOptions::from_env();
    let Some(given) = storage_options else { return Ok(options) };
    let dict = given.cast::<PyDict>().map_err(|_| {
        errors::argument(py, "storage_options: expected a dict of setting names to strings".to_owned())
    })?;
    let mut pairs = Vec::with_capacity(dict.len());
    for (key, value) in dict.iter() {
        let name: String = key
            .extract()
            .map_err(|_| errors::argument(py, "storage_options: setting names must be strings".to_owned()))?;
        let text = if value.is_instance_of::<PyBool>() {
            if value.is_truthy()? { "true".to_owned() } else { "false".to_owned() }
        } else if value.is_instance_of::<PyString>() || value.is_instance_of::<PyInt>() {
            value.str()?.to_string()
        } else {
            return Err(errors::argument(
                py,
                format!("storage_options: the value of {name:?} must be a string (its value is not shown)"),
            ));
        };
        pairs.push((name, text));
    }
    options.settings = StoreSettings::new(pairs);
    Ok(options)
}
