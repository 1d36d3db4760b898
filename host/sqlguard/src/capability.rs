//! Capabilities: statement classes a project may opt into for trusted revisions, named in `wasmig.toml`.

use std::fmt;
use std::str::FromStr;

/// A class of statements the guard refuses unless the project opts in
/// (`[sandbox] capabilities = ["server-files"]` in `wasmig.toml`). The guard reports each use
/// ([`crate::Approval`]) so that the host can record it in the events table.
///
/// What no capability allows: changing the session the host owns (`SET ROLE`,
/// `SET search_path`, `set_config`, `RESET ALL`, `DISCARD`, ...), native or untrusted-language
/// code (`LANGUAGE c`, `plpython3u`, `load_extension`), controlling the server or other sessions,
/// other databases, and writing wasmig's own tables. `docs/SQL-GUARD.md` lists every class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Capability {
    /// Files of the database server or host: `COPY ... TO/FROM 'file'`,
    /// `pg_read_file` and friends, large-object import/export, tablespaces; SQLite's
    /// `ATTACH`, `DETACH` and `VACUUM INTO`.
    ServerFiles,
    /// Programs on the database server: `COPY ... TO/FROM PROGRAM`.
    Programs,
    /// Other databases: `dblink`, foreign-data wrappers, servers, user mappings, foreign
    /// tables, `IMPORT FOREIGN SCHEMA`, publications and subscriptions.
    RemoteDatabases,
    /// Role management: `CREATE/ALTER/DROP ROLE|USER|GROUP`, role membership grants
    /// (`GRANT role TO ...`), `ALTER ... OWNER TO`, `REASSIGN OWNED`, `DROP OWNED`. Not
    /// `SET ROLE` / `SET SESSION AUTHORIZATION`: the session's identity is the host's.
    Roles,
    /// The server's configuration: `ALTER SYSTEM`, `ALTER DATABASE|ROLE ... SET`, `LOAD`.
    ServerSettings,
    /// Extensions and trusted procedural languages: `CREATE/ALTER/DROP EXTENSION`,
    /// `CREATE/ALTER/DROP LANGUAGE`. An extension that reaches other databases (`dblink`,
    /// `*_fdw`) also needs `remote-databases`, one that reaches files (`file_fdw`,
    /// `adminpack`) also `server-files`; untrusted languages are never allowed.
    Extensions,
}

impl Capability {
    pub const ALL: [Capability; 6] = [
        Capability::ServerFiles,
        Capability::Programs,
        Capability::RemoteDatabases,
        Capability::Roles,
        Capability::ServerSettings,
        Capability::Extensions,
    ];

    /// The name used in `wasmig.toml` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Capability::ServerFiles => "server-files",
            Capability::Programs => "programs",
            Capability::RemoteDatabases => "remote-databases",
            Capability::Roles => "roles",
            Capability::ServerSettings => "server-settings",
            Capability::Extensions => "extensions",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A capability name `wasmig.toml` may not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a capability; the capabilities are server-files, programs, remote-databases, roles, server-settings and extensions"
)]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|capability| capability.name() == name)
            .ok_or_else(|| UnknownCapability(name.to_owned()))
    }
}

/// The capabilities a project opted into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(Vec<Capability>);

impl Capabilities {
    pub const fn none() -> Self {
        Capabilities(Vec::new())
    }

    pub fn allows(&self, capability: Capability) -> bool {
        self.0.contains(&capability)
    }

    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut all: Vec<Capability> = iter.into_iter().collect();
        all.sort();
        all.dedup();
        Capabilities(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for capability in Capability::ALL {
            assert_eq!(capability.name().parse::<Capability>().unwrap(), capability);
        }
        assert!("superuser".parse::<Capability>().is_err());
        let set: Capabilities = [Capability::Roles, Capability::ServerFiles, Capability::Roles].into_iter().collect();
        assert!(set.allows(Capability::Roles) && !set.allows(Capability::Programs));
        assert_eq!(set.iter().count(), 2);
        let message = "superuser".parse::<Capability>().unwrap_err().to_string();
        for capability in Capability::ALL {
            assert!(message.contains(capability.name()), "{message} should name {capability}");
        }
    }
}
