//! Offline SQL (`--sql`): a backend that records what a plan would run instead of running it.
//!
//! The executor runs the same loop against this backend as against a live
//! database, so the script holds the revisions' statements, the
//! version-table writes and the transaction boundaries, with parameters
//! rendered as literals of the dialect. A revision's `query` cannot be
//! answered without a database and fails with a clear error.
//!
//! Each revision's statements follow a comment line naming the revision,
//! the direction and the message, so a reviewer can find them; with a
//! PostgreSQL `?schema=`, the version tables are named in that schema, as a
//! live run names them (the script's header sets the `search_path`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlparser::dialect::{Dialect as ParserDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::tokenizer::{Token, Tokenizer};
use wasmig_graph::Direction;

use crate::backend::{Backend, HookSession, LockError, LockGuard, SessionBreach};
use crate::sql::{DbError, Dialect, Rows, Value};

/// Records statements into a script shared with the caller.
#[derive(Debug)]
pub struct OfflineBackend {
    dialect: Dialect,
    schema: Option<String>,
    /// The comment of each step still to run, in plan order: every step
    /// runs exactly one writing hook, whose statements follow its comment.
    markers: VecDeque<String>,
    script: Arc<Mutex<String>>,
}

impl OfflineBackend {
    /// The backend, and the script it writes into. `markers` are the
    /// comment lines of the plan's steps, in order ([`step_marker`]).
    pub fn new(dialect: Dialect, schema: Option<String>, markers: Vec<String>) -> (Self, Arc<Mutex<String>>) {
        let script = Arc::new(Mutex::new(String::new()));
        (OfflineBackend { dialect, schema, markers: markers.into(), script: Arc::clone(&script) }, script)
    }

    fn push_comment(&self, comment: &str) {
        let mut script = self.script.lock().expect("offline script poisoned");
        script.push_str(comment);
        script.push('\n');
    }

    fn push(&self, statement: &str) {
        let mut script = self.script.lock().expect("offline script poisoned");
        let statement = statement.trim();
        script.push_str(statement);
        if !statement.ends_with(';') {
            script.push(';');
        }
        script.push('\n');
    }
}

/// Nothing else runs against a script: it "holds" the lock by construction.
#[derive(Debug)]
struct ScriptLock;

impl LockGuard for ScriptLock {}

impl Backend for OfflineBackend {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn describe(&self) -> String {
        format!("offline SQL ({})", self.dialect)
    }

    fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let rendered = render(sql, params, self.dialect)?;
        self.push(&rendered);
        Ok(0)
    }

    fn query(&mut self, sql: &str, _params: &[Value]) -> Result<Rows, DbError> {
        Err(DbError::host(format!(
            "offline SQL (--sql) has no database to answer a query (`{}`): run this revision against a database instead",
            sql.trim().chars().take(60).collect::<String>()
        )))
    }

    fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        self.push(sql);
        Ok(())
    }

    fn begin_hook(&mut self, session: &HookSession) -> Result<(), DbError> {
        if !session.read_only
            && let Some(marker) = self.markers.pop_front()
        {
            self.push_comment(&marker);
        }
        Ok(())
    }

    fn end_hook(&mut self) -> Result<(), SessionBreach> {
        Ok(())
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.push("BEGIN");
        Ok(())
    }

    fn begin_read_only(&mut self) -> Result<(), DbError> {
        Err(DbError::host("offline SQL (--sql) has no database to verify against"))
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.push("COMMIT");
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.push("ROLLBACK");
        Ok(())
    }

    fn lock_waiting(
        &mut self,
        _key: &str,
        _timeout: Duration,
        _: &mut dyn FnMut(Option<&str>),
    ) -> Result<Box<dyn LockGuard>, LockError> {
        Ok(Box::new(ScriptLock))
    }
}

pub(crate) fn script_lock() -> Box<dyn LockGuard> {
    Box::new(ScriptLock)
}

/// The comment line that heads a step's statements in the script:
/// `-- wasmig: up 3f9a1c2b7d4e "add users"` (the message's first line).
pub(crate) fn step_marker(revision: &str, direction: Direction, message: &str) -> String {
    let first_line = message.lines().next().unwrap_or_default().trim();
    format!("-- wasmig: {} {revision} \"{first_line}\"", direction.as_str())
}

/// A value as an SQL literal of the dialect.
pub fn literal(value: &Value, dialect: Dialect) -> Result<String, DbError> {
    Ok(match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(number) => number.to_string(),
        Value::Real(number) if number.is_finite() => format!("{number:?}"),
        Value::Real(number) => return Err(DbError::host(format!("{number} has no SQL literal"))),
        Value::Text(text) => format!("'{}'", text.replace('\'', "''")),
        Value::Blob(bytes) => match dialect {
            Dialect::Sqlite => format!("X'{}'", hex::encode(bytes)),
            Dialect::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
        },
    })
}

/// Replaces the placeholders of `sql` (`?`, `?N`, `$N`) by literals, leaving
/// strings, identifiers and comments alone (the tokenizer finds them).
pub fn render(sql: &str, params: &[Value], dialect: Dialect) -> Result<String, DbError> {
    if params.is_empty() {
        return Ok(sql.to_owned());
    }
    let parser: &dyn ParserDialect = match dialect {
        Dialect::Sqlite => &SQLiteDialect {},
        Dialect::Postgres => &PostgreSqlDialect {},
    };
    let tokens = Tokenizer::new(parser, sql)
        .tokenize_with_location()
        .map_err(|error| DbError::host(format!("cannot render parameters into `{sql}`: {error}")))?;
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(sql.match_indices('\n').map(|(index, _)| index + 1)).collect();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut next_anonymous = 0;
    for token in tokens {
        let Token::Placeholder(text) = &token.token else { continue };
        let line = token.span.start.line as usize;
        let column = token.span.start.column as usize;
        let line_start = line_starts[line - 1];
        let start = line_start + sql[line_start..].chars().take(column - 1).map(char::len_utf8).sum::<usize>();
        let index = match text[1..].parse::<usize>() {
            Ok(number) if number >= 1 => number - 1,
            _ if text == "?" => {
                next_anonymous += 1;
                next_anonymous - 1
            }
            _ => return Err(DbError::host(format!("placeholder `{text}` is not positional"))),
        };
        let value = params
            .get(index)
            .ok_or_else(|| DbError::host(format!("placeholder `{text}` has no parameter ({} given)", params.len())))?;
        out.push_str(&sql[copied..start]);
        out.push_str(&literal(value, dialect)?);
        copied = start + text.len();
    }
    out.push_str(&sql[copied..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_literals_outside_strings_and_comments() {
        let params = [Value::Text("it's".into()), Value::Integer(7), Value::Null, Value::Blob(vec![0xab, 0x01])];
        assert_eq!(
            render("INSERT INTO t VALUES (?1, ?2, ?3, ?4) -- ?1 stays\n; SELECT '?2'", &params, Dialect::Sqlite)
                .unwrap(),
            "INSERT INTO t VALUES ('it''s', 7, NULL, X'ab01') -- ?1 stays\n; SELECT '?2'"
        );
        assert_eq!(
            render("UPDATE t SET a = $2, b = $1, c = $4 WHERE d = '$1'", &params, Dialect::Postgres).unwrap(),
            "UPDATE t SET a = 7, b = 'it''s', c = '\\xab01'::bytea WHERE d = '$1'"
        );
        assert_eq!(render("SELECT ?, ?", &params[..2], Dialect::Sqlite).unwrap(), "SELECT 'it''s', 7");
        assert!(render("SELECT ?9", &params, Dialect::Sqlite).is_err());
        assert_eq!(literal(&Value::Real(1.5), Dialect::Sqlite).unwrap(), "1.5");
        assert!(literal(&Value::Real(f64::NAN), Dialect::Sqlite).is_err());
    }

    #[test]
    fn multibyte_text_before_a_placeholder_keeps_offsets_right() {
        let params = [Value::Integer(1)];
        assert_eq!(render("SELECT 'été', ?1", &params, Dialect::Sqlite).unwrap(), "SELECT 'été', 1");
    }
}
