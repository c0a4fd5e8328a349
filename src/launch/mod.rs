//! Everything about starting servers: codex, its launch flags, homes, the mock model, processes.
//!
//! `codex` resolves the codex binary and asks its version; `flags` reads which
//! `app-server` launch flags it accepts; `server` builds the one `app-server` command and
//! starts stdio, websocket and managed (review lane) servers, reading the one `listening on:`
//! banner; `home` makes hermetic homes (one config writer), template copies and seeded homes;
//! `hooks_setup` installs and trusts hooks in a home; `mock_model` is the scriptable
//! model hermetic homes point at; `extras` is what a scenario adds to its server; `instances` starts the
//! control lanes' instances from those pieces; `paths` resolves cas's XDG folders. Ending a
//! process gracefully (SIGTERM, a grace period, SIGKILL, reaped) is the transport's one
//! `shutdown::terminate`, which stdio children and managed servers both use.

pub(crate) mod codex;
pub(crate) mod extras;
pub(crate) mod files;
pub(crate) mod flags;
pub(crate) mod home;
pub(crate) mod hooks_setup;
pub(crate) mod instances;
pub(crate) mod mock_model;
pub(crate) mod paths;
pub(crate) mod server;

pub use codex::{codex_version, CodexLocator, PINNED_CODEX_VERSION};
pub use extras::ServerExtras;
pub use flags::LaunchFlags;
pub use home::HermeticHome;
pub use instances::{
    ConnectionLimits, HomesSetup, Instance, InstanceHome, Launcher, Source, Transport,
    DEFAULT_CONNECT_TIMEOUT,
};
pub use mock_model::{
    CustomToolCall, FunctionCall, MockModel, ModelRequest, ModelScript, ScriptedResponse,
};
pub use server::{ServerSpec, WsServer};

pub(crate) use files::{new_token, write_private};
pub(crate) use flags::disable_hooks_args;
pub(crate) use home::{user_codex_home, write_hermetic_config};
pub(crate) use hooks_setup::install_and_trust;
pub(crate) use server::ManagedServer;
