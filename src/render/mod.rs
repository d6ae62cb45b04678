//! Turning plans, drift reports and apply reports into output: text for people (coloured on a
//! terminal), Markdown for pull-request comments, JSON for machines (the documents of
//! `plan::document`, printed as they are).

pub mod markdown;
pub mod text;

use serde::Serialize;

/// The JSON form of a document, as `--output json` prints it.
pub fn json<T: Serialize>(document: &T) -> String {
    serde_json::to_string_pretty(document).unwrap_or_default() + "\n"
}
