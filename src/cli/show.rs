//! `pipectl show PLAN.json`: print a saved plan, for the deploy log of the plan that was
//! reviewed. Reads only the file: no AWS call.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{GlobalArgs, OutputFormat};
use crate::plan::document::PlanDocument;
use crate::render;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `pipectl plan --out`.
    #[arg(value_name = "PLAN.json")]
    pub plan_file: PathBuf,
    /// How to print the plan.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub fn run(global: &GlobalArgs, args: &ShowArgs) -> Result<u8> {
    let document = PlanDocument::read(&args.plan_file)?;
    let plan = document.as_plan();
    match args.output {
        OutputFormat::Text => {
            println!(
                "Saved plan {} of stack {}, made {} by pipectl {} from {} (sha256 {}).\n",
                args.plan_file.display(),
                document.stack,
                document.created_at,
                document.pipectl_version,
                document.stack_file,
                document.spec_sha256
            );
            print!(
                "{}",
                render::text::plan(&plan, &document.stack_file, global.verbose > 0)
            );
        }
        OutputFormat::Json => print!("{}", render::json(&document)),
        OutputFormat::Markdown => {
            print!("{}", render::markdown::plan(&plan, &document.stack_file))
        }
    }
    Ok(0)
}
