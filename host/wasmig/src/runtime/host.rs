//! The store data of one hook call: the imports a revision may call, checked before they reach the backend.

use std::collections::HashSet;
use std::io::Read as _;
use std::path::{Component as PathComponent, Path, PathBuf};

use wasmtime::Result as WasmResult;

use super::bindings::{self, DbError, LogLevel, SqlDialect, Value, context, db, types};
use wasmig_sqlguard::{Approval, Capabilities, GuardError, Policy};

use super::limits::Limiter;
use super::ran::{Call, Ran, split_script};
use crate::backend::Backend;
use crate::lint::{CallNotes, StepWatch};
use crate::sql::{self, Dialect};

/// Assets are read whole into host memory; this bounds what a guest can ask for.
pub(crate) const MAX_ASSET_BYTES: u64 = 64 * 1024 * 1024;
/// Log lines a hook may write, the bytes kept of each, and the bytes of all
/// of them together: past either cap lines are dropped (counted, not
/// written to stderr), so a guest cannot flood the host's log or memory.
const MAX_LOG_LINES: usize = 1_000;
const MAX_LOG_LINE_BYTES: usize = 4_096;
const MAX_LOG_BYTES: usize = 256 * 1024;

/// One line a revision logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLog {
    pub level: tracing::Level,
    pub message: String,
}

pub(crate) struct HostState {
    pub(crate) db: Box<dyn Backend>,
    pub(crate) dialect: Dialect,
    pub(crate) revision_id: String,
    pub(crate) tenant: Option<String>,
    pub(crate) assets_dir: Option<PathBuf>,
    pub(crate) limiter: Limiter,
    pub(crate) logs: Vec<GuestLog>,
    /// The first statement the transaction guard refused; it fails the hook
    /// even when the guest swallows the error.
    pub(crate) refused: Option<String>,
    /// The last error-level line, usually the SDK's panic message: a trap
    /// alone says only "unreachable".
    pub(crate) last_error_log: Option<String>,
    /// Statements the guard already passed in this hook: a backfill that
    /// runs one statement many times pays for tokenizing it once.
    pub(crate) approved: HashSet<String>,
    /// Bytes of the log lines written so far in this hook.
    pub(crate) log_bytes: usize,
    /// Log lines dropped past the caps.
    pub(crate) dropped_logs: usize,
    /// What the statement policy protects and allows in this hook.
    pub(crate) protected_tables: Vec<String>,
    pub(crate) protected_schemas: Vec<String>,
    pub(crate) capabilities: Capabilities,
    /// Each statement the project's capabilities let through, for the events table.
    pub(crate) capability_uses: Vec<String>,
    /// The first database error of the hook that says what went wrong better
    /// than whatever the guest made of it: a lock conflict (retried by the
    /// executor) or a statement that cannot run in a transaction block.
    pub(crate) telling_error: Option<sql::DbError>,
    /// Time spent inside database calls: not the guest code's own time.
    pub(crate) db_time: std::time::Duration,
    /// The last statement the database refused, to point at it if it failed the hook.
    pub(crate) failed_statement: Option<FailedStatement>,
    /// The assets read in this hook, by name: where a failed statement's text may come from.
    pub(crate) assets_read: Vec<String>,
    /// Every statement, for the statement journal; `None` when it is off.
    pub(crate) ran: Option<Ran>,
    /// The run-time lint and lock capture; `None` when neither is on.
    pub(crate) watch: Option<StepWatch>,
}

/// A statement (or script) the database refused, and how.
#[derive(Debug, Clone)]
pub(crate) struct FailedStatement {
    pub(crate) sql: String,
    pub(crate) error: sql::DbError,
}

impl HostState {
    /// The note that says how many lines the caps dropped, once the hook is over.
    pub(crate) fn dropped_logs_note(&self) -> Option<GuestLog> {
        (self.dropped_logs > 0).then(|| GuestLog {
            level: tracing::Level::WARN,
            message: format!(
                "{} log line(s) dropped: a hook may log {MAX_LOG_LINES} lines and {} KiB",
                self.dropped_logs,
                MAX_LOG_BYTES / 1024
            ),
        })
    }
}

impl HostState {
    fn policy(&self) -> Policy<'_> {
        Policy::new(self.dialect.guard_dialect())
            .protect_tables(&self.protected_tables)
            .protect_schemas(&self.protected_schemas)
            .with_capabilities(&self.capabilities)
    }

    /// The statement policy's verdict on one statement for `execute`/`query`.
    fn check_statement(&mut self, sql: &str) -> Result<(), DbError> {
        if self.approved.contains(sql) {
            return Ok(());
        }
        let verdict = self.policy().check_statement(sql);
        self.take_verdict(sql, verdict, true)
    }

    /// The statement policy's verdict on a script for `execute-script`.
    fn check_script(&mut self, sql: &str) -> Result<(), DbError> {
        let verdict = self.policy().check_script(sql);
        self.take_verdict(sql, verdict, false)
    }

    fn take_verdict(&mut self, sql: &str, verdict: Result<Approval, GuardError>, cache: bool) -> Result<(), DbError> {
        match verdict {
            // Only plain approvals are cached: every use of a capability is recorded.
            Ok(approval) if approval.is_plain() => {
                if cache {
                    self.approved.insert(sql.to_owned());
                }
                Ok(())
            }
            Ok(approval) => {
                for used in &approval.uses {
                    self.capability_uses.push(format!(
                        "{} ({} at line {}, column {})",
                        used.capability, used.keyword, used.line, used.column
                    ));
                }
                Ok(())
            }
            Err(refusal) => Err(self.refuse(refusal.to_string())),
        }
    }

    /// A refused statement is journaled too: the audit shows what a revision tried.
    fn journal_refused(&mut self, sql: &str, call: Call, note: Option<String>) {
        if let Some(ran) = &mut self.ran {
            ran.refused(sql, call, note);
        }
    }

    /// The lint's check of a call's statements before they run. A `deny`
    /// finding refuses the call: it is journaled with the finding, and the
    /// guest gets the finding as its error (the hook fails with it whatever
    /// the guest makes of that).
    fn lint_before(&mut self, sql: &str, call: Call, statements: &[&str]) -> Result<(), DbError> {
        let Some(watch) = &mut self.watch else { return Ok(()) };
        let Err(denied) = watch.before(self.db.as_mut(), statements) else { return Ok(()) };
        let notes = watch.end_call();
        let note = notes.notes.into_iter().flatten().collect::<Vec<_>>().join("; ");
        self.journal_refused(sql, call, (!note.is_empty()).then_some(note));
        Err(DbError { code: Some(sql::DbError::HOST_CODE.to_owned()), message: denied.to_string() })
    }

    /// What the call did, as the lint observes it; `Err` when an observed
    /// `deny` finding fails the hook (the statement ran, in the step's
    /// transaction, which is rolled back).
    fn lint_after(&mut self, ran: bool) -> (CallNotes, Result<(), DbError>) {
        let Some(watch) = &mut self.watch else { return (CallNotes::default(), Ok(())) };
        let observed = watch.after(self.db.as_mut(), ran);
        let notes = watch.end_call();
        let observed = observed
            .map_err(|denied| DbError { code: Some(sql::DbError::HOST_CODE.to_owned()), message: denied.to_string() });
        (notes, observed)
    }

    fn refuse(&mut self, refusal: String) -> DbError {
        let message = refusal.clone();
        self.refused.get_or_insert(refusal);
        DbError { code: Some(sql::DbError::HOST_CODE.to_owned()), message }
    }
}

fn to_host_value(value: Value) -> sql::Value {
    match value {
        Value::Null => sql::Value::Null,
        Value::Integer(number) => sql::Value::Integer(number),
        Value::Real(number) => sql::Value::Real(number),
        Value::Text(text) => sql::Value::Text(text),
        Value::Blob(bytes) => sql::Value::Blob(bytes),
    }
}

fn to_guest_value(value: sql::Value) -> Value {
    match value {
        sql::Value::Null => Value::Null,
        sql::Value::Integer(number) => Value::Integer(number),
        sql::Value::Real(number) => Value::Real(number),
        sql::Value::Text(text) => Value::Text(text),
        sql::Value::Blob(bytes) => Value::Blob(bytes),
    }
}

impl HostState {
    /// `call` on the database, its time counted as the database's, not the guest code's.
    fn in_database<T>(&mut self, call: impl FnOnce(&mut dyn Backend) -> T) -> T {
        let started = std::time::Instant::now();
        let result = call(self.db.as_mut());
        self.db_time += started.elapsed();
        result
    }

    /// The error of `sql` as the guest sees it; a telling one is kept for
    /// the host, and the statement to point at if it fails the hook.
    fn guest_error(&mut self, sql: &str, error: sql::DbError) -> DbError {
        if self.telling_error.is_none() && (error.is_lock_conflict() || error.needs_autocommit()) {
            self.telling_error = Some(error.clone());
        }
        let guest = DbError { code: error.code.clone(), message: error.message.clone() };
        self.failed_statement = Some(FailedStatement { sql: sql.to_owned(), error });
        guest
    }
}

fn host_values(params: Vec<Value>) -> Vec<sql::Value> {
    params.into_iter().map(to_host_value).collect()
}

impl types::Host for HostState {}

impl db::Host for HostState {
    fn execute(&mut self, sql: String, params: Vec<Value>) -> WasmResult<Result<u64, DbError>> {
        if let Err(refused) = self.check_statement(&sql) {
            self.journal_refused(&sql, Call::Execute, None);
            return Ok(Err(refused));
        }
        if let Err(denied) = self.lint_before(&sql, Call::Execute, &[sql.as_str()]) {
            return Ok(Err(denied));
        }
        let started = std::time::Instant::now();
        let result = self.in_database(|db| db.execute(&sql, &host_values(params)));
        let (notes, observed) = self.lint_after(result.is_ok());
        if let Some(ran) = &mut self.ran {
            ran.statement(&sql, Call::Execute, started.elapsed(), result.as_ref().copied(), notes);
        }
        let result = result.map_err(|error| self.guest_error(&sql, error));
        Ok(observed.and(result))
    }

    fn execute_many(&mut self, sql: String, rows: Vec<Vec<Value>>) -> WasmResult<Result<u64, DbError>> {
        if let Err(refused) = self.check_statement(&sql) {
            self.journal_refused(&sql, Call::ExecuteMany, None);
            return Ok(Err(refused));
        }
        if rows.is_empty() {
            return Ok(Ok(0));
        }
        if let Err(denied) = self.lint_before(&sql, Call::ExecuteMany, &[sql.as_str()]) {
            return Ok(Err(denied));
        }
        let rows: Vec<Vec<sql::Value>> = rows.into_iter().map(host_values).collect();
        let started = std::time::Instant::now();
        let result = self.in_database(|db| db.execute_many(&sql, &rows));
        let (notes, observed) = self.lint_after(result.is_ok());
        if let Some(ran) = &mut self.ran {
            let executions = match &result {
                Ok(_) => rows.len(),
                Err(failure) => failure.row + 1,
            } as u64;
            let outcome = result.as_ref().copied().map_err(|failure| &failure.error);
            ran.many(&sql, executions, started.elapsed(), outcome, notes);
        }
        let result = result.map_err(|failure| {
            let error = failure.into_db_error();
            self.guest_error(&sql, error)
        });
        Ok(observed.and(result))
    }

    fn query(&mut self, sql: String, params: Vec<Value>) -> WasmResult<Result<bindings::types::Rows, DbError>> {
        if let Err(refused) = self.check_statement(&sql) {
            self.journal_refused(&sql, Call::Query, None);
            return Ok(Err(refused));
        }
        if let Err(denied) = self.lint_before(&sql, Call::Query, &[sql.as_str()]) {
            return Ok(Err(denied));
        }
        let started = std::time::Instant::now();
        let result = self.in_database(|db| db.query(&sql, &host_values(params)));
        let (notes, observed) = self.lint_after(result.is_ok());
        if let Some(ran) = &mut self.ran {
            let outcome = result.as_ref().map(|rows| rows.values.len() as u64);
            ran.statement(&sql, Call::Query, started.elapsed(), outcome, notes);
        }
        let result = result
            .map(|rows| bindings::types::Rows {
                columns: rows.columns,
                values: rows.values.into_iter().map(|row| row.into_iter().map(to_guest_value).collect()).collect(),
            })
            .map_err(|error| self.guest_error(&sql, error));
        Ok(observed.and(result))
    }

    fn execute_script(&mut self, sql: String) -> WasmResult<Result<(), DbError>> {
        if let Err(refused) = self.check_script(&sql) {
            self.journal_refused(&sql, Call::Script, None);
            return Ok(Err(refused));
        }
        let dialect = self.dialect;
        let statements = match (&self.ran, &self.watch) {
            (None, None) => Vec::new(),
            _ => split_script(&sql, dialect),
        };
        let texts: Vec<&str> = statements.iter().map(|(_, text)| *text).collect();
        if let Err(denied) = self.lint_before(&sql, Call::Script, &texts) {
            return Ok(Err(denied));
        }
        let started = std::time::Instant::now();
        let result = self.in_database(|db| db.execute_script(&sql));
        let (notes, observed) = self.lint_after(result.is_ok());
        if let Some(ran) = &mut self.ran {
            ran.script(&statements, started.elapsed(), result.as_ref().copied(), notes);
        }
        let result = result.map_err(|error| self.guest_error(&sql, error));
        Ok(observed.and(result))
    }

    fn dialect(&mut self) -> WasmResult<SqlDialect> {
        Ok(match self.dialect {
            Dialect::Sqlite => SqlDialect::Sqlite,
            Dialect::Postgres => SqlDialect::Postgres,
        })
    }
}

impl context::Host for HostState {
    fn revision_id(&mut self) -> WasmResult<String> {
        Ok(self.revision_id.clone())
    }

    fn tenant(&mut self) -> WasmResult<Option<String>> {
        Ok(self.tenant.clone())
    }

    fn asset(&mut self, name: String) -> WasmResult<Option<Vec<u8>>> {
        let Some(dir) = &self.assets_dir else {
            return Ok(None);
        };
        let Some(path) = asset_path(dir, &name)? else {
            return Ok(None);
        };
        if !self.assets_read.contains(&name) {
            self.assets_read.push(name.clone());
        }
        let read = || -> std::io::Result<Option<Vec<u8>>> {
            let mut file = std::fs::File::open(&path)?;
            let size = file.metadata()?.len();
            if size > MAX_ASSET_BYTES {
                return Ok(None);
            }
            let mut bytes = Vec::with_capacity(size as usize);
            std::io::Read::read_to_end(&mut (&mut file).take(MAX_ASSET_BYTES + 1), &mut bytes)?;
            Ok(Some(bytes))
        };
        match read() {
            Ok(Some(bytes)) if bytes.len() as u64 <= MAX_ASSET_BYTES => Ok(Some(bytes)),
            Ok(_) => wasmtime::bail!("asset `{name}` is over the limit of {MAX_ASSET_BYTES} bytes"),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => wasmtime::bail!("cannot read asset `{name}` ({}): {error}", path.display()),
        }
    }

    fn log(&mut self, level: LogLevel, message: String) -> WasmResult<()> {
        let level = match level {
            LogLevel::Trace => tracing::Level::TRACE,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error => tracing::Level::ERROR,
        };
        if self.logs.len() >= MAX_LOG_LINES || self.log_bytes >= MAX_LOG_BYTES {
            self.dropped_logs += 1;
            return Ok(());
        }
        let message = truncate(message, MAX_LOG_LINE_BYTES.min(MAX_LOG_BYTES - self.log_bytes));
        self.log_bytes += message.len();
        let revision = self.revision_id.as_str();
        match level {
            tracing::Level::ERROR => tracing::error!(revision, "{message}"),
            tracing::Level::WARN => tracing::warn!(revision, "{message}"),
            tracing::Level::INFO => tracing::info!(revision, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(revision, "{message}"),
            tracing::Level::TRACE => tracing::trace!(revision, "{message}"),
        }
        if level == tracing::Level::ERROR {
            self.last_error_log = Some(message.clone());
        }
        self.logs.push(GuestLog { level, message });
        Ok(())
    }
}

fn truncate(mut message: String, max: usize) -> String {
    if message.len() > max {
        let mut cut = max;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(" [truncated]");
    }
    message
}

/// Resolves an asset name inside the revision's directory: a relative path
/// without `..`, whose real location (links followed) stays inside it.
/// A name that tries to leave is a trap, not a quiet `none`.
///
/// Without a link on the way (the usual case) this costs one `lstat` per
/// path component; only a link makes it compare canonical paths.
pub(super) fn asset_path(dir: &Path, name: &str) -> WasmResult<Option<PathBuf>> {
    let relative = Path::new(name);
    let escapes = name.is_empty() || relative.components().any(|part| !matches!(part, PathComponent::Normal(_)));
    if escapes {
        wasmtime::bail!("asset name `{name}` must be a relative path inside the revision's directory");
    }
    let candidate = dir.join(relative);
    let mut walked = dir.to_path_buf();
    let mut last = None;
    for part in relative.components() {
        walked.push(part);
        match std::fs::symlink_metadata(&walked) {
            Ok(meta) if meta.file_type().is_symlink() => return linked_asset_path(dir, name, &candidate),
            Ok(meta) => last = Some(meta),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => wasmtime::bail!("cannot resolve asset `{name}`: {error}"),
        }
    }
    Ok(last.filter(std::fs::Metadata::is_file).map(|_| candidate))
}

/// An asset reached through a link: allowed only if its real location is
/// inside the revision's real directory.
fn linked_asset_path(dir: &Path, name: &str, candidate: &Path) -> WasmResult<Option<PathBuf>> {
    let real = match candidate.canonicalize() {
        Ok(real) => real,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => wasmtime::bail!("cannot resolve asset `{name}`: {error}"),
    };
    let root = dir
        .canonicalize()
        .map_err(|error| wasmtime::format_err!("cannot resolve the revision directory {}: {error}", dir.display()))?;
    if !real.starts_with(&root) {
        wasmtime::bail!("asset `{name}` leads outside the revision's directory (to {})", real.display());
    }
    Ok(real.is_file().then_some(real))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_cannot_leave_the_revision_directory() {
        let root = tempfile::tempdir().unwrap();
        let revision = root.path().join("rev");
        std::fs::create_dir(&revision).unwrap();
        std::fs::write(revision.join("up.sql"), "select 1").unwrap();
        std::fs::write(root.path().join("secret"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.path().join("secret"), revision.join("link")).unwrap();

        assert!(asset_path(&revision, "up.sql").unwrap().is_some());
        assert!(asset_path(&revision, "missing.sql").unwrap().is_none());
        for name in ["../secret", "/etc/passwd", "", "./up.sql", "a/../../secret"] {
            assert!(asset_path(&revision, name).is_err(), "{name} should be refused");
        }
        #[cfg(unix)]
        assert!(asset_path(&revision, "link").is_err(), "a link out of the directory is refused");
    }

    #[test]
    fn long_log_lines_are_cut_on_a_char_boundary() {
        let cut = truncate("é".repeat(10), 5);
        assert_eq!(cut, "éé [truncated]");
    }
}
