//! `[[kafka.topics]]`: partitions, replication factor and the topic configs this pipeline
//! depends on, through Kafka's admin API (Metadata, DescribeConfigs, CreateTopics,
//! CreatePartitions, IncrementalAlterConfigs). A kind of its own: this module and one line in
//! `KINDS`.
//!
//! Kafka's rules it plans by: partitions only grow (CreatePartitions refuses a smaller count),
//! a key's partition is its hash modulo the count (so growth moves keys), a replication factor
//! above the live brokers is refused (INVALID_REPLICATION_FACTOR), and changing a topic's
//! replication factor is a partition reassignment, not a config.

pub mod import;
pub mod limits;
mod permissions;
pub mod section;
mod validate;
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use futures::future::BoxFuture;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use serde::{Deserialize, Serialize};

use crate::kinds::brokers::section::KafkaBrokers;
use crate::kinds::functions::section::{ConsumptionMode, LambdaFunction, ReservedConcurrency};
use crate::kinds::kind::{KindPlan, PlanContext, TypedKind};
use crate::plan::{
    ignored_fields, stamped, Action, Change, FieldDiff, Hazard, PlanError, ResourceId,
    ResourceKind, Step,
};
use crate::progress::StepProgress;
use crate::providers::kafka::connection::{error_constant, error_name, Connection};
use crate::providers::kafka::Admin;
use crate::providers::wait::{self, Poll};
use crate::providers::Clients;
use crate::spec::StackSpec;
use section::KafkaTopic;
use validate::topic_replication_factor;

mod execute;
mod preflight;
mod read;
use execute::*;
pub use read::*;

/// The kind of `kafka.topic.NAME` resource ids.
pub const TOPIC: ResourceKind = ResourceKind::named("kafka.topic");

/// Kafka's config resource type for topics (DescribeConfigs, IncrementalAlterConfigs).
const TOPIC_RESOURCE: i8 = 2;
/// IncrementalAlterConfigs' SET operation.
const SET: i8 = 0;
/// UNKNOWN_TOPIC_OR_PARTITION: the topic does not exist.
const UNKNOWN_TOPIC: i16 = 3;
/// TOPIC_ALREADY_EXISTS.
const TOPIC_ALREADY_EXISTS: i16 = 36;
/// INVALID_PARTITIONS (CreatePartitions: not an increase).
const INVALID_PARTITIONS: i16 = 37;
/// NOT_CONTROLLER: a ZooKeeper-mode broker that is not the controller refuses the write.
const NOT_CONTROLLER: i16 = 41;
/// The API keys of the writes only a ZooKeeper-mode controller takes.
const CREATE_TOPICS_KEY: i16 = 19;
const CREATE_PARTITIONS_KEY: i16 = 37;
/// TOPIC_AUTHORIZATION_FAILED: the principal lacks the topic's ACL.
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
/// POLICY_VIOLATION: the broker's create policy refuses the request.
const POLICY_VIOLATION: i16 = 44;
/// How long the controller may take to create topics or partitions before answering.
const CONTROLLER_TIMEOUT_MS: i32 = 30_000;

/// The spec keys of the topic configs pipectl manages, with Kafka's names.
const CONFIGS: &[(&str, &str)] = &[
    ("retention_ms", "retention.ms"),
    ("min_insync_replicas", "min.insync.replicas"),
    ("cleanup_policy", "cleanup.policy"),
];

pub struct Topics;
pub static TOPICS: Topics = Topics;

/// A topic as the brokers report it (what the fingerprint covers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveTopic {
    pub partitions: i64,
    pub replication_factor: i64,
    /// The managed configs' values, by spec key.
    pub configs: BTreeMap<String, String>,
}

/// A topic as the stack wants it.
#[derive(Debug, Clone)]
struct WantedTopic {
    name: String,
    partitions: i64,
    /// Set in the file (compared); otherwise only used to create.
    declared_replication_factor: Option<i64>,
    replication_factor: i64,
    /// Declared configs, by spec key.
    configs: BTreeMap<String, String>,
}

impl WantedTopic {
    fn id(&self) -> String {
        format!("{}.{}", TOPIC.prefix(), self.name)
    }
}

/// The admin calls a step makes, then the wait until the brokers show the result.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "call")]
pub enum TopicOperation {
    CreateTopics {
        topic: String,
        partitions: i32,
        replication_factor: i16,
        /// Kafka config names and values.
        configs: BTreeMap<String, String>,
    },
    CreatePartitions {
        topic: String,
        count: i32,
        /// The count before: only the partitions added must get a leader (an old partition
        /// offline is not this change's doing). 0 in plans saved before it was recorded.
        #[serde(default)]
        previous: i32,
    },
    IncrementalAlterConfigs {
        topic: String,
        /// Kafka config names and the values SET.
        set: BTreeMap<String, String>,
    },
}

impl TopicOperation {
    /// Kafka's operation names (the ACL each needs is in docs/operations.md).
    fn api_calls(&self) -> Vec<&'static str> {
        match self {
            TopicOperation::CreateTopics { .. } => vec!["kafka:CreateTopics", "kafka:Metadata"],
            TopicOperation::CreatePartitions { .. } => {
                vec!["kafka:CreatePartitions", "kafka:Metadata"]
            }
            TopicOperation::IncrementalAlterConfigs { .. } => {
                vec!["kafka:IncrementalAlterConfigs"]
            }
        }
    }

    fn into_step(self, description: String) -> Step {
        Topics::step(description, self.api_calls(), &self)
    }
}

impl TypedKind for Topics {
    const SERVICE: &'static str = "kafka";
    const IGNORABLE: &'static [(&'static str, &'static [&'static str])] = &[(
        "kafka.topic.",
        &[
            "partitions",
            "replication_factor",
            "retention_ms",
            "min_insync_replicas",
            "cleanup_policy",
        ],
    )];
    type Operation = TopicOperation;

    const IMPORT_FLAGS: &'static [crate::spec::write::ImportFlag] = import::FLAGS;

    fn import<'a>(
        &'a self,
        context: &'a crate::kinds::kind::ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<crate::kinds::kind::ImportedPart>>> {
        Box::pin(import::import(context))
    }

    fn sections() -> Vec<crate::spec::SectionKind> {
        vec![crate::spec::SectionKind::of::<section::KafkaTopic>()]
    }

    fn offline_checks() -> Option<crate::spec::validate::KindCheck> {
        Some(validate::check)
    }

    fn permissions(
        spec: &StackSpec,
        scope: &crate::plan::permissions::Scope,
    ) -> crate::plan::permissions::Permissions {
        permissions::permissions(spec, scope)
    }

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        Box::pin(plan_topics(context))
    }

    fn run<'a>(
        &'a self,
        clients: &'a Clients,
        operation: TopicOperation,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let admin = clients.connected_kafka()?;
            execute(&admin, &clients.aws.wait, &operation, progress).await
        })
    }
}

/// What the file asks for each topic.
fn desired(spec: &StackSpec) -> Vec<WantedTopic> {
    spec.entries::<KafkaTopic>()
        .iter()
        .map(|topic| {
            let mut configs = BTreeMap::new();
            if let Some(ms) = &topic.retention_ms {
                configs.insert("retention_ms".to_string(), ms.get_ref().to_string());
            }
            if let Some(min) = &topic.min_insync_replicas {
                configs.insert("min_insync_replicas".to_string(), min.get_ref().to_string());
            }
            if let Some(policy) = &topic.cleanup_policy {
                configs.insert(
                    "cleanup_policy".to_string(),
                    normalized_policy(policy.get_ref()),
                );
            }
            WantedTopic {
                name: topic.name.get_ref().clone(),
                partitions: *topic.partitions.get_ref(),
                declared_replication_factor: topic
                    .replication_factor
                    .as_ref()
                    .map(|r| *r.get_ref()),
                replication_factor: topic_replication_factor(spec, topic),
                configs,
            }
        })
        .collect()
}

/// "delete,compact" and "compact, delete" are one policy: sorted, no spaces.
fn normalized_policy(policy: &str) -> String {
    let mut parts: Vec<&str> = policy
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    parts.sort_unstable();
    parts.dedup();
    parts.join(",")
}

fn kafka_config_name(spec_key: &str) -> &'static str {
    CONFIGS
        .iter()
        .find(|(key, _)| *key == spec_key)
        .map(|(_, name)| *name)
        .unwrap_or("")
}

/// The topics Lambda consumes (their partitions bound the useful consumers).
fn consumed_topics(spec: &StackSpec) -> Vec<String> {
    let triggers = spec
        .entries::<LambdaFunction>()
        .iter()
        .filter_map(|f| f.kafka_trigger.as_ref());
    let mut names: Vec<String> = triggers.map(|t| t.topic.get_ref().clone()).collect();
    names.sort();
    names.dedup();
    names
}

async fn plan_topics(context: &PlanContext<'_>) -> Result<KindPlan> {
    let spec = &context.stack.spec;
    let mut out = KindPlan::default();
    let mut wanted = desired(spec);
    out.declared = wanted.iter().map(WantedTopic::id).collect();
    wanted.retain(|w| context.targets.selects(&w.id()));
    if wanted.is_empty() {
        return Ok(out);
    }
    let admin = context
        .clients
        .kafka(spec, validate::default_bootstrap_servers(spec))
        .await?;
    let mut names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
    // A live topic a new one would collide with is asked for by name (no listing of all).
    names.extend(
        wanted
            .iter()
            .flat_map(|w| validate::colliding_names(&w.name)),
    );
    names.extend(consumed_topics(spec));
    names.sort();
    names.dedup();
    let live = admin
        .with_connection(|connection| Box::pin(async move { read(connection, &names).await }))
        .await
        .map_err(|e| {
            anyhow!(
                "reading topics from the Kafka brokers ({}): {e:#}",
                admin.endpoint.servers.join(", ")
            )
        })?;
    out.notes
        .extend(denied_consumed_notes(spec, &wanted, &live.denied));
    out.errors.extend(denied_errors(&wanted, &live.denied));
    wanted.retain(|w| !live.denied.contains_key(&w.name));
    for want in &mut wanted {
        let ignored = ignored_fields(spec, &want.id(), &mut out.ignored);
        take_ignored_from_live(want, live.topics.get(&want.name), &ignored);
    }
    let mut proposed = preflight::Proposed::default();
    for want in &wanted {
        let topic = live.topics.get(&want.name);
        if let Some(error) = collision(want, topic, &live.topics) {
            out.errors.push(error);
            continue;
        }
        match plan_one(want, topic, live.brokers) {
            Ok(change) => {
                proposed.add(want, topic);
                out.changes.extend(stamped([change], &topic));
            }
            Err(error) => out.errors.push(error),
        }
    }
    if context.validate_writes {
        out.errors
            .extend(preflight::check(&admin, proposed).await.map_err(|e| {
                anyhow!(
                    "asking the Kafka brokers to validate the topic changes ({}): {e:#}",
                    admin.endpoint.servers.join(", ")
                )
            })?);
    }
    out.notes.extend(consumer_notes(spec, &live.topics));
    Ok(out)
}

/// A managed topic the admin user may not read: the plan cannot say what would change.
fn denied_errors(wanted: &[WantedTopic], denied: &BTreeMap<String, &str>) -> Vec<PlanError> {
    wanted
        .iter()
        .filter_map(|want| {
            let operation = denied.get(&want.name)?;
            Some(PlanError {
                resource: want.id(),
                message: format!(
                    "the [kafka.admin] user may not read topic {} (TOPIC_AUTHORIZATION_FAILED: no {operation} ACL), so the plan cannot compare it",
                    want.name
                ),
                help: format!(
                    "grant the user the ACLs pipectl needs on its topics (Describe, DescribeConfigs, Create, Alter, AlterConfigs), e.g. kafka-acls.sh --add --allow-principal User:NAME --operation {operation} --topic {}",
                    want.name
                ),
            })
        })
        .collect()
}

/// A topic only the stack's Lambda triggers consume, which the admin user may not describe
/// (its ACLs cover the stack's own topics): the partition notes for it are left out.
fn denied_consumed_notes(
    spec: &StackSpec,
    wanted: &[WantedTopic],
    denied: &BTreeMap<String, &str>,
) -> Vec<String> {
    consumed_topics(spec)
        .into_iter()
        .filter(|topic| !wanted.iter().any(|w| &w.name == topic))
        .filter_map(|topic| {
            let operation = denied.get(&topic)?;
            Some(format!(
                "topic {topic}, which a Lambda trigger consumes, could not be read (the [kafka.admin] user has no {operation} ACL on it): its partitions are not compared with the trigger's reservation and pollers"
            ))
        })
        .collect()
}

/// A topic to create whose name collides with a live one's: Kafka would refuse it at apply.
fn collision(
    want: &WantedTopic,
    live: Option<&LiveTopic>,
    topics: &BTreeMap<String, LiveTopic>,
) -> Option<PlanError> {
    if live.is_some() {
        return None;
    }
    let existing = topics
        .keys()
        .find(|name| validate::topics_collide(name, &want.name))?;
    Some(PlanError {
        resource: want.id(),
        message: format!(
            "topic {} collides with the live topic {existing}: Kafka refuses it (INVALID_TOPIC_EXCEPTION), since '.' and '_' are one character in its metric names",
            want.name
        ),
        help: format!("use the live topic's name, {existing}, or another name"),
    })
}

/// An ignored field takes the live value, so it is neither compared nor written.
fn take_ignored_from_live(want: &mut WantedTopic, live: Option<&LiveTopic>, ignored: &[String]) {
    let Some(live) = live else { return };
    for field in ignored {
        match field.as_str() {
            "partitions" => want.partitions = live.partitions,
            "replication_factor" => want.declared_replication_factor = None,
            key => {
                match live.configs.get(key) {
                    Some(value) => want.configs.insert(key.to_string(), value.clone()),
                    None => want.configs.remove(key),
                };
            }
        }
    }
}

fn plan_one(
    want: &WantedTopic,
    live: Option<&LiveTopic>,
    brokers: usize,
) -> Result<Change, PlanError> {
    let id = want.id();
    let refuse = |message: String, help: String| PlanError {
        resource: id.clone(),
        message,
        help,
    };
    let Some(live) = live else {
        if want.replication_factor > brokers as i64 {
            return Err(refuse(
                format!(
                    "replication_factor {} is above the {brokers} live broker(s): Kafka refuses the topic (INVALID_REPLICATION_FACTOR)",
                    want.replication_factor
                ),
                format!("set replication_factor to at most {brokers}, or start more brokers first"),
            ));
        }
        return Ok(create(want));
    };
    if want.partitions < live.partitions {
        return Err(refuse(
            format!(
                "topic {} has {} partitions and the stack asks for {}: Kafka cannot remove partitions",
                want.name, live.partitions, want.partitions
            ),
            format!(
                "set partitions = {} (or more); for fewer, create a new topic and move producers and consumers to it",
                live.partitions
            ),
        ));
    }
    if let Some(declared) = want.declared_replication_factor {
        if declared != live.replication_factor {
            return Err(refuse(
                format!(
                    "topic {} has replication factor {}, the stack says {declared}: that is a partition reassignment, which pipectl does not do",
                    want.name, live.replication_factor
                ),
                format!(
                    "reassign with kafka-reassign-partitions.sh, or set replication_factor = {} (or [[ignore]] it)",
                    live.replication_factor
                ),
            ));
        }
    }
    Ok(update(want, live))
}

fn change(
    want: &WantedTopic,
    action: Action,
    diffs: Vec<FieldDiff>,
    hazards: Vec<Hazard>,
    steps: Vec<Step>,
) -> Change {
    Change {
        diffs,
        hazards,
        steps,
        ..Change::new(
            ResourceId::new(TOPIC, want.name.clone()),
            action,
            format!("kafka:{}", want.name),
        )
    }
}

fn kafka_configs(configs: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    configs
        .iter()
        .map(|(key, value)| (kafka_config_name(key).to_string(), value.clone()))
        .collect()
}

fn create(want: &WantedTopic) -> Change {
    let mut diffs = vec![
        FieldDiff::new("partitions", None, Some(want.partitions.to_string())),
        FieldDiff::new(
            "replication_factor",
            None,
            Some(want.replication_factor.to_string()),
        ),
    ];
    diffs.extend(
        want.configs
            .iter()
            .map(|(key, value)| FieldDiff::new(key, None, Some(value.clone()))),
    );
    let operation = TopicOperation::CreateTopics {
        topic: want.name.clone(),
        partitions: want.partitions as i32,
        replication_factor: want.replication_factor as i16,
        configs: kafka_configs(&want.configs),
    };
    let description = format!(
        "create topic {} ({} partitions × {} replicas), then wait until every partition has a leader",
        want.name, want.partitions, want.replication_factor
    );
    change(
        want,
        Action::Create,
        diffs,
        vec![],
        vec![operation.into_step(description)],
    )
}

fn update(want: &WantedTopic, live: &LiveTopic) -> Change {
    let mut diffs = vec![];
    let mut hazards = vec![];
    let mut steps = vec![];
    if want.partitions > live.partitions {
        diffs.push(FieldDiff::new(
            "partitions",
            Some(live.partitions.to_string()),
            Some(want.partitions.to_string()),
        ));
        hazards.push(Hazard {
            message: format!(
                "keyed messages change partition: a key's partition is its hash modulo the partition count, so after {} -> {} most keys go to another partition, and a consumer can see a key's new records before its older ones; per-key ordering holds again once the old partitions are drained. Partitions can never be removed.",
                live.partitions, want.partitions
            ),
        });
        let operation = TopicOperation::CreatePartitions {
            topic: want.name.clone(),
            count: want.partitions as i32,
            previous: live.partitions as i32,
        };
        let description = format!(
            "grow topic {} from {} to {} partitions, then wait until the new partitions have a leader",
            want.name, live.partitions, want.partitions
        );
        steps.push(operation.into_step(description));
    }
    let mut set = BTreeMap::new();
    for (key, value) in &want.configs {
        let current = live.configs.get(key);
        if current != Some(value) {
            diffs.push(FieldDiff::new(key, current.cloned(), Some(value.clone())));
            set.insert(key.clone(), value.clone());
        }
    }
    if !set.is_empty() {
        let names: Vec<&str> = set.keys().map(|k| kafka_config_name(k)).collect();
        let operation = TopicOperation::IncrementalAlterConfigs {
            topic: want.name.clone(),
            set: kafka_configs(&set),
        };
        steps.push(operation.into_step(format!("set {} on topic {}", names.join(", "), want.name)));
    }
    let action = if steps.is_empty() {
        Action::NoOp
    } else {
        Action::Update
    };
    change(want, action, diffs, hazards, steps)
}

/// Consumers and brokers beyond what the partitions can use idle: Lambda runs at most one
/// concurrent batch per partition of a Kafka topic, and a broker that holds no replica serves
/// nothing (Kafka does not move existing partitions to new brokers by itself).
fn consumer_notes(spec: &StackSpec, live: &BTreeMap<String, LiveTopic>) -> Vec<String> {
    let partitions_of = |topic: &str| -> Option<i64> {
        let declared = spec
            .entries::<KafkaTopic>()
            .iter()
            .find(|t| t.name.get_ref() == topic)
            .map(|t| *t.partitions.get_ref());
        let live = live.get(topic).map(|t| t.partitions);
        declared.into_iter().chain(live).max()
    };
    let mut notes = vec![];
    for function in spec.entries::<LambdaFunction>() {
        let Some(trigger) = &function.kafka_trigger else {
            continue;
        };
        // In Queue mode pollers share partitions (a share group), so partitions bound nothing.
        if trigger
            .consumption_mode
            .as_ref()
            .is_some_and(|m| *m.get_ref() == ConsumptionMode::Queue)
        {
            continue;
        }
        let topic = trigger.topic.get_ref();
        let Some(partitions) = partitions_of(topic) else {
            continue;
        };
        let name = function.name.get_ref();
        if let Some(ReservedConcurrency::Reserved(reserved)) =
            function.reserved_concurrency.as_ref().map(|r| r.get_ref())
        {
            if *reserved > partitions {
                notes.push(format!(
                    "lambda.function.{name}: reserved_concurrency {reserved} is above the {partitions} partitions of topic {topic}: Lambda runs at most one batch per partition at a time, so {} of the reservation idles (and is taken from the account's pool); lower it to {partitions} or add partitions",
                    reserved - partitions
                ));
            }
        }
        if let Some(pollers) = &trigger.maximum_pollers {
            if *pollers.get_ref() > partitions {
                notes.push(format!(
                    "lambda.function.{name}: maximum_pollers {} is above the {partitions} partitions of topic {topic}: pollers beyond one per partition have nothing to read; lower it or add partitions",
                    pollers.get_ref()
                ));
            }
        }
    }
    if let Some(brokers) = spec.section::<KafkaBrokers>() {
        let topics = spec.entries::<KafkaTopic>();
        let replicas: i64 = topics
            .iter()
            .map(|t| {
                partitions_of(t.name.get_ref()).unwrap_or(0) * topic_replication_factor(spec, t)
            })
            .sum();
        let max = *brokers.max_replicas.get_ref();
        let namespace = crate::providers::eks::namespace_of(spec);
        if !topics.is_empty() && max > replicas {
            notes.push(format!(
                "eks.hpa.{namespace}/{}: max_replicas {max} is above the {replicas} partition replicas of the stack's topics: brokers beyond that hold no replica and serve nothing (and Kafka does not move existing partitions to new brokers by itself); add partitions or lower max_replicas",
                brokers.hpa_name.get_ref()
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(partitions: i64, rf: Option<i64>) -> WantedTopic {
        WantedTopic {
            name: "logs".into(),
            partitions,
            declared_replication_factor: rf,
            replication_factor: rf.unwrap_or(3),
            configs: BTreeMap::from([("retention_ms".to_string(), "604800000".to_string())]),
        }
    }

    fn live(partitions: i64) -> LiveTopic {
        LiveTopic {
            partitions,
            replication_factor: 3,
            configs: BTreeMap::from([("retention_ms".to_string(), "86400000".to_string())]),
        }
    }

    #[test]
    fn growth_is_one_create_partitions_with_the_key_ordering_hazard() {
        let change = plan_one(&wanted(12, None), Some(&live(6)), 3).unwrap();
        assert_eq!(change.action, Action::Update);
        let calls: Vec<_> = change
            .steps
            .iter()
            .map(|s| s.operation["call"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(calls, ["CreatePartitions", "IncrementalAlterConfigs"]);
        assert!(
            change.hazards[0].message.contains("6 -> 12"),
            "{:?}",
            change.hazards
        );
        assert_eq!(
            change.steps[1].operation["set"]["retention.ms"],
            "604800000"
        );
    }

    #[test]
    fn a_decrease_and_a_replication_change_are_refused_and_too_many_replicas_too() {
        let shrink = plan_one(&wanted(3, None), Some(&live(6)), 3).unwrap_err();
        assert!(
            shrink.message.contains("cannot remove partitions"),
            "{}",
            shrink.message
        );
        let rf = plan_one(&wanted(6, Some(2)), Some(&live(6)), 3).unwrap_err();
        assert!(rf.message.contains("reassignment"), "{}", rf.message);
        let too_many = plan_one(&wanted(6, Some(3)), None, 2).unwrap_err();
        assert!(
            too_many.message.contains("2 live broker"),
            "{}",
            too_many.message
        );
        assert_eq!(
            plan_one(&wanted(6, Some(3)), None, 3).unwrap().action,
            Action::Create
        );
    }

    #[test]
    fn cleanup_policies_compare_as_sets() {
        assert_eq!(normalized_policy("delete, compact"), "compact,delete");
        assert_eq!(normalized_policy("compact,delete"), "compact,delete");
    }
}
