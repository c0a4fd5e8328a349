//! `cas st`: an `st`-compatible command line over cas's claim ledger (hidden).
//!
//! It exists so the external-`st` backend can be tested for real (a wrapper script that runs
//! `cas st "$@"`) and so tests can run many writer processes against one plan file. Flags are
//! `st`'s; success prints `st`'s human line and, after a mutation, st's `plan_sync: {…}` and
//! `update_plan: {…}` lines; failure prints `error: <Code>: <detail>` on stderr and exits 1
//! (usage errors exit 2) — st's own format, which the external-`st` backend reads, so it is
//! kept. `show` of a plan file that does not exist is refused (exit 2), not an empty list.
//! Commands take st's kebab-case names and the snake_case names scenario files use
//! (`set_runtime`). The writer comes from st's variables ([`Writer::from_vars`]).
//!
//! Deliberate differences from st (the same list is in `scenarios/README.md`); everywhere
//! else the ledger answers as st does, first refusal included:
//!
//! 1. A non-integer or out-of-range `--lease-seconds` (`abc`, `1.5`, a 20-digit number) is
//!    `InvalidLeaseSeconds`; st passes its integer parser's `InvalidCharacter` / `Overflow`
//!    through. Those name no ledger rule, and the reference's rule for a bad lease is
//!    `InvalidLeaseSeconds`; the refusal comes at st's point (after the targets), and every text
//!    st's parser accepts (`+60`, `1_000`, padding) cas accepts.
//! 2. A plan-file line that is not JSON is `InvalidRecord` (reference §1.2); st passes its JSON
//!    parser's error name (`SyntaxError`, …) through. Same reason as 1.
//! 3. OrchPlan YAML quoted strings are read as YAML: escapes are decoded (`"a \"b\""` is `a "b"`)
//!    and an invalid escape (`"src\win"`) is `InvalidOrchPlan` naming the line; st only strips the
//!    outer quotes and keeps every backslash. cas reads what the YAML means; a backslash in a scope
//!    gives the same lock root either way (it becomes `/`).
//! 4. A block list of task ids under a wave (`tasks:` then `- cfg` lines) is the wave's list; st
//!    takes any `tasks:` line for the top-level task list, so that wave gets no tasks and its items
//!    no wave id. st misreads valid YAML there; cas reads what the file says.
//! 5. A tab in YAML indentation is `InvalidOrchPlan` naming the line; st reads tabs as spaces.
//!    YAML forbids tabs there, and cas reads structure by indentation, so a tab's width would be
//!    a guess.
//! 6. An OrchPlan task without an id (JSON or YAML) is `InvalidOrchPlan`; st drops the task
//!    silently, which would shrink the plan a scenario then claims without anyone noticing.
//! 7. A non-string entry in a stored list (`"scope":[1]`) is `InvalidItem`; st drops it, and its
//!    next write loses it. (String entries are trimmed, and blank ones dropped, as st does.)

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use serde_json::Value;

use crate::ledger::{ClaimLedger, Lease, LedgerError, Op, Surface};

/// `cas st <command> --file F …`.
#[derive(Debug, clap::Args)]
pub struct StArgs {
    /// The st command.
    #[command(subcommand)]
    pub command: StCommand,
}

/// Flags every st command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanFile {
    /// The plan file.
    #[arg(long, default_value = ".step/st-plan.jsonl")]
    pub file: PathBuf,
    /// Turn the safe-parallel-wave check off (recorded in the mutation).
    #[arg(long)]
    pub allow_multiple_in_progress: bool,
    /// How long to wait for the `<file>.lock` sidecar, in ms.
    #[arg(long, default_value_t = 30_000, hide = true)]
    pub lock_timeout_ms: u64,
}

/// The st commands cas implements.
#[derive(Debug, Subcommand)]
pub enum StCommand {
    /// Import an OrchPlan (JSON or simple YAML).
    #[command(alias = "import_orchplan")]
    ImportOrchplan {
        #[command(flatten)]
        plan: PlanFile,
        /// The OrchPlan file.
        #[arg(long)]
        input: PathBuf,
        /// Clear the ledger first.
        #[arg(long)]
        replace: bool,
        /// Import outside the plan.
        #[arg(long)]
        backlog_only: bool,
    },
    /// Claim items by id, or an imported OrchPlan wave by --wave alone.
    Claim {
        #[command(flatten)]
        plan: PlanFile,
        /// Comma-separated ids.
        #[arg(long)]
        ids: Option<String>,
        /// The wave.
        #[arg(long)]
        wave: Option<String>,
        /// teams, mesh or local.
        #[arg(long)]
        executor: String,
        /// The lease (default 900).
        #[arg(long, allow_hyphen_values = true)]
        lease_seconds: Option<String>,
    },
    /// Renew a held claim's lease.
    Heartbeat {
        #[command(flatten)]
        plan: PlanFile,
        /// The item.
        #[arg(long)]
        id: String,
    },
    /// Attach runtime metadata to a held claim.
    #[command(alias = "set_runtime")]
    SetRuntime {
        #[command(flatten)]
        plan: PlanFile,
        /// The item.
        #[arg(long)]
        id: String,
        /// spawn_agent, spawn_agents_on_csv or local.
        #[arg(long)]
        substrate: String,
        /// The codex thread.
        #[arg(long)]
        thread_id: Option<String>,
        /// The agent.
        #[arg(long)]
        agent_id: Option<String>,
        /// The CSV row.
        #[arg(long)]
        row_id: Option<String>,
        /// Where output goes.
        #[arg(long)]
        output_ref: Option<String>,
        /// The last event.
        #[arg(long)]
        last_event: Option<String>,
    },
    /// Record a validation run.
    #[command(alias = "set_proof")]
    SetProof {
        #[command(flatten)]
        plan: PlanFile,
        /// The item.
        #[arg(long)]
        id: String,
        /// pass, fail or not_run.
        #[arg(long)]
        proof_state: String,
        /// The command run.
        #[arg(long)]
        command: String,
        /// Where the evidence is.
        #[arg(long)]
        evidence_ref: Option<String>,
    },
    /// Give a held or stale claim back.
    Release {
        #[command(flatten)]
        plan: PlanFile,
        /// The item.
        #[arg(long)]
        id: String,
        /// Recorded as the runtime's last event.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Turn held claims whose lease expired stale.
    #[command(alias = "reclaim_stale")]
    ReclaimStale {
        #[command(flatten)]
        plan: PlanFile,
        /// Compare leases against this instant instead of the clock.
        #[arg(long)]
        now: Option<String>,
    },
    /// Print the items with derived fields.
    Show {
        #[command(flatten)]
        plan: PlanFile,
        /// plan, all or backlog.
        #[arg(long, default_value = "plan")]
        surface: Surface,
        /// markdown, table or json.
        #[arg(long, value_enum, default_value_t, hide_possible_values = true)]
        format: ShowFormat,
    },
}

/// How `cas st show` prints the items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ShowFormat {
    /// `- [status] id: step` lines.
    #[default]
    Markdown,
    /// Tab-separated id, status, priority and step.
    Table,
    /// The JSON document.
    Json,
}

/// Runs one st command.
pub fn run(args: StArgs) -> ExitCode {
    if let StCommand::Show { plan, .. } = &args.command {
        if !plan.file.is_file() {
            eprintln!(
                "cas: st show: no plan file {} (nothing has been written to it yet?)",
                plan.file.display()
            );
            return ExitCode::from(2);
        }
    }
    match execute(args.command) {
        Ok(out) => {
            // A closed stdout pipe is not a failure of the command (the write already happened).
            let _ = writeln!(std::io::stdout().lock(), "{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Who writes, as st derives it from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// `mutation.actor` and every claim's owner.
    pub actor: String,
    /// `mutation.session`, when there is one.
    pub session: Option<String>,
}

impl Writer {
    /// st's rule over the variables `var` looks up: the actor is the first non-blank of
    /// `ST_ACTOR`, `ST_COMMENT_AUTHOR`, `USER`, `LOGNAME`, else `unknown`; the session is
    /// `ST_SESSION_ID`, else `CODEX_THREAD_ID`, else none. Values are trimmed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Writer {
        let first = |names: &[&str]| {
            names
                .iter()
                .filter_map(|k| var(k))
                .map(|v| v.trim_matches([' ', '\t', '\r', '\n']).to_owned())
                .find(|v| !v.is_empty())
        };
        Writer {
            actor: first(&["ST_ACTOR", "ST_COMMENT_AUTHOR", "USER", "LOGNAME"])
                .unwrap_or_else(|| "unknown".to_owned()),
            session: first(&["ST_SESSION_ID", "CODEX_THREAD_ID"]),
        }
    }
}

fn ledger(plan: &PlanFile) -> ClaimLedger {
    let writer = Writer::from_vars(|k| std::env::var(k).ok());
    ClaimLedger::new(&plan.file, writer.actor)
        .with_session(writer.session)
        .with_lock_timeout(Duration::from_millis(plan.lock_timeout_ms))
        .with_allow_multiple_in_progress(plan.allow_multiple_in_progress)
}

fn execute(command: StCommand) -> Result<String, LedgerError> {
    let (plan, op) = match command {
        StCommand::Show {
            plan,
            surface,
            format,
        } => return show(&ledger(&plan), surface, format),
        StCommand::ImportOrchplan {
            plan,
            input,
            replace,
            backlog_only,
        } => (plan, import_op(input, replace, backlog_only)),
        StCommand::Claim {
            plan,
            ids,
            wave,
            executor,
            lease_seconds,
        } => (plan, claim_op(ids, wave, executor, lease_seconds)),
        StCommand::Heartbeat { plan, id } => (plan, Op::Heartbeat { id }),
        StCommand::SetRuntime {
            plan,
            id,
            substrate,
            thread_id,
            agent_id,
            row_id,
            output_ref,
            last_event,
        } => (
            plan,
            Op::SetRuntime {
                id,
                substrate,
                thread_id,
                agent_id,
                row_id,
                output_ref,
                last_event,
            },
        ),
        StCommand::SetProof {
            plan,
            id,
            proof_state,
            command,
            evidence_ref,
        } => (plan, proof_op(id, proof_state, command, evidence_ref)),
        StCommand::Release { plan, id, reason } => (plan, Op::Release { id, reason }),
        StCommand::ReclaimStale { plan, now } => (plan, Op::ReclaimStale { now }),
    };
    ledger(&plan).apply_with_sync(&op)
}

/// The import op of `st import-orchplan`'s flags.
fn import_op(input: PathBuf, replace: bool, backlog_only: bool) -> Op {
    Op::ImportOrchplan {
        input,
        replace,
        backlog_only,
    }
}

/// The proof op of `st set-proof`'s flags.
fn proof_op(id: String, proof_state: String, command: String, evidence_ref: Option<String>) -> Op {
    Op::SetProof {
        id,
        state: proof_state,
        command,
        evidence_ref,
    }
}

/// The claim op of `st claim`'s flags (the lease is parsed by the ledger, after the targets).
fn claim_op(
    ids: Option<String>,
    wave: Option<String>,
    executor: String,
    lease_seconds: Option<String>,
) -> Op {
    Op::Claim {
        ids: ids.into_iter().collect(),
        wave,
        executor,
        lease_seconds: lease_seconds.map(Lease::Text),
    }
}

fn show(ledger: &ClaimLedger, surface: Surface, format: ShowFormat) -> Result<String, LedgerError> {
    let shown = ledger.show(surface)?;
    if format == ShowFormat::Json {
        return Ok(shown.to_string());
    }
    let items = shown["items"].as_array().cloned().unwrap_or_default();
    let field = |i: &Value, k: &str| i[k].as_str().unwrap_or("").to_owned();
    let lines: Vec<String> = items
        .iter()
        .map(|i| match format {
            ShowFormat::Table => format!(
                "{}\t{}\t{}\t{}",
                field(i, "id"),
                field(i, "status"),
                field(i, "priority"),
                field(i, "step")
            ),
            ShowFormat::Markdown | ShowFormat::Json => format!(
                "- [{}] {}: {}",
                field(i, "status"),
                field(i, "id"),
                field(i, "step")
            ),
        })
        .collect();
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17 case 6: st's actor and session variables, as a table (no process environment
    /// is touched: the variables are a map).
    #[test]
    fn the_writer_follows_st_variables() {
        let unknown = ("unknown", None);
        type Vars = &'static [(&'static str, &'static str)];
        let cases: [(Vars, (&str, Option<&str>)); 8] = [
            (&[], unknown),
            (&[("USER", "  ")], unknown),
            (&[("LOGNAME", "ln"), ("USER", "u")], ("u", None)),
            (&[("ST_COMMENT_AUTHOR", "ca"), ("USER", "u")], ("ca", None)),
            (
                &[("ST_ACTOR", " tk\n"), ("ST_COMMENT_AUTHOR", "ca")],
                ("tk", None),
            ),
            (&[("CODEX_THREAD_ID", "th")], ("unknown", Some("th"))),
            (
                &[("ST_SESSION_ID", "s"), ("CODEX_THREAD_ID", "th")],
                ("unknown", Some("s")),
            ),
            (
                &[("ST_SESSION_ID", " "), ("CODEX_THREAD_ID", "th")],
                ("unknown", Some("th")),
            ),
        ];
        for (vars, (actor, session)) in cases {
            let var = |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            };
            let want = Writer {
                actor: actor.to_owned(),
                session: session.map(str::to_owned),
            };
            assert_eq!(Writer::from_vars(var), want, "{vars:?}");
        }
    }
}
