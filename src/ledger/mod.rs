//! The st-compatible claim ledger (`.step/st-plan.jsonl`, JSONL v3), piece by piece.
//!
//! So far: lock roots, the rule that decides which claims may run in the same wave. The
//! ledger file, claims, leases and the locked atomic rewrite build on it (see the issue for the
//! claim scenarios).

pub mod lock_roots;

/// Checks that a scenario's `ledger` table is one operation (placeholder until the ledger lands).
pub fn parse_op(op: &serde_json::Value) -> Result<(), String> {
    match op.get("op").and_then(serde_json::Value::as_str) {
        Some(_) => Ok(()),
        None => Err("needs op = \"<operation>\"".into()),
    }
}
