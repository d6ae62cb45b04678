//! The diff of one variant, and of the variants this stack scaled that the file no longer lists.

use super::*;

pub fn plan_variant(
    desired: &VariantDefinition,
    endpoint: Option<&LiveEndpoint>,
    scaling: &LiveScaling,
) -> (Option<Change>, Vec<PlanError>) {
    let id = ResourceId::new(VARIANT, format!("{}/{}", desired.endpoint, desired.variant));
    if let Some(unhealthy) = endpoint.and_then(broken) {
        let lane = lane(&desired.resource_id());
        return (
            Some(Change {
                unhealthy: Some(unhealthy),
                ..Change::new(id, Action::NoOp, lane)
            }),
            vec![],
        );
    }
    if let Some((message, help)) = not_scalable(desired, endpoint) {
        let error = PlanError {
            resource: id.to_string(),
            message,
            help: help.to_string(),
        };
        return (None, vec![error]);
    }
    let resource_id = desired.resource_id();
    let live_target = scaling.targets.get(&resource_id);
    let live_policy = scaling
        .policies
        .get(&resource_id)
        .and_then(|ps| ps.iter().find(|p| p.name == desired.policy_name));
    let (mut diffs, target_step) = plan_target(desired, live_target);
    let (policy_diffs, policy_step) = plan_policy(desired, live_policy);
    diffs.extend(policy_diffs);
    let steps: Vec<Step> = target_step.into_iter().chain(policy_step).collect();
    let hazards = if steps.is_empty() {
        vec![]
    } else {
        other_policies_hazard(desired, scaling)
            .into_iter()
            .collect()
    };
    let action = match (live_target, steps.is_empty()) {
        (_, true) => Action::NoOp,
        (None, false) => Action::Create,
        (Some(_), false) => Action::Update,
    };
    (
        Some(Change {
            diffs,
            hazards,
            steps,
            ..Change::new(id, action, lane(&resource_id))
        }),
        vec![],
    )
}

/// An endpoint that stays broken until someone acts: `Failed` (its deployment failed) or
/// `OutOfService`, or an update whose rollback failed (`UpdateRollbackFailed`: it takes no
/// further update), with SageMaker's `FailureReason`. Its scaling is left alone until then.
fn broken(endpoint: &LiveEndpoint) -> Option<Unhealthy> {
    let status = endpoint.status.as_str();
    if !matches!(status, "Failed" | "OutOfService" | "UpdateRollbackFailed") {
        return None;
    }
    let why = endpoint
        .failure_reason
        .as_ref()
        .map(|reason| format!(": {reason}"))
        .unwrap_or_default();
    Some(Unhealthy {
        reason: format!("endpoint is {status}{why}"),
        help: "pipectl leaves the scaling of a broken endpoint alone: fix the cause (aws sagemaker describe-endpoint shows it), then update the endpoint to a working endpoint config (aws sagemaker update-endpoint) and plan again".into(),
    })
}

/// Why the variant cannot be scaled by its instance count (with how to fix it), if it cannot:
/// a missing or unready endpoint, no such variant, a serverless variant, inference components,
/// or a `multi_model` the container does not run.
pub(super) fn not_scalable(
    desired: &VariantDefinition,
    endpoint: Option<&LiveEndpoint>,
) -> Option<(String, &'static str)> {
    let Some(endpoint) = endpoint else {
        return Some((
            format!("SageMaker endpoint {} does not exist", desired.endpoint),
            "pipectl scales existing endpoints and does not deploy models: create the endpoint first, or fix the name in [[sagemaker.endpoints]]",
        ));
    };
    if endpoint.status != "InService" {
        return Some((
            format!(
                "SageMaker endpoint {} is {}, not InService",
                desired.endpoint, endpoint.status
            ),
            "wait until the endpoint is InService (aws sagemaker wait endpoint-in-service), then plan again",
        ));
    }
    if !endpoint.variants.contains(&desired.variant) {
        return Some((
            format!(
                "endpoint {} has no variant {} (it has: {})",
                desired.endpoint,
                desired.variant,
                endpoint.variants.join(", ")
            ),
            "set variant to one of the endpoint's production variants",
        ));
    }
    if endpoint.serverless_variants.contains(&desired.variant) {
        return Some((
            format!(
                "variant {} of endpoint {} is serverless: Application Auto Scaling scales its provisioned concurrency (sagemaker:variant:DesiredProvisionedConcurrency), not an instance count",
                desired.variant, desired.endpoint
            ),
            "pipectl scales instance-based variants only: remove this entry from [[sagemaker.endpoints]] and scale the serverless variant's provisioned concurrency another way",
        ));
    }
    not_scalable_hosting(desired, endpoint)
}

/// What the variant hosts that pipectl cannot scale it for: inference components, or a model
/// not in the multi-model mode the file says.
pub(super) fn not_scalable_hosting(
    desired: &VariantDefinition,
    endpoint: &LiveEndpoint,
) -> Option<(String, &'static str)> {
    let components: Vec<&str> = endpoint
        .inference_components
        .iter()
        .filter(|(_, variant)| *variant == desired.variant)
        .map(|(name, _)| name.as_str())
        .collect();
    if !components.is_empty() {
        return Some((
            format!(
                "endpoint {} hosts inference components on variant {} ({}): they scale per component (inference-component/NAME, sagemaker:inference-component:DesiredCopyCount), not by the variant's instance count",
                desired.endpoint,
                desired.variant,
                components.join(", ")
            ),
            "pipectl scales instance-based variants only: remove this entry from [[sagemaker.endpoints]]; the endpoint's managed instance scaling follows the components' copies",
        ));
    }
    let modes = endpoint.container_modes.clone().unwrap_or_default();
    if desired.multi_model && !modes.iter().any(|m| m == "MultiModel") {
        return Some((
            format!(
                "multi_model = true, but the model behind {}/{} runs in {} mode",
                desired.endpoint,
                desired.variant,
                if modes.is_empty() {
                    "an unknown".to_string()
                } else {
                    modes.join("/")
                }
            ),
            "set multi_model = false, or deploy the model with a container in Mode=MultiModel",
        ));
    }
    None
}

/// The scalable target's min and max: their diffs and the RegisterScalableTarget that sets them.
pub(super) fn plan_target(
    desired: &VariantDefinition,
    live_target: Option<&(i64, i64)>,
) -> (Vec<FieldDiff>, Option<Step>) {
    let wanted = (desired.min_capacity, desired.max_capacity);
    if live_target == Some(&wanted) {
        return (vec![], None);
    }
    let mut diffs = vec![
        FieldDiff::new(
            "min_capacity",
            live_target.map(|t| t.0.to_string()),
            Some(desired.min_capacity.to_string()),
        ),
        FieldDiff::new(
            "max_capacity",
            live_target.map(|t| t.1.to_string()),
            Some(desired.max_capacity.to_string()),
        ),
    ];
    diffs.retain(|d| d.before != d.after);
    let resource_id = desired.resource_id();
    let register = step(
        format!(
            "RegisterScalableTarget {resource_id} ({}..={})",
            wanted.0, wanted.1
        ),
        VariantOperation::RegisterTarget {
            resource_id,
            min_capacity: wanted.0,
            max_capacity: wanted.1,
        },
    );
    (diffs, Some(register))
}

/// The target-tracking policy's target, cooldowns and metric: their diffs and the
/// PutScalingPolicy that sets them.
pub(super) fn plan_policy(
    desired: &VariantDefinition,
    live_policy: Option<&LivePolicy>,
) -> (Vec<FieldDiff>, Option<Step>) {
    let compared = [
        (
            "target_invocations_per_instance",
            live_policy
                .and_then(|p| p.target_value)
                .map(|v| v.to_string()),
            Some(desired.target_invocations_per_instance.to_string()),
        ),
        (
            "scale_in_cooldown_seconds",
            live_policy.and_then(|p| show_cooldown(p.scale_in_cooldown_seconds)),
            show_cooldown(desired.scale_in_cooldown_seconds),
        ),
        (
            "scale_out_cooldown_seconds",
            live_policy.and_then(|p| show_cooldown(p.scale_out_cooldown_seconds)),
            show_cooldown(desired.scale_out_cooldown_seconds),
        ),
    ];
    let mut diffs: Vec<FieldDiff> = compared
        .into_iter()
        .filter(|(_, before, after)| before != after)
        .map(|(field, before, after)| FieldDiff::new(field, before, after))
        .collect();
    if live_policy.is_some_and(|p| p.metric.as_deref() != Some(METRIC)) {
        diffs.push(FieldDiff::new(
            "metric",
            live_policy.and_then(|p| p.metric.clone()),
            Some(METRIC.into()),
        ));
    }
    if diffs.is_empty() {
        return (diffs, None);
    }
    let resource_id = desired.resource_id();
    let put = step(
        format!("PutScalingPolicy {} on {resource_id}", desired.policy_name),
        VariantOperation::PutPolicy {
            resource_id,
            policy_name: desired.policy_name.clone(),
            target_value: desired.target_invocations_per_instance,
            scale_in_cooldown_seconds: desired.scale_in_cooldown_seconds,
            scale_out_cooldown_seconds: desired.scale_out_cooldown_seconds,
        },
    );
    (diffs, Some(put))
}

/// Other scaling policies on the variant: Application Auto Scaling follows whichever asks for
/// the most capacity, so a change of pipectl's may not be what the variant does.
pub(super) fn other_policies_hazard(
    desired: &VariantDefinition,
    scaling: &LiveScaling,
) -> Option<Hazard> {
    let others: Vec<&str> = scaling
        .policies
        .get(&desired.resource_id())
        .into_iter()
        .flatten()
        .filter(|p| p.name != desired.policy_name)
        .map(|p| p.name.as_str())
        .collect();
    (!others.is_empty()).then(|| Hazard {
        message: format!(
            "the variant has other scaling policies pipectl does not manage ({}); Application Auto Scaling follows whichever asks for the most capacity",
            others.join(", ")
        ),
    })
}

/// Variants this stack scaled (they carry its policy) that the spec no longer lists.
///
/// Only pipectl's own policy is deleted. `DeregisterScalableTarget` deletes every policy and
/// scheduled action on the target, so the target is deregistered only when nothing of another
/// owner is attached to it; otherwise it stays registered, with its min and max, and the plan
/// says why.
pub fn plan_removed(
    desired: &[VariantDefinition],
    scaling: &LiveScaling,
    policy: &str,
) -> Vec<Change> {
    let wanted: std::collections::BTreeSet<String> =
        desired.iter().map(VariantDefinition::resource_id).collect();
    let mut changes = vec![];
    for (resource_id, policies) in &scaling.policies {
        if wanted.contains(resource_id) || !policies.iter().any(|p| p.name == policy) {
            continue;
        }
        let name = resource_id
            .strip_prefix("endpoint/")
            .map(|rest| rest.replacen("/variant/", "/", 1))
            .unwrap_or_else(|| resource_id.clone());
        let mut steps = vec![step(
            format!("DeleteScalingPolicy {policy} on {resource_id}"),
            VariantOperation::DeletePolicy {
                resource_id: resource_id.clone(),
                policy_name: policy.to_string(),
            },
        )];
        let mut diffs = vec![FieldDiff::new("policy", Some(policy.to_string()), None)];
        let mut hazards = vec![Hazard {
            message: "the variant keeps the instance count it has now and no longer scales".into(),
        }];
        let others = other_owners(scaling, resource_id, policy);
        if let Some((min, max)) = scaling.targets.get(resource_id) {
            if others.is_empty() {
                diffs.push(FieldDiff::new("min_capacity", Some(min.to_string()), None));
                diffs.push(FieldDiff::new("max_capacity", Some(max.to_string()), None));
                steps.push(step(
                    format!("DeregisterScalableTarget {resource_id}"),
                    VariantOperation::Deregister {
                        resource_id: resource_id.clone(),
                    },
                ));
            } else {
                hazards = vec![Hazard {
                    message: format!(
                        "the scalable target stays registered (min {min}, max {max}): deregistering it would also delete {}, which pipectl did not create",
                        others.join(", ")
                    ),
                }];
            }
        }
        changes.push(Change {
            fingerprint: Some(crate::plan::fingerprint(&(
                scaling.of(resource_id),
                scaling.scheduled_actions.get(resource_id),
            ))),
            diffs,
            hazards,
            destructive: true,
            steps,
            ..Change::new(
                ResourceId::new(VARIANT, name),
                Action::Delete,
                lane(resource_id),
            )
        });
    }
    changes
}

/// Policies and scheduled actions on a target that are not pipectl's `policy`.
pub(super) fn other_owners(scaling: &LiveScaling, resource_id: &str, policy: &str) -> Vec<String> {
    let policies = scaling
        .policies
        .get(resource_id)
        .into_iter()
        .flatten()
        .filter(|p| p.name != policy)
        .map(|p| format!("scaling policy {}", p.name));
    let actions = scaling
        .scheduled_actions
        .get(resource_id)
        .into_iter()
        .flatten()
        .map(|a| format!("scheduled action {a}"));
    policies.chain(actions).collect()
}
