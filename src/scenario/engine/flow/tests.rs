//! Engine tests of the connection and flow steps: small scenarios run on the in-process
//! websocket fake (no child process), each checked for the failures it must (not) produce.

use std::path::{Path, PathBuf};

use crate::launch::CodexLocator;
use crate::outcome::FailureCode;
use crate::scenario::{load, run, TargetName};
use crate::target::TargetEnv;
use crate::verdict::{Status, Verdict};

/// The handshake every test scenario starts with.
const INIT: &str = r#"
[[steps]]
name = "initialize"
request = { method = "initialize", params = { clientInfo = { name = "t", version = "0" } } }
"#;

fn env(root: &Path) -> TargetEnv {
    TargetEnv {
        cas_bin: PathBuf::from("/nonexistent/cas"),
        codex: CodexLocator::from_env(None),
        scratch_root: root.join("scratch"),
        workspace_root: root.join("workspaces"),
        keep_temp: false,
        st_binary: None,
        codex_template: None,
        transcript_dir: None,
    }
}

/// Runs a scenario made of `head` (top-level keys and `[fake]`), the handshake and `steps`.
async fn verdict(head: &str, steps: &str) -> Verdict {
    let dir = tempfile::tempdir().expect("a temp dir");
    let text = format!("description = \"t\"\ntargets = [\"fake-ws\"]\nstep_timeout = \"2s\"\n{head}\n{INIT}\n{steps}");
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).expect("write the scenario");
    let scenario = load(dir.path(), &path).expect("the scenario loads");
    run(&scenario, TargetName::FakeWs, &env(dir.path())).await
}

fn codes(v: &Verdict) -> Vec<(Option<String>, FailureCode)> {
    v.failures
        .iter()
        .map(|f| (f.step.clone(), f.code))
        .collect()
}

fn failed(v: &Verdict, step: &str, code: FailureCode) -> bool {
    v.status == Status::Fail
        && v.failures
            .iter()
            .any(|f| f.code == code && f.step.as_deref() == Some(step))
}

const TURN_RULE: &str = r#"
[[fake.rules]]
method = "turn/start"
result = { turn = { id = "t1" } }
then = [
  { notify = { method = "item/completed", params = { n = 1 } } },
  { notify = { method = "item/completed", params = { n = 2 } } },
  { notify = { method = "item/completed", params = { n = 3, last = true } } },
  { notify = { method = "turn/completed", params = { turn = { id = "t1" } } } },
]
"#;

#[tokio::test]
async fn drain_counts_until_a_match_and_over_a_window() {
    let steps = r#"
[[steps]]
request = { method = "turn/start" }
[[steps]]
name = "until"
drain = { method = "item/completed", until = { last = true }, expect_count = 3 }
[[steps]]
name = "window"
drain = { method = "turn/completed", window = "100ms", expect_count = 1 }
"#;
    let v = verdict(TURN_RULE, steps).await;
    assert_eq!(v.status, Status::Pass, "{:?}", codes(&v));
    let wrong = steps.replace("expect_count = 3", "expect_count = 2");
    let v = verdict(TURN_RULE, &wrong).await;
    assert!(
        failed(&v, "until", FailureCode::CountMismatch),
        "{:?}",
        codes(&v)
    );
    let never = steps.replace(
        "last = true }, expect_count = 3",
        "last = false }, window = \"100ms\"",
    );
    let v = verdict(TURN_RULE, &never).await;
    assert!(
        failed(&v, "until", FailureCode::NoNotification),
        "{:?}",
        codes(&v)
    );
}

#[tokio::test]
async fn expect_never_sees_buffered_and_later_arrivals() {
    let steps = r#"
[[steps]]
request = { method = "turn/start" }
[[steps]]
await_notification = { method = "turn/completed" }
[[steps]]
name = "never"
expect_never = { method = "item/completed", params = { n = 9 } }
"#;
    assert_eq!(verdict(TURN_RULE, steps).await.status, Status::Pass);
    // Already buffered: fails at the step itself.
    let buffered = steps.replace("n = 9", "n = 2");
    let v = verdict(TURN_RULE, &buffered).await;
    assert!(
        failed(&v, "never", FailureCode::NeverBroken),
        "{:?}",
        codes(&v)
    );
    // Arriving later, even when a later step takes it: fails at wrap-up.
    let later = r#"
[[steps]]
name = "never"
expect_never = { method = "item/completed" }
[[steps]]
request = { method = "turn/start" }
[[steps]]
await_notification = { method = "item/completed" }
"#;
    let v = verdict(TURN_RULE, later).await;
    assert!(
        failed(&v, "never", FailureCode::NeverBroken),
        "{:?}",
        codes(&v)
    );
    assert_eq!(v.failures.len(), 1, "{:?}", codes(&v));
}

#[tokio::test]
async fn answer_all_answers_queued_and_later_requests_and_counts_them() {
    let head = r#"
[[fake.rules]]
method = "thread/start"
result = { thread = { id = "th" } }
then = [{ request = { method = "currentTime/read" } }]
[[fake.rules]]
method = "turn/start"
result = { turn = { id = "t1" } }
then = [{ request = { method = "currentTime/read" } }, { request = { method = "currentTime/read" } }]
"#;
    let steps = r#"
[[steps]]
request = { method = "thread/start" }
[[steps]]
sleep = "50ms"
[[steps]]
name = "all"
answer_all = { method = "currentTime/read", answer_result = { currentTimeAt = 5 }, count = 3 }
[[steps]]
request = { method = "turn/start" }
[[steps]]
name = "echoes"
drain = { method = "fake/serverRequestAnswered", until = { id = 2, result = { currentTimeAt = 5 } }, expect_count = 3 }
"#;
    let v = verdict(head, steps).await;
    assert_eq!(v.status, Status::Pass, "{:?}", codes(&v));
    let v = verdict(head, &steps.replace("count = 3 }", "count = 4 }")).await;
    assert!(
        failed(&v, "all", FailureCode::CountMismatch),
        "{:?}",
        codes(&v)
    );
    // Without the responder the requests go unanswered.
    let none = steps.replace("answer_all = {", "expect_silence = { window = \"1ms\" }\n#");
    let v = verdict(
        head,
        &none.replace(
            "[[steps]]\nname = \"echoes\"",
            "[[steps]]\nname = \"echoes\"\ntimeout = \"100ms\"",
        ),
    )
    .await;
    assert!(
        v.failures
            .iter()
            .any(|f| f.code == FailureCode::UnansweredServerRequest),
        "{:?}",
        codes(&v)
    );
}

#[tokio::test]
async fn await_response_checks_a_request_sent_without_waiting() {
    let head = r#"
[[fake.rules]]
method = "thread/start"
delay = "100ms"
result = { thread = { id = "th" } }
"#;
    let steps = r#"
[[steps]]
name = "go"
request = { method = "thread/start", wait = false }
[[steps]]
name = "meanwhile"
request = { method = "thread/start", expect_result = { thread = { id = "th" } } }
[[steps]]
name = "answer"
await_response = { request = "go", expect_result = { thread = { id = "th" } } }
"#;
    assert_eq!(verdict(head, steps).await.status, Status::Pass);
    let v = verdict(
        head,
        &steps.replace("id = \"th\" } } }\n", "id = \"other\" } } }\n"),
    )
    .await;
    assert!(
        failed(&v, "answer", FailureCode::ResultMismatch),
        "{:?}",
        codes(&v)
    );
    let slow = head.replace("100ms", "1s");
    let v = verdict(
        &slow,
        &steps.replace("name = \"answer\"", "name = \"answer\"\ntimeout = \"50ms\""),
    )
    .await;
    assert!(
        v.failures.iter().any(|f| f.code == FailureCode::NoResponse),
        "{:?}",
        codes(&v)
    );
}

#[tokio::test]
async fn before_compares_arrival_across_methods() {
    let steps = r#"
[[steps]]
request = { method = "turn/start" }
[[steps]]
name = "done"
await_notification = { method = "turn/completed" }
[[steps]]
name = "item"
await_notification = { method = "item/completed", params = { n = 3 } }
before = "done"
"#;
    assert_eq!(verdict(TURN_RULE, steps).await.status, Status::Pass);
    let reversed = steps
        .replace("before = \"done\"", "")
        .replace("name = \"done\"", "name = \"done\"\nbefore = \"item\"");
    let v = verdict(TURN_RULE, &reversed).await;
    assert!(
        failed(&v, "done", FailureCode::OrderViolated),
        "{:?}",
        codes(&v)
    );
}

#[tokio::test]
async fn named_connections_open_on_use_fan_out_and_close() {
    let head = r#"
[[fake.rules]]
method = "thread/start"
result = { thread = { id = "th" } }
then = [{ to = "others", notify = { method = "thread/started", params = { thread = { id = "th" } } } }]
"#;
    let steps = r#"
[[steps]]
connection = "b"
request = { method = "initialize", params = { clientInfo = { name = "b", version = "0" } } }
[[steps]]
name = "a does not"
expect_never = { method = "thread/started" }
[[steps]]
request = { method = "thread/start" }
[[steps]]
name = "b sees it"
connection = "b"
await_notification = { method = "thread/started" }
[[steps]]
connection = "b"
close_connection = true
[[steps]]
name = "b is fresh"
connection = "b"
request = { method = "thread/start", expect_error = { message = "Not initialized" } }
"#;
    let v = verdict(head, steps).await;
    assert_eq!(v.status, Status::Pass, "{:?}", codes(&v));
    let to_this = head.replace("to = \"others\", ", "");
    let v = verdict(&to_this, steps).await;
    assert!(
        failed(&v, "b sees it", FailureCode::NoNotification),
        "{:?}",
        codes(&v)
    );
    assert!(
        failed(&v, "a does not", FailureCode::NeverBroken),
        "{:?}",
        codes(&v)
    );
}

#[tokio::test]
async fn connect_checks_refusals() {
    let steps = r#"
[[steps]]
name = "none"
connection = "x"
connect = { credentials = "none", expect_refused = 401, expect_refused_body_contains = "missing" }
[[steps]]
name = "own"
connection = "y"
connect = {}
[[steps]]
name = "again"
connection = "y"
connect = {}
[[steps]]
name = "own refused"
connection = "z"
connect = { expect_refused = 401 }
[[steps]]
name = "status"
connection = "w"
connect = { credentials = "wrong", expect_refused = 403 }
"#;
    let v = verdict("", steps).await;
    assert_eq!(
        codes(&v),
        [
            (Some("again".into()), FailureCode::SessionError),
            (
                Some("own refused".into()),
                FailureCode::ConnectionNotRefused
            ),
            (Some("status".into()), FailureCode::ConnectionNotRefused),
        ]
    );
}
