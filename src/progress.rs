//! A progress indicator on stderr for long commands, drawn only when stderr is a terminal.
//!
//! [`Ticker`] wraps an indicatif bar or spinner. Off a terminal (a pipe, a file, CI, `--json`
//! callers that ask for none) it draws nothing at all, so machine output is never mixed with
//! it. Lines printed while it runs go through [`Ticker::println`] so they do not tear the bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// How often a spinner redraws itself.
const TICK: Duration = Duration::from_millis(120);

/// A progress bar (known total) or spinner (unknown total) on stderr; inert off a terminal.
pub struct Ticker {
    bar: Option<ProgressBar>,
}

impl Ticker {
    /// A ticker that draws nothing.
    pub fn hidden() -> Ticker {
        Ticker { bar: None }
    }

    /// A bar of `total` steps labelled `what`, when `wanted` and stderr is a terminal.
    pub fn counter(total: u64, what: &str, wanted: bool) -> Ticker {
        Ticker::drawn(
            Some(total),
            "{spinner} {prefix} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
            what,
            wanted,
        )
    }

    /// A spinner labelled `what` (for waits of unknown length), when `wanted` and on a terminal.
    pub fn spinner(what: &str, wanted: bool) -> Ticker {
        Ticker::drawn(
            None,
            "{spinner} {prefix} [{elapsed_precise}] {wide_msg}",
            what,
            wanted,
        )
    }

    /// A bar of `len` steps (a spinner when `None`) drawn with `template`, when `wanted` and on
    /// a terminal.
    fn drawn(len: Option<u64>, template: &str, what: &str, wanted: bool) -> Ticker {
        if !wanted || !std::io::stderr().is_terminal() {
            return Ticker::hidden();
        }
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
        let fallback = match len {
            Some(_) => ProgressStyle::default_bar,
            None => ProgressStyle::default_spinner,
        };
        let style = ProgressStyle::with_template(template).unwrap_or_else(|_| fallback());
        bar.set_style(style);
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(TICK);
        Ticker { bar: Some(bar) }
    }

    /// Shows `line` on the bar (advancing it when `advance`), or off a terminal prints it on
    /// stderr as `PREFIX: LINE`.
    pub fn note(&self, prefix: &str, line: &str, advance: bool) {
        match &self.bar {
            Some(_) if advance => self.tick(line),
            Some(_) => self.message(line),
            None => eprintln!("{prefix}: {line}"),
        }
    }

    /// Whether it draws.
    #[cfg(test)]
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// Advances by one and shows `message`.
    pub fn tick(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(message.to_owned());
        }
    }

    /// Sets the position to `done` and shows `message`.
    pub fn set(&self, done: u64, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(message.to_owned());
        }
    }

    /// Shows `message` without advancing.
    pub fn message(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
        }
    }

    /// Prints `text` on stdout without tearing the bar.
    pub fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{text}")),
            None => println!("{text}"),
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_or_unwanted_nothing_is_drawn() {
        // Under the test harness stderr is captured, never a terminal.
        assert!(!Ticker::counter(3, "x", false).is_drawn());
        assert!(!Ticker::spinner("x", false).is_drawn());
        let hidden = Ticker::hidden();
        hidden.tick("a");
        hidden.message("b");
        assert!(!hidden.is_drawn());
    }
}
