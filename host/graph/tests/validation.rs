//! Every load error: first from the pure constructor, then through the loader
//! on real files, checking that messages name the file and the fix.

mod common;

use std::fs;
use std::path::Path;

use common::revisions;
use wasmig_graph::{Graph, GraphError, Manifest, ProjectError, Revision, RevisionId, RevisionKind};

type Check = fn(&GraphError) -> bool;

fn build(spec: &str) -> Result<Graph, GraphError> {
    Graph::new(revisions(spec))
}

#[test]
fn constructor_refusals() {
    let cases: &[(&str, Check)] = &[
        ("a b:a b:a", |e| matches!(e, GraphError::DuplicateId { .. })),
        ("a b:a B:a", |e| matches!(e, GraphError::AmbiguousId { .. })),
        ("a b:b", |e| matches!(e, GraphError::SelfReference { field: "parents", .. })),
        ("a b:a>b", |e| matches!(e, GraphError::SelfReference { field: "depends_on", .. })),
        ("a b:a,a", |e| matches!(e, GraphError::RepeatedReference { .. })),
        ("a b:z", |e| matches!(e, GraphError::MissingParent { .. })),
        ("a b:a>z", |e| matches!(e, GraphError::MissingDependency { .. })),
        ("a:c b:a c:b", |e| matches!(e, GraphError::Cycle { .. })),
        ("a b:a>c c:b", |e| matches!(e, GraphError::Cycle { .. })),
        ("a#x b:a#x", |e| matches!(e, GraphError::DuplicateLabel { .. })),
        ("a#b b:a", |e| matches!(e, GraphError::LabelIsAnId { .. })),
        ("a#heads", |e| matches!(e, GraphError::InvalidLabel { .. })),
        ("a b:a#x-y", |e| matches!(e, GraphError::InvalidLabel { .. })),
    ];
    for (spec, check) in cases {
        match build(spec) {
            Ok(_) => panic!("`{spec}` was accepted"),
            Err(e) => assert!(check(&e), "`{spec}`: wrong error {e:?}"),
        }
    }
}

#[test]
fn cycle_error_names_the_revisions_on_the_cycle_only() {
    // x hangs off the cycle but is not on it.
    let err = build("a:c b:a c:b x:a").unwrap_err();
    let GraphError::Cycle { cycle, paths } = &err else { panic!("{err:?}") };
    let mut names: Vec<&str> = cycle.iter().map(RevisionId::as_str).collect();
    names.sort();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(paths.len(), 3);
    let text = err.to_string();
    assert!(text.contains("->") && text.contains("revision.toml"), "{text}");
}

#[test]
fn merge_kind_rules() {
    let one_parent_merge =
        vec![Revision::in_memory("a", &[]), Revision::in_memory("m", &["a"]).with_kind(RevisionKind::Merge)];
    let err = Graph::new(one_parent_merge).unwrap_err();
    assert!(matches!(err, GraphError::MergeTooFewParents { count: 1, .. }), "{err:?}");

    let sql_with_two = vec![
        Revision::in_memory("a", &[]),
        Revision::in_memory("b", &["a"]),
        Revision::in_memory("c", &["a", "b"]).with_kind(RevisionKind::Sql),
    ];
    let err = Graph::new(sql_with_two).unwrap_err();
    assert!(matches!(err, GraphError::SeveralParentsNotMerge { count: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("kind = \"merge\""));
}

#[test]
fn directory_rules() {
    let mut wrong_dir = Revision::in_memory("a", &[]);
    wrong_dir.dir = "migrations/b_something".into();
    assert!(matches!(Graph::new(vec![wrong_dir]), Err(GraphError::DirectoryMismatch { .. })));

    let mut prefix_only = Revision::in_memory("ab", &[]);
    prefix_only.dir = "migrations/abc_x".into();
    assert!(matches!(Graph::new(vec![prefix_only]), Err(GraphError::DirectoryMismatch { .. })));

    let mut slugged = Revision::in_memory("ab", &[]);
    slugged.dir = "migrations/ab_add_users".into();
    assert!(Graph::new(vec![slugged]).is_ok());

    // `[new] directory = "date"`: the name is a date, whatever the id.
    for name in ["20261205_221500_add_users", "20261205_221500", "20261205_221500_add_users_ab"] {
        let mut dated = Revision::in_memory("ab", &[]);
        dated.dir = format!("migrations/{name}").into();
        assert!(Graph::new(vec![dated]).is_ok(), "{name}");
    }
    for name in ["2026120_221500_add_users", "20261205-221500_add_users", "20261205_22150x_add", "20261205_221500x"] {
        let mut undated = Revision::in_memory("ab", &[]);
        undated.dir = format!("migrations/{name}").into();
        assert!(matches!(Graph::new(vec![undated]), Err(GraphError::DirectoryMismatch { .. })), "{name}");
    }

    let a = Revision::in_memory("a", &[]);
    let mut b = Revision::in_memory("b", &["a"]);
    b.dir = a.dir.clone();
    assert!(matches!(Graph::new(vec![a, b]), Err(GraphError::SharedDirectory { .. })));
}

#[test]
fn empty_graph_is_fine() {
    let g = Graph::new(Vec::new()).unwrap();
    assert!(g.is_empty() && g.heads().is_empty());
    let plan =
        g.plan(&wasmig_graph::AppliedSet::empty(), &wasmig_graph::Target::Head, wasmig_graph::Direction::Up).unwrap();
    assert!(plan.is_empty());
}

// ----- the loader, on files --------------------------------------------------

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("wasmig.toml"), "").unwrap();
    fs::create_dir(dir.path().join("migrations")).unwrap();
    dir
}

fn write_revision(root: &Path, dir: &str, toml: &str) {
    let d = root.join("migrations").join(dir);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("revision.toml"), toml).unwrap();
}

#[test]
fn loads_a_project() {
    let p = project();
    write_revision(p.path(), "a1_first", "id = \"a1\"\nmessage = \"first\"\nparents = []\n");
    write_revision(
        p.path(),
        "b2_second",
        "id = \"b2\"\nmessage = \"second\"\nparents = [\"a1\"]\ntransactional = false\n[sandbox]\nmemory_mb = 64\n",
    );
    // Not revisions: hidden directories and plain files.
    fs::create_dir(p.path().join("migrations/.cache")).unwrap();
    fs::write(p.path().join("migrations/README.md"), "notes").unwrap();
    // A module that cannot be opened: loading must not try.
    std::os::unix::fs::symlink("/nonexistent/module.wasm", p.path().join("migrations/b2_second/revision.wasm"))
        .unwrap();

    let project = wasmig_graph::load(p.path()).unwrap();
    assert_eq!(project.graph.len(), 2);
    let b2 = project.graph.get("b2").unwrap();
    assert!(!b2.transactional());
    assert_eq!(b2.manifest.sandbox.as_ref().unwrap().memory_mb, Some(64));
    assert_eq!(b2.manifest_path, p.path().join("migrations/b2_second/revision.toml"));
    assert_eq!(project.graph.heads()[0].id().as_str(), "b2");
    assert_eq!(project.migrations_dir(), p.path().join("migrations"));
}

#[test]
fn loader_errors_name_the_file() {
    let p = project();
    write_revision(p.path(), "a1", "id = \"a1\"\nmessage = \"first\"\nparents = []\ndown_revision = \"x\"\n");
    let err = wasmig_graph::load(p.path()).unwrap_err();
    assert!(matches!(err, ProjectError::Manifest { .. }), "{err:?}");
    assert!(err.to_string().contains("a1/revision.toml") && err.to_string().contains("down_revision"), "{err}");

    let p = project();
    write_revision(p.path(), "a1", "id = \"a 1\"\nmessage = \"first\"\nparents = []\n");
    let err = wasmig_graph::load(p.path()).unwrap_err();
    assert!(matches!(err, ProjectError::Manifest { .. }), "malformed id: {err:?}");

    let p = project();
    write_revision(p.path(), "a1", "id = \"a1\"\nparents = []\n");
    assert!(wasmig_graph::load(p.path()).unwrap_err().to_string().contains("message"));

    let p = project();
    fs::create_dir(p.path().join("migrations/orphan")).unwrap();
    let err = wasmig_graph::load(p.path()).unwrap_err();
    assert!(matches!(err, ProjectError::MissingManifest { .. }), "{err:?}");

    let p = project();
    write_revision(p.path(), "a1", "id = \"a1\"\nmessage = \"x\"\nparents = [\"zz\"]\n");
    let err = wasmig_graph::load(p.path()).unwrap_err();
    assert!(matches!(err, ProjectError::Graph(GraphError::MissingParent { .. })), "{err:?}");
    assert!(err.to_string().contains("a1/revision.toml"), "{err}");

    let p = project();
    write_revision(p.path(), "a1", "id = \"a1\"\nmessage = \"x\"\nparents = []\n");
    write_revision(p.path(), "a1_copy", "id = \"a1\"\nmessage = \"x\"\nparents = []\n");
    let err = wasmig_graph::load(p.path()).unwrap_err();
    assert!(matches!(err, ProjectError::Graph(GraphError::DuplicateId { .. })), "{err:?}");
    assert!(err.to_string().contains("a1_copy"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = wasmig_graph::load(empty.path()).unwrap_err();
    assert!(matches!(err, ProjectError::NoProject { .. }) && err.to_string().contains("wasmig init"), "{err}");

    fs::write(empty.path().join("wasmig.toml"), "").unwrap();
    assert!(matches!(wasmig_graph::load(empty.path()), Err(ProjectError::NoMigrationsDir { .. })));

    fs::write(empty.path().join("wasmig.toml"), "bogus = 1").unwrap();
    assert!(matches!(wasmig_graph::load(empty.path()), Err(ProjectError::Config { .. })));
}

#[test]
fn written_manifests_load_back() {
    let p = project();
    let mut m = Manifest::new(
        RevisionId::parse("m1").unwrap(),
        "merge",
        vec![RevisionId::parse("a").unwrap(), RevisionId::parse("b").unwrap()],
    );
    m.kind = RevisionKind::Merge;
    write_revision(p.path(), "a", "id = \"a\"\nmessage = \"a\"\nparents = []\n");
    write_revision(p.path(), "b", "id = \"b\"\nmessage = \"b\"\nparents = []\n");
    write_revision(p.path(), "m1_merge", &m.to_toml());
    let project = wasmig_graph::load(p.path()).unwrap();
    assert_eq!(project.graph.get("m1").unwrap().manifest, m);
}

#[test]
fn large_projects_load_in_parallel_with_deterministic_errors() {
    // Above the loader's threshold for reading on several threads.
    let p = project();
    let n = 700;
    for i in 0..n {
        let parents = if i == 0 { String::new() } else { format!("\"r{:04}\"", i - 1) };
        write_revision(
            p.path(),
            &format!("r{i:04}_x"),
            &format!("id = \"r{i:04}\"\nmessage = \"m\"\nparents = [{parents}]\n"),
        );
    }
    let project = wasmig_graph::load(p.path()).unwrap();
    assert_eq!(project.graph.len(), n);
    assert_eq!(project.graph.heads()[0].id().as_str(), "r0699");

    // Two broken manifests in different threads' shares: the first by name wins.
    write_revision(p.path(), "r0100_x", "id = \"r0100\"\nmessage = \"m\"\nparents = [\"r0099\"]\nbogus = 1\n");
    write_revision(p.path(), "r0650_x", "id = \"r0650\"\nmessage = \"m\"\nparents = [\"r0649\"]\nbogus = 1\n");
    for _ in 0..3 {
        let err = wasmig_graph::load(p.path()).unwrap_err();
        assert!(err.to_string().contains("r0100_x"), "{err}");
    }
}
