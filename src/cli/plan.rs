//! `pipectl plan`: read live state and show the changes; optionally save them for
//! `pipectl apply PLAN.json`. Several stacks (files, directories) are planned one after
//! another, each printed in full; a stack that cannot be planned does not stop the others.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use super::{
    plan_stack, shown, try_plan_stack, GlobalArgs, OutputFormat, ReadArgs, Reading, Reported,
    StackPathsArg,
};
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::engine::build::CostOptions;
use crate::plan::document::PlanDocument;
use crate::render;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stacks: StackPathsArg,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Ask IAM (SimulatePrincipalPolicy) whether the caller may make every call applying this
    /// plan needs; exit 1, naming each denied call, if not.
    #[arg(long)]
    pub check_permissions: bool,
    /// Also save the plan (JSON) for `pipectl apply PLAN.json`, which applies exactly it and
    /// refuses it when anything it was made from has changed.
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// How to print the plan.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Plan to recreate this resource (delete, then create) although it may match the file,
    /// as Terraform's `-replace` (repeatable): for a Kafka trigger that is stuck.
    #[arg(long = "replace", value_name = "ID")]
    pub replace: Vec<String>,
    /// Take this resource over from the stack whose name it carries (repeatable): the plan
    /// manages it and moves its `pipectl:stack` tag to this stack.
    #[arg(long = "take-over", value_name = "ID")]
    pub take_over: Vec<String>,
    #[command(flatten)]
    pub cost: CostArgs,
}

/// What a plan costs (docs/cost.md).
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Do not price the plan.
    #[arg(long)]
    pub no_cost: bool,
    /// Negotiated rates: take PERCENT off every list price (shown with the totals).
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub discount: Option<Decimal>,
    /// How many days of measured usage (CloudWatch) price what is billed by use, projected to
    /// a month; 0 reads none.
    #[arg(long, value_name = "DAYS", default_value_t = 14, value_parser = clap::value_parser!(i64).range(0..=455))]
    pub usage_window: i64,
    /// Exit 1 when the plan raises the monthly cost by more than AMOUNT (USD): a budget guard
    /// for CI.
    #[arg(long, value_name = "AMOUNT", value_parser = amount)]
    pub max_monthly_increase: Option<Decimal>,
    /// Exit 1 when the plan raises the cost at maximum scale by more than AMOUNT (USD).
    #[arg(long, value_name = "AMOUNT", value_parser = amount)]
    pub max_ceiling_increase: Option<Decimal>,
}

impl CostArgs {
    fn options(&self) -> Option<CostOptions> {
        (!self.no_cost).then_some(CostOptions {
            discount_percent: self.discount,
            usage_days: self.usage_window,
        })
    }

    /// The budget guard: why the plan raises the cost by more than allowed, if it does.
    fn exceeded(&self, plan: &crate::plan::Plan, file: &str) -> Option<String> {
        let cost = plan.cost.as_ref()?;
        let checks = [
            (
                self.max_monthly_increase,
                cost.monthly_increase(),
                "monthly cost",
                "--max-monthly-increase",
                cost.monthly_before,
                cost.monthly_after,
            ),
            (
                self.max_ceiling_increase,
                cost.ceiling_increase(),
                "cost at maximum scale",
                "--max-ceiling-increase",
                cost.ceiling_before,
                cost.ceiling_after,
            ),
        ];
        for (limit, increase, what, flag, before, after) in checks {
            let (Some(limit), Some(increase)) = (limit, increase) else {
                continue;
            };
            if increase > limit {
                let show = |m: Option<crate::plan::cost::Money>| {
                    m.map(|m| format!("${m}"))
                        .unwrap_or_else(|| "unknown".into())
                };
                return Some(format!(
                    "error: {file}: the plan raises the {what} by {} ({} -> {}), more than {flag} ${limit:.2}; the changes that cost more: {}",
                    crate::plan::cost::signed(increase),
                    show(before),
                    show(after),
                    raisers(plan, what == "monthly cost").join(", ")
                ));
            }
        }
        None
    }
}

/// The changed resources whose cost rises, most first: `eks.volume.kafka/data-0 (+$20.00)`.
fn raisers(plan: &crate::plan::Plan, monthly: bool) -> Vec<String> {
    let mut rising: Vec<(Decimal, String)> = plan
        .changes
        .iter()
        .filter_map(|change| {
            let cost = change.cost.as_ref()?;
            let (before, after) = if monthly {
                (cost.monthly_before, cost.monthly_after)
            } else {
                (cost.ceiling_before, cost.ceiling_after)
            };
            let rise = after?.0 - before.map(|b| b.0).unwrap_or_default();
            (rise > Decimal::ZERO).then(|| (rise, change.id.to_string()))
        })
        .collect();
    rising.sort_by_key(|(rise, _)| std::cmp::Reverse(*rise));
    rising
        .into_iter()
        .map(|(rise, id)| format!("{id} ({})", crate::plan::cost::signed(rise)))
        .collect()
}

fn percent(text: &str) -> Result<Decimal, String> {
    let value = amount(text)?;
    if value >= Decimal::ONE_HUNDRED {
        return Err(format!("{text} is not a discount below 100 percent"));
    }
    Ok(value)
}

fn amount(text: &str) -> Result<Decimal, String> {
    let value = Decimal::from_str(text.trim_start_matches('$'))
        .map_err(|_| format!("{text:?} is not an amount (e.g. 250 or 99.50)"))?;
    if value.is_sign_negative() {
        return Err(format!("{text} is negative"));
    }
    Ok(value)
}

pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> Result<u8> {
    if let Some(out) = &args.out {
        PlanDocument::may_write_over(out)?;
    }
    let reading = Reading {
        replace: args.replace.clone(),
        take_over: args.take_over.clone(),
        cost: args.cost.options(),
        ..args.read.reading(true)
    };
    let found = args.stacks.find(global, "plan")?;
    let [file] = found.stacks.as_slice() else {
        return run_several(global, args, &found.stacks, &reading).await;
    };
    let (stack, clients, plan) = plan_stack(global, file, &reading).await?;
    let file = stack.path.display().to_string();
    let document = PlanDocument {
        replace: args.replace.clone(),
        take_over: args.take_over.clone(),
        ..PlanDocument::new(&plan, &stack, &reading.targets)
    };
    match args.output {
        OutputFormat::Text => print!("{}", render::text::plan(&plan, &file, global.verbose > 0)),
        OutputFormat::Json => print!("{}", render::json(&document)),
        OutputFormat::Markdown => print!("{}", render::markdown::plan(&plan, &file)),
    }
    if let Some(out) = &args.out {
        document.write(out)?;
        eprintln!(
            "Saved the plan to {}. Apply exactly it with `pipectl apply {}`.",
            out.display(),
            out.display()
        );
    }
    if let Some(refusal) = args.cost.exceeded(&plan, &file) {
        eprintln!("{}", crate::escape::log_text(&refusal));
        return Ok(1);
    }
    if let Some(refusal) = permissions_refusal(args, &stack, &clients, &plan).await? {
        eprintln!("{refusal}");
        return Ok(1);
    }
    Ok(if args.detailed_exitcode && plan.differs() {
        2
    } else {
        0
    })
}

/// With `--check-permissions`: why the caller may not apply this plan, if it may not (the lock
/// table is the one apply would use: `PIPECTL_LOCK_TABLE`, else the default).
async fn permissions_refusal(
    args: &PlanArgs,
    stack: &crate::spec::LoadedStack,
    clients: &crate::providers::Clients,
    plan: &crate::plan::Plan,
) -> Result<Option<String>> {
    if !args.check_permissions {
        return Ok(None);
    }
    let lock_table = std::env::var("PIPECTL_LOCK_TABLE")
        .unwrap_or_else(|_| crate::providers::lock::DEFAULT_TABLE.to_string());
    super::check_permissions(stack, &clients.aws, plan, &lock_table).await
}

/// Several stacks: each planned and printed in turn (JSON: an array of plan documents, as
/// `validate` prints), then how many were read. Exit 1 when one could not be planned, else 2
/// with `--detailed-exitcode` when one differs, else 0.
async fn run_several(
    global: &GlobalArgs,
    args: &PlanArgs,
    files: &[PathBuf],
    reading: &Reading,
) -> Result<u8> {
    if args.out.is_some() || !args.replace.is_empty() || !args.take_over.is_empty() {
        bail!(
            "--out, --replace and --take-over take one stack, and {} stacks were given: plan each with its own file",
            files.len()
        );
    }
    let (mut failed, mut differing, mut over_budget, mut denied, mut documents) =
        (0, 0, 0, 0, vec![]);
    for file in files {
        let planned = match try_plan_stack(global, file, reading).await {
            Ok(planned) => planned,
            Err(error) => {
                // Told on stderr as it happens, as drift does; the other stacks go on.
                let error = shown(error);
                if !error.is::<Reported>() {
                    eprintln!(
                        "{}",
                        crate::escape::log_text(&format!("error: {}: {error:#}", file.display()))
                    );
                }
                failed += 1;
                continue;
            }
        };
        let (stack, clients, plan) = planned;
        differing += usize::from(plan.differs());
        let shown_as = stack.path.display().to_string();
        // The budget guard holds per stack.
        if let Some(refusal) = args.cost.exceeded(&plan, &shown_as) {
            eprintln!("{}", crate::escape::log_text(&refusal));
            over_budget += 1;
        }
        // So does the permissions check.
        if let Some(refusal) = permissions_refusal(args, &stack, &clients, &plan).await? {
            eprintln!("{shown_as}: {refusal}");
            denied += 1;
        }
        match args.output {
            OutputFormat::Text => println!(
                "{}",
                render::text::plan(&plan, &shown_as, global.verbose > 0)
            ),
            OutputFormat::Markdown => println!("{}", render::markdown::plan(&plan, &shown_as)),
            OutputFormat::Json => {
                documents.push(PlanDocument::new(&plan, &stack, &reading.targets))
            }
        }
    }
    if args.output == OutputFormat::Json {
        print!("{}", render::json(&documents));
    }
    eprintln!(
        "{} stacks read: {} planned ({differing} with changes or unhealthy resources, {over_budget} over the cost budget{}), {failed} could not be planned.",
        files.len(),
        files.len() - failed,
        if args.check_permissions {
            format!(", {denied} the caller may not apply")
        } else {
            String::new()
        }
    );
    Ok(if failed > 0 || over_budget > 0 || denied > 0 {
        1
    } else if args.detailed_exitcode && differing > 0 {
        2
    } else {
        0
    })
}
