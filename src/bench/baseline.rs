//! The yardstick: a minimal no-framework JSON-RPC client (std only, blocking, no JSON parser).
//!
//! It does what a careful hand-written script does and nothing more: write a line, read lines
//! until the one with the wanted id. cas is measured against it on the same server in the same
//! run, so "cas adds almost nothing" is a ratio, not a guess.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::errors::BaselineError;
use crate::launch::ServerSpec;

/// How long one baseline client may live before its watchdog kills the server (so a read
/// that would block forever ends with "server closed stdout").
const WATCHDOG: Duration = Duration::from_secs(120);

/// A blocking JSONL client over a child's stdin/stdout.
pub struct LineClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
    _watchdog: std::sync::mpsc::Sender<()>,
}

impl LineClient {
    /// Spawns `command` with piped stdio (stderr discarded).
    pub fn spawn(mut command: Command) -> Result<LineClient, BaselineError> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().ok_or(BaselineError::NoPipe("stdin"))?;
        let stdout = child.stdout.take().ok_or(BaselineError::NoPipe("stdout"))?;
        let (done, watch) = std::sync::mpsc::channel::<()>();
        let pid = child.id() as i32;
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(WATCHDOG) {
                // SAFETY: kill(2) with a valid signal; at worst the pid is already gone.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        Ok(LineClient {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            line: String::new(),
            _watchdog: done,
        })
    }

    /// Writes one request line without waiting.
    pub fn send(&mut self, id: u64, method: &str, params: &str) -> std::io::Result<()> {
        let line = format!("{{\"id\":{id},\"method\":\"{method}\",\"params\":{params}}}\n");
        self.stdin.write_all(line.as_bytes())
    }

    /// Writes one notification line.
    pub fn notify(&mut self, method: &str) -> std::io::Result<()> {
        let line = format!("{{\"method\":\"{method}\"}}\n");
        self.stdin.write_all(line.as_bytes())
    }

    /// Reads lines until a response (a line with a top-level integer id); returns its id.
    pub fn read_response(&mut self) -> Result<u64, BaselineError> {
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line)? == 0 {
                return Err(BaselineError::ServerClosed);
            }
            if let Some(id) = response_id(&self.line) {
                return Ok(id);
            }
        }
    }

    /// Sends a request and reads until its response.
    pub fn call(&mut self, id: u64, method: &str, params: &str) -> Result<(), BaselineError> {
        self.send(id, method, params)?;
        while self.read_response()? != id {}
        Ok(())
    }

    /// The handshake: initialize, then initialized.
    pub fn handshake(&mut self, name: &str) -> Result<(), BaselineError> {
        let params = format!(r#"{{"clientInfo":{{"name":"{name}","version":"0"}}}}"#);
        self.call(0, "initialize", &params)?;
        Ok(self.notify("initialized")?)
    }

    /// Closes stdin and waits for the server to exit.
    pub fn close(self) -> std::io::Result<()> {
        let LineClient {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        child.wait().map(|_| ())
    }
}

/// The id of a response line: codex writes `{"id":N,"result":…}` and `{"error":{…},"id":N}`;
/// notifications have no top-level id (ids inside params are never looked at).
fn response_id(line: &str) -> Option<u64> {
    let digits = |text: &str| -> Option<u64> {
        let d: String = text.chars().take_while(char::is_ascii_digit).collect();
        d.parse().ok()
    };
    if let Some(rest) = line.strip_prefix(r#"{"id":"#) {
        return digits(rest);
    }
    let trimmed = line.trim_end().strip_suffix('}')?;
    if !line.starts_with(r#"{"error":"#) {
        return None;
    }
    let at = trimmed.rfind(r#","id":"#)? + 6;
    digits(&trimmed[at..])
}

/// Starts `n` codex app-servers with fresh homes under `root`, in parallel threads; each does
/// the handshake and one `thread/list`, then exits. Returns the wall time. Each home's
/// config points its model provider at `model_url`.
pub fn fanout(
    n: usize,
    codex: &Path,
    root: &Path,
    model_url: &str,
) -> Result<Duration, BaselineError> {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let home: PathBuf = root.join(format!("baseline-{i}"));
            let (codex, model_url) = (codex.to_owned(), model_url.to_owned());
            std::thread::spawn(move || -> Result<(), BaselineError> {
                crate::launch::write_hermetic_config(&home, &model_url)?;
                let mut client = LineClient::spawn(stdio_command(&codex, &home))?;
                client.handshake(&format!("baseline-{i}"))?;
                client.call(1, "thread/list", r#"{"cursor":null,"limit":1}"#)?;
                client.close()?;
                Ok(std::fs::remove_dir_all(&home)?)
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| BaselineError::ThreadPanicked)??;
    }
    Ok(t0.elapsed())
}

/// The stdio `codex app-server` command for a home of its own (also its cwd), as cas starts it.
pub fn stdio_command(codex: &Path, home: &Path) -> Command {
    ServerSpec {
        bin: codex.to_owned(),
        codex_home: home.to_owned(),
        cwd: home.to_owned(),
        extra_args: Vec::new(),
        env: Vec::new(),
    }
    .std_command(None)
}

/// `requests` calls one after another; returns the wall time.
pub fn sequential(
    client: &mut LineClient,
    requests: u64,
    method: &str,
    params: &str,
) -> Result<Duration, BaselineError> {
    let t0 = Instant::now();
    for id in 1..=requests {
        client.call(id, method, params)?;
    }
    Ok(t0.elapsed())
}

/// `requests` calls with `window` in flight; returns the wall time.
pub fn windowed(
    client: &mut LineClient,
    requests: u64,
    window: u64,
    method: &str,
    params: &str,
) -> Result<Duration, BaselineError> {
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < window.min(requests) {
        sent += 1;
        client.send(sent, method, params)?;
    }
    for _ in 0..requests {
        client.read_response()?;
        if sent < requests {
            sent += 1;
            client.send(sent, method, params)?;
        }
    }
    Ok(t0.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_response_ids_only() {
        assert_eq!(response_id(r#"{"id":12,"result":{"data":[]}}"#), Some(12));
        assert_eq!(
            response_id(r#"{"error":{"code":-32600,"message":"x"},"id":7}"#),
            Some(7)
        );
        assert_eq!(
            response_id(r#"{"method":"thread/started","params":{"thread":{"id":"abc"}}}"#),
            None
        );
        assert_eq!(response_id(r#"{"method":"x","params":{"id":3}}"#), None);
        assert_eq!(
            response_id(r#"{"id":4,"result":{"data":[{"id":"t"}],"x":{"id":9}}}"#),
            Some(4)
        );
    }
}
