//! `extends = "base.toml"`: a stack file that overrides another, so dev, staging and prod share
//! one base. The files are merged key by key (the extending file wins); arrays of tables are
//! merged entry by entry, matched by their identity key (`name` for functions, tables and
//! indexes, `endpoint` and `variant` for SageMaker variants, `resource` for ignore rules), and
//! an entry only one file has is kept. Other arrays are replaced whole.
//!
//! The merged document is validated as one stack. Each error is then traced back to the file
//! and line that set the value: its path in the merged document (`lambda.functions[1].memory_mib`)
//! is looked up in the files from the extending one down to the base.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

use super::diagnostic::{Diagnostic, Origin, SpecError};
use super::source::{self, LoadOptions};

/// The longest chain of `extends` pipectl follows (a guard against long or circular chains).
const MAX_DEPTH: usize = 8;

/// One file of a chain, base first.
pub struct Layer {
    pub path: PathBuf,
    pub text: String,
}

/// The `extends` value of a parsed file, if any.
pub fn extends_of(table: &Table) -> Option<&str> {
    table.get("extends").and_then(Value::as_str)
}

/// Files among `files` that another of them names in `extends` (they are bases, not stacks).
pub fn extended_files(files: &[PathBuf], options: &LoadOptions) -> Vec<PathBuf> {
    let mut bases = vec![];
    for file in files {
        let Ok(text) = source::read_confined_stack_file(file, options) else {
            continue;
        };
        let Ok(table) = text.parse::<toml::Table>() else {
            continue;
        };
        if let Some(base) = extends_of(&table) {
            let dir = file.parent().unwrap_or(Path::new("."));
            bases.push(dir.join(base));
        }
    }
    bases
}

/// Reads the chain that starts at `path`: its bases first, `path` last.
pub fn chain(path: &Path, text: String, options: &LoadOptions) -> Result<Vec<Layer>, SpecError> {
    let mut layers = vec![Layer {
        path: path.to_path_buf(),
        text,
    }];
    loop {
        let current = layers.last().map(|l| (l.path.clone(), l.text.clone()));
        let Some((current_path, current_text)) = current else {
            break;
        };
        let table: Table = match current_text.parse() {
            Ok(table) => table,
            // Syntax errors are reported by the caller's parse of that file.
            Err(_) => return Err(syntax_error(&current_path, &current_text)),
        };
        let Some(base) = extends_of(&table) else {
            break;
        };
        let span = value_span(&current_text, "extends").unwrap_or(0..0);
        let base_path = current_path.parent().unwrap_or(Path::new(".")).join(base);
        let fail = |message: String, help: &str| {
            SpecError::new(
                &current_path,
                &current_text,
                vec![Diagnostic::new(span.clone(), "extends", message, help)],
            )
        };
        if layers.iter().any(|l| same_file(&l.path, &base_path)) {
            return Err(fail(
                format!("extends {base:?} makes a cycle of stack files"),
                "a base must not extend the file that extends it",
            ));
        }
        if layers.len() > MAX_DEPTH {
            return Err(fail(
                format!("more than {MAX_DEPTH} levels of extends"),
                "flatten the chain of base files",
            ));
        }
        // Only a .toml file inside this file's tree (or an allowed directory), symlinks
        // resolved, and bounded: a pull request's `extends` must not read the runner's files.
        let base_text = source::check_extends_target(&current_path, &base_path, options)
            .and_then(|resolved| source::read_stack_file(&resolved))
            .map_err(|refused| fail(refused.message, &refused.help))?;
        layers.push(Layer {
            path: base_path,
            text: base_text,
        });
    }
    layers.reverse();
    Ok(layers)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn syntax_error(path: &Path, text: &str) -> SpecError {
    match super::parse(path, text, &Default::default()) {
        Err(error) => error,
        Ok(_) => SpecError::new(path, text, vec![]),
    }
}

/// The span of a top-level key's value.
fn value_span(text: &str, key: &str) -> Option<Range<usize>> {
    let table = DeTable::parse(text).ok()?;
    table
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v.span())
}

/// The merged document of a chain, as TOML text.
pub fn merge(layers: &[Layer]) -> Result<String, SpecError> {
    let mut merged = Table::new();
    for layer in layers {
        let table: Table = layer
            .text
            .parse()
            .map_err(|_| syntax_error(&layer.path, &layer.text))?;
        merge_tables(&mut merged, table);
    }
    merged.remove("extends");
    toml::to_string(&merged).map_err(|err| {
        let last = layers.last().map(|l| (l.path.clone(), l.text.clone()));
        let (path, text) = last.unwrap_or_default();
        SpecError::new(
            &path,
            &text,
            vec![Diagnostic::new(
                0..0,
                "",
                format!("the merged stack cannot be written as TOML: {err}"),
                "check the types of keys set in both files",
            )],
        )
    })
}

const IDENTITY_KEYS: [&str; 4] = ["name", "endpoint", "variant", "resource"];

/// What identifies an entry of an array of tables across files.
fn identity(table: &Table) -> Option<Vec<String>> {
    let keys: Vec<String> = IDENTITY_KEYS
        .iter()
        .filter_map(|k| table.get(*k).map(|v| format!("{k}={v}")))
        .collect();
    (!keys.is_empty()).then_some(keys)
}

fn merge_tables(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_table)), Value::Table(over_table)) => {
                merge_tables(base_table, over_table)
            }
            (Some(Value::Array(base_items)), Value::Array(over_items))
                if is_identified(base_items) && is_identified(&over_items) =>
            {
                // Entries indexed by identity once: a linear search per entry made 8,000
                // entries take minutes.
                let mut position: std::collections::HashMap<Option<Vec<String>>, usize> =
                    std::collections::HashMap::new();
                for (at, entry) in base_items.iter().enumerate() {
                    if let Value::Table(entry) = entry {
                        position.entry(identity(entry)).or_insert(at);
                    }
                }
                for item in over_items {
                    let Value::Table(item) = item else { continue };
                    let id = identity(&item);
                    match position.get(&id).and_then(|at| base_items.get_mut(*at)) {
                        Some(Value::Table(existing)) => merge_tables(existing, item),
                        _ => {
                            position.insert(id, base_items.len());
                            base_items.push(Value::Table(item));
                        }
                    }
                }
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn is_identified(items: &[Value]) -> bool {
    items
        .iter()
        .all(|v| matches!(v, Value::Table(t) if identity(t).is_some()))
}

/// One step of a path in a document.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    Key(String),
    /// An entry of an array of tables, by its identity (or its position, without one).
    Entry(Option<Vec<String>>, usize),
}

/// The field at byte `offset` as the checks name fields: `lambda.functions[0].timeout_seconds`.
pub fn field_at(table: &DeTable<'_>, offset: usize) -> String {
    let mut path = vec![];
    path_at(table, offset, &mut path);
    let mut field = String::new();
    for step in path {
        match step {
            Step::Key(key) if field.is_empty() => field.push_str(&key),
            Step::Key(key) => {
                field.push('.');
                field.push_str(&key);
            }
            Step::Entry(_, index) => field.push_str(&format!("[{index}]")),
        }
    }
    field
}

/// The path of the deepest key or value of `table` whose span holds `offset`.
pub(super) fn path_at(table: &DeTable<'_>, offset: usize, path: &mut Vec<Step>) -> bool {
    for (key, value) in table.iter() {
        let holds =
            |span: Range<usize>| span.start <= offset && offset < span.end.max(span.start + 1);
        if holds(key.span()) {
            path.push(Step::Key(key.get_ref().to_string()));
            return true;
        }
        if holds(value.span()) || contains_offset(value.get_ref(), offset) {
            path.push(Step::Key(key.get_ref().to_string()));
            descend(value.get_ref(), offset, path);
            return true;
        }
    }
    false
}

fn contains_offset(value: &DeValue<'_>, offset: usize) -> bool {
    match value {
        DeValue::Table(table) => table.iter().any(|(k, v)| {
            k.span().contains(&offset)
                || v.span().contains(&offset)
                || contains_offset(v.get_ref(), offset)
        }),
        DeValue::Array(items) => items
            .iter()
            .any(|v| v.span().contains(&offset) || contains_offset(v.get_ref(), offset)),
        _ => false,
    }
}

fn descend(value: &DeValue<'_>, offset: usize, path: &mut Vec<Step>) {
    match value {
        DeValue::Table(table) => {
            path_at(table, offset, path);
        }
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                if item.span().contains(&offset) || contains_offset(item.get_ref(), offset) {
                    let id = match item.get_ref() {
                        DeValue::Table(t) => de_identity(t),
                        _ => None,
                    };
                    path.push(Step::Entry(id, index));
                    descend(item.get_ref(), offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

fn de_identity(table: &DeTable<'_>) -> Option<Vec<String>> {
    let keys: Vec<String> = IDENTITY_KEYS
        .iter()
        .filter_map(|k| {
            table
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == *k)
                .map(|(_, v)| format!("{k}={}", de_display(v.get_ref())))
        })
        .collect();
    (!keys.is_empty()).then_some(keys)
}

/// A scalar as `toml::Value` displays it, so identities compare across the two parsers.
fn de_display(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => Value::String(s.to_string()).to_string(),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// The span of `path` in one file, if that file sets it.
fn span_in(table: &DeTable<'_>, path: &[Step]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let Step::Key(key) = first else { return None };
    let (k, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key)?;
    if rest.is_empty() {
        return Some(value.span().start.max(k.span().start)..value.span().end.max(k.span().end));
    }
    value_span_in(value.get_ref(), rest)
}

fn value_span_in(value: &DeValue<'_>, path: &[Step]) -> Option<Range<usize>> {
    match (value, path.first()?) {
        (DeValue::Table(table), Step::Key(_)) => span_in(table, path),
        (DeValue::Array(items), Step::Entry(id, index)) => {
            let item = match id {
                Some(id) => items.iter().find(|item| match item.get_ref() {
                    DeValue::Table(t) => de_identity(t).as_ref() == Some(id),
                    _ => false,
                })?,
                None => items.get(*index)?,
            };
            if path.len() == 1 {
                Some(item.span())
            } else {
                value_span_in(item.get_ref(), &path[1..])
            }
        }
        _ => None,
    }
}

/// Points each diagnostic of the merged document at the file and span that set the value.
pub fn trace(error: SpecError, merged_text: &str, layers: &[Layer]) -> SpecError {
    let Ok(merged) = DeTable::parse(merged_text) else {
        return error;
    };
    let parsed: Vec<(Origin, Option<toml::Spanned<DeTable<'_>>>)> = layers
        .iter()
        .map(|layer| {
            (
                Origin {
                    path: layer.path.clone(),
                    text: Arc::from(layer.text.as_str()),
                },
                DeTable::parse(&layer.text).ok(),
            )
        })
        .collect();
    let diagnostics = error
        .diagnostics
        .into_iter()
        .map(|mut diagnostic| {
            let mut path = vec![];
            path_at(merged.get_ref(), diagnostic.span.start, &mut path);
            // The whole path, in the extending file first (it overrides its bases); failing
            // that, the closest enclosing table that a file sets (e.g. for a missing key).
            let found = (1..=path.len()).rev().find_map(|len| {
                parsed.iter().rev().find_map(|(origin, table)| {
                    let span = span_in(table.as_ref()?.get_ref(), &path[..len])?;
                    Some((origin.clone(), span))
                })
            });
            match found {
                Some((origin, span)) => {
                    diagnostic.span = span;
                    diagnostic.origin = Some(origin);
                }
                None => {
                    // Not set by any file (a key that is missing everywhere): the extending file.
                    if let Some((origin, _)) = parsed.last() {
                        diagnostic.span = 0..0;
                        diagnostic.origin = Some(origin.clone());
                    }
                }
            }
            diagnostic
        })
        .collect();
    SpecError {
        path: error.path,
        source_text: error.source_text,
        diagnostics,
    }
}
