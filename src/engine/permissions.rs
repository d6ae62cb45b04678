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
    for kind in KINDS {
        out.extend(kind.permissions(spec, scope));
    }
    if KINDS
        .iter()
        .any(|kind| !kind.usage_metrics(spec).is_empty())
    {
        let from = out.aws.len();
        out.aws(
            "cloudwatch:GetMetricData",
            Resource::Any {
                sid: "CloudWatchGetMetricDataHasNoResourceType",
                why: "cloudwatch:GetMetricData has no resource type in the Service Authorization Reference",
            },
            PLAN_ONLY,
        );
        out.only_when(
            from,
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
