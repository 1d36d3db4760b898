//! Demo revision 689f069cf588: a data migration that gives every account a unique `handle` derived from its display name.
//!
//! It reads the accounts with `query`, computes the handles in Rust (the part
//! that is awkward in portable SQL: slugging, and numbering duplicates in id
//! order), and writes each one back with `execute`. The host runs it inside
//! the step's transaction, so a failure halfway leaves no handle written.

use std::collections::BTreeSet;

use wasmig_sdk::{Db, Dialect, Error, Result, Revision, Verdict, export_revision, params};

struct BackfillAccountHandles;

/// The dialect's placeholder for the `position`-th parameter (1-based).
fn placeholder(db: &Db, position: usize) -> String {
    match db.dialect() {
        Dialect::Sqlite => format!("?{position}"),
        Dialect::Postgres => format!("${position}"),
    }
}

/// `"Ada  Lovelace"` becomes `"ada-lovelace"`: lowercase ASCII letters and
/// digits, every other run of characters one `-`.
fn slug(display_name: &str) -> String {
    let mut slug = String::with_capacity(display_name.len());
    for character in display_name.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() { "account".to_owned() } else { slug.to_owned() }
}

/// The slug itself when free, else the slug with the first free `-2`, `-3`, ...
fn unique_handle(display_name: &str, taken: &mut BTreeSet<String>) -> String {
    let base = slug(display_name);
    let mut candidate = base.clone();
    let mut number = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}-{number}");
        number += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

impl Revision for BackfillAccountHandles {
    fn up(db: &Db) -> Result<()> {
        // Handles already set (by the app, after the column appeared) keep
        // their value and are never handed out again.
        let mut taken = BTreeSet::new();
        for row in db.query("SELECT handle FROM accounts WHERE handle IS NOT NULL", params![])?.iter() {
            taken.insert(row.get::<String>(0)?);
        }
        let accounts = db.query("SELECT id, display_name FROM accounts WHERE handle IS NULL ORDER BY id", params![])?;
        let update = format!("UPDATE accounts SET handle = {} WHERE id = {}", placeholder(db, 1), placeholder(db, 2));
        for account in accounts.iter() {
            let id: i64 = account.get("id")?;
            let display_name: String = account.get("display_name")?;
            let handle = unique_handle(&display_name, &mut taken);
            let changed = db.execute(&update, params![handle.as_str(), id])?;
            if changed != 1 {
                return Err(Error::msg(format!(
                    "updating the handle of account {id} changed {changed} rows, expected 1"
                )));
            }
        }
        db.info(&format!("backfilled the handles of {} accounts", accounts.len()));
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        // The column itself belongs to revision 329ec3722515; reverting the
        // backfill only empties it again.
        db.execute("UPDATE accounts SET handle = NULL", params![])?;
        Ok(())
    }

    fn verify(db: &Db) -> Result<Verdict> {
        let rows = db.query("SELECT count(*) FROM accounts WHERE handle IS NULL", params![])?;
        let missing: i64 = rows.first().ok_or_else(|| Error::msg("count(*) returned no row"))?.get(0)?;
        Ok(if missing == 0 { Verdict::Present } else { Verdict::Absent })
    }
}

export_revision!(BackfillAccountHandles);
