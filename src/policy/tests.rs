//! Table-driven tests of every server-request answer.

use super::*;
use pretty_assertions::assert_eq;

fn decide(config: PolicyConfig, method: &str, params: Value) -> (Reply, PolicyAnswer) {
    ServerRequestPolicy::new(config).decide(method, &params)
}

fn with(f: impl FnOnce(&mut PolicyConfig)) -> PolicyConfig {
    let mut c = PolicyConfig::default();
    f(&mut c);
    c
}

const EXEC: &str = "item/commandExecution/requestApproval";

#[test]
fn approvals_follow_the_choice_and_never_turn_a_decline_into_a_cancel() {
    let amend = json!({"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["echo", "hi"]}});
    // What codex 0.169.0 really offers: no "decline", no "acceptForSession" in the list.
    let offered = json!({"proposedExecpolicyAmendment": ["echo", "hi"],
        "availableDecisions": ["accept", amend.clone(), "cancel"]});
    let not_offered = json!({"proposedExecpolicyAmendment": ["echo", "hi"], "availableDecisions": ["accept", "cancel"]});
    let human = json!({"kind": "humanCommand", "proposedExecpolicyAmendment": ["x"]});
    let cases = [
        (ApprovalChoice::Decline, json!({}), json!("decline")),
        (ApprovalChoice::Accept, json!({}), json!("accept")),
        (
            ApprovalChoice::AcceptForSession,
            json!({}),
            json!("acceptForSession"),
        ),
        (ApprovalChoice::Cancel, json!({}), json!("cancel")),
        (ApprovalChoice::Auto, json!({}), json!("acceptForSession")),
        (ApprovalChoice::Auto, offered.clone(), amend),
        (ApprovalChoice::Auto, not_offered, json!("acceptForSession")),
        (
            ApprovalChoice::AcceptForSession,
            offered.clone(),
            json!("acceptForSession"),
        ),
        (ApprovalChoice::Decline, offered, json!("decline")),
        (ApprovalChoice::Auto, human.clone(), json!("accept")),
        (ApprovalChoice::AcceptForSession, human, json!("accept")),
    ];
    for (choice, params, want) in cases {
        let (reply, _) = decide(with(|c| c.exec_approval = choice), EXEC, params.clone());
        assert_eq!(reply, Ok(json!({"decision": want})), "{choice:?} {params}");
    }
}

#[test]
fn read_only_declines_everything() {
    let config = with(|c| {
        c.read_only = true;
        c.exec_approval = ApprovalChoice::Accept;
        c.file_approval = ApprovalChoice::AcceptForSession;
        c.permissions_approval = PermissionsChoice::GrantSession;
    });
    let policy = ServerRequestPolicy::new(config);
    assert_eq!(
        policy.decide(EXEC, &json!({})).0,
        Ok(json!({"decision": "decline"}))
    );
    assert_eq!(
        policy
            .decide("item/fileChange/requestApproval", &json!({}))
            .0,
        Ok(json!({"decision": "decline"}))
    );
    let perms = policy.decide(
        "item/permissions/requestApproval",
        &json!({"permissions": {"network": {"enabled": true}}}),
    );
    assert_eq!(perms.0, Ok(json!({"permissions": {}, "scope": "turn"})));
}

#[test]
fn permissions_grant_what_was_asked_with_the_scope() {
    let asked = json!({"permissions": {"fileSystem": {"write": ["/w"]}}});
    let cases = [
        (
            PermissionsChoice::Deny,
            json!({"permissions": {}, "scope": "turn"}),
        ),
        (
            PermissionsChoice::GrantTurn,
            json!({"permissions": {"fileSystem": {"write": ["/w"]}}, "scope": "turn"}),
        ),
        (
            PermissionsChoice::GrantSession,
            json!({"permissions": {"fileSystem": {"write": ["/w"]}}, "scope": "session"}),
        ),
    ];
    for (choice, want) in cases {
        let (reply, _) = decide(
            with(|c| c.permissions_approval = choice),
            "item/permissions/requestApproval",
            asked.clone(),
        );
        assert_eq!(reply, Ok(want), "{choice:?}");
    }
}

#[test]
fn user_input_defaults_to_the_first_option_per_question() {
    let params = json!({"questions": [
        {"id": "color", "options": [{"label": "Red"}, {"label": "Blue"}]},
        {"id": "free"}]});
    let (reply, name) = decide(
        PolicyConfig::default(),
        "item/tool/requestUserInput",
        params,
    );
    assert_eq!(
        reply,
        Ok(json!({"answers": {"color": {"answers": ["Red"]}, "free": {"answers": []}}}))
    );
    assert_eq!(name, PolicyAnswer::FirstOption);
    let given = json!({"answers": {"q": {"answers": ["x"]}}});
    let config = with(|c| c.request_user_input_response = Some(given.clone()));
    assert_eq!(
        decide(config, "item/tool/requestUserInput", json!({})).0,
        Ok(given)
    );
}

#[test]
fn elicitation_tool_calls_clock_and_refusals() {
    let (r, _) = decide(
        PolicyConfig::default(),
        "mcpServer/elicitation/request",
        json!({}),
    );
    assert_eq!(r, Ok(json!({"action": "decline", "content": null})));
    let config = with(|c| {
        c.elicitation_action = ElicitationAction::Accept;
        c.elicitation_content = Some(json!({"name": "x"}));
    });
    assert_eq!(config.validate(), Ok(()));
    assert_eq!(
        decide(config, "mcpServer/elicitation/request", json!({})).0,
        Ok(json!({"action": "accept", "content": {"name": "x"}}))
    );
    let (r, _) = decide(PolicyConfig::default(), "item/tool/call", json!({}));
    assert_eq!(r.unwrap()["success"], json!(false));
    let (r, _) = decide(PolicyConfig::default(), "currentTime/read", json!({}));
    assert!(r.unwrap()["currentTimeAt"].as_i64().unwrap() > 1_700_000_000);
    for method in ["account/chatgptAuthTokens/refresh", "attestation/generate"] {
        let (r, name) = decide(PolicyConfig::default(), method, json!({"secret": "x"}));
        assert_eq!(
            (r.unwrap_err().code, name.as_str()),
            (-32603, "refused"),
            "{method}"
        );
    }
}

#[test]
fn legacy_and_unknown_requests_are_refused_and_recorded() {
    let policy = ServerRequestPolicy::new(PolicyConfig::default());
    for method in [
        "execCommandApproval",
        "applyPatchApproval",
        "item/new/thing",
    ] {
        let request = ServerRequest {
            seq: 0,
            id: crate::jsonrpc::RequestId::Int(0),
            method: method.into(),
            params: json!({}),
        };
        let reply = policy.answer(&request).unwrap();
        assert_eq!(reply.unwrap_err().code, -32601, "{method}");
    }
    assert_eq!(
        policy.unsupported(),
        [
            "execCommandApproval",
            "applyPatchApproval",
            "item/new/thing"
        ]
    );
}

#[test]
fn carriers_are_validated() {
    let bad = [
        with(|c| c.request_user_input_response = Some(json!({"answers": {"q": "x"}}))),
        with(|c| c.dynamic_tool_response = Some(json!({"contentItems": [], "success": "yes"}))),
        with(|c| {
            c.dynamic_tool_response =
                Some(json!({"contentItems": [{"type": "text"}], "success": true}))
        }),
        with(|c| c.elicitation_content = Some(json!([1]))),
        with(|c| c.elicitation_action = ElicitationAction::Accept),
        with(|c| {
            c.dynamic_tool_response =
                Some(json!({"contentItems": [{"type": "inputText"}], "success": true}))
        }),
    ];
    for config in bad {
        assert!(config.validate().is_err(), "{config:?}");
    }
    let good = with(|c| {
        c.request_user_input_response = Some(json!({"answers": {"q": {"answers": ["a"]}}}));
        c.dynamic_tool_response =
            Some(json!({"contentItems": [{"type": "inputText", "text": "t"}], "success": true}));
    });
    assert_eq!(good.validate(), Ok(()));
}
