//! `pipectl validate`: offline checks only.

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use super::{Reported, StackFileArg};
use crate::spec::{self, SpecError};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
    /// `json` prints {valid, file, errors: [{file, line, column, end_line, end_column, field,
    /// message, help}]} on stdout, for CI annotations; exit codes are the same.
    #[arg(long, value_enum, default_value_t = ValidateOutput::Text)]
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
    let file = spec::source::display_name(args.stack.path());
    let loaded = spec::load(args.stack.path(), &global.load_options());
    if args.output == ValidateOutput::Json {
        let report = match &loaded {
            Ok(stack) => ValidationReport {
                valid: true,
                file,
                stack: Some(stack.name().to_string()),
                errors: vec![],
            },
            Err(error) => ValidationReport {
                valid: false,
                file,
                stack: None,
                errors: error.located(),
            },
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(if report.valid { 0 } else { 1 });
    }
    match loaded {
        Ok(stack) => {
            println!("{file} is valid (stack {:?}).", stack.name());
            Ok(0)
        }
        Err(error) => {
            print_spec_error(&error);
            bail!(Reported)
        }
    }
}

/// A spec error on stderr, coloured when stderr is a terminal that takes colours.
pub fn print_spec_error(error: &SpecError) {
    eprintln!("{}", error.render(console::colors_enabled_stderr()));
}
