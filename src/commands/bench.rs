//! `cas bench`: the speed figures of the README, measured side by side with a no-framework client.

use std::process::ExitCode;

use super::output::{fail, failure_doc, pretty, print_stdout};
use crate::bench::{self, BenchPlan};
use crate::errors::{BenchError, Chain, FailureCoded};
use crate::launch::CodexLocator;
use crate::progress::Ticker;
use std::path::PathBuf;

/// The `check` of this command's documents.
const CHECK: &str = "bench";

/// Flags of `cas bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// A bench other than the default (fanout and one-connection figures).
    #[command(subcommand)]
    pub what: Option<BenchWhat>,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Instance counts for the fanout comparison.
    #[arg(long, value_delimiter = ',', default_value = "1,4,12")]
    pub instances: Vec<usize>,
    /// Runs per figure; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub runs: usize,
    /// Requests per one-connection run.
    #[arg(long, default_value_t = 2000)]
    pub requests: u64,
    /// Requests in flight in the windowed one-connection mode.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub window: u64,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The benches besides the default one.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchWhat {
    /// The shipped suite with --jobs 1 and with --jobs N: wall times, ratio, same verdicts.
    Suite(BenchSuiteArgs),
}

/// Flags of `cas bench suite`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchSuiteArgs {
    /// The suite's target.
    #[arg(long, default_value = "codex-ws")]
    pub target: String,
    /// The parallel setting (default: the number of CPUs, as `cas conformance`).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Runs of each setting; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub runs: usize,
    /// The codex binary (default: CAS_CODEX_BIN, the project install, then PATH).
    #[arg(long)]
    pub codex_bin: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub async fn run(args: BenchArgs) -> ExitCode {
    if let Some(BenchWhat::Suite(suite)) = &args.what {
        return bench_suite(suite).await;
    }
    if args.window == 0 || !args.requests.is_multiple_of(args.window) {
        let (requests, window) = (args.requests, args.window);
        return fail(CHECK, args.json, &BenchError::Window { requests, window });
    }
    let codex = match CodexLocator::from_env(args.codex_bin.clone()).resolve() {
        Ok(path) => path,
        Err(e) => return fail(CHECK, args.json, &e),
    };
    let cas = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => return fail(CHECK, args.json, &BenchError::CasExecutable(e)),
    };
    let plan = BenchPlan {
        codex,
        cas,
        fanout: args.instances.clone(),
        runs: args.runs.max(1),
        requests: args.requests,
        window: args.window,
        scratch: crate::launch::paths::homes_dir().join("bench"),
    };
    let ticker = Ticker::spinner("bench", !args.json);
    let log = |line: &str| ticker.note("cas bench", line, false);
    let report = bench::run(&plan, &log).await;
    ticker.finish();
    let report = match report {
        Ok(report) => report,
        Err(e) => {
            eprintln!("cas: bench could not run: {}", Chain(&e));
            if args.json {
                print_stdout(&pretty(&failure_doc(CHECK, e.failure_code(), &e)));
            }
            return ExitCode::from(2);
        }
    };
    if args.json {
        print_stdout(&pretty(&report));
    } else {
        print_stdout(&human(&report));
    }
    ExitCode::SUCCESS
}

fn human(report: &serde_json::Value) -> String {
    let mut out = format!("cas bench ({} cpus, median of {} runs)\n\nfanout: handshake + thread/list on N fresh-home codex servers\n", report["cpus"], report["runs"]);
    out.push_str("  instances   cas ms   baseline ms   cas/baseline   cas peak RSS\n");
    for row in report["fanout"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:>9}  {:>7.1}  {:>12.1}  {:>13.3}  {:>9} KiB\n",
            row["instances"],
            row["casMs"].as_f64().unwrap_or(0.0),
            row["baselineMs"].as_f64().unwrap_or(0.0),
            row["ratio"].as_f64().unwrap_or(0.0),
            row["casPeakRssKb"]
        ));
    }
    out.push_str("\none connection: thread/list\n  server  mode         cas rps   base rps   ratio   cas µs CPU/req   base µs CPU/req\n");
    for row in report["oneConnection"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<6}  {:<10}  {:>8.0}  {:>9.0}  {:>6.3}  {:>15.1}  {:>16.1}\n",
            row["server"].as_str().unwrap_or(""),
            row["mode"].as_str().unwrap_or(""),
            row["cas"]["rps"].as_f64().unwrap_or(0.0),
            row["baseline"]["rps"].as_f64().unwrap_or(0.0),
            row["rpsRatio"].as_f64().unwrap_or(0.0),
            row["cas"]["cpuUsPerRequest"].as_f64().unwrap_or(0.0),
            row["baseline"]["cpuUsPerRequest"].as_f64().unwrap_or(0.0)
        ));
    }
    out.trim_end().to_owned()
}

/// `cas bench suite`: exit 0 when the parallel run met the target ratio with the same verdicts.
async fn bench_suite(args: &BenchSuiteArgs) -> ExitCode {
    let cas = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => return fail(CHECK, args.json, &BenchError::CasExecutable(e)),
    };
    let plan = bench::suite::SuitePlan {
        cas,
        codex: args.codex_bin.clone(),
        target: args.target.clone(),
        jobs: args.jobs.unwrap_or_else(super::conformance::default_jobs),
        runs: args.runs,
    };
    let ticker = Ticker::counter(2 * plan.runs as u64, "bench suite", !args.json);
    let report = bench::suite::run(&plan, &|line| ticker.note("cas bench suite", line, true)).await;
    ticker.finish();
    let report = match report {
        Ok(report) => report,
        Err(e) => return fail(CHECK, args.json, &e),
    };
    if args.json {
        print_stdout(&pretty(&serde_json::to_value(&report).unwrap_or_default()));
    } else {
        print_stdout(&format!(
            "cas bench suite on {} ({} cpus, median of {} runs)\n  --jobs 1: {:>8.0} ms\n  --jobs {}: {:>8.0} ms\n  ratio {:.3} (target <= {}), verdicts {} ({} scenarios)",
            report.target,
            report.cpus,
            report.runs,
            report.serial_ms,
            report.jobs,
            report.parallel_ms,
            report.ratio,
            report.target_ratio,
            if report.identical_verdicts { "identical" } else { "DIFFER" },
            report.verdicts.len()
        ));
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
