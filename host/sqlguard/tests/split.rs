//! How scripts are split into statements: texts, offsets and positions.

use wasmig_sqlguard::{Dialect, Statement, split_statements};

fn texts(sql: &str, dialect: Dialect) -> Vec<&str> {
    split_statements(sql, dialect).unwrap().into_iter().map(|statement| statement.text).collect()
}

#[test]
fn statements_carry_their_text_offset_line_and_column() {
    let sql = "-- header\nCREATE TABLE t(x);\n\n  INSERT INTO t VALUES (';') /* tail */ ;\nSELECT 1";
    let statements = split_statements(sql, Dialect::Sqlite).unwrap();
    assert_eq!(
        statements,
        vec![
            Statement { text: "CREATE TABLE t(x)", offset: 10, line: 2, column: 1 },
            Statement { text: "INSERT INTO t VALUES (';')", offset: 32, line: 4, column: 3 },
            Statement { text: "SELECT 1", offset: 72, line: 5, column: 1 },
        ]
    );
    for statement in &statements {
        assert_eq!(&sql[statement.offset..statement.offset + statement.text.len()], statement.text);
    }
}

#[test]
fn empty_statements_and_comment_only_scripts_give_nothing() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        assert!(texts("", dialect).is_empty());
        assert!(texts(" ;; ; -- x\n/* y */;", dialect).is_empty());
        assert_eq!(texts(";;SELECT 1;;;SELECT 2;;", dialect), ["SELECT 1", "SELECT 2"]);
    }
}

#[test]
fn columns_count_characters_and_lines_count_newlines() {
    let statements = split_statements("SELECT 'é';\r\n  SELECT 2", Dialect::Postgres).unwrap();
    assert_eq!((statements[1].line, statements[1].column), (2, 3));
    let statements = split_statements("SELECT 'éé'; SELECT 2", Dialect::Sqlite).unwrap();
    assert_eq!((statements[1].offset, statements[1].column), (15, 14));
}

#[test]
fn a_sqlite_trigger_is_one_statement() {
    let trigger = "CREATE TRIGGER tr AFTER UPDATE ON t BEGIN\n  UPDATE t SET x = CASE WHEN new.x THEN 1 END;\n  INSERT INTO log VALUES ('END;');\nEND";
    let sql = format!("{trigger};\nSELECT 1;");
    assert_eq!(texts(&sql, Dialect::Sqlite), [trigger, "SELECT 1"]);
    // TEMP, and EXPLAIN in front, as sqlite3_complete() accepts them.
    let temp = "EXPLAIN CREATE TEMPORARY TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END";
    assert_eq!(texts(&format!("{temp}; SELECT 3"), Dialect::Sqlite), [temp, "SELECT 3"]);
    // Without CREATE … TRIGGER in front, BEGIN … END is not a body.
    assert_eq!(texts("BEGIN; SELECT 1; END;", Dialect::Sqlite), ["BEGIN", "SELECT 1", "END"]);
    // A quoted "trigger" is a name, not the keyword.
    assert_eq!(texts("CREATE \"trigger\" x; SELECT 1", Dialect::Sqlite).len(), 2);
}

#[test]
fn a_postgres_begin_atomic_routine_is_one_statement() {
    let function = "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE (CASE WHEN a < 0 THEN -1 END) END;\n  SELECT t.end AS case FROM t;\nEND";
    let sql = format!("{function};\nSELECT f(1)");
    assert_eq!(texts(&sql, Dialect::Postgres), [function, "SELECT f(1)"]);
    let procedure = "create procedure p() language sql begin atomic insert into t values (1); end";
    assert_eq!(texts(&format!("{procedure}; commit"), Dialect::Postgres), [procedure, "commit"]);
    // A function named begin has no body to open.
    assert_eq!(texts("CREATE FUNCTION begin() RETURNS int AS 'x' LANGUAGE sql; END", Dialect::Postgres).len(), 2);
}

#[test]
fn postgres_keeps_semicolons_inside_parentheses_as_psql_does() {
    let rule = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY t)";
    assert_eq!(texts(&format!("{rule}; SELECT 1"), Dialect::Postgres), [rule, "SELECT 1"]);
}

#[test]
fn quoted_text_does_not_split() {
    let pg = "SELECT $fn$ a; b $fn$, E'\\';', \"x;y\" /* ; /* ; */ ; */ + 1";
    assert_eq!(texts(&format!("{pg};SELECT 2"), Dialect::Postgres), [pg, "SELECT 2"]);
    let sqlite = "SELECT [a;b], `c;d`, 'e;f', \"g;h\" /* ; */ + 1";
    assert_eq!(texts(&format!("{sqlite};SELECT 2"), Dialect::Sqlite), [sqlite, "SELECT 2"]);
}

#[test]
fn corrections_are_capped_so_host_work_stays_bounded() {
    let few = "SELECT 1 @-- c\n+ 2;\n".repeat(200);
    assert_eq!(split_statements(&few, Dialect::Postgres).unwrap().len(), 200);
    let many = "SELECT 1 @-- c\n+ 2;\n".repeat(300);
    assert!(matches!(split_statements(&many, Dialect::Postgres), Err(wasmig_sqlguard::GuardError::Tokenize { .. })));
}
