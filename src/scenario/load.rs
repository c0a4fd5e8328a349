//! Finding scenario files and turning one into a checked, ready-to-run [`Scenario`].
//!
//! Names are paths relative to the scenarios folder without `.toml`, sorted. Loading resolves a
//! negative twin's steps from the scenario it names and checks every rule of the format, so a
//! file that loads can run; a file that does not load is an error, never skipped.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::*;
use crate::errors::{RuleError, ScenarioError};
use crate::fake::script::FakeScript;
use crate::hooks::HookPolicy;
use crate::policy::PolicyConfig;

const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The name, e.g. `handshake` or `handshake_twin_never_answers`.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// The scenarios folder it was loaded from (names of twins resolve there).
    pub dir: PathBuf,
    /// What it proves.
    pub description: String,
    /// The targets it runs on.
    pub targets: Vec<TargetName>,
    /// The deadline of the whole run.
    pub deadline: Duration,
    /// The verdict status it must produce.
    pub expect_status: ExpectStatus,
    /// The failure it must produce, when it must fail.
    pub expect_failure: Option<ExpectedFailure>,
    /// The fake server's script.
    pub fake: FakeScript,
    /// The server-request policy, when the scenario answers by policy.
    pub policy: Option<PolicyConfig>,
    /// The hook policy.
    pub hook_policy: HookPolicy,
    /// A hooks.json to install and trust on codex targets, with its folder.
    pub hooks_config: Option<(String, PathBuf)>,
    /// The steps.
    pub steps: Vec<Step>,
    /// For a negative twin: the scenario whose steps it reuses.
    pub twin_of: Option<String>,
    /// The kind of proof it gives.
    pub mode: Mode,
    /// The name it is reported under (`part_of`, else its own name).
    pub report_name: String,
    /// Named strings for `${NAME}` (the twin's values over the original's).
    pub vars: BTreeMap<String, String>,
    /// What the file's `requires` names beyond its steps.
    pub requires: Vec<String>,
    /// The mock model's scripted answers (codex targets).
    pub model: ModelScript,
    /// What the scenario adds to its server (codex targets).
    pub extras: ServerExtras,
}

impl Scenario {
    /// The methods the scenario sends and expects a result from (what a server must have).
    pub fn methods_expecting_results(&self) -> Vec<&str> {
        let mut methods = Vec::new();
        collect_result_methods(&self.steps, &mut methods);
        methods.sort_unstable();
        methods.dedup();
        methods
    }

    /// What a target needs of this scenario to start a server for it.
    pub fn server(&self) -> crate::target::ScenarioServer<'_> {
        crate::target::ScenarioServer {
            path: &self.path,
            dir: &self.dir,
            fake: &self.fake,
            hook_policy: self.hook_policy,
            hooks_config: self.hooks_config.as_ref(),
            model: &self.model,
            extras: &self.extras,
        }
    }

    /// Whether `verdict` is the one the scenario expects: a pass, or for a scenario that must
    /// fail, a failure with the expected code (in the expected step, when one is named).
    pub fn accepts(&self, verdict: &crate::verdict::Verdict) -> bool {
        use crate::verdict::Status;
        match (self.expect_status, verdict.status) {
            (ExpectStatus::Pass, Status::Pass) => true,
            (ExpectStatus::Fail, Status::Fail) => self.expect_failure.as_ref().is_none_or(|want| {
                verdict.failures.iter().any(|f| {
                    f.code == want.code
                        && want
                            .step
                            .as_ref()
                            .is_none_or(|s| f.step.as_ref() == Some(s))
                })
            }),
            _ => false,
        }
    }

    /// The folder the scenario's relative paths resolve from: its file's own.
    pub fn base_dir(&self) -> PathBuf {
        base_dir(&self.path)
    }

    /// Whether the top-level steps talk to a server (else none is started for them).
    pub fn needs_server(&self) -> bool {
        self.steps.iter().any(|s| s.kind.is_protocol())
    }

    /// Whether a step uses the claim ledger (then the run gets a scratch workspace).
    pub fn uses_ledger(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Ledger { .. } | StepKind::LedgerShow(_)))
    }
}

fn collect_result_methods<'a>(steps: &'a [Step], out: &mut Vec<&'a str>) {
    for step in steps {
        match &step.kind {
            StepKind::Request(r)
                if r.expect_error.is_none() && r.expect_error_message_contains.is_none() =>
            {
                out.push(r.method.as_str())
            }
            StepKind::Burst(b) => out.push(b.method.as_str()),
            StepKind::Parallel { steps, .. } => collect_result_methods(steps, out),
            _ => {}
        }
    }
}

/// One checked step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name in reports.
    pub name: String,
    /// How long it may wait.
    pub timeout: Duration,
    /// What it does.
    pub kind: StepKind,
    /// The named client connection it runs on (`None`: the default one).
    pub connection: Option<String>,
    /// The step whose taken message must have arrived after this step's.
    pub before: Option<String>,
}

/// The kinds of step.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Send a request and check the answer.
    Request(RequestStep),
    /// Send a notification.
    Notify(NotifyStep),
    /// Wait for a notification.
    AwaitNotification(AwaitNotificationStep),
    /// Wait for a server request and answer it.
    AwaitRequest(AwaitRequestStep),
    /// Listen for a window; nothing (matching) may arrive.
    ExpectSilence {
        /// How long to listen.
        window: Duration,
        /// Only this method counts, if given.
        method: Option<String>,
    },
    /// One claim-ledger operation (checked to parse as one), and the refusal it must meet.
    Ledger {
        /// The operation as written (`${NAME}` resolved when it runs).
        op: Value,
        /// The st error it must be refused with, if it must be refused.
        expect_error: Option<String>,
    },
    /// Read the ledger and check items.
    LedgerShow(LedgerShowStep),
    /// Fresh instances of the target, one per entry, running protocol steps at once.
    Parallel {
        /// One branch per entry.
        for_each: Vec<String>,
        /// The steps of each branch.
        steps: Vec<Step>,
    },
    /// Many pipelined requests, each accounted for.
    Burst(BurstStep),
    /// Check a request codex sent to the mock model.
    ExpectModelRequest(ExpectModelRequestStep),
    /// Write a file under the workspace.
    WriteFile(WriteFileStep),
    /// Check a file under the workspace.
    ExpectFile(ExpectFileStep),
    /// Run a command in the workspace.
    Run(RunStep),
    /// Open the step's connection with credentials, or expect it refused.
    Connect(ConnectStep),
    /// Close the step's connection.
    CloseConnection,
    /// Wait this long.
    Sleep(Duration),
    /// Take every notification of a method until one matches or the window ends.
    Drain {
        /// What to take and count.
        spec: DrainStep,
        /// How long at most.
        window: Duration,
    },
    /// A notification that must not arrive for the rest of the scenario.
    ExpectNever(NeverStep),
    /// Wait for and check the answer to a request sent with `wait = false`.
    AwaitResponse(AwaitResponseStep),
    /// Answer every server request of a method from now on, counting them.
    AnswerAll(AnswerAllStep),
}

impl StepKind {
    /// The kind's snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StepKind::Request(_) => "request",
            StepKind::Notify(_) => "notify",
            StepKind::AwaitNotification(_) => "await_notification",
            StepKind::AwaitRequest(_) => "await_request",
            StepKind::ExpectSilence { .. } => "expect_silence",
            StepKind::Ledger { .. } => "ledger",
            StepKind::LedgerShow(_) => "ledger_show",
            StepKind::Parallel { .. } => "parallel",
            StepKind::Burst(_) => "burst",
            StepKind::ExpectModelRequest(_) => "expect_model_request",
            StepKind::WriteFile(_) => "write_file",
            StepKind::ExpectFile(_) => "expect_file",
            StepKind::Run(_) => "run",
            other => flow::kind_name(other),
        }
    }

    /// Whether the step talks to the scenario's server.
    pub fn is_protocol(&self) -> bool {
        !matches!(
            self,
            StepKind::Ledger { .. }
                | StepKind::LedgerShow(_)
                | StepKind::Parallel { .. }
                | StepKind::WriteFile(_)
                | StepKind::ExpectFile(_)
                | StepKind::Run(_)
                | StepKind::Sleep(_)
        )
    }

    /// The method the step is about, if any.
    pub fn method(&self) -> Option<&str> {
        match self {
            StepKind::Request(r) => Some(&r.method),
            StepKind::Notify(n) => Some(&n.method),
            StepKind::AwaitNotification(a) => Some(&a.method),
            StepKind::AwaitRequest(a) => Some(&a.method),
            StepKind::ExpectSilence { method, .. } => method.as_deref(),
            StepKind::Ledger { op, .. } => op.get("op").and_then(Value::as_str),
            StepKind::Burst(b) => Some(&b.method),
            StepKind::LedgerShow(_)
            | StepKind::Parallel { .. }
            | StepKind::ExpectModelRequest(_)
            | StepKind::WriteFile(_)
            | StepKind::ExpectFile(_)
            | StepKind::Run(_) => None,
            other => flow::kind_method(other),
        }
    }
}

/// Every `*.toml` under `dir` (recursively), sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut found = Vec::new();
    walk(dir, &mut found).map_err(|source| ScenarioError::Read {
        path: dir.to_owned(),
        source,
    })?;
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
    Ok(())
}

/// The scenario name of a file under `dir`.
pub fn name_of(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    rel.with_extension("").to_string_lossy().into_owned()
}

/// Finds a scenario by name without scanning (`dir/NAME.toml`), listing known names if absent.
pub fn find(dir: &Path, name: &str) -> Result<PathBuf, ScenarioError> {
    let path = dir.join(format!("{name}.toml"));
    if path.is_file() {
        return Ok(path);
    }
    let known: Vec<String> = discover(dir)?.iter().map(|p| name_of(dir, p)).collect();
    Err(ScenarioError::Unknown {
        name: name.to_owned(),
        dir: dir.to_owned(),
        known: known.join(", "),
    })
}

/// The file a twin's `negative_twin_of` names: beside the twin first (by the name's last
/// part), else under `dir`.
fn find_original(dir: &Path, twin: &Path, name: &str) -> Result<PathBuf, ScenarioError> {
    let file_name = name.rsplit('/').next().unwrap_or(name);
    let beside = base_dir(twin).join(format!("{file_name}.toml"));
    if beside.is_file() {
        return Ok(beside);
    }
    find(dir, name)
}

/// Loads and checks the scenario at `path` (a file under `dir`, or anywhere: its relative
/// paths resolve from its own folder).
pub fn load(dir: &Path, path: &Path) -> Result<Scenario, ScenarioError> {
    let (file, text) = read_file(path)?;
    let invalid = |source: RuleError| ScenarioError::Invalid {
        path: path.to_owned(),
        source,
    };
    let mut hooks_base = base_dir(path);
    let resolved = match &file.negative_twin_of {
        Some(original) => {
            Resolved::no_own_steps(&file).map_err(invalid)?;
            let original_path = find_original(dir, path, original)?;
            let (original_file, original_text) = read_file(&original_path)?;
            let known = lint_file(&original_path, &original_text, &BTreeSet::new())?;
            lint_file(path, &text, &known)?;
            if file.hooks.is_none() {
                hooks_base = base_dir(&original_path);
            }
            Resolved::twin(&file, original, original_file).map_err(invalid)?
        }
        None => {
            lint_file(path, &text, &BTreeSet::new())?;
            Resolved::plain(&file).map_err(invalid)?
        }
    };
    checked(dir, path, &hooks_base, file, resolved).map_err(invalid)
}

/// Checks the resolved steps, durations, targets and expectations and builds the scenario.
fn checked(
    dir: &Path,
    path: &Path,
    hooks_base: &Path,
    file: ScenarioFile,
    r: Resolved,
) -> Result<Scenario, RuleError> {
    let step_timeout = parse_duration(
        "step_timeout",
        r.step_timeout.as_deref(),
        DEFAULT_STEP_TIMEOUT,
    )?;
    let deadline = parse_duration("deadline", file.deadline.as_deref(), DEFAULT_DEADLINE)?;
    if r.steps.is_empty() {
        return Err(RuleError::broken(
            "a scenario needs at least one [[steps]] entry",
        ));
    }
    let steps = r
        .steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| check::step(i, s, step_timeout, false))
        .collect::<Result<Vec<_>, _>>()?;
    let targets = file.targets.clone().unwrap_or_else(|| {
        let original = r.original_targets.clone();
        default_targets(&steps, file.negative_twin_of.is_some(), original)
    });
    let hooks_config = hooks_config(hooks_base, r.hooks.as_ref())?;
    check_expectations(&file, &targets, r.original_targets.as_deref())?;
    check::targets_fit_steps(&targets, &steps)?;
    world::codex_only(&targets, &r.model, &r.extras, &steps)?;
    Ok(Scenario {
        report_name: r.part_of.unwrap_or_else(|| name_of(dir, path)),
        name: name_of(dir, path),
        path: path.to_owned(),
        dir: dir.to_owned(),
        description: file.description,
        targets,
        deadline,
        expect_status: file.expect_status,
        expect_failure: file.expect_failure,
        fake: r.fake,
        policy: r.policy,
        hook_policy: r.hooks.as_ref().map(|h| h.policy).unwrap_or_default(),
        hooks_config,
        steps,
        twin_of: file.negative_twin_of,
        mode: r.mode,
        vars: r.vars,
        requires: file.requires,
        model: r.model,
        extras: r.extras,
    })
}

/// The targets of a scenario that names none: `local` when no step needs a server; else all
/// four, and for a twin the fake ones among its original's.
fn default_targets(
    steps: &[Step],
    is_twin: bool,
    original_targets: Option<Vec<TargetName>>,
) -> Vec<TargetName> {
    let needs_server = steps
        .iter()
        .any(|s| s.kind.is_protocol() || matches!(s.kind, StepKind::Parallel { .. }));
    if !needs_server {
        return vec![TargetName::Local];
    }
    if !is_twin {
        return TargetName::ALL.to_vec();
    }
    let fakes = [TargetName::FakeStdio, TargetName::FakeWs];
    match original_targets {
        Some(t) if t.iter().any(|t| fakes.contains(t)) => {
            t.into_iter().filter(|t| fakes.contains(t)).collect()
        }
        _ => fakes.to_vec(),
    }
}

fn check_expectations(
    file: &ScenarioFile,
    targets: &[TargetName],
    original_targets: Option<&[TargetName]>,
) -> Result<(), RuleError> {
    if targets.is_empty() {
        return Err(RuleError::broken("targets is empty"));
    }
    match (file.expect_status, &file.expect_failure) {
        (ExpectStatus::Fail, None) => {
            return Err(RuleError::broken(
                "expect_status = \"fail\" needs expect_failure = { code = … }",
            ))
        }
        (ExpectStatus::Pass, Some(_)) => {
            return Err(RuleError::broken(
                "expect_failure is only for expect_status = \"fail\"",
            ))
        }
        _ => {}
    }
    if file.negative_twin_of.is_some() {
        if file.expect_status != ExpectStatus::Fail {
            return Err(RuleError::broken(
                "a negative twin must have expect_status = \"fail\"",
            ));
        }
        // A twin of a codex-only scenario (model and world constructs) that lists codex
        // targets breaks a rule with its own vars, script or server table there: the fakes
        // have no model to break it with.
        let codex_original = original_targets.is_some_and(world::is_codex_only);
        if let Some(t) = targets.iter().find(|t| t.is_codex() && !codex_original) {
            return Err(RuleError::Broken(format!(
                "a negative twin breaks a rule with the fake script; it cannot run on {t}"
            )));
        }
    }
    Ok(())
}

mod check;
mod files;
mod flow;
mod lint;
mod twin;
mod world;
pub use check::schedule_of;
pub use files::base_dir;
use files::{hooks_config, lint_file, read_file};
pub use lint::{BUILTIN_VARS, EXPECTATIONS};
use twin::Resolved;

#[cfg(test)]
mod tests;
