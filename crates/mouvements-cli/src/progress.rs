//! The progress bar, on a terminal only: it follows a job's [`Control`] from a thread of its
//! own, so the job itself never draws.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mouvements::Control;

/// Whether a bar is drawn: asked for, and stderr a terminal.
pub struct Bar {
    shown: bool,
}

impl Bar {
    /// A bar when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool) -> Self {
        Self { shown: enabled && io::stderr().is_terminal() }
    }

    /// Whether the bar is drawn (so rows must be counted).
    pub fn is_shown(&self) -> bool {
        self.shown
    }

    /// Draws the bar from `control`'s progress until [`Following::finish`].
    pub fn follow(&self, control: Arc<Control>) -> Following {
        let done = Arc::new(AtomicBool::new(false));
        let thread = self.shown.then(|| {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let bar = ProgressBar::new(0);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{bar:40} {human_pos}/{human_len} rows  {per_sec}  eta {eta}",
                    )
                    .expect("the template is valid"),
                );
                while !done.load(Ordering::Relaxed) {
                    let progress = control.progress();
                    bar.set_length(progress.rows_total);
                    bar.set_position(progress.rows_done);
                    std::thread::sleep(Duration::from_millis(200));
                }
                bar.finish_and_clear();
            })
        });
        Following { done, thread }
    }
}

/// A bar being drawn.
pub struct Following {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Following {
    /// Removes the bar.
    pub fn finish(self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread {
            let _ = thread.join();
        }
    }
}
