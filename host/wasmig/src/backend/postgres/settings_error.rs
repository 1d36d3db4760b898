//! What can be wrong with connection settings: [`SettingsError`], a syntax problem or settings that cannot be used.

use std::fmt;

/// A problem with the connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SettingsError {
    /// The connection string itself is wrong (syntax, an unknown setting, a bad value).
    Syntax(String),
    /// The settings are well-formed but cannot be used (a missing file, a contradiction).
    Unusable(String),
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Syntax(reason) | SettingsError::Unusable(reason) => f.write_str(reason),
        }
    }
}

/// A [`SettingsError::Syntax`] with this reason.
pub(super) fn syntax(reason: impl Into<String>) -> SettingsError {
    SettingsError::Syntax(reason.into())
}
