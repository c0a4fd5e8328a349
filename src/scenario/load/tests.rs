//! Unit tests of scenario loading and its rules.

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

const BASE: &str = r#"
description = "base"
step_timeout = "2s"
[[fake.rules]]
method = "thread/list"
result = { data = [] }
[[steps]]
name = "list"
request = { method = "thread/list", expect_result = { data = [] } }
[[steps]]
expect_silence = { window = "100ms" }
"#;

#[test]
fn loads_steps_names_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "base", BASE);
    let s = load(dir.path(), &path).unwrap();
    assert_eq!(s.name, "base");
    assert_eq!(s.targets, TargetName::ALL.to_vec());
    assert_eq!(s.steps[0].name, "list");
    assert_eq!(s.steps[0].timeout, Duration::from_secs(2));
    assert_eq!(s.steps[1].name, "expect_silence");
    assert!(
        matches!(s.steps[1].kind, StepKind::ExpectSilence { window, .. } if window == Duration::from_millis(100))
    );
}

#[test]
fn a_twin_takes_its_originals_steps_and_fake_targets() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base", BASE);
    let twin = write(
        dir.path(),
        "base_twin",
        r#"
description = "twin"
negative_twin_of = "base"
expect_status = "fail"
expect_failure = { code = "no_response", step = "list" }
[fake]
faults = ["never_answer"]
"#,
    );
    let s = load(dir.path(), &twin).unwrap();
    assert_eq!(s.steps.len(), 2);
    assert_eq!(s.targets, vec![TargetName::FakeStdio, TargetName::FakeWs]);
    assert_eq!(s.twin_of.as_deref(), Some("base"));
    assert_eq!(s.fake.rules.len(), 1, "the twin keeps the original's rules");
    assert_eq!(s.fake.faults, vec![crate::fake::script::Fault::NeverAnswer]);
}

#[test]
fn refuses_broken_files_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base", BASE);
    let cases = [
        ("description = \"x\"\n[[steps]]\nrequest = { method = \"a\" }\nnotify = { method = \"b\" }\n", "exactly one of"),
        ("description = \"x\"\n[[steps]]\nrequst = { method = \"a\" }\n", "unknown field `requst`"),
        ("description = \"x\"\n", "at least one [[steps]]"),
        ("description = \"x\"\nexpect_status = \"fail\"\n[[steps]]\nnotify = { method = \"a\" }\n", "needs expect_failure"),
        ("description = \"x\"\nnegative_twin_of = \"base\"\nexpect_status = \"fail\"\nexpect_failure = { code = \"no_response\" }\ntargets = [\"codex-ws\"]\n", "cannot run on codex-ws"),
        ("description = \"x\"\nnegative_twin_of = \"nope\"\nexpect_status = \"fail\"\nexpect_failure = { code = \"no_response\" }\n", "no scenario named \"nope\""),
        ("description = \"x\"\n[[steps]]\ntimeout = \"soon\"\nnotify = { method = \"a\" }\n", "timeout = \"soon\""),
        ("description = \"x\"\n[[steps]]\nawait_request = { method = \"a\" }\n", "exactly one of answer_result or answer_error"),
        ("description = \"x\"\nexpect_status = \"fail\"\nexpect_failure = { code = \"no_such_code\" }\n[[steps]]\nnotify = { method = \"a\" }\n", "unknown variant `no_such_code`"),
        ("description = \"x\"\ntargets = [\"codex\"]\n[[steps]]\nnotify = { method = \"a\" }\n", "unknown variant `codex`"),
    ];
    for (text, want) in cases {
        let path = write(dir.path(), "broken", text);
        let err = crate::errors::Chain(&load(dir.path(), &path).unwrap_err()).to_string();
        assert!(err.contains(want), "{text}\n-> {err}");
    }
}

#[test]
fn find_names_the_known_scenarios_when_missing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base", BASE);
    let err = find(dir.path(), "nope").unwrap_err().to_string();
    assert!(err.contains("known scenarios: base"), "{err}");
}
