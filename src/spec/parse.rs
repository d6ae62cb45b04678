//! Stack text into a `StackSpec`, reporting every error of the file in one run.
//!
//! serde stops at the first value it cannot take. To find the others, the file is parsed once
//! into toml's spanned tree; after each error the entry it points at is taken out of the tree
//! and the tree is deserialized again, so the spans of every later error still point into the
//! original text. An error that only exists because an earlier bad entry was taken out (a
//! required key now "missing") ends the search instead of being reported.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, Deserializer};
use toml::Spanned;

use super::diagnostic::Diagnostic;
use super::extends::Step;
use super::section::{SectionKind, Sections};
use super::types::{Header, StackSpec};

/// A file with more errors than this is reported up to here: the first ones are what to fix.
const MAX_ERRORS: usize = 50;

/// The stack file's own top-level keys (`Header`); every other key belongs to a section.
const HEADER_KEYS: &[&str] = &["stack", "ignore", "extends"];

/// Parses stack text with the sections the kinds own: the spec (what remains once bad entries
/// are taken out, so validation can report its errors too), and every syntax error or error of
/// a key or value, located and with how to fix it. No spec when the syntax is broken or a
/// required key is bad.
pub fn parse_spec(text: &str, sections: &[SectionKind]) -> (Option<StackSpec>, Vec<Diagnostic>) {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return (None, syntax.iter().map(syntax_diagnostic).collect());
    }
    let mut recovery = Recovery {
        root,
        diagnostics: vec![],
        removed_keys: vec![],
        holders: Sections::default(),
        sentinel: text.len() + 1,
        placeholder: None,
    };
    check_keys(&mut recovery, &[], sections);
    let header = recovery.decode(None, |root| Header::deserialize(Deserializer::from(root)));
    let mut decoded = std::mem::take(&mut recovery.holders);
    let mut complete = true;
    for section in sections {
        match recovery.decode(Some(section), |root| section.decode(root)) {
            Some(Some(value)) => decoded.insert(section, value),
            Some(None) => {}
            None => complete = false,
        }
    }
    let diagnostics = in_file_order(recovery.diagnostics);
    match header {
        Some(header) if complete => (
            Some(StackSpec {
                stack: header.stack,
                ignore: header.ignore,
                extends: header.extends,
                sections: decoded,
            }),
            diagnostics,
        ),
        _ => (None, diagnostics),
    }
}

/// The parsed tree, from which each bad entry is taken out once it is reported, and what was
/// reported.
struct Recovery<'t> {
    root: Spanned<DeTable<'t>>,
    diagnostics: Vec<Diagnostic>,
    removed_keys: Vec<String>,
    /// The tables found that hold sections.
    holders: Sections,
    /// Where the values put in for missing keys are said to be: past the end of the text, so an
    /// error about one (or a check of one) is known as such and never reported.
    sentinel: usize,
    /// The value last put in for a missing key, while its type is being found.
    placeholder: Option<Placeholder>,
}

/// A value put in for a missing required key, so serde goes on to the next missing key (every
/// missing key is reported in one run): tried as each kind of TOML value until one fits.
struct Placeholder {
    table_at: usize,
    key: String,
    attempt: usize,
}

/// The kinds of value a placeholder is tried as, in order.
const PLACEHOLDERS: &[&str] = &["0", "\"\"", "true", "[]", "{}", "0.0"];

impl<'t> Recovery<'t> {
    /// Decodes a part of the file, reporting each error and taking its entry out until the
    /// rest decodes; none when an error cannot be taken out (a required key is bad).
    fn decode<T>(
        &mut self,
        section: Option<&SectionKind>,
        decode: impl Fn(Spanned<DeTable<'t>>) -> Result<T, toml::de::Error>,
    ) -> Option<T> {
        let mut last_error: Option<(Range<usize>, String)> = None;
        while self.diagnostics.len() < MAX_ERRORS {
            let error = match decode(self.root.clone()) {
                Ok(value) => return Some(value),
                Err(error) => error,
            };
            let message = error.message().trim().to_string();
            let span = error.span().unwrap_or(0..0);
            if let Some(key) = missing_field(&message)
                .filter(|key| self.removed_keys.iter().any(|k| k == key))
                .map(str::to_string)
            {
                // Its bad value was reported and taken out: a placeholder (never reported)
                // lets the rest of the file be read and checked in the same run.
                if span.start < self.sentinel && self.fill_in(span.start, &key) {
                    continue;
                }
                return None;
            }
            if span.start >= self.sentinel {
                // The value put in for a missing key has the wrong type: try the next kind.
                if self.retype_placeholder() {
                    continue;
                }
                return None;
            }
            if last_error.as_ref() == Some(&(span.clone(), message.clone())) {
                return None; // taking the entry out did not help: do not report it twice
            }
            last_error = Some((span.clone(), message.clone()));
            let aliases = section.map_or(&[][..], |s| s.aliases);
            let explained = section.and_then(|s| s.explain(&message));
            let field = super::extends::field_at(self.root.get_ref(), span.start);
            let mut diagnostic = value_diagnostic(&message, span.clone(), aliases, explained);
            diagnostic.field = field;
            self.diagnostics.push(diagnostic);
            if let Some(key) = missing_field(&message) {
                if self.fill_in(span.start, key) {
                    continue;
                }
            }
            // A key with an evident correct spelling is read as that key, so its value is still
            // checked and the section is not also reported as missing it.
            if let Some(correct) =
                unknown_field(&message).and_then(|(key, expected)| likely_key(&key, &expected))
            {
                if rename_key(self.root.get_mut(), span.start, &correct) {
                    continue;
                }
            }
            match take_out(self.root.get_mut(), span.start) {
                Some(key) => self.removed_keys.push(key),
                None => return None,
            }
        }
        None
    }

    /// Puts a placeholder in for the missing `key` of the table at byte `at`, so the next
    /// decode reports the table's next missing key.
    fn fill_in(&mut self, at: usize, key: &str) -> bool {
        let placeholder = Placeholder {
            table_at: at,
            key: key.to_string(),
            attempt: 0,
        };
        let placed = self.place(&placeholder);
        if placed {
            self.placeholder = Some(placeholder);
        }
        placed
    }

    /// The next kind of value for the current placeholder, if one is left.
    fn retype_placeholder(&mut self) -> bool {
        let Some(mut placeholder) = self.placeholder.take() else {
            return false;
        };
        placeholder.attempt += 1;
        if placeholder.attempt >= PLACEHOLDERS.len() || !self.place(&placeholder) {
            return false;
        }
        self.placeholder = Some(placeholder);
        true
    }

    fn place(&mut self, placeholder: &Placeholder) -> bool {
        let Ok(value) = DeValue::parse(PLACEHOLDERS[placeholder.attempt]) else {
            return false;
        };
        let value = Spanned::new(self.sentinel..self.sentinel + 1, value.into_inner());
        let Some(table) = table_holding(self.root.get_mut(), placeholder.table_at) else {
            return false;
        };
        let key = Spanned::new(
            self.sentinel..self.sentinel + 1,
            std::borrow::Cow::Owned(placeholder.key.clone()),
        );
        table.insert(key, value);
        true
    }
}

/// The innermost table (an entry of an array of tables included) at byte `at`, found by the
/// keys that lead to it; the whole file when no key does.
fn table_holding<'a, 't>(root: &'a mut DeTable<'t>, at: usize) -> Option<&'a mut DeTable<'t>> {
    let mut steps = vec![];
    super::extends::path_at(root, at, &mut steps);
    let mut steps = steps.into_iter().peekable();
    let mut table = root;
    loop {
        // Decided on a shared look first, so the table is borrowed to change only to go down.
        let Some(Step::Key(key)) = steps.next() else {
            return Some(table);
        };
        let entry = match steps.peek() {
            Some(Step::Entry(_, index)) => Some(*index),
            _ => None,
        };
        let goes_down = table
            .iter()
            .find(|(k, _)| k.get_ref() == key.as_str())
            .is_some_and(|(_, value)| match (value.get_ref(), entry) {
                (DeValue::Table(_), None) => true,
                (DeValue::Array(items), Some(index)) => items
                    .get(index)
                    .is_some_and(|item| item.get_ref().is_table()),
                _ => false,
            });
        if !goes_down {
            return Some(table);
        }
        if entry.is_some() {
            steps.next();
        }
        let value = table
            .iter_mut()
            .find(|(k, _)| k.get_ref() == key.as_str())
            .map(|(_, value)| value.get_mut())?;
        table = match (value, entry) {
            (DeValue::Table(inner), None) => inner,
            (DeValue::Array(items), Some(index)) => match items.get_mut(index)?.get_mut() {
                DeValue::Table(inner) => inner,
                _ => return None,
            },
            _ => return None,
        };
    }
}

/// Reports the keys at `path` that neither the file format nor any section claims (taking them
/// out, or reading an evident misspelling as the key it meant), and descends into the tables
/// that hold sections (`[kafka]` holds `[kafka.brokers]`).
fn check_keys(recovery: &mut Recovery<'_>, path: &[&str], sections: &[SectionKind]) {
    let mut expected: Vec<String> = if path.is_empty() {
        HEADER_KEYS.iter().map(|k| k.to_string()).collect()
    } else {
        vec![]
    };
    for section in sections.iter().filter(|s| s.path.starts_with(path)) {
        if let Some(key) = section.path.get(path.len()) {
            if !expected.iter().any(|k| k == key) {
                expected.push(key.to_string());
            }
        }
    }
    let Some(table) = table_at(recovery.root.get_mut(), path) else {
        return;
    };
    if !path.is_empty() {
        recovery.holders.holder_found(path);
    }
    let keys: Vec<Spanned<String>> = table
        .keys()
        .map(|key| Spanned::new(key.span(), key.get_ref().to_string()))
        .collect();
    for key in keys {
        let name = key.get_ref();
        if !expected.iter().any(|k| k == name) {
            let field = path
                .iter()
                .copied()
                .chain([name.as_str()])
                .collect::<Vec<_>>()
                .join(".");
            recovery.diagnostics.push(Diagnostic::new(
                key.span(),
                field,
                format!("unknown key `{name}`"),
                suggestion(name, &expected, &[]),
            ));
            let root = recovery.root.get_mut();
            let renamed = likely_key(name, &expected)
                .is_some_and(|correct| rename_key(root, key.span().start, &correct));
            if !renamed {
                take_out(root, key.span().start);
            }
        }
    }
    let inner: Vec<&'static str> = expected
        .iter()
        .filter_map(|key| {
            sections
                .iter()
                .find(|s| s.path.len() > path.len() + 1 && s.path[path.len()] == key)
                .map(|s| s.path[path.len()])
        })
        .collect();
    for key in inner {
        let mut deeper = path.to_vec();
        deeper.push(key);
        check_keys(recovery, &deeper, sections);
    }
}

/// The table at `path`, if every key on the way holds a table.
fn table_at<'a, 't>(table: &'a mut DeTable<'t>, path: &[&str]) -> Option<&'a mut DeTable<'t>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(table);
    };
    let value = table
        .iter_mut()
        .find(|(key, _)| key.get_ref() == first)
        .map(|(_, value)| value)?;
    match value.get_mut() {
        DeValue::Table(inner) => table_at(inner, rest),
        _ => None,
    }
}

/// Keys are deserialized in name order, not file order.
fn in_file_order(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics.sort_by_key(|d| d.span.start);
    diagnostics
}

/// Where the first syntax error is, when it comes before any TOML at all: nothing but blank
/// lines and comments precede its line. Such a file is not a stack file with a typo but something else
/// with a `.toml` name.
pub fn is_not_toml_at_all(text: &str) -> Option<usize> {
    let (_, syntax) = DeTable::parse_recoverable(text);
    let first = syntax
        .iter()
        .filter_map(|e| e.span())
        .map(|s| s.start)
        .min()?;
    let first = first.min(text.len());
    let line_start = text[..first].rfind('\n').map_or(0, |i| i + 1);
    text[..line_start]
        .lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#'))
        .then_some(first)
}

fn syntax_diagnostic(error: &toml::de::Error) -> Diagnostic {
    Diagnostic::new(
        error.span().unwrap_or(0..0),
        "",
        error.message().trim(),
        "fix the TOML syntax at this position (strings in double quotes, one key = value per line)",
    )
}

/// The key of `missing field `KEY``.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// A diagnostic for a key or value serde refused, with the message made readable and the
/// help that fits it.
fn value_diagnostic(
    message: &str,
    span: Range<usize>,
    aliases: &[(&str, &str)],
    explained: Option<(String, String)>,
) -> Diagnostic {
    if let Some((message, help)) = explained {
        return Diagnostic::new(span, "", message, help);
    }
    if let Some((key, expected)) = unknown_field(message) {
        return Diagnostic::new(
            span,
            "",
            format!("unknown key `{key}`"),
            suggestion(&key, &expected, aliases),
        );
    }
    let message = in_words(message);
    let help = if message.starts_with("missing field") {
        "add the key; docs/spec.md says which keys each section requires"
    } else if message.starts_with("invalid type") {
        "give the value the type docs/spec.md lists for this key (numbers unquoted, names quoted)"
    } else if message.starts_with("unknown variant") {
        "use one of the values listed in the message"
    } else {
        "check the value against docs/spec.md"
    };
    Diagnostic::new(span, "", message, help)
}

/// serde's type names in the words a stack file's author uses: `expected i64` is "expected a
/// whole number", `expected struct ScaleDown` is "expected a table like `{ key = value }`".
fn in_words(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected i64", "expected a whole number"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected a quoted string"),
        (
            "expected a sequence",
            "expected a list like `[\"a\", \"b\"]`",
        ),
        ("expected a map", "expected a table like `{ key = value }`"),
        ("invalid type: string", "invalid type: a string"),
        ("invalid type: integer", "invalid type: a whole number"),
        ("invalid type: floating point", "invalid type: a number"),
        ("invalid type: sequence", "invalid type: a list"),
        ("invalid type: map", "invalid type: a table"),
    ];
    let mut words = message.to_string();
    if let Some(at) = words.find("expected struct ") {
        let name_end = words[at + 16..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(words.len(), |end| at + 16 + end);
        words.replace_range(at..name_end, "expected a table like `{ key = value }`");
    }
    for (serde, ours) in WORDS {
        words = words.replace(serde, ours);
    }
    words
}

/// For `unknown field `k`, expected one of `a`, `b``: the key and the list.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, list) = rest.split_once('`')?;
    let expected = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), expected))
}

/// The key an unknown key evidently meant: its snake_case spelling (the Kubernetes name of the
/// same setting), a key it is the start of (`timeout` for `timeout_seconds`), or the one
/// nearest by edit distance.
fn likely_key(key: &str, expected: &[String]) -> Option<String> {
    let snake = snake_case(key);
    if expected.contains(&snake) {
        return Some(snake);
    }
    if let Some(longer) = expected
        .iter()
        .find(|candidate| candidate.starts_with(&format!("{snake}_")))
    {
        return Some(longer.clone());
    }
    expected
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(key, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.clone())
}

/// How to fix an unknown key: "did you mean", saying so when the key is a Kubernetes name.
pub fn suggestion(key: &str, expected: &[String], aliases: &[(&str, &str)]) -> String {
    let listed = format!("this section takes: {}", expected.join(", "));
    if let Some((_, instead)) = aliases.iter().find(|(name, _)| *name == key) {
        return format!("`{key}` is the name in Kubernetes; in a stack file it is {instead}");
    }
    match likely_key(key, expected) {
        Some(candidate) if snake_case(key) == candidate => format!(
            "did you mean `{candidate}`? `{key}` is the name in Kubernetes; stack files spell keys in snake_case"
        ),
        Some(candidate) => format!("did you mean `{candidate}`? ({listed})"),
        None if expected.is_empty() => {
            "remove the key; docs/spec.md lists every key of every section".to_string()
        }
        None => format!("remove or rename the key; {listed}"),
    }
}

fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Renames the key whose name holds byte `at` to `correct`, unless that key is already there.
fn rename_key(table: &mut DeTable<'_>, at: usize, correct: &str) -> bool {
    if let Some(key) = table.keys().find(|key| holds(key.span(), at)).cloned() {
        if table.keys().any(|k| k.get_ref() == correct) {
            return false;
        }
        let Some(value) = table.remove(&key) else {
            return false;
        };
        let renamed = toml::Spanned::new(key.span(), std::borrow::Cow::Owned(correct.to_string()));
        table.insert(renamed, value);
        return true;
    }
    table.iter_mut().any(|(_, value)| match value.get_mut() {
        DeValue::Table(inner) => rename_key(inner, at, correct),
        DeValue::Array(items) => items.iter_mut().any(|item| match item.get_mut() {
            DeValue::Table(inner) => rename_key(inner, at, correct),
            _ => false,
        }),
        _ => false,
    })
}

/// Takes the entry at byte `at` out of the tree: the innermost key whose name or value holds
/// `at`, or the array element (a `[[table]]`) that does. Returns the removed key's name.
fn take_out(table: &mut DeTable<'_>, at: usize) -> Option<String> {
    if let Some(key) = table.keys().find(|key| holds(key.span(), at)).cloned() {
        table.remove(&key);
        return Some(key.into_inner().into_owned());
    }
    for (_, value) in table.iter_mut() {
        if let Some(found) = take_out_inside(value.get_mut(), at) {
            return Some(found);
        }
    }
    let key = table
        .iter()
        .find(|(key, value)| holds(key.span(), at) || holds(value.span(), at))
        .map(|(key, _)| key.clone())?;
    table.remove(&key);
    Some(key.into_inner().into_owned())
}

fn take_out_inside(value: &mut DeValue<'_>, at: usize) -> Option<String> {
    match value {
        DeValue::Table(table) => take_out(table, at),
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                if let Some(found) = take_out_inside(item.get_mut(), at) {
                    return Some(found);
                }
            }
            let index = items
                .iter()
                .position(|item| item.get_ref().is_table() && holds(item.span(), at))?;
            *items = items
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != index)
                .map(|(_, item)| item.clone())
                .collect();
            Some(format!("[{index}]"))
        }
        _ => None,
    }
}

fn holds(span: Range<usize>, at: usize) -> bool {
    span.start <= at && (at < span.end || span.is_empty() && at == span.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        parse_spec(text, &[SectionKind::of::<Function>()])
            .1
            .into_iter()
            .map(|d| format!("{} | {}", d.message, d.help))
            .collect()
    }

    /// A section as kinds register theirs, so the file format is tested without any kind.
    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Function {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        timeout_seconds: Option<i64>,
    }

    impl crate::spec::Section for Function {
        const PATH: &'static [&'static str] = &["lambda", "functions"];
        const LIST: bool = true;
    }

    #[test]
    fn every_bad_key_and_value_is_reported() {
        let text = "[stack]\nname = \"s\"\nnmae = \"t\"\n\n[[lambda.functions]]\nname = \"f\"\ntimeout_seconds = \"lots\"\ntimeout_second = 3\n\n[lambda.other]\n";
        let found = messages(text);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].contains("unknown key `nmae`"), "{}", found[0]);
        assert!(found[0].contains("did you mean `name`"), "{}", found[0]);
        assert!(found[1].contains("invalid type"), "{}", found[1]);
        assert!(
            found[2].contains("did you mean `timeout_seconds`"),
            "{}",
            found[2]
        );
        assert!(found[3].contains("unknown key `other`"), "{}", found[3]);
        assert!(
            found[3].contains("this section takes: functions"),
            "{}",
            found[3]
        );
    }

    /// Types are said as a stack file's author writes them, and each error names its field.
    #[test]
    fn errors_say_types_in_words_and_name_their_field() {
        let text = "[stack]\nname = \"s\"\n\n[[lambda.functions]]\nname = \"f\"\ntimeout_seconds = \"lots\"\n\n[lambda.other]\n";
        let (_, found) = parse_spec(text, &[SectionKind::of::<Function>()]);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].message.contains("expected a whole number"),
            "{found:#?}"
        );
        assert!(!found[0].message.contains("i64"), "{found:#?}");
        assert_eq!(found[0].field, "lambda.functions[0].timeout_seconds");
        assert_eq!(found[1].field, "lambda.other");
    }

    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Brokers {
        statefulset: String,
        min_replicas: i64,
        max_replicas: i64,
        scale_down: Option<Window>,
        labels: Vec<String>,
    }

    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Window {
        seconds: i64,
    }

    impl crate::spec::Section for Brokers {
        const PATH: &'static [&'static str] = &["kafka", "brokers"];
    }

    /// Every missing key of a table is reported in one run (values of each kind are put in for
    /// them while the file is read, and never reported themselves).
    #[test]
    fn every_missing_key_is_reported_at_once() {
        let text = "[stack]\nname = \"s\"\n\n[kafka.brokers]\nscale_down = { }\n";
        let (_, found) = parse_spec(text, &[SectionKind::of::<Brokers>()]);
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        for key in [
            "statefulset",
            "min_replicas",
            "max_replicas",
            "labels",
            "seconds",
        ] {
            assert!(
                messages
                    .iter()
                    .any(|m| m.contains(&format!("missing field `{key}`"))),
                "{key}: {messages:#?}"
            );
        }
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(
            found.iter().all(|d| d.span.start <= text.len()),
            "{found:#?}"
        );
    }

    #[test]
    fn sections_are_found_at_their_place() {
        let text = "[stack]\nname = \"s\"\n\n[[lambda.functions]]\nname = \"f\"\n";
        let (spec, found) = parse_spec(text, &[SectionKind::of::<Function>()]);
        assert!(found.is_empty(), "{found:#?}");
        let spec = spec.expect("parsed");
        assert_eq!(spec.entries::<Function>().len(), 1);
        assert!(spec.has_table(&["lambda"]));
        assert!(!spec.has_table(&["dynamodb"]));
    }

    #[test]
    fn a_bad_required_value_is_not_also_reported_missing() {
        let found = messages("[stack]\nname = 42\n");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("invalid type"), "{found:#?}");
    }

    #[test]
    fn kubernetes_spelling_is_recognised() {
        let help = suggestion(
            "minReplicas",
            &["min_replicas".to_string(), "max_replicas".to_string()],
            &[],
        );
        assert!(help.contains("did you mean `min_replicas`"), "{help}");
        assert!(help.contains("in Kubernetes"), "{help}");
    }

    #[test]
    fn a_misspelt_key_is_read_as_the_key_it_meant() {
        let found = messages("[stack]\nnmae = 42\n");
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("unknown key `nmae`"), "{found:#?}");
        assert!(found[1].contains("invalid type"), "{found:#?}");
    }

    #[test]
    fn a_far_key_gets_the_list_not_a_guess() {
        let help = suggestion("colour", &["name".to_string(), "region".to_string()], &[]);
        assert!(!help.contains("did you mean"), "{help}");
        assert!(help.contains("name, region"), "{help}");
    }

    #[test]
    fn syntax_errors_are_all_reported() {
        let found = messages("[stack]\nname = \"s\nregion = = 1\nx = \n");
        assert!(found.len() >= 2, "{found:#?}");
    }
}
