//! What a function bills (docs/cost.md): requests and GB-seconds of its invocations, priced by
//! its architecture (x86_64 or arm64). How often it runs needs measured usage, so its month is
//! not known here; what a reservation allows at most is: `reserved_concurrency` copies running
//! all month, `reserved × memory × 730 h` GB-seconds, the ceiling.

use super::*;
use crate::plan::cost::{count, Basis, Billable, Line, Side, HOURS_PER_MONTH};

/// One side of a function: its memory, reservation and architecture.
fn side(memory_mib: i64, reserved: Option<i64>, architecture: &str) -> Side {
    let sku = format!("lambda:{architecture}:gb-second");
    match reserved {
        // The reservation bounds concurrency: that many copies busy all month at this memory.
        Some(reserved) => {
            let gb_seconds = count(reserved * memory_mib * HOURS_PER_MONTH * 3600) / count(1024);
            Side {
                lines: vec![Line::new(
                    &format!("compute at {reserved} reserved × {memory_mib} MiB, all month"),
                    &sku,
                    gb_seconds,
                    "GB-s",
                )],
                now: None,
                floor: None,
                ceiling: Some(rust_decimal::Decimal::ONE),
            }
        }
        // No reservation: the account's unreserved pool bounds it, which other functions share.
        None => Side {
            lines: vec![Line::new(
                "compute per GB-second (usage not known)",
                &sku,
                count(1),
                "GB-s",
            )],
            now: None,
            floor: None,
            ceiling: None,
        },
    }
}

/// The function's cost before (live) and after (the file's memory and reservation; what the
/// file leaves out keeps the live value).
pub fn function_billable(desired: &FunctionDefinition, live: Option<&LiveFunction>) -> Billable {
    let architecture = live
        .and_then(|l| l.architecture.clone())
        .unwrap_or_else(|| "x86_64".to_string());
    let before = live.map(|l| side(l.memory_mib, l.reserved_concurrency, &architecture));
    let memory = desired
        .memory_mib
        .or(live.map(|l| l.memory_mib))
        .unwrap_or(128);
    let reserved = match desired.reserved_concurrency {
        Some(ReservedConcurrency::Reserved(n)) => Some(n),
        Some(ReservedConcurrency::Unreserved(_)) => None,
        None => live.and_then(|l| l.reserved_concurrency),
    };
    Billable {
        before,
        after: Some(side(memory, reserved, &architecture)),
        basis: Basis::UnitPriceOnly,
        range: reserved.map(|r| format!("at most {r} reserved × {memory} MiB, {architecture}")),
    }
}
