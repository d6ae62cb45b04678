//! `pipectl validate`: offline checks only.

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use super::Reported;
use crate::spec::{self, SpecError};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub stacks: super::StackPathsArg,
    /// `json` prints {valid, file, errors: [{file, line, column, end_line, end_column, field,
    /// message, help}]} on stdout (an array of them for several stacks), for CI annotations;
    /// exit codes are the same.
    #[arg(short = 'o', long, value_enum, default_value_t = ValidateOutput::Text)]
    pub output: ValidateOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateOutput {
    Text,
    Json,
}

/// `validate --output json`.
#[derive(Debug, Serialize)]
struct ValidationReport {
    valid: bool,
    file: String,
    stack: Option<String>,
    errors: Vec<spec::diagnostic::Located>,
}

pub fn run(global: &super::GlobalArgs, args: &ValidateArgs) -> Result<u8> {
    let options = global.load_options();
    let found = args.stacks.find(global, "validate")?;
    let checked: Vec<(String, Result<spec::LoadedStack, SpecError>)> = found
        .stacks
        .iter()
        .map(|path| (spec::source::display_name(path), spec::load(path, &options)))
        .collect();
    let invalid = checked.iter().filter(|(_, loaded)| loaded.is_err()).count();
    if args.output == ValidateOutput::Json {
        let reports: Vec<ValidationReport> = checked.iter().map(report).collect();
        let text = match reports.as_slice() {
            [one] => serde_json::to_string_pretty(one)?,
            several => serde_json::to_string_pretty(several)?,
        };
        println!("{text}");
        return Ok(if invalid == 0 { 0 } else { 1 });
    }
    for (file, loaded) in &checked {
        match loaded {
            Ok(stack) => {
                println!(
                    "{} is valid (stack {:?}).",
                    crate::escape::printable(file),
                    stack.name()
                );
                warn_placeholders(stack);
            }
            Err(error) => print_spec_error(error),
        }
    }
    if checked.len() > 1 {
        println!(
            "{} stacks read: {} valid, {invalid} with errors.",
            checked.len(),
            checked.len() - invalid
        );
    }
    if invalid > 0 {
        bail!(Reported)
    }
    Ok(0)
}

fn report((file, loaded): &(String, Result<spec::LoadedStack, SpecError>)) -> ValidationReport {
    match loaded {
        Ok(stack) => ValidationReport {
            valid: true,
            file: file.clone(),
            stack: Some(stack.name().to_string()),
            errors: vec![],
        },
        Err(error) => ValidationReport {
            valid: false,
            file: file.clone(),
            stack: None,
            errors: error.located(),
        },
    }
}

/// The template placeholders a valid stack still holds: a warning here, a refusal in plan
/// and apply.
fn warn_placeholders(stack: &spec::LoadedStack) {
    let Some(placeholders) = &stack.placeholders else {
        return;
    };
    let found = placeholders.located();
    eprintln!(
        "warning: {} still holds {} placeholder{} of its template; plan and apply refuse it until {} filled in:",
        crate::escape::printable(&stack.path.display().to_string()),
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        if found.len() == 1 { "it is" } else { "they are" }
    );
    for place in found {
        eprintln!(
            "  {}:{}:{}: {}",
            crate::escape::printable(&place.file),
            place.line,
            place.column,
            crate::escape::printable(&place.message)
        );
    }
}

/// A spec error on stderr, coloured when stderr is a terminal that takes colours.
pub fn print_spec_error(error: &SpecError) {
    eprintln!("{}", error.render(console::colors_enabled_stderr()));
}
