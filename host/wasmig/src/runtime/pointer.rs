//! Pointing at the statement that failed a hook: the revision's file, the line and column in it, and the statement's first line.
//!
//! The host sees every statement a guest sends and every asset it reads.
//! When a hook fails with the database's error, the statement it sent is
//! looked for in the assets it read (the `sql` plugin sends `up.sql` whole,
//! `verify.sql` trimmed): found, the error's position in the statement
//! becomes a line and column of that file; not found (SQL written in code),
//! the statement's first line names it.

use std::path::PathBuf;

use super::error::{FailedSql, HookError};
use super::host::{FailedStatement, HostState, MAX_ASSET_BYTES, asset_path};
use crate::checksum::read_revision_file;
use crate::sql::Dialect;

/// What a finished hook left to point with: its last failed statement and the assets it read.
pub(super) struct Evidence {
    failed: Option<FailedStatement>,
    assets_dir: Option<PathBuf>,
    assets_read: Vec<String>,
    dialect: Dialect,
}

impl Evidence {
    pub(super) fn take(state: &mut HostState) -> Self {
        Evidence {
            failed: state.failed_statement.take(),
            assets_dir: state.assets_dir.take(),
            assets_read: std::mem::take(&mut state.assets_read),
            dialect: state.dialect,
        }
    }
}

/// The longest first line of a statement that a message quotes.
const MAX_QUOTED_CHARS: usize = 120;

/// `error`, made to point at the statement that caused it when the hook
/// failed with the database's error for one (the guest's message quotes it).
pub(super) fn point(error: HookError, state: &Evidence) -> HookError {
    let Some(failed) = &state.failed else {
        return error;
    };
    let reason_line = failed.error.message.lines().next().unwrap_or_default();
    if reason_line.is_empty() {
        return error;
    }
    let (revision, hook) = match &error {
        HookError::Guest { revision, hook, message } if message.contains(reason_line) => (revision, *hook),
        HookError::Trap { revision, hook, guest_message: Some(message), .. } if message.contains(reason_line) => {
            (revision, *hook)
        }
        _ => return error,
    };
    HookError::Statement { revision: revision.clone(), hook, failed: Box::new(locate(failed, state)) }
}

/// Where `failed` is: in which asset, at which line and column, and its first line.
fn locate(failed: &FailedStatement, state: &Evidence) -> FailedSql {
    let sql = failed.sql.as_str();
    let position = failed.error.position.filter(|position| *position <= sql.len() && sql.is_char_boundary(*position));
    let statement = position.map_or_else(|| whole(sql), |position| enclosing(sql, position, state.dialect));
    // A position in the blanks or comments before the statement points at its start.
    let at = position.map(|position| position.max(statement.start));
    let mut located = FailedSql {
        file: None,
        line: None,
        column: None,
        code: failed.error.code.clone(),
        reason: failed.error.message.clone(),
        statement: (position.is_some() || !has_several(sql, state.dialect)).then(|| first_line(statement.text)),
        advice: None,
    };
    if let Some((name, text, base)) = source_of(sql, state) {
        located.file = Some(name);
        if let Some(at) = at {
            let (line, column) = wasmig_sqlguard::line_column(&text, base + at);
            located.line = Some(line);
            located.column = Some(column);
        }
    }
    located
}

/// One statement of a script: where it begins and its text.
struct Span<'a> {
    start: usize,
    text: &'a str,
}

fn whole(sql: &str) -> Span<'_> {
    let start = sql.len() - sql.trim_start().len();
    Span { start, text: sql.trim() }
}

/// The statement of `sql` that holds byte `position` (or the first one after it).
fn enclosing(sql: &str, position: usize, dialect: Dialect) -> Span<'_> {
    let Ok(statements) = wasmig_sqlguard::split_statements(sql, dialect.guard_dialect()) else {
        // Not even lexable: the line the database pointed at.
        let start = sql[..position].rfind('\n').map_or(0, |at| at + 1);
        return Span { start, text: &sql[start..] };
    };
    statements
        .iter()
        .find(|statement| statement.offset + statement.text.len() > position)
        .or(statements.last())
        .map_or_else(|| whole(sql), |statement| Span { start: statement.offset, text: statement.text })
}

fn has_several(sql: &str, dialect: Dialect) -> bool {
    wasmig_sqlguard::split_statements(sql, dialect.guard_dialect()).map_or(true, |statements| statements.len() > 1)
}

/// The statement's first line, cut to a length a message can carry; `...`
/// says that more follows.
fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().trim_end();
    let mut quoted: String = first.chars().take(MAX_QUOTED_CHARS).collect();
    if quoted.len() < first.len() || lines.next().is_some() {
        quoted.push_str(" ...");
    }
    quoted
}

/// The asset the hook read that holds `sql`: its name, its text and where `sql` begins in it.
fn source_of(sql: &str, state: &Evidence) -> Option<(String, String, usize)> {
    let dir = state.assets_dir.as_ref()?;
    let needle = sql.trim();
    if needle.is_empty() {
        return None;
    }
    state.assets_read.iter().find_map(|name| {
        let path = asset_path(dir, name).ok().flatten()?;
        let bytes = read_revision_file(&path, MAX_ASSET_BYTES).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        // The statement as sent, or trimmed as `verify.sql` is.
        let leading = sql.len() - sql.trim_start().len();
        let base = text.find(sql).or_else(|| text.find(needle).and_then(|at| at.checked_sub(leading)))?;
        Some((name.clone(), text, base))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enclosing_statement_is_the_one_that_holds_the_position() {
        let sql = "CREATE TABLE a (x int);\n\n-- note\nCREAT TABLE b (\n  y int\n);\n";
        let at = sql.find("CREAT ").unwrap();
        let statement = enclosing(sql, at, Dialect::Postgres);
        assert_eq!(statement.start, at);
        assert_eq!(first_line(statement.text), "CREAT TABLE b ( ...");
        // A position in the comment before it: the next statement.
        let statement = enclosing(sql, sql.find("-- note").unwrap(), Dialect::Sqlite);
        assert_eq!(statement.start, at);
        assert_eq!(first_line(enclosing(sql, 3, Dialect::Sqlite).text), "CREATE TABLE a (x int)");
    }

    #[test]
    fn long_first_lines_are_cut() {
        let long = format!("SELECT {}", "x, ".repeat(100));
        let quoted = first_line(&long);
        assert!(quoted.ends_with(" ...") && quoted.chars().count() == MAX_QUOTED_CHARS + 4, "{quoted}");
    }
}
