//! `cas smoke_check` on the installed codex as a user runs it: the seven checks on both
//! transports, the hook policies (`require-observed`, `off`) with and without hooks, what each
//! result proves (`--turn-completes` on the mock and on a model provider that refuses), and the
//! refused user inputs (an unknown `--thread-id`, a `--cwd` that is not a directory).
//!
//! Every case needs codex: ignored with a reason when it is missing, failing instead under
//! `CAS_REQUIRE_CODEX=1`.

mod support;

use libtest_mimic::Arguments;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{cas, cas_json, codex_trial, done, expect_fields, JsonRun, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        codex_trial(
            "smoke_check_hermetic_passes_all_seven_checks",
            smoke_hermetic,
        ),
        codex_trial(
            "smoke_check_require_observed_fails_closed_without_hooks",
            smoke_hooks,
        ),
        codex_trial("smoke_check_unknown_thread_id_fails", smoke_unknown_thread),
        codex_trial("smoke_check_cwd_not_a_directory_fails", smoke_invalid_cwd),
        codex_trial(
            "smoke_check_turn_completes_hermetic_proves_turn_completion",
            smoke_turn_completes,
        ),
        codex_trial(
            "smoke_check_turn_completes_fails_on_a_refusing_provider",
            smoke_refusing_provider,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn smoke_hermetic(_codex: &Path) -> Outcome {
    for transport in ["stdio", "ws"] {
        let (code, doc) = cas_json(&[
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
        expect_fields(
            "seven checks, all ok, proving reachability",
            Some(code),
            &doc,
            json!({"exit": 0, "ok": true, "proves": "reachability", "failureCode": null}),
        )?;
        let proves: Vec<(&str, Value)> = checks_field(&doc, "proves");
        support::same(
            "every check proves reachability",
            &proves,
            &want.map(|n| (n, json!("reachability"))).to_vec(),
            &doc,
        )?;
        support::same("the seven checks", &names, &want.to_vec(), &doc)?;
        // Every check proved its method: no precondition refusals.
        let proved: Vec<(bool, bool)> = doc["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let detail = c["detail"].as_str();
                (c["ok"] == true, detail.is_some_and(|d| d.starts_with("ok")))
            })
            .collect();
        support::same(
            "every check proved its method (ok, detail starts with ok)",
            &proved,
            &vec![(true, true); proved.len()],
            &doc,
        )?;
    }
    done()
}

fn smoke_hooks(_codex: &Path) -> Outcome {
    let base = [
        "smoke_check",
        "--hermetic",
        "--hooks",
        "require-observed",
        "--json",
    ];
    let (code, doc) = cas_json(&base)?;
    expect_fields(
        "no hooks: hook_not_observed, exit 1, nothing observed",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "hook_not_observed", "hookSummary/observed": false}),
    )?;
    let with = [
        &base[..],
        &["--hooks-config", "fixtures/hooks/complete.json"],
    ]
    .concat();
    let (code, doc) = cas_json(&with)?;
    expect_fields(
        "hooks observed, exit 0",
        Some(code),
        &doc,
        json!({"exit": 0, "hookSummary/observed": true, "failureCode": null}),
    )?;
    let log = doc["hookSummary"]["hookLogPath"]
        .as_str()
        .unwrap_or_default();
    let lines = std::fs::read_to_string(log).map_err(|e| format!("hook log {log}: {e}"))?;
    let first: Value =
        serde_json::from_str(lines.lines().next().unwrap_or("")).map_err(|e| e.to_string())?;
    expect_fields(
        "the log holds the raw notifications",
        None,
        &first,
        json!({"method": "hook/started"}),
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
    let (code, doc) = cas_json(&off)?;
    expect_fields(
        "hooks off: none run",
        Some(code),
        &doc,
        json!({"exit": 0, "hookSummary/observed": false}),
    )?;
    done()
}

/// `(name, field)` of every check of a report.
fn checks_field<'a>(doc: &'a Value, field: &str) -> Vec<(&'a str, Value)> {
    doc["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["name"].as_str().unwrap_or(""), c[field].clone()))
        .collect()
}

fn smoke_unknown_thread(_codex: &Path) -> Outcome {
    // Not a uuid ("invalid session id") and a uuid no server knows ("no rollout found").
    for id in ["bogus", "01a1feea-0000-7000-8000-000000000000"] {
        let (code, doc) = cas_json(&["smoke_check", "--hermetic", "--thread-id", id, "--json"])?;
        expect_fields(
            "an unknown --thread-id fails with unknown_thread, exit 1",
            Some(code),
            &doc,
            json!({"exit": 1, "ok": false, "failureCode": "unknown_thread"}),
        )?;
        let codes = checks_field(&doc, "failureCode");
        support::same(
            "resume and turn/start refuse the thread",
            &codes[2..4].to_vec(),
            &vec![
                ("thread/resume", json!("unknown_thread")),
                ("turn/start", json!("unknown_thread")),
            ],
            &doc,
        )?;
    }
    done()
}

fn smoke_invalid_cwd(_codex: &Path) -> Outcome {
    let (code, doc) = cas_json(&["smoke_check", "--hermetic", "--cwd", "Cargo.toml", "--json"])?;
    expect_fields(
        "a --cwd that is a file fails with invalid_cwd before any server starts",
        Some(code),
        &doc,
        json!({"exit": 1, "failureCode": "invalid_cwd", "checks/0/name": "handshake",
            "checks/0/failureCode": "invalid_cwd"}),
    )?;
    done()
}

fn smoke_turn_completes(_codex: &Path) -> Outcome {
    let (code, doc) = cas_json(&["smoke_check", "--hermetic", "--turn-completes", "--json"])?;
    expect_fields(
        "the mock answers: the turn completes",
        Some(code),
        &doc,
        json!({"exit": 0, "ok": true, "proves": "turn_completion", "failureCode": null}),
    )?;
    let proves = checks_field(&doc, "proves");
    let want = [
        ("handshake", "reachability"),
        ("experimentalFeature/list", "reachability"),
        ("thread/start", "reachability"),
        ("turn/start", "reachability"),
        ("turn/completed", "turn_completion"),
        ("thread/resume", "reachability"),
    ];
    support::same(
        "no steer or interrupt; turn/completed proves turn completion",
        &proves,
        &want.map(|(n, p)| (n, json!(p))).to_vec(),
        &doc,
    )?;
    done()
}

fn smoke_refusing_provider(_codex: &Path) -> Outcome {
    let provider = RefusingProvider::start()?;
    let home = tempfile::tempdir().map_err(|e| format!("temp home: {e}"))?;
    std::fs::write(home.path().join("config.toml"), provider.config_toml())
        .map_err(|e| format!("config.toml: {e}"))?;
    let args = ["smoke_check", "--turn-completes", "--json"];
    let run = JsonRun::of(cas().env("CODEX_HOME", home.path()).args(args))?;
    let (code, doc) = run.pair();
    expect_fields(
        "a provider answering HTTP 500 fails the turn with codex's message",
        Some(code),
        &doc,
        json!({"exit": 1, "ok": false, "proves": "turn_completion", "failureCode": "turn_failed",
            "checks/4/name": "turn/completed", "checks/4/failureCode": "turn_failed"}),
    )?;
    let detail = doc["checks"][4]["detail"].as_str().unwrap_or_default();
    support::expect(
        detail.contains("currently experiencing high demand"),
        "the detail carries codex's error message",
        &doc,
    )?;
    done()
}

/// A model provider on 127.0.0.1 that answers every request with HTTP 500, until dropped.
struct RefusingProvider {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl RefusingProvider {
    fn start() -> Result<RefusingProvider, libtest_mimic::Failed> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(180);
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => refuse(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(RefusingProvider { port, stop })
    }

    /// A CODEX_HOME config whose model provider is this server, without retries.
    fn config_toml(&self) -> String {
        format!(
            r#"model = "mock-model"
approval_policy = "never"
sandbox_mode = "read-only"
model_provider = "refusing"

[model_providers.refusing]
name = "a provider that refuses"
base_url = "http://127.0.0.1:{}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
"#,
            self.port
        )
    }
}

impl Drop for RefusingProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads one request (headers and a `content-length` body) and answers HTTP 500.
fn refuse(stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut length = 0usize;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim_end() != "" {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        line.clear();
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let reply = "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 12\r\nconnection: close\r\n\r\nmock failure";
    let _ = (&stream).write_all(reply.as_bytes());
}
