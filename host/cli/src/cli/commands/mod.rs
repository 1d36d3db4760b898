//! One module per command or group of commands, and what they share: the
//! project loader and the JSON view of a revision.

mod author;
mod build;
mod init;
mod inspect;
mod migrate;
mod picture;
mod plan;
mod state;
pub mod tenants;

use std::path::{Path, PathBuf};

use serde::Serialize;
use wasmig_graph::{Graph, Project, Revision, RevisionId};

use super::exit::{Exit, UsageError};
use super::settings::{Command, Settings};

pub fn run(settings: Settings) -> anyhow::Result<Exit> {
    let out = settings.output;
    // `-C DIR` behaves like git's: as if started in DIR, so relative paths
    // (a `sqlite:app.db` URL, the migrations directory) are relative to it.
    if settings.project_dir != Path::new(".") {
        if matches!(settings.command, Command::Init) {
            // `wasmig -C new-project init` creates the project's directory.
            std::fs::create_dir_all(&settings.project_dir)?;
        }
        std::env::set_current_dir(&settings.project_dir).map_err(|error| {
            anyhow::Error::new(UsageError::new(format!("-C {}: {error}", settings.project_dir.display())))
        })?;
    }
    // Paths in output stay as meaningful as without -C: absolute under -C.
    let here = if settings.project_dir == Path::new(".") { PathBuf::from(".") } else { std::env::current_dir()? };
    let dir = here.as_path();
    let database = settings.database_url.as_deref();
    match settings.command {
        Command::Init => init::init(dir, out),
        Command::New(request) => author::new(dir, out, request),
        Command::Build(request) => build::build(dir, out, request),
        Command::Merge { message, id, revisions } => author::merge(dir, out, message, id, &revisions),
        Command::Heads { check } => inspect::heads(&load(dir)?, out, check),
        Command::Branches => inspect::branches(&load(dir)?, out),
        Command::History { lower, upper, verbose } => {
            inspect::history(&load(dir)?, out, lower.as_deref(), upper.as_deref(), verbose)
        }
        Command::Show { revision } => inspect::show(&load(dir)?, out, &revision),
        Command::Graph { picture } => picture::graph(&load(dir)?, out, picture),
        Command::Plan(request) => plan::plan(&load(dir)?, out, request, database),
        Command::Run(request) => migrate::run(dir, database, out, request),
        Command::Current => state::current(dir, database, out),
        Command::Status => state::status(dir, database, out),
        Command::Stamp { target } => migrate::stamp(dir, database, out, &target),
        Command::Resolve { revision, as_applied } => migrate::resolve(dir, database, out, &revision, as_applied),
        Command::Repair { revision } => migrate::repair(dir, database, out, &revision),
        Command::Verify { revision } => state::verify(dir, database, out, revision.as_deref()),
        Command::Tenants(request) => tenants::run(dir, out, request),
    }
}

fn load(dir: &Path) -> anyhow::Result<Project> {
    Ok(wasmig_graph::load(dir)?)
}

/// Everything about one revision, for JSON output.
#[derive(Debug, Serialize)]
pub struct RevisionView<'a> {
    pub id: &'a RevisionId,
    pub message: &'a str,
    pub kind: &'static str,
    pub parents: &'a [RevisionId],
    pub children: Vec<&'a RevisionId>,
    pub depends_on: &'a [RevisionId],
    pub dependents: Vec<&'a RevisionId>,
    pub branch_labels: &'a [String],
    pub transactional: bool,
    pub is_head: bool,
    pub is_base: bool,
    pub is_merge: bool,
    pub is_branch_point: bool,
    pub dir: &'a PathBuf,
}

impl<'a> RevisionView<'a> {
    pub fn new(graph: &'a Graph, rev: &'a Revision) -> Self {
        let ids = |revs: Option<Vec<&'a Revision>>| {
            revs.unwrap_or_default().into_iter().map(Revision::id).collect::<Vec<_>>()
        };
        let children = ids(graph.children(rev.id().as_str()));
        Self {
            id: rev.id(),
            message: rev.message(),
            kind: rev.kind().as_str(),
            parents: rev.parents(),
            is_head: children.is_empty(),
            is_branch_point: children.len() >= 2,
            children,
            depends_on: rev.depends_on(),
            dependents: ids(graph.dependents(rev.id().as_str())),
            branch_labels: rev.branch_labels(),
            transactional: rev.transactional(),
            is_base: rev.parents().is_empty(),
            is_merge: rev.is_merge(),
            dir: &rev.dir,
        }
    }

    /// `(head) (merge) (branch point) (label)` for text output.
    pub fn markers(&self) -> String {
        let mut out = String::new();
        for (on, word) in [(self.is_head, "head"), (self.is_merge, "merge"), (self.is_branch_point, "branch point")] {
            if on {
                out.push_str(&format!(" ({word})"));
            }
        }
        for label in self.branch_labels {
            out.push_str(&format!(" ({label})"));
        }
        out
    }
}

/// `a, b` or `<base>` for an empty list.
fn id_list(ids: &[&RevisionId]) -> String {
    if ids.is_empty() { "<base>".to_owned() } else { ids.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", ") }
}
