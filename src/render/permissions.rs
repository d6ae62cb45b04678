//! The declarations of `plan::permissions` as the policies people hand their CI: an IAM policy
//! document (also as Terraform's `aws_iam_policy_document` and a CloudFormation managed
//! policy), Kubernetes RBAC objects with the EKS access entry, and Kafka ACLs. Values from the
//! stack file (names, ARNs) are data: JSON and YAML output is written by serde, HCL and shell
//! output is escaped.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::plan::permissions::{AwsGrant, KafkaGrant, KubeGrant, Permissions, Resource, Statement};

/// The IAM policy document (`Version` 2012-10-17).
pub fn iam_policy(statements: &[Statement]) -> Value {
    let statements: Vec<Value> = statements
        .iter()
        .map(|s| {
            json!({
                "Sid": s.sid,
                "Effect": "Allow",
                "Action": s.actions,
                "Resource": s.resources,
            })
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The same statements as a CloudFormation template with one `AWS::IAM::ManagedPolicy`.
pub fn cloudformation(statements: &[Statement], description: &str, logical_id: &str) -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Resources": {
            logical_id: {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": description,
                    "PolicyDocument": iam_policy(statements),
                }
            }
        },
        "Outputs": {
            "PolicyArn": { "Value": { "Ref": logical_id } }
        }
    })
}

/// The same statements as Terraform's `aws_iam_policy_document` data source.
pub fn terraform(statements: &[Statement], name: &str, comment: &str) -> String {
    let mut out = format!(
        "# {}\ndata \"aws_iam_policy_document\" \"{}\" {{\n",
        one_line(comment),
        hcl_identifier(name)
    );
    for statement in statements {
        out.push_str("  statement {\n");
        out.push_str(&format!("    sid       = {}\n", hcl_string(&statement.sid)));
        out.push_str("    effect    = \"Allow\"\n");
        out.push_str(&format!(
            "    actions   = {}\n",
            hcl_list(&statement.actions)
        ));
        out.push_str(&format!(
            "    resources = {}\n",
            hcl_list(&statement.resources)
        ));
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// A string literal of HCL: quotes and backslashes escaped, and template sequences (`${`,
/// `%{`) doubled so a name from a stack file is never interpolated.
fn hcl_string(value: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hcl_list(values: &BTreeSet<String>) -> String {
    let items: Vec<String> = values.iter().map(|v| hcl_string(v)).collect();
    format!("[{}]", items.join(", "))
}

/// A Terraform block label: letters, digits, `_` and `-`, not starting with a digit.
fn hcl_identifier(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

fn one_line(text: &str) -> String {
    crate::escape::printable(&text.replace(['\n', '\r'], " ")).into_owned()
}

/// Who the RBAC objects bind: the Kubernetes group the EKS access entry maps the role to.
pub struct KubeSubject<'a> {
    pub group: &'a str,
    pub object_name: &'a str,
    pub cluster: Option<&'a str>,
    pub principal_arn: &'a str,
}

/// RBAC rules grouped as Roles (per namespace) and one ClusterRole, with their bindings to
/// the subject's group, as Kubernetes objects.
pub fn rbac_objects(grants: &[KubeGrant], subject: &KubeSubject) -> Vec<Value> {
    let mut namespaced: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut cluster: Vec<Value> = vec![];
    for (key, verbs) in rule_groups(grants) {
        let (namespace, group, resource, names) = key;
        let mut rule = json!({
            "apiGroups": [group],
            "resources": [resource],
            "verbs": verbs,
        });
        if !names.is_empty() {
            rule["resourceNames"] = json!(names);
        }
        match namespace {
            Some(ns) => namespaced.entry(ns).or_default().push(rule),
            None => cluster.push(rule),
        }
    }
    let mut objects = vec![];
    let labels = json!({ "app.kubernetes.io/managed-by": "pipectl" });
    for (namespace, rules) in namespaced {
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": { "name": subject.object_name, "namespace": namespace, "labels": labels },
            "rules": rules,
        }));
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": { "name": subject.object_name, "namespace": namespace, "labels": labels },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": subject.object_name },
            "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": subject.group }],
        }));
    }
    if !cluster.is_empty() {
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": { "name": subject.object_name, "labels": labels },
            "rules": cluster,
        }));
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": { "name": subject.object_name, "labels": labels },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": subject.object_name },
            "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": subject.group }],
        }));
    }
    objects
}

type RuleKey<'a> = (Option<&'a str>, &'a str, &'a str, Vec<String>);

/// Verbs gathered per (namespace, group, resource, names): RBAC allows a verb on a rule's
/// every name, so grants are only merged where their names are the same.
fn rule_groups(grants: &[KubeGrant]) -> BTreeMap<RuleKey<'_>, BTreeSet<&str>> {
    let mut groups: BTreeMap<RuleKey, BTreeSet<&str>> = BTreeMap::new();
    for grant in grants {
        let mut names = grant.names.clone();
        names.sort();
        names.dedup();
        groups
            .entry((
                grant.namespace.as_deref(),
                grant.group,
                grant.resource,
                names,
            ))
            .or_default()
            .insert(grant.verb);
    }
    groups
}

/// YAML documents (each a JSON object, which YAML reads as it is), for `kubectl apply -f`.
pub fn yaml_documents(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| {
            format!(
                "---\n{}\n",
                serde_json::to_string_pretty(o).unwrap_or_default()
            )
        })
        .collect()
}

/// The EKS access entry that maps the caller's role to the RBAC group, as AWS CLI commands.
pub fn access_entry_commands(subject: &KubeSubject) -> String {
    let cluster = subject.cluster.unwrap_or("CLUSTER");
    format!(
        "# EKS access entry: map the IAM principal pipectl runs as to the group the bindings name\naws eks create-access-entry --cluster-name {} --principal-arn {} --type STANDARD --kubernetes-groups {}\n",
        shell_word(cluster),
        shell_word(subject.principal_arn),
        shell_word(subject.group)
    )
}

/// One word for a POSIX shell: single-quoted unless it is plainly safe.
pub fn shell_word(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/=@+,<>".contains(c));
    if safe && !value.contains(['<', '>']) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// The ACLs as `kafka-acls.sh` commands for the admin principal.
pub fn kafka_acl_commands(grants: &[KafkaGrant], principal: &str, bootstrap: &str) -> String {
    let mut out = String::new();
    for ((resource_type, name), operations) in acl_groups(grants) {
        let resource_flag = match resource_type {
            "Cluster" => "--cluster".to_string(),
            _ => format!(
                "--topic {} --resource-pattern-type literal",
                shell_word(name)
            ),
        };
        let operations: Vec<String> = operations
            .iter()
            .map(|op| format!("--operation {op}"))
            .collect();
        out.push_str(&format!(
            "kafka-acls.sh --bootstrap-server {} --command-config admin.properties --add --allow-principal {} {} {}\n",
            shell_word(bootstrap),
            shell_word(principal),
            operations.join(" "),
            resource_flag
        ));
    }
    out
}

/// Operations gathered per resource.
fn acl_groups(grants: &[KafkaGrant]) -> BTreeMap<(&str, &str), BTreeSet<&str>> {
    let mut groups: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for grant in grants {
        groups
            .entry((grant.resource_type, grant.name.as_str()))
            .or_default()
            .insert(grant.operation);
    }
    groups
}

/// The same ACLs as a Strimzi `KafkaUser` (SCRAM-SHA-512, simple authorization).
pub fn strimzi_user(grants: &[KafkaGrant], user: &str, cluster: &str) -> Value {
    let acls: Vec<Value> = acl_groups(grants)
        .into_iter()
        .map(|((resource_type, name), operations)| {
            let resource = match resource_type {
                "Cluster" => json!({ "type": "cluster" }),
                _ => json!({ "type": "topic", "name": name, "patternType": "literal" }),
            };
            json!({ "resource": resource, "operations": operations, "host": "*" })
        })
        .collect();
    json!({
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": { "name": user, "labels": { "strimzi.io/cluster": cluster } },
        "spec": {
            "authentication": { "type": "scram-sha-512" },
            "authorization": { "type": "simple", "acls": acls },
        }
    })
}

/// Which declarations are made only in some cases, as comment lines (`# ...`).
pub fn conditional_notes(permissions: &Permissions) -> Vec<String> {
    let mut notes = BTreeSet::new();
    for grant in &permissions.aws {
        if let Some(when) = grant.when {
            notes.insert(format!("{}: needed only when {when}", grant.action));
        }
    }
    for grant in &permissions.kube {
        if let Some(when) = grant.when {
            notes.insert(format!(
                "{} {}: needed only when {when}",
                grant.verb, grant.resource
            ));
        }
    }
    for grant in &permissions.kafka {
        if let Some(when) = grant.when {
            notes.insert(format!(
                "{} on {}: needed only when {when}",
                grant.operation, grant.name
            ));
        }
    }
    notes.into_iter().collect()
}

/// Why each `*` statement is on `*`.
pub fn wildcard_reasons(grants: &[AwsGrant]) -> BTreeMap<&'static str, &'static str> {
    grants
        .iter()
        .filter_map(|g| match g.resource {
            Resource::Any { sid, why } => Some((sid, why)),
            Resource::Arn(_) => None,
        })
        .collect()
}

/// docs/permissions.md: every kind's declarations for the seed article's stack
/// (stacks/kafka-logs.toml), per command, with the reason of each `*`.
pub fn reference_markdown(spec: &crate::spec::StackSpec) -> String {
    use crate::escape::markdown_code as code;
    let scope = crate::plan::permissions::Scope {
        partition: "aws".to_string(),
        region: "us-east-1".to_string(),
        account: "123456789012".to_string(),
    };
    let mut out = String::from(
        "# Permissions\n\nGenerated from the kinds' declarations (`Kind::permissions`) for the seed article's stack, stacks/kafka-logs.toml, in account 123456789012 and region us-east-1 (`UPDATE_DOCS=1 cargo test --lib permissions` rewrites it; a test fails when it is out of date). `pipectl permissions -f STACK.toml --for plan|drift|apply|import` prints the same for your stack as an IAM policy, Terraform, CloudFormation, Kubernetes RBAC or Kafka ACLs. A row with a condition is needed only then; everything else is called on every run of its commands.\n\n## AWS (IAM)\n\n| resource kind | commands | action | resource | only when |\n| --- | --- | --- | --- | --- |\n",
    );
    let groups = crate::engine::permissions::kind_groups(spec, &scope);
    let mut rows = Rows::default();
    for (label, permissions) in &groups {
        for grant in &permissions.aws {
            let resource = match &grant.resource {
                Resource::Arn(arn) => code(arn),
                Resource::Any { sid, .. } => format!("`*` ({sid})"),
            };
            rows.push(
                &mut out,
                format!(
                    "| {label} | {} | {} | {resource} | {} |\n",
                    commands_label(grant.commands),
                    code(grant.action),
                    grant.when.unwrap_or("")
                ),
            );
        }
    }
    out.push_str("\n## Kubernetes (RBAC)\n\n| resource kind | commands | verb | resource | namespace | names | only when |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (label, permissions) in &groups {
        for grant in &permissions.kube {
            let resource = match grant.group {
                "" => grant.resource.to_string(),
                group => format!("{group}/{}", grant.resource),
            };
            rows.push(
                &mut out,
                format!(
                    "| {label} | {} | `{}` | `{resource}` | {} | {} | {} |\n",
                    commands_label(grant.commands),
                    grant.verb,
                    grant
                        .namespace
                        .as_deref()
                        .map(code)
                        .unwrap_or_else(|| "(cluster)".to_string()),
                    grant
                        .names
                        .iter()
                        .map(|n| code(n))
                        .collect::<Vec<_>>()
                        .join(", "),
                    grant.when.unwrap_or("")
                ),
            );
        }
    }
    out.push_str("\n## Kafka (ACLs of the `[kafka.admin]` user)\n\n| resource kind | commands | operation | resource | call | only when |\n| --- | --- | --- | --- | --- | --- |\n");
    for (label, permissions) in &groups {
        for grant in &permissions.kafka {
            rows.push(
                &mut out,
                format!(
                    "| {label} | {} | `{}` | {} {} | `{}` | {} |\n",
                    commands_label(grant.commands),
                    grant.operation,
                    grant.resource_type,
                    code(&grant.name),
                    grant.call,
                    grant.when.unwrap_or("")
                ),
            );
        }
    }
    out.push_str("\n## Why `*`\n\n");
    let all: Vec<_> = groups
        .iter()
        .flat_map(|(_, p)| p.aws.iter().cloned())
        .collect();
    for (sid, why) in wildcard_reasons(&all) {
        out.push_str(&format!("- `{sid}`: {why}.\n"));
    }
    out
}

/// Table rows, each once (a kind may declare one call for several of its changes).
#[derive(Default)]
struct Rows(std::collections::BTreeSet<String>);

impl Rows {
    fn push(&mut self, out: &mut String, row: String) {
        if self.0.insert(row.clone()) {
            out.push_str(&row);
        }
    }
}

fn commands_label(commands: &[crate::plan::permissions::Command]) -> String {
    commands
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/permissions.md is what the declarations generate.
    #[test]
    fn the_permissions_reference_is_generated_from_the_declarations() {
        crate::assert_generated(
            "docs/permissions.md",
            &reference_markdown(&crate::engine::permissions::seed_article_spec()),
            "UPDATE_DOCS",
        );
    }

    #[test]
    fn hcl_strings_are_never_interpolated() {
        assert_eq!(hcl_string("a\"b${c}%{d}\\"), "\"a\\\"b$${c}%%{d}\\\\\"");
    }

    #[test]
    fn shell_words_are_quoted_when_not_plain() {
        assert_eq!(shell_word("application-logs"), "application-logs");
        assert_eq!(shell_word("a b'c"), "'a b'\\''c'");
        assert_eq!(shell_word("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
