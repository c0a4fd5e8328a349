//! `cas instance_runner`: one method on N parallel, isolated instances, each reported.
//!
//! Exit 0 when every instance started and every request got a result, 1 otherwise, 2 when cas
//! could not run (bad flags, missing codex, unreadable params).

use serde_json::{json, Map, Value};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::output::{pretty, print_stdout};
use super::runtime;

use super::request::RequestArgs;
use crate::fanout::{self, FanoutPlan, FanoutReport};

/// Flags of `cas instance_runner`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstanceRunnerArgs {
    /// Everything `cas request` takes.
    #[command(flatten)]
    pub request: RequestArgs,
    /// How many instances, started and run in parallel.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub instances: u32,
    /// Requests per instance.
    #[arg(long, default_value_t = 3)]
    pub sample: u32,
}

/// Runs the command.
pub async fn run(args: InstanceRunnerArgs) -> ExitCode {
    fanout_command(
        "instance_runner",
        &args.request,
        args.instances as usize,
        args.sample as usize,
    )
    .await
}

/// The body shared with `cas request`.
pub async fn fanout_command(
    check: &str,
    args: &RequestArgs,
    instances: usize,
    sample: usize,
) -> ExitCode {
    let started = Instant::now();
    let params = match params_of(args) {
        Ok(p) => p,
        Err(message) => return usage(&message),
    };
    let policy = args.policy.config();
    if let Err(message) = policy.validate() {
        return usage(&message);
    }
    let prepare_started = Instant::now();
    let needs = runtime::requirements(&args.runtime, check, Some(&args.method));
    let rt = match runtime::prepare(
        &args.runtime,
        args.state_dir.clone(),
        instances,
        false,
        &needs,
    )
    .await
    {
        Ok(rt) => rt,
        Err(message) => return usage(&message),
    };
    let prepare = prepare_started.elapsed();
    if rt.incompatible() {
        return rt.refuse(check, args.runtime.json);
    }
    if instances > 1
        && args.runtime.url.is_none()
        && !args.runtime.json
        && std::io::stderr().is_terminal()
    {
        eprintln!("cas: {instances} instances, each with its own CODEX_HOME");
    }
    let plan = FanoutPlan {
        instances,
        method: args.method.clone(),
        params: params.clone(),
        sample,
        client_prefix: args.client_prefix.clone(),
        experimental_api: args.runtime.experimental_api,
        opt_out_notification_methods: args.runtime.opt_out_notification_methods.clone(),
        policy,
        retry: args.retry.schedule(),
        retry_seed: args.retry.retry_seed,
        request_timeout: Duration::from_millis(args.runtime.request_timeout_ms),
        max_in_flight: args.max_in_flight,
    };
    let show_progress = instances > 1 && std::io::stderr().is_terminal();
    let progress = move |done: usize, total: usize| {
        if show_progress {
            eprint!("\r[{done}/{total}] instances done");
            if done == total {
                eprintln!();
            }
        }
    };
    let observer = runtime::hook_observer(check);
    let mut report = fanout::run(&rt.launcher, &plan, &progress, Some(observer.clone())).await;
    let hooks = observer.summary(runtime::effective_hook_policy(&args.runtime));
    let ok = report.ok() && hooks.failure_code.is_none();
    report.timing_ms.prepare = crate::summary::millis(prepare);
    drop(rt.launcher);
    let mut doc = Map::new();
    doc.insert("schemaVersion".into(), json!(1));
    doc.insert("check".into(), json!(check));
    doc.insert("ok".into(), json!(ok));
    doc.insert("failureCode".into(), json!(hooks.failure_code));
    doc.insert("method".into(), json!(args.method));
    doc.insert("params".into(), params);
    doc.insert("codex".into(), rt.codex);
    doc.insert("transport".into(), json!(rt.transport.as_str()));
    doc.insert("hermetic".into(), json!(rt.hermetic));
    doc.insert(
        "compatibilityVerdict".into(),
        rt.compatibility["compatibilityVerdict"].clone(),
    );
    if let Value::Object(fields) = serde_json::to_value(&report).unwrap_or_default() {
        doc.extend(fields);
    }
    if let Some(total) = doc.get_mut("timingMs").and_then(|t| t.get_mut("total")) {
        *total = json!(crate::summary::millis(started.elapsed()));
    }
    doc.insert(
        "hookSummary".into(),
        serde_json::to_value(&hooks).unwrap_or_default(),
    );
    doc.insert("hooksNote".into(), json!(rt.hooks_note));
    doc.insert(
        "client".into(),
        serde_json::to_value(crate::resources::usage()).unwrap_or_default(),
    );
    let doc = Value::Object(doc);
    if args.runtime.json {
        print_stdout(&pretty(&doc));
    } else {
        print_stdout(&human(check, &args.method, &report, &doc));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("cas: {message}");
    ExitCode::from(2)
}

/// The params: `--params-json`, `--params-file`, or the method's default.
fn params_of(args: &RequestArgs) -> Result<Value, String> {
    if let Some(v) = &args.params_json {
        return Ok(v.clone());
    }
    if let Some(path) = &args.params_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--params-file {}: {e}", path.display()))?;
        return super::args::parse_json_object(&text)
            .map_err(|e| format!("--params-file {}: {e}", path.display()));
    }
    Ok(match args.method.as_str() {
        "thread/list" => json!({"cursor": null, "limit": 1}),
        _ => json!({}),
    })
}

fn human(check: &str, method: &str, report: &FanoutReport, doc: &Value) -> String {
    let mut out = format!(
        "{check} {method} on {} instance(s) [{}, codex {}]: {}\n",
        report.instances_requested,
        doc["transport"].as_str().unwrap_or("?"),
        doc["codex"]["version"].as_str().unwrap_or("n/a"),
        if doc["ok"] == true { "ok" } else { "FAILED" }
    );
    let t = &report.timing_ms;
    out.push_str(&format!(
        "  started {}/{} in {:.1} ms; {} ok, {} failed, {} retries in {:.1} ms; total {:.1} ms\n",
        report.instances_started,
        report.instances_requested,
        t.start_all,
        report.requests_ok,
        report.requests_failed,
        report.retries,
        t.run_all,
        doc["timingMs"]["total"].as_f64().unwrap_or(t.total)
    ));
    let l = &report.latency_ms;
    out.push_str(&format!(
        "  latency ms: min {:.2} p50 {:.2} p95 {:.2} max {:.2}\n",
        l.min, l.p50, l.p95, l.max
    ));
    for f in &report.start_failures {
        out.push_str(&format!(
            "  instance {}: did not start: {}\n",
            f.instance, f.error
        ));
    }
    for r in &report.results {
        let detail = match (&r.error, &r.summary) {
            (Some(e), _) => format!("error: {e}"),
            (None, Some(s)) => s.to_string(),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "  instance {}: {} {}\n",
            r.instance,
            if r.ok { "ok" } else { "failed" },
            detail
        ));
    }
    if !report.unsupported_server_requests.is_empty() {
        out.push_str(&format!(
            "  refused unsupported server requests: {}\n",
            report.unsupported_server_requests.join(", ")
        ));
    }
    out.trim_end().to_owned()
}
