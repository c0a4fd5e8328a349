//! Unit tests of the world steps' file checks and command runs.

use super::*;

fn expect(toml_text: &str) -> ExpectFileStep {
    toml::from_str(toml_text).unwrap()
}

fn run_step(toml_text: &str) -> RunStep {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn file_checks_cover_existence_and_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/a.json");
    let mut caps = Captures::new();
    let absent = expect("path = \"sub/a.json\"\nexists = false");
    assert_eq!(
        check_file(&path, &absent, &mut caps),
        Ok(json!({"exists": false}))
    );
    let present = expect("path = \"sub/a.json\"");
    assert!(check_file(&path, &present, &mut caps)
        .unwrap_err()
        .contains("does not exist"));
    write(&path, "{\"name\": \"cas\", \"n\": 3}").unwrap();
    assert!(check_file(&path, &absent, &mut caps)
        .unwrap_err()
        .contains("must not"));
    let all = expect(
        "path = \"sub/a.json\"\ncontains = \"cas\"\nregex = 'n\"?: \\d'\njson = { name = \"cas\" }",
    );
    let observed = check_file(&path, &all, &mut caps).unwrap();
    assert_eq!(observed["json"], json!({"name": "cas"}));
    for bad in [
        "equals = \"x\"",
        "contains = \"codex\"",
        "regex = '^\\d+$'",
        "json = { name = \"other\" }",
    ] {
        let step = expect(&format!("path = \"sub/a.json\"\n{bad}"));
        assert!(
            check_file(&path, &step, &mut caps).is_err(),
            "{bad} must fail"
        );
    }
}

#[tokio::test]
async fn a_command_runs_in_its_folder_and_its_end_is_judged() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("CAS_X".to_owned(), "42".to_owned())]
        .into_iter()
        .collect();
    let ended = run_shell(
        "printf '{\"x\": %s}' \"$CAS_X\"; touch made; echo oops >&2; exit 3",
        dir.path(),
        &env,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(dir.path().join("made").is_file());
    let mut caps = Captures::new();
    let ok = run_step(
        "cmd = \"x\"\nexpect_code = 3\nstdout_json = { x = 42 }\nstderr_contains = \"oops\"",
    );
    let outcome = judge_run(&ok, &ended, &mut caps);
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.observed.unwrap()["code"], 3);
    let bad = run_step("cmd = \"x\"\nstdout_contains = \"y\"\nstdout_json = { x = 1 }");
    let outcome = judge_run(&bad, &ended, &mut caps);
    let codes: Vec<FailureCode> = outcome.failures.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        codes,
        [FailureCode::CommandFailed; 3],
        "code 3 ≠ 0, no y, x ≠ 1"
    );
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let env = Default::default();
    let why = run_shell(
        "sleep 30 & sleep 30; wait",
        dir.path(),
        &env,
        Duration::from_millis(200),
    )
    .await
    .unwrap_err();
    assert!(why.contains("did not finish"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn what_a_finished_command_left_running_is_killed_too() {
    let dir = tempfile::tempdir().unwrap();
    let env = Default::default();
    let cmd = "sleep 30 >/dev/null 2>&1 & echo $!";
    let ended = run_shell(cmd, dir.path(), &env, Duration::from_secs(10))
        .await
        .unwrap();
    let pid: i32 = ended.stdout.trim().parse().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    // SAFETY: signal 0 only asks whether the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the background sleep survived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
