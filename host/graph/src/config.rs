//! Project settings: the `wasmig.toml` at a project's root, its defaults,
//! and the rule for `table_prefix` that serde cannot express. `[sandbox]` is
//! in the `sandbox` module.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::lint::LintConfig;
use crate::locks::{LockPolicy, RevisionLocks};
use crate::sandbox::SandboxConfig;

/// The file name of the project settings.
pub const CONFIG_FILE: &str = "wasmig.toml";

/// `wasmig.toml`. Unknown keys are an error so a typo never goes unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Where the revision directories live, relative to the project root.
    #[serde(default = "default_migrations_dir")]
    pub migrations_dir: String,
    /// Prefix of the version tables (`<prefix>revisions`, `<prefix>events`).
    #[serde(default = "default_table_prefix")]
    pub table_prefix: String,
    #[serde(default)]
    pub checksum: ChecksumPolicy,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub sandbox: SandboxConfig,
    #[serde(default)]
    pub build: BuildConfig,
    #[serde(default)]
    pub new: NewConfig,
    #[serde(default)]
    pub journal: JournalConfig,
    /// The run-time lint: each rule's level (docs/LINT.md).
    #[serde(default)]
    pub lint: LintConfig,
}

/// The longest `table_prefix` accepted, so the version tables' names stay
/// within every dialect's identifier limit.
const MAX_TABLE_PREFIX_LEN: usize = 40;

/// Whether `prefix` can be a `table_prefix`: 1 to 40 lowercase ASCII
/// letters, digits and `_`, not starting with a digit. The prefix is
/// spliced into SQL statements as part of the version tables' names (never
/// bound as a parameter), so it must be a plain identifier fragment.
pub fn valid_table_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= MAX_TABLE_PREFIX_LEN
        && prefix.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        && !prefix.as_bytes()[0].is_ascii_digit()
}

/// How `wasmig build` builds component revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// The cargo profile Rust revisions build with (`release` unless the
    /// workspace defines a smaller one, as wasmig's own `guest`).
    #[serde(default = "default_cargo_profile")]
    pub cargo_profile: String,
}

fn default_cargo_profile() -> String {
    "release".to_owned()
}

impl Default for BuildConfig {
    fn default() -> Self {
        Self { cargo_profile: default_cargo_profile() }
    }
}

/// `[new]`: how `wasmig new` and `wasmig merge` lay out a new revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConfig {
    #[serde(default)]
    pub directory: DirectoryNaming,
}

/// `[journal]`: the statement journal (docs/JOURNAL.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// Whether every statement a revision runs is recorded in
    /// `<prefix>journal` (on unless turned off).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// PostgreSQL: also record the strongest lock each statement took, and
    /// on which relation (one query per statement; off unless turned on).
    #[serde(default)]
    pub locks: bool,
}

fn default_true() -> bool {
    true
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self { enabled: true, locks: false }
    }
}

/// How a new revision's directory is named. Only people read the name: the
/// graph takes ids and parents from `revision.toml`, whatever the directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DirectoryNaming {
    /// `<id>_<slug>`, e.g. `3f9a1c2b7d4e_add_users`.
    #[default]
    Id,
    /// `<UTC date>_<time>_<slug>`, e.g. `20261205_221500_add_users`: the
    /// directory listing follows the order revisions were created in.
    Date,
}

/// What to do when an applied revision's checksum no longer matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChecksumPolicy {
    #[default]
    Error,
    Warn,
    Off,
}

/// `[database]`: the default URL, and how long anything waits for a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Used when neither `--database` nor `DATABASE_URL` is given.
    pub url: Option<String>,
    /// The longest a revision's statement waits for a lock (PostgreSQL
    /// `lock_timeout`; SQLite's busy wait for the step's write lock).
    #[serde(default = "default_statement_lock_timeout_ms")]
    pub statement_lock_timeout_ms: u64,
    /// How many times a transactional revision that hit a lock timeout, a
    /// deadlock or a serialization failure is rolled back and run again.
    #[serde(default = "default_lock_retries")]
    pub lock_retries: u32,
    /// The first pause before running it again; it doubles, with jitter.
    #[serde(default = "default_lock_retry_backoff_ms")]
    pub lock_retry_backoff_ms: u64,
    /// How long a run waits for wasmig's own migration lock (PostgreSQL).
    #[serde(default = "default_migration_lock_timeout_ms")]
    pub migration_lock_timeout_ms: u64,
}

fn default_statement_lock_timeout_ms() -> u64 {
    2_000
}
fn default_lock_retries() -> u32 {
    5
}
fn default_lock_retry_backoff_ms() -> u64 {
    500
}
fn default_migration_lock_timeout_ms() -> u64 {
    60_000
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            statement_lock_timeout_ms: default_statement_lock_timeout_ms(),
            lock_retries: default_lock_retries(),
            lock_retry_backoff_ms: default_lock_retry_backoff_ms(),
            migration_lock_timeout_ms: default_migration_lock_timeout_ms(),
        }
    }
}

impl DatabaseConfig {
    /// The lock policy of a step of a revision with these overrides.
    pub fn lock_policy(&self, revision: Option<&RevisionLocks>) -> LockPolicy {
        let own = revision.cloned().unwrap_or_default();
        LockPolicy {
            statement_wait: Duration::from_millis(
                own.statement_lock_timeout_ms.unwrap_or(self.statement_lock_timeout_ms),
            ),
            retries: own.lock_retries.unwrap_or(self.lock_retries),
            backoff: Duration::from_millis(own.lock_retry_backoff_ms.unwrap_or(self.lock_retry_backoff_ms)),
        }
    }

    pub fn migration_lock_timeout(&self) -> Duration {
        Duration::from_millis(self.migration_lock_timeout_ms)
    }
}

fn default_migrations_dir() -> String {
    "migrations".to_owned()
}
fn default_table_prefix() -> String {
    "wasmig_".to_owned()
}

impl Default for ProjectConfig {
    fn default() -> Self {
        Self {
            migrations_dir: default_migrations_dir(),
            table_prefix: default_table_prefix(),
            checksum: ChecksumPolicy::default(),
            database: DatabaseConfig::default(),
            sandbox: SandboxConfig::default(),
            build: BuildConfig::default(),
            new: NewConfig::default(),
            journal: JournalConfig::default(),
            lint: LintConfig::default(),
        }
    }
}

impl ProjectConfig {
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The file `wasmig init` writes: every setting, at its default, explained.
    pub fn template() -> &'static str {
        r#"# wasmig project settings. Every key is optional; the values shown are the defaults.

# Where revision directories (<id>_<slug>/revision.toml) live, relative to this file.
migrations_dir = "migrations"
# Prefix of wasmig's own tables: <prefix>revisions and <prefix>events.
table_prefix = "wasmig_"
# An applied revision whose checksum changed: "error", "warn" or "off".
checksum = "error"

[database]
# Default database when neither --database nor DATABASE_URL is given.
# url = "sqlite://app.db"
# The longest a revision's statement waits for a lock (PostgreSQL lock_timeout;
# SQLite: the wait for the step's write lock). A revision cannot lift it.
statement_lock_timeout_ms = 2000
# A transactional revision that hit that bound, a deadlock or a serialization
# failure is rolled back and run again, up to this many times...
lock_retries = 5
# ...after a pause that starts here and doubles, with jitter.
lock_retry_backoff_ms = 500
# How long a run waits for wasmig's own migration lock (PostgreSQL).
migration_lock_timeout_ms = 60000

[sandbox]
memory_mb = 256
# The time a revision's own code may run in one hook (time in the database not counted).
timeout_ms = 30000
# The wall-clock time one hook may take, its SQL included. Unset: no limit, so a
# long index build or backfill is not cut short; set one on a platform that runs
# revisions it does not trust. A revision.toml [sandbox] may raise or lower it.
# sql_timeout_ms = 600000
# Per hook call; a Python or JavaScript revision uses about 40 instances.
# max_tables = 100
# max_instances = 100
# Statement classes the SQL guard refuses unless listed here (docs/SQL-GUARD.md);
# each use is recorded in the events table. Only for revisions you trust:
# "server-files", "programs", "remote-databases", "roles", "server-settings", "extensions".
# capabilities = []
# PostgreSQL: the role revisions' statements run as; {tenant} becomes the
# tenant's name (which must then give a plain lowercase role name).
# role = "tenant_{tenant}"

[build]
# The cargo profile `wasmig build` builds Rust revisions with.
cargo_profile = "release"

[new]
# How `wasmig new` and `wasmig merge` name a revision's directory: "id"
# (<id>_<slug>) or "date" (<UTC date>_<time>_<slug>, e.g.
# 20261205_221500_add_users, so the folder lists in creation order). Ids do
# not change, and the graph never reads directory names.
directory = "id"

[journal]
# Every statement a revision runs is recorded in <prefix>journal (docs/JOURNAL.md).
enabled = true
# PostgreSQL: also record the strongest lock each statement took, and on which relation.
locks = false

[lint]
# Run-time lint (docs/LINT.md): each rule "deny", "warn" or "off"; `default` for the rest.
default = "warn"
# drop-column = "deny"
"#
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let config = ProjectConfig::from_toml("").unwrap();
        assert_eq!(config, ProjectConfig::default());
        assert_eq!(config.sandbox.memory_mb, 256);
        assert_eq!(config.database.migration_lock_timeout_ms, 60_000);
        assert_eq!(config.database.statement_lock_timeout_ms, 2_000);
        assert_eq!(config.build.cargo_profile, "release");
        assert_eq!(config.new.directory, DirectoryNaming::Id);
    }

    #[test]
    fn template_parses_to_defaults() {
        assert_eq!(ProjectConfig::from_toml(ProjectConfig::template()).unwrap(), ProjectConfig::default());
    }

    #[test]
    fn the_templates_commented_sandbox_keys_parse() {
        // Uncommenting the examples in the template gives valid settings.
        let uncommented = ProjectConfig::template()
            .replace("# capabilities = []", "capabilities = []")
            .replace("# role = ", "role = ");
        let config = ProjectConfig::from_toml(&uncommented).unwrap();
        assert!(config.sandbox.capabilities.is_empty());
        assert!(config.sandbox.role.is_some());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(ProjectConfig::from_toml("migration_dir = \"x\"").is_err());
        assert!(ProjectConfig::from_toml("[sandbox]\nmemory = 1").is_err());
        assert!(ProjectConfig::from_toml("checksum = \"maybe\"").is_err());
        assert!(ProjectConfig::from_toml("[new]\ndirectory = \"random\"").is_err());
        assert!(ProjectConfig::from_toml("[new]\nfolder = \"date\"").is_err());
        assert_eq!(
            ProjectConfig::from_toml("[new]\ndirectory = \"date\"").unwrap().new.directory,
            DirectoryNaming::Date
        );
    }

    #[test]
    fn table_prefixes_are_plain_identifier_fragments() {
        let longest = "a".repeat(MAX_TABLE_PREFIX_LEN);
        let too_long = "a".repeat(MAX_TABLE_PREFIX_LEN + 1);
        for good in ["wasmig_", "app_schema_", "v2_", "_", "x", longest.as_str()] {
            assert!(valid_table_prefix(good), "{good:?} should be accepted");
        }
        for bad in ["", "1x_", "9", "Wasmig_", "x; DROP TABLE y; --", "a-b", "a b", "\"q\"", "é_", too_long.as_str()] {
            assert!(!valid_table_prefix(bad), "{bad:?} should be refused");
        }
        assert!(valid_table_prefix(&ProjectConfig::default().table_prefix));
    }

    #[test]
    fn reads_every_field() {
        let config = ProjectConfig::from_toml(
            "migrations_dir = \"db\"\ntable_prefix = \"t_\"\nchecksum = \"warn\"\n[database]\nurl = \"sqlite://x\"\nmigration_lock_timeout_ms = 7\nstatement_lock_timeout_ms = 8\nlock_retries = 0\nlock_retry_backoff_ms = 9\n[sandbox]\nmemory_mb = 64\ntimeout_ms = 5\nmax_tables = 2\nmax_instances = 3\ncapabilities = [\"roles\"]\nrole = \"tenant_{tenant}\"\n",
        )
        .unwrap();
        assert!(config.sandbox.capabilities.allows(wasmig_sqlguard::Capability::Roles));
        assert_eq!(config.sandbox.role.as_ref().unwrap().role_for(Some("acme")).unwrap(), "tenant_acme");
        assert_eq!(config.migrations_dir, "db");
        assert_eq!(config.checksum, ChecksumPolicy::Warn);
        assert_eq!(config.database.url.as_deref(), Some("sqlite://x"));
        assert_eq!(config.sandbox.max_instances, Some(3));
        assert_eq!(config.database.migration_lock_timeout_ms, 7);
        let policy = config.database.lock_policy(None);
        assert_eq!(
            (policy.statement_wait, policy.retries, policy.backoff),
            (Duration::from_millis(8), 0, Duration::from_millis(9))
        );
        let own = RevisionLocks { lock_retries: Some(2), ..RevisionLocks::default() };
        assert_eq!(config.database.lock_policy(Some(&own)).retries, 2);
        assert_eq!(config.database.lock_policy(Some(&own)).statement_wait, Duration::from_millis(8));
    }
}
