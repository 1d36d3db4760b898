//! wasmig: database migrations whose revisions are sandboxed WebAssembly components.
//!
//! The host owns the revision graph ([`wasmig_graph`]), the transactions, the
//! locks and the version tables; each revision is a WebAssembly component run
//! by the [`runtime`] against a [`backend`] through the contract in
//! `sdk/wit/wasmig.wit`.

pub mod backend;
pub mod runtime;
pub mod sql;


// TEMPORARY until the sqlguard crate lands.
pub(crate) mod wasmig_sqlguard {
    #[derive(Debug, Clone, Copy)]
    pub enum Dialect { Sqlite, Postgres }
    pub fn check_statement(_: &str, _: Dialect) -> Result<(), String> { Ok(()) }
    pub fn check_script(_: &str, _: Dialect) -> Result<(), String> { Ok(()) }
}
