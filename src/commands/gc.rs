//! `cas gc`: remove ended review lanes, kept hermetic homes and workspaces, and hook logs
//! older than `--older-than`, and say what was removed ([`crate::gc`]).

use std::process::ExitCode;
use std::time::Duration;

use super::output::print_result;
use crate::gc::{self, Collected, Roots};

/// Flags of `cas gc`.
#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Remove only what was last changed longer ago than this (e.g. 30m, 12h, 7d).
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub older_than: Duration,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command: exit 0, or 1 when something could not be removed.
pub fn run(args: GcArgs) -> ExitCode {
    let collected = gc::collect(&Roots::current(), args.older_than, args.dry_run);
    let ok = collected.failures.is_empty();
    let doc = serde_json::json!({
        "schemaVersion": 1, "check": "gc", "ok": ok, "dryRun": args.dry_run,
        "olderThanSeconds": args.older_than.as_secs(),
        "removed": collected.removed, "failures": collected.failures,
    });
    let dry_run = args.dry_run;
    print_result(&doc, args.json, |_| human(&collected, dry_run), ok)
}

fn human(collected: &Collected, dry_run: bool) -> String {
    let verb = if dry_run { "would remove" } else { "removed" };
    let mut lines: Vec<String> = collected
        .removed
        .iter()
        .map(|r| format!("{verb} {:?} {}", r.kind, r.path.display()))
        .collect();
    lines.extend(
        collected
            .failures
            .iter()
            .map(|f| format!("could not remove {}: {}", f.path.display(), f.error)),
    );
    if lines.is_empty() {
        lines.push("nothing to remove".to_owned());
    }
    lines.join("\n")
}
