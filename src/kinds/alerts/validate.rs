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
    for (index, alert) in spec.entries::<AlertRule>().iter().enumerate() {
        validate_alert(check, alert, &format!("alerts[{index}]"));
    }
    if let Some(alerts) = spec.section::<KafkaAlerts>() {
        validate_kafka_alerts(check, alerts);
    }
    check.unique(
        spec.entries::<AlertRule>()
            .iter()
            .enumerate()
            .map(|(i, a)| (&a.name, format!("alerts[{i}].name"))),
        "alert",
    );
}

/// Prometheus's metric name rule, which alert names follow.
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// One `[[alerts]]` rule: its name, its PromQL, its templates, its duration.
fn validate_alert(check: &mut Checker, alert: &AlertRule, base: &str) {
    let name = alert.name.get_ref();
    if !is_metric_name(name) {
        check.error(
            alert.name.span(),
            &format!("{base}.name"),
            format!("{name:?} is not a valid alert name"),
            "Prometheus alert names are metric names: a letter, '_' or ':' first, then letters, digits, '_' and ':' (e.g. \"LambdaErrors\")",
        );
    }
    if alert.expr.get_ref().trim().is_empty() {
        check.error(
            alert.expr.span(),
            &format!("{base}.expr"),
            format!("alert {name:?} has an empty expr"),
            "give the PromQL expression that fires the alert, e.g. expr = \"sum(rate(errors[5m])) > 1\"",
        );
    } else if let Err(problem) = promql_parser::parser::parse(alert.expr.get_ref()) {
        check.error(
            alert.expr.span(),
            &format!("{base}.expr"),
            format!(
                "alert {name:?}: expr is not PromQL Prometheus can load: {}",
                problem.trim()
            ),
            "fix the expression: Prometheus parses every rule's expr when it loads the group, and one bad rule stops every rule of the file reloading (`promtool check rules` reports the same)",
        );
    }
    let templates = [
        ("severity", Some(&alert.severity)),
        ("summary", alert.summary.as_ref()),
    ];
    for (key, text) in templates {
        let Some(text) = text else { continue };
        if let Some(problem) = template_problem(text.get_ref()) {
            check.error(
                text.span(),
                &format!("{base}.{key}"),
                format!("alert {name:?}: {key} is not a Go template Prometheus can parse: {problem}"),
                "rule labels and annotations are Go templates: close each {{ with }}, or write {{ `{{` }} for a literal brace pair",
            );
        }
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

/// `[kafka.alerts]`: its thresholds and the rule's labels.
fn validate_kafka_alerts(check: &mut Checker, alerts: &KafkaAlerts) {
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
    validate_rule_labels(check, &alerts.rule_labels);
}

/// The PrometheusRule's object labels are Kubernetes labels (apimachinery
/// `IsQualifiedName`/`IsValidLabelValue`); the pipectl labels are its own.
fn validate_rule_labels(
    check: &mut Checker,
    labels: &toml::Spanned<std::collections::BTreeMap<String, String>>,
) {
    for (key, value) in labels.get_ref() {
        let field = format!("kafka.alerts.rule_labels.{key}");
        if !kubernetes_label_key(key) {
            check.error(
                labels.span(),
                &field,
                format!("{key:?} is not a Kubernetes label key"),
                "a label key is an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (e.g. release)",
            );
        } else if key == "app.kubernetes.io/managed-by" || key == crate::plan::STACK_LABEL {
            check.error(
                labels.span(),
                &field,
                format!("{key} is set by pipectl"),
                "remove it: pipectl labels the rule with its manager and its stack",
            );
        }
        if !kubernetes_label_value(value) {
            check.error(
                labels.span(),
                &field,
                format!("{value:?} is not a Kubernetes label value"),
                "a label value is empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            );
        }
    }
}

/// What Go's text/template parser refuses that can be seen without it: an action `{{` left
/// open, an empty action, and an unterminated string or unbalanced parenthesis inside one.
/// Prometheus parses every rule label and annotation as a template when it loads the rules.
fn template_problem(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Some("unclosed action (a {{ without }})".to_string());
        };
        let action = after[..close]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        if action.is_empty() {
            return Some("missing value for command (an empty {{ }})".to_string());
        }
        if let Some(problem) = action_problem(action) {
            return Some(problem);
        }
        rest = &after[close + 2..];
    }
    None
}

fn action_problem(action: &str) -> Option<String> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in action.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '`' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return Some(format!("unexpected \")\" in {{{{{action}}}}}"));
                    }
                }
                _ => {}
            },
        }
    }
    if quote.is_some() {
        return Some(format!("unterminated quoted string in {{{{{action}}}}}"));
    }
    (depth > 0).then(|| format!("unclosed left paren in {{{{{action}}}}}"))
}

#[cfg(test)]
mod tests {
    use super::template_problem;

    #[test]
    fn go_template_actions_must_close_and_hold_something() {
        assert_eq!(
            template_problem("Lag {{ $value }} on {{ $labels.consumergroup }}"),
            None
        );
        assert_eq!(template_problem("plain text }} and more"), None);
        assert_eq!(template_problem("{{ printf \"%.0f\" $value }}"), None);
        assert!(template_problem("Lag {{ $value ").is_some());
        assert!(template_problem("{{ }}").is_some());
        assert!(template_problem("{{ printf \"%.0f $value }}").is_some());
        assert!(template_problem("{{ (humanize $value }}").is_some());
    }
}
