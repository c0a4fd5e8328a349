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
