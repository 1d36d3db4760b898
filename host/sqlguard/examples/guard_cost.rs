//! Times the guard per statement (no criterion): `cargo run --release -p wasmig-sqlguard --example guard_cost`.

use std::hint::black_box;
use std::time::Instant;

use wasmig_sqlguard::{Dialect, Policy};

const REVISION: &str = "CREATE TABLE t_123 (id INTEGER PRIMARY KEY, note TEXT)";
const STATEMENT: &str = "INSERT INTO accounts (id, handle, created_at) VALUES ($1, lower($2), now())";
const SCRIPT: &str = "-- create the notes table\n\
CREATE TABLE notes (id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL REFERENCES accounts(id), body TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());\n\
CREATE INDEX notes_account ON notes (account_id, created_at);\n\
/* backfill */ INSERT INTO notes (id, account_id, body) SELECT id, id, 'hello; world' FROM accounts WHERE handle IS NOT NULL;\n\
UPDATE accounts SET handle = lower(handle) WHERE handle <> lower(handle);\n\
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;\n\
CREATE TRIGGER notes_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION touch();\n\
SELECT count(*) FROM wasmig_revisions;\n";

fn time(label: &str, statements: usize, mut run: impl FnMut()) {
    for _ in 0..2_000 {
        run();
    }
    let rounds = 20_000;
    let start = Instant::now();
    for _ in 0..rounds {
        run();
    }
    let per_call = start.elapsed().as_secs_f64() / f64::from(rounds);
    println!("{label:<52} {:>8.2} µs/call {:>8.2} µs/statement", per_call * 1e6, per_call * 1e6 / statements as f64);
}

fn main() {
    let tables = vec!["wasmig_revisions".to_owned(), "wasmig_events".to_owned()];
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let before = Policy::transactions_only(dialect);
        let after = Policy::new(dialect).protect_tables(&tables);
        for (name, policy) in [("transactions only", before), ("full policy", after)] {
            time(&format!("{dialect:?} {name}: script(revision)"), 1, || {
                let _ = black_box(policy.check_script(black_box(REVISION)).unwrap());
            });
            time(&format!("{dialect:?} {name}: statement(insert)"), 1, || {
                let _ = black_box(policy.check_statement(black_box(STATEMENT)).unwrap());
            });
            if dialect == Dialect::Postgres {
                time(&format!("{dialect:?} {name}: script(7 statements)"), 7, || {
                    let _ = black_box(policy.check_script(black_box(SCRIPT)).unwrap());
                });
            }
        }
    }
}
