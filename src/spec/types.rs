//! The stack spec as it is written in TOML: one struct per table, every key documented in
//! `docs/spec.md`. Values that validation may complain about are `Spanned`, so an error can
//! point at the exact line and column that set them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The whole stack file. Every section except `[stack]` is optional: a stack manages only
/// what it names.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackSpec {
    pub stack: StackSection,
    pub eks: Option<EksSection>,
    pub kafka: Option<KafkaSection>,
    pub lambda: Option<LambdaSection>,
    pub sagemaker: Option<SageMakerSection>,
    pub dynamodb: Option<DynamoDbSection>,
    /// Alert rules of your own, written with `[kafka.alerts]`'s into one PrometheusRule.
    #[serde(default)]
    pub alerts: Vec<AlertRule>,
    /// Fields another controller or team owns: neither compared nor written.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// A base stack file this one overrides (resolved by `spec::load`, relative to this file).
    #[schemars(with = "Option<String>")]
    pub extends: Option<Spanned<String>>,
}

/// `[[ignore]]`: fields of matching resources that pipectl leaves alone in plan, apply and
/// drift (e.g. a capacity an autoscaler owns).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// A resource id as plans show it (`lambda.function.consumer`), or a prefix ending in `*`
    /// (`eks.volume.kafka/*`).
    #[schemars(with = "String")]
    pub resource: Spanned<String>,
    #[schemars(with = "Vec<String>")]
    pub fields: Vec<Spanned<String>>,
    /// Why, shown with the ignored fields in verbose output.
    pub reason: Option<String>,
}

impl IgnoreRule {
    pub fn matches(&self, resource_id: &str) -> bool {
        let pattern = self.resource.get_ref();
        match pattern.strip_suffix('*') {
            Some(prefix) => resource_id.starts_with(prefix),
            None => resource_id == pattern,
        }
    }
}

impl StackSpec {
    /// The ignored fields of one resource, with the reason of the rule that names each.
    pub fn ignored_fields(&self, resource_id: &str) -> Vec<(String, Option<String>)> {
        self.ignore
            .iter()
            .filter(|rule| rule.matches(resource_id))
            .flat_map(|rule| {
                rule.fields
                    .iter()
                    .map(|f| (f.get_ref().clone(), rule.reason.clone()))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackSection {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// AWS region; `--region` overrides it, and without either the standard chain decides.
    #[schemars(with = "Option<String>")]
    pub region: Option<Spanned<String>>,
    /// The AWS account the stack lives in: plan, apply and drift refuse to run with
    /// credentials of another account (as `--expect-account` does).
    #[schemars(with = "Option<String>")]
    pub account_id: Option<Spanned<String>>,
    /// Tags put on resources pipectl creates.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EksSection {
    #[schemars(with = "Option<String>")]
    pub cluster: Option<Spanned<String>>,
    #[serde(default = "default_namespace")]
    #[schemars(with = "String")]
    pub namespace: Spanned<String>,
    pub kube_context: Option<String>,
}

fn default_namespace() -> Spanned<String> {
    Spanned::new(0..0, "kafka".to_string())
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    pub brokers: Option<KafkaBrokers>,
    pub storage: Option<KafkaStorage>,
    pub alerts: Option<KafkaAlerts>,
    /// How pipectl reaches the brokers' admin API (topics).
    pub admin: Option<KafkaAdmin>,
    /// Topics: partitions, replication factor and the configs this pipeline depends on.
    #[serde(default)]
    pub topics: Vec<KafkaTopic>,
}

/// `[kafka.admin]`: the brokers' admin API, for `[[kafka.topics]]`. Credentials come from a
/// Secrets Manager secret (`{"username": ..., "password": ...}`, the format Lambda's SCRAM
/// secrets use), never from the stack file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaAdmin {
    /// host:port of brokers to bootstrap from. Default: the Kafka trigger's. `--kafka-bootstrap`
    /// (PIPECTL_KAFKA_BOOTSTRAP) overrides it, e.g. for a `kubectl port-forward`.
    #[schemars(with = "Option<Vec<String>>")]
    pub bootstrap_servers: Option<Vec<Spanned<String>>>,
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Kafka's `security.protocol`; default SASL_SSL).
    #[serde(default = "default_security_protocol")]
    #[schemars(with = "String")]
    pub security_protocol: Spanned<String>,
    /// SCRAM-SHA-512 (default) or SCRAM-SHA-256, for the SASL protocols.
    #[serde(default = "default_sasl_mechanism")]
    #[schemars(with = "String")]
    pub sasl_mechanism: Spanned<String>,
    /// The Secrets Manager secret with the admin user's SCRAM credentials.
    #[schemars(with = "Option<String>")]
    pub sasl_secret_arn: Option<Spanned<String>>,
}

fn default_security_protocol() -> Spanned<String> {
    Spanned::new(0..0, "SASL_SSL".to_string())
}

fn default_sasl_mechanism() -> Spanned<String> {
    Spanned::new(0..0, "SCRAM-SHA-512".to_string())
}

/// `[[kafka.topics]]`: a topic and the settings that matter for this pipeline. A config left
/// out is not managed (whatever the topic has stays).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTopic {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Partitions: can grow, never shrink (Kafka cannot remove partitions).
    #[schemars(with = "i64")]
    pub partitions: Spanned<i64>,
    /// Replicas per partition: set when the topic is created (default: the brokers'
    /// `replication_factor`, else 3).
    #[schemars(with = "Option<i64>")]
    pub replication_factor: Option<Spanned<i64>>,
    /// `retention.ms`: how long records are kept (-1: forever).
    #[schemars(with = "Option<i64>")]
    pub retention_ms: Option<Spanned<i64>>,
    /// `min.insync.replicas`: replicas that must have a write before acks=all succeeds.
    #[schemars(with = "Option<i64>")]
    pub min_insync_replicas: Option<Spanned<i64>>,
    /// `cleanup.policy`: "delete", "compact" or "compact,delete".
    #[schemars(with = "Option<String>")]
    pub cleanup_policy: Option<Spanned<String>>,
}

/// `[kafka.alerts]`: the seed article's metrics to alert on, with their thresholds, written as a
/// PrometheusRule (and a Grafana dashboard) in the brokers' namespace.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaAlerts {
    /// Alert when more partitions than this are under-replicated (default 0).
    #[serde(default = "zero")]
    #[schemars(with = "i64")]
    pub under_replicated_partitions: Spanned<i64>,
    /// Alert when the Lambda consumers' groups lag by more records than this.
    #[schemars(with = "Option<i64>")]
    pub consumer_lag_records: Option<Spanned<i64>>,
    /// Alert when a broker uses more than this percentage of its memory limit.
    #[schemars(with = "Option<i64>")]
    pub broker_memory_percent: Option<Spanned<i64>>,
    /// How long a condition must hold before it fires (default 5).
    #[serde(default = "default_alert_minutes_spanned")]
    #[schemars(with = "i64")]
    pub for_minutes: Spanned<i64>,
}

fn zero() -> Spanned<i64> {
    Spanned::new(0..0, 0)
}

fn default_alert_minutes_spanned() -> Spanned<i64> {
    Spanned::new(0..0, default_alert_minutes())
}

fn default_alert_minutes() -> i64 {
    5
}

/// `[[alerts]]`: an alert rule of your own (PromQL).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    pub expr: String,
    #[serde(default = "default_alert_minutes")]
    pub for_minutes: i64,
    #[serde(default = "default_severity")]
    pub severity: String,
    pub summary: Option<String>,
}

fn default_severity() -> String {
    "warning".to_string()
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaBrokers {
    #[schemars(with = "String")]
    pub statefulset: Spanned<String>,
    #[serde(default = "default_hpa_name")]
    #[schemars(with = "String")]
    pub hpa_name: Spanned<String>,
    #[schemars(with = "i64")]
    pub min_replicas: Spanned<i64>,
    #[schemars(with = "i64")]
    pub max_replicas: Spanned<i64>,
    #[schemars(with = "i64")]
    pub target_cpu_utilization: Spanned<i64>,
    #[schemars(with = "i64")]
    pub replication_factor: Spanned<i64>,
    #[schemars(with = "Option<ScaleDown>")]
    pub scale_down: Option<Spanned<ScaleDown>>,
}

fn default_hpa_name() -> Spanned<String> {
    Spanned::new(0..0, "kafka-broker-hpa".to_string())
}

/// Broker scale-down is disabled unless the stack opts in with a long stabilization window:
/// removing a broker that holds replicas leaves partitions under-replicated.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleDown {
    #[serde(default)]
    pub enabled: bool,
    #[schemars(with = "Option<i64>")]
    pub stabilization_window_seconds: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaStorage {
    #[schemars(with = "String")]
    pub storage_class: Spanned<String>,
    #[serde(default = "default_volume_type")]
    #[schemars(with = "String")]
    pub volume_type: Spanned<String>,
    #[schemars(with = "Option<i64>")]
    pub iops: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub throughput_mibps: Option<Spanned<i64>>,
    #[serde(default = "default_true")]
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    /// "Delete" or "Retain"; absent: an existing class keeps its own (Kubernetes' default for
    /// a new class is Delete).
    #[schemars(with = "Option<String>")]
    pub reclaim_policy: Option<Spanned<String>>,
    #[schemars(with = "Option<i64>")]
    pub volume_size_gib: Option<Spanned<i64>>,
    /// How many broker volumes are modified at once (default 1, one at a time).
    #[schemars(with = "Option<i64>")]
    pub max_parallel_volume_changes: Option<Spanned<i64>>,
}

fn default_volume_type() -> Spanned<String> {
    Spanned::new(0..0, "gp3".to_string())
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaSection {
    #[serde(default)]
    pub functions: Vec<LambdaFunction>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaFunction {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[schemars(with = "Option<i64>")]
    pub timeout_seconds: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub memory_mib: Option<Spanned<i64>>,
    #[schemars(with = "Option<ReservedConcurrency>")]
    pub reserved_concurrency: Option<Spanned<ReservedConcurrency>>,
    pub kafka_trigger: Option<KafkaTrigger>,
}

/// `reserved_concurrency = 100` reserves; `reserved_concurrency = "none"` removes a reservation
/// (DeleteFunctionConcurrency). Leaving the key out leaves the live setting alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ReservedConcurrency {
    Reserved(i64),
    Unreserved(Unreserved),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unreserved {
    None,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTrigger {
    /// Amazon MSK cluster ARN; exclusive with `bootstrap_servers`.
    #[schemars(with = "Option<String>")]
    pub msk_cluster_arn: Option<Spanned<String>>,
    /// Self-managed Kafka bootstrap servers (`host:port`); exclusive with `msk_cluster_arn`.
    #[schemars(with = "Option<Vec<String>>")]
    pub bootstrap_servers: Option<Spanned<Vec<String>>>,
    #[schemars(with = "String")]
    pub topic: Spanned<String>,
    #[schemars(with = "Option<i64>")]
    pub batch_size: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub batching_window_seconds: Option<Spanned<i64>>,
    #[serde(default = "default_starting_position")]
    #[schemars(with = "String")]
    pub starting_position: Spanned<String>,
    /// With `starting_position = "AT_TIMESTAMP"`: seconds since the Unix epoch.
    #[schemars(with = "Option<i64>")]
    pub starting_position_timestamp: Option<Spanned<i64>>,
    /// The Kafka consumer group the mapping joins; a replacement mapping with the same group
    /// resumes from its committed offsets. Absent: AWS uses the mapping's UUID (a new group).
    #[schemars(with = "Option<String>")]
    pub consumer_group_id: Option<Spanned<String>>,
    /// Self-managed brokers inside a VPC: the subnets and security groups Lambda's pollers use.
    #[serde(default = "no_ids")]
    #[schemars(with = "Vec<String>")]
    pub vpc_subnets: Spanned<Vec<String>>,
    #[serde(default = "no_ids")]
    #[schemars(with = "Vec<String>")]
    pub vpc_security_groups: Spanned<Vec<String>>,
    /// The brokers' authentication: a Secrets Manager secret ARN for one of these.
    #[schemars(with = "Option<String>")]
    pub sasl_scram_512_secret_arn: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub sasl_scram_256_secret_arn: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub client_certificate_secret_arn: Option<Spanned<String>>,
    /// The brokers' root CA (self-managed brokers with a private CA).
    #[schemars(with = "Option<String>")]
    pub server_root_ca_secret_arn: Option<Spanned<String>>,
    /// Provisioned mode: the fewest event pollers the mapping keeps (1-200).
    #[schemars(with = "Option<i64>")]
    pub minimum_pollers: Option<Spanned<i64>>,
    /// Provisioned mode: the most event pollers the mapping scales to (1-2000).
    #[schemars(with = "Option<i64>")]
    pub maximum_pollers: Option<Spanned<i64>>,
    /// Replace a Kafka mapping of this function on another topic or cluster even when pipectl
    /// did not create it (without it, such a mapping is another owner's and is left alone).
    #[serde(default)]
    pub prune: bool,
    /// How long apply waits for the mapping to report `LastProcessingResult: OK` (default 120 s;
    /// 0: do not wait).
    #[schemars(with = "Option<i64>")]
    pub health_timeout_seconds: Option<Spanned<i64>>,
}

fn no_ids() -> Spanned<Vec<String>> {
    Spanned::new(0..0, vec![])
}

fn default_starting_position() -> Spanned<String> {
    Spanned::new(0..0, "LATEST".to_string())
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SageMakerSection {
    #[serde(default)]
    pub endpoints: Vec<SageMakerEndpoint>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SageMakerEndpoint {
    #[schemars(with = "String")]
    pub endpoint: Spanned<String>,
    #[serde(default = "default_variant")]
    #[schemars(with = "String")]
    pub variant: Spanned<String>,
    #[schemars(with = "i64")]
    pub min_capacity: Spanned<i64>,
    #[schemars(with = "i64")]
    pub max_capacity: Spanned<i64>,
    #[schemars(with = "f64")]
    pub target_invocations_per_instance: Spanned<f64>,
    #[schemars(with = "Option<i64>")]
    pub scale_in_cooldown_seconds: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub scale_out_cooldown_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    pub multi_model: bool,
    /// The target-tracking policy's name. Absent: `pipectl-STACK-invocations`. A policy made by
    /// hand (e.g. under the name AWS's guide uses) is adopted by naming it here.
    #[schemars(with = "Option<String>")]
    pub policy_name: Option<Spanned<String>>,
}

fn default_variant() -> Spanned<String> {
    Spanned::new(0..0, "AllTraffic".to_string())
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbSection {
    #[serde(default)]
    pub tables: Vec<DynamoDbTable>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum BillingMode {
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
    #[serde(rename = "PROVISIONED")]
    Provisioned,
}

impl BillingMode {
    pub fn as_aws(self) -> &'static str {
        match self {
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
            BillingMode::Provisioned => "PROVISIONED",
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbTable {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[schemars(with = "BillingMode")]
    pub billing_mode: Spanned<BillingMode>,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    #[schemars(with = "Option<Capacity>")]
    pub capacity: Option<Spanned<Capacity>>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    /// Delete live indexes the file does not list, whoever made them. Without it, only indexes
    /// pipectl created (or ones listed with `remove = true`) are deleted when they leave the file.
    #[serde(default)]
    pub prune: bool,
    /// DynamoDB Contributor Insights on the table (hot keys). Absent: left as it is.
    pub contributor_insights: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum AttributeType {
    S,
    N,
    B,
}

impl AttributeType {
    pub fn as_aws(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
            AttributeType::B => "B",
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyAttribute {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    #[schemars(with = "AttributeType")]
    pub attribute_type: Spanned<AttributeType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub read: i64,
    pub write: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum ProjectionType {
    #[serde(rename = "ALL")]
    All,
    #[serde(rename = "KEYS_ONLY")]
    KeysOnly,
    #[serde(rename = "INCLUDE")]
    Include,
}

impl ProjectionType {
    pub fn as_aws(self) -> &'static str {
        match self {
            ProjectionType::All => "ALL",
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalSecondaryIndex {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Required unless `remove = true`.
    pub partition_key: Option<KeyAttribute>,
    pub sort_key: Option<KeyAttribute>,
    #[serde(default = "default_projection")]
    #[schemars(with = "ProjectionType")]
    pub projection: Spanned<ProjectionType>,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
    #[schemars(with = "Option<Capacity>")]
    pub capacity: Option<Spanned<Capacity>>,
    /// Delete this live index (one pipectl did not create); the entry needs only its name.
    #[serde(default)]
    pub remove: bool,
    /// DynamoDB Contributor Insights on the index (hot keys). Absent: left as it is.
    pub contributor_insights: Option<bool>,
}

fn default_projection() -> Spanned<ProjectionType> {
    Spanned::new(0..0, ProjectionType::All)
}
