//! Where a fleet's tenants stand, read in a few queries per PostgreSQL database instead of a connection per tenant: what makes `tenants status` and a no-op `tenants upgrade` fast.
//!
//! Tenants that are schemas of one database (a `?schemas=` source, or URLs
//! that differ only in `schema=`) are read together on one connection,
//! without any lock: `tenants status` answers from it, and `tenants upgrade`
//! skips a tenant that is already at the target. A tenant the read says is
//! behind goes through the usual path (its own connection and lock, and the
//! re-check inside it), so exactly-once does not rest on this read. Anything
//! the read cannot answer (SQLite files, per-tenant logins, a database that
//! refuses the query) is left to that path too.

use std::collections::{BTreeMap, HashMap};

use crate::backend::DatabaseUrl;
use crate::migrator::Migrator;
use crate::sql::Dialect;
use crate::versions::{AppliedRow, VersionTables};

use super::source::Tenant;

/// The applied rows of the tenants the read could answer for, by tenant name.
#[derive(Debug, Default)]
pub(super) struct Standing(HashMap<String, Vec<AppliedRow>>);

impl Standing {
    pub(super) fn of(&self, tenant: &str) -> Option<&[AppliedRow]> {
        self.0.get(tenant).map(Vec::as_slice)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Reads every PostgreSQL schema tenant of `tenants`, one connection per database.
pub(super) fn read(migrator: &Migrator, tenants: &[Tenant]) -> Standing {
    // A tenant that logs in as its own role may not read its neighbours' tables.
    if migrator.project().config.sandbox.login {
        return Standing::default();
    }
    let mut databases: BTreeMap<String, Vec<(String, &Tenant)>> = BTreeMap::new();
    for tenant in tenants {
        if let Ok(DatabaseUrl::Postgres { conninfo, schema: Some(schema) }) = DatabaseUrl::parse(&tenant.url) {
            databases.entry(conninfo).or_default().push((schema, tenant));
        }
    }
    let tables = VersionTables::new(&migrator.project().config.table_prefix, Dialect::Postgres);
    let mut standing = Standing::default();
    for (conninfo, members) in databases {
        let mut db = match migrator.connect_existing(&conninfo) {
            Ok(db) => db,
            Err(error) => {
                tracing::debug!("cannot read the tenants of a database together, each is read alone: {error}");
                continue;
            }
        };
        let schemas: Vec<String> = members.iter().map(|(schema, _)| schema.clone()).collect();
        match tables.read_schemas(db.backend_mut().as_mut(), &schemas) {
            Ok(mut rows) => {
                for (schema, tenant) in members {
                    if let Some(rows) = rows.remove(&schema) {
                        standing.0.insert(tenant.name.clone(), rows);
                    }
                }
            }
            Err(error) => {
                tracing::debug!("cannot read the tenants of a database together, each is read alone: {error}")
            }
        }
    }
    standing
}
