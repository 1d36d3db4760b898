//! How a run behaves: transaction boundaries, adoption, the tenant the guests see.

use serde::Serialize;

/// Where the transactions of a run begin and end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TransactionMode {
    /// Each revision and its bookkeeping commit together (the default).
    #[default]
    PerRevision,
    /// The whole plan in one transaction: all or nothing.
    All,
}

/// How a run behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub transaction: TransactionMode,
    /// `upgrade --adopt`: a revision whose `verify` finds its effect present
    /// is recorded as adopted instead of run.
    pub adopt: bool,
    /// The tenant name the guests see (`context.tenant`).
    pub tenant: Option<String>,
}
