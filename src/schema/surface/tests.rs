//! Unit tests of surface extraction on a tiny hand-made schema.

use super::*;
use pretty_assertions::assert_eq;
use serde_json::json;

fn write(dir: &Path, file: &str, value: Value) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), value.to_string()).unwrap();
}

fn request(method: &str, params: Option<&str>, mandatory: bool) -> Value {
    let mut props = json!({"id": {"$ref": "#/definitions/RequestId"}, "method": {"enum": [method], "type": "string"}});
    let mut required = vec!["id", "method"];
    if let Some(p) = params {
        props["params"] = json!({"$ref": format!("#/definitions/{p}")});
        if mandatory {
            required.push("params");
        }
    }
    json!({"properties": props, "required": required, "type": "object"})
}

fn schema(root: &Path, with_experimental: bool) {
    let thread_start_props = if with_experimental {
        json!({"cwd": {}, "dynamicTools": {}})
    } else {
        json!({"cwd": {}})
    };
    let mut client = vec![
        request("thread/start", Some("ThreadStartParams"), true),
        request("initialize", Some("InitializeParams"), true),
    ];
    if with_experimental {
        client.push(request(
            "collaborationMode/list",
            Some("CollaborationModeListParams"),
            true,
        ));
    }
    write(root, "ClientRequest.json", json!({"oneOf": client}));
    write(
        root,
        "ServerRequest.json",
        json!({"oneOf": [request("item/tool/call", Some("DynamicToolCallParams"), true)]}),
    );
    write(
        root,
        "ServerNotification.json",
        json!({"oneOf": [{"properties": {"method": {"enum": ["turn/started"]}, "params": {"$ref": "#/definitions/TurnStartedNotification"}}}]}),
    );
    write(
        root,
        "ClientNotification.json",
        json!({"oneOf": [{"properties": {"method": {"enum": ["initialized"]}}}]}),
    );
    write(
        root,
        "codex_app_server_protocol.schemas.json",
        json!({"definitions": {
            "InitializeParams": {"required": ["clientInfo"]},
            "InitializeResponse": {"required": ["userAgent", "codexHome"]},
            "DynamicToolCallParams": {"required": ["tool", "callId"]},
            "DynamicToolCallResponse": {"required": ["success", "contentItems"]},
            "CommandExecutionApprovalDecision": {"oneOf": [
                {"enum": ["accept"]}, {"enum": ["decline"]},
                {"properties": {"acceptWithExecpolicyAmendment": {}}, "required": ["acceptWithExecpolicyAmendment"]}]},
            "v2": {
                "ThreadStartParams": {"required": [], "properties": thread_start_props},
                "ThreadStartResponse": {"required": ["thread", "model"]},
                "HookRunStatus": {"enum": ["running", "completed"]},
                "ReviewTarget": {"oneOf": [{"properties": {"type": {"enum": ["commit"]}}, "required": ["type", "sha"]}]}
            }
        }}),
    );
}

#[test]
fn reduces_a_schema_to_a_sorted_surface() {
    let dir = tempfile::tempdir().unwrap();
    schema(&dir.path().join("plain"), false);
    schema(&dir.path().join("exp"), true);
    let s = from_schema_dirs(&dir.path().join("plain"), &dir.path().join("exp"), "9.9.9").unwrap();
    let methods: Vec<&str> = s
        .client_requests
        .iter()
        .map(|r| r.method.as_str())
        .collect();
    assert_eq!(
        methods,
        ["collaborationMode/list", "initialize", "thread/start"]
    );
    let init = s.client_request("initialize").unwrap();
    assert_eq!(init.required_fields, ["clientInfo"]);
    assert_eq!(init.response.as_deref(), Some("InitializeResponse"));
    assert_eq!(init.response_required_fields, ["codexHome", "userAgent"]);
    assert!(
        !init.experimental
            && s.client_request("collaborationMode/list")
                .unwrap()
                .experimental
    );
    assert_eq!(
        s.client_request("thread/start")
            .unwrap()
            .response_required_fields,
        ["model", "thread"]
    );
    assert_eq!(
        s.server_requests[0].response_required_fields,
        ["contentItems", "success"]
    );
    assert_eq!(
        s.server_notifications[0].params.as_deref(),
        Some("TurnStartedNotification")
    );
    assert_eq!(s.client_notifications[0].method, "initialized");
    assert_eq!(
        s.enums["CommandExecutionApprovalDecision"],
        ["accept", "decline", "{acceptWithExecpolicyAmendment}"]
    );
    assert_eq!(s.enums["HookRunStatus"], ["completed", "running"]);
    assert_eq!(s.enums["ReviewTarget"], ["commit"]);
    let again =
        from_schema_dirs(&dir.path().join("plain"), &dir.path().join("exp"), "9.9.9").unwrap();
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = from_schema_dirs(dir.path(), dir.path(), "1")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("codex_app_server_protocol.schemas.json"),
        "{err}"
    );
}
