//! `cas capabilities`: what cas and the resolved codex can do together.
//!
//! cas's version, the codex it resolved, the compatibility verdict of each command, and which
//! scenarios can run on that codex; the document is [`crate::scenario::suite::capabilities`].

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{fail, pretty, print_stdout};
use crate::scenario::suite::{self, Capabilities, CapabilitiesConfig};
use crate::schema::compat;

/// Flags of `cas capabilities`.
#[derive(Debug, Clone, clap::Args)]
pub struct CapabilitiesArgs {
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// The folder of scenario files (default: the scenarios shipped inside cas); a folder that
    /// does not exist is refused (exit 2).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// Print exactly one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub async fn run(args: CapabilitiesArgs) -> ExitCode {
    let config = CapabilitiesConfig {
        codex_bin: args.codex_bin,
        scenarios_dir: args.scenarios_dir,
    };
    let doc = match suite::capabilities(&config).await {
        Ok(doc) => doc,
        Err(e) => return fail("capabilities", args.json, &e),
    };
    if args.json {
        print_stdout(&pretty(&serde_json::to_value(&doc).unwrap_or_default()));
    } else {
        print_stdout(&human(&doc));
    }
    ExitCode::SUCCESS
}

fn human(doc: &Capabilities) -> String {
    let mut out = format!(
        "cas {} with codex {} ({})\n",
        doc.cas.version,
        doc.codex.version,
        doc.codex.path.to_str().unwrap_or("?")
    );
    for (command, verdict) in doc.commands.iter() {
        out.push_str(&format!(
            "  {command:<16} {}\n",
            compat::verdict_name(verdict.verdict)
        ));
    }
    for s in &doc.scenarios {
        let state = if s.runnable {
            "runnable".to_owned()
        } else {
            format!(
                "missing {}",
                serde_json::to_string(&s.missing).unwrap_or_default()
            )
        };
        out.push_str(&format!("  scenario {:<28} {state}\n", s.name));
    }
    out.trim_end().to_owned()
}
