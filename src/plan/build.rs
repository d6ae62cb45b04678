//! Building a plan: every registered kind reads what the stack asks of it, concurrently, and
//! diffs it against the spec. Reads are independent, so a large stack costs about one round trip
//! per `parallelism` resources rather than one per resource. This file names no kind.

use std::collections::BTreeMap;

use anyhow::Result;

use super::targets::Targets;
use super::{Plan, PlanError};
use crate::providers::kafka::KafkaPin;
use crate::providers::kind::{PlanContext, KINDS};
use crate::providers::{Aws, Clients};
use crate::spec::LoadedStack;

/// How many reads run at once by default (`--parallelism` on plan and drift). The SDK retries
/// throttled calls with backoff.
pub const DEFAULT_READ_PARALLELISM: usize = 32;

/// How a plan is built.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The `--kube-context` flag.
    pub kube_context: Option<String>,
    /// How many resources are read at once.
    pub parallelism: usize,
    /// `--target`: the part of the stack to plan.
    pub targets: Targets,
    /// `--kafka-bootstrap` and `--kafka-admin-secret`.
    pub kafka_pin: KafkaPin,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            kube_context: None,
            parallelism: DEFAULT_READ_PARALLELISM,
            targets: Targets::default(),
            kafka_pin: KafkaPin::default(),
        }
    }
}

/// The tags pipectl puts on what it creates: the stack's own, plus one naming the stack.
pub fn creation_tags(stack: &LoadedStack) -> BTreeMap<String, String> {
    let mut tags = stack.spec.stack.tags.clone();
    tags.insert("pipectl:stack".to_string(), stack.name().to_string());
    tags
}

/// Reads every resource the stack names and diffs it against the spec, kind by kind (all
/// kinds concurrently). Returns the plan and the clients apply uses (including the Kubernetes
/// cluster, when the stack has one). With targets, only what they can select is read, and the
/// plan is restricted to them.
pub async fn build(
    stack: &LoadedStack,
    aws: Aws,
    options: &BuildOptions,
) -> Result<(Plan, Clients)> {
    let context = PlanContext {
        stack,
        aws: &aws,
        tags: creation_tags(stack),
        kube_context: options.kube_context.clone(),
        parallelism: options.parallelism.max(1),
        targets: &options.targets,
        kafka_pin: options.kafka_pin.clone(),
    };
    let kinds = futures::future::try_join_all(KINDS.iter().map(|kind| kind.plan(&context))).await?;
    let mut plan = Plan {
        stack: stack.name().to_string(),
        ..Plan::default()
    };
    let mut declared = vec![];
    let mut cluster = None;
    let mut kafka = None;
    for found in kinds {
        plan.changes.extend(found.changes);
        plan.errors.extend(found.errors);
        plan.notes.extend(found.notes);
        plan.ignored.extend(found.ignored);
        declared.extend(found.declared);
        cluster = cluster.or(found.cluster);
        kafka = kafka.or(found.kafka);
    }
    options
        .targets
        .restrict(&mut plan, &declared)
        .map_err(anyhow::Error::msg)?;
    drop(context);
    Ok((
        plan,
        Clients {
            aws,
            cluster,
            kafka,
        },
    ))
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
