//! What a session did not pass on, counted: notifications dropped past the inbox cap, lines
//! over the size cap, responses nobody waited for, and lines that were not messages.
//!
//! Each is a [`Tally`]: a count and the first few samples, so a report can say how often and
//! show what, while the session keeps a bounded amount of it however much the server sends.

use serde::Serialize;
use serde_json::Value;

use super::Notification;

/// How many samples a tally keeps.
pub const SAMPLES: usize = 5;

/// Longest sample text kept, in characters.
const SAMPLE_CHARS: usize = 200;

/// A count and the first few samples of one kind of event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally<T> {
    /// How many times it happened.
    pub count: u64,
    /// The first `SAMPLES` (5) of them.
    pub samples: Vec<T>,
}

impl<T> Default for Tally<T> {
    fn default() -> Self {
        Tally {
            count: 0,
            samples: Vec::new(),
        }
    }
}

impl<T> Tally<T> {
    /// Counts one more; `sample` is kept while fewer than `SAMPLES` (5) are.
    pub fn add(&mut self, sample: impl FnOnce() -> T) {
        self.count += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(sample());
        }
    }

    /// Nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A sample text, cut to a readable length.
pub(super) fn sample_text(text: &str) -> String {
    crate::text::cut(text, SAMPLE_CHARS)
}

/// What one session did not pass on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCounters {
    /// Notifications dropped (oldest first) past the inbox cap; samples are their methods.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub dropped_notifications: Tally<String>,
    /// Lines or messages over the size cap, skipped; samples are their sizes in bytes.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub oversized_lines: Tally<u64>,
    /// Responses to ids nobody was waiting for; samples are the ids.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub stray_responses: Tally<String>,
    /// Lines or frames that were not messages; samples say what was wrong.
    #[serde(skip_serializing_if = "Tally::is_empty")]
    pub malformed_lines: Tally<String>,
    /// Notifications a session that keeps none let go (after its tap saw them).
    #[serde(skip_serializing_if = "is_zero")]
    pub ignored_notifications: u64,
}

/// Whether a count is zero (for `skip_serializing_if`).
fn is_zero(count: &u64) -> bool {
    *count == 0
}

impl SessionCounters {
    /// Nothing at all was counted.
    pub fn is_empty(&self) -> bool {
        self.dropped_notifications.is_empty()
            && self.oversized_lines.is_empty()
            && self.stray_responses.is_empty()
            && self.malformed_lines.is_empty()
    }
}

/// The default cap on buffered, untaken notifications per session.
pub const DEFAULT_MAX_BUFFERED_NOTIFICATIONS: usize = 10_000;

/// The default cap on the (estimated) memory of buffered notifications per session: 64 MiB.
pub const DEFAULT_MAX_BUFFERED_NOTIFICATION_BYTES: usize = 64 << 20;

/// How much a session's inbox keeps of notifications nobody has taken yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxLimits {
    /// At most this many; past it the oldest are dropped and counted. Zero keeps none: for a
    /// session that never awaits a notification (they are counted as ignored, not dropped).
    pub max_notifications: usize,
    /// At most this many bytes (estimated memory); past it the oldest are dropped and counted.
    pub max_bytes: usize,
}

impl InboxLimits {
    /// Limits that keep no notification at all.
    pub fn keep_none() -> InboxLimits {
        InboxLimits {
            max_notifications: 0,
            ..InboxLimits::default()
        }
    }
}

impl Default for InboxLimits {
    fn default() -> Self {
        InboxLimits {
            max_notifications: DEFAULT_MAX_BUFFERED_NOTIFICATIONS,
            max_bytes: DEFAULT_MAX_BUFFERED_NOTIFICATION_BYTES,
        }
    }
}

/// Roughly the memory a buffered notification holds: its nodes and its text.
pub(super) fn footprint(note: &Notification) -> usize {
    std::mem::size_of::<Notification>() + note.method.len() + value_footprint(&note.params)
}

fn value_footprint(value: &Value) -> usize {
    let node = std::mem::size_of::<Value>();
    match value {
        Value::String(s) => node + s.len(),
        Value::Array(items) => node + items.iter().map(value_footprint).sum::<usize>(),
        // A map entry also holds its key, a hash and an index slot.
        Value::Object(map) => {
            node + map
                .iter()
                .map(|(k, v)| k.len() + 24 + value_footprint(v))
                .sum::<usize>()
        }
        _ => node,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_all_and_keeps_the_first_few() {
        let mut t = Tally::default();
        for i in 0..12u64 {
            t.add(|| i);
        }
        assert_eq!(t.count, 12);
        assert_eq!(t.samples, vec![0, 1, 2, 3, 4]);
        assert_eq!(
            sample_text(&"x".repeat(300)).chars().count(),
            SAMPLE_CHARS + 1
        );
    }
}
