//! `cas conformance` as a suite: shipped scenarios outside the repo, selection by name and group,
//! the smoke preflight, workspaces, JUnit XML, and an external `st` driven through its CLI.
//!
//! The real-codex trial is ignored with a reason when codex is missing, and fails instead under
//! `CAS_REQUIRE_CODEX=1`.

mod support;

#[path = "conformance_suite/live.rs"]
mod live;

use libtest_mimic::{Arguments, Trial};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use support::{cas, done, expect, expect_fields, JsonRun, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        support::codex_trial(
            "the_default_suite_passes_on_the_installed_codex_from_outside_the_repo",
            default_suite_on_codex,
        ),
        Trial::ignorable_test(
            "kebab_names_and_groups_select_what_runs_on_the_target",
            names_and_groups,
        ),
        Trial::ignorable_test("keep_temp_keeps_a_passing_workspace", keep_temp),
        Trial::ignorable_test(
            "an_st_binary_runs_the_claim_scenarios_through_its_cli",
            st_binary,
        ),
        Trial::ignorable_test("a_broken_st_binary_fails_the_claim_scenarios", broken_st),
        Trial::ignorable_test(
            "live_lines_name_each_scenario_and_target_and_a_summary_counts_them",
            live::live_lines,
        ),
        Trial::ignorable_test(
            "a_failure_shows_a_diff_and_a_broken_file_is_its_own_error",
            live::failures_and_broken_files,
        ),
        Trial::ignorable_test(
            "globs_exclude_var_and_fail_fast_select_what_runs",
            live::selection,
        ),
        Trial::ignorable_test(
            "parallel_runs_report_the_same_verdicts_in_the_same_order",
            live::parallel_is_deterministic,
        ),
        Trial::ignorable_test(
            "junit_into_a_missing_folder_is_refused",
            live::junit_missing_folder,
        ),
        Trial::ignorable_test("list_names_area_mode_twins_and_applicability", live::list),
        Trial::ignorable_test(
            "capabilities_refuses_a_missing_scenarios_dir",
            live::capabilities_missing_folder,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Runs `cas conformance` in `cwd` with workspaces under `tmp`; returns exit code and JSON.
fn suite(cwd: &Path, tmp: &Path, args: &[&str]) -> Result<(i32, Value), libtest_mimic::Failed> {
    let mut cmd = cas();
    cmd.arg("conformance")
        .args(args)
        .current_dir(cwd)
        .env("TMPDIR", tmp);
    JsonRun::of(&mut cmd).map(JsonRun::pair)
}

/// The report's scenario entries.
fn entries(report: &Value) -> impl Iterator<Item = &Value> {
    report["scenarios"].as_array().into_iter().flatten()
}

/// The report's entries of the scenario `name`.
fn named<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    entries(report).filter(|s| s["name"] == name).collect()
}

fn default_suite_on_codex(_codex: &Path) -> Outcome {
    let outside = scratch("suite-outside");
    let tmp = scratch("suite-tmp");
    // cas does not make the report's folder (a missing one is refused).
    std::fs::create_dir_all(outside.join("reports")).map_err(|e| e.to_string())?;
    let junit = outside.join("reports/conformance.xml");
    let (code, report) = suite(
        &outside,
        &tmp,
        &["--json", "--junit", junit.to_str().unwrap_or_default()],
    )?;
    expect_fields(
        "the suite passes, after a passing preflight on codex-ws",
        Some(code),
        &report,
        json!({"exit": 0, "ok": true, "smokePreflight/status": "pass", "target": "codex-ws"}),
    )?;
    for name in ["handshake", "claim_safe_wave", "stale_claim_reclaim"] {
        let oks: Vec<&Value> = named(&report, name).iter().map(|s| &s["ok"]).collect();
        support::same(
            &format!("{name} listed once and ok"),
            &oks,
            &vec![&json!(true)],
            &report,
        )?;
    }
    let overload = named(&report, "overload_backoff");
    let modes: Vec<&str> = overload.iter().filter_map(|s| s["mode"].as_str()).collect();
    let got = (
        modes.contains(&"synthetic"),
        modes.contains(&"live"),
        overload.iter().all(|s| s["ok"] == true),
    );
    support::same(
        "overload_backoff proven in both modes (synthetic, live, all ok)",
        &got,
        &(true, true, true),
        &report,
    )?;
    let live = overload.iter().find(|s| s["mode"] == "live");
    support::same(
        "the live proof ran on codex-ws",
        &live.map(|s| &s["target"]),
        &Some(&json!("codex-ws")),
        &report,
    )?;
    let leftovers: Vec<_> = std::fs::read_dir(tmp.join("cas-conformance"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    expect(
        leftovers.is_empty(),
        &format!("passing workspaces were removed, found {leftovers:?}"),
        &report,
    )?;
    let xml = std::fs::read_to_string(&junit).map_err(|e| format!("junit: {e}"))?;
    let total = report["scenarios"].as_array().map_or(0, Vec::len) + 1;
    let got = json!({
        "testcases": xml.matches("<testcase ").count(),
        "failures": xml.contains("<failure"),
        "claimSafeWaveLocal": xml.contains("name=\"claim_safe_wave [local]\""),
    });
    let want = json!({"testcases": total, "failures": false, "claimSafeWaveLocal": true});
    support::same(
        &format!("JUnit XML has {total} passing test cases:\n{xml}"),
        &got,
        &want,
        &report,
    )?;
    done()
}

fn names_and_groups() -> Outcome {
    let tmp = scratch("suite-names-tmp");
    let (code, report) = suite(
        &support::root(),
        &tmp,
        &[
            "--scenario",
            "stale-claim-reclaim",
            "--scenario",
            "overload-backoff",
            "--target",
            "fake-stdio",
            "--json",
        ],
    )?;
    expect_fields(
        "selection runs and passes",
        Some(code),
        &report,
        json!({"exit": 0, "ok": true}),
    )?;
    let names: Vec<(&str, &str)> = entries(&report)
        .filter_map(|s| Some((s["scenario"].as_str()?, s["target"].as_str()?)))
        .collect();
    support::same(
        "the live member of the group cannot run on the fake and is left out",
        &names,
        &vec![
            ("stale_claim_reclaim", "local"),
            ("overload_retry_exhausted", "fake-stdio"),
            ("overload_retry_recovers", "fake-stdio"),
        ],
        &report,
    )?;
    done()
}

fn keep_temp() -> Outcome {
    let tmp = scratch("suite-keep-tmp");
    let args = [
        "--scenario",
        "stale_claim_reclaim",
        "--target",
        "fake-ws",
        "--keep-temp",
        "--json",
    ];
    let (code, report) = suite(&support::root(), &tmp, &args)?;
    let kept = report["scenarios"][0]["tempRoot"]
        .as_str()
        .map(PathBuf::from);
    let ledger_kept = kept
        .as_ref()
        .is_some_and(|k| k.join(".step/st-plan.jsonl").is_file());
    support::same(
        "the passing run's workspace is kept with its ledger (exit, ledger kept)",
        &(code, ledger_kept),
        &(0, true),
        &report,
    )?;
    done()
}

/// A shell wrapper that makes `cas st` an `st` binary.
fn st_wrapper(dir: &Path, body: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("st");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    Ok(path)
}

fn st_binary() -> Outcome {
    let tmp = scratch("suite-st-tmp");
    let st = st_wrapper(
        &tmp,
        &format!("exec {} st \"$@\"", support::cas_bin().display()),
    )?;
    let args = [
        "--scenario",
        "claim_safe_wave",
        "--scenario",
        "claim_safe_wave_twin_overlapping_scopes",
        "--scenario",
        "stale_claim_reclaim",
        "--target",
        "fake-stdio",
        "--st-binary",
        st.to_str().unwrap_or_default(),
        "--json",
    ];
    let (code, report) = suite(&support::root(), &tmp, &args)?;
    let got = (
        code,
        &report["ok"],
        report["scenarios"].as_array().map(Vec::len),
    );
    support::same(
        "the st binary passes the claim scenarios and its twin fails as designed (exit, ok, entries)",
        &got,
        &(0, &json!(true), Some(3)),
        &report,
    )?;
    done()
}

fn broken_st() -> Outcome {
    let tmp = scratch("suite-broken-st-tmp");
    let st = st_wrapper(
        &tmp,
        "echo 'error: InvalidRecord: this st is broken' >&2; exit 1",
    )?;
    let args = [
        "--scenario",
        "stale_claim_reclaim",
        "--target",
        "fake-stdio",
        "--st-binary",
        st.to_str().unwrap_or_default(),
        "--json",
    ];
    let (code, report) = suite(&support::root(), &tmp, &args)?;
    expect_fields(
        "a failing st fails the scenario with its error",
        Some(code),
        &report,
        json!({"exit": 1, "scenarios/0/ok": false, "scenarios/0/failureCode": "invalid_record"}),
    )?;
    done()
}
