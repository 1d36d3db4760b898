//! Revision ids: what a valid id looks like, and how new ones are generated.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The longest id accepted: long enough for a timestamp plus a slug, short
/// enough to keep version-table columns and directory names tidy.
pub const MAX_ID_LEN: usize = 64;

/// Length of generated ids, in hex characters (48 random bits).
pub const GENERATED_ID_LEN: usize = 12;

/// Words that name targets, so they can never be revision ids or labels.
pub const RESERVED_WORDS: [&str; 3] = ["head", "heads", "base"];

/// A revision id: 1 to 64 characters of `[A-Za-z0-9_]`, not a reserved word.
///
/// Ids are compared and ordered byte-wise; that order is the tie-break of
/// every topological order the graph produces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RevisionId(String);

/// Why a string is not a valid revision id (or branch label).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    #[error("an id cannot be empty")]
    Empty,
    #[error("`{0}` is longer than {MAX_ID_LEN} characters")]
    TooLong(String),
    #[error("`{value}` contains `{bad}`; only letters, digits and `_` are allowed")]
    BadChar { value: String, bad: char },
    #[error("`{0}` is a reserved word (head, heads, base)")]
    Reserved(String),
}

/// Checks the shared shape of ids and branch labels.
pub fn check_name(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(value.to_owned()));
    }
    if let Some(bad) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(IdError::BadChar { value: value.to_owned(), bad });
    }
    if RESERVED_WORDS.iter().any(|w| w.eq_ignore_ascii_case(value)) {
        return Err(IdError::Reserved(value.to_owned()));
    }
    Ok(())
}

impl RevisionId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        check_name(value)?;
        Ok(Self(value.to_owned()))
    }

    /// A fresh random id of [`GENERATED_ID_LEN`] lowercase hex characters.
    pub fn generate() -> Self {
        let mut bytes = [0u8; GENERATED_ID_LEN / 2];
        // The OS random source failing is not something a CLI can recover
        // from; fall back to the clock so `new` still works in odd sandboxes.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (nanos >> (8 * i)) as u8;
            }
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RevisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RevisionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for RevisionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RevisionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Checked in place: a manifest's ids are decoded by the thousand.
        let raw = String::deserialize(deserializer)?;
        check_name(&raw).map_err(serde::de::Error::custom)?;
        Ok(RevisionId(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_letter_and_long_ids() {
        assert!(RevisionId::parse("a").is_ok());
        assert!(RevisionId::parse(&"x".repeat(64)).is_ok());
        assert!(RevisionId::parse("2024_01_add_users").is_ok());
    }

    #[test]
    fn rejects_malformed_ids() {
        assert_eq!(RevisionId::parse(""), Err(IdError::Empty));
        assert!(matches!(RevisionId::parse(&"x".repeat(65)), Err(IdError::TooLong(_))));
        assert!(matches!(RevisionId::parse("a-b"), Err(IdError::BadChar { bad: '-', .. })));
        assert!(matches!(RevisionId::parse("a@b"), Err(IdError::BadChar { .. })));
        assert!(matches!(RevisionId::parse("Head"), Err(IdError::Reserved(_))));
    }

    #[test]
    fn generated_ids_are_twelve_lowercase_hex() {
        let a = RevisionId::generate();
        let b = RevisionId::generate();
        assert_eq!(a.as_str().len(), 12);
        assert!(a.as_str().chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(a, b);
    }
}
