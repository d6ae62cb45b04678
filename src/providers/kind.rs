//! One shape for every kind of resource, in the spirit of Terraform's provider protocol: each
//! kind reads what the stack asks of it (batched and concurrent), diffs it into changes with
//! their steps, names the fields `[[ignore]]` may leave alone, and executes its own steps. The
//! plan builder, the validator's list of ignorable fields and the apply engine loop over
//! `KINDS` and never name a kind: adding one is its module and one line here.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use futures::future::BoxFuture;

use super::eks::Cluster;
use super::{Aws, Clients};
use crate::plan::targets::Targets;
use crate::plan::{Change, IgnoredField, PlanError, Step};
use crate::progress::StepProgress;
use crate::spec::LoadedStack;

/// What a kind is given to plan with.
pub struct PlanContext<'a> {
    pub stack: &'a LoadedStack,
    pub aws: &'a Aws,
    /// The tags pipectl puts on what it creates (the stack's, plus `pipectl:stack`).
    pub tags: BTreeMap<String, String>,
    /// `--kube-context`.
    pub kube_context: Option<String>,
    /// How many resources are read at once.
    pub parallelism: usize,
    /// `--target`: read only what a target can select.
    pub targets: &'a Targets,
    /// `--kafka-bootstrap` and `--kafka-admin-secret`: where a Kafka login may go.
    pub kafka_pin: super::kafka::KafkaPin,
}

/// What a kind found: its changes (in plan order), errors, notes and ignored fields, the ids
/// the stack declares for it (for `--target` messages), and a cluster connection apply needs.
#[derive(Default)]
pub struct KindPlan {
    pub changes: Vec<Change>,
    pub errors: Vec<PlanError>,
    pub notes: Vec<String>,
    pub ignored: Vec<IgnoredField>,
    pub declared: Vec<String>,
    pub cluster: Option<Cluster>,
    pub kafka: Option<std::sync::Arc<super::kafka::Admin>>,
}

/// A kind of resource (or a family read together, like the brokers' HPA, StorageClass and
/// volumes, which share one cluster connection and one StatefulSet read).
pub trait Kind: Sync {
    /// The resource id prefixes it plans (`dynamodb.table.`), each with the fields an
    /// `[[ignore]]` rule may name.
    fn ignorable(&self) -> &'static [(&'static str, &'static [&'static str])];
    /// The `service` of the steps it makes and executes.
    fn services(&self) -> &'static [&'static str];
    /// The typed schema of each of its services' step operations, for the JSON Schema of plan
    /// documents.
    fn operation_schemas(
        &self,
        generator: &mut schemars::SchemaGenerator,
    ) -> Vec<(&'static str, schemars::Schema)>;
    /// Reads live state for what the stack asks of this kind and diffs it.
    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>>;
    /// Executes one of its steps: the call, then the wait until the service settles.
    fn execute<'a>(
        &'a self,
        clients: &'a Clients,
        step: &'a Step,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>>;
}

/// Every kind pipectl manages, in the order their changes appear in a plan.
pub static KINDS: &[&dyn Kind] = &[
    &super::dynamodb::TABLES,
    &super::lambda::FUNCTIONS,
    &super::sagemaker::VARIANTS,
    &super::eks::brokers::BROKERS,
    &super::insights::CONTRIBUTOR_INSIGHTS,
    &super::eks::alerts::ALERTS,
    &super::kafka::topics::TOPICS,
];

/// The fields an ignore rule may name, per resource id prefix, over every kind.
pub fn ignorable_fields() -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])>
{
    KINDS.iter().flat_map(|kind| kind.ignorable().iter())
}

/// The kind that executes a step.
pub fn executor(step: &Step) -> Result<&'static dyn Kind> {
    KINDS
        .iter()
        .copied()
        .find(|kind| kind.services().contains(&step.service.as_str()))
        .ok_or_else(|| {
            anyhow!(
                "step {:?}: no backend executes service {:?}",
                step.description,
                step.service
            )
        })
}

/// The JSON Schema of plan and drift documents, with each service's operations typed.
pub fn documents_schema() -> String {
    crate::plan::document::json_schema(|generator| {
        KINDS
            .iter()
            .flat_map(|kind| kind.operation_schemas(generator))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    /// The committed schema is the one the types generate (`UPDATE_SCHEMA=1` rewrites it).
    #[test]
    fn the_committed_schema_is_generated_from_the_types() {
        crate::assert_generated(
            "docs/schema/pipectl.schema.json",
            &super::documents_schema(),
            "UPDATE_SCHEMA",
        );
    }
}
