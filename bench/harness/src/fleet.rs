//! `wasmig-bench fleet-floor`: the floor of a fleet upgrade, the same SQL and bookkeeping as `wasmig tenants upgrade` run directly by rusqlite / tokio-postgres, `jobs` tenants at a time.
//!
//! Per tenant: one connection (PostgreSQL: `search_path` set to the
//! tenant's schema), the two version tables created if missing, the applied
//! set read once; per revision: BEGIN (SQLite: IMMEDIATE), the revision's
//! `CREATE TABLE t_<i> (id INTEGER PRIMARY KEY, note TEXT)`, one row in the
//! revisions table and one in the events table, COMMIT. Tenants come from
//! one shared queue served to `jobs` OS threads, as in `wasmig::Fleet`.
//! What it leaves out is what wasmig adds: the WebAssembly hook call, the
//! transaction guard, checksums, the re-check of each step (SQLite) and the
//! advisory lock on a second connection (PostgreSQL).

use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, bail};

const CREATE_TABLES: &str = "CREATE TABLE IF NOT EXISTS floor_revisions (revision TEXT PRIMARY KEY, checksum TEXT NOT NULL, module_hash TEXT NOT NULL, \
     kind TEXT NOT NULL, state TEXT NOT NULL, execution_ms BIGINT NOT NULL, tool_version TEXT NOT NULL); \
     CREATE TABLE IF NOT EXISTS floor_events (event TEXT NOT NULL, revision TEXT, duration_ms BIGINT, error TEXT, detail TEXT, tool_version TEXT NOT NULL)";

/// `fleet-floor sqlite GLOB REVISIONS JOBS` or `fleet-floor postgres URL SCHEMA_PATTERN REVISIONS JOBS`.
pub fn floor(args: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    let (tenants, revisions) = match args {
        [kind, glob, revisions, jobs] if kind == "sqlite" => {
            let revisions: usize = revisions.parse().context("REVISIONS")?;
            let files: Vec<String> = sqlite_files(glob)?;
            let count = files.len();
            in_parallel(files, jobs.parse().context("JOBS")?, |file| sqlite_tenant(&file, revisions))?;
            (count, revisions)
        }
        [kind, url, pattern, revisions, jobs] if kind == "postgres" => {
            let revisions: usize = revisions.parse().context("REVISIONS")?;
            let schemas = postgres_schemas(url, pattern)?;
            let count = schemas.len();
            in_parallel(schemas, jobs.parse().context("JOBS")?, |schema| postgres_tenant(url, &schema, revisions))?;
            (count, revisions)
        }
        _ => bail!(
            "usage: wasmig-bench fleet-floor sqlite GLOB REVISIONS JOBS | fleet-floor postgres URL SCHEMA_PATTERN REVISIONS JOBS"
        ),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "fleet floor: {tenants} tenants x {revisions} revisions in {seconds:.3} s ({:.0} tenant-revisions/s)",
        (tenants * revisions) as f64 / seconds
    );
    Ok(())
}

/// Runs `work` on every item with `jobs` threads pulling from one queue.
fn in_parallel<T: Send>(
    items: Vec<T>,
    jobs: usize,
    work: impl Fn(T) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    let queue = Mutex::new(items.into_iter());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let Some(item) = queue.lock().expect("queue poisoned").next() else {
                        break;
                    };
                    if let Err(error) = work(item) {
                        failures.lock().expect("failures poisoned").push(error);
                    }
                }
            });
        }
    });
    match failures.into_inner().expect("failures poisoned").pop() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn sqlite_files(pattern: &str) -> anyhow::Result<Vec<String>> {
    let dir = std::path::Path::new(pattern).parent().context("GLOB names a directory")?;
    let suffix = pattern.rsplit_once('*').map_or("", |(_, suffix)| suffix);
    let mut files: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().display().to_string()))
        .filter(|path| path.ends_with(suffix))
        .collect();
    files.sort();
    Ok(files)
}

fn sqlite_tenant(path: &str, revisions: usize) -> anyhow::Result<()> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(60))?;
    connection.execute_batch(&format!("BEGIN IMMEDIATE; {CREATE_TABLES}; COMMIT"))?;
    let applied: Vec<String> = connection
        .prepare("SELECT revision FROM floor_revisions")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for index in (0..revisions).filter(|index| !applied.contains(&revision_id(*index))) {
        let started = Instant::now();
        connection.execute_batch("BEGIN IMMEDIATE")?;
        connection.execute_batch(&format!("CREATE TABLE t_{index} (id INTEGER PRIMARY KEY, note TEXT)"))?;
        let elapsed = started.elapsed().as_millis() as i64;
        connection
            .prepare_cached(
                "INSERT INTO floor_revisions (revision, checksum, module_hash, kind, state, execution_ms, tool_version) VALUES (?1, ?2, ?3, 'sql', 'applied', ?4, 'floor')",
            )?
            .execute(rusqlite::params![revision_id(index), "sha256:00", "00", elapsed])?;
        connection
            .prepare_cached("INSERT INTO floor_events (event, revision, duration_ms, tool_version) VALUES ('upgrade', ?1, ?2, 'floor')")?
            .execute(rusqlite::params![revision_id(index), elapsed])?;
        connection.execute_batch("COMMIT")?;
    }
    Ok(())
}

fn revision_id(index: usize) -> String {
    format!("{index:012x}")
}

fn postgres_schemas(url: &str, pattern: &str) -> anyhow::Result<Vec<String>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let rows = client
            .query("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1 ORDER BY 1", &[&pattern])
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    })
}

fn postgres_tenant(url: &str, schema: &str, revisions: usize) -> anyhow::Result<()> {
    // One current-thread runtime per tenant's thread, as wasmig's backend does.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        client.batch_execute(&format!("SET search_path TO \"{schema}\"")).await?;
        client.batch_execute(&format!("BEGIN; {CREATE_TABLES}; COMMIT")).await?;
        let applied: Vec<String> = client.query("SELECT revision FROM floor_revisions", &[]).await?.iter().map(|row| row.get(0)).collect();
        let insert_revision = client
            .prepare(
                "INSERT INTO floor_revisions (revision, checksum, module_hash, kind, state, execution_ms, tool_version) VALUES ($1, $2, $3, 'sql', 'applied', $4, 'floor')",
            )
            .await?;
        let insert_event =
            client.prepare("INSERT INTO floor_events (event, revision, duration_ms, tool_version) VALUES ('upgrade', $1, $2, 'floor')").await?;
        for index in (0..revisions).filter(|index| !applied.contains(&revision_id(*index))) {
            let started = Instant::now();
            client.batch_execute("BEGIN").await?;
            client.batch_execute(&format!("CREATE TABLE t_{index} (id INTEGER PRIMARY KEY, note TEXT)")).await?;
            let elapsed = started.elapsed().as_millis() as i64;
            client.execute(&insert_revision, &[&revision_id(index), &"sha256:00", &"00", &elapsed]).await?;
            client.execute(&insert_event, &[&revision_id(index), &elapsed]).await?;
            client.batch_execute("COMMIT").await?;
        }
        drop(client);
        let _ = driver.await;
        anyhow::Ok(())
    })
}
