//! Hermetic instances through the library launcher (`cas::launch::Launcher`) on the
//! installed codex: instances do not see each other's threads, and one connection carries a
//! 2000-request burst without losing an answer.
//!
//! Every case needs codex: ignored with a reason when it is missing, failing instead under
//! `CAS_REQUIRE_CODEX=1`.

mod support;

use libtest_mimic::{Arguments, Failed};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cas::launch::{HomesSetup, Launcher, Source, Transport};
use cas::policy::ServerRequestPolicy;
use cas::protocol::ClientInfo;

use support::{codex_trial, done, Outcome};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = vec![
        codex_trial(
            "hermetic_instances_do_not_see_each_others_threads",
            isolation,
        ),
        codex_trial(
            "a_2000_request_burst_on_one_connection_loses_nothing",
            burst_2000,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}

fn hermetic_launcher(rt: &tokio::runtime::Runtime, bin: &Path) -> Result<Launcher, Failed> {
    let env = support::target_env();
    let source = Source::Codex {
        bin: bin.to_path_buf(),
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

fn isolation(bin: &Path) -> Outcome {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let launcher = hermetic_launcher(&rt, bin)?;
    let (thread, seen) = rt.block_on(async {
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
        a.session.shutdown(Duration::from_secs(2)).await;
        b.session.shutdown(Duration::from_secs(2)).await;
        Ok::<_, String>((thread, (ids(&seen_a), ids(&seen_b))))
    })?;
    support::same(
        &format!("threads seen by (a, b): only a should see {thread}"),
        &seen,
        &(vec![thread.clone()], Vec::new()),
        &Value::Null,
    )?;
    done()
}

fn burst_2000(bin: &Path) -> Outcome {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let launcher = hermetic_launcher(&rt, bin)?;
    let (answered, lost) = rt.block_on(async {
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
        Ok::<_, String>((ok + refused, lost))
    })?;
    support::same(
        &format!(
            "2000 answers (results or errors), none lost; first lost: {:?}",
            lost.first()
        ),
        &(answered, lost.len()),
        &(2000, 0),
        &Value::Null,
    )?;
    done()
}
