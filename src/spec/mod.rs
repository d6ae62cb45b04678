//! The TOML stack spec: its types, how a file is loaded, and the offline validation that runs
//! before anything talks to AWS. `docs/spec.md` documents every key.

pub mod diagnostic;
pub mod extends;
pub mod limits;
pub mod source;
pub mod types;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, SpecError};
pub use source::LoadOptions;
pub use types::*;

/// A stack file that parsed and passed validation.
#[derive(Debug, Clone)]
pub struct LoadedStack {
    pub path: PathBuf,
    pub spec: StackSpec,
    /// SHA-256 of the file's bytes: a saved plan records it and is refused when it changed.
    pub sha256: String,
}

impl LoadedStack {
    pub fn name(&self) -> &str {
        self.spec.stack.name.get_ref()
    }
}

/// Reads, parses and validates a stack file. Every error names the file, line and column.
pub fn load(path: &Path, options: &LoadOptions) -> Result<LoadedStack, SpecError> {
    let text = source::read_stack_file(path).map_err(|refused| {
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
        return parse(path, &text);
    }
    let layers = extends::chain(path, text, options)?;
    let merged = extends::merge(&layers)?;
    match parse(path, &merged) {
        Ok(mut stack) => {
            // A saved plan must notice an edit of any file of the chain.
            let mut all = String::new();
            for layer in &layers {
                all.push_str(&format!("{}\n{}\n", layer.path.display(), layer.text));
            }
            stack.sha256 = crate::plan::sha256_hex(all.as_bytes());
            Ok(stack)
        }
        Err(error) => Err(extends::trace(error, &merged, &layers)),
    }
}

/// Parses and validates stack text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<LoadedStack, SpecError> {
    let spec: StackSpec = toml::from_str(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        let mut message = err.message().trim().to_string();
        if message.contains("untagged enum ReservedConcurrency") {
            message = "reserved_concurrency must be a whole number or \"none\"".to_string();
        }
        let help = help_for_parse_error(&message);
        SpecError::new(path, text, vec![Diagnostic::new(span, "", message, help)])
    })?;
    let problems = validate::validate(&spec);
    if !problems.is_empty() {
        return Err(SpecError::new(path, text, problems));
    }
    Ok(LoadedStack {
        path: path.to_path_buf(),
        spec,
        sha256: crate::plan::sha256_hex(text.as_bytes()),
    })
}

/// serde and toml say what went wrong; this says how to fix it.
fn help_for_parse_error(message: &str) -> String {
    if message.starts_with("unknown field") {
        "check the spelling of the key; docs/spec.md lists every key of every section".to_string()
    } else if message.starts_with("missing field") {
        "add the key; docs/spec.md says which keys each section requires".to_string()
    } else if message.starts_with("invalid type") {
        "give the value the type docs/spec.md lists for this key (numbers unquoted, names quoted)"
            .to_string()
    } else if message.starts_with("unknown variant") {
        "use one of the values listed in the message".to_string()
    } else if message.contains("did not match any variant") {
        "reserved_concurrency takes a whole number, or \"none\" to remove the reservation"
            .to_string()
    } else {
        "fix the TOML syntax at this position (strings in double quotes, one key = value per line)"
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> String {
        match parse(Path::new("t.toml"), text) {
            Ok(_) => String::new(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn minimal_stack_is_valid() {
        assert_eq!(errors("[stack]\nname = \"a\"\n"), "");
    }

    #[test]
    fn unknown_key_is_located() {
        let shown = errors("[stack]\nname = \"a\"\nnmae = \"b\"\n");
        assert!(shown.contains("t.toml:3:1"), "{shown}");
        assert!(shown.contains("unknown field"), "{shown}");
    }

    #[test]
    fn contradictions_are_reported_together() {
        let text = r#"
[stack]
name = "s"

[[lambda.functions]]
name = "f"
timeout_seconds = 901
memory_mib = 64

[[dynamodb.tables]]
name = "tbl"
billing_mode = "PAY_PER_REQUEST"
partition_key = { name = "id", type = "S" }
capacity = { read = 1, write = 1 }
"#;
        let shown = errors(text);
        assert!(shown.contains("t.toml:7:19"), "{shown}");
        assert!(shown.contains("t.toml:8:14"), "{shown}");
        assert!(shown.contains("PAY_PER_REQUEST"), "{shown}");
        assert!(shown.contains("3 errors"), "{shown}");
    }
}
