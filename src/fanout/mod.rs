//! Running one method on N parallel, isolated instances and reporting what happened to each.
//!
//! All instances start at once (spawn, connect, handshake), then all run their samples at once;
//! each request has its own deadline and is retried only on `-32001`. Every server request is
//! answered by the instance's policy. The report counts what started, what answered, what was
//! retried and refused, with latency statistics and phase timings; it never drops an instance
//! silently: a start failure and a request failure are both reported with their reason.

pub mod failure;
pub mod lane;

use futures_util::future::join_all;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

use crate::errors::SessionError;
use crate::launch::{Instance, Launcher};
use crate::outcome::FailureCode;
use crate::policy::{AnswerRecord, PolicyAnswer, PolicyConfig, ServerRequestPolicy};
use crate::protocol::ClientInfo;
use crate::retry::{request_with_retry, BackoffSchedule, RetryReport, SplitMix64};
use crate::session::{NotificationTap, Reply, SessionCounters, Tally};
use crate::summary::{millis, summarize, LatencyStats};

/// What to run, on how many instances, with which answers and retries.
#[derive(Debug, Clone)]
pub struct FanoutPlan {
    /// How many instances.
    pub instances: usize,
    /// The method to call.
    pub method: String,
    /// Its params (an object).
    pub params: Value,
    /// Requests per instance.
    pub sample: usize,
    /// Client names are `<prefix>-<i>`.
    pub client_prefix: String,
    /// `capabilities.experimentalApi`.
    pub experimental_api: bool,
    /// `capabilities.optOutNotificationMethods`.
    pub opt_out_notification_methods: Vec<String>,
    /// Answers to server requests.
    pub policy: PolicyConfig,
    /// Overload retry schedule.
    pub retry: BackoffSchedule,
    /// Seed of the retry jitter (instance i uses seed + i); random when `None`.
    pub retry_seed: Option<u64>,
    /// Deadline of each request (and of each handshake).
    pub request_timeout: Duration,
    /// Cap on requests in flight per connection.
    pub max_in_flight: Option<usize>,
}

/// A server request answer, counted across instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerCount {
    /// The server request method.
    pub method: String,
    /// The answer given.
    pub answer: PolicyAnswer,
    /// How many times.
    pub count: usize,
}

/// An instance that did not start.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartFailure {
    /// Its number (1-based).
    pub instance: usize,
    /// Why, as a code.
    pub failure_code: FailureCode,
    /// Why, with what the server printed.
    pub error: String,
}

/// What one instance's requests came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceResult {
    /// Its number (1-based).
    pub instance: usize,
    /// Every sample answered with a result.
    pub ok: bool,
    /// `stdio` or `ws`.
    pub transport: &'static str,
    /// Median latency of its successful samples, in ms.
    pub latency_ms: Option<f64>,
    /// Samples taken (`--sample`): one request each, before retries.
    pub samples: u32,
    /// Requests sent over all samples, retries included (`samples` + `retries`).
    pub attempts: u32,
    /// Of the attempts, the retries of overloaded (`-32001`) requests.
    pub retries: u32,
    /// The backoff delays slept before each retry, in ms (seeded with `--retry-seed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry_delays_ms: Vec<u64>,
    /// A summary of the last result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Value>,
    /// The first error's code, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<FailureCode>,
    /// The first error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the session did not pass on: dropped notifications, oversized lines, stray
    /// responses, malformed lines (each shown when any came) and ignored notifications.
    #[serde(flatten)]
    pub counters: SessionCounters,
}

/// Phase timings in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Preparing what instances share (mock model, template home, codex version).
    pub prepare: f64,
    /// Starting every instance (spawn, connect, handshake), concurrently.
    pub start_all: f64,
    /// Running every sample, concurrently.
    pub run_all: f64,
    /// Shutting every server down and reaping it.
    pub shutdown: f64,
    /// The whole command, from its start to its report.
    pub total: f64,
}

/// The outcome of a fanout.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FanoutReport {
    /// Instances asked for.
    pub instances_requested: usize,
    /// Instances that completed the handshake.
    pub instances_started: usize,
    /// Instances that did not, with reasons.
    pub start_failures: Vec<StartFailure>,
    /// Samples answered with a result.
    pub requests_ok: usize,
    /// Samples that ended in an error, a timeout or a closed connection.
    pub requests_failed: usize,
    /// Retries after `-32001`, over all samples.
    pub retries: u32,
    /// Server requests refused as unsupported, by method (each once).
    pub unsupported_server_requests: Vec<String>,
    /// Every server request answer, counted.
    pub server_requests: Vec<AnswerCount>,
    /// Latency of successful samples (retry backoff included).
    pub latency_ms: LatencyStats,
    /// Phase timings.
    pub timing_ms: Timing,
    /// One entry per started instance.
    pub results: Vec<InstanceResult>,
}

impl FanoutReport {
    /// No start failure and no failed request.
    pub fn ok(&self) -> bool {
        self.start_failures.is_empty() && self.requests_failed == 0 && self.instances_started > 0
    }

    /// The first failure's code: a start failure's, else a failed instance's.
    pub fn failure_code(&self) -> Option<FailureCode> {
        let started = self.results.iter().filter_map(|r| r.failure_code);
        self.start_failures
            .iter()
            .map(|f| f.failure_code)
            .chain(started)
            .next()
    }
}

/// Runs the plan; `progress(done, total)` is called as instances finish.
pub async fn run(
    launcher: &Launcher,
    plan: &FanoutPlan,
    progress: &(dyn Fn(usize, usize) + Sync),
    tap: Option<Arc<dyn NotificationTap>>,
) -> FanoutReport {
    let started = Instant::now();
    let policies: Vec<Arc<ServerRequestPolicy>> = (0..plan.instances)
        .map(|_| Arc::new(ServerRequestPolicy::new(plan.policy.clone())))
        .collect();
    let (instances, start_failures) =
        start_instances(launcher, plan, &policies, &tap, progress).await;
    let start_all = started.elapsed();
    let run_started = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(start_failures.len());
    let runs = instances.iter().map(|(i, instance)| {
        let done = &done;
        async move {
            let outcome = run_samples(*i, instance, plan, launcher.transport().as_str())
                .instrument(instance_span(plan, *i))
                .await;
            progress(
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                plan.instances,
            );
            outcome
        }
    });
    let mut outcomes = join_all(runs).await;
    let run_all = run_started.elapsed();
    let shutdown_started = Instant::now();
    let counters: Vec<_> = instances
        .iter()
        .map(|(_, instance)| instance.session.counters_handle())
        .collect();
    join_all(
        instances
            .into_iter()
            .map(|(_, instance)| instance.shutdown(Duration::from_secs(2))),
    )
    .await;
    let shutdown = shutdown_started.elapsed();
    // Counted once every session stopped reading, so nothing that came last is missed.
    for (outcome, handle) in outcomes.iter_mut().zip(&counters) {
        outcome.take_counters(handle.get());
    }
    let records: Vec<AnswerRecord> = policies.iter().flat_map(|p| p.records()).collect();
    let mut report = assemble(plan, start_failures, outcomes, &records);
    report.timing_ms = Timing {
        prepare: 0.0,
        start_all: millis(start_all),
        run_all: millis(run_all),
        shutdown: millis(shutdown),
        total: millis(started.elapsed()),
    };
    report
}

/// The span of instance `i` (1-based), named by its client.
fn instance_span(plan: &FanoutPlan, i: usize) -> tracing::Span {
    tracing::info_span!("instance", index = i, client = %format!("{}-{i}", plan.client_prefix))
}

/// Starts every instance at once; the started ones (by index) and the start failures.
async fn start_instances(
    launcher: &Launcher,
    plan: &FanoutPlan,
    policies: &[Arc<ServerRequestPolicy>],
    tap: &Option<Arc<dyn NotificationTap>>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> (Vec<(usize, Instance)>, Vec<StartFailure>) {
    let starts = (1..=plan.instances).map(|i| {
        let client = ClientInfo {
            name: format!("{}-{i}", plan.client_prefix),
            version: env!("CARGO_PKG_VERSION").into(),
            experimental_api: plan.experimental_api,
            opt_out_notification_methods: plan.opt_out_notification_methods.clone(),
        };
        let (policy, tap) = (policies[i - 1].clone(), tap.clone());
        async move {
            let started = launcher
                .start(
                    &client,
                    policy,
                    plan.max_in_flight,
                    plan.request_timeout,
                    tap,
                )
                .await;
            match &started {
                Ok(_) => tracing::debug!("instance started"),
                Err(error) => tracing::debug!(%error, "instance did not start"),
            }
            (i, started)
        }
        .instrument(instance_span(plan, i))
    });
    let mut instances = Vec::new();
    let mut start_failures = Vec::new();
    for (i, outcome) in join_all(starts).await {
        match outcome {
            Ok(instance) => instances.push((i, instance)),
            Err(error) => {
                progress(start_failures.len() + 1, plan.instances);
                start_failures.push(StartFailure {
                    instance: i,
                    failure_code: failure::start_failure_code(&error),
                    error: crate::errors::Chain(&error).to_string(),
                });
            }
        }
    }
    (instances, start_failures)
}

/// One instance's samples and their latencies.
struct SampleOutcome {
    result: InstanceResult,
    latencies: Vec<Duration>,
    ok: usize,
    failed: usize,
}

impl SampleOutcome {
    /// An instance's record before any sample ran.
    fn new(instance: usize, transport: &'static str) -> Self {
        SampleOutcome {
            result: InstanceResult {
                instance,
                ok: true,
                transport,
                latency_ms: None,
                samples: 0,
                attempts: 0,
                retries: 0,
                retry_delays_ms: Vec::new(),
                summary: None,
                failure_code: None,
                error: None,
                counters: SessionCounters::default(),
            },
            latencies: Vec::new(),
            ok: 0,
            failed: 0,
        }
    }

    /// Records what the instance's session did not pass on.
    fn take_counters(&mut self, counters: SessionCounters) {
        self.result.counters = counters;
    }

    /// Counts one sample started at `t0`: its latency when it succeeded, else its error (the
    /// first error is the one kept); `strays` are the session's responses to unknown ids.
    fn count(
        &mut self,
        method: &str,
        t0: Instant,
        reply: Result<Reply, SessionError>,
        report: &RetryReport,
        strays: impl FnOnce() -> Tally<String>,
    ) {
        self.result.samples += 1;
        self.result.attempts += report.attempts;
        self.result.retries += report.retries;
        self.result.retry_delays_ms.extend(&report.delays_ms);
        let (code, error) = match reply {
            Ok(Ok(result)) => {
                // Latency is that of successful requests, backoff included.
                self.latencies.push(t0.elapsed());
                self.result.summary = Some(summarize(method, &result));
                self.ok += 1;
                return;
            }
            Ok(Err(rpc)) => failure::refusal(&rpc, report),
            Err(e) => failure::session_failure(&e, &strays()),
        };
        self.failed += 1;
        self.result.ok = false;
        if self.result.error.is_none() {
            self.result.failure_code = Some(code);
            self.result.error = Some(error);
        }
    }
}

/// Runs an instance's samples one after another, each retried on overload.
async fn run_samples(
    instance: usize,
    inst: &Instance,
    plan: &FanoutPlan,
    transport: &'static str,
) -> SampleOutcome {
    let mut rng = match plan.retry_seed {
        Some(seed) => SplitMix64::new(seed.wrapping_add(instance as u64)),
        None => SplitMix64::from_entropy(),
    };
    let mut out = SampleOutcome::new(instance, transport);
    for _ in 0..plan.sample {
        let t0 = Instant::now();
        let (reply, report) = request_with_retry(
            &inst.session,
            &plan.method,
            &plan.params,
            plan.request_timeout,
            &plan.retry,
            &mut rng,
        )
        .await;
        tracing::debug!(
            method = %plan.method,
            attempts = report.attempts,
            latency_ms = millis(t0.elapsed()),
            ok = matches!(reply, Ok(Ok(_))),
            "request"
        );
        out.count(&plan.method, t0, reply, &report, || {
            inst.session.counters().stray_responses
        });
    }
    out.result.latency_ms =
        Some(LatencyStats::of(&out.latencies).p50).filter(|_| !out.latencies.is_empty());
    out
}

fn assemble(
    plan: &FanoutPlan,
    start_failures: Vec<StartFailure>,
    outcomes: Vec<SampleOutcome>,
    records: &[AnswerRecord],
) -> FanoutReport {
    let latencies: Vec<Duration> = outcomes
        .iter()
        .flat_map(|o| o.latencies.iter().copied())
        .collect();
    let mut server_requests: Vec<AnswerCount> = Vec::new();
    for r in records {
        match server_requests
            .iter_mut()
            .find(|c| c.method == r.method && c.answer == r.answer)
        {
            Some(c) => c.count += 1,
            None => server_requests.push(AnswerCount {
                method: r.method.clone(),
                answer: r.answer,
                count: 1,
            }),
        }
    }
    let mut unsupported: Vec<String> = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.answer == PolicyAnswer::Unsupported)
    {
        if !unsupported.contains(&r.method) {
            unsupported.push(r.method.clone());
        }
    }
    FanoutReport {
        instances_requested: plan.instances,
        instances_started: outcomes.len(),
        start_failures,
        requests_ok: outcomes.iter().map(|o| o.ok).sum(),
        requests_failed: outcomes.iter().map(|o| o.failed).sum(),
        retries: outcomes.iter().map(|o| o.result.retries).sum(),
        unsupported_server_requests: unsupported,
        server_requests,
        latency_ms: LatencyStats::of(&latencies),
        timing_ms: Timing::default(),
        results: outcomes.into_iter().map(|o| o.result).collect(),
    }
}
