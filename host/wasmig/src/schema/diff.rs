//! The difference between two snapshots, object by object: what is only in one of them, and what is defined otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::model::Snapshot;

/// One object that differs: absent on one side (`None`), or defined otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `table`, `column`, `constraint`, `index`, `view`, `trigger`, `sequence`, `function`.
    pub object: &'static str,
    /// `users`, `users.email` (a column or constraint is named with its table).
    pub name: String,
    /// Its definition in the first snapshot, `None` when absent there.
    pub before: Option<String>,
    /// Its definition in the second snapshot, `None` when absent there.
    pub after: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Difference { object, name, before, after } = self;
        match (before, after) {
            (None, Some(after)) => write!(f, "{object} `{name}` ({after}) was not there before"),
            (Some(before), None) => write!(f, "{object} `{name}` ({before}) is gone"),
            (Some(before), Some(after)) => write!(f, "{object} `{name}` was `{before}` and is now `{after}`"),
            (None, None) => write!(f, "{object} `{name}`"),
        }
    }
}

/// One object of a snapshot, flattened for comparison.
struct Entry {
    /// The table it belongs to, when it goes with one.
    table: Option<String>,
    definition: String,
}

type Objects = BTreeMap<(&'static str, String), Entry>;

/// What differs from `before` to `after`, in a stable order (by kind, then
/// name). A table present on one side only is one difference: its columns,
/// constraints, indexes and triggers are not listed again under it.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Difference> {
    let (before, after) = (objects(before), objects(after));
    let keys: BTreeSet<&(&'static str, String)> = before.keys().chain(after.keys()).collect();
    let mut differences: Vec<(Option<String>, Difference)> = Vec::new();
    for key in keys {
        let (old, new) = (before.get(key), after.get(key));
        if old.map(|entry| &entry.definition) == new.map(|entry| &entry.definition) {
            continue;
        }
        let table = old.or(new).and_then(|entry| entry.table.clone());
        differences.push((
            table,
            Difference {
                object: key.0,
                name: key.1.clone(),
                before: old.map(|entry| entry.definition.clone()),
                after: new.map(|entry| entry.definition.clone()),
            },
        ));
    }
    let whole_tables: BTreeSet<String> = differences
        .iter()
        .filter(|(_, difference)| {
            difference.object == "table" && (difference.before.is_none() || difference.after.is_none())
        })
        .map(|(_, difference)| difference.name.clone())
        .collect();
    differences
        .into_iter()
        .filter(|(table, _)| !table.as_ref().is_some_and(|table| whole_tables.contains(table)))
        .map(|(_, difference)| difference)
        .collect()
}

fn objects(snapshot: &Snapshot) -> Objects {
    let mut objects = Objects::new();
    let mut add = |kind: &'static str, name: String, table: Option<&str>, definition: String| {
        objects.insert((kind, name), Entry { table: table.map(str::to_owned), definition });
    };
    for (name, table) in &snapshot.tables {
        add("table", name.clone(), None, table.kind.clone());
        for (column, definition) in &table.columns {
            let mut text = definition.data_type.clone();
            if !definition.nullable {
                text.push_str(" NOT NULL");
            }
            if let Some(default) = &definition.default {
                text.push_str(&format!(" DEFAULT {default}"));
            }
            if let Some(generated) = &definition.generated {
                text.push_str(&format!(" GENERATED {generated}"));
            }
            add("column", format!("{name}.{column}"), Some(name), text);
        }
        for (constraint, definition) in &table.constraints {
            let text = format!("{}: {}", definition.kind, definition.definition);
            add("constraint", format!("{name}.{constraint}"), Some(name), text);
        }
    }
    for (name, index) in &snapshot.indexes {
        let unique = if index.unique { "unique " } else { "" };
        add("index", name.clone(), Some(&index.table), format!("{unique}on {} {}", index.table, index.definition));
    }
    for (name, view) in &snapshot.views {
        let kind = if view.materialized { "materialized view" } else { "view" };
        add(kind, name.clone(), None, view.definition.clone());
    }
    for (name, trigger) in &snapshot.triggers {
        add("trigger", name.clone(), Some(&trigger.table), trigger.definition.clone());
    }
    for (name, sequence) in &snapshot.sequences {
        let table = sequence.owned_by.as_deref().and_then(|owner| owner.split('.').next());
        add("sequence", name.clone(), table, sequence.definition.clone());
    }
    for (signature, definition) in &snapshot.functions {
        add("function", signature.clone(), None, definition.clone());
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::super::model::{Column, Index, Table};
    use super::*;

    fn users(columns: &[&str]) -> Table {
        let mut table = Table { kind: "table".to_owned(), ..Table::default() };
        for column in columns {
            let column_type = Column { data_type: "TEXT".to_owned(), nullable: true, default: None, generated: None };
            table.columns.insert((*column).to_owned(), column_type);
        }
        table
    }

    #[test]
    fn a_column_left_behind_is_one_difference_naming_it() {
        let mut before = Snapshot::default();
        before.tables.insert("users".to_owned(), users(&["id"]));
        let mut after = before.clone();
        after.tables.insert("users".to_owned(), users(&["id", "email"]));
        let differences = diff(&before, &after);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert_eq!((differences[0].object, differences[0].name.as_str()), ("column", "users.email"));
        assert_eq!((differences[0].before.as_deref(), differences[0].after.as_deref()), (None, Some("TEXT")));
        assert!(diff(&before, &before).is_empty());
    }

    #[test]
    fn a_table_left_behind_hides_its_parts_but_a_changed_one_shows_them() {
        let before = Snapshot::default();
        let mut after = Snapshot::default();
        after.tables.insert("users".to_owned(), users(&["id", "email"]));
        let index = Index { table: "users".to_owned(), unique: true, definition: "(email)".to_owned() };
        after.indexes.insert("users_email".to_owned(), index);
        let differences = diff(&before, &after);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert_eq!(differences[0].to_string(), "table `users` (table) was not there before");

        let mut changed = after.clone();
        changed.indexes.get_mut("users_email").unwrap().unique = false;
        let differences = diff(&after, &changed);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert_eq!(differences[0].object, "index");
        assert_eq!(differences[0].before.as_deref(), Some("unique on users (email)"));
    }
}
