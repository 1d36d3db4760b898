//! `heads`, `branches`, `history` and `show`: reading the graph, marked with what a database applied when one is given.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;
use wasmig::RowState;
use wasmig::graph::{AppliedSet, Project, Resolved, RevisionId, Target, merge_command};

use super::marks::{ChecksumState, Inspected, Mark};
use super::project::{RevisionView, id_list};
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;

pub fn heads(project: &Project, out: Output, check: bool) -> CliResult<Exit> {
    let graph = &project.graph;
    let heads: Vec<RevisionView> = graph.heads().into_iter().map(|r| RevisionView::new(graph, r)).collect();
    out.emit(
        || json!({ "heads": heads, "count": heads.len() }),
        |t| {
            for head in &heads {
                t.push_str(&format!("{}{}, {}\n", head.id, head.markers(), head.message));
            }
        },
    )?;
    if check && heads.len() > 1 {
        let ids: Vec<&RevisionId> = heads.iter().map(|h| h.id).collect();
        out.note(format!("{} heads; merge them with `{}`", heads.len(), merge_command(&ids)));
        return Ok(Exit::CheckFailed);
    }
    Ok(Exit::Success)
}

pub fn branches(project: &Project, out: Output) -> CliResult<Exit> {
    let graph = &project.graph;
    let points: Vec<RevisionView> = graph.branch_points().into_iter().map(|r| RevisionView::new(graph, r)).collect();
    let labels: Vec<_> = graph
        .branch_labels()
        .map(|(label, rev)| {
            let heads: Vec<&RevisionId> =
                graph.label_heads(label).unwrap_or_default().into_iter().map(|r| r.id()).collect();
            json!({ "label": label, "revision": rev.id(), "heads": heads })
        })
        .collect();
    out.emit(
        || json!({ "branch_points": points, "labels": labels }),
        |t| {
            if points.is_empty() {
                t.push_str("no branch points\n");
            }
            for p in &points {
                t.push_str(&format!("{}{}, {}\n", p.id, p.markers(), p.message));
                for child in &p.children {
                    let message = graph.get(child.as_str()).map(|r| r.message()).unwrap_or_default();
                    t.push_str(&format!("  -> {child}, {message}\n"));
                }
            }
            for l in &labels {
                let heads: Vec<&str> = l["heads"].as_array().into_iter().flatten().filter_map(|h| h.as_str()).collect();
                t.push_str(&format!(
                    "label {} starts at {} (head: {})\n",
                    l["label"].as_str().unwrap_or(""),
                    l["revision"].as_str().unwrap_or(""),
                    heads.join(", ")
                ));
            }
        },
    )?;
    Ok(Exit::Success)
}

pub fn history(
    inspected: &Inspected,
    out: Output,
    lower: Option<&str>,
    upper: Option<&str>,
    verbose: bool,
) -> CliResult<Exit> {
    let graph = &inspected.project().graph;
    let marks = inspected.marks();
    // Each end is a target; `branch@...` at either end keeps the history to that branch.
    let mut branches: Vec<String> = Vec::new();
    let mut bound = |text: Option<&str>| -> CliResult<Vec<RevisionId>> {
        let Some(text) = text else {
            return Ok(Vec::new());
        };
        let target = Target::parse(text)?;
        branches.extend(target.branch().map(str::to_owned));
        Ok(match graph.resolve_target(&target, &AppliedSet::empty())? {
            Resolved::Base => Vec::new(),
            Resolved::Revisions(ids) => ids,
        })
    };
    let (lower, upper) = (bound(lower)?, bound(upper)?);
    let mut on_branches: Option<std::collections::BTreeSet<RevisionId>> = None;
    for branch in &branches {
        let lineage: std::collections::BTreeSet<RevisionId> =
            graph.branch_lineage(branch)?.into_iter().map(|revision| revision.id().clone()).collect();
        on_branches = Some(match on_branches {
            Some(known) => known.intersection(&lineage).cloned().collect(),
            None => lineage,
        });
    }
    let revisions: Vec<MarkedRevision> = graph
        .history(&lower, &upper)
        .into_iter()
        .filter(|revision| on_branches.as_ref().is_none_or(|keep| keep.contains(revision.id())))
        .map(|r| MarkedRevision {
            revision: RevisionView::new(graph, r),
            mark: marks.map(|marks| marks.of(r.id().as_str())),
        })
        .collect();
    if let Some(marks) = marks {
        out.note(format!("applied and pending as recorded in {}", marks.database));
        if !marks.unknown.is_empty() {
            out.note(format!("applied there but not in this project: {}", marks.unknown.join(", ")));
        }
    }
    out.emit(
        || &revisions,
        |t| {
            for MarkedRevision { revision: r, mark } in &revisions {
                let parents: Vec<&RevisionId> = r.parents.iter().collect();
                let current = if mark.as_ref().is_some_and(|mark| mark.current) { " (current)" } else { "" };
                if verbose {
                    t.push_str(&format!("Revision: {}{}{current}\n", r.id, r.markers()));
                    if let Some(mark) = mark {
                        t.push_str(&format!("Applied: {}\n", applied_text(mark)));
                    }
                    t.push_str(&format!("Parents: {}\n", id_list(&parents)));
                    if !r.depends_on.is_empty() {
                        t.push_str(&format!("Depends on: {}\n", id_list(&r.depends_on.iter().collect::<Vec<_>>())));
                    }
                    if !r.children.is_empty() {
                        t.push_str(&format!("Children: {}\n", id_list(&r.children)));
                    }
                    t.push_str(&format!(
                        "Kind: {}{}\n",
                        r.kind,
                        if r.transactional { "" } else { ", not transactional" }
                    ));
                    t.push_str(&format!("Path: {}\n\n", r.dir.display()));
                    for line in r.message.lines() {
                        t.push_str(&format!("    {line}\n"));
                    }
                    t.push('\n');
                } else {
                    // One line per revision, written in place (no string per field).
                    if let Some(mark) = mark {
                        let _ = write!(t, "{:<10} ", mark.column());
                    }
                    let _ = writeln!(
                        t,
                        "{} -> {}{}{current}, {}",
                        id_list(&parents),
                        r.id,
                        r.markers(),
                        r.message.lines().next().unwrap_or_default()
                    );
                }
            }
        },
    )?;
    Ok(Exit::Success)
}

/// A revision of `history`, with what the database recorded when one was given.
#[derive(Serialize)]
struct MarkedRevision<'a> {
    #[serde(flatten)]
    revision: RevisionView<'a>,
    #[serde(flatten)]
    mark: Option<Mark<'a>>,
}

/// `yes, at 2026-…Z` / `no` / `dirty-up since …`.
fn applied_text(mark: &Mark<'_>) -> String {
    match (mark.state, mark.applied_at) {
        (Some(RowState::Applied), Some(at)) => format!("yes, at {at}"),
        (Some(state), Some(at)) => format!("{} since {at}", state.as_str()),
        _ => "no".to_owned(),
    }
}

pub fn show(inspected: &Inspected, out: Output, reference: &str) -> CliResult<Exit> {
    let graph = &inspected.project().graph;
    let target = Target::parse(reference)?;
    let id = match graph.resolve_target(&target, &AppliedSet::empty())? {
        Resolved::Revisions(ids) if ids.len() == 1 => ids.into_iter().next().expect("one id"),
        _ => {
            return Err(crate::cli::exit::UsageError::new(format!("`{reference}` does not name one revision")).into());
        }
    };
    let rev = graph.get(id.as_str()).expect("resolved ids exist");
    let view = RevisionView::new(graph, rev);
    let sandbox = rev.manifest.sandbox.clone().unwrap_or_default();
    let mut doc = json!({
        "revision": view,
        "manifest": rev.manifest_path,
        "sandbox": { "memory_mb": sandbox.memory_mb, "timeout_ms": sandbox.timeout_ms },
        "canonical_manifest": rev.canonical_manifest(),
    });
    let recorded = match inspected.marks() {
        Some(marks) => {
            let mark = marks.of(id.as_str());
            let row = marks.row(id.as_str());
            let checksum = marks.checksum(rev)?;
            doc["database"] = json!({
                "database": marks.database,
                "applied": mark.applied,
                "state": mark.state,
                "applied_at": mark.applied_at,
                "execution_ms": row.map(|row| row.execution_ms),
                "current": mark.current,
                "checksum": checksum,
            });
            Some((mark, row, checksum))
        }
        None => None,
    };
    out.emit(
        || &doc,
        |t| {
            let parents: Vec<&RevisionId> = view.parents.iter().collect();
            t.push_str(&format!("Revision: {}{}\n", view.id, view.markers()));
            t.push_str(&format!("Kind: {}\n", view.kind));
            t.push_str(&format!("Parents: {}\n", id_list(&parents)));
            t.push_str(&format!(
                "Children: {}\n",
                if view.children.is_empty() { "none".to_owned() } else { id_list(&view.children) }
            ));
            if !view.depends_on.is_empty() {
                t.push_str(&format!("Depends on: {}\n", id_list(&view.depends_on.iter().collect::<Vec<_>>())));
            }
            if !view.dependents.is_empty() {
                t.push_str(&format!("Needed by: {}\n", id_list(&view.dependents)));
            }
            if !view.branch_labels.is_empty() {
                t.push_str(&format!("Branch labels: {}\n", view.branch_labels.join(", ")));
            }
            t.push_str(&format!("Transactional: {}\n", if view.transactional { "yes" } else { "no" }));
            for (name, value) in [("memory_mb", sandbox.memory_mb), ("timeout_ms", sandbox.timeout_ms)] {
                if let Some(value) = value {
                    t.push_str(&format!("Sandbox {name}: {value}\n"));
                }
            }
            t.push_str(&format!("Manifest: {}\n", rev.manifest_path.display()));
            if let (Some(marks), Some((mark, row, checksum))) = (inspected.marks(), &recorded) {
                t.push_str(&format!("Database: {}\n", marks.database));
                t.push_str(&format!(
                    "Applied: {}{}\n",
                    applied_text(mark),
                    if mark.current { " (current)" } else { "" }
                ));
                if let Some(row) = row {
                    t.push_str(&format!("Execution time: {} ms\n", row.execution_ms));
                }
                t.push_str(&format!("Checksum: {}", checksum.state.as_str()));
                if let (ChecksumState::Drifted, Some(recorded), Some(files)) =
                    (checksum.state, &checksum.recorded, &checksum.files)
                {
                    t.push_str(&format!(
                        " (recorded {recorded}, files now {files}: restore them, or `wasmig repair {}`)",
                        view.id
                    ));
                }
                t.push('\n');
            }
            t.push('\n');
            for line in view.message.lines() {
                t.push_str(&format!("    {line}\n"));
            }
        },
    )?;
    Ok(Exit::Success)
}
