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
    #[arg(short = 'o', long, value_enum, default_value_t = VersionOutput::Text)]
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
    let mut command = Cli::command();
    command.build();
    let Some(dir) = &args.out_dir else {
        std::io::stdout().write_all(&man_page(&command, &command)?)?;
        return Ok(0);
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    let mut pages = vec![("pipectl".to_string(), man_page(&command, &command)?)];
    for sub in command.get_subcommands() {
        let name = format!("pipectl-{}", sub.get_name());
        let page = man_page(
            &sub.clone()
                .display_name(name.clone())
                .bin_name(name.clone()),
            &command,
        )?;
        pages.push((name, page));
    }
    for (name, page) in pages {
        let file = dir.join(format!("{name}.1"));
        std::fs::write(&file, page)
            .with_context(|| format!("cannot write the man page {}", file.display()))?;
    }
    Ok(0)
}

/// One man page: clap_mangen's sections, then EXIT STATUS, ENVIRONMENT and EXAMPLES, which
/// clap does not know (the environment from the same definitions `--help` prints).
fn man_page(page: &clap::Command, whole: &clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(page.clone()).render(&mut out)?;
    out.extend_from_slice(EXIT_STATUS.as_bytes());
    out.extend_from_slice(b".SH ENVIRONMENT\n");
    for (variable, meaning) in environment_variables(whole) {
        let meaning = meaning.replace('`', "").replace('\\', "\\\\");
        out.extend_from_slice(format!(".TP\n.B {variable}\n{meaning}\n").as_bytes());
    }
    out.extend_from_slice(EXAMPLES.as_bytes());
    Ok(out)
}

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Success: the stack is valid, planned, applied, or in sync.
.TP
.B 1
An error: an invalid stack file, a plan error, a failed or refused apply, a stale saved plan,
a stack drift could not check. Nothing is changed when the error comes before apply's first
write; apply's report says what was applied and what was not.
.TP
.B 2
plan \-\-detailed\-exitcode: there are changes (or unhealthy resources). drift: a stack
drifted or does not work.
.TP
.B 130
apply was cancelled (Ctrl\-C or SIGTERM); its lock is released.
"#;

const EXAMPLES: &str = r#".SH EXAMPLES
.nf
pipectl init \-\-template seed\-pipeline stacks/
pipectl validate stacks/
pipectl plan stacks/kafka\-logs.toml \-\-out plan.json
pipectl apply plan.json
pipectl drift \-\-quiet stacks/
pipectl inventory stacks/kafka\-logs.toml
pipectl import \-\-table KafkaLogData \-\-out stacks/imported.toml
.fi
"#;

/// Every environment variable pipectl reads, with the flag it stands for (or what it does).
fn environment_variables(command: &clap::Command) -> Vec<(String, String)> {
    let mut variables: Vec<(String, String)> = command
        .get_arguments()
        .chain(command.get_subcommands().flat_map(|s| s.get_arguments()))
        .filter_map(|a| {
            a.get_env()
                .map(|env| (env.to_string_lossy().into_owned(), flag_name(a)))
        })
        .collect();
    variables.push((
        "PIPECTL_LOG".into(),
        "a tracing filter for stderr logs, overriding -v (e.g. `pipectl=debug`)".into(),
    ));
    variables.push((
        "NO_COLOR".into(),
        "`--color never` when set and not empty (https://no-color.org)".into(),
    ));
    variables.push((
        "CLICOLOR_FORCE".into(),
        "`--color always` when set and not 0".into(),
    ));
    variables.sort();
    variables.dedup();
    variables
}

/// docs/cli.md: every command, flag and environment variable, generated from the clap
/// definitions so the reference cannot drift from the parser (a test compares them).
#[cfg(test)]
fn reference_markdown() -> String {
    let mut command = Cli::command();
    command.build();
    let mut out = String::from(
        "# Command-line reference\n\nGenerated from pipectl's clap definitions (`UPDATE_DOCS=1 cargo test --lib reference` rewrites it; a test fails when it is out of date). `pipectl COMMAND --help` prints the same, `pipectl man` the man page.\n\n",
    );
    out.push_str("## Global flags\n\nAccepted before or after the command.\n\n");
    flag_table(
        &mut out,
        command.get_arguments().filter(|a| a.is_global_set()),
    );
    for sub in command.get_subcommands() {
        out.push_str(&format!("\n## `pipectl {}`\n\n", sub.get_name()));
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            out.push_str(&format!("{about}\n\n"));
        }
        let own: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set() && a.get_id() != "help")
            .collect();
        if own.is_empty() {
            out.push_str("No options of its own.\n");
        } else {
            flag_table(&mut out, own.into_iter());
        }
    }
    out.push_str("\n## Environment variables\n\n| variable | same as |\n| --- | --- |\n");
    let variables = environment_variables(&command);
    for (variable, flag) in variables {
        out.push_str(&format!("| `{variable}` | {flag} |\n"));
    }
    out
}

fn flag_name(arg: &clap::Arg) -> String {
    match (arg.get_long(), arg.get_short()) {
        (Some(long), _) => format!("`--{long}`"),
        (None, Some(short)) => format!("`-{short}`"),
        (None, None) => format!("`{}`", arg.get_id()),
    }
}

#[cfg(test)]
fn flag_table<'a>(out: &mut String, args: impl Iterator<Item = &'a clap::Arg>) {
    out.push_str("| flag | meaning | default | environment |\n| --- | --- | --- | --- |\n");
    for arg in args.filter(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version")
    {
        let name = match (arg.get_long(), arg.get_short(), arg.get_value_names()) {
            (Some(long), Some(short), _) => format!("`-{short}`, `--{long}`"),
            (Some(long), None, _) => format!("`--{long}`"),
            (None, Some(short), _) => format!("`-{short}`"),
            (None, None, Some(names)) => format!("`{}` (argument)", names.join(" ")),
            (None, None, None) => format!("`{}` (argument)", arg.get_id()),
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string().replace('\n', " ").replace('|', "\\|"))
            .unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        let help = if values.is_empty() || help.contains(&values.join("|")) {
            help
        } else {
            format!("{help} (`{}`)", values.join("`, `"))
        };
        let default: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = if default.is_empty() || default == ["false"] {
            String::new()
        } else {
            format!("`{}`", default.join(","))
        };
        let env = arg
            .get_env()
            .map(|e| format!("`{}`", e.to_string_lossy()))
            .unwrap_or_default();
        out.push_str(&format!("| {name} | {help} | {default} | {env} |\n"));
    }
}

#[cfg(test)]
mod tests {
    /// docs/cli.md is what the definitions generate.
    #[test]
    fn the_cli_reference_is_generated_from_the_definitions() {
        crate::assert_generated("docs/cli.md", &super::reference_markdown(), "UPDATE_DOCS");
    }
}
