//! wasmig's revision graph: project settings, revision manifests, the
//! validated graph and its queries, the target grammar, and plans. Pure
//! code: the only I/O is reading `wasmig.toml` and `revision.toml` files.
//!
//! The semantics are written down in `docs/GRAPH.md`.

mod config;
mod error;
mod graph;
mod id;
mod plan;
mod project;
mod revision;
mod target;

pub use config::{BuildConfig, CONFIG_FILE, ChecksumPolicy, DatabaseConfig, ProjectConfig, SandboxConfig};
pub use error::{BlockingMerge, GraphError, PlanError, ProjectError, ResolveError, merge_command};
pub use graph::{Graph, MIN_PREFIX_LEN, Resolved};
pub use id::{GENERATED_ID_LEN, IdError, MAX_ID_LEN, RESERVED_WORDS, RevisionId, check_name};
pub use plan::{AppliedSet, Direction, Plan, Step};
pub use project::{Project, load, load_config, read_revisions};
pub use revision::{MANIFEST_FILE, Manifest, Revision, RevisionKind, RevisionSandbox};
pub use target::{Anchor, Target, TargetError};
