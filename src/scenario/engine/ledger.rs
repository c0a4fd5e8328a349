//! The ledger steps (placeholder until the claim ledger lands).

use super::{Outcome, Run};
use crate::scenario::format::LedgerShowStep;

impl Run<'_> {
    pub(super) async fn ledger_op(
        &mut self,
        _op: &serde_json::Value,
        _expect: Option<&str>,
    ) -> Outcome {
        Outcome::failed(
            "ledger_unavailable",
            "the claim ledger is not built yet".into(),
        )
    }

    pub(super) async fn ledger_show(&mut self, _show: &LedgerShowStep) -> Outcome {
        Outcome::failed(
            "ledger_unavailable",
            "the claim ledger is not built yet".into(),
        )
    }
}
