//! wasmig's revision graph: project settings, revision manifests, the
//! validated graph and its queries, the target grammar, and plans. Pure
//! code: the only I/O is reading `wasmig.toml` and `revision.toml` files.
//!
//! The semantics are written down in `docs/GRAPH.md`.
//!
//! The modules form a one-way stack; read them bottom-up. Each uses only
//! modules listed before it:
//!
//! - leaves: `id` (revision ids, [`IdError`]), `message` (shared pieces of
//!   error messages), `sandbox` (`[sandbox]`: limits, capabilities, the role
//!   template), `applied` (the applied set), `direction` (up or down),
//!   `lint` (the lint rules' levels and a revision's allowances);
//! - `config` (`wasmig.toml`, using `sandbox`);
//! - `revision` (one `revision.toml`) and `target` (the target grammar,
//!   [`TargetError`]);
//! - `graph` (the validated [`Graph`], [`GraphError`], its queries);
//! - `resolve` (references and targets against a graph, [`ResolveError`])
//!   and `project` (loading from disk, [`ProjectError`]);
//! - `plan` ([`Plan`], [`PlanError`]).

mod applied;
mod config;
mod direction;
mod graph;
mod id;
mod lint;
mod locks;
mod message;
mod plan;
mod project;
mod resolve;
mod revision;
mod sandbox;
mod target;

pub use applied::AppliedSet;
pub use config::{
    BuildConfig, CONFIG_FILE, ChecksumPolicy, DatabaseConfig, DirectoryNaming, JournalConfig, NewConfig, ProjectConfig,
    valid_table_prefix,
};
pub use direction::Direction;
pub use graph::{Graph, GraphError};
pub use id::{GENERATED_ID_LEN, IdError, MAX_ID_LEN, RESERVED_WORDS, RevisionId, check_name};
pub use lint::{LintConfig, LintLevel, LintRule, Reason, RevisionLint};
pub use locks::{LockPolicy, MAX_PAUSE, RevisionLocks};
pub use message::merge_command;
pub use plan::{BlockingMerge, Plan, PlanError, Step};
pub use project::{
    MAX_SETTINGS_FILE_BYTES, ManifestCache, Project, ProjectError, load, load_config, load_with, read_revisions,
};
pub use resolve::{MIN_PREFIX_LEN, ResolveError, Resolved};
pub use revision::{MANIFEST_FILE, Manifest, Revision, RevisionKind, RevisionSandbox};
pub use sandbox::{RoleError, RoleTemplate, SandboxConfig, TENANT_PLACEHOLDER, valid_role_name};
pub use target::{Anchor, Target, TargetError};
