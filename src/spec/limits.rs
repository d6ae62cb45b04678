//! Every numeric limit pipectl enforces before calling AWS, in one table, each with its source
//! and the date it was last checked. AWS raises some of these over time: change them here only.

/// An inclusive range with the unit and the AWS parameter it constrains.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub min: i64,
    pub max: i64,
    pub unit: &'static str,
    pub aws_name: &'static str,
    /// Where the numbers come from and when they were checked.
    pub source: &'static str,
}

impl Limit {
    pub fn contains(&self, value: i64) -> bool {
        (self.min..=self.max).contains(&value)
    }
}

pub const LAMBDA_TIMEOUT: Limit = Limit {
    min: 1,
    max: 900,
    unit: "seconds",
    aws_name: "Timeout",
    source: "Lambda quotas: function timeout 900 s (checked 2026-11)",
};

pub const LAMBDA_MEMORY: Limit = Limit {
    min: 128,
    max: 10240,
    unit: "MiB",
    aws_name: "MemorySize",
    source: "Lambda quotas: 128 MB to 10,240 MB in 1 MB steps (checked 2026-11)",
};

pub const KAFKA_BATCH_SIZE: Limit = Limit {
    min: 1,
    max: 10000,
    unit: "records",
    aws_name: "BatchSize",
    source: "CreateEventSourceMapping: Kafka sources 1..=10000, default 100 (checked 2026-11)",
};

pub const KAFKA_BATCHING_WINDOW: Limit = Limit {
    min: 0,
    max: 300,
    unit: "seconds",
    aws_name: "MaximumBatchingWindowInSeconds",
    source: "CreateEventSourceMapping: 0..=300 s; Kafka default is 500 ms (checked 2026-11)",
};

pub const KAFKA_MINIMUM_POLLERS: Limit = Limit {
    min: 1,
    max: 200,
    unit: "pollers",
    aws_name: "ProvisionedPollerConfig.MinimumPollers",
    source: "ProvisionedPollerConfig API reference: MSK and self-managed Kafka 1..=200, default 1 (checked 2026-11)",
};

pub const KAFKA_MAXIMUM_POLLERS: Limit = Limit {
    min: 1,
    max: 2000,
    unit: "pollers",
    aws_name: "ProvisionedPollerConfig.MaximumPollers",
    source: "ProvisionedPollerConfig API reference: MSK and self-managed Kafka 1..=2000, default 200 (checked 2026-11)",
};

pub const KAFKA_HEALTH_TIMEOUT: Limit = Limit {
    min: 0,
    max: 3600,
    unit: "seconds",
    aws_name: "(pipectl setting)",
    source: "pipectl: how long apply waits for a Kafka mapping's LastProcessingResult to be OK",
};

/// No upper bound is documented per function; the account limit is read live at plan time.
pub const LAMBDA_RESERVED_CONCURRENCY: Limit = Limit {
    min: 0,
    max: i64::MAX,
    unit: "concurrent executions",
    aws_name: "ReservedConcurrentExecutions",
    source: "PutFunctionConcurrency; account limit from GetAccountSettings (checked 2026-11)",
};

/// Lambda keeps this many executions unreserved for functions without a reservation. Accounts
/// whose limit is lower than this cannot reserve anything.
pub const LAMBDA_MINIMUM_UNRESERVED: i64 = 100;

/// The hard rule is only ">= 1": the per-table maximum is an account quota, not a limit.
pub const DYNAMODB_CAPACITY_UNITS: Limit = Limit {
    min: 1,
    max: i64::MAX,
    unit: "capacity units",
    aws_name: "ReadCapacityUnits / WriteCapacityUnits",
    source: "DynamoDB UpdateTable/CreateTable: capacity units >= 1 (checked 2026-11)",
};

/// DynamoDB's default per-table quota of read and of write capacity units; accounts can have
/// it raised through Service Quotas, so above it plan warns instead of refusing (DynamoDB
/// service quotas, "Table-level read/write throughput", checked 2026-11).
pub const DYNAMODB_DEFAULT_TABLE_CAPACITY_QUOTA: i64 = 40_000;

/// DynamoDB: a table can switch from PROVISIONED to PAY_PER_REQUEST at most this many times
/// in a rolling 24 hours; to PROVISIONED at any time (DynamoDB developer guide, "Considerations
/// when switching capacity modes", checked 2026-11; it used to be once per 24 h).
pub const DYNAMODB_SWITCHES_TO_ON_DEMAND_PER_DAY: i64 = 4;

pub const SAGEMAKER_CAPACITY: Limit = Limit {
    min: 1,
    max: 1000,
    unit: "instances",
    aws_name: "MinCapacity / MaxCapacity",
    source: "Application Auto Scaling for SageMaker variants: capacity >= 1 (checked 2026-11)",
};

pub const AUTOSCALING_COOLDOWN: Limit = Limit {
    min: 0,
    max: 3600,
    unit: "seconds",
    aws_name: "ScaleInCooldown / ScaleOutCooldown",
    source: "TargetTrackingScalingPolicyConfiguration (checked 2026-11)",
};

pub const HPA_REPLICAS: Limit = Limit {
    min: 1,
    max: 1000,
    unit: "replicas",
    aws_name: "minReplicas / maxReplicas",
    source: "autoscaling/v2 HorizontalPodAutoscaler: minReplicas >= 1 (checked 2026-11)",
};

pub const HPA_CPU_UTILIZATION: Limit = Limit {
    min: 1,
    max: 100,
    unit: "percent",
    aws_name: "averageUtilization",
    source: "autoscaling/v2 resource metric target (checked 2026-11)",
};

/// Broker scale-down is only allowed with at least this stabilization window.
pub const KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS: i64 = 600;

pub const HPA_STABILIZATION_WINDOW: Limit = Limit {
    min: KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS,
    max: 3600,
    unit: "seconds",
    aws_name: "behavior.scaleDown.stabilizationWindowSeconds",
    source: "Kubernetes caps the window at 3600 s; pipectl requires >= 600 s for brokers (checked 2026-11)",
};

pub const GP3_IOPS: Limit = Limit {
    min: 3000,
    max: 80000,
    unit: "IOPS",
    aws_name: "iops",
    source: "EBS gp3: 3,000 baseline; 16,000 max until 2025, 80,000 since (checked 2026-11)",
};

pub const GP3_THROUGHPUT: Limit = Limit {
    min: 125,
    max: 2000,
    unit: "MiB/s",
    aws_name: "throughput",
    source: "EBS gp3: 125 baseline; 1,000 max until 2025, 2,000 since (checked 2026-11)",
};

/// gp3: IOPS may be at most this many times the volume size in GiB.
pub const GP3_MAX_IOPS_PER_GIB: i64 = 500;
/// gp3: throughput (MiB/s) may be at most this fraction of the provisioned IOPS.
pub const GP3_MAX_THROUGHPUT_PER_IOPS: f64 = 0.25;

pub const GP3_VOLUME_SIZE: Limit = Limit {
    min: 1,
    max: 65536,
    unit: "GiB",
    aws_name: "size",
    source: "EBS gp3: 1 GiB to 64 TiB (checked 2026-11)",
};

/// EBS: a volume can be modified again once its previous modification is `completed`, and at
/// most this many times within a rolling 24 hours (ModifyVolume API reference, checked
/// 2026-11; until 2025 the rule was "wait at least six hours" between modifications).
pub const EBS_MODIFICATIONS_PER_VOLUME_PER_DAY: i64 = 4;

pub const PARALLEL_VOLUME_CHANGES: Limit = Limit {
    min: 1,
    max: 16,
    unit: "volumes",
    aws_name: "(pipectl setting)",
    source: "pipectl: modify a few broker volumes at once at most, so a cluster never loses much I/O headroom together",
};

pub const ALERT_FOR_MINUTES: Limit = Limit {
    min: 0,
    max: 10080,
    unit: "minutes",
    aws_name: "PrometheusRule rules[].for",
    source:
        "Prometheus rulefmt: a duration, not negative; pipectl caps it at a week (checked 2026-11)",
};

pub const ALERT_MEMORY_PERCENT: Limit = Limit {
    min: 1,
    max: 100,
    unit: "percent",
    aws_name: "working set / memory limit",
    source: "a percentage of the container's memory limit (checked 2026-11)",
};

pub const ALERT_COUNT_THRESHOLD: Limit = Limit {
    min: 0,
    max: i64::MAX,
    unit: "",
    aws_name: "alert threshold",
    source: "a count: negative thresholds would fire always (checked 2026-11)",
};

pub const KAFKA_PARTITIONS: Limit = Limit {
    min: 1,
    max: i32::MAX as i64,
    unit: "partitions",
    aws_name: "CreateTopics num_partitions (Kafka)",
    source:
        "Kafka protocol: CreateTopicsRequest.NumPartitions is an int32 above 0 (checked 2026-11)",
};

pub const KAFKA_REPLICATION_FACTOR: Limit = Limit {
    min: 1,
    max: i16::MAX as i64,
    unit: "replicas",
    aws_name: "CreateTopics replication_factor (Kafka)",
    source: "Kafka protocol: CreateTopicsRequest.ReplicationFactor is an int16 above 0, at most the live brokers (checked 2026-11)",
};

pub const KAFKA_RETENTION_MS: Limit = Limit {
    min: -1,
    max: i64::MAX,
    unit: "ms",
    aws_name: "retention.ms (Kafka topic config)",
    source: "Kafka topic configs: retention.ms is a long, at least -1 (no limit) (checked 2026-11)",
};

pub const KAFKA_MIN_INSYNC_REPLICAS: Limit = Limit {
    min: 1,
    max: i32::MAX as i64,
    unit: "replicas",
    aws_name: "min.insync.replicas (Kafka topic config)",
    source: "Kafka topic configs: min.insync.replicas is an int, at least 1 (checked 2026-11)",
};
