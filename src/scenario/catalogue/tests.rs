//! Unit tests of the catalogue generator, on scenario files written to a temporary folder.

use super::*;

const INIT: &str = r#"
[[steps]]
request = { method = "initialize", params = { clientInfo = { name = "c", version = "1" } } }
[[steps]]
notify = { method = "initialized" }
"#;

/// Writes `files` (name → TOML) under a fresh folder and loads them all.
fn scenarios(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<Scenario>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let loaded = load_all(dir.path()).unwrap();
    (dir, loaded)
}

fn original() -> String {
    [
        r#"description = """"#,
        "thread/list answers data. It is a second sentence.",
        r#"""""#,
        r#"targets = ["codex-stdio", "fake-stdio"]"#,
        INIT,
        "[[steps]]",
        r#"request = { method = "thread/list", expect_result = { data = [] } }"#,
        "[[steps]]",
        r#"await_notification = { method = "thread/started" }"#,
        "[[steps]]",
        r#"request = { method = "thread/list" }"#,
    ]
    .join("\n")
}

const TWIN: &str = r#"
description = "Breaks it."
negative_twin_of = "threads/lists_data"
expect_status = "fail"
expect_failure = { code = "result_mismatch" }
"#;

fn surface() -> Surface {
    Surface::parse(
        r#"{"clientRequests": [{"method": "initialize"}, {"method": "thread/list"}, {"method": "thread/start"}],
            "serverNotifications": [{"method": "thread/started"}, {"method": "turn/started"}],
            "serverRequests": [{"method": "item/tool/call"}]}"#,
    )
    .unwrap()
}

#[test]
fn the_rule_is_the_first_sentence_on_one_line() {
    assert_eq!(first_sentence("A b.\nC d."), "A b.");
    assert_eq!(
        first_sentence("Refused with \"Not initialized\". Then more."),
        "Refused with \"Not initialized\"."
    );
    assert_eq!(
        first_sentence("see e.g. `x` and 1.5 here"),
        "see e.g. `x` and 1.5 here"
    );
    assert_eq!(first_sentence("  one\n  line  "), "one line");
}

#[test]
fn the_area_is_the_folder_or_core() {
    assert_eq!(area_of("threads/thread_read"), "threads");
    assert_eq!(area_of("handshake"), CORE_AREA);
}

#[test]
fn rows_leave_out_twins_and_the_plain_handshake_and_name_their_twins() {
    let (_dir, all) = scenarios(&[
        ("threads/lists_data", &original()),
        ("threads/lists_data_twin_breaks", TWIN),
        ("handshake", &format!("description = \"Hand.\"\n{INIT}")),
    ]);
    let rows = entries(&all);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].name, "handshake", "core comes first");
    assert_eq!(rows[0].methods, Vec::<String>::new());
    let row = &rows[1];
    assert_eq!(row.area, "threads");
    assert_eq!(row.rule, "thread/list answers data.");
    assert_eq!(row.methods, ["thread/list", "thread/started"]);
    assert_eq!(row.targets, ["codex-stdio", "fake-stdio"]);
    assert_eq!(row.twins, ["threads/lists_data_twin_breaks"]);
    assert_eq!(missing_twins(&all), ["handshake"]);
}

#[test]
fn an_initialize_that_must_fail_is_a_listed_method() {
    let text = [
        r#"description = "Bad init.""#,
        "[[steps]]",
        r#"request = { method = "initialize", params = {}, expect_error = { code = -32600 } }"#,
    ]
    .join("\n");
    let (_dir, all) = scenarios(&[("lifecycle/bad_init", &text)]);
    assert_eq!(entries(&all)[0].methods, ["initialize"]);
}

#[test]
fn coverage_counts_only_scenarios_that_run_on_codex() {
    let fake_only = [
        r#"description = "Fake.""#,
        r#"targets = ["fake-stdio"]"#,
        INIT,
        "[[steps]]",
        r#"request = { method = "thread/start" }"#,
    ]
    .join("\n");
    let (_dir, all) = scenarios(&[
        ("threads/lists_data", &original()),
        ("threads/lists_data_twin_breaks", TWIN),
        ("fake_only", &fake_only),
    ]);
    let c = Coverage::of(&all, &surface());
    assert_eq!(
        c.requests,
        (2, 3),
        "initialize and thread/list, not thread/start"
    );
    assert_eq!(c.notifications, (1, 2));
    assert_eq!(c.server_requests, (0, 1));
    assert_eq!(c.scenarios, (2, 1));
    assert_eq!(c.twins, 1);
    let sentence = c.sentence();
    assert!(
        sentence.starts_with("2 behaviour scenarios (1 on the real codex) and 1 negative twins")
    );
}

#[test]
fn render_has_a_table_per_area_and_the_gaps() {
    let (_dir, all) = scenarios(&[
        ("threads/lists_data", &original()),
        ("threads/lists_data_twin_breaks", TWIN),
    ]);
    let text = render(&all, &surface());
    assert!(text.starts_with("# The protocol catalogue\n"));
    assert!(text.contains("## threads\n\n| Scenario | Rule |"));
    assert!(text.contains(
        "| `lists_data` | thread/list answers data. | `thread/list`, `thread/started` | \
         codex-stdio, fake-stdio | `lists_data_twin_breaks` |"
    ));
    assert!(text.contains("- Client requests (1): `thread/start`"));
    assert!(text.contains("- Server notifications (1): `turn/started`"));
    assert!(text.contains("- Server requests (1): `item/tool/call`"));
}

#[test]
fn a_pipe_in_a_rule_is_escaped() {
    let text = format!(
        "description = \"a | b.\"\n{INIT}\n[[steps]]\nrequest = {{ method = \"thread/list\" }}\n"
    );
    let (_dir, all) = scenarios(&[("x", &text)]);
    assert!(render(&all, &surface()).contains("| a \\| b. |"));
}

#[test]
fn the_counts_sentence_is_spliced_between_the_markers() {
    let readme = format!("a\n{COUNTS_START}old{COUNTS_END}\nb\n");
    assert_eq!(
        splice_counts(&readme, "new").unwrap(),
        format!("a\n{COUNTS_START}new{COUNTS_END}\nb\n")
    );
    assert!(splice_counts("no markers", "new").is_none());
    assert!(splice_counts(&format!("{COUNTS_END}{COUNTS_START}"), "new").is_none());
}

#[test]
fn the_0_169_0_surface_has_the_schema_counts() {
    let s = Surface::codex_0_169_0().unwrap();
    assert_eq!(
        (
            s.client_requests.len(),
            s.server_notifications.len(),
            s.server_requests.len()
        ),
        (184, 86, 11)
    );
}
