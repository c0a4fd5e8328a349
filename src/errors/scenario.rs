//! The errors of reading scenario files: a file that cannot be read or parsed, and the rule of
//! the format it breaks. Re-exported by [`crate::errors`]; the same rules apply.

use std::path::PathBuf;

/// A rule of the scenario format that a file breaks.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A rule broken, in words.
    #[error("{0}")]
    Broken(String),
    /// A humantime duration field that does not parse.
    #[error("{field} = {text:?}")]
    Duration {
        /// The field, e.g. `step_timeout`.
        field: &'static str,
        /// Its text.
        text: String,
        /// What humantime said.
        #[source]
        source: humantime::DurationError,
    },
    /// A ledger step whose operation does not parse.
    #[error("ledger")]
    LedgerOp(#[source] serde_json::Error),
    /// The hooks.config file could not be read.
    #[error("hooks.config {path}")]
    HooksConfig {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// An expectation with an unknown operator or a malformed operand, at a line of a file.
    #[error("{}:{line}: {field}", file.display())]
    Pattern {
        /// The file.
        file: PathBuf,
        /// The line (1-based) of the offending value.
        line: usize,
        /// The step and key, e.g. `step 2 (start) request.expect_result`.
        field: String,
        /// What is wrong, where in the expectation.
        #[source]
        source: Box<PatternError>,
    },
    /// A `${NAME}` that nothing defines, at a line of a file.
    #[error("{}:{line}: unknown variable ${{{name}}} (not in vars, not captured by an earlier step, not built in: {builtins})", file.display())]
    UnknownVar {
        /// The file.
        file: PathBuf,
        /// The line (1-based).
        line: usize,
        /// The name.
        name: String,
        /// The names every scenario knows (and `item` in a parallel branch).
        builtins: &'static str,
    },
    /// A rule broken by one step (`label` names it).
    #[error("{label}")]
    Step {
        /// `step N (name)`.
        label: String,
        /// The rule broken.
        #[source]
        source: Box<RuleError>,
    },
    /// A rule broken by one of a parallel group's steps (`label` names it).
    #[error("parallel {label}")]
    Parallel {
        /// `step N (name)` within the group.
        label: String,
        /// The rule broken.
        #[source]
        source: Box<RuleError>,
    },
}

impl RuleError {
    /// A rule broken, in words.
    pub fn broken(text: impl Into<String>) -> RuleError {
        RuleError::Broken(text.into())
    }

    /// The same rule broken, by a step inside a parallel group.
    pub fn in_parallel(self) -> RuleError {
        match self {
            RuleError::Step { label, source } => RuleError::Parallel { label, source },
            other => other,
        }
    }
}

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("could not read scenario {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid scenario TOML.
    #[error("scenario {path} does not parse: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line (1-based) the parser points at, when it does.
        line: Option<usize>,
        /// What the TOML parser said, with line and column.
        message: String,
    },
    /// The file parses but breaks a rule of the format.
    #[error("scenario {path} is invalid")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The rule broken.
        #[source]
        source: RuleError,
    },
    /// No scenario of that name exists.
    #[error("no scenario named {name:?} in {dir}\n(hint: known scenarios: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The folder searched.
        dir: PathBuf,
        /// The names that do exist.
        known: String,
    },
}

/// An expectation that cannot be used: an unknown operator or a malformed operand.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at {}: {message}", if path.is_empty() { "/" } else { path })]
pub struct PatternError {
    /// Where in the expectation, as a JSON-pointer-like path (`/thread/id`).
    pub path: String,
    /// What is wrong, naming the operator.
    pub message: String,
}
