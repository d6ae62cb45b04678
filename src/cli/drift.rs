//! `pipectl drift`: the read-only check for cron. Takes one or more stack files or directories
//! and checks the stacks concurrently. Exit 0 all in sync, 2 some drifted, 1 some could not be
//! checked.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use futures::FutureExt;

use super::{try_plan_stack, GlobalArgs, OutputFormat, ReadArgs, StackFailure};
use crate::plan::document::{DriftDocument, StackDrift};
use crate::render;

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// A stack file (repeatable).
    #[arg(short = 'f', long = "file", value_name = "STACK.toml")]
    pub files: Vec<PathBuf>,
    /// More stack files, or directories: every `*.toml` with a `[stack]` table in a directory
    /// and its subdirectories is a stack, except hidden files and files another one there
    /// `extends` (`-v` lists what was passed over).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
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
    let paths: Vec<PathBuf> = args.files.iter().chain(&args.paths).cloned().collect();
    if paths.is_empty() {
        bail!("no stack to check: give stack files with -f, or files and directories as arguments");
    }
    let found = super::stacks::find(&paths, &global.load_options())?;
    found.report(global.verbose > 0);
    let files = found.stacks;
    let reading = args.read.reading(!args.quiet);
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
