//! Which [`FailureCode`] each setup error carries: the one map from error types to codes, used
//! by the `--json` document a command prints when cas could not run (exit 2).

use super::{
    BaselineError, BenchError, CapabilitiesError, GitError, InstructionsError, LaunchError,
    PolicyError, ReviewError, RuntimeError, SchemaError, SessionError, StartError, TransportError,
    UsageError,
};
use crate::outcome::FailureCode;

/// An error that names why cas could not run as a [`FailureCode`].
pub trait FailureCoded: std::error::Error {
    /// The code a program reads for this error.
    fn failure_code(&self) -> FailureCode;
}

impl FailureCoded for LaunchError {
    fn failure_code(&self) -> FailureCode {
        use LaunchError::*;
        match self {
            CodexNotFound { .. } | CodexNotExecutable { .. } => FailureCode::CodexNotFound,
            Version { .. } | VersionRun { .. } => FailureCode::CodexVersionFailed,
            NoBanner { .. } | ExitedEarly { .. } => FailureCode::WebsocketBootstrapFailed,
            Prepare { .. } | Hooks { .. } | Config { .. } => FailureCode::SetupFailed,
            MissingLaunchFlag { .. } => FailureCode::IncompatibleCodex,
            NoDisableFlag | NoHooksFeature | HooksOffUnsupported => FailureCode::HooksUnsupported,
            HelpTimeout | Help { .. } | Template { .. } | Initialize { .. } | ExitedAtOnce => {
                FailureCode::LaunchFailed
            }
            NoServer => FailureCode::NoServer,
            Transport(e) => e.failure_code(),
        }
    }
}

impl FailureCoded for TransportError {
    fn failure_code(&self) -> FailureCode {
        use TransportError::*;
        match self {
            Spawn { .. } | NoPipe { .. } => FailureCode::LaunchFailed,
            Connect { .. } | BadToken { .. } | ConnectTimeout { .. } => FailureCode::ConnectFailed,
            Closed { .. } => FailureCode::ConnectionClosed,
            Io { .. } => FailureCode::SetupFailed,
        }
    }
}

impl FailureCoded for SessionError {
    fn failure_code(&self) -> FailureCode {
        match self {
            SessionError::Timeout { .. } => FailureCode::NoResponse,
            SessionError::Closed { .. } => FailureCode::ConnectionClosed,
            _ => FailureCode::SessionError,
        }
    }
}

impl FailureCoded for UsageError {
    fn failure_code(&self) -> FailureCode {
        FailureCode::UsageError
    }
}

impl FailureCoded for PolicyError {
    fn failure_code(&self) -> FailureCode {
        FailureCode::UsageError
    }
}

impl FailureCoded for InstructionsError {
    fn failure_code(&self) -> FailureCode {
        FailureCode::UsageError
    }
}

impl FailureCoded for GitError {
    fn failure_code(&self) -> FailureCode {
        FailureCode::SetupFailed
    }
}

impl FailureCoded for RuntimeError {
    fn failure_code(&self) -> FailureCode {
        match self {
            RuntimeError::Usage(e) => e.failure_code(),
            RuntimeError::Launch(e) => e.failure_code(),
            RuntimeError::Io { .. } => FailureCode::SetupFailed,
            RuntimeError::Surface { source, .. } => source.failure_code(),
        }
    }
}

impl FailureCoded for SchemaError {
    fn failure_code(&self) -> FailureCode {
        use SchemaError::*;
        match self {
            Spawn(_) | Timeout | Failed { .. } | Shape { .. } => FailureCode::SurfaceFailed,
            Io { .. } | TempDir { .. } | Home(_) => FailureCode::SetupFailed,
            Version(e) => e.failure_code(),
            Read { .. } | NotSurface { .. } | SurfaceVersion { .. } | NeitherFileNorBinary(_) => {
                FailureCode::UsageError
            }
            Binary { source, .. } => source.failure_code(),
        }
    }
}

impl FailureCoded for CapabilitiesError {
    fn failure_code(&self) -> FailureCode {
        match self {
            CapabilitiesError::Launch(e) => e.failure_code(),
            CapabilitiesError::Schema(e) => e.failure_code(),
            CapabilitiesError::NoScenariosDir(_) => FailureCode::UsageError,
        }
    }
}

impl FailureCoded for ReviewError {
    fn failure_code(&self) -> FailureCode {
        use ReviewError::*;
        match self {
            BadId(_) | NotFound { .. } => FailureCode::UsageError,
            BadRecord { .. } | BadSpec { .. } | Io { .. } | Encode { .. } | NoThreadId => {
                FailureCode::SetupFailed
            }
            Interrupt { .. } | InterruptFailed { .. } => FailureCode::SessionError,
        }
    }
}

impl FailureCoded for StartError {
    fn failure_code(&self) -> FailureCode {
        match self {
            StartError::Runtime(e) => e.failure_code(),
            StartError::ParentId(_) => FailureCode::UsageError,
            StartError::Target(e) => e.failure_code(),
            StartError::Review(e) => e.failure_code(),
            StartError::Git(e) => e.failure_code(),
        }
    }
}

impl FailureCoded for BenchError {
    fn failure_code(&self) -> FailureCode {
        use BenchError::*;
        match self {
            Scratch { .. } | WriteScenario(_) | CasExecutable(_) => FailureCode::SetupFailed,
            Window { .. } => FailureCode::UsageError,
            Launch(e) => e.failure_code(),
            Transport(e) => e.failure_code(),
            Session(e) => e.failure_code(),
            Baseline { source, .. } => source.failure_code(),
            RunTimeout(_)
            | RunCas(_)
            | CasOutput(_)
            | CasFailed(_)
            | SuiteNotRun(_)
            | Join(_)
            | Failures { .. } => FailureCode::BenchFailed,
        }
    }
}

impl FailureCoded for BaselineError {
    fn failure_code(&self) -> FailureCode {
        match self {
            BaselineError::Launch(e) => e.failure_code(),
            _ => FailureCode::BenchFailed,
        }
    }
}
