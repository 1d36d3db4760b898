//! The checks that depend on what a statement starts with: `SET`/`RESET`, `COPY`,
//! `CREATE/ALTER/DROP` of roles, databases, extensions, servers, ..., `GRANT role`, `DO` and
//! routine languages (PostgreSQL); `ATTACH`, `DETACH`, `VACUUM INTO`, `PRAGMA` (SQLite).
//!
//! These are utility statements: PostgreSQL accepts none of them inside a query, a CTE or a
//! rule action, and SQLite none inside a trigger, so the first word of each statement (and of
//! each `;`-separated part of a body, see the splitter) is where they can start.

use std::borrow::Cow;

use crate::class::StatementClass as C;
use crate::dialect::Dialect;
use crate::finding::Findings;
use crate::lexer::LexemeKind;
use crate::lists;
use crate::policy::Policy;
use crate::tokens::{Key, Tokens};

/// One statement (or part of a body) being checked: `lexemes[head..=last]`.
struct Statement<'a, 'p, 'f> {
    tokens: Tokens<'a>,
    policy: &'p Policy<'p>,
    head: usize,
    last: usize,
    findings: &'f mut Findings,
}

/// Checks the statement that starts at `head` and ends at `last`.
pub(crate) fn check_head(tokens: &Tokens<'_>, policy: &Policy<'_>, head: usize, last: usize, findings: &mut Findings) {
    let mut statement = Statement { tokens: *tokens, policy, head, last, findings };
    statement.check();
}

impl<'a> Statement<'a, '_, '_> {
    fn key(&self, index: usize) -> Option<Key> {
        if index > self.last {
            return None;
        }
        self.tokens.keyword_key(index)
    }

    fn is(&self, index: usize, keyword: &str) -> bool {
        index <= self.last && self.tokens.is_keyword(index, keyword)
    }

    /// The indices of `from..=last` outside parentheses.
    fn depth_zero(&self, from: usize) -> impl Iterator<Item = usize> + use<'_> {
        let lexemes = self.tokens.lexemes;
        let mut depth = 0u32;
        (from..=self.last).filter(move |&index| match lexemes[index].kind {
            LexemeKind::LeftParen => {
                depth += 1;
                false
            }
            LexemeKind::RightParen => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
    }

    /// A name where the grammar takes an identifier or a string (`LANGUAGE 'plpgsql'`).
    fn name_or_string(&self, index: usize) -> Option<Cow<'a, str>> {
        if index > self.last {
            return None;
        }
        self.tokens.name(index).or_else(|| self.tokens.plain_string(index).map(Cow::Borrowed))
    }

    fn refuse(&mut self, at: usize, class: C, keyword: &'static str) {
        self.findings.class(at, class, keyword);
    }

    fn refuse_about(&mut self, at: usize, class: C, keyword: &'static str, subject: &str) {
        self.findings.class_about(at, class, keyword, subject);
    }

    fn check(&mut self) {
        let head = self.head;
        if self.tokens.text(head).starts_with('\\') {
            return self.refuse(head, C::PsqlMetaCommand, "\\");
        }
        let Some(key) = self.key(head) else { return };
        match (self.tokens.dialect, key.as_bytes()) {
            (Dialect::Postgres, b"set") => self.set(),
            (Dialect::Postgres, b"reset") => self.reset(),
            (Dialect::Postgres, b"discard") => self.refuse(head, C::SessionState, "DISCARD"),
            (Dialect::Postgres, b"deallocate") => self.refuse(head, C::SessionState, "DEALLOCATE"),
            (Dialect::Postgres, b"copy") => self.copy(),
            (Dialect::Postgres, b"alter") => self.alter(),
            (Dialect::Postgres, b"create") => self.create(),
            (Dialect::Postgres, b"drop") => self.drop(),
            (Dialect::Postgres, b"grant") => self.membership("GRANT role"),
            (Dialect::Postgres, b"revoke") => self.membership("REVOKE role"),
            (Dialect::Postgres, b"reassign") => self.refuse(head, C::Roles, "REASSIGN OWNED"),
            (Dialect::Postgres, b"import") => self.refuse(head, C::RemoteDatabases, "IMPORT FOREIGN SCHEMA"),
            (Dialect::Postgres, b"load") => self.refuse(head, C::ServerSettings, "LOAD"),
            (Dialect::Postgres, b"checkpoint") => self.refuse(head, C::ServerControl, "CHECKPOINT"),
            (Dialect::Postgres, b"do") => self.languages(head + 1, false),
            (Dialect::Sqlite, b"attach") => self.refuse(head, C::ServerFiles, "ATTACH"),
            (Dialect::Sqlite, b"detach") => self.refuse(head, C::ServerFiles, "DETACH"),
            (Dialect::Sqlite, b"vacuum") => {
                let into = self.depth_zero(head + 1).find(|&index| self.tokens.is_keyword(index, "INTO"));
                if let Some(into) = into {
                    self.refuse(into, C::ServerFiles, "VACUUM INTO");
                }
            }
            (Dialect::Sqlite, b"pragma") => self.pragma(),
            _ => {}
        }
    }

    /// `SET [SESSION | LOCAL] ...`.
    fn set(&mut self) {
        let mut at = self.head + 1;
        if self.is(at, "SESSION") && self.is(at + 1, "CHARACTERISTICS") {
            return self.refuse(at, C::SessionSetting, "SET SESSION CHARACTERISTICS");
        }
        let session_authorization = self.is(at, "SESSION") && self.is(at + 1, "AUTHORIZATION");
        if (self.is(at, "SESSION") || self.is(at, "LOCAL")) && !session_authorization {
            at += 1;
        }
        match self.setting(at) {
            Setting::Constraints => {}
            Setting::Transaction => self.refuse(at, C::SessionSetting, "SET TRANSACTION"),
            setting => self.check_setting(at, "SET", setting),
        }
    }

    /// `RESET name | ALL | ROLE | SESSION AUTHORIZATION | TIME ZONE | TRANSACTION ...`.
    fn reset(&mut self) {
        let at = self.head + 1;
        match self.setting(at) {
            Setting::All => self.refuse(at, C::SessionSetting, "RESET ALL"),
            Setting::Transaction => self.refuse_about(at, C::SessionSetting, "RESET", "transaction_isolation"),
            Setting::Constraints => self.refuse_about(at, C::SessionSetting, "RESET", "constraints"),
            setting => self.check_setting(at, "RESET", setting),
        }
    }

    fn check_setting(&mut self, at: usize, keyword: &'static str, setting: Setting<'_>) {
        let subject = match setting {
            Setting::Named { name, dotted: false }
                if lists::contains(&lists::SETTABLE_SETTINGS, Key::new(&name).as_bytes()) =>
            {
                return;
            }
            Setting::Named { name, .. } => name.into_owned(),
            Setting::Special(name) => name.to_owned(),
            Setting::All => "all".to_owned(),
            Setting::Constraints | Setting::Transaction => return,
            Setting::Unreadable => self.tokens.text(at.min(self.last)).to_owned(),
        };
        self.refuse_about(at, C::SessionSetting, keyword, &subject);
    }

    /// What `SET`/`RESET` names at `at`, with PostgreSQL's multi-word spellings mapped to the
    /// settings they change.
    fn setting(&self, at: usize) -> Setting<'a> {
        let word = self.key(at);
        let next = |keyword| self.is(at + 1, keyword);
        let special = match word.as_ref().map(Key::as_bytes) {
            Some(b"constraints") => return Setting::Constraints,
            Some(b"transaction") => return Setting::Transaction,
            Some(b"all") => return Setting::All,
            Some(b"time") if next("ZONE") => "timezone",
            Some(b"schema") => "search_path",
            Some(b"names") => "client_encoding",
            Some(b"role") => "role",
            Some(b"session") if next("AUTHORIZATION") => "session_authorization",
            Some(b"xml") if next("OPTION") => "xmloption",
            _ => match self.name_or_string(at) {
                None => return Setting::Unreadable,
                // `a.b`: a custom setting, which row-level security policies read.
                Some(_) if self.tokens.kind(at + 1) == Some(LexemeKind::Period) => {
                    let mut end = at;
                    while end + 2 <= self.last
                        && self.tokens.kind(end + 1) == Some(LexemeKind::Period)
                        && matches!(self.tokens.kind(end + 2), Some(LexemeKind::Word { .. }))
                    {
                        end += 2;
                    }
                    let text = &self.tokens.sql[self.tokens.lexemes[at].start..self.tokens.lexemes[end].end];
                    return Setting::Named { name: Cow::Borrowed(text), dotted: true };
                }
                Some(name) => return Setting::Named { name, dotted: false },
            },
        };
        Setting::Special(special)
    }

    /// `COPY ... FROM|TO target`: a file, a program, or STDIN/STDOUT.
    fn copy(&mut self) {
        let direction = self
            .depth_zero(self.head + 1)
            .find(|&index| self.tokens.is_keyword(index, "FROM") || self.tokens.is_keyword(index, "TO"));
        let Some(direction) = direction else { return };
        let target = (direction + 1).min(self.last);
        if self.is(target, "PROGRAM") {
            self.refuse(target, C::Programs, "COPY ... PROGRAM");
        } else if self.is(target, "STDIN") || self.is(target, "STDOUT") {
            self.refuse(target, C::CopyStdio, "COPY ... STDIN/STDOUT");
        } else {
            self.refuse(target, C::ServerFiles, "COPY ... TO/FROM file");
        }
    }

    /// `GRANT`/`REVOKE` without `ON` grants or revokes a role, not privileges on an object.
    fn membership(&mut self, keyword: &'static str) {
        if !self.depth_zero(self.head + 1).any(|index| self.tokens.is_keyword(index, "ON")) {
            self.refuse(self.head, C::Roles, keyword);
        }
    }

    /// The object type after `CREATE`/`ALTER`/`DROP`, past the words that only qualify it.
    fn object(&self) -> usize {
        let mut at = self.head + 1;
        while self.key(at).is_some_and(|key| {
            matches!(
                key.as_bytes(),
                b"or"
                    | b"replace"
                    | b"temp"
                    | b"temporary"
                    | b"unlogged"
                    | b"global"
                    | b"local"
                    | b"trusted"
                    | b"procedural"
                    | b"unique"
                    | b"materialized"
                    | b"recursive"
                    | b"constraint"
                    | b"default"
            )
        }) {
            at += 1;
        }
        at
    }

    /// The object kinds `CREATE`, `ALTER` and `DROP` treat alike. `verb` is 0, 1, 2 for them.
    fn common_object(&mut self, object: usize, verb: usize) -> bool {
        const ROLE: [&str; 3] = ["CREATE ROLE", "ALTER ROLE", "DROP ROLE"];
        const MAPPING: [&str; 3] = ["CREATE USER MAPPING", "ALTER USER MAPPING", "DROP USER MAPPING"];
        const DATABASE: [&str; 3] = ["CREATE DATABASE", "ALTER DATABASE", "DROP DATABASE"];
        const EXTENSION: [&str; 3] = ["CREATE EXTENSION", "ALTER EXTENSION", "DROP EXTENSION"];
        const LANGUAGE: [&str; 3] = ["CREATE LANGUAGE", "ALTER LANGUAGE", "DROP LANGUAGE"];
        const SERVER: [&str; 3] = ["CREATE SERVER", "ALTER SERVER", "DROP SERVER"];
        const FOREIGN: [&str; 3] = ["CREATE FOREIGN ...", "ALTER FOREIGN ...", "DROP FOREIGN ..."];
        const SUBSCRIPTION: [&str; 3] = ["CREATE SUBSCRIPTION", "ALTER SUBSCRIPTION", "DROP SUBSCRIPTION"];
        const PUBLICATION: [&str; 3] = ["CREATE PUBLICATION", "ALTER PUBLICATION", "DROP PUBLICATION"];
        const TABLESPACE: [&str; 3] = ["CREATE TABLESPACE", "ALTER TABLESPACE", "DROP TABLESPACE"];
        const EVENT: [&str; 3] = ["CREATE EVENT TRIGGER", "ALTER EVENT TRIGGER", "DROP EVENT TRIGGER"];
        let Some(key) = self.key(object) else { return false };
        let (class, keyword) = match key.as_bytes() {
            b"user" if self.is(object + 1, "MAPPING") => (C::RemoteDatabases, MAPPING[verb]),
            b"role" | b"user" | b"group" => (C::Roles, ROLE[verb]),
            b"database" => (C::DatabaseWide, DATABASE[verb]),
            b"extension" => (C::Extensions, EXTENSION[verb]),
            b"language" => (C::Extensions, LANGUAGE[verb]),
            b"server" => (C::RemoteDatabases, SERVER[verb]),
            b"foreign" => (C::RemoteDatabases, FOREIGN[verb]),
            b"subscription" => (C::RemoteDatabases, SUBSCRIPTION[verb]),
            b"publication" => (C::RemoteDatabases, PUBLICATION[verb]),
            b"tablespace" => (C::ServerFiles, TABLESPACE[verb]),
            b"event" if self.is(object + 1, "TRIGGER") => (C::DatabaseWide, EVENT[verb]),
            _ => return false,
        };
        self.refuse(self.head, class, keyword);
        true
    }

    fn create(&mut self) {
        let object = self.object();
        match self.key(object).as_ref().map(Key::as_bytes) {
            Some(b"extension") => self.extension(object),
            Some(b"language") => {
                if let Some(name) = self.name_or_string(object + 1)
                    && !lists::is_trusted_language(Key::new(&name).as_bytes())
                {
                    // At the head, before the `extensions` finding: no capability allows it.
                    let name = name.into_owned();
                    self.refuse_about(self.head, C::UntrustedCode, "CREATE LANGUAGE", &name);
                }
                self.common_object(object, 0);
            }
            Some(b"function" | b"procedure") => self.languages(object + 1, true),
            _ => {
                self.common_object(object, 0);
            }
        }
    }

    /// `CREATE EXTENSION [IF NOT EXISTS] name`: the more specific class first, so that an
    /// untrusted language is reported as such even to a project with `extensions`.
    fn extension(&mut self, object: usize) {
        let mut at = object + 1;
        if self.is(at, "IF") {
            at += 3;
        }
        if let Some(name) = self.name_or_string(at) {
            let name = name.into_owned();
            if let Some(class) = lists::extension_class(Key::new(&name).as_bytes()) {
                self.refuse_about(self.head, class, "CREATE EXTENSION", &name);
            }
            self.refuse_about(self.head, C::Extensions, "CREATE EXTENSION", &name);
        } else {
            self.refuse(self.head, C::Extensions, "CREATE EXTENSION");
        }
    }

    fn alter(&mut self) {
        let object = self.object();
        let key = self.key(object);
        // `ALTER DATABASE|ROLE ... SET x = v | RESET x` (not `SET TABLESPACE`, which moves a database).
        let configures = matches!(key.as_ref().map(Key::as_bytes), Some(b"database" | b"role" | b"user" | b"group"))
            && !self.is(object + 1, "MAPPING")
            && self.depth_zero(object + 1).any(|index| {
                self.tokens.is_keyword(index, "RESET")
                    || (self.tokens.is_keyword(index, "SET") && !self.tokens.is_keyword(index + 1, "TABLESPACE"))
            });
        match key.as_ref().map(Key::as_bytes) {
            Some(b"system") => self.refuse(self.head, C::ServerSettings, "ALTER SYSTEM"),
            Some(b"database") if configures => self.refuse(self.head, C::ServerSettings, "ALTER DATABASE ... SET"),
            Some(b"role" | b"user" | b"group") if configures => {
                self.refuse(self.head, C::ServerSettings, "ALTER ROLE ... SET");
            }
            Some(b"schema") => self.protected_schemas(object + 1, true),
            _ => {
                self.common_object(object, 1);
            }
        }
        let owner = self
            .depth_zero(self.head + 1)
            .find(|&index| self.tokens.is_keyword(index, "OWNER") && self.tokens.is_keyword(index + 1, "TO"));
        if let Some(owner) = owner {
            self.refuse(owner, C::Roles, "ALTER ... OWNER TO");
        }
    }

    fn drop(&mut self) {
        let object = self.object();
        match self.key(object).as_ref().map(Key::as_bytes) {
            Some(b"owned") => self.refuse(self.head, C::Roles, "DROP OWNED"),
            Some(b"schema") => self.protected_schemas(object + 1, false),
            _ => {
                self.common_object(object, 2);
            }
        }
    }

    /// Names from `from` on (only the first when `first_only`) that are protected schemas.
    fn protected_schemas(&mut self, from: usize, first_only: bool) {
        let schemas = self.policy.protected_schemas;
        if schemas.is_empty() {
            return;
        }
        let names: Vec<usize> = self
            .depth_zero(from)
            .filter(|&index| matches!(self.tokens.kind(index), Some(LexemeKind::Word { .. })))
            .take(if first_only { 1 } else { usize::MAX })
            .collect();
        for index in names {
            let Some(name) = self.tokens.name(index) else { continue };
            if let Some(schema) = schemas.iter().position(|schema| schema.eq_ignore_ascii_case(&name)) {
                self.findings.schema(index, schema);
            }
        }
    }

    /// `LANGUAGE x` in a routine's header (up to its `BEGIN ATOMIC` or `RETURN` body, when
    /// `routine`) or in a `DO`: only trusted languages.
    fn languages(&mut self, from: usize, routine: bool) {
        let mut refused = Vec::new();
        for index in self.depth_zero(from) {
            if routine
                && ((self.tokens.is_keyword(index, "BEGIN") && self.tokens.is_keyword(index + 1, "ATOMIC"))
                    || self.tokens.is_keyword(index, "RETURN"))
            {
                break;
            }
            // `RETURNS language`, `SETOF language`, `s.language`: a type of that name.
            let names_a_type = self.tokens.is_keyword(index - 1, "RETURNS")
                || self.tokens.is_keyword(index - 1, "SETOF")
                || self.tokens.kind(index - 1) == Some(LexemeKind::Period);
            if !self.tokens.is_keyword(index, "LANGUAGE") || names_a_type || index >= self.last {
                continue;
            }
            let language = match self.name_or_string(index + 1) {
                Some(name) if lists::is_trusted_language(Key::new(&name).as_bytes()) => continue,
                Some(name) => name.into_owned(),
                None => self.tokens.text(index + 1).to_owned(),
            };
            refused.push((index + 1, language));
        }
        for (at, language) in refused {
            self.refuse_about(at, C::UntrustedCode, "LANGUAGE", &language);
        }
    }

    /// SQLite `PRAGMA [schema.]name [= value | (value)]`: without a value it reads.
    fn pragma(&mut self) {
        let mut at = self.head + 1;
        if self.tokens.kind(at + 1) == Some(LexemeKind::Period) {
            at += 2;
        }
        let Some(name) = self.name_or_string(at) else { return };
        let sets = at < self.last
            && (self.tokens.is_symbol(at + 1, "=") || self.tokens.kind(at + 1) == Some(LexemeKind::LeftParen));
        let key = Key::new(&name);
        if sets
            && !lists::contains(&lists::SQLITE_READ_PRAGMAS, key.as_bytes())
            && !lists::contains(&lists::SQLITE_SETTABLE_PRAGMAS, key.as_bytes())
        {
            let name = name.into_owned();
            self.refuse_about(self.head, C::Pragma, "PRAGMA", &name);
        }
    }
}

/// What `SET`/`RESET` names.
enum Setting<'a> {
    Constraints,
    Transaction,
    All,
    /// A multi-word spelling of a setting (`TIME ZONE` is `timezone`).
    Special(&'static str),
    Named {
        name: Cow<'a, str>,
        dotted: bool,
    },
    Unreadable,
}
