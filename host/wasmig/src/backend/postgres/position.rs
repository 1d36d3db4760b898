//! Where in a guest's script a server error is: the position the server gave, or the statement the count of completed ones points at.
//!
//! A script inside the host's transaction travels as one simple query with
//! the host's SQL before and after it, so the server's position counts from
//! the start of that whole text; errors found while a statement runs
//! (division by zero, a constraint) carry no position at all, but every
//! statement before the failing one answered with a CommandComplete.

use crate::sql::DbError;

/// `error` of the simple query `text`, whose guest script is
/// `text[start..start + len]` and which completed `completed` statements
/// before it failed, with its position made relative to the script (or
/// dropped when it points into the host's SQL).
pub(super) fn in_script(mut error: DbError, text: &str, start: usize, len: usize, completed: usize) -> DbError {
    let dialect = wasmig_sqlguard::Dialect::Postgres;
    error.position = match error.position {
        Some(position) => position.checked_sub(start).filter(|position| *position <= len),
        // Only the server's errors come after statements that completed.
        None if error.code.is_some() => {
            let count = |sql: &str| wasmig_sqlguard::split_statements(sql, dialect).map(|statements| statements.len());
            let before = count(&text[..start]).ok();
            let script = wasmig_sqlguard::split_statements(&text[start..start + len], dialect).ok();
            match (before, script) {
                (Some(before), Some(script)) => {
                    completed.checked_sub(before).and_then(|index| script.get(index)).map(|statement| statement.offset)
                }
                _ => None,
            }
        }
        None => None,
    };
    error
}

/// `error` of one statement of a script that began at byte `offset` of it:
/// its position (or the statement's start) relative to the script.
pub(super) fn in_statement(mut error: DbError, offset: usize) -> DbError {
    error.position = Some(offset + error.position.unwrap_or(0));
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: &str, position: Option<usize>) -> DbError {
        DbError { position, ..DbError::new(Some(code.to_owned()), "boom") }
    }

    #[test]
    fn positions_become_relative_to_the_script() {
        let text = "SET LOCAL a = 1; SELECT 2;\nCREATE TABLE t (x int);\nCREAT TABLE u (y int);\n;SELECT 3";
        let start = text.find("CREATE").unwrap();
        let len = text.find("\n;").unwrap() - start;
        let at = text.find("CREAT ").unwrap();
        assert_eq!(in_script(server("42601", Some(at)), text, start, len, 0).position, Some(at - start));
        assert_eq!(in_script(server("42601", Some(3)), text, start, len, 0).position, None, "the host's SQL");
        // Two host statements and the first of the script completed: the second failed.
        assert_eq!(in_script(server("22012", None), text, start, len, 3).position, Some(at - start));
        assert_eq!(in_script(server("22012", None), text, start, len, 1).position, None, "a host statement");
        assert_eq!(in_script(DbError::new(None, "gone"), text, start, len, 3).position, None);
    }
}
