//! `[kafka.brokers]` and `[kafka.storage]`: this family's part of the stack file.

use serde::Deserialize;
use toml::Spanned;

use crate::spec::Section;

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

/// Kubernetes names of settings that sit elsewhere, or under another name, in a stack file.
const KUBERNETES_NAMES: &[(&str, &str)] = &[
    (
        "stabilizationWindowSeconds",
        "scale_down = { stabilization_window_seconds = N } in [kafka.brokers]",
    ),
    (
        "averageUtilization",
        "target_cpu_utilization in [kafka.brokers]",
    ),
    ("scaleTargetRef", "statefulset in [kafka.brokers]"),
    ("storageClassName", "storage_class in [kafka.storage]"),
    (
        "replicas",
        "min_replicas and max_replicas in [kafka.brokers]",
    ),
];

impl Section for KafkaBrokers {
    const PATH: &'static [&'static str] = &["kafka", "brokers"];
    const ALIASES: &'static [(&'static str, &'static str)] = KUBERNETES_NAMES;
}

impl Section for KafkaStorage {
    const PATH: &'static [&'static str] = &["kafka", "storage"];
    const ALIASES: &'static [(&'static str, &'static str)] = KUBERNETES_NAMES;
}

/// `[kafka.brokers]` and `[kafka.storage]` of a stack, read together.
#[derive(Debug, Clone, Copy)]
pub struct BrokerSections<'a> {
    pub brokers: Option<&'a KafkaBrokers>,
    pub storage: Option<&'a KafkaStorage>,
}

impl<'a> BrokerSections<'a> {
    /// Both sections, when the stack has either.
    pub fn of(spec: &'a crate::spec::StackSpec) -> Option<Self> {
        let sections = BrokerSections {
            brokers: spec.section::<KafkaBrokers>(),
            storage: spec.section::<KafkaStorage>(),
        };
        (sections.brokers.is_some() || sections.storage.is_some()).then_some(sections)
    }
}
