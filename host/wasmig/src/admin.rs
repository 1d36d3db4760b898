//! The operator's corrections: `stamp` (record an applied set without running hooks), `repair` (accept changed files) and `resolve` (settle a dirty revision), each audited in the events table.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use wasmig_graph::{AppliedSet, Direction, Resolved, Target};

use crate::bookkeeping::{Bookkeeper, Envelope};
use crate::database::Database;
use crate::drift::drift;
use crate::error::{Error, Failure};
use crate::migrator::Migrator;
use crate::report::{RunReport, StepOutcome, StepReport};
use crate::versions::{AppliedRow, EventKind, NewEvent, NewRow, RowState};

impl Migrator {
    /// Records the applied set of `target` without running any hook: `REV`
    /// means REV and its ancestors, `heads` every revision, `base` none.
    /// All or nothing, in one transaction.
    pub fn stamp(&self, db: &mut Database, target: &Target) -> Result<RunReport, Error> {
        let nothing = RunReport { database: db.describe(), steps: Vec::new() };
        let lock = db.lock(&self.lock_key(db), self.revisions().migration_lock_timeout(), &mut |_| {});
        let lock = lock.map_err(|error| Error::after(error, nothing.clone()))?;
        let mut books = self.books(db);
        let stamped = self.stamp_in(&mut books, target);
        // Released only once the transaction is over, whatever its outcome.
        drop(lock);
        stamped
            .map(|steps| RunReport { database: books.database.clone(), steps })
            .map_err(|failure| Error::after(failure, nothing))
    }

    fn stamp_in(&self, books: &mut Bookkeeper<'_>, target: &Target) -> Result<Vec<StepReport>, Failure> {
        books.ensure_tables()?;
        let rows = books.read_rows()?;
        let wanted = self.stamped_set(target, &rows)?;
        let current: BTreeMap<&str, &AppliedRow> = rows.iter().map(|row| (row.revision.as_str(), row)).collect();
        let mut planned: Vec<(&str, Direction)> = Vec::new();
        for row in rows.iter().rev() {
            if !wanted.contains(&row.revision) {
                planned.push((&row.revision, Direction::Down));
            }
        }
        for id in &wanted {
            if !current.contains_key(id.as_str()) {
                planned.push((id, Direction::Up));
            }
        }
        books.in_transaction(|books| {
            planned.iter().map(|(id, direction)| self.stamp_one(books, id, *direction)).collect()
        })
    }

    /// The revisions a stamp to `target` leaves applied, in topological
    /// order: the target and its ancestors; with `branch@...`, the applied
    /// heads off that branch (and their ancestors) stay too, as in Alembic.
    fn stamped_set(&self, target: &Target, rows: &[AppliedRow]) -> Result<Vec<String>, Failure> {
        let graph = self.graph();
        let applied = AppliedSet::new(rows.iter().map(|row| row.revision.as_str()).filter(|id| graph.contains(id)));
        let mut keep: Vec<String> = match graph.resolve_target(target, &applied)? {
            Resolved::Base => Vec::new(),
            Resolved::Revisions(ids) => ids.iter().map(ToString::to_string).collect(),
        };
        if let Some(branch) = target.branch() {
            let on_branch: BTreeSet<String> =
                graph.branch_lineage(branch)?.into_iter().map(|revision| revision.id().to_string()).collect();
            let off_branch = graph.applied_heads(&applied).into_iter().map(|id| id.to_string());
            keep.extend(off_branch.filter(|id| !on_branch.contains(id)));
        }
        let mut closure: BTreeSet<String> = BTreeSet::new();
        for id in &keep {
            closure.insert(id.clone());
            for ancestor in graph.ancestors(id).unwrap_or_default() {
                closure.insert(ancestor.id().to_string());
            }
        }
        Ok(graph
            .topological_order()
            .map(|revision| revision.id().to_string())
            .filter(|id| closure.contains(id))
            .collect())
    }

    fn stamp_one(&self, books: &mut Bookkeeper<'_>, id: &str, direction: Direction) -> Result<StepReport, Failure> {
        let started = Instant::now();
        match direction {
            Direction::Up => {
                let revision = self.graph().get(id).expect("stamped ids come from the graph");
                let module = self.revisions().module(self.started_runtime()?, revision)?;
                let checksum = self.revisions().checksum(revision)?;
                let module_hash = hex::encode(module.hash());
                let row = NewRow {
                    revision: id,
                    checksum: &checksum,
                    module_hash: &module_hash,
                    kind: revision.kind().as_str(),
                    state: RowState::Applied,
                    execution_ms: 0,
                };
                books.tables.insert(books.db.as_mut(), &row).map_err(books.failed(format!("stamping {id}")))?;
            }
            Direction::Down => {
                books.tables.delete(books.db.as_mut(), id).map_err(books.failed(format!("unstamping {id}")))?;
            }
        }
        let detail = format!("stamp {}", direction.as_str());
        books.record(&NewEvent {
            kind: EventKind::Stamp,
            revision: Some(id),
            duration_ms: Some(0),
            error: None,
            detail: Some(&detail),
        })?;
        let elapsed = started.elapsed().as_millis() as u64;
        Ok(StepReport::new(id, direction, StepOutcome::Stamped, elapsed, &[]))
    }

    /// `resolve REV --as applied|reverted`: records the truth about a revision
    /// a non-transactional step left dirty.
    pub fn resolve(&self, db: &mut Database, revision: &str, as_applied: bool) -> Result<RunReport, Error> {
        let revision = self.graph().resolve(revision)?.id().to_string();
        self.audited_change(db, &revision, EventKind::Resolve, |books, row| {
            if row.state == RowState::Applied {
                return Err(Failure::NotDirty { revision: revision.clone(), state: row.state });
            }
            if as_applied {
                books
                    .tables
                    .set_state(books.db.as_mut(), &revision, RowState::Applied, None)
                    .map_err(books.failed("resolving"))?;
                Ok(Some(format!("{} resolved as applied", row.state.as_str())))
            } else {
                books.tables.delete(books.db.as_mut(), &revision).map_err(books.failed("resolving"))?;
                Ok(Some(format!("{} resolved as reverted", row.state.as_str())))
            }
        })
    }

    /// `repair REV`: accepts the current files of an applied revision by
    /// recording their checksum (audited with the old and new values).
    pub fn repair(&self, db: &mut Database, revision: &str) -> Result<RunReport, Error> {
        let found = self.graph().resolve(revision)?;
        let fingerprint = self.revisions().fingerprint(found)?;
        let checksum = fingerprint.checksum.clone();
        let revision = found.id().to_string();
        let kind = found.kind();
        self.audited_change(db, &revision, EventKind::Repair, |books, row| {
            // Files that still match their record: nothing to accept, nothing to audit.
            if drift(&revision, kind, &row.checksum, &fingerprint).is_none() {
                return Ok(None);
            }
            books.tables.set_checksum(books.db.as_mut(), &revision, &checksum).map_err(books.failed("repairing"))?;
            Ok(Some(format!("checksum {} -> {checksum}", row.checksum)))
        })
    }

    /// One change to one revision's row and its audit event, under the lock,
    /// in one transaction.
    fn audited_change(
        &self,
        db: &mut Database,
        revision: &str,
        kind: EventKind,
        change: impl FnOnce(&mut Bookkeeper<'_>, &AppliedRow) -> Result<Option<String>, Failure>,
    ) -> Result<RunReport, Error> {
        let lock = db.lock(&self.lock_key(db), self.revisions().migration_lock_timeout(), &mut |_| {})?;
        let mut books = self.books(db);
        let rows = books.applied_rows()?;
        let action = if kind == EventKind::Repair { "repair" } else { "resolve" };
        let row = rows
            .iter()
            .find(|row| row.revision == revision)
            .ok_or_else(|| Failure::NotApplied { revision: revision.to_owned(), action })?;
        let changed = books.in_transaction(|books| {
            let Some(detail) = change(books, row)? else { return Ok(false) };
            books.record(&NewEvent {
                kind,
                revision: Some(revision),
                duration_ms: None,
                error: None,
                detail: Some(&detail),
            })?;
            Ok(true)
        });
        // Released only once the transaction is over, whatever its outcome.
        drop(lock);
        let steps = match changed? {
            true => vec![StepReport::new(revision, Direction::Up, StepOutcome::Stamped, 0, &[])],
            false => Vec::new(),
        };
        Ok(RunReport { database: books.database, steps })
    }
}
