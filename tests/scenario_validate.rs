//! `cas scenario validate` and scenario files outside the shipped folder, as a user runs them.

mod support;

use predicates::prelude::*;
use std::path::Path;

use support::cas;

const GOOD: &str = r#"description = "good"
[[fake.rules]]
method = "thread/start"
result = { thread = { id = "t-1", projectId = "$null" } }
[[steps]]
request = { method = "initialize", params = { clientInfo = { name = "cas-test", version = "0.1.0" } } }
[[steps]]
name = "start"
request = { method = "thread/start", expect_result = { thread = { id = "$capture:tid", projectId = "$null", path = "$absent" } } }
[[steps]]
name = "again"
request = { method = "thread/start", params = { note = "${tid}" }, expect_result = { thread = { id = { "$prefix" = "t-" } } } }
"#;

const BAD_VAR: &str = r#"description = "misspelled variable"
[[steps]]
request = { method = "thread/start", expect_result = { thread = { id = "$capture:tid" } } }
[[steps]]
request = { method = "thread/read", params = { threadId = "${tidd}" } }
"#;

const BAD_OP: &str = r#"description = "misspelled operator"
[[steps]]
name = "start"
[steps.request]
method = "thread/start"
[steps.request.expect_result]
thread = { id = { "$prefx" = "t-" } }
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn validate_names_file_and_line_of_an_unknown_variable_and_a_bad_operator() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.toml", GOOD);
    write(dir.path(), "bad_var.toml", BAD_VAR);
    write(dir.path(), "bad_op.toml", BAD_OP);
    let d = dir.path().display();
    cas()
        .args(["scenario", "validate"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains(format!("ok    {d}/good.toml")))
        .stdout(predicate::str::contains(format!(
            "error {d}/bad_var.toml:5: unknown variable ${{tidd}}"
        )))
        .stdout(predicate::str::contains(format!(
            "error {d}/bad_op.toml:7: step 1 (start) request.expect_result: at /thread/id: unknown operator $prefx"
        )));
    let out = cas()
        .args(["scenario", "validate", "--json"])
        .arg(dir.path().join("bad_op.toml"))
        .arg(dir.path().join("good.toml"))
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["failureCode"], "usage_error");
    assert_eq!(doc["files"][0]["line"], 7);
    assert_eq!(doc["files"][0]["ok"], false);
    assert_eq!(doc["files"][1]["ok"], true);
    cas()
        .args(["scenario", "validate"])
        .arg(dir.path().join("good.toml"))
        .assert()
        .code(0);
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    let out = cas()
        .args(["scenario", "validate", "scenarios"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.lines().count() > 40, "{text}");
    assert!(text.lines().all(|l| l.starts_with("ok ")), "{text}");
}

#[test]
fn a_scenario_in_any_folder_resolves_its_relative_paths_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(mine.join("hooks")).unwrap();
    write(&mine.join("hooks"), "h.json", "{}");
    let with_hooks = format!("{GOOD}[hooks]\nconfig = \"hooks/h.json\"\n");
    write(&mine, "base.toml", &with_hooks);
    write(
        &mine,
        "base_twin.toml",
        "description = \"twin\"\nnegative_twin_of = \"base\"\nexpect_status = \"fail\"\nexpect_failure = { code = \"result_mismatch\", step = \"again\" }\n[[fake.rules]]\nmethod = \"thread/start\"\nresult = { thread = { id = \"x-1\", projectId = \"$null\" } }\n",
    );
    for (file, code) in [("base.toml", 0), ("base_twin.toml", 0)] {
        cas()
            .args([
                "conformance",
                "--skip-smoke-check",
                "--target",
                "fake-stdio",
                "--scenario",
            ])
            .arg(mine.join(file))
            .assert()
            .code(code);
    }
    // The same file with its hooks config elsewhere does not load: the path really is relative.
    std::fs::remove_file(mine.join("hooks/h.json")).unwrap();
    cas()
        .args(["scenario", "validate"])
        .arg(mine.join("base.toml"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("hooks/h.json"));
}
