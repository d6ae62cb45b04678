//! The TOML stack file: its own keys, the sections kinds register, how a file is loaded, and the offline validation that runs
//! before anything talks to AWS. `docs/spec.md` documents every key.

pub mod diagnostic;
pub mod extends;
pub mod limits;
pub mod parse;
pub mod placeholder;
pub mod schema;
pub mod section;
pub mod source;
pub mod types;
pub mod validate;
pub mod write;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, SpecError};
pub use section::{Section, SectionKind};
pub use source::LoadOptions;
pub use types::*;

/// A stack file that parsed and passed validation.
#[derive(Debug, Clone)]
pub struct LoadedStack {
    pub path: PathBuf,
    pub spec: StackSpec,
    /// SHA-256 of the file's bytes: a saved plan records it and is refused when it changed.
    pub sha256: String,
    /// The template placeholders (`<<WHAT>>`) it still holds: `validate` warns, plan and apply
    /// refuse.
    pub placeholders: Option<SpecError>,
}

impl LoadedStack {
    pub fn name(&self) -> &str {
        self.spec.stack.name.get_ref()
    }
}

/// Reads, parses and validates a stack file. Every error names the file, line and column.
/// `-` reads the stack from standard input; it is then named `<stdin>`, and `extends` in it is
/// relative to (and must stay inside) the current directory.
pub fn load(path: &Path, options: &LoadOptions) -> Result<LoadedStack, SpecError> {
    let (path, read) = if source::is_stdin(path) {
        (Path::new(source::STDIN_NAME), source::read_stdin())
    } else {
        (path, source::read_confined_stack_file(path, options))
    };
    let text = read.map_err(|refused| {
        SpecError::new(
            path,
            "",
            vec![Diagnostic::new(0..0, "", refused.message, refused.help)],
        )
    })?;
    let extends = text
        .parse::<toml::Table>()
        .ok()
        .is_some_and(|table| extends::extends_of(&table).is_some());
    if !extends {
        return parse(path, &text, &options.rules);
    }
    let layers = extends::chain(path, text, options)?;
    let merged = extends::merge(&layers)?;
    match parse(path, &merged, &options.rules) {
        Ok(mut stack) => {
            // A saved plan must notice an edit of any file of the chain.
            let mut all = String::new();
            for layer in &layers {
                all.push_str(&format!("{}\n{}\n", layer.path.display(), layer.text));
            }
            stack.sha256 = crate::digest::sha256_hex(all.as_bytes());
            Ok(stack)
        }
        Err(error) => Err(extends::trace(error, &merged, &layers)),
    }
}

/// Parses and validates stack text; `path` is only used in messages. Reports every error of
/// the file: of its syntax, of its keys and values, and of validation.
pub fn parse(
    path: &Path,
    text: &str,
    rules: &validate::KindRules,
) -> Result<LoadedStack, SpecError> {
    let (spec, mut problems) = parse::parse_spec(text, &rules.sections);
    let not_toml = spec
        .is_none()
        .then(|| parse::is_not_toml_at_all(text))
        .flatten();
    if let Some(first_error) = not_toml {
        // A file that is no TOML at all (a password file behind a `.toml` name) is not
        // quoted: its lines could end up in a public CI log.
        let (line, _) = diagnostic::line_and_column(text, first_error);
        return Err(SpecError::new(
            path,
            "",
            vec![Diagnostic::new(
                0..0,
                "",
                format!("{} is not a TOML file: line {line} is not TOML syntax, and nothing before it is; pipectl quotes nothing of it", path.display()),
                "give the path of a TOML stack file (it starts with [stack])",
            )],
        ));
    }
    if let Some(spec) = &spec {
        problems.extend(validate::validate(spec, rules));
    }
    // Checks of the values put in for missing keys (past the end of the text) are not the
    // file's problems: the missing keys are.
    problems.retain(|problem| problem.span.start <= text.len());
    problems.sort_by_key(|problem| problem.span.start);
    match spec {
        Some(spec) if problems.is_empty() => {
            let placeholders = placeholder::find(text);
            Ok(LoadedStack {
                path: path.to_path_buf(),
                spec,
                sha256: crate::digest::sha256_hex(text.as_bytes()),
                placeholders: (!placeholders.is_empty())
                    .then(|| SpecError::new(path, text, placeholders)),
            })
        }
        _ => Err(SpecError::new(path, text, problems)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> String {
        match parse(Path::new("t.toml"), text, &Default::default()) {
            Ok(_) => String::new(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn a_file_that_is_not_toml_at_all_is_not_quoted() {
        let shown = errors("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin\n");
        assert!(shown.contains("is not a TOML file: line 1"), "{shown}");
        assert!(!shown.contains("root:x"), "{shown}");
        // A stack file with a typo is still quoted where the typo is.
        let shown = errors("[stack]\nname = \"a\"\ntimeout = = 3\n");
        assert!(shown.contains("timeout = = 3"), "{shown}");
    }

    /// A bad value of a required key does not stop the checks of the rest of the file.
    #[test]
    fn a_bad_required_value_does_not_hide_the_other_errors() {
        let shown = errors("[stack]\nname = 42\nregion = \"nowhere\"\n");
        assert!(shown.contains("expected a quoted string"), "{shown}");
        assert!(
            shown.contains("\"nowhere\" is not an AWS region name"),
            "{shown}"
        );
        assert!(shown.contains("2 errors"), "{shown}");
    }

    #[test]
    fn minimal_stack_is_valid() {
        assert_eq!(errors("[stack]\nname = \"a\"\n"), "");
    }

    #[test]
    fn unknown_key_is_located() {
        let shown = errors("[stack]\nname = \"a\"\nnmae = \"b\"\n");
        assert!(shown.contains("t.toml:3:1"), "{shown}");
        assert!(shown.contains("unknown key `nmae`"), "{shown}");
    }
}
