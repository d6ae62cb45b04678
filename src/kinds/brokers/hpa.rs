//! The Kafka broker HorizontalPodAutoscaler (`autoscaling/v2`), written with server-side apply
//! under the `pipectl` field manager.
//!
//! Safety rules (rules-of-the-road.md, "Kafka on Kubernetes"): `min_replicas` is never below
//! the replication factor (checked when the spec is validated); scale-down is disabled
//! (`selectPolicy: Disabled`) unless the stack opts in with a long stabilization window, and
//! then removes one broker at a time; the StatefulSet's `spec.replicas` is never written, since
//! the HPA owns it; and the plan says that new brokers take load only after a partition
//! reassignment.

/// The server-side apply of the HPA, as plan steps list it.
pub const APPLY_HPA: &str = "kubernetes:apply autoscaling/v2 horizontalpodautoscalers";

use anyhow::{anyhow, Result};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::Api;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::plan::Step;
use crate::plan::{
    Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Unhealthy,
};
use crate::providers::eks::{describe_kube_error, server_side_apply, Cluster, FIELD_MANAGER};

/// The kind of `eks.hpa.NAME` resource ids.
pub const AUTOSCALER: ResourceKind = ResourceKind::named("eks.hpa");

/// Broker scale-down, when enabled, removes at most this many brokers per period.
const SCALE_DOWN_BROKERS_PER_PERIOD: i64 = 1;
const SCALE_DOWN_PERIOD_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ScaleDownPolicy {
    Disabled,
    Enabled { stabilization_window_seconds: i64 },
}

impl std::fmt::Display for ScaleDownPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScaleDownPolicy::Disabled => f.write_str("disabled"),
            ScaleDownPolicy::Enabled {
                stabilization_window_seconds,
            } => write!(f, "enabled after a {stabilization_window_seconds}s window"),
        }
    }
}

/// The HPA the spec asks for.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AutoscalerDefinition {
    pub name: String,
    pub namespace: String,
    pub statefulset: String,
    pub min_replicas: i64,
    pub max_replicas: i64,
    pub target_cpu_utilization: i64,
    pub scale_down: ScaleDownPolicy,
    pub stack: String,
}

impl AutoscalerDefinition {
    pub fn from_spec(
        brokers: &crate::kinds::brokers::section::KafkaBrokers,
        namespace: &str,
        stack: &str,
    ) -> Self {
        let scale_down = match brokers.scale_down.as_ref().map(|s| s.get_ref()) {
            Some(crate::kinds::brokers::section::ScaleDown {
                enabled: true,
                stabilization_window_seconds: Some(window),
            }) => ScaleDownPolicy::Enabled {
                stabilization_window_seconds: *window.get_ref(),
            },
            _ => ScaleDownPolicy::Disabled,
        };
        AutoscalerDefinition {
            name: brokers.hpa_name.get_ref().clone(),
            namespace: namespace.to_string(),
            statefulset: brokers.statefulset.get_ref().clone(),
            min_replicas: *brokers.min_replicas.get_ref(),
            max_replicas: *brokers.max_replicas.get_ref(),
            target_cpu_utilization: *brokers.target_cpu_utilization.get_ref(),
            scale_down,
            stack: stack.to_string(),
        }
    }

    /// Leaves one field alone (an `[[ignore]]` rule): the live value is kept, so it is neither
    /// compared nor changed. A new HPA gets the spec's values.
    pub fn ignore(&mut self, field: &str, live: Option<&LiveAutoscaler>) {
        let Some(live) = live else { return };
        match field {
            "min_replicas" => self.min_replicas = live.min_replicas,
            "max_replicas" => self.max_replicas = live.max_replicas,
            "target_cpu_utilization" => {
                if let Some(cpu) = live.target_cpu_utilization {
                    self.target_cpu_utilization = cpu
                }
            }
            "scale_down" => self.scale_down = live.scale_down.clone(),
            _ => {}
        }
    }

    /// The object pipectl applies. Only the fields pipectl owns: server-side apply leaves the
    /// rest (and other managers' fields) alone.
    pub fn manifest(&self) -> serde_json::Value {
        let scale_down = match &self.scale_down {
            ScaleDownPolicy::Disabled => json!({ "selectPolicy": "Disabled" }),
            ScaleDownPolicy::Enabled {
                stabilization_window_seconds,
            } => json!({
                "stabilizationWindowSeconds": stabilization_window_seconds,
                "selectPolicy": "Min",
                "policies": [{
                    "type": "Pods",
                    "value": SCALE_DOWN_BROKERS_PER_PERIOD,
                    "periodSeconds": SCALE_DOWN_PERIOD_SECONDS,
                }],
            }),
        };
        json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {
                    "app.kubernetes.io/managed-by": "pipectl",
                    crate::plan::STACK_LABEL: self.stack,
                },
            },
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "name": self.statefulset,
                },
                "minReplicas": self.min_replicas,
                "maxReplicas": self.max_replicas,
                "metrics": [{
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": { "type": "Utilization", "averageUtilization": self.target_cpu_utilization },
                    },
                }],
                "behavior": { "scaleDown": scale_down },
            },
        })
    }
}

/// What the live HPA says, in the spec's terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveAutoscaler {
    pub scale_target: String,
    pub min_replicas: i64,
    pub max_replicas: i64,
    /// The CPU target, and a count of other metrics pipectl would remove.
    pub target_cpu_utilization: Option<i64>,
    pub other_metrics: usize,
    pub scale_down: ScaleDownPolicy,
    /// `metadata.generation`: it moves when the spec changes. (The resourceVersion also moves
    /// whenever the HPA controller writes its status, every sync period, so a saved plan
    /// fingerprinted on it would always be stale.)
    pub generation: Option<i64>,
    /// The object as read, for its `managedFields` (not part of a saved plan's fingerprint).
    #[serde(skip)]
    pub object: serde_json::Value,
    /// Why the HPA controller says it cannot scale, if it does (not fingerprinted either).
    #[serde(skip)]
    pub health: Option<Unhealthy>,
}

/// The HPA controller's own verdict (`status.conditions`): `AbleToScale` or `ScalingActive`
/// False means it does not scale the brokers, with its reason (`FailedGetResourceMetric`
/// when no metrics server answers, `FailedGetScale` when the target is missing) and message.
fn health_of(hpa: &HorizontalPodAutoscaler) -> Option<Unhealthy> {
    let conditions = hpa.status.as_ref()?.conditions.as_ref()?;
    let failing = conditions.iter().find(|c| {
        c.status == "False" && matches!(c.type_.as_str(), "AbleToScale" | "ScalingActive")
    })?;
    let reason = failing.reason.as_deref().unwrap_or("no reason given");
    let message = failing.message.as_deref().unwrap_or("no message");
    let help = if reason == "FailedGetResourceMetric" {
        "the HPA cannot read the brokers' CPU: install the Kubernetes metrics server (kubectl get apiservice v1beta1.metrics.k8s.io) and give the broker containers CPU requests"
    } else {
        "see `kubectl describe hpa` for the controller's events; the HPA keeps the current replica count until it can scale again"
    };
    Some(Unhealthy {
        reason: format!("{} is False ({reason}): {message}", failing.type_),
        help: help.into(),
    })
}

fn live_from(hpa: &HorizontalPodAutoscaler) -> LiveAutoscaler {
    let spec = hpa.spec.clone().unwrap_or_default();
    let mut cpu = None;
    let mut other = 0;
    for metric in spec.metrics.iter().flatten() {
        match &metric.resource {
            Some(resource)
                if metric.type_ == "Resource"
                    && resource.name == "cpu"
                    && resource.target.type_ == "Utilization"
                    && cpu.is_none() =>
            {
                cpu = resource.target.average_utilization.map(i64::from)
            }
            _ => other += 1,
        }
    }
    let scale_down = spec
        .behavior
        .and_then(|b| b.scale_down)
        .map(|rules| {
            if rules.select_policy.as_deref() == Some("Disabled") {
                ScaleDownPolicy::Disabled
            } else {
                ScaleDownPolicy::Enabled {
                    // The API's default window for scale-down.
                    stabilization_window_seconds: rules
                        .stabilization_window_seconds
                        .map(i64::from)
                        .unwrap_or(300),
                }
            }
        })
        .unwrap_or(ScaleDownPolicy::Enabled {
            stabilization_window_seconds: 300,
        });
    LiveAutoscaler {
        scale_target: format!(
            "{}/{}",
            spec.scale_target_ref.kind, spec.scale_target_ref.name
        ),
        min_replicas: spec.min_replicas.map(i64::from).unwrap_or(1),
        max_replicas: i64::from(spec.max_replicas),
        target_cpu_utilization: cpu,
        other_metrics: other,
        scale_down,
        generation: hpa.metadata.generation,
        object: serde_json::to_value(hpa).unwrap_or_default(),
        health: health_of(hpa),
    }
}

/// Whether the cluster serves the resource metrics API a CPU-based HPA reads
/// (`metrics.k8s.io`, from the Kubernetes metrics server, which EKS does not install by
/// default). One discovery request.
pub async fn metrics_api_served(cluster: &Cluster) -> Result<bool> {
    let groups = cluster
        .client()
        .await?
        .list_api_groups()
        .await
        .map_err(|e| {
            anyhow!(
                "listing the cluster's API groups failed: {}",
                describe_kube_error(&e)
            )
        })?;
    Ok(groups.groups.iter().any(|g| g.name == "metrics.k8s.io"))
}

/// Why the HPA, as planned, could never scale: no resource metrics API, or broker containers
/// without a CPU request (a utilization target is a percentage of the request).
pub fn scaling_warnings(
    desired: &AutoscalerDefinition,
    statefulset: Option<&StatefulSet>,
    metrics_api: bool,
) -> Vec<String> {
    let hpa = format!("{}/{}", desired.namespace, desired.name);
    let mut warnings = vec![];
    if !metrics_api {
        warnings.push(format!(
            "warning: the cluster does not serve metrics.k8s.io (EKS installs no metrics server by default), so HPA {hpa} can never scale on CPU: install the Kubernetes metrics server (EKS add-on metrics-server)"
        ));
    }
    let containers = statefulset
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| p.containers.as_slice())
        .unwrap_or_default();
    let without_request: Vec<&str> = containers
        .iter()
        .filter(|c| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_none_or(|r| !r.contains_key("cpu"))
        })
        .map(|c| c.name.as_str())
        .collect();
    if !without_request.is_empty() {
        warnings.push(format!(
            "warning: container {} of StatefulSet {}/{} has no CPU request, so HPA {hpa}'s {}% CPU utilization target cannot be computed: set resources.requests.cpu on the broker containers",
            without_request.join(", "),
            desired.namespace,
            desired.statefulset,
            desired.target_cpu_utilization
        ));
    }
    warnings
}

/// Reads the HPA; `None` when it does not exist.
pub async fn read(cluster: &Cluster, name: &str) -> Result<Option<LiveAutoscaler>> {
    let api: Api<HorizontalPodAutoscaler> =
        Api::namespaced(cluster.client().await?, &cluster.namespace);
    let hpa = api.get_opt(name).await.map_err(|e| {
        anyhow!(
            "reading HorizontalPodAutoscaler {}/{name} failed: {}",
            cluster.namespace,
            describe_kube_error(&e)
        )
    })?;
    Ok(hpa.as_ref().map(live_from))
}

/// The HPA of the cluster's namespace that scales StatefulSet `statefulset`, with its name
/// (for `pipectl import`, which is not told the HPA's name). One LIST call.
pub async fn find_for_statefulset(
    cluster: &Cluster,
    statefulset: &str,
) -> Result<Option<(String, LiveAutoscaler)>> {
    let api: Api<HorizontalPodAutoscaler> =
        Api::namespaced(cluster.client().await?, &cluster.namespace);
    let list = api
        .list(&kube::api::ListParams::default())
        .await
        .map_err(|e| {
            anyhow!(
                "listing HorizontalPodAutoscalers in {} failed: {}",
                cluster.namespace,
                describe_kube_error(&e)
            )
        })?;
    Ok(list
        .items
        .iter()
        .find(|hpa| {
            hpa.spec.as_ref().is_some_and(|spec| {
                spec.scale_target_ref.kind == "StatefulSet"
                    && spec.scale_target_ref.name == statefulset
            })
        })
        .map(|hpa| {
            (
                hpa.metadata.name.clone().unwrap_or_default(),
                live_from(hpa),
            )
        }))
}

/// Reads the broker StatefulSet; `None` when it does not exist.
pub async fn read_statefulset(cluster: &Cluster, name: &str) -> Result<Option<StatefulSet>> {
    let api: Api<StatefulSet> = Api::namespaced(cluster.client().await?, &cluster.namespace);
    api.get_opt(name).await.map_err(|e| {
        anyhow!(
            "reading StatefulSet {}/{name} failed: {}",
            cluster.namespace,
            describe_kube_error(&e)
        )
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum AutoscalerOperation {
    /// Server-side apply of the whole manifest under the `pipectl` field manager.
    Apply {
        namespace: String,
        name: String,
        manifest: serde_json::Value,
    },
}

impl AutoscalerOperation {
    /// The operation as a plan step of service `autoscaler`.
    pub fn into_step(self, description: String) -> Step {
        let api_calls = self.api_calls();
        crate::providers::step_of("autoscaler", description, api_calls, &self)
    }

    /// The Kubernetes API calls apply makes for it.
    pub fn api_calls(&self) -> Vec<&'static str> {
        vec![APPLY_HPA]
    }
}

const REBALANCE_HAZARD: &str = "brokers the autoscaler adds take load only after a partition reassignment (Cruise Control or kafka-reassign-partitions.sh); until then they hold only partitions of new topics";

pub fn plan(
    desired: &AutoscalerDefinition,
    statefulset_exists: bool,
    live: Option<&LiveAutoscaler>,
) -> (Option<Change>, Vec<PlanError>) {
    let id = ResourceId::new(
        AUTOSCALER,
        format!("{}/{}", desired.namespace, desired.name),
    );
    if !statefulset_exists {
        return (
            None,
            vec![PlanError {
                resource: id.to_string(),
                message: format!(
                    "the broker StatefulSet {}/{} does not exist",
                    desired.namespace, desired.statefulset
                ),
                help: "pipectl scales the Kafka brokers but does not deploy them: check [kafka.brokers] statefulset and [eks] namespace, or deploy Kafka first".into(),
            }],
        );
    }
    let diffs = match live {
        None => creation_diffs(desired),
        Some(live) => update_diffs(desired, live),
    };
    let action = match (live, diffs.is_empty()) {
        (None, _) => Action::Create,
        (Some(_), true) => Action::NoOp,
        (Some(_), false) => Action::Update,
    };
    let conflicts = match live {
        Some(live) if action != Action::NoOp => {
            crate::providers::eks::field_conflicts(&live.object, &desired.manifest())
        }
        _ => vec![],
    };
    let hazards = hazards(desired, live, action, &conflicts);
    let steps = if action == Action::NoOp {
        vec![]
    } else {
        vec![(AutoscalerOperation::Apply {
            namespace: desired.namespace.clone(),
            name: desired.name.clone(),
            manifest: desired.manifest(),
        })
        .into_step(format!(
            "server-side apply HorizontalPodAutoscaler {}/{} (field manager {FIELD_MANAGER})",
            desired.namespace, desired.name
        ))]
    };
    (
        Some(Change {
            diffs,
            hazards,
            conflicts,
            steps,
            unhealthy: live.and_then(|live| live.health.clone()),
            ..Change::new(id, action, format!("eks:hpa:{}", desired.name))
        }),
        vec![],
    )
}

fn wanted_target(desired: &AutoscalerDefinition) -> String {
    format!("StatefulSet/{}", desired.statefulset)
}

/// Every field of a new HPA.
fn creation_diffs(desired: &AutoscalerDefinition) -> Vec<FieldDiff> {
    vec![
        FieldDiff::new("scale_target", None, Some(wanted_target(desired))),
        FieldDiff::new("min_replicas", None, Some(desired.min_replicas.to_string())),
        FieldDiff::new("max_replicas", None, Some(desired.max_replicas.to_string())),
        FieldDiff::new(
            "target_cpu_utilization",
            None,
            Some(desired.target_cpu_utilization.to_string()),
        ),
        FieldDiff::new("scale_down", None, Some(desired.scale_down.to_string())),
    ]
}

/// The fields of a live HPA that differ from the file (metrics besides CPU count as a
/// difference: pipectl's HPA does not keep them).
fn update_diffs(desired: &AutoscalerDefinition, live: &LiveAutoscaler) -> Vec<FieldDiff> {
    let mut diffs = vec![];
    let wanted_target = wanted_target(desired);
    if live.scale_target != wanted_target {
        diffs.push(FieldDiff::new(
            "scale_target",
            Some(live.scale_target.clone()),
            Some(wanted_target),
        ));
    }
    for (field, before, after) in [
        ("min_replicas", live.min_replicas, desired.min_replicas),
        ("max_replicas", live.max_replicas, desired.max_replicas),
    ] {
        if before != after {
            diffs.push(FieldDiff::new(
                field,
                Some(before.to_string()),
                Some(after.to_string()),
            ));
        }
    }
    if live.target_cpu_utilization != Some(desired.target_cpu_utilization) || live.other_metrics > 0
    {
        let before = match (live.target_cpu_utilization, live.other_metrics) {
            (Some(cpu), 0) => cpu.to_string(),
            (Some(cpu), n) => format!("{cpu} (+ {n} other metrics)"),
            (None, n) => format!("none ({n} other metrics)"),
        };
        diffs.push(FieldDiff::new(
            "target_cpu_utilization",
            Some(before),
            Some(desired.target_cpu_utilization.to_string()),
        ));
    }
    if live.scale_down != desired.scale_down {
        diffs.push(FieldDiff::new(
            "scale_down",
            Some(live.scale_down.to_string()),
            Some(desired.scale_down.to_string()),
        ));
    }
    diffs
}

/// What a reviewer must know: brokers added need a rebalance, fields another manager owns are
/// taken, and a scale-down can under-replicate partitions.
fn hazards(
    desired: &AutoscalerDefinition,
    live: Option<&LiveAutoscaler>,
    action: Action,
    conflicts: &[crate::plan::FieldConflict],
) -> Vec<Hazard> {
    let mut hazards = vec![];
    let grows = live.is_none_or(|live| {
        desired.max_replicas > live.max_replicas || desired.min_replicas > live.min_replicas
    });
    if grows {
        hazards.push(Hazard {
            message: REBALANCE_HAZARD.into(),
        });
    }
    if !conflicts.is_empty() {
        hazards.push(conflict_hazard(conflicts));
    }
    if matches!(desired.scale_down, ScaleDownPolicy::Enabled { .. })
        && action != Action::NoOp
        && live.map(|l| &l.scale_down) != Some(&desired.scale_down)
    {
        hazards.push(Hazard {
            message: "broker scale-down is enabled: a removed broker that still holds partition replicas leaves them under-replicated; move replicas off it first".into(),
        });
    }
    hazards
}

/// The hazard that names the other managers' fields a change would take.
pub fn conflict_hazard(conflicts: &[crate::plan::FieldConflict]) -> Hazard {
    let fields: Vec<String> = conflicts
        .iter()
        .map(|c| format!("{} (owned by {})", c.field, c.manager))
        .collect();
    Hazard {
        message: format!(
            "this takes fields another field manager owns: {}; apply does so only with --force-conflicts, and that manager may take them back on its next sync (or add an [[ignore]] rule to leave them to it)",
            fields.join(", ")
        ),
    }
}

pub async fn execute(cluster: &Cluster, operation: &AutoscalerOperation) -> Result<()> {
    match operation {
        AutoscalerOperation::Apply {
            namespace,
            name,
            manifest,
        } => {
            let api: Api<HorizontalPodAutoscaler> =
                Api::namespaced(cluster.client().await?, namespace);
            server_side_apply(
                &api,
                name,
                manifest,
                &format!("HorizontalPodAutoscaler {namespace}/{name}"),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> AutoscalerDefinition {
        AutoscalerDefinition {
            name: "kafka-broker-hpa".into(),
            namespace: "kafka".into(),
            statefulset: "kafka-broker".into(),
            min_replicas: 3,
            max_replicas: 10,
            target_cpu_utilization: 70,
            scale_down: ScaleDownPolicy::Disabled,
            stack: "s".into(),
        }
    }

    #[test]
    fn manifest_is_autoscaling_v2_with_scale_down_disabled_and_no_replicas() {
        let manifest = desired().manifest();
        assert_eq!(manifest["apiVersion"], "autoscaling/v2");
        assert_eq!(
            manifest["spec"]["behavior"]["scaleDown"]["selectPolicy"],
            "Disabled"
        );
        assert_eq!(manifest["spec"]["scaleTargetRef"]["kind"], "StatefulSet");
        assert!(manifest["spec"].get("replicas").is_none());
        assert!(!manifest.to_string().contains("v2beta2"));
    }

    #[test]
    fn live_in_sync_is_a_no_op_and_changed_max_is_an_update_with_rebalance_hazard() {
        let d = desired();
        let hpa: HorizontalPodAutoscaler =
            serde_json::from_value(d.manifest()).expect("manifest parses as an HPA");
        let live = live_from(&hpa);
        let (change, errors) = plan(&d, true, Some(&live));
        assert!(errors.is_empty());
        assert_eq!(change.expect("change").action, Action::NoOp);

        let mut bigger = d.clone();
        bigger.max_replicas = 12;
        let (change, _) = plan(&bigger, true, Some(&live));
        let change = change.expect("change");
        assert_eq!(change.action, Action::Update);
        assert_eq!(
            change.diffs,
            vec![FieldDiff::new(
                "max_replicas",
                Some("10".into()),
                Some("12".into())
            )]
        );
        assert!(change.hazards[0].message.contains("partition reassignment"));
    }

    #[test]
    fn missing_statefulset_is_a_plan_error_naming_it() {
        let (change, errors) = plan(&desired(), false, None);
        assert!(change.is_none());
        assert!(errors[0].message.contains("kafka/kafka-broker"));
    }
}
