//! One fault run: its folder (scenario, codex stand-in, TMPDIR, state), the `cas request` it
//! makes, and the check that it left nothing behind.

use libtest_mimic::Failed;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{self, cas, expect, JsonRun};

/// One fault run's folder: the scenario, the codex stand-in, and the run's TMPDIR and state.
pub struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    pub fn new() -> Result<Run, Failed> {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).map_err(|e| e.to_string())?;
        for sub in ["tmp", "state"] {
            std::fs::create_dir_all(dir.path().join(sub)).map_err(|e| e.to_string())?;
        }
        Ok(Run { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A scenario whose fake has `fake` (TOML lines of the `[fake]` table, e.g. `faults = […]`)
    /// and sends `after_initialize` (a TOML inline-table body, may be empty) after `initialize`.
    pub fn scenario(&self, fake: &str, after_initialize: &str) -> Result<PathBuf, Failed> {
        let after = if after_initialize.is_empty() {
            String::new()
        } else {
            format!("[[fake.after_initialize]]\n{after_initialize}\n")
        };
        let text = format!(
            r#"description = "fault"
targets = ["fake-stdio"]

[fake]
{fake}

{after}
[[fake.rules]]
method = "thread/list"
result = {{ data = [{{ id = "thread-a" }}], nextCursor = "" }}

[[steps]]
request = {{ method = "initialize", params = {{ clientInfo = {{ name = "x", version = "1" }} }} }}
"#
        );
        let path = self.path().join("fault.toml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// A codex stand-in: `codex` itself for everything (version, schema, help) except serving,
    /// where the fake from `scenario` serves on stdio or on a websocket.
    pub fn fake_codex(&self, codex: &Path, scenario: &Path) -> Result<PathBuf, Failed> {
        use std::os::unix::fs::PermissionsExt;
        let cas = support::cas_bin();
        let script = format!(
            "#!/bin/sh\n\
             if [ \"$1\" = app-server ] && [ $# -eq 1 ]; then\n  exec '{cas}' fake_server --scenario '{sc}'\nfi\n\
             if [ \"$1\" = app-server ] && [ \"$2\" = --listen ]; then\n  exec '{cas}' fake_server --scenario '{sc}' --listen ws://127.0.0.1:0\nfi\n\
             exec '{codex}' \"$@\"\n",
            cas = cas.display(),
            sc = scenario.display(),
            codex = codex.display()
        );
        let path = self.path().join("codex");
        std::fs::write(&path, script).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Runs `cas request --method thread/list --json` with `args` in this run's TMPDIR and
    /// state folder; exit code, document, wall time.
    pub fn request(&self, args: &[&str]) -> Result<(i32, Value, Duration), Failed> {
        let t0 = Instant::now();
        let mut cmd = cas();
        cmd.args(["request", "--method", "thread/list", "--json"])
            .args(args)
            .env("TMPDIR", self.path().join("tmp"))
            .env("XDG_STATE_HOME", self.path().join("state"));
        let (code, doc) = JsonRun::of(&mut cmd)?.pair();
        Ok((code, doc, t0.elapsed()))
    }

    /// A stdio fault run on the fake scripted by `fake` and `after_initialize`.
    pub fn on_fake(
        &self,
        real: &Path,
        fake: &str,
        after_initialize: &str,
        args: &[&str],
    ) -> Result<(i32, Value, Duration), Failed> {
        let scenario = self.scenario(fake, after_initialize)?;
        let codex = self.fake_codex(real, &scenario)?;
        let codex = codex.to_string_lossy();
        self.request(&[&["--codex-bin", &codex][..], args].concat())
    }

    /// Nothing of the run is left: no process mentions its folder, its TMPDIR is empty, and
    /// its state folder holds no home and no hook log.
    pub fn nothing_left(&self, what: &str) -> Result<(), Failed> {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut procs = support::processes_mentioning(self.path());
        while !procs.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            procs = support::processes_mentioning(self.path());
        }
        let tmp = support::entries_under(&self.path().join("tmp"));
        let state: Vec<String> = support::entries_under(&self.path().join("state"))
            .into_iter()
            .filter(|e| e.starts_with("cas/homes/") || e.starts_with("cas/hook-logs"))
            // The protocol-surface scratch folder is shared by every run and stays, empty.
            .filter(|e| e != "cas/homes/schema")
            .collect();
        let left = json!({"processes": format!("{procs:?}"), "tmp": tmp, "state": state});
        expect(
            procs.is_empty() && tmp.is_empty() && state.is_empty(),
            &format!("{what}: nothing left behind"),
            &left,
        )
    }
}
