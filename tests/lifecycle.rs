//! Servers that die and servers that must not outlive cas: proofs against real processes.
//!
//! Runs under libtest-mimic so the real-codex cases are ignored with a reason when codex is
//! missing (and fail when `CAS_REQUIRE_CODEX=1`), never silently passed.

mod support;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cas::launch::HermeticHome;
use cas::launch::MockModel;
use cas::launch::ServerSpec;
use cas::protocol::ClientInfo;
use cas::scenario::{self, TargetName};
use cas::session::{QueueServerRequests, Session};

use support::{Codex, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test(
            "killed_fake_server_gives_a_prompt_clear_verdict",
            killed_fake_server,
        ),
        support::codex_trial(
            "killed_codex_mid_turn_wakes_the_waiter_promptly",
            killed_codex_mid_turn,
        ),
        Trial::ignorable_test(
            "dropped_connection_kills_its_server",
            dropped_connection_kills_server,
        ),
        Trial::ignorable_test(
            "no_server_outlives_a_run_on_any_target",
            no_server_outlives_runs,
        ),
    ];
    // One at a time: the last trial counts this process's children.
    let mut args = args;
    args.test_threads = Some(1);
    libtest_mimic::run(&args, trials).exit_code()
}

fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}").into())
}

fn killed_fake_server() -> Outcome {
    let dir = support::root().join("scenarios");
    let path = scenario::find(&dir, "server_crash_midrequest").map_err(|e| e.to_string())?;
    let s = scenario::load(&dir, &path).map_err(|e| e.to_string())?;
    let env = support::target_env();
    let started = Instant::now();
    let verdict = runtime()?.block_on(scenario::run(&s, TargetName::FakeStdio, &env));
    let elapsed = started.elapsed();
    let failure = verdict
        .failures
        .first()
        .ok_or("the crash produced no failure")?;
    let clear = (
        failure.code.as_str() == "connection_closed",
        failure.message.contains("killed by signal 9"),
    );
    support::same(
        &format!("a clear failure (connection_closed, killed by signal 9): {failure:?}"),
        &clear,
        &(true, true),
        &serde_json::Value::Null,
    )?;
    // The step's own deadline is 10 s: the verdict must come from the close, not the timeout.
    if elapsed > Duration::from_secs(5) {
        return Err(format!("the verdict took {elapsed:?}").into());
    }
    Ok(Completion::Completed)
}

fn killed_codex_mid_turn(bin: &Path) -> Outcome {
    let bin = bin.to_path_buf();
    let env = support::target_env();
    runtime()?.block_on(async move {
        let mock = MockModel::start().await;
        let home =
            HermeticHome::create(&env.scratch_root, &mock.base_url()).map_err(|e| e.to_string())?;
        let spec = ServerSpec {
            bin,
            codex_home: home.path().into(),
            cwd: home.workdir(),
            extra_args: vec![],
            env: vec![],
        };
        let session = Session::start(
            spec.spawn_stdio().map_err(|e| e.to_string())?,
            Arc::new(QueueServerRequests),
        );
        let client = ClientInfo::named("cas-test");
        let wait = Duration::from_secs(10);
        session
            .initialize(&client, wait)
            .await
            .map_err(|e| e.to_string())?;
        let started = session
            .request("thread/start", Some(json!({})), wait)
            .await
            .map_err(|e| e.to_string())?;
        let thread_id = started.map_err(|e| e.to_string())?["thread"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let input = json!([{"type": "text", "text": "[[stall:30]]", "text_elements": []}]);
        let turn = session
            .request(
                "turn/start",
                Some(json!({"threadId": thread_id, "input": input})),
                wait,
            )
            .await;
        turn.map_err(|e| e.to_string())?
            .map_err(|e| format!("turn/start refused: {e}"))?;
        let pid = session.child().and_then(|c| c.pid()).ok_or("no pid")?;
        // SAFETY: kill(2) on the child we own with a valid signal.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        let t0 = Instant::now();
        let err = session
            .await_notification("turn/completed", Duration::from_secs(30), |n| {
                n.method == "turn/completed"
            })
            .await
            .err()
            .ok_or("a killed server completed its turn")?;
        let message = err.to_string();
        let prompt = (
            message.contains("killed by signal 9"),
            t0.elapsed() <= Duration::from_secs(5),
        );
        support::same(
            &format!(
                "the waiter woke promptly (killed by signal 9, within 5 s) after {:?}: {message}",
                t0.elapsed()
            ),
            &prompt,
            &(true, true),
            &serde_json::Value::Null,
        )?;
        session.shutdown(Duration::from_secs(1)).await;
        Ok(Completion::Completed)
    })
}

fn dropped_connection_kills_server() -> Outcome {
    let path = support::root().join("scenarios/handshake.toml");
    runtime()?.block_on(async move {
        let mut command = tokio::process::Command::from(support::cas_process());
        command.arg("fake_server").arg("--scenario").arg(&path);
        let connection =
            cas::transport::stdio::spawn(command, "cas fake_server").map_err(|e| e.to_string())?;
        let pid = connection.child().and_then(|c| c.pid()).ok_or("no pid")?;
        drop(connection);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if support::live_children().iter().all(|(p, _)| *p != pid) {
                return Ok(Completion::Completed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("server {pid} still alive 5 s after its connection was dropped").into())
    })
}

fn no_server_outlives_runs() -> Outcome {
    let dir = support::root().join("scenarios");
    let env = support::target_env();
    let have_codex = matches!(support::codex_gate()?, Codex::Found(_));
    let rt = runtime()?;
    for name in ["handshake", "server_crash_midrequest"] {
        let path = scenario::find(&dir, name).map_err(|e| e.to_string())?;
        let s = scenario::load(&dir, &path).map_err(|e| e.to_string())?;
        for target in s.targets.iter().filter(|t| have_codex || !t.is_codex()) {
            rt.block_on(scenario::run(&s, *target, &env));
        }
    }
    drop(rt);
    let alive = support::live_children();
    if !alive.is_empty() {
        return Err(format!("still running after the runs: {alive:?}").into());
    }
    if !have_codex {
        return Ok(Completion::ignored_with(
            "fake targets checked; no codex found for the codex targets",
        ));
    }
    Ok(Completion::Completed)
}
