//! Turns SQL into lexemes with byte offsets: sqlparser's tokenizer, plus the few corrections
//! needed where its reading of the text differs from the database's own lexer.
//!
//! The guard is only as good as its agreement with the database on where strings, quoted
//! identifiers and comments start and end. Each correction below closes a case, found by
//! testing sqlparser 0.64, where sqlparser would read code as a literal or comment (a
//! `COMMIT` could hide there) or the reverse:
//!
//! * an operator that swallows a comment opener (`@-- …`, `#-` then `- …`, `</* …`): both
//!   databases end every operator before `--` and `/*`, so we cut the operator there and
//!   tokenize again from the comment;
//! * SQLite's Tcl-style variables (`$name(…)`, `:a::b(…)`), whose parenthesised suffix
//!   may hold quotes: we take the variable whole, as SQLite does, and tokenize on after it;
//! * constructs the database reads differently and where no valid reading hides a
//!   statement (`X'…'`/`B'…'` with a quote or backslash inside, a SQLite `[ident]` holding
//!   `]`, a `$` that PostgreSQL would not read as a parameter, a dollar-quote tag starting
//!   with a digit, `COPY … FROM STDIN` data): refused as [`GuardError::Tokenize`] naming the
//!   position, rather than guessed at.

use sqlparser::dialect::{PostgreSqlDialect, SQLiteDialect};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::dialect::Dialect;
use crate::error::GuardError;
use crate::position::{LineIndex, LocationCursor};

/// What a lexeme is, as far as splitting and guarding care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LexemeKind {
    /// Whitespace or a comment.
    Trivia,
    Semicolon,
    /// A word; `bare` is false for a quoted identifier (`"commit"`, `[begin]`, `` `end` ``),
    /// which is never a keyword.
    Word {
        bare: bool,
    },
    Period,
    LeftParen,
    RightParen,
    /// A string, blob, bit-string or dollar-quoted literal.
    Literal,
    /// Anything else: numbers, operators, parameters, punctuation.
    Other,
}

/// One token of the caller's SQL: `sql[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lexeme {
    pub(crate) kind: LexemeKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Lexeme {
    pub(crate) fn is_trivia(&self) -> bool {
        self.kind == LexemeKind::Trivia
    }

    /// Whether this is the unquoted word `keyword` (ASCII case-insensitive, as both databases
    /// compare keywords).
    pub(crate) fn is_keyword(&self, sql: &str, keyword: &str) -> bool {
        self.kind == (LexemeKind::Word { bare: true }) && sql[self.start..self.end].eq_ignore_ascii_case(keyword)
    }
}

/// What to do with one sqlparser token after checking it against the database's rules.
enum Verdict {
    Keep(Lexeme),
    /// Keep this lexeme, drop the rest of the token stream and tokenize again from `resume_at`.
    KeepAndResume(Lexeme, usize),
}

/// Each correction tokenizes the rest of the text again; capping them keeps the guard's host-side
/// work within a fixed multiple of one pass over what a guest sends (fuel does not meter the host).
const MAX_RESUMPTIONS: usize = 256;

/// The significant lexemes of `sql`, in order: whitespace and comments are read (so that
/// nothing inside them counts) but not kept, since no check looks at them and every later pass
/// would have to skip them. A statement's text, comments included, is still
/// `sql[first.start..last.end]`.
pub(crate) fn lex(sql: &str, dialect: Dialect) -> Result<Vec<Lexeme>, GuardError> {
    // About one significant token per 5 bytes of typical SQL: usually one allocation.
    let mut lexemes = Vec::with_capacity(sql.len() / 5 + 4);
    let mut resume_at = 0;
    let mut resumptions = 0;
    'tokenize: while resume_at < sql.len() {
        if resumptions > MAX_RESUMPTIONS {
            return Err(tokenize_error(
                sql,
                resume_at,
                format!(
                    "more than {MAX_RESUMPTIONS} operators running into comments or SQLite Tcl \
                     variables; put a space before `--` / `/*`"
                ),
            ));
        }
        resumptions += 1;
        let rest = &sql[resume_at..];
        let tokens = tokenize(rest, dialect).map_err(|error| {
            let mut cursor = LocationCursor::new(rest);
            let offset = cursor.advance_to(error.location.line, error.location.column);
            tokenize_error(sql, resume_at + offset, error.message)
        })?;
        let mut cursor = LocationCursor::new(rest);
        let mut start = resume_at;
        for token in tokens {
            if matches!(token.token, Token::CopyData { .. }) {
                // sqlparser emits the payload before the `;` it follows, out of order.
                let mut cursor = LocationCursor::new(rest);
                let offset = cursor.advance_to(token.span.start.line, token.span.start.column);
                return Err(tokenize_error(
                    sql,
                    resume_at + offset,
                    "`COPY … FROM STDIN` data inside the SQL: the host API has no COPY channel, and \
                     the lines after it would be read as data, not SQL; use INSERT instead"
                        .to_owned(),
                ));
            }
            let end = resume_at + cursor.advance_to(token.span.end.line, token.span.end.column);
            match check_token(sql, dialect, &token, start, end)? {
                Verdict::Keep(lexeme) if lexeme.is_trivia() => {}
                Verdict::Keep(lexeme) => lexemes.push(lexeme),
                Verdict::KeepAndResume(lexeme, at) => {
                    lexemes.push(lexeme);
                    resume_at = at;
                    continue 'tokenize;
                }
            }
            start = end;
        }
        break;
    }
    Ok(lexemes)
}

fn tokenize(sql: &str, dialect: Dialect) -> Result<Vec<TokenWithSpan>, sqlparser::tokenizer::TokenizerError> {
    // Unescaping is not needed: the guard reads the caller's text through byte offsets.
    match dialect {
        Dialect::Sqlite => Tokenizer::new(&SQLiteDialect {}, sql).with_unescape(false).tokenize_with_location(),
        Dialect::Postgres => Tokenizer::new(&PostgreSqlDialect {}, sql).with_unescape(false).tokenize_with_location(),
    }
}

fn tokenize_error(sql: &str, offset: usize, message: String) -> GuardError {
    let (line, column) = LineIndex::new(sql).line_column(offset);
    GuardError::Tokenize { line, column, message }
}

fn kind_of(token: &Token) -> LexemeKind {
    match token {
        Token::Whitespace(_) => LexemeKind::Trivia,
        Token::SemiColon => LexemeKind::Semicolon,
        Token::Word(word) => LexemeKind::Word { bare: word.quote_style.is_none() },
        Token::Period => LexemeKind::Period,
        Token::LParen => LexemeKind::LeftParen,
        Token::RParen => LexemeKind::RightParen,
        Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::QuoteDelimitedStringLiteral(_)
        | Token::NationalQuoteDelimitedStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => LexemeKind::Literal,
        _ => LexemeKind::Other,
    }
}

/// Checks one token against the database's own reading of `sql[start..end]`.
fn check_token(
    sql: &str,
    dialect: Dialect,
    token: &TokenWithSpan,
    start: usize,
    end: usize,
) -> Result<Verdict, GuardError> {
    let kind = kind_of(&token.token);
    let text = &sql[start..end];
    let lexeme = Lexeme { kind, start, end };
    match &token.token {
        Token::HexStringLiteral(_) | Token::SingleQuotedByteStringLiteral(_) => {
            check_prefixed_literal(sql, start, text)?;
        }
        Token::Word(word) if dialect == Dialect::Sqlite && word.quote_style == Some('[') => {
            // sqlparser reads `]]` as an escaped `]`; SQLite ends `[…]` at the first `]`.
            let inner = &text[1..text.len().saturating_sub(1)];
            if let Some(at) = inner.find(']') {
                return Err(tokenize_error(
                    sql,
                    start + 1 + at,
                    "`]` inside a [bracketed] identifier: SQLite ends the identifier at the \
                     first `]`; use \"double quotes\" for this name"
                        .to_owned(),
                ));
            }
        }
        // PostgreSQL reads `$` only as `$n` (a parameter), inside an identifier, or as a
        // dollar-quote delimiter. Any other placeholder is a dollar quote whose tag sqlparser
        // does not accept (such as `$€$`), and its body would be misread as code.
        Token::Placeholder(_)
            if dialect == Dialect::Postgres
                && text.starts_with('$')
                && (text.len() == 1 || !text[1..].bytes().all(|byte| byte.is_ascii_digit())) =>
        {
            return Err(tokenize_error(
                sql,
                start,
                format!(
                    "`{text}` is neither a `$n` parameter nor a dollar quote this guard can read; \
                     use a dollar-quote tag of ASCII letters, digits and `_` (`$body$`)"
                ),
            ));
        }
        Token::DollarQuotedString(quoted)
            if dialect == Dialect::Postgres
                && quoted.tag.as_deref().is_some_and(|tag| tag.starts_with(|c: char| c.is_ascii_digit())) =>
        {
            return Err(tokenize_error(
                sql,
                start,
                "a dollar-quote tag cannot start with a digit: PostgreSQL reads `$1…` as a parameter".to_owned(),
            ));
        }
        _ => {}
    }
    if kind == LexemeKind::Other {
        if let Some(verdict) = cut_before_comment(sql, lexeme)? {
            return Ok(verdict);
        }
        if dialect == Dialect::Sqlite
            && let Some(verdict) = take_sqlite_tcl_variable(sql, lexeme)?
        {
            return Ok(verdict);
        }
    }
    Ok(Verdict::Keep(lexeme))
}

/// `X'…'` and `B'…'` end at the first quote in both databases, with no escapes; sqlparser
/// reads `\'` (and `''`) inside them as escaped quotes, which would hide what follows.
fn check_prefixed_literal(sql: &str, start: usize, text: &str) -> Result<(), GuardError> {
    // SQLite's `0x1F` integers come out of sqlparser as hex literals too: no quotes, no issue.
    let Some(opening) = text.find('\'') else {
        return Ok(());
    };
    let inner = &text[opening + 1..text.len().saturating_sub(1)];
    if let Some(at) = inner.find(['\'', '\\']) {
        return Err(tokenize_error(
            sql,
            start + opening + 1 + at,
            "a quote or backslash inside an X'…' or B'…' literal: the database ends the literal at \
             the first quote and has no escapes there"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Both databases end an operator where `--` or `/*` starts; sqlparser's operators may run on
/// through them (`@--`, `#-` followed by `-`, `</*`). Cut the lexeme before the comment opener
/// and tokenize again from there, so the comment is read as a comment.
fn cut_before_comment(sql: &str, lexeme: Lexeme) -> Result<Option<Verdict>, GuardError> {
    // Look one byte past the end: the opener may straddle two operator tokens.
    let window_end = (lexeme.end + 1).min(sql.len());
    let window = &sql.as_bytes()[lexeme.start..window_end];
    let opener = window.windows(2).position(|pair| pair == b"--" || pair == b"/*");
    match opener {
        None => Ok(None),
        Some(0) => Err(tokenize_error(
            sql,
            lexeme.start,
            "the tokenizer did not read this comment opener as a comment".to_owned(),
        )),
        Some(at) => {
            let cut = lexeme.start + at;
            Ok(Some(Verdict::KeepAndResume(Lexeme { end: cut, ..lexeme }, cut)))
        }
    }
}

/// SQLite reads `$`, `@`, `:` or `#` followed by identifier characters (and `::`) as one
/// variable, which may end in a Tcl-style `(…)` suffix holding any characters but whitespace up
/// to `)`. sqlparser reads the suffix as ordinary tokens, so `$a(')` would open a string that
/// SQLite never sees. Take the whole variable, as SQLite does, and tokenize on after it.
fn take_sqlite_tcl_variable(sql: &str, lexeme: Lexeme) -> Result<Option<Verdict>, GuardError> {
    let bytes = &sql.as_bytes()[lexeme.start..];
    if !matches!(bytes.first(), Some(b'$' | b'@' | b':' | b'#')) {
        return Ok(None);
    }
    // A transcription of the CC_VARALPHA / CC_DOLLAR case of SQLite's tokenizer (tokenize.c).
    let is_id_char = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80;
    let mut identifier_chars = 0;
    let mut at = 1;
    while let Some(&byte) = bytes.get(at) {
        if is_id_char(byte) {
            identifier_chars += 1;
        } else if byte == b'(' && identifier_chars > 0 {
            let close = bytes[at + 1..]
                .iter()
                .position(|&byte| byte.is_ascii_whitespace() || byte == b')')
                .map(|offset| at + 1 + offset);
            return match close {
                Some(close) if bytes[close] == b')' => {
                    let end = lexeme.start + close + 1;
                    Ok(Some(Verdict::KeepAndResume(Lexeme { end, ..lexeme }, end)))
                }
                _ => Err(tokenize_error(
                    sql,
                    lexeme.start,
                    "a Tcl-style SQLite variable `$name(` without a closing `)` before whitespace".to_owned(),
                )),
            };
        } else if byte == b':' && bytes.get(at + 1) == Some(&b':') {
            at += 1;
        } else {
            break;
        }
        at += 1;
    }
    Ok(None)
}
