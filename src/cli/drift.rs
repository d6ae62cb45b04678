//! `pipectl drift`: the read-only check for cron. Takes one or more stack files or directories
//! and checks the stacks concurrently. Exit 0 all in sync, 2 some drifted, 1 some could not be
//! checked.

use anyhow::Result;
use clap::Args;
use futures::FutureExt;

use super::{
    try_plan_stack, GlobalArgs, OutputFormat, ReadArgs, Reading, StackFailure, StackPathsArg,
};
use crate::plan::document::{DriftDocument, StackDrift};
use crate::render;

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub stacks: StackPathsArg,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Print nothing when every stack is in sync (drifted stacks and errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// How to print the report.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub async fn run(global: &GlobalArgs, args: &DriftArgs) -> Result<u8> {
    let files = args.stacks.find(global, "check")?.stacks;
    // The drift check only reads: no validate-only writes (a read-only identity suffices).
    let reading = Reading {
        validate_writes: false,
        ..args.read.reading(!args.quiet)
    };
    let reading = &reading;
    let checks = files.iter().map(|file| async move {
        let name = file.display().to_string();
        // One stack's fault (a bug met on a hostile answer included) is that stack's result:
        // the others are still checked and reported.
        let checked = std::panic::AssertUnwindSafe(try_plan_stack(global, file, reading))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "error: {name}: pipectl failed while checking this stack (a bug: please report it with -vv output); the other stacks were checked"
                ))
            });
        match checked {
            Ok((_, _, plan)) => StackDrift::checked(&name, &plan),
            Err(error) => {
                let text = match error.downcast_ref::<StackFailure>() {
                    Some(StackFailure(text)) => text.clone(),
                    None => format!("{error:#}"),
                };
                // Errors go to stderr, once, as they happen; the text report only names the
                // stack that failed (JSON and Markdown carry the text for programs).
                eprintln!("{}", crate::escape::log_text(&text));
                StackDrift::failed(&name, text)
            }
        }
    });
    let document = DriftDocument::new(futures::future::join_all(checks).await);
    match args.output {
        OutputFormat::Text => print!("{}", render::text::drift(&document, args.quiet)),
        OutputFormat::Json => print!("{}", render::json(&document)),
        OutputFormat::Markdown => {
            if !(args.quiet && document.exit_code() == 0) {
                print!("{}", render::markdown::drift(&document))
            }
        }
    }
    Ok(document.exit_code())
}
