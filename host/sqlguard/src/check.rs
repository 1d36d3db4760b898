//! The guard's entry points: SQL read once into lexemes and statements, then checked against
//! a [`Policy`] ([`Policy::check_statement`], [`Policy::check_script`]), for transaction control
//! only ([`check_statement`], [`check_script`]), or listed ([`split_statements`]).

use crate::commands;
use crate::dialect::Dialect;
use crate::error::GuardError;
use crate::finding::{Finding, Findings, What};
use crate::guard;
use crate::lexer::{self, Lexeme};
use crate::policy::{Approval, CapabilityUse, Policy};
use crate::position::{excerpt, line_column};
use crate::scan;
use crate::splitter::{self, RawStatement};
use crate::tokens::Tokens;

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

impl Policy<'_> {
    /// One statement for `execute`/`query`: refuses transaction control, every statement
    /// class the policy refuses, and several statements (the backends run exactly one; a
    /// trailing `;` is fine). SQL with no statement at all (empty, only comments) is refused
    /// as [`GuardError::NoStatement`]: an `execute` of nothing is a mistake in the revision
    /// (often a statement commented out by accident).
    pub fn check_statement(&self, sql: &str) -> Result<Approval, GuardError> {
        let parsed = Parsed::new(sql, self.dialect)?;
        let approval = parsed.check(self)?;
        match parsed.statements.as_slice() {
            [] => Err(GuardError::NoStatement),
            [_] => Ok(approval),
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

    /// A script for `execute-script`: every statement checked, the first refusal (in text
    /// order) returned. A script with no statement (empty, only comments) is fine.
    pub fn check_script(&self, sql: &str) -> Result<Approval, GuardError> {
        Parsed::new(sql, self.dialect)?.check(self)
    }
}

/// [`Policy::check_statement`] for transaction control only (the guard before the statement
/// policy): `Policy::transactions_only(dialect).check_statement(sql)`.
pub fn check_statement(sql: &str, dialect: Dialect) -> Result<(), GuardError> {
    Policy::transactions_only(dialect).check_statement(sql).map(drop)
}

/// [`Policy::check_script`] for transaction control only.
pub fn check_script(sql: &str, dialect: Dialect) -> Result<(), GuardError> {
    Policy::transactions_only(dialect).check_script(sql).map(drop)
}

/// The statements of a script, split the same way the guard splits them; empty statements
/// (`;;`, only comments) are left out.
pub fn split_statements(sql: &str, dialect: Dialect) -> Result<Vec<Statement<'_>>, GuardError> {
    let parsed = Parsed::new(sql, dialect)?;
    Ok(parsed.statements.iter().map(|raw| parsed.statement(raw)).collect())
}

/// SQL read into (significant) lexemes and split into statements.
struct Parsed<'a> {
    sql: &'a str,
    dialect: Dialect,
    lexemes: Vec<Lexeme>,
    statements: Vec<RawStatement>,
}

impl<'a> Parsed<'a> {
    fn new(sql: &'a str, dialect: Dialect) -> Result<Self, GuardError> {
        let lexemes = lexer::lex(sql, dialect)?;
        let statements = splitter::split(sql, &lexemes, dialect);
        Ok(Self { sql, dialect, lexemes, statements })
    }

    fn statement(&self, raw: &RawStatement) -> Statement<'a> {
        let offset = self.lexemes[raw.first].start;
        let (line, column) = line_column(self.sql, offset);
        Statement { text: &self.sql[offset..self.lexemes[raw.last].end], offset, line, column }
    }

    /// Checks every statement in order and returns the first refusal. Statements inside a
    /// trigger or `BEGIN ATOMIC` body (and after a `;` in PostgreSQL parentheses) are checked
    /// too, from the first word after each inner `;` (they cannot legally be transaction
    /// control or utility statements, so this only matters if the splitter and the database
    /// ever disagreed); `END` is left alone there because it closes the body.
    fn check(&self, policy: &Policy<'_>) -> Result<Approval, GuardError> {
        let tokens = Tokens { sql: self.sql, lexemes: &self.lexemes, dialect: self.dialect };
        let mut approval = Approval::default();
        let mut findings = Findings::default();
        for raw in &self.statements {
            self.check_transaction_control(raw)?;
            if !policy.statements {
                continue;
            }
            findings.0.clear();
            commands::check_head(&tokens, policy, raw.first, raw.last, &mut findings);
            for &inner in &raw.inner_starts {
                commands::check_head(&tokens, policy, inner, raw.last, &mut findings);
            }
            scan::scan_statement(&tokens, policy, raw.first, raw.last, &mut findings);
            findings.0.sort_by_key(|finding| finding.at);
            for finding in findings.0.drain(..) {
                self.decide(policy, raw, finding, &mut approval)?;
            }
        }
        Ok(approval)
    }

    fn check_transaction_control(&self, raw: &RawStatement) -> Result<(), GuardError> {
        if let Some(keyword) = guard::transaction_keyword(self.sql, &self.lexemes, raw.first) {
            return Err(self.transaction_refusal(keyword, raw.first, self.statement(raw).text));
        }
        for &inner in &raw.inner_starts {
            match guard::transaction_keyword(self.sql, &self.lexemes, inner) {
                Some("END") | None => {}
                Some(keyword) => {
                    let text = &self.sql[self.lexemes[inner].start..self.lexemes[raw.last].end];
                    return Err(self.transaction_refusal(keyword, inner, text));
                }
            }
        }
        Ok(())
    }

    fn transaction_refusal(&self, keyword: &'static str, first: usize, text: &str) -> GuardError {
        let (line, column) = line_column(self.sql, self.lexemes[first].start);
        GuardError::TransactionControl { keyword, line, column, statement: excerpt(text, EXCERPT_CHARS) }
    }

    /// A finding is a recorded use if the policy has its class's capability, else a refusal.
    fn decide(
        &self,
        policy: &Policy<'_>,
        raw: &RawStatement,
        finding: Finding,
        approval: &mut Approval,
    ) -> Result<(), GuardError> {
        let (line, column) = line_column(self.sql, self.lexemes[finding.at].start);
        let statement = || excerpt(self.statement(raw).text, EXCERPT_CHARS);
        match finding.what {
            What::Class { class, keyword, subject } => match class.capability() {
                Some(capability) if policy.capabilities.allows(capability) => {
                    approval.uses.push(CapabilityUse { capability, keyword, line, column });
                    Ok(())
                }
                _ => Err(GuardError::Refused { class, keyword, subject, line, column, statement: statement() }),
            },
            What::Table(table) => Err(GuardError::ProtectedTable {
                table: policy.protected_tables[table].clone(),
                line,
                column,
                statement: statement(),
            }),
            What::Schema(schema) => Err(GuardError::ProtectedSchema {
                schema: policy.protected_schemas[schema].clone(),
                line,
                column,
                statement: statement(),
            }),
        }
    }
}
