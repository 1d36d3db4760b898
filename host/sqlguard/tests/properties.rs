//! Property tests: harmless SQL, however interleaved with comments and keyword-laden strings,
//! never trips the guard; a real transaction-control statement anywhere always does.

use proptest::prelude::*;
use wasmig_sqlguard::{Dialect, GuardError, check_script, check_statement, split_statements};

/// Words that would be transaction control at the start of a statement.
fn keyword() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "COMMIT",
        "commit",
        "Begin",
        "BEGIN TRANSACTION",
        "END",
        "end",
        "ROLLBACK",
        "rollback to a",
        "SAVEPOINT a",
        "release a",
        "ABORT",
        "START TRANSACTION",
        "PREPARE TRANSACTION 'x'",
        "BEGIN ATOMIC",
    ])
}

/// `text` as the inside of a '…' literal.
fn in_string(text: &str) -> String {
    text.replace('\'', "''")
}

/// Statements that mention transaction keywords only where they are not transaction control.
fn harmless_statement(dialect: Dialect) -> BoxedStrategy<String> {
    let common = prop_oneof![
        keyword().prop_map(|k| format!("SELECT '{}'", in_string(k))),
        keyword().prop_map(|k| format!("INSERT INTO t VALUES ('it''s; {}; ''x')", in_string(k))),
        keyword().prop_map(|k| format!("CREATE TABLE \"{k}\" (x INT)")),
        keyword().prop_map(|k| format!("SELECT 1 /* {k}; */ + 2")),
        keyword().prop_map(|k| format!("SELECT x -- {k};\nFROM t")),
        Just("CREATE TABLE begin_log(x)".to_owned()),
    ];
    match dialect {
        Dialect::Sqlite => prop_oneof![
            common,
            keyword().prop_map(|k| format!("SELECT [{k}] FROM `{k}`")),
            keyword().prop_map(|k| format!(
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN 1 THEN 2 END; \
                 INSERT INTO t VALUES ('{}'); END",
                in_string(k)
            )),
        ]
        .boxed(),
        Dialect::Postgres => prop_oneof![
            common,
            keyword().prop_map(|k| format!("SELECT $$ {k}; $$")),
            keyword().prop_map(|k| format!("SELECT $fn$ {k}; $$ $fn$")),
            keyword().prop_map(|k| format!("SELECT E'\\' {}; '", in_string(k))),
            keyword().prop_map(|k| format!("SELECT 1 /* /* {k}; */ {k}; */ + 2")),
            keyword().prop_map(|k| format!(
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC \
                 SELECT CASE WHEN true THEN 1 END; SELECT '{}'; END",
                in_string(k)
            )),
            keyword().prop_map(|k| format!("DO $$ BEGIN RAISE NOTICE '{}'; END $$", in_string(k))),
        ]
        .boxed(),
    }
}

/// Whitespace and comments (with keywords in them) between statements.
fn trivia() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\t".to_owned()),
        keyword().prop_map(|k| format!("\n-- {k};\n")),
        keyword().prop_map(|k| format!("/* {k}; */")),
        Just(";".to_owned()), // an empty statement
    ];
    prop::collection::vec(piece, 0..4).prop_map(|pieces| pieces.concat())
}

/// A transaction-control statement and the keyword the guard reports for it.
fn transaction_control() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop::sample::select(vec![
        ("COMMIT", "COMMIT"),
        ("CoMmIt", "COMMIT"),
        ("END", "END"),
        ("begin", "BEGIN"),
        ("ROLLBACK TO SAVEPOINT a", "ROLLBACK"),
        ("SAVEPOINT a", "SAVEPOINT"),
        ("release a", "RELEASE"),
        ("START TRANSACTION", "START TRANSACTION"),
        ("abort", "ABORT"),
    ])
}

/// `(statement, leading trivia)` pairs joined into a script with `;`; the last `;` is optional.
fn script(parts: &[(String, String)], trailing_semicolon: bool) -> (String, Vec<usize>) {
    let mut sql = String::new();
    let mut offsets = Vec::new();
    for (index, (statement, leading)) in parts.iter().enumerate() {
        sql.push_str(leading);
        offsets.push(sql.len());
        sql.push_str(statement);
        if index + 1 < parts.len() || trailing_semicolon {
            sql.push(';');
        } else {
            // A statement ending in a line comment needs a newline before whatever follows.
            sql.push('\n');
        }
    }
    (sql, offsets)
}

fn line_column(sql: &str, offset: usize) -> (usize, usize) {
    let before = &sql[..offset];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

fn harmless_script(dialect: Dialect) -> impl Strategy<Value = (Vec<(String, String)>, bool)> {
    (prop::collection::vec((harmless_statement(dialect), trivia()), 0..8), any::<bool>())
}

fn harmless_scripts_pass_and_split_exactly(dialect: Dialect, parts: &[(String, String)], trailing: bool) {
    let (sql, offsets) = script(parts, trailing);
    assert_eq!(check_script(&sql, dialect), Ok(()), "{sql:?}");
    let statements = split_statements(&sql, dialect).unwrap();
    let got: Vec<(&str, usize)> = statements.iter().map(|s| (s.text, s.offset)).collect();
    let expected: Vec<(&str, usize)> = parts.iter().zip(&offsets).map(|((s, _), &o)| (s.as_str(), o)).collect();
    assert_eq!(got, expected, "{sql:?}");
    for (statement, _) in parts {
        assert_eq!(check_statement(statement, dialect), Ok(()), "{statement:?}");
    }
}

fn inserted_control_is_refused(
    dialect: Dialect,
    mut parts: Vec<(String, String)>,
    trailing: bool,
    at: prop::sample::Index,
    leading: String,
    (control, keyword): (&str, &'static str),
) {
    let position = at.index(parts.len() + 1);
    parts.insert(position, (control.to_owned(), leading));
    let (sql, offsets) = script(&parts, trailing);
    let (line, column) = line_column(&sql, offsets[position]);
    match check_script(&sql, dialect) {
        Err(GuardError::TransactionControl { keyword: got, line: got_line, column: got_column, .. }) => {
            assert_eq!((got, got_line, got_column), (keyword, line, column), "{sql:?}");
        }
        other => panic!("expected a refusal of {keyword} in {sql:?}, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn harmless_sqlite_never_trips_the_guard((parts, trailing) in harmless_script(Dialect::Sqlite)) {
        harmless_scripts_pass_and_split_exactly(Dialect::Sqlite, &parts, trailing);
    }

    #[test]
    fn harmless_postgres_never_trips_the_guard((parts, trailing) in harmless_script(Dialect::Postgres)) {
        harmless_scripts_pass_and_split_exactly(Dialect::Postgres, &parts, trailing);
    }

    #[test]
    fn sqlite_control_anywhere_is_refused(
        (parts, trailing) in harmless_script(Dialect::Sqlite),
        at in any::<prop::sample::Index>(),
        leading in trivia(),
        control in transaction_control(),
    ) {
        inserted_control_is_refused(Dialect::Sqlite, parts, trailing, at, leading, control);
    }

    #[test]
    fn postgres_control_anywhere_is_refused(
        (parts, trailing) in harmless_script(Dialect::Postgres),
        at in any::<prop::sample::Index>(),
        leading in trivia(),
        control in transaction_control(),
    ) {
        inserted_control_is_refused(Dialect::Postgres, parts, trailing, at, leading, control);
    }

    /// Whatever the input, the guard answers (no panic), and a statement it returns is a
    /// slice of the input at the offset it reports.
    #[test]
    fn arbitrary_input_never_panics(sql in "[ -~\\n\\r\\té€$]{0,80}") {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let _ = check_script(&sql, dialect);
            let _ = check_statement(&sql, dialect);
            if let Ok(statements) = split_statements(&sql, dialect) {
                for statement in statements {
                    prop_assert_eq!(&sql[statement.offset..statement.offset + statement.text.len()], statement.text);
                }
            }
        }
    }
}
