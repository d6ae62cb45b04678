//! Whether any Prometheus loads the rule. The Prometheus Operator gives a Prometheus only the
//! PrometheusRules its `spec.ruleSelector` matches (null: none; `{}`: all), in the namespaces
//! its `spec.ruleNamespaceSelector` matches (null: its own namespace only; `{}`: all)
//! (Prometheus Operator API reference, PrometheusSpec). kube-prometheus-stack's Prometheus
//! selects `release: <helm release>` (`ruleSelectorNilUsesHelmValues: true`), so a rule
//! without that label is written and never evaluated. One LIST of the Prometheus objects per
//! plan (and a GET of the rule's namespace when a selector asks about its labels).

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::providers::eks::{describe_kube_error, Cluster};

fn prometheus_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "Prometheus"),
        "prometheuses",
    )
}

/// A plan note when no Prometheus of the cluster would load the rule (or none could be
/// listed); None when one does.
pub(super) async fn unselected_note(
    cluster: &Cluster,
    rule_id: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Result<Option<String>> {
    let client = cluster.client().await?;
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &prometheus_resource());
    let listed = match api.list(&Default::default()).await {
        Ok(listed) => listed.items,
        Err(kube::Error::Api(status)) if status.code == 404 => vec![],
        Err(kube::Error::Api(status)) if status.code == 403 => {
            return Ok(Some(format!(
                "{rule_id}: whether a Prometheus loads the rule is not known: listing prometheuses.monitoring.coreos.com was forbidden ({}); allow `list` on them to have plan check it",
                status.message
            )))
        }
        Err(error) => {
            return Err(anyhow!(
                "listing the cluster's Prometheus objects failed: {}",
                describe_kube_error(&error)
            ))
        }
    };
    if listed.is_empty() {
        return Ok(Some(format!(
            "{rule_id}: the cluster has no Prometheus object (monitoring.coreos.com/v1), so nothing evaluates the rule"
        )));
    }
    let mut namespace_labels = None;
    let mut seen = vec![];
    for prometheus in &listed {
        let own = prometheus.metadata.namespace.clone().unwrap_or_default();
        let name = format!(
            "{own}/{}",
            prometheus.metadata.name.clone().unwrap_or_default()
        );
        let spec = &prometheus.data["spec"];
        let rules_match = selects(&spec["ruleSelector"], labels);
        let namespace_selector = &spec["ruleNamespaceSelector"];
        let namespace_matches = if namespace_selector.is_null() {
            own == namespace
        } else {
            if namespace_labels.is_none() {
                namespace_labels = Some(labels_of_namespace(cluster, namespace).await?);
            }
            let labels = namespace_labels.as_ref().cloned().unwrap_or_default();
            selects(namespace_selector, &labels)
        };
        if rules_match && namespace_matches {
            return Ok(None);
        }
        seen.push(format!(
            "{name} selects rules by {} in {}",
            show_selector(&spec["ruleSelector"], "nothing (ruleSelector unset)"),
            if namespace_selector.is_null() {
                format!("its own namespace {own}")
            } else {
                format!(
                    "namespaces matching {}",
                    show_selector(namespace_selector, "")
                )
            }
        ));
    }
    Ok(Some(format!(
        "{rule_id}: no Prometheus in the cluster loads this rule, so its alerts never fire: {}; set [kafka.alerts] rule_labels to labels one of them selects (kube-prometheus-stack's selects release = \"<helm release>\")",
        seen.join("; ")
    )))
}

/// The namespace's labels, with the `kubernetes.io/metadata.name` label Kubernetes sets on
/// every namespace (since 1.21).
async fn labels_of_namespace(
    cluster: &Cluster,
    namespace: &str,
) -> Result<BTreeMap<String, String>> {
    let api: Api<Namespace> = Api::all(cluster.client().await?);
    let found = api.get_opt(namespace).await.map_err(|e| {
        anyhow!(
            "reading namespace {namespace} failed: {}",
            describe_kube_error(&e)
        )
    })?;
    let mut labels = found.and_then(|n| n.metadata.labels).unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".into(), namespace.into());
    Ok(labels)
}

/// A Kubernetes label selector (`matchLabels`, `matchExpressions` with In, NotIn, Exists,
/// DoesNotExist) against labels; `{}` matches everything, null (unset) nothing.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    if selector.is_null() {
        return false;
    }
    let match_labels = selector["matchLabels"].as_object();
    let labels_match = match_labels.is_none_or(|wanted| {
        wanted
            .iter()
            .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
    });
    let expressions = selector["matchExpressions"].as_array();
    labels_match && expressions.is_none_or(|all| all.iter().all(|e| expression_matches(e, labels)))
}

fn expression_matches(expression: &Value, labels: &BTreeMap<String, String>) -> bool {
    let key = expression["key"].as_str().unwrap_or_default();
    let values: Vec<&str> = expression["values"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let value = labels.get(key).map(String::as_str);
    match expression["operator"].as_str().unwrap_or_default() {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => value.is_none_or(|v| !values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        // An operator Kubernetes does not know matches nothing (it would have been refused).
        _ => false,
    }
}

/// A selector as `kubectl` users write it: `release=kube-prometheus-stack, team in (a,b)`.
fn show_selector(selector: &Value, null: &str) -> String {
    if selector.is_null() {
        return null.to_string();
    }
    let mut terms: Vec<String> = selector["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    for expression in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = expression["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expression["values"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        terms.push(match expression["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other}"),
        });
    }
    if terms.is_empty() {
        "everything ({})".to_string()
    } else {
        terms.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selectors_follow_kubernetes() {
        let release = labels(&[("release", "kube-prometheus-stack")]);
        assert!(!selects(&Value::Null, &release));
        assert!(selects(&json!({}), &labels(&[])));
        let by_release = json!({"matchLabels": {"release": "kube-prometheus-stack"}});
        assert!(selects(&by_release, &release));
        assert!(!selects(&by_release, &labels(&[("release", "other")])));
        let expressions = json!({"matchExpressions": [
            {"key": "team", "operator": "In", "values": ["logs", "ml"]},
            {"key": "legacy", "operator": "DoesNotExist"}
        ]});
        assert!(selects(&expressions, &labels(&[("team", "logs")])));
        assert!(!selects(
            &expressions,
            &labels(&[("team", "logs"), ("legacy", "1")])
        ));
        assert_eq!(
            show_selector(&expressions, ""),
            "team in (logs,ml), !legacy"
        );
    }
}
