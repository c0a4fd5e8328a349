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

/// The chained message of the error loading `text` (as file `name` in `dir`).
fn load_error(dir: &Path, name: &str, text: &str) -> String {
    let path = write(dir, name, text);
    crate::errors::Chain(&load(dir, &path).unwrap_err()).to_string()
}

#[test]
fn an_unknown_variable_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "description = \"x\"\n[[steps]]\nname = \"start\"\nrequest = { method = \"a\", expect_result = { id = \"$capture:tid\" } }\n[[steps]]\nrequest = { method = \"b\", params = { id = \"${tidd}\" } }\n";
    let err = load_error(dir.path(), "var", text);
    let at = format!(
        "{}:6: unknown variable ${{tidd}}",
        dir.path().join("var.toml").display()
    );
    assert!(err.contains(&at), "{err}");
    let same_step = "description = \"x\"\n[[steps]]\nrequest = { method = \"a\", params = { id = \"${t}\" }, expect_result = { id = \"$capture:t\" } }\n";
    let err = load_error(dir.path(), "same", same_step);
    assert!(err.contains("same.toml:3: unknown variable ${t}"), "{err}");
}

#[test]
fn known_variables_load() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
description = "x"
vars = { root = "${workspace}/a", other = "${root}" }
[[steps]]
request = { method = "a", params = { p = "${root} ${scenarios_dir}" }, expect_result = { id = "$capture:tid" } }
[[steps]]
request = { method = "b", params = { id = "${tid}" }, expect_result = { id = { "$ne" = "${tid}" } } }
[[steps]]
name = "branches"
[steps.parallel]
for_each = ["one", "two"]
[[steps.parallel.steps]]
request = { method = "c", params = { n = "${item} ${tid}" }, expect_result = { id = "$capture:bid" } }
[[steps]]
request = { method = "d", params = { a = "${one.bid}", b = "${two.bid}" } }
"#;
    let path = write(dir.path(), "ok", text);
    load(dir.path(), &path).unwrap();
    let err = load_error(dir.path(), "leak", &text.replace("${one.bid}", "${bid}"));
    assert!(
        err.contains("leak.toml:15: unknown variable ${bid}"),
        "{err}"
    );
}

#[test]
fn a_bad_operator_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "description = \"x\"\n[[steps]]\nname = \"start\"\n[steps.request]\nmethod = \"a\"\n[steps.request.expect_result]\nthread = { id = { \"$prefx\" = \"thr\" } }\n";
    let err = load_error(dir.path(), "op", text);
    assert!(
        err.contains("op.toml:7: step 1 (start) request.expect_result: at /thread/id: unknown operator $prefx"),
        "{err}"
    );
    let text = "description = \"x\"\n[[steps]]\nawait_notification = { method = \"n\", params = { a = [\n  1,\n  { \"$len\" = \"two\" }] } }\n";
    let err = load_error(dir.path(), "operand", text);
    assert!(err.contains("operand.toml:5: step 1 (unnamed) await_notification.params: at /a/1: $len takes a number"), "{err}");
}

#[test]
fn relative_paths_resolve_from_the_files_folder() {
    let scenarios = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let folder = elsewhere.path().join("mine");
    std::fs::create_dir_all(folder.join("hooks")).unwrap();
    std::fs::write(folder.join("hooks/h.json"), "{}").unwrap();
    let path = write(
        &folder,
        "with_hooks",
        "description = \"x\"\n[hooks]\nconfig = \"hooks/h.json\"\n[[steps]]\nnotify = { method = \"a\" }\n",
    );
    let s = load(scenarios.path(), &path).unwrap();
    let (_, hooks_dir) = s.hooks_config.expect("hooks config read");
    assert_eq!(hooks_dir, folder.join("hooks").canonicalize().unwrap());
    // A twin beside its original finds it there, not in the scenarios folder.
    write(&folder, "base", BASE);
    let twin = write(
        &folder,
        "base_twin",
        "description = \"t\"\nnegative_twin_of = \"base\"\nexpect_status = \"fail\"\nexpect_failure = { code = \"no_response\" }\n[fake]\nfaults = [\"never_answer\"]\n",
    );
    assert_eq!(load(scenarios.path(), &twin).unwrap().steps.len(), 2);
}

#[test]
fn a_twins_inserted_steps_know_the_originals_names() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "orig",
        "description = \"o\"\nvars = { v = \"x\" }\n[[steps]]\nname = \"start\"\nrequest = { method = \"a\", expect_result = { id = \"$capture:tid\" } }\n",
    );
    let twin = |uses: &str| {
        format!("description = \"t\"\nnegative_twin_of = \"orig\"\nexpect_status = \"fail\"\nexpect_failure = {{ code = \"no_response\" }}\n[[insert_steps]]\nafter = \"start\"\n[[insert_steps.steps]]\nrequest = {{ method = \"b\", params = {{ id = \"{uses}\" }} }}\n")
    };
    let ok = write(dir.path(), "orig_twin", &twin("${tid} ${v}"));
    assert_eq!(load(dir.path(), &ok).unwrap().steps.len(), 2);
    let err = load_error(dir.path(), "orig_twin_bad", &twin("${nope}"));
    assert!(
        err.contains("orig_twin_bad.toml:8: unknown variable ${nope}"),
        "{err}"
    );
    let err = load_error(
        dir.path(),
        "orig_twin_op",
        &twin("x").replace(
            "params = { id = \"x\" }",
            "expect_result = { n = { \"$gt\" = [] } }",
        ),
    );
    assert!(err.contains("orig_twin_op.toml:8: step 1 (unnamed) request.expect_result: at /n: $gt takes a number"), "{err}");
}

#[test]
fn the_builtin_names_in_messages_are_the_builtin_names() {
    assert_eq!(lint::BUILTIN_TEXT, lint::BUILTIN_VARS.join(", "));
}
