//! Building a plan: every registered kind reads what the stack asks of it, concurrently, and
//! diffs it against the spec. Reads are independent, so a large stack costs about one round trip
//! per `parallelism` resources rather than one per resource. This file names no kind.

use std::collections::BTreeMap;

use anyhow::Result;

use super::registry::KINDS;
use crate::kinds::kind::PlanContext;
use crate::plan::cost::PriceBook;
use crate::plan::targets::Targets;
use crate::plan::{nearest, Plan, PlanError};
use crate::providers::Clients;
use crate::spec::LoadedStack;
use crate::spec::StackSpec;

/// How many reads run at once by default (`--parallelism` on plan and drift). The SDK retries
/// throttled calls with backoff.
pub const DEFAULT_READ_PARALLELISM: usize = 32;

/// How a plan is built.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// How many resources are read at once.
    pub parallelism: usize,
    /// `--target`: the part of the stack to plan.
    pub targets: Targets,
    /// `--replace`: resource ids to recreate.
    pub replace: Vec<String>,
    /// `--take-over`: resource ids another stack owns that this one takes.
    pub take_over: Vec<String>,
    /// Whether kinds ask their services to validate the writes planned (`PlanContext`).
    pub validate_writes: bool,
    /// Price the plan (not with `--no-cost`, nor for drift): the discount off list prices, in
    /// percent.
    pub cost: Option<CostOptions>,
}

/// How a plan is priced.
#[derive(Debug, Clone, Default)]
pub struct CostOptions {
    /// `--discount PERCENT`: negotiated rates, taken off every list price.
    pub discount_percent: Option<rust_decimal::Decimal>,
    /// `--usage-window DAYS`: how far back measured usage is read (0: not read).
    pub usage_days: i64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            parallelism: DEFAULT_READ_PARALLELISM,
            targets: Targets::default(),
            replace: vec![],
            take_over: vec![],
            validate_writes: true,
            cost: None,
        }
    }
}

/// The tags pipectl puts on what it creates: the stack's own, plus one naming the stack.
pub fn creation_tags(stack: &LoadedStack) -> BTreeMap<String, String> {
    let mut tags = stack.spec.stack.tags.clone();
    tags.insert(crate::plan::STACK_TAG.to_string(), stack.name().to_string());
    tags
}

/// Reads every resource the stack names and diffs it against the spec, kind by kind (all
/// kinds concurrently). Returns the plan and the clients apply uses (including the Kubernetes
/// cluster, when the stack has one). With targets, only what they can select is read, and the
/// plan is restricted to them.
pub async fn build(
    stack: &LoadedStack,
    clients: Clients,
    options: &BuildOptions,
) -> Result<(Plan, Clients)> {
    let usage = start_usage_read(stack, &clients, options);
    let context = PlanContext {
        stack,
        aws: &clients.aws,
        clients: &clients,
        tags: creation_tags(stack),
        parallelism: options.parallelism.max(1),
        targets: &options.targets,
        replace: &options.replace,
        take_over: &options.take_over,
        validate_writes: options.validate_writes,
        priced: options.cost.is_some(),
        usage: usage.clone(),
    };
    let kinds = futures::future::try_join_all(KINDS.iter().map(|kind| kind.plan(&context))).await?;
    let mut plan = Plan {
        stack: stack.name().to_string(),
        ..Plan::default()
    };
    if let Some(read) = &usage {
        plan.notes.extend(read.clone().await.1);
    }
    let mut declared = vec![];
    for found in kinds {
        plan.changes.extend(found.changes);
        // Kinds that share a connection meet the same failure: it is told once.
        for error in found.errors {
            if !plan.errors.contains(&error) {
                plan.errors.push(error);
            }
        }
        plan.notes.extend(found.notes);
        plan.ignored.extend(found.ignored);
        declared.extend(found.declared);
    }
    // Only a whole read can tell that a rule matches nothing (a failed read finds no ids).
    if options.targets.is_whole_stack() && plan.errors.is_empty() {
        plan.errors
            .extend(unmatched_ignore_rules(&stack.spec, &plan, &declared));
    }
    plan.errors
        .extend(unmet_replacements(&options.replace, &plan, &declared));
    plan.errors
        .extend(other_stacks_resources(&options.take_over, &plan));
    options
        .targets
        .restrict(&mut plan, &declared)
        .map_err(anyhow::Error::msg)?;
    if let Some(pricing) = &options.cost {
        let (book, note) = PriceBook::load(&clients.aws.region, pricing.discount_percent)?;
        plan.notes.extend(note);
        crate::plan::cost::price_plan(&mut plan, &book);
    }
    drop(context);
    Ok((plan, clients))
}

/// Starts reading the usage every kind's cost needs, in one batch (`Kind::usage_metrics`), when
/// the plan is priced: on its own task, so it runs alongside the kinds' live reads and costs no
/// round trip of its own. CloudWatch refusing (no permission) or failing is a note: cost never
/// fails a plan.
fn start_usage_read(
    stack: &LoadedStack,
    clients: &Clients,
    options: &BuildOptions,
) -> Option<crate::kinds::kind::UsageRead> {
    use futures::FutureExt;
    let days = options
        .cost
        .as_ref()
        .map(|c| c.usage_days)
        .filter(|d| *d > 0)?;
    let mut metrics: Vec<_> = KINDS
        .iter()
        .flat_map(|kind| kind.usage_metrics(&stack.spec))
        .collect();
    if metrics.is_empty() {
        return None;
    }
    metrics.sort();
    metrics.dedup();
    let aws = clients.aws.clone();
    let task =
        tokio::spawn(
            async move { crate::providers::usage::read_usage(&aws, &metrics, days).await },
        );
    let read = async move {
        let failed = |why: String| {
            (
                None,
                Some(format!(
                    "cost: measured usage was not read ({why}); what is billed by use shows its unit price only (allow cloudwatch:GetMetricData, or plan with --usage-window 0)"
                )),
            )
        };
        match task.await {
            Ok(Ok(usage)) => (Some(std::sync::Arc::new(usage)), None),
            Ok(Err(error)) => failed(format!("{error:#}")),
            Err(error) => failed(error.to_string()),
        }
    };
    Some(read.boxed().shared())
}

/// Live objects that carry another stack's name: two stacks managing one object flip it on
/// every apply, so the plan stops unless `--take-over` names it (and then the name moves).
fn other_stacks_resources(take_over: &[String], plan: &Plan) -> Vec<PlanError> {
    // Owned by this stack already (a re-run after the take-over) is fine: it converges.
    let owned = |id: &str| {
        plan.changes
            .iter()
            .find(|c| c.id.to_string() == id)
            .is_some_and(|c| c.owner.is_some())
    };
    let mut errors: Vec<PlanError> = plan
        .changes
        .iter()
        .filter_map(|change| {
            let owner = change.owner.as_deref()?;
            let id = change.id.to_string();
            if owner == plan.stack || take_over.contains(&id) {
                return None;
            }
            Some(PlanError {
                message: format!(
                    "it belongs to stack {owner:?} (the stack name on it: its pipectl:stack tag or pipectl.io/stack label), not to stack {:?}",
                    plan.stack
                ),
                help: format!(
                    "two stacks must not manage one resource: remove it from one of the files, or take it over with `--take-over {id}` (its tag then names {:?})",
                    plan.stack
                ),
                resource: id,
            })
        })
        .collect();
    errors.extend(take_over.iter().filter(|id| !owned(id)).map(|wanted| PlanError {
        resource: wanted.clone(),
        message: format!(
            "--take-over {wanted:?}: no resource of stack {} with that id carries a stack's name",
            plan.stack
        ),
        help: "name a resource the plan reports as another stack's; nothing is taken over otherwise".into(),
    }));
    errors
}

/// `--replace ID`s the plan does not replace: no such resource (with a "did you mean"), or one
/// whose kind cannot recreate it.
fn unmet_replacements(replace: &[String], plan: &Plan, declared: &[String]) -> Vec<PlanError> {
    let mut ids: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    ids.extend(declared.iter().cloned());
    ids.sort();
    ids.dedup();
    let recreatable: Vec<&str> = KINDS
        .iter()
        .flat_map(|kind| kind.replaceable().iter().copied())
        .collect();
    replace
        .iter()
        .filter_map(|wanted| {
            let change = plan.changes.iter().find(|c| &c.id.to_string() == wanted);
            let help = match change {
                Some(_) if !recreatable.iter().any(|prefix| wanted.starts_with(prefix)) => {
                    format!(
                        "pipectl recreates only these: {}; change this resource through the file",
                        recreatable
                            .iter()
                            .map(|prefix| format!("{prefix}*"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                Some(change) if change.action == crate::plan::Action::Replace => return None,
                Some(_) => "only what pipectl created (or a trigger with prune = true) is recreated; delete it yourself or let pipectl take it over".to_string(),
                None => match nearest(wanted, &ids) {
                    Some(id) => format!("did you mean \"{id}\"? (the resource ids are those plans show)"),
                    None => format!("this stack's resources are: {}", ids.join(", ")),
                },
            };
            let message = match change {
                Some(_) => format!("--replace {wanted:?}: pipectl cannot recreate it"),
                None => format!("--replace {wanted:?} names no resource of stack {}", plan.stack),
            };
            Some(PlanError {
                resource: wanted.clone(),
                message,
                help,
            })
        })
        .collect()
}

/// `[[ignore]]` rules that match no resource of the stack: a misspelt id protects nothing, and
/// the plan would overwrite the field the rule was written for.
fn unmatched_ignore_rules(spec: &StackSpec, plan: &Plan, declared: &[String]) -> Vec<PlanError> {
    let mut ids: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
    ids.extend(declared.iter().cloned());
    ids.sort();
    ids.dedup();
    spec.ignore
        .iter()
        .enumerate()
        .filter(|(_, rule)| !ids.iter().any(|id| rule.matches(id)))
        .map(|(index, rule)| {
            let pattern = rule.resource.get_ref();
            let help = match nearest(pattern, &ids) {
                Some(id) => format!("did you mean \"{id}\"? (the resource ids are those plans show)"),
                None => format!(
                    "use a resource id as plans show it; this stack's are: {}",
                    ids.join(", ")
                ),
            };
            PlanError {
                resource: format!("ignore[{index}].resource"),
                message: format!(
                    "[[ignore]] resource {pattern:?} matches no resource of stack {}, so it protects nothing",
                    plan.stack
                ),
                help,
            }
        })
        .collect()
}
