//! Splits lexemes into statements at `;`, except where the `;` belongs to a compound body:
//! a SQLite `CREATE TRIGGER … BEGIN …; …; END` or a PostgreSQL
//! `CREATE FUNCTION/PROCEDURE … BEGIN ATOMIC …; END`.
//!
//! For the guard, splitting too often is safe (every real statement start is still checked)
//! and splitting too rarely is not (a statement could hide inside another). So each rule below
//! keeps a `;` inside a statement only where the database's own grammar does, and the guard
//! also checks what follows every such inner `;` (see [`RawStatement::inner_starts`]).

use crate::dialect::Dialect;
use crate::lexer::{Lexeme, LexemeKind};

/// One statement: indices into the (significant) lexeme list of its first and last lexemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawStatement {
    pub(crate) first: usize,
    pub(crate) last: usize,
    /// The first significant lexeme after each `;` that did not end the statement (inside a
    /// trigger or `BEGIN ATOMIC` body, or PostgreSQL parentheses).
    pub(crate) inner_starts: Vec<usize>,
}

/// The statements of `lexemes` (significant lexemes only, as [`crate::lexer::lex`] returns
/// them); empty statements (`;;`, only comments) are left out.
pub(crate) fn split(sql: &str, lexemes: &[Lexeme], dialect: Dialect) -> Vec<RawStatement> {
    let mut statements = Vec::new();
    let mut current: Option<RawStatement> = None;
    let mut tracker = BodyTracker::new(dialect);
    let mut after_inner_semicolon = false;
    for (index, &lexeme) in lexemes.iter().enumerate() {
        let previous = index.checked_sub(1).map(|p| lexemes[p]);
        let next = lexemes.get(index + 1).copied();
        if lexeme.kind == LexemeKind::Semicolon {
            if tracker.semicolon_ends_statement() {
                statements.extend(current.take());
                tracker = BodyTracker::new(dialect);
                after_inner_semicolon = false;
            } else if let Some(statement) = current.as_mut() {
                statement.last = index;
                after_inner_semicolon = true;
            }
            continue;
        }
        tracker.observe(sql, lexeme, previous, next);
        match current.as_mut() {
            None => current = Some(RawStatement { first: index, last: index, inner_starts: Vec::new() }),
            Some(statement) => {
                statement.last = index;
                if after_inner_semicolon {
                    statement.inner_starts.push(index);
                }
            }
        }
        after_inner_semicolon = false;
    }
    statements.extend(current);
    statements
}

/// Whether a `;` ends the current statement, per dialect.
#[derive(Debug)]
enum BodyTracker {
    Sqlite(SqliteCompleteState),
    Postgres(PostgresRoutineTracker),
}

impl BodyTracker {
    fn new(dialect: Dialect) -> Self {
        match dialect {
            Dialect::Sqlite => Self::Sqlite(SqliteCompleteState::Start),
            Dialect::Postgres => Self::Postgres(PostgresRoutineTracker::default()),
        }
    }

    fn semicolon_ends_statement(&mut self) -> bool {
        match self {
            Self::Sqlite(state) => {
                *state = state.next(SqliteTokenClass::Semicolon);
                *state == SqliteCompleteState::Start
            }
            Self::Postgres(tracker) => tracker.paren_depth == 0 && tracker.body_depth == 0,
        }
    }

    fn observe(&mut self, sql: &str, lexeme: Lexeme, previous: Option<Lexeme>, next: Option<Lexeme>) {
        match self {
            Self::Sqlite(state) => *state = state.next(SqliteTokenClass::of(sql, lexeme)),
            Self::Postgres(tracker) => tracker.observe(sql, lexeme, previous, next),
        }
    }
}

/// The states of `sqlite3_complete()` (SQLite's complete.c), whose transition table this
/// copies: inside `CREATE [TEMP] TRIGGER`, a statement ends only at `;` `END` `;`. SQLite's
/// grammar agrees (`BEGIN trigger_cmd_list END`, each command ending in `;`): an `END` that
/// does not follow a `;`, such as the one closing a `CASE`, never ends the trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteCompleteState {
    Start,
    Normal,
    Explain,
    Create,
    Trigger,
    Semicolon,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteTokenClass {
    Semicolon,
    Other,
    Explain,
    Create,
    Temp,
    Trigger,
    End,
}

impl SqliteTokenClass {
    fn of(sql: &str, lexeme: Lexeme) -> Self {
        if lexeme.kind != (LexemeKind::Word { bare: true }) {
            return Self::Other;
        }
        let word = &sql[lexeme.start..lexeme.end];
        [
            ("EXPLAIN", Self::Explain),
            ("CREATE", Self::Create),
            ("TEMP", Self::Temp),
            ("TEMPORARY", Self::Temp),
            ("TRIGGER", Self::Trigger),
            ("END", Self::End),
        ]
        .into_iter()
        .find(|(keyword, _)| word.eq_ignore_ascii_case(keyword))
        .map_or(Self::Other, |(_, class)| class)
    }
}

impl SqliteCompleteState {
    fn next(self, token: SqliteTokenClass) -> Self {
        use SqliteCompleteState as S;
        use SqliteTokenClass as T;
        match (self, token) {
            (S::End, T::Semicolon) => S::Start,
            (S::Trigger | S::Semicolon, T::Semicolon) => S::Semicolon,
            (S::Semicolon, T::End) => S::End,
            (S::Trigger | S::Semicolon | S::End, _) => S::Trigger,
            (_, T::Semicolon) => S::Start,
            (S::Start, T::Explain) => S::Explain,
            (S::Start | S::Explain, T::Create) => S::Create,
            (S::Explain, T::Other) => S::Explain,
            (S::Create, T::Temp) => S::Create,
            (S::Create, T::Trigger) => S::Trigger,
            _ => S::Normal,
        }
    }
}

/// psql's rule (psqlscan.l) for PostgreSQL, made stricter: in a statement that starts
/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, a body opens at `BEGIN ATOMIC` (psql takes any
/// `BEGIN`, which would also match a function *named* begin and keep the next statements
/// inside it); inside the body `CASE` opens and `END` closes a level. A `;` ends the statement
/// only outside the body and outside parentheses (a `CREATE RULE … DO (…; …)` has `;` inside).
#[derive(Debug, Default)]
struct PostgresRoutineTracker {
    /// The first words of the statement, to recognise the `CREATE … FUNCTION` header.
    header: Vec<HeaderWord>,
    body_depth: u32,
    paren_depth: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderWord {
    Create,
    Or,
    Replace,
    Routine,
    Other,
}

impl PostgresRoutineTracker {
    fn is_routine(&self) -> bool {
        use HeaderWord as W;
        matches!(self.header.as_slice(), [W::Create, W::Routine, ..] | [W::Create, W::Or, W::Replace, W::Routine, ..])
    }

    fn observe(&mut self, sql: &str, lexeme: Lexeme, previous: Option<Lexeme>, next: Option<Lexeme>) {
        if self.header.len() < 4 {
            let word = if lexeme.is_keyword(sql, "CREATE") {
                HeaderWord::Create
            } else if lexeme.is_keyword(sql, "OR") {
                HeaderWord::Or
            } else if lexeme.is_keyword(sql, "REPLACE") {
                HeaderWord::Replace
            } else if lexeme.is_keyword(sql, "FUNCTION") || lexeme.is_keyword(sql, "PROCEDURE") {
                HeaderWord::Routine
            } else {
                HeaderWord::Other
            };
            self.header.push(word);
        }
        match lexeme.kind {
            LexemeKind::LeftParen => self.paren_depth += 1,
            LexemeKind::RightParen => self.paren_depth = self.paren_depth.saturating_sub(1),
            _ => {}
        }
        if !self.is_routine() {
            return;
        }
        // After `.` or `AS`, PostgreSQL takes even reserved words as names (`t.end`, `AS case`).
        let is_name = previous.is_some_and(|p| p.kind == LexemeKind::Period || p.is_keyword(sql, "AS"));
        if is_name {
            return;
        }
        if self.body_depth == 0 {
            let opens_body = lexeme.is_keyword(sql, "BEGIN")
                && next.is_some_and(|n| n.is_keyword(sql, "ATOMIC"))
                && self.paren_depth == 0;
            if opens_body {
                self.body_depth = 1;
            }
        } else if lexeme.is_keyword(sql, "CASE") {
            self.body_depth += 1;
        } else if lexeme.is_keyword(sql, "END") {
            self.body_depth -= 1;
        }
    }
}
