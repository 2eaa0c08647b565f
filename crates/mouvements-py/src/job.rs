//! Running a job from Python: on a thread of its own, while the caller waits without the GIL
//! (other Python threads keep running), waking every 100 ms to report progress and to take
//! Ctrl-C or a notebook's interrupt, which cancels the job with the CLI's guarantees (uploads
//! aborted, nothing committed) before `KeyboardInterrupt` is raised.

use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mouvements::{Control, JobError};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::errors;

/// How often the waiting caller wakes.
const TICK: Duration = Duration::from_millis(100);

/// What an interrupt does to a job.
pub enum OnInterrupt {
    /// Cancel it and wait until it has stopped (a job that writes: its uploads are aborted).
    Cancel,
    /// Leave it to finish on its thread and raise at once: a job that only reads, whose
    /// result is dropped; the message says so.
    Abandon(&'static str),
}

/// Runs `work` on a thread; calls `progress(rows_done, rows_total)` on every tick.
pub fn run<T: Send + 'static>(
    py: Python<'_>,
    control: &Arc<Control>,
    progress: Option<&Bound<'_, PyAny>>,
    on_interrupt: OnInterrupt,
    work: impl FnOnce() -> Result<T, JobError> + Send + 'static,
) -> PyResult<T> {
    let (sender, receiver) = channel();
    // Waited on without the GIL, from closures that must be `Send`.
    let receiver = Mutex::new(receiver);
    let wait = |timeout: Option<Duration>| {
        let receiver = receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match timeout {
            Some(timeout) => receiver.recv_timeout(timeout),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        }
    };
    let worker = std::thread::Builder::new()
        .name("mouvements-job".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(|e| {
            errors::from_job(py, JobError::Runtime(format!("cannot start the job's thread: {e}")))
        })?;
    let report = |py: Python<'_>| -> PyResult<()> {
        if let Some(callback) = progress {
            let now = control.progress();
            callback.call1((now.rows_done, now.rows_total))?;
        }
        py.check_signals()
    };
    loop {
        match py.detach(|| wait(Some(TICK))) {
            Ok(result) => {
                let _ = worker.join();
                if result.is_ok() {
                    // The last progress (100 %); the job is done whatever it or a signal says.
                    if let Some(callback) = progress {
                        let now = control.progress();
                        let _ = callback.call1((now.rows_done, now.rows_total));
                    }
                }
                return errors::check(py, result);
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = worker.join();
                return Err(errors::from_job(
                    py,
                    JobError::Runtime("the job's thread stopped without a result".into()),
                ));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Err(stop) = report(py) {
            if let OnInterrupt::Abandon(message) = on_interrupt {
                control.cancel();
                return Err(if stop.is_instance_of::<PyKeyboardInterrupt>(py) {
                    PyKeyboardInterrupt::new_err(message)
                } else {
                    stop
                });
            }
            // Interrupted, or the progress callback raised: the job stops as on Ctrl-C; a job
            // that finished meanwhile keeps its result, and its own failure, if it is not the
            // interruption, is what the caller sees.
            control.cancel();
            let result = py.detach(|| wait(None));
            let _ = worker.join();
            return match result {
                Ok(Ok(done)) => Ok(done),
                Ok(Err(e)) if !matches!(e, JobError::Interrupted) => Err(errors::from_job(py, e)),
                _ if stop.is_instance_of::<PyKeyboardInterrupt>(py) => {
                    Err(errors::from_job(py, JobError::Interrupted))
                }
                _ => Err(stop),
            };
        }
    }
}
