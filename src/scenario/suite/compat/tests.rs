//! Unit tests of what a scenario relies on and when it is not applicable.

use super::*;
use crate::outcome::CompatibilityVerdict;
use crate::schema::diff::MethodRef;

/// What `needs` names, as `kind method`.
fn method_names(needs: &ReliesOn) -> Vec<String> {
    needs
        .methods
        .iter()
        .map(|m| format!("{} {}", m.kind, m.method))
        .collect()
}

fn surface(version: &str, client: &[&str], notes: &[&str]) -> Surface {
    Surface::of_methods(version, client, &[], notes)
}

fn scenario(dir: &std::path::Path, toml: &str) -> Scenario {
    let path = dir.join("s.toml");
    std::fs::write(&path, toml).unwrap();
    crate::scenario::load(dir, &path).unwrap()
}

const STEPS: &str = r#"
description = "d"
requires = ["--disable", "codex >= 0.131.0"]
[[steps]]
name = "init"
request = { method = "initialize", params = {} }
[[steps]]
name = "initialized"
notify = { method = "initialized" }
[[steps]]
name = "list"
request = { method = "hooks/list", params = {} }
[[steps]]
name = "rc"
await_notification = { method = "remoteControl/status/changed" }
"#;

#[test]
fn a_scenario_relies_on_what_its_steps_name_and_its_requires() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), STEPS);
    let needs = relies_on(&s);
    let names = method_names(&needs);
    assert_eq!(
        names,
        [
            "clientNotification initialized",
            "clientRequest hooks/list",
            "clientRequest initialize",
            "serverNotification remoteControl/status/changed",
        ]
    );
    assert_eq!(needs.named, ["--disable", "codex >= 0.131.0"]);
}

#[test]
fn answering_all_requests_and_draining_notifications_rely_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(
        dir.path(),
        r#"
description = "Answers clock reads and drains deltas."
targets = ["codex-ws"]
[[steps]]
name = "clock"
answer_all = { method = "currentTime/read" }
[[steps]]
name = "deltas"
drain = { method = "item/agentMessage/delta" }
"#,
    );
    let names = method_names(&relies_on(&s));
    assert_eq!(
        names,
        [
            "serverNotification item/agentMessage/delta",
            "serverRequest currentTime/read"
        ]
    );
}

#[test]
fn on_a_codex_lacking_something_the_scenario_is_not_applicable_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), STEPS);
    let full = LaunchFlags::parse(
        "  --disable <F>\n  --listen <U>\n  --ws-auth <M>\n  --ws-token-file <P>\n",
    );
    let has_all = surface(
        "0.145.0",
        &["initialize", "hooks/list"],
        &["remoteControl/status/changed"],
    );
    assert_eq!(
        applicability(&has_all, &full, &s, TargetName::CodexWs),
        None
    );
    let old = surface("0.118.0", &["initialize"], &[]);
    let na = applicability(&old, &LaunchFlags::default(), &s, TargetName::CodexWs).unwrap();
    assert_eq!(
        na.missing,
        [
            "clientRequest hooks/list",
            "serverNotification remoteControl/status/changed",
            "launchFlag --disable",
            "codex >= 0.131.0",
            "launchFlag --listen",
        ]
    );
    assert!(
        na.reason()
            .starts_with("codex 0.118.0 lacks clientRequest hooks/list, "),
        "{}",
        na.reason()
    );
    assert!(
        older("0.118.0", "0.131.0") && !older("0.131.0", "0.131.0") && older("0.99.9", "0.131.0")
    );
}

#[test]
fn a_not_applicable_scenario_is_reported_everywhere_and_fails_only_with_require_all() {
    use super::super::{Preflight, ScenarioResult, SuiteReport};
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), STEPS);
    let na = applicability(
        &surface("0.118.0", &["initialize"], &[]),
        &LaunchFlags::default(),
        &s,
        TargetName::CodexStdio,
    )
    .unwrap();
    let mut report = SuiteReport {
        target: TargetName::CodexStdio,
        codex: None,
        preflight: Preflight::skipped("by flag"),
        scenarios: vec![ScenarioResult::not_applicable(
            &s,
            TargetName::CodexStdio,
            na,
        )],
        not_run: 0,
        jobs: 1,
        wall_ms: 0,
        warnings: Vec::new(),
        require_all: false,
    };
    let line = || {
        use super::super::live::{render, ColorChoice, Painter, Verbosity};
        let painter = Painter::new(ColorChoice::Never, false);
        render(&report.scenarios[0], Verbosity::Normal, painter).unwrap_or_default()
    };
    assert!(report.ok() && !report.all_error());
    let doc = report.to_json();
    assert_eq!(doc["scenarios"][0]["status"], "not_applicable");
    assert_eq!(
        doc["scenarios"][0]["notApplicable"]["missing"][0],
        "clientRequest hooks/list"
    );
    assert!(line().contains("N/A"), "{}", line());
    assert!(line().contains("codex 0.118.0 lacks clientRequest hooks/list"));
    let xml = report.junit();
    assert!(
        xml.contains(
            "<skipped message=\"not_applicable: codex 0.118.0 lacks clientRequest hooks/list"
        ),
        "{xml}"
    );
    assert!(xml.contains("failures=\"0\""), "{xml}");
    report.require_all = true;
    assert!(!report.ok());
    assert!(report.junit().contains("<failure"), "{}", report.junit());
    assert!(line().contains("N/A"));
}

#[test]
fn a_refusal_names_what_is_missing_in_text_and_json() {
    let refusal = Incompatible {
        bin: PathBuf::from("/bin/codex"),
        codex_version: "0.1.0".into(),
        compatibility: Compatibility {
            verdict: CompatibilityVerdict::Incompatible,
            missing: vec![MethodRef {
                kind: "clientRequest",
                method: "thread/list".into(),
            }],
            unanswered_server_requests: Some(Vec::new()),
            failure_code: None,
            failure_hint: None,
            unlisted: Vec::new(),
        },
    };
    assert_eq!(
        refusal.to_string(),
        "codex 0.1.0 lacks what the selected scenarios rely on: clientRequest thread/list \
         (compatibilityVerdict: incompatible)"
    );
    assert_eq!(
        refusal.to_json(),
        json!({"schemaVersion": 1, "check": "conformance", "ok": false,
            "codex": {"path": "/bin/codex", "version": "0.1.0"},
            "compatibilityVerdict": "incompatible",
            "missing": [{"kind": "clientRequest", "method": "thread/list"}],
            "unansweredServerRequests": []})
    );
}
