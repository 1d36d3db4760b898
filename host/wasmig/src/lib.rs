//! wasmig: database migrations whose revisions are sandboxed WebAssembly components.
//!
//! The host owns the revision graph ([`wasmig_graph`]), the transactions, the
//! locks and the version tables; each revision is a WebAssembly component run
//! by the [`runtime`] against a [`backend`] through the contract in
//! `sdk/wit/wasmig.wit`.

pub mod backend;
pub mod runtime;
pub mod sql;
