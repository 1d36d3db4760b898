//! The SQLite snapshot: `sqlite_schema` for the objects, `pragma_table_xinfo`, `pragma_index_list`, `pragma_index_xinfo` and `pragma_foreign_key_list` for their parts.
//!
//! SQLite keeps no catalog of CHECK constraints (only the table's CREATE
//! text, which `ALTER TABLE` edits in place); they are not compared.

use super::model::{Column, Constraint, Index, Snapshot, Table, Trigger, View, normalized};
use crate::backend::Backend;
use crate::sql::{DbError, Value};

pub(super) fn read(db: &mut dyn Backend) -> Result<Snapshot, DbError> {
    let objects = db
        .query(
            "SELECT type, name, tbl_name, sql FROM main.sqlite_schema \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            &[],
        )?
        .texts();
    let mut snapshot = Snapshot::default();
    for object in objects {
        let [Some(kind), Some(name), Some(table), sql] = <[Option<String>; 4]>::try_from(object).unwrap_or_default()
        else {
            continue;
        };
        let sql = sql.unwrap_or_default();
        match kind.as_str() {
            "table" => {
                let table = read_table(db, &name, &sql)?;
                snapshot.tables.insert(name, table);
            }
            // Indexes without SQL are the ones a PRIMARY KEY or UNIQUE
            // constraint made: the table's constraints already say them.
            "index" if !sql.is_empty() => {
                let index = read_index(db, &name, &table, &sql)?;
                snapshot.indexes.insert(name, index);
            }
            "view" => {
                snapshot.views.insert(name, View { materialized: false, definition: normalized(&sql) });
            }
            "trigger" => {
                let definition = normalized(&sql);
                snapshot.triggers.insert(format!("{table}.{name}"), Trigger { table, definition });
            }
            _ => {}
        }
    }
    // SQLite has no sequences: AUTOINCREMENT's counters live in
    // `sqlite_sequence`, which is data, not schema.
    Ok(snapshot)
}

fn read_table(db: &mut dyn Backend, name: &str, sql: &str) -> Result<Table, DbError> {
    let arg = [Value::Text(name.to_owned())];
    let upper = sql.to_ascii_uppercase();
    let kind = if upper.starts_with("CREATE VIRTUAL TABLE") {
        "virtual table"
    } else if normalized(&upper).ends_with("WITHOUT ROWID") || upper.contains("WITHOUT ROWID,") {
        "without rowid table"
    } else {
        "table"
    };
    let mut table = Table { kind: kind.to_owned(), ..Table::default() };
    let mut primary_key: Vec<(i64, String)> = Vec::new();
    let columns = db
        .query("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid", &arg)?
        .texts();
    for column in columns {
        let text = |index: usize| column.get(index).cloned().flatten();
        let Some(column_name) = text(0) else { continue };
        let number = |index: usize| text(index).and_then(|value| value.parse::<i64>().ok()).unwrap_or(0);
        if number(4) > 0 {
            primary_key.push((number(4), column_name.clone()));
        }
        let generated = match number(5) {
            2 => Some("virtual".to_owned()),
            3 => Some("stored".to_owned()),
            _ => None,
        };
        if number(5) == 1 {
            // A virtual table's hidden column is the module's, not the schema author's.
            continue;
        }
        table.columns.insert(
            column_name,
            Column { data_type: text(1).unwrap_or_default(), nullable: number(2) == 0, default: text(3), generated },
        );
    }
    if !primary_key.is_empty() {
        primary_key.sort();
        let columns: Vec<&str> = primary_key.iter().map(|(_, name)| name.as_str()).collect();
        let definition = format!("PRIMARY KEY ({})", columns.join(", "));
        table.constraints.insert("PRIMARY KEY".to_owned(), Constraint { kind: "primary key".to_owned(), definition });
    }
    let uniques = db.query("SELECT name FROM pragma_index_list(?1) WHERE origin = 'u'", &arg)?.texts();
    for unique in uniques.into_iter().filter_map(|row| row.into_iter().next().flatten()) {
        let columns = index_columns(db, &unique)?;
        let definition = format!("UNIQUE ({columns})");
        table.constraints.insert(definition.clone(), Constraint { kind: "unique".to_owned(), definition });
    }
    let keys = db
        .query(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" \
         FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
            &arg,
        )?
        .texts();
    let mut foreign: Vec<ForeignKey> = Vec::new();
    for key in keys {
        let text = |index: usize| key.get(index).cloned().flatten().unwrap_or_default();
        let actions = format!("ON UPDATE {} ON DELETE {} MATCH {}", text(4), text(5), text(6));
        match foreign.last_mut() {
            Some(last) if last.id == text(0) => {
                last.from.push(text(2));
                last.to.push(text(3));
            }
            _ => foreign.push(ForeignKey {
                id: text(0),
                parent: text(1),
                from: vec![text(2)],
                to: vec![text(3)],
                actions,
            }),
        }
    }
    for ForeignKey { parent, from, to, actions, .. } in foreign {
        let key = format!("FOREIGN KEY ({})", from.join(", "));
        let definition = format!("{key} REFERENCES {parent}({}) {actions}", to.join(", "));
        table.constraints.insert(key, Constraint { kind: "foreign key".to_owned(), definition });
    }
    Ok(table)
}

/// One foreign key of `pragma_foreign_key_list`, whose rows are its column pairs.
struct ForeignKey {
    id: String,
    parent: String,
    from: Vec<String>,
    to: Vec<String>,
    actions: String,
}

fn read_index(db: &mut dyn Backend, name: &str, table: &str, sql: &str) -> Result<Index, DbError> {
    let unique = db
        .query(
            "SELECT \"unique\" FROM pragma_index_list(?1) WHERE name = ?2",
            &[Value::Text(table.to_owned()), Value::Text(name.to_owned())],
        )?
        .texts()
        .into_iter()
        .next()
        .and_then(|row| row.into_iter().next().flatten())
        .is_some_and(|flag| flag == "1");
    let mut definition = format!("({})", index_columns(db, name)?);
    // The partial index's condition exists only in its CREATE text.
    let upper = sql.to_ascii_uppercase();
    if let Some(at) = upper.rfind(" WHERE ").or_else(|| upper.rfind("\nWHERE ")) {
        definition.push_str(" WHERE ");
        definition.push_str(&normalized(&sql[at + " WHERE ".len()..]));
    }
    Ok(Index { table: table.to_owned(), unique, definition })
}

/// The key columns of an index, in order: `a, b DESC, c COLLATE NOCASE`, `<expression>`.
fn index_columns(db: &mut dyn Backend, index: &str) -> Result<String, DbError> {
    let columns = db
        .query(
            "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
            &[Value::Text(index.to_owned())],
        )?
        .texts();
    Ok(columns
        .into_iter()
        .map(|column| {
            let text = |index: usize| column.get(index).cloned().flatten();
            let mut shown = text(0).unwrap_or_else(|| "<expression>".to_owned());
            if text(1).as_deref() == Some("1") {
                shown.push_str(" DESC");
            }
            if let Some(collation) = text(2).filter(|collation| collation != "BINARY") {
                shown.push_str(&format!(" COLLATE {collation}"));
            }
            shown
        })
        .collect::<Vec<_>>()
        .join(", "))
}
