//! The load rules of the connection and flow steps: what loads, and what is refused and why.

use crate::scenario::load::{load, Scenario, StepKind};

fn try_load(body: &str) -> Result<Scenario, crate::errors::Why> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("t.toml");
    let text = format!("description = \"t\"\n{body}");
    std::fs::write(&path, text).expect("write");
    load(dir.path(), &path).map_err(|e| crate::errors::Why::of(&e))
}

fn refused(body: &str, why: &str) {
    match try_load(body) {
        Ok(_) => panic!("loaded, but should be refused for {why:?}:\n{body}"),
        Err(e) => assert!(e.contains(why), "{e}"),
    }
}

const WS: &str = "targets = [\"fake-ws\", \"codex-ws\"]\n";

#[test]
fn the_new_steps_load_as_their_kinds() {
    let s = try_load(&format!(
        r#"{WS}
[[steps]]
name = "go"
request = {{ method = "m", wait = false }}
[[steps]]
connection = "b"
connect = {{ credentials = "wrong", expect_refused = 401 }}
[[steps]]
sleep = "10ms"
[[steps]]
name = "d"
connection = "b"
drain = {{ method = "n", window = "1s", expect_count = 2 }}
[[steps]]
connection = "b"
await_notification = {{ method = "x" }}
before = "d"
[[steps]]
expect_never = {{ method = "n" }}
[[steps]]
answer_all = {{ method = "r", count = 1 }}
[[steps]]
await_response = {{ request = "go" }}
[[steps]]
connection = "b"
close_connection = true
"#
    ))
    .expect("loads");
    let kinds: Vec<&str> = s.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "request",
            "connect",
            "sleep",
            "drain",
            "await_notification",
            "expect_never",
            "answer_all",
            "await_response",
            "close_connection"
        ]
    );
    assert!(matches!(s.steps[3].kind, StepKind::Drain { window, .. } if window.as_secs() == 1));
    assert_eq!(s.steps[3].connection.as_deref(), Some("b"));
    assert_eq!(s.steps[4].before.as_deref(), Some("d"));
    assert_eq!(s.steps[2].name, "sleep");
    assert_eq!(s.steps[3].kind.method(), Some("n"));
}

#[test]
fn named_connections_need_websocket_targets() {
    refused(
        "[[steps]]\nconnection = \"b\"\nrequest = { method = \"m\" }\n",
        "websocket targets only",
    );
    refused(
        "targets = [\"fake-stdio\"]\n[[steps]]\nconnection = \"b\"\nrequest = { method = \"m\" }\n",
        "not fake-stdio",
    );
    // The default connection named explicitly runs anywhere.
    assert!(
        try_load("[[steps]]\nconnection = \"default\"\nrequest = { method = \"m\" }\n").is_ok()
    );
}

#[test]
fn connect_and_close_need_a_named_connection() {
    refused(
        &format!("{WS}[[steps]]\nconnect = {{}}\n"),
        "connect needs connection",
    );
    refused(
        &format!("{WS}[[steps]]\nconnection = \"default\"\nclose_connection = true\n"),
        "close_connection needs connection",
    );
    refused(
        &format!("{WS}[[steps]]\nconnection = \"b\"\nclose_connection = false\n"),
        "takes only true",
    );
    refused(
        &format!("{WS}[[steps]]\nconnection = \"b\"\nconnect = {{ credentials = \"none\", token = \"t\" }}\n"),
        "exclude each other",
    );
    refused(
        &format!("{WS}[[steps]]\nconnection = \"b\"\nconnect = {{ expect_refused_body_contains = \"x\" }}\n"),
        "needs expect_refused",
    );
}

#[test]
fn before_names_a_taking_step_on_the_same_connection() {
    let taker = "[[steps]]\nname = \"t\"\nawait_notification = { method = \"x\" }\n";
    refused(
        &format!("{taker}[[steps]]\nrequest = {{ method = \"m\" }}\nbefore = \"t\"\n"),
        "before applies to",
    );
    refused(
        "[[steps]]\nname = \"r\"\nrequest = { method = \"m\" }\n[[steps]]\nawait_notification = { method = \"x\" }\nbefore = \"r\"\n",
        "takes no message",
    );
    refused(
        &format!(
            "{taker}[[steps]]\nawait_notification = {{ method = \"y\" }}\nbefore = \"nope\"\n"
        ),
        "no step of that name",
    );
    refused(
        &format!("{WS}{taker}[[steps]]\nconnection = \"b\"\nawait_notification = {{ method = \"y\" }}\nbefore = \"t\"\n"),
        "arrival order on one connection",
    );
}

#[test]
fn a_request_without_waiting_is_awaited_exactly_once() {
    let go = "[[steps]]\nname = \"go\"\nrequest = { method = \"m\", wait = false }\n";
    let wait = "[[steps]]\nawait_response = { request = \"go\" }\n";
    assert!(try_load(&format!("{go}{wait}")).is_ok());
    refused(go, "exactly one await_response");
    refused(&format!("{go}{wait}{wait}"), "found 2");
    refused(
        &format!("{wait}{go}"),
        "earlier request step with wait = false",
    );
    refused(
        "[[steps]]\nname = \"go\"\nrequest = { method = \"m\", wait = false, expect_result = {} }\n[[steps]]\nawait_response = { request = \"go\" }\n",
        "takes no expectations",
    );
    refused(
        &format!("{go}[[steps]]\nawait_response = {{ request = \"go\", expect_result = {{}}, expect_error = {{ code = 1 }} }}\n"),
        "exclude each other",
    );
}

#[test]
fn answer_all_takes_one_well_formed_answer() {
    refused(
        "[[steps]]\nanswer_all = { method = \"r\", answer_result = {}, answer_error = { code = 1, message = \"m\" } }\n",
        "exclude each other",
    );
    refused(
        "[[steps]]\nanswer_all = { method = \"r\", answer_error = { code = \"x\" } }\n",
        "answer_all.answer_error must be",
    );
    refused(
        "[[steps]]\ndrain = { method = \"r\", cuont = 1 }\n",
        "unknown field `cuont`",
    );
}

#[test]
fn parallel_branches_refuse_connection_and_flow_references() {
    for inner in [
        "connection = \"b\"\\nrequest = { method = \"m\" }",
        "request = { method = \"m\", wait = false }",
    ] {
        let inner = inner.replace("\\n", "\n");
        refused(
            &format!("[[steps]]\n[steps.parallel]\nfor_each = [\"a\"]\n[[steps.parallel.steps]]\n{inner}\n"),
            "a parallel branch runs plain steps",
        );
    }
}
