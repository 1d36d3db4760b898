//! The PostgreSQL snapshot of the connection's schema (`current_schema()`, which `?schema=` sets), from `pg_catalog`, with the server's own deparsers (`pg_get_indexdef`, `pg_get_constraintdef`, `pg_get_viewdef`, `pg_get_triggerdef`, `pg_get_functiondef`).
//!
//! Every selected value is cast to text in SQL, so that the snapshot does
//! not depend on how the backend decodes `name`, `"char"` or `bool`.

use super::model::{Column, Constraint, Index, Sequence, Snapshot, Table, Trigger, View, normalized};
use crate::backend::Backend;
use crate::sql::DbError;

/// The objects of the connection's schema, joined the same way by every query.
const IN_SCHEMA: &str = "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()";

pub(super) fn read(db: &mut dyn Backend) -> Result<Snapshot, DbError> {
    let mut snapshot = Snapshot::default();
    let mut query = |sql: String| -> Result<Vec<Vec<String>>, DbError> {
        Ok(db
            .query(&sql, &[])?
            .texts()
            .into_iter()
            .map(|row| row.into_iter().map(Option::unwrap_or_default).collect())
            .collect())
    };
    for row in query(format!(
        "SELECT c.relname::text, c.relkind::text, \
                CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END \
         FROM pg_catalog.pg_class c {IN_SCHEMA} WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')"
    ))? {
        let [name, kind, view] = <[String; 3]>::try_from(row).unwrap_or_default();
        let table_kind = match kind.as_str() {
            "r" => "table",
            "p" => "partitioned table",
            "f" => "foreign table",
            materialized => {
                let view = View { materialized: materialized == "m", definition: normalized(&view) };
                snapshot.views.insert(name, view);
                continue;
            }
        };
        snapshot.tables.insert(name, Table { kind: table_kind.to_owned(), ..Table::default() });
    }
    for row in query(format!(
        "SELECT c.relname::text, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                CASE WHEN a.attnotnull THEN 'no' ELSE 'yes' END, \
                COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text, \
                COALESCE((SELECT ' COLLATE ' || co.collname::text FROM pg_catalog.pg_collation co \
                          WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation), '') \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid {IN_SCHEMA} \
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped"
    ))? {
        let [table, name, data_type, nullable, default, identity, generated, collation] =
            <[String; 8]>::try_from(row).unwrap_or_default();
        let generated = match (identity.as_str(), generated.as_str()) {
            ("a", _) => Some("identity always".to_owned()),
            ("d", _) => Some("identity by default".to_owned()),
            (_, "s") => Some("stored".to_owned()),
            (_, "v") => Some("virtual".to_owned()),
            _ => None,
        };
        let column = Column {
            data_type: format!("{data_type}{collation}"),
            nullable: nullable == "yes",
            default: (!default.is_empty()).then_some(default),
            generated,
        };
        if let Some(table) = snapshot.tables.get_mut(&table) {
            table.columns.insert(name, column);
        }
    }
    for row in query(format!(
        "SELECT c.relname::text, k.conname::text, k.contype::text, pg_catalog.pg_get_constraintdef(k.oid, true) \
         FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid {IN_SCHEMA}"
    ))? {
        let [table, name, kind, definition] = <[String; 4]>::try_from(row).unwrap_or_default();
        let kind = match kind.as_str() {
            "p" => "primary key",
            "u" => "unique",
            "f" => "foreign key",
            "c" => "check",
            "x" => "exclusion",
            "n" => "not null",
            "t" => "trigger",
            _ => "constraint",
        };
        if let Some(table) = snapshot.tables.get_mut(&table) {
            table.constraints.insert(name, Constraint { kind: kind.to_owned(), definition });
        }
    }
    for row in query(format!(
        "SELECT c.relname::text, t.relname::text, CASE WHEN x.indisunique THEN 'yes' ELSE 'no' END, \
                pg_catalog.pg_get_indexdef(c.oid) \
         FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid {IN_SCHEMA} \
         JOIN pg_catalog.pg_class t ON t.oid = x.indrelid"
    ))? {
        let [name, table, unique, definition] = <[String; 4]>::try_from(row).unwrap_or_default();
        snapshot.indexes.insert(name, Index { table, unique: unique == "yes", definition });
    }
    for row in query(format!(
        "SELECT c.relname::text, g.tgname::text, pg_catalog.pg_get_triggerdef(g.oid, true) \
         FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid {IN_SCHEMA} \
         WHERE NOT g.tgisinternal"
    ))? {
        let [table, name, definition] = <[String; 3]>::try_from(row).unwrap_or_default();
        snapshot.triggers.insert(format!("{table}.{name}"), Trigger { table, definition });
    }
    for row in query(format!(
        "SELECT c.relname::text, \
                COALESCE((SELECT o.relname::text || '.' || COALESCE(oa.attname::text, '') \
                          FROM pg_catalog.pg_depend dep \
                          JOIN pg_catalog.pg_class o ON o.oid = dep.refobjid \
                          LEFT JOIN pg_catalog.pg_attribute oa ON oa.attrelid = o.oid AND oa.attnum = dep.refobjsubid \
                          WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = c.oid \
                            AND dep.refclassid = 'pg_catalog.pg_class'::regclass AND dep.deptype IN ('a', 'i') \
                          LIMIT 1), ''), \
                pg_catalog.format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment ' || s.seqincrement \
                || ' min ' || s.seqmin || ' max ' || s.seqmax || ' cache ' || s.seqcache \
                || CASE WHEN s.seqcycle THEN ' cycle' ELSE ' no cycle' END \
         FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid {IN_SCHEMA}"
    ))? {
        let [name, owned_by, definition] = <[String; 3]>::try_from(row).unwrap_or_default();
        let owned_by = (!owned_by.is_empty()).then_some(owned_by);
        snapshot.sequences.insert(name, Sequence { owned_by, definition });
    }
    // Functions and procedures (trigger functions among them), not those
    // an extension brings.
    for row in query(
        "SELECT p.proname::text || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', \
                CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_catalog.pg_get_functiondef(p.oid) END \
         FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace AND n.nspname = current_schema() \
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = 'pg_catalog.pg_proc'::regclass \
                           AND dep.objid = p.oid AND dep.deptype = 'e')"
            .to_owned(),
    )? {
        let [signature, definition] = <[String; 2]>::try_from(row).unwrap_or_default();
        snapshot.functions.insert(signature, normalized(&definition));
    }
    Ok(snapshot)
}
