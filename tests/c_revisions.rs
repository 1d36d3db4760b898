//! C revisions, built by `wasmig build` from `revision.c` (wit-bindgen's C generator, clang-16 and
//! wasi-libc, no WASI import): one creates a table, fills it with one `wasmig_execute_many` (the
//! count it returns reaches the log) and goes down again, one fails with its own message, which
//! reaches the user while its row rolls back, on SQLite and PostgreSQL; the `wasmig new --c`
//! template builds and runs; a C revision that reaches for the clock is refused, naming the import.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasmig_tests::built::{built_in_place, built_project, wasmig_build};
use wasmig_tests::matrix::{Engine, TestDb, run, wasmig, wasmig_binary};
use wasmig_tests::{on_every_engine, workspace_root};

fn c_guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| built_in_place(&workspace_root().join("tests/fixtures/c-guests")))
}

fn gadget_names(db: &TestDb) -> Vec<String> {
    db.texts("SELECT name FROM gadgets ORDER BY id").into_iter().map(|row| row[0].clone().unwrap()).collect()
}

fn a_c_revision_goes_up_and_down(engine: Engine) {
    let db = TestDb::fresh(engine);
    let up = run(wasmig(c_guests(), &db).args(["-v", "upgrade", "c1"]));
    assert_eq!(up.code, Some(0), "{up}");
    assert!(up.stderr.contains("created 3 gadgets from C"), "printf reaches the log:\n{up}");
    assert_eq!(gadget_names(&db), ["sprocket-1", "flange-2", "grommet-3"]);
    assert_eq!(db.texts("SELECT count(*) FROM gadgets WHERE weight = 1.5"), [[Some("1".to_owned())]]);

    let verify = run(wasmig(c_guests(), &db).args(["--format", "json", "verify"]));
    assert!(verify.stdout.contains("\"present\""), "verify() sees the table:\n{verify}");

    let down = run(wasmig(c_guests(), &db).args(["downgrade", "base"]));
    assert_eq!(down.code, Some(0), "{down}");
    assert!(!db.user_tables().contains("gadgets"), "{:?}", db.user_tables());
    assert!(db.recorded().is_empty());
}

fn a_failing_c_revision_says_why_and_rolls_back(engine: Engine) {
    let db = TestDb::fresh(engine);
    let failed = run(wasmig(c_guests(), &db).args(["upgrade", "c2"]));
    assert_eq!(failed.code, Some(1), "{failed}");
    assert!(failed.stderr.contains("the gadget count is 4; the import needs 5"), "the guest's message:\n{failed}");
    assert!(failed.stderr.contains("c2"), "the revision is named:\n{failed}");
    assert_eq!(gadget_names(&db), ["sprocket-1", "flange-2", "grommet-3"], "the row c2 wrote is rolled back");
    assert_eq!(db.recorded().into_iter().collect::<Vec<_>>(), ["c1"]);
}

on_every_engine!(a_c_revision_goes_up_and_down, a_failing_c_revision_says_why_and_rolls_back);

#[test]
fn the_c_template_builds_and_runs_and_a_call_needing_wasi_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("project");
    let wasmig_in = |dir: &Path, args: &[&str]| {
        run(std::process::Command::new(wasmig_binary()).arg("-C").arg(dir).args(args).env_remove("RUST_LOG"))
    };
    assert_eq!(wasmig_in(&source, &["init"]).code, Some(0));
    let new = wasmig_in(&source, &["new", "--c", "--id", "k1", "-m", "from the c template"]);
    assert_eq!(new.code, Some(0), "{new}");
    let project = built_project("c-template", &source);
    for engine in Engine::ALL {
        let db = TestDb::fresh(engine);
        let up = run(wasmig(&project, &db).args(["-v", "upgrade"]));
        assert_eq!(up.code, Some(0), "{engine:?}: {up}");
        assert!(up.stderr.contains("nothing to apply yet in revision k1"), "{engine:?}: {up}");
        let down = run(wasmig(&project, &db).args(["-v", "downgrade", "base"]));
        assert_eq!(down.code, Some(0), "{engine:?}: {down}");
        assert!(down.stderr.contains("nothing to revert yet in revision k1"), "{engine:?}: {down}");
    }

    let new = wasmig_in(&project, &["new", "--c", "--id", "k2", "-m", "reads the clock"]);
    assert_eq!(new.code, Some(0), "{new}");
    let clock = project.join("migrations/k2_reads_the_clock");
    std::fs::write(
        clock.join("revision.c"),
        "#include <time.h>\n#include \"wasmig.h\"\n\
         bool exports_revision_up(revision_string_t *err) { printf(\"%lld\\n\", (long long)time(NULL)); (void)err; return true; }\n\
         bool exports_revision_down(revision_string_t *err) { (void)err; return true; }\n\
         bool exports_revision_verify(revision_verdict_t *v, revision_string_t *err) { (void)err; *v = 2; return true; }\n",
    )
    .unwrap();
    let refused = run(wasmig_build(&project).arg("k2"));
    assert_eq!(refused.code, Some(1), "{refused}");
    for expected in
        ["revision k2 imports `clock_time_get` from `wasi_snapshot_preview1`", "time()", "wasmig:revision/*"]
    {
        assert!(refused.stderr.contains(expected), "missing {expected:?}:\n{refused}");
    }
    assert!(!clock.join("revision.wasm").exists(), "nothing is written for a refused revision");
}
