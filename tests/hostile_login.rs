//! Per-tenant logins: a `[sandbox] role` the login role could leave is refused before anything is written; logged in as the tenant's own role (`login = true`), PostgreSQL itself refuses every way out, in one statement or several, through the migrator, the fleet and the CLI.
//!
//! Any statement can `RESET ROLE` to the login, act and switch back within
//! one `DO` block, and no check after the statement can see that. These
//! tests make the runner's login a member of both tenants' roles (as a
//! platform's migration user is), or a superuser, and assert the host
//! refuses to pretend; then they log in as the tenant and try the same
//! escapes, asserting what tenant B's schema holds afterwards.

use std::path::Path;
use std::process::Command;

use wasmig::backend::Backend;
use wasmig::backend::postgres::PostgresBackend;
use wasmig::fleet::{Fleet, FleetAction, NoFleetProgress, TenantOutcome, TenantSource};
use wasmig::graph::Target;
use wasmig::{ErrorKind, Failure, NoProgress, RunOptions};
use wasmig_tests::matrix::{migrator, run, wasmig_binary, write_config};
use wasmig_tests::postgres::{TestDatabase, server_url};
use wasmig_tests::{texts, write_sql_project};

/// Two tenant schemas, each owned by its own LOGIN role named as the schema,
/// and a runner login (not a superuser) that is a member of both.
struct Scene {
    database: TestDatabase,
    roles: Roles,
    project: tempfile::TempDir,
}

/// Cluster-wide, so dropped after the database (field order).
struct Roles {
    a: String,
    b: String,
    runner: String,
}

impl Drop for Roles {
    fn drop(&mut self) {
        let mut admin = PostgresBackend::connect(&server_url(), None, "the test server".into()).unwrap();
        for role in [&self.runner, &self.a, &self.b] {
            if let Err(error) = admin.execute_script(&format!("DROP ROLE IF EXISTS {role}")) {
                eprintln!("cannot drop role {role}: {error}");
            }
        }
    }
}

impl Scene {
    fn new(sandbox: &str) -> Self {
        let database = TestDatabase::create();
        let suffix = &database.name()["wasmig_t_".len()..];
        let roles = Roles { a: format!("ta_{suffix}"), b: format!("tb_{suffix}"), runner: format!("runner_{suffix}") };
        let (a, b, runner) = (&roles.a, &roles.b, &roles.runner);
        database
            .connect()
            .execute_script(&format!(
                "CREATE ROLE {a} LOGIN; CREATE ROLE {b} LOGIN; CREATE ROLE {runner} LOGIN NOSUPERUSER; \
                 GRANT {a}, {b} TO {runner}; \
                 CREATE SCHEMA {a} AUTHORIZATION {a}; CREATE SCHEMA {b} AUTHORIZATION {b}; \
                 CREATE TABLE {b}.secrets (id int, secret text); ALTER TABLE {b}.secrets OWNER TO {b}; \
                 INSERT INTO {b}.secrets VALUES (1, 'b-secret'), (2, 'b-secret-2')"
            ))
            .unwrap();
        let project = tempfile::tempdir().unwrap();
        write_sql_project(project.path(), &[("r1", &[], "CREATE TABLE notes (id int);\n", "DROP TABLE notes;\n")]);
        write_config(project.path(), &format!("[sandbox]\nrole = \"{{tenant}}\"\n{sandbox}"));
        Scene { database, roles, project }
    }

    fn dir(&self) -> &Path {
        self.project.path()
    }

    /// Tenant A's URL, logged in as `user`.
    fn url_a(&self, user: &str) -> String {
        self.database.url_with(&format!("schema={}", self.roles.a)).replacen("postgres@", &format!("{user}@"), 1)
    }

    /// What tenant A's version table records, read as the admin.
    fn recorded_a(&self) -> usize {
        let migrator = migrator(self.dir());
        let mut db = migrator.connect(&self.url_a("postgres")).unwrap();
        migrator.applied_rows(&mut db).unwrap().len()
    }

    fn set_up_sql(&self, sql: &str) {
        std::fs::write(self.dir().join("migrations/r1/up.sql"), sql).unwrap();
    }

    fn texts(&self, sql: &str) -> Vec<Vec<String>> {
        texts(&mut self.database.connect(), sql)
    }

    fn tables_of(&self, schema: &str) -> Vec<Vec<String>> {
        self.texts(&format!("SELECT tablename::text FROM pg_tables WHERE schemaname = '{schema}' ORDER BY 1"))
    }

    fn assert_b_intact(&self, attack: &str) {
        assert_eq!(
            self.texts(&format!("SELECT id::text, secret FROM {}.secrets ORDER BY id", self.roles.b)),
            [["1", "b-secret"], ["2", "b-secret-2"]],
            "{attack}"
        );
        assert!(self.tables_of(&self.roles.b).contains(&vec!["secrets".to_owned()]), "{attack}");
        assert_eq!(
            self.texts(&format!("SELECT rolname::text FROM pg_roles WHERE rolname = '{}' AND rolsuper", self.roles.a)),
            Vec::<Vec<String>>::new(),
            "{attack}: tenant A's role gained nothing"
        );
    }

    fn options(&self) -> RunOptions {
        RunOptions { tenant: Some(self.roles.a.clone()), ..RunOptions::default() }
    }
}

#[test]
fn a_role_the_login_can_leave_is_refused_before_anything_is_written() {
    let scene = Scene::new("");
    let migrator = migrator(scene.dir());
    for (login, reason) in [
        (scene.roles.runner.clone(), format!("is a member of {}", scene.roles.b)),
        ("postgres".to_owned(), "is a superuser".to_owned()),
    ] {
        let mut db = migrator.connect_tenant(&scene.url_a(&login), Some(&scene.roles.a)).unwrap();
        let error = migrator.upgrade(&mut db, &Target::Heads, &scene.options(), &mut NoProgress).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error.failure(), Failure::LoginEscapes { .. }), "{login}: {message}");
        assert_eq!(error.kind(), ErrorKind::Project);
        assert!(message.contains(&reason), "{login}: {message}");
        assert!(message.contains("login = true") && message.contains("RESET ROLE"), "the fix is named: {message}");
        assert_eq!(scene.tables_of(&scene.roles.a), Vec::<Vec<String>>::new(), "{login}: not even the version tables");
        // verify runs hooks too: the same refusal, before any hook.
        let error = migrator.verify(&mut db, None, &scene.options()).unwrap_err();
        assert!(matches!(error.failure(), Failure::LoginEscapes { .. }), "{login}: {error}");
    }
    scene.assert_b_intact("refused logins");

    // A login that owns nothing and reaches only tenant A's role confines.
    let only_a = format!("only_{}", scene.roles.a);
    let _only_a = OneRole(only_a.clone());
    scene
        .database
        .connect()
        .execute_script(&format!("CREATE ROLE {only_a} LOGIN; GRANT {} TO {only_a}", scene.roles.a))
        .unwrap();
    let mut db = migrator.connect_tenant(&scene.url_a(&only_a), Some(&scene.roles.a)).unwrap();
    migrator.upgrade(&mut db, &Target::Heads, &scene.options(), &mut NoProgress).unwrap();
    assert_eq!(
        scene.texts(&format!(
            "SELECT tableowner::text FROM pg_tables WHERE schemaname = '{}' AND tablename = 'notes'",
            scene.roles.a
        )),
        [[scene.roles.a.clone()]]
    );
}

/// A role of the cluster, dropped at the end of the test (after the
/// database's objects it may hold privileges on are gone with `Scene`).
struct OneRole(String);

impl Drop for OneRole {
    fn drop(&mut self) {
        let mut admin = PostgresBackend::connect(&server_url(), None, "the test server".into()).unwrap();
        let _ = admin.execute_script(&format!("DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}", self.0));
    }
}

#[test]
fn logged_in_as_the_tenant_no_statement_reaches_the_other_tenant() {
    let scene = Scene::new("login = true\n");
    let migrator = migrator(scene.dir());
    let (a, b) = (&scene.roles.a, &scene.roles.b);
    // The URL names the admin; the host logs in as the tenant's role.
    let url = scene.url_a("postgres");
    let attacks = [
        // Switch and back inside one statement: the hole `SET ROLE` alone leaves.
        format!("DO $$ BEGIN EXECUTE 'RESET ROLE'; EXECUTE 'DROP SCHEMA {b} CASCADE'; EXECUTE 'SET ROLE {a}'; END $$"),
        format!("DO $$ BEGIN EXECUTE 'SET ROLE {b}'; EXECUTE 'DELETE FROM {b}.secrets'; EXECUTE 'RESET ROLE'; END $$"),
        format!("DO $$ BEGIN PERFORM set_config('role', '{b}', true); DELETE FROM {b}.secrets; END $$"),
        format!("DO $$ BEGIN EXECUTE 'SET SESSION AUTHORIZATION postgres'; EXECUTE 'DROP SCHEMA {b} CASCADE'; END $$"),
        format!("DO $$ BEGIN EXECUTE 'SET ROLE postgres'; EXECUTE 'ALTER ROLE {a} SUPERUSER'; END $$"),
        // Plain statements, which PostgreSQL refuses on privileges alone.
        format!("CREATE TABLE mine (id int);\nDROP SCHEMA {b} CASCADE"),
        format!("INSERT INTO {b}.secrets VALUES (3, 'planted')"),
        format!("CREATE TABLE stolen AS SELECT * FROM {b}.secrets"),
        format!("ALTER TABLE {b}.secrets OWNER TO {a}"),
        format!("GRANT {b} TO {a}"),
    ];
    for attack in &attacks {
        scene.set_up_sql(attack);
        let mut db = migrator.connect_tenant(&url, Some(a)).unwrap();
        let error = migrator.upgrade(&mut db, &Target::Heads, &scene.options(), &mut NoProgress).unwrap_err();
        let message = error.to_string();
        assert!(
            ["permission denied", "must be owner", "must be member", "must have admin option", "refus"]
                .iter()
                .any(|refusal| message.contains(refusal)),
            "{attack}: {message}"
        );
        scene.assert_b_intact(attack);
        assert_eq!(scene.recorded_a(), 0, "{attack}: nothing recorded");
    }

    // The legitimate revision runs as the tenant, from the same admin URL.
    scene.set_up_sql("CREATE TABLE notes (id int);\nINSERT INTO notes VALUES (1);\n");
    let mut db = migrator.connect_tenant(&url, Some(a)).unwrap();
    migrator.upgrade(&mut db, &Target::Heads, &scene.options(), &mut NoProgress).unwrap();
    assert_eq!(
        scene.texts(&format!("SELECT tableowner::text FROM pg_tables WHERE schemaname = '{a}' ORDER BY tablename")),
        [[a.clone()], [a.clone()], [a.clone()], [a.clone()]],
        "notes and the version tables (revisions, events, journal) belong to tenant A's role"
    );
}

#[test]
fn a_fleet_logs_each_tenant_in_as_its_own_role() {
    let scene = Scene::new("login = true\n");
    let (a, b) = (&scene.roles.a, &scene.roles.b);
    // Tenant B starts from a schema it owns; tenant A's revision tries to drop it.
    scene.set_up_sql(&format!(
        "CREATE TABLE notes (id int);\n\
         DO $$ BEGIN IF current_user = '{a}' THEN EXECUTE 'RESET ROLE'; EXECUTE 'DROP TABLE {b}.secrets'; END IF; END $$;\n"
    ));
    let source = scene.database.url_with("schemas=t_\\_%");
    let tenants = TenantSource::parse(&source).unwrap().tenants().unwrap();
    let names: Vec<&str> = tenants.iter().map(|tenant| tenant.name.as_str()).collect();
    assert!(names.contains(&a.as_str()) && names.contains(&b.as_str()), "{names:?}");
    let tenants: Vec<_> = tenants.into_iter().filter(|tenant| [a, b].contains(&&tenant.name)).collect();
    let report =
        Fleet::new(migrator(scene.dir())).jobs(2).run(tenants, &FleetAction::Upgrade(Target::Heads), &NoFleetProgress);
    let a_report = report.tenant(a).unwrap();
    assert_eq!(a_report.outcome, TenantOutcome::Failed, "{report:#?}");
    assert!(a_report.error.as_deref().unwrap_or_default().contains("permission denied"), "{report:#?}");
    assert_eq!(report.tenant(b).unwrap().outcome, TenantOutcome::Ok, "{report:#?}");
    assert_eq!(
        scene.tables_of(b),
        [["notes"], ["secrets"], ["wasmig_events"], ["wasmig_journal"], ["wasmig_revisions"]]
    );

    // The CLI: the same refusal for tenant A, by its exit code and message.
    let finished = run(Command::new(wasmig_binary())
        .args(["upgrade", "--tenant", a, "--database", &scene.url_a("postgres")])
        .current_dir(scene.dir()));
    assert_eq!(finished.code, Some(1), "{finished:?}");
    assert!(finished.stderr.contains("permission denied"), "{finished:?}");
    scene.assert_b_intact("the CLI run");
}
