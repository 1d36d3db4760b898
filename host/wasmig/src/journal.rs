//! The statement journal (`<prefix>journal`): every statement a revision ran, written beside the version tables, and read back.
//!
//! Decisions (docs/JOURNAL.md): rows are appended in the transaction that
//! commits the step they belong to, so a committed revision and its
//! statements commit together. The statements of an attempt that rolled back
//! (a failed hook, a lock conflict retried, a later step of a
//! `--transaction all` run) are kept in memory and written after the
//! rollback, in the next transaction that commits (the retry's, or the one
//! that records the `fail` event), marked `rolled-back`: the audit shows
//! what ran, and that it did not stay. Only statement text is stored, never
//! a bound parameter's value.

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmig_graph::Direction;

use crate::backend::Backend;
use crate::runtime::RanStatement;
use crate::sql::{DbError, Value};
use crate::versions::{TOOL_VERSION, VersionTables};

/// Whether a journaled statement's effect stayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum JournalOutcome {
    /// Ran in the step's transaction, which committed.
    Committed,
    /// Ran in a transaction that rolled back: it left nothing.
    RolledBack,
    /// Ran in a `transactional = false` step: it took effect as it ran.
    Autocommit,
}

impl JournalOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalOutcome::Committed => "committed",
            JournalOutcome::RolledBack => "rolled-back",
            JournalOutcome::Autocommit => "autocommit",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [JournalOutcome::Committed, JournalOutcome::RolledBack, JournalOutcome::Autocommit]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// One row of the journal, as `wasmig journal` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Grows with each row written.
    pub id: i64,
    /// The run (one `upgrade`/`downgrade` on one database) it belongs to.
    pub run_id: String,
    /// When it was written, ISO-8601 UTC.
    pub at: String,
    pub tenant: Option<String>,
    pub revision: String,
    /// `up` or `down`.
    pub direction: String,
    /// 1, or the retry's number after a lock conflict.
    pub attempt: i64,
    /// The statement's place in its revision's attempt, from 1.
    pub sequence: i64,
    /// `execute`, `query` or `script` (one statement of an `execute-script`).
    pub via: String,
    pub statement: String,
    /// SHA-256 of the statement's text, hex.
    pub statement_hash: String,
    /// How many times it ran back to back (a loop sending it with new parameters).
    pub executions: i64,
    pub duration_us: Option<i64>,
    /// Rows changed (`execute`) or returned (`query`).
    pub row_count: Option<i64>,
    pub error_code: Option<String>,
    pub outcome: JournalOutcome,
    /// The lint's findings on the statement, and a revision's allowances (docs/LINT.md).
    pub note: Option<String>,
    /// PostgreSQL with `[journal] locks = true`: the strongest lock the
    /// statement took (`ACCESS EXCLUSIVE`), and on which relation.
    pub lock_mode: Option<String>,
    pub lock_relation: Option<String>,
    pub tool_version: String,
}

/// Which rows `Migrator::journal` returns. The default: all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// Only these revisions (exact ids); empty for all.
    pub revisions: Vec<String>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
}

/// A statement on its way into the journal.
#[derive(Debug, Clone)]
pub(crate) struct JournalRow {
    pub(crate) tenant: Option<String>,
    pub(crate) revision: String,
    pub(crate) direction: Direction,
    pub(crate) attempt: u32,
    pub(crate) sequence: u32,
    pub(crate) statement: RanStatement,
    pub(crate) outcome: JournalOutcome,
}

/// The journal's rows of a run not written yet (see the module's decisions).
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) enabled: bool,
    run_id: String,
    /// The attempt under way (lock retries count up from 1).
    pub(crate) attempt: u32,
    /// Rows of the transaction under way: committed if it commits.
    current: Vec<JournalRow>,
    /// Rows whose outcome is known (rolled back, autocommit), waiting for a transaction that commits.
    settled: Vec<JournalRow>,
}

impl Pending {
    pub(crate) fn new(enabled: bool) -> Self {
        Pending { enabled, run_id: new_run_id(), attempt: 1, current: Vec::new(), settled: Vec::new() }
    }

    /// The statements a step's hook ran, numbered from 1; `autocommit` when
    /// the step ran outside a transaction (their effect is known already).
    pub(crate) fn add(
        &mut self,
        tenant: Option<&str>,
        revision: &str,
        direction: Direction,
        ran: Vec<RanStatement>,
        autocommit: bool,
    ) {
        let rows = ran.into_iter().enumerate().map(|(index, statement)| JournalRow {
            tenant: tenant.map(str::to_owned),
            revision: revision.to_owned(),
            direction,
            attempt: self.attempt,
            sequence: index as u32 + 1,
            statement,
            outcome: if autocommit { JournalOutcome::Autocommit } else { JournalOutcome::Committed },
        });
        if autocommit {
            self.settled.extend(rows);
        } else {
            self.current.extend(rows);
        }
    }

    /// Writes every pending row inside the open transaction; they stay
    /// pending until [`Pending::committed`] or [`Pending::rolled_back`].
    pub(crate) fn write(&self, tables: &VersionTables, db: &mut dyn Backend) -> Result<(), DbError> {
        if !self.enabled {
            return Ok(());
        }
        let rows: Vec<&JournalRow> = self.settled.iter().chain(&self.current).collect();
        insert(tables, db, &self.run_id, &rows)
    }

    /// The transaction that wrote them committed.
    pub(crate) fn committed(&mut self) {
        self.current.clear();
        self.settled.clear();
    }

    /// The transaction under way rolled back: its statements left nothing.
    pub(crate) fn rolled_back(&mut self) {
        for mut row in self.current.drain(..) {
            row.outcome = JournalOutcome::RolledBack;
            self.settled.push(row);
        }
    }
}

/// An id for one run: 16 hex digits, different between processes and calls.
fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// The statement that creates the journal when it is missing.
pub(crate) fn create_sql(tables: &VersionTables, db: &dyn Backend) -> String {
    let (timestamp, id) = tables.id_and_timestamp_types();
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n\
         \x20   id {id},\n\
         \x20   run_id TEXT NOT NULL,\n\
         \x20   at {timestamp},\n\
         \x20   tenant TEXT,\n\
         \x20   revision TEXT NOT NULL,\n\
         \x20   direction TEXT NOT NULL,\n\
         \x20   attempt BIGINT NOT NULL,\n\
         \x20   sequence BIGINT NOT NULL,\n\
         \x20   via TEXT NOT NULL,\n\
         \x20   statement TEXT NOT NULL,\n\
         \x20   statement_hash TEXT NOT NULL,\n\
         \x20   executions BIGINT NOT NULL,\n\
         \x20   duration_us BIGINT,\n\
         \x20   row_count BIGINT,\n\
         \x20   error_code TEXT,\n\
         \x20   outcome TEXT NOT NULL,\n\
         \x20   note TEXT,\n\
         \x20   lock_mode TEXT,\n\
         \x20   lock_relation TEXT,\n\
         \x20   tool_version TEXT NOT NULL\n\
         );\n",
        tables.journal_table_in(db)
    )
}

/// The columns wasmig added after the journal's first release, each
/// nullable: a journal an older wasmig created gets them on the next run
/// that writes it ([`upgrade_sql`]), and reading one without them shows NULL.
const ADDED_COLUMNS: [&str; 2] = ["lock_mode", "lock_relation"];

/// The journal's columns as the database has them; empty when it has no journal.
pub(crate) fn columns(tables: &VersionTables, db: &mut dyn Backend) -> Result<Vec<String>, DbError> {
    let rows = match tables.dialect() {
        crate::sql::Dialect::Sqlite => db.query(
            "SELECT name FROM pragma_table_info(?1, 'main')",
            &[Value::Text(tables.journal_table().to_owned())],
        )?,
        crate::sql::Dialect::Postgres => {
            let table = tables.journal_table_in(db);
            db.query(
                "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                 WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                &[Value::Text(table)],
            )?
        }
    };
    let name = |row: Vec<Value>| match row.into_iter().next() {
        Some(Value::Text(name)) => Some(name),
        _ => None,
    };
    Ok(rows.values.into_iter().filter_map(name).collect())
}

/// The statements that give a journal with `columns` the ones added since; `None` when it has them all.
pub(crate) fn upgrade_sql(tables: &VersionTables, db: &dyn Backend, columns: &[String]) -> Option<String> {
    let table = tables.journal_table_in(db);
    let missing: Vec<String> = ADDED_COLUMNS
        .iter()
        .filter(|column| !columns.iter().any(|have| have == *column))
        .map(|column| format!("ALTER TABLE {table} ADD COLUMN {column} TEXT;\n"))
        .collect();
    (!missing.is_empty()).then(|| missing.concat())
}

/// The columns written per row, in the order [`insert`] binds them.
const INSERTED: [&str; 18] = [
    "run_id",
    "tenant",
    "revision",
    "direction",
    "attempt",
    "sequence",
    "via",
    "statement",
    "statement_hash",
    "executions",
    "duration_us",
    "row_count",
    "error_code",
    "outcome",
    "note",
    "lock_mode",
    "lock_relation",
    "tool_version",
];

/// Rows per INSERT: well under either engine's limit of bound parameters.
const ROWS_PER_INSERT: usize = 200;

fn insert(tables: &VersionTables, db: &mut dyn Backend, run_id: &str, rows: &[&JournalRow]) -> Result<(), DbError> {
    let table = tables.journal_table_in(db);
    let text = |value: Option<&str>| value.map_or(Value::Null, |text| Value::Text(text.to_owned()));
    let integer = |value: Option<u64>| value.map_or(Value::Null, |number| Value::Integer(number as i64));
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut params = Vec::with_capacity(chunk.len() * INSERTED.len());
        let mut tuples = Vec::with_capacity(chunk.len());
        for row in chunk {
            let first = params.len() + 1;
            tuples.push(format!("({})", tables.placeholders_from(first, INSERTED.len())));
            let statement = &row.statement;
            params.extend([
                Value::Text(run_id.to_owned()),
                text(row.tenant.as_deref()),
                Value::Text(row.revision.clone()),
                Value::Text(row.direction.as_str().to_owned()),
                Value::Integer(i64::from(row.attempt)),
                Value::Integer(i64::from(row.sequence)),
                Value::Text(statement.call.as_str().to_owned()),
                Value::Text(statement.text.clone()),
                Value::Text(hex::encode(Sha256::digest(statement.text.as_bytes()))),
                Value::Integer(statement.executions as i64),
                integer(statement.duration.map(|duration| duration.as_micros() as u64)),
                integer(statement.rows),
                text(statement.error_code.as_deref()),
                Value::Text(row.outcome.as_str().to_owned()),
                text(statement.note.as_deref()),
                text(statement.lock.as_ref().map(|lock| lock.mode.as_str())),
                text(statement.lock.as_ref().map(|lock| lock.relation.as_str())),
                Value::Text(TOOL_VERSION.to_owned()),
            ]);
        }
        let sql = format!("INSERT INTO {table} ({}) VALUES {}", INSERTED.join(", "), tuples.join(", "));
        db.execute(&sql, &params)?;
    }
    Ok(())
}

/// The rows `filter` selects, in the order they were written (the newest
/// `limit` of them); none without the journal.
pub(crate) fn read(
    tables: &VersionTables,
    db: &mut dyn Backend,
    filter: &JournalFilter,
) -> Result<Vec<JournalEntry>, DbError> {
    let columns = columns(tables, db)?;
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    // A journal an older wasmig created, not written since, lacks the added columns.
    let added = ADDED_COLUMNS.map(|column| match columns.iter().any(|have| have == column) {
        true => column,
        false => "NULL",
    });
    let table = tables.journal_table_in(db);
    let mut sql = format!(
        "SELECT id, run_id, {}, tenant, revision, direction, attempt, sequence, via, statement, statement_hash, \
         executions, duration_us, row_count, error_code, outcome, note, {}, tool_version FROM {table}",
        tables.timestamp_text("at"),
        added.join(", ")
    );
    let params: Vec<Value> = filter.revisions.iter().cloned().map(Value::Text).collect();
    if !params.is_empty() {
        sql.push_str(&format!(" WHERE revision IN ({})", tables.placeholders_from(1, params.len())));
    }
    sql.push_str(" ORDER BY id DESC");
    if let Some(limit) = filter.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let rows = db.query(&sql, &params)?;
    let mut entries = rows.values.into_iter().map(|row| entry(row, &table)).collect::<Result<Vec<_>, _>>()?;
    entries.reverse();
    Ok(entries)
}

fn entry(row: Vec<Value>, table: &str) -> Result<JournalEntry, DbError> {
    let unexpected = |value: &Value| DbError::host(format!("unexpected {value:?} in {table}"));
    let text = |value: Value| match value {
        Value::Text(text) => Ok(Some(text)),
        Value::Null => Ok(None),
        other => Err(unexpected(&other)),
    };
    let integer = |value: Value| match value {
        Value::Integer(number) => Ok(Some(number)),
        Value::Null => Ok(None),
        other => Err(unexpected(&other)),
    };
    let [
        id,
        run_id,
        at,
        tenant,
        revision,
        direction,
        attempt,
        sequence,
        via,
        statement,
        statement_hash,
        executions,
        duration_us,
        row_count,
        error_code,
        outcome,
        note,
        lock_mode,
        lock_relation,
        tool_version,
    ] = <[Value; 20]>::try_from(row).map_err(|_| DbError::host(format!("{table} has unexpected columns")))?;
    let outcome = text(outcome)?.unwrap_or_default();
    Ok(JournalEntry {
        id: integer(id)?.unwrap_or_default(),
        run_id: text(run_id)?.unwrap_or_default(),
        at: text(at)?.unwrap_or_default(),
        tenant: text(tenant)?,
        revision: text(revision)?.unwrap_or_default(),
        direction: text(direction)?.unwrap_or_default(),
        attempt: integer(attempt)?.unwrap_or_default(),
        sequence: integer(sequence)?.unwrap_or_default(),
        via: text(via)?.unwrap_or_default(),
        statement: text(statement)?.unwrap_or_default(),
        statement_hash: text(statement_hash)?.unwrap_or_default(),
        executions: integer(executions)?.unwrap_or_default(),
        duration_us: integer(duration_us)?,
        row_count: integer(row_count)?,
        error_code: text(error_code)?,
        outcome: JournalOutcome::parse(&outcome).ok_or_else(|| {
            DbError::host(format!("unknown outcome `{outcome}` in {table}; was it written by a newer wasmig?"))
        })?,
        note: text(note)?,
        lock_mode: text(lock_mode)?,
        lock_relation: text(lock_relation)?,
        tool_version: text(tool_version)?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sqlite::SqliteBackend;
    use crate::runtime::Call;
    use crate::sql::Dialect;

    fn ran(text: &str) -> RanStatement {
        RanStatement {
            text: text.to_owned(),
            call: Call::Execute,
            executions: 1,
            duration: Some(std::time::Duration::from_micros(5)),
            rows: Some(1),
            error_code: None,
            note: None,
            lock: None,
        }
    }

    #[test]
    fn rolled_back_rows_are_kept_for_the_next_commit_and_read_back_in_order() {
        let mut db = SqliteBackend::open_in_memory().unwrap();
        let tables = VersionTables::new("wasmig_", Dialect::Sqlite);
        assert_eq!(read(&tables, &mut db, &JournalFilter::default()).unwrap(), Vec::new(), "no table, no rows");
        db.execute_script(&create_sql(&tables, &db)).unwrap();
        let mut pending = Pending::new(true);
        pending.add(None, "a1", Direction::Up, vec![ran("CREATE TABLE t (id int)"), ran("SELECT 1")], false);
        pending.rolled_back();
        pending.attempt = 2;
        pending.add(Some("acme"), "a1", Direction::Up, vec![ran("CREATE TABLE t (id int)")], false);
        pending.write(&tables, &mut db).unwrap();
        pending.committed();
        pending.write(&tables, &mut db).unwrap();
        let all = read(&tables, &mut db, &JournalFilter::default()).unwrap();
        let seen: Vec<(i64, i64, JournalOutcome)> =
            all.iter().map(|entry| (entry.attempt, entry.sequence, entry.outcome)).collect();
        assert_eq!(
            seen,
            [(1, 1, JournalOutcome::RolledBack), (1, 2, JournalOutcome::RolledBack), (2, 1, JournalOutcome::Committed)]
        );
        assert_eq!(all[2].tenant.as_deref(), Some("acme"));
        assert_eq!(all[0].statement_hash, hex::encode(Sha256::digest(b"CREATE TABLE t (id int)")));
        let newest = JournalFilter { limit: Some(1), ..JournalFilter::default() };
        assert_eq!(read(&tables, &mut db, &newest).unwrap()[0].id, all[2].id);
        let other = JournalFilter { revisions: vec!["b2".into()], limit: None };
        assert!(read(&tables, &mut db, &other).unwrap().is_empty());
    }

    #[test]
    fn a_journal_without_the_added_columns_is_read_and_upgraded() {
        let mut db = SqliteBackend::open_in_memory().unwrap();
        let tables = VersionTables::new("wasmig_", Dialect::Sqlite);
        let mut older = create_sql(&tables, &db);
        for column in ADDED_COLUMNS {
            older = older.replace(&format!("    {column} TEXT,\n"), "");
        }
        db.execute_script(&older).unwrap();
        let written = "INSERT INTO wasmig_journal (run_id, revision, direction, attempt, sequence, via, statement, \
                       statement_hash, executions, outcome, tool_version) \
                       VALUES ('r', 'a1', 'up', 1, 1, 'execute', 'SELECT 1', 'h', 1, 'committed', 'old')";
        db.execute(written, &[]).unwrap();
        let before = read(&tables, &mut db, &JournalFilter::default()).unwrap();
        assert_eq!((before.len(), before[0].lock_mode.as_ref()), (1, None), "an older journal reads");
        let older_columns = columns(&tables, &mut db).unwrap();
        assert!(!older_columns.iter().any(|column| column == "lock_mode"));
        db.execute_script(&upgrade_sql(&tables, &db, &older_columns).unwrap()).unwrap();
        let upgraded = columns(&tables, &mut db).unwrap();
        assert_eq!(upgrade_sql(&tables, &db, &upgraded), None, "upgraded once");
        let mut pending = Pending::new(true);
        let mut locked = ran("ALTER TABLE t ADD c int");
        locked.lock =
            Some(crate::lint::LockTaken { mode: crate::lint::LockMode::AccessExclusive, relation: "public.t".into() });
        locked.note = Some("warn lock-held: x".into());
        pending.add(None, "a2", Direction::Up, vec![locked], false);
        pending.write(&tables, &mut db).unwrap();
        let after = read(&tables, &mut db, &JournalFilter::default()).unwrap();
        assert_eq!(after[1].lock_mode.as_deref(), Some("ACCESS EXCLUSIVE"));
        assert_eq!(after[1].lock_relation.as_deref(), Some("public.t"));
        assert_eq!(after[1].note.as_deref(), Some("warn lock-held: x"));
    }
}
