//! The classes of statements the policy refuses: what each one is, which capability (if any)
//! allows it, and what a revision author should do instead.

use std::fmt;

use crate::capability::Capability;

/// What a refused statement does, as far as the policy cares. Each class is refused unless
/// [`StatementClass::capability`] names a capability the project opted into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatementClass {
    /// `SET`/`RESET` of a setting outside [`crate::SETTABLE_SETTINGS`], `RESET ALL`,
    /// `SET ROLE`, `SET SESSION AUTHORIZATION`, `SET TRANSACTION`,
    /// `SET SESSION CHARACTERISTICS`, `set_config(...)`, writing `pg_settings`.
    SessionSetting,
    /// `DISCARD`, `DEALLOCATE`: session state the host relies on (prepared statements, plans,
    /// temporary tables).
    SessionState,
    /// Files of the database server: `COPY ... TO/FROM 'file'`, `pg_read_file` and friends,
    /// `lo_import`/`lo_export`, tablespaces; SQLite `ATTACH`, `DETACH`, `VACUUM INTO`.
    ServerFiles,
    /// `COPY ... TO/FROM PROGRAM`.
    Programs,
    /// `COPY ... FROM STDIN` / `TO STDOUT`: the host API has no COPY channel.
    CopyStdio,
    /// `dblink*`, `postgres_fdw*`, servers, foreign-data wrappers, user mappings, foreign
    /// tables, `IMPORT FOREIGN SCHEMA`, publications, subscriptions.
    RemoteDatabases,
    /// `CREATE/ALTER/DROP EXTENSION`, `CREATE/ALTER/DROP LANGUAGE`.
    Extensions,
    /// Native or untrusted-language code: `LANGUAGE` outside [`crate::TRUSTED_LANGUAGES`]
    /// (`c`, `internal`, `plpython3u`, ...), untrusted language extensions, SQLite
    /// `load_extension()` and `fts3_tokenizer()`.
    UntrustedCode,
    /// `ALTER SYSTEM`, `ALTER DATABASE ... SET`, `ALTER ROLE ... SET`, `LOAD`.
    ServerSettings,
    /// `CREATE/ALTER/DROP ROLE|USER|GROUP`, `GRANT/REVOKE role`, `ALTER ... OWNER TO`,
    /// `REASSIGN OWNED`, `DROP OWNED`.
    Roles,
    /// The server or other sessions: `pg_terminate_backend`, `pg_cancel_backend`,
    /// `pg_reload_conf`, `pg_promote`, replication slots, backups, `CHECKPOINT`, ...
    ServerControl,
    /// `CREATE/ALTER/DROP DATABASE`, event triggers: objects of the whole cluster or database.
    DatabaseWide,
    /// A SQLite `PRAGMA` that sets something, outside [`crate::SQLITE_SETTABLE_PRAGMAS`].
    Pragma,
    /// A psql meta-command (`\copy`, `\i`, ...): client syntax, not SQL.
    PsqlMetaCommand,
}

impl StatementClass {
    /// The capability that allows the class, if one does.
    pub fn capability(self) -> Option<Capability> {
        match self {
            StatementClass::ServerFiles => Some(Capability::ServerFiles),
            StatementClass::Programs => Some(Capability::Programs),
            StatementClass::RemoteDatabases => Some(Capability::RemoteDatabases),
            StatementClass::Extensions => Some(Capability::Extensions),
            StatementClass::ServerSettings => Some(Capability::ServerSettings),
            StatementClass::Roles => Some(Capability::Roles),
            StatementClass::SessionSetting
            | StatementClass::SessionState
            | StatementClass::CopyStdio
            | StatementClass::UntrustedCode
            | StatementClass::ServerControl
            | StatementClass::DatabaseWide
            | StatementClass::Pragma
            | StatementClass::PsqlMetaCommand => None,
        }
    }

    /// What the statement does, completing "`…` is refused: it …".
    pub fn description(self) -> &'static str {
        match self {
            StatementClass::SessionSetting => "changes a setting of the session, which the host owns",
            StatementClass::SessionState => "discards session state the host relies on",
            StatementClass::ServerFiles => "reads or writes files of the database server",
            StatementClass::Programs => "runs a program on the database server",
            StatementClass::CopyStdio => "copies through STDIN/STDOUT",
            StatementClass::RemoteDatabases => "reaches other databases",
            StatementClass::Extensions => "installs or changes an extension or procedural language",
            StatementClass::UntrustedCode => "runs native or untrusted-language code inside the database server",
            StatementClass::ServerSettings => "changes the configuration of the server, a database or a role",
            StatementClass::Roles => "manages roles, role memberships or ownership",
            StatementClass::ServerControl => "controls the server or other sessions",
            StatementClass::DatabaseWide => "creates, changes or drops a database or a database-wide object",
            StatementClass::Pragma => "sets a SQLite PRAGMA",
            StatementClass::PsqlMetaCommand => "is a psql meta-command, not SQL",
        }
    }

    /// What to do instead.
    pub fn remedy(self) -> String {
        if let Some(capability) = self.capability() {
            return format!(
                "if this project's revisions are trusted with it, ask the operator to enable capability \
                 `{capability}` in wasmig.toml ([sandbox] capabilities = [\"{capability}\"])"
            );
        }
        match self {
            StatementClass::SessionSetting => {
                "the host owns the session's role, search_path, timeouts (lock_timeout comes from \
                 statement_lock_timeout_ms in wasmig.toml or revision.toml), encoding and transaction; a \
                 revision may SET [LOCAL] or RESET only client_min_messages and check_function_bodies \
                 (and SET CONSTRAINTS)"
            }
            StatementClass::SessionState => {
                "the host's prepared statements and session state must survive the revision; remove it"
            }
            StatementClass::CopyStdio => {
                "the host API has no COPY channel; use INSERT ... VALUES with parameters, or SELECT"
            }
            StatementClass::UntrustedCode => {
                "use a trusted language (sql, plpgsql, plperl, pltcl, plv8); native code is installed by \
                 the server's administrator, not by a revision"
            }
            StatementClass::ServerControl => {
                "controlling the server or other sessions is for its administrator, not a revision"
            }
            StatementClass::DatabaseWide => {
                "a revision changes its own database or schema; databases and database-wide objects are the operator's"
            }
            StatementClass::Pragma => {
                "a revision may read PRAGMAs and set only defer_foreign_keys and user_version; the host \
                 owns the connection's settings"
            }
            StatementClass::PsqlMetaCommand => "send SQL only (for \\copy, INSERT the rows)",
            _ => "remove it",
        }
        .to_owned()
    }
}

impl fmt::Display for StatementClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}
