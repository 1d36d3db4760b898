//! Reading the events table back: typed events, newest first, filtered by revision and kind, and the last run's failure.
//!
//! Read-only like `status`: no lock, no table creation; a database without
//! the version tables has no events. `Migrator::events` and
//! `Migrator::last_failure` are the public way in (through the bookkeeper).

use serde::Serialize;

use crate::backend::Backend;
use crate::sql::{DbError, Value};
use crate::versions::{EventKind, VersionTables};

/// One row of the events table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Grows with each event: the order they were written in.
    pub id: i64,
    pub kind: EventKind,
    /// `None` for a failure of a `--transaction all` run as a whole.
    pub revision: Option<String>,
    /// When it was written, ISO-8601 UTC.
    pub at: String,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub detail: Option<String>,
    pub tool_version: String,
}

/// Which events `Migrator::events` returns. The default: every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events of these revisions (exact ids); empty for all.
    pub revisions: Vec<String>,
    /// Only events of these kinds; empty for all.
    pub kinds: Vec<EventKind>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
}

/// The kinds that end a run or stand for one: the newest of them says how the last run went.
/// A `stamp` counts: it records by hand what a run would have.
const RUN_OUTCOMES: [EventKind; 5] =
    [EventKind::Upgrade, EventKind::Downgrade, EventKind::Adopt, EventKind::Stamp, EventKind::Fail];

/// The failure of the last run, when the newest run outcome (upgrade,
/// downgrade, adopt, stamp or fail event) is a `fail`.
pub(crate) fn last_failure(tables: &VersionTables, db: &mut dyn Backend) -> Result<Option<Event>, DbError> {
    let filter = EventFilter { revisions: Vec::new(), kinds: RUN_OUTCOMES.to_vec(), limit: Some(1) };
    Ok(read(tables, db, &filter)?.into_iter().next().filter(|event| event.kind == EventKind::Fail))
}

/// The events `filter` selects, newest first; none without the version tables.
pub(crate) fn read(tables: &VersionTables, db: &mut dyn Backend, filter: &EventFilter) -> Result<Vec<Event>, DbError> {
    if !tables.exists(db)? {
        return Ok(Vec::new());
    }
    let (sql, params) = select(tables, db, filter);
    let rows = db.query(&sql, &params)?;
    let table = tables.events_table_in(db);
    rows.values.into_iter().map(|row| event(row, &table)).collect()
}

fn select(tables: &VersionTables, db: &dyn Backend, filter: &EventFilter) -> (String, Vec<Value>) {
    let mut params = Vec::new();
    let mut conditions = Vec::new();
    let mut any_of = |column: &str, values: Vec<String>| {
        if values.is_empty() {
            return;
        }
        let first = params.len() + 1;
        conditions.push(format!("{column} IN ({})", tables.placeholders_from(first, values.len())));
        params.extend(values.into_iter().map(Value::Text));
    };
    any_of("revision", filter.revisions.clone());
    any_of("event", filter.kinds.iter().map(|kind| kind.as_str().to_owned()).collect());
    let mut sql = format!(
        "SELECT id, event, revision, {}, duration_ms, error, detail, tool_version FROM {}",
        tables.timestamp_text("at"),
        tables.events_table_in(db)
    );
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    sql.push_str(" ORDER BY id DESC");
    if let Some(limit) = filter.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    (sql, params)
}

fn event(row: Vec<Value>, table: &str) -> Result<Event, DbError> {
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
    let [id, kind, revision, at, duration_ms, error, detail, tool_version] =
        <[Value; 8]>::try_from(row).map_err(|_| DbError::host(format!("{table} has unexpected columns")))?;
    let kind = text(kind)?.unwrap_or_default();
    Ok(Event {
        id: integer(id)?.ok_or_else(|| DbError::host(format!("an event of {table} has no id")))?,
        kind: EventKind::parse(&kind).ok_or_else(|| {
            DbError::host(format!("unknown event `{kind}` in {table}; was it written by a newer wasmig?"))
        })?,
        revision: text(revision)?,
        at: text(at)?.unwrap_or_default(),
        duration_ms: integer(duration_ms)?,
        error: text(error)?,
        detail: text(detail)?,
        tool_version: text(tool_version)?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sqlite::SqliteBackend;
    use crate::sql::Dialect;
    use crate::versions::NewEvent;

    fn record(tables: &VersionTables, db: &mut dyn Backend, kind: EventKind, revision: &str) {
        let event = NewEvent { kind, revision: Some(revision), duration_ms: Some(1), error: None, detail: None };
        tables.record(db, &event).unwrap();
    }

    #[test]
    fn events_come_newest_first_filtered_and_the_last_failure_is_the_newest_outcome() {
        let mut db = SqliteBackend::open_in_memory().unwrap();
        let tables = VersionTables::new("wasmig_", Dialect::Sqlite);
        assert_eq!(read(&tables, &mut db, &EventFilter::default()).unwrap(), Vec::new(), "no tables, no events");
        assert_eq!(last_failure(&tables, &mut db).unwrap(), None);
        tables.create(&mut db).unwrap();
        record(&tables, &mut db, EventKind::Upgrade, "a1");
        record(&tables, &mut db, EventKind::Fail, "b2");
        record(&tables, &mut db, EventKind::Repair, "a1");
        let all = read(&tables, &mut db, &EventFilter::default()).unwrap();
        let kinds: Vec<EventKind> = all.iter().map(|event| event.kind).collect();
        assert_eq!(kinds, [EventKind::Repair, EventKind::Fail, EventKind::Upgrade]);
        assert!(all[0].at.ends_with('Z') && all[0].id > all[1].id, "{all:?}");
        let of_a1 = EventFilter { revisions: vec!["a1".into()], kinds: vec![EventKind::Upgrade], limit: None };
        assert_eq!(read(&tables, &mut db, &of_a1).unwrap().len(), 1);
        let newest = EventFilter { limit: Some(2), ..EventFilter::default() };
        assert_eq!(read(&tables, &mut db, &newest).unwrap().len(), 2);
        // A repair is no run: the failure is still the last run's outcome.
        let failure = last_failure(&tables, &mut db).unwrap();
        assert_eq!(failure.and_then(|event| event.revision).as_deref(), Some("b2"));
        record(&tables, &mut db, EventKind::Upgrade, "b2");
        assert_eq!(last_failure(&tables, &mut db).unwrap(), None);
    }
}
