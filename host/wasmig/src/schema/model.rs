//! The snapshot's shape, which both engines' readers fill in, and the small text helpers they share.

use std::collections::BTreeMap;

use serde::Serialize;

/// The objects of one schema (PostgreSQL: the connection's schema; SQLite:
/// `main`), each keyed by its name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub tables: BTreeMap<String, Table>,
    pub indexes: BTreeMap<String, Index>,
    pub views: BTreeMap<String, View>,
    /// Keyed `table.trigger` (PostgreSQL names triggers per table).
    pub triggers: BTreeMap<String, Trigger>,
    pub sequences: BTreeMap<String, Sequence>,
    /// PostgreSQL: keyed `name(argument types)`; none on SQLite.
    pub functions: BTreeMap<String, String>,
}

/// A table: its columns by name, its constraints by name (SQLite, whose
/// constraints are mostly unnamed: by what they are, `PRIMARY KEY`,
/// `UNIQUE (a, b)`, `FOREIGN KEY (a)`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// `table`, `partitioned table`, `foreign table`, `virtual table`, `without rowid table`.
    pub kind: String,
    pub columns: BTreeMap<String, Column>,
    pub constraints: BTreeMap<String, Constraint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// As the engine names it: `integer`, `character varying(20)`, `TEXT`.
    pub data_type: String,
    pub nullable: bool,
    /// The default expression as the engine prints it back.
    pub default: Option<String>,
    /// `stored`/`virtual` generated column, `identity always`/`identity by default`.
    pub generated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    /// `primary key`, `unique`, `foreign key`, `check`, `exclusion`, `not null`, `trigger`.
    pub kind: String,
    /// The engine's own definition (`FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE`).
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Index {
    pub table: String,
    pub unique: bool,
    /// PostgreSQL: `pg_get_indexdef`; SQLite: the key columns (with order
    /// and collation) and the partial index's `WHERE`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    pub materialized: bool,
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub table: String,
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sequence {
    /// The `table.column` that owns it (a `serial` or identity column).
    pub owned_by: Option<String>,
    /// `bigint start 1 increment 1 min 1 max 9223372036854775807 no cycle`.
    pub definition: String,
}

impl Snapshot {
    pub(super) fn exclude(&mut self, tables: &[String]) {
        let excluded = |table: &str| tables.iter().any(|name| name == table);
        self.tables.retain(|name, _| !excluded(name));
        self.indexes.retain(|_, index| !excluded(&index.table));
        self.triggers.retain(|_, trigger| !excluded(&trigger.table));
        self.sequences.retain(|_, sequence| {
            !sequence.owned_by.as_deref().is_some_and(|owner| excluded(owner.split('.').next().unwrap_or(owner)))
        });
    }
}

/// SQL text with its runs of whitespace made one space, so that a view or
/// trigger written again with other line breaks compares equal.
pub(super) fn normalized(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
