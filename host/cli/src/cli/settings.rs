//! The validated command: raw clap arguments converted once, so commands
//! receive parsed targets, ids and formats and never re-check them.

use std::path::PathBuf;

use wasmig::fleet::{FailureBudget, FleetAction, Shard, TenantSource};
use wasmig::graph::{Direction, RevisionId, Target, check_name};
use wasmig::{EventKind, TransactionMode};

use super::args::{
    Args, CommandArgs, DowngradeArgs, FormatArg, ResolvedAs, RunArgs, SharedRunArgs, TenantsArgs, TenantsCommandArgs,
    TransactionArg, Typed, UpgradeArgs,
};
use super::exit::UsageError;
use super::output::{Format, Output};
use super::scaffold::Template;

#[derive(Debug)]
pub struct Settings {
    /// `-C DIR`; without it the project is found upward from the current directory.
    pub project_dir: Option<PathBuf>,
    /// `--database` or `DATABASE_URL`; the project's `[database] url` is the fallback.
    pub database_url: Option<String>,
    pub output: Output,
    pub verbosity: u8,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    Init,
    New(NewRevision),
    Build(BuildRequest),
    Merge {
        message: Option<String>,
        id: Option<RevisionId>,
        revisions: Vec<String>,
    },
    Heads {
        check: bool,
    },
    Branches,
    History {
        lower: Option<String>,
        upper: Option<String>,
        verbose: bool,
        indicate_current: bool,
    },
    Show {
        revision: String,
        indicate_current: bool,
    },
    Log(LogRequest),
    Journal(JournalRequest),
    Graph {
        picture: Picture,
    },
    Plan(PlanRequest),
    Run(RunRequest),
    Current,
    Status,
    Stamp {
        target: Target,
    },
    Resolve {
        revision: String,
        as_applied: bool,
    },
    Repair {
        revision: String,
    },
    Verify {
        revision: Option<String>,
    },
    /// `wasmig test`: the stairway on a scratch database.
    Test,
    /// `wasmig lint [REV...]`: the revisions (resolved by the command) rehearsed on a scratch database.
    Lint {
        revisions: Vec<String>,
    },
    Tenants(TenantsRequest),
    /// `tenants runs` (no name) or `tenants run NAME`.
    TenantRuns {
        coordinator: Option<String>,
        run: Option<String>,
    },
    Completions {
        shell: clap_complete::Shell,
    },
    Man {
        out: Option<PathBuf>,
    },
}

impl Command {
    /// Whether the command works inside a project (found upward without `-C`).
    pub fn needs_project(&self) -> bool {
        !matches!(self, Command::Init | Command::Completions { .. } | Command::Man { .. })
    }
}

/// `upgrade` or `downgrade`, validated.
#[derive(Debug)]
pub struct RunRequest {
    pub direction: Direction,
    pub target: Target,
    pub adopt: bool,
    pub transaction: TransactionMode,
    pub mode: RunMode,
    pub tenant: Option<String>,
}

/// Run against the database, show the plan only, or print offline SQL.
#[derive(Debug, PartialEq, Eq)]
pub enum RunMode {
    Execute,
    DryRun,
    /// Offline SQL, planned from these applied heads.
    Sql {
        from: Vec<String>,
    },
}

/// `wasmig build`, validated.
#[derive(Debug)]
pub struct BuildRequest {
    pub revisions: Vec<String>,
    pub force: bool,
    pub check: bool,
    pub sdk_changes: bool,
    pub install_tools: bool,
}

#[derive(Debug)]
pub struct NewRevision {
    pub message: String,
    pub id: Option<RevisionId>,
    pub parents: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub template: Template,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    Dot,
    Mermaid,
    Json,
}

/// `wasmig log`, validated; the revisions are resolved against the graph by the command.
#[derive(Debug)]
pub struct LogRequest {
    pub revisions: Vec<String>,
    pub kinds: Vec<EventKind>,
    /// `None` with `--all`.
    pub limit: Option<usize>,
}

#[derive(Debug)]
pub struct JournalRequest {
    pub revisions: Vec<String>,
    /// `None` with `--all`.
    pub limit: Option<usize>,
}

#[derive(Debug)]
pub struct PlanRequest {
    pub target: Target,
    pub down: bool,
    /// Applied heads given with `--from`; `None` means "ask the database".
    pub from: Option<Vec<String>>,
}

impl Command {
    /// Whether Ctrl-C should stop the command cleanly (cancel the running
    /// statement, roll back, report) rather than end the process at once:
    /// the commands that run revisions or wait on a database.
    pub fn stops_cleanly(&self) -> bool {
        matches!(
            self,
            Command::Run(RunRequest { mode: RunMode::Execute, .. })
                | Command::Stamp { .. }
                | Command::Resolve { .. }
                | Command::Repair { .. }
                | Command::Verify { .. }
                | Command::Test
                | Command::Lint { .. }
                | Command::Tenants(_)
        )
    }
}

impl Settings {
    pub fn from_args(args: Args, typed: &Typed) -> Result<Settings, UsageError> {
        refuse_what_does_not_apply(&args, typed)?;
        let picture_format = matches!(args.format, Some(FormatArg::Dot | FormatArg::Mermaid));
        let is_graph = matches!(args.command, CommandArgs::Graph);
        if picture_format && !is_graph {
            return Err(UsageError::new(
                "--format dot and --format mermaid are for `wasmig graph`; other commands print text or json",
            ));
        }
        if matches!(args.format, Some(FormatArg::Text)) && is_graph {
            return Err(UsageError::new("`wasmig graph` draws dot (the default), mermaid or json"));
        }
        let format = if args.format == Some(FormatArg::Json) { Format::Json } else { Format::Text };
        let command = match args.command {
            CommandArgs::Init => Command::Init,
            CommandArgs::New(a) => {
                for label in &a.branch_labels {
                    check_name(label).map_err(|e| UsageError::new(format!("--branch-label: {e}")))?;
                }
                Command::New(NewRevision {
                    message: nonempty_message(a.message)?,
                    id: a.id.as_deref().map(parse_id).transpose()?,
                    parents: a.parents,
                    branch_labels: a.branch_labels,
                    depends_on: a.depends_on,
                    template: if a.rust {
                        Template::Rust
                    } else if a.python {
                        Template::Python
                    } else if a.js {
                        Template::JavaScript
                    } else if a.c {
                        Template::C
                    } else {
                        Template::Sql
                    },
                })
            }
            CommandArgs::Build(a) => Command::Build(BuildRequest {
                revisions: a.revisions,
                force: a.force,
                check: a.check,
                sdk_changes: a.sdk_changes,
                install_tools: a.install_tools,
            }),
            CommandArgs::Merge(a) => Command::Merge {
                message: a.message.map(nonempty_message).transpose()?,
                id: a.id.as_deref().map(parse_id).transpose()?,
                revisions: a.revisions,
            },
            CommandArgs::Heads(a) => Command::Heads { check: a.check },
            CommandArgs::Branches => Command::Branches,
            CommandArgs::History(a) => {
                let (lower, upper) = match a.range.as_deref() {
                    None => (None, None),
                    Some(range) => {
                        let (lower, upper) = range.split_once(':').ok_or_else(|| {
                            UsageError::new(format!(
                                "-r `{range}`: a range is LOWER:UPPER, e.g. `base:head`, `a1b2:` or `:c3d4`"
                            ))
                        })?;
                        (range_end(lower, "base"), range_end(upper, "heads"))
                    }
                };
                Command::History { lower, upper, verbose: args.verbose > 0, indicate_current: a.indicate_current }
            }
            CommandArgs::Show(a) => Command::Show { revision: a.revision, indicate_current: a.indicate_current },
            CommandArgs::Log(a) => Command::Log(LogRequest {
                revisions: a.revisions,
                kinds: a.kinds,
                limit: (!a.all).then_some(a.limit as usize),
            }),
            CommandArgs::Journal(a) => {
                Command::Journal(JournalRequest { revisions: a.revisions, limit: (!a.all).then_some(a.limit as usize) })
            }
            CommandArgs::Graph => Command::Graph {
                picture: match args.format {
                    Some(FormatArg::Mermaid) => Picture::Mermaid,
                    Some(FormatArg::Json) => Picture::Json,
                    _ => Picture::Dot,
                },
            },
            CommandArgs::Plan(a) => Command::Plan(PlanRequest {
                target: Target::parse(&a.target).map_err(|e| UsageError::new(e.to_string()))?,
                down: a.down,
                from: a
                    .from
                    .map(|items| items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()),
            }),
            CommandArgs::Upgrade(a) => {
                let target = parse_target(a.target.as_deref().unwrap_or("heads"))?;
                Command::Run(run_request(Direction::Up, target, a.adopt, a.run))
            }
            CommandArgs::Downgrade(a) => {
                Command::Run(run_request(Direction::Down, parse_target(&a.target)?, false, a.run))
            }
            CommandArgs::Current => Command::Current,
            CommandArgs::Status => Command::Status,
            CommandArgs::Stamp(a) => Command::Stamp { target: parse_target(&a.target)? },
            CommandArgs::Resolve(a) => {
                Command::Resolve { revision: a.revision, as_applied: a.resolved_as == ResolvedAs::Applied }
            }
            CommandArgs::Repair(a) => Command::Repair { revision: a.revision },
            CommandArgs::Verify(a) => Command::Verify { revision: a.revision },
            CommandArgs::Test => Command::Test,
            CommandArgs::Lint(a) => Command::Lint { revisions: a.revisions },
            CommandArgs::Tenants(TenantsArgs { command: TenantsCommandArgs::Runs(a) }) => {
                Command::TenantRuns { coordinator: a.coordinator, run: None }
            }
            CommandArgs::Tenants(TenantsArgs { command: TenantsCommandArgs::Run(a) }) => {
                Command::TenantRuns { coordinator: a.coordinator, run: Some(a.name) }
            }
            CommandArgs::Tenants(a) => Command::Tenants(TenantsRequest::from_args(a)?),
            CommandArgs::Completions(a) => Command::Completions { shell: a.shell },
            CommandArgs::Man(a) => Command::Man { out: a.out },
        };
        Ok(Settings {
            project_dir: args.directory,
            database_url: args.database,
            output: Output { format, quiet: args.quiet },
            verbosity: args.verbose,
            command,
        })
    }
}

/// Options a command would silently ignore are refused instead (exit 2),
/// naming the option and the command. Only what was typed counts: a
/// `DATABASE_URL` in the environment is for the commands that use it.
fn refuse_what_does_not_apply(args: &Args, typed: &Typed) -> Result<(), UsageError> {
    let command = typed.command();
    let refuse =
        |option: &str, why: &str| Err(UsageError::new(format!("{option} does not apply to `wasmig {command}`: {why}")));
    let database = typed.given("database");
    match &args.command {
        CommandArgs::Init
        | CommandArgs::New(_)
        | CommandArgs::Build(_)
        | CommandArgs::Merge(_)
        | CommandArgs::Heads(_)
        | CommandArgs::Branches
        | CommandArgs::Graph
            if database =>
        {
            refuse("--database", "it reads only the project's files and never opens a database")
        }
        CommandArgs::Tenants(_) if database => {
            refuse("--database", "the tenants' databases come from --tenants SOURCE")
        }
        CommandArgs::Completions(_) | CommandArgs::Man(_) if database => {
            refuse("--database", "it prints what the command line accepts")
        }
        CommandArgs::Completions(_) | CommandArgs::Man(_) if args.format.is_some() => {
            refuse("--format", "it prints a shell script or a manual page")
        }
        CommandArgs::Plan(a) if a.from.is_some() && database => {
            refuse("--database", "--from gives the applied heads to plan from; give one or the other")
        }
        CommandArgs::Upgrade(UpgradeArgs { adopt: true, run, .. }) if run.dry_run => {
            refuse("--adopt", "a dry run shows the plan and asks no verify hook what is present")
        }
        CommandArgs::Upgrade(UpgradeArgs { adopt: true, run, .. }) if run.sql => {
            refuse("--adopt", "adopting asks each revision's verify hook, which needs a database; --sql opens none")
        }
        CommandArgs::Upgrade(UpgradeArgs { run, .. }) | CommandArgs::Downgrade(DowngradeArgs { run, .. })
            if run.dry_run && typed.given("transaction") =>
        {
            refuse("--transaction", "a dry run opens no transaction")
        }
        CommandArgs::Upgrade(UpgradeArgs { run, .. }) | CommandArgs::Downgrade(DowngradeArgs { run, .. })
            if run.dry_run && run.tenant.is_some() =>
        {
            refuse("--tenant", "a dry run runs no revision")
        }
        _ => Ok(()),
    }
}

fn parse_target(text: &str) -> Result<Target, UsageError> {
    Target::parse(text).map_err(|e| UsageError::new(e.to_string()))
}

fn run_request(direction: Direction, target: Target, adopt: bool, run: RunArgs) -> RunRequest {
    let mode = if run.sql {
        RunMode::Sql {
            from: run
                .from
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    } else if run.dry_run {
        RunMode::DryRun
    } else {
        RunMode::Execute
    };
    RunRequest { direction, target, adopt, transaction: transaction_mode(run.transaction), mode, tenant: run.tenant }
}

fn parse_id(text: &str) -> Result<RevisionId, UsageError> {
    RevisionId::parse(text).map_err(|e| UsageError::new(format!("--id: {e}")))
}

fn nonempty_message(message: String) -> Result<String, UsageError> {
    if message.trim().is_empty() {
        return Err(UsageError::new("the message (-m) cannot be empty: say what the revision does"));
    }
    Ok(message)
}

/// An empty side or the word meaning "everything" on that side is no bound.
fn range_end(text: &str, unbounded: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text == unbounded { None } else { Some(text.to_owned()) }
}

/// `wasmig tenants ...`, validated.
#[derive(Debug)]
pub struct TenantsRequest {
    pub action: FleetAction,
    /// One or more sources (shards).
    pub sources: Vec<TenantSource>,
    /// `tenants status --check`: only the tenants not at heads, on stderr.
    pub check: bool,
    pub jobs: usize,
    pub fail_fast: bool,
    pub canary: usize,
    pub transaction: TransactionMode,
    /// `--shard K/N`: only these tenants.
    pub shard: Option<Shard>,
    /// `--run NAME`: a run shared through a coordinator.
    pub shared: Option<SharedRun>,
}

/// `--run NAME` and its options, validated.
#[derive(Debug)]
pub struct SharedRun {
    pub run: String,
    /// `None`: the database of a PostgreSQL `--tenants` source.
    pub coordinator: Option<String>,
    pub lease: std::time::Duration,
    pub max_failures: Option<FailureBudget>,
    pub retry_failed: bool,
}

impl TenantsRequest {
    pub fn from_args(args: TenantsArgs) -> Result<Self, UsageError> {
        let target = parse_target;
        let mut check = false;
        let mut shared = None;
        let (action, fleet, rollout, transaction) = match args.command {
            TenantsCommandArgs::Upgrade(a) => {
                shared = SharedRun::from_args(a.shared)?;
                (
                    FleetAction::Upgrade(target(a.target.as_deref().unwrap_or("heads"))?),
                    a.fleet,
                    Some(a.rollout),
                    transaction_mode(a.transaction),
                )
            }
            TenantsCommandArgs::Downgrade(a) => {
                shared = SharedRun::from_args(a.shared)?;
                (FleetAction::Downgrade(target(&a.target)?), a.fleet, Some(a.rollout), transaction_mode(a.transaction))
            }
            TenantsCommandArgs::Status(a) => {
                check = a.check;
                (FleetAction::Status, a.fleet, None, TransactionMode::PerRevision)
            }
            TenantsCommandArgs::Runs(_) | TenantsCommandArgs::Run(_) => {
                unreachable!("`tenants runs` and `tenants run` are settled before")
            }
        };
        let shard = fleet
            .shard
            .as_deref()
            .map(|text| Shard::parse(text).map_err(|error| UsageError::new(format!("--shard: {error}"))))
            .transpose()?;
        let sources = fleet
            .tenants
            .iter()
            .map(|text| TenantSource::parse(text).map_err(|error| UsageError::new(format!("--tenants: {error}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let jobs =
            fleet.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |cores| cores.get()), usize::from);
        Ok(TenantsRequest {
            action,
            sources,
            check,
            jobs,
            fail_fast: rollout.as_ref().is_some_and(|rollout| rollout.fail_fast),
            canary: rollout.and_then(|rollout| rollout.canary).map_or(0, |k| k as usize),
            transaction,
            shard,
            shared,
        })
    }
}

impl SharedRun {
    fn from_args(args: SharedRunArgs) -> Result<Option<Self>, UsageError> {
        let Some(run) = args.run else { return Ok(None) };
        if run.trim().is_empty() {
            return Err(UsageError::new("--run: give the run a name (e.g. the release being deployed)"));
        }
        let max_failures = args
            .max_failures
            .map(|text| {
                FailureBudget::parse(&text).ok_or_else(|| {
                    UsageError::new(format!(
                        "--max-failures: `{text}` is neither a count (3) nor a percentage of the run's tenants (2%)"
                    ))
                })
            })
            .transpose()?;
        Ok(Some(SharedRun {
            run,
            coordinator: args.coordinator,
            lease: std::time::Duration::from_secs(args.lease.into()),
            max_failures,
            retry_failed: args.retry_failed,
        }))
    }
}

fn transaction_mode(arg: TransactionArg) -> TransactionMode {
    match arg {
        TransactionArg::PerRevision => TransactionMode::PerRevision,
        TransactionArg::All => TransactionMode::All,
    }
}
