//! Writing stack files from live state (`pipectl import`): the flags that select live objects,
//! their values, and a writer that keeps every live value data. Kinds and connections declare
//! their flags and write their sections with it; the file format knows no kind.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::escape::printable;

/// A flag of `pipectl import` that selects live objects of a kind (`--table NAME`).
#[derive(Debug, Clone, Copy)]
pub struct ImportFlag {
    /// The long name, without `--`.
    pub long: &'static str,
    pub value_name: &'static str,
    pub help: &'static str,
    /// Whether it may be given more than once.
    pub repeatable: bool,
    /// Whether it names objects to import by itself (false for one that only refines another,
    /// like `--storage-class` for `--statefulset`).
    pub selects: bool,
}

/// The values given to the kinds' import flags, by long name.
#[derive(Debug, Clone, Default)]
pub struct ImportValues(BTreeMap<String, Vec<String>>);

impl ImportValues {
    pub fn insert(&mut self, long: &str, values: Vec<String>) {
        if !values.is_empty() {
            self.0.insert(long.to_string(), values);
        }
    }

    /// Every value given to `--long`.
    pub fn all(&self, long: &str) -> &[String] {
        self.0.get(long).map_or(&[], Vec::as_slice)
    }

    /// The value of a flag given at most once.
    pub fn one(&self, long: &str) -> Option<&str> {
        self.all(long).first().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Part of a stack file being written, and what a person should review before the first
/// apply. A live setting pipectl would not choose is written as it is, under a `# REVIEW:`
/// comment, and listed in `flagged` for stderr.
#[derive(Debug, Default)]
pub struct StackWriter {
    pub text: String,
    pub flagged: Vec<String>,
    /// `[[ignore]]` rules for live settings a stack file cannot hold as they are: (resource,
    /// field, reason). Written at the end of the file.
    pub ignores: Vec<(String, String, String)>,
}

impl StackWriter {
    /// A `# REVIEW:` comment in the file and the same line on the list. `why` quotes live
    /// values (StorageClass parameters): it stays one comment line whatever they hold.
    pub fn review(&mut self, what: &str, why: &str) {
        self.line(&format!("# REVIEW: {why}"));
        self.flag(format!("{what}: {why}"));
    }

    /// A line on the review list only.
    pub fn flag(&mut self, text: String) {
        self.flagged.push(printable(&text).into_owned());
    }

    /// One line of the file. Values in it are TOML-quoted (`quoted`) or numbers; comment text
    /// may quote live values, so nothing in a line can start another: a newline in a live
    /// value would otherwise plant TOML (a `[kafka.admin]` pointing elsewhere) under a comment.
    pub fn line(&mut self, text: &str) {
        self.text.push_str(&printable(text));
        self.text.push('\n');
    }

    pub fn key(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.text, "{key} = {value}");
    }

    /// Keeps a live setting as it is until someone decides: an `[[ignore]]` rule at the end.
    pub fn ignore(&mut self, resource: String, field: &str, reason: String) {
        self.ignores.push((resource, field.to_string(), reason));
    }

    /// Another part after this one.
    pub fn append(&mut self, part: StackWriter) {
        self.text.push_str(&part.text);
        self.flagged.extend(part.flagged);
        self.ignores.extend(part.ignores);
    }
}

/// A TOML string.
pub fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

pub fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A float as the stack files write it: whole numbers without a fraction.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A StorageClass parameter with a newline cannot plant TOML under a `# REVIEW:` comment.
    #[test]
    fn a_live_value_in_a_comment_stays_in_the_comment() {
        let mut out = StackWriter::default();
        out.line("[stack]");
        out.key("name", quoted("imported"));
        out.review(
            "StorageClass kafka-gp3",
            "parameter tagSpecification_1 = \"x\n[kafka.admin]\nbootstrap_servers = [\"evil.example:9092\"]\"",
        );
        let table: toml::Table = out.text.parse().expect("the imported file is TOML");
        assert!(table.get("kafka").is_none(), "{}", out.text);
        assert_eq!(out.text.lines().count(), 3, "{}", out.text);
        assert!(!out.flagged[0].contains('\n'));
    }
}
