//! The fake app-server on a real loopback websocket listener.
//!
//! Binds `127.0.0.1:0`, requires `Authorization: Bearer <token>` when given a token (401 with
//! codex's messages otherwise), and serves each connection independently, as codex does, except
//! that a scripted send with `to = "others"` / `"all"` reaches the other open connections. A
//! `crash` rule drops that socket without a close frame. Dropping the server stops the listener
//! and every connection.

use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::peers::Peers;
use super::script::FakeScript;
use super::serve_among;
use crate::errors::TransportError;
use crate::transport::ws;

/// A running fake websocket server.
pub struct FakeWsServer {
    url: String,
    task: JoinHandle<()>,
}

impl FakeWsServer {
    /// Starts listening on a free loopback port.
    pub async fn start(
        script: Arc<FakeScript>,
        token: Option<String>,
    ) -> Result<FakeWsServer, TransportError> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| TransportError::Io { what, source }
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(io("binding 127.0.0.1:0"))?;
        let addr = listener
            .local_addr()
            .map_err(io("reading the bound address"))?;
        let token = token.filter(|_| !script.has(super::script::Fault::AcceptAnyToken));
        let task = tokio::spawn(accept_loop(listener, script, token));
        Ok(FakeWsServer {
            url: format!("ws://{addr}"),
            task,
        })
    }

    /// The listen URL, e.g. `ws://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves until the listener fails (for the `fake_server` command).
    pub async fn run_until_stopped(self) {
        let mut this = self;
        let _ = (&mut this.task).await;
    }
}

impl Drop for FakeWsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, script: Arc<FakeScript>, token: Option<String>) {
    let mut connections = JoinSet::new();
    let peers = Arc::new(Peers::default());
    while let Ok((stream, peer)) = listener.accept().await {
        let (script, token, peers) = (script.clone(), token.clone(), peers.clone());
        connections.spawn(async move {
            let Ok(socket) = ws::accept(stream, token).await else {
                return;
            };
            let connection = ws::from_stream(format!("ws-client:{peer}"), socket);
            // On a crash the connection is dropped here without a close frame.
            let _ = serve_among(connection, script, Some(peers)).await;
        });
        while connections.try_join_next().is_some() {}
    }
}
