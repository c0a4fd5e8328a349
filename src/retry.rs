//! Overload retry: only `-32001` is retried, on an exponential, capped, fully jittered schedule.
//!
//! The schedule is deterministic for a given seed, so tests can check exact delays. A retry
//! never outlives the total deadline: a delay that would end past it ends the retrying instead.
//! Every attempt, retry and delay is reported, so output can say what retrying cost.

use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

use crate::errors::SessionError;
use crate::protocol::OVERLOADED;
use crate::session::{Reply, Session};

/// How often and how long to retry an overloaded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffSchedule {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// The first delay's ceiling; each retry doubles it.
    pub base: Duration,
    /// The ceiling no delay exceeds.
    pub max: Duration,
    /// No retry starts after this much time since the first attempt.
    pub total_deadline: Duration,
}

impl Default for BackoffSchedule {
    fn default() -> Self {
        BackoffSchedule {
            max_retries: 5,
            base: Duration::from_millis(50),
            max: Duration::from_secs(2),
            total_deadline: Duration::from_secs(30),
        }
    }
}

impl BackoffSchedule {
    /// The ceiling of the delay before retry number `retry` (0-based): `min(max, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The jittered delay before retry number `retry`: uniform in `[0, ceiling]` ("full jitter").
    pub fn delay(&self, retry: u32, rng: &mut SplitMix64) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        Duration::from_micros(rng.below(ceiling + 1))
    }
}

/// A small seedable random number generator (SplitMix64); not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// A generator seeded from the clock and process id.
    pub fn from_entropy() -> SplitMix64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        SplitMix64(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, bound)`; 0 when `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}

/// What retrying one request cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryReport {
    /// Requests sent, the first included.
    pub attempts: u32,
    /// Attempts after the first.
    pub retries: u32,
    /// The delays slept before each retry, in milliseconds.
    pub delays_ms: Vec<u64>,
    /// Why retrying stopped while still overloaded, if it did (`retry_budget` or `deadline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<GaveUp>,
}

/// Why retrying stopped while the server was still overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GaveUp {
    /// Every retry the schedule allows was spent.
    RetryBudget,
    /// The next retry would have started after the retry deadline.
    Deadline,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GaveUp::RetryBudget => "retry_budget",
            GaveUp::Deadline => "deadline",
        })
    }
}

/// Whether a reply asks to be retried: code `-32001`, whatever the message.
pub fn is_overloaded(reply: &Reply) -> bool {
    matches!(reply, Err(e) if e.code == OVERLOADED)
}

/// Sends `method` until it is not overloaded, the retries are spent, or the deadline passes.
/// A missing response (timeout) or a closed connection is not retried.
pub async fn request_with_retry(
    session: &Session,
    method: &str,
    params: &Value,
    timeout: Duration,
    schedule: &BackoffSchedule,
    rng: &mut SplitMix64,
) -> (Result<Reply, SessionError>, RetryReport) {
    let started = Instant::now();
    let mut report = RetryReport::default();
    loop {
        report.attempts += 1;
        let reply = session.request(method, Some(params.clone()), timeout).await;
        let overloaded = matches!(&reply, Ok(r) if is_overloaded(r));
        if !overloaded {
            return (reply, report);
        }
        if report.retries >= schedule.max_retries {
            report.gave_up = Some(GaveUp::RetryBudget);
            return (reply, report);
        }
        let delay = schedule.delay(report.retries, rng);
        if started.elapsed() + delay > schedule.total_deadline {
            report.gave_up = Some(GaveUp::Deadline);
            return (reply, report);
        }
        tokio::time::sleep(delay).await;
        report.retries += 1;
        report.delays_ms.push(delay.as_millis() as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let s = BackoffSchedule {
            max_retries: 10,
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            total_deadline: Duration::from_secs(60),
        };
        let ceilings: Vec<u128> = (0..6).map(|r| s.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(s.ceiling(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn jitter_is_full_bounded_and_seeded() {
        let s = BackoffSchedule::default();
        let run = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..8).map(|r| s.delay(r, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        for (r, d) in run(7).into_iter().enumerate() {
            assert!(d <= s.ceiling(r as u32), "retry {r}: {d:?}");
        }
    }

    #[test]
    fn only_minus_32001_is_overload() {
        use crate::jsonrpc::RpcError;
        assert!(is_overloaded(&Err(RpcError::new(-32001, "anything"))));
        assert!(!is_overloaded(&Err(RpcError::new(
            -32600,
            "Server overloaded; retry later."
        ))));
        assert!(!is_overloaded(&Ok(Value::Null)));
    }
}
