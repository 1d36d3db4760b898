//! Real `wasmig tenants upgrade --run` processes killed with SIGKILL mid-run: the survivors, or a restart under the same run name, finish the run; every tenant gets each revision exactly once (its version rows and events), the run's record matches the tenants' own tables, and tenants finished before the kill are not touched again.
//!
//! The tenants are 300 schemas of a fresh database, which is also the
//! coordinator. A process is killed once the coordinator shows it holding a
//! claim after others have finished, so the kill lands inside a run; its
//! claim is then left to expire (a 3-second lease) and be taken over.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use wasmig::backend::Backend;
use wasmig::sql::Value;
use wasmig_tests::matrix::{component_cache_dir, wasmig_binary, write_chain_project};
use wasmig_tests::postgres::TestDatabase;

const TENANTS: usize = 300;
const REVISIONS: usize = 3;
/// The shortest lease `--lease` takes.
const LEASE_SECONDS: u64 = 3;

struct Scene {
    database: TestDatabase,
    project: tempfile::TempDir,
    revisions: Vec<String>,
}

impl Scene {
    fn new() -> Self {
        let database = TestDatabase::create();
        database.create_schemas((0..TENANTS).map(|i| format!("t_{i:03}")));
        let project = tempfile::tempdir().unwrap();
        let revisions = write_chain_project(project.path(), REVISIONS);
        Scene { database, project, revisions }
    }

    fn start(&self, run: &str) -> Child {
        let source = self.database.url_with("schemas=t\\_%");
        std::process::Command::new(wasmig_binary())
            .arg("-C")
            .arg(self.project.path())
            .args(["-q", "tenants", "upgrade", "--tenants", &source, "--run", run, "--jobs", "1"])
            .args(["--lease", &LEASE_SECONDS.to_string()])
            .env("WASMIG_CACHE_DIR", component_cache_dir())
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        match self.database.connect().query(sql, &[]).unwrap().values[0][0] {
            Value::Integer(count) => count,
            ref other => panic!("{sql}: {other:?}"),
        }
    }

    /// [`Scene::count`] that counts nothing before the processes created the run's tables.
    fn count_once_created(&self, sql: &str) -> i64 {
        match self.database.connect().query(sql, &[]) {
            Ok(rows) => match rows.values[0][0] {
                Value::Integer(count) => count,
                ref other => panic!("{sql}: {other:?}"),
            },
            Err(error) if error.code.as_deref() == Some("42P01") => 0,
            Err(error) => panic!("{sql}: {error}"),
        }
    }

    /// Waits until `child` holds a claim while at least `finished` tenants of the run are done.
    fn wait_for_a_claim_of(&self, run: &str, child: &mut Child, finished: i64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let worker = format!("%:{}:%", child.id());
        loop {
            let claimed = self.count_once_created(&format!(
                "SELECT count(*) FROM wasmig_fleet_tenants WHERE run = '{run}' AND state = 'claimed' AND worker LIKE '{worker}'"
            ));
            let done = self.count_once_created(&format!(
                "SELECT count(*) FROM wasmig_fleet_tenants WHERE run = '{run}' AND state = 'ok'"
            ));
            if claimed > 0 && done >= finished {
                return;
            }
            assert!(Instant::now() < deadline, "process {} never held a claim mid-run", child.id());
            if let Some(status) = child.try_wait().unwrap() {
                panic!("process {} ended ({status}) before it could be killed mid-run", child.id());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Restarts the run (one process) after every lease has run out, until every tenant is done.
    fn finish(&self, run: &str) {
        for _ in 0..3 {
            if self.count(&format!("SELECT count(*) FROM wasmig_fleet_tenants WHERE run = '{run}' AND state <> 'ok'"))
                == 0
            {
                return;
            }
            std::thread::sleep(Duration::from_secs(LEASE_SECONDS + 1));
            let status = self.start(run).wait().unwrap();
            assert!(status.success(), "the restarted run failed: {status}");
        }
        panic!("the run did not finish after three restarts");
    }

    /// Each tenant's own tables: every revision applied once, one `upgrade` event each.
    fn assert_each_revision_applied_once(&self) {
        for i in 0..TENANTS {
            let schema = format!("t_{i:03}");
            for revision in &self.revisions {
                let rows = self
                    .count(&format!("SELECT count(*) FROM {schema}.wasmig_revisions WHERE revision = '{revision}'"));
                let events = self.count(&format!(
                    "SELECT count(*) FROM {schema}.wasmig_events WHERE event = 'upgrade' AND revision = '{revision}'"
                ));
                assert_eq!((rows, events), (1, 1), "{schema} {revision}: version rows, upgrade events");
            }
        }
    }

    /// The run's record against the tenants' tables: every tenant `ok`, and
    /// the revisions recorded across its claims are exactly what it has.
    fn record(&self, run: &str) -> BTreeMap<String, wasmig::fleet::RunTenant> {
        let tenants = wasmig::fleet::run_tenants(self.database.url(), run).unwrap();
        assert_eq!(tenants.len(), TENANTS);
        for tenant in &tenants {
            assert_eq!(tenant.state, "ok", "{tenant:?}");
            assert!(tenant.revisions.iter().all(|revision| self.revisions.contains(revision)), "{tenant:?}");
            if tenant.attempts == 1 {
                assert_eq!(tenant.revisions, self.revisions, "a tenant claimed once did all of it: {tenant:?}");
            }
        }
        tenants.into_iter().map(|tenant| (tenant.tenant.clone(), tenant)).collect()
    }
}

#[test]
fn a_process_killed_mid_run_leaves_its_tenants_to_the_others() {
    let scene = Scene::new();
    let mut processes: Vec<Child> = (0..3).map(|_| scene.start("killed-one")).collect();
    scene.wait_for_a_claim_of("killed-one", &mut processes[0], 20);
    let victim = processes.remove(0);
    let victim_id = victim.id();
    let mut victim = victim;
    victim.kill().unwrap(); // SIGKILL: no clean-up of any kind
    victim.wait().unwrap();
    // What the victim held when it died (with --jobs 1, one claim, unless
    // the kill fell between two claims).
    let held = scene.count(&format!(
        "SELECT count(*) FROM wasmig_fleet_tenants WHERE run = 'killed-one' AND state = 'claimed' \
         AND worker LIKE '%:{victim_id}:%'"
    ));
    assert!(held <= 1, "{held}");
    for mut survivor in processes {
        assert!(survivor.wait().unwrap().success());
    }
    scene.finish("killed-one");

    scene.assert_each_revision_applied_once();
    let record = scene.record("killed-one");
    let taken_over: Vec<&wasmig::fleet::RunTenant> = record
        .values()
        .filter(|tenant| tenant.taken_over_from.as_deref().is_some_and(|from| from.contains(&format!(":{victim_id}:"))))
        .collect();
    assert_eq!(taken_over.len() as i64, held, "the victim's claim was taken over: {taken_over:#?}");
    assert!(taken_over.iter().all(|tenant| tenant.attempts == 2), "{taken_over:#?}");
}

#[test]
fn a_run_whose_processes_were_all_killed_resumes_without_touching_finished_tenants() {
    let scene = Scene::new();
    let mut processes: Vec<Child> = (0..2).map(|_| scene.start("all-killed")).collect();
    scene.wait_for_a_claim_of("all-killed", &mut processes[1], 40);
    for process in &mut processes {
        process.kill().unwrap();
        process.wait().unwrap();
    }
    let finished_before: Vec<String> = {
        let rows = scene
            .database
            .connect()
            .query("SELECT tenant FROM wasmig_fleet_tenants WHERE run = 'all-killed' AND state = 'ok'", &[])
            .unwrap();
        rows.values
            .into_iter()
            .map(|row| match &row[0] {
                Value::Text(tenant) => tenant.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert!(
        finished_before.len() >= 40 && finished_before.len() < TENANTS,
        "killed mid-run: {}",
        finished_before.len()
    );

    scene.finish("all-killed");
    scene.assert_each_revision_applied_once();
    let record = scene.record("all-killed");
    for tenant in &finished_before {
        let after = &record[tenant];
        assert_eq!(after.attempts, 1, "a tenant finished before the kill was not claimed again: {after:?}");
    }
}
