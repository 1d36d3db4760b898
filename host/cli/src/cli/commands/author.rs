//! `wasmig new` and `wasmig merge`: the commands that grow the graph. Both
//! validate the graph with the new revision in it before writing a file.

use std::path::Path;
use std::time::SystemTime;

use serde_json::json;
use wasmig::graph::{DirectoryNaming, Graph, Manifest, Project, Revision, RevisionId, merge_command};

use super::project::load;
use crate::cli::error::CliResult;
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;
use crate::cli::scaffold::{self, Template};
use crate::cli::settings::NewRevision;

pub fn new(dir: &Path, out: Output, request: NewRevision) -> CliResult<Exit> {
    let project = load(dir)?;
    let graph = &project.graph;
    let parents =
        if request.parents.is_empty() { default_parent(graph)? } else { resolve_all(graph, &request.parents)? };
    if parents.len() >= 2 {
        return Err(UsageError::new(format!(
            "a revision with several parents is a merge and carries no changes: run `{}`, then `wasmig new` on top of it",
            merge_command(&parents)
        ))
        .into());
    }
    let mut manifest = Manifest::new(fresh_id(graph, request.id), request.message, parents);
    manifest.kind = request.template.kind();
    manifest.branch_labels = request.branch_labels;
    manifest.depends_on = resolve_all(graph, &request.depends_on)?;
    create(project, out, manifest, request.template)
}

pub fn merge(
    dir: &Path,
    out: Output,
    message: Option<String>,
    id: Option<RevisionId>,
    revisions: &[String],
) -> CliResult<Exit> {
    let project = load(dir)?;
    let graph = &project.graph;
    let parents: Vec<RevisionId> = if revisions.is_empty() {
        graph.heads().into_iter().map(|r| r.id().clone()).collect()
    } else {
        resolve_all(graph, revisions)?
    };
    if parents.len() < 2 {
        let what =
            if revisions.is_empty() { "the project has fewer than two heads" } else { "name at least two revisions" };
        return Err(UsageError::new(format!("nothing to merge: {what}")).into());
    }
    for a in &parents {
        for b in &parents {
            let a_below_b = graph.ancestors(b.as_str()).unwrap_or_default().iter().any(|r| r.id() == a);
            if a_below_b {
                return Err(UsageError::new(format!(
                    "`{a}` is an ancestor of `{b}`: merging them joins nothing; leave `{a}` out"
                ))
                .into());
            }
        }
    }
    let message = message
        .unwrap_or_else(|| format!("merge {}", parents.iter().map(RevisionId::as_str).collect::<Vec<_>>().join(", ")));
    let mut manifest = Manifest::new(fresh_id(graph, id), message, parents);
    manifest.kind = Template::Merge.kind();
    create(project, out, manifest, Template::Merge)
}

/// The single head, or no parent in an empty project.
fn default_parent(graph: &Graph) -> CliResult<Vec<RevisionId>> {
    let heads: Vec<RevisionId> = graph.heads().into_iter().map(|r| r.id().clone()).collect();
    if heads.len() > 1 {
        let list = heads.iter().map(RevisionId::as_str).collect::<Vec<_>>().join(", ");
        return Err(UsageError::new(format!(
            "the project has {} heads ({list}); pick the parent with --parent REV, or merge them first with `{}`",
            heads.len(),
            merge_command(&heads)
        ))
        .into());
    }
    Ok(heads)
}

fn resolve_all(graph: &Graph, references: &[String]) -> CliResult<Vec<RevisionId>> {
    let mut ids: Vec<RevisionId> = Vec::with_capacity(references.len());
    for reference in references {
        let id = graph.resolve(reference)?.id().clone();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The id asked for, or a random one the project does not use yet.
fn fresh_id(graph: &Graph, requested: Option<RevisionId>) -> RevisionId {
    requested.unwrap_or_else(|| {
        loop {
            let id = RevisionId::generate();
            if !graph.contains(id.as_str()) {
                break id;
            }
        }
    })
}

fn create(project: &Project, out: Output, manifest: Manifest, template: Template) -> CliResult<Exit> {
    let migrations = project.migrations_dir();
    let naming = project.config.new.directory;
    let name = scaffold::directory_name(&manifest, naming, SystemTime::now());
    let mut dir = migrations.join(&name);
    if naming == DirectoryNaming::Date && dir.exists() {
        // Two revisions with one message in the same second: the id tells them apart.
        dir = migrations.join(format!("{name}_{}", manifest.id));
    }
    // The graph with the new revision must validate (duplicate id or label,
    // label equal to an id, ...) before anything is written.
    let mut revisions: Vec<Revision> = project.graph.revisions().cloned().collect();
    revisions.push(Revision::new(manifest.clone(), &dir));
    Graph::new(revisions)?;
    let relative =
        match dir.strip_prefix(&project.root) {
            Ok(relative) => relative.to_path_buf(),
            Err(_) if template != Template::Rust => dir.clone(),
            Err(_) => return Err(UsageError::new(format!(
                "the migrations directory {} is outside the project root {}: a revision's files refer to the project's \
             .wasmig folder by a relative path; set `migrations_dir` to a folder inside it",
                migrations.display(),
                project.root.display()
            ))
            .into()),
        };
    if template == Template::Rust
        && wasmig_build::ensure_rust_sdk(&project.root, false)? == wasmig_build::SdkCopy::Written
    {
        out.note(format_args!(
            "wrote wasmig's Rust guest SDK into {} (commit it; Rust revisions depend on it by path)",
            project.root.join(wasmig_build::RUST_SDK_DIR).display()
        ));
    }
    let files = scaffold::write_revision(&dir, &relative, &manifest, template)?;
    out.emit(|| json!({ "id": manifest.id, "kind": manifest.kind, "message": manifest.message, "parents": manifest.parents, "dir": dir, "files": files }),
        |t| {
            t.push_str(&format!("created {} revision {} in {}\n", manifest.kind.as_str(), manifest.id, dir.display()));
            for file in &files {
                t.push_str(&format!("  {}\n", file.display()));
            }
        },
    )?;
    Ok(Exit::Success)
}
