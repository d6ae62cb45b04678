//! `[[kafka.topics]]`: this kind's part of the stack file.

use serde::Deserialize;
use toml::Spanned;

use crate::spec::Section;

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
impl Section for KafkaTopic {
    const PATH: &'static [&'static str] = &["kafka", "topics"];
    const LIST: bool = true;
    const DESCRIPTION: &'static str =
        "Topics: partitions, replication factor and the configs this pipeline depends on.";
}
