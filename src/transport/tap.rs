//! An optional observer of everything a connection carries: frames as written and as read.
//!
//! A [`FrameTap`] sees each frame cas sends (as encoded) and each frame it reads (as read,
//! before decoding), the lines the server process writes to stderr, and the close. Frames read
//! before a tap is attached are held (at most [`HELD_FRAMES`] of them) until the tap comes or
//! cas sends its first frame, so a tap attached right after connecting misses nothing. The
//! transcript module is the tap cas ships; the transport knows nothing of its format.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What a tapped event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapKind {
    /// A frame cas sent, as written (without the line's newline).
    Sent,
    /// A text frame read from the peer, as read (without the line's newline).
    Received,
    /// Something read that is not a text frame (not UTF-8, binary, over the size cap), described.
    Unreadable,
    /// Input ended; the text is the reason.
    Closed,
    /// A line the server process wrote to stderr.
    Stderr,
}

/// Sees a connection's traffic; called from the I/O tasks, so it must not block for long.
pub trait FrameTap: Send + Sync {
    /// One event, stamped `at` (when it happened, which may be before the call).
    fn event(&self, at: Instant, kind: TapKind, text: &str);
}

/// At most this many frames read before a tap is attached are held for it.
pub const HELD_FRAMES: usize = 64;

enum SlotState {
    /// No tap yet: what was read so far, for a tap attached before cas sends anything.
    Waiting(Vec<(Instant, TapKind, String)>),
    /// Every event goes to the tap.
    Attached(Arc<dyn FrameTap>),
    /// cas sent without a tap: nothing is held any more.
    Off,
}

/// The place a connection's tap goes, shared by its reader and writer halves.
#[derive(Clone)]
pub(crate) struct TapSlot(Arc<Mutex<SlotState>>);

impl Default for TapSlot {
    fn default() -> Self {
        TapSlot(Arc::new(Mutex::new(SlotState::Waiting(Vec::new()))))
    }
}

impl TapSlot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Attaches `tap`, handing it what was held; a second tap replaces the first.
    pub(crate) fn attach(&self, tap: Arc<dyn FrameTap>) {
        let mut state = self.lock();
        if let SlotState::Waiting(held) = &*state {
            for (at, kind, text) in held {
                tap.event(*at, *kind, text);
            }
        }
        *state = SlotState::Attached(tap);
    }

    /// Records an event now.
    pub(crate) fn event(&self, kind: TapKind, text: &str) {
        let mut state = self.lock();
        match &mut *state {
            SlotState::Attached(tap) => tap.event(Instant::now(), kind, text),
            SlotState::Waiting(_) if kind == TapKind::Sent => *state = SlotState::Off,
            SlotState::Waiting(held) if held.len() < HELD_FRAMES => {
                held.push((Instant::now(), kind, text.to_owned()))
            }
            SlotState::Waiting(_) | SlotState::Off => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<(TapKind, String)>>);

    impl FrameTap for Seen {
        fn event(&self, _at: Instant, kind: TapKind, text: &str) {
            self.0.lock().unwrap().push((kind, text.to_owned()));
        }
    }

    #[test]
    fn frames_read_before_the_tap_are_handed_to_it() {
        let slot = TapSlot::default();
        slot.event(TapKind::Received, "early");
        let seen = Arc::new(Seen::default());
        slot.attach(seen.clone());
        slot.event(TapKind::Sent, "out");
        let got = seen.0.lock().unwrap().clone();
        assert_eq!(
            got,
            [
                (TapKind::Received, "early".to_owned()),
                (TapKind::Sent, "out".to_owned())
            ]
        );
    }

    #[test]
    fn nothing_is_held_once_cas_sent_without_a_tap() {
        let slot = TapSlot::default();
        slot.event(TapKind::Sent, "out");
        slot.event(TapKind::Received, "late");
        let seen = Arc::new(Seen::default());
        slot.attach(seen.clone());
        assert!(seen.0.lock().unwrap().is_empty());
        for _ in 0..(HELD_FRAMES + 5) {
            TapSlot::default().event(TapKind::Received, "x");
        }
        let full = TapSlot::default();
        for i in 0..(HELD_FRAMES + 5) {
            full.event(TapKind::Received, &i.to_string());
        }
        let seen = Arc::new(Seen::default());
        full.attach(seen.clone());
        assert_eq!(seen.0.lock().unwrap().len(), HELD_FRAMES);
    }
}
