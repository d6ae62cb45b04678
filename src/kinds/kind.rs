//! One shape for every kind of resource, in the spirit of Terraform's provider protocol: each
//! kind reads what the stack asks of it (batched and concurrent), diffs it into changes with
//! their steps, names the fields `[[ignore]]` may leave alone, and executes its own steps. The
//! engine (`crate::engine`) loops over its registry of kinds and never names one.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::future::BoxFuture;

use crate::plan::targets::Targets;
use crate::plan::{Change, IgnoredField, PlanError, Step};
use crate::progress::StepProgress;
use crate::providers::{Aws, Clients};
use crate::spec::validate::KindCheck;
use crate::spec::{LoadedStack, SectionKind};

/// What a kind is given to plan with.
pub struct PlanContext<'a> {
    pub stack: &'a LoadedStack,
    pub aws: &'a Aws,
    /// The tags pipectl puts on what it creates (the stack's, plus `pipectl:stack`).
    pub tags: BTreeMap<String, String>,
    /// How many resources are read at once.
    pub parallelism: usize,
    /// `--target`: read only what a target can select.
    pub targets: &'a Targets,
    /// The connections of this run: AWS, and the cluster and the Kafka brokers opened on the
    /// first kind's request, shared by all.
    pub clients: &'a Clients,
}

/// What a kind found: its changes (in plan order), errors, notes and ignored fields, and the
/// ids the stack declares for it (for `--target` messages).
#[derive(Default)]
pub struct KindPlan {
    pub changes: Vec<Change>,
    pub errors: Vec<PlanError>,
    pub notes: Vec<String>,
    pub ignored: Vec<IgnoredField>,
    pub declared: Vec<String>,
}

/// A kind of resource (or a family read together, like the brokers' HPA, StorageClass and
/// volumes, which share one cluster connection and one StatefulSet read).
pub trait Kind: Sync {
    /// The resource id prefixes it plans (`dynamodb.table.`), each with the fields an
    /// `[[ignore]]` rule may name.
    fn ignorable(&self) -> &'static [(&'static str, &'static [&'static str])];
    /// Whether it makes and executes steps of this `service`.
    fn executes(&self, service: &str) -> bool;
    /// Its sections of the stack file (`SectionKind::of::<T>()` for each type it owns there).
    fn sections(&self) -> Vec<SectionKind> {
        vec![]
    }
    /// Its offline checks of its sections of the stack file (run before any network call).
    fn offline_checks(&self) -> Option<KindCheck> {
        None
    }
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

/// The shape of every kind with one service and one typed operation (all but the brokers
/// family, whose HPA and storage steps are two services). Its blanket `Kind` implementation does
/// what each kind used to repeat: the service spelled once, the operation's schema, and the
/// operation decoded from a step before `run` gets it.
pub trait TypedKind: Sync {
    /// The `service` of its steps.
    const SERVICE: &'static str;
    /// The resource id prefixes it plans, each with the fields `[[ignore]]` may name.
    const IGNORABLE: &'static [(&'static str, &'static [&'static str])];
    /// What one of its steps does, as data: written into the plan, read back to execute.
    type Operation: serde::Serialize
        + serde::de::DeserializeOwned
        + schemars::JsonSchema
        + Send
        + Sync
        + 'static;

    /// Reads live state for what the stack asks of this kind and diffs it.
    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>>;

    /// Carries out one operation: the call, then the wait until the service settles.
    fn run<'a>(
        &'a self,
        clients: &'a Clients,
        operation: Self::Operation,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>>;

    /// Its sections of the stack file.
    fn sections() -> Vec<SectionKind> {
        vec![]
    }

    /// Its offline checks of its sections of the stack file.
    fn offline_checks() -> Option<KindCheck> {
        None
    }

    /// A step of this kind: its description, the API calls it makes and the operation.
    fn step(
        description: String,
        api_calls: Vec<&'static str>,
        operation: &Self::Operation,
    ) -> Step {
        crate::providers::step_of(Self::SERVICE, description, api_calls, operation)
    }
}

impl<T: TypedKind> Kind for T {
    fn ignorable(&self) -> &'static [(&'static str, &'static [&'static str])] {
        T::IGNORABLE
    }

    fn executes(&self, service: &str) -> bool {
        service == T::SERVICE
    }

    fn sections(&self) -> Vec<SectionKind> {
        T::sections()
    }

    fn offline_checks(&self) -> Option<KindCheck> {
        T::offline_checks()
    }

    fn operation_schemas(
        &self,
        generator: &mut schemars::SchemaGenerator,
    ) -> Vec<(&'static str, schemars::Schema)> {
        vec![(T::SERVICE, generator.subschema_for::<T::Operation>())]
    }

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        TypedKind::plan(self, context)
    }

    fn execute<'a>(
        &'a self,
        clients: &'a Clients,
        step: &'a Step,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        match crate::providers::operation_of::<T::Operation>(step) {
            Ok(operation) => self.run(clients, operation, progress),
            Err(error) => Box::pin(async move { Err(error) }),
        }
    }
}
