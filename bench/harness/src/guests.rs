//! `wasmig-bench guests LABEL=PATH...`: per language, the component's size, its first compile,
//! and what a run pays once the compiled code is cached: load it in a fresh runtime and call `up`.
//! The first component given is the baseline the others are compared with; `rust=fixture:good`
//! is the Rust test fixture that uses every import of the contract.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use wasmig::backend::Backend;
use wasmig::backend::sqlite::SqliteBackend;
use wasmig::runtime::{Runtime, RuntimeConfig};

use crate::{context, median, ratio};

struct Measured {
    label: String,
    wasm_bytes: u64,
    compiled_bytes: u64,
    first_compile: Duration,
    cached_load: Duration,
    up: Duration,
}

pub fn guests(args: &[String]) -> anyhow::Result<()> {
    if args.is_empty() {
        bail!("usage: wasmig-bench guests LABEL=PATH... (the first is the baseline)");
    }
    let mut measured = Vec::new();
    for arg in args {
        let (label, path) = arg.split_once('=').context("LABEL=PATH")?;
        measured.push(measure(label, Path::new(path))?);
    }
    let baseline_total = measured[0].cached_load + measured[0].up;
    println!(
        "{:<12} {:>9} {:>9} {:>13} {:>12} {:>9} {:>12} {:>10}",
        "component", ".wasm", ".cwasm", "first compile", "cached load", "up", "load + up", "vs first"
    );
    for m in &measured {
        let total = m.cached_load + m.up;
        println!(
            "{:<12} {:>9} {:>9} {:>13.2?} {:>12.2?} {:>9.2?} {:>12.2?} {:>9.1}x",
            m.label,
            size(m.wasm_bytes),
            size(m.compiled_bytes),
            m.first_compile,
            m.cached_load,
            m.up,
            total,
            ratio(total, baseline_total),
        );
    }
    Ok(())
}

/// `19.3 MB` or `41 KB`.
fn size(bytes: u64) -> String {
    if bytes >= 1_000_000 { format!("{:.1} MB", bytes as f64 / 1e6) } else { format!("{} KB", bytes.div_ceil(1000)) }
}

fn measure(label: &str, path: &Path) -> anyhow::Result<Measured> {
    let bytes = if path == Path::new("fixture:good") {
        wasmig_tests::Fixture::Good.bytes()
    } else {
        std::fs::read(path).with_context(|| path.display().to_string())?
    };
    let cache = tempfile::tempdir()?;
    let config = || RuntimeConfig { cache_dir: Some(cache.path().to_path_buf()), ..RuntimeConfig::default() };

    // The first compile, which also fills the cache (one run: Python and JS take seconds).
    let runtime = Runtime::new(config())?;
    let started = Instant::now();
    let module = runtime.load(&bytes, label)?;
    let first_compile = started.elapsed();
    let compiled_bytes = std::fs::metadata(runtime.disk_cache().expect("cache configured").path(module.hash()))?.len();
    drop(runtime);

    // A later run: a fresh runtime finds the compiled code on disk, then runs `up` once.
    let mut loads = Vec::new();
    let mut ups = Vec::new();
    for _ in 0..11 {
        let runtime = Runtime::new(config())?;
        let started = Instant::now();
        let module = runtime.load(&bytes, label)?;
        loads.push(started.elapsed());
        assert_eq!(runtime.stats().compiled, 0, "{label}: compiled again instead of loading from the cache");
        let mut db: Box<dyn Backend> = Box::new(SqliteBackend::open_in_memory()?);
        db.execute_script("BEGIN")?;
        let started = Instant::now();
        runtime.up(&module, &context(None), &mut db)?;
        ups.push(started.elapsed());
        db.execute_script("ROLLBACK")?;
    }
    Ok(Measured {
        label: label.to_owned(),
        wasm_bytes: bytes.len() as u64,
        compiled_bytes,
        first_compile,
        cached_load: median(loads),
        up: median(ups),
    })
}
