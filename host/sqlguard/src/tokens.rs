//! Reading keywords and names out of a statement's lexemes the way the database does: bare
//! words fold case, quoted identifiers (`"x"`, SQLite `[x]` and `` `x` ``) are names and never
//! keywords, and PostgreSQL's `U&"..."` identifiers are decoded (`U&"set\005fconfig"` is
//! `set_config`), with `UESCAPE`.

use std::borrow::Cow;

use crate::dialect::Dialect;
use crate::lexer::{Lexeme, LexemeKind};

/// The significant lexemes of some SQL, with accessors that are safe past either end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tokens<'a> {
    pub(crate) sql: &'a str,
    pub(crate) lexemes: &'a [Lexeme],
    pub(crate) dialect: Dialect,
}

/// PostgreSQL truncates identifiers to 63 bytes (`NAMEDATALEN - 1`); every listed name is
/// shorter, so a key keeps at most that much and a longer word matches only a prefix rule.
const KEY_BYTES: usize = 63;

/// A name folded to lower case in a stack buffer, for matching against the lists.
#[derive(Clone, Copy)]
pub(crate) struct Key {
    bytes: [u8; KEY_BYTES],
    len: usize,
}

impl Key {
    /// The first 63 bytes of `name` in lower case (ASCII, as both databases fold names).
    pub(crate) fn new(name: &str) -> Key {
        let len = name.len().min(KEY_BYTES);
        let mut bytes = [0u8; KEY_BYTES];
        bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
        bytes[..len].make_ascii_lowercase();
        Key { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<'a> Tokens<'a> {
    pub(crate) fn text(&self, index: usize) -> &'a str {
        let lexeme = self.lexemes[index];
        &self.sql[lexeme.start..lexeme.end]
    }

    pub(crate) fn kind(&self, index: usize) -> Option<LexemeKind> {
        self.lexemes.get(index).map(|lexeme| lexeme.kind)
    }

    /// Whether `lexemes[index]` exists and is the bare word `keyword` (any case).
    pub(crate) fn is_keyword(&self, index: usize, keyword: &str) -> bool {
        self.lexemes.get(index).is_some_and(|lexeme| lexeme.is_keyword(self.sql, keyword))
    }

    /// The bare word at `index`, folded, for `match`ing against keywords.
    pub(crate) fn keyword_key(&self, index: usize) -> Option<Key> {
        match self.kind(index)? {
            LexemeKind::Word { bare: true } => Some(Key::new(self.text(index))),
            _ => None,
        }
    }

    /// Whether `lexemes[index]` is the operator or punctuation `text`.
    pub(crate) fn is_symbol(&self, index: usize, text: &str) -> bool {
        self.kind(index) == Some(LexemeKind::Other) && self.text(index) == text
    }

    /// The name a word lexeme stands for: a bare word as written, a quoted identifier without
    /// its quotes (doubled quotes left as they are: no listed name holds a quote), a PostgreSQL
    /// `U&"..."` identifier decoded. `None` for anything but a word.
    pub(crate) fn name(&self, index: usize) -> Option<Cow<'a, str>> {
        let LexemeKind::Word { bare } = self.kind(index)? else {
            return None;
        };
        let text = self.text(index);
        if bare {
            return Some(Cow::Borrowed(text));
        }
        let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
        if self.dialect == Dialect::Postgres && self.is_unicode_identifier(index) {
            let escape = self.unicode_escape(index);
            return Some(decode_unicode_escapes(inner, escape).map_or(Cow::Borrowed(inner), Cow::Owned));
        }
        Some(Cow::Borrowed(inner))
    }

    /// The inside of a plain `'...'` string (no `E`, `U&`, `N`, `X` prefix, no doubled quote):
    /// a name where the grammar takes a string (`LANGUAGE 'plpgsql'`, SQLite `INSERT INTO 't'`).
    pub(crate) fn plain_string(&self, index: usize) -> Option<&'a str> {
        if self.kind(index)? != LexemeKind::Literal {
            return None;
        }
        let text = self.text(index);
        let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
        (!inner.contains('\'')).then_some(inner)
    }

    /// `U&"..."`: the quoted identifier follows `U&` with nothing in between.
    fn is_unicode_identifier(&self, index: usize) -> bool {
        if index < 2 || !self.text(index).starts_with('"') {
            return false;
        }
        let (u, ampersand, quoted) = (self.lexemes[index - 2], self.lexemes[index - 1], self.lexemes[index]);
        ampersand.end == quoted.start
            && u.end == ampersand.start
            && self.text(index - 1) == "&"
            && u.is_keyword(self.sql, "U")
    }

    /// The escape character of the `U&` identifier at `index`: `\`, or the one its `UESCAPE 'c'`
    /// names.
    fn unicode_escape(&self, index: usize) -> char {
        if self.is_keyword(index + 1, "UESCAPE")
            && let Some(escape) = self.plain_string(index + 2)
            && let [byte] = escape.as_bytes()
        {
            return char::from(*byte);
        }
        '\\'
    }
}

/// PostgreSQL's Unicode escapes: `<e>XXXX`, `<e>+XXXXXX`, `<e><e>`. `None` where the database
/// would refuse the text (it then never names anything).
fn decode_unicode_escapes(text: &str, escape: char) -> Option<String> {
    let mut decoded = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch != escape {
            decoded.push(ch);
            continue;
        }
        let rest = chars.as_str();
        if rest.starts_with(escape) {
            decoded.push(escape);
            chars.next();
            continue;
        }
        let (digits, skip) = match rest.strip_prefix('+') {
            Some(after) => (after.get(..6)?, 7),
            None => (rest.get(..4)?, 4),
        };
        if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let code = u32::from_str_radix(digits, 16).ok()?;
        decoded.push(char::from_u32(code)?);
        chars = rest[skip..].chars();
    }
    Some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_escapes_decode_as_postgres_does() {
        assert_eq!(decode_unicode_escapes("set\\005fconfig", '\\').as_deref(), Some("set_config"));
        assert_eq!(decode_unicode_escapes("a!+00005Fb!!", '!').as_deref(), Some("a_b!"));
        assert_eq!(decode_unicode_escapes("bad\\zz", '\\'), None);
    }

    #[test]
    fn keys_fold_ascii_and_stop_at_the_identifier_limit() {
        assert_eq!(Key::new("Set_Config").as_bytes(), b"set_config");
        assert_eq!(Key::new(&format!("dblink{}", "x".repeat(80))).as_bytes().len(), 63);
    }
}
