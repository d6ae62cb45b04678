//! Building a plan: read every resource the stack names, concurrently, and diff each against
//! the spec. Reads are independent, so a large stack costs about one round trip per
//! `READ_CONCURRENCY` resources rather than one per resource.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::{Plan, PlanError};
use crate::providers::{dynamodb, lambda, Aws};
use crate::spec::LoadedStack;

/// How many reads run at once. AWS's per-account read limits are far above this; the SDK
/// retries throttled calls with backoff.
const READ_CONCURRENCY: usize = 32;

/// The tags pipectl puts on what it creates: the stack's own, plus one naming the stack.
pub fn creation_tags(stack: &LoadedStack) -> BTreeMap<String, String> {
    let mut tags = stack.spec.stack.tags.clone();
    tags.insert("pipectl:stack".to_string(), stack.name().to_string());
    tags
}

pub async fn build(stack: &LoadedStack, aws: &Aws) -> Result<Plan> {
    let spec = &stack.spec;
    let mut plan = Plan {
        stack: stack.name().to_string(),
        ..Plan::default()
    };
    for (present, section) in [
        (spec.eks.is_some(), "[eks]"),
        (spec.kafka.is_some(), "[kafka]"),
        (spec.sagemaker.is_some(), "[sagemaker]"),
    ] {
        if present {
            plan.notes.push(format!(
                "{section} is validated but not yet planned or applied by this version of pipectl"
            ));
        }
    }

    let tags = creation_tags(stack);
    let tables: Vec<dynamodb::TableDefinition> = spec
        .dynamodb
        .iter()
        .flat_map(|d| d.tables.iter())
        .map(|t| dynamodb::TableDefinition::from_spec(t, &tags))
        .collect();
    let functions: Vec<lambda::FunctionDefinition> = spec
        .lambda
        .iter()
        .flat_map(|l| l.functions.iter())
        .map(lambda::FunctionDefinition::from_spec)
        .collect();

    let read_tables = stream::iter(tables.iter().map(|t| dynamodb::read_table(aws, &t.name)))
        .buffered(READ_CONCURRENCY)
        .try_collect::<Vec<_>>();
    let read_functions = stream::iter(
        functions
            .iter()
            .map(|f| lambda::read_function(aws, &f.name, f.trigger.is_some())),
    )
    .buffered(READ_CONCURRENCY)
    .try_collect::<Vec<_>>();
    let wants_reservation = functions.iter().any(|f| f.reserved_concurrency.is_some());
    let read_account = async {
        if wants_reservation {
            lambda::read_account(aws).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (live_tables, live_functions, account) =
        tokio::try_join!(read_tables, read_functions, read_account)?;

    for (desired, live) in tables.iter().zip(&live_tables) {
        let (changes, errors) = dynamodb::plan_table(desired, live.as_ref());
        plan.changes.extend(changes);
        plan.errors.extend(errors);
    }
    for (desired, live) in functions.iter().zip(&live_functions) {
        let (changes, errors) = lambda::plan_function(desired, live.as_ref());
        plan.changes.extend(changes);
        plan.errors.extend(errors);
    }
    if let Some(account) = account {
        plan.errors.extend(lambda::check_account_concurrency(
            &functions,
            &live_functions,
            account,
        ));
    }
    Ok(plan)
}

impl Plan {
    /// Errors as one message, for commands that stop on them.
    pub fn error_report(&self) -> String {
        self.errors
            .iter()
            .map(
                |PlanError {
                     resource,
                     message,
                     help,
                 }| format!("error: {resource}: {message}\n   = help: {help}"),
            )
            .collect::<Vec<_>>()
            .join("\n")
    }
}
