//! The statement policy the host checks guest SQL against ([`Policy`]), and what the guard
//! returns when it lets SQL through ([`Approval`]).

use crate::capability::{Capabilities, Capability};
use crate::dialect::Dialect;

/// No capabilities, for policies that were given none.
static NO_CAPABILITIES: Capabilities = Capabilities::none();

/// What the guard enforces on one hook's SQL. Cheap to build (references only) and `Copy`:
/// build one per call from the hook's context.
///
/// ```
/// use wasmig_sqlguard::{Capabilities, Capability, Dialect, GuardError, Policy, StatementClass};
///
/// let tables = vec!["wasmig_revisions".to_owned(), "wasmig_events".to_owned()];
/// let capabilities: Capabilities = [Capability::ServerFiles].into_iter().collect();
/// let policy = Policy::new(Dialect::Postgres).protect_tables(&tables).with_capabilities(&capabilities);
///
/// assert!(policy.check_statement("SELECT count(*) FROM wasmig_revisions").unwrap().is_plain());
/// let approval = policy.check_statement("SELECT pg_read_file('data.csv')").unwrap();
/// assert_eq!(approval.capabilities().iter().collect::<Vec<_>>(), [Capability::ServerFiles]);
/// assert!(matches!(
///     policy.check_script("SET search_path = evil"),
///     Err(GuardError::Refused { class: StatementClass::SessionSetting, .. })
/// ));
/// assert!(matches!(policy.check_script("DELETE FROM wasmig_revisions"), Err(GuardError::ProtectedTable { .. })));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub(crate) dialect: Dialect,
    /// Whether statements are checked against the policy, or only for transaction control.
    pub(crate) statements: bool,
    pub(crate) protected_tables: &'a [String],
    pub(crate) protected_schemas: &'a [String],
    pub(crate) capabilities: &'a Capabilities,
}

impl<'a> Policy<'a> {
    /// The full policy for `dialect`: transaction control and every refused class, no
    /// capabilities, no protected tables (add them with [`Policy::protect_tables`]).
    pub fn new(dialect: Dialect) -> Policy<'static> {
        Policy {
            dialect,
            statements: true,
            protected_tables: &[],
            protected_schemas: &[],
            capabilities: &NO_CAPABILITIES,
        }
    }

    /// The guard as it was before the statement policy: transaction control (and, for
    /// [`Policy::check_statement`], exactly one statement) only. For offline tools; a hook's
    /// SQL is checked with [`Policy::new`].
    pub fn transactions_only(dialect: Dialect) -> Policy<'static> {
        Policy { statements: false, ..Policy::new(dialect) }
    }

    /// The host's own tables (unqualified names, e.g. `wasmig_revisions`): a guest may read
    /// them in a query, never write, alter, lock, reference or shadow them. Matched ASCII
    /// case-insensitively against the last part of any name in the SQL, quoted or not,
    /// schema-qualified or not. A qualified name here (`public.wasmig_revisions`) is compared
    /// by its last part.
    pub fn protect_tables<'b>(self, tables: &'b [String]) -> Policy<'b>
    where
        'a: 'b,
    {
        Policy { protected_tables: tables, ..self }
    }

    /// PostgreSQL: the schemas that hold the host's tables (e.g. the tenant's schema): a guest
    /// may not `DROP SCHEMA` (which drops what is inside, whoever owns it) or `ALTER SCHEMA` them.
    pub fn protect_schemas<'b>(self, schemas: &'b [String]) -> Policy<'b>
    where
        'a: 'b,
    {
        Policy { protected_schemas: schemas, ..self }
    }

    /// The capabilities the project opted into (`[sandbox] capabilities` in wasmig.toml).
    pub fn with_capabilities<'b>(self, capabilities: &'b Capabilities) -> Policy<'b>
    where
        'a: 'b,
    {
        Policy { capabilities, ..self }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

/// The guard let the SQL through. `uses` lists every place where it did so only because of
/// a capability, in text order: the host records them (an empty list needs no record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Approval {
    pub uses: Vec<CapabilityUse>,
}

impl Approval {
    /// Whether the SQL needed no capability.
    pub fn is_plain(&self) -> bool {
        self.uses.is_empty()
    }

    /// The distinct capabilities the SQL used.
    pub fn capabilities(&self) -> Capabilities {
        self.uses.iter().map(|used| used.capability).collect()
    }
}

/// One statement (or function call) allowed only by a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapabilityUse {
    pub capability: Capability,
    /// The command or function, as in [`crate::GuardError::Refused`]: `COPY ... TO/FROM file`,
    /// `pg_read_file`, `CREATE EXTENSION`, `ATTACH`, ...
    pub keyword: &'static str,
    /// 1-based line of the keyword or function.
    pub line: usize,
    /// 1-based column (in characters) of the keyword or function.
    pub column: usize,
}
