//! Everything a command needs to be allowed to do for a stack: every kind's declarations
//! (`Kind::permissions`), the connections' (the EKS cluster), apply's lock and plan's usage
//! read. The one place they are gathered, for `pipectl permissions`, the preflight and the
//! generated permissions table.

use crate::plan::permissions::{Command, Permissions, Resource, Scope, EVERY, PLAN_ONLY};
use crate::spec::StackSpec;

use super::registry::KINDS;

/// What `pipectl` needs for `spec`: every command's grants (filter with
/// `Permissions::for_command`).
pub fn stack_permissions(spec: &StackSpec, scope: &Scope, lock_table: &str) -> Permissions {
    let mut out = cluster_permissions(spec, scope);
    for kind in KINDS {
        out.extend(kind.permissions(spec, scope));
    }
    out.extend(run_permissions(spec, scope, lock_table));
    out
}

/// The connection to the EKS cluster the stack names.
fn cluster_permissions(spec: &StackSpec, scope: &Scope) -> Permissions {
    let mut out = Permissions::default();
    if let Some(cluster) = spec
        .section::<crate::providers::eks::EksSection>()
        .and_then(|eks| eks.cluster.as_ref())
    {
        out.aws(
            "eks:DescribeCluster",
            scope.arn("eks", &format!("cluster/{}", cluster.get_ref())),
            EVERY,
        );
    }
    out
}

/// What a run needs besides the kinds: plan's usage read and apply's lock.
fn run_permissions(spec: &StackSpec, scope: &Scope, lock_table: &str) -> Permissions {
    let mut out = Permissions::default();
    if KINDS
        .iter()
        .any(|kind| !kind.usage_metrics(spec).is_empty())
    {
        out.aws(
            "cloudwatch:GetMetricData",
            Resource::Any {
                sid: "CloudWatchGetMetricDataHasNoResourceType",
                why: "cloudwatch:GetMetricData has no resource type in the Service Authorization Reference",
            },
            PLAN_ONLY,
        );
        out.only_when(
            0,
            "the plan is priced with measured usage (not --no-cost or --usage-window 0)",
        );
    }
    out.extend(crate::providers::lock::permissions(lock_table, scope));
    out
}

/// What `command` needs for `spec`, narrowed to what `plan` does when one is given.
pub fn command_permissions(
    spec: &StackSpec,
    scope: &Scope,
    lock_table: &str,
    command: Command,
    plan: Option<&crate::plan::Plan>,
) -> Permissions {
    let needed = stack_permissions(spec, scope, lock_table).for_command(command);
    match plan {
        Some(plan) => needed.for_plan(plan),
        None => needed,
    }
}

/// Each kind's declarations under its resource ids, then the stack-wide ones.
pub fn kind_groups(spec: &StackSpec, scope: &Scope) -> Vec<(String, Permissions)> {
    let mut groups: Vec<(String, Permissions)> = KINDS
        .iter()
        .map(|kind| {
            let ids: Vec<String> = kind
                .ignorable()
                .iter()
                .map(|(prefix, _)| format!("`{}`", prefix.trim_end_matches('.')))
                .collect();
            (ids.join(", "), kind.permissions(spec, scope))
        })
        .collect();
    let mut rest = cluster_permissions(spec, scope);
    rest.extend(run_permissions(
        spec,
        scope,
        crate::providers::lock::DEFAULT_TABLE,
    ));
    groups.push((
        "the stack (EKS cluster, cost usage, apply lock)".to_string(),
        rest,
    ));
    groups
}

/// The seed article's stack file, for tests of what it needs.
#[cfg(test)]
pub(crate) fn seed_article_spec() -> StackSpec {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/kafka-logs.toml");
    let options = crate::spec::LoadOptions {
        allowed_dirs: vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))],
        rules: super::registry::kind_rules(),
    };
    crate::spec::load(&path, &options)
        .expect("stacks/kafka-logs.toml loads")
        .spec
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan's writes narrow apply's policy: a plan that only changes the function needs no
    /// table write, but still the reads and the lock.
    #[test]
    fn a_plan_narrows_apply_to_its_own_writes() {
        let spec = seed_article_spec();
        let scope = Scope {
            partition: "aws".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        };
        let mut plan = crate::plan::Plan::default();
        let mut change = crate::plan::Change::new(
            crate::plan::ResourceId::new(
                crate::plan::ResourceKind::named("lambda.function"),
                "kafka-log-lambda",
            ),
            crate::plan::Action::Update,
            String::new(),
        );
        change.steps.push(crate::plan::Step {
            description: "put concurrency".into(),
            service: "lambda".into(),
            api_calls: vec!["lambda:PutFunctionConcurrency".into()],
            operation: serde_json::Value::Null,
        });
        plan.changes.push(change);
        let needed =
            command_permissions(&spec, &scope, "pipectl-locks", Command::Apply, Some(&plan));
        let actions: std::collections::BTreeSet<&str> =
            needed.aws.iter().map(|g| g.action).collect();
        assert!(actions.contains("lambda:PutFunctionConcurrency"));
        assert!(actions.contains("dynamodb:DescribeTable"), "reads stay");
        assert!(actions.contains("dynamodb:PutItem"), "the lock stays");
        assert!(
            !actions.contains("dynamodb:UpdateTable"),
            "no table change planned"
        );
        assert!(!actions.contains("lambda:UpdateFunctionConfiguration"));
        assert!(
            needed.kube.iter().all(|g| g.verb != "patch"),
            "no Kubernetes write planned"
        );
    }
}
