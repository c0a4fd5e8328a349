//! `cas list`: every scenario file, what it is, and whether it applies to the resolved codex.

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{fail, pretty, print_stdout};
use crate::errors::FailureCoded;
use crate::outcome::FailureCode;
use crate::scenario::suite::list::{list, ScenarioList};
use crate::scenario::suite::{self, SelectError};

/// Flags of `cas list`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// The folder of scenario files (default: the scenarios shipped inside cas).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// The codex to check applicability against (default: CAS_CODEX_BIN, the project install,
    /// then PATH; without one, applicability is `unknown`).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Print exactly one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub async fn run(args: ListArgs) -> ExitCode {
    let dir = args
        .scenarios_dir
        .clone()
        .unwrap_or_else(suite::default_scenarios_dir);
    let doc = match list(&dir, args.codex_bin.as_deref()).await {
        Ok(doc) => doc,
        Err(e) => return fail("list", args.json, &e),
    };
    if args.json {
        print_stdout(&pretty(&serde_json::to_value(&doc).unwrap_or_default()));
    } else {
        print_stdout(&human(&doc));
    }
    ExitCode::SUCCESS
}

fn human(doc: &ScenarioList) -> String {
    let mut out = match &doc.codex {
        Some(version) => format!("applicability on codex {version}\n"),
        None => "no codex found: applicability unknown\n".to_owned(),
    };
    for s in &doc.scenarios {
        out.push_str(&format!(
            "{:<48} {:<9} {:<10} {}\n",
            s.name,
            s.mode.unwrap_or("-"),
            s.area,
            s.targets.join(",")
        ));
        let mut facts = vec![format!("applicability: {}", s.applicability)];
        if !s.missing.is_empty() {
            facts.push(format!("missing: {}", s.missing.join(", ")));
        }
        if let Some(group) = &s.part_of {
            facts.push(format!("part of {group}"));
        }
        if let Some(of) = &s.twin_of {
            facts.push(format!("twin of {of}"));
        }
        if !s.twins.is_empty() {
            facts.push(format!("twins: {}", s.twins.join(", ")));
        }
        out.push_str(&format!("    {}\n    {}\n", s.summary, facts.join("; ")));
    }
    out.trim_end().to_owned()
}

impl FailureCoded for SelectError {
    fn failure_code(&self) -> FailureCode {
        FailureCode::UsageError
    }
}
