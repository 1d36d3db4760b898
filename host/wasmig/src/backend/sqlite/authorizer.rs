//! What a statement may do, decided by SQLite's authorizer while the statement is prepared: the guest's rules during a hook, one rule for the host's own statements.
//!
//! SQLite asks the authorizer about every table, column, function, pragma,
//! attach and transaction a statement (and every trigger it fires) touches,
//! when it compiles the statement; a denial makes the statement fail to
//! prepare, so nothing of it runs. Installing an authorizer expires every
//! prepared statement (`sqlite3_set_authorizer`), so a statement cached
//! under other rules is compiled again, and asked again, before its next run.
//!
//! The hot path (each column read, each function call) allocates nothing:
//! a decision borrows SQLite's strings, and only a refusal builds a message.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::ffi;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};

/// Pragmas that only read the schema or the file; their argument, if any,
/// is a table, index or schema name (or an error count). Migrations inspect
/// the schema (`pragma_table_info('t')` in a verify query,
/// `foreign_key_check` after rebuilding a table). `database_list` (the
/// platform's file paths) and `compile_options` (the host's build) are not
/// here: a migration has no use for them.
const INTROSPECTION_PRAGMAS: [&str; 12] = [
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
    "collation_list",
    "function_list",
];

/// Settings a revision may read (without an argument) but not set.
const READABLE_PRAGMAS: [&str; 10] = [
    "foreign_keys",
    "defer_foreign_keys",
    "recursive_triggers",
    "user_version",
    "application_id",
    "encoding",
    "journal_mode",
    "page_size",
    "page_count",
    "freelist_count",
];

/// Settings a revision may change, except in `verify`: `defer_foreign_keys`
/// lasts until the step's transaction ends and moves foreign-key checks to
/// its COMMIT (the table rebuild procedure of SQLite's ALTER TABLE
/// documentation needs it); `user_version` is the application's own number
/// in the file header, which wasmig does not use, and rolls back with the step.
const SETTABLE_PRAGMAS: [&str; 2] = ["defer_foreign_keys", "user_version"];

/// SQL functions that reach files or native code. `load_extension` is off
/// in wasmig's connections anyway, and `readfile`/`writefile`/`edit` exist
/// only in the sqlite3 shell; `fts3_tokenizer` hands out (and with two
/// arguments takes) raw pointers.
const FORBIDDEN_FUNCTIONS: [&str; 5] = ["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"];

/// The reason of the first refusal since it was last taken: the error of
/// the statement that caused it says it instead of SQLite's "not authorized".
#[derive(Debug, Clone, Default)]
pub(super) struct Refusals(Arc<Mutex<Option<String>>>);

impl Refusals {
    fn record(&self, reason: String) {
        let mut slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.get_or_insert(reason);
    }

    pub(super) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }
}

/// What a hook's statements may do.
#[derive(Debug, Clone)]
pub(super) struct GuestRules {
    /// The version tables (unqualified names), in every schema.
    pub(super) protected: Box<[Box<str>]>,
    /// `verify`: no write of any kind.
    pub(super) read_only: bool,
    /// The project allows `server-files`: ATTACH and DETACH.
    pub(super) server_files: bool,
}

/// The host's own statements: they may do anything, but a trigger they
/// fire may not write (wasmig defines no triggers, so it is a revision's,
/// reached e.g. through a foreign-key cascade from a version table).
pub(super) fn install_host(connection: &mut Connection, refusals: &Refusals) -> rusqlite::Result<()> {
    let refusals = refusals.clone();
    connection.authorizer(Some(move |context: AuthContext<'_>| match host_decision(&context) {
        None => Authorization::Allow,
        Some(refused) => {
            refusals.record(refused.reason());
            Authorization::Deny
        }
    }))
}

/// A hook's statements, until [`install_host`] replaces it.
pub(super) fn install_guest(
    connection: &mut Connection,
    rules: GuestRules,
    refusals: &Refusals,
) -> rusqlite::Result<()> {
    let refusals = refusals.clone();
    connection.authorizer(Some(move |context: AuthContext<'_>| match guest_decision(&rules, &context) {
        None => Authorization::Allow,
        Some(refused) => {
            refusals.record(refused.reason());
            Authorization::Deny
        }
    }))
}

/// Why a statement was refused, borrowing SQLite's strings until a message is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused<'a> {
    Attach { file: Option<&'a str> },
    Detach { schema: Option<&'a str> },
    Pragma { name: &'a str, value: Option<&'a str> },
    Transaction { statement: &'static str, savepoint: Option<&'a str> },
    Function { name: &'a str },
    Protected { action: &'static str, table: &'a str, trigger: Option<&'a str> },
    Shadow { what: &'static str, name: &'a str },
    AlterTemp { table: &'a str },
    ReadOnly { action: &'static str, object: &'a str },
    HostTrigger { action: &'static str, table: &'a str, trigger: &'a str },
    Unknown { code: i32 },
}

const SERVER_FILES_HINT: &str = "a project that trusts its revisions with files allows it with \
     `[sandbox] capabilities = [\"server-files\"]` in wasmig.toml";

impl Refused<'_> {
    fn reason(&self) -> String {
        match *self {
            Refused::Attach { file } => format!(
                "ATTACH of {} is refused: a revision may not open other database files (VACUUM attaches one too, so \
                 it is refused as well); {SERVER_FILES_HINT}",
                file.map_or_else(|| "a computed file name".to_owned(), |file| format!("'{file}'"))
            ),
            Refused::Detach { schema } => format!(
                "DETACH of {} is refused: a revision may not attach or detach databases; {SERVER_FILES_HINT}",
                schema.map_or_else(|| "a computed name".to_owned(), |schema| format!("`{schema}`"))
            ),
            Refused::Pragma { name, value } => {
                let shown = match value {
                    Some(value) => format!("PRAGMA {name} = {value}"),
                    None => format!("PRAGMA {name}"),
                };
                let advice = if name.eq_ignore_ascii_case("foreign_keys") && value.is_some() {
                    " (inside the step's transaction SQLite ignores PRAGMA foreign_keys anyway: remove it, or use \
                     PRAGMA defer_foreign_keys = ON)"
                } else {
                    ""
                };
                let why = match value {
                    Some(_) => "a revision may not change the settings of the connection or the database",
                    None => "it is not one of the pragmas a revision may use",
                };
                format!(
                    "{shown} is refused: {why}{advice}; the pragmas a revision may use are {}, reading {}, and setting \
                     {} (not in `verify`)",
                    INTROSPECTION_PRAGMAS.join(", "),
                    READABLE_PRAGMAS.join(", "),
                    SETTABLE_PRAGMAS.join(", ")
                )
            }
            Refused::Transaction { statement, savepoint } => format!(
                "{statement}{} is refused: wasmig runs each revision in its own transaction, which only wasmig begins \
                 and ends",
                savepoint.map(|name| format!(" {name}")).unwrap_or_default()
            ),
            Refused::Function { name } => {
                format!("the function {name}() is refused: it reaches files or native code outside the database")
            }
            Refused::Protected { action, table, trigger } => format!(
                "{action} `{table}`{} is refused: wasmig's version tables are written only by wasmig (a revision may \
                 read them)",
                trigger.map(|trigger| format!(" (by trigger `{trigger}`)")).unwrap_or_default()
            ),
            Refused::Shadow { what, name } => format!(
                "CREATE {what} `{name}` is refused: that is the name of one of wasmig's version tables, and an object of \
                 that name would hide it from wasmig"
            ),
            Refused::AlterTemp { table } => format!(
                "ALTER TABLE temp.`{table}` is refused: a revision may not rename or alter temporary tables (a renamed \
                 one could hide wasmig's version tables)"
            ),
            Refused::ReadOnly { action, object } => {
                format!("{action} `{object}` is refused: `verify` may only read")
            }
            Refused::HostTrigger { action, table, trigger } => format!(
                "{action} `{table}` by trigger `{trigger}` is refused: the trigger fired during wasmig's own \
                 bookkeeping (e.g. through a foreign-key cascade from a version table), where a revision's trigger may \
                 not write; drop the trigger or the foreign key to wasmig's tables"
            ),
            Refused::Unknown { code } => format!(
                "a statement that SQLite's authorizer reports with code {code} is refused: wasmig does not know what \
                 it does"
            ),
        }
    }
}

fn is_any_of(name: &str, names: &[&str]) -> bool {
    names.iter().any(|candidate| candidate.eq_ignore_ascii_case(name))
}

fn forbidden_function(name: &str) -> Option<Refused<'_>> {
    is_any_of(name, &FORBIDDEN_FUNCTIONS).then_some(Refused::Function { name })
}

fn host_decision<'a>(context: &AuthContext<'a>) -> Option<Refused<'a>> {
    let (action, table) = match context.action {
        AuthAction::Function { function_name } => return forbidden_function(function_name),
        AuthAction::Insert { table_name } => ("INSERT into", table_name),
        AuthAction::Update { table_name, .. } => ("UPDATE of", table_name),
        AuthAction::Delete { table_name } => ("DELETE from", table_name),
        _ => return None,
    };
    context.accessor.map(|trigger| Refused::HostTrigger { action, table, trigger })
}

fn guest_decision<'a>(rules: &GuestRules, context: &AuthContext<'a>) -> Option<Refused<'a>> {
    let protected = |name: &str| rules.protected.iter().any(|table| table.eq_ignore_ascii_case(name));
    // A write of `table` (or of its indexes, triggers, definition).
    let write = |action: &'static str, table: &'a str| {
        if protected(table) {
            Some(Refused::Protected { action, table, trigger: context.accessor })
        } else if rules.read_only {
            Some(Refused::ReadOnly { action, object: table })
        } else {
            None
        }
    };
    // A new named object: never one that shadows a version table.
    let create = |what: &'static str, name: &'a str| {
        if protected(name) {
            Some(Refused::Shadow { what, name })
        } else if rules.read_only {
            Some(Refused::ReadOnly { action: "CREATE", object: name })
        } else {
            None
        }
    };
    let read_only =
        |action: &'static str, object: &'a str| rules.read_only.then_some(Refused::ReadOnly { action, object });
    let files = |refused: Refused<'a>| (!rules.server_files || rules.read_only).then_some(refused);

    match context.action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => None,
        AuthAction::Function { function_name } => forbidden_function(function_name),
        AuthAction::Insert { table_name } => write("INSERT into", table_name),
        AuthAction::Update { table_name, .. } => write("UPDATE of", table_name),
        AuthAction::Delete { table_name } => write("DELETE from", table_name),
        AuthAction::Pragma { pragma_name, pragma_value } => pragma(rules, pragma_name, pragma_value),
        AuthAction::Transaction { operation } => Some(Refused::Transaction {
            statement: match operation {
                TransactionOperation::Begin => "BEGIN",
                TransactionOperation::Rollback => "ROLLBACK",
                _ => "COMMIT",
            },
            savepoint: None,
        }),
        AuthAction::Savepoint { operation, savepoint_name } => Some(Refused::Transaction {
            statement: match operation {
                TransactionOperation::Release => "RELEASE",
                TransactionOperation::Rollback => "ROLLBACK TO",
                _ => "SAVEPOINT",
            },
            savepoint: Some(savepoint_name),
        }),
        AuthAction::Attach { filename } => files(Refused::Attach { file: Some(filename) }),
        AuthAction::Detach { database_name } => files(Refused::Detach { schema: Some(database_name) }),
        // ATTACH or DETACH of an expression: SQLite passes no name.
        AuthAction::Unknown { code: ffi::SQLITE_ATTACH, .. } => files(Refused::Attach { file: None }),
        AuthAction::Unknown { code: ffi::SQLITE_DETACH, .. } => files(Refused::Detach { schema: None }),
        AuthAction::CreateTable { table_name } => create("TABLE", table_name),
        AuthAction::CreateTempTable { table_name } => create("TEMP TABLE", table_name),
        AuthAction::CreateView { view_name } => create("VIEW", view_name),
        AuthAction::CreateTempView { view_name } => create("TEMP VIEW", view_name),
        AuthAction::CreateVtable { table_name, .. } => create("VIRTUAL TABLE", table_name),
        AuthAction::CreateIndex { table_name, .. } | AuthAction::CreateTempIndex { table_name, .. } => {
            write("CREATE INDEX on", table_name)
        }
        AuthAction::CreateTrigger { table_name, .. } | AuthAction::CreateTempTrigger { table_name, .. } => {
            write("CREATE TRIGGER on", table_name)
        }
        AuthAction::DropIndex { table_name, .. } | AuthAction::DropTempIndex { table_name, .. } => {
            write("DROP INDEX on", table_name)
        }
        AuthAction::DropTrigger { table_name, .. } | AuthAction::DropTempTrigger { table_name, .. } => {
            write("DROP TRIGGER on", table_name)
        }
        AuthAction::DropTable { table_name } | AuthAction::DropTempTable { table_name } => {
            write("DROP TABLE", table_name)
        }
        AuthAction::AlterTable { database_name, table_name } => {
            if !protected(table_name) && !rules.read_only && database_name.eq_ignore_ascii_case("temp") {
                Some(Refused::AlterTemp { table: table_name })
            } else {
                write("ALTER TABLE", table_name)
            }
        }
        AuthAction::DropView { view_name } | AuthAction::DropTempView { view_name } => {
            read_only("DROP VIEW", view_name)
        }
        AuthAction::DropVtable { table_name, .. } => write("DROP TABLE", table_name),
        AuthAction::Reindex { index_name } => read_only("REINDEX", index_name),
        AuthAction::Analyze { table_name } => read_only("ANALYZE", table_name),
        AuthAction::Unknown { code, .. } => Some(Refused::Unknown { code }),
        // A kind of request newer than this code: refused until wasmig knows it.
        _ => Some(Refused::Unknown { code: -1 }),
    }
}

fn pragma<'a>(rules: &GuestRules, name: &'a str, value: Option<&'a str>) -> Option<Refused<'a>> {
    let allowed = is_any_of(name, &INTROSPECTION_PRAGMAS)
        || (value.is_none() && is_any_of(name, &READABLE_PRAGMAS))
        || (!rules.read_only && is_any_of(name, &SETTABLE_PRAGMAS));
    (!allowed).then_some(Refused::Pragma { name, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(read_only: bool, server_files: bool) -> GuestRules {
        GuestRules {
            protected: vec!["wasmig_revisions".into(), "wasmig_events".into()].into_boxed_slice(),
            read_only,
            server_files,
        }
    }

    fn context(action: AuthAction<'_>) -> AuthContext<'_> {
        AuthContext { action, database_name: Some("main"), accessor: None }
    }

    fn guest(rules: &GuestRules, action: AuthAction<'_>) -> Option<String> {
        guest_decision(rules, &context(action)).map(|refused| refused.reason())
    }

    #[test]
    fn version_tables_are_read_only_for_guests_in_any_case_and_schema() {
        let rules = rules(false, false);
        assert_eq!(guest(&rules, AuthAction::Read { table_name: "wasmig_revisions", column_name: "state" }), None);
        for action in [
            AuthAction::Insert { table_name: "WASMIG_REVISIONS" },
            AuthAction::Update { table_name: "wasmig_Events", column_name: "error" },
            AuthAction::Delete { table_name: "wasmig_events" },
            AuthAction::DropTable { table_name: "wasmig_events" },
            AuthAction::AlterTable { database_name: "main", table_name: "wasmig_revisions" },
            AuthAction::CreateTrigger { trigger_name: "t", table_name: "wasmig_revisions" },
            AuthAction::CreateTempTrigger { trigger_name: "t", table_name: "wasmig_revisions" },
            AuthAction::CreateIndex { index_name: "i", table_name: "wasmig_revisions" },
            AuthAction::CreateTempTable { table_name: "wasmig_revisions" },
            AuthAction::CreateTempView { view_name: "Wasmig_Events" },
            AuthAction::CreateTable { table_name: "wasmig_events" },
        ] {
            let reason = guest(&rules, action).unwrap_or_else(|| panic!("{action:?} allowed"));
            assert!(reason.to_lowercase().contains("wasmig_"), "{reason}");
        }
        assert_eq!(guest(&rules, AuthAction::Insert { table_name: "users" }), None);
        assert_eq!(guest(&rules, AuthAction::CreateTable { table_name: "wasmig_revisions_old" }), None);
        assert!(guest(&rules, AuthAction::AlterTable { database_name: "temp", table_name: "x" }).is_some());
    }

    #[test]
    fn pragmas_are_an_allow_list_of_reads() {
        let write = rules(false, false);
        let verify = rules(true, false);
        let pragma = |rules: &GuestRules, name, value| {
            guest(rules, AuthAction::Pragma { pragma_name: name, pragma_value: value })
        };
        assert_eq!(pragma(&write, "TABLE_INFO", Some("users")), None);
        assert_eq!(pragma(&verify, "foreign_key_check", None), None);
        assert_eq!(pragma(&write, "foreign_keys", None), None);
        assert_eq!(pragma(&write, "defer_foreign_keys", Some("ON")), None);
        assert!(pragma(&verify, "defer_foreign_keys", Some("ON")).is_some());
        assert_eq!(pragma(&write, "user_version", Some("7")), None);
        assert!(pragma(&verify, "user_version", Some("7")).is_some());
        assert!(pragma(&write, "foreign_keys", Some("OFF")).unwrap().contains("ignores PRAGMA foreign_keys"));
        for (name, value) in [
            ("writable_schema", Some("1")),
            ("journal_mode", Some("OFF")),
            ("wal_checkpoint", None),
            ("query_only", Some("0")),
            ("schema_version", Some("7")),
            ("database_list", None),
            ("compile_options", None),
            ("cache_size", Some("-1000000")),
        ] {
            assert!(pragma(&write, name, value).is_some(), "{name} {value:?}");
        }
    }

    #[test]
    fn attach_transactions_and_file_functions_are_refused() {
        let plain = rules(false, false);
        let trusted = rules(false, true);
        assert!(guest(&plain, AuthAction::Attach { filename: "other.db" }).unwrap().contains("server-files"));
        assert_eq!(guest(&trusted, AuthAction::Attach { filename: "other.db" }), None);
        assert!(guest(&rules(true, true), AuthAction::Attach { filename: "other.db" }).is_some());
        assert!(guest(&plain, AuthAction::Unknown { code: ffi::SQLITE_ATTACH, arg1: None, arg2: None }).is_some());
        assert!(guest(&plain, AuthAction::Transaction { operation: TransactionOperation::Begin }).is_some());
        assert!(
            guest(&plain, AuthAction::Savepoint { operation: TransactionOperation::Release, savepoint_name: "s" })
                .unwrap()
                .starts_with("RELEASE s")
        );
        assert!(guest(&plain, AuthAction::Function { function_name: "Load_Extension" }).is_some());
        assert_eq!(guest(&plain, AuthAction::Function { function_name: "lower" }), None);
    }

    #[test]
    fn verify_may_only_read() {
        let verify = rules(true, false);
        assert_eq!(guest(&verify, AuthAction::Select), None);
        assert_eq!(guest(&verify, AuthAction::Read { table_name: "users", column_name: "id" }), None);
        for action in [
            AuthAction::Insert { table_name: "users" },
            AuthAction::CreateTempTable { table_name: "scratch" },
            AuthAction::DropView { view_name: "v" },
            AuthAction::Analyze { table_name: "users" },
        ] {
            assert!(guest(&verify, action).unwrap().contains("`verify` may only read"), "{action:?}");
        }
    }

    #[test]
    fn host_statements_may_not_fire_writing_triggers() {
        let by_trigger = AuthContext {
            action: AuthAction::Insert { table_name: "wasmig_revisions" },
            database_name: Some("main"),
            accessor: Some("resurrect"),
        };
        assert!(host_decision(&by_trigger).unwrap().reason().contains("resurrect"));
        let cascade = AuthContext {
            action: AuthAction::Delete { table_name: "child" },
            database_name: Some("main"),
            accessor: None,
        };
        assert_eq!(host_decision(&cascade), None);
    }
}
