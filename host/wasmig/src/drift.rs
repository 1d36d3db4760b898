//! Checksum drift: whether an applied revision's recorded checksum still matches its files, and if not, which file changed.
//!
//! A version-2 checksum carries a short digest of each file it covers, so
//! a drift names the files that changed. A version-1 checksum (rows
//! recorded before version 2) has none: its drift names the files that
//! checksum covered instead. The interpreter a `python` or `js` revision ran
//! on is not drift: it is reported apart, as an [`InterpreterChange`].

use std::fmt;

use serde::Serialize;

use wasmig_graph::RevisionKind;

use crate::checksum::{Fingerprint, INTERPRETER_FIELD, MANIFEST_NAME, files_read, interpreter_of};

/// An applied revision whose files changed since its row was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub revision: String,
    /// The checksum the row recorded (without its per-file digests).
    pub recorded: String,
    /// The checksum of the files now, by the formula the row was recorded with.
    pub current: String,
    /// The files that changed, when the row says (a version-2 checksum).
    pub changed: Vec<String>,
    /// The files the recorded checksum covers, when it cannot say which one
    /// changed (a version-1 checksum).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covered: Vec<String>,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (recorded, current) = (&self.recorded, &self.current);
        if self.changed.is_empty() {
            write!(
                f,
                "{}: changed since it was applied (recorded {recorded}, now {current}); the row predates per-file \
                 digests, so the changed file is one of those that checksum covers: {}",
                self.revision,
                self.covered.join(", ")
            )
        } else {
            write!(f, "{}: {} changed (recorded {recorded}, now {current})", self.revision, self.changed.join(", "))
        }
    }
}

/// How `recorded` (a row's checksum) compares with the files of `revision`
/// now (`now`): `None` when they match.
pub(crate) fn drift(revision: &str, kind: RevisionKind, recorded: &str, now: &Fingerprint) -> Option<Drift> {
    let mut fields = recorded.split(' ');
    let recorded_sum = fields.next().unwrap_or_default();
    if fields.next() == Some("v2") {
        let files: Vec<(&str, &str)> = fields.filter_map(file_field).collect();
        let mut current = now.checksum.split(' ');
        let current_sum = current.next().unwrap_or_default();
        if current_sum == recorded_sum {
            return None;
        }
        let current_files: Vec<(&str, &str)> = current.skip(1).filter_map(file_field).collect();
        let digest_of = |files: &[(&str, &str)], name: &str| {
            files.iter().find(|(file, _)| *file == name).map(|(_, digest)| digest.to_string())
        };
        let mut names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        names.extend(
            current_files.iter().map(|(name, _)| *name).filter(|name| !files.iter().any(|(file, _)| file == name)),
        );
        let changed = names
            .into_iter()
            .filter(|name| digest_of(&files, name) != digest_of(&current_files, name))
            .map(str::to_owned)
            .collect();
        return Some(Drift {
            revision: revision.to_owned(),
            recorded: recorded_sum.to_owned(),
            current: current_sum.to_owned(),
            changed,
            covered: Vec::new(),
        });
    }
    // Version 1: the same files match with or without a verify.sql added since.
    if now.legacy.iter().any(|legacy| legacy == recorded) {
        return None;
    }
    let mut covered = vec![MANIFEST_NAME.to_owned()];
    covered.extend(files_read(kind).iter().map(|name| (*name).to_owned()));
    Some(Drift {
        revision: revision.to_owned(),
        recorded: recorded.to_owned(),
        current: now.legacy.first().cloned().unwrap_or_default(),
        changed: Vec::new(),
        covered,
    })
}

/// A `name=digest` field of a version-2 checksum that stands for a file (not the interpreter).
fn file_field(field: &str) -> Option<(&str, &str)> {
    field.split_once('=').filter(|(name, _)| *name != INTERPRETER_FIELD)
}

/// An applied `python` or `js` revision whose interpreter plugin is not the
/// one this wasmig ships: not drift (the revision's files are unchanged and
/// nothing needs repair), but the next application of it, or of a revision
/// like it, runs on another interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterpreterChange {
    pub revision: String,
    /// The interpreter plugin the row recorded (the start of its module hash).
    pub recorded: String,
    /// The interpreter plugin of this wasmig.
    pub current: String,
}

impl fmt::Display for InterpreterChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} was applied on interpreter {}; this wasmig runs {} (its files are unchanged: not drift)",
            self.revision, self.recorded, self.current
        )
    }
}

/// How the interpreter named by `recorded` compares with the one `now` names: `None` when
/// they are the same, or either checksum names none (another kind, or a row of another formula).
pub(crate) fn interpreter_change(revision: &str, recorded: &str, now: &Fingerprint) -> Option<InterpreterChange> {
    let (recorded, current) = (interpreter_of(recorded)?, interpreter_of(&now.checksum)?);
    (recorded != current).then(|| InterpreterChange {
        revision: revision.to_owned(),
        recorded: recorded.to_owned(),
        current: current.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(checksum: &str, legacy: &[&str]) -> Fingerprint {
        Fingerprint { checksum: checksum.to_owned(), legacy: legacy.iter().map(|sum| (*sum).to_owned()).collect() }
    }

    #[test]
    fn a_version_two_row_names_the_files_that_changed() {
        let recorded = "sha256:aa v2 revision.toml=11 up.sql=22 down.sql=-";
        let same = now(recorded, &["sha256:old"]);
        assert_eq!(drift("r", RevisionKind::Sql, recorded, &same), None);
        let edited = now("sha256:bb v2 revision.toml=11 up.sql=33 down.sql=44", &["sha256:old"]);
        let found = drift("r", RevisionKind::Sql, recorded, &edited).unwrap();
        assert_eq!((found.recorded.as_str(), found.current.as_str()), ("sha256:aa", "sha256:bb"));
        assert_eq!(found.changed, ["up.sql", "down.sql"], "an edited file and an added one");
        assert_eq!(found.to_string(), "r: up.sql, down.sql changed (recorded sha256:aa, now sha256:bb)");
    }

    #[test]
    fn a_version_one_row_matches_either_formula_and_otherwise_lists_what_it_covered() {
        let files = now("sha256:new v2 revision.toml=11 up.sql=22 down.sql=-", &["sha256:with", "sha256:without"]);
        assert_eq!(drift("r", RevisionKind::Sql, "sha256:with", &files), None);
        assert_eq!(drift("r", RevisionKind::Sql, "sha256:without", &files), None, "verify.sql added since");
        let found = drift("r", RevisionKind::Sql, "sha256:other", &files).unwrap();
        assert_eq!((found.recorded.as_str(), found.current.as_str()), ("sha256:other", "sha256:with"));
        assert!(found.changed.is_empty());
        assert_eq!(found.covered, ["revision.toml", "up.sql", "down.sql", "verify.sql"]);
        assert!(found.to_string().contains("recorded sha256:other, now sha256:with"), "{found}");
    }

    #[test]
    fn another_interpreter_is_not_drift_but_is_reported() {
        let recorded = "sha256:aa v2 revision.toml=11 revision.py=22 interpreter=0123";
        let upgraded = now("sha256:aa v2 revision.toml=11 revision.py=22 interpreter=4567", &[]);
        assert_eq!(drift("p", RevisionKind::Python, recorded, &upgraded), None);
        let change = interpreter_change("p", recorded, &upgraded).unwrap();
        assert_eq!((change.recorded.as_str(), change.current.as_str()), ("0123", "4567"));
        assert!(change.to_string().contains("not drift"), "{change}");
        assert_eq!(interpreter_change("p", recorded, &now(recorded, &[])), None);

        let edited = now("sha256:bb v2 revision.toml=11 revision.py=33 interpreter=4567", &[]);
        let found = drift("p", RevisionKind::Python, recorded, &edited).unwrap();
        assert_eq!(found.changed, ["revision.py"], "the interpreter is never named as a changed file");
    }
}
