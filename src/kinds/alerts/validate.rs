//! Offline checks of `[kafka.alerts]` and `[[alerts]]`: Prometheus's and Kubernetes' rules for names,
//! labels and durations.

use super::limits;
use super::section::*;
use crate::spec::validate::*;
use crate::spec::StackSpec;

/// The kind's offline checks.
pub fn check(spec: &StackSpec, check: &mut Checker) {
    validate_alerts(check, spec);
}

/// Returns every problem found; an empty list means the stack is valid.
/// `[[alerts]]` and `[kafka.alerts]`: what Prometheus's rule loader (rulefmt) refuses. An
/// alert name must be a valid metric name, the expression set, the duration not negative.
fn validate_alerts(check: &mut Checker, spec: &StackSpec) {
    let is_metric_name = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for (index, alert) in spec.entries::<AlertRule>().iter().enumerate() {
        let base = format!("alerts[{index}]");
        let name = alert.name.get_ref();
        if !is_metric_name(name) {
            check.error(
                alert.name.span(),
                &format!("{base}.name"),
                format!("{name:?} is not a valid alert name"),
                "Prometheus alert names are metric names: a letter, '_' or ':' first, then letters, digits, '_' and ':' (e.g. \"LambdaErrors\")",
            );
        }
        if alert.expr.trim().is_empty() {
            check.error(
                alert.name.span(),
                &format!("{base}.expr"),
                format!("alert {name:?} has an empty expr"),
                "give the PromQL expression that fires the alert, e.g. expr = \"sum(rate(errors[5m])) > 1\"",
            );
        }
        if alert.for_minutes < 0 {
            check.error(
                alert.name.span(),
                &format!("{base}.for_minutes"),
                format!("alert {name:?} has a negative for_minutes"),
                "for_minutes is how long the condition holds before the alert fires: 0 or more",
            );
        }
    }
    if let Some(alerts) = spec.section::<KafkaAlerts>() {
        check.in_range(
            &alerts.under_replicated_partitions,
            &limits::ALERT_COUNT_THRESHOLD,
            "kafka.alerts.under_replicated_partitions",
        );
        check.optional_in_range(
            &alerts.consumer_lag_records,
            &limits::ALERT_COUNT_THRESHOLD,
            "kafka.alerts.consumer_lag_records",
        );
        check.optional_in_range(
            &alerts.broker_memory_percent,
            &limits::ALERT_MEMORY_PERCENT,
            "kafka.alerts.broker_memory_percent",
        );
        check.in_range(
            &alerts.for_minutes,
            &limits::ALERT_FOR_MINUTES,
            "kafka.alerts.for_minutes",
        );
    }
    check.unique(
        spec.entries::<AlertRule>()
            .iter()
            .enumerate()
            .map(|(i, a)| (&a.name, format!("alerts[{i}].name"))),
        "alert",
    );
}
