//! The pass over every lexeme of a statement, at any depth (subqueries, CTEs, rule and
//! trigger bodies): functions a revision may not name, and the host's tables named anywhere
//! but where a query reads them.
//!
//! Protected tables are refused by default: a name is allowed only in a read position, that
//! is right after `FROM` (not `DELETE FROM`), `JOIN`, `USING`, `AS`, a `,` in a `FROM` list, a
//! leading `TABLE`, or as the qualifier of a column (`wasmig_revisions.id`). So every way to
//! write, alter, lock, reference, inherit from or shadow a table (`INSERT INTO`, `UPDATE`,
//! `TRUNCATE a, t`, `CREATE TRIGGER ... ON`, `REFERENCES`, `INHERITS (...)`, `CREATE TEMP TABLE`
//! of the same name, `COPY t FROM`, ...) is refused without being listed.

use crate::class::StatementClass;
use crate::dialect::Dialect;
use crate::finding::Findings;
use crate::lexer::LexemeKind;
use crate::lists;
use crate::policy::Policy;
use crate::tokens::{Key, Tokens};

/// Which nesting levels are inside a `FROM` list (up to 64 levels; deeper is treated as not,
/// which only refuses more).
#[derive(Debug, Default)]
struct FromLists {
    depth: u32,
    open: u64,
}

impl FromLists {
    fn bit(&self) -> u64 {
        1u64.checked_shl(self.depth).unwrap_or(0)
    }

    fn set(&mut self, open: bool) {
        if open {
            self.open |= self.bit();
        } else {
            self.open &= !self.bit();
        }
    }

    fn is_open(&self) -> bool {
        self.open & self.bit() != 0
    }

    fn enter(&mut self) {
        self.depth += 1;
        self.set(false);
    }

    fn leave(&mut self) {
        self.set(false);
        self.depth = self.depth.saturating_sub(1);
    }

    /// A bare keyword: `FROM`, `JOIN` and `USING` open a list of tables, the clauses that can
    /// follow one close it.
    fn keyword(&mut self, key: &[u8], after_delete: bool) {
        match key {
            b"from" => self.set(!after_delete),
            b"join" | b"using" => self.set(true),
            b"where" | b"group" | b"having" | b"window" | b"order" | b"limit" | b"offset" | b"fetch" | b"for"
            | b"union" | b"intersect" | b"except" | b"returning" | b"set" | b"when" | b"then" | b"else" | b"do"
            | b"values" | b"into" | b"select" | b"conflict" | b"insert" | b"update" | b"delete" | b"merge" => {
                self.set(false)
            }
            _ => {}
        }
    }
}

/// What a protected name is.
enum Protected {
    /// One of the policy's tables.
    Table(usize),
    /// PostgreSQL's `pg_settings` view, whose `UPDATE` is a `SET`.
    Settings,
}

/// Checks the statement `lexemes[first..=last]`.
pub(crate) fn scan_statement(
    tokens: &Tokens<'_>,
    policy: &Policy<'_>,
    first: usize,
    last: usize,
    findings: &mut Findings,
) {
    let mut scan = Scan { tokens, policy, first, lists: FromLists::default(), defines_view: false, findings };
    for index in first..=last {
        match tokens.lexemes[index].kind {
            LexemeKind::LeftParen => scan.lists.enter(),
            LexemeKind::RightParen => scan.lists.leave(),
            LexemeKind::Semicolon => scan.lists.open = 0,
            LexemeKind::Word { bare } => scan.word(index, bare),
            // SQLite takes a '...' string as a name where the grammar wants one (`INSERT INTO 't'`).
            LexemeKind::Literal if tokens.dialect == Dialect::Sqlite && sqlite_string_is_name(tokens, index) => {
                if let Some(name) = tokens.plain_string(index) {
                    scan.protected(index, name, &Key::new(name));
                }
            }
            _ => {}
        }
    }
}

/// The state of one statement's pass.
struct Scan<'t, 'a, 'p, 'f> {
    tokens: &'t Tokens<'a>,
    policy: &'p Policy<'p>,
    first: usize,
    lists: FromLists,
    /// PostgreSQL writes through a simple view to its table, so from where a statement starts
    /// defining a view (`CREATE [OR REPLACE] [TEMP] [RECURSIVE] VIEW`, also inside
    /// `CREATE SCHEMA`, or a `CREATE RULE ... ON SELECT`, which turns a table into one),
    /// protected tables are refused even where they are read.
    defines_view: bool,
    findings: &'f mut Findings,
}

impl Scan<'_, '_, '_, '_> {
    fn word(&mut self, index: usize, bare: bool) {
        let tokens = self.tokens;
        let Some(name) = tokens.name(index) else { return };
        let key = Key::new(&name);
        if bare {
            let key = key.as_bytes();
            let after_delete = key == b"from" && index > self.first && tokens.is_keyword(index - 1, "DELETE");
            self.lists.keyword(key, after_delete);
            if matches!(key, b"view" | b"select") && tokens.dialect == Dialect::Postgres {
                self.defines_view |= starts_view(tokens, index, self.first, key);
            }
        }
        let function = match tokens.dialect {
            Dialect::Postgres => lists::postgres_function(key.as_bytes())
                // `CREATE EXTENSION dblink` names an extension, which the statement's own check judges.
                .filter(|_| !names_extension(tokens, index)),
            Dialect::Sqlite => lists::sqlite_function(key.as_bytes()),
        };
        if let Some((class, keyword)) = function {
            if key.as_bytes() == keyword.as_bytes() {
                self.findings.class(index, class, keyword);
            } else {
                self.findings.class_about(index, class, keyword, &name);
            }
        }
        self.protected(index, &name, &key);
    }

    /// Refuses `name` (at `index`) if it is a protected table used other than by a read.
    fn protected(&mut self, index: usize, name: &str, key: &Key) {
        let protected = if self.tokens.dialect == Dialect::Postgres && key.as_bytes() == b"pg_settings" {
            Protected::Settings
        } else {
            match self.policy.protected_tables.iter().position(|table| last_part(table).eq_ignore_ascii_case(name)) {
                Some(table) => Protected::Table(table),
                None => return,
            }
        };
        if !self.defines_view && is_read(self.tokens, index, self.first, &self.lists) {
            return;
        }
        match protected {
            Protected::Table(table) => self.findings.table(index, table),
            Protected::Settings => self.findings.class(index, StatementClass::SessionSetting, "pg_settings"),
        }
    }
}

/// Whether the bare word at `index` starts a view definition: `VIEW` after `CREATE`,
/// `REPLACE`, `TEMP`, `TEMPORARY` or `RECURSIVE`, or `SELECT` after `ON` in `CREATE RULE`.
fn starts_view(tokens: &Tokens<'_>, index: usize, first: usize, key: &[u8]) -> bool {
    if index == first {
        return false;
    }
    let before = tokens.keyword_key(index - 1);
    let before = before.as_ref().map(Key::as_bytes);
    match key {
        b"view" => matches!(before, Some(b"create" | b"replace" | b"temp" | b"temporary" | b"recursive")),
        b"select" => {
            before == Some(b"on") && tokens.is_keyword(first, "CREATE") && tokens.is_keyword(first + 1, "RULE")
        }
        _ => false,
    }
}

/// Whether the name at `index` is the extension of `CREATE|ALTER|DROP EXTENSION [IF [NOT]
/// EXISTS] name` or `COMMENT ON EXTENSION name`.
fn names_extension(tokens: &Tokens<'_>, index: usize) -> bool {
    let extension_at = |at: Option<usize>| {
        at.is_some_and(|at| {
            at > 0
                && tokens.is_keyword(at, "EXTENSION")
                && ["CREATE", "ALTER", "DROP", "ON"].iter().any(|verb| tokens.is_keyword(at - 1, verb))
        })
    };
    match index.checked_sub(1) {
        Some(before) if tokens.is_keyword(before, "EXISTS") => {
            extension_at(index.checked_sub(3)) || extension_at(index.checked_sub(4))
        }
        before => extension_at(before),
    }
}

/// `schema.table` → `table`.
fn last_part(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Whether the name at `index` is where a query reads a table (see the module's comment).
fn is_read(tokens: &Tokens<'_>, index: usize, first: usize, lists: &FromLists) -> bool {
    // A qualifier (`t.column`, `schema.t`): what it qualifies is checked on its own.
    if tokens.kind(index + 1) == Some(LexemeKind::Period) {
        return true;
    }
    let mut start = index;
    while start >= first + 2
        && tokens.kind(start - 1) == Some(LexemeKind::Period)
        && matches!(tokens.kind(start - 2), Some(LexemeKind::Word { .. } | LexemeKind::Literal))
    {
        start -= 2;
    }
    if start == first {
        return false;
    }
    let mut before = start - 1;
    if tokens.is_keyword(before, "ONLY") && before > first {
        before -= 1;
    }
    let Some(key) = tokens.keyword_key(before) else {
        return tokens.is_symbol(before, ",") && lists.is_open();
    };
    match key.as_bytes() {
        b"from" => !(before > first && tokens.is_keyword(before - 1, "DELETE")),
        b"join" | b"using" | b"as" => true,
        // `TABLE t` as a query of its own (PostgreSQL), not `LOCK TABLE`, `TRUNCATE TABLE`, ...
        b"table" => {
            before == first || matches!(tokens.kind(before - 1), Some(LexemeKind::LeftParen | LexemeKind::Semicolon))
        }
        _ => false,
    }
}

/// Where SQLite reads a `'...'` string as a name: after a keyword that a name follows, or
/// around a `.`.
fn sqlite_string_is_name(tokens: &Tokens<'_>, index: usize) -> bool {
    if index == 0 {
        return false;
    }
    if tokens.kind(index - 1) == Some(LexemeKind::Period) || tokens.kind(index + 1) == Some(LexemeKind::Period) {
        return true;
    }
    tokens.keyword_key(index - 1).is_some_and(|key| {
        matches!(
            key.as_bytes(),
            b"into"
                | b"update"
                | b"from"
                | b"join"
                | b"table"
                | b"on"
                | b"references"
                | b"exists"
                | b"view"
                | b"to"
                | b"index"
                | b"trigger"
                | b"only"
        )
    })
}
