//! The command line: global flags, one file per subcommand, and the exit-code contract
//! (0 success or no changes, 1 error, 2 changes/drift where a command reports them).

mod apply;
mod drift;
mod plan;
mod unlock;
mod validate;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::plan::Plan;
use crate::providers::{wait::WaitSettings, Aws, Clients, Connection};
use crate::spec::{self, LoadedStack};

/// pipectl: declare the scaling settings of a Kafka log-processing stack on AWS (EKS, Lambda,
/// SageMaker, DynamoDB) in one TOML file, then plan, apply and drift-check them.
#[derive(Debug, Parser)]
#[command(name = "pipectl", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// AWS region (overrides [stack] region and AWS_REGION).
    #[arg(long, global = true, env = "PIPECTL_REGION")]
    pub region: Option<String>,
    /// AWS shared-config profile (SSO, assume-role and credential_process profiles work).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Kubernetes context of your kubeconfig to reach the cluster with (overrides
    /// [eks] kube_context; without either, [eks] cluster is reached with a token pipectl signs).
    #[arg(long, global = true, env = "PIPECTL_KUBE_CONTEXT")]
    pub kube_context: Option<String>,
    /// Plain output without colours (NO_COLOR is honoured too).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// More logging on stderr: -v info, -vv debug, -vvv trace (AWS SDK included).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// A directory whose stack files `extends` may name besides the extending file's own
    /// directory tree (repeatable). Stack files come from pull requests: by default `extends`
    /// cannot reach outside.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "PIPECTL_ALLOW_EXTENDS_FROM",
        value_delimiter = ':'
    )]
    pub allow_extends_from: Vec<PathBuf>,
}

impl GlobalArgs {
    /// How stack files are read.
    pub fn load_options(&self) -> spec::LoadOptions {
        spec::LoadOptions {
            allowed_dirs: self.allow_extends_from.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stack file offline (no AWS calls). Exit 0 valid, 1 invalid.
    Validate(validate::ValidateArgs),
    /// Read live state and show what apply would change.
    Plan(plan::PlanArgs),
    /// Make live state match the stack file.
    Apply(apply::ApplyArgs),
    /// Read-only check for cron: exit 0 in sync, 2 drifted, 1 error.
    Drift(drift::DriftArgs),
    /// Remove a stack's apply lock that a killed run left behind.
    Unlock(unlock::UnlockArgs),
}

/// The stack file argument of validate and plan: `pipectl plan STACK.toml` or `-f STACK.toml`,
/// as `drift` takes it; `-` reads standard input.
#[derive(Debug, Args)]
pub struct StackFileArg {
    /// The stack file (TOML); `-` reads it from standard input.
    #[arg(short = 'f', long = "file", value_name = "STACK.toml")]
    file: Option<PathBuf>,
    /// The stack file, instead of -f.
    #[arg(
        value_name = "STACK.toml",
        conflicts_with = "file",
        required_unless_present = "file"
    )]
    positional: Option<PathBuf>,
}

impl StackFileArg {
    pub fn path(&self) -> &Path {
        self.file
            .as_deref()
            .or(self.positional.as_deref())
            .unwrap_or(Path::new("-"))
    }
}

/// Where apply locks live, shared by apply and unlock.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// DynamoDB table holding the apply locks of this account and region (created on first
    /// use; see docs/operations.md for the IAM it needs).
    #[arg(long, env = "PIPECTL_LOCK_TABLE", default_value = crate::providers::lock::DEFAULT_TABLE)]
    pub lock_table: String,
}

/// How long to wait for asynchronous AWS changes, shared by apply and anything that waits.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Give up waiting for one step (e.g. an index backfill) after this many seconds.
    #[arg(long, default_value_t = 4 * 3600, value_name = "SECONDS")]
    pub wait_timeout: u64,
    /// First pause between two status reads, in milliseconds (it grows up to 10 s).
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub poll_interval: u64,
}

impl WaitArgs {
    fn settings(&self) -> WaitSettings {
        WaitSettings {
            initial_interval: Duration::from_millis(self.poll_interval.max(1)),
            timeout: Duration::from_secs(self.wait_timeout),
            ..WaitSettings::default()
        }
    }
}

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    configure_output(&cli.global);
    match &cli.command {
        Command::Validate(args) => validate::run(&cli.global, args),
        Command::Plan(args) => plan::run(&cli.global, args).await,
        Command::Apply(args) => apply::run(&cli.global, args).await,
        Command::Drift(args) => drift::run(&cli.global, args).await,
        Command::Unlock(args) => unlock::run(&cli.global, args).await,
    }
}

fn configure_output(global: &GlobalArgs) {
    let no_color = global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color || !std::io::stdout().is_terminal() {
        console::set_colors_enabled(false);
    }
    if no_color || !std::io::stderr().is_terminal() {
        console::set_colors_enabled_stderr(false);
    }
    let filter = match global.verbose {
        0 => "warn",
        1 => "warn,pipectl=info",
        2 => "info,pipectl=debug",
        _ => "debug,pipectl=trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIPECTL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(!no_color && std::io::stderr().is_terminal())
        .try_init();
}

/// A stack that could not be planned, with the full explanation (located spec errors, or plan
/// errors), not yet printed.
#[derive(Debug)]
pub struct StackFailure(pub String);

impl std::fmt::Display for StackFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StackFailure {}

/// Marks an error whose details were already printed, so main prints nothing more.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported")
    }
}

impl std::error::Error for Reported {}

async fn connect(global: &GlobalArgs, stack: &LoadedStack, wait: WaitSettings) -> Result<Aws> {
    let region = global.region.clone().or_else(|| {
        stack
            .spec
            .stack
            .region
            .as_ref()
            .map(|r| r.get_ref().clone())
    });
    Aws::connect(&Connection {
        region,
        profile: global.profile.clone(),
        wait,
    })
    .await
}

/// Load, connect, read and diff: the common front half of plan, apply and drift. A stack that
/// cannot be planned is printed on stderr and ends the command.
async fn plan_stack(
    global: &GlobalArgs,
    file: &Path,
    wait: WaitSettings,
) -> Result<(LoadedStack, Clients, Plan)> {
    try_plan_stack(global, file, wait).await.map_err(shown)
}

/// Like `plan_stack`, but a stack that cannot be planned is returned as a `StackFailure`.
async fn try_plan_stack(
    global: &GlobalArgs,
    file: &Path,
    wait: WaitSettings,
) -> Result<(LoadedStack, Clients, Plan)> {
    let (stack, aws) = load_and_connect(global, file, wait).await?;
    let (plan, clients) = plan_loaded(global, &stack, aws).await?;
    Ok((stack, clients, plan))
}

/// Loads and validates the stack file, then connects to AWS. An invalid file is a
/// `StackFailure` with the located errors.
async fn load_and_connect(
    global: &GlobalArgs,
    file: &Path,
    wait: WaitSettings,
) -> Result<(LoadedStack, Aws)> {
    let stack =
        spec::load(file, &global.load_options()).map_err(|e| StackFailure(e.to_string()))?;
    let aws = connect(global, &stack, wait).await?;
    Ok((stack, aws))
}

/// Reads live state and builds the plan; plan errors are a `StackFailure`.
async fn plan_loaded(
    global: &GlobalArgs,
    stack: &LoadedStack,
    aws: Aws,
) -> Result<(Plan, Clients)> {
    let started = std::time::Instant::now();
    let (plan, clients) =
        crate::plan::build::build(stack, aws, global.kube_context.as_deref()).await?;
    tracing::info!(
        resources = plan.changes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "read live state"
    );
    if !plan.errors.is_empty() {
        return Err(StackFailure(format!(
            "{}\n\n{}: {} error{} found while planning; nothing was changed.",
            plan.error_report(),
            stack.path.display(),
            plan.errors.len(),
            if plan.errors.len() == 1 { "" } else { "s" }
        ))
        .into());
    }
    Ok((plan, clients))
}

/// Prints a `StackFailure` and turns it into `Reported`; other errors pass through.
fn shown(error: anyhow::Error) -> anyhow::Error {
    match error.downcast::<StackFailure>() {
        Ok(StackFailure(text)) => {
            eprintln!("{text}");
            anyhow::Error::new(Reported)
        }
        Err(other) => other,
    }
}

/// How plan and drift print their result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people: coloured on a terminal, plain otherwise.
    Text,
    /// The versioned document of docs/json-output.md.
    Json,
    /// For pull-request comments: summary first, details collapsed.
    Markdown,
}
