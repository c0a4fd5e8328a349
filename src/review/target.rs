//! What a review looks at: the `review/start` target, exactly as the protocol spells it.
//!
//! The serde form of [`ReviewTarget`] is the wire form (`{"type":"uncommittedChanges"}` and
//! friends), so the record stores the very bytes cas sent.

use serde::{Deserialize, Serialize};
use std::io::Read;

use crate::errors::InstructionsError;

/// The target of one review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ReviewTarget {
    /// Staged, unstaged and untracked changes.
    UncommittedChanges,
    /// The changes against a base branch.
    BaseBranch {
        /// The branch.
        branch: String,
    },
    /// The changes of one commit.
    Commit {
        /// The commit.
        sha: String,
        /// A title to show in the review summary.
        title: Option<String>,
    },
    /// Free-form review instructions.
    Custom {
        /// The instructions.
        instructions: String,
    },
}

impl ReviewTarget {
    /// A short label for messages, e.g. `commit HEAD`.
    pub fn label(&self) -> String {
        match self {
            ReviewTarget::UncommittedChanges => "uncommitted changes".into(),
            ReviewTarget::BaseBranch { branch } => format!("changes against {branch}"),
            ReviewTarget::Commit { sha, .. } => format!("commit {sha}"),
            ReviewTarget::Custom { .. } => "custom instructions".into(),
        }
    }
}

/// Reads `--custom-instructions VALUE`: `@path` reads a file, `-` reads stdin, anything else
/// is the text itself. Empty instructions are refused.
pub fn custom_instructions(value: &str) -> Result<String, InstructionsError> {
    let text = if value == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| InstructionsError::Read {
                from: "-: reading stdin".into(),
                source,
            })?;
        text
    } else if let Some(path) = value.strip_prefix('@') {
        std::fs::read_to_string(path).map_err(|source| InstructionsError::Read {
            from: format!("@{path}"),
            source,
        })?
    } else {
        value.to_owned()
    };
    if text.trim().is_empty() {
        return Err(InstructionsError::Empty);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_as_the_protocol_target() {
        let cases = [
            (
                ReviewTarget::UncommittedChanges,
                json!({"type": "uncommittedChanges"}),
            ),
            (
                ReviewTarget::BaseBranch {
                    branch: "main".into(),
                },
                json!({"type": "baseBranch", "branch": "main"}),
            ),
            (
                ReviewTarget::Commit {
                    sha: "HEAD".into(),
                    title: None,
                },
                json!({"type": "commit", "sha": "HEAD", "title": null}),
            ),
            (
                ReviewTarget::Custom {
                    instructions: "look".into(),
                },
                json!({"type": "custom", "instructions": "look"}),
            ),
        ];
        for (target, wire) in cases {
            assert_eq!(serde_json::to_value(&target).unwrap(), wire);
            assert_eq!(
                serde_json::from_value::<ReviewTarget>(wire).unwrap(),
                target
            );
        }
    }

    #[test]
    fn reads_instructions_from_text_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("i.txt");
        std::fs::write(&file, "from a file").unwrap();
        assert_eq!(custom_instructions("inline").unwrap(), "inline");
        assert_eq!(
            custom_instructions(&format!("@{}", file.display())).unwrap(),
            "from a file"
        );
        assert!(custom_instructions("@/nonexistent/x").is_err());
        assert!(custom_instructions("  ").is_err());
    }
}
