//! Running a short child process with a deadline: output captured, killed when late.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished child left.
#[derive(Debug)]
pub struct Finished {
    /// How it ended.
    pub status: ExitStatus,
    /// Everything it wrote on stdout.
    pub stdout: String,
    /// Everything it wrote on stderr.
    pub stderr: String,
}

/// Why a child gave no result.
#[derive(Debug)]
pub enum ChildFailure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// It was still running at the deadline and was killed.
    Timeout,
}

/// Runs `cmd` (stdin closed) and waits at most `timeout` for it.
pub fn run_with_deadline(mut cmd: Command, timeout: Duration) -> Result<Finished, ChildFailure> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(ChildFailure::Spawn)?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
            _ => break None,
        }
    };
    let Some(status) = status else {
        // Late (or unwaitable): kill it and reap it so nothing is left behind.
        let _ = child.kill();
        let _ = child.wait();
        return Err(ChildFailure::Timeout);
    };
    let join =
        |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Finished {
        status,
        stdout: join(out),
        stderr: join(err),
    })
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let done = run_with_deadline(cmd, Duration::from_secs(10)).unwrap();
        assert_eq!(done.status.code(), Some(3));
        assert_eq!(
            (done.stdout.as_str(), done.stderr.as_str()),
            ("out\n", "err\n")
        );
    }

    #[test]
    fn kills_a_late_child() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let started = Instant::now();
        let res = run_with_deadline(cmd, Duration::from_millis(100));
        assert!(matches!(res, Err(ChildFailure::Timeout)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
