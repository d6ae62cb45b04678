//! `[kafka.alerts]` and `[[alerts]]`: this kind's part of the stack file.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::spec::Section;

/// `[kafka.alerts]`: the seed article's metrics to alert on, with their thresholds, written as a
/// PrometheusRule (and a Grafana dashboard) in the brokers' namespace.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaAlerts {
    /// Alert when more partitions than this are under-replicated (default 0).
    #[serde(default = "zero")]
    #[schemars(with = "i64")]
    pub under_replicated_partitions: Spanned<i64>,
    /// Alert when the Lambda consumers' groups lag by more records than this.
    #[schemars(with = "Option<i64>")]
    pub consumer_lag_records: Option<Spanned<i64>>,
    /// Alert when a broker uses more than this percentage of its memory limit.
    #[schemars(with = "Option<i64>")]
    pub broker_memory_percent: Option<Spanned<i64>>,
    /// How long a condition must hold before it fires (default 5).
    #[serde(default = "default_alert_minutes_spanned")]
    #[schemars(with = "i64")]
    pub for_minutes: Spanned<i64>,
    /// Labels of the PrometheusRule object (with `[[alerts]]`' rules too), so a Prometheus
    /// selects it: kube-prometheus-stack's selects `release = "<helm release>"`.
    #[serde(default = "no_labels")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub rule_labels: Spanned<BTreeMap<String, String>>,
}

fn no_labels() -> Spanned<BTreeMap<String, String>> {
    Spanned::new(0..0, BTreeMap::new())
}

fn zero() -> Spanned<i64> {
    Spanned::new(0..0, 0)
}

fn default_alert_minutes_spanned() -> Spanned<i64> {
    Spanned::new(0..0, default_alert_minutes())
}

fn default_alert_minutes() -> i64 {
    5
}

/// `[[alerts]]`: an alert rule of your own (PromQL).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// PromQL, parsed offline as Prometheus's rule loader does.
    #[schemars(with = "String")]
    pub expr: Spanned<String>,
    #[serde(default = "default_alert_minutes")]
    pub for_minutes: i64,
    /// The `severity` label (a Go template, as every rule label is).
    #[serde(default = "default_severity")]
    #[schemars(with = "String")]
    pub severity: Spanned<String>,
    /// The `summary` annotation (a Go template: `{{ $labels.pod }}`, `{{ $value }}`).
    #[schemars(with = "Option<String>")]
    pub summary: Option<Spanned<String>>,
}

fn default_severity() -> Spanned<String> {
    Spanned::new(0..0, "warning".to_string())
}
impl Section for KafkaAlerts {
    const PATH: &'static [&'static str] = &["kafka", "alerts"];
}

impl Section for AlertRule {
    const PATH: &'static [&'static str] = &["alerts"];
    const LIST: bool = true;
    const DESCRIPTION: &'static str =
        "Alert rules of your own, written with `[kafka.alerts]`'s into one PrometheusRule.";
}
