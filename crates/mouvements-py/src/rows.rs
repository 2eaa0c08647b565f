//! `rows()`: the generator's rows as an Arrow stream through the Arrow PyCapsule interface
//! (`__arrow_c_stream__`), so pyarrow, polars and DuckDB take the batches without a copy and
//! without pyarrow being needed here. Each call of `__arrow_c_stream__` starts a new stream
//! from the first row of the range: the rows are a pure function of the settings.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::{ArrowError, SchemaRef};
use mouvements::DatasetSettings;
use mouvements_generator::{ARROW_SCHEMA, Generator};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::{args, errors};

/// Rows of one configuration, over a row range, in batches.
#[pyclass(frozen, module = "mouvements._native")]
pub struct RowStream {
    generator: Arc<Generator>,
    range: Range<u64>,
    batch_rows: u64,
}

#[pymethods]
impl RowStream {
    /// A new stream of the rows, as an `arrow_array_stream` capsule. The requested schema is
    /// not applied: the stream's types are the schema's (the protocol allows it).
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches = Batches {
            generator: Arc::clone(&self.generator),
            next: self.range.start,
            end: self.range.end,
            batch_rows: self.batch_rows,
        };
        let stream = FFI_ArrowArrayStream::new(Box::new(batches));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    /// The schema, as an `arrow_schema` capsule.
    #[allow(clippy::unused_self)] // a method of the protocol; every stream has the one schema
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(ARROW_SCHEMA.as_ref()).map_err(|e| {
            errors::from_job(py, mouvements::JobError::Runtime(format!("the Arrow schema: {e}")))
        })?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    /// The anomaly ground truth of the stream's rows, as the labels CSV `generate --labels`
    /// writes (`id_mouvement,type_op,produit,montant,usual_montant,ratio`, header first).
    fn labels_csv<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        let mut csv = Vec::new();
        py.detach(|| {
            self.generator
                .write_labels_csv(self.range.clone(), &mut csv)
                .expect("writing to memory does not fail")
        });
        pyo3::types::PyBytes::new(py, &csv)
    }

    /// Rows in the stream.
    #[getter]
    fn num_rows(&self) -> u64 {
        self.range.end - self.range.start
    }
}

/// The batches of one stream.
struct Batches {
    generator: Arc<Generator>,
    next: u64,
    end: u64,
    batch_rows: u64,
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let stop = self.end.min(self.next.saturating_add(self.batch_rows));
        let batch = self.generator.record_batch(self.next..stop);
        self.next = stop;
        Some(Ok(batch))
    }
}

impl RecordBatchReader for Batches {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&ARROW_SCHEMA)
    }
}

/// The rows of a configuration, `start_row..stop_row` of them, as a stream.
#[pyfunction]
#[pyo3(signature = (rows, seed, month, start, end, first_id, anomaly_rate, start_row, stop_row, batch_rows))]
#[allow(clippy::too_many_arguments)] // the Python signature's keywords, one each
pub fn rows(
    py: Python<'_>,
    rows: &Bound<'_, PyAny>,
    seed: &Bound<'_, PyAny>,
    month: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
    first_id: &Bound<'_, PyAny>,
    anomaly_rate: f64,
    start_row: &Bound<'_, PyAny>,
    stop_row: Option<&Bound<'_, PyAny>>,
    batch_rows: &Bound<'_, PyAny>,
) -> PyResult<RowStream> {
    let settings = DatasetSettings {
        rows: args::rows(rows)?,
        seed: args::whole(py, "seed", seed)?,
        period: args::period(py, month, start, end)?.unwrap_or_default(),
        first_id: args::whole(py, "first_id", first_id)?,
        anomaly_rate,
        ..DatasetSettings::default()
    };
    let config = errors::check(py, settings.generator())?;
    let total = config.rows();
    let start_row: u64 = args::whole(py, "start_row", start_row)?;
    let stop_row: u64 = stop_row.map(|s| args::whole(py, "stop_row", s)).transpose()?.unwrap_or(total);
    if start_row > stop_row || stop_row > total {
        return Err(errors::argument(
            py,
            format!(
                "start_row, stop_row: {start_row}..{stop_row} is not a range of the {total} rows: expected 0 <= start_row <= stop_row <= rows"
            ),
        ));
    }
    let batch_rows: u64 = args::whole(py, "batch_rows", batch_rows)?;
    if !(1..=1 << 24).contains(&batch_rows) {
        return Err(errors::argument(py, format!("batch_rows: expected 1 to {}, got {batch_rows}", 1 << 24)));
    }
    let generator = Arc::new(py.detach(|| Generator::new(config)));
    Ok(RowStream { generator, range: start_row..stop_row, batch_rows })
}
