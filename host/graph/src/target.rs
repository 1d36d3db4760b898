//! The target grammar, Alembic's `[branch@]symbol[+|-N]` (`head`, `heads`, `base`, ids, prefixes, labels, `label@head`, `label@base`, `label@REV`, `REV@head`, `+N`, `-N`, `label@+N`, `REV+N`, ...): parsing only, and the [`TargetError`] for text that is not a target; `crate::resolve` resolves a parsed target against a graph.
//!
//! A `branch` is a branch label or a revision (id or prefix): it names the
//! revisions that share lineage with it (its ancestors and descendants
//! through `parents`).

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
    /// The head of a labelled branch (`label@head`, `REV@head`).
    LabelHead(String),
    /// The applied head on a branch (`branch@+N`, `branch@-N`).
    BranchCurrent(String),
    /// Below a branch (`branch@base+N`): counting up stays on the branch.
    BranchBase(String),
    /// A revision on a branch (`branch@REV+N`): counting stays on the branch.
    BranchRevision { branch: String, revision: String },
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
    /// The head of the branch that starts at the revision declaring the label
    /// (`label@head`), or of the revisions above a revision (`REV@head`).
    LabelHead(String),
    /// Every head of a branch (`branch@heads`): an upgrade target.
    BranchHeads(String),
    /// Below a branch (`branch@base`): a downgrade reverts only that branch.
    BranchBase(String),
    /// A revision that must be on the branch (`branch@REV`); a downgrade to
    /// it reverts only what is on the branch (and what needs that).
    BranchRevision { branch: String, revision: String },
    /// `steps` (never 0) up (positive) or down (negative) from an anchor.
    Relative { anchor: Anchor, steps: i64 },
}

/// Why a string is not a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    #[error(
        "empty target; use `head`, `heads`, `base`, a revision id or prefix, `label@head`, `label@base`, `label@REV`, `+N`, `-N`, `label@+N`, `REV+N` or `REV-N`"
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
            _ => {
                if let Some((branch, "heads")) = value.split_once('@') {
                    check_branch(branch).map_err(|r| invalid(&r))?;
                    return Ok(Target::BranchHeads(branch.to_owned()));
                }
                match parse_anchor(value).map_err(|r| invalid(&r))? {
                    Anchor::Revision(r) => Ok(Target::Revision(r)),
                    Anchor::LabelHead(l) => Ok(Target::LabelHead(l)),
                    Anchor::BranchBase(b) => Ok(Target::BranchBase(b)),
                    Anchor::BranchRevision { branch, revision } => Ok(Target::BranchRevision { branch, revision }),
                    Anchor::BranchCurrent(_) => {
                        Err(invalid("`branch@` needs `head`, `heads`, `base`, a revision, or `+N` / `-N` after it"))
                    }
                    Anchor::Current | Anchor::Base | Anchor::Head => {
                        unreachable!("reserved words handled above")
                    }
                }
            }
        }
    }

    /// True for targets whose meaning depends on the applied set.
    pub fn is_relative_to_current(&self) -> bool {
        matches!(self, Target::Relative { anchor: Anchor::Current | Anchor::BranchCurrent(_), .. })
    }

    /// The branch a target is confined to (`branch@...`), if any.
    pub fn branch(&self) -> Option<&str> {
        match self {
            Target::LabelHead(b) | Target::BranchHeads(b) | Target::BranchBase(b) => Some(b),
            Target::BranchRevision { branch, .. } => Some(branch),
            Target::Relative { anchor, .. } => match anchor {
                Anchor::LabelHead(b) | Anchor::BranchCurrent(b) | Anchor::BranchBase(b) => Some(b),
                Anchor::BranchRevision { branch, .. } => Some(branch),
                Anchor::Current | Anchor::Base | Anchor::Head | Anchor::Revision(_) => None,
            },
            Target::Head | Target::Heads | Target::Base | Target::Revision(_) => None,
        }
    }
}

fn check_branch(branch: &str) -> Result<(), String> {
    check_name(branch).map_err(|e| format!("bad branch (a label or a revision): {e}"))
}

fn parse_anchor(text: &str) -> Result<Anchor, String> {
    match text {
        "head" => return Ok(Anchor::Head),
        "base" => return Ok(Anchor::Base),
        "heads" => return Err("`heads` names several revisions; count from one of them".to_owned()),
        _ => {}
    }
    if let Some((branch, rest)) = text.split_once('@') {
        check_branch(branch)?;
        let branch = branch.to_owned();
        return match rest {
            "" => Ok(Anchor::BranchCurrent(branch)),
            "head" => Ok(Anchor::LabelHead(branch)),
            "base" => Ok(Anchor::BranchBase(branch)),
            "heads" => Err(format!("`{branch}@heads` names several revisions; count from one of them")),
            revision => {
                check_name(revision).map_err(|e| format!("after `{branch}@`: {e}"))?;
                Ok(Anchor::BranchRevision { branch, revision: revision.to_owned() })
            }
        };
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
            Anchor::BranchCurrent(b) => write!(f, "{b}@"),
            Anchor::BranchBase(b) => write!(f, "{b}@base"),
            Anchor::BranchRevision { branch, revision } => write!(f, "{branch}@{revision}"),
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
            Target::BranchHeads(b) => write!(f, "{b}@heads"),
            Target::BranchBase(b) => write!(f, "{b}@base"),
            Target::BranchRevision { branch, revision } => write!(f, "{branch}@{revision}"),
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
            ("ab12@head", Target::LabelHead("ab12".into())),
            ("feature@heads", Target::BranchHeads("feature".into())),
            ("feature@base", Target::BranchBase("feature".into())),
            ("feature@ab12", Target::BranchRevision { branch: "feature".into(), revision: "ab12".into() }),
            ("feature@+1", rel(Anchor::BranchCurrent("feature".into()), 1)),
            ("feature@-2", rel(Anchor::BranchCurrent("feature".into()), -2)),
            ("feature@base+2", rel(Anchor::BranchBase("feature".into()), 2)),
            ("feature@ab12+1", rel(Anchor::BranchRevision { branch: "feature".into(), revision: "ab12".into() }, 1)),
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
            "x@",
            "x@heads+1",
            "x@y@head",
            "x@-y",
            "a b",
            "@head",
            "a@",
            "+99999999999999999999",
        ] {
            assert!(Target::parse(text).is_err(), "{text:?} should be refused");
        }
    }
}
