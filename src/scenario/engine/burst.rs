//! The `burst` step: many requests written at once on one connection, each accounted for.
//!
//! Every request ends as a result, an error answer (reported), or no answer within the step's
//! timeout (reported as lost). The verdict shows only what was checked, as booleans, so it is
//! the same on every run; the counts go to the run's notes for the report.

use futures_util::future::join_all;
use serde_json::json;
use std::time::Duration;

use super::{Outcome, Run};
use crate::errors::SessionError;
use crate::matcher::substitute;
use crate::outcome::FailureCode;
use crate::retry::{is_overloaded, request_with_retry, RetryReport, SplitMix64};
use crate::scenario::format::BurstStep;
use crate::session::{Reply, Session};

/// How the requests of one burst ended.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    succeeded: u32,
    error_answers: u32,
    lost: u32,
    closed: u32,
    first_answer_overloaded: u32,
    retries: u32,
    max_attempts: u32,
}

impl Tally {
    fn add(&mut self, reply: &Result<Reply, SessionError>, report: &RetryReport) {
        match reply {
            Ok(Ok(_)) => self.succeeded += 1,
            Ok(Err(_)) => self.error_answers += 1,
            Err(SessionError::Timeout { .. }) => self.lost += 1,
            Err(_) => self.closed += 1,
        }
        let overloaded_first = report.attempts > 1 || matches!(reply, Ok(r) if is_overloaded(r));
        self.first_answer_overloaded += u32::from(overloaded_first);
        self.retries += report.retries;
        self.max_attempts = self.max_attempts.max(report.attempts);
    }
}

impl Run<'_> {
    pub(super) async fn burst(
        &mut self,
        session: &Session,
        b: &BurstStep,
        timeout: Duration,
    ) -> Outcome {
        let params = substitute(b.params.as_ref().unwrap_or(&json!({})), &self.captures);
        let schedule = match &b.retry {
            Some(spec) => crate::scenario::load::schedule_of(spec).unwrap_or_default(),
            None => crate::retry::BackoffSchedule {
                max_retries: 0,
                ..Default::default()
            },
        };
        let seed = b.retry.as_ref().map_or(0, |r| r.seed);
        let sends = (0..b.count).map(|i| {
            let (params, schedule) = (&params, &schedule);
            async move {
                let mut rng = SplitMix64::new(seed.wrapping_add(u64::from(i)));
                request_with_retry(session, &b.method, params, timeout, schedule, &mut rng).await
            }
        });
        let mut tally = Tally::default();
        for (reply, report) in join_all(sends).await {
            tally.add(&reply, &report);
        }
        self.notes.push(format!(
            "burst {} ×{}: {} first answers -32001, {} retries (≤ {} attempts per request), {} succeeded, {} error answers, {} lost, {} cut off",
            b.method, b.count, tally.first_answer_overloaded, tally.retries, tally.max_attempts,
            tally.succeeded, tally.error_answers, tally.lost, tally.closed
        ));
        judge(b, &tally)
    }
}

fn judge(b: &BurstStep, t: &Tally) -> Outcome {
    let accounted = t.succeeded + t.error_answers == b.count;
    let mut outcome = Outcome::ok(Some(json!({
        "count": b.count,
        "everyRequestAnswered": accounted,
        "overloadSeen": t.first_answer_overloaded > 0,
        "allSucceeded": t.succeeded == b.count,
    })));
    if t.lost + t.closed > 0 {
        let message = format!(
            "{} of {} requests got no answer ({} within the timeout, {} cut off by a closed connection)",
            t.lost + t.closed, b.count, t.lost, t.closed
        );
        outcome
            .failures
            .push((FailureCode::BurstRequestsLost, message));
    }
    if b.expect_overload && t.first_answer_overloaded == 0 {
        let message = format!(
            "no request of the {}-request burst was answered -32001: the server was not overloaded",
            b.count
        );
        outcome
            .failures
            .push((FailureCode::OverloadNotObserved, message));
    }
    if b.expect_all_succeed && t.succeeded != b.count {
        let message = format!(
            "{} of {} requests did not end in a result ({} error answers)",
            b.count - t.succeeded,
            b.count,
            t.error_answers
        );
        outcome
            .failures
            .push((FailureCode::BurstRequestsFailed, message));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(expect_overload: bool) -> BurstStep {
        BurstStep {
            method: "thread/list".into(),
            params: None,
            count: 10,
            retry: None,
            expect_overload,
            expect_all_succeed: true,
        }
    }

    fn codes(o: &Outcome) -> Vec<FailureCode> {
        o.failures.iter().map(|(c, _)| *c).collect()
    }

    #[test]
    fn every_request_answered_and_overloaded_once_passes() {
        let t = Tally {
            succeeded: 10,
            first_answer_overloaded: 3,
            ..Default::default()
        };
        assert!(codes(&judge(&step(true), &t)).is_empty());
    }

    #[test]
    fn lost_requests_missing_overload_and_errors_are_each_reported() {
        let t = Tally {
            succeeded: 7,
            error_answers: 1,
            lost: 2,
            ..Default::default()
        };
        assert_eq!(
            codes(&judge(&step(true), &t)),
            [
                FailureCode::BurstRequestsLost,
                FailureCode::OverloadNotObserved,
                FailureCode::BurstRequestsFailed
            ]
        );
        assert_eq!(
            codes(&judge(&step(false), &t)),
            [
                FailureCode::BurstRequestsLost,
                FailureCode::BurstRequestsFailed
            ]
        );
    }
}
