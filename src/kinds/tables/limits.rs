//! This kind's numeric limits, each with its source and the date it was last checked. AWS
//! raises some of these over time: change them here only.

use crate::spec::limits::Limit;

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
