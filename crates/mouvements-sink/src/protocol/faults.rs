//! Faults injected at protocol steps, for tests: fail, pause or crash the process right after
//! the k-th time a step completes. Written `step[#k]=fail`, `step[#k]=delay:MS` or
//! `step[#k]=crash`, several separated by `,` (the binary reads them from `MOUVEMENTS_FAULT`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::SinkError;

/// A step of the protocol after which a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The run owns (or joined) the destination.
    Claimed,
    /// An older dataset's commit markers are removed.
    Cleared,
    /// A shard's files are stored, its record not yet.
    ShardStored,
    /// A shard's record is stored.
    ShardRecorded,
    /// What older datasets left is removed.
    StaleRemoved,
    /// The manifest is written.
    ManifestWritten,
    /// The staging `_SUCCESS` is written.
    StagingMarked,
    /// The Delta commit is written.
    DeltaCommitted,
}

impl Step {
    const ALL: [Step; 8] = [
        Step::Claimed,
        Step::Cleared,
        Step::ShardStored,
        Step::ShardRecorded,
        Step::StaleRemoved,
        Step::ManifestWritten,
        Step::StagingMarked,
        Step::DeltaCommitted,
    ];

    /// The step's name in fault specifications.
    pub const fn name(self) -> &'static str {
        match self {
            Step::Claimed => "claimed",
            Step::Cleared => "cleared",
            Step::ShardStored => "shard-stored",
            Step::ShardRecorded => "shard-recorded",
            Step::StaleRemoved => "stale-removed",
            Step::ManifestWritten => "manifest-written",
            Step::StagingMarked => "staging-marked",
            Step::DeltaCommitted => "delta-committed",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Fail,
    Delay(Duration),
    Crash,
}

#[derive(Debug)]
struct Fault {
    step: Step,
    nth: u32,
    action: Action,
    seen: AtomicU32,
}

/// The faults to inject; none by default.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Vec<Fault>>);

impl Faults {
    /// No fault.
    pub fn none() -> Self {
        Self::default()
    }

    /// Called after each step: fails, pauses or crashes if a fault is due.
    pub(crate) fn after(&self, step: Step) -> Result<(), SinkError> {
        for fault in self.0.iter().filter(|f| f.step == step) {
            if fault.seen.fetch_add(1, Ordering::SeqCst) + 1 != fault.nth {
                continue;
            }
            match fault.action {
                Action::Fail => return Err(SinkError::Injected { step: step.to_string() }),
                Action::Delay(pause) => std::thread::sleep(pause),
                Action::Crash => std::process::abort(),
            }
        }
        Ok(())
    }
}

impl FromStr for Faults {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let bad = |part: &str| {
            let steps: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
            format!(
                "invalid fault {part:?}: expected STEP[#N]=fail|delay:MS|crash with STEP one of {}",
                steps.join(", ")
            )
        };
        let mut faults = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (at, action) = part.split_once('=').ok_or_else(|| bad(part))?;
            let (name, nth) = at.split_once('#').unwrap_or((at, "1"));
            let step = Step::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| bad(part))?;
            let nth = nth.parse().ok().filter(|n| *n > 0).ok_or_else(|| bad(part))?;
            let action = match action.split_once(':') {
                None if action == "fail" => Action::Fail,
                None if action == "crash" => Action::Crash,
                Some(("delay", ms)) => {
                    Action::Delay(Duration::from_millis(ms.parse().map_err(|_| bad(part))?))
                }
                _ => return Err(bad(part)),
            };
            faults.push(Fault { step, nth, action, seen: AtomicU32::new(0) });
        }
        Ok(Self(Arc::new(faults)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fires_on_its_nth_step_only() {
        let faults: Faults = "shard-recorded#2=fail, claimed=delay:1".parse().unwrap();
        assert!(faults.after(Step::Claimed).is_ok());
        assert!(faults.after(Step::ShardRecorded).is_ok());
        assert!(matches!(faults.after(Step::ShardRecorded), Err(SinkError::Injected { .. })));
        assert!(faults.after(Step::ShardRecorded).is_ok());
    }

    #[test]
    fn bad_specifications_name_the_steps() {
        for bad in ["nope=fail", "claimed", "claimed#0=fail", "claimed=explode", "claimed=delay:x"] {
            assert!(bad.parse::<Faults>().unwrap_err().contains("shard-recorded"), "{bad}");
        }
    }
}
