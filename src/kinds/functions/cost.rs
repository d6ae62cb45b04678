//! What a function bills (docs/cost.md): requests and GB-seconds of its invocations, priced by
//! its architecture (x86_64 or arm64). Its month comes from measured usage (CloudWatch
//! `Invocations` and `Duration` summed over the usage window): requests, and the duration's
//! GB-seconds at the side's memory (the same work at another memory is assumed to take as
//! long). Without usage the month is unknown. The floor is $0 (no invocation, no charge); the
//! ceiling is what a reservation allows: `reserved_concurrency` copies busy all month.

use super::*;
use crate::plan::cost::{count, Basis, Billable, Line, PriceSource, Side, HOURS_PER_MONTH};
use crate::plan::usage::{Metric, Usage};

/// Where the Price List has the functions' prices. Arm's usage type is its own
/// (`Lambda-GB-Second-ARM`), in the same unit.
pub(super) const PRICE_SOURCES: &[PriceSource] = &[
    PriceSource::unfiltered(
        "lambda:x86_64:gb-second",
        LAMBDA,
        "Lambda-GB-Second",
        "Lambda-GB-Second",
    ),
    PriceSource::unfiltered(
        "lambda:arm64:gb-second",
        LAMBDA,
        "Lambda-GB-Second-ARM",
        "Lambda-GB-Second",
    ),
    PriceSource::unfiltered("lambda:requests", LAMBDA, "Request", "Requests"),
];

/// The Price List's service code for Lambda.
const LAMBDA: &str = "AWSLambda";

const NAMESPACE: &str = "AWS/Lambda";

/// The metrics a function's month needs: its invocations and their total duration (ms).
pub fn usage_metrics(spec: &crate::spec::StackSpec) -> Vec<Metric> {
    spec.entries::<section::LambdaFunction>()
        .iter()
        .flat_map(|f| {
            let name = f.name.get_ref().as_str();
            [
                Metric::new(NAMESPACE, "Invocations", &[("FunctionName", name)]),
                Metric::new(NAMESPACE, "Duration", &[("FunctionName", name)]),
            ]
        })
        .collect()
}

/// A month of measured use: invocations and milliseconds, projected.
struct Measured {
    invocations: rust_decimal::Decimal,
    milliseconds: rust_decimal::Decimal,
}

fn measured(name: &str, usage: Option<&Usage>) -> Option<Measured> {
    let usage = usage?;
    let metric = |metric: &str| Metric::new(NAMESPACE, metric, &[("FunctionName", name)]);
    // Both are needed: invocations without their duration would price compute as $0.
    Some(Measured {
        invocations: usage.monthly(&metric("Invocations"))?,
        milliseconds: usage.monthly(&metric("Duration"))?,
    })
}

/// The file's `usage = {...}`, as a month of use.
fn declared(usage: Option<&section::FunctionUsage>) -> Option<Measured> {
    let usage = usage?;
    Some(Measured {
        invocations: count(usage.invocations_per_month),
        milliseconds: count(usage.invocations_per_month) * count(usage.average_duration_ms),
    })
}

/// One side of a function: its memory, reservation and architecture, and its measured use.
fn side(
    memory_mib: i64,
    reserved: Option<i64>,
    architecture: &str,
    used: Option<&Measured>,
) -> Side {
    let sku = format!("lambda:{architecture}:gb-second");
    let memory_gb = count(memory_mib) / count(1024);
    let lines = match used {
        Some(used) => vec![
            Line::new(
                "requests",
                "lambda:requests",
                used.invocations.round_dp(0),
                "requests",
            ),
            Line::new(
                &format!("compute at {memory_mib} MiB"),
                &sku,
                (used.milliseconds / count(1000) * memory_gb).round_dp(3),
                "GB-s",
            ),
        ],
        None => vec![Line::new(
            "compute per GB-second (usage not known)",
            &sku,
            count(1),
            "GB-s",
        )],
    };
    // The reservation bounds concurrency: that many copies busy all month at this memory.
    let ceiling_lines = reserved.map(|reserved| {
        vec![Line::new(
            &format!("compute at {reserved} reserved × {memory_mib} MiB, all month"),
            &sku,
            count(reserved * HOURS_PER_MONTH * 3600) * memory_gb,
            "GB-s",
        )]
    });
    Side {
        lines,
        now: used.map(|_| rust_decimal::Decimal::ONE),
        floor: Some(rust_decimal::Decimal::ZERO),
        ceiling: reserved.map(|_| rust_decimal::Decimal::ONE),
        ceiling_lines,
    }
}

/// The function's cost before (live) and after (the file's memory and reservation; what the
/// file leaves out keeps the live value).
/// Measured use first; without it, the file's declared use.
pub fn function_billable(
    desired: &FunctionDefinition,
    live: Option<&LiveFunction>,
    usage: Option<&Usage>,
    declared_usage: Option<&section::FunctionUsage>,
) -> Billable {
    let architecture = live
        .and_then(|l| l.architecture.clone())
        .unwrap_or_else(|| "x86_64".to_string());
    let measured_use = measured(&desired.name, usage);
    let basis = match (&measured_use, usage, declared_usage) {
        (Some(_), Some(usage), _) => Basis::Measured(usage.basis()),
        (None, _, Some(_)) => Basis::Declared,
        _ => Basis::UnitPriceOnly,
    };
    let used = measured_use.or_else(|| declared(declared_usage));
    let before = live.map(|l| {
        side(
            l.memory_mib,
            l.reserved_concurrency,
            &architecture,
            used.as_ref(),
        )
    });
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
        after: Some(side(memory, reserved, &architecture, used.as_ref())),
        basis,
        range: reserved.map(|r| format!("at most {r} reserved × {memory} MiB, {architecture}")),
    }
}

/// Event pollers an EPU runs by default: a mapping's minimum pollers are provisioned as EPUs at
/// this density (Lambda developer guide, Kafka "Cost Optimization for Provisioned mode").
const POLLERS_PER_EPU: i64 = 10;
/// Pollers an EPU holds when each polls at its most, 5 MB/s, of the EPU's 20 MB/s (the same
/// page): busy pollers need more EPUs.
const BUSY_POLLERS_PER_EPU: i64 = 4;

/// What a Kafka mapping in provisioned mode bills: Event Poller Unit-hours. Provisioned mode
/// bills the minimum pollers all month, provisioned as EPUs of 10 pollers, and the EPUs
/// autoscaling adds: at most the maximum pollers at 4 an EPU when each polls at 5 MB/s.
/// On-demand polling has no poller charge. `None` when neither side polls in provisioned mode.
pub fn trigger_billable(
    desired: Option<&TriggerDefinition>,
    live: &[LiveMapping],
) -> Option<Billable> {
    let current = desired.and_then(|d| {
        live.iter()
            .find(|m| m.source == d.source && m.topics == [d.topic.clone()])
    });
    let before = current.map(|m| pollers_side(m.pollers));
    // A bound the file leaves out keeps the live one (the trigger's diff does the same); AWS's
    // defaults (1 and 200) where neither says.
    let wanted = desired.and_then(|d| {
        let live = current.and_then(|m| m.pollers);
        (d.minimum_pollers.is_some() || d.maximum_pollers.is_some() || live.is_some()).then(|| {
            (
                d.minimum_pollers.or(live.map(|p| p.0)).unwrap_or(1),
                d.maximum_pollers.or(live.map(|p| p.1)).unwrap_or(200),
            )
        })
    });
    let after = desired.map(|_| pollers_side(wanted));
    if wanted.is_none() && current.and_then(|m| m.pollers).is_none() {
        return None;
    }
    let range = wanted.map(|(min, max)| {
        format!(
            "min {min} .. max {max} pollers: {} .. {} EPU",
            epus(min, POLLERS_PER_EPU),
            epus(max, BUSY_POLLERS_PER_EPU)
        )
    });
    Some(Billable {
        before,
        after,
        basis: Basis::ListPrice,
        range,
    })
}

fn epus(pollers: i64, per_epu: i64) -> i64 {
    (pollers.max(0) + per_epu - 1) / per_epu
}

/// One side: an EPU-month per EPU, the minimum's EPUs now and at the floor, the busy maximum's
/// at the ceiling; nothing in on-demand mode.
fn pollers_side(pollers: Option<(i64, i64)>) -> Side {
    match pollers {
        None => Side::fixed(vec![]),
        Some((min, max)) => Side::scaled(
            vec![Line::new(
                "event poller unit",
                "lambda:epu-hour",
                count(HOURS_PER_MONTH),
                "EPU-hours",
            )],
            epus(min, POLLERS_PER_EPU),
            epus(min, POLLERS_PER_EPU),
            epus(max, BUSY_POLLERS_PER_EPU),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Invocations without their duration are not a month of use: compute would be $0.
    #[test]
    fn a_month_needs_both_invocations_and_duration() {
        let invocations = Metric::new(NAMESPACE, "Invocations", &[("FunctionName", "f")]);
        let duration = Metric::new(NAMESPACE, "Duration", &[("FunctionName", "f")]);
        let mut usage = Usage {
            days: 14,
            until: "2026-12-05".into(),
            sums: std::collections::BTreeMap::from([(invocations, count(1_400_000))]),
        };
        assert!(measured("f", Some(&usage)).is_none());
        usage.sums.insert(duration, count(1_400_000 * 100));
        let used = measured("f", Some(&usage)).expect("both metrics");
        assert_eq!(used.milliseconds, used.invocations * count(100));
    }
}
