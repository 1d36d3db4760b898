//! An SQL revision's `up.sql` or `down.sql` that holds no statement is refused before anything runs, unless it says it is empty on purpose.
//!
//! A file of blanks and comments "applies" or "reverts" without doing
//! anything, and the version row says it did: a `down.sql` left as the
//! template reverts while the table stays. The marker `-- wasmig: empty`
//! (a line comment of its own) says the revision really has nothing to do
//! in that direction.

use std::path::PathBuf;

use wasmig_graph::{Direction, Revision, RevisionKind};

use crate::checksum::{MAX_SQL_FILE_BYTES, read_revision_file};

/// The file of an SQL revision a step in `direction` runs, when it holds no
/// statement and no marker; `None` otherwise (a missing or unreadable file
/// is for the step itself to report).
pub(crate) fn unmarked_empty_file(revision: &Revision, direction: Direction) -> Option<PathBuf> {
    if revision.kind() != RevisionKind::Sql {
        return None;
    }
    let name = match direction {
        Direction::Up => "up.sql",
        Direction::Down => "down.sql",
    };
    let path = revision.dir.join(name);
    let text = String::from_utf8(read_revision_file(&path, MAX_SQL_FILE_BYTES).ok()?).ok()?;
    (!has_statement(&text) && !is_marked(&text)).then_some(path)
}

/// Whether `text` holds a statement (text that does not lex is not empty: the database will say what is wrong).
fn has_statement(text: &str) -> bool {
    wasmig_sqlguard::split_statements(text, wasmig_sqlguard::Dialect::Postgres)
        .map_or(true, |statements| !statements.is_empty())
}

fn is_marked(text: &str) -> bool {
    text.lines().any(|line| {
        line.trim()
            .strip_prefix("--")
            .is_some_and(|rest| rest.split_whitespace().collect::<String>().eq_ignore_ascii_case("wasmig:empty"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_comments_and_semicolons_hold_no_statement() {
        for text in ["", "  \n", "-- nothing\n", "/* a */ ;\n ; -- b", "-- upgrade of x\n\n-- Undo it.\n"] {
            assert!(!has_statement(text), "{text:?}");
        }
        for text in ["SELECT 1", "-- c\nDROP TABLE t;", "'unterminated"] {
            assert!(has_statement(text), "{text:?}");
        }
    }

    #[test]
    fn the_marker_is_a_line_comment_of_its_own() {
        assert!(is_marked("-- nothing to undo\n-- wasmig: empty\n"));
        assert!(is_marked("  --wasmig:EMPTY"));
        assert!(!is_marked("-- wasmig: empty? not really"));
        assert!(!is_marked("/* -- wasmig: empty */ x"), "inside a block comment line");
        assert!(!is_marked("SELECT '-- wasmig: empty'"));
    }
}
