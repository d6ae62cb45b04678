//! The commands about pipectl itself: `version`, `completion` and `man`, all generated from the
//! same clap definitions the parser uses, so they cannot fall out of step with it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use serde::Serialize;

use super::Cli;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// `json` prints {version, commit, target, format_version}.
    #[arg(long, value_enum, default_value_t = VersionOutput::Text)]
    pub output: VersionOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VersionOutput {
    Text,
    Json,
}

#[derive(Debug, Serialize)]
struct Version {
    version: &'static str,
    /// The git commit the binary was built from ("unknown" outside a git checkout).
    commit: &'static str,
    /// The Rust target triple it was built for.
    target: &'static str,
    /// The version of the JSON documents it writes and reads.
    format_version: &'static str,
}

const VERSION: Version = Version {
    version: env!("CARGO_PKG_VERSION"),
    commit: env!("PIPECTL_GIT_COMMIT"),
    target: env!("PIPECTL_TARGET"),
    format_version: crate::plan::document::FORMAT_VERSION,
};

pub fn version(args: &VersionArgs) -> Result<u8> {
    match args.output {
        VersionOutput::Text => println!(
            "pipectl {} (commit {}, {}; plan format {})",
            VERSION.version, VERSION.commit, VERSION.target, VERSION.format_version
        ),
        VersionOutput::Json => println!("{}", serde_json::to_string_pretty(&VERSION)?),
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete in. Install, e.g. for bash:
    /// `pipectl completion bash > ~/.local/share/bash-completion/completions/pipectl`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn completion(args: &CompletionArgs) -> Result<u8> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "pipectl", &mut std::io::stdout());
    Ok(0)
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write pipectl.1 and a page per subcommand (pipectl-plan.1, ...) into this directory
    /// instead of printing pipectl.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn man(args: &ManArgs) -> Result<u8> {
    let command = Cli::command();
    let Some(dir) = &args.out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        std::io::stdout().write_all(&page)?;
        return Ok(0);
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    clap_mangen::generate_to(command, dir)
        .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    Ok(0)
}
