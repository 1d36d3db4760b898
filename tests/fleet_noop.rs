//! Fleets that have nothing to do: PostgreSQL schema tenants are read together, a few queries per database, and SQLite files alone without a write, so `tenants status` and a no-op `tenants upgrade` take no tenant's lock; a tenant that is behind still goes through its own lock and is migrated exactly once. Also: a fleet that keeps no report still counts and tells of every tenant.
//!
//! "No lock" is observed through the database: another session holds one
//! tenant's migration lock (PostgreSQL) or a write transaction on its file
//! (SQLite), and a short `migration_lock_timeout_ms` would fail that tenant
//! if the fleet tried to take it.

use std::time::Duration;

use wasmig::backend::Backend;
use wasmig::fleet::{Fleet, FleetAction, NoFleetProgress, TenantOutcome, TenantSource};
use wasmig::graph::Target;
use wasmig::sql::Value;
use wasmig_tests::matrix::{migrator, write_chain_of, write_config};
use wasmig_tests::postgres::TestDatabase;

const TENANTS: usize = 12;

fn tenant(index: usize) -> String {
    format!("t_{index:02}")
}

/// `r1` <- `r2` <- `r3`, each creating its table, with a short migration
/// lock timeout so that a fleet that waited for a held lock would fail.
fn three_revisions() -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    write_chain_of(project.path(), &["r1", "r2", "r3"]);
    write_config(project.path(), "[database]\nmigration_lock_timeout_ms = 200\n");
    project
}

struct Scene {
    database: TestDatabase,
    project: tempfile::TempDir,
}

impl Scene {
    fn new() -> Self {
        let database = TestDatabase::create();
        database.create_schemas((0..TENANTS).map(tenant));
        Scene { database, project: three_revisions() }
    }

    fn fleet(&self) -> Fleet {
        Fleet::new(migrator(self.project.path())).jobs(3)
    }

    fn tenants(&self) -> Vec<wasmig::fleet::Tenant> {
        TenantSource::parse(&self.database.url_with("schemas=t\\_%")).unwrap().tenants().unwrap()
    }

    fn url_of(&self, schema: &str) -> String {
        self.database.url_with(&format!("schema={schema}"))
    }

    fn count(&self, sql: &str) -> i64 {
        match self.database.connect().query(sql, &[]).unwrap().values[0][0] {
            Value::Integer(count) => count,
            ref other => panic!("{sql}: {other:?}"),
        }
    }
}

#[test]
fn a_fleet_at_heads_is_answered_without_any_tenant_lock() {
    let scene = Scene::new();
    let report = scene.fleet().run(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert_eq!(report.count(TenantOutcome::Ok), TENANTS, "{report:#?}");

    // Another process holds tenant 5's migration lock.
    let mut holder = scene.database.connect_schema(&tenant(5));
    let key = format!("wasmig:{}:wasmig_", tenant(5));
    let guard = holder.lock(&key, Duration::from_secs(5)).unwrap();

    let status = scene.fleet().run(scene.tenants(), &FleetAction::Status, &NoFleetProgress);
    assert_eq!(status.count(TenantOutcome::Ok), TENANTS, "{status:#?}");
    assert!(status.tenants.iter().all(|t| t.status.as_ref().is_some_and(|s| s.at_heads)), "{status:#?}");
    let noop = scene.fleet().run(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert_eq!(noop.count(TenantOutcome::Ok), TENANTS, "a no-op upgrade waited for no lock: {noop:#?}");
    assert!(noop.tenants.iter().all(|t| t.revisions.is_empty()));
    assert_eq!(scene.count("SELECT count(*) FROM t_05.wasmig_events WHERE event = 'upgrade'"), 3);

    drop(guard);

    // Behind: tenant 5 lost r3 and tenant 99 never had anything (a new
    // schema without the version tables). Both are read as behind and take
    // the usual path: 5 waits for its lock (held again) and fails, 99 is migrated.
    let project = migrator(scene.project.path());
    let mut five = project.connect(&scene.url_of("t_05")).unwrap();
    project
        .downgrade(&mut five, &Target::parse("r2").unwrap(), &wasmig::RunOptions::default(), &mut wasmig::NoProgress)
        .unwrap();
    scene.database.connect().execute_script("CREATE SCHEMA t_99").unwrap();
    let guard = holder.lock(&key, Duration::from_secs(5)).unwrap();
    let status = scene.fleet().run(scene.tenants(), &FleetAction::Status, &NoFleetProgress);
    let pending = |name: &str| status.tenant(name).and_then(|t| t.status.as_ref()).map(|s| s.pending.clone()).unwrap();
    assert_eq!(pending("t_05"), ["r3"]);
    assert_eq!(pending("t_99"), ["r1", "r2", "r3"]);
    assert_eq!(pending("t_00"), Vec::<String>::new());
    let run = scene.fleet().run(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert_eq!(run.tenant("t_05").unwrap().outcome, TenantOutcome::Failed, "{run:#?}");
    assert!(run.tenant("t_05").unwrap().error.as_deref().unwrap_or_default().contains("migration lock"), "{run:#?}");
    assert_eq!(run.tenant("t_99").unwrap().revisions, ["r1", "r2", "r3"]);
    drop(guard);

    // Once the lock is free tenant 5 gets r3, once.
    let run = scene.fleet().run(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert_eq!(run.tenant("t_05").unwrap().revisions, ["r3"], "{run:#?}");
    assert_eq!(scene.count("SELECT count(*) FROM t_05.wasmig_revisions"), 3);
    assert_eq!(scene.count("SELECT count(*) FROM t_05.wasmig_events WHERE event = 'upgrade' AND revision = 'r3'"), 2);
    assert_eq!(scene.count("SELECT count(*) FROM t_99.wasmig_events WHERE event = 'upgrade'"), 3);
    assert_eq!(run.count(TenantOutcome::Ok), TENANTS + 1);
}

/// Two shards (two databases) checked at once: exit 3 naming every tenant
/// not at heads, through the CLI and the library.
#[test]
fn status_check_over_several_shards_names_every_tenant_behind() {
    let first = Scene::new();
    let second = TestDatabase::create();
    second.connect().execute_script("CREATE SCHEMA u_01; CREATE SCHEMA u_02").unwrap();
    first.fleet().run(first.tenants(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    let second_source = second.url_with("schemas=u\\_%");
    let project = migrator(first.project.path());
    let mut one = project.connect(&second.url_with("schema=u_01")).unwrap();
    project.upgrade(&mut one, &Target::Heads, &wasmig::RunOptions::default(), &mut wasmig::NoProgress).unwrap();

    let first_source = first.database.url_with("schemas=t\\_%");
    let sources = [TenantSource::parse(&first_source).unwrap(), TenantSource::parse(&second_source).unwrap()];
    let tenants = TenantSource::tenants_of(&sources).unwrap();
    assert_eq!(tenants.len(), TENANTS + 2);
    let report = first.fleet().run(tenants, &FleetAction::Status, &NoFleetProgress);
    let behind: Vec<&str> = report.not_at_heads().map(|t| t.tenant.as_str()).collect();
    assert_eq!(behind, ["u_02"]);

    let finished = wasmig_tests::matrix::run(
        std::process::Command::new(wasmig_tests::matrix::wasmig_binary())
            .args(["tenants", "status", "--check", "--tenants", &first_source, "--tenants", &second_source])
            .current_dir(first.project.path()),
    );
    assert_eq!(finished.code, Some(3), "{finished:?}");
    assert!(finished.stderr.contains("not at heads (1 of 14 tenants): u_02"), "{finished:?}");
    assert!(finished.stdout.is_empty(), "{finished:?}");

    // The same schema name on two shards is refused: names must be unique.
    let twice = [TenantSource::parse(&first_source).unwrap(), TenantSource::parse(&first_source).unwrap()];
    assert!(TenantSource::tenants_of(&twice).is_err());
}

/// SQLite files at heads are answered from a read that neither creates nor
/// writes anything: a tenant whose file another connection is writing to is
/// still `ok`, no file changes by a byte, and a tenant that fell behind is
/// migrated exactly once.
#[test]
fn sqlite_files_at_heads_are_answered_without_a_write() {
    let project = three_revisions();
    let files = tempfile::tempdir().unwrap();
    let tenants: Vec<wasmig::fleet::Tenant> = (0..6)
        .map(|i| {
            wasmig::fleet::Tenant::new(
                tenant(i),
                format!("sqlite:{}", files.path().join(format!("{}.db", tenant(i))).display()),
            )
        })
        .collect();
    let fleet = Fleet::new(migrator(project.path())).jobs(2);
    let first = fleet.run(tenants.clone(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert!(first.all_ok(), "{first:#?}");
    let bytes = || -> Vec<Vec<u8>> {
        (0..6).map(|i| std::fs::read(files.path().join(format!("{}.db", tenant(i)))).unwrap()).collect()
    };
    let before = bytes();

    // Another connection is writing to tenant 2's file.
    let writer = rusqlite::Connection::open(files.path().join(format!("{}.db", tenant(2)))).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE; CREATE TABLE app_data (id int);").unwrap();
    let noop = fleet.run(tenants.clone(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert!(noop.all_ok(), "a no-op upgrade wrote nothing, so waited for nothing: {noop:#?}");
    assert_eq!(noop.counts.revisions, 0);
    let status = fleet.run(tenants.clone(), &FleetAction::Status, &NoFleetProgress);
    assert!(status.all_at_heads(), "{status:#?}");
    writer.execute_batch("ROLLBACK").unwrap();
    assert_eq!(bytes(), before, "no file changed");

    // A tenant that fell behind, and a file that does not exist yet.
    let project_migrator = migrator(project.path());
    let mut one = project_migrator.connect(&tenants[1].url).unwrap();
    project_migrator
        .downgrade(&mut one, &Target::parse("r2").unwrap(), &wasmig::RunOptions::default(), &mut wasmig::NoProgress)
        .unwrap();
    drop(one);
    let mut tenants = tenants;
    tenants.push(wasmig::fleet::Tenant::new("new", format!("sqlite:{}", files.path().join("new.db").display())));
    let status = fleet.run(tenants.clone(), &FleetAction::Status, &NoFleetProgress);
    let behind: Vec<&str> = status.not_at_heads().map(|t| t.tenant.as_str()).collect();
    assert_eq!(behind, ["t_01", "new"], "{status:#?}");
    assert!(!files.path().join("new.db").exists(), "status created no file");
    let run = fleet.run(tenants.clone(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert_eq!(run.tenant("t_01").unwrap().revisions, ["r3"], "{run:#?}");
    assert_eq!(run.tenant("new").unwrap().revisions, ["r1", "r2", "r3"], "{run:#?}");
    assert_eq!(run.counts.revisions, 4);
    let again = fleet.run(tenants, &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert_eq!(again.counts.revisions, 0, "{again:#?}");
}

/// `keep_reports(false)`: the report keeps no tenant, yet counts every one,
/// and the listener hears each tenant's report exactly once.
#[test]
fn a_fleet_that_keeps_no_report_still_counts_and_tells_every_tenant() {
    let scene = Scene::new();
    scene.database.connect().execute_script("CREATE TABLE t_03.t_r1 (id int)").unwrap();
    let heard = std::sync::Mutex::new(Vec::new());
    let listener = |event: wasmig::FleetEvent| {
        if let wasmig::FleetEvent::Finished(report) = event {
            heard.lock().unwrap().push((report.tenant, report.outcome, report.revisions.len()));
        }
    };
    let report =
        scene.fleet().keep_reports(false).run(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &listener);
    assert!(report.tenants.is_empty(), "{report:#?}");
    assert_eq!(
        (report.counts.tenants, report.counts.ok, report.counts.failed, report.counts.revisions),
        (TENANTS, TENANTS - 1, 1, (TENANTS - 1) * 3),
        "{report:#?}"
    );
    assert!(!report.all_ok());
    let mut heard = heard.into_inner().unwrap();
    heard.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(heard.len(), TENANTS);
    assert_eq!(heard[3], (tenant(3), TenantOutcome::Failed, 0), "t_03's r1 found its table taken");
    let status = scene.fleet().keep_reports(false).run(scene.tenants(), &FleetAction::Status, &NoFleetProgress);
    assert_eq!((status.counts.not_at_heads, status.all_at_heads()), (1, false), "{status:#?}");
}

/// The tenants of a database are read together, so one tenant must not be
/// able to spoil the read for the others: a tenant whose version table was
/// tampered with (a column dropped, text where a timestamp belongs) fails
/// alone, naming its table, while the others are answered as before; schema
/// names that need quoting (quotes, a backslash, a space) are read like any other.
#[test]
fn a_tampered_version_table_fails_its_own_tenant_and_no_other() {
    let scene = Scene::new();
    let awkward = ["t_it's", "t_\"quoted\"", "t_back\\slash", "t_with space"];
    scene.database.create_schemas(awkward.iter().map(|name| (*name).to_owned()));
    let everyone = TENANTS + awkward.len();
    let first = scene.fleet().run(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    assert_eq!(first.count(TenantOutcome::Ok), everyone, "{first:#?}");
    for name in awkward {
        assert_eq!(first.tenant(name).unwrap().revisions, ["r1", "r2", "r3"], "{first:#?}");
    }

    scene
        .database
        .connect()
        .execute_script(
            "ALTER TABLE t_03.wasmig_revisions DROP COLUMN checksum; \
             ALTER TABLE t_07.wasmig_revisions ALTER COLUMN applied_at TYPE text USING 'not a time'",
        )
        .unwrap();
    let dump_before = scene.database.dump();
    for action in [FleetAction::Status, FleetAction::Upgrade(Target::Heads)] {
        let report = scene.fleet().run(scene.tenants(), &action, &NoFleetProgress);
        for broken in ["t_03", "t_07"] {
            let tenant = report.tenant(broken).unwrap();
            assert_eq!(tenant.outcome, TenantOutcome::Failed, "{action:?}: {report:#?}");
            assert!(tenant.error.as_deref().unwrap_or_default().contains("wasmig_revisions"), "{report:#?}");
        }
        assert_eq!(report.count(TenantOutcome::Ok), everyone - 2, "{action:?}: {report:#?}");
        assert!(report.tenants.iter().all(|t| t.revisions.is_empty()), "{report:#?}");
    }
    assert_eq!(scene.database.dump(), dump_before, "reading the fleet changed nothing, in any tenant");
}

/// The same on SQLite files, read without a lock: a file whose version
/// table lost a column, and a file that is not a database at all, fail
/// alone; every file, theirs included, is left as it was, byte for byte.
#[test]
fn a_tampered_sqlite_tenant_fails_alone_and_no_file_changes() {
    let project = three_revisions();
    let files = tempfile::tempdir().unwrap();
    let path = |i: usize| files.path().join(format!("{}.db", tenant(i)));
    let tenants: Vec<wasmig::fleet::Tenant> =
        (0..5).map(|i| wasmig::fleet::Tenant::new(tenant(i), format!("sqlite:{}", path(i).display()))).collect();
    let fleet = Fleet::new(migrator(project.path())).jobs(2);
    assert!(fleet.run(tenants.clone(), &FleetAction::Upgrade(Target::Heads), &NoFleetProgress).all_ok());
    rusqlite::Connection::open(path(1))
        .unwrap()
        .execute_batch("ALTER TABLE wasmig_revisions DROP COLUMN checksum")
        .unwrap();
    std::fs::write(path(3), b"not a database, but a file with the tenant's name").unwrap();
    let bytes = || -> Vec<Vec<u8>> { (0..5).map(|i| std::fs::read(path(i)).unwrap()).collect() };
    let before = bytes();
    for action in [FleetAction::Status, FleetAction::Upgrade(Target::Heads)] {
        let report = fleet.run(tenants.clone(), &action, &NoFleetProgress);
        for broken in [1, 3] {
            assert_eq!(report.tenant(&tenant(broken)).unwrap().outcome, TenantOutcome::Failed, "{report:#?}");
        }
        assert!(
            report.tenant(&tenant(1)).unwrap().error.as_deref().unwrap_or_default().contains("wasmig_revisions"),
            "{report:#?}"
        );
        assert_eq!(report.count(TenantOutcome::Ok), 3, "{action:?}: {report:#?}");
        assert_eq!(bytes(), before, "{action:?} changed a file");
    }
}
