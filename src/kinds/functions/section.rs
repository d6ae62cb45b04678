//! `[[lambda.functions]]` and their `kafka_trigger`: this kind's part of the stack file.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::spec::Section;

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
    /// Declared use, for the plan's cost when CloudWatch has none (docs/cost.md).
    #[schemars(with = "Option<FunctionUsage>")]
    pub usage: Option<Spanned<FunctionUsage>>,
}

/// `usage = { invocations_per_month = N, average_duration_ms = N }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionUsage {
    pub invocations_per_month: i64,
    pub average_duration_ms: i64,
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
    /// `Stream` (the default: a consumer group, one poller per partition, ordered) or `Queue`
    /// (a Kafka share group, unordered; self-managed Kafka 4.2 or later). Set at creation only:
    /// a change replaces the mapping.
    #[serde(default)]
    #[schemars(with = "Option<ConsumptionMode>")]
    pub consumption_mode: Option<Spanned<ConsumptionMode>>,
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

/// How Lambda reads a Kafka topic (`SelfManagedKafkaEventSourceConfig.ConsumptionMode`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema,
)]
pub enum ConsumptionMode {
    /// A consumer group: each partition to one poller, records in order.
    #[default]
    Stream,
    /// A share group: pollers read the same partitions concurrently, unordered.
    Queue,
}

impl std::fmt::Display for ConsumptionMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConsumptionMode::Stream => "Stream",
            ConsumptionMode::Queue => "Queue",
        })
    }
}

fn no_ids() -> Spanned<Vec<String>> {
    Spanned::new(0..0, vec![])
}

fn default_starting_position() -> Spanned<String> {
    Spanned::new(0..0, "LATEST".to_string())
}
impl Section for LambdaFunction {
    const PATH: &'static [&'static str] = &["lambda", "functions"];
    const LIST: bool = true;

    fn explain(message: &str) -> Option<(String, String)> {
        message.contains("untagged enum ReservedConcurrency").then(|| {
            (
                "reserved_concurrency must be a whole number or \"none\"".to_string(),
                "reserved_concurrency takes a whole number (0 stops the function), or \"none\" to remove the reservation".to_string(),
            )
        })
    }
}
