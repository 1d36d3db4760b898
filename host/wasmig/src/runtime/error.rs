//! Typed errors of the runtime: loading a component, and calling one of its hooks.

use std::fmt;
use std::time::Duration;

/// Which export of a revision ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    Up,
    Down,
    Verify,
}

impl Hook {
    pub fn name(self) -> &'static str {
        match self {
            Hook::Up => "up",
            Hook::Down => "down",
            Hook::Verify => "verify",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a component could not be loaded. `module` names what was loaded: a
/// revision and its file, or a built-in plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("{module} is not a WebAssembly file (it does not start with \\0asm): rebuild it from source")]
    NotWasm { module: String },

    #[error(
        "{module} is a core WebAssembly module, not a component: link it with wasm-component-ld \
         (Rust: target wasm32-unknown-unknown, see docs/GUESTS.md) or your language's componentize tool"
    )]
    CoreModule { module: String },

    #[error("{module} is not a valid WebAssembly component: {reason}")]
    Invalid { module: String, reason: String },

    #[error(
        "{module} imports `{import}`, which a revision may not use: a revision imports only \
         wasmig:revision/db and wasmig:revision/context (no WASI, files, network or clock); \
         remove the dependency that pulls it in (Python and JavaScript revisions: build them with \
         `wasmig build`, which leaves WASI out)"
    )]
    ForbiddenImport { module: String, import: String },

    #[error(
        "{module} was built for contract `{import}`, but this wasmig speaks wasmig:revision@{expected} (and 0.1.0, which it extends): \
         rebuild the revision against the SDK of this wasmig"
    )]
    ContractVersion { module: String, import: String, expected: &'static str },

    #[error(
        "{module} does not export the wasmig revision world (up, down, verify): {reason}; \
         build it from the WIT world `revision` in sdk/wit/wasmig.wit"
    )]
    WrongWorld { module: String, reason: String },
}

/// Why a hook call failed. Every variant leaves the instance dead; the
/// runtime stays usable and the caller rolls the step back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    #[error(
        "revision {revision}: `{hook}` trapped: {trap}{}",
        guest_message.as_deref().map(|message| format!(" (the revision said: {message})")).unwrap_or_default()
    )]
    Trap { revision: String, hook: Hook, trap: String, guest_message: Option<String> },

    #[error(
        "revision {revision}: `{hook}`'s own code ran out of its time budget of {limit:?} (time in the database not \
         counted); raise `timeout_ms` in the revision's [sandbox] table if it really needs longer"
    )]
    Timeout { revision: String, hook: Hook, limit: Duration },

    /// The hook's wall-clock bound (`sql_timeout_ms`) stopped a statement.
    #[error(
        "revision {revision}: `{hook}` ran out of its time budget of {limit:?} for the whole hook, its SQL included \
         (`sql_timeout_ms`); the running statement was cancelled. Raise `sql_timeout_ms` in the revision's \
         [sandbox] table (or the project's) if it really needs longer"
    )]
    SqlTimeout { revision: String, hook: Hook, limit: Duration },

    /// A stop was requested (Ctrl-C, SIGTERM, [`crate::interrupt::request`]):
    /// the running statement was cancelled.
    #[error(
        "revision {revision}: `{hook}` was interrupted (a stop was requested); its running statement was cancelled"
    )]
    Interrupted { revision: String, hook: Hook },

    #[error(
        "revision {revision}: `{hook}` asked for {requested} bytes of memory, over its limit of {limit} bytes; \
         raise `memory_mb` in the revision's [sandbox] table if it really needs more"
    )]
    MemoryLimit { revision: String, hook: Hook, requested: u64, limit: u64 },

    #[error("revision {revision}: `{hook}` exceeded a sandbox limit: {reason}")]
    ResourceLimit { revision: String, hook: Hook, reason: String },

    #[error("revision {revision}: `{hook}` tried to control the transaction: {refusal}")]
    TransactionControl { revision: String, hook: Hook, refusal: String },

    #[error("revision {revision}: `{hook}` failed: {message}")]
    Guest { revision: String, hook: Hook, message: String },

    /// The hook failed on a statement the database refused: where it is.
    #[error("revision {revision}: {}", failed.describe(*hook))]
    Statement { revision: String, hook: Hook, failed: Box<FailedSql> },

    /// A statement waited too long for a lock, lost a deadlock or a
    /// serialization check: another session's fault, which running the
    /// whole revision again can get past.
    #[error("revision {revision}: `{hook}` {}: {reason}", lock_conflict_phrase(code))]
    LockConflict { revision: String, hook: Hook, code: String, reason: String },

    /// PostgreSQL refused a statement inside a transaction block.
    #[error(
        "revision {revision}: `{hook}` ran a statement PostgreSQL refuses inside a transaction block ({reason}); \
         set `transactional = false` in its revision.toml: wasmig then sends its statements one by one outside \
         any transaction (a failure leaves it dirty, for `wasmig resolve`)"
    )]
    NeedsAutocommit { revision: String, hook: Hook, reason: String },

    #[error("revision {revision}: `{hook}` could not start: {reason}")]
    Instantiate { revision: String, hook: Hook, reason: String },

    #[error("revision {revision}: the database refused to start `{hook}`: {reason}")]
    Backend { revision: String, hook: Hook, reason: String },

    #[error(
        "revision {revision}: `{hook}` changed what the host owns: {reason}; the step was rolled back and nothing was recorded. \
         A revision may not end the transaction or change session settings, the role or the search path"
    )]
    SessionBreach { revision: String, hook: Hook, reason: String },

    /// A lint rule set to `deny` fired on one of the hook's statements
    /// (docs/LINT.md): the statement was refused, or (observed after it ran)
    /// the step is rolled back.
    #[error("{denied}")]
    Lint { revision: String, hook: Hook, denied: crate::lint::LintDenied },
}

impl HookError {
    /// The revision whose hook failed.
    pub fn revision(&self) -> &str {
        match self {
            HookError::Trap { revision, .. }
            | HookError::Timeout { revision, .. }
            | HookError::SqlTimeout { revision, .. }
            | HookError::Interrupted { revision, .. }
            | HookError::MemoryLimit { revision, .. }
            | HookError::ResourceLimit { revision, .. }
            | HookError::TransactionControl { revision, .. }
            | HookError::Guest { revision, .. }
            | HookError::Statement { revision, .. }
            | HookError::Instantiate { revision, .. }
            | HookError::Backend { revision, .. }
            | HookError::SessionBreach { revision, .. }
            | HookError::LockConflict { revision, .. }
            | HookError::NeedsAutocommit { revision, .. }
            | HookError::Lint { revision, .. } => revision,
        }
    }
}

/// A statement the database refused, as a hook's failure names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSql {
    /// The revision's file the statement came from (`up.sql`), `None` for SQL written in code.
    pub file: Option<String>,
    /// The line and column of the error in `file` (1-based).
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// SQLSTATE or SQLite's result code name.
    pub code: Option<String>,
    /// The database's message.
    pub reason: String,
    /// The statement's first line (`...` when more follows), when known.
    pub statement: Option<String>,
    /// What to do about it, for situations wasmig recognises.
    pub advice: Option<String>,
}

impl FailedSql {
    /// An object the statement creates exists already (PostgreSQL 42P07,
    /// 42710, 42701; SQLite's "already exists").
    pub fn already_exists(&self) -> bool {
        match self.code.as_deref() {
            Some("42P07" | "42710" | "42701") => true,
            Some(code) if code.starts_with("SQLITE_") => self.reason.contains("already exists"),
            _ => false,
        }
    }

    /// The reason first, then where, the code, the statement and advice.
    fn describe(&self, hook: Hook) -> String {
        let mut lines = self.reason.lines();
        let mut text = match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(column)) => format!("{file}:{line}:{column}: "),
            (Some(file), ..) => format!("{file}: "),
            (None, ..) => format!("`{hook}` failed: "),
        };
        text.push_str(lines.next().unwrap_or_default());
        if let Some(code) = &self.code {
            text.push_str(&format!(" [{code}]"));
        }
        for line in lines {
            text.push('\n');
            text.push_str(line);
        }
        match (&self.statement, &self.file) {
            (Some(statement), Some(_)) => text.push_str(&format!("\n  {statement}")),
            (Some(statement), None) => text.push_str(&format!("\n  in the statement: {statement}")),
            (None, _) => {}
        }
        if let Some(advice) = &self.advice {
            text.push('\n');
            text.push_str(advice);
        }
        text
    }
}

/// What a lock conflict's SQLSTATE or SQLite code means, for messages.
fn lock_conflict_phrase(code: &str) -> &'static str {
    match code {
        "40P01" => "lost a deadlock with another session",
        "40001" => "could not serialize with another session",
        "SQLITE_BUSY" | "SQLITE_LOCKED" => "found the database locked by another connection",
        _ => "waited longer than statement_lock_timeout_ms for a lock",
    }
}

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the WebAssembly engine: {0}")]
pub struct EngineError(pub(crate) String);
