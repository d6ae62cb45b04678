//! Errors in a stack file, reported the way cargo and rustc report them: what is wrong, the
//! file, line and column, the offending line with a caret under the value, and how to fix it.

use std::fmt;

use annotate_snippets::{AnnotationKind, Element, Group, Level, Renderer, Snippet};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem found in a stack file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Byte range in the file; an empty range at 0 means "the file as a whole".
    pub span: Range<usize>,
    /// Dotted path of the key, e.g. `lambda.functions[0].timeout_seconds`.
    pub field: String,
    pub message: String,
    pub help: String,
    /// The file the span points into, when it is not the error's own file (a value set in a
    /// base stack that the file `extends`).
    pub origin: Option<Origin>,
}

/// A source file a diagnostic can point into.
#[derive(Debug, Clone)]
pub struct Origin {
    pub path: PathBuf,
    pub text: std::sync::Arc<str>,
}

impl Diagnostic {
    pub fn new(
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Diagnostic {
            span,
            field: field.into(),
            message: message.into(),
            help: help.into(),
            origin: None,
        }
    }
}

/// All problems found in one file, with the text needed to show where they are.
#[derive(Debug, Clone)]
pub struct SpecError {
    pub path: PathBuf,
    pub source_text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// `text` with anything that looks like a credential replaced by `<redacted>`: the value of a
/// key named like a secret, token, password or credential; AWS access key ids (`AKIA...`,
/// `ASIA...`); EKS tokens (`k8s-aws-v1....`); and any run of 32 or more base64 characters
/// (secret keys are 40, session tokens hundreds). Error snippets quote lines of files that may
/// not be stack files at all, and CI logs are read by many.
pub fn redact_secrets(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let secret_key = ["secret", "token", "password", "credential"]
        .iter()
        .any(|k| lower.contains(k));
    if secret_key {
        if let Some(at) = text.find(['=', ':']) {
            return format!("{} <redacted>", &text[..=at]);
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let looks_secret = word.len() >= 32
            || word.starts_with("k8s-aws-v1.")
            || ((word.starts_with("AKIA") || word.starts_with("ASIA"))
                && word.len() >= 16
                && word
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        out.push_str(if looks_secret { "<redacted>" } else { word });
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "+/=_-".contains(c) || (c == '.' && word == "k8s-aws-v1") {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// 1-based line and column of a byte offset.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_and_column(text, offset)
}

/// Where each line of a text starts, computed once: many diagnostics in one large file must not
/// each count lines from the start (16,000 of them took 22 s).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        LineIndex { starts }
    }

    fn line_and_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|start| *start <= offset);
        let line_start = self.starts[line.saturating_sub(1)];
        (line, text[line_start..offset].chars().count() + 1)
    }
}

/// At most this many diagnostics are rendered for people ("and N more"); `validate --output
/// json` lists them all.
pub const MAX_SHOWN: usize = 100;

/// A diagnostic as data, for `validate --output json` and CI annotations: 1-based lines and
/// columns, the end exclusive.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub field: String,
    pub message: String,
    pub help: String,
}

impl SpecError {
    /// Every diagnostic as data.
    pub fn located(&self) -> Vec<Located> {
        let mut indexes: std::collections::HashMap<&Path, LineIndex> =
            std::collections::HashMap::new();
        self.diagnostics
            .iter()
            .map(|diagnostic| {
                let (path, source) = self.source_of(diagnostic);
                let index = indexes
                    .entry(path)
                    .or_insert_with(|| LineIndex::new(source));
                let (line, column) = index.line_and_column(source, diagnostic.span.start);
                let (end_line, end_column) = index.line_and_column(source, diagnostic.span.end);
                Located {
                    file: path.display().to_string(),
                    line,
                    column,
                    end_line,
                    end_column,
                    field: diagnostic.field.clone(),
                    message: redact_secrets(&diagnostic.message),
                    help: diagnostic.help.clone(),
                }
            })
            .collect()
    }

    pub fn new(path: &Path, source_text: &str, diagnostics: Vec<Diagnostic>) -> Self {
        SpecError {
            path: path.to_path_buf(),
            source_text: source_text.to_string(),
            diagnostics,
        }
    }

    /// `file:line:column` of a diagnostic, as editors and CI annotations understand it.
    /// The file and text a diagnostic points into.
    fn source_of<'a>(&'a self, diagnostic: &'a Diagnostic) -> (&'a Path, &'a str) {
        match &diagnostic.origin {
            Some(origin) => (&origin.path, &origin.text),
            None => (&self.path, &self.source_text),
        }
    }

    pub fn location(&self, diagnostic: &Diagnostic) -> String {
        let (path, source) = self.source_of(diagnostic);
        let (line, column) = line_and_column(source, diagnostic.span.start);
        format!("{}:{}:{}", path.display(), line, column)
    }

    /// One diagnostic as cargo shows one, through annotate-snippets: the message, `-->` with
    /// file, line and column, the line with the value underlined, the field, and the help. The
    /// quoted line is redacted; when redaction changed it, the whole line is underlined.
    fn render_one(&self, diagnostic: &Diagnostic, renderer: &Renderer) -> String {
        let (path, source) = self.source_of(diagnostic);
        let message = redact_secrets(&diagnostic.message);
        let title = Level::ERROR.primary_title(message.as_str());
        let path = path.display().to_string();
        let (line, _) = line_and_column(source, diagnostic.span.start);
        let line_start = source[..diagnostic.span.start.min(source.len())]
            .rfind('\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        let line_text = source[line_start..].lines().next().unwrap_or("");
        let shown_line = redact_secrets(line_text);
        let field = format!("field: {}", diagnostic.field);
        let mut elements: Vec<Element<'_>> = vec![];
        if !source.is_empty() {
            let span = if shown_line == line_text {
                let start = diagnostic.span.start - line_start;
                let end = (diagnostic.span.end.max(diagnostic.span.start + 1) - line_start)
                    .min(line_text.len().max(start + 1));
                start..end
            } else {
                0..shown_line.len()
            };
            elements.push(
                Snippet::source(shown_line.as_str())
                    .line_start(line)
                    .path(path.as_str())
                    .annotation(AnnotationKind::Primary.span(span))
                    .into(),
            );
        }
        if !diagnostic.field.is_empty() {
            elements.push(Level::NOTE.message(field.as_str()).into());
        }
        elements.push(Level::HELP.message(diagnostic.help.as_str()).into());
        renderer.render(&[Group::with_title(title).elements(elements)])
    }

    /// Every diagnostic and the closing count; styled (colours) for a terminal.
    pub fn render(&self, styled: bool) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for diagnostic in self.diagnostics.iter().take(MAX_SHOWN) {
            out.push_str(&self.render_one(diagnostic, &renderer));
            out.push_str("\n\n");
        }
        let count = self.diagnostics.len();
        if count > MAX_SHOWN {
            out.push_str(&format!(
                "... and {} more errors not shown (`pipectl validate --output json` lists them all)\n\n",
                count - MAX_SHOWN
            ));
        }
        out.push_str(&format!(
            "{} is invalid: {} error{}; nothing was read from or changed in AWS or Kubernetes",
            self.path.display(),
            count,
            if count == 1 { "" } else { "s" }
        ));
        out
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for SpecError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact_secrets("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG"),
            "aws_secret_access_key = <redacted>"
        );
        assert_eq!(
            redact_secrets("key id AKIAIOSFODNN7EXAMPLE rest"),
            "key id <redacted> rest"
        );
        assert_eq!(
            redact_secrets("Bearer k8s-aws-v1.aHR0cHM6Ly9zdHM"),
            "Bearer <redacted>"
        );
        assert_eq!(
            redact_secrets("name = \"kafka-log-lambda\""),
            "name = \"kafka-log-lambda\""
        );
        // A key named like a secret loses its value even when it is only an ARN: better safe.
        assert_eq!(
            redact_secrets("sasl_scram_512_secret_arn = \"arn:aws:secretsmanager:x\""),
            "sasl_scram_512_secret_arn = <redacted>"
        );
    }

    #[test]
    fn many_diagnostics_are_located_once_and_rendered_up_to_the_cap() {
        let text = "x = 1\n".repeat(20_000);
        let diagnostics = (0..20_000)
            .map(|i| Diagnostic::new(i * 6..i * 6 + 1, "x", "bad", "fix it"))
            .collect();
        let error = SpecError::new(Path::new("big.toml"), &text, diagnostics);
        let located = error.located();
        assert_eq!((located[19_999].line, located[19_999].column), (20_000, 1));
        let shown = error.render(false);
        assert!(
            shown.contains("... and 19900 more errors not shown"),
            "{}",
            &shown[shown.len() - 300..]
        );
        assert!(shown.contains("20000 errors"));
        assert!(shown.len() < 100_000, "{} bytes", shown.len());
    }

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 22\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 11), (2, 6));
    }

    #[test]
    fn rendering_names_file_line_column_and_help() {
        let text = "[stack]\nname = 42\n";
        let error = SpecError::new(
            Path::new("s.toml"),
            text,
            vec![Diagnostic::new(
                15..17,
                "stack.name",
                "bad name",
                "use a string",
            )],
        );
        let shown = error.to_string();
        assert!(shown.contains("s.toml:2:8"), "{shown}");
        assert!(shown.contains("2 | name = 42"), "{shown}");
        assert!(shown.contains("^^"), "{shown}");
        assert!(shown.contains("help: use a string"), "{shown}");
    }
}
