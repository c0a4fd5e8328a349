//! Writing a command's result to stdout, quietly tolerating a closed pipe.

use std::io::Write;

/// Writes `text` and a newline to stdout; a closed pipe (e.g. `| head`) is not an error.
pub fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Pretty JSON of a value.
pub fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
