//! What Contributor Insights bills (docs/cost.md): the CloudWatch rules DynamoDB manages for a
//! table or index, per rule-month, and the events those rules match, per million. DynamoDB
//! creates two rules for a table or index (its most accessed and its most throttled partition
//! keys) and two more when it has a sort key (DynamoDB developer guide, "CloudWatch contributor
//! insights for DynamoDB: How it works"); in `THROTTLED_KEYS` mode only the throttled keys are
//! tracked, so only their rules. A live table or index is priced by the rules
//! DescribeContributorInsights lists for it.
//!
//! Events are the reads and writes the rules see. CloudWatch publishes no count of them; the
//! month is estimated from the table's (or index's) consumed read and write capacity units, the
//! same measured usage that prices the table (a unit per read or write of a small item; larger
//! items consume more units than events, eventually consistent reads fewer), else from the
//! table's declared `usage`, else it is unknown and the unit price is shown.

use crate::kinds::tables::contributor_insights::{is_on, LiveInsights, DEFAULT_MODE};
use crate::kinds::tables::cost::consumption;
use crate::kinds::tables::section::{DynamoDbTable, TableUsage};
use crate::plan::cost::{count, Basis, Billable, Line, Side};
use crate::plan::usage::{Metric, Usage};
use crate::spec::StackSpec;

use super::InsightsDefinition;

/// Where the Price List has Contributor Insights' prices (service AmazonCloudWatch).
pub(super) const PRICE_SOURCES: &[crate::plan::cost::PriceSource] = &[
    crate::plan::cost::PriceSource::unfiltered(
        "cloudwatch:insights:dynamodb-rule",
        "AmazonCloudWatch",
        "CW:ContributorRulesManaged",
        "Rules",
    ),
    crate::plan::cost::PriceSource::unfiltered(
        "cloudwatch:insights:dynamodb-event",
        "AmazonCloudWatch",
        "CW:ContributorEventsManaged",
        "Events",
    ),
];

/// The consumed capacity of each table and index the file turns Contributor Insights on for.
pub fn usage_metrics(spec: &StackSpec) -> Vec<Metric> {
    let mut metrics = vec![];
    for table in spec.entries::<DynamoDbTable>() {
        let name = table.name.get_ref().as_str();
        let mut owners = vec![];
        if table.contributor_insights == Some(true) {
            owners.push(None);
        }
        for gsi in &table.global_secondary_indexes {
            if gsi.contributor_insights == Some(true) && !gsi.remove {
                owners.push(Some(gsi.name.get_ref().as_str()));
            }
        }
        for owner in owners {
            for consumed in ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"] {
                metrics.push(consumption(name, owner, consumed));
            }
        }
    }
    metrics
}

/// The rules DynamoDB keeps for a table or index in `mode`.
pub fn rules_for(mode: Option<&str>, sort_key: bool) -> i64 {
    let per_key = if mode == Some("THROTTLED_KEYS") { 1 } else { 2 };
    if sort_key {
        per_key * 2
    } else {
        per_key
    }
}

/// Where a month of events comes from.
#[derive(Clone, Copy)]
pub struct EventSources<'a> {
    pub measured: Option<&'a Usage>,
    /// The table's `usage` (only for the table's own insights: an index declares none).
    pub declared: Option<&'a TableUsage>,
}

/// Events a month, and the basis they are on; `None` when not known.
fn monthly_events(
    wanted: &InsightsDefinition,
    sources: EventSources<'_>,
) -> Option<(rust_decimal::Decimal, Basis)> {
    if let Some(usage) = sources.measured {
        let table_known = usage
            .monthly(&consumption(
                &wanted.table,
                None,
                "ConsumedWriteCapacityUnits",
            ))
            .is_some();
        if table_known {
            let index = wanted.index.as_deref();
            // An index with no data yet consumed nothing; the table's own is known.
            let events: rust_decimal::Decimal =
                ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"]
                    .iter()
                    .map(|metric| {
                        usage
                            .monthly(&consumption(&wanted.table, index, metric))
                            .unwrap_or_default()
                    })
                    .sum();
            return Some((events.round_dp(0), Basis::Measured(usage.basis())));
        }
    }
    match (sources.declared, &wanted.index) {
        (Some(declared), None) => Some((
            count(declared.reads_per_month + declared.writes_per_month),
            Basis::Declared,
        )),
        _ => None,
    }
}

/// One side: nothing when off; else its rules and the month's events (unknown without usage).
fn side(enabled: bool, rules: i64, events: Option<rust_decimal::Decimal>) -> Side {
    if !enabled {
        return Side::fixed(vec![]);
    }
    let rules = Line::new(
        "Contributor Insights rules",
        "cloudwatch:insights:dynamodb-rule",
        count(rules),
        "rule-months",
    );
    match events {
        Some(events) => Side::fixed(vec![
            rules,
            Line::new(
                "events the rules match",
                "cloudwatch:insights:dynamodb-event",
                events,
                "events",
            ),
        ]),
        None => Side {
            lines: vec![
                rules,
                Line::new(
                    "events the rules match (usage not known)",
                    "cloudwatch:insights:dynamodb-event",
                    count(1_000_000),
                    "million events",
                ),
            ],
            now: None,
            floor: None,
            ceiling: None,
            ceiling_lines: None,
        },
    }
}

/// Contributor Insights' cost before (live) and after (the file): `sort_key` says whether the
/// table or index has one (two more rules).
pub fn insights_billable(
    wanted: &InsightsDefinition,
    live: Option<&LiveInsights>,
    sort_key: bool,
    sources: EventSources<'_>,
) -> Billable {
    let measured = monthly_events(wanted, sources);
    let events = measured.as_ref().map(|(events, _)| *events);
    let before = live.map(|live| {
        let on = is_on(&live.status);
        // The rules DynamoDB lists are what it bills; while enabling, none are listed yet.
        let rules = if live.rules > 0 {
            live.rules
        } else {
            rules_for(Some(live.mode.as_deref().unwrap_or(DEFAULT_MODE)), sort_key)
        };
        side(on, rules, events)
    });
    let after = side(
        wanted.enabled,
        rules_for(wanted.mode.as_deref(), sort_key),
        events,
    );
    let any_on = wanted.enabled || live.is_some_and(|l| is_on(&l.status));
    Billable {
        before,
        after: Some(after),
        basis: match (any_on, measured) {
            (false, _) => Basis::ListPrice,
            (true, Some((_, basis))) => basis,
            (true, None) => Basis::UnitPriceOnly,
        },
        range: None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;
    use crate::plan::cost::{Money, PriceBook};

    fn money(text: &str) -> Option<Money> {
        Some(Money(Decimal::from_str(text).expect("decimal")))
    }

    fn wanted(index: Option<&str>, enabled: bool, mode: Option<&str>) -> InsightsDefinition {
        InsightsDefinition {
            table: "Logs".into(),
            index: index.map(str::to_string),
            enabled,
            mode: mode.map(str::to_string),
        }
    }

    fn live(status: &str, rules: i64) -> LiveInsights {
        LiveInsights {
            status: status.into(),
            failure: None,
            mode: None,
            rules,
        }
    }

    /// 14 days of the table's consumed units: 500,000 a day, 15,208,333 a 730-hour month.
    fn measured() -> Usage {
        let day = |metric: &str, value: i64| {
            (consumption("Logs", None, metric), Decimal::from(value * 14))
        };
        Usage {
            days: 14,
            until: "2026-12-06".into(),
            sums: BTreeMap::from([
                day("ConsumedReadCapacityUnits", 200_000),
                day("ConsumedWriteCapacityUnits", 300_000),
            ]),
        }
    }

    fn priced(billable: &Billable) -> (Option<Money>, Option<Money>) {
        let cost = PriceBook::builtin("us-east-1", None)
            .expect("book")
            .price(billable);
        (cost.monthly_before, cost.monthly_after)
    }

    #[test]
    fn rules_are_two_per_key_and_one_when_only_throttled_keys_are_tracked() {
        assert_eq!(rules_for(None, false), 2);
        assert_eq!(rules_for(Some(DEFAULT_MODE), true), 4);
        assert_eq!(rules_for(Some("THROTTLED_KEYS"), false), 1);
        assert_eq!(rules_for(Some("THROTTLED_KEYS"), true), 2);
    }

    #[test]
    fn enabling_costs_its_rules_and_the_events_they_match() {
        let usage = measured();
        let sources = EventSources {
            measured: Some(&usage),
            declared: None,
        };
        // A table with a sort key: 4 rules × $0.50, and 15,208,333 events × $0.03 per million
        // = $0.45625.
        let billable = insights_billable(
            &wanted(None, true, Some(DEFAULT_MODE)),
            Some(&live("DISABLED", 0)),
            true,
            sources,
        );
        assert_eq!(priced(&billable), (money("0.00"), money("2.46")));
        assert_eq!(billable.basis, Basis::Measured(usage.basis()));
        // Turning it off saves what DynamoDB lists: 2 rules here.
        let off = insights_billable(
            &wanted(None, false, None),
            Some(&live("ENABLED", 2)),
            true,
            sources,
        );
        assert_eq!(priced(&off), (money("1.46"), money("0.00")));
        // An index with no data of its own yet matched no event: its 2 rules.
        let index = insights_billable(
            &wanted(Some("ByScore"), true, None),
            Some(&live("DISABLED", 0)),
            false,
            sources,
        );
        assert_eq!(priced(&index).1, money("1.00"));
    }

    #[test]
    fn events_come_from_declared_use_else_they_are_not_known() {
        let declared = TableUsage {
            reads_per_month: 10_000_000,
            writes_per_month: 5_000_000,
        };
        let from_file = insights_billable(
            &wanted(None, true, Some("THROTTLED_KEYS")),
            None,
            false,
            EventSources {
                measured: None,
                declared: Some(&declared),
            },
        );
        // 1 rule × $0.50 and 15,000,000 events × $0.03 per million.
        assert_eq!(priced(&from_file), (None, money("0.95")));
        assert_eq!(from_file.basis, Basis::Declared);
        let unknown = insights_billable(
            &wanted(None, true, None),
            Some(&live("DISABLED", 0)),
            false,
            EventSources {
                measured: None,
                declared: None,
            },
        );
        assert_eq!(priced(&unknown), (money("0.00"), None));
        assert_eq!(unknown.basis, Basis::UnitPriceOnly);
    }
}
