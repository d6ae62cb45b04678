//! What a table bills (docs/cost.md): in PROVISIONED mode, read and write capacity unit-hours
//! for the table and each global secondary index (an index has its own throughput); in
//! PAY_PER_REQUEST mode, request units, which need measured usage: without it the side's
//! month is unknown and the unit prices are shown. A switch between the modes shows both.

use super::*;
use crate::plan::cost::{count, Basis, Billable, Line, Side, HOURS_PER_MONTH};

/// One side of a table: its mode, and each capacity (the table's, then its indexes') by name.
struct Throughput<'a> {
    mode: BillingMode,
    capacities: Vec<(String, Option<&'a Capacity>)>,
}

impl Throughput<'_> {
    fn side(&self) -> Side {
        match self.mode {
            BillingMode::Provisioned => {
                let mut lines = vec![];
                for (name, capacity) in &self.capacities {
                    // Provisioned without a known capacity: the side is unknown, not free.
                    let (read, write) =
                        capacity.map_or((None, None), |c| (Some(c.read), Some(c.write)));
                    let hours = |units: Option<i64>| units.map(|u| count(u * HOURS_PER_MONTH));
                    lines.push(line(
                        name,
                        "read capacity",
                        "dynamodb:rcu-hour",
                        hours(read),
                        "RCU-hours",
                    ));
                    lines.push(line(
                        name,
                        "write capacity",
                        "dynamodb:wcu-hour",
                        hours(write),
                        "WCU-hours",
                    ));
                }
                Side::fixed(lines)
            }
            BillingMode::PayPerRequest => Side {
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
            },
        }
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

/// The table's cost before (live) and after (the file's mode and capacities; a capacity the
/// file leaves out keeps the live one).
pub fn table_billable(desired: &TableDefinition, live: Option<&LiveTable>) -> Billable {
    let before = live.map(|live| Throughput {
        mode: live.billing_mode,
        capacities: std::iter::once(("table".to_string(), live.capacity.as_ref()))
            .chain(live.indexes.iter().map(|i| {
                (
                    format!("index {}", i.definition.name),
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
            "table".to_string(),
            desired
                .capacity
                .as_ref()
                .or(live.and_then(|l| l.capacity.as_ref())),
        ))
        .chain(desired.indexes.iter().map(|i| {
            (
                format!("index {}", i.name),
                i.capacity.as_ref().or(live_index(&i.name)),
            )
        }))
        .collect(),
    };
    let on_demand = desired.billing_mode == BillingMode::PayPerRequest
        || live.is_some_and(|l| l.billing_mode == BillingMode::PayPerRequest);
    Billable {
        before: before.map(|b| b.side()),
        after: Some(after.side()),
        basis: if on_demand {
            Basis::UnitPriceOnly
        } else {
            Basis::ListPrice
        },
        range: None,
    }
}
