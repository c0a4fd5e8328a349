//! `cas transcript show FILE`: a transcript or event log as a conversation a person can read.
//!
//! Exit 0 when the whole file was shown; 2 when it cannot be read or a line is not a record
//! (what was shown before that line stays shown), with the reason on stderr.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::errors::Chain;
use crate::transcript::{show, ShowOptions};

/// Flags of `cas transcript`.
#[derive(Debug, clap::Args)]
pub struct TranscriptArgs {
    /// What to do with a transcript.
    #[command(subcommand)]
    pub command: TranscriptCommand,
}

/// The `cas transcript` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TranscriptCommand {
    /// Print a transcript (conformance) or event log (`--event-log`) as a conversation.
    Show(ShowArgs),
}

/// Flags of `cas transcript show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The transcript file (NDJSON, schema `cas.transcript/1`).
    pub file: PathBuf,
    /// Also print each whole frame (and model request body), pretty, under its line.
    #[arg(long)]
    pub full: bool,
    /// Print the transcript's own NDJSON lines (after the method filter) instead.
    #[arg(long)]
    pub json: bool,
    /// Only frames of this method (repeatable; a trailing `*` matches a prefix, e.g. `turn/*`).
    #[arg(long = "method")]
    pub methods: Vec<String>,
}

/// Runs the command.
pub fn run(args: TranscriptArgs) -> ExitCode {
    let TranscriptCommand::Show(args) = args.command;
    let file = match std::fs::File::open(&args.file) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("cas: transcript show {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let options = ShowOptions {
        full: args.full,
        json: args.json,
        methods: args.methods,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let shown = show(std::io::BufReader::new(file), &options, &mut out);
    let flushed = out.flush();
    match shown {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (e.g. `| head`) is not an error.
        Err(crate::transcript::ShowError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            drop(flushed);
            eprintln!(
                "cas: transcript show {}: {}",
                args.file.display(),
                Chain(&e)
            );
            ExitCode::from(2)
        }
    }
}
