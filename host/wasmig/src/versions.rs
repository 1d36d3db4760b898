//! The version tables: the applied set (`<prefix>revisions`) and the append-only history (`<prefix>events`).
//!
//! The third, `<prefix>journal` (every statement a revision ran), is named
//! here with the others and written by the `journal` module.
//!
//! Every statement here goes through [`Backend`], inside whatever
//! transaction the executor opened, so a revision and its bookkeeping commit
//! together. The SQL differs between dialects only in placeholders and types.
//!
//! Every statement names its tables with their schema: on PostgreSQL the
//! backend's [`Backend::schema`] (`"tenant".wasmig_revisions`), on SQLite
//! `main`. Neither a revision's `search_path` nor a same-named table in
//! another schema (or a TEMP one, which both engines search first) can
//! redirect the host's rows. The offline PostgreSQL script, which has no
//! database to ask, names them in the URL's `?schema=` if it has one, else
//! bare.

use std::collections::HashMap;

use wasmig_graph::valid_table_prefix;

use crate::backend::Backend;
use crate::sql::{DbError, Dialect, Value, quote_identifier};

/// The state of a row of the revisions table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RowState {
    /// Applied and committed.
    Applied,
    /// A non-transactional `up` started and did not finish.
    DirtyUp,
    /// A non-transactional `down` started and did not finish.
    DirtyDown,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::DirtyUp => "dirty-up",
            RowState::DirtyDown => "dirty-down",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "applied" => Some(RowState::Applied),
            "dirty-up" => Some(RowState::DirtyUp),
            "dirty-down" => Some(RowState::DirtyDown),
            _ => None,
        }
    }
}

/// The kinds of history events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventKind {
    Upgrade,
    Downgrade,
    Stamp,
    Adopt,
    Repair,
    Resolve,
    Fail,
    /// A transaction that failed on a lock conflict is run again.
    Retry,
}

impl EventKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [EventKind; 8] = [
        EventKind::Upgrade,
        EventKind::Downgrade,
        EventKind::Stamp,
        EventKind::Adopt,
        EventKind::Repair,
        EventKind::Resolve,
        EventKind::Fail,
        EventKind::Retry,
    ];

    /// The kind a row of the events table names, if this version knows it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Upgrade => "upgrade",
            EventKind::Downgrade => "downgrade",
            EventKind::Stamp => "stamp",
            EventKind::Adopt => "adopt",
            EventKind::Repair => "repair",
            EventKind::Resolve => "resolve",
            EventKind::Fail => "fail",
            EventKind::Retry => "retry",
        }
    }
}

/// One row of the revisions table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AppliedRow {
    pub revision: String,
    pub checksum: String,
    pub module_hash: String,
    pub kind: String,
    pub state: RowState,
    pub applied_at: String,
    pub execution_ms: i64,
    pub tool_version: String,
}

/// What the revisions table gets for one applied revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRow<'a> {
    pub revision: &'a str,
    pub checksum: &'a str,
    pub module_hash: &'a str,
    pub kind: &'a str,
    pub state: RowState,
    pub execution_ms: i64,
}

/// One history event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent<'a> {
    pub kind: EventKind,
    pub revision: Option<&'a str>,
    pub duration_ms: Option<i64>,
    pub error: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// The version tables of one database, by prefix.
#[derive(Debug, Clone)]
pub struct VersionTables {
    revisions: String,
    events: String,
    journal: String,
    dialect: Dialect,
}

pub const TOOL_VERSION: &str = concat!("wasmig ", env!("CARGO_PKG_VERSION"));

/// The unqualified names of the version tables of `prefix`: revisions, events, then the statement journal.
pub(crate) fn table_names(prefix: &str) -> [String; 3] {
    [format!("{prefix}revisions"), format!("{prefix}events"), format!("{prefix}journal")]
}

impl VersionTables {
    /// `prefix` must pass [`valid_table_prefix`] (the project loader checks it):
    /// it is spliced into statements, never bound as a parameter.
    pub fn new(prefix: &str, dialect: Dialect) -> Self {
        assert!(valid_table_prefix(prefix), "table prefix `{prefix}` was not validated");
        let [revisions, events, journal] = table_names(prefix);
        VersionTables { revisions, events, journal, dialect }
    }

    pub fn revisions_table(&self) -> &str {
        &self.revisions
    }

    /// The events table as the host's statements on `db` name it.
    pub(crate) fn events_table_in(&self, db: &dyn Backend) -> String {
        self.events_in(db)
    }

    /// The statement journal as the host's statements on `db` name it.
    pub(crate) fn journal_table_in(&self, db: &dyn Backend) -> String {
        self.qualified(&self.journal, db)
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The unqualified name of the statement journal.
    pub(crate) fn journal_table(&self) -> &str {
        &self.journal
    }

    /// A timestamp column as ISO-8601 UTC text on both dialects (SQLite stores it so).
    pub(crate) fn timestamp_text(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => {
                format!("pg_catalog.to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
            }
        }
    }

    fn placeholders(&self, count: usize) -> String {
        self.placeholders_from(1, count)
    }

    /// `count` bound parameters numbered from `first`, comma-separated: the
    /// next `IN (...)` list or row of a statement that already binds `first - 1`.
    pub(crate) fn placeholders_from(&self, first: usize, count: usize) -> String {
        (first..first + count).map(|index| self.placeholder(index)).collect::<Vec<_>>().join(", ")
    }

    /// The `index`th (from 1) bound parameter, in the dialect's spelling.
    pub(crate) fn placeholder(&self, index: usize) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("?{index}"),
            Dialect::Postgres => format!("${index}"),
        }
    }

    fn one(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "?1",
            Dialect::Postgres => "$1",
        }
    }

    /// `table` as the host's statements on `db` name it: schema-qualified.
    fn qualified(&self, table: &str, db: &dyn Backend) -> String {
        match (self.dialect, db.schema()) {
            (Dialect::Postgres, Some(schema)) => format!("{}.{table}", quote_identifier(schema)),
            // No schema: a PostgreSQL session whose search path names none
            // that exists (creating a table fails there anyway), or the
            // offline script.
            (Dialect::Postgres, None) => table.to_owned(),
            (Dialect::Sqlite, _) => format!("main.{table}"),
        }
    }

    fn revisions_in(&self, db: &dyn Backend) -> String {
        self.qualified(&self.revisions, db)
    }

    fn events_in(&self, db: &dyn Backend) -> String {
        self.qualified(&self.events, db)
    }

    /// The statements that create both tables when they are missing, named
    /// as the host's statements on `db` name them (for the offline script:
    /// bare without a schema, so whoever runs it chooses one).
    pub fn create_sql_in(&self, db: &dyn Backend) -> String {
        self.create_sql_named(&self.revisions_in(db), &self.events_in(db))
    }

    fn create_sql_named(&self, revisions: &str, events: &str) -> String {
        // SQLite: the events' rowid grows with each insert and rows are never
        // deleted, so AUTOINCREMENT (an extra table written per insert) buys
        // nothing; the revisions table is one b-tree keyed by id (WITHOUT
        // ROWID) instead of a table plus its primary-key index.
        let (timestamp, event_id) = self.id_and_timestamp_types();
        let revisions_options = match self.dialect {
            Dialect::Sqlite => " WITHOUT ROWID",
            Dialect::Postgres => "",
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {revisions} (\n\
             \x20   revision TEXT PRIMARY KEY,\n\
             \x20   checksum TEXT NOT NULL,\n\
             \x20   module_hash TEXT NOT NULL,\n\
             \x20   kind TEXT NOT NULL,\n\
             \x20   state TEXT NOT NULL,\n\
             \x20   applied_at {timestamp},\n\
             \x20   execution_ms BIGINT NOT NULL,\n\
             \x20   tool_version TEXT NOT NULL\n\
             ){revisions_options};\n\
             CREATE TABLE IF NOT EXISTS {events} (\n\
             \x20   id {event_id},\n\
             \x20   event TEXT NOT NULL,\n\
             \x20   revision TEXT,\n\
             \x20   at {timestamp},\n\
             \x20   duration_ms BIGINT,\n\
             \x20   error TEXT,\n\
             \x20   detail TEXT,\n\
             \x20   tool_version TEXT NOT NULL\n\
             );\n",
        )
    }

    /// Whether the revisions table exists (read-only commands do not create it).
    pub fn exists(&self, db: &mut dyn Backend) -> Result<bool, DbError> {
        self.table_exists(db, &self.revisions)
    }

    /// Whether `table` (unqualified) exists where the host's statements on `db` look for it.
    pub(crate) fn table_exists(&self, db: &mut dyn Backend, table: &str) -> Result<bool, DbError> {
        let name = Value::Text(table.to_owned());
        let rows = match (self.dialect, db.schema().map(str::to_owned)) {
            (Dialect::Sqlite, _) => db.query(
                "SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
                std::slice::from_ref(&name),
            )?,
            (Dialect::Postgres, Some(schema)) => db.query(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2",
                &[Value::Text(schema), name],
            )?,
            (Dialect::Postgres, None) => db.query(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = pg_catalog.current_schema() \
                 AND tablename = $1",
                std::slice::from_ref(&name),
            )?,
        };
        Ok(matches!(rows.values.first().and_then(|row| row.first()), Some(Value::Integer(count)) if *count > 0))
    }

    /// The column types both tables with an id and a timestamp use: (timestamp, id).
    pub(crate) fn id_and_timestamp_types(&self) -> (&'static str, &'static str) {
        match self.dialect {
            Dialect::Sqlite => ("TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))", "INTEGER PRIMARY KEY"),
            Dialect::Postgres => {
                ("TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
            }
        }
    }

    pub fn create(&self, db: &mut dyn Backend) -> Result<(), DbError> {
        let sql = self.create_sql_named(&self.revisions_in(db), &self.events_in(db));
        db.execute_script(&sql)
    }

    /// The whole applied set, in one query.
    pub fn read(&self, db: &mut dyn Backend) -> Result<Vec<AppliedRow>, DbError> {
        let applied_at = self.timestamp_text("applied_at");
        let rows = db.query(
            &format!(
                "SELECT revision, checksum, module_hash, kind, state, {applied_at}, execution_ms, tool_version \
                 FROM {} ORDER BY applied_at, revision",
                self.revisions_in(db)
            ),
            &[],
        )?;
        rows.values.into_iter().map(|row| self.applied_row(row)).collect()
    }

    /// PostgreSQL: the applied rows of many schemas of the connection's
    /// database, a few queries per `CHUNK` schemas instead of a connection
    /// each. A schema without the revisions table has nothing applied.
    pub fn read_schemas(
        &self,
        db: &mut dyn Backend,
        schemas: &[String],
    ) -> Result<HashMap<String, Vec<AppliedRow>>, DbError> {
        /// Keeps one statement to a few hundred kilobytes whatever the fleet's size.
        const CHUNK: usize = 500;
        let literal = |text: &str| format!("'{}'", text.replace('\'', "''"));
        let mut found: HashMap<String, Vec<AppliedRow>> =
            schemas.iter().map(|schema| (schema.clone(), Vec::new())).collect();
        for chunk in schemas.chunks(CHUNK) {
            let names = chunk.iter().map(|schema| literal(schema)).collect::<Vec<_>>().join(", ");
            let present = db.query(
                &format!(
                    "SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_class c \
                     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
                     WHERE c.relname OPERATOR(pg_catalog.=) {} AND c.relkind IN ('r', 'p') AND n.nspname IN ({names})",
                    literal(&self.revisions)
                ),
                &[],
            )?;
            let present: Vec<String> = present
                .values
                .into_iter()
                .filter_map(|row| match row.into_iter().next() {
                    Some(Value::Text(schema)) => Some(schema),
                    _ => None,
                })
                .collect();
            if present.is_empty() {
                continue;
            }
            let selects: Vec<String> = present
                .iter()
                .map(|schema| {
                    format!(
                        "SELECT {}::pg_catalog.text AS tenant_schema, revision, checksum, module_hash, kind, state, \
                         {}, execution_ms, tool_version FROM {}.{}",
                        literal(schema),
                        self.timestamp_text("applied_at"),
                        quote_identifier(schema),
                        self.revisions
                    )
                })
                .collect();
            let rows = db.query(&format!("{} ORDER BY 1, 7, 2", selects.join(" UNION ALL ")), &[])?;
            for mut row in rows.values {
                let Value::Text(schema) = row.remove(0) else {
                    return Err(DbError::host("a tenant's schema came back without its name"));
                };
                let applied = self.applied_row(row)?;
                found.entry(schema).or_default().push(applied);
            }
        }
        Ok(found)
    }

    fn applied_row(&self, row: Vec<Value>) -> Result<AppliedRow, DbError> {
        let text = |value: &Value| match value {
            Value::Text(text) => Ok(text.clone()),
            other => Err(DbError::host(format!("unexpected {other:?} in {}", self.revisions))),
        };
        let [revision, checksum, module_hash, kind, state, applied_at, execution_ms, tool_version] =
            <[Value; 8]>::try_from(row)
                .map_err(|_| DbError::host(format!("{} has unexpected columns", self.revisions)))?;
        let state_text = text(&state)?;
        Ok(AppliedRow {
            revision: text(&revision)?,
            checksum: text(&checksum)?,
            module_hash: text(&module_hash)?,
            kind: text(&kind)?,
            state: RowState::parse(&state_text).ok_or_else(|| {
                DbError::host(format!(
                    "unknown state `{state_text}` in {}; was it written by a newer wasmig?",
                    self.revisions
                ))
            })?,
            applied_at: text(&applied_at)?,
            execution_ms: match execution_ms {
                Value::Integer(ms) => ms,
                _ => 0,
            },
            tool_version: text(&tool_version)?,
        })
    }

    /// The state of one revision's row, if it has one: the check a step makes
    /// inside its own transaction when no lock serialises runners.
    pub fn state_of(&self, db: &mut dyn Backend, revision: &str) -> Result<Option<RowState>, DbError> {
        let rows = db.query(
            &format!("SELECT state FROM {} WHERE revision = {}", self.revisions_in(db), self.one()),
            &[Value::Text(revision.to_owned())],
        )?;
        Ok(match rows.values.first().and_then(|row| row.first()) {
            Some(Value::Text(state)) => RowState::parse(state),
            _ => None,
        })
    }

    pub fn insert(&self, db: &mut dyn Backend, row: &NewRow<'_>) -> Result<(), DbError> {
        db.execute(
            &format!(
                "INSERT INTO {} (revision, checksum, module_hash, kind, state, execution_ms, tool_version) VALUES ({})",
                self.revisions_in(db),
                self.placeholders(7)
            ),
            &[
                Value::Text(row.revision.to_owned()),
                Value::Text(row.checksum.to_owned()),
                Value::Text(row.module_hash.to_owned()),
                Value::Text(row.kind.to_owned()),
                Value::Text(row.state.as_str().to_owned()),
                Value::Integer(row.execution_ms),
                Value::Text(TOOL_VERSION.to_owned()),
            ],
        )?;
        Ok(())
    }

    pub fn set_state(
        &self,
        db: &mut dyn Backend,
        revision: &str,
        state: RowState,
        execution_ms: Option<i64>,
    ) -> Result<u64, DbError> {
        let [first, second, third] = match self.dialect {
            Dialect::Sqlite => ["?1", "?2", "?3"],
            Dialect::Postgres => ["$1", "$2", "$3"],
        };
        db.execute(
            &format!(
                "UPDATE {} SET state = {first}, execution_ms = COALESCE({second}, execution_ms) WHERE revision = {third}",
                self.revisions_in(db)
            ),
            &[
                Value::Text(state.as_str().to_owned()),
                execution_ms.map_or(Value::Null, Value::Integer),
                Value::Text(revision.to_owned()),
            ],
        )
    }

    pub fn set_checksum(&self, db: &mut dyn Backend, revision: &str, checksum: &str) -> Result<u64, DbError> {
        let [first, second] = match self.dialect {
            Dialect::Sqlite => ["?1", "?2"],
            Dialect::Postgres => ["$1", "$2"],
        };
        db.execute(
            &format!("UPDATE {} SET checksum = {first} WHERE revision = {second}", self.revisions_in(db)),
            &[Value::Text(checksum.to_owned()), Value::Text(revision.to_owned())],
        )
    }

    pub fn delete(&self, db: &mut dyn Backend, revision: &str) -> Result<u64, DbError> {
        db.execute(
            &format!("DELETE FROM {} WHERE revision = {}", self.revisions_in(db), self.one()),
            &[Value::Text(revision.to_owned())],
        )
    }

    pub fn record(&self, db: &mut dyn Backend, event: &NewEvent<'_>) -> Result<(), DbError> {
        let text = |value: Option<&str>| value.map_or(Value::Null, |text| Value::Text(text.to_owned()));
        db.execute(
            &format!(
                "INSERT INTO {} (event, revision, duration_ms, error, detail, tool_version) VALUES ({})",
                self.events_in(db),
                self.placeholders(6)
            ),
            &[
                Value::Text(event.kind.as_str().to_owned()),
                text(event.revision),
                event.duration_ms.map_or(Value::Null, Value::Integer),
                text(event.error),
                text(event.detail),
                Value::Text(TOOL_VERSION.to_owned()),
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sqlite::SqliteBackend;

    #[test]
    fn rows_and_events_round_trip_on_sqlite() {
        let mut db = SqliteBackend::open_in_memory().unwrap();
        let tables = VersionTables::new("wasmig_", Dialect::Sqlite);
        assert!(!tables.exists(&mut db).unwrap());
        tables.create(&mut db).unwrap();
        tables.create(&mut db).unwrap();
        assert!(tables.exists(&mut db).unwrap());
        let row = NewRow {
            revision: "a1",
            checksum: "sha256:00",
            module_hash: "ff",
            kind: "sql",
            state: RowState::DirtyUp,
            execution_ms: 0,
        };
        tables.insert(&mut db, &row).unwrap();
        assert_eq!(tables.state_of(&mut db, "a1").unwrap(), Some(RowState::DirtyUp));
        tables.set_state(&mut db, "a1", RowState::Applied, Some(12)).unwrap();
        let read = tables.read(&mut db).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!((read[0].state, read[0].execution_ms), (RowState::Applied, 12));
        assert!(read[0].applied_at.ends_with('Z'), "{}", read[0].applied_at);
        tables.set_checksum(&mut db, "a1", "sha256:11").unwrap();
        assert_eq!(tables.read(&mut db).unwrap()[0].checksum, "sha256:11");
        tables
            .record(
                &mut db,
                &NewEvent {
                    kind: EventKind::Upgrade,
                    revision: Some("a1"),
                    duration_ms: Some(3),
                    error: None,
                    detail: None,
                },
            )
            .unwrap();
        assert_eq!(tables.delete(&mut db, "a1").unwrap(), 1);
        assert_eq!(tables.state_of(&mut db, "a1").unwrap(), None);
    }
}
