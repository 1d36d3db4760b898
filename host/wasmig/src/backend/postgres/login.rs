//! Whether the session's login role can leave the role hooks run as: what the server's catalogs say it holds beyond that role.
//!
//! Any statement can `RESET ROLE` (or `SET ROLE` to another role the login
//! is a member of), act, and switch back within one `DO` block; no check
//! after the statement can see that. So `[sandbox] role` confines a
//! revision only if the login itself reaches nothing the role does not: it
//! is the role (`[sandbox] login = true`), or a role that is not a
//! superuser, cannot create roles (`CREATEROLE` can grant itself any role),
//! does not bypass row security, owns nothing and holds no privilege of its
//! own (`pg_shdepend`, databases, tablespaces), and is a member of no role
//! outside what the hooks' role reaches.

use super::super::hook::LoginEscape;
use crate::sql::{DbError, Rows, Value};

/// One row: the login, its attributes, the roles it reaches beyond `$1`'s,
/// and how many objects it owns or holds privileges on. Every column is text.
pub(super) const LOGIN_SQL: &str = "\
SELECT l.rolname::text, l.rolsuper::text, l.rolcreaterole::text, l.rolbypassrls::text, \
       (t.oid IS NOT NULL)::text, \
       (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(m.rolname), ', ' ORDER BY m.rolname) \
          FROM pg_catalog.pg_roles m \
         WHERE m.oid <> l.oid AND m.oid IS DISTINCT FROM t.oid \
           AND pg_catalog.pg_has_role(l.oid, m.oid, 'MEMBER') \
           AND NOT coalesce(pg_catalog.pg_has_role(t.oid, m.oid, 'MEMBER'), false)), \
       ((SELECT pg_catalog.count(*) FROM pg_catalog.pg_shdepend d \
          WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND d.refobjid = l.oid \
            AND d.deptype <> 'p') \
        + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_database WHERE datdba = l.oid) \
        + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_tablespace WHERE spcowner = l.oid))::text \
  FROM pg_catalog.pg_roles l LEFT JOIN pg_catalog.pg_roles t ON t.rolname = $1 \
 WHERE l.rolname = session_user";

/// What [`LOGIN_SQL`]'s row says about `role`; `None` when the login cannot leave it.
pub(super) fn escape_from(rows: &Rows, role: &str, creates_roles: bool) -> Result<Option<LoginEscape>, DbError> {
    let [row] = rows.values.as_slice() else {
        return Err(DbError::host("the server does not list the session's login role in pg_roles"));
    };
    let text = |index: usize| match row.get(index) {
        Some(Value::Text(text)) => text.as_str(),
        _ => "",
    };
    let login = text(0).to_owned();
    let yes = |index: usize| text(index) == "true";
    if !yes(4) {
        return Err(DbError::host(format!(
            "[sandbox] role `{role}` does not exist on this server; create it (`CREATE ROLE {role}`, with LOGIN \
             for `[sandbox] login = true`) and give it the tenant's schema"
        )));
    }
    let mut reasons = Vec::new();
    if yes(1) {
        reasons.push("is a superuser".to_owned());
    }
    if yes(2) && !creates_roles {
        reasons.push("has CREATEROLE (it can grant itself other roles)".to_owned());
    }
    if login != role {
        if yes(3) {
            reasons.push("has BYPASSRLS".to_owned());
        }
        if !text(5).is_empty() {
            reasons.push(format!("is a member of {}", text(5)));
        }
        match text(6) {
            "0" | "" => {}
            count => reasons.push(format!(
                "owns objects or holds privileges of its own ({count} in pg_shdepend, pg_database, pg_tablespace)"
            )),
        }
    }
    Ok((!reasons.is_empty()).then_some(LoginEscape { login, reasons }))
}
