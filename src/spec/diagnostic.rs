//! Errors in a stack file, reported the way cargo and rustc report them: what is wrong, the
//! file, line and column, the offending line with a caret under the value, and how to fix it.

use std::fmt;
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
#[derive(Debug)]
pub struct SpecError {
    pub path: PathBuf,
    pub source_text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// 1-based line and column of a byte offset.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl SpecError {
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

    fn write_one(&self, f: &mut fmt::Formatter<'_>, diagnostic: &Diagnostic) -> fmt::Result {
        let (_, source) = self.source_of(diagnostic);
        let (line, column) = line_and_column(source, diagnostic.span.start);
        writeln!(f, "error: {}", diagnostic.message)?;
        writeln!(f, "  --> {}", self.location(diagnostic))?;
        if let Some(text) = source.lines().nth(line - 1) {
            let gutter = line.to_string().len();
            let span_text = source.get(diagnostic.span.clone()).unwrap_or("");
            let width = span_text
                .lines()
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(1)
                .max(1);
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{line} | {text}")?;
            writeln!(
                f,
                "{:gutter$} | {:pad$}{}",
                "",
                "",
                "^".repeat(width),
                pad = column - 1
            )?;
        }
        if !diagnostic.field.is_empty() {
            writeln!(f, "   = field: {}", diagnostic.field)?;
        }
        writeln!(f, "   = help: {}", diagnostic.help)
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            self.write_one(f, diagnostic)?;
        }
        let count = self.diagnostics.len();
        write!(
            f,
            "\n{} is invalid: {} error{}; nothing was read from or changed in AWS or Kubernetes",
            self.path.display(),
            count,
            if count == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for SpecError {}

#[cfg(test)]
mod tests {
    use super::*;

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
