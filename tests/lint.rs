//! The run-time lint on SQLite files and the real PostgreSQL server: each rule fires on a minimal revision and stays silent on its safe form, SQL sent by a component's code is caught like `up.sql`, `deny` rolls back, an allowance passes and is journaled, lock capture, and `wasmig lint`.

use std::collections::BTreeMap;
use std::path::Path;

use wasmig::graph::Target;
use wasmig::{Database, Error, Failure, HookError, JournalEntry, JournalFilter, LintVerdict, NoProgress, RunOptions};
use wasmig::{JournalOutcome, RunReport};
use wasmig_tests::matrix::{
    Engine, TestDb, add_component_revision, extend_manifest, migrator, run, wasmig, write_config, write_revision_file,
};
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, write_sql_project};

/// Tables t1..t20 and `parent`, made by the first revision: they exist before every later one.
fn base(dir: &Path) {
    write_sql_project(dir, &[]);
    let mut up = String::from("CREATE TABLE parent (id INTEGER PRIMARY KEY);\n");
    for n in 1..=20 {
        up.push_str(&format!("CREATE TABLE t{n} (id INTEGER PRIMARY KEY, a INTEGER, b TEXT);\n"));
    }
    add_sql_revision(dir, "a0", &[], &up, "DROP TABLE parent;\n");
}

fn upgrade(dir: &Path, db: &mut Database) -> Result<RunReport, Error> {
    migrator(dir).upgrade(db, &Target::Heads, &RunOptions::default(), &mut NoProgress)
}

/// The rule ids each revision's step found, by revision.
fn found(report: &RunReport) -> BTreeMap<String, Vec<String>> {
    report
        .steps
        .iter()
        .map(|step| (step.revision.clone(), step.lint.iter().map(|finding| finding.rule.id().to_owned()).collect()))
        .collect()
}

fn journal(dir: &Path, db: &mut Database, revision: &str) -> Vec<JournalEntry> {
    let filter = JournalFilter { revisions: vec![revision.to_owned()], limit: None };
    migrator(dir).journal(db, &filter).unwrap()
}

/// (revision, up.sql, the rules it must find), chained in this order.
type Case = (&'static str, &'static str, &'static [&'static str]);

const BOTH_ENGINES: [Case; 11] = [
    ("dt_bad", "DROP TABLE t13;", &["drop-table"]),
    ("dt_good", "CREATE TABLE scratch_x (id INTEGER);\nDROP TABLE scratch_x;", &[]),
    ("dc_bad", "ALTER TABLE t14 DROP COLUMN b;", &["drop-column"]),
    ("dc_good", "ALTER TABLE t14 ADD COLUMN c INTEGER;", &[]),
    ("rt_bad", "ALTER TABLE t15 RENAME TO t15_new;", &["rename-table"]),
    ("rc_bad", "ALTER TABLE t16 RENAME COLUMN b TO b2;", &["rename-column"]),
    ("up_bad", "UPDATE t17 SET a = 1;", &["update-without-where"]),
    ("up_good", "UPDATE t17 SET a = 2 WHERE id < 100;", &[]),
    ("de_bad", "DELETE FROM t18;", &["delete-without-where"]),
    ("de_good", "DELETE FROM t18 WHERE id < 100;", &[]),
    ("new_good", "CREATE TABLE fresh (id INTEGER, a INTEGER);\nUPDATE fresh SET a = 1;\nDELETE FROM fresh;", &[]),
];

const POSTGRES_ONLY: [Case; 18] = [
    ("ix_bad", "CREATE INDEX t1_a ON t1 (a);", &["index-not-concurrent"]),
    ("ty_bad", "ALTER TABLE t3 ALTER COLUMN a TYPE BIGINT;", &["column-type-change"]),
    ("ty_good", "ALTER TABLE t3 ADD COLUMN a2 BIGINT;", &[]),
    ("vd_bad", "ALTER TABLE t4 ADD COLUMN c DOUBLE PRECISION DEFAULT random();", &["volatile-default"]),
    ("vd_good", "ALTER TABLE t4 ADD COLUMN d TIMESTAMPTZ DEFAULT now();", &[]),
    ("nn_bad", "ALTER TABLE t5 ALTER COLUMN a SET NOT NULL;", &["set-not-null"]),
    ("nn_1", "ALTER TABLE t6 ADD CONSTRAINT t6_a_nn CHECK (a IS NOT NULL) NOT VALID;", &[]),
    ("nn_2", "ALTER TABLE t6 VALIDATE CONSTRAINT t6_a_nn;", &[]),
    ("nn_3", "ALTER TABLE t6 ALTER COLUMN a SET NOT NULL;", &[]),
    (
        "fk_bad",
        "ALTER TABLE t7 ADD CONSTRAINT t7_fk FOREIGN KEY (a) REFERENCES parent (id);",
        &["constraint-not-valid"],
    ),
    ("ck_bad", "ALTER TABLE t7 ADD CONSTRAINT t7_ck CHECK (a > 0);", &["constraint-not-valid"]),
    ("fk_good", "ALTER TABLE t8 ADD CONSTRAINT t8_fk FOREIGN KEY (a) REFERENCES parent (id) NOT VALID;", &[]),
    ("tr_bad", "TRUNCATE t9;", &["truncate"]),
    ("tr_good", "DELETE FROM t9 WHERE id < 100;", &[]),
    ("lk_bad", "ALTER TABLE t10 ADD COLUMN c INTEGER;\nINSERT INTO t10 (id) VALUES (1);", &["lock-held"]),
    ("lk_good", "INSERT INTO t11 (id) VALUES (1);\nALTER TABLE t11 ADD COLUMN c INTEGER;", &[]),
    ("rw_bad", "ALTER TABLE t12 SET UNLOGGED;", &["table-rewrite"]),
    ("rw_good", "ALTER TABLE t12 ADD COLUMN c INTEGER;", &[]),
];

fn each_rule_fires_on_a_minimal_revision_and_not_on_its_safe_form(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    let mut cases: Vec<Case> = BOTH_ENGINES.to_vec();
    if engine == Engine::Postgres {
        cases.extend(POSTGRES_ONLY);
        // The safe form of an index: built concurrently, outside a transaction.
        cases.push(("ix_good", "CREATE INDEX CONCURRENTLY t2_a ON t2 (a);", &[]));
    }
    let mut parent = "a0";
    for (id, up, _) in &cases {
        add_sql_revision(dir.path(), id, &[parent], up, "-- wasmig: empty\n");
        parent = id;
    }
    if engine == Engine::Postgres {
        extend_manifest(dir.path(), "ix_good", "transactional = false");
    }
    let mut database = db.connect();
    let report = upgrade(dir.path(), &mut database).expect("warnings never stop a run");
    let found = found(&report);
    assert_eq!(found["a0"], Vec::<String>::new(), "tables made in the step are never findings");
    for (id, _, expected) in &cases {
        assert_eq!(found[*id], *expected, "revision {id}");
    }
    let drop = report.steps.iter().find(|step| step.revision == "dt_bad").unwrap();
    let finding = &drop.lint[0];
    assert_eq!((finding.verdict, finding.statement.as_str()), (LintVerdict::Warn, "DROP TABLE t13"));
    assert!(!finding.why.is_empty() && !finding.alternative.is_empty());
    let rows = journal(dir.path(), &mut database, "dt_bad");
    assert_eq!(rows[0].note.as_deref(), Some("warn drop-table: DROP TABLE t13"), "{rows:#?}");
}

fn code_sent_statements_are_caught_as_up_sql_is(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    add_component_revision(dir.path(), "c1", &["a0"], Fixture::Statements, "");
    let statements =
        "DROP TABLE t1\nUPDATE t2 SET a = 1\nALTER TABLE t3 ADD COLUMN c INTEGER\nINSERT INTO t3 (id) VALUES (1)\n";
    write_revision_file(dir.path(), "c1", "statements.sql", statements);
    let mut database = db.connect();
    let report = upgrade(dir.path(), &mut database).unwrap();
    let held = "warn lock-held: the ACCESS EXCLUSIVE lock on public.t3 that `ALTER TABLE t3 ADD COLUMN c INTEGER` took \
                is held while this runs";
    // One statement per call: the ALTER's lock is seen when the next call comes.
    let (rules, last_note): (&[&str], _) = match engine {
        Engine::Sqlite => (&["drop-table", "update-without-where"], None),
        Engine::Postgres => (&["drop-table", "update-without-where", "lock-held"], Some(held)),
    };
    assert_eq!(found(&report)["c1"], rules);
    let rows = journal(dir.path(), &mut database, "c1");
    let notes: Vec<(&str, Option<&str>)> = rows.iter().map(|row| (row.via.as_str(), row.note.as_deref())).collect();
    assert_eq!(
        notes,
        [
            ("execute", Some("warn drop-table: DROP TABLE t1")),
            ("execute", Some("warn update-without-where: UPDATE t2 without WHERE")),
            ("execute", None),
            ("execute", last_note),
        ]
    );
}

fn deny_rolls_the_revision_back(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    write_config(dir.path(), "[lint]\ndrop-column = \"deny\"\ndrop-table = \"deny\"\n");
    add_sql_revision(
        dir.path(),
        "b1",
        &["a0"],
        "INSERT INTO t1 (id, b) VALUES (1, 'kept?');\nALTER TABLE t1 DROP COLUMN b;\n",
        "-- wasmig: empty\n",
    );
    let mut database = db.connect();
    let error = upgrade(dir.path(), &mut database).expect_err("a deny finding fails the run");
    let Failure::Hook(HookError::Lint { denied, .. }) = error.failure() else { panic!("{error:?}") };
    assert_eq!((denied.finding.rule.id(), denied.finding.revision.as_str()), ("drop-column", "b1"));
    let message = error.to_string();
    for needed in ["revision b1", "`drop-column`", "ALTER TABLE t1 DROP COLUMN b", "[lint.allow]", "rolled back"] {
        assert!(message.contains(needed), "{needed}: {message}");
    }
    assert_eq!(error.committed_steps(), 1, "a0 committed, b1 did not");
    assert_eq!(error.failed_step(), Some("b1"));
    // Nothing of b1 stayed: not its row, not its column change.
    assert_eq!(db.texts("SELECT count(*) FROM t1"), [[Some("0".to_owned())]]);
    assert_eq!(db.texts("SELECT b FROM t1"), Vec::<Vec<Option<String>>>::new(), "column b is still there");
    assert!(!db.recorded().contains("b1"));
    let rows = journal(dir.path(), &mut database, "b1");
    let last = rows.last().unwrap();
    assert_eq!(last.outcome, JournalOutcome::RolledBack);
    assert!(last.note.as_deref().is_some_and(|note| note.starts_with("deny drop-column")), "{rows:#?}");
    assert_eq!(last.error_code.as_deref(), Some("WASMIG"), "refused before it ran");

    // A statement a component's code sends is denied the same way.
    std::fs::remove_dir_all(dir.path().join("migrations/b1")).unwrap();
    add_component_revision(dir.path(), "c1", &["a0"], Fixture::Statements, "");
    write_revision_file(dir.path(), "c1", "statements.sql", "INSERT INTO t2 (id) VALUES (5)\nDROP TABLE t2\n");
    let error = upgrade(dir.path(), &mut database).expect_err("denied");
    assert!(matches!(error.failure(), Failure::Hook(HookError::Lint { .. })), "{error}");
    assert_eq!(db.texts("SELECT count(*) FROM t2"), [[Some("0".to_owned())]], "t2 is there, its insert undone");
}

fn an_allowed_rule_passes_and_is_journaled(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    write_config(dir.path(), "[lint]\ndrop-column = \"deny\"\n");
    add_sql_revision(dir.path(), "b1", &["a0"], "ALTER TABLE t1 DROP COLUMN b;\n", "-- wasmig: empty\n");
    let mut database = db.connect();
    upgrade(dir.path(), &mut database).expect_err("not allowed yet");
    let reason = "nothing has read t1.b since release 4.2";
    extend_manifest(dir.path(), "b1", &format!("[lint.allow]\ndrop-column = \"{reason}\""));
    let report = upgrade(dir.path(), &mut database).expect("allowed");
    let finding = &report.steps[0].lint[0];
    assert_eq!((finding.verdict, finding.reason.as_deref()), (LintVerdict::Allowed, Some(reason)));
    assert_eq!(db.texts("SELECT count(*) FROM t1"), [[Some("0".to_owned())]]);
    let rows = journal(dir.path(), &mut database, "b1");
    let committed = rows.iter().find(|row| row.outcome == JournalOutcome::Committed).unwrap();
    assert_eq!(
        committed.note.as_deref(),
        Some(format!("allowed drop-column (reason: {reason}): DROP COLUMN b on t1").as_str())
    );
    let event = db.events().into_iter().rev().find(|event| event.event == "upgrade").unwrap();
    assert!(event.detail.as_deref().is_some_and(|detail| detail.contains("lint: allowed drop-column")), "{event:?}");
    // The allowance is not part of the checksum: removing it is no drift.
    std::fs::write(
        dir.path().join("migrations/b1/revision.toml"),
        "id = \"b1\"\nmessage = \"revision b1\"\nparents = [\"a0\"]\nkind = \"sql\"\n",
    )
    .unwrap();
    let status = migrator(dir.path()).status(&mut database).unwrap();
    assert!(status.drift.is_empty(), "{:?}", status.drift);
}

on_every_engine!(
    each_rule_fires_on_a_minimal_revision_and_not_on_its_safe_form,
    code_sent_statements_are_caught_as_up_sql_is,
    deny_rolls_the_revision_back,
    an_allowed_rule_passes_and_is_journaled,
    lint_command_exit_codes_and_json,
);

/// PostgreSQL only: an observed `deny` (the statement ran) still rolls back.
#[test]
fn an_observed_deny_rolls_back_on_postgres() {
    let db = TestDb::fresh(Engine::Postgres);
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    write_config(dir.path(), "[lint]\ntable-rewrite = \"deny\"\n");
    add_sql_revision(dir.path(), "b1", &["a0"], "ALTER TABLE t1 SET UNLOGGED;\n", "-- wasmig: empty\n");
    let mut database = db.connect();
    let error = upgrade(dir.path(), &mut database).expect_err("the rewrite is denied");
    let Failure::Hook(HookError::Lint { denied, .. }) = error.failure() else { panic!("{error:?}") };
    assert_eq!(denied.finding.rule.id(), "table-rewrite");
    assert_eq!(db.texts("SELECT relpersistence::text FROM pg_class WHERE relname = 't1'"), [[Some("p".to_owned())]]);
    assert!(!db.recorded().contains("b1"));
}

/// PostgreSQL only: `[journal] locks = true` records the strongest lock of
/// each statement; a journal an older wasmig made gets the columns.
#[test]
fn lock_capture_on_postgres_and_an_older_journal() {
    let db = TestDb::fresh(Engine::Postgres);
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    let mut database = db.connect();
    upgrade(dir.path(), &mut database).unwrap();
    // The journal as the first release made it, without the lock columns.
    db.execute(
        "ALTER TABLE wasmig_journal DROP COLUMN lock_mode; ALTER TABLE wasmig_journal DROP COLUMN lock_relation",
    );
    let older = journal(dir.path(), &mut database, "a0");
    assert!(!older.is_empty() && older.iter().all(|row| row.lock_mode.is_none()), "an older journal reads");
    write_config(dir.path(), "[journal]\nlocks = true\n");
    add_sql_revision(dir.path(), "b1", &["a0"], "INSERT INTO t1 (id) VALUES (1);\n", "-- wasmig: empty\n");
    add_sql_revision(dir.path(), "b2", &["b1"], "ALTER TABLE t1 ADD COLUMN c INTEGER;\n", "-- wasmig: empty\n");
    upgrade(dir.path(), &mut database).unwrap();
    let locks = |revision: &str| {
        journal(dir.path(), &mut db.connect(), revision)
            .into_iter()
            .map(|row| (row.lock_mode, row.lock_relation))
            .collect::<Vec<_>>()
    };
    assert_eq!(locks("b1"), [(Some("ROW EXCLUSIVE".to_owned()), Some("public.t1".to_owned()))]);
    assert_eq!(locks("b2"), [(Some("ACCESS EXCLUSIVE".to_owned()), Some("public.t1".to_owned()))]);
}

fn lint_command_exit_codes_and_json(engine: Engine) {
    let db = TestDb::fresh(engine);
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    add_sql_revision(dir.path(), "b1", &["a0"], "ALTER TABLE t1 DROP COLUMN b;\n", "-- wasmig: empty\n");
    add_sql_revision(dir.path(), "b2", &["b1"], "UPDATE t2 SET a = 1 WHERE id = 1;\n", "-- wasmig: empty\n");
    let warned = run(wasmig(dir.path(), &db).args(["--format", "json", "lint"]));
    assert_eq!(warned.code, Some(0), "{warned}");
    let doc: serde_json::Value = serde_json::from_str(&warned.stdout).unwrap();
    assert_eq!((doc["denied"].as_bool(), doc["counts"]["warn"].as_u64()), (Some(false), Some(1)), "{doc:#}");
    assert_eq!(doc["revisions"].as_array().unwrap().len(), 3);
    let b1 = &doc["revisions"][1];
    assert_eq!((b1["revision"].as_str(), b1["findings"][0]["rule"].as_str()), (Some("b1"), Some("drop-column")));
    assert_eq!(b1["findings"][0]["verdict"].as_str(), Some("warn"));
    assert!(db.user_tables().is_empty(), "the given database is never written: {:?}", db.user_tables());

    write_config(dir.path(), "[lint]\ndrop-column = \"deny\"\n");
    let denied = run(wasmig(dir.path(), &db).args(["--format", "json", "lint", "b1"]));
    assert_eq!(denied.code, Some(3), "{denied}");
    let doc: serde_json::Value = serde_json::from_str(&denied.stdout).unwrap();
    assert_eq!((doc["denied"].as_bool(), doc["replayed"].as_u64()), (Some(true), Some(1)), "{doc:#}");
    assert_eq!(doc["revisions"].as_array().unwrap().len(), 1, "only b1 is linted");
    assert_eq!(doc["revisions"][0]["findings"][0]["verdict"].as_str(), Some("deny"));

    let only_b2 = run(wasmig(dir.path(), &db).args(["lint", "b2"]));
    assert_eq!(only_b2.code, Some(0), "b1 is replayed, not linted: {only_b2}");
    assert!(only_b2.stdout.contains("0 deny, 0 warn"), "{only_b2}");

    let upgrade = run(wasmig(dir.path(), &db).arg("upgrade"));
    assert_eq!(upgrade.code, Some(1), "{upgrade}");
    assert!(upgrade.stderr.contains("lint rule `drop-column` is deny"), "{upgrade}");
    write_config(dir.path(), "");
    let upgrade = run(wasmig(dir.path(), &db).arg("upgrade"));
    assert_eq!(upgrade.code, Some(0), "{upgrade}");
    assert!(upgrade.stderr.contains("warning: revision b1: lint drop-column (warn)"), "{upgrade}");
}
