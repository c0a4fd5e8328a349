//! One module per subcommand: argument validation, the library call, and output.

pub mod args;
pub mod bench;
pub mod capabilities;
pub mod completions;
pub mod conformance;
pub mod fake_server;
pub mod gc;
pub mod instance_runner;
pub mod interrupted;
pub mod lane_output;
pub mod list;
pub mod output;
pub mod request;
pub mod review_session;
pub mod scenario;
pub mod schema;
pub mod smoke_check;
pub mod st;
pub mod transcript;
