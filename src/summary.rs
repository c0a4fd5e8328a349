//! Short, typed summaries of method results and latency statistics for the control lanes' output.
//!
//! A summary says what a person checks first (how many threads, which id, which status) and
//! never carries the whole result; methods cas does not know get their first keys listed.

use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// A summary of `result` for `method`.
pub fn summarize(method: &str, result: &Value) -> Value {
    match method {
        "thread/list" => json!({
            "rows": result["data"].as_array().map_or(0, Vec::len),
            "firstThreadId": result["data"][0]["id"],
            "nextCursor": result["nextCursor"],
        }),
        "thread/read" => json!({
            "threadId": result["thread"]["id"],
            "status": result["thread"]["status"]["type"],
            "turns": result["thread"]["turns"].as_array().map_or(0, Vec::len),
        }),
        "thread/start" | "thread/resume" | "thread/fork" => json!({
            "threadId": result["thread"]["id"],
            "model": result["model"],
            "modelProvider": result["modelProvider"],
        }),
        "turn/start" => json!({
            "turnId": result["turn"]["id"],
            "status": result["turn"]["status"],
        }),
        _ => match result {
            Value::Object(map) => json!({"keys": map.keys().take(8).collect::<Vec<_>>()}),
            other => json!({"value": other}),
        },
    }
}

/// Minimum, median, 95th percentile and maximum, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Fastest.
    pub min: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Slowest.
    pub max: f64,
}

impl LatencyStats {
    /// Statistics of `samples`; all zero when there are none.
    pub fn of(samples: &[Duration]) -> LatencyStats {
        if samples.is_empty() {
            return LatencyStats::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| millis(*d)).collect();
        ms.sort_by(f64::total_cmp);
        LatencyStats {
            min: ms[0],
            p50: nearest_rank(&ms, 50.0),
            p95: nearest_rank(&ms, 95.0),
            max: ms[ms.len() - 1],
        }
    }
}

fn nearest_rank(sorted: &[f64], percentile: f64) -> f64 {
    let rank = ((percentile / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A duration in milliseconds, rounded to microseconds.
pub fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn summarizes_the_methods_people_check() {
        let cases = [
            (
                "thread/list",
                json!({"data": [{"id": "a"}, {"id": "b"}], "nextCursor": null}),
                json!({"rows": 2, "firstThreadId": "a", "nextCursor": null}),
            ),
            (
                "thread/read",
                json!({"thread": {"id": "a", "status": {"type": "idle"}, "turns": [{}, {}]}}),
                json!({"threadId": "a", "status": "idle", "turns": 2}),
            ),
            (
                "thread/start",
                json!({"thread": {"id": "t"}, "model": "m", "modelProvider": "p"}),
                json!({"threadId": "t", "model": "m", "modelProvider": "p"}),
            ),
            (
                "turn/start",
                json!({"turn": {"id": "u", "status": "inProgress"}}),
                json!({"turnId": "u", "status": "inProgress"}),
            ),
            (
                "config/read",
                json!({"b": 1, "a": 2}),
                json!({"keys": ["b", "a"]}),
            ),
            ("x", json!(3), json!({"value": 3})),
        ];
        for (method, result, want) in cases {
            assert_eq!(summarize(method, &result), want, "{method}");
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(
            LatencyStats::of(&samples),
            LatencyStats {
                min: 1.0,
                p50: 10.0,
                p95: 19.0,
                max: 20.0
            }
        );
        assert_eq!(LatencyStats::of(&[]), LatencyStats::default());
        let one = LatencyStats::of(&[Duration::from_micros(1500)]);
        assert_eq!((one.min, one.p50, one.p95, one.max), (1.5, 1.5, 1.5, 1.5));
    }
}
