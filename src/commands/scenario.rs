//! `cas scenario validate PATH…`: load and check scenario files without running them.
//!
//! Each PATH is a file or a folder (every `*.toml` under it). One line per file: `ok PATH` or
//! `error PATH[:LINE]: why`; `--json` prints one document instead (with `failureCode`
//! `usage_error` when a file does not load). Exit 0 when every file loads, 2 when one does not
//! (or a PATH does not exist).

use clap::Subcommand;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::output::{pretty, print_stdout};
use crate::errors::{Chain, RuleError, ScenarioError};
use crate::outcome::FailureCode;
use crate::scenario;

/// `cas scenario …`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ScenarioCommand,
}

/// The scenario subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ScenarioCommand {
    /// Load and check scenario files (or every file under folders) without running them.
    Validate {
        /// Scenario files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Where twins' originals are looked up by name when not beside the twin (default:
        /// the folder given, or the file's own folder).
        #[arg(long)]
        scenarios_dir: Option<PathBuf>,
        /// Print exactly one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// One file's result.
struct Checked {
    path: PathBuf,
    error: Option<(Option<usize>, String)>,
}

/// Runs the command.
pub fn run(args: ScenarioArgs) -> ExitCode {
    let ScenarioCommand::Validate {
        paths,
        scenarios_dir,
        json,
    } = args.command;
    let mut results = Vec::new();
    for path in &paths {
        results.extend(validate_path(path, scenarios_dir.as_deref()));
    }
    let ok = results.iter().all(|r| r.error.is_none());
    if json {
        let files: Vec<Value> = results.iter().map(to_json).collect();
        let mut doc =
            json!({"schemaVersion": 1, "check": "scenario_validate", "ok": ok, "files": files});
        if !ok {
            let bad = results.iter().filter(|r| r.error.is_some()).count();
            doc["failureCode"] = json!(FailureCode::UsageError);
            doc["error"] = json!(format!("{bad} of {} files do not load", results.len()));
        }
        print_stdout(&pretty(&doc));
    } else {
        for r in &results {
            print_stdout(&human(r));
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// Checks one file, or every file under a folder.
fn validate_path(path: &Path, scenarios_dir: Option<&Path>) -> Vec<Checked> {
    if path.is_dir() {
        let dir = scenarios_dir.unwrap_or(path);
        return match scenario::discover(path) {
            Ok(files) => files.iter().map(|f| validate_file(dir, f)).collect(),
            Err(e) => vec![failed(path, None, Chain(&e).to_string())],
        };
    }
    if !path.is_file() {
        return vec![failed(path, None, "no such file or folder".into())];
    }
    let own = scenario::base_dir(path);
    vec![validate_file(scenarios_dir.unwrap_or(&own), path)]
}

fn validate_file(dir: &Path, path: &Path) -> Checked {
    match scenario::load(dir, path) {
        Ok(_) => Checked {
            path: path.to_owned(),
            error: None,
        },
        Err(e) => {
            let (file, line) = location(&e).unwrap_or((path.to_owned(), None));
            let message = match &e {
                ScenarioError::Invalid { source, .. } => Chain(source).to_string(),
                other => Chain(other).to_string(),
            };
            failed(&file, line, message)
        }
    }
}

fn failed(path: &Path, line: Option<usize>, message: String) -> Checked {
    Checked {
        path: path.to_owned(),
        error: Some((line, message)),
    }
}

/// The file and line an error points at, when it points at one.
fn location(error: &ScenarioError) -> Option<(PathBuf, Option<usize>)> {
    match error {
        ScenarioError::Parse { path, line, .. } => Some((path.clone(), *line)),
        ScenarioError::Invalid { path, source } => Some(match rule_location(source) {
            Some((file, line)) => (file, Some(line)),
            None => (path.clone(), None),
        }),
        ScenarioError::Read { path, .. } => Some((path.clone(), None)),
        ScenarioError::Unknown { .. } => None,
    }
}

fn rule_location(error: &RuleError) -> Option<(PathBuf, usize)> {
    match error {
        RuleError::Pattern { file, line, .. } | RuleError::UnknownVar { file, line, .. } => {
            Some((file.clone(), *line))
        }
        RuleError::Step { source, .. } | RuleError::Parallel { source, .. } => {
            rule_location(source)
        }
        _ => None,
    }
}

fn at(r: &Checked) -> String {
    match &r.error {
        Some((Some(line), _)) => format!("{}:{line}", r.path.display()),
        _ => r.path.display().to_string(),
    }
}

fn human(r: &Checked) -> String {
    match &r.error {
        None => format!("ok    {}", r.path.display()),
        Some((_, message)) if message.starts_with(&at(r)) => format!("error {message}"),
        Some((_, message)) => format!("error {}: {message}", at(r)),
    }
}

fn to_json(r: &Checked) -> Value {
    match &r.error {
        None => json!({"path": r.path.display().to_string(), "ok": true}),
        Some((line, message)) => json!({
            "path": r.path.display().to_string(),
            "ok": false,
            "line": line,
            "error": message,
        }),
    }
}
