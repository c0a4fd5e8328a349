//! What the cas process itself costs: CPU time and peak resident memory.
//!
//! Reported by the control lanes and the benchmark so "cas adds almost nothing" is a measured
//! claim. Children (the app-servers) are not counted.

use serde::Serialize;
use std::time::Duration;

/// CPU time (user + system) and peak RSS of this process so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessUsage {
    /// User plus system CPU time, in milliseconds.
    pub cpu_ms: f64,
    /// Peak resident set size (VmHWM), in KiB.
    pub peak_rss_kb: u64,
}

/// This process's CPU time so far (all threads, children excluded).
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_SELF is valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// This process's peak resident set size in KiB (0 where /proc is unavailable).
pub fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Both figures now.
pub fn usage() -> ProcessUsage {
    ProcessUsage {
        cpu_ms: crate::summary::millis(cpu_time()),
        peak_rss_kb: peak_rss_kb(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_something() {
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(20) {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        let u = usage();
        assert!(u.cpu_ms >= 10.0, "{u:?}");
        assert!(u.peak_rss_kb > 100, "{u:?}");
    }
}
