//! `pipectl apply`: plan (or read a saved plan and check it is not stale), confirm, apply, then
//! re-read to prove live state matches.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::{
    load_and_connect, plan_loaded, plan_stack, shown, GlobalArgs, LockArgs, Reading, Reported,
    WaitArgs,
};
use crate::engine::apply::{self, ApplyOptions};
use crate::plan::document::PlanDocument;
use crate::plan::targets::Targets;
use crate::plan::Plan;
use crate::progress::Reporter;
use crate::providers::lock::{Acquired, Lock, LockReleaser};
use crate::providers::{Aws, Clients};
use crate::render;
use crate::spec::LoadedStack;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The stack file (TOML), planned now and applied; `-` reads standard input. With a saved
    /// plan, the stack file to check it against instead of the path the plan records (a CI
    /// job pins the file it checked out).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "STACK.toml",
        required_unless_present = "plan_file"
    )]
    pub file: Option<PathBuf>,
    /// A plan saved by `pipectl plan --out`: applied exactly as saved, without a prompt, and
    /// refused ("plan is stale") if the stack file or any live object changed since.
    #[arg(value_name = "PLAN.json")]
    pub plan_file: Option<PathBuf>,
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long, env = "PIPECTL_AUTO_APPROVE")]
    pub auto_approve: bool,
    /// Apply only resources whose id matches (repeatable; `*` and `?` glob). The result is
    /// partial: for incidents, followed by a full apply. A saved plan applies the targets it was
    /// made with.
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// Recreate this resource (delete, then create) although it may match the file, as
    /// Terraform's `-replace` (repeatable): for a Kafka trigger that is stuck. Destructive, so
    /// `--allow-destroy` too. A saved plan recreates what it was made with.
    #[arg(long = "replace", value_name = "ID")]
    pub replace: Vec<String>,
    /// Take this resource over from the stack whose name it carries (repeatable); its
    /// `pipectl:stack` tag moves to this stack. A saved plan takes over what it was made with.
    #[arg(long = "take-over", value_name = "ID")]
    pub take_over: Vec<String>,
    /// Allow changes that delete something live (index deletion, mapping, index or
    /// StorageClass replacement, a SageMaker variant's scaling).
    #[arg(long)]
    pub allow_destroy: bool,
    /// Take Kubernetes fields another field manager (Helm, Argo CD, Flux, kubectl) owns, as
    /// `kubectl apply --server-side --force-conflicts` does.
    #[arg(long)]
    pub force_conflicts: bool,
    /// How many resources are changed at once (calls on one resource are always serialized).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// How long to wait for another apply of the same stack to release its lock.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub lock_timeout: u64,
    /// How long the lock stays valid if this run stops renewing it (it renews three times per
    /// lease); a killed apply blocks the next one for at most this long.
    #[arg(long, default_value_t = crate::providers::lock::DEFAULT_LEASE.as_secs(), value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub lock_lease: u64,
    /// Before the first change, ask IAM (SimulatePrincipalPolicy) whether the caller may make
    /// every call the plan needs; refuse with exit 1, naming each denied call, if not.
    #[arg(long)]
    pub check_permissions: bool,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> Result<u8> {
    let (stack_file, saved) = match (&args.plan_file, &args.file) {
        // `apply STACK.toml`: a stack file where a saved plan goes is the stack file (as `-f`),
        // planned now and confirmed, not a plan to read.
        (Some(path), None) if is_stack_file_name(path) => (path.clone(), None),
        (Some(path), pinned) => {
            let saved = PlanDocument::read(path)?;
            let stack_file = match pinned {
                Some(file) => file.clone(),
                None if saved.stack_file == crate::spec::source::STDIN_NAME => bail!(
                    "{} was planned from a stack read on standard input; give the stack file with -f",
                    path.display()
                ),
                None => PathBuf::from(&saved.stack_file),
            };
            (stack_file, Some((path.clone(), saved)))
        }
        (None, Some(file)) => (file.clone(), None),
        (None, None) => bail!("give a stack file with -f, or a saved plan"),
    };
    let targets = match &saved {
        Some((path, saved)) => {
            if !args.targets.is_empty() && args.targets != saved.targets.patterns() {
                bail!(
                    "{} was planned with --target {:?}; apply it without --target (or with the same ones), or make a new plan",
                    path.display(),
                    saved.targets.patterns()
                );
            }
            saved.targets.clone()
        }
        None => Targets::new(args.targets.clone()),
    };
    // A saved plan is applied with the --replace and --take-over it was made with.
    let saved_ids = |flag: &str, given: &[String], recorded: fn(&PlanDocument) -> &Vec<String>| {
        match &saved {
            Some((path, saved)) => {
                let recorded = recorded(saved);
                if !given.is_empty() && given != recorded.as_slice() {
                    bail!(
                        "{} was planned with {flag} {recorded:?}; apply it without {flag} (or with the same ones), or make a new plan",
                        path.display()
                    );
                }
                Ok(recorded.clone())
            }
            None => Ok(given.to_vec()),
        }
    };
    let reading = Reading {
        wait: args.wait.settings(),
        targets,
        replace: saved_ids("--replace", &args.replace, |d| &d.replace)?,
        take_over: saved_ids("--take-over", &args.take_over, |d| &d.take_over)?,
        ..Reading::default()
    };
    let (stack, aws) = load_and_connect(global, &stack_file, &reading)
        .await
        .map_err(shown)?;
    let lock = take_lock(&aws, args, &stack).await?;
    let (cancel, cancelled) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(watch_signals(cancel, lock.releaser()));
    let result = apply_locked(
        global,
        args,
        &reading,
        &stack,
        aws,
        saved,
        Interrupts {
            lock_lost: lock.lost_flag(),
            cancel: cancelled.clone(),
        },
    )
    .await;
    signals.abort();
    if let Err(error) = lock.release().await {
        eprintln!("warning: {error:#}");
    }
    if *cancelled.borrow() {
        eprintln!("Cancelled: the lock is released; re-run apply to finish what was left.");
        return Ok(130);
    }
    result
}

/// Ctrl-C, or SIGTERM when it can be listened for.
async fn next_signal(terminate: Option<&mut tokio::signal::unix::Signal>) {
    match terminate {
        Some(terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminate.recv() => {},
        },
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// What stops an apply part-way.
struct Interrupts {
    /// The lock was lost: start nothing new.
    lock_lost: Arc<AtomicBool>,
    /// Ctrl-C or SIGTERM: start nothing new and stop waiting.
    cancel: tokio::sync::watch::Receiver<bool>,
}

/// The first Ctrl-C or SIGTERM (what CI systems send before they kill a job) cancels: no new
/// change starts and waits stop. A second one releases the lock and quits at once.
async fn watch_signals(cancel: tokio::sync::watch::Sender<bool>, lock: LockReleaser) {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    next_signal(terminate.as_mut()).await;
    eprintln!(
        "interrupted: no new changes will start, and changes in flight are no longer waited for (what was sent goes on on AWS's side); Ctrl-C again to quit now"
    );
    let _ = cancel.send(true);
    next_signal(terminate.as_mut()).await;
    eprintln!("interrupted again: releasing the lock and quitting now; re-run apply to finish what was left");
    if let Ok(Err(error)) = tokio::time::timeout(Duration::from_secs(5), lock.release()).await {
        eprintln!("warning: {error:#}");
    }
    std::process::exit(130);
}

/// Takes the stack's lock, saying on stderr whom it waits for or whose expired lock it took.
async fn take_lock(aws: &Aws, args: &ApplyArgs, stack: &LoadedStack) -> Result<Lock> {
    let acquired = Lock::acquire(
        aws,
        &args.lock.lock_table,
        stack.name(),
        "pipectl apply",
        Duration::from_secs(args.lock_lease),
        Duration::from_secs(args.lock_timeout),
        |holder| {
            eprintln!(
                "Stack {} is locked by {holder}; waiting up to {}s for it (--lock-timeout).",
                stack.name(),
                args.lock_timeout
            )
        },
    )
    .await?;
    Ok(match acquired {
        Acquired::Free(lock) => lock,
        Acquired::TakenOver(lock, previous) => {
            eprintln!(
                "Took over the lock of stack {}: the lease of {previous} had expired (this run watched it go unrenewed for a whole lease).",
                stack.name()
            );
            lock
        }
    })
}

async fn apply_locked(
    global: &GlobalArgs,
    args: &ApplyArgs,
    reading: &Reading,
    stack: &LoadedStack,
    aws: Aws,
    saved: Option<(PathBuf, PlanDocument)>,
    stop: Interrupts,
) -> Result<u8> {
    // A signal while live state is read stops the read too: the lock is released by the caller.
    let mut cancel = stop.cancel.clone();
    let (fresh, clients) = tokio::select! {
        planned = plan_loaded(global, stack, aws, reading) => planned.map_err(shown)?,
        _ = cancel.wait_for(|cancelled| *cancelled) => {
            eprintln!("Cancelled while reading live state: nothing was changed.");
            bail!(Reported)
        }
    };
    let run = Run {
        global,
        args,
        reading,
        stack_file: &stack.path,
        stack,
        clients: &clients,
    };
    let Some((path, saved)) = saved else {
        return execute(&run, &fresh, !args.auto_approve, stop).await;
    };
    let mut stale = saved.stale_reasons(stack, &fresh);
    if stale.is_empty() {
        stale.extend(saved.first_difference(&fresh).map(|difference| {
            format!("the plan file does not show what apply would do now: {difference}")
        }));
    }
    if !stale.is_empty() {
        eprintln!("error: plan is stale: {}", path.display());
        for reason in &stale {
            eprintln!("  - {reason}");
        }
        eprintln!(
            "   = help: nothing was changed; make a new plan with `pipectl plan -f {} --out {}` and review it",
            saved.stack_file,
            path.display()
        );
        bail!(Reported);
    }
    // The plan was reviewed when it was saved: no prompt, as with Terraform's saved plans.
    // What runs is the plan pipectl derived itself, which the file was just checked to show.
    execute(&run, &fresh, false, stop).await
}

/// What an apply works with once its plan is made.
struct Run<'a> {
    global: &'a GlobalArgs,
    args: &'a ApplyArgs,
    reading: &'a Reading,
    stack_file: &'a Path,
    stack: &'a LoadedStack,
    clients: &'a Clients,
}

async fn execute(run: &Run<'_>, plan: &Plan, confirm: bool, stop: Interrupts) -> Result<u8> {
    let Run {
        global,
        args,
        stack_file,
        clients,
        ..
    } = *run;
    let file = stack_file.display().to_string();
    print!(
        "{}",
        render::text::plan_allowing(plan, &file, global.verbose > 0, args.allow_destroy)
    );
    if !plan.has_changes() {
        // Nothing to apply is not success while something does not work: a deploy stays red.
        return Ok(if plan.unhealthy().next().is_some() {
            1
        } else {
            0
        });
    }
    refuse_unallowed(plan, args)?;
    if args.check_permissions {
        let refusal =
            super::check_permissions(run.stack, &clients.aws, plan, &args.lock.lock_table).await?;
        if let Some(refusal) = refusal {
            eprintln!("\n{refusal}");
            bail!(Reported);
        }
    }
    if confirm && !ask_yes()? {
        println!("Apply cancelled; nothing was changed.");
        return Ok(1);
    }

    let reporter = Reporter::on_stderr();
    let report = apply::run(
        plan,
        clients,
        &reporter,
        &ApplyOptions {
            parallelism: args.parallelism,
            stop: stop.lock_lost,
            cancel: stop.cancel.clone(),
        },
    )
    .await;
    print!("{}", render::text::apply_report(&report));
    if *stop.cancel.borrow() {
        // The caller closes with "Cancelled: ... re-run apply": nothing failed to fix.
        return Ok(1);
    }
    if !report.succeeded() {
        println!("Some changes were not applied. Fix the errors above and run apply again: it plans only what is still missing.");
        return Ok(1);
    }
    verify_applied(run, &file).await
}

/// Refuses (before anything is changed) a plan that deletes live resources without
/// `--allow-destroy`, or takes another field manager's fields without `--force-conflicts`.
fn refuse_unallowed(plan: &Plan, args: &ApplyArgs) -> Result<()> {
    let destructive: Vec<String> = plan.destructive().map(|c| c.id.to_string()).collect();
    if !destructive.is_empty() && !args.allow_destroy {
        eprintln!(
            "\nerror: this plan deletes live resources: {}\n   = help: nothing was changed; review the plan and re-run with --allow-destroy to apply it",
            destructive.join(", ")
        );
        bail!(Reported);
    }
    let conflicts: Vec<String> = plan
        .conflicting()
        .flat_map(|c| {
            c.conflicts
                .iter()
                .map(move |f| format!("{} {} (owned by {})", c.id, f.field, f.manager))
        })
        .collect();
    if !conflicts.is_empty() && !args.force_conflicts {
        eprintln!(
            "\nerror: this plan takes fields another field manager owns: {}\n   = help: nothing was changed; re-run with --force-conflicts to take them (that manager may take them back on its next sync), or leave them to it with an [[ignore]] rule",
            conflicts.join(", ")
        );
        bail!(Reported);
    }
    Ok(())
}

/// Proves the apply: a fresh read must show no changes.
async fn verify_applied(run: &Run<'_>, file: &str) -> Result<u8> {
    let quiet = Reading {
        announce: false,
        ..run.reading.clone()
    };
    let (_, _, after) = plan_stack(run.global, run.stack_file, &quiet).await?;
    if after.differs() {
        println!("Applied, but live state still differs from {file}:");
        print!("{}", render::text::plan(&after, file, false));
        return Ok(1);
    }
    println!("Apply complete. Live state matches {file}.");
    Ok(0)
}

/// Asks on the terminal, like Terraform: only "yes" proceeds.
fn ask_yes() -> Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!(
            "\nerror: apply needs confirmation, but stdin is not a terminal\n   = help: review the plan and re-run with --auto-approve (e.g. in CI); nothing was changed"
        );
        bail!(Reported);
    }
    print!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Whether a path names a stack file (TOML) rather than a saved plan (JSON).
fn is_stack_file_name(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("toml"))
}
