//! Advice added to failures whose situation wasmig recognises: what the database's own message cannot know.

use crate::error::{Error, Failure};
use crate::runtime::HookError;

/// A run on a database where wasmig had recorded nothing failed: an object
/// that "already exists" there was made without wasmig.
pub(crate) fn on_first_run(mut error: Error) -> Error {
    if let Failure::Hook(HookError::Statement { failed, .. }) = error.failure_mut()
        && failed.already_exists()
    {
        failed.advice = Some(
            "wasmig has recorded no revision in this database, yet it already holds this object: the schema was \
             made without wasmig. Record the revisions it already matches with `wasmig stamp REV` (REV: the last \
             one the schema holds), or run `wasmig upgrade --adopt`, which asks each revision's verify hook and \
             records those already present instead of running them (docs/DATABASE.md, \"Stamp, adopt, verify\")"
                .to_owned(),
        );
    }
    error
}
