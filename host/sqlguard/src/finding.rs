//! What the policy's passes find in one statement, before the capabilities decide whether
//! each finding is a refusal or a recorded use.

use crate::class::StatementClass;

/// One thing the policy objects to, at lexeme `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) at: usize,
    pub(crate) what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum What {
    /// A statement or function of a refused class.
    Class { class: StatementClass, keyword: &'static str, subject: Option<String> },
    /// A protected table (index into the policy's list) used other than by a read.
    Table(usize),
    /// A protected schema (index into the policy's list) dropped or altered.
    Schema(usize),
}

/// Where the passes put their findings: one list reused across a script's statements.
#[derive(Debug, Default)]
pub(crate) struct Findings(pub(crate) Vec<Finding>);

impl Findings {
    pub(crate) fn class(&mut self, at: usize, class: StatementClass, keyword: &'static str) {
        self.0.push(Finding { at, what: What::Class { class, keyword, subject: None } });
    }

    pub(crate) fn class_about(&mut self, at: usize, class: StatementClass, keyword: &'static str, subject: &str) {
        let subject = Some(subject.to_ascii_lowercase());
        self.0.push(Finding { at, what: What::Class { class, keyword, subject } });
    }

    pub(crate) fn table(&mut self, at: usize, table: usize) {
        self.0.push(Finding { at, what: What::Table(table) });
    }

    pub(crate) fn schema(&mut self, at: usize, schema: usize) {
        self.0.push(Finding { at, what: What::Schema(schema) });
    }
}
