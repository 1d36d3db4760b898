//! One fleet run shared by several processes through a PostgreSQL coordinator: each tenant claimed and migrated exactly once, a dead process's tenant taken over when its lease runs out, a failure budget that stops every process, resume of a finished run, and refusal of a different command under the same name.
//!
//! Processes are simulated by threads that each join the run on their own
//! connections (what a process does); the tenants are schemas of a fresh
//! database, and the coordinator is that same database.

use std::collections::BTreeMap;
use std::time::Duration;

use wasmig::backend::Backend;
use wasmig::fleet::{Coordination, FailureBudget, Fleet, FleetAction, NoFleetProgress, TenantOutcome, TenantSource};
use wasmig::graph::Target;
use wasmig::sql::Value;
use wasmig_tests::add_sql_revision;
use wasmig_tests::matrix::{migrator, write_chain_of};
use wasmig_tests::postgres::TestDatabase;

const TENANTS: usize = 16;

struct Scene {
    database: TestDatabase,
    project: tempfile::TempDir,
}

impl Scene {
    fn new() -> Self {
        let database = TestDatabase::create();
        database.create_schemas((0..TENANTS).map(|i| format!("t_{i:02}")));
        let project = tempfile::tempdir().unwrap();
        write_chain_of(project.path(), &["r1", "r2"]);
        Scene { database, project }
    }

    fn tenants(&self) -> Vec<wasmig::fleet::Tenant> {
        TenantSource::parse(&self.database.url_with("schemas=t\\_%")).unwrap().tenants().unwrap()
    }

    fn coordination(&self, run: &str) -> Coordination {
        Coordination {
            url: self.database.url().to_owned(),
            run: run.to_owned(),
            lease: Duration::from_secs(30),
            max_failures: None,
            retry_failed: false,
        }
    }

    /// `processes` processes of run `run`, each with `jobs` workers, at once.
    fn run_together(&self, run: &str, processes: usize, jobs: usize) -> Vec<wasmig::fleet::FleetReport> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..processes)
                .map(|_| {
                    scope.spawn(|| {
                        Fleet::new(migrator(self.project.path()))
                            .jobs(jobs)
                            .run_shared(
                                self.tenants(),
                                &FleetAction::Upgrade(Target::Heads),
                                &self.coordination(run),
                                &NoFleetProgress,
                            )
                            .expect("the process joins and runs")
                    })
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        })
    }

    fn upgrades_per_schema(&self) -> BTreeMap<String, i64> {
        (0..TENANTS)
            .map(|i| {
                let schema = format!("t_{i:02}");
                let rows = self
                    .database
                    .connect()
                    .query(&format!("SELECT count(*) FROM {schema}.wasmig_events WHERE event = 'upgrade'"), &[])
                    .map(|rows| match rows.values[0][0] {
                        Value::Integer(count) => count,
                        _ => -1,
                    })
                    .unwrap_or(0);
                (schema, rows)
            })
            .collect()
    }
}

#[test]
fn three_processes_share_one_run_and_each_tenant_runs_once() {
    let scene = Scene::new();
    let reports = scene.run_together("deploy-1", 3, 2);
    let ran: usize = reports.iter().map(|report| report.tenants.len()).sum();
    assert_eq!(ran, TENANTS, "every tenant claimed by exactly one process: {reports:#?}");
    assert!(reports.iter().all(|report| report.all_ok()), "{reports:#?}");
    // Two revisions per tenant, each applied exactly once.
    assert!(scene.upgrades_per_schema().values().all(|count| *count == 2), "{:?}", scene.upgrades_per_schema());

    let tenants = wasmig::fleet::run_tenants(scene.database.url(), "deploy-1").unwrap();
    assert_eq!(tenants.len(), TENANTS);
    assert!(tenants.iter().all(|tenant| tenant.state == "ok" && tenant.attempts == 1), "{tenants:#?}");
    assert!(tenants.iter().all(|tenant| tenant.revisions == ["r1", "r2"] && tenant.worker.is_some()), "{tenants:#?}");
    let summary = wasmig::fleet::runs(scene.database.url()).unwrap();
    let run = summary.iter().find(|run| run.name == "deploy-1").unwrap();
    assert_eq!((run.tenants, run.ok, run.pending, run.failed), (TENANTS as u64, TENANTS as u64, 0, 0), "{run:?}");

    // Started again, the run is finished: nothing is claimed, nothing runs.
    let again = scene.run_together("deploy-1", 1, 2);
    assert!(again[0].tenants.is_empty(), "{again:#?}");
    assert!(scene.upgrades_per_schema().values().all(|count| *count == 2));

    // The same name for another command is refused before anything runs.
    let error = Fleet::new(migrator(scene.project.path()))
        .run_shared(
            scene.tenants(),
            &FleetAction::Downgrade(Target::Base),
            &scene.coordination("deploy-1"),
            &NoFleetProgress,
        )
        .unwrap_err();
    assert!(error.to_string().contains("run `deploy-1` was started as `upgrade to heads`"), "{error}");
    assert_eq!(error.kind(), wasmig::ErrorKind::Usage);
}

#[test]
fn a_dead_process_tenant_is_taken_over_when_its_lease_runs_out() {
    let scene = Scene::new();
    // A process joined, claimed t_03, then died: its lease ran out a minute ago.
    let mut first = scene.tenants();
    first.truncate(4);
    Fleet::new(migrator(scene.project.path()))
        .run_shared(first, &FleetAction::Upgrade(Target::Heads), &scene.coordination("deploy-2"), &NoFleetProgress)
        .unwrap();
    scene
        .database
        .connect()
        .execute_script(
            "UPDATE wasmig_fleet_tenants SET state = 'claimed', worker = 'dead-host:1:0000', \
             lease_until = now() - interval '1 minute' WHERE run = 'deploy-2' AND tenant = 't_03'",
        )
        .unwrap();
    // A claim whose lease still runs is left alone.
    scene
        .database
        .connect()
        .execute_script(
            "UPDATE wasmig_fleet_tenants SET state = 'claimed', worker = 'busy-host:2:0000', \
             lease_until = now() + interval '1 hour' WHERE run = 'deploy-2' AND tenant = 't_02'",
        )
        .unwrap();
    let reports = scene.run_together("deploy-2", 2, 2);
    let ran: Vec<String> =
        reports.iter().flat_map(|report| report.tenants.iter().map(|tenant| tenant.tenant.clone())).collect();
    assert!(ran.contains(&"t_03".to_owned()), "the expired claim was taken over: {ran:?}");
    assert!(!ran.contains(&"t_02".to_owned()), "a live claim was taken: {ran:?}");
    assert_eq!(ran.len(), TENANTS - 4 + 1, "the first four were done, t_03 again: {ran:?}");
    let tenants = wasmig::fleet::run_tenants(scene.database.url(), "deploy-2").unwrap();
    let t03 = tenants.iter().find(|tenant| tenant.tenant == "t_03").unwrap();
    assert_eq!((t03.state.as_str(), t03.taken_over_from.as_deref()), ("ok", Some("dead-host:1:0000")), "{t03:?}");
    assert_eq!(t03.attempts, 2);
    let t02 = tenants.iter().find(|tenant| tenant.tenant == "t_02").unwrap();
    assert_eq!(t02.state, "claimed", "{t02:?}");
}

#[test]
fn the_failure_budget_stops_every_process() {
    let scene = Scene::new();
    // Three tenants already hold r1's table: their upgrade fails.
    scene
        .database
        .connect()
        .execute_script(
            "CREATE TABLE t_00.t_r1 (id int); CREATE TABLE t_01.t_r1 (id int); CREATE TABLE t_02.t_r1 (id int);",
        )
        .unwrap();
    let coordination = Coordination { max_failures: Some(FailureBudget::Count(2)), ..scene.coordination("deploy-3") };
    let report = Fleet::new(migrator(scene.project.path()))
        .jobs(1)
        .run_shared(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &coordination, &NoFleetProgress)
        .unwrap();
    // In order, one worker: t_00 and t_01 fail, and the budget of 2 is reached.
    assert_eq!(report.tenants.len(), 2, "{report:#?}");
    assert_eq!(report.count(TenantOutcome::Failed), 2);
    let summary = wasmig::fleet::runs(scene.database.url()).unwrap();
    let run = summary.iter().find(|run| run.name == "deploy-3").unwrap();
    assert_eq!((run.failed, run.pending), (2, TENANTS as u64 - 2), "{run:?}");
    assert!(run.stopped.as_deref().unwrap_or_default().contains("--max-failures"), "{run:?}");

    // Another process of the run claims nothing either.
    let other = Fleet::new(migrator(scene.project.path()))
        .run_shared(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &coordination, &NoFleetProgress)
        .unwrap();
    assert!(other.tenants.is_empty(), "{other:#?}");

    // Fixed, and started again with retry_failed: the stop is lifted and the run finishes.
    scene
        .database
        .connect()
        .execute_script("DROP TABLE t_00.t_r1; DROP TABLE t_01.t_r1; DROP TABLE t_02.t_r1;")
        .unwrap();
    let retry = Coordination { retry_failed: true, max_failures: None, ..coordination };
    let last = Fleet::new(migrator(scene.project.path()))
        .jobs(2)
        .run_shared(scene.tenants(), &FleetAction::Upgrade(Target::Heads), &retry, &NoFleetProgress)
        .unwrap();
    assert_eq!(last.tenants.len(), TENANTS, "{last:#?}");
    assert!(last.all_ok(), "{last:#?}");
}

#[test]
fn the_heartbeat_keeps_a_long_tenant_claimed() {
    let scene = Scene::new();
    // t_00's second revision takes 2.5 s, over two leases of 1 s.
    add_sql_revision(
        scene.project.path(),
        "r3",
        &["r2"],
        "DO $$ BEGIN IF current_schema() = 't_00' THEN PERFORM pg_sleep(2.5); END IF; END $$;\n",
        "",
    );
    let coordination = Coordination { lease: Duration::from_secs(1), ..scene.coordination("deploy-4") };
    let reports: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    Fleet::new(migrator(scene.project.path()))
                        .jobs(1)
                        .run_shared(
                            scene.tenants(),
                            &FleetAction::Upgrade(Target::Heads),
                            &coordination,
                            &NoFleetProgress,
                        )
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    assert_eq!(reports.iter().map(|report| report.tenants.len()).sum::<usize>(), TENANTS, "{reports:#?}");
    let tenants = wasmig::fleet::run_tenants(scene.database.url(), "deploy-4").unwrap();
    let slow = tenants.iter().find(|tenant| tenant.tenant == "t_00").unwrap();
    // Without renewals the other process would have taken it over after 1 s.
    assert_eq!((slow.state.as_str(), slow.attempts, slow.taken_over_from.as_deref()), ("ok", 1, None), "{slow:?}");
}

/// `wasmig -C project tenants ARGS...`, its stdout and stderr.
fn tenants_command(scene: &Scene, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(wasmig_tests::matrix::wasmig_binary());
    command
        .arg("-C")
        .arg(scene.project.path())
        .arg("tenants")
        .args(args)
        .env("WASMIG_CACHE_DIR", wasmig_tests::matrix::component_cache_dir())
        .env_remove("DATABASE_URL");
    command
}

#[test]
fn the_cli_shares_a_run_between_two_processes_and_shows_it() {
    let scene = Scene::new();
    let source = scene.database.url_with("schemas=t\\_%");
    let args = ["upgrade", "--tenants", &source, "--run", "cli-run", "--jobs", "2", "--format", "json"];
    let children: Vec<_> =
        (0..2).map(|_| tenants_command(&scene, &args).stdout(std::process::Stdio::piped()).spawn().unwrap()).collect();
    let mut ran = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        for tenant in report["tenants"].as_array().unwrap() {
            ran.push(tenant["tenant"].as_str().unwrap().to_owned());
        }
    }
    ran.sort();
    let expected: Vec<String> = (0..TENANTS).map(|i| format!("t_{i:02}")).collect();
    assert_eq!(ran, expected, "each tenant ran in exactly one of the two processes");
    assert!(scene.upgrades_per_schema().values().all(|count| *count == 2));

    let listed =
        wasmig_tests::matrix::run(&mut tenants_command(&scene, &["runs", "--coordinator", scene.database.url()]));
    assert_eq!(listed.code, Some(0), "{listed}");
    assert!(listed.stdout.contains("cli-run  upgrade to heads"), "{listed}");
    assert!(listed.stdout.contains(&format!("{TENANTS} tenant(s): {TENANTS} ok, 0 failed")), "{listed}");
    let one = wasmig_tests::matrix::run(&mut tenants_command(
        &scene,
        &["run", "cli-run", "--coordinator", scene.database.url()],
    ));
    assert_eq!(one.code, Some(0), "{one}");
    assert_eq!(one.stdout.lines().filter(|line| line.trim_start().starts_with("ok ")).count(), TENANTS, "{one}");
    let unknown = wasmig_tests::matrix::run(&mut tenants_command(
        &scene,
        &["run", "nosuchrun", "--coordinator", scene.database.url()],
    ));
    assert_eq!(unknown.code, Some(2), "{unknown}");

    // --run does not combine with --canary, and a bad budget is refused.
    let refused = wasmig_tests::matrix::run(&mut tenants_command(
        &scene,
        &["upgrade", "--tenants", &source, "--run", "x", "--canary", "1"],
    ));
    assert_eq!(refused.code, Some(2), "{refused}");
    let refused = wasmig_tests::matrix::run(&mut tenants_command(
        &scene,
        &["upgrade", "--tenants", &source, "--run", "x", "--max-failures", "0"],
    ));
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(refused.stderr.contains("--max-failures"), "{refused}");
}

#[test]
fn shards_split_the_tenants_without_a_coordinator() {
    let scene = Scene::new();
    let source = scene.database.url_with("schemas=t\\_%");
    let mut seen = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let finished = wasmig_tests::matrix::run(&mut tenants_command(
            &scene,
            &["upgrade", "--tenants", &source, "--shard", shard, "--format", "json"],
        ));
        assert_eq!(finished.code, Some(0), "{finished}");
        let report: serde_json::Value = serde_json::from_str(&finished.stdout).unwrap();
        let names: Vec<String> =
            report["tenants"].as_array().unwrap().iter().map(|t| t["tenant"].as_str().unwrap().to_owned()).collect();
        assert!(!names.is_empty(), "shard {shard} is empty: the split is not spread");
        seen.extend(names);
    }
    seen.sort();
    let expected: Vec<String> = (0..TENANTS).map(|i| format!("t_{i:02}")).collect();
    assert_eq!(seen, expected, "the shards partition the tenants");
    let status = wasmig_tests::matrix::run(&mut tenants_command(&scene, &["status", "--tenants", &source, "--check"]));
    assert_eq!(status.code, Some(0), "the whole fleet is at heads: {status}");
    let bad =
        wasmig_tests::matrix::run(&mut tenants_command(&scene, &["upgrade", "--tenants", &source, "--shard", "4/3"]));
    assert_eq!(bad.code, Some(2), "{bad}");
}
