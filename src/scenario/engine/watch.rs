//! What watches one connection for the whole run: `answer_all` responders and `expect_never`
//! guards, installed as the session's server-request handler and notification tap.
//!
//! Both run in the session's read loop, so nothing that arrives is missed between steps: an
//! `answer_all` rule answers every matching server request the moment it arrives (before the
//! handler the scenario would otherwise use) and counts it; an `expect_never` guard counts every
//! matching notification, whether or not a later step takes it. The checks are made when the
//! connection ends (wrap-up or `close_connection`).

use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::matcher::is_subset;
use crate::session::{Notification, NotificationTap, Reply, ServerRequest, ServerRequestHandler};

/// An `answer_all` responder: the answer it gives, and how many it gave.
#[derive(Debug, Clone)]
pub(crate) struct AnswerRule {
    /// The step that installed it (failures name it).
    pub step: String,
    /// The method it answers.
    pub method: String,
    /// Only requests whose params contain this subset.
    pub params: Option<Value>,
    /// What it answers.
    pub reply: Reply,
    /// The count expected at the end (a number or an operator).
    pub count: Option<Value>,
    /// How many it answered.
    pub answered: usize,
}

/// An `expect_never` guard: the notifications it forbids, and those that came anyway.
#[derive(Debug, Clone)]
pub(crate) struct NeverRule {
    /// The step that installed it.
    pub step: String,
    /// The method it forbids.
    pub method: String,
    /// Only notifications whose params contain this subset.
    pub params: Option<Value>,
    /// Arrival numbers of forbidden notifications seen (the step itself reports some).
    pub hits: BTreeSet<u64>,
    /// Those the step already reported.
    pub reported: BTreeSet<u64>,
    /// The first forbidden notification's params.
    pub first: Option<Value>,
}

impl NeverRule {
    /// Whether `n` is a notification this guard forbids.
    pub fn forbids(&self, n: &Notification) -> bool {
        n.method == self.method && self.params.as_ref().is_none_or(|p| is_subset(p, &n.params))
    }
}

#[derive(Default)]
struct Rules {
    answers: Vec<AnswerRule>,
    nevers: Vec<NeverRule>,
}

/// The handler and tap of one connection: rules first, then what the scenario would do anyway.
pub(crate) struct Watch {
    inner: Arc<dyn ServerRequestHandler>,
    tap: Option<Arc<dyn NotificationTap>>,
    rules: Mutex<Rules>,
}

impl Watch {
    /// Wraps the scenario's own handler and tap (e.g. the hook observer).
    pub fn new(
        inner: Arc<dyn ServerRequestHandler>,
        tap: Option<Arc<dyn NotificationTap>>,
    ) -> Watch {
        Watch {
            inner,
            tap,
            rules: Mutex::new(Rules::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs an `answer_all` responder.
    pub fn add_answer(&self, rule: AnswerRule) {
        self.lock().answers.push(rule);
    }

    /// Counts `n` more answers given by the responder of `step` (requests queued before it).
    pub fn count_answered(&self, step: &str, n: usize) {
        if let Some(rule) = self.lock().answers.iter_mut().find(|r| r.step == step) {
            rule.answered += n;
        }
    }

    /// Installs an `expect_never` guard.
    pub fn add_never(&self, rule: NeverRule) {
        self.lock().nevers.push(rule);
    }

    /// Marks arrivals the guard of `step` already reported.
    pub fn mark_reported(&self, step: &str, seqs: impl IntoIterator<Item = u64>) {
        if let Some(rule) = self.lock().nevers.iter_mut().find(|r| r.step == step) {
            rule.reported.extend(seqs);
        }
    }

    /// Removes and returns every rule, for the checks when the connection ends.
    pub fn take_rules(&self) -> (Vec<AnswerRule>, Vec<NeverRule>) {
        let mut rules = self.lock();
        (
            std::mem::take(&mut rules.answers),
            std::mem::take(&mut rules.nevers),
        )
    }
}

impl ServerRequestHandler for Watch {
    fn answer(&self, request: &ServerRequest) -> Option<Reply> {
        {
            let mut rules = self.lock();
            let rule = rules.answers.iter_mut().find(|r| {
                r.method == request.method
                    && r.params
                        .as_ref()
                        .is_none_or(|p| is_subset(p, &request.params))
            });
            if let Some(rule) = rule {
                rule.answered += 1;
                return Some(rule.reply.clone());
            }
        }
        self.inner.answer(request)
    }
}

impl NotificationTap for Watch {
    fn observe(&self, notification: &Notification) {
        for rule in self.lock().nevers.iter_mut() {
            if rule.forbids(notification) {
                rule.hits.insert(notification.seq);
                rule.first
                    .get_or_insert_with(|| notification.params.clone());
            }
        }
        if let Some(tap) = &self.tap {
            tap.observe(notification);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::RequestId;
    use serde_json::json;

    fn request(method: &str, params: Value) -> ServerRequest {
        ServerRequest {
            seq: 0,
            id: RequestId::Int(1),
            method: method.into(),
            params,
        }
    }

    fn note(seq: u64, method: &str, params: Value) -> Notification {
        Notification {
            seq,
            method: method.into(),
            params,
        }
    }

    #[test]
    fn answer_rules_answer_and_count_matching_requests_only() {
        let watch = Watch::new(Arc::new(crate::session::QueueServerRequests), None);
        assert_eq!(watch.answer(&request("r", json!({}))), None);
        watch.add_answer(AnswerRule {
            step: "s".into(),
            method: "r".into(),
            params: Some(json!({"threadId": "a"})),
            reply: Ok(json!({"ok": 1})),
            count: None,
            answered: 0,
        });
        assert_eq!(
            watch.answer(&request("r", json!({"threadId": "a"}))),
            Some(Ok(json!({"ok": 1})))
        );
        assert_eq!(watch.answer(&request("r", json!({"threadId": "b"}))), None);
        assert_eq!(watch.answer(&request("q", json!({"threadId": "a"}))), None);
        watch.count_answered("s", 2);
        let (answers, nevers) = watch.take_rules();
        assert_eq!(answers[0].answered, 3);
        assert!(nevers.is_empty());
        assert!(watch.take_rules().0.is_empty(), "rules are taken once");
    }

    #[test]
    fn never_rules_record_hits_and_pass_notifications_on() {
        struct Count(Mutex<usize>);
        impl NotificationTap for Count {
            fn observe(&self, _: &Notification) {
                *self.0.lock().unwrap() += 1;
            }
        }
        let tap = Arc::new(Count(Mutex::new(0)));
        let watch = Watch::new(
            Arc::new(crate::session::QueueServerRequests),
            Some(tap.clone()),
        );
        watch.add_never(NeverRule {
            step: "s".into(),
            method: "n".into(),
            params: Some(json!({"x": 1})),
            hits: Default::default(),
            reported: Default::default(),
            first: None,
        });
        watch.observe(&note(4, "n", json!({"x": 1, "y": 2})));
        watch.observe(&note(5, "n", json!({"x": 2})));
        watch.observe(&note(6, "m", json!({"x": 1})));
        watch.mark_reported("s", [4]);
        watch.observe(&note(7, "n", json!({"x": 1})));
        assert_eq!(*tap.0.lock().unwrap(), 4);
        let (_, nevers) = watch.take_rules();
        assert_eq!(nevers[0].hits, BTreeSet::from([4, 7]));
        assert_eq!(nevers[0].reported, BTreeSet::from([4]));
        assert_eq!(nevers[0].first, Some(json!({"x": 1, "y": 2})));
    }
}
