//! The command line: global flags, one file per subcommand, and the exit-code contract
//! (0 success or no changes, 1 error, 2 changes/drift where a command reports them).

mod apply;
mod drift;
mod import;
mod init;
mod inventory;
mod meta;
mod permissions;
mod plan;
mod prices;
mod show;
mod stacks;
mod unlock;
mod validate;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};

use crate::engine::build::{BuildOptions, DEFAULT_READ_PARALLELISM};
use crate::plan::targets::{Targets, PARTIAL_PLAN_WARNING};
use crate::plan::Plan;
use crate::providers::account::check_account;
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

/// `--expect-account`: an AWS account id is 12 digits (a typo must not pass as "another
/// account" at the first call).
fn account_id(value: &str) -> std::result::Result<String, String> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{value:?} is not an AWS account id: it is 12 digits, e.g. 123456789012 (quote it to keep leading zeros)"
        ))
    }
}

/// Shown after each command's own options in its `--help` (they apply to every command).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// AWS region (for a stack without [stack] region; overrides AWS_REGION). A different
    /// region than the stack's pinned one is refused unless --force-region.
    #[arg(long, global = true, env = "PIPECTL_REGION")]
    pub region: Option<String>,
    /// Use --region (or PIPECTL_REGION) although the stack file pins another region.
    #[arg(long, global = true)]
    pub force_region: bool,
    /// AWS shared-config profile (SSO, assume-role and credential_process profiles work). It
    /// must exist, and its credentials are used even when AWS_ACCESS_KEY_ID is set, as with the
    /// AWS CLI. Without it, AWS_PROFILE and the SDK's standard chain decide.
    #[arg(long, global = true, env = "PIPECTL_PROFILE")]
    pub profile: Option<String>,
    /// Refuse to run unless the AWS credentials are of this account (12 digits); `[stack]
    /// account_id` says the same in the stack file.
    #[arg(
        long,
        global = true,
        value_name = "ACCOUNT_ID",
        env = "PIPECTL_EXPECT_ACCOUNT",
        value_parser = account_id
    )]
    pub expect_account: Option<String>,
    /// Kubernetes context of your kubeconfig to reach the cluster with (overrides
    /// [eks] kube_context; without either, [eks] cluster is reached with a token pipectl signs).
    #[arg(long, global = true, env = "PIPECTL_KUBE_CONTEXT")]
    pub kube_context: Option<String>,
    /// Kafka brokers to reach the admin API at (HOST:PORT, comma-separated), instead of
    /// [kafka.admin] bootstrap_servers: e.g. a `kubectl port-forward` to a broker.
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT",
        value_delimiter = ',',
        env = "PIPECTL_KAFKA_BOOTSTRAP"
    )]
    pub kafka_bootstrap: Option<Vec<String>>,
    /// The Secrets Manager secret whose SASL/SCRAM login may be sent to the --kafka-bootstrap
    /// brokers. A stack file never decides where a login goes: [kafka.admin] with SASL needs
    /// both pins, and its sasl_secret_arn must be this one.
    #[arg(
        long,
        global = true,
        value_name = "ARN",
        env = "PIPECTL_KAFKA_ADMIN_SECRET"
    )]
    pub kafka_admin_secret: Option<String>,
    /// The share of each of AWS's documented request-rate quotas pipectl may use (0.01-1):
    /// the rest is left to other tools and jobs in the account. Requests wait for it instead
    /// of being throttled.
    #[arg(long, global = true, value_name = "FRACTION", default_value_t = 0.5, value_parser = parse_share, env = "PIPECTL_API_RATE_SHARE")]
    pub api_rate_share: f64,
    /// Colours: `auto` on a terminal unless NO_COLOR is set (CLICOLOR_FORCE forces them even
    /// in a pipe), `always`, or `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "PIPECTL_COLOR")]
    pub color: ColorChoice,
    /// The same as --color never.
    #[arg(long, global = true, hide = true)]
    pub no_color: bool,
    /// More logging on stderr: -v info, -vv debug, -vvv trace (AWS SDK included).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// A directory stack files may be read from besides the working tree (the git checkout
    /// around the current directory), and `extends` may name files in besides the extending
    /// file's own tree (repeatable). Stack files come from pull requests: by default neither a
    /// stack file nor its `extends` reaches outside.
    #[arg(
        long,
        alias = "allow-extends-from",
        global = true,
        value_name = "DIR",
        env = "PIPECTL_ALLOW_FILES_FROM",
        value_delimiter = ':'
    )]
    pub allow_files_from: Vec<PathBuf>,
}

impl GlobalArgs {
    /// Where a Kafka login may go, as the job says.
    pub fn kafka_pin(&self) -> crate::providers::kafka::KafkaPin {
        crate::providers::kafka::KafkaPin {
            servers: self.kafka_bootstrap.clone(),
            secret: self.kafka_admin_secret.clone(),
        }
    }

    /// How stack files are read.
    /// The runner's own AWS connection (its credentials, no role), in `region` (None: the
    /// SDK's chain decides), for commands that are not about one stack's account.
    pub fn runner_connection(&self, region: Option<String>) -> Connection {
        Connection {
            region,
            profile: self.profile.clone(),
            wait: WaitSettings::default(),
            api_rate_share: self.api_rate_share,
            role: None,
            account: None,
        }
    }

    pub fn load_options(&self) -> spec::LoadOptions {
        spec::LoadOptions {
            allowed_dirs: self.allow_files_from.clone(),
            rules: crate::engine::registry::kind_rules(),
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
    /// List what a stack holds live: what it owns, the leftovers of removed blocks, and what
    /// another stack's name is on (read only).
    Inventory(inventory::InventoryArgs),
    /// Remove a stack's apply lock that a killed run left behind.
    Unlock(unlock::UnlockArgs),
    /// Write a stack file from live state (tables, functions, endpoints, the broker
    /// StatefulSet, topics, alert rules), which plan then shows as no changes.
    // Boxed: clap parses it once per run, and the other variants stay small.
    Import(Box<import::ImportArgs>),
    /// Start a stack (or CI workflow) from a template; --list lists them.
    Init(init::InitArgs),
    /// Print the JSON Schema of the stack file (for editors; `init` writes it).
    Schema,
    /// Print a plan saved by `plan --out` (no AWS calls).
    Show(show::ShowArgs),
    /// Exactly what a command needs to be allowed to do for a stack: an IAM policy
    /// (JSON, Terraform, CloudFormation), Kubernetes RBAC, or Kafka ACLs.
    Permissions(permissions::PermissionsArgs),
    /// The list prices the plan's cost uses: `prices update` reads them from AWS's Price List.
    Prices(prices::PricesArgs),
    /// Print the version, the git commit and the target it was built for.
    Version(meta::VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completion(meta::CompletionArgs),
    /// Print the man page (roff), or write one per subcommand with --out-dir.
    Man(meta::ManArgs),
}

fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(format!(
            "{text:?} is not a share between 0 (exclusive) and 1, e.g. 0.5"
        )),
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
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

/// The stacks of validate, plan and drift: files (`-f`, repeatable) and more files or
/// directories as arguments, each directory walked for stacks (`stacks::find`).
#[derive(Debug, Args)]
pub struct StackPathsArg {
    /// A stack file (repeatable); `-` reads one from standard input.
    #[arg(short = 'f', long = "file", value_name = "STACK.toml")]
    pub files: Vec<PathBuf>,
    /// More stack files, or directories: every `*.toml` with a `[stack]` table in a directory
    /// and its subdirectories is a stack, except hidden files and files another one there
    /// `extends` (`-v` lists what was passed over).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

impl StackPathsArg {
    /// The stacks named, found in the directories given; `what` is the command, for the error
    /// when none is given.
    pub fn find(&self, global: &GlobalArgs, what: &str) -> Result<stacks::Found> {
        let paths: Vec<PathBuf> = self.files.iter().chain(&self.paths).cloned().collect();
        if paths.is_empty() {
            anyhow::bail!(
                "no stack to {what}: give stack files with -f, or files and directories as arguments"
            );
        }
        let found = stacks::find(&paths, &global.load_options())?;
        found.report(global.verbose > 0);
        Ok(found)
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
        Command::Inventory(args) => inventory::run(&cli.global, args).await,
        Command::Unlock(args) => unlock::run(&cli.global, args).await,
        Command::Show(args) => show::run(&cli.global, args),
        Command::Prices(args) => prices::run(&cli.global, args).await,
        Command::Permissions(args) => permissions::run(&cli.global, args).await,
        Command::Import(args) => import::run(&cli.global, args).await,
        Command::Init(args) => init::run(args),
        Command::Schema => init::schema(),
        Command::Version(args) => meta::version(args),
        Command::Completion(args) => meta::completion(args),
        Command::Man(args) => meta::man(args),
    }
}

fn configure_output(global: &GlobalArgs) {
    let stdout_colors = colors_wanted(global, std::io::stdout().is_terminal());
    let stderr_colors = colors_wanted(global, std::io::stderr().is_terminal());
    console::set_colors_enabled(stdout_colors);
    console::set_colors_enabled_stderr(stderr_colors);
    crate::providers::set_verbose_errors(global.verbose > 0);
    // At the default verbosity only pipectl's own warnings: the SDK's logs quote responses,
    // headers included.
    let filter = match global.verbose {
        0 => "off,pipectl=warn",
        // -v: pipectl's progress, each API call (`pipectl::api`) and the SDK's retries.
        1 => "warn,pipectl=info,aws_smithy_runtime::client::retries=debug",
        2 => "info,pipectl=debug,aws_smithy_runtime::client::retries=debug",
        _ => "debug,pipectl=trace",
    };
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let levels = tracing_subscriber::EnvFilter::try_from_env("PIPECTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    // Whatever PIPECTL_LOG says: no level may print what signing sees.
    let no_secrets =
        tracing_subscriber::filter::filter_fn(|event| !handles_secrets(event.target()));
    // The secrets filter passes nothing the levels do not, and says so: with a bound on the
    // level, spans and events above it are skipped where they are made. Without it the SDK's
    // spans (several per call) were built and dropped by the registry at every verbosity.
    let no_secrets = match levels.max_level_hint() {
        Some(most) => no_secrets.with_max_level_hint(most),
        None => no_secrets,
    };
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(stderr_colors)
        .with_filter(levels)
        .with_filter(no_secrets);
    let _ = tracing_subscriber::registry().with(output).try_init();
}

/// Log targets whose events quote credentials: SigV4 signing traces its canonical request and
/// string to sign, which for the presigned EKS token hold the session token in the query.
fn handles_secrets(target: &str) -> bool {
    target.starts_with("aws_sigv4")
}

/// Writes a file that must not exist yet (its directory is created), as `cargo new` does:
/// `init` and `import --out` never overwrite anything.
fn write_new_file(path: &Path, text: &str) -> Result<()> {
    use anyhow::Context;
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Whether a stream gets colours: `--color always|never` decide; `auto` follows NO_COLOR
/// (any non-empty value turns colours off), then CLICOLOR_FORCE (any value but 0 turns them
/// on), then whether the stream is a terminal (https://no-color.org, https://bixense.com/clicolors).
fn colors_wanted(global: &GlobalArgs, terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match (global.no_color, global.color) {
        (true, _) | (_, ColorChoice::Never) => false,
        (_, ColorChoice::Always) => true,
        (_, ColorChoice::Auto) if set("NO_COLOR").is_some() => false,
        (_, ColorChoice::Auto) if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
        (_, ColorChoice::Auto) => terminal,
    }
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

/// The region a stack is read in: `--region` (refused when the stack pins another, unless
/// `--force-region`), else the stack's; None leaves it to the SDK's chain.
pub(crate) fn stack_region(global: &GlobalArgs, stack: &LoadedStack) -> Result<Option<String>> {
    let pinned = stack
        .spec
        .stack
        .region
        .as_ref()
        .map(|r| r.get_ref().clone());
    if let (Some(given), Some(pinned)) = (&global.region, &pinned) {
        if given != pinned && !global.force_region {
            bail!(
                "{}: the stack pins region {pinned}, but --region (or PIPECTL_REGION) says {given}; nothing was read or changed\n   = help: drop --region/PIPECTL_REGION, or pass --force-region to plan this stack in {given} (its resources there are other resources)",
                stack.path.display()
            );
        }
    }
    Ok(global.region.clone().or(pinned))
}

/// Connects to AWS for the stack's region; `checked` asks whose credentials these are first.
async fn connect_with(
    global: &GlobalArgs,
    stack: &LoadedStack,
    reading: &Reading,
    checked: bool,
) -> Result<Aws> {
    let region = stack_region(global, stack)?;
    let role = match &reading.roles {
        Some(roles) => roles.role_for(stack)?,
        None => None,
    };
    // A stack read with its own role counts against its own account's quotas.
    let account = role
        .as_ref()
        .and(stack.spec.stack.account_id.as_ref())
        .map(|a| a.get_ref().clone());
    let connection = Connection {
        region,
        profile: global.profile.clone(),
        wait: reading.wait.clone(),
        api_rate_share: global.api_rate_share,
        role,
        account,
    };
    if checked {
        Aws::connect(&connection).await
    } else {
        Aws::connect_unchecked(&connection).await
    }
}

/// How a command reads a stack.
#[derive(Debug, Clone)]
pub struct Reading {
    pub wait: WaitSettings,
    /// Print the identity line (and the targeting warning) on stderr.
    pub announce: bool,
    /// `--target`.
    pub targets: Targets,
    /// `--replace`: resources to recreate.
    pub replace: Vec<String>,
    /// `--take-over`: resources another stack owns that this one takes.
    pub take_over: Vec<String>,
    /// Return the plan with its errors instead of failing on them (`inventory`).
    pub keep_errors: bool,
    /// Ask the services to validate the writes the plan would make (plan and apply); drift and
    /// inventory only read.
    pub validate_writes: bool,
    /// Price the plan (`plan`, unless `--no-cost`).
    pub cost: Option<crate::engine::build::CostOptions>,
    /// How many resources are read at once.
    pub parallelism: usize,
    /// How long reading live state may take in all: each call has its own deadline too, but a
    /// peer that answers just in time, call after call, must not hold a cron job for hours.
    pub deadline: Duration,
    /// A fleet's roles (`drift --role-arn-template`): each stack's account is read with its
    /// own role.
    pub roles: Option<RoleTemplate>,
}

/// How a fleet's stacks are reached: `[stack] role_arn`, else the template with the stack's
/// `account_id`, assumed with the runner's credentials.
#[derive(Debug, Clone)]
pub struct RoleTemplate {
    pub template: Option<String>,
    pub external_id: Option<String>,
}

impl RoleTemplate {
    /// The role to read `stack` with: its own `role_arn`, else the template (which needs the
    /// stack's `account_id`); none when neither applies.
    fn role_for(
        &self,
        stack: &LoadedStack,
    ) -> Result<Option<crate::providers::roles::AssumedRole>> {
        let arn = match (&stack.spec.stack.role_arn, &self.template, &stack.spec.stack.account_id) {
            (Some(own), _, _) => own.get_ref().clone(),
            (None, Some(template), Some(account)) => {
                crate::providers::roles::role_from_template(template, account.get_ref())
            }
            (None, Some(_), None) => bail!(
                "{}: --role-arn-template needs the stack's account: set [stack] account_id (or [stack] role_arn)",
                stack.path.display()
            ),
            (None, None, _) => return Ok(None),
        };
        Ok(Some(crate::providers::roles::AssumedRole::for_stack(
            arn,
            self.external_id.clone(),
            stack.name(),
        )))
    }
}

/// `--timeout`'s default: a 300-resource stack reads in well under a second at AWS's quotas.
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(300);

impl Default for Reading {
    fn default() -> Self {
        Reading {
            wait: WaitSettings::default(),
            announce: true,
            targets: Targets::default(),
            replace: vec![],
            take_over: vec![],
            keep_errors: false,
            validate_writes: true,
            cost: None,
            parallelism: DEFAULT_READ_PARALLELISM,
            deadline: DEFAULT_READ_DEADLINE,
            roles: None,
        }
    }
}

/// `--target` and `--parallelism` of plan and drift.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Plan only resources whose id matches (repeatable; `*` and `?` glob, e.g.
    /// `lambda.function.kafka-log-lambda` or `dynamodb.*.KafkaLogData*`). The result is partial:
    /// for incidents, followed by a full plan.
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// How many resources are read at once.
    #[arg(long, default_value_t = DEFAULT_READ_PARALLELISM, value_name = "N")]
    pub parallelism: usize,
    /// Give up reading a stack's live state after this many seconds (each network call also
    /// has its own deadline); the stack is reported as failed, others go on.
    #[arg(long, default_value_t = DEFAULT_READ_DEADLINE.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

impl ReadArgs {
    pub fn reading(&self, announce: bool) -> Reading {
        Reading {
            announce,
            targets: Targets::new(self.targets.clone()),
            parallelism: self.parallelism,
            deadline: Duration::from_secs(self.timeout),
            ..Reading::default()
        }
    }
}

/// Load, connect, read and diff: the common front half of plan, apply and drift. A stack that
/// cannot be planned is printed on stderr and ends the command.
async fn plan_stack(
    global: &GlobalArgs,
    file: &Path,
    reading: &Reading,
) -> Result<(LoadedStack, Clients, Plan)> {
    try_plan_stack(global, file, reading).await.map_err(shown)
}

/// A stack file to plan or apply: valid, and with no template placeholder left in it.
pub(crate) fn load_filled_in(global: &GlobalArgs, file: &Path) -> Result<LoadedStack> {
    let stack =
        spec::load(file, &global.load_options()).map_err(|e| StackFailure(e.to_string()))?;
    if let Some(placeholders) = &stack.placeholders {
        return Err(StackFailure(placeholders.to_string()).into());
    }
    Ok(stack)
}

/// Like `plan_stack`, but a stack that cannot be planned is returned as a `StackFailure`.
async fn try_plan_stack(
    global: &GlobalArgs,
    file: &Path,
    reading: &Reading,
) -> Result<(LoadedStack, Clients, Plan)> {
    try_plan_loaded(global, load_filled_in(global, file)?, reading).await
}

/// `try_plan_stack` of a stack file already loaded (a fleet's drift loads each file once, to
/// find its account and shard).
async fn try_plan_loaded(
    global: &GlobalArgs,
    stack: LoadedStack,
    reading: &Reading,
) -> Result<(LoadedStack, Clients, Plan)> {
    let aws = connect_with(global, &stack, reading, false).await?;
    // Whose credentials these are is asked while the stack is read (one round trip fewer);
    // reads change nothing, and nothing is shown before the account is checked.
    let (plan, clients) = {
        let identified = identify(global, &stack, &aws, reading.announce);
        // The partial-plan warning waits for the identity line (below).
        let quiet = Reading {
            announce: false,
            ..reading.clone()
        };
        let planned = plan_loaded(global, &stack, aws.clone(), &quiet);
        tokio::pin!(identified, planned);
        tokio::select! {
            identity = &mut identified => {
                identity?;
                planned.await?
            }
            plan = &mut planned => {
                // A credentials problem is told as such, not as the read that met it first.
                identified.await?;
                plan?
            }
        }
    };
    if !reading.targets.is_whole_stack() && reading.announce {
        eprintln!("warning: {PARTIAL_PLAN_WARNING}");
    }
    Ok((stack, clients, plan))
}

/// Asks whose credentials these are, says so on stderr (with `announce`), and refuses another
/// account than `--expect-account` or `[stack] account_id`.
async fn identify(
    global: &GlobalArgs,
    stack: &LoadedStack,
    aws: &Aws,
    announce: bool,
) -> Result<()> {
    let identity = aws.caller().await?;
    if announce {
        eprintln!("{}", identity_line(global, stack, aws, &identity));
    }
    if let Some(expected) = &global.expect_account {
        check_account(&identity, expected, "--expect-account")?;
    }
    if let Some(expected) = &stack.spec.stack.account_id {
        let source = format!("[stack] account_id of {}", stack.path.display());
        check_account(&identity, expected.get_ref(), &source)?;
    }
    Ok(())
}

/// Loads and validates the stack file, connects to AWS, and refuses another account than the
/// one expected. With `announce`, says on stderr whose credentials, which region and which
/// cluster the run reads. An invalid file is a `StackFailure` with the located errors.
async fn load_and_connect(
    global: &GlobalArgs,
    file: &Path,
    reading: &Reading,
) -> Result<(LoadedStack, Aws)> {
    let stack = load_filled_in(global, file)?;
    let aws = connect_with(global, &stack, reading, true).await?;
    identify(global, &stack, &aws, reading.announce).await?;
    Ok((stack, aws))
}

/// "Stack S: AWS account A as ARN, region R, EKS cluster C": what a reviewer checks first.
fn identity_line(
    global: &GlobalArgs,
    stack: &LoadedStack,
    aws: &Aws,
    identity: &crate::providers::account::Identity,
) -> String {
    let eks = stack.spec.section::<crate::providers::eks::EksSection>();
    let context = global
        .kube_context
        .clone()
        .or_else(|| eks.and_then(|e| e.kube_context.clone()));
    let cluster = match (context, eks.and_then(|e| e.cluster.as_ref())) {
        (Some(context), _) => format!(", Kubernetes context {context}"),
        (None, Some(cluster)) => format!(", EKS cluster {}", cluster.get_ref()),
        (None, None) => String::new(),
    };
    format!(
        "Stack {}: AWS account {} as {}, region {}{cluster}",
        stack.name(),
        identity.account,
        identity.arn,
        aws.region
    )
}

/// Reads live state and builds the plan; plan errors are a `StackFailure`.
async fn plan_loaded(
    global: &GlobalArgs,
    stack: &LoadedStack,
    aws: Aws,
    reading: &Reading,
) -> Result<(Plan, Clients)> {
    let started = std::time::Instant::now();
    let options = BuildOptions {
        parallelism: reading.parallelism,
        targets: reading.targets.clone(),
        replace: reading.replace.clone(),
        take_over: reading.take_over.clone(),
        validate_writes: reading.validate_writes,
        cost: reading.cost.clone(),
    };
    let built = tokio::time::timeout(
        reading.deadline,
        crate::engine::build::build(
            stack,
            Clients::new(aws, global.kube_context.clone(), global.kafka_pin()),
            &options,
        ),
    )
    .await
    .map_err(|_| {
        StackFailure(format!(
            "error: {}: reading live state did not finish within {} s (--timeout); nothing was changed. Run with -v to see which calls were still waiting.",
            stack.path.display(),
            reading.deadline.as_secs()
        ))
    })?;
    let (mut plan, clients) = built.map_err(|error| StackFailure(format!("error: {error:#}")))?;
    // The identity was asked before the read (`identify`): this answer is the cached one.
    if let Ok(identity) = clients.aws.caller().await {
        plan.location = Some(format!(
            "AWS account {}, region {}",
            identity.account, clients.aws.region
        ));
    }
    if !reading.targets.is_whole_stack() && reading.announce {
        eprintln!("warning: {PARTIAL_PLAN_WARNING}");
    }
    tracing::info!(
        resources = plan.changes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "read live state"
    );
    if !plan.errors.is_empty() && !reading.keep_errors {
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
            eprintln!("{}", crate::escape::log_text(&text));
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

/// `--check-permissions`: whether the caller may make every call applying `plan` needs (its
/// reads, the lock, and the writes of its steps), asked of IAM's policy simulator. The refusal
/// to print, if not.
async fn check_permissions(
    stack: &LoadedStack,
    aws: &Aws,
    plan: &Plan,
    lock_table: &str,
) -> Result<Option<String>> {
    use crate::plan::permissions::{partition_of, statements, Command, Scope};
    let caller = aws.caller().await?;
    let scope = Scope {
        partition: partition_of(&aws.region).to_string(),
        region: aws.region.clone(),
        account: caller.account,
    };
    let needed = crate::engine::permissions::command_permissions(
        &stack.spec,
        &scope,
        lock_table,
        Command::Apply,
        Some(plan),
    );
    crate::providers::iam::preflight(aws, &statements(&needed.aws)).await
}

/// Writes `text` to `path` through a temporary file in the same directory, renamed into place:
/// a reader sees the previous file or the new one, never half of one (drift's `--out`, the
/// price cache). A temporary file left by a failed rename is removed.
pub(crate) fn write_whole(path: &Path, text: &str) -> Result<()> {
    let directory = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            anyhow::anyhow!("writing {}: {e}", path.display())
        })
}
