//! The session state the host relies on: the settings it fixes at connect, the queries that read them back, and the comparison that turns a change into a breach.
//!
//! A revision's statements must leave the session as the host set it: the
//! transaction guard reads SQL with `standard_conforming_strings = on` in
//! UTF-8, the host's own statements assume its search path, role and a
//! writable transaction, and the next revision must not inherit anything.
//! The text guard refuses `SET` at the top level, but dynamic SQL (a `DO`
//! block, a function calling `set_config`) gets past any text check, so
//! the backend reads the state back: after every statement of a hook
//! ([`Level::Statement`]: what decides how the guard reads the next
//! statement, and who it runs as in which transaction, before its result
//! reaches the guest) and at the end of the hook ([`Level::Full`]: every
//! field). Each read travels with other requests, never in a round trip of
//! its own; reading one setting costs the server about 2-3 µs.
//!
//! Every read is sent as query text, never as a named prepared statement:
//! a revision's dynamic SQL can `DEALLOCATE` a protocol-level statement and
//! `PREPARE` its name again with other SQL, so the full read also asserts
//! that none of the host's statement names was taken over that way (the
//! host executes its bookkeeping statements by name).

use std::fmt;
use std::sync::OnceLock;

use std::future::poll_fn;
use std::pin::pin;

use futures_core::Stream;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::error::db_error;
use crate::sql::DbError;

/// What the host sets for its session at connect, on top of what opening
/// the session set (`search_path` for `?schema=`): the guard's lexing
/// assumptions and a writable default. Session-local, never persistent.
pub(super) const HOST_SETTINGS: &str =
    "SET standard_conforming_strings = on; SET client_encoding = 'UTF8'; SET default_transaction_read_only = off";

/// The fields read back, in the order of [`Level::Full`]: the two settings
/// whose change makes the guard read later SQL otherwise than the server
/// does, who the statements run as (a role change is named by
/// `current_user`), how long the next statement may wait for a lock, then
/// what could redirect, block or widen the host's own
/// statements or leak into the next revision, and whether a host statement
/// name was taken over. Settings are read with `missing_ok`, so one an older
/// server lacks is NULL. Settings that only change how values are rendered
/// as text (`DateStyle`, `TimeZone`, ...) are not read: the host reads
/// values in the binary format and writes its timestamps in UTC.
const FIELDS: &[&str] = &[
    "standard_conforming_strings",
    "client_encoding",
    "current_user",
    "session_user",
    "lock_timeout",
    "search_path",
    "role",
    "session_authorization",
    "transaction_read_only",
    "default_transaction_read_only",
    "default_transaction_isolation",
    "statement_timeout",
    "synchronous_commit",
    "session_replication_role",
    PREPARED_STATEMENTS,
];

/// The field that lists the SQL-level prepared statements (`PREPARE`) named
/// like the protocol-level ones tokio-postgres makes for the host (`s<n>`):
/// none unless a revision took one of the host's statements over.
const PREPARED_STATEMENTS: &str = "replaced prepared statements";

/// The fields read after every statement of a hook: the first five of
/// [`FIELDS`] (with `lock_timeout`, which bounds how long the next one waits).
const STATEMENT_FIELDS: usize = 5;

/// The settings a revision may change (the text guard lets `SET [LOCAL]` and
/// `RESET` of these through): not compared, and reset after every hook that
/// ran statements ([`GUEST_RESETS`]), so that they do not reach the next revision.
pub(super) const GUEST_RESETS: &str = "RESET client_min_messages; RESET check_function_bodies";

/// Fields the host itself changes around a hook: their value at the hook's
/// first statement is what the host set, not the value at connect.
const HOST_CHANGES: &[&str] = &["role", "current_user", "transaction_read_only", "statement_timeout", "lock_timeout"];

/// Resets what the host set for a hook in the session (autocommit hooks).
pub(super) const HOOK_RESETS: &str = "RESET statement_timeout; RESET lock_timeout";

/// How much of the session a read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    /// After each statement of a hook.
    Statement,
    /// At connect and at the end of a hook.
    Full,
}

impl Level {
    fn fields(self) -> &'static [&'static str] {
        match self {
            Level::Statement => &FIELDS[..STATEMENT_FIELDS],
            Level::Full => FIELDS,
        }
    }

    /// The query that reads these fields, then the start of the current
    /// transaction (which tells whether the host's transaction is still the
    /// one in progress), all as text, so that it reads the same prepared or
    /// in a simple query (where it travels with other SQL). Every function
    /// and type is schema-qualified: a revision's objects never stand in.
    pub(super) fn sql(self) -> &'static str {
        static SQL: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
        SQL[self as usize].get_or_init(|| {
            let mut columns: Vec<String> = self.fields().iter().map(|name| column(name)).collect();
            columns.push("pg_catalog.transaction_timestamp()::pg_catalog.text".to_owned());
            format!("SELECT {}", columns.join(", "))
        })
    }
}

fn column(name: &str) -> String {
    match name {
        "current_user" | "session_user" => format!("{name}::pg_catalog.text"),
        PREPARED_STATEMENTS => "(SELECT pg_catalog.string_agg(name, ',') FROM pg_catalog.pg_prepared_statements \
             WHERE from_sql AND name OPERATOR(pg_catalog.~) '^s[0-9]+$')"
            .to_owned(),
        setting => format!("pg_catalog.current_setting('{setting}', true)"),
    }
}

/// Read right after the host's own settings at a hook's first statement,
/// when they travel in the guest's simple query: the fields the host
/// changes ([`HOST_CHANGES`]) and the transaction the hook runs in.
pub(super) fn before_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let mut columns: Vec<String> = HOST_CHANGES.iter().map(|name| column(name)).collect();
        columns.push("pg_catalog.transaction_timestamp()::pg_catalog.text".to_owned());
        format!("SELECT {}", columns.join(", "))
    })
}

/// The full read, after the hook's own settings: `statement_timeout` and
/// `lock_timeout` (milliseconds) and the role, if any, set for the transaction (`local`)
/// or the session. The settings are made in a fenced subquery (`OFFSET 0`),
/// which runs before the outer select list.
pub(super) fn prelude_sql(milliseconds: u128, lock_wait_ms: u128, role: Option<&str>, local: bool) -> String {
    let mut sets = vec![
        format!("pg_catalog.set_config('statement_timeout', '{milliseconds}', {local})"),
        format!("pg_catalog.set_config('lock_timeout', '{lock_wait_ms}', {local})"),
    ];
    if let Some(role) = role {
        sets.push(format!("pg_catalog.set_config('role', '{}', {local})", role.replace('\'', "''")));
    }
    format!("{} FROM (SELECT {} OFFSET 0) AS host", Level::Full.sql(), sets.join(", "))
}

/// What a comparison covers besides the fields both sides have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// The transaction too: a hook inside the host's transaction.
    All,
    /// Not the role, which the host has just reset: the end of a hook that
    /// ran under a role inside the host's transaction.
    AllButRole,
    /// Not the transaction: each statement of an autocommit hook is its own.
    Settings,
    /// Only the fields the host never changes around a hook.
    Unchanged,
    /// At COMMIT, against the state at connect: the transaction too, but
    /// not what the host's own statements change between a hook and the
    /// COMMIT (`transaction_read_only`, `statement_timeout` and `lock_timeout`, which a
    /// rollback to the savepoint of a read-only `verify` restores), and not
    /// the prepared statements: without a role the revision runs with the
    /// host's own privileges (it could write the version tables itself), so
    /// a host statement it took over gives it nothing; under a role the end
    /// of the hook checks them before any host statement runs.
    Commit,
}

impl Scope {
    fn skips(self, name: &str) -> bool {
        match self {
            Scope::Unchanged => HOST_CHANGES.contains(&name),
            Scope::AllButRole => matches!(name, "role" | "current_user"),
            Scope::Commit => {
                matches!(name, "transaction_read_only" | "statement_timeout" | "lock_timeout" | PREPARED_STATEMENTS)
            }
            Scope::All | Scope::Settings => false,
        }
    }

    fn transaction(self) -> bool {
        matches!(self, Scope::All | Scope::AllButRole | Scope::Commit)
    }
}

/// The session state as one of the reads returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// The fields read, by name, in [`FIELDS`] order.
    values: Vec<(&'static str, Option<String>)>,
    /// `transaction_timestamp()`, as text in the session's date style and
    /// time zone (both compared before it).
    transaction_start: Option<String>,
}

/// One way a session differs from what the host expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Difference {
    pub(super) name: &'static str,
    pub(super) expected: String,
    pub(super) found: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            "current_user" => write!(
                f,
                "the role the statements run as changed: `current_user` is `{}`, the host set `{}` \
                 (SET ROLE, RESET ROLE or SET SESSION AUTHORIZATION, perhaps inside a DO block or a function)",
                self.found, self.expected
            ),
            PREPARED_STATEMENTS => write!(
                f,
                "the revision took over the host's prepared statement(s) `{}` (DEALLOCATE, then PREPARE of the \
                 same name, perhaps inside a DO block)",
                self.found
            ),
            "transaction" => write!(
                f,
                "the host's transaction ended inside the hook (it started at {}, the session is now in one that \
                 started at {})",
                self.expected, self.found
            ),
            name => write!(
                f,
                "the session setting `{name}` changed: expected `{}`, found `{}` (SET, RESET or set_config, \
                 perhaps inside a DO block or a function)",
                self.expected, self.found
            ),
        }
    }
}

impl Snapshot {
    /// Runs `sql` (host SQL around a [`Level::sql`] or [`prelude_sql`]) as
    /// one simple query and reads `level` from the one row it returns.
    pub(super) async fn query(client: &Client, sql: &str, level: Level) -> Result<Snapshot, DbError> {
        let stream = client.simple_query_raw(sql).await.map_err(db_error)?;
        let mut stream = pin!(stream);
        let mut found = None;
        while let Some(message) = poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
            if let SimpleQueryMessage::Row(row) = message.map_err(db_error)? {
                found = Some((0..row.len()).map(|index| row.get(index).map(str::to_owned)).collect());
            }
        }
        let values = found.ok_or_else(|| DbError::host("the session check returned no row"))?;
        Ok(Snapshot::from_text(values, level))
    }

    /// The session state of a row of [`Level::sql`] read as text.
    pub(super) fn from_text(mut values: Vec<Option<String>>, level: Level) -> Snapshot {
        let transaction_start = values.pop().flatten();
        Snapshot { values: level.fields().iter().copied().zip(values).collect(), transaction_start }
    }

    /// What the host expects after its own settings: `self` (the state at
    /// connect) with the values of a [`before_sql`] row.
    pub(super) fn with_host_changes(&self, before: &[Option<String>]) -> Snapshot {
        let mut expected = self.clone();
        for (name, value) in HOST_CHANGES.iter().zip(before) {
            if let Some(field) = expected.values.iter_mut().find(|(known, _)| known == name) {
                field.1 = value.clone();
            }
        }
        expected.transaction_start = before.get(HOST_CHANGES.len()).cloned().flatten();
        expected
    }

    /// `self` (the state at connect) in the transaction `other` was read in.
    pub(super) fn in_transaction_of(&self, other: &Snapshot) -> Snapshot {
        Snapshot { values: self.values.clone(), transaction_start: other.transaction_start.clone() }
    }

    /// The value of a field read, for tests and messages.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(known, _)| *known == name).and_then(|(_, value)| value.as_deref())
    }

    /// The first way `self` differs from `expected` in the fields both have
    /// (the lexing settings first) and as `scope` says.
    pub(super) fn difference(&self, expected: &Snapshot, scope: Scope) -> Option<Difference> {
        let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(not set)".to_owned());
        for (name, found) in &self.values {
            if scope.skips(name) {
                continue;
            }
            let Some((_, wanted)) = expected.values.iter().find(|(known, _)| known == name) else {
                continue;
            };
            if found != wanted {
                return Some(Difference { name, expected: show(wanted), found: show(found) });
            }
        }
        if scope.transaction() && self.transaction_start != expected.transaction_start {
            return Some(Difference {
                name: "transaction",
                expected: show(&expected.transaction_start),
                found: show(&self.transaction_start),
            });
        }
        None
    }
}

/// What the assertion's error says before the first difference.
const ASSERTION_TAG: &str = "wasmig-session-changed ";

impl Snapshot {
    /// The fields an assertion within `scope` compares, with the column
    /// that reads each and the value expected.
    fn asserted(&self, scope: Scope) -> Vec<(&'static str, String, Option<String>)> {
        let mut fields: Vec<(&'static str, String, Option<String>)> = self
            .values
            .iter()
            .filter(|(name, _)| !scope.skips(name))
            .map(|(name, value)| (*name, column(name), value.clone()))
            .collect();
        if scope.transaction() {
            fields.push((
                "transaction",
                "pg_catalog.transaction_timestamp()::pg_catalog.text".to_owned(),
                self.transaction_start.clone(),
            ));
        }
        fields
    }

    /// A statement that fails unless the session is as `self` says (within
    /// `scope`): it runs on the server, so it can stand between the
    /// revision's statements and a COMMIT in the same request, which then
    /// never runs. The current values are read into one `text[]` and
    /// compared with one array equality, whose element equality comes from
    /// the type, not the `search_path`; the statement is read in the
    /// revision's session, so every operator, function and type is
    /// schema-qualified. On a difference the error carries the values found.
    pub(super) fn assertion_sql(&self, scope: Scope) -> String {
        let fields = self.asserted(scope);
        let columns: Vec<&str> = fields.iter().map(|(_, column, _)| column.as_str()).collect();
        let expected: Vec<String> = fields
            .iter()
            .map(|(_, _, value)| match value {
                None => "NULL".to_owned(),
                Some(value) => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
            })
            .collect();
        let literal = format!("{{{}}}", expected.join(",")).replace('\'', "''");
        format!(
            "SELECT CASE WHEN found OPERATOR(pg_catalog.=) '{literal}'::pg_catalog.text[] THEN NULL \
             ELSE pg_catalog.textcat('{ASSERTION_TAG}', found::pg_catalog.text)::pg_catalog.int4 END \
             FROM (SELECT ARRAY[{}]::pg_catalog.text[] AS found OFFSET 0) AS session",
            columns.join(", ")
        )
    }

    /// The first difference an error of [`Snapshot::assertion_sql`] (made
    /// within `scope`) shows, if it is one.
    pub(super) fn assertion_failure(&self, error: &DbError, scope: Scope) -> Option<Difference> {
        let (_, rest) = error.message.split_once(ASSERTION_TAG)?;
        let found = parse_text_array(rest.strip_suffix('"').unwrap_or(rest))?;
        let fields = self.asserted(scope);
        let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(not set)".to_owned());
        fields
            .iter()
            .zip(&found)
            .find(|((_, _, expected), found)| expected != *found)
            .map(|((name, _, expected), found)| Difference { name, expected: show(expected), found: show(found) })
    }
}

/// The elements of a `text[]` as PostgreSQL prints it (`{a,"b c",NULL}`).
fn parse_text_array(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut elements = Vec::new();
    if inner.is_empty() {
        return Some(elements);
    }
    let mut chars = inner.chars().peekable();
    loop {
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    other => value.push(other),
                }
            }
            elements.push(Some(value));
        } else {
            let mut value = String::new();
            while let Some(&next) = chars.peek() {
                if next == ',' {
                    break;
                }
                value.push(next);
                chars.next();
            }
            elements.push((value != "NULL").then_some(value));
        }
        match chars.next() {
            Some(',') => {}
            None => return Some(elements),
            Some(_) => return None,
        }
    }
}

/// The error a guest statement gets once the session has been found changed.
pub(super) fn breach_error(breach: &str) -> DbError {
    DbError::host(format!("{breach}; wasmig refuses this hook's further statements and fails the step"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(search_path: &str, user: &str, start: u8) -> Snapshot {
        let mut values: Vec<Option<String>> = FIELDS.iter().map(|name| Some(format!("{name}-value"))).collect();
        values[FIELDS.iter().position(|name| *name == "search_path").unwrap()] = Some(search_path.to_owned());
        values[FIELDS.iter().position(|name| *name == "current_user").unwrap()] = Some(user.to_owned());
        values.push(Some(start.to_string()));
        Snapshot::from_text(values, Level::Full)
    }

    #[test]
    fn the_checks_read_their_fields_with_qualified_functions() {
        let full = Level::Full.sql();
        assert_eq!(full.matches("pg_catalog.current_setting(").count(), FIELDS.len() - 3);
        assert!(full.ends_with("pg_catalog.transaction_timestamp()::pg_catalog.text"), "{full}");
        let statement = Level::Statement.sql();
        assert!(statement.starts_with(
            "SELECT pg_catalog.current_setting('standard_conforming_strings', true), \
             pg_catalog.current_setting('client_encoding', true), current_user::pg_catalog.text, \
             session_user::pg_catalog.text, pg_catalog.current_setting('lock_timeout', true), \
             pg_catalog.transaction_timestamp()"
        ));
        let prelude = prelude_sql(1500, 200, Some("it's"), true);
        assert!(prelude.starts_with(full) && prelude.contains("set_config('role', 'it''s', true)"), "{prelude}");
        assert!(prelude.contains("set_config('lock_timeout', '200', true)"), "{prelude}");
        let prelude = prelude_sql(7, 3, None, false);
        assert!(prelude.contains("set_config('statement_timeout', '7', false)"), "{prelude}");
        assert!(prelude.contains("set_config('lock_timeout', '3', false) OFFSET 0"), "{prelude}");
        assert!(full.contains("FROM pg_catalog.pg_prepared_statements WHERE from_sql"), "{full}");
        for name in HOST_CHANGES {
            assert!(before_sql().contains(&column(name)), "{name}");
        }
    }

    #[test]
    fn differences_name_the_setting_and_both_values() {
        let host = snapshot("\"ta\"", "app", 1);
        assert_eq!(host.difference(&host, Scope::All), None);
        let moved = snapshot("tb", "app", 1);
        let difference = moved.difference(&host, Scope::All).unwrap();
        assert_eq!(difference.name, "search_path");
        let message = difference.to_string();
        assert!(message.contains("`search_path`") && message.contains("`\"ta\"`") && message.contains("`tb`"));

        let other_role = snapshot("\"ta\"", "tenant_b", 1);
        assert!(other_role.difference(&host, Scope::All).unwrap().to_string().contains("`tenant_b`"));
        assert_eq!(other_role.difference(&host, Scope::Unchanged), None, "the host sets the role itself");

        let later = snapshot("\"ta\"", "app", 2);
        assert_eq!(later.difference(&host, Scope::All).unwrap().name, "transaction");
        assert_eq!(later.difference(&host, Scope::Settings), None);

        // A statement-level read compares the fields it has.
        let mut quick: Vec<Option<String>> =
            FIELDS[..STATEMENT_FIELDS].iter().map(|name| Some(format!("{name}-value"))).collect();
        quick[2] = Some("app".to_owned());
        quick.push(Some("1".to_owned()));
        let quick = Snapshot::from_text(quick, Level::Statement);
        assert_eq!(quick.difference(&moved, Scope::All), None, "search_path is not read after each statement");
        assert_eq!(quick.difference(&other_role, Scope::All).unwrap().name, "current_user");
    }

    #[test]
    fn the_assertion_compares_with_qualified_operators_and_names_the_difference() {
        let host = snapshot("\"it's\", x\\y", "app", 1);
        let sql = host.assertion_sql(Scope::All);
        assert!(sql.contains("found OPERATOR(pg_catalog.=) '{"), "{sql}");
        assert!(sql.contains(r#""\"it''s\", x\\y""#), "quoted for the array and the string: {sql}");
        assert!(!sql.contains(" = ") && !sql.contains("||"), "no unqualified operator: {sql}");
        assert!(sql.contains("pg_catalog.transaction_timestamp()"), "{sql}");
        assert!(!host.assertion_sql(Scope::Settings).contains("transaction_timestamp"));
        assert!(!host.assertion_sql(Scope::Commit).contains("'statement_timeout'"));
        assert!(!host.assertion_sql(Scope::Commit).contains("pg_prepared_statements"));
        assert!(host.assertion_sql(Scope::AllButRole).contains("pg_prepared_statements"));

        // The error carries what was found; the first difference is named.
        let fields = host.asserted(Scope::All);
        let found: Vec<String> = fields
            .iter()
            .map(|(name, _, value)| match *name {
                "search_path" => r#""tb, \"x\"""#.to_owned(),
                _ => value.clone().map_or("NULL".to_owned(), |value| format!("\"{value}\"").replace("\\", "\\\\")),
            })
            .collect();
        let error = DbError {
            code: Some("22P02".to_owned()),
            message: format!(
                "invalid input syntax for type integer: \"wasmig-session-changed {{{}}}\"",
                found.join(",")
            ),
            position: None,
        };
        let difference = host.assertion_failure(&error, Scope::All).unwrap();
        assert_eq!((difference.name, difference.found.as_str()), ("search_path", "tb, \"x\""));
        assert_eq!(difference.expected, "\"it's\", x\\y");
        let other =
            DbError { code: Some("23503".to_owned()), message: "violates foreign key".to_owned(), position: None };
        assert_eq!(host.assertion_failure(&other, Scope::All), None);
        assert_eq!(
            parse_text_array(r#"{on,"a b",NULL,"q\"x\\"}"#).unwrap(),
            [Some("on".to_owned()), Some("a b".to_owned()), None, Some("q\"x\\".to_owned())]
        );
    }

    #[test]
    fn the_host_changes_replace_the_values_at_connect() {
        let host = snapshot("\"ta\"", "app", 1);
        let before = [
            Some("tenant".to_owned()),
            Some("tenant".to_owned()),
            Some("off".to_owned()),
            Some("29s".to_owned()),
            Some("7".to_owned()),
        ];
        let expected = host.with_host_changes(&before);
        assert_eq!(expected.get("current_user"), Some("tenant"));
        assert_eq!(expected.get("statement_timeout"), Some("29s"));
        assert_eq!(expected.get("search_path"), Some("\"ta\""));
        assert_eq!(expected.difference(&host, Scope::Unchanged), None);
    }
}
