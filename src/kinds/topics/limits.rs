//! This kind's numeric limits, each with its source and the date it was last checked. AWS
//! raises some of these over time: change them here only.

use crate::spec::limits::Limit;

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
