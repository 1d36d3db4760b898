//! Polyglot revision aeeaa0abd9de: the `orders` table and its first rows, written in Rust.
//!
//! The rows go in through parameters, whose placeholders are the dialect's
//! own (`?1` on SQLite, `$1` on PostgreSQL). `total_cents` stays empty: the
//! JavaScript backfill after the merge (34549f16f6b5) computes it.

use wasmig_sdk::{Db, Dialect, Result, Revision, export_revision, params};

/// (id, customer id, quantity, unit price in cents)
const ORDERS: [(i64, i64, i64, i64); 6] =
    [(1, 1, 2, 1250), (2, 1, 1, 9900), (3, 2, 10, 199), (4, 4, 3, 4500), (5, 5, 1, 120_000), (6, 5, 4, 350)];

struct CreateOrders;

impl Revision for CreateOrders {
    fn up(db: &Db) -> Result<()> {
        db.execute_script(
            "CREATE TABLE orders (
                id INTEGER PRIMARY KEY,
                customer_id INTEGER NOT NULL REFERENCES customers (id),
                quantity INTEGER NOT NULL,
                unit_price_cents INTEGER NOT NULL,
                total_cents BIGINT
            );
            CREATE INDEX orders_customer_id ON orders (customer_id);",
        )?;
        let insert = match db.dialect() {
            Dialect::Sqlite => {
                "INSERT INTO orders (id, customer_id, quantity, unit_price_cents) VALUES (?1, ?2, ?3, ?4)"
            }
            Dialect::Postgres => {
                "INSERT INTO orders (id, customer_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)"
            }
        };
        for (id, customer, quantity, unit_price) in ORDERS {
            db.execute(insert, params![id, customer, quantity, unit_price])?;
        }
        Ok(())
    }

    fn down(db: &Db) -> Result<()> {
        db.execute_script("DROP TABLE orders")?;
        Ok(())
    }
}

export_revision!(CreateOrders);
