//! The guard's verdicts on a table of SQL snippets, for both dialects.

use wasmig_sqlguard::{Dialect, GuardError, check_script, check_statement};

/// Which host call the snippet is checked for.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// `execute-script`: [`check_script`].
    Script,
    /// `execute` / `query`: [`check_statement`].
    Statement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    /// Refused as transaction control, with this keyword.
    Refused(&'static str),
    /// Refused by `check_statement` as this many statements.
    Several(usize),
    NoStatement,
    /// Refused as SQL the guard cannot read the way the database would.
    Unreadable,
}

const BOTH: &[Dialect] = &[Dialect::Sqlite, Dialect::Postgres];
const SQLITE: &[Dialect] = &[Dialect::Sqlite];
const PG: &[Dialect] = &[Dialect::Postgres];

use Call::{Script, Statement};
use Expect::{Allowed, NoStatement, Refused, Several, Unreadable};

#[rustfmt::skip]
const CASES: &[(Call, &[Dialect], &str, Expect)] = &[
    // Plain statements.
    (Script, BOTH, "CREATE TABLE t(x)", Allowed),
    (Statement, BOTH, "INSERT INTO t VALUES (1);", Allowed),
    (Script, BOTH, "CREATE TABLE savepoint_log(x); SELECT * FROM rollback_log", Allowed),
    (Script, BOTH, "EXPLAIN SELECT 1", Allowed),
    // Keywords inside strings.
    (Statement, BOTH, "SELECT 'COMMIT'", Allowed),
    (Script, BOTH, "SELECT 'it''s; COMMIT'; SELECT ';BEGIN'", Allowed),
    (Script, BOTH, "SELECT 'a\\'; COMMIT", Refused("COMMIT")), // no backslash escapes in '...'
    (Script, PG, "SELECT E'it''s \\' COMMIT'", Allowed),
    (Script, PG, "SELECT E'it''s \\' COMMIT'; COMMIT", Refused("COMMIT")),
    (Script, PG, "SELECT e'\\\\'; ROLLBACK", Refused("ROLLBACK")),
    (Script, PG, "SELECT U&'d!0061t' UESCAPE '!'; SELECT N'END', B'101', X'ff'", Allowed),
    // Keywords inside comments.
    (Script, BOTH, "-- BEGIN\nCREATE TABLE t(x)", Allowed),
    (Script, BOTH, "/* COMMIT */ SELECT 1 -- ROLLBACK", Allowed),
    (Script, BOTH, "SELECT 1; -- COMMIT\n/* ROLLBACK; */", Allowed),
    (Script, BOTH, "/* x */ commit", Refused("COMMIT")),
    (Script, BOTH, "-- note\n  /* a */ -- b\n\tCOMMIT;", Refused("COMMIT")),
    (Script, PG, "/* outer /* inner */ COMMIT; */ SELECT 1", Allowed),
    (Script, SQLITE, "/* not /* nested */ COMMIT; */", Refused("COMMIT")), // SQLite comments do not nest
    (Script, SQLITE, "SELECT 1; /* unterminated comments run to the end in SQLite", Allowed),
    (Script, PG, "SELECT 1; /* unterminated", Unreadable),
    (Script, SQLITE, "SELECT 1; -- x\rCOMMIT", Allowed), // SQLite ends `--` at \n only
    (Script, PG, "SELECT 1; -- x\rCOMMIT", Refused("COMMIT")), // PostgreSQL ends it at \r too
    (Script, PG, "SELECT 1 @-- it's\n; COMMIT; -- '", Refused("COMMIT")), // operator before `--`
    (Script, PG, "SELECT 1 #-- it's\n; COMMIT; -- '", Refused("COMMIT")),
    (Script, PG, "SELECT 2 </* it's */ 3; COMMIT; -- '", Refused("COMMIT")),
    // Dollar quoting.
    (Script, PG, "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$", Allowed),
    (Script, PG, "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; COMMIT; $fn$; SELECT f()", Allowed),
    (Script, PG, "SELECT $a$ $b$ ; COMMIT; $b$ $a$; SELECT $TAG$ $tag$; END; $TAG$", Allowed),
    (Script, PG, "SELECT $$ x $$; COMMIT; SELECT $$ y $$", Refused("COMMIT")),
    (Script, PG, "SELECT $1; SELECT a$b$c FROM t", Allowed),
    (Script, PG, "SELECT $\u{20ac}$ ' $\u{20ac}$; COMMIT; SELECT $\u{20ac}$ ' $\u{20ac}$", Unreadable),
    (Script, PG, "SELECT $1abc$ x $1abc$", Unreadable),
    (Script, PG, "DO $$ BEGIN PERFORM 1; END $$; CALL p()", Allowed), // see docs/SQL-GUARD.md
    // Quoted identifiers.
    (Script, BOTH, "UPDATE \"commit\" SET \"begin\" = 1; DROP TABLE \"end\"", Allowed),
    (Script, BOTH, "\"commit\"", Allowed), // a name, not the keyword (and a syntax error)
    (Script, BOTH, "SELECT \"a\"\"b\"; COMMIT", Refused("COMMIT")),
    (Script, SQLITE, "CREATE TABLE [begin] ([end] INT); SELECT [commit] FROM [begin]", Allowed),
    (Script, SQLITE, "CREATE TABLE `end` (`commit` INT, `a``b` INT)", Allowed),
    (Script, SQLITE, "SELECT [x]]; COMMIT; --]", Unreadable),
    (Script, BOTH, "SELECT x'\\'; COMMIT; --'", Unreadable),
    (Script, SQLITE, "SELECT $a(');COMMIT;--')", Refused("COMMIT")), // a Tcl variable, as SQLite reads it
    // Every form of transaction control, any case, with and without `;`.
    (Script, BOTH, "COMMIT", Refused("COMMIT")),
    (Statement, BOTH, "CoMmIt;", Refused("COMMIT")),
    (Script, BOTH, "  \n\t commit", Refused("COMMIT")),
    (Script, BOTH, "BEGIN", Refused("BEGIN")),
    (Script, BOTH, "begin transaction", Refused("BEGIN")),
    (Script, SQLITE, "BEGIN DEFERRED TRANSACTION; BEGIN IMMEDIATE; BEGIN EXCLUSIVE", Refused("BEGIN")),
    (Script, PG, "BEGIN WORK", Refused("BEGIN")),
    (Script, PG, "BEGIN ISOLATION LEVEL SERIALIZABLE", Refused("BEGIN")),
    (Script, PG, "start transaction", Refused("START TRANSACTION")),
    (Script, PG, "START /* x */ TRANSACTION READ ONLY", Refused("START TRANSACTION")),
    (Script, BOTH, "END", Refused("END")),
    (Script, BOTH, "end transaction;", Refused("END")),
    (Script, BOTH, "ROLLBACK", Refused("ROLLBACK")),
    (Script, BOTH, "rollback to savepoint a", Refused("ROLLBACK")),
    (Script, PG, "ROLLBACK PREPARED 'x'", Refused("ROLLBACK")),
    (Script, PG, "COMMIT PREPARED 'x'", Refused("COMMIT")),
    (Script, PG, "COMMIT AND CHAIN", Refused("COMMIT")),
    (Script, PG, "abort", Refused("ABORT")),
    (Script, BOTH, "savepoint a", Refused("SAVEPOINT")),
    (Script, BOTH, "release a", Refused("RELEASE")),
    (Script, BOTH, "RELEASE SAVEPOINT a", Refused("RELEASE")),
    (Script, PG, "prepare transaction 'x'", Refused("PREPARE TRANSACTION")),
    (Script, PG, "PREPARE q AS SELECT 1; EXECUTE q", Allowed),
    // Scripts: the refused statement may come anywhere.
    (Script, BOTH, "SELECT 1; COMMIT", Refused("COMMIT")),
    (Script, BOTH, "CREATE TABLE a(x);\n-- c\nINSERT INTO a VALUES (';');\n/* b */ SELECT 'COMMIT';\n  /* hidden */ -- more\n  commit", Refused("COMMIT")),
    (Script, BOTH, "SELECT 1;; ;SELECT 2", Allowed),
    (Script, BOTH, "", Allowed),
    (Script, BOTH, "-- only a comment", Allowed),
    // Compound bodies: `;`, BEGIN and END inside them are not transaction control.
    (Statement, SQLITE, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = CASE WHEN new.x > 0 THEN 1 ELSE 0 END; INSERT INTO log VALUES ('BEGIN'); END;", Allowed),
    (Script, SQLITE, "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; COMMIT", Refused("COMMIT")),
    (Script, SQLITE, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; END", Refused("END")),
    (Script, SQLITE, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; ROLLBACK; END", Refused("ROLLBACK")),
    (Statement, PG, "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); INSERT INTO t VALUES (CASE WHEN true THEN 2 END); END", Allowed),
    (Statement, PG, "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT t.end FROM t; SELECT 1 AS end; END;", Allowed),
    (Script, PG, "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; COMMIT", Refused("COMMIT")),
    (Script, PG, "CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'select 1'; COMMIT", Refused("COMMIT")),
    (Statement, PG, "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))", Allowed),
    // execute / query take exactly one statement.
    (Statement, BOTH, "SELECT 1", Allowed),
    (Statement, BOTH, "SELECT 1;;", Allowed),
    (Statement, BOTH, "SELECT 1; SELECT 2", Several(2)),
    (Statement, BOTH, "SELECT 1; SELECT 2; -- x\nSELECT 3;", Several(3)),
    (Statement, SQLITE, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; SELECT 2", Several(2)),
    (Statement, BOTH, "SELECT 1; COMMIT", Refused("COMMIT")),
    (Statement, BOTH, "", NoStatement),
    (Statement, BOTH, "/* nothing */ ; -- here", NoStatement),
    // Input the database would reject too.
    (Script, BOTH, "SELECT 'unterminated", Unreadable),
    (Script, BOTH, "SELECT \"unterminated", Unreadable),
    (Script, PG, "SELECT $$ unterminated", Unreadable),
    (Script, PG, "COPY t FROM STDIN;\nCOMMIT\n\\.\n", Unreadable),
];

fn verdict(result: Result<(), GuardError>) -> Expect {
    match result {
        Ok(()) => Allowed,
        Err(GuardError::TransactionControl { keyword, .. }) => Refused(keyword),
        Err(GuardError::SeveralStatements { count, .. }) => Several(count),
        Err(GuardError::NoStatement) => NoStatement,
        Err(GuardError::Tokenize { .. }) => Unreadable,
        Err(other) => panic!("the transaction-only guard refused with {other:?}"),
    }
}

#[test]
fn every_snippet_gets_its_expected_verdict() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for &(call, dialects, sql, expected) in CASES {
        for &dialect in dialects {
            let result = match call {
                Script => check_script(sql, dialect),
                Statement => check_statement(sql, dialect),
            };
            checked += 1;
            let got = verdict(result.clone());
            if got != expected {
                failures.push(format!("{call:?} {dialect:?} {sql:?}: expected {expected:?}, got {result:?}"));
            }
        }
    }
    assert!(CASES.len() >= 40, "the table must hold at least 40 snippets");
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_refusal_names_the_keyword_position_and_the_way_out() {
    let sql = "CREATE TABLE a(x);\n-- c\n  /* hidden */ commit and chain";
    let error = check_script(sql, Dialect::Postgres).unwrap_err();
    assert_eq!(
        error,
        GuardError::TransactionControl {
            keyword: "COMMIT",
            line: 3,
            column: 16,
            statement: "commit and chain".to_owned(),
        }
    );
    let message = error.to_string();
    assert!(message.contains("line 3, column 16"), "{message}");
    assert!(message.contains("wasmig runs each revision in its own transaction"), "{message}");
    assert!(message.contains("`transactional = false` in revision.toml"), "{message}");
}

#[test]
fn a_refusal_quotes_about_sixty_characters_on_one_line() {
    let sql = format!("ROLLBACK\n  TO SAVEPOINT {}", "a".repeat(100));
    let GuardError::TransactionControl { statement, .. } = check_script(&sql, Dialect::Sqlite).unwrap_err() else {
        panic!("expected a transaction-control refusal");
    };
    assert!(statement.starts_with("ROLLBACK TO SAVEPOINT aaa"), "{statement}");
    assert_eq!(statement.chars().count(), 61, "60 characters and an ellipsis: {statement}");
}

#[test]
fn several_statements_point_at_the_second_and_at_execute_script() {
    let error = check_statement("SELECT 1;\n  SELECT 2", Dialect::Sqlite).unwrap_err();
    assert_eq!(error, GuardError::SeveralStatements { count: 2, line: 2, column: 3, statement: "SELECT 2".to_owned() });
    assert!(error.to_string().contains("use execute-script"), "{error}");
}

#[test]
fn unreadable_input_names_its_position() {
    let error = check_script("SELECT 1;\nSELECT 'open", Dialect::Postgres).unwrap_err();
    let GuardError::Tokenize { line, column, .. } = error else { panic!("{error:?}") };
    assert_eq!((line, column), (2, 8));
    let error = check_script("SELECT [x]] FROM [t]", Dialect::Sqlite).unwrap_err();
    assert!(matches!(error, GuardError::Tokenize { line: 1, column: 10, .. }), "{error:?}");
}
