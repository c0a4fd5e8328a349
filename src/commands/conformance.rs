//! `cas conformance`: the suite — a smoke preflight, then every selected scenario, one report.
//!
//! The work is [`crate::scenario::suite`]; this module turns the flags into a
//! [`SuiteConfig`] and prints. Exit 0 when the preflight passed or was skipped and every
//! scenario is ok; 1 when one is not; 2 when cas could not run (unknown scenario or target, bad
//! flags, a codex lacking what a scenario relies on, or every scenario ending in status error),
//! with the reason on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{fail, mark_refusal, pretty, print_stdout};
use crate::errors::{Chain, FailureCoded, UsageError};
use crate::hooks::HookPolicy;
use crate::outcome::FailureCode;
use crate::scenario::suite::{self, SuiteConfig, SuiteError};

/// Flags of `cas conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// A scenario name (snake or kebab case) or a scenario file; repeatable. Default: every
    /// scenario that is not a negative twin and has a way to run on the target.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// fake-stdio, fake-ws, codex-stdio or codex-ws (codex targets are always hermetic).
    #[arg(long, default_value = "codex-ws")]
    pub target: String,
    /// The workspace the smoke preflight starts its thread in (default: the current folder).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Print exactly one JSON document (the suite report) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as JUnit XML to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// The folder of scenario files (default: the scenarios shipped inside cas).
    #[arg(long)]
    pub scenarios_dir: Option<PathBuf>,
    /// Do not run the smoke preflight.
    #[arg(long)]
    pub skip_smoke_check: bool,
    /// Keep every scenario's workspace, passing ones too (failing ones are always kept).
    #[arg(long)]
    pub keep_temp: bool,
    /// Drive this `st` binary for the claim-ledger steps instead of cas's own ledger.
    #[arg(long)]
    pub st_binary: Option<PathBuf>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Override the scenarios' hook policy (also passed to the smoke preflight).
    #[arg(long, value_enum)]
    pub hooks: Option<HookPolicy>,
    /// Fail the suite when a scenario is not applicable to this codex (default: not run, not failed).
    #[arg(long)]
    pub require_all: bool,
    /// Keep every scenario's transcript in this existing folder, as
    /// `<scenario>@<target>.ndjson` (a failing scenario always keeps its own in its workspace).
    #[arg(long)]
    pub transcript_dir: Option<PathBuf>,
}

impl ConformanceArgs {
    /// The suite these flags ask for.
    fn config(&self) -> SuiteConfig {
        SuiteConfig {
            scenarios: self.scenarios.clone(),
            target: self.target.clone(),
            cwd: self.cwd.clone(),
            scenarios_dir: self.scenarios_dir.clone(),
            skip_smoke_check: self.skip_smoke_check,
            keep_temp: self.keep_temp,
            st_binary: self.st_binary.clone(),
            codex_bin: self.codex_bin.clone(),
            hooks: self.hooks,
            require_all: self.require_all,
            transcript_dir: self.transcript_dir.clone(),
        }
    }
}

/// Runs the command.
pub async fn run(args: ConformanceArgs) -> ExitCode {
    let config = args.config();
    let prepared = match suite::prepare(&config).await {
        Ok(prepared) => prepared,
        Err(e) => return refuse(&e, args.json),
    };
    let report = suite::run(&config, prepared, |result| {
        if let Some(d) = &result.diagnostics {
            eprintln!("{}: {d}", result.scenario);
        }
    })
    .await;
    if let Some(path) = &args.junit {
        if let Err(source) = report.write_junit(path) {
            let error = UsageError::FlagPath {
                flag: "--junit",
                path: path.clone(),
                source,
            };
            return fail("conformance", args.json, &error);
        }
    }
    if args.json {
        print_stdout(&pretty(&report.to_json()));
    } else {
        print_stdout(&report.human());
    }
    match (report.ok(), report.all_error()) {
        (true, _) => ExitCode::SUCCESS,
        (false, true) => ExitCode::from(2),
        (false, false) => ExitCode::from(1),
    }
}

/// Says why the suite could not run (an incompatible codex as its refusal document); exit 2.
fn refuse(error: &SuiteError, json: bool) -> ExitCode {
    let SuiteError::Incompatible(refusal) = error else {
        return fail("conformance", json, error);
    };
    let message = Chain(error).to_string();
    if json {
        let mut doc = refusal.to_json();
        mark_refusal(&mut doc, &message);
        print_stdout(&pretty(&doc));
    }
    eprintln!("cas: {message}");
    ExitCode::from(2)
}

impl FailureCoded for SuiteError {
    fn failure_code(&self) -> FailureCode {
        match self {
            SuiteError::UnknownTarget(_)
            | SuiteError::Select(_)
            | SuiteError::NoStBinary(_)
            | SuiteError::NoTranscriptDir(_) => FailureCode::UsageError,
            SuiteError::Unpack(_) | SuiteError::CasExecutable(_) => FailureCode::SetupFailed,
            SuiteError::Surface { source, .. } => source.failure_code(),
            SuiteError::Incompatible(refusal) => refusal
                .compatibility
                .failure_code
                .unwrap_or(FailureCode::IncompatibleCodex),
        }
    }
}
