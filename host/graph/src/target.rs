//! The target grammar (`head`, `heads`, `base`, ids, prefixes, labels,
//! `label@head`, `+N`, `-N`, `REV+N`, `REV-N`): parsing only, and the
//! [`TargetError`] for text that is not a target; `crate::resolve` resolves
//! a parsed target against a graph.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::id::check_name;

/// A revision a relative target counts from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// The applied set's single head (`+N`, `-N`).
    Current,
    /// Below every base (`base+N`).
    Base,
    /// The project's single head (`head-N`).
    Head,
    /// An id, an id prefix or a bare branch label.
    Revision(String),
    /// The head of a labelled branch (`label@head`).
    LabelHead(String),
}

/// Where a plan should take the applied set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The single head; an error when the project has several.
    Head,
    /// Every head.
    Heads,
    /// Nothing applied.
    Base,
    /// An id, a unique prefix of at least 4 characters, or a branch label
    /// (the revision that declares it).
    Revision(String),
    /// The head of the branch that starts at the revision declaring the label.
    LabelHead(String),
    /// `steps` (never 0) up (positive) or down (negative) from an anchor.
    Relative { anchor: Anchor, steps: i64 },
}

/// Why a string is not a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    #[error(
        "empty target; use `head`, `heads`, `base`, a revision id or prefix, `label@head`, `+N`, `-N`, `REV+N` or `REV-N`"
    )]
    Empty,
    #[error("invalid target `{value}`: {reason}")]
    Invalid { value: String, reason: String },
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        let value = text.trim();
        if value.is_empty() {
            return Err(TargetError::Empty);
        }
        let invalid = |reason: &str| TargetError::Invalid { value: value.to_owned(), reason: reason.to_owned() };
        if let Some(split) = value.rfind(['+', '-']) {
            let (anchor_text, count_text) = (&value[..split], &value[split + 1..]);
            if count_text.is_empty() || !count_text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("a relative step is `+N` or `-N` with N a whole number"));
            }
            let magnitude: i64 = count_text.parse().map_err(|_| invalid("the step is too large"))?;
            if magnitude == 0 {
                return Err(invalid("a relative step of 0 moves nowhere; name the revision instead"));
            }
            let steps = if value.as_bytes()[split] == b'-' { -magnitude } else { magnitude };
            let anchor = if anchor_text.is_empty() {
                Anchor::Current
            } else {
                parse_anchor(anchor_text).map_err(|r| invalid(&r))?
            };
            return Ok(Target::Relative { anchor, steps });
        }
        match value {
            "head" => Ok(Target::Head),
            "heads" => Ok(Target::Heads),
            "base" => Ok(Target::Base),
            _ => match parse_anchor(value).map_err(|r| invalid(&r))? {
                Anchor::Revision(r) => Ok(Target::Revision(r)),
                Anchor::LabelHead(l) => Ok(Target::LabelHead(l)),
                Anchor::Current | Anchor::Base | Anchor::Head => {
                    unreachable!("reserved words handled above")
                }
            },
        }
    }

    /// True for targets whose meaning depends on the applied set.
    pub fn is_relative_to_current(&self) -> bool {
        matches!(self, Target::Relative { anchor: Anchor::Current, .. })
    }
}

fn parse_anchor(text: &str) -> Result<Anchor, String> {
    match text {
        "head" => return Ok(Anchor::Head),
        "base" => return Ok(Anchor::Base),
        "heads" => return Err("`heads` names several revisions; count from one of them".to_owned()),
        _ => {}
    }
    if let Some((label, rest)) = text.split_once('@') {
        if rest != "head" {
            return Err(format!("after `@` only `head` is supported (`{label}@head`)"));
        }
        check_name(label).map_err(|e| format!("bad branch label: {e}"))?;
        return Ok(Anchor::LabelHead(label.to_owned()));
    }
    check_name(text).map_err(|e| e.to_string())?;
    Ok(Anchor::Revision(text.to_owned()))
}

impl FromStr for Target {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::parse(s)
    }
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anchor::Current => Ok(()),
            Anchor::Base => f.write_str("base"),
            Anchor::Head => f.write_str("head"),
            Anchor::Revision(r) => f.write_str(r),
            Anchor::LabelHead(l) => write!(f, "{l}@head"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Heads => f.write_str("heads"),
            Target::Base => f.write_str("base"),
            Target::Revision(r) => f.write_str(r),
            Target::LabelHead(l) => write!(f, "{l}@head"),
            Target::Relative { anchor, steps } => write!(f, "{anchor}{steps:+}"),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(anchor: Anchor, steps: i64) -> Target {
        Target::Relative { anchor, steps }
    }

    #[test]
    fn parses_the_whole_grammar() {
        let cases = [
            ("head", Target::Head),
            ("heads", Target::Heads),
            ("base", Target::Base),
            ("a", Target::Revision("a".into())),
            ("0a1b", Target::Revision("0a1b".into())),
            ("feature", Target::Revision("feature".into())),
            ("feature@head", Target::LabelHead("feature".into())),
            ("+2", rel(Anchor::Current, 2)),
            ("-1", rel(Anchor::Current, -1)),
            ("ab12+3", rel(Anchor::Revision("ab12".into()), 3)),
            ("ab12-1", rel(Anchor::Revision("ab12".into()), -1)),
            ("head-2", rel(Anchor::Head, -2)),
            ("base+1", rel(Anchor::Base, 1)),
            ("feature@head-1", rel(Anchor::LabelHead("feature".into()), -1)),
            (" head ", Target::Head),
        ];
        for (text, expected) in cases {
            let parsed = Target::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(Target::parse(&parsed.to_string()).unwrap(), expected, "round trip of {text}");
        }
    }

    #[test]
    fn refuses_malformed_targets() {
        for text in [
            "",
            "+",
            "-",
            "+0",
            "a+0",
            "a+b",
            "+1x",
            "a-b-1",
            "heads+1",
            "x@tail",
            "x@+1",
            "a b",
            "@head",
            "a@",
            "+99999999999999999999",
        ] {
            assert!(Target::parse(text).is_err(), "{text:?} should be refused");
        }
    }
}
