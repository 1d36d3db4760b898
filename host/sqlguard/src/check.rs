//! The guard's entry points: SQL read once into lexemes and statements, then checked for
//! transaction control ([`check_statement`], [`check_script`]) or listed ([`split_statements`]).

use crate::dialect::Dialect;
use crate::error::GuardError;
use crate::guard;
use crate::lexer::{self, Lexeme};
use crate::position::{LineIndex, excerpt};
use crate::splitter::{self, RawStatement};

/// How many characters of a statement an error message quotes.
const EXCERPT_CHARS: usize = 60;

/// One statement of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement from its first token to its last, without the terminating `;` and
    /// without the whitespace and comments around it (comments inside are kept).
    pub text: &'a str,
    /// Byte offset of `text` in the script.
    pub offset: usize,
    /// 1-based line of the first token.
    pub line: usize,
    /// 1-based column (in characters) of the first token.
    pub column: usize,
}

/// One statement for `execute`/`query`: refuses transaction control, and refuses several
/// statements (the backends run exactly one). A trailing `;` is fine. SQL with no statement
/// at all (empty, only comments) is refused as [`GuardError::NoStatement`]: an `execute` of
/// nothing is a mistake in the revision (often a statement commented out by accident), and the
/// two backends would not even agree on what it does.
pub fn check_statement(sql: &str, dialect: Dialect) -> Result<(), GuardError> {
    let parsed = Parsed::new(sql, dialect)?;
    parsed.check_transaction_control()?;
    match parsed.statements.as_slice() {
        [] => Err(GuardError::NoStatement),
        [_] => Ok(()),
        [_, second, ..] => {
            let statement = parsed.statement(second);
            Err(GuardError::SeveralStatements {
                count: parsed.statements.len(),
                line: statement.line,
                column: statement.column,
                statement: excerpt(statement.text, EXCERPT_CHARS),
            })
        }
    }
}

/// A script for `execute-script`: every statement checked. A script with no statement
/// (empty, only comments) is fine.
pub fn check_script(sql: &str, dialect: Dialect) -> Result<(), GuardError> {
    Parsed::new(sql, dialect)?.check_transaction_control()
}

/// The statements of a script, split the same way the guard splits them; empty statements
/// (`;;`, only comments) are left out.
pub fn split_statements(sql: &str, dialect: Dialect) -> Result<Vec<Statement<'_>>, GuardError> {
    let parsed = Parsed::new(sql, dialect)?;
    Ok(parsed.statements.iter().map(|raw| parsed.statement(raw)).collect())
}

/// SQL read into lexemes and split into statements.
struct Parsed<'a> {
    sql: &'a str,
    lexemes: Vec<Lexeme>,
    statements: Vec<RawStatement>,
    lines: LineIndex<'a>,
}

impl<'a> Parsed<'a> {
    fn new(sql: &'a str, dialect: Dialect) -> Result<Self, GuardError> {
        let lexemes = lexer::lex(sql, dialect)?;
        let statements = splitter::split(sql, &lexemes, dialect);
        Ok(Self { sql, lexemes, statements, lines: LineIndex::new(sql) })
    }

    fn statement(&self, raw: &RawStatement) -> Statement<'a> {
        let offset = self.lexemes[raw.first].start;
        let (line, column) = self.lines.line_column(offset);
        Statement { text: &self.sql[offset..self.lexemes[raw.last].end], offset, line, column }
    }

    /// Refuses the first statement that is transaction control. Statements inside a trigger
    /// or `BEGIN ATOMIC` body are checked too (they cannot legally be transaction control, so
    /// this only matters if the splitter and the database ever disagreed); `END` is left alone
    /// there because it closes the body.
    fn check_transaction_control(&self) -> Result<(), GuardError> {
        for raw in &self.statements {
            if let Some(keyword) = guard::transaction_keyword(self.sql, &self.lexemes, raw.first) {
                return Err(self.refusal(keyword, raw.first, self.statement(raw).text));
            }
            for &inner in &raw.inner_starts {
                match guard::transaction_keyword(self.sql, &self.lexemes, inner) {
                    Some("END") | None => {}
                    Some(keyword) => {
                        let text = &self.sql[self.lexemes[inner].start..self.lexemes[raw.last].end];
                        return Err(self.refusal(keyword, inner, text));
                    }
                }
            }
        }
        Ok(())
    }

    fn refusal(&self, keyword: &'static str, first: usize, text: &str) -> GuardError {
        let (line, column) = self.lines.line_column(self.lexemes[first].start);
        GuardError::TransactionControl { keyword, line, column, statement: excerpt(text, EXCERPT_CHARS) }
    }
}
