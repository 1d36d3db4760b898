//! The policy's lists: the settings, PRAGMAs and languages a revision may use, and the
//! functions and extensions it may not. Names are compared lower case (both databases fold
//! unquoted names; the guard folds quoted ones too, which only ever refuses more).

use crate::class::StatementClass;

/// PostgreSQL settings a revision may `SET`, `SET LOCAL`, `SET SESSION` or `RESET`: they change
/// how the guest's own statements behave and nothing the host relies on. Everything else is
/// refused, in particular anything that changes how SQL is read (`standard_conforming_strings`,
/// `client_encoding`, `backslash_quote`, `escape_string_warning`), where names resolve
/// (`search_path`), who the session is (`role`, `session_authorization`), the transaction
/// (`transaction_*`, `default_transaction_*`), time limits (`statement_timeout`,
/// `idle_*_timeout`, `transaction_timeout`), security (`row_security`,
/// `session_replication_role`, which turns off triggers and foreign keys), durability
/// (`synchronous_commit`), memory on a shared server (`work_mem`, `maintenance_work_mem`),
/// and every custom `a.b` setting (row-level security policies read those).
pub const SETTABLE_SETTINGS: [&str; 2] = ["client_min_messages", "check_function_bodies"];

/// Languages a PostgreSQL function, procedure or `DO` block may use: the trusted ones, whose
/// code cannot reach the server's files, programs or memory.
pub const TRUSTED_LANGUAGES: [&str; 5] = ["sql", "plpgsql", "plperl", "pltcl", "plv8"];

/// SQLite PRAGMAs that take an argument and only read: `PRAGMA table_info(t)` is allowed,
/// as is any PRAGMA without an argument (a read).
pub const SQLITE_READ_PRAGMAS: [&str; 10] = [
    "table_info",
    "table_xinfo",
    "table_list",
    "index_info",
    "index_xinfo",
    "index_list",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
];

/// SQLite PRAGMAs a revision may set: `defer_foreign_keys` lasts until the transaction ends
/// (the tool for reshaping tables under foreign keys), and `user_version` is the application's
/// own number, which wasmig does not use.
pub const SQLITE_SETTABLE_PRAGMAS: [&str; 2] = ["defer_foreign_keys", "user_version"];

/// Extensions that are untrusted procedural languages: code with the server's OS privileges.
const UNTRUSTED_LANGUAGE_EXTENSIONS: [&str; 9] =
    ["plpython3u", "plpythonu", "plpython2u", "plperlu", "pltclu", "plsh", "plr", "pljavau", "plluau"];

/// Whether `name` (lower case) is one of `list`.
pub(crate) fn contains(list: &[&str], name: &[u8]) -> bool {
    list.iter().any(|item| item.as_bytes() == name)
}

/// A function a revision may not call (or name at all: `CREATE AGGREGATE ... SFUNC =
/// pg_read_file` reaches one without calling it), keyed by its lower-case name. Returns the
/// class and the canonical name.
pub(crate) fn postgres_function(name: &[u8]) -> Option<(StatementClass, &'static str)> {
    use StatementClass as C;
    let found = match name {
        b"set_config" => (C::SessionSetting, "set_config"),
        b"pg_read_file" => (C::ServerFiles, "pg_read_file"),
        b"pg_read_binary_file" => (C::ServerFiles, "pg_read_binary_file"),
        b"pg_ls_dir" => (C::ServerFiles, "pg_ls_dir"),
        b"pg_stat_file" => (C::ServerFiles, "pg_stat_file"),
        b"pg_ls_logdir" => (C::ServerFiles, "pg_ls_logdir"),
        b"pg_ls_waldir" => (C::ServerFiles, "pg_ls_waldir"),
        b"pg_ls_tmpdir" => (C::ServerFiles, "pg_ls_tmpdir"),
        b"pg_ls_archive_statusdir" => (C::ServerFiles, "pg_ls_archive_statusdir"),
        b"pg_ls_logicalsnapdir" => (C::ServerFiles, "pg_ls_logicalsnapdir"),
        b"pg_ls_logicalmapdir" => (C::ServerFiles, "pg_ls_logicalmapdir"),
        b"pg_ls_replslotdir" => (C::ServerFiles, "pg_ls_replslotdir"),
        b"pg_ls_summariesdir" => (C::ServerFiles, "pg_ls_summariesdir"),
        b"pg_file_write" => (C::ServerFiles, "pg_file_write"),
        b"pg_file_rename" => (C::ServerFiles, "pg_file_rename"),
        b"pg_file_unlink" => (C::ServerFiles, "pg_file_unlink"),
        b"pg_file_sync" => (C::ServerFiles, "pg_file_sync"),
        b"pg_file_read" => (C::ServerFiles, "pg_file_read"),
        b"pg_file_length" => (C::ServerFiles, "pg_file_length"),
        b"pg_logdir_ls" => (C::ServerFiles, "pg_logdir_ls"),
        b"lo_import" => (C::ServerFiles, "lo_import"),
        b"lo_export" => (C::ServerFiles, "lo_export"),
        b"pg_terminate_backend" => (C::ServerControl, "pg_terminate_backend"),
        b"pg_cancel_backend" => (C::ServerControl, "pg_cancel_backend"),
        b"pg_reload_conf" => (C::ServerControl, "pg_reload_conf"),
        b"pg_rotate_logfile" => (C::ServerControl, "pg_rotate_logfile"),
        b"pg_promote" => (C::ServerControl, "pg_promote"),
        b"pg_switch_wal" => (C::ServerControl, "pg_switch_wal"),
        b"pg_create_restore_point" => (C::ServerControl, "pg_create_restore_point"),
        b"pg_backup_start" => (C::ServerControl, "pg_backup_start"),
        b"pg_backup_stop" => (C::ServerControl, "pg_backup_stop"),
        b"pg_start_backup" => (C::ServerControl, "pg_start_backup"),
        b"pg_stop_backup" => (C::ServerControl, "pg_stop_backup"),
        b"pg_log_backend_memory_contexts" => (C::ServerControl, "pg_log_backend_memory_contexts"),
        b"pg_wal_replay_pause" => (C::ServerControl, "pg_wal_replay_pause"),
        b"pg_wal_replay_resume" => (C::ServerControl, "pg_wal_replay_resume"),
        b"pg_create_physical_replication_slot" => (C::ServerControl, "pg_create_physical_replication_slot"),
        b"pg_create_logical_replication_slot" => (C::ServerControl, "pg_create_logical_replication_slot"),
        b"pg_copy_physical_replication_slot" => (C::ServerControl, "pg_copy_physical_replication_slot"),
        b"pg_copy_logical_replication_slot" => (C::ServerControl, "pg_copy_logical_replication_slot"),
        b"pg_drop_replication_slot" => (C::ServerControl, "pg_drop_replication_slot"),
        _ if name.starts_with(b"dblink") => (C::RemoteDatabases, "dblink"),
        _ if name.starts_with(b"postgres_fdw") => (C::RemoteDatabases, "postgres_fdw"),
        _ => return None,
    };
    Some(found)
}

/// The SQLite counterpart of [`postgres_function`].
pub(crate) fn sqlite_function(name: &[u8]) -> Option<(StatementClass, &'static str)> {
    match name {
        b"load_extension" => Some((StatementClass::UntrustedCode, "load_extension")),
        // With two arguments it registers a tokenizer by memory address.
        b"fts3_tokenizer" => Some((StatementClass::UntrustedCode, "fts3_tokenizer")),
        _ => None,
    }
}

/// What `CREATE EXTENSION name` needs besides [`StatementClass::Extensions`]: untrusted
/// languages are [`StatementClass::UntrustedCode`] (never allowed); extensions that reach
/// other databases need [`StatementClass::RemoteDatabases`], those that reach files
/// [`StatementClass::ServerFiles`].
pub(crate) fn extension_class(name: &[u8]) -> Option<StatementClass> {
    if contains(&UNTRUSTED_LANGUAGE_EXTENSIONS, name) {
        Some(StatementClass::UntrustedCode)
    } else if name == b"file_fdw" || name == b"adminpack" {
        Some(StatementClass::ServerFiles)
    } else if name.starts_with(b"dblink") || name.ends_with(b"_fdw") || name == b"multicorn" {
        Some(StatementClass::RemoteDatabases)
    } else {
        None
    }
}

/// Whether a language named in `CREATE LANGUAGE` or `LANGUAGE x` is trusted.
pub(crate) fn is_trusted_language(name: &[u8]) -> bool {
    contains(&TRUSTED_LANGUAGES, name)
}
