//! `pipectl apply`: plan, confirm, apply, then re-read to prove live state matches.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};
use clap::Args;

use super::{plan_stack, GlobalArgs, Reported, StackFileArg, WaitArgs};
use crate::apply::{self, ApplyOptions};
use crate::progress::Reporter;
use crate::render;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub stack: StackFileArg,
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow changes that delete something live (index deletion, mapping or index replacement).
    #[arg(long)]
    pub allow_destroy: bool,
    /// How many resources are changed at once (calls on one table or function are always serialized).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    #[command(flatten)]
    pub wait: WaitArgs,
}

pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> Result<u8> {
    let file = args.stack.file.display().to_string();
    let (_, clients, plan) = plan_stack(global, &args.stack.file, args.wait.settings()).await?;
    print!("{}", render::text::plan(&plan, &file, global.verbose > 0));
    if !plan.has_changes() {
        return Ok(0);
    }
    let destructive: Vec<String> = plan.destructive().map(|c| c.id.to_string()).collect();
    if !destructive.is_empty() && !args.allow_destroy {
        eprintln!(
            "\nerror: this plan deletes live resources: {}\n   = help: nothing was changed; review the plan and re-run with --allow-destroy to apply it",
            destructive.join(", ")
        );
        bail!(Reported);
    }
    if !args.auto_approve && !confirm()? {
        println!("Apply cancelled; nothing was changed.");
        return Ok(1);
    }

    let reporter = Reporter::on_stderr();
    let report = apply::run(
        &plan,
        &clients,
        &reporter,
        &ApplyOptions {
            parallelism: args.parallelism,
        },
    )
    .await;
    print!("{}", render::text::apply_report(&report));
    if !report.succeeded() {
        println!("Some changes were not applied. Fix the errors above and run apply again: it plans only what is still missing.");
        return Ok(1);
    }

    // Prove it: a fresh read must show no changes.
    let (_, _, after) = plan_stack(global, &args.stack.file, args.wait.settings()).await?;
    if after.has_changes() {
        println!("Applied, but live state still differs from {file}:");
        print!("{}", render::text::plan(&after, &file, false));
        return Ok(1);
    }
    println!("Apply complete. Live state matches {file}.");
    Ok(0)
}

/// Asks on the terminal, like Terraform: only "yes" proceeds.
fn confirm() -> Result<bool> {
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
