//! `cas capabilities`: what cas and the resolved codex can do together.
//!
//! cas's version, the codex it resolved, the compatibility verdict of each command, and which
//! scenarios can run on that codex (every method a scenario expects a result from exists).

use serde_json::{json, Map, Value};
use std::process::ExitCode;

use super::output::{pretty, print_stdout};
use crate::launch::{self, CodexLocator};
use crate::scenario;
use crate::schema::compat::{self, Requirements};
use crate::schema::Surface;
use std::path::PathBuf;

/// Flags of `cas capabilities`.
#[derive(Debug, Clone, clap::Args)]
pub struct CapabilitiesArgs {
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// The folder of scenario files (default: ./scenarios, else the one cas was built with).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// Print exactly one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub async fn run(args: CapabilitiesArgs) -> ExitCode {
    let bin = match CodexLocator::from_env(args.codex_bin.clone()).resolve() {
        Ok(bin) => bin,
        Err(e) => return fail(&e.to_string()),
    };
    let scratch = crate::launch::paths::homes_dir().join("schema");
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        return fail(&format!("{}: {e}", scratch.display()));
    }
    let version = match launch::codex_version(&bin, &scratch).await {
        Ok(v) => v,
        Err(e) => return fail(&e.to_string()),
    };
    let surface =
        match compat::surface_for(&bin, &version, &compat::default_cache_dir(), &scratch).await {
            Ok(s) => s,
            Err(e) => return fail(&e.to_string()),
        };
    let mut commands = Map::new();
    for (command, method) in [
        ("smoke_check", None),
        ("request", Some("thread/list")),
        ("instance_runner", Some("thread/list")),
        ("conformance", None),
    ] {
        let verdict = compat::check(&surface, &Requirements::of(command, method));
        commands.insert(
            command.into(),
            serde_json::to_value(verdict).unwrap_or_default(),
        );
    }
    let dir = args
        .scenarios_dir
        .clone()
        .unwrap_or_else(super::conformance::default_scenarios_dir);
    let doc = json!({
        "schemaVersion": 1,
        "check": "capabilities",
        "cas": {"version": env!("CARGO_PKG_VERSION")},
        "codex": {"path": bin, "version": version},
        "commands": commands,
        "scenarios": scenarios(&dir, &surface),
    });
    if args.json {
        print_stdout(&pretty(&doc));
    } else {
        print_stdout(&human(&doc));
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("cas: {message}");
    ExitCode::from(2)
}

/// Each scenario with codex targets: runnable when every method it expects a result from exists.
fn scenarios(dir: &std::path::Path, surface: &Surface) -> Vec<Value> {
    let files = scenario::discover(dir).unwrap_or_default();
    let mut out = Vec::new();
    for path in files {
        let Ok(s) = scenario::load(dir, &path) else {
            continue;
        };
        let codex_targets: Vec<&str> = s
            .targets
            .iter()
            .filter(|t| t.is_codex())
            .map(|t| t.as_str())
            .collect();
        if codex_targets.is_empty() {
            continue;
        }
        let missing: Vec<&str> = s
            .methods_expecting_results()
            .into_iter()
            .filter(|m| surface.client_request(m).is_none())
            .collect();
        out.push(json!({"name": s.name, "targets": codex_targets, "runnable": missing.is_empty(), "missing": missing}));
    }
    out
}

fn human(doc: &Value) -> String {
    let mut out = format!(
        "cas {} with codex {} ({})\n",
        doc["cas"]["version"].as_str().unwrap_or("?"),
        doc["codex"]["version"].as_str().unwrap_or("?"),
        doc["codex"]["path"].as_str().unwrap_or("?")
    );
    for (command, verdict) in doc["commands"].as_object().into_iter().flatten() {
        out.push_str(&format!(
            "  {command:<16} {}\n",
            verdict["compatibilityVerdict"].as_str().unwrap_or("?")
        ));
    }
    for s in doc["scenarios"].as_array().into_iter().flatten() {
        let state = if s["runnable"] == true {
            "runnable".to_owned()
        } else {
            format!("missing {}", s["missing"])
        };
        out.push_str(&format!(
            "  scenario {:<28} {state}\n",
            s["name"].as_str().unwrap_or("?")
        ));
    }
    out.trim_end().to_owned()
}
