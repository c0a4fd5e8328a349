//! Code review sessions on a detached, cas-managed websocket lane, persisted and classified.
//!
//! A review outlives the command that started it. `start` ([`start`], with the codex checks of
//! `preflight` and the target checked against its repository by `target_check`) launches a detached lane host (`lane`) that owns a loopback websocket `codex
//! app-server` and drives one inline review (codex 0.169.0 has no detached delivery: the review
//! runs on the thread it is given, so `reviewThreadId` is that thread's id). The host writes the
//! [`record`] at every status change; `status`, `wait` and `interrupt` from any later process find
//! the record by id and work from it (`lifecycle`; what each command shows is a
//! [`report::Report`]), reconnecting to the server with its token for `interrupt`. The server is
//! kept for an orphan TTL after its review ended, then reaped. How a review ended becomes one
//! failure code ([`outcome`]); success needs a structured result parsed from the model's own review
//! JSON, never mere transport progress.
//!
//! Why a host process rather than a bare detached server: the mock model of a hermetic run
//! lives in-process and must outlive `start`, the record must be written when the review ends
//! even if nobody waits, and someone must reap the server when its TTL expires. One small
//! process per lane does all three, and the server dies with it (`PR_SET_PDEATHSIG`).
//!
//! A codex whose `app-server` cannot listen on a websocket (`select`) can still review with
//! `start --wait`: the same protocol code (`drive`, `lane_protocol`, `thread`, `observe`) runs
//! over a stdio server in the command's own process (`stdio_lane`). A thread codex will not
//! review before it has a rollout is materialized by one bootstrap turn (`materialize`).

pub(crate) mod drive;
pub(crate) mod fallback;
pub mod housekeeping;
pub(crate) mod lane;
pub(crate) mod lane_io;
pub(crate) mod lane_protocol;
pub(crate) mod lifecycle;
pub(crate) mod materialize;
pub(crate) mod observe;
pub mod outcome;
pub(crate) mod preflight;
pub(crate) mod process;
pub mod record;
pub mod report;
pub(crate) mod select;
pub mod start;
pub(crate) mod stdio_lane;
pub(crate) mod target;
pub(crate) mod target_check;
pub(crate) mod thread;
