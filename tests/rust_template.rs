//! `wasmig new --rust` from a fresh project: wasmig writes its Rust guest SDK into the project
//! (`.wasmig/rust-sdk`), two revisions from the template build with `wasmig build` into one shared
//! target directory, reproducibly, and run up and down on SQLite and PostgreSQL; an SDK copy that
//! differs from wasmig's is kept until `wasmig build --sdk-changes` replaces it.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasmig_tests::built::shared_guest_target;
use wasmig_tests::matrix::{Engine, TestDb, component_cache_dir, run, wasmig, wasmig_binary};

const GADGETS: &str = r#"
use wasmig_sdk::{Db, Dialect, Result, Revision, export_revision, params};

struct CreateGadgets;

impl Revision for CreateGadgets {
    fn up(db: &Db) -> Result<()> {
        db.execute_script("CREATE TABLE gadgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
        let insert = match db.dialect() {
            Dialect::Sqlite => "INSERT INTO gadgets (id, name) VALUES (?1, ?2)",
            Dialect::Postgres => "INSERT INTO gadgets (id, name) VALUES ($1, $2)",
        };
        for (id, name) in [(1, "sprocket"), (2, "flange")] {
            db.execute(insert, params![id, name])?;
        }
        db.info("created 2 gadgets from Rust");
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        db.execute_script("DROP TABLE gadgets")?;
        Ok(())
    }
}

export_revision!(CreateGadgets);
"#;

/// `wasmig -C <dir> <args>`, with the tests' component cache, and cargo's target directory shared
/// by every run of this test so that the SDK and wit-bindgen compile once per machine.
fn wasmig_in(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(wasmig_binary());
    command
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("WASMIG_CACHE_DIR", component_cache_dir())
        .env("CARGO_TARGET_DIR", shared_guest_target())
        .env_remove("RUST_LOG");
    command
}

fn succeeds(command: &mut Command) -> String {
    let finished = run(command);
    assert_eq!(finished.code, Some(0), "{command:?}: {finished}");
    format!("{}{}", finished.stdout, finished.stderr)
}

fn revision_dir(project: &Path, name: &str) -> PathBuf {
    project.join("migrations").join(name)
}

#[test]
fn a_rust_revision_from_the_template_builds_and_runs_in_three_commands() {
    let scratch = tempfile::tempdir().unwrap();
    let project = scratch.path().join("project");
    succeeds(&mut wasmig_in(&project, &["init"]));
    let created = succeeds(&mut wasmig_in(&project, &["new", "--rust", "--id", "r1", "-m", "create gadgets"]));
    assert!(created.contains(".wasmig/rust-sdk"), "the SDK is written and said so:\n{created}");
    succeeds(&mut wasmig_in(&project, &["new", "--rust", "--id", "r2", "-m", "from the template"]));
    let sdk = project.join(".wasmig/rust-sdk");
    for file in ["Cargo.toml", "src/lib.rs", "wit/wasmig.wit"] {
        assert!(sdk.join(file).is_file(), "{file} is missing from the SDK copy");
    }
    let manifest = std::fs::read_to_string(revision_dir(&project, "r1_create_gadgets/Cargo.toml")).unwrap();
    assert!(manifest.contains(r#"wasmig-sdk = { path = "../../.wasmig/rust-sdk" }"#), "{manifest}");
    std::fs::write(revision_dir(&project, "r1_create_gadgets/revision.rs"), GADGETS).unwrap();

    let built = succeeds(&mut wasmig_in(&project, &["build"]));
    assert!(built.contains("built r1 (Rust") && built.contains("built r2 (Rust"), "{built}");
    // Reproducible: a fresh build gives the bytes on disk.
    let check = succeeds(&mut wasmig_in(&project, &["build", "--check"]));
    assert!(check.contains("r1 is up to date (Rust)") && check.contains("r2 is up to date (Rust)"), "{check}");

    for engine in Engine::ALL {
        let db = TestDb::fresh(engine);
        let up = run(wasmig(&project, &db).args(["-v", "upgrade"]));
        assert_eq!(up.code, Some(0), "{engine:?}: {up}");
        assert!(up.stderr.contains("created 2 gadgets from Rust"), "{engine:?}: {up}");
        assert!(up.stderr.contains("nothing to apply yet in revision r2"), "{engine:?}: {up}");
        let names = db.texts("SELECT name FROM gadgets ORDER BY id");
        assert_eq!(names, [[Some("sprocket".to_owned())], [Some("flange".to_owned())]], "{engine:?}");
        let down = run(wasmig(&project, &db).args(["-v", "downgrade", "base"]));
        assert_eq!(down.code, Some(0), "{engine:?}: {down}");
        assert!(down.stderr.contains("nothing to revert yet in revision r2"), "{engine:?}: {down}");
        assert!(!db.user_tables().contains("gadgets"), "{engine:?}: {:?}", db.user_tables());
    }

    // An SDK copy that differs (an older wasmig wrote it) is what revisions keep building with...
    let lib = sdk.join("src/lib.rs");
    let shipped = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{shipped}\n// written by an older wasmig\n")).unwrap();
    let kept = succeeds(&mut wasmig_in(&project, &["build"]));
    assert!(kept.contains("differs from this wasmig's") && kept.contains("--sdk-changes"), "{kept}");
    assert!(std::fs::read_to_string(&lib).unwrap().ends_with("// written by an older wasmig\n"));
    // ...until `--sdk-changes` replaces it.
    let replaced = succeeds(&mut wasmig_in(&project, &["build", "--sdk-changes"]));
    assert!(replaced.contains("replaced the Rust guest SDK"), "{replaced}");
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), shipped);
}
