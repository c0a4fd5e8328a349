//! The glue `cas request` and `cas instance_runner` share: call the lane, show progress on a
//! terminal, print the report (JSON or text), and pick the exit code.
//!
//! Exit 0 when every instance started and every request got a result, 1 otherwise, 2 when cas
//! could not run (bad flags, missing codex, unreadable params, an incompatible codex).

use std::io::IsTerminal;
use std::process::ExitCode;

use super::output::{fail, print_result, refuse};
use crate::fanout::lane::{Lane, LaneConfig, LaneReport};

/// Runs the lane and prints its report.
pub async fn run(config: LaneConfig, json: bool) -> ExitCode {
    let check = config.check;
    let instances = config.runtime.instances;
    let remote = config.runtime.url.is_some();
    let lane = match Lane::prepare(config).await {
        Ok(lane) => lane,
        Err(e) => return fail(check.as_str(), json, &e),
    };
    if lane.runtime.incompatible() {
        return refuse(&lane.runtime, check, json);
    }
    warn_unlisted(&lane.runtime);
    if instances > 1 && !remote && !json && std::io::stderr().is_terminal() {
        eprintln!("cas: {instances} instances, each with its own CODEX_HOME");
    }
    let ticker =
        crate::progress::Ticker::counter(instances as u64, "instances", instances > 1 && !json);
    let progress = |done: usize, total: usize| {
        ticker.set(done as u64, &format!("{done}/{total} instances done"));
    };
    let report = lane.run(&progress).await;
    ticker.finish();
    print_result(&report, json, human, report.ok)
}

/// Says on stderr which probed methods the codex's schema does not list (they are sent anyway).
fn warn_unlisted(rt: &crate::runtime::Runtime) {
    let version = rt.codex.as_ref().map_or("?", |c| c.version.as_str());
    for method in &rt.compatibility.unlisted {
        eprintln!(
            "cas: warning: the schema of codex {version} does not list {method}; sending it anyway"
        );
    }
}

fn human(lane: &LaneReport) -> String {
    let report = &lane.fanout;
    let mut out = format!(
        "{} {} on {} instance(s) [{}, codex {}]: {}\n",
        lane.check,
        lane.method,
        report.instances_requested,
        lane.transport,
        lane.codex.as_ref().map_or("n/a", |c| c.version.as_str()),
        if lane.ok { "ok" } else { "FAILED" }
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
        t.total
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
