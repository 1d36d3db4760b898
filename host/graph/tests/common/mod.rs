//! Helpers shared by the graph crate's integration tests: a compact notation
//! for small graphs with one-letter ids.

#![allow(dead_code)]

use wasmig_graph::{AppliedSet, Graph, Revision};

/// Builds revisions from a spec such as `"a b:a c:a m:b,c x:m>b#feat"`:
/// items separated by spaces, `id[:parents][>depends_on][#label]`, lists
/// comma-separated. Revisions with several parents are merges.
pub fn revisions(spec: &str) -> Vec<Revision> {
    spec.split_whitespace()
        .map(|item| {
            let (item, label) = item.split_once('#').map_or((item, None), |(i, l)| (i, Some(l)));
            let (item, deps) = item.split_once('>').map_or((item, None), |(i, d)| (i, Some(d)));
            let (id, parents) = item.split_once(':').map_or((item, None), |(i, p)| (i, Some(p)));
            let parents: Vec<&str> = parents.map(|p| p.split(',').collect()).unwrap_or_default();
            let mut rev = Revision::in_memory(id, &parents);
            if let Some(deps) = deps {
                rev = rev.with_depends_on(&deps.split(',').collect::<Vec<_>>());
            }
            if let Some(label) = label {
                rev = rev.with_labels(&[label]);
            }
            rev
        })
        .collect()
}

pub fn graph(spec: &str) -> Graph {
    Graph::new(revisions(spec)).unwrap_or_else(|e| panic!("graph `{spec}`: {e}"))
}

pub fn applied(ids: &str) -> AppliedSet {
    AppliedSet::new(ids.split_whitespace())
}
