//! Every scenario file on every target it lists, as libtest-mimic trials `{scenario}::{target}`.
//!
//! Each trial runs the scenario through the same library call as `cas conformance`, snapshots
//! the verdict into `snapshots/<scenario>@<target>.snap`, and fails when the status (or, for a
//! negative twin, the expected failure) differs. A scenario file that does not load is a failing
//! trial. Real-codex trials are ignored with the reason when no codex is found, and fail instead
//! when `CAS_REQUIRE_CODEX=1`; a real-codex trial of a scenario that relies on something the
//! codex under test lacks is ignored with `not_applicable: codex V lacks …`. libtest-mimic runs trials on `--test-threads` threads (default
//! here: 8, most trials wait rather than compute); at most [`codex_bound`] real-codex trials run
//! at once (`CAS_CODEX_TRIALS`, default the number of CPUs plus one), so a wide thread pool does not start a codex per thread on a small machine. After all
//! trials, a live child process of this test binary is a failure: no server may outlive its
//! trial.

mod support;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Condvar, LazyLock, Mutex, OnceLock};
use std::time::Duration;

use cas::scenario::format::ExpectStatus;
use cas::scenario::suite::{self, SuiteCodex};
use cas::scenario::{self, Scenario, TargetName};
use cas::target::TargetEnv;
use cas::verdict::{Status, Verdict};

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    // Most trials wait (timeouts, model delays, a twin's remaining steps), not compute: a wider
    // pool than the CPU count keeps the cores busy; codex trials stay under their own bound.
    args.test_threads = args.test_threads.or(Some(TEST_THREADS));
    let dir = support::root().join("scenarios");
    let env = support::target_env();
    let mut trials = vec![Trial::test(
        "harness::a_broken_scenario_file_is_a_failing_trial",
        broken_files_fail,
    )];
    let surface_env = env.clone();
    trials.push(support::codex_trial(
        "schema_surface::codex-stdio",
        move |bin| {
            let _slot = CodexSlot::take()?;
            schema_surface(bin, &surface_env).map(|()| Completion::Completed)
        },
    ));
    for Planned { name, run } in plan(&dir) {
        let env = env.clone();
        trials.push(match run {
            PlannedRun::LoadError(message) => {
                Trial::ignorable_test(name, move || Err(message.into()))
            }
            PlannedRun::Scenario(s, target) if target.is_codex() => {
                support::codex_trial(name, move |_codex| {
                    if let Some(reason) = not_applicable(&s, target, &env)? {
                        return Ok(Completion::ignored_with(reason));
                    }
                    let _slot = CodexSlot::take()?;
                    trial(&s, target, &env).map(|()| Completion::Completed)
                })
            }
            PlannedRun::Scenario(s, target) => Trial::ignorable_test(name, move || {
                trial(&s, target, &env).map(|()| Completion::Completed)
            }),
        });
    }
    let conclusion = libtest_mimic::run(&args, trials);
    let leftovers = support::live_children();
    if !leftovers.is_empty() {
        eprintln!("child processes outlived their trials: {leftovers:?}");
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}

/// The codex under test (surface and launch flags), probed once for every codex trial.
static SUITE_CODEX: OnceLock<Result<Option<SuiteCodex>, String>> = OnceLock::new();

/// Why `scenario` cannot run on the codex under test (what it lacks, as `cas conformance` says
/// `not_applicable`), or `None` when it can; the trial is then ignored with that reason.
fn not_applicable(
    scenario: &Scenario,
    target: TargetName,
    env: &TargetEnv,
) -> Result<Option<String>, Failed> {
    let codex = SUITE_CODEX.get_or_init(|| {
        current_runtime()?
            .block_on(suite::check_compatibility(env))
            .map_err(|e| format!("probing the codex under test: {e}"))
    });
    let codex = codex.as_ref().map_err(|e| Failed::from(e.clone()))?;
    Ok(codex
        .as_ref()
        .and_then(|c| suite::applicability(&c.surface, &c.flags, scenario, target))
        .map(|na| format!("not_applicable: {}", na.reason())))
}

/// Trials at once when `--test-threads` is not given.
const TEST_THREADS: usize = 8;

/// How many real-codex trials may run at once: `CAS_CODEX_TRIALS`, else the number of CPUs
/// plus one (a codex trial spends much of its time waiting).
fn codex_bound() -> usize {
    std::env::var("CAS_CODEX_TRIALS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from) + 1)
}

/// How long a real-codex trial may wait for a slot.
const SLOT_DEADLINE: Duration = Duration::from_secs(600);

/// Real-codex trials running now.
static CODEX_RUNNING: Mutex<usize> = Mutex::new(0);
/// Signalled when a real-codex trial ends.
static CODEX_FREED: Condvar = Condvar::new();

/// One of the [`codex_bound`] slots for a real-codex trial, given back on drop (a failing or
/// panicking trial too).
struct CodexSlot;

impl CodexSlot {
    /// Waits for a free slot, up to [`SLOT_DEADLINE`] (then the trial fails).
    fn take() -> Result<CodexSlot, Failed> {
        let bound = codex_bound();
        let deadline = std::time::Instant::now() + SLOT_DEADLINE;
        let mut running = CODEX_RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        while *running >= bound {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(format!("no real-codex slot free within {SLOT_DEADLINE:?}").into());
            }
            running = CODEX_FREED
                .wait_timeout(running, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *running += 1;
        Ok(CodexSlot)
    }
}

impl Drop for CodexSlot {
    fn drop(&mut self) {
        let mut running = CODEX_RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        *running = running.saturating_sub(1);
        CODEX_FREED.notify_one();
    }
}

/// One trial to make: a scenario on a target, or a file that did not load.
struct Planned {
    name: String,
    run: PlannedRun,
}

enum PlannedRun {
    LoadError(String),
    Scenario(Box<Scenario>, TargetName),
}

/// The trials for every scenario file under `dir`, sorted by name; zero files panics.
fn plan(dir: &Path) -> Vec<Planned> {
    let files = scenario::discover(dir).unwrap_or_else(|e| panic!("cannot list scenarios: {e}"));
    assert!(
        !files.is_empty(),
        "no scenario files under {}: we want to avoid silent fails",
        dir.display()
    );
    let mut planned = Vec::new();
    for path in &files {
        let name = scenario::name_of(dir, path);
        match scenario::load(dir, path) {
            Err(e) => planned.push(Planned {
                name: format!("{name}::load"),
                run: PlannedRun::LoadError(e.to_string()),
            }),
            Ok(s) => {
                for target in s.targets.clone() {
                    let run = PlannedRun::Scenario(Box::new(s.clone()), target);
                    planned.push(Planned {
                        name: format!("{name}::{target}"),
                        run,
                    });
                }
            }
        }
    }
    planned
}

/// The header line of the surface snapshot: where the version is, since the name has none.
const SURFACE_DESCRIPTION: &str =
    "protocol surface of the codex under test; its version is codexVersion";

/// A current-thread tokio runtime for one blocking probe.
fn current_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// The protocol surface of the codex under test, snapshotted under the stable name
/// `schema_surface@codex` with the version inside (`codexVersion`): moving to a new codex
/// proposes an edit of this one file, so review shows only the lines that changed.
fn schema_surface(bin: &Path, env: &TargetEnv) -> Result<(), Failed> {
    let runtime = current_runtime()?;
    let scratch = env.scratch_root.join("schema");
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let surface = runtime
        .block_on(cas::schema::surface_in(bin, &scratch))
        .map_err(|e| e.to_string())?;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(support::root().join("snapshots"));
    settings.set_snapshot_suffix("codex");
    settings.set_description(SURFACE_DESCRIPTION);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_json_snapshot!("schema_surface", surface));
    Ok(())
}

/// The plan for a folder with an unparsable file holds a failing `NAME::load` trial for it.
fn broken_files_fail() -> Result<(), Failed> {
    let dir = support::root().join("fixtures/broken-scenarios");
    let planned = plan(&dir);
    let broken = planned
        .iter()
        .find(|p| p.name == "not_toml::load")
        .ok_or("no not_toml::load trial planned")?;
    match &broken.run {
        PlannedRun::LoadError(message) if message.contains("does not parse") => Ok(()),
        PlannedRun::LoadError(message) => Err(format!("unexpected load error: {message}").into()),
        PlannedRun::Scenario(..) => Err("a broken file was planned as a runnable scenario".into()),
    }
}

fn trial(scenario: &Scenario, target: TargetName, env: &TargetEnv) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let limit = scenario.deadline + Duration::from_secs(30);
    let verdict = runtime
        .block_on(async { tokio::time::timeout(limit, scenario::run(scenario, target, env)).await })
        .map_err(|_| format!("the trial did not finish within {limit:?}"))?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    snapshot(scenario, target, &verdict);
    check(scenario, &verdict)
}

fn snapshot(scenario: &Scenario, target: TargetName, verdict: &Verdict) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(support::root().join("snapshots"));
    settings.set_snapshot_suffix(target.as_str());
    settings.set_input_file(&scenario.path);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_sort_maps(true);
    settings.add_dynamic_redaction(".failures[].message", redact_drain_count);
    settings.bind(|| insta::assert_json_snapshot!(scenario.name.clone(), verdict.to_json()));
}

/// Hides how many notifications a failed drain took: streamed deltas arrive in chunks that vary by run.
fn redact_drain_count(
    value: insta::internals::Content,
    _: insta::internals::ContentPath,
) -> String {
    static TAKEN: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\(took \d+ others\)").expect("a valid pattern"));
    let text = value.as_str().unwrap_or_default();
    TAKEN.replace_all(text, "(took [n] others)").into_owned()
}

/// Passes when the scenario accepts the verdict ([`Scenario::accepts`]); else says what it wanted.
fn check(scenario: &Scenario, verdict: &Verdict) -> Result<(), Failed> {
    if scenario.accepts(verdict) {
        return Ok(());
    }
    let what = match (
        scenario.expect_status,
        verdict.status,
        &scenario.expect_failure,
    ) {
        (ExpectStatus::Fail, Status::Fail, Some(want)) => format!(
            "expected failure {} in step {:?}, not found",
            want.code, want.step
        ),
        (want, got, _) => format!("expected status {want:?}, got {}", got.as_str()),
    };
    let mut text = format!(
        "{what}\nverdict: {}",
        serde_json::to_string_pretty(&verdict.to_json()).unwrap_or_default()
    );
    if let Some(d) = &verdict.diagnostics {
        text.push('\n');
        text.push_str(d);
    }
    Err(text.into())
}
