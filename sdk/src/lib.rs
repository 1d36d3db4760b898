//! The Rust guest SDK: write a wasmig revision as one [`Revision`] impl plus [`export_revision!`].
//!
//! A revision is a WebAssembly component that the wasmig host runs inside a
//! transaction it owns. The revision sees only the [`Db`] handle: SQL through
//! the host, its own files ([`Db::asset`]), its id, the tenant and a log. It has
//! no files, network, clock or randomness, and cannot begin or end
//! transactions.
//!
//! ```no_run
//! use wasmig_sdk::{export_revision, params, Db, Dialect, Result, Revision};
//!
//! struct AddUsers;
//!
//! impl Revision for AddUsers {
//!     fn up(db: &Db) -> Result<()> {
//!         let id_type = match db.dialect() {
//!             Dialect::Sqlite => "INTEGER PRIMARY KEY",
//!             Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
//!         };
//!         db.execute_script(&format!("CREATE TABLE users (id {id_type}, name TEXT NOT NULL)"))?;
//!         let insert = match db.dialect() {
//!             Dialect::Sqlite => "INSERT INTO users (name) VALUES (?1)",
//!             Dialect::Postgres => "INSERT INTO users (name) VALUES ($1)",
//!         };
//!         db.execute(insert, params!["admin"])?;
//!         let rows = db.query("SELECT count(*) FROM users", params![])?;
//!         let count: i64 = rows.first().expect("one row").get(0)?;
//!         db.info(&format!("{count} users after the seed"));
//!         Ok(())
//!     }
//!
//!     fn down(db: &Db) -> Result<()> {
//!         db.execute_script("DROP TABLE users")?;
//!         Ok(())
//!     }
//! }
//!
//! export_revision!(AddUsers);
//! ```
//!
//! Build it for `wasm32-unknown-unknown` with `wasm-component-ld` as the linker
//! (see the project's `docs/GUESTS.md`); the result imports only the wasmig
//! contract.

// The generated code names its runtime through this crate, also from inside it.
extern crate self as wasmig_sdk;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "revision",
        pub_export_macro: true,
        export_macro_name: "__export_revision_world",
        default_bindings_module: "::wasmig_sdk::__private::bindings",
        runtime_path: "::wasmig_sdk::__private::wit_bindgen::rt",
        additional_derives: [PartialEq],
    });
}

mod db;
mod error;
mod value;

pub use db::Db;
pub use error::{DbError, Error, Result};
pub use value::{FromValue, Row, Rows, Value};

/// The SQL dialect of the database the revision runs against.
pub use bindings::wasmig::revision::types::SqlDialect as Dialect;
/// What [`Revision::verify`] found.
pub use bindings::wasmig::revision::types::Verdict;

/// A revision: how to apply it, how to revert it, and optionally how to tell
/// whether its effect is already in the database.
pub trait Revision {
    /// Applies the revision. An `Err` rolls the step back and stops the run.
    fn up(db: &Db) -> Result<()>;

    /// Reverts the revision. Return an `Err` for a revision that cannot be
    /// reverted; the host then refuses the downgrade.
    fn down(db: &Db) -> Result<()>;

    /// Tells `wasmig upgrade --adopt` whether this revision's effect is already
    /// present. The default, [`Verdict::Unknown`], makes adoption run `up`.
    fn verify(db: &Db) -> Result<Verdict> {
        let _ = db;
        Ok(Verdict::Unknown)
    }
}

/// Exports a [`Revision`] impl as the component's `up`, `down` and `verify`.
///
/// Use it once per crate, at the top level: `export_revision!(MyRevision);`.
#[macro_export]
macro_rules! export_revision {
    ($revision:ty) => {
        const _: () = {
            struct WasmigExport;

            impl $crate::__private::Guest for WasmigExport {
                fn up() -> ::core::result::Result<(), $crate::__private::String> {
                    $crate::__private::run(|db| <$revision as $crate::Revision>::up(db))
                }
                fn down() -> ::core::result::Result<(), $crate::__private::String> {
                    $crate::__private::run(|db| <$revision as $crate::Revision>::down(db))
                }
                fn verify() -> ::core::result::Result<$crate::Verdict, $crate::__private::String> {
                    $crate::__private::run(|db| <$revision as $crate::Revision>::verify(db))
                }
            }

            $crate::__private::bindings::__export_revision_world!(WasmigExport);
        };
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::bindings::Guest;
    pub use std::string::String;
    pub use wit_bindgen;

    /// Runs one hook with a panic hook that sends the panic message to the
    /// host log first: the guest aborts on panic, and without this the user
    /// would only see "unreachable".
    pub fn run<T>(hook: impl FnOnce(&crate::Db) -> crate::Result<T>) -> Result<T, String> {
        std::panic::set_hook(Box::new(|info| {
            crate::Db::new().error(&format!("panic: {info}"));
        }));
        hook(&crate::Db::new()).map_err(|error| error.to_string())
    }
}
