//! Benchmark harness: every figure is printed with a baseline measured in the same run, as a ratio.
//!
//! `wasmig-bench runtime`: one hook call on a cached module, the first
//! compile, the pool against a fresh mapping per call, and 10,000 INSERTs
//! from a guest (`execute` each, or one `execute-many`) against the same
//! statements run directly by rusqlite.
//! `wasmig-bench floor sqlite:FILE|postgres://... N`: the floor of a
//! 1,000-revision upgrade: N `CREATE TABLE`s, each in its own transaction
//! with one bookkeeping row, run directly by rusqlite / tokio-postgres.
//! `wasmig-bench many URL`: 10,000 INSERTs from a guest, `execute` each and
//! one `execute-many`, against the driver row by row, on SQLite or PostgreSQL.
//! `wasmig-bench guests LABEL=PATH...`: size, first compile and cached load + `up` per language.

mod fleet;
mod guests;
mod many;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use wasmig::backend::Backend;
use wasmig::backend::sqlite::SqliteBackend;
use wasmig::runtime::{Builtin, HookContext, InstancePool, Runtime, RuntimeConfig, SandboxLimits};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("runtime") => runtime(),
        Some("floor") if args.len() == 3 => floor(&args[1], args[2].parse().context("N")?),
        Some("fleet-floor") => fleet::floor(&args[1..]),
        Some("guests") => guests::guests(&args[1..]),
        Some("many") if args.len() == 2 => many::many(&args[1]),
        _ => bail!("usage: wasmig-bench runtime | wasmig-bench floor URL N"),
    }
}

pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub(crate) fn context(dir: Option<&Path>) -> HookContext {
    HookContext {
        revision_id: "bench".into(),
        tenant: None,
        assets_dir: dir.map(Path::to_path_buf),
        limits: SandboxLimits::default(),
        protected_tables: Vec::new(),
        role: None,
        capabilities: Default::default(),
    }
}

fn runtime() -> anyhow::Result<()> {
    println!("machine: {} cores, {}", std::thread::available_parallelism()?.get(), cpu_model());

    // First compile: a fresh runtime without a disk cache, each time.
    let compiles: Vec<Duration> = (0..5)
        .map(|_| {
            let runtime = Runtime::new(RuntimeConfig::default()).expect("runtime");
            let started = Instant::now();
            runtime.builtin(Builtin::Sql).expect("sql plugin");
            started.elapsed()
        })
        .collect();
    let compile = median(compiles);

    // Load from the disk cache in a fresh runtime.
    let cache = tempfile::tempdir()?;
    Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() })?
        .builtin(Builtin::Sql)?;
    let cached_loads: Vec<Duration> = (0..20)
        .map(|_| {
            let runtime =
                Runtime::new(RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() })
                    .expect("runtime");
            let started = Instant::now();
            runtime.builtin(Builtin::Sql).expect("sql plugin");
            started.elapsed()
        })
        .collect();
    let cached_load = median(cached_loads);

    // One hook call on a cached module: fresh store, instantiate, `up`, drop,
    // with the instance pool (the default) and with a fresh mapping per call.
    let hook_call = |pool: InstancePool| -> anyhow::Result<Duration> {
        let runtime = Runtime::new(RuntimeConfig { instance_pool: pool, ..RuntimeConfig::default() })?;
        let merge = runtime.builtin(Builtin::Merge)?;
        let mut db: Box<dyn Backend> = Box::new(SqliteBackend::open_in_memory()?);
        let hook_context = context(None);
        for _ in 0..200 {
            runtime.up(&merge, &hook_context, &mut db)?;
        }
        let started = Instant::now();
        for _ in 0..HOOK_CALLS {
            runtime.up(&merge, &hook_context, &mut db)?;
        }
        Ok(started.elapsed() / HOOK_CALLS)
    };
    let pooled_call = hook_call(InstancePool::default())?;
    let mapped_call = hook_call(InstancePool::OnDemand)?;
    // Baseline for the hook call: the same work without WebAssembly is a
    // no-op, so compare with the cheapest SQL the host runs per step.
    let mut db: Box<dyn Backend> = Box::new(SqliteBackend::open_in_memory()?);
    let direct_started = Instant::now();
    for _ in 0..HOOK_CALLS {
        db.query("SELECT 1", &[])?;
    }
    let one_select = direct_started.elapsed() / HOOK_CALLS;

    println!("first compile of the sql plugin (Cranelift):     {:>10.2?}", compile);
    println!(
        "load of the sql plugin from the disk cache:      {:>10.2?}  ({:.0}x faster than compiling)",
        cached_load,
        ratio(compile, cached_load)
    );
    println!(
        "hook call, instance pool (store+inst+up+drop):   {:>10.2?}  (= {:.1} x one `SELECT 1` through the backend, {:.2?})",
        pooled_call,
        ratio(pooled_call, one_select),
        one_select
    );
    println!(
        "hook call, fresh mapping per call:               {:>10.2?}  (pool / fresh mapping = {:.2})",
        mapped_call,
        ratio(pooled_call, mapped_call)
    );
    // 10,000 INSERTs from a guest against rusqlite, on an in-memory database.
    many::many("sqlite::memory:")
}

/// Hook calls per measurement.
const HOOK_CALLS: u32 = 5_000;

pub(crate) fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .map(|line| line.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The same N CREATE TABLEs as the benchmark project, each in its own
/// transaction with one bookkeeping row: what a migration tool minimally does.
fn floor(url: &str, n: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(path) = url.strip_prefix("sqlite:") {
        let connection = rusqlite::Connection::open(path)?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS floor_revisions (revision TEXT PRIMARY KEY, checksum TEXT NOT NULL)",
        )?;
        for index in 0..n {
            connection.execute_batch("BEGIN IMMEDIATE")?;
            connection.execute_batch(&format!("CREATE TABLE t_{index} (id INTEGER PRIMARY KEY, note TEXT)"))?;
            connection.execute(
                "INSERT INTO floor_revisions (revision, checksum) VALUES (?1, ?2)",
                rusqlite::params![format!("r{index}"), "sha256:00"],
            )?;
            connection.execute_batch("COMMIT")?;
        }
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS floor_revisions (revision TEXT PRIMARY KEY, checksum TEXT NOT NULL)",
                )
                .await?;
            let insert = client.prepare("INSERT INTO floor_revisions (revision, checksum) VALUES ($1, $2)").await?;
            for index in 0..n {
                client.batch_execute("BEGIN").await?;
                client.batch_execute(&format!("CREATE TABLE t_{index} (id INTEGER PRIMARY KEY, note TEXT)")).await?;
                client.execute(&insert, &[&format!("r{index}"), &"sha256:00"]).await?;
                client.batch_execute("COMMIT").await?;
            }
            anyhow::Ok(())
        })?;
    }
    println!("floor: {n} revisions in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}
