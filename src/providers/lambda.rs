//! Lambda functions: timeout, memory, reserved concurrency, and the Kafka event source mapping
//! that feeds each function. pipectl scales existing functions; it never deploys code.
//!
//! The rules this module is built around (see `rules-of-the-road.md`):
//! * one configuration update at a time per function: wait for `LastUpdateStatus` to leave
//!   `InProgress` before and after each update, and report `Failed` with its reason;
//! * send only the fields that changed, and only fields valid for Kafka sources;
//! * a topic change cannot be made in place: it is a new mapping (replace);
//! * reserved concurrency may not take the account's unreserved pool below its minimum, checked
//!   at plan time from GetAccountSettings; removing a reservation is DeleteFunctionConcurrency.

use anyhow::{anyhow, bail, Result};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::types::{EndPointType, EventSourcePosition, SelfManagedEventSource};
use serde::{Deserialize, Serialize};

use super::wait::{self, Poll};
use super::{describe_sdk_error, Aws, Operation};
use crate::plan::{Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Step};
use crate::progress::StepProgress;
use crate::spec::{self, limits, ReservedConcurrency};

/// Where a Kafka trigger reads from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionDefinition {
    pub name: String,
    pub timeout_seconds: Option<i64>,
    pub memory_mib: Option<i64>,
    pub reserved_concurrency: Option<ReservedConcurrency>,
    pub trigger: Option<TriggerDefinition>,
}

impl TriggerDefinition {
    /// Leaves one field alone (an `[[ignore]]` rule).
    pub fn ignore(&mut self, field: &str) {
        match field {
            "batch_size" => self.batch_size = None,
            "batching_window_seconds" => self.batching_window_seconds = None,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriggerDefinition {
    pub source: KafkaSource,
    pub topic: String,
    pub batch_size: Option<i64>,
    pub batching_window_seconds: Option<i64>,
    pub starting_position: String,
}

impl FunctionDefinition {
    pub fn from_spec(function: &spec::LambdaFunction) -> Self {
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveFunction {
    pub name: String,
    pub timeout_seconds: i64,
    pub memory_mib: i64,
    pub reserved_concurrency: Option<i64>,
    pub last_update_status: String,
    pub revision_id: Option<String>,
    pub kafka_mappings: Vec<LiveMapping>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveMapping {
    pub uuid: String,
    pub source: KafkaSource,
    pub topics: Vec<String>,
    pub batch_size: Option<i64>,
    pub batching_window_seconds: Option<i64>,
    pub state: String,
}

/// Account-wide concurrency, from GetAccountSettings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AccountConcurrency {
    pub limit: i64,
    pub unreserved: i64,
}

pub async fn read_account(aws: &Aws) -> Result<AccountConcurrency> {
    let output = aws
        .lambda
        .get_account_settings()
        .send()
        .await
        .map_err(|e| anyhow!("GetAccountSettings failed: {}", describe_sdk_error(&e)))?;
    let limit = output
        .account_limit()
        .ok_or_else(|| anyhow!("GetAccountSettings returned no AccountLimit"))?;
    let total = i64::from(limit.concurrent_executions());
    Ok(AccountConcurrency {
        limit: total,
        unreserved: limit
            .unreserved_concurrent_executions()
            .map(i64::from)
            .unwrap_or(total),
    })
}

/// Reads a function and its reservation, and its Kafka mappings when `with_mappings` (only
/// functions that declare a trigger need them: one request fewer per function otherwise).
/// `None` when the function does not exist.
pub async fn read_function(
    aws: &Aws,
    name: &str,
    with_mappings: bool,
) -> Result<Option<LiveFunction>> {
    let output = match aws.lambda.get_function().function_name(name).send().await {
        Ok(output) => output,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => bail!("GetFunction {name} failed: {}", describe_sdk_error(&err)),
    };
    let configuration = output
        .configuration()
        .ok_or_else(|| anyhow!("GetFunction {name} returned no configuration"))?;
    let mappings: Vec<_> = if with_mappings {
        aws.lambda
            .list_event_source_mappings()
            .function_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| {
                anyhow!(
                    "ListEventSourceMappings {name} failed: {}",
                    describe_sdk_error(&e)
                )
            })?
    } else {
        vec![]
    };
    let kafka_mappings = mappings
        .iter()
        .filter_map(|m| {
            let source = if let Some(arn) = m.event_source_arn().filter(|a| a.contains(":kafka:")) {
                KafkaSource::Msk {
                    cluster_arn: arn.to_string(),
                }
            } else {
                let servers = m
                    .self_managed_event_source()
                    .and_then(|s| s.endpoints())
                    .and_then(|e| e.get(&EndPointType::KafkaBootstrapServers))?;
                KafkaSource::SelfManaged {
                    bootstrap_servers: servers.clone(),
                }
            };
            Some(LiveMapping {
                uuid: m.uuid()?.to_string(),
                source,
                topics: m.topics().to_vec(),
                batch_size: m.batch_size().map(i64::from),
                batching_window_seconds: m.maximum_batching_window_in_seconds().map(i64::from),
                state: m.state().unwrap_or("Enabled").to_string(),
            })
        })
        .collect();
    Ok(Some(LiveFunction {
        name: name.to_string(),
        timeout_seconds: configuration.timeout().map(i64::from).unwrap_or(3),
        memory_mib: configuration.memory_size().map(i64::from).unwrap_or(128),
        reserved_concurrency: output
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions())
            .map(i64::from),
        last_update_status: configuration
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Successful".into()),
        revision_id: configuration.revision_id().map(str::to_string),
        kafka_mappings,
    }))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    },
    DeleteMapping {
        function: String,
        uuid: String,
    },
}

fn step(description: String, operation: FunctionOperation) -> Step {
    Step {
        description,
        operation: Operation::Lambda(operation),
    }
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
    let id = ResourceId::new(ResourceKind::LambdaFunction, &desired.name);
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
    let mut changes = vec![];

    let mut diffs = vec![];
    let mut steps = vec![];
    let mut hazards = vec![];
    let timeout = desired
        .timeout_seconds
        .filter(|t| *t != live.timeout_seconds);
    let memory = desired.memory_mib.filter(|m| *m != live.memory_mib);
    if let Some(t) = timeout {
        diffs.push(FieldDiff::new(
            "timeout_seconds",
            Some(live.timeout_seconds.to_string()),
            Some(t.to_string()),
        ));
    }
    if let Some(m) = memory {
        diffs.push(FieldDiff::new(
            "memory_mib",
            Some(live.memory_mib.to_string()),
            Some(m.to_string()),
        ));
    }
    if timeout.is_some() || memory.is_some() {
        steps.push(step(
            "UpdateFunctionConfiguration, then wait for LastUpdateStatus=Successful".into(),
            FunctionOperation::UpdateConfiguration {
                function: desired.name.clone(),
                timeout_seconds: timeout,
                memory_mib: memory,
            },
        ));
    }
    if let Some(wanted) = desired.wanted_reservation() {
        if wanted != live.reserved_concurrency {
            diffs.push(FieldDiff::new(
                "reserved_concurrency",
                Some(show_reservation(live.reserved_concurrency)),
                Some(show_reservation(wanted)),
            ));
            match wanted {
                Some(reserved) => {
                    if reserved == 0 {
                        hazards.push(Hazard {
                            message: "reserved_concurrency = 0 throttles every invocation: the function stops consuming".into(),
                        });
                    }
                    steps.push(step(
                        format!("PutFunctionConcurrency {reserved}"),
                        FunctionOperation::PutConcurrency {
                            function: desired.name.clone(),
                            reserved,
                        },
                    ))
                }
                None => steps.push(step(
                    "DeleteFunctionConcurrency".into(),
                    FunctionOperation::DeleteConcurrency {
                        function: desired.name.clone(),
                    },
                )),
            }
        }
    }
    changes.push(Change {
        id,
        action: if steps.is_empty() {
            Action::NoOp
        } else {
            Action::Update
        },
        diffs,
        hazards,
        destructive: false,
        lane: lane.clone(),
        deferred: None,
        after_lane: None,
        fingerprint: None,
        steps,
    });

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

fn plan_trigger(
    function: &str,
    trigger: &TriggerDefinition,
    live: &[LiveMapping],
    lane: String,
) -> Change {
    let id = ResourceId::new(ResourceKind::LambdaEventSourceMapping, function);
    let create = step(
        format!(
            "CreateEventSourceMapping for topic {}, then wait until Enabled",
            trigger.topic
        ),
        FunctionOperation::CreateMapping {
            function: function.to_string(),
            trigger: trigger.clone(),
        },
    );
    let exact = live
        .iter()
        .find(|m| m.source == trigger.source && m.topics == [trigger.topic.clone()]);
    let Some(current) = exact else {
        // A Kafka mapping on another topic or cluster is replaced: topics cannot change in place.
        if let Some(old) = live.first() {
            let mut diffs = vec![];
            if old.topics != [trigger.topic.clone()] {
                diffs.push(FieldDiff::new(
                    "topic",
                    Some(old.topics.join(",")),
                    Some(trigger.topic.clone()),
                ));
            }
            if old.source != trigger.source {
                diffs.push(FieldDiff::new(
                    "source",
                    Some(old.source.to_string()),
                    Some(trigger.source.to_string()),
                ));
            }
            return Change {
                id,
                action: Action::Replace,
                diffs,
                hazards: vec![Hazard {
                    message: format!(
                        "the topic or source of a Kafka mapping cannot change in place: a new mapping is created (starting at {}) and then mapping {} is deleted",
                        trigger.starting_position, old.uuid
                    ),
                }],
                destructive: true,
                lane,
                deferred: None,
                after_lane: None,
                fingerprint: None,
                steps: vec![
                    create,
                    step(
                        format!("DeleteEventSourceMapping {}", old.uuid),
                        FunctionOperation::DeleteMapping {
                            function: function.to_string(),
                            uuid: old.uuid.clone(),
                        },
                    ),
                ],
            };
        }
        let mut diffs = vec![
            FieldDiff::new("source", None, Some(trigger.source.to_string())),
            FieldDiff::new("topic", None, Some(trigger.topic.clone())),
            FieldDiff::new(
                "starting_position",
                None,
                Some(trigger.starting_position.clone()),
            ),
        ];
        if let Some(size) = trigger.batch_size {
            diffs.push(FieldDiff::new("batch_size", None, Some(size.to_string())));
        }
        if let Some(window) = trigger.batching_window_seconds {
            diffs.push(FieldDiff::new(
                "batching_window_seconds",
                None,
                Some(window.to_string()),
            ));
        }
        return Change {
            id,
            action: Action::Create,
            diffs,
            hazards: vec![],
            destructive: false,
            lane,
            deferred: None,
            after_lane: None,
            fingerprint: None,
            steps: vec![create],
        };
    };
    let batch_size = trigger
        .batch_size
        .filter(|b| Some(*b) != current.batch_size);
    let window = trigger
        .batching_window_seconds
        .filter(|w| Some(*w) != current.batching_window_seconds);
    let show = |v: Option<i64>| Some(v.map(|v| v.to_string()).unwrap_or_else(|| "default".into()));
    let mut diffs = vec![];
    if let Some(size) = batch_size {
        diffs.push(FieldDiff::new(
            "batch_size",
            show(current.batch_size),
            Some(size.to_string()),
        ));
    }
    if let Some(w) = window {
        diffs.push(FieldDiff::new(
            "batching_window_seconds",
            show(current.batching_window_seconds),
            Some(w.to_string()),
        ));
    }
    let steps = if diffs.is_empty() {
        vec![]
    } else {
        vec![step(
            format!(
                "UpdateEventSourceMapping {}, then wait until Enabled",
                current.uuid
            ),
            FunctionOperation::UpdateMapping {
                function: function.to_string(),
                uuid: current.uuid.clone(),
                batch_size,
                batching_window_seconds: window,
            },
        )]
    };
    Change {
        id,
        action: if steps.is_empty() {
            Action::NoOp
        } else {
            Action::Update
        },
        diffs,
        hazards: vec![],
        destructive: false,
        lane,
        deferred: None,
        after_lane: None,
        fingerprint: None,
        steps,
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

// ---------------------------------------------------------------------------------- apply

pub async fn execute(
    aws: &Aws,
    operation: &FunctionOperation,
    progress: &StepProgress,
) -> Result<()> {
    match operation {
        FunctionOperation::UpdateConfiguration {
            function,
            timeout_seconds,
            memory_mib,
        } => update_configuration(aws, function, *timeout_seconds, *memory_mib, progress).await,
        FunctionOperation::PutConcurrency { function, reserved } => {
            progress.status(&format!("PutFunctionConcurrency {reserved}"));
            let reserved = i32::try_from(*reserved)
                .map_err(|_| anyhow!("reserved concurrency {reserved} is too large"))?;
            aws.lambda
                .put_function_concurrency()
                .function_name(function)
                .reserved_concurrent_executions(reserved)
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "PutFunctionConcurrency {function} failed: {}",
                        describe_sdk_error(&e)
                    )
                })?;
            Ok(())
        }
        FunctionOperation::DeleteConcurrency { function } => {
            progress.status("DeleteFunctionConcurrency");
            aws.lambda
                .delete_function_concurrency()
                .function_name(function)
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "DeleteFunctionConcurrency {function} failed: {}",
                        describe_sdk_error(&e)
                    )
                })?;
            Ok(())
        }
        FunctionOperation::CreateMapping { function, trigger } => {
            create_mapping(aws, function, trigger, progress).await
        }
        FunctionOperation::UpdateMapping {
            function,
            uuid,
            batch_size,
            batching_window_seconds,
        } => {
            wait_for_mapping(aws, uuid, false, progress).await?;
            progress.status(&format!("UpdateEventSourceMapping {uuid}"));
            // Only the fields that changed, and only fields valid for Kafka sources.
            aws.lambda
                .update_event_source_mapping()
                .uuid(uuid)
                .set_batch_size(batch_size.map(to_i32).transpose()?)
                .set_maximum_batching_window_in_seconds(
                    batching_window_seconds.map(to_i32).transpose()?,
                )
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "UpdateEventSourceMapping {uuid} ({function}) failed: {}",
                        describe_sdk_error(&e)
                    )
                })?;
            wait_for_mapping(aws, uuid, false, progress).await
        }
        FunctionOperation::DeleteMapping { function, uuid } => {
            wait_for_mapping(aws, uuid, false, progress).await?;
            progress.status(&format!("DeleteEventSourceMapping {uuid}"));
            match aws
                .lambda
                .delete_event_source_mapping()
                .uuid(uuid)
                .send()
                .await
            {
                Ok(_) => {}
                Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(()),
                Err(err) => bail!(
                    "DeleteEventSourceMapping {uuid} ({function}) failed: {}",
                    describe_sdk_error(&err)
                ),
            }
            wait_for_mapping(aws, uuid, true, progress).await
        }
    }
}

fn to_i32(value: i64) -> Result<i32> {
    i32::try_from(value).map_err(|_| anyhow!("{value} does not fit the AWS API's 32-bit field"))
}

async fn update_configuration(
    aws: &Aws,
    function: &str,
    timeout: Option<i64>,
    memory: Option<i64>,
    progress: &StepProgress,
) -> Result<()> {
    // Another update may still be running (ours from a killed run, or someone else's).
    wait_for_function(aws, function, progress).await?;
    let mut attempts = 0;
    loop {
        progress.status("UpdateFunctionConfiguration");
        let result = aws
            .lambda
            .update_function_configuration()
            .function_name(function)
            .set_timeout(timeout.map(to_i32).transpose()?)
            .set_memory_size(memory.map(to_i32).transpose()?)
            .send()
            .await;
        match result {
            Ok(_) => break,
            // An update started between our read and our call: wait for it, then try again.
            Err(err) if err.code() == Some("ResourceConflictException") && attempts < 5 => {
                attempts += 1;
                progress.note("another update is in progress (ResourceConflictException); waiting, then retrying");
                wait_for_function(aws, function, progress).await?;
            }
            Err(err) => bail!(
                "UpdateFunctionConfiguration {function} failed: {}",
                describe_sdk_error(&err)
            ),
        }
    }
    wait_for_function(aws, function, progress).await
}

/// Waits until `LastUpdateStatus` is no longer `InProgress`; `Failed` is an error with AWS's reason.
async fn wait_for_function(aws: &Aws, function: &str, progress: &StepProgress) -> Result<()> {
    wait::until(
        &aws.wait,
        progress,
        &format!("function {function}"),
        || async {
            let output = aws
                .lambda
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "GetFunctionConfiguration {function} failed: {}",
                        describe_sdk_error(&e)
                    )
                })?;
            let status = output
                .last_update_status()
                .map(|s| s.as_str())
                .unwrap_or("Successful");
            match status {
                "InProgress" => Ok(Poll::Pending("LastUpdateStatus InProgress".into())),
                "Failed" => bail!(
                    "the update of {function} failed: {} ({})",
                    output
                        .last_update_status_reason()
                        .unwrap_or("no reason given"),
                    output
                        .last_update_status_reason_code()
                        .map(|c| c.as_str())
                        .unwrap_or("no reason code")
                ),
                _ => Ok(Poll::Ready(())),
            }
        },
    )
    .await
}

async fn create_mapping(
    aws: &Aws,
    function: &str,
    trigger: &TriggerDefinition,
    progress: &StepProgress,
) -> Result<()> {
    let mut request = aws
        .lambda
        .create_event_source_mapping()
        .function_name(function)
        .topics(&trigger.topic)
        .starting_position(EventSourcePosition::from(
            trigger.starting_position.as_str(),
        ))
        .set_batch_size(trigger.batch_size.map(to_i32).transpose()?)
        .set_maximum_batching_window_in_seconds(
            trigger.batching_window_seconds.map(to_i32).transpose()?,
        );
    request = match &trigger.source {
        KafkaSource::Msk { cluster_arn } => request.event_source_arn(cluster_arn),
        KafkaSource::SelfManaged { bootstrap_servers } => request.self_managed_event_source(
            SelfManagedEventSource::builder()
                .endpoints(
                    EndPointType::KafkaBootstrapServers,
                    bootstrap_servers.clone(),
                )
                .build(),
        ),
    };
    progress.status(&format!("CreateEventSourceMapping topic {}", trigger.topic));
    let uuid = match request.send().await {
        Ok(output) => output
            .uuid()
            .ok_or_else(|| anyhow!("CreateEventSourceMapping returned no UUID"))?
            .to_string(),
        // A lost reply to an earlier attempt may have created it: find it and carry on.
        Err(err) if err.code() == Some("ResourceConflictException") => {
            let live = read_function(aws, function, true)
                .await?
                .ok_or_else(|| anyhow!("function {function} disappeared"))?;
            live.kafka_mappings
                .into_iter()
                .find(|m| m.source == trigger.source && m.topics == [trigger.topic.clone()])
                .map(|m| m.uuid)
                .ok_or_else(|| {
                    anyhow!(
                        "CreateEventSourceMapping {function} failed: {}",
                        describe_sdk_error(&err)
                    )
                })?
        }
        Err(err) => bail!(
            "CreateEventSourceMapping {function} failed: {}",
            describe_sdk_error(&err)
        ),
    };
    progress.note(&format!(
        "created Kafka mapping {uuid} for topic {}",
        trigger.topic
    ));
    wait_for_mapping(aws, &uuid, false, progress).await
}

/// Waits until a mapping leaves Creating/Updating/Enabling (or, with `gone`, until it is deleted).
async fn wait_for_mapping(
    aws: &Aws,
    uuid: &str,
    gone: bool,
    progress: &StepProgress,
) -> Result<()> {
    wait::until(&aws.wait, progress, &format!("mapping {uuid}"), || async {
        match aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(mapping) => {
                let state = mapping.state().unwrap_or("Enabled").to_string();
                if gone
                    || matches!(
                        state.as_str(),
                        "Creating" | "Updating" | "Enabling" | "Deleting"
                    )
                {
                    Ok(Poll::Pending(state))
                } else {
                    Ok(Poll::Ready(()))
                }
            }
            Err(err) if gone && err.code() == Some("ResourceNotFoundException") => {
                Ok(Poll::Ready(()))
            }
            Err(err) => Err(anyhow!(
                "GetEventSourceMapping {uuid} failed: {}",
                describe_sdk_error(&err)
            )),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(reserved: Option<i64>) -> LiveFunction {
        LiveFunction {
            name: "f".into(),
            timeout_seconds: 3,
            memory_mib: 128,
            reserved_concurrency: reserved,
            last_update_status: "Successful".into(),
            revision_id: None,
            kafka_mappings: vec![],
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
        let Operation::Lambda(FunctionOperation::UpdateConfiguration {
            timeout_seconds,
            memory_mib,
            ..
        }) = &changes[0].steps[0].operation
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

    #[test]
    fn topic_change_is_a_destructive_replace() {
        let trigger = TriggerDefinition {
            source: KafkaSource::Msk {
                cluster_arn: "arn:aws:kafka:us-east-1:1:cluster/c/u".into(),
            },
            topic: "new".into(),
            batch_size: None,
            batching_window_seconds: None,
            starting_position: "LATEST".into(),
        };
        let old = LiveMapping {
            uuid: "u1".into(),
            source: trigger.source.clone(),
            topics: vec!["old".into()],
            batch_size: Some(100),
            batching_window_seconds: None,
            state: "Enabled".into(),
        };
        let change = plan_trigger("f", &trigger, &[old], "lane".into());
        assert_eq!(change.action, Action::Replace);
        assert!(change.destructive);
        assert_eq!(change.steps.len(), 2);
    }
}
