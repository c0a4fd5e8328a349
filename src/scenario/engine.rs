//! The step engine: runs a scenario's steps against a started target and builds the verdict.
//!
//! Every scenario runs in its own scratch workspace (`${workspace}`), removed when the verdict
//! is the expected one unless kept. Every wait has a deadline (the step's timeout, inside the scenario's deadline).
//! Every failure is collected; after a lost connection the remaining steps are `not_run`. At
//! the end, server requests no step answered are refused with `-32601` (never left hanging) and
//! reported, as are lines that were not JSON-RPC. Nothing here returns a Rust error: a target
//! that cannot start is a verdict with status `error`.

mod burst;
mod connections;
mod flow;
mod ledger;
mod model;
mod parallel;
mod protocol;
mod transcript;
mod watch;
mod world;

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

use super::format::TargetName;
use super::load::{Scenario, Step, StepKind};
use super::workspace::Workspace;
use crate::errors::{Chain, FailureCoded, LaunchError};
use crate::hooks::HookObserver;
use crate::matcher::Captures;
use crate::outcome::FailureCode;
use crate::policy::ServerRequestPolicy;
use crate::session::{QueueServerRequests, ServerRequestHandler, Session, DEFAULT_MAX_IN_FLIGHT};
use crate::target::{self, TargetEnv, TargetGuard};
use crate::transcript::Transcript;
use crate::verdict::{Failure, Redactor, StepRecord, StepStatus, Verdict};
use protocol::{hook_failures, session_failure};

/// Grace given to a server to exit after its input closes, before it is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Runs `scenario` on `target` and returns its redacted verdict.
pub async fn run(scenario: &Scenario, target: TargetName, env: &TargetEnv) -> Verdict {
    let workspace = match Workspace::create(&env.workspace_root, &scenario.name) {
        Ok(w) => w,
        Err(e) => {
            let message = format!(
                "cannot create a workspace under {}: {e}",
                env.workspace_root.display()
            );
            return Verdict::error(
                &scenario.name,
                target.as_str(),
                FailureCode::WorkspaceFailed,
                message,
            );
        }
    };
    let span = tracing::info_span!("scenario", scenario = %scenario.name, %target);
    let transcript = transcript::open(scenario, target, &workspace);
    let mut verdict = run_in(scenario, target, env, &workspace, transcript.as_ref())
        .instrument(span)
        .await;
    tracing::debug!(
        scenario = %scenario.name,
        %target,
        status = verdict.status.as_str(),
        failure_code = ?verdict.failure_code,
        "verdict"
    );
    let remove = scenario.accepts(&verdict) && !env.keep_temp;
    let copy = transcript::copy_to_dir(transcript.as_ref(), scenario, target, env);
    verdict.workspace = workspace.finish(remove);
    verdict.transcript = transcript::kept(transcript.as_ref(), copy, &verdict);
    verdict
}

/// What every step of one run can see.
pub(crate) struct Context<'a> {
    scenario: &'a Scenario,
    target: TargetName,
    env: &'a TargetEnv,
    workspace: &'a Workspace,
    transcript: Option<&'a Arc<Transcript>>,
}

async fn run_in(
    scenario: &Scenario,
    target: TargetName,
    env: &TargetEnv,
    workspace: &Workspace,
    transcript: Option<&Arc<Transcript>>,
) -> Verdict {
    let ctx = Context {
        scenario,
        target,
        env,
        workspace,
        transcript,
    };
    let mut redact_paths = vec![
        workspace.path().display().to_string(),
        env.scratch_root.display().to_string(),
        scenario.dir.display().to_string(),
    ];
    let server = match start_server(&ctx).await {
        Ok(server) => server,
        Err(verdict) => return verdict,
    };
    let mut run = Run::new(&ctx, server.as_ref().map(|s| &s.session), String::new());
    run.model = server.as_ref().and_then(|s| s.guard.mock_model());
    if let Some(server) = &server {
        run.conns.attach(server);
    }
    run.seed_vars();
    run.steps(&scenario.steps, Instant::now() + scenario.deadline)
        .await;
    let mut diagnostics = None;
    if let Some(server) = &server {
        run.wrap_up(&server.session);
        if let Some(observer) = &server.observer {
            run.failures
                .extend(hook_failures(&observer.summary(scenario.hook_policy)));
        }
        diagnostics = server.stderr_tail();
    }
    let Run {
        records,
        failures,
        notes,
        redact_paths: more_paths,
        ..
    } = run;
    if let Some(server) = server {
        redact_paths.extend(server.stop().await);
    }
    redact_paths.extend(more_paths);
    let mut verdict = Verdict::new(&scenario.name, target.as_str(), records, failures);
    verdict.diagnostics = diagnostics;
    verdict.notes = notes;
    verdict.redact(&mut Redactor::new(redact_paths));
    verdict
}

/// Starts the target when the scenario needs one; a start failure is the run's verdict.
async fn start_server(ctx: &Context<'_>) -> Result<Option<Server>, Verdict> {
    let (scenario, target) = (ctx.scenario, ctx.target);
    if !scenario.needs_server() {
        return Ok(None);
    }
    match Server::start(ctx, Some(hook_log(ctx))).await {
        Ok(server) => Ok(Some(server)),
        Err(e) => Err(Verdict::error(
            &scenario.name,
            target.as_str(),
            e.failure_code(),
            Chain(&e).to_string(),
        )),
    }
}

fn hook_log(ctx: &Context<'_>) -> std::path::PathBuf {
    ctx.env.scratch_root.join(format!(
        "hook-logs/{}-{}-{}.ndjson",
        ctx.scenario.name.replace('/', "_"),
        ctx.target,
        std::process::id()
    ))
}

/// A started target with its session.
pub(crate) struct Server {
    session: Session,
    guard: TargetGuard,
    redact_paths: Vec<String>,
    observer: Option<Arc<HookObserver>>,
    /// The default connection's `answer_all` / `expect_never` rules.
    watch: Arc<watch::Watch>,
    /// Where more connections can be opened (websocket targets).
    endpoint: Option<crate::target::WsEndpoint>,
}

impl Server {
    /// Starts the scenario's target and opens a session on it (observing hooks into `hook_log`).
    async fn start(
        ctx: &Context<'_>,
        hook_log: Option<std::path::PathBuf>,
    ) -> Result<Server, LaunchError> {
        let launched = target::launch(ctx.target, ctx.scenario.server(), ctx.env).await?;
        if let Some(t) = ctx.transcript {
            transcript::attach(t, &launched);
        }
        let handler: Arc<dyn ServerRequestHandler> = match &ctx.scenario.policy {
            Some(config) => Arc::new(ServerRequestPolicy::new(config.clone())),
            None => Arc::new(QueueServerRequests),
        };
        let observer = hook_log.map(|log| Arc::new(HookObserver::new(log)));
        let tap = observer
            .clone()
            .map(|o| o as Arc<dyn crate::session::NotificationTap>);
        let watch = Arc::new(watch::Watch::new(handler, tap));
        let session = Session::with_options(
            launched.connection,
            watch.clone(),
            max_in_flight(&ctx.scenario.steps),
            Some(watch.clone()),
        );
        Ok(Server {
            session,
            guard: launched.guard,
            redact_paths: launched.redact_paths,
            observer,
            watch,
            endpoint: launched.endpoint,
        })
    }

    fn stderr_tail(&self) -> Option<String> {
        self.session
            .child()
            .map(|c| c.stderr().tail(30))
            .filter(|tail| !tail.trim().is_empty())
            .map(|tail| format!("server stderr tail:\n{tail}"))
    }

    /// Shuts the session down, then drops what the target started; returns paths to redact.
    async fn stop(self) -> Vec<String> {
        self.session.shutdown(SHUTDOWN_GRACE).await;
        drop(self.guard);
        self.redact_paths
    }
}

/// The in-flight cap a session needs: the default, or a burst's size when larger.
fn max_in_flight(steps: &[Step]) -> usize {
    steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Burst(b) => Some(b.count as usize),
            StepKind::Parallel { steps, .. } => Some(max_in_flight(steps)),
            _ => None,
        })
        .fold(DEFAULT_MAX_IN_FLIGHT, usize::max)
}

/// The state of one sequence of steps (the scenario's, or one parallel branch's).
pub(crate) struct Run<'a> {
    ctx: &'a Context<'a>,
    session: Option<&'a Session>,
    /// Put before every step name (a branch's `parallel name [item] `).
    prefix: String,
    captures: Captures,
    records: Vec<StepRecord>,
    failures: Vec<Failure>,
    /// What the steps measured, for the report (never snapshotted: numbers vary).
    notes: Vec<String>,
    redact_paths: Vec<String>,
    lost: bool,
    last_seq: Option<u64>,
    /// Where arrivals stood when the previous protocol step ended: a silence window covers
    /// what came since then too, so a reply that beats the window's start is not missed.
    step_mark: Option<u64>,
    /// The mock model of a codex target, for `expect_model_request`.
    model: Option<&'a crate::launch::MockModel>,
    /// The number of the last model request a step checked.
    model_seen: usize,
    /// The named connections and where to open more.
    conns: connections::Connections,
    /// What the flow steps remember between steps.
    flow: flow::FlowState,
}

/// What one step produced.
pub(crate) struct Outcome {
    observed: Option<Value>,
    failures: Vec<(FailureCode, String)>,
}

impl Outcome {
    fn ok(observed: Option<Value>) -> Outcome {
        Outcome {
            observed,
            failures: Vec::new(),
        }
    }

    fn failed(code: FailureCode, message: String) -> Outcome {
        Outcome {
            observed: None,
            failures: vec![(code, message)],
        }
    }
}

impl<'a> Run<'a> {
    fn new(ctx: &'a Context<'a>, session: Option<&'a Session>, prefix: String) -> Run<'a> {
        Run {
            ctx,
            session,
            prefix,
            captures: Captures::new(),
            records: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
            redact_paths: Vec::new(),
            lost: false,
            last_seq: None,
            step_mark: None,
            model: None,
            model_seen: 0,
            conns: Default::default(),
            flow: Default::default(),
        }
    }

    /// Makes `${workspace}`, `${scenarios_dir}` and the scenario's vars known to the steps.
    fn seed_vars(&mut self) {
        let workspace = self.ctx.workspace.path().display().to_string();
        let dir = self.ctx.scenario.dir.display().to_string();
        self.captures.insert("workspace".into(), json!(workspace));
        self.captures.insert("scenarios_dir".into(), json!(dir));
        for (name, value) in &self.ctx.scenario.vars {
            let value = crate::matcher::substitute(&json!(value), &self.captures);
            self.captures.insert(name.clone(), value);
        }
    }

    async fn steps(&mut self, steps: &[Step], deadline: Instant) {
        for (i, step) in steps.iter().enumerate() {
            if self.lost {
                self.record(step, StepStatus::NotRun, None);
                continue;
            }
            match tokio::time::timeout_at(deadline, self.step(step, deadline)).await {
                Ok(outcome) => self.finish(step, outcome),
                Err(_) => {
                    let message = format!(
                        "the scenario deadline of {:?} passed during this step",
                        self.ctx.scenario.deadline
                    );
                    self.finish(
                        step,
                        Outcome::failed(FailureCode::ScenarioDeadline, message),
                    );
                    for rest in &steps[i + 1..] {
                        self.record(rest, StepStatus::NotRun, None);
                    }
                    return;
                }
            }
        }
    }

    fn step_name(&self, step: &Step) -> String {
        format!("{}{}", self.prefix, step.name)
    }

    fn finish(&mut self, step: &Step, outcome: Outcome) {
        let status = if outcome.failures.is_empty() {
            StepStatus::Pass
        } else {
            StepStatus::Fail
        };
        for (code, message) in outcome.failures {
            self.lost |= code == FailureCode::ConnectionClosed;
            self.failures.push(Failure {
                step: Some(self.step_name(step)),
                code,
                message,
            });
        }
        self.record(step, status, outcome.observed);
    }

    fn record(&mut self, step: &Step, status: StepStatus, observed: Option<Value>) {
        self.records.push(StepRecord {
            name: self.step_name(step),
            kind: step.kind.as_str().into(),
            method: step.kind.method().map(str::to_owned),
            status,
            observed,
        });
    }

    async fn step(&mut self, step: &Step, deadline: Instant) -> Outcome {
        if let Some(outcome) = self.connection_step(step).await {
            return outcome;
        }
        if step.kind.is_protocol() {
            let session = match self.conn_for(step).await {
                Ok(session) => session,
                Err(outcome) => return outcome,
            };
            let name = connections::named(step);
            self.conns
                .swap_marks(name, &mut self.step_mark, &mut self.last_seq);
            // A notification gets no answer: what arrives once it is sent (however fast) is
            // what a following silence window judges; other steps mark when they end.
            let sent_at = session.arrival_mark();
            let outcome = self.protocol_step(&session, step).await;
            self.step_mark = Some(match step.kind {
                StepKind::Notify(_) => sent_at,
                _ => session.arrival_mark(),
            });
            self.conns
                .swap_marks(name, &mut self.step_mark, &mut self.last_seq);
            self.note_taken(step);
            return outcome;
        }
        match &step.kind {
            StepKind::Sleep(d) => {
                tokio::time::sleep(*d).await;
                Outcome::ok(None)
            }
            StepKind::Ledger { op, expect_error } => {
                self.ledger_op(op, expect_error.as_deref()).await
            }
            StepKind::LedgerShow(show) => self.ledger_show(show).await,
            StepKind::WriteFile(w) => self.write_file(w),
            StepKind::ExpectFile(e) => self.expect_file(e, step.timeout).await,
            StepKind::Run(r) => self.run_command(r, step.timeout).await,
            StepKind::Parallel { for_each, steps } => {
                self.parallel(step, for_each, steps, deadline).await
            }
            _ => Outcome::failed(
                FailureCode::Internal,
                format!("{} is not a probe", step.name),
            ),
        }
    }

    /// The steps about connections rather than on one: `connect`, `close_connection`,
    /// `await_response` (whose request knows its connection).
    async fn connection_step(&mut self, step: &Step) -> Option<Outcome> {
        let outcome = match &step.kind {
            _ if self.session.is_none() && step.kind.is_protocol() => return None,
            StepKind::Connect(c) => self.connect_step(step, c).await,
            StepKind::CloseConnection => self.close_step(step),
            StepKind::AwaitResponse(a) => self.await_response(a, step.timeout).await,
            _ => return None,
        };
        Some(outcome)
    }

    async fn protocol_step(&mut self, session: &Session, step: &Step) -> Outcome {
        match &step.kind {
            StepKind::Request(r) if r.wait == Some(false) => self.send_no_wait(session, step, r),
            StepKind::Request(r) => self.request(session, r, step.timeout).await,
            StepKind::Notify(n) => {
                let params = n
                    .params
                    .as_ref()
                    .map(|p| crate::matcher::substitute(p, &self.captures));
                match session.notify(&n.method, params) {
                    Ok(()) => Outcome::ok(None),
                    Err(e) => session_failure(e),
                }
            }
            StepKind::AwaitNotification(a) => {
                self.await_notification(session, a, step.timeout).await
            }
            StepKind::AwaitRequest(a) => self.await_request(session, a, step.timeout).await,
            StepKind::ExpectSilence { window, method } => {
                self.silence(session, *window, method.as_deref()).await
            }
            StepKind::Burst(b) => self.burst(session, b, step.timeout).await,
            StepKind::ExpectModelRequest(e) => self.expect_model_request(e, step.timeout).await,
            StepKind::Drain { spec, window } => self.drain(session, spec, *window).await,
            StepKind::ExpectNever(n) => match self.watch_for(step) {
                Some(watch) => self.expect_never(session, step, n, &watch),
                None => no_watch(step),
            },
            StepKind::AnswerAll(a) => match self.watch_for(step) {
                Some(watch) => self.answer_all(session, step, a, &watch).await,
                None => no_watch(step),
            },
            _ => Outcome::failed(
                FailureCode::Internal,
                format!("{} is not a protocol step", step.name),
            ),
        }
    }
}

fn no_watch(step: &Step) -> Outcome {
    let message = format!(
        "{} has no connection watch to install its rule on",
        step.name
    );
    Outcome::failed(FailureCode::Internal, message)
}
