//! The closed sets of the ledger's item fields, spelled exactly as `st` writes them.
//!
//! Each field reads tolerantly (an empty value is `Unset`, a spelling `st` does not write is
//! kept as `Other`) and writes back the text it was read from, so a file cas rewrites stays
//! byte-for-byte what `st` would write. Operations accept only the known spellings.

use std::fmt;

/// Declares one field's enum with its spellings, `Unset` and `Other`.
macro_rules! spelled {
    ($(#[$meta:meta])* $name:ident { $($(#[$doc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub enum $name {
            $($(#[$doc])* $variant,)*
            /// Not set (written as `""`, or left out).
            #[default]
            Unset,
            /// A spelling `st` does not write, kept as read.
            Other(String),
        }

        impl $name {
            /// The value `text` spells (tolerant: anything is kept).
            pub fn parse(text: &str) -> $name {
                match text {
                    "" => $name::Unset,
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The value `text` spells, when it is one `st` writes.
            pub fn known(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The written form.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Unset => "",
                    $name::Other(text) => text,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A claim's `--lease-seconds` as given: a number (scenario files), or the flag's text
/// (`cas st`), which is parsed only after the claim's targets are resolved, as `st` does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum Lease {
    /// A number of seconds.
    Seconds(i64),
    /// The flag's text, not yet parsed.
    Text(String),
}

impl From<i64> for Lease {
    fn from(seconds: i64) -> Lease {
        Lease::Seconds(seconds)
    }
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lease::Seconds(n) => write!(f, "{n}"),
            Lease::Text(t) => f.write_str(t),
        }
    }
}

spelled! {
    /// What executes a claim.
    Executor {
        /// Agent teams (parallel-safe).
        Teams = "teams",
        /// An agent mesh (parallel-safe).
        Mesh = "mesh",
        /// One local worker (not parallel-safe).
        Local = "local",
    }
}

spelled! {
    /// Where a claimed item's runtime runs.
    Substrate {
        /// One `spawn_agent` call.
        SpawnAgent = "spawn_agent",
        /// A `spawn_agents_on_csv` row.
        SpawnAgentsOnCsv = "spawn_agents_on_csv",
        /// A local process.
        Local = "local",
    }
}

spelled! {
    /// The result of an item's last validation run.
    ProofState {
        /// It passed.
        Pass = "pass",
        /// It failed.
        Fail = "fail",
        /// It was not run.
        NotRun = "not_run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_reads_and_writes_back_unchanged() {
        for text in ["teams", "mesh", "local", "", "robots"] {
            assert_eq!(Executor::parse(text).as_str(), text);
        }
        for text in ["spawn_agent", "spawn_agents_on_csv", "local", "", "x"] {
            assert_eq!(Substrate::parse(text).as_str(), text);
        }
        for text in ["pass", "fail", "not_run", "", "maybe"] {
            assert_eq!(ProofState::parse(text).as_str(), text);
        }
        assert_eq!(Executor::known("robots"), None);
        assert_eq!(Executor::known("mesh"), Some(Executor::Mesh));
        assert_eq!(Executor::parse("robots"), Executor::Other("robots".into()));
    }
}
