//! The raw command line, as clap parses it. Validation and defaults that
//! need more than clap happen once, in `settings`.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use wasmig::EventKind;

#[derive(Debug, Parser)]
#[command(name = "wasmig", version, about = "Database migrations whose revisions are sandboxed WebAssembly components")]
pub struct Args {
    // The global options are listed under their own heading, after each
    // command's own options (which are what `wasmig CMD --help` is read for).
    /// Run as if started in DIR (the project root, where wasmig.toml lives).
    /// Without it, the project is the nearest directory at or above the
    /// current one that holds wasmig.toml.
    #[arg(short = 'C', long = "directory", value_name = "DIR", global = true, help_heading = GLOBAL_OPTIONS)]
    pub directory: Option<PathBuf>,

    /// Database URL; overrides the project's [database] url. Commands that
    /// open no database refuse it.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true, global = true, help_heading = GLOBAL_OPTIONS)]
    pub database: Option<String>,

    /// Output format: text or json for every command; dot or mermaid for `graph`.
    #[arg(long, value_enum, value_name = "FORMAT", global = true, help_heading = GLOBAL_OPTIONS)]
    pub format: Option<FormatArg>,

    /// Print only results: no notes on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL_OPTIONS)]
    pub quiet: bool,

    /// Say more (repeat for even more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL_OPTIONS)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: CommandArgs,
}

/// The heading of the options every command takes.
pub const GLOBAL_OPTIONS: &str = "Global options";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, Subcommand)]
pub enum CommandArgs {
    /// Create wasmig.toml and the migrations directory.
    Init,
    /// Create a revision (SQL by default; --python or --js from source; --rust or --c for a component) on top of the single head.
    New(NewArgs),
    /// Build component revisions whose source changed (Rust, C, Python, JavaScript) into revision.wasm.
    Build(BuildArgs),
    /// Create a merge revision joining the heads (or the named revisions).
    Merge(MergeArgs),
    /// List the heads; with --check, exit 3 when there is more than one.
    Heads(HeadsArgs),
    /// List branch points and branch labels.
    Branches,
    /// List revisions, newest first; with a database, mark the applied ones and its current heads.
    History(HistoryArgs),
    /// Show one revision; with a database, whether and when it was applied and whether its files changed since.
    Show(ShowArgs),
    /// Print the database's events (upgrade, downgrade, stamp, adopt, repair, resolve, fail, retry), newest first.
    Log(LogArgs),
    /// Print the statement journal: every statement revisions ran, in order (the newest N; text never holds parameter values).
    Journal(JournalArgs),
    /// Draw the revision graph (--format dot, mermaid or json).
    Graph,
    /// Show the steps that would take the database to a target.
    Plan(PlanArgs),
    /// Apply revisions up to a target (default: every head).
    Upgrade(UpgradeArgs),
    /// Revert the applied revisions above a target (`base`: all of them).
    Downgrade(DowngradeArgs),
    /// Show the heads of the database's applied set.
    Current,
    /// Compare the database with the project: at heads, behind, ahead, dirty, drift. Exit 3 unless at heads. Takes no lock.
    Status,
    /// Record a target's applied set without running anything (REV and its ancestors, `heads`, `base`; `branch@...` changes only that branch).
    Stamp(StampArgs),
    /// Record what is true about a revision a non-transactional step left dirty.
    Resolve(ResolveArgs),
    /// Accept the changed files of an applied revision: record their new checksum (audited).
    Repair(RepairArgs),
    /// Ask revisions whether their effect is in the database (read-only). Exit 3 on a mismatch with the applied set.
    Verify(VerifyArgs),
    /// Run every revision up, down and up again on a scratch database (a temporary SQLite file, or a schema made
    /// and dropped on a PostgreSQL --database) and compare the schema before `up` with the schema after `down`.
    /// Exit 1 on any failure.
    Test,
    /// Rehearse revisions on a scratch database (made as `wasmig test` makes it; their history replayed first)
    /// and report what the run-time lint finds in every statement they run. Exit 3 when a `deny` rule fires.
    Lint(LintArgs),
    /// Upgrade, downgrade or check a fleet of tenant databases or schemas (--tenants SOURCE).
    Tenants(TenantsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, or with --out DIR write one page per command there.
    Man(ManArgs),
}

#[derive(Debug, ClapArgs)]
pub struct CompletionsArgs {
    /// The shell to complete for, e.g. `wasmig completions bash > ~/.local/share/bash-completion/completions/wasmig`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, ClapArgs)]
pub struct ManArgs {
    /// Write wasmig.1 and one page per command (wasmig-upgrade.1, ...) into DIR instead.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransactionArg {
    /// Each revision and its bookkeeping commit together.
    PerRevision,
    /// The whole plan in one transaction: all or nothing.
    All,
}

#[derive(Debug, ClapArgs)]
pub struct RunArgs {
    /// Where transactions begin and end.
    #[arg(long, value_enum, default_value = "per-revision")]
    pub transaction: TransactionArg,
    /// Print the plan against the database's applied set; change nothing.
    #[arg(long, conflicts_with = "sql")]
    pub dry_run: bool,
    /// Print the SQL the plan would run (offline: no database is opened),
    /// each revision's statements under a `-- wasmig:` comment naming it;
    /// the dialect comes from the database URL's scheme (default SQLite),
    /// and a PostgreSQL `?schema=` is where the script works, as a run.
    #[arg(long)]
    pub sql: bool,
    /// With --sql: the applied heads to plan from (default: nothing applied).
    #[arg(long, value_name = "REV,...", value_delimiter = ',', requires = "sql")]
    pub from: Option<Vec<String>>,
    /// The tenant name revisions see (context.tenant).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct UpgradeArgs {
    /// heads (default), head, an id or prefix, a label, label@head, +N, REV+N.
    #[arg(allow_hyphen_values = true)]
    pub target: Option<String>,
    /// Adopt an existing schema: a revision whose verify hook finds its
    /// effect present is recorded as adopted instead of run.
    #[arg(long)]
    pub adopt: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, ClapArgs)]
pub struct DowngradeArgs {
    /// base, an id or prefix, a label, -N, REV-N.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, ClapArgs)]
pub struct StampArgs {
    /// A revision (it and its ancestors become applied), `heads` or `base`.
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResolvedAs {
    /// The step did complete: keep the revision applied.
    Applied,
    /// The step did not take effect (or was undone by hand): remove it.
    Reverted,
}

#[derive(Debug, ClapArgs)]
pub struct ResolveArgs {
    /// The revision left dirty (id, unique prefix or branch label), as `status` names it.
    pub revision: String,
    #[arg(long = "as", value_enum)]
    pub resolved_as: ResolvedAs,
}

#[derive(Debug, ClapArgs)]
pub struct RepairArgs {
    /// The applied revision whose files changed on purpose (id, unique prefix or branch label).
    pub revision: String,
}

#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    /// Only this revision (default: all).
    pub revision: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct NewArgs {
    /// What the revision does; also names its directory.
    #[arg(short, long)]
    pub message: String,
    /// The revision id (default: 12 random hex characters).
    #[arg(long)]
    pub id: Option<String>,
    /// Parent revision (default: the single head). Id, prefix or label.
    #[arg(long = "parent", value_name = "REV")]
    pub parents: Vec<String>,
    /// Start a named branch at this revision.
    #[arg(long = "branch-label", value_name = "LABEL")]
    pub branch_labels: Vec<String>,
    /// A revision that must be applied first, without being a parent.
    #[arg(long = "depends-on", value_name = "REV")]
    pub depends_on: Vec<String>,
    /// Write an SQL revision: revision.toml, up.sql and down.sql (the default).
    #[arg(long, group = "language")]
    pub sql: bool,
    /// Write a Rust component revision: revision.toml, Cargo.toml and revision.rs, on the guest SDK that
    /// wasmig writes into the project's .wasmig/rust-sdk (build it with `wasmig build`).
    #[arg(long, group = "language")]
    pub rust: bool,
    /// Write a Python revision: revision.toml (kind = "python") and revision.py, run from source by
    /// wasmig's built-in interpreter (nothing to build).
    #[arg(long, group = "language")]
    pub python: bool,
    /// Write a JavaScript revision: revision.toml (kind = "js") and revision.js, run from source by
    /// wasmig's built-in interpreter (nothing to build).
    #[arg(long, group = "language")]
    pub js: bool,
    /// Write a C component revision: revision.toml and revision.c (build it with `wasmig build`; needs clang-16).
    #[arg(long = "c", group = "language")]
    pub c: bool,
}

#[derive(Debug, ClapArgs)]
pub struct BuildArgs {
    /// Revisions to build (default: every component revision with a source).
    #[arg(value_name = "REV")]
    pub revisions: Vec<String>,
    /// Rebuild even when revision.wasm matches its source.
    #[arg(long)]
    pub force: bool,
    /// Build nothing: exit 3 when a revision.wasm does not match its source (for CI).
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
    /// Also rebuild Python and JavaScript revisions built with another version of wasmig's guest SDK,
    /// and replace the project's Rust SDK (.wasmig/rust-sdk) with this wasmig's when it differs.
    /// Their checksum changes: only for revisions no database has applied yet.
    #[arg(long)]
    pub sdk_changes: bool,
    /// First install the pinned Python and JavaScript toolchains the revisions need into wasmig's tools folder.
    #[arg(long)]
    pub install_tools: bool,
}

#[derive(Debug, ClapArgs)]
pub struct MergeArgs {
    /// Message of the merge revision (default: "merge <ids>").
    #[arg(short, long)]
    pub message: Option<String>,
    /// The merge revision's id (default: 12 random hex characters).
    #[arg(long)]
    pub id: Option<String>,
    /// Revisions to merge (default: every head).
    #[arg(value_name = "REV")]
    pub revisions: Vec<String>,
}

#[derive(Debug, ClapArgs)]
pub struct HeadsArgs {
    /// Exit 3 when the project has more than one head (for CI).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, ClapArgs)]
pub struct HistoryArgs {
    /// Range LOWER:UPPER (either side may be empty), inclusive.
    #[arg(short = 'r', long = "rev-range", value_name = "A:B")]
    pub range: Option<String>,
    /// Mark what the database applied, using the project's [database] url
    /// when neither --database nor DATABASE_URL is given.
    #[arg(short = 'i', long)]
    pub indicate_current: bool,
    // `--verbose` (every field of every revision) is the global `-v` flag.
}

#[derive(Debug, ClapArgs)]
pub struct ShowArgs {
    /// Id, unique prefix, branch label, `label@head` or `head`.
    pub revision: String,
    /// Show what the database recorded, using the project's [database] url
    /// when neither --database nor DATABASE_URL is given.
    #[arg(short = 'i', long)]
    pub indicate_current: bool,
}

#[derive(Debug, ClapArgs)]
pub struct LogArgs {
    /// Only events of this revision: an id, unique prefix or branch label, or
    /// the exact id of a revision no longer in the project (repeatable).
    #[arg(short = 'r', long = "revision", value_name = "REV")]
    pub revisions: Vec<String>,
    /// Only events of this kind (repeatable).
    #[arg(short, long = "kind", value_name = "KIND", value_parser = event_kinds())]
    pub kinds: Vec<EventKind>,
    /// At most N events, the newest.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 50, conflicts_with = "all",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Every event, however many.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, ClapArgs)]
pub struct JournalArgs {
    /// Only statements of these revisions: an id, unique prefix or branch
    /// label, or the exact id of a revision no longer in the project.
    #[arg(value_name = "REV")]
    pub revisions: Vec<String>,
    /// At most N statements, the newest (printed in the order they ran).
    #[arg(short = 'n', long, value_name = "N", default_value_t = 100, conflicts_with = "all",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Every statement, however many.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, ClapArgs)]
pub struct LintArgs {
    /// The revisions to lint (id, unique prefix or branch label); the ones
    /// before them are replayed without lint. Default: every revision.
    #[arg(value_name = "REV")]
    pub revisions: Vec<String>,
}

#[derive(Debug, ClapArgs)]
pub struct PlanArgs {
    /// head, heads, base, an id or prefix, a label, label@head, +N, -N, REV+N, REV-N.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    /// Plan a downgrade instead of an upgrade.
    #[arg(long)]
    pub down: bool,
    /// Plan from these applied heads (their ancestors count as applied)
    /// instead of a database; `base` for nothing applied.
    #[arg(long, value_name = "REV,...", value_delimiter = ',')]
    pub from: Option<Vec<String>>,
}

#[derive(Debug, ClapArgs)]
pub struct TenantsArgs {
    #[command(subcommand)]
    pub command: TenantsCommandArgs,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommandArgs {
    /// Apply revisions up to a target (default: every head) on every tenant. Exit 1 if any tenant failed.
    Upgrade(TenantsUpgradeArgs),
    /// Revert the applied revisions above a target on every tenant. Exit 1 if any tenant failed.
    Downgrade(TenantsDowngradeArgs),
    /// Compare every tenant with the project (no lock, no write). Exit 3 unless every tenant is at heads.
    Status(TenantsStatusArgs),
    /// List the coordinated runs (--run) on a coordinator: counts per state, and why a run stopped.
    Runs(TenantsRunsArgs),
    /// Show one coordinated run tenant by tenant: state, process, claims, times, outcome.
    Run(TenantsRunArgs),
}

#[derive(Debug, ClapArgs)]
pub struct TenantsRunsArgs {
    /// The PostgreSQL database that coordinates the runs (default: the project's [database] url).
    #[arg(long, value_name = "URL")]
    pub coordinator: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct TenantsRunArgs {
    /// The run's name, as given to --run.
    pub name: String,
    /// The PostgreSQL database that coordinates the run (default: the project's [database] url).
    #[arg(long, value_name = "URL")]
    pub coordinator: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub struct TenantsStatusArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Print nothing but the tenants not at heads (on stderr); exit 3 if there is any.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, ClapArgs)]
pub struct TenantsUpgradeArgs {
    /// heads (default), head, an id or prefix, a label, label@head, +N, REV+N.
    #[arg(allow_hyphen_values = true)]
    pub target: Option<String>,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub rollout: RolloutArgs,
    #[command(flatten)]
    pub shared: SharedRunArgs,
    /// Where each tenant's transactions begin and end.
    #[arg(long, value_enum, default_value = "per-revision")]
    pub transaction: TransactionArg,
}

#[derive(Debug, ClapArgs)]
pub struct TenantsDowngradeArgs {
    /// base, an id or prefix, a label, -N, REV-N.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub rollout: RolloutArgs,
    #[command(flatten)]
    pub shared: SharedRunArgs,
    /// Where each tenant's transactions begin and end.
    #[arg(long, value_enum, default_value = "per-revision")]
    pub transaction: TransactionArg,
}

/// One run shared by many processes through a PostgreSQL coordinator (docs/FLEET.md).
#[derive(Debug, ClapArgs)]
pub struct SharedRunArgs {
    /// Share this run with every process started with the same NAME and coordinator: each tenant is
    /// claimed by one process at a time; starting the run again resumes it.
    #[arg(long = "run", value_name = "NAME", conflicts_with_all = ["fail_fast", "canary", "shard"])]
    pub run: Option<String>,
    /// The PostgreSQL database that coordinates the run (default: the database of a PostgreSQL --tenants source).
    #[arg(long, value_name = "URL", requires = "run")]
    pub coordinator: Option<String>,
    /// Seconds a claim holds without its process's heartbeat; a dead process's tenants are taken over after it.
    #[arg(long, value_name = "SECONDS", default_value = "60", requires = "run",
          value_parser = clap::value_parser!(u32).range(3..))]
    pub lease: u32,
    /// Once N tenants (or P% of the run's tenants) failed, no process of the run claims more.
    #[arg(long, value_name = "N|P%", requires = "run")]
    pub max_failures: Option<String>,
    /// Claim the run's failed tenants again (and lift a stop --max-failures caused).
    #[arg(long, requires = "run")]
    pub retry_failed: bool,
}

#[derive(Debug, ClapArgs)]
pub struct FleetArgs {
    /// The tenants: @FILE (one database URL a line, optionally followed by a
    /// tenant name), a SQLite glob (sqlite:tenants/*.db), or
    /// postgres://user@host/db?schemas=PATTERN (schemas LIKE PATTERN).
    /// Repeat it for several shards; tenant names must be unique across them.
    #[arg(long, value_name = "SOURCE", required = true)]
    pub tenants: Vec<String>,
    /// Tenants handled at once (default: the number of CPUs).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Only shard K of N (1-based): the tenants whose name hashes to it, for N workers started
    /// without a coordinator (a Kubernetes indexed job passes $((JOB_COMPLETION_INDEX + 1))/N).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
}

/// How a change rolls out across the fleet: only for the commands that
/// migrate (`tenants status` changes nothing, so it has neither).
#[derive(Debug, ClapArgs)]
pub struct RolloutArgs {
    /// After a tenant fails, start no other.
    #[arg(long)]
    pub fail_fast: bool,
    /// Migrate the first K tenants first; the rest only if all K succeed.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub canary: Option<u32>,
}

/// Which options the user typed, as opposed to ones from the environment
/// (`DATABASE_URL`) or defaults: only a typed option that does not apply to
/// the command is refused.
#[derive(Debug)]
pub struct Typed<'a>(pub &'a clap::ArgMatches);

impl Typed<'_> {
    /// Whether option `id` (clap's id: the field name) was given on the
    /// command line, at the top or in the command it applies to.
    pub fn given(&self, id: &str) -> bool {
        let mut matches = Some(self.0);
        while let Some(level) = matches {
            if level.try_contains_id(id).unwrap_or(false)
                && level.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
            {
                return true;
            }
            matches = level.subcommand().map(|(_, sub)| sub);
        }
        false
    }

    /// The command as typed: `upgrade`, `tenants status`.
    pub fn command(&self) -> String {
        let mut names = Vec::new();
        let mut matches = self.0;
        while let Some((name, sub)) = matches.subcommand() {
            names.push(name);
            matches = sub;
        }
        names.join(" ")
    }
}

/// The kinds of the events table, as the library names them.
fn event_kinds() -> impl TypedValueParser<Value = EventKind> {
    PossibleValuesParser::new(EventKind::ALL.map(EventKind::as_str))
        .map(|text| EventKind::parse(&text).expect("clap accepts only the listed kinds"))
}
