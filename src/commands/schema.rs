//! `cas schema surface|diff`: the protocol surface of a codex, and what differs between two.
//!
//! `surface` prints the normalized surface (`--json` for the document a later `diff` can read).
//! `diff A B` takes two codex binaries or saved surface files and exits 0 when they are the
//! same, 1 when they differ (`--fail-on breaking`: only when a difference is breaking), 2 when
//! one of them cannot be read; it lists method-level changes, then the payload changes grouped
//! by method ([`crate::schema::deep`]), and ends with a summary that splits the differences
//! into breaking and additive ([`crate::schema::classify`]).

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{fail, pretty, print_stdout};
use crate::launch::CodexLocator;
use crate::schema::deep::MethodPayload;
use crate::schema::{self, Comparison, Surface};

/// `cas schema …`.
#[derive(Debug, Clone, clap::Args)]
pub struct SchemaArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SchemaCommand,
}

/// The schema subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum SchemaCommand {
    /// Print the normalized protocol surface of a codex.
    Surface {
        /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
        #[arg(long)]
        codex_bin: Option<PathBuf>,
        /// Include experimental methods (flagged as such).
        #[arg(long)]
        experimental: bool,
        /// Print the surface as JSON (the format `schema diff` reads).
        #[arg(long)]
        json: bool,
    },
    /// Compare two surfaces; each side is a codex binary or a saved surface file.
    Diff {
        /// The old side.
        a: String,
        /// The new side.
        b: String,
        /// Print exactly one JSON document.
        #[arg(long)]
        json: bool,
        /// Exit 1 on any difference (`any`, the default) or only on a breaking one (`breaking`).
        #[arg(long, value_enum, default_value_t = FailOn::Any)]
        fail_on: FailOn,
    },
}

/// Which differences make `schema diff` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any difference.
    Any,
    /// Only a breaking one.
    Breaking,
}

/// Runs the command.
pub async fn run(args: SchemaArgs) -> ExitCode {
    match args.command {
        SchemaCommand::Surface {
            codex_bin,
            experimental,
            json,
        } => surface(codex_bin, experimental, json).await,
        SchemaCommand::Diff {
            a,
            b,
            json,
            fail_on,
        } => diff(&a, &b, json, fail_on).await,
    }
}

async fn surface(codex_bin: Option<PathBuf>, experimental: bool, json: bool) -> ExitCode {
    let bin = match CodexLocator::from_env(codex_bin).resolve() {
        Ok(bin) => bin,
        Err(e) => return fail("schema_surface", json, &e),
    };
    let mut s = match schema::surface_of_binary(&bin).await {
        Ok(s) => s,
        Err(e) => return fail("schema_surface", json, &e),
    };
    if !experimental {
        s = s.stable_only();
    }
    if json {
        print_stdout(&pretty(&serde_json::to_value(&s).unwrap_or_default()));
    } else {
        print_stdout(&human_surface(&s));
    }
    ExitCode::SUCCESS
}

async fn diff(a: &str, b: &str, json: bool, fail_on: FailOn) -> ExitCode {
    let (old, new) = match (schema::load_side(a).await, schema::load_side(b).await) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => return fail("schema_diff", json, &e),
    };
    let comparison = Comparison::of(old, new);
    if json {
        print_stdout(&pretty(
            &serde_json::to_value(comparison.report()).unwrap_or_default(),
        ));
    } else {
        print_stdout(&human_diff(&comparison));
    }
    let fails = match fail_on {
        FailOn::Any => !comparison.diff.is_empty(),
        FailOn::Breaking => comparison.classified.is_breaking(),
    };
    if fails {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn human_surface(s: &Surface) -> String {
    let mut out = format!(
        "codex {} surface: {} client requests, {} server requests, {} server notifications, {} client notifications\n",
        s.codex_version,
        s.client_requests.len(),
        s.server_requests.len(),
        s.server_notifications.len(),
        s.client_notifications.len()
    );
    let flag = |experimental: bool| if experimental { " (experimental)" } else { "" };
    for (kind, requests) in [
        ("client request", &s.client_requests),
        ("server request", &s.server_requests),
    ] {
        for r in requests {
            out.push_str(&format!(
                "  {kind} {} -> {}{}\n",
                r.method,
                r.response.as_deref().unwrap_or("?"),
                flag(r.experimental)
            ));
        }
    }
    for (kind, notes) in [
        ("server notification", &s.server_notifications),
        ("client notification", &s.client_notifications),
    ] {
        for n in notes {
            out.push_str(&format!("  {kind} {}{}\n", n.method, flag(n.experimental)));
        }
    }
    for (name, variants) in &s.enums {
        out.push_str(&format!("  enum {name}: {}\n", variants.join(", ")));
    }
    out.trim_end().to_owned()
}

fn human_diff(comparison: &Comparison) -> String {
    let Comparison {
        old,
        new,
        diff: d,
        classified,
    } = comparison;
    if d.is_empty() {
        return format!(
            "codex {} and {}: identical surfaces",
            old.codex_version, new.codex_version
        );
    }
    let mut out = format!("codex {} -> {}:\n", old.codex_version, new.codex_version);
    for m in &d.added {
        out.push_str(&format!("  + {} {}\n", m.kind, m.method));
    }
    for m in &d.removed {
        out.push_str(&format!("  - {} {}\n", m.kind, m.method));
    }
    for c in &d.changed {
        out.push_str(&format!(
            "  ~ {} {} {}: {} -> {}\n",
            c.kind, c.method, c.what, c.from, c.to
        ));
    }
    for e in &d.enums {
        out.push_str(&format!(
            "  enum {}: +[{}] -[{}]\n",
            e.name,
            e.added.join(", "),
            e.removed.join(", ")
        ));
    }
    human_payload(&mut out, &d.payload);
    out.push_str(&format!(
        "summary: {} breaking, {} additive\n",
        classified.breaking.len(),
        classified.additive.len()
    ));
    for line in &classified.breaking {
        out.push_str(&format!("  breaking: {line}\n"));
    }
    out.trim_end().to_owned()
}

/// The payload changes, grouped by method, each marked breaking or additive.
fn human_payload(out: &mut String, payload: &[MethodPayload]) {
    if payload.is_empty() {
        return;
    }
    out.push_str("payload changes, by method:\n");
    for m in payload {
        out.push_str(&format!("  {} {}\n", m.kind, m.method));
        for c in &m.changes {
            let value = |v: &str| {
                if v.is_empty() {
                    "none".to_owned()
                } else {
                    v.to_owned()
                }
            };
            out.push_str(&format!(
                "    [{}] {} ({}): {} {} -> {}\n",
                if c.breaking { "breaking" } else { "additive" },
                c.path,
                c.ty,
                c.what,
                value(&c.from),
                value(&c.to)
            ));
        }
    }
}
