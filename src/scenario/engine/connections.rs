//! Named client connections: opened on first use (or by a `connect` step, with credentials or
//! an expected refusal), each its own session with its own handshake steps, and closed by
//! `close_connection` or at the end of the run.
//!
//! Only websocket targets can open more connections: the engine dials the URL the target
//! listens on and, by default, presents the capability token the target was started with.
//! Arrival numbers (and so `in_order`, silence windows and `before`) are per connection.

use serde_json::json;
use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as Tungstenite;

use super::watch::Watch;
use super::{Outcome, Run, Server};
use crate::errors::WsError;
use crate::outcome::FailureCode;
use crate::policy::ServerRequestPolicy;
use crate::scenario::format::{ConnectStep, Credentials, DEFAULT_CONNECTION};
use crate::scenario::load::Step;
use crate::session::{QueueServerRequests, ServerRequestHandler, Session, DEFAULT_MAX_IN_FLIGHT};
use crate::target::WsEndpoint;
use crate::transport::{self, ws, Connection};

/// The token a `credentials = "wrong"` connect presents (the target's own is random).
const WRONG_TOKEN: &str = "cas-wrong-token-for-this-server";

/// The connections of one run besides the default one, and where to open more.
#[derive(Default)]
pub(crate) struct Connections {
    endpoint: Option<WsEndpoint>,
    default_watch: Option<Arc<Watch>>,
    named: BTreeMap<String, Named>,
}

/// One open named connection.
struct Named {
    session: Arc<Session>,
    watch: Arc<Watch>,
    step_mark: Option<u64>,
    last_seq: Option<u64>,
}

/// The session a protocol step talks to.
pub(crate) enum ConnRef<'a> {
    /// The connection the target's launch opened.
    Default(&'a Session),
    /// A named connection.
    Named(Arc<Session>),
}

impl Deref for ConnRef<'_> {
    type Target = Session;

    fn deref(&self) -> &Session {
        match self {
            ConnRef::Default(s) => s,
            ConnRef::Named(s) => s,
        }
    }
}

/// The named connection a step runs on, if it names one other than the default.
pub(crate) fn named(step: &Step) -> Option<&str> {
    step.connection
        .as_deref()
        .filter(|c| *c != DEFAULT_CONNECTION)
}

/// Why a connection could not be opened.
enum Refusal {
    /// The upgrade was refused with this status and body.
    Http(u16, String),
    /// Anything else (no listener, timeout, a bad header value).
    Other(String),
}

impl Connections {
    /// Where the target listens, and the watch of its default connection.
    pub(crate) fn attach(&mut self, server: &Server) {
        self.endpoint = server.endpoint.clone();
        self.default_watch = Some(server.watch.clone());
    }

    /// The watch of the connection `name` (`None`: the default one), if it is open.
    pub(crate) fn watch(&self, name: Option<&str>) -> Option<Arc<Watch>> {
        match name {
            None => self.default_watch.clone(),
            Some(n) => self.named.get(n).map(|c| c.watch.clone()),
        }
    }

    /// Exchanges the run's per-connection marks with those kept for `name` (no-op for the
    /// default connection): called once before and once after a step on it.
    pub(crate) fn swap_marks(
        &mut self,
        name: Option<&str>,
        step_mark: &mut Option<u64>,
        last_seq: &mut Option<u64>,
    ) {
        if let Some(c) = name.and_then(|n| self.named.get_mut(n)) {
            std::mem::swap(&mut c.step_mark, step_mark);
            std::mem::swap(&mut c.last_seq, last_seq);
        }
    }

    /// Removes every named connection, in name order.
    pub(crate) fn take_all(&mut self) -> Vec<(String, Arc<Session>, Arc<Watch>)> {
        std::mem::take(&mut self.named)
            .into_iter()
            .map(|(name, c)| (name, c.session, c.watch))
            .collect()
    }

    fn take(&mut self, name: &str) -> Option<(Arc<Session>, Arc<Watch>)> {
        self.named.remove(name).map(|c| (c.session, c.watch))
    }
}

impl<'a> Run<'a> {
    /// The session `step` runs on, opening its named connection first if it is not open.
    pub(super) async fn conn_for(&mut self, step: &Step) -> Result<ConnRef<'a>, Outcome> {
        let Some(default) = self.session else {
            let message = "this step talks to a server and the run has none".into();
            return Err(Outcome::failed(FailureCode::NoServer, message));
        };
        let Some(name) = named(step) else {
            return Ok(ConnRef::Default(default));
        };
        if let Some(c) = self.conns.named.get(name) {
            return Ok(ConnRef::Named(c.session.clone()));
        }
        match self.open(name, &ConnectStep::default(), step.timeout).await {
            Ok(session) => Ok(ConnRef::Named(session)),
            Err(Refusal::Http(status, body)) => Err(Outcome::failed(
                FailureCode::ConnectFailed,
                format!("opening connection {name:?}: upgrade refused with HTTP {status}: {body}"),
            )),
            Err(Refusal::Other(why)) => Err(Outcome::failed(
                FailureCode::ConnectFailed,
                format!("opening connection {name:?}: {why}"),
            )),
        }
    }

    /// A `connect` step: opens the step's connection, or checks that the upgrade is refused.
    pub(super) async fn connect_step(&mut self, step: &Step, c: &ConnectStep) -> Outcome {
        let name = named(step).unwrap_or(DEFAULT_CONNECTION);
        if self.conns.named.contains_key(name) {
            let message = format!("connection {name:?} is already open");
            return Outcome::failed(FailureCode::SessionError, message);
        }
        let opened = self.open(name, c, step.timeout).await;
        match (opened, c.expect_refused) {
            (Ok(_), None) => Outcome::ok(Some(json!({"connected": true}))),
            (Ok(_), Some(want)) => {
                if let Some((session, _)) = self.conns.take(name) {
                    drop(session);
                }
                let message = format!("the upgrade was accepted; expected it refused with HTTP {want}");
                Outcome::failed(FailureCode::ConnectionNotRefused, message)
            }
            (Err(Refusal::Http(status, body)), Some(want)) => refused_as_expected(c, want, status, &body),
            (Err(Refusal::Http(status, body)), None) => Outcome::failed(
                FailureCode::ConnectFailed,
                format!("upgrade refused with HTTP {status}: {body}"),
            ),
            (Err(Refusal::Other(why)), Some(want)) => Outcome::failed(
                FailureCode::ConnectFailed,
                format!("expected the upgrade refused with HTTP {want}, but the connection failed otherwise: {why}"),
            ),
            (Err(Refusal::Other(why)), None) => Outcome::failed(FailureCode::ConnectFailed, why),
        }
    }

    /// A `close_connection` step: checks what watched the connection, then closes it.
    pub(super) fn close_step(&mut self, step: &Step) -> Outcome {
        let name = named(step).unwrap_or(DEFAULT_CONNECTION);
        let Some((session, watch)) = self.conns.take(name) else {
            let message = format!("connection {name:?} is not open");
            return Outcome::failed(FailureCode::SessionError, message);
        };
        self.wrap_up_connection(&session, &watch, Some(name));
        drop(session);
        Outcome::ok(Some(json!({"closed": name})))
    }

    /// Opens the named connection `name` with `c`'s credentials within `timeout`.
    async fn open(
        &mut self,
        name: &str,
        c: &ConnectStep,
        timeout: Duration,
    ) -> Result<Arc<Session>, Refusal> {
        let Some(endpoint) = self.conns.endpoint.clone() else {
            return Err(Refusal::Other(
                "this target opens no more connections (only websocket targets do)".into(),
            ));
        };
        let connection = dial(&endpoint, c, timeout).await?;
        if let Some(transcript) = self.ctx.transcript {
            connection.attach_tap(transcript.tap(name));
        }
        let inner: Arc<dyn ServerRequestHandler> = match &self.ctx.scenario.policy {
            Some(config) => Arc::new(ServerRequestPolicy::new(config.clone())),
            None => Arc::new(QueueServerRequests),
        };
        let watch = Arc::new(Watch::new(inner, None));
        let session = Arc::new(Session::with_options(
            connection,
            watch.clone(),
            DEFAULT_MAX_IN_FLIGHT,
            Some(watch.clone()),
        ));
        let named = Named {
            session: session.clone(),
            watch,
            step_mark: None,
            last_seq: None,
        };
        self.conns.named.insert(name.to_owned(), named);
        Ok(session)
    }
}

fn refused_as_expected(c: &ConnectStep, want: u16, status: u16, body: &str) -> Outcome {
    if status != want {
        let message =
            format!("the upgrade was refused with HTTP {status} ({body}), expected HTTP {want}");
        return Outcome::failed(FailureCode::ConnectionNotRefused, message);
    }
    if let Some(needle) = &c.expect_refused_body_contains {
        if !body.contains(needle.as_str()) {
            let message = format!("the refusal's body {body:?} does not contain {needle:?}");
            return Outcome::failed(FailureCode::ConnectionNotRefused, message);
        }
    }
    let mut observed = json!({"refused": status});
    if let Some(needle) = &c.expect_refused_body_contains {
        observed["bodyContains"] = json!(needle);
    }
    Outcome::ok(Some(observed))
}

/// Dials the endpoint with `c`'s credentials and headers.
async fn dial(
    endpoint: &WsEndpoint,
    c: &ConnectStep,
    timeout: Duration,
) -> Result<Connection, Refusal> {
    let mut request = endpoint
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| Refusal::Other(WsError(e).to_string()))?;
    let token = match (&c.token, c.credentials) {
        (Some(t), _) => Some(t.as_str()),
        (None, Credentials::Target) => Some(endpoint.token.as_str()),
        (None, Credentials::Wrong) => Some(WRONG_TOKEN),
        (None, Credentials::None) => None,
    };
    let headers = request.headers_mut();
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Refusal::Other("the token is not a valid header value".into()))?;
        headers.insert("authorization", value);
    }
    for (key, value) in &c.headers {
        let key = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| Refusal::Other(format!("{key:?} is not a header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Refusal::Other(format!("the value of {key} is not a header value")))?;
        headers.insert(key, value);
    }
    let max = transport::max_message_bytes();
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let attempt = tokio_tungstenite::connect_async_with_config(request, Some(config), false);
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(Refusal::Other(format!(
            "no websocket upgrade within {timeout:?}"
        ))),
        Ok(Err(Tungstenite::Http(response))) => {
            let body = response.body().as_deref().unwrap_or_default();
            Err(Refusal::Http(
                response.status().as_u16(),
                String::from_utf8_lossy(body).into_owned(),
            ))
        }
        Ok(Err(e)) => Err(Refusal::Other(WsError(e).to_string())),
        Ok(Ok((stream, _))) => Ok(ws::from_stream(endpoint.url.clone(), stream)),
    }
}
