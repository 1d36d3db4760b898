//! Who a waiting statement waits for: the sessions that block it and the relation it waits on, read from a connection of its own while the statement still waits.
//!
//! Once `lock_timeout` ends the wait the server forgets it, and its error
//! names neither the relation nor the holder. So a guest statement that is
//! still running halfway through its lock bound is looked at from a second
//! connection (`pg_blocking_pids`, `pg_stat_activity`, `pg_locks`), and what
//! was seen is added to the lock error, the retry line and the event.

use super::session::Session;
use super::target::Target;

/// One row: the relations `$1` waits for, and the sessions that block it.
const BLOCKERS_SQL: &str = "\
SELECT (SELECT pg_catalog.string_agg(DISTINCT l.relation::pg_catalog.regclass::pg_catalog.text, ', ') \
          FROM pg_catalog.pg_locks l WHERE l.pid = $1 AND NOT l.granted AND l.relation IS NOT NULL), \
       pg_catalog.string_agg(pg_catalog.format('server process %s (%s, client %s, %s since %s: %s)', \
           a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), \
           coalesce(pg_catalog.host(a.client_addr), 'local socket'), coalesce(a.state, 'unknown state'), \
           coalesce(pg_catalog.to_char(coalesce(a.xact_start, a.query_start), 'YYYY-MM-DD HH24:MI:SS TZ'), '?'), \
           pg_catalog.left(pg_catalog.regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 80)), '; ' ORDER BY a.pid) \
  FROM pg_catalog.pg_stat_activity a WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1))";

/// What blocks server process `pid` right now, as a phrase ("waiting for a
/// lock on t held by server process 42 (psql, ...)"); `None` when nothing
/// does or the look failed (it only ever adds to a message).
pub(super) fn blockers_of(target: &Target, pid: i32) -> Option<String> {
    let session = match Session::open(target) {
        Ok(session) => session,
        Err(_) => {
            tracing::debug!("cannot open a connection to see who blocks server process {pid}");
            return None;
        }
    };
    let row = session.run(session.client().query_one(BLOCKERS_SQL, &[&pid]));
    let row = match row {
        Ok(row) => row,
        Err(error) => {
            tracing::debug!("cannot read who blocks server process {pid}: {error}");
            return None;
        }
    };
    let relations: Option<String> = row.get(0);
    let holders: Option<String> = row.get(1);
    let holders = holders?;
    Some(match relations {
        Some(relations) => format!("waiting for a lock on {relations} held by {holders}"),
        None => format!("waiting for a lock held by {holders}"),
    })
}
