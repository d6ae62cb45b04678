//! What the alerts kind calls in Kubernetes: its PrometheusRule and dashboard ConfigMap by
//! name in the stack's namespace (read whenever the file names a cluster, to find ones a
//! removed `[kafka.alerts]` left behind), and the Prometheus objects that decide whether the
//! rule is loaded.

use crate::plan::permissions::{Command, KubeGrant, Permissions, Scope, READ, WRITE};
use crate::providers::eks::section::EksSection;
use crate::spec::StackSpec;

use super::section::KafkaAlerts;

const RULES: (&str, &str) = ("monitoring.coreos.com", "prometheusrules");
const CONFIG_MAPS: (&str, &str) = ("", "configmaps");

fn grant(
    resource: (&'static str, &'static str),
    verb: &'static str,
    namespace: Option<&str>,
    names: Vec<String>,
    commands: &'static [Command],
    changes: Option<String>,
) -> KubeGrant {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    KubeGrant::new(
        resource,
        verb,
        namespace,
        &names,
        commands,
        changes.as_deref(),
    )
}

pub fn permissions(spec: &StackSpec, _scope: &Scope) -> Permissions {
    let mut out = Permissions::default();
    let Some(eks) = spec.section::<EksSection>() else {
        return out;
    };
    let namespace = eks.namespace.get_ref().as_str();
    let stack = spec.stack.name.get_ref();
    let rule = vec![super::rule_name(stack)];
    let dashboard = vec![super::dashboard_name(stack)];
    let rule_changes = Some(format!("{}.{namespace}/", super::RULE.prefix()));
    let dashboard_changes = Some(format!("{}.{namespace}/", super::DASHBOARD.prefix()));
    let ns = Some(namespace);
    out.kube.extend([
        grant(RULES, "get", ns, rule.clone(), READ, None),
        grant(CONFIG_MAPS, "get", ns, dashboard.clone(), READ, None),
        grant(
            RULES,
            "delete",
            ns,
            rule.clone(),
            WRITE,
            rule_changes.clone(),
        ),
        grant(
            CONFIG_MAPS,
            "delete",
            ns,
            dashboard.clone(),
            WRITE,
            dashboard_changes.clone(),
        ),
    ]);
    if spec.section::<KafkaAlerts>().is_some() {
        let mut namespace_read = grant(
            ("", "namespaces"),
            "get",
            None,
            vec![namespace.to_string()],
            READ,
            None,
        );
        namespace_read.when =
            Some("the rule changes and a Prometheus selects rules by their namespace's labels");
        let mut prometheus_list = grant(
            ("monitoring.coreos.com", "prometheuses"),
            "list",
            None,
            vec![],
            READ,
            None,
        );
        prometheus_list.when = Some("the rule changes (does a Prometheus load it?)");
        out.kube.extend([
            grant(
                RULES,
                "patch",
                ns,
                rule.clone(),
                WRITE,
                rule_changes.clone(),
            ),
            grant(
                CONFIG_MAPS,
                "patch",
                ns,
                dashboard.clone(),
                WRITE,
                dashboard_changes.clone(),
            ),
            // A server-side apply that creates the object is authorized as `create` on its
            // name too (k8s.io/apiserver, endpoints/handlers/patch.go).
            grant(RULES, "create", ns, rule, WRITE, rule_changes),
            grant(
                CONFIG_MAPS,
                "create",
                ns,
                dashboard,
                WRITE,
                dashboard_changes,
            ),
            prometheus_list,
            namespace_read,
        ]);
    }
    out.creates_only_when_missing();
    // Each write as the step that makes it lists it (for `--plan`).
    for grant in out.kube.iter_mut().filter(|g| g.commands == WRITE) {
        grant.call = Some(match (grant.resource, grant.verb) {
            ("prometheusrules", "delete") => super::DELETE_RULE,
            ("prometheusrules", _) => super::APPLY_RULE,
            ("configmaps", "delete") => super::DELETE_DASHBOARD,
            ("configmaps", _) => super::APPLY_DASHBOARD,
            _ => continue,
        });
    }
    out
}
