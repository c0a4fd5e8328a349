//! The event logs of the control lanes (`--event-log PATH`): one transcript per instance.
//!
//! A lane of one instance (`smoke_check`, `request`) writes PATH itself, with the mock model's
//! requests when the run is hermetic. A lane of several (`instance_runner`) writes one file per
//! instance, the index inserted before the extension (`events.ndjson` → `events-1.ndjson`,
//! `events-2.ndjson`, …; see [`super::instance_path`]); the mock model they share is not
//! logged there, as its requests belong to no one instance. Each connection is named by its
//! client name (e.g. `cas-instance-1`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::writer::ModelTap;
use super::{instance_path, Transcript};
use crate::transport::FrameTap;

/// Gives the connection of the client named so its tap (none: do not record it).
pub type TapFactory = Arc<dyn Fn(&str) -> Option<Arc<dyn FrameTap>> + Send + Sync>;

/// A lane's event logs.
pub struct EventLogs {
    base: PathBuf,
    label: String,
    /// The one transcript of a one-instance lane.
    single: Option<Arc<Transcript>>,
}

impl EventLogs {
    /// Opens the logs at `base` for a lane labelled `label`: the file itself now when
    /// `per_instance` is false, else nothing until each instance starts (the folder is checked).
    pub fn open(base: &Path, label: &str, per_instance: bool) -> std::io::Result<EventLogs> {
        let single = if per_instance {
            let dir = base.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no folder {}", dir.display()),
                ));
            }
            None
        } else {
            Some(Transcript::create(base, label)?)
        };
        Ok(EventLogs {
            base: base.to_owned(),
            label: label.to_owned(),
            single,
        })
    }

    /// The file of a one-instance lane.
    pub fn single(&self) -> Option<&Arc<Transcript>> {
        self.single.as_ref()
    }

    /// A callback for the mock model's requests: only a one-instance lane logs them.
    pub fn model_tap(&self) -> Option<ModelTap> {
        self.single.as_ref().map(Transcript::model_tap)
    }

    /// The tap factory the launcher calls per instance: the single transcript, or a new file
    /// per instance (numbered by the client name's last `-N`); a file that cannot be made
    /// leaves that instance unlogged, with a warning.
    pub fn factory(self: &Arc<Self>) -> TapFactory {
        let logs = self.clone();
        Arc::new(move |client: &str| {
            if let Some(single) = &logs.single {
                return Some(single.tap(client));
            }
            let index = client
                .rsplit_once('-')
                .and_then(|(_, n)| n.parse::<usize>().ok())?;
            let path = instance_path(&logs.base, index);
            let label = format!("{} {client}", logs.label);
            match Transcript::create(&path, &label) {
                Ok(t) => Some(t.tap(client)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "no event log for this instance");
                    None
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_for_one_instance_and_one_per_instance_for_several() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("events.ndjson");
        let single = Arc::new(EventLogs::open(&base, "request", false).unwrap());
        assert!(base.is_file());
        assert!(single.model_tap().is_some());
        assert!((single.factory())("cas-instance-1").is_some());
        let many = Arc::new(EventLogs::open(&base, "instance_runner", true).unwrap());
        assert!(many.model_tap().is_none());
        assert!((many.factory())("cas-instance-2").is_some());
        assert!(dir.path().join("events-2.ndjson").is_file());
        let missing = dir.path().join("nope/events.ndjson");
        assert!(EventLogs::open(&missing, "x", true).is_err());
        assert!(EventLogs::open(&missing, "x", false).is_err());
    }
}
