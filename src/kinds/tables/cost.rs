//! What a table bills (docs/cost.md): in PROVISIONED mode, read and write capacity unit-hours
//! for the table and each global secondary index (an index has its own throughput); in
//! PAY_PER_REQUEST mode, request units from measured usage (CloudWatch
//! `ConsumedReadCapacityUnits`/`ConsumedWriteCapacityUnits` of the table and of each index,
//! which on-demand bills as read and write request units). Without usage the on-demand month
//! is unknown and the unit prices are shown. A switch between the modes shows both sides: the
//! break-even a reviewer of `--billing-mode PAY_PER_REQUEST` wants.

use super::*;
use crate::plan::cost::{count, Basis, Billable, Line, PriceSource, Side, HOURS_PER_MONTH};
use crate::plan::usage::{Metric, Usage};

/// Where the Price List has the tables' prices.
pub(super) const PRICE_SOURCES: &[PriceSource] = &[
    PriceSource::unfiltered(
        "dynamodb:rcu-hour",
        DYNAMODB,
        "ReadCapacityUnit-Hrs",
        "ReadCapacityUnit-Hrs",
    ),
    PriceSource::unfiltered(
        "dynamodb:wcu-hour",
        DYNAMODB,
        "WriteCapacityUnit-Hrs",
        "WriteCapacityUnit-Hrs",
    ),
    PriceSource::unfiltered(
        "dynamodb:storage",
        DYNAMODB,
        "TimedStorage-ByteHrs",
        "GB-Mo",
    ),
    PriceSource::unfiltered(
        "dynamodb:read-request",
        DYNAMODB,
        "ReadRequestUnits",
        "ReadRequestUnits",
    ),
    PriceSource::unfiltered(
        "dynamodb:write-request",
        DYNAMODB,
        "WriteRequestUnits",
        "WriteRequestUnits",
    ),
];

/// The Price List's service code for DynamoDB.
const DYNAMODB: &str = "AmazonDynamoDB";

const NAMESPACE: &str = "AWS/DynamoDB";

/// The consumed capacity of each table and of each of its indexes.
pub fn usage_metrics(spec: &crate::spec::StackSpec) -> Vec<Metric> {
    let mut metrics = vec![];
    for table in spec.entries::<section::DynamoDbTable>() {
        let name = table.name.get_ref().as_str();
        let indexes: Vec<String> = table
            .global_secondary_indexes
            .iter()
            .map(|i| i.name.get_ref().clone())
            .collect();
        for owner in std::iter::once(None).chain(indexes.iter().map(Some)) {
            for consumed in ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"] {
                metrics.push(consumption(name, owner.map(String::as_str), consumed));
            }
        }
    }
    metrics
}

/// A table's (or an index's) consumed capacity metric, as CloudWatch keys it.
pub fn consumption(table: &str, index: Option<&str>, metric: &str) -> Metric {
    match index {
        Some(index) => Metric::new(
            NAMESPACE,
            metric,
            &[("TableName", table), ("GlobalSecondaryIndexName", index)],
        ),
        None => Metric::new(NAMESPACE, metric, &[("TableName", table)]),
    }
}

/// One side of a table: its mode, and each capacity (the table's, then its indexes') by name.
struct Throughput<'a> {
    mode: BillingMode,
    capacities: Vec<(Option<String>, Option<&'a Capacity>)>,
}

/// Where an on-demand month comes from: measured consumption, else the file's declared use.
#[derive(Clone, Copy)]
struct UseSources<'a> {
    measured: Option<&'a Usage>,
    declared: Option<&'a section::TableUsage>,
}

impl Throughput<'_> {
    fn side(&self, table: &str, sources: UseSources<'_>) -> Side {
        match self.mode {
            BillingMode::Provisioned => {
                let mut lines = vec![];
                for (index, capacity) in &self.capacities {
                    let owner = owner(index);
                    // Provisioned without a known capacity: the side is unknown, not free.
                    let (read, write) =
                        capacity.map_or((None, None), |c| (Some(c.read), Some(c.write)));
                    let hours = |units: Option<i64>| units.map(|u| count(u * HOURS_PER_MONTH));
                    lines.push(line(
                        &owner,
                        "read capacity",
                        "dynamodb:rcu-hour",
                        hours(read),
                        "RCU-hours",
                    ));
                    lines.push(line(
                        &owner,
                        "write capacity",
                        "dynamodb:wcu-hour",
                        hours(write),
                        "WCU-hours",
                    ));
                }
                Side::fixed(lines)
            }
            BillingMode::PayPerRequest => self.on_demand(table, sources),
        }
    }

    /// Request units a month from measured consumption, else from the file's declared use;
    /// unknown without either.
    fn on_demand(&self, table: &str, sources: UseSources<'_>) -> Side {
        let declared = sources.declared.map(|declared| {
            vec![
                Line::new(
                    "read request units (declared)",
                    "dynamodb:read-request",
                    count(declared.reads_per_month),
                    "RRU",
                ),
                Line::new(
                    "write request units (declared)",
                    "dynamodb:write-request",
                    count(declared.writes_per_month),
                    "WRU",
                ),
            ]
        });
        let measured = sources.measured.and_then(|usage| {
            let mut lines = vec![];
            for (index, _) in &self.capacities {
                let owner = owner(index);
                for (metric, what, sku, unit) in [
                    (
                        "ConsumedReadCapacityUnits",
                        "read request units",
                        "dynamodb:read-request",
                        "RRU",
                    ),
                    (
                        "ConsumedWriteCapacityUnits",
                        "write request units",
                        "dynamodb:write-request",
                        "WRU",
                    ),
                ] {
                    let monthly = usage.monthly(&consumption(table, index.as_deref(), metric));
                    // An index with no data yet consumed nothing; the table's own must be known.
                    let monthly = match (monthly, index) {
                        (Some(m), _) => m,
                        (None, Some(_)) => rust_decimal::Decimal::ZERO,
                        (None, None) => return None,
                    };
                    lines.push(Line::new(
                        &format!("{owner} {what}"),
                        sku,
                        monthly.round_dp(0),
                        unit,
                    ));
                }
            }
            Some(lines)
        });
        match measured.or(declared) {
            Some(lines) => Side::fixed(lines),
            None => Side {
                lines: vec![
                    Line::new(
                        "read request units (usage not known)",
                        "dynamodb:read-request",
                        count(1_000_000),
                        "million RRU",
                    ),
                    Line::new(
                        "write request units (usage not known)",
                        "dynamodb:write-request",
                        count(1_000_000),
                        "million WRU",
                    ),
                ],
                now: None,
                floor: None,
                ceiling: None,
                ceiling_lines: None,
            },
        }
    }
}

fn owner(index: &Option<String>) -> String {
    match index {
        Some(index) => format!("index {index}"),
        None => "table".to_string(),
    }
}

/// A capacity line; an unknown quantity gets a SKU no book prices, so it stays unknown.
fn line(
    owner: &str,
    what: &str,
    sku: &str,
    quantity: Option<rust_decimal::Decimal>,
    unit: &str,
) -> Line {
    match quantity {
        Some(quantity) => Line::new(&format!("{owner} {what}"), sku, quantity, unit),
        None => Line::new(
            &format!("{owner} {what} (not known)"),
            "unknown",
            count(0),
            unit,
        ),
    }
}

/// The table's storage, GB-months of its `TableSizeBytes` (a GB of 2^30 bytes), by table class
/// (STANDARD priced; STANDARD_INFREQUENT_ACCESS has its own price, not in the book: unknown). A
/// table the plan creates starts empty.
fn storage_line(live: Option<&LiveTable>) -> Line {
    let (bytes, standard) = live.and_then(|l| l.storage).unwrap_or((0, true));
    let gb = (count(bytes) / count(1 << 30)).round_dp(3);
    let sku = if standard {
        "dynamodb:storage"
    } else {
        "dynamodb:storage-infrequent-access"
    };
    Line::new("table storage", sku, gb, "GB-Mo")
}

/// A side with the table's storage added to what its throughput bills.
fn with_storage(mut side: Side, live: Option<&LiveTable>) -> Side {
    side.lines.push(storage_line(live));
    side
}

/// The table's cost before (live) and after (the file's mode and capacities; a capacity the
/// file leaves out keeps the live one).
pub fn table_billable(
    desired: &TableDefinition,
    live: Option<&LiveTable>,
    usage: Option<&Usage>,
    declared: Option<&section::TableUsage>,
) -> Billable {
    let sources = UseSources {
        measured: usage,
        declared,
    };
    let before = live.map(|live| Throughput {
        mode: live.billing_mode,
        capacities: std::iter::once((None, live.capacity.as_ref()))
            .chain(live.indexes.iter().map(|i| {
                (
                    Some(i.definition.name.clone()),
                    i.definition.capacity.as_ref(),
                )
            }))
            .collect(),
    });
    let live_index = |name: &str| {
        live.and_then(|l| l.indexes.iter().find(|i| i.definition.name == name))
            .and_then(|i| i.definition.capacity.as_ref())
    };
    let after = Throughput {
        mode: desired.billing_mode,
        capacities: std::iter::once((
            None,
            desired
                .capacity
                .as_ref()
                .or(live.and_then(|l| l.capacity.as_ref())),
        ))
        .chain(desired.indexes.iter().map(|i| {
            (
                Some(i.name.clone()),
                i.capacity.as_ref().or(live_index(&i.name)),
            )
        }))
        .collect(),
    };
    let on_demand = desired.billing_mode == BillingMode::PayPerRequest
        || live.is_some_and(|l| l.billing_mode == BillingMode::PayPerRequest);
    let measured = usage.filter(|u| {
        on_demand
            && u.monthly(&consumption(
                &desired.name,
                None,
                "ConsumedWriteCapacityUnits",
            ))
            .is_some()
    });
    Billable {
        before: before.map(|b| with_storage(b.side(&desired.name, sources), live)),
        after: Some(with_storage(after.side(&desired.name, sources), live)),
        basis: match (on_demand, measured, declared) {
            (false, _, _) => Basis::ListPrice,
            (true, Some(usage), _) => Basis::Measured(usage.basis()),
            (true, None, Some(_)) => Basis::Declared,
            (true, None, None) => Basis::UnitPriceOnly,
        },
        range: None,
    }
}
