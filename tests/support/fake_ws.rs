//! The fake app-server on a loopback websocket, as a child `cas fake_server` the test owns.

use libtest_mimic::Failed;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use super::cas_process;

/// A running fake websocket server, killed and reaped on drop.
pub struct FakeWs {
    child: Child,
    /// The listen URL from its `listening on:` banner.
    pub url: String,
}

impl FakeWs {
    /// Starts the fake scripted by `scenario`, requiring `token_file`'s token when given.
    pub fn start(scenario: &Path, token_file: Option<&Path>) -> Result<FakeWs, Failed> {
        let mut command = cas_process();
        command
            .args(["fake_server", "--listen", "ws://127.0.0.1:0", "--scenario"])
            .arg(scenario);
        if let Some(file) = token_file {
            command.arg("--ws-token-file").arg(file);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        // Dropped on error, so a fake that never announces itself is killed too.
        let mut fake = FakeWs {
            child,
            url: String::new(),
        };
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.trim().strip_prefix("listening on: ") {
                fake.url = url.to_owned();
                return Ok(fake);
            }
        }
        Err("the fake printed no listen address".into())
    }
}

impl Drop for FakeWs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
