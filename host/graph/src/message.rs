//! Pieces of error messages shared by several concerns: a list of ids, and
//! the `wasmig merge` command that joins several heads.

use std::fmt;

/// A list of ids for messages: `a, b, c`.
pub(crate) struct IdList<'a, T>(pub &'a [T]);

impl<T: fmt::Display> fmt::Display for IdList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

/// The command that merges the given heads, as printed in error messages.
pub fn merge_command<T: fmt::Display>(heads: &[T]) -> String {
    let ids: Vec<String> = heads.iter().map(ToString::to_string).collect();
    format!("wasmig merge -m \"merge heads\" {}", ids.join(" "))
}

/// A path as error messages show it.
pub(crate) fn show(path: &std::path::Path) -> std::path::Display<'_> {
    path.display()
}
