//! `cas conformance`: the suite — a smoke preflight, then every selected scenario, one report.
//!
//! The work is [`crate::scenario::suite`]; this module turns the flags into a [`SuiteConfig`]
//! and prints: a live line per scenario as it ends (nextest-like) and a summary, or with
//! `--json` exactly one JSON document. Exit 0 when the preflight passed or was skipped and every
//! scenario is ok; 1 when one is not; 2 when cas could not run (unknown scenario or target, bad
//! flags, a codex lacking what a scenario relies on, or every scenario ending in status error),
//! with the reason on stderr.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::output::{fail, mark_refusal, pretty, print_stdout};
use crate::errors::{Chain, FailureCoded, UsageError};
use crate::hooks::HookPolicy;
use crate::outcome::FailureCode;
use crate::progress::Ticker;
use crate::scenario::suite::live::{self, ColorChoice, Painter, Verbosity};
use crate::scenario::suite::{self, summary, SuiteConfig, SuiteError};

/// Flags of `cas conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// A scenario name (snake or kebab case), a glob over names (`threads/*`) or a scenario
    /// file; repeatable. Default: every scenario that is not a negative twin and has a way to
    /// run on the target.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// A scenario name or glob not to run; repeatable.
    #[arg(long)]
    pub exclude: Vec<String>,
    /// fake-stdio, fake-ws, codex-stdio or codex-ws (codex targets are always hermetic). Each
    /// scenario runs on this target when it lists it, else on the one it has a way to run on
    /// (each line names the target that ran).
    #[arg(long, default_value = "codex-ws")]
    pub target: String,
    /// How many scenarios run at once (default: the number of CPUs).
    #[arg(long, short = 'j', value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub jobs: Option<usize>,
    /// Start no scenario after the first one that is not ok.
    #[arg(long)]
    pub fail_fast: bool,
    /// Override a scenario var: `--var NAME=VALUE` (repeatable; the name must be one a
    /// selected scenario has).
    #[arg(long = "var", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// The workspace the smoke preflight starts its thread in (default: the current folder).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Print exactly one JSON document (the suite report) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as JUnit XML to this file (its folder must exist).
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
    /// Colour the live lines: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Also show what each passing scenario proved.
    #[arg(long, short = 'v', conflicts_with = "quiet")]
    pub verbose: bool,
    /// Show only failures and the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Fail the suite when a scenario is not applicable to this codex (default: not run, not failed).
    #[arg(long)]
    pub require_all: bool,
    /// Keep every scenario's transcript in this existing folder, as
    /// `<scenario>@<target>.ndjson` (a failing scenario always keeps its own in its workspace).
    #[arg(long)]
    pub transcript_dir: Option<PathBuf>,
    /// How long the whole smoke preflight may take, in milliseconds (default 120000).
    #[arg(long, conflicts_with = "skip_smoke_check", value_parser = clap::value_parser!(u64).range(1..))]
    pub preflight_timeout_ms: Option<u64>,
    /// The smoke preflight's deadline per request, in milliseconds (smoke_check's default: 30000).
    #[arg(long, conflicts_with = "skip_smoke_check", value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: Option<u64>,
}

/// Parses `NAME=VALUE`.
fn parse_var(text: &str) -> Result<(String, String), VarError> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(VarError(text.to_owned())),
    }
}

/// A `--var` that is not `NAME=VALUE`.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not NAME=VALUE")]
pub struct VarError(String);

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
            preflight_timeout: self
                .preflight_timeout_ms
                .map(std::time::Duration::from_millis),
            request_timeout_ms: self.request_timeout_ms,
            exclude: self.exclude.clone(),
            jobs: self.jobs.unwrap_or_else(default_jobs),
            fail_fast: self.fail_fast,
            vars: self.vars.clone(),
        }
    }

    fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }
}

/// The number of CPUs (1 when it cannot be read).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs the command.
pub async fn run(args: ConformanceArgs, finished: super::interrupted::Finished) -> ExitCode {
    if let Some(path) = &args.junit {
        if let Err(error) = junit_folder(path) {
            return fail("conformance", args.json, &error);
        }
    }
    let config = args.config();
    let prepared = match suite::prepare(&config).await {
        Ok(prepared) => prepared,
        Err(e) => return refuse(&e, args.json),
    };
    let paint = Painter::new(args.color, std::io::stdout().is_terminal());
    let total = prepared.selection.selected.len() + prepared.selection.broken.len();
    let ticker = Ticker::counter(total as u64, "conformance", !args.json);
    let verbosity = args.verbosity();
    if !args.json {
        let header = format!(
            "{}\nrunning {total} scenarios, {} at once",
            summary::header_of(&prepared),
            config.jobs.max(1)
        );
        ticker.println(&header);
    }
    let report = suite::run(&config, prepared, |result| {
        ticker.tick(&format!("{}::{}", result.scenario, result.target));
        finished.push(serde_json::to_value(result).unwrap_or_default());
        if args.json {
            if let Some(d) = &result.diagnostics {
                eprintln!("{}: {d}", result.scenario);
            }
        } else if let Some(text) = live::render(result, verbosity, paint) {
            ticker.println(&text);
        }
    })
    .await;
    ticker.finish();
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
        print_stdout(&summary::render(&report, paint));
    }
    match (report.ok(), report.all_error()) {
        (true, _) => ExitCode::SUCCESS,
        (false, true) => ExitCode::from(2),
        (false, false) => ExitCode::from(1),
    }
}

/// `--junit PATH` must name a file in a folder that exists: cas does not make folders for it.
fn junit_folder(path: &Path) -> Result<(), UsageError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    match parent {
        Some(parent) if !parent.is_dir() => Err(UsageError::FlagPath {
            flag: "--junit",
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "its folder {} does not exist (cas does not create it; make it first)",
                    parent.display()
                ),
            ),
        }),
        _ => Ok(()),
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
            | SuiteError::UnknownVar(_)
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
