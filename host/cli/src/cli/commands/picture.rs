//! `wasmig graph`: the DAG as Graphviz DOT, a Mermaid flowchart or JSON.
//! Merges and branch points are styled so they stand out; heads are bold;
//! `depends_on` links are dashed.

use serde_json::json;
use wasmig::graph::{Graph, Revision};

use super::project::RevisionView;
use crate::cli::error::CliResult;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use crate::cli::settings::Picture;

/// Longest message shown inside a node.
const LABEL_CHARS: usize = 40;

pub fn graph(project: &wasmig::graph::Project, out: Output, picture: Picture) -> CliResult<Exit> {
    let graph = &project.graph;
    match picture {
        Picture::Dot => out.raw(&dot(graph))?,
        Picture::Mermaid => out.raw(&mermaid(graph))?,
        Picture::Json => {
            let nodes: Vec<RevisionView> = graph.topological_order().map(|r| RevisionView::new(graph, r)).collect();
            let mut edges = Vec::new();
            for rev in graph.topological_order() {
                for p in rev.parents() {
                    edges.push(json!({ "from": p, "to": rev.id(), "kind": "parent" }));
                }
                for d in rev.depends_on() {
                    edges.push(json!({ "from": d, "to": rev.id(), "kind": "depends_on" }));
                }
            }
            out.raw(&format!("{:#}\n", json!({ "nodes": nodes, "edges": edges })))?;
        }
    }
    Ok(Exit::Success)
}

fn short_message(rev: &Revision) -> String {
    let first = rev.message().lines().next().unwrap_or_default();
    if first.chars().count() > LABEL_CHARS {
        first.chars().take(LABEL_CHARS - 1).chain(['…']).collect()
    } else {
        first.to_owned()
    }
}

/// A DOT double-quoted string.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn dot(graph: &Graph) -> String {
    let mut s = String::from(
        "digraph wasmig {\n  rankdir=BT;\n  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"monospace\"];\n",
    );
    s.push_str("  // Parents sit below their children; merges are blue hexagons, branch points orange, heads bold.\n");
    for rev in graph.topological_order() {
        let view = RevisionView::new(graph, rev);
        let mut attrs = vec![format!("label={}", dot_quote(&format!("{}\n{}", rev.id(), short_message(rev))))];
        if view.is_merge {
            attrs.push("shape=hexagon, fillcolor=\"#cfe2ff\", color=\"#1f5fbf\"".to_owned());
        } else if view.is_branch_point {
            attrs.push("fillcolor=\"#ffe5b4\", color=\"#c06000\"".to_owned());
        }
        if view.is_head {
            attrs.push("penwidth=2.5".to_owned());
        }
        s.push_str(&format!("  {} [{}];\n", dot_quote(rev.id().as_str()), attrs.join(", ")));
    }
    for rev in graph.topological_order() {
        for p in rev.parents() {
            s.push_str(&format!("  {} -> {};\n", dot_quote(p.as_str()), dot_quote(rev.id().as_str())));
        }
        for d in rev.depends_on() {
            s.push_str(&format!(
                "  {} -> {} [style=dashed, label=\"depends on\"];\n",
                dot_quote(d.as_str()),
                dot_quote(rev.id().as_str())
            ));
        }
    }
    s.push_str("}\n");
    s
}

/// Mermaid node ids get a prefix so an id like `end` cannot collide with
/// the syntax; labels are quoted with `"` written as `#quot;`.
pub fn mermaid(graph: &Graph) -> String {
    let node = |id: &str| format!("r_{id}");
    let label = |rev: &Revision| format!("{}: {}", rev.id(), short_message(rev)).replace('"', "#quot;");
    let mut s = String::from("flowchart BT\n");
    let (mut merges, mut branch_points, mut heads) = (Vec::new(), Vec::new(), Vec::new());
    for rev in graph.topological_order() {
        let view = RevisionView::new(graph, rev);
        let id = node(rev.id().as_str());
        if view.is_merge {
            s.push_str(&format!("  {id}{{{{\"{}\"}}}}\n", label(rev)));
            merges.push(id.clone());
        } else {
            s.push_str(&format!("  {id}[\"{}\"]\n", label(rev)));
            if view.is_branch_point {
                branch_points.push(id.clone());
            }
        }
        if view.is_head {
            heads.push(id);
        }
    }
    for rev in graph.topological_order() {
        for p in rev.parents() {
            s.push_str(&format!("  {} --> {}\n", node(p.as_str()), node(rev.id().as_str())));
        }
        for d in rev.depends_on() {
            s.push_str(&format!("  {} -. depends on .-> {}\n", node(d.as_str()), node(rev.id().as_str())));
        }
    }
    s.push_str("  classDef merge fill:#cfe2ff,stroke:#1f5fbf\n");
    s.push_str("  classDef branchpoint fill:#ffe5b4,stroke:#c06000\n");
    s.push_str("  classDef head stroke-width:3px\n");
    for (class, ids) in [("merge", &merges), ("branchpoint", &branch_points), ("head", &heads)] {
        if !ids.is_empty() {
            s.push_str(&format!("  class {} {class}\n", ids.join(",")));
        }
    }
    s
}
