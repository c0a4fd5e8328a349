//! A codex without a websocket listener (`fixtures/review/codex-degraded.sh`): the bootstrap
//! failure, the native review that is only ever a fallback, and the hook policies.

use serde_json::json;

use crate::lab::{Lab, FIXTURE_TITLE};
use crate::support::{self, done, expect, expect_fields, Outcome};

/// The real codex and the degraded wrapper around it.
fn degraded(lab: &Lab) -> (String, String) {
    let script = support::root().join("fixtures/review/codex-degraded.sh");
    (
        lab.codex().display().to_string(),
        script.display().to_string(),
    )
}

pub fn bootstrap_and_fallback(lab: &Lab) -> Outcome {
    let (real, script) = degraded(lab);
    let env = [("CAS_REAL_CODEX", real.as_str())];
    let mut args = vec![
        "review_session",
        "start",
        "--hermetic",
        "--uncommitted",
        "--json",
    ];
    args.extend(["--cwd", lab.repo(), "--codex-bin", &script]);
    let (code, failed) = lab.cas(&args, &env)?;
    expect_fields(
        "websocket_bootstrap_failed, and no silent fallback",
        Some(code),
        &failed,
        json!({
            "exit": 1,
            "failureCode": "websocket_bootstrap_failed",
            "fallbackUsed": false,
            "selectedTransport": "websocket",
        }),
    )?;
    args.extend(["--fallback", "native-review"]);
    let (code, fell_back) = lab.cas(&args, &env)?;
    let output = fell_back["fallbackOutputText"].as_str().unwrap_or_default();
    expect_fields(
        "the native review is reported as a fallback, never as a lane result",
        Some(code),
        &fell_back,
        json!({
            "exit": 1,
            "success": false,
            "failureCode": "websocket_bootstrap_failed",
            "fallbackUsed": true,
            "degradedFallback": true,
            "selectedTransport": "native-review",
            "fallbackExitCode": 0,
            "reviewResultAvailable": false,
            "reviewThreadId": null,
        }),
    )?;
    expect(
        output.contains(FIXTURE_TITLE),
        "the fallback output has the findings",
        &fell_back,
    )?;
    done()
}

pub fn hooks(lab: &Lab) -> Outcome {
    let (real, script) = degraded(lab);
    let mut off = vec![
        "review_session",
        "start",
        "--hermetic",
        "--uncommitted",
        "--json",
    ];
    off.extend([
        "--cwd",
        lab.repo(),
        "--codex-bin",
        &script,
        "--hooks",
        "off",
    ]);
    let (code, doc) = lab.cas(&off, &[("CAS_REAL_CODEX", real.as_str())])?;
    expect_fields(
        "hooks_unsupported, exit 2",
        Some(code),
        &doc,
        json!({
            "exit": 2,
            "failureCode": "hooks_unsupported",
            "compatibilityVerdict": "incompatible",
        }),
    )?;
    let hooks_dir = support::root().join("fixtures/hooks");
    let cases = [
        (None, "hook_not_observed"),
        (Some("failing.json"), "hook_failed"),
        (Some("stopping.json"), "hook_stopped"),
    ];
    for (config, wanted) in cases {
        let path = config.map(|c| hooks_dir.join(c).display().to_string());
        let mut args = vec!["--uncommitted", "--hooks", "require-observed", "--wait"];
        args.extend(["--orphan-ttl-seconds", "1"]);
        if let Some(path) = &path {
            args.extend(["--hooks-config", path.as_str()]);
        }
        let (code, doc) = lab.start(&args)?;
        // A hook that stops the turn leaves no result; the others leave one that still fails.
        let has_result = wanted != "hook_stopped";
        expect_fields(
            &format!("{wanted}: the hook policy fails the review"),
            Some(code),
            &doc,
            json!({
                "exit": 1,
                "failureCode": wanted,
                "hookSummary/failureCode": wanted,
                "success": false,
                "reviewResultAvailable": has_result,
            }),
        )?;
    }
    done()
}
