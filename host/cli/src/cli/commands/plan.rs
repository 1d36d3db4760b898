//! `wasmig plan`: the steps an upgrade or downgrade would run, computed
//! from a given applied set (no database yet).

use serde_json::json;
use std::path::Path;

use wasmig::graph::{AppliedSet, Direction, Graph, Plan, PlanError, Project, ResolveError, Resolved, Target};

use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use crate::cli::settings::PlanRequest;

pub fn plan(project: &Project, out: Output, request: PlanRequest, database: Option<&str>) -> CliResult<Exit> {
    let graph = &project.graph;
    let database = database.map(str::to_owned).or_else(|| project.config.database.url.clone());
    let assumed_empty = request.from.is_none() && database.is_none();
    let applied = match (&request.from, database) {
        (Some(heads), _) => applied_from_heads_of(graph, heads)?,
        (None, Some(url)) => {
            // The applied set as the database records it; no lock, no write.
            let migrator = super::connection::migrator(Path::new("."))?;
            let (_, rows) = super::connection::read_applied(&migrator, Some(&url))?;
            rows.into_iter().map(|row| row.revision).collect()
        }
        (None, None) => {
            out.note("note: no database given: planning from the empty applied set (give one with --database URL, or heads with --from REV,...)");
            AppliedSet::empty()
        }
    };
    let direction = if request.down { Direction::Down } else { Direction::Up };
    let plan = graph.plan(&applied, &request.target, direction)?;
    let source = if assumed_empty { PlannedFrom::AssumedEmpty } else { PlannedFrom::Given };
    print_plan(out, graph, &plan, &applied, direction, source)?;
    Ok(Exit::Success)
}

/// Where a printed plan's applied set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PlannedFrom<'a> {
    /// `--from`, or the database `plan` read.
    Given,
    /// No database and no `--from`: nothing applied.
    AssumedEmpty,
    /// `upgrade --dry-run` / `downgrade --dry-run` on this database.
    DryRun { database: &'a str },
}

/// A plan, as `plan` and `--dry-run` both print it: one JSON shape
/// (docs/JSON.md), and the same text with a first line saying which.
pub(super) fn print_plan(
    out: Output,
    graph: &Graph,
    plan: &Plan,
    applied: &AppliedSet,
    direction: Direction,
    source: PlannedFrom<'_>,
) -> CliResult<()> {
    let doc = || {
        let steps: Vec<_> = plan
            .steps
            .iter()
            .map(|step| {
                let rev = graph.get(step.revision.as_str()).expect("planned revisions exist");
                json!({ "revision": step.revision, "direction": step.direction, "kind": rev.kind(), "message": rev.message() })
            })
            .collect();
        json!({
            "direction": direction,
            "target": plan.target,
            "database": match source { PlannedFrom::DryRun { database } => Some(database), _ => None },
            "dry_run": matches!(source, PlannedFrom::DryRun { .. }),
            "applied_before": applied,
            "assumed_empty": source == PlannedFrom::AssumedEmpty,
            "steps": steps,
            "heads_after": plan.resulting_heads(),
        })
    };
    out.emit(doc, |t| {
        let verb = match direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        if let PlannedFrom::DryRun { database } = source {
            t.push_str(&format!("dry run on {database}: nothing will be changed\n"));
        }
        if plan.is_empty() {
            t.push_str(&format!("nothing to do: {verb} to {} runs no step\n", plan.target));
        } else {
            let n = plan.steps.len();
            t.push_str(&format!("{verb} to {}: {n} step{}\n", plan.target, if n == 1 { "" } else { "s" }));
            for step in &plan.steps {
                let rev = graph.get(step.revision.as_str()).expect("planned revisions exist");
                t.push_str(&format!(
                    "  {:<4} {}  {}\n",
                    step.direction.as_str(),
                    step.revision,
                    rev.message().lines().next().unwrap_or_default()
                ));
            }
        }
        let heads: Vec<&str> = plan.resulting_heads().iter().map(|h| h.as_str()).collect();
        t.push_str(&format!("heads after: {}\n", if heads.is_empty() { "base".to_owned() } else { heads.join(", ") }));
    })
}

/// `--from` names the applied heads (ids, prefixes, labels, `head`,
/// `label@head`; `base` for nothing); their ancestors count as applied.
/// Names that resolve to nothing are reported as applied revisions the
/// project does not know.
pub(super) fn applied_from_heads_of(graph: &Graph, heads: &[String]) -> CliResult<AppliedSet> {
    let mut applied = AppliedSet::empty();
    let mut unknown = Vec::new();
    for head in heads {
        let target = Target::parse(head)?;
        match graph.resolve_target(&target, &AppliedSet::empty()) {
            Ok(Resolved::Base) => {}
            Ok(Resolved::Revisions(ids)) => {
                for id in ids {
                    for ancestor in graph.ancestors(id.as_str()).unwrap_or_default() {
                        applied.insert(ancestor.id().as_str());
                    }
                    applied.insert(id.as_str());
                }
            }
            Err(ResolveError::Unknown { .. }) => unknown.push(head.clone()),
            Err(other) => return Err(other.into()),
        }
    }
    if !unknown.is_empty() {
        return Err(PlanError::UnknownApplied { ids: unknown }.into());
    }
    Ok(applied)
}
