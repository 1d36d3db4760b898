//! Recognises transaction control at the start of a statement.

use crate::lexer::Lexeme;

/// The commands a revision may not run, keyed by their first word. Both dialects share the
/// list: the words that are not statements in SQLite (`ABORT`, `START`, `PREPARE TRANSACTION`)
/// are syntax errors there, so refusing them costs nothing.
const FIRST_WORDS: [&str; 7] = ["BEGIN", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"];

/// Commands whose first word alone is not transaction control: `START TRANSACTION` (there is
/// no other `START …`), and `PREPARE TRANSACTION 'id'` (unlike `PREPARE name AS …`).
const TWO_WORD_COMMANDS: [(&str, &str, &str); 2] =
    [("START", "TRANSACTION", "START TRANSACTION"), ("PREPARE", "TRANSACTION", "PREPARE TRANSACTION")];

/// The transaction-control command that the statement starting at `lexemes[first]` runs, if
/// any.
pub(crate) fn transaction_keyword(sql: &str, lexemes: &[Lexeme], first: usize) -> Option<&'static str> {
    let head = lexemes[first];
    if let Some(keyword) = FIRST_WORDS.into_iter().find(|keyword| head.is_keyword(sql, keyword)) {
        return Some(keyword);
    }
    let second = lexemes.get(first + 1);
    TWO_WORD_COMMANDS
        .into_iter()
        .find(|(word, next, _)| head.is_keyword(sql, word) && second.is_some_and(|s| s.is_keyword(sql, next)))
        .map(|(_, _, command)| command)
}
