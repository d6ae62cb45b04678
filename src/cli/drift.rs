//! `pipectl drift`: the read-only check for cron. Takes one or more stack files or directories
//! and checks the stacks concurrently. Exit 0 all in sync, 2 some drifted, 1 some could not be
//! checked. For a fleet, each stack's account is read with its own role (`--role-arn-template`,
//! `[stack] role_arn`), a share of the stacks can be checked per process (`--shard`), and shard
//! reports are combined with `--merge`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use futures::{FutureExt, StreamExt};

use super::{
    load_filled_in, stack_region, try_plan_loaded, GlobalArgs, ReadArgs, Reading, RoleTemplate,
    StackFailure, StackPathsArg,
};
use crate::plan::document::{Coverage, CoverageAccount, DriftDocument, StackDrift};
use crate::render;
use crate::spec::LoadedStack;

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
    #[arg(short = 'o', long, value_enum, default_value_t = DriftOutput::Text)]
    pub output: DriftOutput,
    /// Read each stack's account with this role, assumed with the runner's credentials (once
    /// per account): `{account_id}` is the stack's `[stack] account_id`. A stack's own `[stack]
    /// role_arn` wins.
    #[arg(long, env = "PIPECTL_ROLE_ARN_TEMPLATE", value_name = "ARN", value_parser = parse_role_template)]
    pub role_arn_template: Option<String>,
    /// The external id the roles' trust policies ask for.
    #[arg(long, env = "PIPECTL_EXTERNAL_ID", value_name = "ID")]
    pub external_id: Option<String>,
    /// Check only shard I of N (0-based, e.g. a Kubernetes Indexed Job's
    /// JOB_COMPLETION_INDEX): a stable share of the stacks by account and stack name; the N
    /// shards together check every stack once.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Combine drift reports (`-o json` of shards) into one report, with the combined exit
    /// code, instead of checking stacks.
    /// (A directory stands for every `*.json` in it.)
    #[arg(long, value_name = "REPORT.json", num_args = 1.., conflicts_with_all = ["shard", "role_arn_template"])]
    pub merge: Vec<PathBuf>,
    /// How many stacks are checked at once (each reads up to --parallelism resources at once;
    /// stacks of different accounts draw on different quotas).
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub stack_parallelism: u64,
    /// Also list the AWS Organization's accounts (organizations:ListAccounts, with the
    /// runner's credentials in the management or a delegated administrator account) and report
    /// active accounts no stack covers, and stacks whose account it does not list. With
    /// --shard, shard 0 reports it for the whole fleet.
    #[arg(long)]
    pub organization: bool,
    /// Write the report to FILE instead of standard output, whole or not at all (a temporary
    /// file renamed into place, as a node exporter's textfile collector needs).
    #[arg(long = "out", value_name = "FILE")]
    pub out_file: Option<PathBuf>,
    /// The exit code when stacks drifted (default 2). A scheduled job whose report is what
    /// tells drift sets 0, so only errors (1) fail the job.
    #[arg(long, default_value_t = 2, value_name = "CODE", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub drift_exit_code: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftOutput {
    /// For people: coloured on a terminal, plain otherwise.
    Text,
    /// The versioned document of docs/json-output.md.
    Json,
    /// For pull-request comments and issues: summary first, details collapsed.
    Markdown,
    /// OpenMetrics text (per stack: resources drifted, errors; the run's success and time).
    Openmetrics,
}

/// A role ARN with `{account_id}` where each stack's account goes (checked before any call).
fn parse_role_template(text: &str) -> std::result::Result<String, String> {
    let filled = crate::providers::roles::role_from_template(text, "123456789012");
    if text.contains("{account_id}") && crate::spec::validate::role_account(&filled).is_some() {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a role ARN template: give e.g. 'arn:aws:iam::{{account_id}}:role/pipectl-drift' ({{account_id}} is each stack's [stack] account_id)"
        ))
    }
}

/// `I/N` with I < N.
fn parse_shard(text: &str) -> std::result::Result<(u64, u64), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((index, count)) if count > 0 && index < count => Ok((index, count)),
        _ => Err(format!(
            "{text:?} is not a shard: give I/N with 0 <= I < N, e.g. 0/4 (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX is I)"
        )),
    }
}

/// Where a stack lives, read from its file before it is checked.
#[derive(Debug, Clone, Default)]
struct Located {
    stack: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
}

/// Where the stack lives, and the stack as loaded (or why it could not be): each file is read
/// and parsed once per run.
fn locate(global: &GlobalArgs, file: &Path) -> (Located, Result<LoadedStack>) {
    let loaded = load_filled_in(global, file);
    let located = match &loaded {
        Ok(stack) => Located {
            stack: Some(stack.name().to_string()),
            account_id: stack
                .spec
                .stack
                .account_id
                .as_ref()
                .map(|a| a.get_ref().clone()),
            region: stack_region(global, stack)
                .ok()
                .flatten()
                .or_else(|| std::env::var("AWS_REGION").ok()),
        },
        Err(_) => Located::default(),
    };
    (located, loaded)
}

pub async fn run(global: &GlobalArgs, args: &DriftArgs) -> Result<u8> {
    if !args.merge.is_empty() {
        return merge(args);
    }
    let files = args.stacks.find(global, "check")?.stacks;
    // Every stack's place (the organization's coverage is the whole fleet's), and the stacks
    // this run checks, loaded.
    let mut fleet: Vec<(PathBuf, Located)> = vec![];
    let mut mine: Vec<(PathBuf, Located, Result<LoadedStack>)> = vec![];
    for file in files {
        let (found, loaded) = locate(global, &file);
        if in_my_shard(args.shard, &found) {
            mine.push((file.clone(), found.clone(), loaded));
        }
        fleet.push((file, found));
    }
    // The drift check only reads: no validate-only writes (a read-only identity suffices).
    let reading = Reading {
        validate_writes: false,
        roles: Some(RoleTemplate {
            template: args.role_arn_template.clone(),
            external_id: args.external_id.clone(),
        }),
        ..args.read.reading(!args.quiet)
    };
    let reading = &reading;
    let checks = mine.into_iter().map(|(file, found, loaded)| async move {
        check(global, &file, &found, loaded, reading).await
    });
    let checked: Vec<StackDrift> = futures::stream::iter(checks)
        .buffered(usize::try_from(args.stack_parallelism).unwrap_or(usize::MAX))
        .collect()
        .await;
    let mut document = DriftDocument::new(checked);
    // Coverage is the whole fleet's, listed once: by an unsharded run, or by shard 0 (the
    // merge keeps it), so N shards do not list the organization N times.
    if args.organization && args.shard.is_none_or(|(index, _)| index == 0) {
        document.coverage = Some(coverage(global, &fleet).await);
    }
    print_report(&document, args)?;
    Ok(exit_code(&document, args))
}

/// The organization's active accounts against the stacks' `account_id`s.
async fn coverage(global: &GlobalArgs, located: &[(PathBuf, Located)]) -> Coverage {
    let connection = global.runner_connection(global.region.clone());
    let listed = match crate::providers::Aws::connect_unchecked(&connection).await {
        Ok(aws) => crate::providers::organization::active_accounts(&aws).await,
        Err(error) => Err(error),
    };
    let accounts = match listed {
        Ok(accounts) => accounts,
        Err(error) => {
            let text = format!("{error:#}");
            eprintln!("error: {}", crate::escape::log_text(&text));
            return Coverage {
                error: Some(text),
                ..Coverage::default()
            };
        }
    };
    let covered: std::collections::BTreeSet<&str> = located
        .iter()
        .filter_map(|(_, found)| found.account_id.as_deref())
        .collect();
    let listed: std::collections::BTreeSet<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    Coverage {
        uncovered_accounts: accounts
            .iter()
            .filter(|a| !covered.contains(a.id.as_str()))
            .map(|a| CoverageAccount {
                id: a.id.clone(),
                name: a.name.clone(),
            })
            .collect(),
        stacks_outside: located
            .iter()
            .filter(|(_, found)| {
                found
                    .account_id
                    .as_deref()
                    .is_some_and(|account| !listed.contains(account))
            })
            .map(|(file, _)| file.display().to_string())
            .collect(),
        error: None,
    }
}

/// 1 errors, else `--drift-exit-code` when stacks drifted, else 0.
fn exit_code(document: &DriftDocument, args: &DriftArgs) -> u8 {
    match document.exit_code() {
        2 => args.drift_exit_code,
        code => code,
    }
}

/// A stack goes to the shard its account and name hash to; a file that cannot be read goes to
/// shard 0, so its error is reported exactly once.
fn in_my_shard(shard: Option<(u64, u64)>, found: &Located) -> bool {
    let Some((index, count)) = shard else {
        return true;
    };
    match &found.stack {
        Some(name) => render::fleet::in_shard(
            found.account_id.as_deref().unwrap_or(""),
            name,
            index,
            count,
        ),
        None => index == 0,
    }
}

/// One stack's drift: checked, or the error that kept it from being checked.
async fn check(
    global: &GlobalArgs,
    file: &Path,
    found: &Located,
    loaded: Result<LoadedStack>,
    reading: &Reading,
) -> StackDrift {
    let name = file.display().to_string();
    let planned = async { try_plan_loaded(global, loaded?, reading).await };
    // One stack's fault (a bug met on a hostile answer included) is that stack's result: the
    // others are still checked and reported.
    let checked = std::panic::AssertUnwindSafe(planned)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "error: {name}: pipectl failed while checking this stack (a bug: please report it with -vv output); the other stacks were checked"
            ))
        });
    let drift = match checked {
        Ok((_, _, plan)) => StackDrift::checked(&name, &plan),
        Err(error) => {
            let text = match error.downcast_ref::<StackFailure>() {
                Some(StackFailure(text)) => text.clone(),
                None => format!("{name}: {error:#}"),
            };
            // Errors go to stderr, once, as they happen; the text report only names the stack
            // that failed (JSON and Markdown carry the text for programs).
            eprintln!("{}", crate::escape::log_text(&text));
            StackDrift::failed(&name, text)
        }
    };
    drift.located(
        found.stack.clone(),
        found.account_id.clone(),
        found.region.clone(),
    )
}

fn print_report(document: &DriftDocument, args: &DriftArgs) -> Result<()> {
    let text = match args.output {
        DriftOutput::Text => render::text::drift(document, args.quiet),
        DriftOutput::Json => render::json(document),
        DriftOutput::Markdown if args.quiet && document.exit_code() == 0 => String::new(),
        DriftOutput::Markdown => render::markdown::drift(document),
        DriftOutput::Openmetrics => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            render::fleet::openmetrics(document, now)
        }
    };
    match &args.out_file {
        Some(path) => super::write_whole(path, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The reports `--merge` names: files, and the `*.json` files of directories (sorted).
fn merged_files(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = vec![];
    for path in given {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// `--merge`: the shards' reports as one, with the combined exit code.
fn merge(args: &DriftArgs) -> Result<u8> {
    let mut stacks = vec![];
    let mut coverage = None;
    for path in &merged_files(&args.merge)? {
        let text = crate::spec::source::read_bounded(path, "drift report")
            .map_err(|refused| anyhow::anyhow!("{} ({})", refused.message, refused.help))?;
        let report: DriftDocument = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a drift report (`pipectl drift -o json`): {e}",
                path.display()
            )
        })?;
        if report.kind != crate::plan::document::DocumentKind::Drift {
            bail!("{}: not a drift report", path.display());
        }
        stacks.extend(report.stacks);
        // Shard 0's coverage (the whole fleet's) is the merged report's.
        coverage = coverage.or(report.coverage);
    }
    let mut document = DriftDocument::new(stacks);
    document.coverage = coverage;
    print_report(&document, args)?;
    Ok(exit_code(&document, args))
}
