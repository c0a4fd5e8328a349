//! `cas bench`: cas against a no-framework client, side by side, on the same servers, in one run.
//!
//! Two measurements. Fanout: `cas instance_runner --hermetic --instances N --sample 1` (the real
//! CLI, as a child) against the baseline client starting N fresh-home codex servers from
//! threads, each doing the handshake and one `thread/list`. One connection: requests per second
//! and client CPU per request, sequential and with a window in flight, against codex and against
//! the fake (both children, so only client CPU is counted). Each figure is the median of runs.

pub mod baseline;
pub mod suite;

use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::errors::{BaselineError, BenchError, BenchServer};
use crate::launch::{HermeticHome, HomesSetup, InstanceHome, Launcher, Source, Transport};
use crate::policy::ServerRequestPolicy;
use crate::protocol::ClientInfo;
use crate::resources::cpu_time;
use crate::session::Session;
use crate::summary::millis;
use baseline::LineClient;

/// The fake's script for the one-connection lane: `thread/list` answered at once.
const FAKE_SCENARIO: &str = "description = \"bench\"\ntargets = [\"fake-stdio\"]\n\
[[fake.rules]]\nmethod = \"thread/list\"\nresult = { data = [] }\n\
[[steps]]\nnotify = { method = \"initialized\" }\n";

/// The longest any single measured run may take.
const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// The codex binary.
    pub codex: PathBuf,
    /// The cas binary (for the CLI fanout and the fake server).
    pub cas: PathBuf,
    /// Instance counts for the fanout.
    pub fanout: Vec<usize>,
    /// Repetitions of each figure (the median is reported).
    pub runs: usize,
    /// Requests per one-connection measurement.
    pub requests: u64,
    /// Requests in flight in the windowed mode.
    pub window: u64,
    /// Where homes and scratch files go.
    pub scratch: PathBuf,
}

/// One fanout row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FanoutRow {
    /// Instances.
    pub instances: usize,
    /// cas wall time, ms (median).
    pub cas_ms: f64,
    /// Baseline wall time, ms (median).
    pub baseline_ms: f64,
    /// cas / baseline.
    pub ratio: f64,
    /// cas's own peak RSS in the median run, KiB.
    pub cas_peak_rss_kb: u64,
}

/// One client's figures on one connection.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneFigures {
    /// Requests per second (median run).
    pub rps: f64,
    /// Client CPU per request, µs (median run).
    pub cpu_us_per_request: f64,
}

/// One connection row: a server, a mode, both clients.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRow {
    /// The server measured.
    pub server: BenchServer,
    /// `sequential` or `window-K`.
    pub mode: String,
    /// Requests per run.
    pub requests: u64,
    /// cas.
    pub cas: LaneFigures,
    /// The baseline.
    pub baseline: LaneFigures,
    /// cas rps / baseline rps.
    pub rps_ratio: f64,
}

/// Runs every measurement; errors are setup failures (exit 2).
pub async fn run(plan: &BenchPlan, log: &(dyn Fn(&str) + Sync)) -> Result<Value, BenchError> {
    std::fs::create_dir_all(&plan.scratch).map_err(|source| BenchError::Scratch {
        path: plan.scratch.clone(),
        source,
    })?;
    let mut fanout = Vec::new();
    for &n in &plan.fanout {
        log(&format!("fanout {n}"));
        fanout.push(fanout_row(plan, n).await?);
    }
    let mut connection = Vec::new();
    for server in [BenchServer::Codex, BenchServer::Fake] {
        for window in [1, plan.window] {
            log(&format!("one connection: {server}, window {window}"));
            connection.push(connection_row(plan, server, window).await?);
        }
    }
    Ok(json!({
        "schemaVersion": 1,
        "check": "bench",
        "codex": {"path": plan.codex},
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "runs": plan.runs,
        "fanout": fanout,
        "oneConnection": connection,
    }))
}

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

async fn fanout_row(plan: &BenchPlan, n: usize) -> Result<FanoutRow, BenchError> {
    let model_url = "http://127.0.0.1:9/v1";
    let (mut cas, mut base) = (Vec::new(), Vec::new());
    for _ in 0..plan.runs {
        let mut command = tokio::process::Command::new(&plan.cas);
        command
            .args([
                "instance_runner",
                "--hermetic",
                "--sample",
                "1",
                "--method",
                "thread/list",
                "--json",
            ])
            .args(["--instances", &n.to_string()])
            .arg("--codex-bin")
            .arg(&plan.codex)
            .kill_on_drop(true);
        let t0 = Instant::now();
        let out = tokio::time::timeout(RUN_DEADLINE, command.output())
            .await
            .map_err(|_| BenchError::RunTimeout(RUN_DEADLINE))?
            .map_err(BenchError::RunCas)?;
        let wall = millis(t0.elapsed());
        let doc: Value = serde_json::from_slice(&out.stdout).map_err(BenchError::CasOutput)?;
        if doc["ok"] != true {
            return Err(BenchError::CasFailed(doc));
        }
        cas.push((wall, doc["client"]["peakRssKb"].as_u64().unwrap_or(0)));
        let root = plan.scratch.clone();
        let codex = plan.codex.clone();
        let took =
            tokio::task::spawn_blocking(move || baseline::fanout(n, &codex, &root, model_url))
                .await
                .map_err(BenchError::Join)?
                .map_err(|source| BenchError::Baseline {
                    what: "fanout",
                    source,
                })?;
        base.push(millis(took));
    }
    cas.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (cas_ms, cas_peak_rss_kb) = cas[cas.len() / 2];
    let baseline_ms = median(base);
    Ok(FanoutRow {
        instances: n,
        cas_ms,
        baseline_ms,
        ratio: cas_ms / baseline_ms,
        cas_peak_rss_kb,
    })
}

async fn connection_row(
    plan: &BenchPlan,
    server: BenchServer,
    window: u64,
) -> Result<ConnectionRow, BenchError> {
    let (mut cas_runs, mut base_runs) = (Vec::new(), Vec::new());
    let scenario = plan.scratch.join("bench-fake.toml");
    std::fs::write(&scenario, FAKE_SCENARIO).map_err(BenchError::WriteScenario)?;
    let home = HermeticHome::create(&plan.scratch, "http://127.0.0.1:9/v1")?;
    for _ in 0..plan.runs {
        cas_runs.push(cas_connection(plan, server, window, &scenario).await?);
        let command = match server {
            BenchServer::Codex => baseline::stdio_command(&plan.codex, home.path()),
            BenchServer::Fake => fake_command(&plan.cas, &scenario),
        };
        let (requests, window) = (plan.requests, window);
        let figures = tokio::task::spawn_blocking(move || baseline_run(command, requests, window))
            .await
            .map_err(BenchError::Join)?
            .map_err(|source| BenchError::Baseline {
                what: server.as_str(),
                source,
            })?;
        base_runs.push(figures);
    }
    // Each run is (wall, client CPU, requests actually sent).
    let figures = |runs: &[(Duration, Duration, u64)]| LaneFigures {
        rps: median(
            runs.iter()
                .map(|(w, _, n)| *n as f64 / w.as_secs_f64())
                .collect(),
        ),
        cpu_us_per_request: median(
            runs.iter()
                .map(|(_, c, n)| c.as_micros() as f64 / *n as f64)
                .collect(),
        ),
    };
    let (cas, baseline) = (figures(&cas_runs), figures(&base_runs));
    Ok(ConnectionRow {
        server,
        mode: if window <= 1 {
            "sequential".into()
        } else {
            format!("window-{window}")
        },
        requests: plan.requests,
        cas,
        baseline,
        rps_ratio: cas.rps / baseline.rps,
    })
}

/// One baseline run on one connection: (wall, client CPU, requests sent).
fn baseline_run(
    command: Command,
    requests: u64,
    window: u64,
) -> Result<(Duration, Duration, u64), BaselineError> {
    let mut client = LineClient::spawn(command)?;
    client.handshake("baseline")?;
    let cpu0 = cpu_time();
    let params = r#"{"limit":1}"#;
    let wall = if window <= 1 {
        baseline::sequential(&mut client, requests, "thread/list", params)?
    } else {
        baseline::windowed(&mut client, requests, window, "thread/list", params)?
    };
    let cpu = cpu_time().saturating_sub(cpu0);
    client.close()?;
    Ok((wall, cpu, requests))
}

fn fake_command(cas: &Path, scenario: &Path) -> Command {
    let mut command = Command::new(cas);
    command.arg("fake_server").arg("--scenario").arg(scenario);
    command
}

/// A cas session on one server, with what must outlive it.
struct Opened {
    session: Session,
    // The launcher and the instance's CODEX_HOME must outlive the session: a server whose home
    // was deleted under it slows to a crawl.
    _launcher: Option<Launcher>,
    _home: Option<InstanceHome>,
}

/// Starts `server` and does the handshake.
async fn open(
    plan: &BenchPlan,
    server: BenchServer,
    window: u64,
    scenario: &Path,
) -> Result<Opened, BenchError> {
    let client = ClientInfo::named("cas-bench");
    if server == BenchServer::Codex {
        let launcher = Launcher::prepare(Source::Codex {
            bin: plan.codex.clone(),
            transport: Transport::Stdio,
            cwd: plan.scratch.clone(),
            extra_args: Vec::new(),
            hooks: None,
            state_dir: None,
            scratch: plan.scratch.clone(),
            homes: HomesSetup::Hermetic,
        })
        .await?;
        let instance = launcher
            .start(
                &client,
                Arc::new(ServerRequestPolicy::default()),
                Some(window as usize),
                Duration::from_secs(30),
                None,
            )
            .await?;
        return Ok(Opened {
            session: instance.session,
            _launcher: Some(launcher),
            _home: instance.home,
        });
    }
    let command = tokio::process::Command::from(fake_command(&plan.cas, scenario));
    let connection = crate::transport::stdio::spawn(command, "cas fake_server")?;
    let session = Session::with_max_in_flight(
        connection,
        Arc::new(ServerRequestPolicy::default()),
        window as usize,
    );
    session.initialize(&client, Duration::from_secs(10)).await?;
    Ok(Opened {
        session,
        _launcher: None,
        _home: None,
    })
}

/// One cas run on one connection: (wall, client CPU, requests sent).
async fn cas_connection(
    plan: &BenchPlan,
    server: BenchServer,
    window: u64,
    scenario: &Path,
) -> Result<(Duration, Duration, u64), BenchError> {
    let opened = open(plan, server, window, scenario).await?;
    let session = Arc::new(opened.session);
    let params = json!({"limit": 1});
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let per_task = plan.requests / window.max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..window.max(1) {
        let (s, p) = (session.clone(), params.clone());
        tasks.spawn(async move {
            let mut failures = 0u64;
            for _ in 0..per_task {
                if !matches!(
                    s.request("thread/list", Some(p.clone()), Duration::from_secs(30))
                        .await,
                    Ok(Ok(_))
                ) {
                    failures += 1;
                }
            }
            failures
        });
    }
    let mut failures = 0;
    while let Some(joined) = tasks.join_next().await {
        failures += joined.map_err(BenchError::Join)?;
    }
    let wall = t0.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    if failures > 0 {
        return Err(BenchError::Failures { server, failures });
    }
    if let Ok(session) = Arc::try_unwrap(session) {
        session.shutdown(Duration::from_secs(2)).await;
    }
    Ok((wall, cpu, per_task * window.max(1)))
}
