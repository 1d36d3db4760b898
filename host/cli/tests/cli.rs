//! Runs the `wasmig` binary on fixture projects made in temp dirs: text and
//! JSON outputs, exit codes, and DOT output checked by Graphviz.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn wasmig(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("wasmig").unwrap();
    cmd.arg("-C").arg(dir).env_remove("DATABASE_URL");
    cmd
}

/// A project from a compact spec: `id:parent,parent` items; several parents
/// make a merge; `#label` adds a branch label; `>dep` a depends_on.
fn fixture(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("wasmig.toml"), "").unwrap();
    fs::create_dir(dir.path().join("migrations")).unwrap();
    for item in spec.split_whitespace() {
        let (item, label) = item.split_once('#').map_or((item, None), |(i, l)| (i, Some(l)));
        let (item, dep) = item.split_once('>').map_or((item, None), |(i, d)| (i, Some(d)));
        let (id, parents) = item.split_once(':').map_or((item, ""), |(i, p)| (i, p));
        let parents: Vec<String> = parents.split(',').filter(|p| !p.is_empty()).map(|p| format!("\"{p}\"")).collect();
        let mut toml = format!("id = \"{id}\"\nmessage = \"revision {id}\"\nparents = [{}]\n", parents.join(", "));
        if parents.len() >= 2 {
            toml.push_str("kind = \"merge\"\n");
        }
        if let Some(label) = label {
            toml.push_str(&format!("branch_labels = [\"{label}\"]\n"));
        }
        if let Some(dep) = dep {
            toml.push_str(&format!("depends_on = [\"{dep}\"]\n"));
        }
        let rev_dir = dir.path().join("migrations").join(format!("{id}_rev"));
        fs::create_dir(&rev_dir).unwrap();
        fs::write(rev_dir.join("revision.toml"), toml).unwrap();
    }
    dir
}

fn json_of(cmd: &mut Command) -> Value {
    let output = cmd.arg("--format").arg("json").output().unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v["id"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn init_new_merge_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("proj");
    wasmig(&root).arg("init").assert().success().stdout(predicate::str::contains("wasmig.toml"));
    assert!(root.join("migrations").is_dir());
    wasmig(&root).arg("init").assert().code(2).stderr(predicate::str::contains("already"));

    wasmig(&root).args(["new", "-m", "create users", "--id", "a"]).assert().success();
    let created = json_of(wasmig(&root).args(["new", "-m", "add email", "--id", "b"]));
    assert_eq!(created["parents"], serde_json::json!(["a"]), "parent defaults to the single head");
    let b_dir = Path::new(created["dir"].as_str().unwrap());
    assert!(b_dir.ends_with("b_add_email"));
    for file in ["revision.toml", "up.sql", "down.sql"] {
        assert!(b_dir.join(file).is_file(), "{file} missing");
    }
    wasmig(&root)
        .args(["new", "-m", "side", "--id", "c", "--parent", "a", "--branch-label", "side"])
        .assert()
        .success();

    // Two heads now: `new` without --parent refuses and lists them.
    wasmig(&root).args(["new", "-m", "next"]).assert().code(2).stderr(
        predicate::str::contains("b, c")
            .and(predicate::str::contains("--parent"))
            .and(predicate::str::contains("wasmig merge")),
    );
    // Taken ids and labels are refused before anything is written.
    wasmig(&root)
        .args(["new", "-m", "again", "--id", "b", "--parent", "b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("duplicate"));
    wasmig(&root).args(["new", "-m", "again", "--parent", "b", "--branch-label", "side"]).assert().code(2);
    wasmig(&root).args(["new", "-m", "bad", "--id", "x-y"]).assert().code(2);
    wasmig(&root)
        .args(["new", "-m", "two parents", "--parent", "b", "--parent", "c"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("merge"));

    wasmig(&root).args(["heads", "--check"]).assert().code(3).stderr(predicate::str::contains("wasmig merge"));
    let merged = json_of(wasmig(&root).args(["merge", "-m", "join", "--id", "m"]));
    assert_eq!(merged["kind"], "merge");
    assert_eq!(merged["parents"], serde_json::json!(["b", "c"]));
    wasmig(&root)
        .args(["heads", "--check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("m (head) (merge), join"));
    wasmig(&root).args(["merge"]).assert().code(2).stderr(predicate::str::contains("nothing to merge"));

    let plan = json_of(wasmig(&root).args(["plan", "head"]));
    assert_eq!(plan["assumed_empty"], true);
    let steps: Vec<&str> = plan["steps"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap()).collect();
    assert_eq!(steps, ["a", "b", "c", "m"]);
}

#[test]
fn new_on_an_empty_project_makes_a_base_with_a_generated_id() {
    let dir = fixture("");
    let created = json_of(wasmig(dir.path()).args(["new", "-m", "First table!"]));
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(created["parents"], serde_json::json!([]));
    assert!(created["dir"].as_str().unwrap().ends_with(&format!("{id}_first_table")));
}

#[test]
fn heads_and_branches_json() {
    let dir = fixture("a b:a c:b d:a#side e:d");
    let heads = json_of(wasmig(dir.path()).arg("heads"));
    assert_eq!(heads["count"], 2);
    assert_eq!(ids(&heads["heads"]), ["c", "e"]);
    assert_eq!(heads["heads"][0]["is_head"], true);

    let branches = json_of(wasmig(dir.path()).arg("branches"));
    assert_eq!(ids(&branches["branch_points"]), ["a"]);
    assert_eq!(branches["branch_points"][0]["children"], serde_json::json!(["b", "d"]));
    assert_eq!(branches["labels"][0], serde_json::json!({ "label": "side", "revision": "d", "heads": ["e"] }));
    wasmig(dir.path()).arg("heads").arg("--check").assert().code(3);
}

#[test]
fn history_order_range_and_verbose() {
    let dir = fixture("a b:a c:b d:c");
    let all = json_of(wasmig(dir.path()).arg("history"));
    assert_eq!(ids(&all), ["d", "c", "b", "a"]);
    let range = json_of(wasmig(dir.path()).args(["history", "-r", "b:c"]));
    assert_eq!(ids(&range), ["c", "b"]);
    let open = json_of(wasmig(dir.path()).args(["history", "-r", "c:"]));
    assert_eq!(ids(&open), ["d", "c"]);
    let head_bound = json_of(wasmig(dir.path()).args(["history", "-r", "base:head-1"]));
    assert_eq!(ids(&head_bound), ["c", "b", "a"]);
    wasmig(dir.path())
        .args(["history"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("c -> d (head), revision d\n"));
    wasmig(dir.path())
        .args(["history", "--verbose"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Revision: d (head)").and(predicate::str::contains("Parents: c")));
    wasmig(dir.path()).args(["history", "-r", "nope"]).assert().code(2);
    wasmig(dir.path()).args(["history", "-r", "zzzz:"]).assert().code(2).stderr(predicate::str::contains("zzzz"));
}

#[test]
fn history_and_plan_take_branch_targets() {
    // Alembic's LabeledBranchTest: two independent branches.
    let dir = fixture("a#abranch b:a c:b d e:d#ebranch f:e");
    let branch = json_of(wasmig(dir.path()).args(["history", "-r", "ebranch@base:heads"]));
    assert_eq!(ids(&branch), ["f", "e", "d"]);
    let branch = json_of(wasmig(dir.path()).args(["history", "-r", "abranch@base:abranch@head"]));
    assert_eq!(ids(&branch), ["c", "b", "a"]);
    let plan = json_of(wasmig(dir.path()).args(["plan", "ebranch@+2"]));
    assert_eq!(
        plan["steps"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap()).collect::<Vec<_>>(),
        ["d", "e"]
    );
    wasmig(dir.path())
        .args(["plan", "abranch@e"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`e` is not on branch `abranch`"));
}

#[test]
fn show_resolves_prefixes_and_labels() {
    let dir = fixture("abcd1 abcd2:abcd1 efgh9:abcd2#tip");
    let shown = json_of(wasmig(dir.path()).args(["show", "efgh"]));
    assert_eq!(shown["revision"]["id"], "efgh9");
    assert!(shown["manifest"].as_str().unwrap().ends_with("efgh9_rev/revision.toml"));
    assert!(shown["canonical_manifest"].as_str().unwrap().starts_with("wasmig-manifest=1\nid=efgh9\n"));
    assert_eq!(json_of(wasmig(dir.path()).args(["show", "tip"]))["revision"]["id"], "efgh9");
    assert_eq!(json_of(wasmig(dir.path()).args(["show", "head"]))["revision"]["id"], "efgh9");
    wasmig(dir.path()).args(["show", "abcd"]).assert().code(2).stderr(predicate::str::contains("abcd1, abcd2"));
    wasmig(dir.path()).args(["show", "abcd2"]).assert().success().stdout(predicate::str::contains("Parents: abcd1"));
}

#[test]
fn plan_outputs_and_refusals() {
    let dir = fixture("a b:a c:a m:b,c d:m e:d");
    let up = json_of(wasmig(dir.path()).args(["plan", "head", "--from", "b"]));
    assert_eq!(up["applied_before"], serde_json::json!(["a", "b"]));
    let steps: Vec<&str> = up["steps"].as_array().unwrap().iter().map(|s| s["revision"].as_str().unwrap()).collect();
    assert_eq!(steps, ["c", "m", "d", "e"]);
    assert_eq!(up["heads_after"], serde_json::json!(["e"]));
    assert_eq!(up["steps"][1]["kind"], "merge");

    let down = json_of(wasmig(dir.path()).args(["plan", "m", "--down", "--from", "head"]));
    let steps: Vec<(&str, &str)> = down["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["direction"].as_str().unwrap(), s["revision"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("down", "e"), ("down", "d")]);

    // A relative target that looks like a flag.
    wasmig(dir.path())
        .args(["plan", "-1", "--down", "--from", "e"])
        .assert()
        .success()
        .stdout(predicate::str::contains("down e"));

    // A downgrade through the merge is refused, naming it and its parents.
    let refused = wasmig(dir.path()).args(["plan", "a", "--down", "--from", "e", "--format", "json"]).assert().code(2);
    let output = refused.get_output();
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
    let message = doc["error"].as_str().unwrap();
    assert!(message.contains("`m` (merge of b, c)") && message.contains("allowed targets"), "{message}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("merge revisions are never reverted"));

    // Unknown applied revisions are reported, not ignored.
    wasmig(dir.path())
        .args(["plan", "head", "--from", "zz9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not know: zz9"));
    wasmig(dir.path())
        .args(["plan", "base", "--from", "a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot upgrade to `base`"));
    wasmig(dir.path()).args(["plan", "a+x"]).assert().code(2);
    wasmig(dir.path()).args(["plan", "head"]).assert().success().stderr(predicate::str::contains("empty applied set"));
    wasmig(dir.path()).args(["-q", "plan", "head"]).assert().success().stderr(predicate::str::is_empty());

    let two_heads = fixture("a b:a c:a");
    wasmig(two_heads.path())
        .args(["plan", "head"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("b, c").and(predicate::str::contains("wasmig merge -m \"merge heads\" b c")));
    wasmig(two_heads.path()).args(["plan", "heads"]).assert().success().stdout(predicate::str::contains("3 steps"));
}

#[test]
fn project_errors_exit_2_and_name_the_file() {
    let dir = fixture("a b:a");
    fs::write(
        dir.path().join("migrations/b_rev/revision.toml"),
        "id = \"b\"\nmessage = \"x\"\nparents = [\"a\"]\nparent = \"a\"\n",
    )
    .unwrap();
    wasmig(dir.path())
        .arg("heads")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("b_rev/revision.toml").and(predicate::str::contains("parent")));

    let cyclic = fixture("a:b b:a");
    wasmig(cyclic.path()).arg("history").assert().code(2).stderr(predicate::str::contains("cycle"));

    let empty = tempfile::tempdir().unwrap();
    wasmig(empty.path()).arg("heads").assert().code(2).stderr(predicate::str::contains("wasmig init"));
    let doc = json_of(wasmig(empty.path()).arg("heads"));
    assert_eq!(doc["exit_code"], 2);
}

#[test]
fn usage_errors_exit_2() {
    let dir = fixture("a");
    wasmig(dir.path()).args(["heads", "--format", "dot"]).assert().code(2).stderr(predicate::str::contains("graph"));
    wasmig(dir.path()).args(["graph", "--format", "text"]).assert().code(2);
    wasmig(dir.path()).args(["new"]).assert().code(2);
    wasmig(dir.path()).args(["frobnicate"]).assert().code(2);
    wasmig(dir.path()).args(["new", "-m", "  "]).assert().code(2);
    wasmig(dir.path()).args(["-q", "-v", "heads"]).assert().code(2);
}

#[test]
fn mermaid_marks_merges_and_branch_points() {
    let dir = fixture("a b:a c:a m:b,c x:m>b");
    let out = wasmig(dir.path()).args(["graph", "--format", "mermaid"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with("flowchart BT\n"));
    assert!(text.contains("r_m{{\"m: revision m\"}}"), "{text}");
    assert!(text.contains("class r_m merge") && text.contains("class r_a branchpoint"), "{text}");
    assert!(text.contains("r_b -. depends on .-> r_x"), "{text}");

    let doc = json_of(wasmig(dir.path()).arg("graph"));
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(doc["edges"].as_array().unwrap().len(), 6);
}

/// Graphviz must accept the DOT as is. Without `dot` the test is skipped
/// locally but fails under CI, where the tool is installed on purpose.
#[test]
fn dot_output_renders_with_graphviz() {
    let dir = fixture("a b:a c:a m:b,c x:m y:m>b#tip z:y");
    // A message that needs escaping inside a DOT string.
    let path = dir.path().join("migrations/z_rev/revision.toml");
    fs::write(&path, "id = \"z\"\nmessage = \"say \\\"hi\\\" \\\\ then\\nmore\"\nparents = [\"y\"]\n").unwrap();
    let out = wasmig(dir.path()).args(["graph", "--format", "dot"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("\"m\" [label=\"m\\nrevision m\", shape=hexagon"), "{text}");
    assert!(text.contains("\"a\" [label=\"a\\nrevision a\", fillcolor=\"#ffe5b4\""), "{text}");
    assert!(text.contains("\"b\" -> \"y\" [style=dashed"), "{text}");

    let mut child = match StdCommand::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "Graphviz `dot` is required under CI: {e}");
            eprintln!("skipping: Graphviz `dot` not found ({e}); install graphviz");
            return;
        }
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let rendered = child.wait_with_output().unwrap();
    assert!(rendered.status.success(), "dot refused the output: {}\n{text}", String::from_utf8_lossy(&rendered.stderr));
    assert!(rendered.stderr.is_empty(), "dot warned: {}", String::from_utf8_lossy(&rendered.stderr));
    let svg = String::from_utf8(rendered.stdout).unwrap();
    assert!(svg.contains("<svg") && svg.contains("say &quot;hi&quot;"), "{svg}");
}

#[test]
fn reading_commands_never_create_a_sqlite_file() {
    let project = fixture("a b:a");
    for id in ["a", "b"] {
        let dir = project.path().join("migrations").join(format!("{id}_rev"));
        fs::write(dir.join("up.sql"), format!("CREATE TABLE t_{id} (x INTEGER);")).unwrap();
    }
    let database = project.path().join("not-yet.db");
    let url = format!("sqlite:{}", database.display());
    let cache = project.path().join("cache");
    let wasmig = |dir: &Path| {
        let mut command = wasmig(dir);
        command.env("WASMIG_CACHE_DIR", &cache);
        command
    };
    wasmig(project.path())
        .args(["--database", &url, "status"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("not created yet").and(predicate::str::contains("pending:  2")));
    wasmig(project.path())
        .args(["--database", &url, "plan", "heads"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 steps"));
    wasmig(project.path())
        .args(["--database", &url, "upgrade", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing will be changed"));
    wasmig(project.path())
        .args(["--database", &url, "current"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not exist yet"));
    assert!(!database.exists(), "a reading command created {}", database.display());
    wasmig(project.path()).args(["--database", &url, "upgrade"]).assert().success();
    wasmig(project.path()).args(["--database", &url, "status"]).assert().success();
}
