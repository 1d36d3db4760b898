//! Observing on PostgreSQL what a revision's statements did: the relation locks its session holds (`pg_locks` for its own pid) and the file of a table before and after a statement (`relfilenode`: a new one means the table was rewritten).
//!
//! The host owns the connection, so it asks between the guest's
//! statements, in the same transaction; `step` decides when (docs/LINT.md,
//! "How the observation works", with what it costs).

use std::collections::HashMap;

use serde::Serialize;

use crate::backend::Backend;
use crate::sql::{DbError, Value};

/// PostgreSQL's table lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[non_exhaustive]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// As `LOCK TABLE` and the documentation name it: `ACCESS EXCLUSIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// `pg_locks.mode` (`AccessExclusiveLock`) or [`LockMode::as_str`].
    pub fn parse(text: &str) -> Option<LockMode> {
        LockMode::ALL
            .into_iter()
            .find(|mode| text == mode.as_str() || text.strip_suffix("Lock").is_some_and(|name| name == mode.pg_name()))
    }

    fn pg_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShare",
            LockMode::RowShare => "RowShare",
            LockMode::RowExclusive => "RowExclusive",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusive",
            LockMode::Share => "Share",
            LockMode::ShareRowExclusive => "ShareRowExclusive",
            LockMode::Exclusive => "Exclusive",
            LockMode::AccessExclusive => "AccessExclusive",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The strongest lock a statement took, and on which relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockTaken {
    pub mode: LockMode,
    /// `schema.table`.
    pub relation: String,
}

/// One relation the session holds locks on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    /// The table's own name, as stored.
    pub(crate) name: String,
    /// `schema.table`, for messages.
    pub(crate) qualified: String,
    /// The modes held, one bit each.
    modes: u8,
    /// Its `relfilenode`.
    pub(crate) file: i64,
}

/// The relation locks this session holds, by relation oid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockSnapshot {
    relations: HashMap<i64, Held>,
}

impl LockSnapshot {
    pub(crate) fn relations(&self) -> impl Iterator<Item = &Held> {
        self.relations.values()
    }

    /// The modes of `self` that `before` did not hold, per relation.
    pub(crate) fn taken_since<'a>(&'a self, before: &'a LockSnapshot) -> impl Iterator<Item = (&'a Held, LockMode)> {
        self.relations.iter().flat_map(move |(oid, held)| {
            let had = before.relations.get(oid).map_or(0, |old| old.modes);
            LockMode::ALL
                .into_iter()
                .filter(move |mode| held.modes & mode.bit() != 0 && had & mode.bit() == 0)
                .map(move |mode| (held, mode))
        })
    }
}

/// The relation locks the session holds now: tables, views and
/// materialized views outside the system schemas, leaving out `protected`
/// (the version tables, which the host's own bookkeeping writes).
pub(crate) fn locks(db: &mut dyn Backend, protected: &[String]) -> Result<LockSnapshot, DbError> {
    let rows = db.query(
        "SELECT c.oid::int8, c.relname::text, n.nspname::text, l.mode, c.relfilenode::int8 \
         FROM pg_catalog.pg_locks l \
         JOIN pg_catalog.pg_class c ON c.oid = l.relation \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted \
         AND c.relkind IN ('r', 'p', 'm', 'v', 'f') \
         AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'",
        &[],
    )?;
    let mut snapshot = LockSnapshot::default();
    for row in rows.values {
        let [Value::Integer(oid), Value::Text(name), Value::Text(schema), Value::Text(mode), Value::Integer(file)] =
            <[Value; 5]>::try_from(row).map_err(|_| DbError::host("pg_locks: unexpected columns"))?
        else {
            continue;
        };
        let Some(mode) = LockMode::parse(&mode) else { continue };
        if protected.contains(&name) {
            continue;
        }
        let qualified = format!("{schema}.{name}");
        let held = snapshot.relations.entry(oid).or_insert(Held { name, qualified, modes: 0, file });
        held.modes |= mode.bit();
    }
    Ok(snapshot)
}

/// A table as the catalog has it before a statement alters it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableState {
    pub(crate) file: i64,
    /// Columns a validated `CHECK (column IS NOT NULL)` proves.
    pub(crate) proven_not_null: Vec<String>,
}

/// The table `written` names (resolved as the revision's statement would
/// resolve it), or `None` when there is no such table.
pub(crate) fn table_state(db: &mut dyn Backend, written: &str) -> Result<Option<TableState>, DbError> {
    let rows = db.query(
        "SELECT c.relfilenode::int8, pg_catalog.array_to_string(ARRAY(\
             SELECT pg_catalog.pg_get_constraintdef(k.oid) FROM pg_catalog.pg_constraint k \
             WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.convalidated), E'\\n') \
         FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
        &[Value::Text(written.to_owned())],
    )?;
    let Some(row) = rows.values.into_iter().next() else { return Ok(None) };
    let mut values = row.into_iter();
    let file = match values.next() {
        Some(Value::Integer(file)) => file,
        _ => return Ok(None),
    };
    let checks = match values.next() {
        Some(Value::Text(checks)) => checks,
        _ => String::new(),
    };
    Ok(Some(TableState { file, proven_not_null: checks.lines().filter_map(not_null_column).collect() }))
}

/// The column of `CHECK ((column IS NOT NULL))` as `pg_get_constraintdef` prints it.
fn not_null_column(definition: &str) -> Option<String> {
    let inner = definition.strip_prefix("CHECK")?.trim();
    let inner = inner.trim_start_matches('(').trim_end_matches(')');
    let column = inner.strip_suffix(" IS NOT NULL")?.trim().trim_start_matches('(').trim_end_matches(')');
    match column.strip_prefix('"').and_then(|quoted| quoted.strip_suffix('"')) {
        Some(quoted) => Some(quoted.replace("\"\"", "\"")),
        None if column.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$') => Some(column.to_owned()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_both_spellings_and_checks_name_their_column() {
        assert_eq!(LockMode::parse("AccessExclusiveLock"), Some(LockMode::AccessExclusive));
        assert_eq!(LockMode::parse("SHARE ROW EXCLUSIVE"), Some(LockMode::ShareRowExclusive));
        assert_eq!(LockMode::parse("Share"), None);
        assert!(LockMode::AccessExclusive > LockMode::Exclusive);
        assert_eq!(not_null_column("CHECK ((email IS NOT NULL))").as_deref(), Some("email"));
        assert_eq!(not_null_column("CHECK ((\"Email\" IS NOT NULL))").as_deref(), Some("Email"));
        assert_eq!(not_null_column("CHECK ((a > 0))"), None);
        assert_eq!(not_null_column("CHECK (((a + b) IS NOT NULL))"), None);
    }

    #[test]
    fn taken_since_lists_only_new_modes() {
        let held = |modes: &[LockMode]| Held {
            name: "t".into(),
            qualified: "public.t".into(),
            modes: modes.iter().fold(0, |bits, mode| bits | mode.bit()),
            file: 1,
        };
        let before = LockSnapshot { relations: HashMap::from([(1, held(&[LockMode::RowExclusive]))]) };
        let after = LockSnapshot {
            relations: HashMap::from([(1, held(&[LockMode::RowExclusive, LockMode::AccessExclusive]))]),
        };
        let taken: Vec<LockMode> = after.taken_since(&before).map(|(_, mode)| mode).collect();
        assert_eq!(taken, [LockMode::AccessExclusive]);
        assert_eq!(after.relations().count(), 1);
    }
}
