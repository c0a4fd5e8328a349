//! The one codex gate: a trial that needs codex runs with the installed one, is ignored with
//! the reason when there is none, and fails instead when `CAS_REQUIRE_CODEX=1` demands codex.

use std::path::{Path, PathBuf};

use libtest_mimic::{Completion, Failed, Trial};

use super::Outcome;

/// What the gate decided for a trial that needs codex.
pub enum Codex {
    /// The installed codex to run with.
    Found(PathBuf),
    /// There is none; the trial is ignored with this outcome.
    Missing(Completion),
}

/// The installed codex, or the ignored outcome when there is none; `Err` when there is none
/// and `CAS_REQUIRE_CODEX=1` is set.
pub fn codex_gate() -> Result<Codex, Failed> {
    match super::target_env().codex.resolve() {
        Ok(bin) => Ok(Codex::Found(bin)),
        Err(e) if std::env::var("CAS_REQUIRE_CODEX").is_ok_and(|v| v == "1") => {
            Err(format!("CAS_REQUIRE_CODEX=1 but {e}").into())
        }
        Err(e) => Ok(Codex::Missing(Completion::ignored_with(format!(
            "no codex: {}",
            e.to_string().lines().next().unwrap_or("")
        )))),
    }
}

/// A trial named `name` that runs `body` with the installed codex, behind [`codex_gate`].
pub fn codex_trial<F>(name: impl Into<String>, body: F) -> Trial
where
    F: FnOnce(&Path) -> Outcome + Send + 'static,
{
    Trial::ignorable_test(name, move || match codex_gate()? {
        Codex::Found(bin) => body(&bin),
        Codex::Missing(ignored) => Ok(ignored),
    })
}
