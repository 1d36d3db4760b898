//! The SQL dialects the guard reads: the one choice that changes how text is tokenized and split.

/// The SQL dialect, which decides how text is tokenized and split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
}
