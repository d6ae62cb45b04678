//! Alerts on the metrics the seed article names (`[kafka.alerts]`, `[[alerts]]`): one
//! PrometheusRule (monitoring.coreos.com/v1, the Prometheus Operator's CRD) in the brokers'
//! namespace, and a Grafana dashboard as a ConfigMap labelled for Grafana's sidecar. Both by
//! server-side apply under the `pipectl` field manager. A cluster that does not serve
//! PrometheusRule gets no rule and a plan note saying so.

pub mod import;
pub mod limits;
mod permissions;
pub mod section;
mod selection;
mod validate;
use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::kinds::brokers::section::KafkaBrokers;
use crate::kinds::functions::section::LambdaFunction;
use crate::kinds::kind::{KindPlan, PlanContext, TypedKind};
use crate::plan::{
    ignored_fields, stamped, Action, Change, FieldDiff, PlanError, ResourceId, ResourceKind, Step,
};
use crate::progress::StepProgress;
use crate::providers::eks::{describe_kube_error, namespace_of, server_side_apply, Cluster};
use crate::providers::Clients;
use crate::spec::StackSpec;
use section::{AlertRule, KafkaAlerts};

/// The kind of `eks.prometheus_rule.NS/NAME` resource ids.
/// The Kubernetes calls of the alerts' steps, as plan steps list them.
pub const APPLY_RULE: &str = "kubernetes:apply monitoring.coreos.com/v1 prometheusrules";
pub const DELETE_RULE: &str = "kubernetes:delete monitoring.coreos.com/v1 prometheusrules";
pub const APPLY_DASHBOARD: &str = "kubernetes:apply v1 configmaps";
pub const DELETE_DASHBOARD: &str = "kubernetes:delete v1 configmaps";

pub const RULE: ResourceKind = ResourceKind::named("eks.prometheus_rule");
/// The kind of `eks.dashboard.NS/NAME` resource ids (the Grafana ConfigMap).
pub const DASHBOARD: ResourceKind = ResourceKind::named("eks.dashboard");

/// The label Grafana's dashboard sidecar watches for (its chart's default).
const GRAFANA_LABEL: &str = "grafana_dashboard";

/// The alert rules and their dashboard.
pub struct Alerts;
pub static ALERTS: Alerts = Alerts;

/// One alert rule as the PrometheusRule holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rule {
    pub alert: String,
    pub expr: String,
    pub minutes: i64,
    pub severity: String,
    pub summary: String,
}

/// Server-side apply of the rule or the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum AlertsOperation {
    ApplyRule {
        namespace: String,
        name: String,
        manifest: serde_json::Value,
    },
    ApplyDashboard {
        namespace: String,
        name: String,
        manifest: serde_json::Value,
    },
    /// Deletes the rule or the dashboard this stack wrote, once the file names no alerts.
    Delete {
        object: AlertsObject,
        namespace: String,
        name: String,
    },
}

/// Which of the two objects.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertsObject {
    PrometheusRule,
    Dashboard,
}

impl AlertsOperation {
    pub fn api_calls(&self) -> Vec<&'static str> {
        match self {
            AlertsOperation::ApplyRule { .. } => vec![APPLY_RULE],
            AlertsOperation::ApplyDashboard { .. } => vec![APPLY_DASHBOARD],
            AlertsOperation::Delete {
                object: AlertsObject::PrometheusRule,
                ..
            } => vec![DELETE_RULE],
            AlertsOperation::Delete {
                object: AlertsObject::Dashboard,
                ..
            } => vec![DELETE_DASHBOARD],
        }
    }
}

impl TypedKind for Alerts {
    const SERVICE: &'static str = "alerts";
    const IGNORABLE: &'static [(&'static str, &'static [&'static str])] =
        &[("eks.prometheus_rule.", &["rules"])];
    type Operation = AlertsOperation;

    const IMPORT_FLAGS: &'static [crate::spec::write::ImportFlag] = import::FLAGS;

    fn import<'a>(
        &'a self,
        context: &'a crate::kinds::kind::ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<crate::kinds::kind::ImportedPart>>> {
        Box::pin(import::import(context))
    }

    fn sections() -> Vec<crate::spec::SectionKind> {
        vec![
            crate::spec::SectionKind::of::<section::KafkaAlerts>(),
            crate::spec::SectionKind::of::<section::AlertRule>(),
        ]
    }

    fn offline_checks() -> Option<crate::spec::validate::KindCheck> {
        Some(validate::check)
    }

    fn permissions(
        spec: &crate::spec::StackSpec,
        scope: &crate::plan::permissions::Scope,
    ) -> crate::plan::permissions::Permissions {
        permissions::permissions(spec, scope)
    }

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        Box::pin(plan_alerts(context))
    }

    fn run<'a>(
        &'a self,
        clients: &'a Clients,
        operation: AlertsOperation,
        _progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let cluster = clients.connected_cluster()?;
            match operation {
                AlertsOperation::ApplyRule {
                    namespace,
                    name,
                    manifest,
                } => {
                    let api = rule_api(cluster, &namespace).await?;
                    server_side_apply(
                        &api,
                        &name,
                        &manifest,
                        &format!("PrometheusRule {namespace}/{name}"),
                    )
                    .await
                }
                AlertsOperation::ApplyDashboard {
                    namespace,
                    name,
                    manifest,
                } => {
                    let api: Api<ConfigMap> = Api::namespaced(cluster.client().await?, &namespace);
                    server_side_apply(
                        &api,
                        &name,
                        &manifest,
                        &format!("ConfigMap {namespace}/{name}"),
                    )
                    .await
                }
                AlertsOperation::Delete {
                    object,
                    namespace,
                    name,
                } => delete_object(cluster, object, &namespace, &name).await,
            }
        })
    }
}

fn rule_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "PrometheusRule"),
        "prometheusrules",
    )
}

async fn rule_api(cluster: &Cluster, namespace: &str) -> Result<Api<DynamicObject>> {
    Ok(Api::namespaced_with(
        cluster.client().await?,
        namespace,
        &rule_resource(),
    ))
}

/// A PrometheusRule, or None when it does not exist.
async fn get_rule(cluster: &Cluster, namespace: &str, name: &str) -> Result<Option<DynamicObject>> {
    rule_api(cluster, namespace)
        .await?
        .get_opt(name)
        .await
        .map_err(|e| {
            anyhow!(
                "reading PrometheusRule {namespace}/{name} failed: {}",
                describe_kube_error(&e)
            )
        })
}

/// The Lambda consumers' Kafka consumer groups (the lag alert's scope).
/// The consumer groups the lag alert watches: each trigger's `consumer_group_id`, and for a
/// trigger that names none the group Lambda gave its mapping (the mapping's UUID, one
/// ListEventSourceMappings per such function). A trigger whose mapping does not exist yet has
/// no group anyone can know before apply, so the plan stops and says to name one (a rule
/// written without it would watch every group, or differ again right after apply).
async fn lag_groups(context: &PlanContext<'_>) -> Result<(Vec<String>, Vec<PlanError>)> {
    let (mut groups, mut errors) = (vec![], vec![]);
    let wants_lag = context
        .stack
        .spec
        .section::<KafkaAlerts>()
        .is_some_and(|a| a.consumer_lag_records.is_some());
    if !wants_lag {
        return Ok((groups, errors));
    }
    for function in context.stack.spec.entries::<LambdaFunction>() {
        let Some(trigger) = &function.kafka_trigger else {
            continue;
        };
        if let Some(group) = &trigger.consumer_group_id {
            groups.push(group.get_ref().clone());
            continue;
        }
        let name = function.name.get_ref();
        let live =
            crate::kinds::functions::consumer_groups_of(context.aws, name, trigger.topic.get_ref())
                .await?;
        if live.is_empty() {
            errors.push(PlanError {
                resource: format!("lambda.kafka_trigger.{name}"),
                message: format!(
                    "the consumer lag alert cannot name {name}'s consumer group: its trigger names no consumer_group_id, and Lambda's default (the mapping's UUID) exists only once the mapping is created"
                ),
                help: "set consumer_group_id on the trigger (the seed stack names it after the function), or apply the trigger before adding consumer_lag_records".into(),
            });
        }
        groups.extend(live);
    }
    groups.sort();
    groups.dedup();
    Ok((groups, errors))
}

/// A consumer group as a PromQL regex alternative: regex metacharacters escaped (RE2), then
/// backslashes and quotes escaped for PromQL's double-quoted string.
fn group_pattern(group: &str) -> String {
    let mut regex = String::new();
    for c in group.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            regex.push('\\');
        }
        regex.push(c);
    }
    regex.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The rules the file asks for: the seed article's three, then the file's own.
fn rules(spec: &StackSpec, namespace: &str, lag_groups: &[String]) -> Vec<Rule> {
    let mut rules = vec![];
    if let Some(alerts) = spec.section::<KafkaAlerts>() {
        rules.push(Rule {
            alert: "KafkaUnderReplicatedPartitions".into(),
            expr: format!(
                "sum(kafka_server_replicamanager_underreplicatedpartitions{{namespace=\"{namespace}\"}}) > {}",
                *alerts.under_replicated_partitions.get_ref()
            ),
            minutes: *alerts.for_minutes.get_ref(),
            severity: "critical".into(),
            summary: "Kafka partitions are under-replicated".into(),
        });
        if let Some(lag) = alerts.consumer_lag_records.as_ref().map(|v| *v.get_ref()) {
            let selector = if lag_groups.is_empty() {
                String::new()
            } else {
                let patterns: Vec<String> = lag_groups.iter().map(|g| group_pattern(g)).collect();
                format!("{{consumergroup=~\"{}\"}}", patterns.join("|"))
            };
            rules.push(Rule {
                alert: "KafkaConsumerLag".into(),
                expr: format!("sum by (consumergroup) (kafka_consumergroup_lag{selector}) > {lag}"),
                minutes: *alerts.for_minutes.get_ref(),
                severity: "warning".into(),
                summary: "The Lambda consumers fall behind the topic".into(),
            });
        }
        if let Some(percent) = alerts.broker_memory_percent.as_ref().map(|v| *v.get_ref()) {
            let brokers = spec
                .section::<KafkaBrokers>()
                .map(|b| b.statefulset.get_ref().clone())
                .unwrap_or_else(|| "kafka".into());
            rules.push(Rule {
                alert: "KafkaBrokerMemory".into(),
                // Only against a real limit: cAdvisor reports 0 for a container without one,
                // and the ratio would be +Inf, firing forever (prometheus/prometheus#6348).
                expr: format!(
                    "100 * max by (pod) (container_memory_working_set_bytes{{namespace=\"{namespace}\",pod=~\"{brokers}-[0-9]+\",container!=\"\"}} / (container_spec_memory_limit_bytes{{namespace=\"{namespace}\",pod=~\"{brokers}-[0-9]+\",container!=\"\"}} > 0)) > {percent}"
                ),
                minutes: *alerts.for_minutes.get_ref(),
                severity: "warning".into(),
                summary: format!("A broker uses more than {percent}% of its memory limit"),
            });
        }
    }
    for own in spec.entries::<AlertRule>() {
        rules.push(Rule {
            alert: own.name.get_ref().clone(),
            expr: own.expr.get_ref().clone(),
            minutes: own.for_minutes,
            severity: own.severity.get_ref().clone(),
            summary: own
                .summary
                .as_ref()
                .map(|s| s.get_ref().clone())
                .unwrap_or_else(|| own.name.get_ref().clone()),
        });
    }
    rules
}

fn labels(stack: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            "pipectl".to_string(),
        ),
        (crate::plan::STACK_LABEL.to_string(), stack.to_string()),
    ])
}

fn rule_spec(rules: &[Rule]) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = rules
        .iter()
        .map(|r| {
            json!({
                "alert": r.alert,
                "expr": r.expr,
                "for": format!("{}m", r.minutes),
                "labels": {"severity": r.severity},
                "annotations": {"summary": r.summary},
            })
        })
        .collect();
    json!({"groups": [{"name": "pipectl-kafka", "rules": rules}]})
}

/// The PrometheusRule's labels: pipectl's, and the file's `rule_labels` (what a Prometheus's
/// ruleSelector matches).
fn rule_object_labels(spec: &StackSpec, stack: &str) -> BTreeMap<String, String> {
    let mut all = spec
        .section::<KafkaAlerts>()
        .map(|a| a.rule_labels.get_ref().clone())
        .unwrap_or_default();
    all.extend(labels(stack));
    all
}

fn rule_manifest(
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    rules: &[Rule],
) -> serde_json::Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": rule_spec(rules),
    })
}

/// A Grafana dashboard with one time series per rule, on the rule's own expression.
fn dashboard_json(stack: &str, rules: &[Rule]) -> String {
    let panels: Vec<serde_json::Value> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let query = r.expr.rsplit_once(" > ").map(|(q, _)| q).unwrap_or(&r.expr);
            json!({
                "id": i + 1,
                "type": "timeseries",
                "title": r.summary,
                "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
                "targets": [{"expr": query, "refId": "A"}],
            })
        })
        .collect();
    let dashboard = json!({
        "title": format!("pipectl: {stack}"),
        "uid": dashboard_uid(stack),
        "schemaVersion": 39,
        "panels": panels,
    });
    serde_json::to_string_pretty(&dashboard).unwrap_or_default()
}

/// Grafana refuses a dashboard uid longer than 40 characters (`ErrDashboardUidTooLong`, its
/// `MaxUIDLength`), and the sidecar's import then fails while apply reports success. A short
/// stack keeps `pipectl-STACK`; a longer one is cut and made unique by a hash of its name.
fn dashboard_uid(stack: &str) -> String {
    const MAX_UID: usize = 40;
    let whole = format!("pipectl-{stack}");
    if whole.len() <= MAX_UID {
        return whole;
    }
    let hash = crate::digest::sha256_hex(stack.as_bytes());
    // "pipectl-" (8) + 22 characters of the name + "-" + 8 of the hash = 39.
    let head: String = stack.chars().take(22).collect();
    format!("pipectl-{head}-{}", &hash[..8])
}

fn dashboard_manifest(
    name: &str,
    namespace: &str,
    stack: &str,
    rules: &[Rule],
) -> serde_json::Value {
    let mut labels = labels(stack);
    labels.insert(GRAFANA_LABEL.to_string(), "1".to_string());
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {format!("{name}.json"): dashboard_json(stack, rules)},
    })
}

/// Whether the cluster serves PrometheusRule (the Prometheus Operator's CRD is installed).
async fn rules_served(cluster: &Cluster) -> Result<bool> {
    match cluster
        .client()
        .await?
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == "prometheusrules")),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(anyhow!(
            "reading the cluster's monitoring.coreos.com/v1 API failed: {}",
            describe_kube_error(&error)
        )),
    }
}

/// The per-rule differences between what is live and what the file asks for.
fn rule_diffs(live: &[Rule], wanted: &[Rule]) -> Vec<FieldDiff> {
    let mut diffs = vec![];
    for want in wanted {
        let have = live.iter().find(|l| l.alert == want.alert);
        if have != Some(want) {
            let show = |r: &Rule| format!("{} for {}m ({})", r.expr, r.minutes, r.severity);
            diffs.push(FieldDiff::new(
                &format!("rules.{}", want.alert),
                have.map(show),
                Some(show(want)),
            ));
        }
    }
    for gone in live
        .iter()
        .filter(|l| !wanted.iter().any(|w| w.alert == l.alert))
    {
        diffs.push(FieldDiff::new(
            &format!("rules.{}", gone.alert),
            Some(gone.expr.clone()),
            None,
        ));
    }
    diffs
}

/// The rule object's labels the file sets that the live object lacks or has otherwise (labels
/// another manager added are left alone, as server-side apply leaves them).
fn label_diffs(live: Option<&DynamicObject>, wanted: &BTreeMap<String, String>) -> Vec<FieldDiff> {
    let Some(live) = live else { return vec![] };
    let empty = BTreeMap::new();
    let have = live.metadata.labels.as_ref().unwrap_or(&empty);
    wanted
        .iter()
        .filter(|(key, value)| have.get(*key) != Some(*value))
        .map(|(key, value)| {
            FieldDiff::new(
                &format!("labels.{key}"),
                have.get(key).cloned(),
                Some(value.clone()),
            )
        })
        .collect()
}

/// The rules of a live PrometheusRule, in the file's terms.
fn live_rules(object: &DynamicObject) -> Vec<Rule> {
    let groups = object.data["spec"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    groups
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| Rule {
            alert: r["alert"].as_str().unwrap_or_default().to_string(),
            expr: r["expr"].as_str().unwrap_or_default().to_string(),
            minutes: r["for"]
                .as_str()
                .and_then(duration_minutes)
                .map(|(minutes, _)| minutes)
                .unwrap_or(0),
            severity: r["labels"]["severity"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            summary: r["annotations"]["summary"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

/// A Prometheus duration (`90s`, `5m`, `1h30m`, `1d`) in whole minutes, rounded up, and whether
/// it was whole minutes already. None when it is not a duration.
pub fn duration_minutes(text: &str) -> Option<(i64, bool)> {
    let mut millis: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let value: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        millis = millis.checked_add(value.checked_mul(factor)?)?;
        rest = &rest[unit..];
    }
    Some(((millis + 59_999) / 60_000, millis % 60_000 == 0))
}

/// A PrometheusRule's alerting rules as `[[alerts]]` would declare them, for `pipectl import`:
/// the rules, the recording rules left out, and the alerts whose `for` was not whole minutes.
pub struct ImportedRules {
    pub rules: Vec<Rule>,
    pub recording: Vec<String>,
    pub rounded: Vec<String>,
}

/// Reads a PrometheusRule for `pipectl import`; None when it does not exist.
pub async fn read_for_import(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> Result<Option<ImportedRules>> {
    let Some(object) = get_rule(cluster, namespace, name).await? else {
        return Ok(None);
    };
    let mut imported = ImportedRules {
        rules: live_rules(&object),
        recording: vec![],
        rounded: vec![],
    };
    let raw = object.data["spec"]["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for rule in raw
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
    {
        if let Some(record) = rule["record"].as_str() {
            imported.recording.push(record.to_string());
        } else if let Some(duration) = rule["for"].as_str() {
            if duration_minutes(duration).is_none_or(|(_, exact)| !exact) {
                let alert = rule["alert"].as_str().unwrap_or_default();
                imported.rounded.push(format!("{alert} (for: {duration})"));
            }
        }
    }
    imported.rules.retain(|r| !r.alert.is_empty());
    Ok(Some(imported))
}

/// A server-side apply of `manifest` over `live` (the object as read, if it exists). Fields
/// another field manager owns (Helm, Argo CD, a team's `kubectl apply`) are listed as
/// conflicts: apply takes them only with `--force-conflicts`, as for the HPA.
fn apply_change(
    id: ResourceId,
    live: Option<serde_json::Value>,
    manifest: &serde_json::Value,
    diffs: Vec<FieldDiff>,
    lane: &str,
    step: Step,
) -> Change {
    let action = match (&live, diffs.is_empty()) {
        (_, true) => Action::NoOp,
        (None, false) => Action::Create,
        (Some(_), false) => Action::Update,
    };
    let conflicts = match &live {
        Some(live) if action != Action::NoOp => {
            crate::providers::eks::field_conflicts(live, manifest)
        }
        _ => vec![],
    };
    let hazards = if conflicts.is_empty() {
        vec![]
    } else {
        vec![crate::kinds::brokers::hpa::conflict_hazard(&conflicts)]
    };
    Change {
        steps: if action == Action::NoOp {
            vec![]
        } else {
            vec![step]
        },
        diffs,
        hazards,
        conflicts,
        ..Change::new(id, action, lane.to_string())
    }
}

/// Deletes one of the two objects; one already gone is what was wanted.
async fn delete_object(
    cluster: &Cluster,
    object: AlertsObject,
    namespace: &str,
    name: &str,
) -> Result<()> {
    let params = kube::api::DeleteParams::default();
    let (result, what) = match object {
        AlertsObject::PrometheusRule => (
            rule_api(cluster, namespace)
                .await?
                .delete(name, &params)
                .await
                .map(|_| ()),
            "PrometheusRule",
        ),
        AlertsObject::Dashboard => {
            let api: Api<ConfigMap> = Api::namespaced(cluster.client().await?, namespace);
            (api.delete(name, &params).await.map(|_| ()), "ConfigMap")
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(response)) if response.code == 404 => Ok(()),
        Err(e) => Err(anyhow!(
            "deleting {what} {namespace}/{name} failed: {}",
            describe_kube_error(&e)
        )),
    }
}

fn rule_name(stack: &str) -> String {
    format!("pipectl-{stack}-alerts")
}

fn dashboard_name(stack: &str) -> String {
    format!("pipectl-{stack}-dashboard")
}

/// The file names no alerts, but the rule or dashboard this stack wrote (by name, and carrying
/// its `pipectl.io/stack` label) is still in the cluster: each is deleted, a destructive change.
/// Only a file that still names a cluster (`[eks]`) is looked at.
async fn plan_removed_alerts(context: &PlanContext<'_>, namespace: &str) -> Result<KindPlan> {
    let spec = &context.stack.spec;
    let stack = context.stack.name();
    let mut out = KindPlan::default();
    let rule = rule_name(stack);
    let dashboard = dashboard_name(stack);
    let rule_id = ResourceId::new(RULE, format!("{namespace}/{rule}"));
    let dashboard_id = ResourceId::new(DASHBOARD, format!("{namespace}/{dashboard}"));
    let targeted = [&rule_id, &dashboard_id]
        .iter()
        .any(|id| context.targets.selects(&id.to_string()));
    if spec
        .section::<crate::providers::eks::EksSection>()
        .is_none()
        || !targeted
    {
        return Ok(out);
    }
    // An unreachable cluster is the brokers' plan error; nothing is known of leftovers then.
    let Ok(cluster) = context.clients.cluster(spec).await else {
        return Ok(out);
    };
    let ours = |labels: Option<&BTreeMap<String, String>>| {
        labels
            .and_then(|l| l.get(crate::plan::STACK_LABEL))
            .map(String::as_str)
            == Some(stack)
    };
    let lane = format!("eks:alerts:{namespace}");
    if rules_served(cluster).await? {
        if let Some(live) = get_rule(cluster, namespace, &rule).await? {
            if ours(live.metadata.labels.as_ref()) {
                let live_rules = live_rules(&live);
                let count = live_rules.len();
                let change = removed(
                    rule_id,
                    AlertsObject::PrometheusRule,
                    namespace,
                    &rule,
                    FieldDiff::new("rules", Some(format!("{count} rules")), None),
                    &lane,
                );
                out.changes.extend(stamped([change], &live_rules));
            }
        }
    }
    let api: Api<ConfigMap> = Api::namespaced(cluster.client().await?, namespace);
    let live = api.get_opt(&dashboard).await.map_err(|e| {
        anyhow!(
            "reading ConfigMap {namespace}/{dashboard} failed: {}",
            describe_kube_error(&e)
        )
    })?;
    if let Some(live) = live.filter(|l| ours(l.metadata.labels.as_ref())) {
        let change = removed(
            dashboard_id,
            AlertsObject::Dashboard,
            namespace,
            &dashboard,
            FieldDiff::new("dashboard", Some("pipectl's dashboard".into()), None),
            &lane,
        );
        out.changes
            .extend(stamped([change], &live.data.unwrap_or_default()));
    }
    Ok(out)
}

/// A leftover rule or dashboard: its delete.
fn removed(
    id: ResourceId,
    object: AlertsObject,
    namespace: &str,
    name: &str,
    diff: FieldDiff,
    lane: &str,
) -> Change {
    let operation = AlertsOperation::Delete {
        object,
        namespace: namespace.to_string(),
        name: name.to_string(),
    };
    let step = Alerts::step(
        format!("delete {id} (the file names no alerts)"),
        operation.api_calls(),
        &operation,
    );
    Change {
        diffs: vec![diff],
        steps: vec![step],
        destructive: true,
        ..Change::new(id, Action::Delete, lane.to_string())
    }
}

/// The memory alert compares against the broker containers' memory limit: a container
/// without one never has a ratio to alert on, which the plan says (one StatefulSet read).
async fn memory_limit_notes(
    context: &PlanContext<'_>,
    cluster: &Cluster,
    namespace: &str,
) -> Result<Vec<String>> {
    let spec = &context.stack.spec;
    let wants_memory = spec
        .section::<KafkaAlerts>()
        .is_some_and(|a| a.broker_memory_percent.is_some());
    let Some(brokers) = spec.section::<KafkaBrokers>().filter(|_| wants_memory) else {
        return Ok(vec![]);
    };
    let name = brokers.statefulset.get_ref();
    let api: Api<k8s_openapi::api::apps::v1::StatefulSet> =
        Api::namespaced(cluster.client().await?, namespace);
    let Some(statefulset) = api.get_opt(name).await.map_err(|e| {
        anyhow!(
            "reading StatefulSet {namespace}/{name} failed: {}",
            describe_kube_error(&e)
        )
    })?
    else {
        return Ok(vec![]);
    };
    let containers = statefulset
        .spec
        .and_then(|s| s.template.spec)
        .map(|p| p.containers)
        .unwrap_or_default();
    Ok(containers
        .iter()
        .filter(|c| {
            c.resources
                .as_ref()
                .and_then(|r| r.limits.as_ref())
                .is_none_or(|l| !l.contains_key("memory"))
        })
        .map(|c| {
            format!(
                "KafkaBrokerMemory never fires for container {} of StatefulSet {namespace}/{name}: it has no memory limit, so there is no share of a limit to alert on; set resources.limits.memory on it",
                c.name
            )
        })
        .collect())
}

async fn plan_alerts(context: &PlanContext<'_>) -> Result<KindPlan> {
    let spec = &context.stack.spec;
    let stack = context.stack.name();
    let mut out = KindPlan::default();
    let namespace = namespace_of(spec);
    let (lag_groups, lag_errors) = lag_groups(context).await?;
    out.errors.extend(lag_errors);
    let wanted = rules(spec, &namespace, &lag_groups);
    if wanted.is_empty() {
        return plan_removed_alerts(context, &namespace).await;
    }
    let rule_id = ResourceId::new(RULE, format!("{namespace}/{}", rule_name(stack)));
    let dashboard_id = ResourceId::new(DASHBOARD, format!("{namespace}/{}", dashboard_name(stack)));
    out.declared = vec![rule_id.to_string(), dashboard_id.to_string()];
    let cluster = match context.clients.cluster(spec).await {
        Ok(cluster) => cluster,
        Err(error) => {
            out.errors.push(error);
            return Ok(out);
        }
    };
    let place = Place {
        cluster,
        lane: format!("eks:alerts:{namespace}"),
        namespace,
    };
    out.notes
        .extend(memory_limit_notes(context, cluster, &place.namespace).await?);
    if context.targets.selects(&rule_id.to_string()) {
        plan_rule(context, &place, rule_id, wanted.clone(), &mut out).await?;
    }
    if context.targets.selects(&dashboard_id.to_string()) {
        // The dashboard shows every rule the file asks for, whatever `[[ignore]]` leaves alone.
        out.changes
            .extend(plan_dashboard(context, &place, dashboard_id, &wanted).await?);
    }
    Ok(out)
}

/// Where a stack's alert objects live: its cluster and namespace, and the lane their steps
/// take.
struct Place<'a> {
    cluster: &'a Cluster,
    namespace: String,
    lane: String,
}

/// The PrometheusRule: its rules and labels against the live object's, or a note when the
/// cluster serves no PrometheusRule.
async fn plan_rule(
    context: &PlanContext<'_>,
    place: &Place<'_>,
    rule_id: ResourceId,
    mut wanted: Vec<Rule>,
    out: &mut KindPlan,
) -> Result<()> {
    let spec = &context.stack.spec;
    let stack = context.stack.name();
    let (cluster, namespace) = (place.cluster, &place.namespace);
    if !rules_served(cluster).await? {
        out.notes.push(format!(
            "{rule_id}: the cluster does not serve monitoring.coreos.com/v1 PrometheusRule (no Prometheus Operator): the alert rules are not written; install the operator (kube-prometheus-stack) and plan again"
        ));
        return Ok(());
    }
    let name = rule_name(stack);
    let live = get_rule(cluster, namespace, &name).await?;
    let live_rules = live.as_ref().map(live_rules).unwrap_or_default();
    if !ignored_fields(spec, &rule_id.to_string(), &mut out.ignored).is_empty() && live.is_some() {
        wanted = live_rules.clone();
    }
    let object_labels = rule_object_labels(spec, stack);
    let manifest = rule_manifest(&name, namespace, &object_labels, &wanted);
    let operation = AlertsOperation::ApplyRule {
        namespace: namespace.clone(),
        name: name.clone(),
        manifest: manifest.clone(),
    };
    let step = Alerts::step(
        format!(
            "server-side apply PrometheusRule {namespace}/{name} ({} rules)",
            wanted.len()
        ),
        operation.api_calls(),
        &operation,
    );
    let mut diffs = rule_diffs(&live_rules, &wanted);
    diffs.extend(label_diffs(live.as_ref(), &object_labels));
    out.notes.extend(
        selection::unselected_note(cluster, &rule_id.to_string(), namespace, &object_labels)
            .await?,
    );
    let live = live.as_ref().and_then(|l| serde_json::to_value(l).ok());
    out.changes.extend(stamped(
        [apply_change(
            rule_id,
            live,
            &manifest,
            diffs,
            &place.lane,
            step,
        )],
        &live_rules,
    ));
    Ok(())
}

/// The Grafana dashboard's ConfigMap: a panel per rule the file asks for.
async fn plan_dashboard(
    context: &PlanContext<'_>,
    place: &Place<'_>,
    dashboard_id: ResourceId,
    wanted: &[Rule],
) -> Result<Vec<Change>> {
    let stack = context.stack.name();
    let namespace = &place.namespace;
    let dashboard_name = dashboard_name(stack);
    let api: Api<ConfigMap> = Api::namespaced(place.cluster.client().await?, namespace);
    let live = api.get_opt(&dashboard_name).await.map_err(|e| {
        anyhow!(
            "reading ConfigMap {namespace}/{dashboard_name} failed: {}",
            describe_kube_error(&e)
        )
    })?;
    let manifest = dashboard_manifest(&dashboard_name, namespace, stack, wanted);
    let live_data = live
        .as_ref()
        .and_then(|c| c.data.clone())
        .unwrap_or_default();
    let wanted_data: BTreeMap<String, String> =
        serde_json::from_value(manifest["data"].clone()).unwrap_or_default();
    let diffs = if live_data == wanted_data {
        vec![]
    } else {
        vec![FieldDiff::new(
            "dashboard",
            live.as_ref().map(|_| "another dashboard".to_string()),
            Some(format!("{} panels", wanted.len())),
        )]
    };
    let operation = AlertsOperation::ApplyDashboard {
        namespace: namespace.clone(),
        name: dashboard_name.clone(),
        manifest: manifest.clone(),
    };
    let step = Alerts::step(
        format!("server-side apply ConfigMap {namespace}/{dashboard_name} (Grafana dashboard)"),
        operation.api_calls(),
        &operation,
    );
    Ok(stamped(
        [apply_change(
            dashboard_id,
            live.as_ref().and_then(|l| serde_json::to_value(l).ok()),
            &manifest,
            diffs,
            &place.lane,
            step,
        )],
        &live_data,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn consumer_groups_are_escaped_for_a_promql_regex() {
        assert_eq!(super::group_pattern("log-consumers"), "log-consumers");
        assert_eq!(super::group_pattern("a.b+c"), "a\\\\.b\\\\+c");
        assert_eq!(super::group_pattern("q\"x"), "q\\\"x");
    }

    #[test]
    fn dashboard_uids_stay_within_grafanas_40_characters() {
        assert_eq!(super::dashboard_uid("kafka-logs"), "pipectl-kafka-logs");
        let long = "a".repeat(63);
        let other = format!("{}b", "a".repeat(62));
        let (one, two) = (super::dashboard_uid(&long), super::dashboard_uid(&other));
        assert!(one.len() <= 40 && two.len() <= 40, "{one} {two}");
        assert_ne!(one, two, "two long stack names must not share a dashboard");
    }

    #[test]
    fn prometheus_durations_become_minutes_rounded_up() {
        assert_eq!(super::duration_minutes("5m"), Some((5, true)));
        assert_eq!(super::duration_minutes("1h30m"), Some((90, true)));
        assert_eq!(super::duration_minutes("90s"), Some((2, false)));
        assert_eq!(super::duration_minutes("0s"), Some((0, true)));
        assert_eq!(super::duration_minutes("5 minutes"), None);
    }
}
