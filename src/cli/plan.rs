//! `pipectl plan`: read live state and show the changes; optionally save them for
//! `pipectl apply PLAN.json`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{plan_stack, GlobalArgs, OutputFormat, ReadArgs, Reading, StackFileArg};
use crate::plan::document::PlanDocument;
use crate::render;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan (JSON) for `pipectl apply PLAN.json`, which applies exactly it and
    /// refuses it when anything it was made from has changed.
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// How to print the plan.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Plan to recreate this resource (delete, then create) although it may match the file,
    /// as Terraform's `-replace` (repeatable): for a Kafka trigger that is stuck.
    #[arg(long = "replace", value_name = "ID")]
    pub replace: Vec<String>,
    /// Take this resource over from the stack whose name it carries (repeatable): the plan
    /// manages it and moves its `pipectl:stack` tag to this stack.
    #[arg(long = "take-over", value_name = "ID")]
    pub take_over: Vec<String>,
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> Result<u8> {
    if let Some(out) = &args.out {
        PlanDocument::may_write_over(out)?;
    }
    let reading = Reading {
        replace: args.replace.clone(),
        take_over: args.take_over.clone(),
        ..args.read.reading(true)
    };
    let (stack, _, plan) = plan_stack(global, args.stack.path(), &reading).await?;
    let file = stack.path.display().to_string();
    let document = PlanDocument {
        replace: args.replace.clone(),
        take_over: args.take_over.clone(),
        ..PlanDocument::new(&plan, &stack, &reading.targets)
    };
    match args.output {
        OutputFormat::Text => print!("{}", render::text::plan(&plan, &file, global.verbose > 0)),
        OutputFormat::Json => print!("{}", render::json(&document)),
        OutputFormat::Markdown => print!("{}", render::markdown::plan(&plan, &file)),
    }
    if let Some(out) = &args.out {
        document.write(out)?;
        eprintln!(
            "Saved the plan to {}. Apply exactly it with `pipectl apply {}`.",
            out.display(),
            out.display()
        );
    }
    Ok(if args.detailed_exitcode && plan.differs() {
        2
    } else {
        0
    })
}
