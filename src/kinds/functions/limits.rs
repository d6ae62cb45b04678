//! This kind's numeric limits, each with its source and the date it was last checked. AWS
//! raises some of these over time: change them here only.

use crate::spec::limits::Limit;

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
