//! Which transport a review runs on: the detached websocket lane, the in-process stdio lane, or
//! none (an incompatible review runtime), from the codex's review methods and launch flags.
//!
//! The websocket lane needs `--listen`, `--ws-auth` and `--ws-token-file`; a codex that lacks
//! one of them can still review on a stdio `app-server`, but only for `start --wait`: a stdio
//! server lives and dies with the process that started it, so nothing could follow the review
//! once `start` returned. A codex that lacks a review method cannot review on either.

use crate::launch::LaunchFlags;
use crate::schema::diff::MethodRef;

/// What cas can run the review on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The detached websocket lane (every flag it needs is there).
    Websocket,
    /// A stdio `app-server` in this process (`start --wait` on a codex without websocket flags),
    /// with the selection reason naming the missing flags.
    Stdio {
        /// `selectionReason`.
        reason: String,
    },
    /// No lane can run: every reason, one per missing method or flag.
    Incompatible {
        /// `compatibilityReasons`.
        reasons: Vec<String>,
    },
}

/// Chooses the transport for codex `version`, which lacks the review methods `missing` and has
/// the launch `flags`; `wait` is `start --wait`.
pub fn select(version: &str, missing: &[MethodRef], flags: &LaunchFlags, wait: bool) -> Selection {
    let absent = flags.websocket_missing_all();
    let mut reasons: Vec<String> = missing
        .iter()
        .map(|m| format!("codex {version} lacks {} {}", m.kind, m.method))
        .collect();
    if absent.is_empty() {
        return if reasons.is_empty() {
            Selection::Websocket
        } else {
            Selection::Incompatible { reasons }
        };
    }
    let named = absent.join(", ");
    if reasons.is_empty() && wait {
        return Selection::Stdio {
            reason: format!(
                "codex {version}'s app-server does not accept {named}, which the websocket review \
                 lane needs: the review runs on a stdio app-server inside this `start --wait` \
                 (no detached host; the record is final when start returns)"
            ),
        };
    }
    reasons.push(format!(
        "codex {version}'s app-server does not accept {named}, which the websocket review lane needs"
    ));
    if reasons.len() == 1 {
        reasons.push(
            "only `start --wait` can run the review on a stdio app-server (a stdio server ends \
             with the process that started it, so a review that outlives `start` needs the \
             websocket lane)"
                .into(),
        );
    }
    Selection::Incompatible { reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_flags() -> LaunchFlags {
        LaunchFlags::parse("  --listen <U>\n  --ws-auth <M>\n  --ws-token-file <P>\n")
    }

    fn no_listen() -> LaunchFlags {
        LaunchFlags::parse("  --ws-auth <M>\n  --ws-token-file <P>\n")
    }

    fn lacks(method: &str) -> Vec<MethodRef> {
        vec![MethodRef {
            kind: "clientRequest",
            method: method.into(),
        }]
    }

    #[test]
    fn every_flag_there_is_the_websocket_lane_with_or_without_wait() {
        assert_eq!(select("1", &[], &all_flags(), false), Selection::Websocket);
        assert_eq!(select("1", &[], &all_flags(), true), Selection::Websocket);
    }

    #[test]
    fn a_missing_flag_with_wait_is_the_stdio_lane_naming_every_missing_flag() {
        let Selection::Stdio { reason } = select("0.1.0", &[], &LaunchFlags::default(), true)
        else {
            panic!("not stdio");
        };
        assert!(
            reason.starts_with(
                "codex 0.1.0's app-server does not accept --listen, --ws-auth, --ws-token-file,"
            ),
            "{reason}"
        );
        let Selection::Stdio { reason } = select("0.1.0", &[], &no_listen(), true) else {
            panic!("not stdio");
        };
        assert!(
            reason.contains("does not accept --listen, which"),
            "{reason}"
        );
    }

    #[test]
    fn a_missing_flag_without_wait_is_incompatible_and_says_only_wait_runs_on_stdio() {
        let Selection::Incompatible { reasons } = select("0.1.0", &[], &no_listen(), false) else {
            panic!("not incompatible");
        };
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(
            reasons[0],
            "codex 0.1.0's app-server does not accept --listen, which the websocket review lane needs"
        );
        assert!(reasons[1].starts_with("only `start --wait` can run the review on a stdio"));
    }

    #[test]
    fn a_missing_review_method_is_incompatible_on_either_lane() {
        let missing = lacks("review/start");
        for wait in [false, true] {
            let got = select("0.1.0", &missing, &all_flags(), wait);
            let want = vec!["codex 0.1.0 lacks clientRequest review/start".to_owned()];
            assert_eq!(got, Selection::Incompatible { reasons: want });
            let Selection::Incompatible { reasons } = select("0.1.0", &missing, &no_listen(), wait)
            else {
                panic!("not incompatible");
            };
            assert_eq!(reasons.len(), 2, "{reasons:?}");
            assert!(reasons[1].contains("--listen"));
        }
    }
}
