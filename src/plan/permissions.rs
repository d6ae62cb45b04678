//! What a command must be allowed to do for a stack, as data: each kind declares, for every
//! call it makes, the IAM action and the ARN it acts on (or why it is `*`), the Kubernetes verb
//! and resource, the Kafka operation. `pipectl permissions` renders these declarations as
//! policies, `plan --check-permissions` asks IAM about them, and docs/operations.md's table is
//! generated from them: one source of truth.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Plan;

/// A pipectl command whose calls a grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Plan,
    Drift,
    Apply,
    Import,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Plan => "plan",
            Command::Drift => "drift",
            Command::Apply => "apply",
            Command::Import => "import",
        }
    }
}

/// Reads plan, drift and apply make (apply plans again before it writes).
pub const READ: &[Command] = &[Command::Plan, Command::Drift, Command::Apply];
/// Writes only apply makes.
pub const WRITE: &[Command] = &[Command::Apply];
/// Plan's own extras: asking the service to validate the writes it plans (Kafka's
/// `validate_only`), which apply does too before it writes.
pub const VALIDATE: &[Command] = &[Command::Plan, Command::Apply];
/// Only plan (cost).
pub const PLAN_ONLY: &[Command] = &[Command::Plan];
/// `pipectl import` (discovery and the reads of what it imports).
pub const IMPORT: &[Command] = &[Command::Import];
/// Reads every command makes, import included.
pub const EVERY: &[Command] = &[
    Command::Plan,
    Command::Drift,
    Command::Apply,
    Command::Import,
];

/// What an IAM statement's `Resource` is for one action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// An ARN (may end in a wildcard where the name is not known before the call, e.g. a
    /// volume's id).
    Arn(String),
    /// `*`: the action has no resource type in the Service Authorization Reference, or its
    /// resource cannot be named in advance. `sid` names the reason in a statement id.
    Any {
        sid: &'static str,
        why: &'static str,
    },
}

/// One IAM action on one resource.
#[derive(Debug, Clone)]
pub struct AwsGrant {
    /// As IAM names it: `dynamodb:DescribeTable`.
    pub action: &'static str,
    pub resource: Resource,
    pub commands: &'static [Command],
    /// For writes: the plan resource ids (a prefix, `dynamodb.table.Logs`) whose steps make the
    /// call, so `--plan` keeps only what a reviewed plan does.
    pub changes: Option<String>,
    /// Made only in some cases (said here): a run that does not meet them does not call it.
    pub when: Option<&'static str>,
}

/// One Kubernetes verb on one resource.
#[derive(Debug, Clone)]
pub struct KubeGrant {
    /// The API group ("" for core).
    pub group: &'static str,
    /// The plural resource name (`horizontalpodautoscalers`).
    pub resource: &'static str,
    pub verb: &'static str,
    /// The namespace; None for a cluster-scoped resource (or a list across namespaces).
    pub namespace: Option<String>,
    /// The object names it acts on (RBAC `resourceNames`); none for list and create.
    pub names: Vec<String>,
    pub commands: &'static [Command],
    pub changes: Option<String>,
    pub when: Option<&'static str>,
    /// For writes: the call as the plan step that makes it lists it (`kubernetes:apply
    /// autoscaling/v2 horizontalpodautoscalers`), so `--plan` keeps only what a plan does.
    pub call: Option<&'static str>,
}

impl KubeGrant {
    /// `verb` on `group`/`resource` in `namespace` (None: cluster-scoped), limited to `names`
    /// when given, for `commands`; a write names the changes (id prefix) whose steps make it.
    pub fn new(
        (group, resource): (&'static str, &'static str),
        verb: &'static str,
        namespace: Option<&str>,
        names: &[&str],
        commands: &'static [Command],
        changes: Option<&str>,
    ) -> KubeGrant {
        KubeGrant {
            group,
            resource,
            verb,
            namespace: namespace.map(str::to_string),
            names: names.iter().map(|n| n.to_string()).collect(),
            commands,
            changes: changes.map(str::to_string),
            when: None,
            call: None,
        }
    }
}

/// One Kafka ACL operation for the admin user.
#[derive(Debug, Clone)]
pub struct KafkaGrant {
    /// `Topic` or `Cluster`.
    pub resource_type: &'static str,
    pub name: String,
    pub operation: &'static str,
    /// The admin API call a plan step lists (`kafka:CreatePartitions`).
    pub call: &'static str,
    pub commands: &'static [Command],
    pub changes: Option<String>,
    pub when: Option<&'static str>,
}

/// A kind's (or the whole stack's) declarations.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    pub aws: Vec<AwsGrant>,
    pub kube: Vec<KubeGrant>,
    pub kafka: Vec<KafkaGrant>,
}

impl Permissions {
    pub fn extend(&mut self, other: Permissions) {
        self.aws.extend(other.aws);
        self.kube.extend(other.kube);
        self.kafka.extend(other.kafka);
    }

    pub fn aws(&mut self, action: &'static str, resource: Resource, commands: &'static [Command]) {
        self.aws.push(AwsGrant {
            action,
            resource,
            commands,
            changes: None,
            when: None,
        });
    }

    /// An action made by steps of the changes whose ids start with `changes`.
    pub fn aws_write(&mut self, action: &'static str, resource: Resource, changes: &str) {
        self.aws.push(AwsGrant {
            action,
            resource,
            commands: WRITE,
            changes: Some(changes.to_string()),
            when: None,
        });
    }

    /// Marks the grants added since `from` as made only `when`.
    pub fn only_when(&mut self, from: usize, when: &'static str) {
        for grant in &mut self.aws[from..] {
            grant.when = Some(when);
        }
    }

    /// Marks the Kubernetes `create` grants as needed only for a missing object: server-side
    /// apply is authorized as `create` only when it creates (k8s.io/apiserver, patch.go).
    pub fn creates_only_when_missing(&mut self) {
        for grant in self.kube.iter_mut().filter(|g| g.verb == "create") {
            grant.when = Some("the object does not exist yet (server-side apply creates it)");
        }
    }

    /// What `command` needs.
    pub fn for_command(self, command: Command) -> Permissions {
        Permissions {
            aws: retain(self.aws, |g| g.commands.contains(&command)),
            kube: retain(self.kube, |g| g.commands.contains(&command)),
            kafka: retain(self.kafka, |g| g.commands.contains(&command)),
        }
    }

    /// Narrowed to what applying `plan` does: its reads, and only the writes its steps list
    /// for the changes they belong to.
    pub fn for_plan(self, plan: &Plan) -> Permissions {
        let calls: BTreeSet<(String, &str)> = plan
            .changes
            .iter()
            .flat_map(|change| {
                let id = change.id.to_string();
                change
                    .steps
                    .iter()
                    .flat_map(|step| step.api_calls.iter())
                    .map(move |call| (id.clone(), call.as_str()))
            })
            .collect();
        // A write no change names (the apply lock) is made by every apply.
        let planned = |changes: &Option<String>, call: &str| match changes {
            None => true,
            Some(prefix) => calls
                .iter()
                .any(|(id, c)| id.starts_with(prefix.as_str()) && *c == call),
        };
        // Writes, and the dry runs of writes apply sends before it makes them (Kafka's
        // validate_only): what only a change needs. Reads stay.
        let is_write = |commands: &[Command]| {
            commands.contains(&Command::Apply) && !commands.contains(&Command::Drift)
        };
        Permissions {
            aws: retain(self.aws, |g| {
                !is_write(g.commands) || planned(&g.changes, g.action)
            }),
            kube: retain(self.kube, |g| {
                !is_write(g.commands) || g.call.is_none_or(|call| planned(&g.changes, call))
            }),
            kafka: retain(self.kafka, |g| {
                !is_write(g.commands) || planned(&g.changes, g.call)
            }),
        }
    }
}

fn retain<T>(mut items: Vec<T>, keep: impl Fn(&T) -> bool) -> Vec<T> {
    items.retain(|item| keep(item));
    items
}

/// The account, region and partition ARNs are built in.
#[derive(Debug, Clone)]
pub struct Scope {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Scope {
    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
    pub fn arn(&self, service: &str, resource: &str) -> Resource {
        Resource::Arn(format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition, self.region, self.account
        ))
    }
}

/// The partition of a region (`aws-cn` for China, `aws-us-gov` for GovCloud).
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A secret named by its ARN, as IAM matches it: Secrets Manager appends six random
/// characters to a secret's name in its ARN, and a stack file may give the ARN with or without
/// them (GetSecretValue accepts both), which cannot be told apart from the name alone
/// (`kafka-log-lambda` ends in six letters too). Both forms are granted: the ARN as given, and
/// the ARN followed by `-??????` (Secrets Manager user guide, "Resource: secret ARN").
pub fn secret_resources(arn: &str) -> [Resource; 2] {
    [
        Resource::Arn(arn.to_string()),
        Resource::Arn(format!("{arn}-??????")),
    ]
}

/// One IAM statement: its id, actions and resources (`*` alone, or ARNs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub actions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
}

/// The statements of a policy that allows exactly `grants`: one statement per set of ARNs
/// shared by the same actions, and one per reason an action must be on `*`.
pub fn statements(grants: &[AwsGrant]) -> Vec<Statement> {
    let mut on_arns: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut on_any: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for grant in grants {
        match &grant.resource {
            Resource::Arn(arn) => {
                on_arns.entry(grant.action).or_default().insert(arn.clone());
            }
            Resource::Any { sid, .. } => {
                on_any
                    .entry(sid)
                    .or_default()
                    .insert(grant.action.to_string());
            }
        }
    }
    // An action on `*` for one reason needs no ARN statement of its own.
    let anywhere: BTreeSet<&String> = on_any.values().flatten().collect();
    let mut by_resources: BTreeMap<BTreeSet<String>, BTreeSet<String>> = BTreeMap::new();
    for (action, arns) in on_arns {
        if !anywhere.contains(&action.to_string()) {
            by_resources
                .entry(arns)
                .or_default()
                .insert(action.to_string());
        }
    }
    let mut out = vec![];
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for (resources, actions) in by_resources {
        let sid = unique_sid(&mut used, arn_sid(&actions, &resources));
        out.push(Statement {
            sid,
            actions,
            resources,
        });
    }
    for (sid, actions) in on_any {
        out.push(Statement {
            sid: unique_sid(&mut used, sid.to_string()),
            actions,
            resources: BTreeSet::from(["*".to_string()]),
        });
    }
    out
}

/// `DynamoDbWriteOnTables`-like: the services and what the actions do, from the actions and
/// the resource types of the ARNs.
fn arn_sid(actions: &BTreeSet<String>, resources: &BTreeSet<String>) -> String {
    let services: BTreeSet<String> = actions
        .iter()
        .filter_map(|a| a.split(':').next())
        .map(pascal)
        .collect();
    let reads = actions.iter().all(|a| {
        let name = a.split(':').nth(1).unwrap_or("");
        ["Describe", "Get", "List"]
            .iter()
            .any(|p| name.starts_with(p))
    });
    let types: BTreeSet<String> = resources
        .iter()
        .filter_map(|arn| arn.splitn(6, ':').nth(5))
        .map(|r| {
            let kind = r.split(['/', ':']).next().unwrap_or("");
            pascal(kind)
        })
        .collect();
    format!(
        "{}{}On{}",
        services.into_iter().collect::<String>(),
        if reads { "Read" } else { "Write" },
        types.into_iter().collect::<String>()
    )
}

/// `event-source-mapping` → `EventSourceMapping`, keeping only what a Sid may hold
/// (alphanumerics).
fn pascal(word: &str) -> String {
    word.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn unique_sid(used: &mut BTreeMap<String, usize>, sid: String) -> String {
    let count = used.entry(sid.clone()).or_insert(0);
    *count += 1;
    if *count == 1 {
        sid
    } else {
        format!("{sid}{count}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(action: &'static str, resource: Resource) -> AwsGrant {
        AwsGrant {
            action,
            resource,
            commands: READ,
            changes: None,
            when: None,
        }
    }

    #[test]
    fn actions_on_the_same_arns_share_a_statement_and_stars_say_why() {
        let table = "arn:aws:dynamodb:us-east-1:123456789012:table/Logs".to_string();
        let any = Resource::Any {
            sid: "NoResourceType",
            why: "because",
        };
        let statements = statements(&[
            grant("dynamodb:DescribeTable", Resource::Arn(table.clone())),
            grant("dynamodb:UpdateTable", Resource::Arn(table.clone())),
            grant("dynamodb:ListTables", any.clone()),
            grant("dynamodb:ListTables", any),
        ]);
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].sid, "DynamodbWriteOnTable");
        assert_eq!(
            statements[0].actions,
            BTreeSet::from([
                "dynamodb:DescribeTable".into(),
                "dynamodb:UpdateTable".into()
            ])
        );
        assert_eq!(statements[0].resources, BTreeSet::from([table]));
        assert_eq!(statements[1].sid, "NoResourceType");
        assert_eq!(statements[1].resources, BTreeSet::from(["*".to_string()]));
    }

    #[test]
    fn a_secret_is_granted_with_and_without_its_random_suffix() {
        let bare = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-admin";
        assert_eq!(
            secret_resources(bare),
            [
                Resource::Arn(bare.to_string()),
                Resource::Arn(format!("{bare}-??????"))
            ]
        );
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }
}
