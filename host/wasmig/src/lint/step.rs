//! The lint of one running hook: each call's statements checked before they run (text rules, with what the step created so far and the catalog's word on the tables it alters) and, on PostgreSQL, what they did observed after (locks held, tables rewritten, the strongest lock for the journal).
//!
//! A table "existed before" the step unless a `CREATE TABLE` (or
//! `CREATE MATERIALIZED VIEW`) of this step made it: a table nobody else
//! can see yet is never a finding. A `deny` finding the text shows refuses
//! the call before it runs; one observed afterwards fails the call after
//! it ran, inside the step's transaction, which the host then rolls back.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use wasmig_graph::LintRule;

use super::finding::{Finding, LintDenied, Verdict, note};
use super::observe::{self, LockMode, LockSnapshot, LockTaken};
use super::parse::{Analysis, NotNullCheck, analyze};
use super::settings::LintPolicy;
use crate::backend::Backend;
use crate::sql::Dialect;

/// Distinct statement texts whose analysis a hook keeps: a backfill that
/// builds each statement anew cannot grow it without bound.
const CACHE_LIMIT: usize = 512;

/// What the journal records of one call's statements.
#[derive(Debug, Default)]
pub(crate) struct CallNotes {
    /// Per statement, in order: its findings as the journal's note.
    pub(crate) notes: Vec<Option<String>>,
    /// The strongest lock the call took (on its last statement: a script is one round trip).
    pub(crate) lock: Option<LockTaken>,
}

/// One statement of the call under way.
#[derive(Debug)]
struct Current {
    text: String,
    analysis: Arc<Analysis>,
    findings: Vec<Finding>,
}

/// An ACCESS EXCLUSIVE lock on a table that existed before, taken by the
/// last statement of a call: a finding if another statement runs.
#[derive(Debug)]
struct Pending {
    relation: String,
    taken_by: String,
}

/// What a hook's watch found, handed back when it ends.
#[derive(Debug, Default)]
pub(crate) struct WatchOutcome {
    pub findings: Vec<Finding>,
    pub locks: LockSnapshot,
    pub denied: Option<LintDenied>,
}

/// The watch over one hook's statements.
#[derive(Debug)]
pub(crate) struct StepWatch {
    policy: Option<LintPolicy>,
    dialect: Dialect,
    /// PostgreSQL, in a transaction: the catalog can be asked between statements.
    catalog: bool,
    /// And a rule or the journal wants the locks: look at them after statements.
    observe: bool,
    capture_locks: bool,
    protected: Vec<String>,
    cache: HashMap<String, Arc<Analysis>>,
    created: HashSet<String>,
    not_null_checks: Vec<NotNullCheck>,
    /// Per table key: its file when first seen in this step.
    files: HashMap<String, i64>,
    /// Per table key: columns a validated CHECK proves not null, from the catalog.
    proven: HashMap<String, Vec<String>>,
    locks: LockSnapshot,
    pending: Vec<Pending>,
    reported_held: HashSet<String>,
    current: Vec<Current>,
    lock: Option<LockTaken>,
    /// A call of one statement that may have taken a strong lock, not
    /// looked at yet: only the next call can make its lock a finding, so
    /// the next call looks (a hook whose last call it was pays nothing).
    deferred: Option<String>,
    /// A call failed: on PostgreSQL the transaction may be aborted, so nothing more is asked.
    aborted: bool,
    findings: Vec<Finding>,
    denied: Option<LintDenied>,
}

impl StepWatch {
    /// `None` when there is nothing to watch: no rule on, no lock capture.
    pub(crate) fn new(
        policy: Option<LintPolicy>,
        dialect: Dialect,
        transactional: bool,
        capture_locks: bool,
        protected: Vec<String>,
        locks: LockSnapshot,
    ) -> Option<StepWatch> {
        let catalog = dialect == Dialect::Postgres && transactional;
        let capture_locks = capture_locks && catalog;
        if policy.is_none() && !capture_locks {
            return None;
        }
        let observed_rules = policy
            .as_ref()
            .is_some_and(|policy| policy.checks(LintRule::LockHeld) || policy.checks(LintRule::TableRewrite));
        Some(StepWatch {
            policy,
            dialect,
            catalog,
            observe: catalog && (capture_locks || observed_rules),
            capture_locks,
            protected,
            cache: HashMap::new(),
            created: HashSet::new(),
            not_null_checks: Vec::new(),
            files: HashMap::new(),
            proven: HashMap::new(),
            locks,
            pending: Vec::new(),
            reported_held: HashSet::new(),
            current: Vec::new(),
            lock: None,
            deferred: None,
            aborted: false,
            findings: Vec::new(),
            denied: None,
        })
    }

    fn analysis(&mut self, text: &str) -> Arc<Analysis> {
        if let Some(analysis) = self.cache.get(text) {
            return Arc::clone(analysis);
        }
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        let analysis = Arc::new(analyze(text, self.dialect));
        self.cache.insert(text.to_owned(), Arc::clone(&analysis));
        analysis
    }

    /// Before a call runs `statements` (one for `execute`/`query`, a
    /// script's in order): the text rules. `Err` when a `deny` finding
    /// must stop it: the call is refused and the hook fails with it.
    pub(crate) fn before(&mut self, db: &mut dyn Backend, statements: &[&str]) -> Result<(), LintDenied> {
        self.current.clear();
        self.lock = None;
        if let Some(taken_by) = self.deferred.take()
            && !statements.is_empty()
        {
            self.look_back(db, taken_by);
        }
        for (index, text) in statements.iter().enumerate() {
            let analysis = self.analysis(text);
            let mut findings = Vec::new();
            if index == 0 {
                for pending in std::mem::take(&mut self.pending) {
                    findings.extend(self.held_while(&pending.relation, &pending.taken_by, text));
                }
            }
            if self.policy.is_some() {
                self.ask_catalog(db, &analysis);
                for candidate in &analysis.candidates {
                    if self.created.contains(&candidate.table.key) {
                        continue;
                    }
                    if let Some(column) = &candidate.column
                        && self.proven_not_null(&candidate.table.key, column)
                    {
                        continue;
                    }
                    findings.extend(self.judge(candidate.rule, text, candidate.detail.clone()));
                }
            }
            self.created.extend(analysis.creates.iter().cloned());
            self.not_null_checks.extend(analysis.not_null_checks.iter().cloned());
            for (table, constraint) in &analysis.validates {
                for check in &mut self.not_null_checks {
                    if &check.table == table && &check.constraint == constraint {
                        check.validated = true;
                    }
                }
            }
            self.current.push(Current { text: (*text).to_owned(), analysis, findings });
        }
        self.stop_on_deny()
    }

    /// After the call ran (`ran`: it succeeded): on PostgreSQL, what it did.
    pub(crate) fn after(&mut self, db: &mut dyn Backend, ran: bool) -> Result<(), LintDenied> {
        if !ran {
            self.aborted = true;
        }
        let ddl = self.current.iter().any(|statement| statement.analysis.ddl);
        if !self.observe || self.aborted || !(ddl || self.capture_locks) {
            return Ok(());
        }
        let suspect = self.current.iter().any(|statement| !statement.analysis.suspects.is_empty());
        if let [only] = self.current.as_slice()
            && !suspect
            && !self.capture_locks
            && self.policy.is_some()
        {
            self.deferred = Some(only.text.clone());
            return Ok(());
        }
        let snapshot = match observe::locks(db, &self.protected) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::debug!("cannot read the session's locks: {error}");
                return Ok(());
            }
        };
        if self.capture_locks {
            self.lock = snapshot
                .taken_since(&self.locks)
                .max_by_key(|(_, mode)| *mode)
                .map(|(held, mode)| LockTaken { mode, relation: held.qualified.clone() });
        }
        if self.policy.is_some() {
            self.judge_observed(&snapshot);
        }
        for held in snapshot.relations() {
            self.files.insert(held.name.clone(), held.file);
        }
        self.locks = snapshot;
        self.stop_on_deny()
    }

    /// What a deferred call left held, looked at before the next call runs:
    /// its new ACCESS EXCLUSIVE locks on tables that existed before are
    /// pending, so the next statement is the one they are held during.
    fn look_back(&mut self, db: &mut dyn Backend, taken_by: String) {
        if self.aborted {
            return;
        }
        let snapshot = match observe::locks(db, &self.protected) {
            Ok(snapshot) => snapshot,
            Err(error) => return tracing::debug!("cannot read the session's locks: {error}"),
        };
        let exclusive: Vec<String> = snapshot
            .taken_since(&self.locks)
            .filter(|(held, mode)| *mode == LockMode::AccessExclusive && !self.created.contains(&held.name))
            .map(|(held, _)| held.qualified.clone())
            .collect();
        for relation in exclusive {
            self.pending.push(Pending { relation, taken_by: taken_by.clone() });
        }
        for held in snapshot.relations() {
            self.files.insert(held.name.clone(), held.file);
        }
        self.locks = snapshot;
    }

    /// The lock-held and table-rewrite rules on what the call left held.
    fn judge_observed(&mut self, snapshot: &LockSnapshot) {
        let last = self.current.len().saturating_sub(1);
        let mut observed: Vec<(usize, Finding)> = Vec::new();
        let mut pending = Vec::new();
        let exclusive: Vec<(String, String)> = snapshot
            .taken_since(&self.locks)
            .filter(|(held, mode)| *mode == LockMode::AccessExclusive && !self.created.contains(&held.name))
            .map(|(held, _)| (held.name.clone(), held.qualified.clone()))
            .collect();
        for (name, qualified) in exclusive {
            let taker = self.taker(&name);
            let taken_by = self.current.get(taker).map(|statement| statement.text.clone()).unwrap_or_default();
            if taker < last {
                let text = self.current[taker + 1].text.clone();
                observed.extend(self.held_while(&qualified, &taken_by, &text).map(|finding| (taker + 1, finding)));
            } else {
                pending.push(Pending { relation: qualified, taken_by });
            }
        }
        for held in snapshot.relations() {
            let Some(before) = self.files.get(&held.name) else { continue };
            if *before == held.file || held.file == 0 || self.created.contains(&held.name) {
                continue;
            }
            let taker = self.taker(&held.name);
            let Some(statement) = self.current.get(taker) else { continue };
            // A rewrite a text rule already names, or TRUNCATE's new file, is no news.
            let explained = statement.analysis.truncates
                || statement.analysis.candidates.iter().any(|candidate| {
                    matches!(candidate.rule, LintRule::ColumnTypeChange | LintRule::VolatileDefault)
                        && candidate.table.key == held.name
                });
            if explained {
                continue;
            }
            let detail = format!("the statement rewrote {} (its file changed)", held.qualified);
            let text = statement.text.clone();
            observed.extend(self.judge(LintRule::TableRewrite, &text, detail).map(|finding| (taker, finding)));
        }
        for (index, finding) in observed {
            self.current[index].findings.push(finding);
        }
        self.pending.extend(pending);
    }

    /// The statement of the call that took a lock on `name`: the first
    /// that names it, else the last (a script's statements share one look).
    fn taker(&self, name: &str) -> usize {
        self.current
            .iter()
            .position(|statement| statement.analysis.targets.iter().any(|table| table.key == name))
            .unwrap_or(self.current.len().saturating_sub(1))
    }

    /// The lock-held finding, once per relation and step.
    fn held_while(&mut self, relation: &str, taken_by: &str, text: &str) -> Option<Finding> {
        if !self.reported_held.insert(relation.to_owned()) {
            return None;
        }
        let taken_by = taken_by.split_whitespace().collect::<Vec<_>>().join(" ");
        let detail = format!("the ACCESS EXCLUSIVE lock on {relation} that `{taken_by}` took is held while this runs");
        self.judge(LintRule::LockHeld, text, detail)
    }

    fn judge(&self, rule: LintRule, text: &str, detail: String) -> Option<Finding> {
        self.policy.as_ref()?.judge(rule, text, detail)
    }

    /// Before an `ALTER TABLE` of a table that existed before that may
    /// rewrite it unnamed, or sets a column not null: its file (to see a
    /// rewrite) and the columns a validated CHECK proves not null.
    fn ask_catalog(&mut self, db: &mut dyn Backend, analysis: &Analysis) {
        if !self.catalog || self.aborted {
            return;
        }
        let rewrites = self.policy.as_ref().is_some_and(|policy| policy.checks(LintRule::TableRewrite));
        let not_null = analysis
            .candidates
            .iter()
            .filter(|candidate| candidate.rule == LintRule::SetNotNull)
            .map(|candidate| &candidate.table);
        let suspects = analysis.suspects.iter().filter(|_| rewrites);
        for table in suspects.chain(not_null) {
            if self.created.contains(&table.key) || self.proven.contains_key(&table.key) {
                continue;
            }
            match observe::table_state(db, &table.written) {
                Ok(Some(state)) => {
                    self.files.entry(table.key.clone()).or_insert(state.file);
                    self.proven.insert(table.key.clone(), state.proven_not_null);
                }
                Ok(None) => {}
                Err(error) => tracing::debug!("cannot read the catalog entry of {}: {error}", table.written),
            }
        }
    }

    fn proven_not_null(&self, table: &str, column: &str) -> bool {
        let checked =
            self.not_null_checks.iter().any(|check| check.validated && check.table == table && check.column == column);
        checked || self.proven.get(table).is_some_and(|columns| columns.iter().any(|proven| proven == column))
    }

    /// The first `deny` finding of the call, when the policy enforces it.
    fn stop_on_deny(&mut self) -> Result<(), LintDenied> {
        let enforce = self.policy.as_ref().is_some_and(|policy| policy.enforce);
        let denied = self.current.iter().flat_map(|statement| &statement.findings).find(|f| f.verdict == Verdict::Deny);
        match denied {
            Some(finding) if enforce => {
                let denied = LintDenied { finding: Box::new(finding.clone()) };
                self.denied.get_or_insert_with(|| denied.clone());
                Err(denied)
            }
            _ => Ok(()),
        }
    }

    /// The call is over: its findings join the hook's, and the journal gets its notes.
    pub(crate) fn end_call(&mut self) -> CallNotes {
        let mut notes = Vec::with_capacity(self.current.len());
        for statement in self.current.drain(..) {
            notes.push(note(&statement.findings));
            self.findings.extend(statement.findings);
        }
        CallNotes { notes, lock: self.lock.take() }
    }

    /// The hook is over.
    pub(crate) fn finish(mut self) -> WatchOutcome {
        self.end_call();
        WatchOutcome { findings: self.findings, locks: self.locks, denied: self.denied }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sqlite::SqliteBackend;
    use crate::lint::settings::LintMode;
    use wasmig_graph::{LintConfig, Revision};

    fn watching(config: &LintConfig) -> StepWatch {
        let revision = Revision::in_memory("a1", &[]);
        let policy = LintPolicy::for_step(config, &revision, Dialect::Sqlite, LintMode::Enforce);
        StepWatch::new(policy, Dialect::Sqlite, true, false, Vec::new(), LockSnapshot::default()).unwrap()
    }

    #[test]
    fn tables_created_in_the_step_are_exempt_and_a_deny_stops_the_call() {
        let mut db = SqliteBackend::open_in_memory().unwrap();
        let mut watch = watching(&LintConfig::default());
        watch.before(&mut db, &["CREATE TABLE t (a int)", "UPDATE t SET a = 1", "DELETE FROM old"]).unwrap();
        let notes = watch.end_call();
        assert_eq!(notes.notes[..2], [None, None]);
        assert_eq!(notes.notes[2].as_deref(), Some("warn delete-without-where: DELETE FROM old without WHERE"));
        let deny = LintConfig { default: wasmig_graph::LintLevel::Deny, ..LintConfig::default() };
        let mut watch = watching(&deny);
        let denied = watch.before(&mut db, &["DROP TABLE old"]).unwrap_err();
        assert_eq!(denied.finding.rule, LintRule::DropTable);
        let outcome = watch.finish();
        assert_eq!((outcome.findings.len(), outcome.denied.is_some()), (1, true));
        assert!(StepWatch::new(None, Dialect::Sqlite, true, true, Vec::new(), LockSnapshot::default()).is_none());
    }
}
