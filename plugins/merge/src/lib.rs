//! The built-in `merge` plugin: a merge revision joins heads; `up` does nothing and `down` refuses.

use wasmig_sdk::{Db, Error, Result, Revision, Verdict, export_revision};

struct MergeRevision;

impl Revision for MergeRevision {
    fn up(_db: &Db) -> Result<()> {
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        Err(Error::msg(format!(
            "merge revision {} cannot be downgraded: downgrade to one of its descendants, or to a revision \
             on one branch below it and leave the merge applied",
            db.revision_id()
        )))
    }

    fn verify(_db: &Db) -> Result<Verdict> {
        // A merge has no effect of its own, so it is always "present".
        Ok(Verdict::Present)
    }
}

export_revision!(MergeRevision);
