//! Turning plans, drift reports and apply reports into output: text for people (coloured on a
//! terminal), Markdown for pull-request comments, JSON for machines (the documents of
//! `plan::document`, printed as they are).

pub mod cost;
pub mod fleet;
pub mod markdown;
pub mod permissions;
pub mod text;

use serde::Serialize;

/// The JSON form of a document, as `--output json` prints it.
pub fn json<T: Serialize>(document: &T) -> String {
    serde_json::to_string_pretty(document).unwrap_or_default() + "\n"
}

/// Drift reads as drift: what changed outside pipectl, live value against the stack file's.
/// Shared by the text and Markdown reports.
pub mod drift_words {
    use crate::plan::{Action, FieldDiff};

    /// What happened to a resource, seen from the stack file.
    pub fn what_happened(action: Action) -> &'static str {
        match action {
            Action::Update => "changed outside pipectl",
            Action::Replace => "changed outside pipectl (only a replacement restores it)",
            Action::Create => "is missing live (the stack file declares it)",
            Action::Delete => "exists live, but the stack file no longer declares it",
            Action::NoOp => "matches the stack file, but does not work",
        }
    }

    /// `memory_mib: live 2048, spec 1024`.
    pub fn field(diff: &FieldDiff) -> String {
        let live = diff.before.as_deref().unwrap_or("not set");
        let spec = diff.after.as_deref().unwrap_or("not in the stack file");
        format!("{}: live {live}, spec {spec}", diff.field)
    }

    /// "1 resource differs", "3 resources differ".
    pub fn count(resources: usize) -> String {
        if resources == 1 {
            "1 resource differs".to_string()
        } else {
            format!("{resources} resources differ")
        }
    }
}
