//! `cas schema surface|diff`: the protocol surface of a codex, and what differs between two.
//!
//! `surface` prints the normalized surface (`--json` for the document a later `diff` can read).
//! `diff A B` takes two codex binaries or saved surface files and exits 0 when they are the
//! same, 1 when they differ, 2 when one of them cannot be read.

use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

use super::output::{pretty, print_stdout};
use crate::errors::SchemaError;
use crate::launch::{self, CodexLocator};
use crate::schema::{diff, surface, Surface};
use clap::Subcommand;
use std::path::PathBuf;

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
    },
}

/// Runs the command.
pub async fn run(args: SchemaArgs) -> ExitCode {
    match args.command {
        SchemaCommand::Surface {
            codex_bin,
            experimental,
            json,
        } => {
            let bin = match CodexLocator::from_env(codex_bin).resolve() {
                Ok(bin) => bin,
                Err(e) => return fail(&e.to_string()),
            };
            let mut s = match surface_of_binary(&bin).await {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string()),
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
        SchemaCommand::Diff { a, b, json } => {
            let (mut old, mut new) = match (load(&a).await, load(&b).await) {
                (Ok(old), Ok(new)) => (old, new),
                (Err(e), _) | (_, Err(e)) => return fail(&e.to_string()),
            };
            // Compare like with like: a stable-only side makes the other stable-only too.
            if !old.experimental_included || !new.experimental_included {
                old = old.stable_only();
                new = new.stable_only();
            }
            let d = diff::diff(&old, &new);
            let doc = json!({
                "schemaVersion": 1,
                "check": "schema_diff",
                "identical": d.is_empty(),
                "from": old.codex_version,
                "to": new.codex_version,
                "diff": d,
            });
            if json {
                print_stdout(&pretty(&doc));
            } else {
                print_stdout(&human_diff(&old, &new, &d));
            }
            if d.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("cas: {message}");
    ExitCode::from(2)
}

/// Generates the surface of a codex binary (in a scratch folder, never cached here).
pub async fn surface_of_binary(bin: &Path) -> Result<Surface, SchemaError> {
    let scratch = crate::launch::paths::homes_dir().join("schema");
    std::fs::create_dir_all(&scratch).map_err(|source| SchemaError::Io {
        path: scratch.clone(),
        source,
    })?;
    let version = launch::codex_version(bin, &scratch).await?;
    surface::generate(bin, &version, &scratch).await
}

/// A saved surface file, or the surface of a codex binary.
async fn load(arg: &str) -> Result<Surface, SchemaError> {
    let path = Path::new(arg);
    let read = |source| SchemaError::Read {
        arg: arg.to_owned(),
        source,
    };
    if looks_like_json(path) {
        let text = std::fs::read_to_string(path).map_err(read)?;
        let s: Surface = serde_json::from_str(&text).map_err(|source| SchemaError::NotSurface {
            arg: arg.to_owned(),
            source,
        })?;
        if s.surface_version != surface::SURFACE_VERSION {
            return Err(SchemaError::SurfaceVersion {
                arg: arg.to_owned(),
                found: s.surface_version,
                expected: surface::SURFACE_VERSION,
            });
        }
        return Ok(s);
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {
            surface_of_binary(path)
                .await
                .map_err(|source| SchemaError::Binary {
                    arg: arg.to_owned(),
                    source: Box::new(source),
                })
        }
        Ok(_) => Err(SchemaError::NeitherFileNorBinary(arg.to_owned())),
        Err(e) => Err(read(e)),
    }
}

/// Whether a file starts with `{` (after white space): a saved surface, not a binary.
fn looks_like_json(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
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
    for r in &s.server_requests {
        out.push_str(&format!(
            "  server request {} -> {}\n",
            r.method,
            r.response.as_deref().unwrap_or("?")
        ));
    }
    for (name, variants) in &s.enums {
        out.push_str(&format!("  enum {name}: {}\n", variants.join(", ")));
    }
    out.trim_end().to_owned()
}

fn human_diff(old: &Surface, new: &Surface, d: &diff::SurfaceDiff) -> String {
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
    out.trim_end().to_owned()
}
