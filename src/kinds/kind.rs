//! One shape for every kind of resource, in the spirit of Terraform's provider protocol: each
//! kind reads what the stack asks of it (batched and concurrent), diffs it into changes with
//! their steps, names the fields `[[ignore]]` may leave alone, and executes its own steps. The
//! engine (`crate::engine`) loops over its registry of kinds and never names one.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::future::BoxFuture;

use crate::plan::permissions::{Permissions, Scope};
use crate::plan::targets::Targets;
use crate::plan::{Change, IgnoredField, PlanError, Step};
use crate::progress::StepProgress;
use crate::providers::{Aws, Clients};
use crate::spec::validate::KindCheck;
use crate::spec::write::{ImportFlag, ImportValues, StackWriter};
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
    /// `--replace ID`: the resources to recreate although they may match the file.
    pub replace: &'a [String],
    /// `--take-over ID`: resources another stack's name is on that this stack takes.
    pub take_over: &'a [String],
    /// Whether a kind may ask its service to validate the writes it plans, where the service
    /// offers a dry run (Kafka's `validate_only`): plan and apply do; drift and inventory only
    /// read, with the fewest calls and a read-only identity.
    pub validate_writes: bool,
    /// Whether the plan is priced: kinds then read what the price depends on and no plan
    /// otherwise needs (a SageMaker variant's instance type).
    pub priced: bool,
    /// Measured usage, read while the kinds read live state (`Kind::usage_metrics`); await it
    /// with `usage()` once the live read is done.
    pub usage: Option<UsageRead>,
}

/// The usage read, started before the kinds plan and shared by all: its usage (None when not
/// read or refused) and, if it failed, the note that says so.
pub type UsageRead = futures::future::Shared<
    BoxFuture<
        'static,
        (
            Option<std::sync::Arc<crate::plan::usage::Usage>>,
            Option<String>,
        ),
    >,
>;

impl PlanContext<'_> {
    /// Measured usage, once the read started before the plan finishes (at once if done).
    pub async fn usage(&self) -> Option<std::sync::Arc<crate::plan::usage::Usage>> {
        match &self.usage {
            Some(read) => read.clone().await.0,
            None => None,
        }
    }

    /// Whether `--replace` asks to recreate the resource with this id.
    pub fn replacing(&self, id: &str) -> bool {
        self.replace.iter().any(|wanted| wanted == id)
    }

    /// Whether the live object with this id, carrying `owner`'s name, must be tagged with this
    /// stack's: it carries another stack's name and `--take-over` names it. (Objects pipectl
    /// creates are tagged when created.)
    pub fn moves_owner(&self, id: &str, owner: Option<&str>) -> bool {
        owner.is_some_and(|owner| owner != self.stack.name())
            && self.take_over.iter().any(|wanted| wanted == id)
    }

    /// Whether `change` (its `owner` read from the live object) must put this stack's name on
    /// the object: `--take-over` moves it from another stack, and an object no stack names is
    /// adopted the first time this stack changes it (an object left as it is gets no write).
    pub fn tags_owner(&self, change: &Change) -> bool {
        let adopted = change.owner.is_none() && change.action == crate::plan::Action::Update;
        adopted || self.moves_owner(&change.id.to_string(), change.owner.as_deref())
    }
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

/// What a kind is given to import with (`pipectl import`).
pub struct ImportContext<'a> {
    pub aws: &'a Aws,
    pub stack_name: &'a str,
    /// The values of the kinds' import flags (`ImportFlag`).
    pub values: &'a ImportValues,
    /// `--tag KEY=VALUE`: also import what carries all of these.
    pub tags: &'a [(String, String)],
    /// `--name-prefix`: also import what is named so.
    pub name_prefix: Option<&'a str>,
    /// How to reach the cluster: `--cluster` (EKS) or `--kube-context`.
    pub cluster: Option<String>,
    pub kube_context: Option<String>,
    /// The brokers' admin API, when `--kafka-bootstrap` is given.
    pub kafka_admin: Option<crate::providers::kafka::AdminSettings>,
}

/// A kind's part of an imported stack file.
pub struct ImportedPart {
    pub writer: StackWriter,
    /// The Kubernetes namespace its objects live in, for `[eks]`.
    pub namespace: Option<String>,
}

impl ImportContext<'_> {
    /// Whether `--tag` or `--name-prefix` asks to discover objects.
    pub fn discovers(&self) -> bool {
        self.name_prefix.is_some() || !self.tags.is_empty()
    }

    /// The names to discover start with this (everything, with `--tag` alone).
    pub fn prefix(&self) -> &str {
        self.name_prefix.unwrap_or("")
    }

    /// The names given to `--flag`, plus the listed `(name, ARN)` candidates that carry every
    /// wanted tag (their tags read only when some are wanted); sorted, once each.
    pub async fn names<F, Fut>(
        &self,
        flag: &str,
        candidates: Vec<(String, String)>,
        tags_of: F,
    ) -> Result<Vec<String>>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<BTreeMap<String, String>>>,
    {
        let mut names = self.values.all(flag).to_vec();
        for (name, arn) in candidates {
            if self.tags.is_empty() {
                names.push(name);
                continue;
            }
            let tags = tags_of(arn).await?;
            if self.tags.iter().all(|(k, v)| tags.get(k) == Some(v)) {
                names.push(name);
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The cluster a `NAMESPACE/NAME` flag value's object lives in, reached as `--cluster` or
    /// `--kube-context` say; `usage` is the error when the value is not `NAMESPACE/NAME`.
    pub async fn cluster_for<'v>(
        &self,
        given: &'v str,
        usage: &str,
    ) -> Result<(crate::providers::eks::Cluster, &'v str, &'v str)> {
        let (namespace, name) = given
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("{usage}"))?;
        let request = crate::providers::eks::ClusterRequest {
            cluster: self.cluster.clone(),
            kube_context: self.kube_context.clone(),
            namespace: namespace.to_string(),
        };
        let cluster = crate::providers::eks::Cluster::connect(self.aws, &request)
            .await
            .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.help))?;
        Ok((cluster, namespace, name))
    }
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
    /// The resource id prefixes whose live objects it recreates when `--replace ID` asks
    /// (delete, then create), as Terraform's `-replace` does.
    fn replaceable(&self) -> &'static [&'static str] {
        &[]
    }
    /// `pipectl import`'s flags that name its live objects.
    fn import_flags(&self) -> &'static [ImportFlag] {
        &[]
    }
    /// Where the AWS Price List has the prices its cost names (`pipectl prices update`).
    fn price_sources(&self) -> &'static [crate::plan::cost::PriceSource] {
        &[]
    }
    /// The CloudWatch metrics its cost needs (their sums over the usage window), named from
    /// the stack file alone so one GetMetricData batch serves every kind before they plan.
    fn usage_metrics(&self, _spec: &crate::spec::StackSpec) -> Vec<crate::plan::usage::Metric> {
        vec![]
    }
    /// What it must be allowed to do for this stack: for every call it makes, the IAM action
    /// and ARN, the Kubernetes verb and resource, the Kafka operation (`pipectl permissions`).
    fn permissions(&self, _spec: &crate::spec::StackSpec, _scope: &Scope) -> Permissions {
        Permissions::default()
    }
    /// Reads what its flags name (or `--tag`/`--name-prefix` discover) and writes its sections
    /// of the stack file; none when nothing of it was asked for.
    fn import<'a>(
        &'a self,
        _context: &'a ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<ImportedPart>>> {
        Box::pin(async { Ok(None) })
    }
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

    /// `pipectl import`'s flags that name its live objects.
    const IMPORT_FLAGS: &'static [ImportFlag] = &[];

    /// The resource id prefixes it recreates when `--replace ID` asks.
    const REPLACEABLE: &'static [&'static str] = &[];

    /// Where the Price List has the prices its cost names (`Kind::price_sources`).
    const PRICE_SOURCES: &'static [crate::plan::cost::PriceSource] = &[];

    /// Its sections of the stack file.
    fn sections() -> Vec<SectionKind> {
        vec![]
    }

    /// Reads what its import flags name and writes its sections of the stack file.
    fn import<'a>(
        &'a self,
        _context: &'a ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<ImportedPart>>> {
        Box::pin(async { Ok(None) })
    }

    /// Its offline checks of its sections of the stack file.
    fn offline_checks() -> Option<KindCheck> {
        None
    }

    /// The CloudWatch metrics its cost needs (`Kind::usage_metrics`).
    fn usage_metrics(_spec: &crate::spec::StackSpec) -> Vec<crate::plan::usage::Metric> {
        vec![]
    }

    /// What it must be allowed to do for this stack (`Kind::permissions`).
    fn permissions(_spec: &crate::spec::StackSpec, _scope: &Scope) -> Permissions {
        Permissions::default()
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

    fn import_flags(&self) -> &'static [ImportFlag] {
        T::IMPORT_FLAGS
    }

    fn replaceable(&self) -> &'static [&'static str] {
        T::REPLACEABLE
    }

    fn price_sources(&self) -> &'static [crate::plan::cost::PriceSource] {
        T::PRICE_SOURCES
    }

    fn usage_metrics(&self, spec: &crate::spec::StackSpec) -> Vec<crate::plan::usage::Metric> {
        T::usage_metrics(spec)
    }

    fn permissions(&self, spec: &crate::spec::StackSpec, scope: &Scope) -> Permissions {
        T::permissions(spec, scope)
    }

    fn import<'a>(
        &'a self,
        context: &'a ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<ImportedPart>>> {
        TypedKind::import(self, context)
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
