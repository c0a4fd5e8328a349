//! One module per subcommand: argument validation, the library call, and output.

pub mod conformance;
pub mod fake_server;
pub mod output;
