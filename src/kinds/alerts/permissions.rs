//! What the alerts kind calls in Kubernetes: its PrometheusRule and dashboard ConfigMap by
//! name in the stack's namespace (read whenever the file names a cluster, to find ones a
//! removed `[kafka.alerts]` left behind), and the Prometheus objects that decide whether the
//! rule is loaded.

use crate::plan::permissions::{Command, KubeGrant, Permissions, Scope, READ, WRITE};
use crate::plan::ResourceKind;
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
    let objects = Objects::of(spec.stack.name.get_ref(), namespace);
    out.kube.extend(objects.grants("get", READ, false));
    out.kube.extend(objects.grants("delete", WRITE, true));
    if spec.section::<KafkaAlerts>().is_some() {
        out.kube.extend(objects.grants("patch", WRITE, true));
        // A server-side apply that creates the object is authorized as `create` on its name
        // too (k8s.io/apiserver, endpoints/handlers/patch.go).
        out.kube.extend(objects.grants("create", WRITE, true));
        out.kube.extend(prometheus_reads(namespace));
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

/// The stack's PrometheusRule and dashboard ConfigMap in its namespace.
struct Objects<'a> {
    namespace: &'a str,
    rule: String,
    dashboard: String,
}

impl<'a> Objects<'a> {
    fn of(stack: &str, namespace: &'a str) -> Self {
        Objects {
            namespace,
            rule: super::rule_name(stack),
            dashboard: super::dashboard_name(stack),
        }
    }

    /// `verb` on the rule, then on the dashboard; a write names the changes that make it.
    fn grants(
        &self,
        verb: &'static str,
        commands: &'static [Command],
        write: bool,
    ) -> [KubeGrant; 2] {
        let changes =
            |kind: ResourceKind| write.then(|| format!("{}.{}/", kind.prefix(), self.namespace));
        let ns = Some(self.namespace);
        [
            grant(
                RULES,
                verb,
                ns,
                vec![self.rule.clone()],
                commands,
                changes(super::RULE),
            ),
            grant(
                CONFIG_MAPS,
                verb,
                ns,
                vec![self.dashboard.clone()],
                commands,
                changes(super::DASHBOARD),
            ),
        ]
    }
}

/// What tells whether a Prometheus loads the rule: the Prometheus objects, and the namespace's
/// labels when one selects rules by them.
fn prometheus_reads(namespace: &str) -> [KubeGrant; 2] {
    let mut prometheus_list = grant(
        ("monitoring.coreos.com", "prometheuses"),
        "list",
        None,
        vec![],
        READ,
        None,
    );
    prometheus_list.when = Some("the rule changes (does a Prometheus load it?)");
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
    [prometheus_list, namespace_read]
}
