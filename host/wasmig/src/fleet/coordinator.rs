//! Coordinated fleet runs: one run shared by many processes on many machines through two tables in a PostgreSQL coordinator database (claims by `FOR UPDATE SKIP LOCKED`, leases a heartbeat renews, resume, a failure budget).
//!
//! Decisions (docs/FLEET.md, "One run, many processes"):
//! - The coordinator's clock decides: every lease and timestamp is the
//!   server's `now()`, so machines with skewed clocks agree.
//! - A claim is a lease, not a lock held on a connection: a process that
//!   dies (or loses its network) stops renewing it, and once it runs out any
//!   other process of the run takes the tenant over. Exactly-once per tenant
//!   still rests on the tenant's own migration lock and per-step re-check,
//!   as for two plain runs on one database.
//! - Joining a run registers the tenants it lists (new names are added, known
//!   ones kept), so processes started together, or the same run started
//!   again, share one list; finished tenants are never claimed again, failed
//!   ones only with `retry_failed`.
//! - The failure budget is checked before every claim: once reached, the
//!   run is marked stopped and no process claims more.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::source::Tenant;
use crate::database::Database;
use crate::sql::{DbError, Dialect, Rows, Value};

/// The run table and the tenants table, in the coordinator database's current schema.
const RUNS: &str = "wasmig_fleet_runs";
const TENANTS: &str = "wasmig_fleet_tenants";

/// How many tenants one registering statement inserts.
const REGISTER_CHUNK: usize = 500;

/// How a process takes part in a coordinated run.
#[derive(Debug, Clone)]
pub struct Coordination {
    /// The coordinator database (PostgreSQL).
    pub url: String,
    /// The run's name: processes given the same name share the run.
    pub run: String,
    /// How long a claim holds without its heartbeat.
    pub lease: Duration,
    /// Once this many tenants failed, no process claims more.
    pub max_failures: Option<FailureBudget>,
    /// Claim failed tenants again (and lift a stop the budget caused).
    pub retry_failed: bool,
}

/// `--max-failures N` or `N%` (of the run's tenants, at least one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FailureBudget {
    Count(u64),
    Percent(f64),
}

impl FailureBudget {
    pub fn parse(text: &str) -> Option<Self> {
        match text.strip_suffix('%') {
            Some(percent) => {
                percent.trim().parse::<f64>().ok().filter(|p| *p > 0.0 && *p <= 100.0).map(FailureBudget::Percent)
            }
            None => text.trim().parse::<u64>().ok().filter(|n| *n > 0).map(FailureBudget::Count),
        }
    }

    fn limit(self, tenants: u64) -> u64 {
        match self {
            FailureBudget::Count(count) => count,
            FailureBudget::Percent(percent) => ((percent / 100.0 * tenants as f64).ceil() as u64).max(1),
        }
    }

    fn text(self) -> String {
        match self {
            FailureBudget::Count(count) => count.to_string(),
            FailureBudget::Percent(percent) => format!("{percent}%"),
        }
    }
}

/// Why a coordinated run could not be joined or went on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoordinatorError {
    #[error("the coordinator must be a PostgreSQL database (postgres://...): `{url}` is not")]
    NotPostgres { url: String },
    #[error("cannot open the coordinator database: {0}")]
    Connect(#[from] crate::ConnectError),
    #[error("coordinator {database}: {action} failed: {source}")]
    Db { database: String, action: String, source: DbError },
    #[error(
        "run `{run}` was started as `{recorded}` on the coordinator; this process asked for `{asked}`. Use the same \
         command for every process of a run, or another --run name"
    )]
    OtherAction { run: String, recorded: String, asked: String },
    #[error("no run named `{run}` on {database}; `wasmig tenants runs` lists them")]
    UnknownRun { run: String, database: String },
}

/// One run, as `tenants runs` lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub name: String,
    pub action: String,
    pub target: Option<String>,
    pub created_at: String,
    pub tenants: u64,
    pub pending: u64,
    pub claimed: u64,
    pub ok: u64,
    pub failed: u64,
    pub max_failures: Option<String>,
    /// Why no process claims more (the failure budget), when it is so.
    pub stopped: Option<String>,
}

/// One tenant of a run, as `tenants run NAME` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunTenant {
    pub tenant: String,
    pub database: String,
    /// `pending`, `claimed`, `ok` or `failed`.
    pub state: String,
    /// The process (`host:pid:nonce`) that holds or last held it.
    pub worker: Option<String>,
    /// A process whose lease ran out before this one took it over.
    pub taken_over_from: Option<String>,
    pub attempts: i64,
    pub claimed_at: Option<String>,
    pub lease_until: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub revisions: Vec<String>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
}

/// How a claimed tenant ended, as the run records it.
#[derive(Debug)]
pub(super) struct ClaimEnd<'a> {
    /// `ok`, `failed`, or `pending` (stopped, not failed: the run's next start takes it up).
    pub state: &'static str,
    pub duration_ms: u64,
    pub revisions: &'a [String],
    pub error: Option<&'a str>,
    pub error_kind: Option<&'static str>,
}

/// This process's membership in a run.
pub(super) struct Coordinator {
    db: Mutex<Database>,
    database: String,
    run: String,
    worker: String,
    lease: Duration,
    limit: Option<u64>,
    heartbeat: Option<Heartbeat>,
    /// The tenants this process listed, by name: a claim names one of them.
    listed: HashMap<String, Tenant>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator").field("run", &self.run).field("worker", &self.worker).finish()
    }
}

impl Coordinator {
    /// Joins run `coordination.run` (creating the tables and the run if
    /// needed) for `action` to `target`, registering `tenants`.
    pub(super) fn join(
        coordination: &Coordination,
        action: &str,
        target: Option<&str>,
        tenants: Vec<Tenant>,
    ) -> Result<Self, CoordinatorError> {
        let mut db = open(&coordination.url)?;
        let database = db.describe();
        let failed = |action: &str| {
            let database = database.clone();
            let action = action.to_owned();
            move |source| CoordinatorError::Db { database, action, source }
        };
        create_tables(&mut db).map_err(failed("creating the run tables"))?;
        db.execute(
            &format!(
                "INSERT INTO {RUNS} (name, action, target, max_failures) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING"
            ),
            &[
                text(&coordination.run),
                text(action),
                target.map_or(Value::Null, text),
                coordination.max_failures.map_or(Value::Null, |budget| text(&budget.text())),
            ],
        )
        .map_err(failed("registering the run"))?;
        let recorded = db
            .query(
                &format!("SELECT action, coalesce(target, '') FROM {RUNS} WHERE name = $1"),
                &[text(&coordination.run)],
            )
            .map_err(failed("reading the run"))?;
        let recorded = strings(&recorded).into_iter().next().unwrap_or_default();
        let asked = format!("{action} to {}", target.unwrap_or("-"));
        let was = format!(
            "{} to {}",
            recorded.first().cloned().unwrap_or_default(),
            match recorded.get(1) {
                Some(target) if !target.is_empty() => target.as_str(),
                _ => "-",
            }
        );
        if was != asked {
            return Err(CoordinatorError::OtherAction { run: coordination.run.clone(), recorded: was, asked });
        }
        for (chunk_index, chunk) in tenants.chunks(REGISTER_CHUNK).enumerate() {
            let mut sql = format!("INSERT INTO {TENANTS} (run, tenant, database, position) VALUES ");
            let mut params = vec![text(&coordination.run)];
            for (offset, tenant) in chunk.iter().enumerate() {
                let at = params.len();
                if offset > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("($1, ${}, ${}, ${})", at + 1, at + 2, at + 3));
                params.push(text(&tenant.name));
                params.push(text(&tenant.database()));
                params.push(Value::Integer((chunk_index * REGISTER_CHUNK + offset) as i64));
            }
            sql.push_str(" ON CONFLICT (run, tenant) DO NOTHING");
            db.execute(&sql, &params).map_err(failed("registering the tenants"))?;
        }
        if coordination.retry_failed {
            db.execute(
                &format!("UPDATE {TENANTS} SET state = 'pending' WHERE run = $1 AND state = 'failed'"),
                &[text(&coordination.run)],
            )
            .map_err(failed("queueing the failed tenants again"))?;
            db.execute(&format!("UPDATE {RUNS} SET stopped = NULL WHERE name = $1"), &[text(&coordination.run)])
                .map_err(failed("lifting the run's stop"))?;
        }
        let total = db
            .query(&format!("SELECT count(*) FROM {TENANTS} WHERE run = $1"), &[text(&coordination.run)])
            .map_err(failed("counting the tenants"))?;
        let total = integer(&total).unwrap_or(0) as u64;
        let worker = worker_name();
        let heartbeat = Heartbeat::start(&coordination.url, &coordination.run, &worker, coordination.lease)?;
        Ok(Coordinator {
            db: Mutex::new(db),
            database,
            run: coordination.run.clone(),
            worker,
            lease: coordination.lease,
            limit: coordination.max_failures.map(|budget| budget.limit(total)),
            heartbeat: Some(heartbeat),
            listed: tenants.into_iter().map(|tenant| (tenant.name.clone(), tenant)).collect(),
        })
    }

    /// This process, as the run records it.
    pub(super) fn worker(&self) -> &str {
        &self.worker
    }

    /// The next tenant for this process: a pending one, or one whose lease
    /// ran out; `None` when there is none left or the run is stopped.
    pub(super) fn claim(&self) -> Result<Option<Tenant>, CoordinatorError> {
        let mut db = self.db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let failed = |action: &'static str| {
            let database = self.database.clone();
            move |source| CoordinatorError::Db { database, action: action.to_owned(), source }
        };
        {
            if let Some(limit) = self.limit {
                let failures = db
                    .query(
                        &format!("SELECT count(*) FROM {TENANTS} WHERE run = $1 AND state = 'failed'"),
                        &[text(&self.run)],
                    )
                    .map_err(failed("counting failures"))?;
                if integer(&failures).unwrap_or(0) as u64 >= limit {
                    db.execute(
                        &format!("UPDATE {RUNS} SET stopped = $2 WHERE name = $1 AND stopped IS NULL"),
                        &[text(&self.run), text(&format!("--max-failures reached: {limit} tenant(s) failed"))],
                    )
                    .map_err(failed("stopping the run"))?;
                    return Ok(None);
                }
            }
            let claimed = db
                .query(
                    &format!(
                        "UPDATE {TENANTS} AS t SET state = 'claimed', \
                           taken_over_from = CASE WHEN t.state = 'claimed' THEN t.worker END, \
                           worker = $2, claimed_at = now(), lease_until = now() + make_interval(secs => $3), \
                           attempts = t.attempts + 1 \
                         WHERE (t.run, t.tenant) = (SELECT c.run, c.tenant FROM {TENANTS} AS c \
                           WHERE c.run = $1 AND (c.state = 'pending' OR (c.state = 'claimed' AND c.lease_until < now())) \
                             AND NOT EXISTS (SELECT 1 FROM {RUNS} r WHERE r.name = $1 AND r.stopped IS NOT NULL) \
                           ORDER BY c.position LIMIT 1 FOR UPDATE SKIP LOCKED) \
                         RETURNING t.tenant"
                    ),
                    &[text(&self.run), text(&self.worker), Value::Real(self.lease.as_secs_f64())],
                )
                .map_err(failed("claiming a tenant"))?;
            let Some(name) = strings(&claimed).into_iter().next().and_then(|row| row.into_iter().next()) else {
                return Ok(None);
            };
            if let Some(tenant) = self.listed.get(&name) {
                return Ok(Some(tenant.clone()));
            }
            // Registered by a process whose listing this one does not share:
            // give it back to the processes that know where it lives.
            tracing::warn!(run = %self.run, tenant = %name, "claimed a tenant this process's --tenants does not list; left for another process");
            db.execute(
                &format!("UPDATE {TENANTS} SET state = 'pending', lease_until = NULL WHERE run = $1 AND tenant = $2"),
                &[text(&self.run), text(&name)],
            )
            .map_err(failed("returning a tenant"))?;
            Ok(None)
        }
    }

    /// Records how a claimed tenant ended.
    pub(super) fn finish(&self, tenant: &str, end: &ClaimEnd<'_>) -> Result<(), CoordinatorError> {
        let mut db = self.db.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let updated = db
            .execute(
                &format!(
                    "UPDATE {TENANTS} SET state = $3, finished_at = now(), lease_until = NULL, duration_ms = $4, \
                       revisions = $5, error = $6, error_kind = $7 \
                     WHERE run = $1 AND tenant = $2 AND worker = $8 AND state = 'claimed'"
                ),
                &[
                    text(&self.run),
                    text(tenant),
                    text(end.state),
                    Value::Integer(end.duration_ms as i64),
                    text(&end.revisions.join(",")),
                    end.error.map_or(Value::Null, text),
                    end.error_kind.map_or(Value::Null, text),
                    text(&self.worker),
                ],
            )
            .map_err(|source| CoordinatorError::Db {
                database: self.database.clone(),
                action: "recording a tenant's outcome".to_owned(),
                source,
            })?;
        if updated == 0 {
            tracing::warn!(run = %self.run, tenant = %tenant, "this process's lease on the tenant ran out and another process took it over: its outcome is theirs to record");
        }
        Ok(())
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        drop(self.heartbeat.take());
    }
}

/// Renews this process's leases every third of the lease, on its own connection.
struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(url: &str, run: &str, worker: &str, lease: Duration) -> Result<Self, CoordinatorError> {
        let mut db = open(url)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (run, worker, signal) = (run.to_owned(), worker.to_owned(), Arc::clone(&stop));
        let renew = format!(
            "UPDATE {TENANTS} SET lease_until = now() + make_interval(secs => $3) \
             WHERE run = $1 AND worker = $2 AND state = 'claimed'"
        );
        let thread = std::thread::Builder::new()
            .name("wasmig-lease".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                let mut done = stopped.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                while !*done {
                    done = wake.wait_timeout(done, lease / 3).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
                    if *done {
                        break;
                    }
                    let params = [text(&run), text(&worker), Value::Real(lease.as_secs_f64())];
                    if let Err(error) = db.execute(&renew, &params) {
                        tracing::warn!(run = %run, "renewing this process's leases failed: {error}");
                    }
                }
            })
            .map_err(|error| CoordinatorError::Db {
                database: crate::database::redacted_url(url),
                action: "starting the lease heartbeat".to_owned(),
                source: DbError::host(error.to_string()),
            })?;
        Ok(Heartbeat { stop, thread: Some(thread) })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every run on the coordinator at `url`, newest first.
pub fn runs(url: &str) -> Result<Vec<RunSummary>, CoordinatorError> {
    let mut db = open(url)?;
    let database = db.describe();
    let failed =
        |source| CoordinatorError::Db { database: database.clone(), action: "listing the runs".to_owned(), source };
    create_tables(&mut db).map_err(failed)?;
    let rows = db
        .query(
            &format!(
                "SELECT r.name, r.action, r.target, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
                   count(t.tenant)::text, count(*) FILTER (WHERE t.state = 'pending')::text, \
                   count(*) FILTER (WHERE t.state = 'claimed')::text, count(*) FILTER (WHERE t.state = 'ok')::text, \
                   count(*) FILTER (WHERE t.state = 'failed')::text, r.max_failures, r.stopped \
                 FROM {RUNS} r LEFT JOIN {TENANTS} t ON t.run = r.name \
                 GROUP BY r.name, r.action, r.target, r.created_at, r.max_failures, r.stopped ORDER BY r.created_at DESC, r.name"
            ),
            &[],
        )
        .map_err(failed)?;
    Ok(rows
        .texts()
        .into_iter()
        .map(|row| {
            let number = |index: usize| row[index].as_deref().unwrap_or("0").parse().unwrap_or(0);
            RunSummary {
                name: row[0].clone().unwrap_or_default(),
                action: row[1].clone().unwrap_or_default(),
                target: row[2].clone(),
                created_at: row[3].clone().unwrap_or_default(),
                tenants: number(4),
                pending: number(5),
                claimed: number(6),
                ok: number(7),
                failed: number(8),
                max_failures: row[9].clone(),
                stopped: row[10].clone(),
            }
        })
        .collect())
}

/// The tenants of run `run`, in the order they were listed.
pub fn run_tenants(url: &str, run: &str) -> Result<Vec<RunTenant>, CoordinatorError> {
    let mut db = open(url)?;
    let database = db.describe();
    let failed =
        |source| CoordinatorError::Db { database: database.clone(), action: format!("reading run `{run}`"), source };
    create_tables(&mut db).map_err(failed)?;
    let known = db.query(&format!("SELECT 1 FROM {RUNS} WHERE name = $1"), &[text(run)]).map_err(failed)?;
    if known.values.is_empty() {
        return Err(CoordinatorError::UnknownRun { run: run.to_owned(), database });
    }
    let time = |column: &str| format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
    let rows = db
        .query(
            &format!(
                "SELECT tenant, database, state, worker, taken_over_from, attempts::text, {}, {}, {}, duration_ms::text, \
                   revisions, error, error_kind FROM {TENANTS} WHERE run = $1 ORDER BY position, tenant",
                time("claimed_at"),
                time("lease_until"),
                time("finished_at")
            ),
            &[text(run)],
        )
        .map_err(failed)?;
    Ok(rows
        .texts()
        .into_iter()
        .map(|row| RunTenant {
            tenant: row[0].clone().unwrap_or_default(),
            database: row[1].clone().unwrap_or_default(),
            state: row[2].clone().unwrap_or_default(),
            worker: row[3].clone(),
            taken_over_from: row[4].clone(),
            attempts: row[5].as_deref().unwrap_or("0").parse().unwrap_or(0),
            claimed_at: row[6].clone(),
            lease_until: row[7].clone(),
            finished_at: row[8].clone(),
            duration_ms: row[9].as_deref().and_then(|ms| ms.parse().ok()),
            revisions: row[10]
                .as_deref()
                .filter(|list| !list.is_empty())
                .map(|list| list.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            error: row[11].clone(),
            error_kind: row[12].clone(),
        })
        .collect())
}

fn open(url: &str) -> Result<Database, CoordinatorError> {
    let db = Database::connect_existing(url, crate::DEFAULT_LOCK_TIMEOUT)?;
    if db.dialect() != Dialect::Postgres {
        return Err(CoordinatorError::NotPostgres { url: crate::database::redacted_url(url) });
    }
    Ok(db)
}

/// The run tables, made once (concurrent first joins wait on one advisory lock).
fn create_tables(db: &mut Database) -> Result<(), DbError> {
    db.execute_script(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock(2039147); \
         CREATE TABLE IF NOT EXISTS {RUNS} (name text PRIMARY KEY, action text NOT NULL, target text, \
           max_failures text, stopped text, created_at timestamptz NOT NULL DEFAULT now()); \
         CREATE TABLE IF NOT EXISTS {TENANTS} (run text NOT NULL REFERENCES {RUNS} (name) ON DELETE CASCADE, \
           tenant text NOT NULL, database text NOT NULL, position bigint NOT NULL, \
           state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'ok', 'failed')), \
           worker text, taken_over_from text, attempts integer NOT NULL DEFAULT 0, claimed_at timestamptz, \
           lease_until timestamptz, finished_at timestamptz, duration_ms bigint, revisions text, error text, \
           error_kind text, PRIMARY KEY (run, tenant)); \
         CREATE INDEX IF NOT EXISTS {TENANTS}_claimable ON {TENANTS} (run, state, position); \
         COMMIT;"
    ))
}

/// `host:pid:nonce`: who did what, in the run's records.
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    use std::hash::{BuildHasher, Hasher};
    let nonce = std::collections::hash_map::RandomState::new().build_hasher().finish() & 0xffff;
    format!("{host}:{}:{nonce:04x}", std::process::id())
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn strings(rows: &Rows) -> Vec<Vec<String>> {
    rows.texts().into_iter().map(|row| row.into_iter().map(Option::unwrap_or_default).collect()).collect()
}

fn integer(rows: &Rows) -> Option<i64> {
    match rows.values.first()?.first()? {
        Value::Integer(number) => Some(*number),
        Value::Text(text) => text.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::FailureBudget;

    #[test]
    fn failure_budgets_are_counts_or_percentages() {
        assert_eq!(FailureBudget::parse("3"), Some(FailureBudget::Count(3)));
        assert_eq!(FailureBudget::parse("2.5%"), Some(FailureBudget::Percent(2.5)));
        for bad in ["0", "0%", "-1", "101%", "x", ""] {
            assert_eq!(FailureBudget::parse(bad), None, "{bad}");
        }
        assert_eq!(FailureBudget::Percent(1.0).limit(1_000), 10);
        assert_eq!(FailureBudget::Percent(1.0).limit(10), 1, "at least one");
        assert_eq!(FailureBudget::Count(4).limit(2), 4);
    }
}
