//! `pipectl drift`: the read-only check for cron. Takes one or more stack files or directories
//! and checks the stacks concurrently. Exit 0 all in sync, 2 some drifted, 1 some could not be
//! checked.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
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
    /// More stack files, or directories: every `*.toml` in a directory is a stack, except
    /// files another one there `extends`.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Print nothing when every stack is in sync (drifted stacks and errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// The stack files named by the arguments, in a stable order.
fn stack_files(args: &DriftArgs, options: &crate::spec::LoadOptions) -> Result<Vec<PathBuf>> {
    let mut files = args.files.clone();
    for path in &args.paths {
        if path.is_dir() {
            files.extend(stacks_in(path, options)?);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        bail!("no stack to check: give stack files with -f, or files and directories as arguments");
    }
    Ok(files)
}

fn stacks_in(dir: &Path, options: &crate::spec::LoadOptions) -> Result<Vec<PathBuf>> {
    let mut tomls: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the directory {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    tomls.sort();
    let bases = crate::spec::extends::extended_files(&tomls, options);
    Ok(tomls.into_iter().filter(|p| !bases.contains(p)).collect())
}

pub async fn run(global: &GlobalArgs, args: &DriftArgs) -> Result<u8> {
    let files = stack_files(args, &global.load_options())?;
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
