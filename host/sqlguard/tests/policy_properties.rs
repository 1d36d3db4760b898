//! Property tests for the statement policy: a hostile statement, its words separated by any
//! mix of comments and odd whitespace and in any case, is refused wherever it stands in a
//! script, naming the right class, keyword, line and column; harmless statements that only
//! mention refused words in strings, comments, quoted names or longer names always pass.

use proptest::prelude::*;
use wasmig_sqlguard::{Capabilities, Capability, Dialect, GuardError, Policy, StatementClass as C};

/// A hostile statement as words, the word the refusal points at, and the expected verdict.
struct Hostile {
    dialect: Option<Dialect>,
    words: &'static [&'static str],
    reported: usize,
    expected: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Class(C, &'static str),
    Table,
}

const fn pg(words: &'static [&'static str], reported: usize, class: C, keyword: &'static str) -> Hostile {
    Hostile { dialect: Some(Dialect::Postgres), words, reported, expected: Verdict::Class(class, keyword) }
}

const fn sqlite(words: &'static [&'static str], reported: usize, class: C, keyword: &'static str) -> Hostile {
    Hostile { dialect: Some(Dialect::Sqlite), words, reported, expected: Verdict::Class(class, keyword) }
}

const fn table(dialect: Option<Dialect>, words: &'static [&'static str], reported: usize) -> Hostile {
    Hostile { dialect, words, reported, expected: Verdict::Table }
}

const HOSTILE: &[Hostile] = &[
    pg(&["SET", "search_path", "=", "evil"], 1, C::SessionSetting, "SET"),
    pg(&["SET", "LOCAL", "role", "postgres"], 2, C::SessionSetting, "SET"),
    pg(&["SET", "SESSION", "AUTHORIZATION", "postgres"], 1, C::SessionSetting, "SET"),
    pg(&["SET", "session_replication_role", "TO", "replica"], 1, C::SessionSetting, "SET"),
    pg(&["RESET", "ALL"], 1, C::SessionSetting, "RESET ALL"),
    pg(&["SET", "TRANSACTION", "READ", "WRITE"], 1, C::SessionSetting, "SET TRANSACTION"),
    pg(
        &["SELECT", "pg_catalog", ".", "set_config", "(", "'role'", ",", "'x'", ",", "false", ")"],
        3,
        C::SessionSetting,
        "set_config",
    ),
    pg(&["SELECT", "\"set_config\"", "(", "'a'", ",", "'b'", ",", "true", ")"], 1, C::SessionSetting, "set_config"),
    pg(
        &["WITH", "x", "AS", "(", "SELECT", "pg_read_file", "(", "'/etc/passwd'", ")", ")", "SELECT", "*", "FROM", "x"],
        5,
        C::ServerFiles,
        "pg_read_file",
    ),
    pg(&["COPY", "t", "FROM", "PROGRAM", "'id'"], 3, C::Programs, "COPY ... PROGRAM"),
    pg(&["COPY", "(", "SELECT", "1", ")", "TO", "'/tmp/x'"], 6, C::ServerFiles, "COPY ... TO/FROM file"),
    pg(&["SELECT", "dblink_exec", "(", "'host=x'", ",", "'DROP TABLE t'", ")"], 1, C::RemoteDatabases, "dblink"),
    pg(&["CREATE", "EXTENSION", "IF", "NOT", "EXISTS", "postgres_fdw"], 0, C::RemoteDatabases, "CREATE EXTENSION"),
    pg(
        &["CREATE", "FUNCTION", "f", "(", ")", "RETURNS", "int", "AS", "'x'", ",", "'f'", "LANGUAGE", "c"],
        12,
        C::UntrustedCode,
        "LANGUAGE",
    ),
    pg(&["DO", "LANGUAGE", "plpython3u", "$$ import os $$"], 2, C::UntrustedCode, "LANGUAGE"),
    pg(&["ALTER", "SYSTEM", "SET", "fsync", "=", "off"], 0, C::ServerSettings, "ALTER SYSTEM"),
    pg(
        &["ALTER", "ROLE", "CURRENT_USER", "SET", "search_path", "=", "evil"],
        0,
        C::ServerSettings,
        "ALTER ROLE ... SET",
    ),
    pg(&["CREATE", "ROLE", "evil", "SUPERUSER"], 0, C::Roles, "CREATE ROLE"),
    pg(&["GRANT", "pg_execute_server_program", "TO", "CURRENT_USER"], 0, C::Roles, "GRANT role"),
    pg(&["ALTER", "TABLE", "t", "OWNER", "TO", "postgres"], 3, C::Roles, "ALTER ... OWNER TO"),
    pg(
        &["SELECT", "pg_terminate_backend", "(", "pid", ")", "FROM", "pg_stat_activity"],
        1,
        C::ServerControl,
        "pg_terminate_backend",
    ),
    pg(&["DROP", "DATABASE", "other_tenant"], 0, C::DatabaseWide, "DROP DATABASE"),
    pg(&["DISCARD", "ALL"], 0, C::SessionState, "DISCARD"),
    sqlite(&["ATTACH", "DATABASE", "'/tmp/x.db'", "AS", "x"], 0, C::ServerFiles, "ATTACH"),
    sqlite(&["VACUUM", "INTO", "'/tmp/x.db'"], 1, C::ServerFiles, "VACUUM INTO"),
    sqlite(&["PRAGMA", "main", ".", "writable_schema", "=", "1"], 0, C::Pragma, "PRAGMA"),
    sqlite(&["SELECT", "load_extension", "(", "'x'", ")"], 1, C::UntrustedCode, "load_extension"),
    table(None, &["INSERT", "INTO", "wasmig_revisions", "VALUES", "(", "1", ")"], 2),
    table(None, &["DELETE", "FROM", "\"WASMIG_EVENTS\""], 2),
    table(None, &["UPDATE", "main", ".", "wasmig_revisions", "SET", "id", "=", "1"], 3),
    table(None, &["DROP", "TABLE", "IF", "EXISTS", "wasmig_events"], 4),
    table(
        Some(Dialect::Postgres),
        &["WITH", "d", "AS", "(", "DELETE", "FROM", "ONLY", "wasmig_events", ")", "SELECT", "1"],
        7,
    ),
    table(Some(Dialect::Postgres), &["TRUNCATE", "a", ",", "wasmig_revisions"], 3),
    table(Some(Dialect::Postgres), &["CREATE", "TABLE", "x", "(", ")", "INHERITS", "(", "wasmig_revisions", ")"], 7),
];

/// Harmless statements that mention refused words only where they refuse nothing.
const HARMLESS: &[&str] = &[
    "SELECT 'SET search_path = evil; COPY t TO ''/tmp/x''; ATTACH ''x'' AS y'",
    "CREATE TABLE settings (name TEXT, setting TEXT, language TEXT)",
    "CREATE TABLE copy (attach INT, detach INT)",
    "SELECT \"pg_read_file_log\" FROM logs WHERE note <> 'pg_read_file'",
    "SELECT * FROM wasmig_revisions WHERE id IN (SELECT id FROM wasmig_events)",
    "INSERT INTO my_wasmig_revisions_archive SELECT * FROM wasmig_revisions",
    "SELECT 1 /* DELETE FROM wasmig_revisions; SET role x */ + 2",
    "SELECT x -- DROP DATABASE other\nFROM t",
    "UPDATE settings SET setting = 'on' WHERE name = 'row_security'",
];

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        "\x0c",
        "\x0b",
        "/* c */",
        " /* COMMIT; SET x */ ",
        "/**/",
        " -- note; ATTACH\n",
        "\n-- pg_read_file('x')\n",
    ])
}

/// `word` in a random case when it is a bare word (quoted names and literals stay as they are).
fn recase(word: &str, mask: u64) -> String {
    if !word.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
        return word.to_owned();
    }
    word.chars()
        .enumerate()
        .map(|(at, ch)| if mask >> (at % 64) & 1 == 1 { ch.to_ascii_uppercase() } else { ch.to_ascii_lowercase() })
        .collect()
}

fn line_column(sql: &str, offset: usize) -> (usize, usize) {
    let before = &sql[..offset];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

fn tables() -> Vec<String> {
    vec!["wasmig_revisions".to_owned(), "wasmig_events".to_owned()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn hostile_statements_are_refused_however_spelled(
        which in 0..HOSTILE.len(),
        separators in prop::collection::vec(separator(), 16),
        mask in any::<u64>(),
        before in prop::collection::vec(0..HARMLESS.len(), 0..3),
        after in prop::collection::vec(0..HARMLESS.len(), 0..3),
        sqlite_dialect in any::<bool>(),
    ) {
        let hostile = &HOSTILE[which];
        let dialect = hostile.dialect.unwrap_or(if sqlite_dialect { Dialect::Sqlite } else { Dialect::Postgres });
        let mut sql = String::new();
        for &index in &before {
            sql.push_str(HARMLESS[index]);
            sql.push_str(";\n");
        }
        let mut reported_offset = 0;
        for (at, word) in hostile.words.iter().enumerate() {
            if at > 0 {
                sql.push_str(separators[at % separators.len()]);
            }
            if at == hostile.reported {
                reported_offset = sql.len();
            }
            sql.push_str(&recase(word, mask));
        }
        for &index in &after {
            sql.push_str(";\n");
            sql.push_str(HARMLESS[index]);
        }
        let tables = tables();
        let result = Policy::new(dialect).protect_tables(&tables).check_script(&sql);
        let (line, column) = line_column(&sql, reported_offset);
        match (hostile.expected, &result) {
            (Verdict::Class(class, keyword), Err(GuardError::Refused { class: got, keyword: got_keyword, line: l, column: c, .. })) => {
                prop_assert_eq!((class, keyword, line, column), (*got, *got_keyword, *l, *c), "{:?}", sql);
            }
            (Verdict::Table, Err(GuardError::ProtectedTable { line: l, column: c, .. })) => {
                prop_assert_eq!((line, column), (*l, *c), "{:?}", sql);
            }
            _ => prop_assert!(false, "{:?} in {:?}: got {:?}", hostile.expected, sql, result),
        }
    }

    #[test]
    fn harmless_scripts_pass_the_policy(
        parts in prop::collection::vec((0..HARMLESS.len(), separator()), 0..8),
        sqlite_dialect in any::<bool>(),
    ) {
        let dialect = if sqlite_dialect { Dialect::Sqlite } else { Dialect::Postgres };
        let sql: String = parts.iter().map(|&(index, separator)| format!("{}{separator};", HARMLESS[index])).collect();
        let tables = tables();
        let approval = Policy::new(dialect).protect_tables(&tables).check_script(&sql);
        prop_assert!(approval.as_ref().is_ok_and(|approval| approval.is_plain()), "{:?}: {:?}", sql, approval);
    }

    /// Whatever the input and the policy, the guard answers without panicking.
    #[test]
    fn arbitrary_input_never_panics_the_policy(sql in "[ -~\\n\\r\\té€$]{0,80}", words in prop::collection::vec(0..HOSTILE.len(), 0..3)) {
        let tables = tables();
        let schemas = vec!["tenant".to_owned()];
        let all: Capabilities = Capability::ALL.into_iter().collect();
        let mut text = sql;
        for which in words {
            text.push_str(&HOSTILE[which].words.join(" "));
        }
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for capabilities in [&Capabilities::none(), &all] {
                let policy = Policy::new(dialect).protect_tables(&tables).protect_schemas(&schemas).with_capabilities(capabilities);
                let _ = policy.check_script(&text);
                let _ = policy.check_statement(&text);
            }
        }
    }
}
