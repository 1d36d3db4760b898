//! `wasmig-bench many URL` (and the end of `wasmig-bench runtime`, on `sqlite::memory:`): 10,000 INSERTs from a guest (`execute` each, one `execute-many`) against the same INSERTs straight through rusqlite / tokio-postgres, on a SQLite file or a PostgreSQL database.
//!
//! Every contender writes the same rows into a fresh `bench` table inside
//! one transaction; the driver's baseline prepares the statement once and
//! runs it row by row, as a program without wasmig would. Rounds alternate
//! the contenders; medians are printed with their ratios to the baseline.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use wasmig::Database;
use wasmig::runtime::{Runtime, RuntimeConfig};

use crate::{context, median, ratio};

const COUNT: i64 = 10_000;
const ROUNDS: usize = 7;

pub fn many(url: &str) -> anyhow::Result<()> {
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let module = runtime.load(&std::fs::read(wasmig_tests::bench_guest_inserts())?, "bench inserts")?;
    let one_by_one = tempfile::tempdir()?;
    std::fs::write(one_by_one.path().join("count"), COUNT.to_string())?;
    let batched = tempfile::tempdir()?;
    std::fs::write(batched.path().join("count"), COUNT.to_string())?;
    std::fs::write(batched.path().join("batch"), COUNT.to_string())?;
    let mut db = Database::connect(url).with_context(|| format!("connect to {url}"))?.into_backend();
    let mut guest_run = |assets: &Path| -> anyhow::Result<Duration> {
        db.execute_script("DROP TABLE IF EXISTS bench; CREATE TABLE bench (id BIGINT, name TEXT)")?;
        db.begin()?;
        let started = Instant::now();
        runtime.up(&module, &context(Some(assets)), &mut db)?;
        db.commit()?;
        let elapsed = started.elapsed();
        let rows = db.query("SELECT count(*) FROM bench", &[])?;
        anyhow::ensure!(rows.values[0][0] == wasmig::sql::Value::Integer(COUNT), "the guest wrote {:?}", rows.values);
        Ok(elapsed)
    };
    let (mut execute, mut batch, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        execute.push(guest_run(one_by_one.path())?);
        batch.push(guest_run(batched.path())?);
        direct.push(straight(url)?);
    }
    let (execute, batch, direct) = (median(execute), median(batch), median(direct));
    println!("machine: {} cores; {url}", std::thread::available_parallelism()?.get());
    println!(
        "{COUNT} INSERTs from a guest via execute:          {execute:>10.2?}  ({:.2}x the driver)",
        ratio(execute, direct)
    );
    println!(
        "{COUNT} INSERTs from a guest via one execute-many: {batch:>10.2?}  ({:.2}x the driver)",
        ratio(batch, direct)
    );
    println!("{COUNT} INSERTs straight through the driver:       {direct:>10.2?}");
    Ok(())
}

/// The same rows through the driver alone: one prepared INSERT, row by row, in one transaction.
fn straight(url: &str) -> anyhow::Result<Duration> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let connection = match path {
            ":memory:" => rusqlite::Connection::open_in_memory()?,
            path => rusqlite::Connection::open(path.strip_prefix("//").unwrap_or(path))?,
        };
        connection.execute_batch("DROP TABLE IF EXISTS bench; CREATE TABLE bench (id BIGINT, name TEXT)")?;
        let started = Instant::now();
        connection.execute_batch("BEGIN")?;
        let mut insert = connection.prepare("INSERT INTO bench (id, name) VALUES (?1, ?2)")?;
        for id in 0..COUNT {
            insert.execute(rusqlite::params![id, "row"])?;
        }
        drop(insert);
        connection.execute_batch("COMMIT")?;
        return Ok(started.elapsed());
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute("DROP TABLE IF EXISTS bench; CREATE TABLE bench (id BIGINT, name TEXT)").await?;
        let started = Instant::now();
        client.batch_execute("BEGIN").await?;
        let insert = client.prepare("INSERT INTO bench (id, name) VALUES ($1, $2)").await?;
        for id in 0..COUNT {
            client.execute(&insert, &[&id, &"row"]).await?;
        }
        client.batch_execute("COMMIT").await?;
        anyhow::Ok(started.elapsed())
    })
}
