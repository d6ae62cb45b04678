//! Lambda functions: timeout, memory, reserved concurrency, and the Kafka event source mapping
//! that feeds each function. pipectl scales existing functions; it never deploys code.
//!
//! The rules this module is built around (see `rules-of-the-road.md`):
//! * one configuration update at a time per function: wait for `LastUpdateStatus` to leave
//!   `InProgress` before and after each update, and report `Failed` with its reason;
//! * send only the fields that changed, and only fields valid for Kafka sources;
//! * a topic change cannot be made in place: it is a new mapping (replace); so is a change of
//!   consumer group;
//! * a mapping is done when it is `Enabled` *and* reports `LastProcessingResult: OK`: `PROBLEM:`
//!   (Lambda cannot reach or authenticate to the brokers) is a failed change with AWS's text,
//!   and `Disabling`/`Disabled` is not healthy;
//! * reserved concurrency may not take the account's unreserved pool below its minimum, checked
//!   at plan time from GetAccountSettings; removing a reservation is DeleteFunctionConcurrency.

pub mod cost;
pub mod import;
pub mod limits;
pub mod section;
mod validate;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt, TryStreamExt};

mod trigger;
pub use trigger::*;

use crate::kinds::kind::{KindPlan, PlanContext, TypedKind};
use crate::plan::{ignored_fields, stamped};
use crate::providers::Clients;
use anyhow::{anyhow, bail, Result};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::types::{
    AmazonManagedKafkaEventSourceConfig, EndPointType, EventSourcePosition,
    KafkaEventSourceMappingConsumptionMode, ProvisionedPollerConfig, SelfManagedEventSource,
    SelfManagedKafkaEventSourceConfig, SourceAccessConfiguration, SourceAccessType,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::plan::{
    Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Step, Unhealthy,
};
use crate::progress::StepProgress;
use crate::providers::to_i32;
use crate::providers::wait::{self, Poll};
use crate::providers::{describe_sdk_error, Aws};
use section::{ConsumptionMode, LambdaFunction, ReservedConcurrency};

mod execute;
mod permissions;
mod read;
pub use execute::*;
pub use read::*;

/// The kind of `lambda.function.NAME` resource ids.
pub const FUNCTION: ResourceKind = ResourceKind::named("lambda.function");
/// The kind of `lambda.kafka_trigger.NAME` resource ids.
pub const KAFKA_TRIGGER: ResourceKind = ResourceKind::named("lambda.kafka_trigger");

/// Where a Kafka trigger reads from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KafkaSource {
    Msk { cluster_arn: String },
    SelfManaged { bootstrap_servers: Vec<String> },
}

impl std::fmt::Display for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KafkaSource::Msk { cluster_arn } => write!(f, "MSK {cluster_arn}"),
            KafkaSource::SelfManaged { bootstrap_servers } => {
                write!(f, "self-managed {}", bootstrap_servers.join(","))
            }
        }
    }
}

/// The function settings the spec manages; `None` fields are left alone.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionDefinition {
    pub name: String,
    pub timeout_seconds: Option<i64>,
    pub memory_mib: Option<i64>,
    pub reserved_concurrency: Option<ReservedConcurrency>,
    pub trigger: Option<TriggerDefinition>,
}

pub use crate::plan::STACK_TAG;

/// How long apply waits for a new or changed mapping to report OK, unless the spec says.
const DEFAULT_HEALTH_TIMEOUT_SECONDS: u64 = 120;

impl FunctionDefinition {
    pub fn from_spec(
        function: &crate::kinds::functions::section::LambdaFunction,
        tags: &BTreeMap<String, String>,
    ) -> Self {
        FunctionDefinition {
            name: function.name.get_ref().clone(),
            timeout_seconds: function.timeout_seconds.as_ref().map(|v| *v.get_ref()),
            memory_mib: function.memory_mib.as_ref().map(|v| *v.get_ref()),
            reserved_concurrency: function.reserved_concurrency.as_ref().map(|v| *v.get_ref()),
            trigger: function.kafka_trigger.as_ref().map(|t| TriggerDefinition {
                source: match (&t.msk_cluster_arn, &t.bootstrap_servers) {
                    (Some(arn), _) => KafkaSource::Msk {
                        cluster_arn: arn.get_ref().clone(),
                    },
                    (None, servers) => KafkaSource::SelfManaged {
                        bootstrap_servers: servers
                            .as_ref()
                            .map(|s| s.get_ref().clone())
                            .unwrap_or_default(),
                    },
                },
                topic: t.topic.get_ref().clone(),
                batch_size: t.batch_size.as_ref().map(|v| *v.get_ref()),
                batching_window_seconds: t.batching_window_seconds.as_ref().map(|v| *v.get_ref()),
                starting_position: t.starting_position.get_ref().clone(),
                starting_position_timestamp: t
                    .starting_position_timestamp
                    .as_ref()
                    .map(|v| *v.get_ref()),
                consumer_group_id: t.consumer_group_id.as_ref().map(|v| v.get_ref().clone()),
                consumption_mode: t
                    .consumption_mode
                    .as_ref()
                    .map(|m| *m.get_ref())
                    .unwrap_or_default(),
                access: access_from_spec(t),
                health_timeout_seconds: t
                    .health_timeout_seconds
                    .as_ref()
                    .map(|v| (*v.get_ref()).max(0) as u64)
                    .unwrap_or(DEFAULT_HEALTH_TIMEOUT_SECONDS),
                minimum_pollers: t.minimum_pollers.as_ref().map(|v| *v.get_ref()),
                maximum_pollers: t.maximum_pollers.as_ref().map(|v| *v.get_ref()),
                prune: t.prune,
                tags: tags.clone(),
            }),
        }
    }

    /// Leaves one field alone (an `[[ignore]]` rule): it is neither compared nor sent.
    pub fn ignore(&mut self, field: &str) {
        match field {
            "timeout_seconds" => self.timeout_seconds = None,
            "memory_mib" => self.memory_mib = None,
            "reserved_concurrency" => self.reserved_concurrency = None,
            _ => {}
        }
    }

    /// The reservation this spec asks for: `Some(Some(n))` reserve n, `Some(None)` remove.
    fn wanted_reservation(&self) -> Option<Option<i64>> {
        self.reserved_concurrency.map(|r| match r {
            ReservedConcurrency::Reserved(n) => Some(n),
            ReservedConcurrency::Unreserved(_) => None,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum FunctionOperation {
    UpdateConfiguration {
        function: String,
        timeout_seconds: Option<i64>,
        memory_mib: Option<i64>,
    },
    PutConcurrency {
        function: String,
        reserved: i64,
    },
    DeleteConcurrency {
        function: String,
    },
    CreateMapping {
        function: String,
        trigger: TriggerDefinition,
    },
    UpdateMapping {
        function: String,
        uuid: String,
        batch_size: Option<i64>,
        batching_window_seconds: Option<i64>,
        /// The whole new list of source access configurations, when it changes.
        #[serde(default)]
        access: Option<Vec<(String, String)>>,
        #[serde(default)]
        health_timeout_seconds: u64,
        /// The new (minimum, maximum) pollers, when they change.
        #[serde(default)]
        pollers: Option<(Option<i64>, Option<i64>)>,
    },
    DeleteMapping {
        function: String,
        uuid: String,
    },
    /// Tags the function with the stack that takes it over (`--take-over`).
    TagOwner {
        function: String,
        arn: String,
        stack: String,
    },
}

impl FunctionOperation {
    /// The operation as a plan step of service `lambda`.
    pub fn into_step(self, description: String) -> Step {
        let api_calls = self.api_calls();
        Functions::step(description, api_calls, &self)
    }

    /// The API calls apply makes for it, as IAM names them: the change, then the wait's reads.
    pub fn api_calls(&self) -> Vec<&'static str> {
        match self {
            FunctionOperation::UpdateConfiguration { .. } => {
                vec!["lambda:UpdateFunctionConfiguration", "lambda:GetFunction"]
            }
            FunctionOperation::PutConcurrency { .. } => vec!["lambda:PutFunctionConcurrency"],
            FunctionOperation::DeleteConcurrency { .. } => {
                vec!["lambda:DeleteFunctionConcurrency"]
            }
            // Lambda checks TagResource for the tags CreateEventSourceMapping carries.
            FunctionOperation::CreateMapping { .. } => vec![
                "lambda:CreateEventSourceMapping",
                "lambda:TagResource",
                "lambda:GetEventSourceMapping",
            ],
            FunctionOperation::UpdateMapping { .. } => vec![
                "lambda:UpdateEventSourceMapping",
                "lambda:GetEventSourceMapping",
            ],
            FunctionOperation::DeleteMapping { .. } => vec![
                "lambda:DeleteEventSourceMapping",
                "lambda:GetEventSourceMapping",
            ],
            FunctionOperation::TagOwner { .. } => vec!["lambda:TagResource"],
        }
    }
}

fn step(description: String, operation: FunctionOperation) -> Step {
    operation.into_step(description)
}

fn show_reservation(value: Option<i64>) -> String {
    value
        .map(|v| v.to_string())
        .unwrap_or_else(|| "none (unreserved)".into())
}

/// Changes for one function and its trigger. A missing function is a plan error: pipectl does
/// not deploy code.
pub fn plan_function(
    desired: &FunctionDefinition,
    live: Option<&LiveFunction>,
) -> (Vec<Change>, Vec<PlanError>) {
    let id = ResourceId::new(FUNCTION, &desired.name);
    let Some(live) = live else {
        return (
            vec![],
            vec![PlanError {
                resource: id.to_string(),
                message: format!("Lambda function {} does not exist", desired.name),
                help: "pipectl scales existing functions and does not deploy code: deploy the function first, \
                       or remove it from the stack"
                    .to_string(),
            }],
        );
    };
    let lane = format!("lambda:{}", desired.name);
    let mut change = Change::new(id, Action::NoOp, lane.clone());
    plan_configuration(desired, live, &mut change);
    plan_reservation(desired, live, &mut change);
    if !change.steps.is_empty() {
        change.action = Action::Update;
    }
    let mut changes = vec![change];
    if let Some(trigger) = &desired.trigger {
        changes.push(plan_trigger(
            &desired.name,
            trigger,
            &live.kafka_mappings,
            lane,
        ));
    }
    (changes, vec![])
}

/// Timeout and memory: one UpdateFunctionConfiguration for both.
fn plan_configuration(desired: &FunctionDefinition, live: &LiveFunction, change: &mut Change) {
    let timeout = desired
        .timeout_seconds
        .filter(|t| *t != live.timeout_seconds);
    let memory = desired.memory_mib.filter(|m| *m != live.memory_mib);
    if let Some(t) = timeout {
        change.diffs.push(FieldDiff::new(
            "timeout_seconds",
            Some(live.timeout_seconds.to_string()),
            Some(t.to_string()),
        ));
    }
    if let Some(m) = memory {
        change.diffs.push(FieldDiff::new(
            "memory_mib",
            Some(live.memory_mib.to_string()),
            Some(m.to_string()),
        ));
    }
    if timeout.is_some() || memory.is_some() {
        change.steps.push(step(
            "UpdateFunctionConfiguration, then wait for LastUpdateStatus=Successful".into(),
            FunctionOperation::UpdateConfiguration {
                function: desired.name.clone(),
                timeout_seconds: timeout,
                memory_mib: memory,
            },
        ));
    }
}

/// The reserved concurrency: put, or deleted (the unreserved pool); 0 is a hazard.
fn plan_reservation(desired: &FunctionDefinition, live: &LiveFunction, change: &mut Change) {
    let Some(wanted) = desired.wanted_reservation() else {
        return;
    };
    if wanted == live.reserved_concurrency {
        return;
    }
    change.diffs.push(FieldDiff::new(
        "reserved_concurrency",
        Some(show_reservation(live.reserved_concurrency)),
        Some(show_reservation(wanted)),
    ));
    let function = desired.name.clone();
    change.steps.push(match wanted {
        Some(reserved) => {
            if reserved == 0 {
                change.hazards.push(Hazard {
                    message: "reserved_concurrency = 0 throttles every invocation: the function stops consuming".into(),
                });
            }
            step(
                format!("PutFunctionConcurrency {reserved}"),
                FunctionOperation::PutConcurrency { function, reserved },
            )
        }
        None => step(
            "DeleteFunctionConcurrency".into(),
            FunctionOperation::DeleteConcurrency { function },
        ),
    });
}

fn new_change(action: Action, diffs: Vec<FieldDiff>, steps: Vec<Step>) -> Change {
    Change {
        diffs,
        steps,
        ..Change::new(ResourceId::new(KAFKA_TRIGGER, ""), action, String::new())
    }
}

/// Refuses, at plan time, reservations that AWS would refuse halfway through an apply: the sum
/// of the new reservations may not take the account's unreserved pool below its minimum.
pub fn check_account_concurrency(
    desired: &[FunctionDefinition],
    live: &[Option<LiveFunction>],
    account: AccountConcurrency,
) -> Vec<PlanError> {
    let mut unreserved_after = account.unreserved;
    let mut raised = vec![];
    for (want, have) in desired.iter().zip(live) {
        let (Some(wanted), Some(have)) = (want.wanted_reservation(), have) else {
            continue;
        };
        let before = have.reserved_concurrency.unwrap_or(0);
        let after = wanted.unwrap_or(0);
        unreserved_after += before - after;
        if after > before {
            raised.push(format!(
                "{} ({} -> {after})",
                want.name,
                show_reservation(have.reserved_concurrency)
            ));
        }
    }
    let floor = limits::LAMBDA_MINIMUM_UNRESERVED.min(account.limit);
    if unreserved_after >= floor || raised.is_empty() {
        return vec![];
    }
    let headroom = account.unreserved - floor;
    vec![PlanError {
        resource: "lambda.account".into(),
        message: format!(
            "reserved concurrency for {} would leave {unreserved_after} unreserved executions; Lambda keeps at least {floor} unreserved (account limit {}, unreserved now {})",
            raised.join(", "),
            account.limit,
            account.unreserved
        ),
        help: format!(
            "lower the reservations by {} in total (at most {} more can be reserved now), or ask AWS to raise the account's concurrency limit",
            floor - unreserved_after,
            headroom.max(0)
        ),
    }]
}

/// Lambda functions: their limits, reserved concurrency and Kafka trigger.
pub struct Functions;
pub static FUNCTIONS: Functions = Functions;

impl TypedKind for Functions {
    const SERVICE: &'static str = "lambda";
    const REPLACEABLE: &'static [&'static str] = &["lambda.kafka_trigger."];
    const IGNORABLE: &'static [(&'static str, &'static [&'static str])] = &[
        (
            "lambda.function.",
            &["timeout_seconds", "memory_mib", "reserved_concurrency"],
        ),
        (
            "lambda.kafka_trigger.",
            &[
                "batch_size",
                "batching_window_seconds",
                "minimum_pollers",
                "maximum_pollers",
            ],
        ),
    ];
    const PRICE_SOURCES: &'static [crate::plan::cost::PriceSource] = cost::PRICE_SOURCES;
    type Operation = FunctionOperation;

    const IMPORT_FLAGS: &'static [crate::spec::write::ImportFlag] = import::FLAGS;

    fn import<'a>(
        &'a self,
        context: &'a crate::kinds::kind::ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<crate::kinds::kind::ImportedPart>>> {
        Box::pin(import::import(context))
    }

    fn sections() -> Vec<crate::spec::SectionKind> {
        vec![crate::spec::SectionKind::of::<section::LambdaFunction>()]
    }

    fn offline_checks() -> Option<crate::spec::validate::KindCheck> {
        Some(validate::check)
    }

    fn usage_metrics(spec: &crate::spec::StackSpec) -> Vec<crate::plan::usage::Metric> {
        cost::usage_metrics(spec)
    }

    fn permissions(
        spec: &crate::spec::StackSpec,
        scope: &crate::plan::permissions::Scope,
    ) -> crate::plan::permissions::Permissions {
        permissions::permissions(spec, scope)
    }

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        Box::pin(plan_functions(context))
    }

    fn run<'a>(
        &'a self,
        clients: &'a Clients,
        operation: FunctionOperation,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(&clients.aws, &operation, progress).await })
    }
}

/// The function's owner on its change, and the step that puts this stack's name on it
/// (`--take-over`, or adoption at the first change: `PlanContext::tags_owner`).
fn take_over(context: &PlanContext<'_>, changes: &mut [Change], live: &LiveFunction) {
    let Some(change) = changes.iter_mut().find(|c| c.id.kind == FUNCTION) else {
        return;
    };
    change.owner = live.owner.clone();
    let stack = context.stack.name();
    if let (true, Some(arn)) = (context.tags_owner(change), &live.arn) {
        change.move_owner(
            stack,
            step(
                format!("tag {} {STACK_TAG}={stack}", live.name),
                FunctionOperation::TagOwner {
                    function: live.name.clone(),
                    arn: arn.clone(),
                    stack: stack.to_string(),
                },
            ),
        );
    }
}

/// The ids a function and its trigger have in a plan.
fn function_ids(function: &FunctionDefinition) -> Vec<String> {
    let trigger = function
        .trigger
        .as_ref()
        .map(|_| format!("lambda.kafka_trigger.{}", function.name));
    std::iter::once(format!("lambda.function.{}", function.name))
        .chain(trigger)
        .collect()
}

/// A function's `usage = {...}` in the file.
fn declared_usage(spec: &crate::spec::StackSpec, name: &str) -> Option<section::FunctionUsage> {
    spec.entries::<LambdaFunction>()
        .iter()
        .find(|f| f.name.get_ref() == name)
        .and_then(|f| f.usage.as_ref().map(|u| *u.get_ref()))
}

async fn plan_functions(context: &PlanContext<'_>) -> Result<KindPlan> {
    let spec = &context.stack.spec;
    let mut out = KindPlan::default();
    let mut functions: Vec<FunctionDefinition> = spec
        .entries::<LambdaFunction>()
        .iter()
        .map(|f| FunctionDefinition::from_spec(f, &context.tags))
        .collect();
    out.declared = functions.iter().flat_map(function_ids).collect();
    functions.retain(|f| {
        context
            .targets
            .selects_any(function_ids(f).iter().map(String::as_str))
    });
    let (live_functions, account) = read_live(context, &functions).await?;
    apply_ignores(spec, &mut functions, &mut out.ignored);
    // Read alongside the functions; awaited only now that they are read.
    let usage = context.usage().await;
    for (desired, live) in functions.iter().zip(&live_functions) {
        let (changes, errors) = plan_one(context, desired, live.as_ref(), usage.as_deref());
        out.changes.extend(stamped(changes, live));
        out.errors.extend(errors);
    }
    if let Some(account) = account {
        out.errors.extend(check_account_concurrency(
            &functions,
            &live_functions,
            account,
        ));
    }
    Ok(out)
}

/// The functions as they are, their mappings and those mappings' owners, and the account's
/// concurrency when a reservation is declared.
async fn read_live(
    context: &PlanContext<'_>,
    functions: &[FunctionDefinition],
) -> Result<(Vec<Option<LiveFunction>>, Option<AccountConcurrency>)> {
    let aws = context.aws;
    // Every function's mappings are read (one without a trigger in the file may carry one this
    // stack made). Many functions: one account-wide listing (a page per 100 mappings), not one
    // per function, read at the same time as the functions.
    let per_function = functions.len() <= ACCOUNT_LISTING_ABOVE;
    let list_account = async {
        if per_function {
            Ok(None)
        } else {
            list_mappings(aws, None).await.map(Some)
        }
    };
    // Futures collected first: a closure in the stream's type would tie its lifetimes.
    let reads: Vec<_> = functions
        .iter()
        .map(|f| read_function(aws, &f.name, per_function))
        .collect();
    let read_functions = stream::iter(reads)
        .buffered(context.parallelism)
        .try_collect::<Vec<_>>();
    let wants_reservation = functions.iter().any(|f| f.reserved_concurrency.is_some());
    let read_settings = async {
        if wants_reservation {
            read_account(aws).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (listing, mut live_functions, account) =
        tokio::try_join!(list_account, read_functions, read_settings)?;
    if let Some(listing) = &listing {
        for (desired, live) in functions.iter().zip(live_functions.iter_mut()) {
            if let Some(live) = live.as_mut() {
                live.kafka_mappings = kafka_mappings(&mappings_of(listing, &desired.name));
            }
        }
    }
    let owners: Vec<_> = functions
        .iter()
        .zip(live_functions.iter_mut())
        .map(|(desired, live)| {
            let replacing = context.replacing(&format!("lambda.kafka_trigger.{}", desired.name));
            read_mapping_owners(aws, desired, live, replacing)
        })
        .collect();
    stream::iter(owners)
        .buffered(context.parallelism)
        .try_collect::<Vec<()>>()
        .await?;
    Ok((live_functions, account))
}

/// Leaves the fields `[[ignore]]` names as they are live.
fn apply_ignores(
    spec: &crate::spec::StackSpec,
    functions: &mut [FunctionDefinition],
    ignored: &mut Vec<crate::plan::IgnoredField>,
) {
    for desired in functions.iter_mut() {
        let function_id = format!("lambda.function.{}", desired.name);
        for field in ignored_fields(spec, &function_id, ignored) {
            desired.ignore(&field);
        }
        let trigger_id = format!("lambda.kafka_trigger.{}", desired.name);
        if let Some(trigger) = desired.trigger.as_mut() {
            for field in ignored_fields(spec, &trigger_id, ignored) {
                trigger.ignore(&field);
            }
        }
    }
}

/// One function's changes (with their cost, owner, a removed trigger and a replaced mapping)
/// and errors.
fn plan_one(
    context: &PlanContext<'_>,
    desired: &FunctionDefinition,
    live: Option<&LiveFunction>,
    usage: Option<&crate::plan::usage::Usage>,
) -> (Vec<Change>, Vec<PlanError>) {
    let (mut changes, errors) = plan_function(desired, live);
    if let Some(change) = changes.iter_mut().find(|c| c.id.kind == FUNCTION) {
        change.billable = Some(cost::function_billable(
            desired,
            live,
            usage,
            declared_usage(&context.stack.spec, &desired.name).as_ref(),
        ));
    }
    if let Some(change) = changes.iter_mut().find(|c| c.id.kind == KAFKA_TRIGGER) {
        let mappings = live.map_or(&[][..], |l| &l.kafka_mappings[..]);
        change.billable = cost::trigger_billable(desired.trigger.as_ref(), mappings);
    }
    if let Some(live) = live {
        take_over(context, &mut changes, live);
        if desired.trigger.is_none() {
            let lane = format!("lambda:{}", desired.name);
            changes.extend(trigger::plan_removed_trigger(
                &desired.name,
                context.stack.name(),
                &live.kafka_mappings,
                &lane,
            ));
        }
    }
    if context.replacing(&format!("lambda.kafka_trigger.{}", desired.name)) {
        trigger::recreate(&mut changes, desired, live);
    }
    (changes, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(reserved: Option<i64>) -> LiveFunction {
        LiveFunction {
            arn: None,
            owner: None,
            name: "f".into(),
            timeout_seconds: 3,
            memory_mib: 128,
            reserved_concurrency: reserved,
            last_update_status: "Successful".into(),
            revision_id: None,
            kafka_mappings: vec![],
            architecture: None,
        }
    }

    fn desired(reserved: Option<ReservedConcurrency>) -> FunctionDefinition {
        FunctionDefinition {
            name: "f".into(),
            timeout_seconds: Some(60),
            memory_mib: None,
            reserved_concurrency: reserved,
            trigger: None,
        }
    }

    #[test]
    fn only_changed_fields_are_sent() {
        let (changes, _) = plan_function(&desired(None), Some(&live(None)));
        let FunctionOperation::UpdateConfiguration {
            timeout_seconds,
            memory_mib,
            ..
        } = &crate::providers::operation_of::<FunctionOperation>(&changes[0].steps[0])
            .expect("decodes")
        else {
            panic!("expected UpdateConfiguration");
        };
        assert_eq!((*timeout_seconds, *memory_mib), (Some(60), None));
    }

    #[test]
    fn missing_function_is_a_plan_error() {
        let (changes, errors) = plan_function(&desired(None), None);
        assert!(changes.is_empty());
        assert!(errors[0].message.contains("does not exist"));
    }

    #[test]
    fn reservation_over_the_account_floor_is_refused() {
        let account = AccountConcurrency {
            limit: 1000,
            unreserved: 1000,
        };
        let want = [desired(Some(ReservedConcurrency::Reserved(901)))];
        let errors = check_account_concurrency(&want, &[Some(live(None))], account);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].help.contains("at most 900"), "{}", errors[0].help);
        let want = [desired(Some(ReservedConcurrency::Reserved(900)))];
        assert!(check_account_concurrency(&want, &[Some(live(None))], account).is_empty());
    }

    fn trigger(topic: &str, group: Option<&str>) -> TriggerDefinition {
        TriggerDefinition {
            source: KafkaSource::SelfManaged {
                bootstrap_servers: vec!["b-1.kafka.svc:9092".into()],
            },
            topic: topic.into(),
            batch_size: None,
            batching_window_seconds: None,
            starting_position: "LATEST".into(),
            starting_position_timestamp: None,
            consumer_group_id: group.map(str::to_string),
            consumption_mode: ConsumptionMode::Stream,
            access: vec![],
            health_timeout_seconds: 0,
            minimum_pollers: None,
            maximum_pollers: None,
            prune: false,
            tags: BTreeMap::new(),
        }
    }

    /// A live mapping pipectl created (its tag was read).
    fn mapping(topic: &str, group: &str) -> LiveMapping {
        LiveMapping {
            uuid: "u1".into(),
            source: trigger(topic, None).source,
            topics: vec![topic.into()],
            batch_size: Some(100),
            batching_window_seconds: None,
            state: "Enabled".into(),
            consumer_group_id: Some(group.into()),
            consumption_mode: ConsumptionMode::Stream,
            access: vec![],
            last_processing_result: Some("OK".into()),
            state_reason: None,
            pollers: None,
            arn: Some("arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u1".into()),
            created_by_pipectl: Some(true),
            owner: Some("s".into()),
        }
    }

    fn priced(
        billable: &crate::plan::cost::Billable,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let cost = crate::plan::cost::PriceBook::builtin("us-east-1", None)
            .expect("book")
            .price(billable);
        let text = |m: Option<crate::plan::cost::Money>| m.map(|m| m.to_string());
        (
            text(cost.monthly_before),
            text(cost.monthly_after),
            text(cost.ceiling_after),
        )
    }

    /// Provisioned mode bills Event Poller Unit-hours at $0.185 (us-east-1): the minimum
    /// pollers as EPUs of 10 all month, up to the maximum at 4 busy pollers an EPU.
    #[test]
    fn a_kafka_trigger_in_provisioned_mode_bills_event_poller_units() {
        let mut want = trigger("t", Some("g"));
        want.minimum_pollers = Some(1);
        want.maximum_pollers = Some(10);
        // On demand before (no poller charge); 1 EPU × 730 h × $0.185 after; at most 3 EPUs.
        let live = [mapping("t", "g")];
        let billable = cost::trigger_billable(Some(&want), &live).expect("priced");
        assert_eq!(
            priced(&billable),
            (
                Some("0.00".into()),
                Some("135.05".into()),
                Some("405.15".into())
            )
        );
        assert_eq!(
            billable.range.as_deref(),
            Some("min 1 .. max 10 pollers: 1 .. 3 EPU")
        );
        // 25 pollers at the least are 3 EPUs; a bound the file leaves out keeps the live one.
        let mut provisioned = mapping("t", "g");
        provisioned.pollers = Some((25, 40));
        let keep = trigger("t", Some("g"));
        let billable = cost::trigger_billable(Some(&keep), &[provisioned]).expect("priced");
        assert_eq!(
            priced(&billable),
            (
                Some("405.15".into()),
                Some("405.15".into()),
                Some("1350.50".into())
            )
        );
        // On demand on both sides: nothing to price.
        assert!(cost::trigger_billable(Some(&trigger("t", Some("g"))), &live).is_none());
    }

    /// The mode is set at creation only: a mapping in another mode is replaced, old one first.
    #[test]
    fn a_consumption_mode_change_replaces_the_mapping() {
        let mut want = trigger("t", Some("g"));
        want.consumption_mode = ConsumptionMode::Queue;
        let live = mapping("t", "g");
        let change = plan_trigger("f", &want, std::slice::from_ref(&live), "l".into());
        assert_eq!(change.action, Action::Replace);
        assert_eq!(operations(&change), vec!["delete", "create"]);
        let diff = change
            .diffs
            .iter()
            .find(|d| d.field == "consumption_mode")
            .expect("a consumption_mode diff");
        assert_eq!(diff.before.as_deref(), Some("Stream"));
        assert_eq!(diff.after.as_deref(), Some("Queue"));
        want.consumption_mode = ConsumptionMode::Stream;
        let same = plan_trigger("f", &want, std::slice::from_ref(&live), "l".into());
        assert_eq!(same.action, Action::NoOp);
    }

    #[test]
    fn provisioned_pollers_change_in_place() {
        let mut want = trigger("t", Some("g"));
        want.minimum_pollers = Some(2);
        want.maximum_pollers = Some(50);
        let mut live = mapping("t", "g");
        let change = plan_trigger("f", &want, std::slice::from_ref(&live), "l".into());
        assert_eq!(change.action, Action::Update);
        assert_eq!(operations(&change), vec!["update"]);
        let fields: Vec<&str> = change.diffs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, vec!["minimum_pollers", "maximum_pollers"]);
        assert_eq!(change.diffs[0].before.as_deref(), Some("on demand"));
        live.pollers = Some((2, 50));
        let change = plan_trigger("f", &want, std::slice::from_ref(&live), "l".into());
        assert_eq!(change.action, Action::NoOp);
    }

    #[test]
    fn another_owners_mapping_is_left_alone_unless_the_trigger_prunes() {
        let mut theirs = mapping("old-logs", "g");
        theirs.created_by_pipectl = Some(false);
        let mut want = trigger("application-logs", None);
        let change = plan_trigger("f", &want, std::slice::from_ref(&theirs), "l".into());
        assert_eq!(change.action, Action::Create, "{change:?}");
        assert_eq!(operations(&change), vec!["create"]);
        assert!(change.hazards[0].message.contains("not created by pipectl"));
        want.prune = true;
        let change = plan_trigger("f", &want, std::slice::from_ref(&theirs), "l".into());
        assert_eq!(operations(&change), vec!["create", "delete"]);
        // Same stream, another group: AWS allows one mapping, and it is not pipectl's.
        let mut want = trigger("old-logs", Some("mine"));
        let change = plan_trigger("f", &want, std::slice::from_ref(&theirs), "l".into());
        assert!(
            change.steps.is_empty() && change.deferred.is_some(),
            "{change:?}"
        );
        want.prune = true;
        let change = plan_trigger("f", &want, std::slice::from_ref(&theirs), "l".into());
        assert_eq!(operations(&change), vec!["delete", "create"]);
    }

    fn operations(change: &Change) -> Vec<&'static str> {
        change
            .steps
            .iter()
            .map(|s| {
                match &crate::providers::operation_of::<FunctionOperation>(s).expect("decodes") {
                    FunctionOperation::CreateMapping { .. } => "create",
                    FunctionOperation::DeleteMapping { .. } => "delete",
                    FunctionOperation::UpdateMapping { .. } => "update",
                    _ => "other",
                }
            })
            .collect()
    }

    #[test]
    fn topic_change_is_a_destructive_replace_that_says_where_reading_starts() {
        let change = plan_trigger(
            "f",
            &trigger("new", None),
            &[mapping("old", "u1")],
            "lane".into(),
        );
        assert_eq!(change.action, Action::Replace);
        assert!(change.destructive);
        assert_eq!(operations(&change), vec!["create", "delete"]);
        assert!(
            change.hazards[0].message.contains("are skipped"),
            "{}",
            change.hazards[0].message
        );
        let with_group = plan_trigger(
            "f",
            &trigger("new", Some("log-consumers")),
            &[mapping("old", "log-consumers")],
            "lane".into(),
        );
        assert!(with_group.hazards[0].message.contains("resumes from them"));
    }

    #[test]
    fn a_consumer_group_change_deletes_the_old_mapping_first_and_access_updates_in_place() {
        let change = plan_trigger(
            "f",
            &trigger("logs", Some("log-consumers")),
            &[mapping("logs", "u1")],
            "lane".into(),
        );
        assert_eq!(operations(&change), vec!["delete", "create"]);
        let mut secured = trigger("logs", None);
        secured.access = vec![(
            "SASL_SCRAM_512_AUTH".into(),
            "arn:aws:secretsmanager:s".into(),
        )];
        let change = plan_trigger("f", &secured, &[mapping("logs", "u1")], "lane".into());
        assert_eq!(change.action, Action::Update);
        assert_eq!(operations(&change), vec!["update"]);
    }
}
