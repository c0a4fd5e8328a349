//! Tests of review outcome classification and the review output document.

use super::*;
use crate::outcome::FailureCode;
use crate::review::record::{CodexFacts, FallbackFacts, ParentFacts, TransportFacts};
use crate::review::target::ReviewTarget;

fn observed(turn_status: &str) -> Observed {
    Observed {
        turn_status: Some(turn_status.into()),
        has_result: true,
        ..Observed::default()
    }
}

/// Every code the classifier can give, with the observation that gives it.
#[test]
fn classifies_each_ending_by_precedence() {
    let mut cases: Vec<(Observed, Option<FailureCode>)> = vec![
        (observed("completed"), None),
        (
            observed("interrupted"),
            Some(FailureCode::ReviewInterrupted),
        ),
        (observed("failed"), Some(FailureCode::ReviewFailed)),
        (
            Observed {
                has_result: false,
                ..observed("completed")
            },
            Some(FailureCode::ReviewOutputMissing),
        ),
        (
            Observed {
                transport_lost: Some("gone".into()),
                ..observed("interrupted")
            },
            Some(FailureCode::ReviewTransportLost),
        ),
        (
            Observed {
                approvals_denied: vec!["item/commandExecution/requestApproval".into()],
                ..observed("completed")
            },
            Some(FailureCode::ApprovalDenied),
        ),
    ];
    for hook in [
        FailureCode::HookBlocked,
        FailureCode::HookFailed,
        FailureCode::HookStopped,
    ] {
        let o = Observed {
            hook_code: Some(hook),
            ..observed("interrupted")
        };
        cases.push((o, Some(hook)));
    }
    for hook in [
        FailureCode::HookNotObserved,
        FailureCode::HookObservedWhileOff,
    ] {
        let o = Observed {
            hook_code: Some(hook),
            ..observed("completed")
        };
        cases.push((o, Some(hook)));
    }
    for (o, want) in cases {
        let (code, hint) = classify(&o);
        assert_eq!(code, want, "{o:?}");
        assert_eq!(hint.is_some(), want.is_some(), "{o:?}");
        if let Some(code) = code {
            assert!(FAILURE_CODES.contains(&code));
        }
    }
}

#[test]
fn parses_the_model_json_and_nothing_else() {
    let text = "```json\n{\"findings\":[{\"title\":\"t\",\"body\":\"b\",\"confidence_score\":0.5,\"priority\":2,\"code_location\":{\"absolute_file_path\":\"/a\",\"line_range\":{\"start\":1,\"end\":2}}}],\"overall_correctness\":\"patch is correct\",\"overall_explanation\":\"fine\",\"overall_confidence_score\":0.9}\n```";
    let r = parse_review_json(text).unwrap();
    assert_eq!(r.findings.len(), 1);
    assert_eq!(
        serde_json::to_value(&r.findings[0]).unwrap()["codeLocation"],
        json!({"absoluteFilePath": "/a", "lineRange": {"start": 1, "end": 2}})
    );
    assert_eq!(r.overall_confidence_score, Some(0.9));
    for bad in ["looks fine", "{}", "{\"findings\": []}", "[1]"] {
        assert!(parse_review_json(bad).is_none(), "{bad}");
    }
}

fn record() -> ReviewRecord {
    ReviewRecord {
        schema_version: 1,
        review_thread_id: Some("th".into()),
        review_turn_id: Some("T1".into()),
        review_started_turn_id: None,
        lane_id: "l".into(),
        status: ReviewStatus::Completed,
        target: ReviewTarget::UncommittedChanges,
        cwd: "/r".into(),
        codex_home: "/h".into(),
        hermetic: true,
        parent: ParentFacts::default(),
        codex: CodexFacts {
            path: "/c".into(),
            version: "0.169.0".into(),
            compatibility_verdict: crate::outcome::CompatibilityVerdict::Compatible,
            compatibility_reasons: Vec::new(),
        },
        transport: TransportFacts {
            selected: crate::review::record::SelectedTransport::Websocket,
            ..TransportFacts::default()
        },
        hook_policy: crate::hooks::HookPolicy::Inherit,
        hook_summary: None,
        server_requests: vec![],
        event_log_path: None,
        created_at_ms: 0,
        updated_at_ms: 0,
        terminal_at_ms: None,
        outcome: Default::default(),
        fallback: None,
    }
}

#[test]
fn success_needs_every_condition_of_the_rule() {
    let mut ok = record();
    ok.outcome.result = parse_review_json(r#"{"findings":[],"overall_explanation":"clean"}"#);
    assert_eq!(document(&ok, None, false)["success"], true);
    assert_eq!(
        document(&ok, None, false)["recordPath"],
        "/h/cas/review_sessions/th.json"
    );
    let mut running = record();
    running.status = ReviewStatus::Running;
    let timed_out = document(&running, None, true);
    assert_eq!(timed_out["failureCode"], "wait_timed_out");
    assert_eq!(timed_out["success"], false);
    assert_eq!(document(&running, None, false)["failureCode"], Value::Null);
    let breakers: [fn(&mut ReviewRecord); 4] = [
        |r| r.codex.compatibility_verdict = crate::outcome::CompatibilityVerdict::Incompatible,
        |r| r.transport.selected = crate::review::record::SelectedTransport::NativeReview,
        |r| r.fallback = Some(FallbackFacts::default()),
        |r| r.outcome.failure_code = Some(FailureCode::HookNotObserved),
    ];
    for breaks in breakers {
        let mut r = ok.clone();
        breaks(&mut r);
        assert_eq!(document(&r, None, false)["success"], false);
    }
    let mut missing = ok.clone();
    missing.outcome.result = None;
    assert_eq!(document(&missing, None, false)["success"], false);
    let fields = [
        "schemaVersion",
        "reviewThreadId",
        "resolvedCodexPath",
        "resolvedCodexVersion",
        "compatibilityVerdict",
        "selectedTransport",
        "selectionReason",
        "degradedFallback",
        "managedServerPid",
        "managedServerListenUrl",
        "managedServerStderrLogPath",
        "orphanTtlSeconds",
        "failureCode",
        "failureHint",
        "reviewResultAvailable",
        "reviewResultSource",
        "reviewResult",
        "fallbackUsed",
        "fallbackTransport",
        "fallbackExitCode",
        "fallbackOutputText",
        "fallbackErrorText",
        "hookSummary",
    ];
    let doc = document(&ok, None, false);
    for field in fields {
        assert!(doc.get(field).is_some(), "missing {field}");
    }
}
