//! Fleets: 200 SQLite tenant files and 50 PostgreSQL schemas migrated by one `Fleet` (and by `wasmig tenants`), a failing tenant isolated and resumed, canary and fail-fast waves, two concurrent fleet runs, and one compile per module.
//!
//! Every scenario runs on both engines (`on_every_engine!`). The project
//! has 30 revisions: a chain of 14, two branches of 7, a merge and one
//! revision after it; every SQL revision creates table `t_<id>`, so a
//! tenant whose database already holds `t_r10` fails at `r10`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, mpsc};

use wasmig::Migrator;
use wasmig::backend::Backend;
use wasmig::fleet::{
    Fleet, FleetAction, FleetEvent, FleetReport, NoFleetProgress, Tenant, TenantOutcome, TenantSource,
};
use wasmig::graph::Target;
use wasmig::runtime::{Runtime, RuntimeConfig};
use wasmig::sql::Value;
use wasmig_tests::matrix::{
    Engine, Finished, add_component_revision, component_cache_dir, run, shared_runtime, wasmig_binary,
};
use wasmig_tests::postgres::TestDatabase;
use wasmig_tests::{Fixture, add_sql_revision, on_every_engine, sqlite_dump, write_sql_project};

on_every_engine!(
    a_fleet_reaches_heads_isolates_a_failing_tenant_and_a_rerun_completes_only_it,
    a_failing_canary_wave_leaves_every_other_tenant_untouched,
    fail_fast_starts_no_tenant_after_a_failure,
    two_concurrent_fleet_runs_apply_each_revision_once_per_tenant,
    the_cli_reports_every_tenant_and_exits_1_when_one_failed,
    every_tenant_sees_its_own_name_as_context_tenant,
);

/// The tenant whose database is made to conflict with revision `r10`.
const POISONED: usize = 7;
const CONFLICT: &str = "CREATE TABLE t_r10 (squatter TEXT)";

/// The 30 revisions in the order the plan applies them, and the merge.
fn write_project(dir: &Path) -> Vec<String> {
    let create =
        |id: &str| (format!("CREATE TABLE t_{id} (id INTEGER PRIMARY KEY, note TEXT)"), format!("DROP TABLE t_{id}"));
    write_sql_project(dir, &[]);
    let mut ids: Vec<String> = Vec::new();
    let mut parent: Option<String> = None;
    for index in 0..14 {
        let id = format!("r{index:02}");
        let (up, down) = create(&id);
        add_sql_revision(
            dir,
            &id,
            parent.as_slice().iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
            &up,
            &down,
        );
        ids.push(id.clone());
        parent = Some(id);
    }
    let branch_point = parent.expect("the chain has revisions");
    let mut branch_heads = Vec::new();
    for branch in ["a", "b"] {
        let mut parent = branch_point.clone();
        for index in 14..21 {
            let id = format!("{branch}{index:02}");
            let (up, down) = create(&id);
            add_sql_revision(dir, &id, &[parent.as_str()], &up, &down);
            ids.push(id.clone());
            parent = id;
        }
        branch_heads.push(parent);
    }
    add_sql_revision(dir, "m21", &[branch_heads[0].as_str(), branch_heads[1].as_str()], "", "");
    ids.push("m21".into());
    let (up, down) = create("r22");
    add_sql_revision(dir, "r22", &["m21"], &up, &down);
    ids.push("r22".into());
    assert_eq!(ids.len(), 30);
    ids
}

fn migrator_with(dir: &Path, runtime: Arc<Runtime>) -> Migrator {
    Migrator::open_with(dir, runtime).expect("the test project opens")
}

fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|item| item.as_ref().to_owned()).collect()
}

fn tenant_name(index: usize) -> String {
    format!("tenant_{index:03}")
}

/// A fleet of tenants on one engine: SQLite files in a temporary directory,
/// or schemas of one fresh PostgreSQL database.
enum Tenants {
    Sqlite { dir: tempfile::TempDir },
    Postgres { database: TestDatabase },
}

impl Tenants {
    fn create(engine: Engine, count: usize) -> Self {
        let tenants = match engine {
            Engine::Sqlite => Tenants::Sqlite { dir: tempfile::tempdir().expect("a directory for the tenants") },
            Engine::Postgres => Tenants::Postgres { database: TestDatabase::create() },
        };
        match &tenants {
            Tenants::Sqlite { dir } => {
                for index in 0..count {
                    // An empty file is a valid, empty SQLite database.
                    std::fs::write(dir.path().join(format!("{}.db", tenant_name(index))), "").unwrap();
                }
            }
            Tenants::Postgres { database } => {
                let script: String = (0..count).map(|index| format!("CREATE SCHEMA {};", tenant_name(index))).collect();
                database.connect().execute_script(&script).expect("create the tenant schemas");
            }
        }
        tenants
    }

    /// The `--tenants` source naming every tenant.
    fn source(&self) -> String {
        match self {
            Tenants::Sqlite { dir } => format!("sqlite:{}/*.db", dir.path().display()),
            Tenants::Postgres { database } => format!("{}?schemas=tenant\\_%", database.url()),
        }
    }

    fn list(&self) -> Vec<Tenant> {
        TenantSource::parse(&self.source()).expect("the source parses").tenants().expect("the tenants are listed")
    }

    fn connect(&self, index: usize) -> Box<dyn Backend> {
        let name = tenant_name(index);
        match self {
            Tenants::Sqlite { dir } => Box::new(
                wasmig::backend::sqlite::SqliteBackend::open(
                    &dir.path().join(format!("{name}.db")),
                    std::time::Duration::from_secs(30),
                )
                .expect("open a tenant file"),
            ),
            Tenants::Postgres { database } => Box::new(database.connect_schema(&name)),
        }
    }

    fn execute(&self, index: usize, sql: &str) {
        self.connect(index).execute_script(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    fn texts(&self, index: usize, sql: &str) -> Vec<Vec<String>> {
        match self.connect(index).query(sql, &[]) {
            Ok(rows) => rows
                .values
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|value| match value {
                            Value::Text(text) => text,
                            Value::Integer(number) => number.to_string(),
                            other => format!("{other:?}"),
                        })
                        .collect()
                })
                .collect(),
            // No version tables yet: nothing applied, no events.
            Err(_) => Vec::new(),
        }
    }

    fn applied(&self, index: usize) -> BTreeSet<String> {
        self.texts(index, "SELECT revision FROM wasmig_revisions").into_iter().map(|row| row[0].clone()).collect()
    }

    fn upgrade_events(&self, index: usize) -> BTreeMap<String, usize> {
        self.texts(index, "SELECT revision, count(*) FROM wasmig_events WHERE event = 'upgrade' GROUP BY revision")
            .into_iter()
            .map(|row| (row[0].clone(), row[1].parse().expect("a count")))
            .collect()
    }

    /// Every table and row of one tenant, for "untouched" assertions.
    fn dump(&self, index: usize) -> Vec<String> {
        match self {
            Tenants::Sqlite { dir } => sqlite_dump(&dir.path().join(format!("{}.db", tenant_name(index)))),
            Tenants::Postgres { database } => {
                database.dump().into_iter().filter(|line| line.contains(&format!(" {}.", tenant_name(index)))).collect()
            }
        }
    }
}

/// How many tenants each engine's main scenario migrates.
fn fleet_size(engine: Engine) -> usize {
    match engine {
        Engine::Sqlite => 200,
        Engine::Postgres => 50,
    }
}

fn upgrade() -> FleetAction {
    FleetAction::Upgrade(Target::Heads)
}

fn a_fleet_reaches_heads_isolates_a_failing_tenant_and_a_rerun_completes_only_it(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    let ids = write_project(project.path());
    let count = fleet_size(engine);
    let tenants = Tenants::create(engine, count);
    tenants.execute(POISONED, CONFLICT);
    // A runtime of its own, without a disk cache: every load is a compile.
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).expect("the runtime starts"));
    let fleet = Fleet::new(migrator_with(project.path(), runtime)).jobs(4);

    let (sender, receiver) = mpsc::channel();
    let report = fleet.run(tenants.list(), &upgrade(), &sender);
    drop(sender);
    let events: Vec<FleetEvent> = receiver.into_iter().collect();

    let names: Vec<String> = report.tenants.iter().map(|tenant| tenant.tenant.clone()).collect();
    assert_eq!(names, (0..count).map(tenant_name).collect::<Vec<_>>(), "the report lists every tenant in order");
    assert_eq!(report.count(TenantOutcome::Failed), 1, "{report:#?}");
    let failed = report.tenant(&tenant_name(POISONED)).unwrap();
    assert_eq!(failed.outcome, TenantOutcome::Failed);
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(error.contains("r10") && error.contains("t_r10"), "the error names the revision and the table: {error}");
    assert_eq!(failed.revisions, ids[..10], "the failing tenant reports what committed before the failure");
    for (index, tenant) in report.tenants.iter().enumerate() {
        if index != POISONED {
            assert_eq!(tenant.outcome, TenantOutcome::Ok, "{tenant:#?}");
            assert_eq!(tenant.revisions, ids, "{} applied every revision in plan order", tenant.tenant);
            assert_eq!(tenants.applied(index), set(&ids), "{} is at heads", tenant.tenant);
        }
    }
    assert_eq!(
        tenants.applied(POISONED),
        set(&ids[..10]),
        "the failing tenant stays at its last committed revision (r09)"
    );
    assert_eq!(
        (report.modules, report.compiled, report.loaded_from_disk),
        (2, 2, 0),
        "one compile per distinct module (sql, merge)"
    );

    let finished = events.iter().filter(|event| matches!(event, FleetEvent::Finished(_))).count();
    let steps = events.iter().filter(|event| matches!(event, FleetEvent::Step { .. })).count();
    assert_eq!(finished, count, "one Finished event per tenant");
    assert_eq!(steps, (count - 1) * ids.len() + 10, "one Step event per committed step");
    assert_eq!(events.first(), Some(&FleetEvent::Planned { tenants: Some(count) }));

    let status = fleet.run(tenants.list(), &FleetAction::Status, &NoFleetProgress);
    let behind: Vec<&str> = status
        .tenants
        .iter()
        .filter(|tenant| !tenant.status.as_ref().unwrap().at_heads)
        .map(|tenant| tenant.tenant.as_str())
        .collect();
    assert_eq!(behind, [tenant_name(POISONED)], "status finds exactly the failed tenant behind");

    // Fix the tenant; the rerun applies only what that tenant is missing.
    tenants.execute(POISONED, "DROP TABLE t_r10");
    let rerun = fleet.run(tenants.list(), &upgrade(), &NoFleetProgress);
    assert!(rerun.all_ok(), "{rerun:#?}");
    for (index, tenant) in rerun.tenants.iter().enumerate() {
        let expected: &[String] = if index == POISONED { &ids[10..] } else { &[] };
        assert_eq!(tenant.revisions, expected, "{}", tenant.tenant);
    }
    assert_eq!(rerun.compiled, 0, "the rerun compiles nothing: the runtime holds every module");
    assert!(fleet.run(tenants.list(), &FleetAction::Status, &NoFleetProgress).all_at_heads());
    assert_eq!(tenants.upgrade_events(POISONED).values().copied().collect::<Vec<_>>(), vec![1; ids.len()]);
}

fn a_failing_canary_wave_leaves_every_other_tenant_untouched(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    let ids = write_project(project.path());
    let count = 12;
    let tenants = Tenants::create(engine, count);
    let poisoned = 1;
    tenants.execute(poisoned, CONFLICT);
    let before: Vec<Vec<String>> = (0..count).map(|index| tenants.dump(index)).collect();
    let fleet = Fleet::new(migrator_with(project.path(), shared_runtime())).jobs(2).canary(3);

    let report = fleet.run(tenants.list(), &upgrade(), &NoFleetProgress);
    let outcomes: Vec<TenantOutcome> = report.tenants.iter().map(|tenant| tenant.outcome).collect();
    let mut expected = vec![TenantOutcome::Ok, TenantOutcome::Failed, TenantOutcome::Ok];
    expected.extend([TenantOutcome::Skipped; 9]);
    assert_eq!(outcomes, expected, "{report:#?}");
    for (index, before) in before.iter().enumerate().skip(3) {
        assert_eq!(&tenants.dump(index), before, "{} was touched after a failed canary wave", tenant_name(index));
        let reason = report.tenants[index].error.as_deref().unwrap_or_default();
        assert!(reason.contains("canary") && reason.contains(&tenant_name(poisoned)), "{reason}");
    }
    assert_eq!(tenants.applied(0), set(&ids));

    // Fixed, the same canary run goes through to every tenant.
    tenants.execute(poisoned, "DROP TABLE t_r10");
    let report = fleet.run(tenants.list(), &upgrade(), &NoFleetProgress);
    assert!(report.all_ok(), "{report:#?}");
    assert!((0..count).all(|index| tenants.applied(index) == set(&ids)));
}

fn fail_fast_starts_no_tenant_after_a_failure(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    write_project(project.path());
    let count = 6;
    let tenants = Tenants::create(engine, count);
    let poisoned = 2;
    tenants.execute(poisoned, CONFLICT);
    let before: Vec<Vec<String>> = (0..count).map(|index| tenants.dump(index)).collect();
    // One job: the order is the queue's, so exactly the tenants after the failure are skipped.
    let fleet = Fleet::new(migrator_with(project.path(), shared_runtime())).jobs(1).fail_fast(true);
    let report = fleet.run(tenants.list(), &upgrade(), &NoFleetProgress);
    let outcomes: Vec<TenantOutcome> = report.tenants.iter().map(|tenant| tenant.outcome).collect();
    use TenantOutcome::{Failed, Ok, Skipped};
    assert_eq!(outcomes, [Ok, Ok, Failed, Skipped, Skipped, Skipped], "{report:#?}");
    for (index, before) in before.iter().enumerate().skip(3) {
        assert_eq!(&tenants.dump(index), before, "{} was touched after --fail-fast stopped", tenant_name(index));
    }
}

fn two_concurrent_fleet_runs_apply_each_revision_once_per_tenant(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    let ids = write_project(project.path());
    let count = 50;
    let tenants = Tenants::create(engine, count);
    let list = tenants.list();
    // Two fleets as two processes would be: separate runtimes, connections and locks.
    let fleets: Vec<Fleet> = (0..2)
        .map(|_| {
            let runtime = Arc::new(
                Runtime::new(RuntimeConfig { cache_dir: Some(component_cache_dir()), ..RuntimeConfig::default() })
                    .unwrap(),
            );
            Fleet::new(migrator_with(project.path(), runtime)).jobs(4)
        })
        .collect();
    let reports: Vec<FleetReport> = std::thread::scope(|scope| {
        let runs: Vec<_> =
            fleets.iter().map(|fleet| scope.spawn(|| fleet.run(list.clone(), &upgrade(), &NoFleetProgress))).collect();
        runs.into_iter().map(|run| run.join().expect("a fleet run panicked")).collect()
    });
    for report in &reports {
        assert!(report.all_ok(), "{report:#?}");
    }
    let once: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();
    for index in 0..count {
        assert_eq!(tenants.upgrade_events(index), once, "{}: one `upgrade` event per revision", tenant_name(index));
        assert_eq!(tenants.applied(index), set(&ids));
        let mut applied_by_either: Vec<String> =
            reports.iter().flat_map(|report| report.tenants[index].revisions.iter().cloned()).collect();
        applied_by_either.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(
            applied_by_either,
            expected,
            "{}: the two runs' reports split the revisions without overlap",
            tenant_name(index)
        );
    }
}

fn wasmig_tenants(project: &Path, args: &[&str]) -> Finished {
    run(std::process::Command::new(wasmig_binary())
        .arg("-C")
        .arg(project)
        .args(["--format", "json", "tenants"])
        .args(args)
        .env("WASMIG_CACHE_DIR", component_cache_dir())
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG"))
}

fn json(finished: &Finished) -> serde_json::Value {
    serde_json::from_str(&finished.stdout).unwrap_or_else(|error| panic!("not JSON ({error}): {finished}"))
}

fn the_cli_reports_every_tenant_and_exits_1_when_one_failed(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    let ids = write_project(project.path());
    let count = 8;
    let tenants = Tenants::create(engine, count);
    tenants.execute(POISONED, CONFLICT);
    // The same fleet through a list file with names of its own, for SQLite.
    let source = match engine {
        Engine::Sqlite => {
            let list = project.path().join("tenants.txt");
            let lines: String =
                tenants.list().iter().map(|tenant| format!("{} shop-{}\n", tenant.url, tenant.name)).collect();
            std::fs::write(&list, format!("# the fleet\n{lines}")).unwrap();
            format!("@{}", list.display())
        }
        Engine::Postgres => tenants.source(),
    };
    let name = |index: usize| match engine {
        Engine::Sqlite => format!("shop-{}", tenant_name(index)),
        Engine::Postgres => tenant_name(index),
    };

    let first = wasmig_tenants(project.path(), &["upgrade", "--tenants", &source, "--jobs", "4"]);
    assert_eq!(first.code, Some(1), "a failed tenant exits 1: {first}");
    let report = json(&first);
    // Listed in the order they ended, each once.
    let listed: std::collections::BTreeMap<String, serde_json::Value> = report["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tenant| (tenant["tenant"].as_str().unwrap().to_owned(), tenant.clone()))
        .collect();
    assert_eq!(listed.len(), count, "{first}");
    for index in 0..count {
        let tenant = &listed[&name(index)];
        let expected = if index == POISONED { "failed" } else { "ok" };
        assert_eq!(tenant["outcome"], expected, "{tenant}");
    }
    let poisoned = &listed[&name(POISONED)];
    assert!(poisoned["error"].as_str().unwrap().contains("t_r10"), "{poisoned}");
    assert_eq!(report["counts"]["failed"], 1, "{first}");
    assert_eq!(report["modules"], 2);

    let behind = wasmig_tenants(project.path(), &["status", "--tenants", &source]);
    assert_eq!(behind.code, Some(3), "a tenant behind makes status exit 3: {behind}");

    tenants.execute(POISONED, "DROP TABLE t_r10");
    let rerun = wasmig_tenants(project.path(), &["upgrade", "--tenants", &source, "-j", "2"]);
    assert_eq!(rerun.code, Some(0), "{rerun}");
    let changed: Vec<(String, usize)> = json(&rerun)["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|tenant| !tenant["revisions"].as_array().unwrap().is_empty())
        .map(|tenant| (tenant["tenant"].as_str().unwrap().to_owned(), tenant["revisions"].as_array().unwrap().len()))
        .collect();
    assert_eq!(changed, [(name(POISONED), ids.len() - 10)], "the rerun completes only the fixed tenant");
    let current = wasmig_tenants(project.path(), &["status", "--tenants", &source]);
    assert_eq!(current.code, Some(0), "{current}");

    let usage = wasmig_tenants(project.path(), &["upgrade", "--tenants", "nowhere.txt"]);
    assert_eq!(usage.code, Some(2), "a source that is no source is a usage error: {usage}");
}

fn every_tenant_sees_its_own_name_as_context_tenant(engine: Engine) {
    let project = tempfile::tempdir().unwrap();
    write_sql_project(project.path(), &[("s1", &[], "CREATE TABLE s1 (id INTEGER)", "DROP TABLE s1")]);
    // The `good` fixture writes `context.tenant` into fixture_good (row 2).
    add_component_revision(project.path(), "g2", &["s1"], Fixture::Good, "");
    let count = 5;
    let tenants = Tenants::create(engine, count);
    // Names of the fleet's own choosing, not derived from the databases.
    let named: Vec<Tenant> = tenants
        .list()
        .into_iter()
        .enumerate()
        .map(|(index, tenant)| Tenant::new(format!("customer-{index}"), tenant.url))
        .collect();
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let report = Fleet::new(migrator_with(project.path(), runtime)).jobs(3).run(named, &upgrade(), &NoFleetProgress);
    assert!(report.all_ok(), "{report:#?}");
    assert_eq!(
        (report.modules, report.compiled),
        (2, 2),
        "the sql plugin and the fixture, compiled once each for {count} tenants"
    );
    for index in 0..count {
        let seen = tenants.texts(index, "SELECT name FROM fixture_good WHERE id = 2");
        assert_eq!(seen, [[format!("customer-{index}")]], "{}", tenant_name(index));
    }
}
