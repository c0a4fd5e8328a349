//! The connections one fake websocket server serves at once, so a scripted message can go to
//! the other clients (`to = "others"`) or to all of them (`to = "all"`), as codex fans a
//! thread's notifications out to every connection subscribed to it.
//!
//! Each connection keeps its own lifecycle state and rule counts, as each codex connection
//! does its own handshake; only scripted sends cross between connections.

use std::sync::Mutex;

use crate::transport::Outbound;

/// The open connections of one fake server, by number.
#[derive(Default)]
pub struct Peers {
    open: Mutex<Vec<(usize, Outbound)>>,
    next: Mutex<usize>,
}

impl Peers {
    /// Registers a connection's sending half; returns its number.
    pub fn join(&self, out: Outbound) -> usize {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let me = *next;
        *next += 1;
        self.lock().push((me, out));
        me
    }

    /// Forgets connection `me` (it closed).
    pub fn leave(&self, me: usize) {
        self.lock().retain(|(n, _)| *n != me);
    }

    /// The sending halves of every open connection other than `me` (or all, with `me` too).
    pub fn others(&self, me: usize, include_me: bool) -> Vec<Outbound> {
        self.lock()
            .iter()
            .filter(|(n, _)| include_me || *n != me)
            .map(|(_, out)| out.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(usize, Outbound)>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::memory;

    #[tokio::test]
    async fn others_excludes_the_sender_and_leavers() {
        let peers = Peers::default();
        let (_c1, s1) = memory::pair();
        let (_c2, s2) = memory::pair();
        let (_c3, s3) = memory::pair();
        let a = peers.join(s1.split().0);
        let b = peers.join(s2.split().0);
        let c = peers.join(s3.split().0);
        assert_eq!((a, b, c), (0, 1, 2));
        let labels = |v: Vec<Outbound>| v.len();
        assert_eq!(labels(peers.others(a, false)), 2);
        assert_eq!(labels(peers.others(a, true)), 3);
        peers.leave(b);
        assert_eq!(labels(peers.others(a, false)), 1);
        assert_eq!(labels(peers.others(b, false)), 2);
    }
}
