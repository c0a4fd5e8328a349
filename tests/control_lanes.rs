//! The control lanes end to end: `cas request`, `cas instance_runner` and `cas smoke_check` as a
//! user runs them, against the fake on a real websocket and against the installed codex.
//!
//! Runs under libtest-mimic so codex cases are ignored with a reason when codex is missing (and
//! fail when `CAS_REQUIRE_CODEX=1`), never silently passed.

mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cas::launch::{HomesSetup, Launcher, Source, Transport};
use cas::policy::ServerRequestPolicy;
use cas::protocol::ClientInfo;

use support::{done, expect, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test("request_over_url_reports_the_summary", request_over_url),
        Trial::ignorable_test(
            "a_response_that_never_comes_fails_at_its_deadline",
            never_answered,
        ),
        Trial::ignorable_test("overload_is_retried_and_counted", overload_retried),
        Trial::ignorable_test(
            "server_requests_are_answered_and_unknown_ones_recorded",
            server_requests_recorded,
        ),
        Trial::ignorable_test("bad_flags_exit_2_before_anything_runs", bad_flags),
        Trial::ignorable_test(
            "smoke_check_hermetic_passes_all_seven_checks",
            smoke_hermetic,
        ),
        Trial::ignorable_test("instance_runner_hermetic_12_instances", twelve_instances),
        Trial::ignorable_test(
            "hermetic_instances_do_not_see_each_others_threads",
            isolation,
        ),
        Trial::ignorable_test(
            "a_2000_request_burst_on_one_connection_loses_nothing",
            burst_2000,
        ),
        Trial::ignorable_test("a_state_dir_is_reused_by_the_next_run", state_dir_reused),
        Trial::ignorable_test(
            "smoke_check_require_observed_fails_closed_without_hooks",
            smoke_hooks,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

/// The fake app-server on a loopback websocket, killed on drop.
struct FakeWs {
    child: Child,
    url: String,
    token_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl FakeWs {
    fn start() -> Result<FakeWs, Failed> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "fake-token\n").map_err(|e| e.to_string())?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_cas"))
            .args(["fake_server", "--listen", "ws://127.0.0.1:0", "--scenario"])
            .arg(support::root().join("fixtures/fake/control_lanes.toml"))
            .arg("--ws-token-file")
            .arg(&token_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.trim().strip_prefix("listening on: ") {
                        break url.to_owned();
                    }
                }
                _ => return Err("the fake printed no listen address".into()),
            }
        };
        Ok(FakeWs {
            child,
            url,
            token_file,
            _dir: dir,
        })
    }

    /// Runs cas with the URL and token flags appended; returns (exit code, stdout JSON).
    fn cas(&self, args: &[&str]) -> Result<(i32, Value), Failed> {
        let out = Command::new(env!("CARGO_BIN_EXE_cas"))
            .args(args)
            .envs(support::xdg_dirs())
            .args(["--url", &self.url, "--token-file"])
            .arg(&self.token_file)
            .output()
            .map_err(|e| e.to_string())?;
        let json = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "stdout is not JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok((out.status.code().unwrap_or(-1), json))
    }
}

impl Drop for FakeWs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request_over_url() -> Outcome {
    let fake = FakeWs::start()?;
    let (code, doc) = fake.cas(&["request", "--method", "thread/list", "--json"])?;
    expect(code == 0 && doc["ok"] == true, "request failed", &doc)?;
    expect(
        doc["check"] == "request" && doc["schemaVersion"] == 1 && doc["codex"].is_null(),
        "wrong header",
        &doc,
    )?;
    expect(
        doc["params"] == json!({"cursor": null, "limit": 1}),
        "params must be an object",
        &doc,
    )?;
    expect(
        doc["results"][0]["summary"]
            == json!({"rows": 1, "firstThreadId": "thread-a", "nextCursor": ""}),
        "summary",
        &doc,
    )?;
    expect(
        doc["results"][0]["transport"] == "ws" && doc["instancesStarted"] == 1,
        "result fields",
        &doc,
    )?;
    done()
}

fn never_answered() -> Outcome {
    let fake = FakeWs::start()?;
    let t0 = Instant::now();
    let args = [
        "request",
        "--method",
        "thread/read",
        "--params-json",
        r#"{"threadId":"x"}"#,
        "--request-timeout-ms",
        "500",
        "--json",
    ];
    let (code, doc) = fake.cas(&args)?;
    expect(
        code == 1 && doc["requestsFailed"] == 1,
        "a hung request must fail",
        &doc,
    )?;
    expect(
        doc["results"][0]["error"] == "no response to thread/read within 500ms",
        "clear message",
        &doc,
    )?;
    expect(
        t0.elapsed() < Duration::from_secs(5),
        "it took too long",
        &doc,
    )?;
    done()
}

fn overload_retried() -> Outcome {
    let fake = FakeWs::start()?;
    let args = [
        "request",
        "--method",
        "model/list",
        "--backoff-base-ms",
        "5",
        "--retry-seed",
        "3",
        "--json",
    ];
    let (code, doc) = fake.cas(&args)?;
    expect(
        code == 0 && doc["retries"] == 2 && doc["results"][0]["attempts"] == 3,
        "two retries, then success",
        &doc,
    )?;
    let delays = doc["results"][0]["retryDelaysMs"].as_array().map(Vec::len);
    expect(delays == Some(2), "the two delays are reported", &doc)?;
    let args = [
        "instance_runner",
        "--instances",
        "2",
        "--sample",
        "1",
        "--method",
        "model/list",
        "--max-retries",
        "1",
        "--backoff-base-ms",
        "5",
        "--json",
    ];
    let (code, doc) = fake.cas(&args)?;
    // Each connection has its own rule counters: two overloads each, one retry each: both fail.
    expect(
        code == 1 && doc["requestsFailed"] == 2,
        "past the budget both fail",
        &doc,
    )?;
    let error = doc["results"][0]["error"].as_str().unwrap_or_default();
    expect(
        error.contains("-32001") && error.contains("gave up: retry_budget after 2 attempts"),
        "attempts counted",
        &doc,
    )?;
    done()
}

fn server_requests_recorded() -> Outcome {
    let fake = FakeWs::start()?;
    let (code, doc) = fake.cas(&[
        "request",
        "--method",
        "config/read",
        "--file-approval",
        "acceptForSession",
        "--json",
    ])?;
    expect(code == 0, "config/read failed", &doc)?;
    // The answers may still be in flight when the result arrives; both were answered at once.
    expect(
        doc["unsupportedServerRequests"] == json!(["item/fromTheFuture/ask"]),
        "unknown recorded",
        &doc,
    )?;
    let answers = doc["serverRequests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    expect(answers.contains(&json!({"method": "item/fileChange/requestApproval", "answer": "acceptForSession", "count": 1})), "file approval", &doc)?;
    done()
}

fn bad_flags() -> Outcome {
    let cases: [&[&str]; 5] = [
        &["request", "--params-json", "[1]"],
        &[
            "request",
            "--dynamic-tool-response-json",
            r#"{"success":"yes"}"#,
        ],
        &["request", "--exec-approval", "sometimes"],
        &["instance_runner", "--instances", "0"],
        &[
            "request",
            "--url",
            "ws://127.0.0.1:9",
            "--state-dir",
            "/tmp/x",
        ],
    ];
    for args in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_cas"))
            .args(args)
            .envs(support::xdg_dirs())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.code() != Some(2) || !out.stdout.is_empty() {
            return Err(format!(
                "{args:?}: exit {:?}, stdout {:?}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout)
            )
            .into());
        }
    }
    done()
}

fn smoke_hermetic() -> Outcome {
    if let Some(ignored) = support::codex_gate()? {
        return Ok(ignored);
    }
    for transport in ["stdio", "ws"] {
        let (code, doc) = support::cas_json(&[
            "smoke_check",
            "--hermetic",
            "--transport",
            transport,
            "--json",
        ])?;
        let names: Vec<&str> = doc["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        let want = [
            "handshake",
            "experimentalFeature/list",
            "thread/start",
            "turn/start",
            "turn/steer",
            "turn/interrupt",
            "thread/resume",
        ];
        expect(
            code == 0 && doc["ok"] == true && names == want,
            "seven checks, all ok",
            &doc,
        )?;
        let all_ok =
            doc["checks"].as_array().into_iter().flatten().all(|c| {
                c["ok"] == true && c["detail"].as_str().is_some_and(|d| d.starts_with("ok"))
            });
        expect(
            all_ok,
            "every check proved its method, no precondition refusals",
            &doc,
        )?;
    }
    done()
}

fn twelve_instances() -> Outcome {
    if let Some(ignored) = support::codex_gate()? {
        return Ok(ignored);
    }
    let (code, doc) = support::cas_json(&[
        "instance_runner",
        "--hermetic",
        "--instances",
        "12",
        "--method",
        "thread/list",
        "--json",
    ])?;
    let results = doc["results"].as_array().cloned().unwrap_or_default();
    expect(
        code == 0 && results.len() == 12 && results.iter().all(|r| r["ok"] == true),
        "12 ok results",
        &doc,
    )?;
    let instances: Vec<u64> = results
        .iter()
        .filter_map(|r| r["instance"].as_u64())
        .collect();
    expect(
        instances == (1..=12).collect::<Vec<_>>(),
        "every instance reported once",
        &doc,
    )?;
    done()
}

fn hermetic_launcher(rt: &tokio::runtime::Runtime) -> Result<Launcher, Failed> {
    let env = support::target_env();
    let bin = env.codex.resolve().map_err(|e| e.to_string())?;
    let source = Source::Codex {
        bin,
        transport: Transport::Stdio,
        cwd: env.scratch_root.clone(),
        extra_args: Vec::new(),
        hooks: None,
        state_dir: None,
        scratch: env.scratch_root,
        homes: HomesSetup::Hermetic,
    };
    rt.block_on(Launcher::prepare(source))
        .map_err(|e| e.to_string().into())
}

async fn ask(s: &cas::session::Session, method: &str, params: Value) -> Result<Value, String> {
    let reply = s
        .request(method, Some(params), Duration::from_secs(20))
        .await
        .map_err(|e| e.to_string())?;
    reply.map_err(|e| e.to_string())
}

fn client(name: &str) -> ClientInfo {
    ClientInfo::named(name)
}

fn isolation() -> Outcome {
    if let Some(ignored) = support::codex_gate()? {
        return Ok(ignored);
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let launcher = hermetic_launcher(&rt)?;
    rt.block_on(async {
        let wait = Duration::from_secs(20);
        let policy = || Arc::new(ServerRequestPolicy::default());
        let a = launcher
            .start(&client("a"), policy(), None, wait, None)
            .await
            .map_err(|e| e.to_string())?;
        let b = launcher
            .start(&client("b"), policy(), None, wait, None)
            .await
            .map_err(|e| e.to_string())?;
        let started = ask(&a.session, "thread/start", json!({})).await?;
        let thread = started["thread"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let input = json!([{"type": "text", "text": "[[say:persist me]]", "text_elements": []}]);
        ask(
            &a.session,
            "turn/start",
            json!({"threadId": thread, "input": input}),
        )
        .await?;
        a.session
            .await_notification("turn/completed", wait, |n| n.method == "turn/completed")
            .await
            .map_err(|e| e.to_string())?;
        let list = json!({"modelProviders": []});
        let seen_a = ask(&a.session, "thread/list", list.clone()).await?;
        let seen_b = ask(&b.session, "thread/list", list).await?;
        let ids = |v: &Value| {
            v["data"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|t| t["id"].as_str().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        if ids(&seen_a) != vec![thread.clone()] || !ids(&seen_b).is_empty() {
            return Err(format!(
                "a sees {:?}, b sees {:?}; only a should see {thread}",
                ids(&seen_a),
                ids(&seen_b)
            ));
        }
        a.session.shutdown(Duration::from_secs(2)).await;
        b.session.shutdown(Duration::from_secs(2)).await;
        Ok(())
    })?;
    done()
}

fn burst_2000() -> Outcome {
    if let Some(ignored) = support::codex_gate()? {
        return Ok(ignored);
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let launcher = hermetic_launcher(&rt)?;
    rt.block_on(async {
        let wait = Duration::from_secs(60);
        let inst = launcher
            .start(
                &client("burst"),
                Arc::new(ServerRequestPolicy::default()),
                None,
                wait,
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        let session = Arc::new(inst.session);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..2000 {
            let s = session.clone();
            tasks.spawn(async move {
                s.request("thread/list", Some(json!({"limit": 1})), wait)
                    .await
            });
        }
        let (mut ok, mut refused, mut lost) = (0, 0, Vec::new());
        while let Some(joined) = tasks.join_next().await {
            match joined.map_err(|e| e.to_string())? {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(_)) => refused += 1,
                Err(e) => lost.push(e.to_string()),
            }
        }
        if ok + refused != 2000 || !lost.is_empty() {
            return Err(format!(
                "{ok} results, {refused} errors, {} without an answer: {:?}",
                lost.len(),
                lost.first()
            ));
        }
        Ok(())
    })?;
    done()
}

fn state_dir_reused() -> Outcome {
    if let Some(ignored) = support::codex_gate()? {
        return Ok(ignored);
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
    let state = dir.path().to_str().ok_or("path")?;
    let args = [
        "instance_runner",
        "--hermetic",
        "--instances",
        "4",
        "--sample",
        "1",
        "--state-dir",
        state,
        "--json",
    ];
    for run in ["first", "second"] {
        let (code, doc) = support::cas_json(&args)?;
        expect(
            code == 0 && doc["instancesStarted"] == 4,
            &format!("{run} run"),
            &doc,
        )?;
    }
    // Kept homes are real copies: they must not point into a template that is gone.
    let skills = dir.path().join("cas-instance-1/skills");
    let is_link = skills
        .symlink_metadata()
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(true);
    if is_link || !skills.is_dir() {
        return Err(format!("{} is not a real folder", skills.display()).into());
    }
    done()
}

fn smoke_hooks() -> Outcome {
    if let Some(ignored) = support::codex_gate()? {
        return Ok(ignored);
    }
    let base = [
        "smoke_check",
        "--hermetic",
        "--hooks",
        "require-observed",
        "--json",
    ];
    let (code, doc) = support::cas_json(&base)?;
    expect(
        code == 1 && doc["failureCode"] == "hook_not_observed",
        "no hooks: hook_not_observed, exit 1",
        &doc,
    )?;
    expect(
        doc["hookSummary"]["observed"] == false,
        "nothing observed",
        &doc,
    )?;
    let with = [
        &base[..],
        &["--hooks-config", "fixtures/hooks/complete.json"],
    ]
    .concat();
    let (code, doc) = support::cas_json(&with)?;
    expect(
        code == 0 && doc["hookSummary"]["observed"] == true && doc["failureCode"].is_null(),
        "hooks observed, exit 0",
        &doc,
    )?;
    let log = doc["hookSummary"]["hookLogPath"]
        .as_str()
        .unwrap_or_default();
    let lines = std::fs::read_to_string(log).map_err(|e| format!("hook log {log}: {e}"))?;
    let first: Value =
        serde_json::from_str(lines.lines().next().unwrap_or("")).map_err(|e| e.to_string())?;
    expect(
        first["method"] == "hook/started",
        "the log holds the raw notifications",
        &first,
    )?;
    let off = [
        "smoke_check",
        "--hermetic",
        "--hooks",
        "off",
        "--hooks-config",
        "fixtures/hooks/complete.json",
        "--json",
    ];
    let (code, doc) = support::cas_json(&off)?;
    expect(
        code == 0 && doc["hookSummary"]["observed"] == false,
        "hooks off: none run",
        &doc,
    )?;
    done()
}
