//! Where a fleet's tenants stand, read without a lock and, for PostgreSQL schemas, in a few queries per database instead of a connection per tenant: what makes `tenants status` and a no-op `tenants upgrade` fast.
//!
//! Tenants that are schemas of one database (a `?schemas=` source, or URLs
//! that differ only in `schema=`) are read together on one connection,
//! [`CHUNK`] tenants at a time so that memory does not grow with the fleet.
//! A SQLite file is read on its own, opened without creating it and without
//! taking the migration lock: as cheap as a file allows. `tenants status`
//! answers from these reads, and `tenants upgrade` skips a tenant that is
//! already at the target. A tenant the read says is behind goes through the
//! usual path (its own connection and lock, and the re-check inside it), so
//! exactly-once does not rest on this read. Anything the read cannot answer
//! (per-tenant logins, a database that refuses the query, a file that does
//! not exist yet) is left to that path too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::DatabaseUrl;
use crate::migrator::Migrator;
use crate::sql::Dialect;
use crate::versions::{AppliedRow, VersionTables};

use super::source::Tenant;

/// How many tenants are read together, and at most held with their rows:
/// the unit of memory of a fleet run, whatever its size.
pub(super) const CHUNK: usize = 500;

/// The applied rows of the tenants the read could answer for, by tenant name.
#[derive(Debug, Default)]
pub(super) struct Standing(HashMap<String, Vec<AppliedRow>>);

impl Standing {
    fn take(&mut self, tenant: &str) -> Option<Vec<AppliedRow>> {
        self.0.remove(tenant)
    }
}

/// A tenant and, when it was read with its neighbours, its applied rows.
pub(super) type StandingTenant = (Tenant, Option<Vec<AppliedRow>>);

/// Tenants from a lazy listing with their standing, read [`CHUNK`] at a
/// time as the queue reaches them (or not read at all, for a downgrade).
pub(super) struct Chunked<'m, I> {
    migrator: &'m Migrator,
    tenants: I,
    read: bool,
    /// Once set, tenants are only listed (they are reported as not started).
    stop: &'m AtomicBool,
    buffer: VecDeque<StandingTenant>,
}

impl<'m, I: Iterator<Item = Tenant>> Chunked<'m, I> {
    pub(super) fn new(migrator: &'m Migrator, tenants: I, read: bool, stop: &'m AtomicBool) -> Self {
        Chunked { migrator, tenants, read, stop, buffer: VecDeque::new() }
    }
}

impl<I: Iterator<Item = Tenant>> Iterator for Chunked<'_, I> {
    type Item = StandingTenant;

    fn next(&mut self) -> Option<StandingTenant> {
        if self.buffer.is_empty() {
            let chunk: Vec<Tenant> = self.tenants.by_ref().take(CHUNK).collect();
            let read_now = self.read && !self.stop.load(Ordering::SeqCst) && !crate::interrupt::requested();
            let mut standing = if read_now { read(self.migrator, &chunk) } else { Standing::default() };
            tracing::debug!(tenants = chunk.len(), read = standing.0.len(), "tenants read together");
            self.buffer.extend(chunk.into_iter().map(|tenant| {
                let rows = standing.take(&tenant.name);
                (tenant, rows)
            }));
        }
        self.buffer.pop_front()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.tenants.size_hint();
        let buffered = self.buffer.len();
        (low.saturating_add(buffered), high.and_then(|high| high.checked_add(buffered)))
    }
}

/// A SQLite tenant's applied rows, read without creating the file or
/// taking the lock (a file that does not exist has nothing applied); `None`
/// when the tenant is not a SQLite file that can be read (the usual path
/// then decides, and reports).
pub(super) fn read_file(migrator: &Migrator, tenant: &Tenant) -> Option<Vec<AppliedRow>> {
    if migrator.project().config.sandbox.login {
        return None;
    }
    match DatabaseUrl::parse(&tenant.url) {
        Ok(DatabaseUrl::SqliteFile(path)) if !path.exists() => return Some(Vec::new()),
        Ok(DatabaseUrl::SqliteFile(path)) if path.is_file() => {}
        _ => return None,
    }
    let read = migrator.connect_existing(&tenant.url).and_then(|mut db| migrator.applied_rows(&mut db));
    read.map_err(|error| tracing::debug!(tenant = %tenant.name, "read alone, on the usual path: {error}")).ok()
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
