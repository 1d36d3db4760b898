//! The one place commands print results: text for people, JSON for
//! programs, and notes on stderr that `-q` silences.

use std::io::Write;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub quiet: bool,
}

impl Output {
    /// Prints the JSON document `value` builds, or the text `render` writes;
    /// only the one asked for is built.
    pub fn emit<T: Serialize>(
        &self,
        value: impl FnOnce() -> T,
        render: impl FnOnce(&mut String),
    ) -> super::error::CliResult<()> {
        let mut text = String::new();
        match self.format {
            Format::Json => {
                text = serde_json::to_string_pretty(&value())?;
                text.push('\n');
            }
            Format::Text => render(&mut text),
        }
        self.raw(&text)
    }

    /// Prints text as is: for outputs with a format of their own (DOT, Mermaid).
    pub fn raw(&self, text: &str) -> super::error::CliResult<()> {
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            // A closed pipe (`wasmig history | head`) is the reader's choice, not a failure.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        }
    }

    /// A remark for people on stderr: never mixed into the JSON on stdout.
    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// Reports a failed command: the message on stderr, and with
    /// `--format json` also a JSON object on stdout so a program reading it
    /// always gets a document.
    pub fn error(&self, error: &super::error::CliError, exit: super::exit::Exit) {
        let message = error_message(error);
        eprintln!("error: {message}");
        if self.format == Format::Json {
            let mut doc = serde_json::json!({ "error": message, "exit_code": exit.code() });
            if let super::error::CliError::Wasmig(error) = error {
                doc["kind"] = serde_json::json!(error.kind());
                // A run that stopped: what committed before, and the step that did not.
                if let Some(committed) = error.committed() {
                    doc["database"] = serde_json::json!(committed.database);
                    doc["committed"] = serde_json::json!(committed.steps);
                    doc["failed_step"] = serde_json::json!(error.failed_step());
                    doc["left_dirty"] = serde_json::json!(error.left_dirty());
                }
            }
            let _ = self.raw(&format!("{doc:#}\n"));
        }
    }
}

/// The error and its causes, each cause only when the text before it does
/// not already say it (our errors usually include their cause's text).
pub fn error_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let causes = std::iter::successors(error.source(), |cause| cause.source());
    for cause in causes {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[derive(Debug, thiserror::Error)]
    #[error("step failed: {source}")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let outer = Outer { source: std::io::Error::other("disk full") };
        assert_eq!(error_message(&outer), "step failed: disk full");
        let wrapped = anyhow::Error::new(std::io::Error::other("disk full")).context("writing the cache");
        let wrapped: &(dyn std::error::Error + 'static) = wrapped.as_ref();
        assert_eq!(error_message(wrapped), "writing the cache: disk full");
    }
}
