//! SageMaker endpoint variants as Application Auto Scaling targets, each with one
//! target-tracking policy on `SageMakerVariantInvocationsPerInstance`.
//!
//! Rules (rules-of-the-road.md, "SageMaker endpoint autoscaling"): the resource id is
//! `endpoint/NAME/variant/VARIANT`, built here (the seed article's id without the variant is
//! rejected by AWS); the endpoint must exist and be InService; the autoscaling role is not
//! modelled (AWS substitutes its service-linked role); the variant's instance count belongs to
//! the autoscaler and is never compared; a variant removed from the spec loses its policies
//! first, then its registration. pipectl never calls UpdateEndpoint.
//!
//! The policy pipectl writes is named `pipectl-STACK-invocations`: that name is how a later run
//! recognises a variant this stack scaled and the spec no longer lists.

pub mod import;
pub mod limits;
pub mod section;
mod validate;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::kinds::kind::{KindPlan, PlanContext, TypedKind};
use crate::plan::{ignored_fields, stamped};
use crate::providers::Clients;
use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use aws_sdk_applicationautoscaling::error::ProvideErrorMetadata;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use serde::{Deserialize, Serialize};

use crate::plan::{Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Step};
use crate::progress::StepProgress;
use crate::providers::to_i32;
use crate::providers::{describe_sdk_error, Aws};
use section::SageMakerEndpoint;

const DIMENSION: &str = "sagemaker:variant:DesiredInstanceCount";
const METRIC: &str = "SageMakerVariantInvocationsPerInstance";

/// The kind of `sagemaker.variant.NAME` resource ids.
pub const VARIANT: ResourceKind = ResourceKind::named("sagemaker.variant");

pub fn policy_name(stack: &str) -> String {
    format!("pipectl-{stack}-invocations")
}

/// The Application Auto Scaling resource id of a variant.
pub fn resource_id(endpoint: &str, variant: &str) -> String {
    format!("endpoint/{endpoint}/variant/{variant}")
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VariantDefinition {
    pub endpoint: String,
    pub variant: String,
    pub min_capacity: i64,
    pub max_capacity: i64,
    pub target_invocations_per_instance: f64,
    pub scale_in_cooldown_seconds: Option<i64>,
    pub scale_out_cooldown_seconds: Option<i64>,
    pub multi_model: bool,
    pub policy_name: String,
}

impl VariantDefinition {
    pub fn from_spec(endpoint: &SageMakerEndpoint, stack: &str) -> Self {
        VariantDefinition {
            endpoint: endpoint.endpoint.get_ref().clone(),
            variant: endpoint.variant.get_ref().clone(),
            min_capacity: *endpoint.min_capacity.get_ref(),
            max_capacity: *endpoint.max_capacity.get_ref(),
            target_invocations_per_instance: *endpoint.target_invocations_per_instance.get_ref(),
            scale_in_cooldown_seconds: endpoint
                .scale_in_cooldown_seconds
                .as_ref()
                .map(|v| *v.get_ref()),
            scale_out_cooldown_seconds: endpoint
                .scale_out_cooldown_seconds
                .as_ref()
                .map(|v| *v.get_ref()),
            multi_model: endpoint.multi_model,
            policy_name: endpoint
                .policy_name
                .as_ref()
                .map(|name| name.get_ref().clone())
                .unwrap_or_else(|| policy_name(stack)),
        }
    }

    pub fn resource_id(&self) -> String {
        resource_id(&self.endpoint, &self.variant)
    }

    /// Leaves one field alone (an `[[ignore]]` rule): the live value is kept. A variant not
    /// registered yet gets the spec's values.
    pub fn ignore(&mut self, field: &str, scaling: &LiveScaling) {
        let (target, policies) = scaling.of(&self.resource_id());
        let policy = policies.and_then(|ps| ps.iter().find(|p| p.name == self.policy_name));
        match (field, target, policy) {
            ("min_capacity", Some((min, _)), _) => self.min_capacity = *min,
            ("max_capacity", Some((_, max)), _) => self.max_capacity = *max,
            ("target_invocations_per_instance", _, Some(p)) => {
                if let Some(value) = p.target_value {
                    self.target_invocations_per_instance = value
                }
            }
            ("scale_in_cooldown_seconds", _, Some(p)) => {
                self.scale_in_cooldown_seconds = p.scale_in_cooldown_seconds
            }
            ("scale_out_cooldown_seconds", _, Some(p)) => {
                self.scale_out_cooldown_seconds = p.scale_out_cooldown_seconds
            }
            _ => {}
        }
    }
}

/// The endpoint as DescribeEndpoint (and, for multi-model checks, the model) reports it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveEndpoint {
    pub status: String,
    pub variants: Vec<String>,
    /// Container modes of the variant's model, when a multi-model check asked for them.
    pub container_modes: Option<Vec<String>>,
    /// Variants running serverless (DescribeEndpoint reports a `CurrentServerlessConfig`).
    #[serde(default)]
    pub serverless_variants: Vec<String>,
    /// Inference components hosted on the endpoint, with their variant.
    #[serde(default)]
    pub inference_components: Vec<(String, String)>,
}

/// Scalable targets and policies of the SageMaker namespace, keyed by resource id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveScaling {
    pub targets: BTreeMap<String, (i64, i64)>,
    pub policies: BTreeMap<String, Vec<LivePolicy>>,
    /// Names of the scheduled actions on each target: deregistering a target deletes them.
    #[serde(default)]
    pub scheduled_actions: BTreeMap<String, Vec<String>>,
}

impl LiveScaling {
    /// The target and policies of one resource id, as read.
    pub fn of(&self, resource_id: &str) -> (Option<&(i64, i64)>, Option<&Vec<LivePolicy>>) {
        (
            self.targets.get(resource_id),
            self.policies.get(resource_id),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LivePolicy {
    pub name: String,
    pub metric: Option<String>,
    pub target_value: Option<f64>,
    pub scale_in_cooldown_seconds: Option<i64>,
    pub scale_out_cooldown_seconds: Option<i64>,
}

/// Inference components by endpoint, from one account-wide listing.
pub type ComponentsByEndpoint = BTreeMap<String, Vec<(String, String)>>;

/// Above this many endpoints, a plan lists the account's inference components once instead of
/// once per endpoint.
const ACCOUNT_LISTING_ABOVE: usize = 3;

/// Reads an endpoint; its inference components come from `components` (an account-wide
/// listing) when given, else from a listing of its own.
pub async fn read_endpoint(
    aws: &Aws,
    endpoint: &str,
    variant_for_mode: Option<&str>,
    components: Option<&ComponentsByEndpoint>,
) -> Result<Option<LiveEndpoint>> {
    let described = match aws
        .sagemaker
        .describe_endpoint()
        .endpoint_name(endpoint)
        .send()
        .await
    {
        Ok(output) => output,
        // SageMaker reports a missing endpoint as a ValidationException "Could not find endpoint".
        Err(err)
            if err.code() == Some("ValidationException")
                && err.message().is_some_and(|m| m.contains("Could not find")) =>
        {
            return Ok(None)
        }
        Err(err) => bail!(
            "DescribeEndpoint {endpoint} failed: {}",
            describe_sdk_error(&err)
        ),
    };
    let variants: Vec<String> = described
        .production_variants()
        .iter()
        .filter_map(|v| v.variant_name().map(str::to_string))
        .collect();
    let serverless_variants = described
        .production_variants()
        .iter()
        .filter(|v| v.current_serverless_config().is_some())
        .filter_map(|v| v.variant_name().map(str::to_string))
        .collect();
    let inference_components = match components {
        Some(listed) => listed.get(endpoint).cloned().unwrap_or_default(),
        None => read_inference_components(aws, Some(endpoint))
            .await?
            .remove(endpoint)
            .unwrap_or_default(),
    };
    let container_modes = match variant_for_mode {
        Some(variant) => {
            Some(read_container_modes(aws, described.endpoint_config_name(), variant).await?)
        }
        None => None,
    };
    Ok(Some(LiveEndpoint {
        status: described
            .endpoint_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Unknown".into()),
        variants,
        container_modes,
        serverless_variants,
        inference_components,
    }))
}

/// (component, variant) of each inference component, by endpoint: of one endpoint, or of the
/// whole account. Such endpoints scale per component, not per variant.
async fn read_inference_components(
    aws: &Aws,
    endpoint: Option<&str>,
) -> Result<ComponentsByEndpoint> {
    let mut found = ComponentsByEndpoint::new();
    let mut pages = aws
        .sagemaker
        .list_inference_components()
        .set_endpoint_name_equals(endpoint.map(str::to_string))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow!(
                "ListInferenceComponents{} failed: {}",
                endpoint.map(|e| format!(" {e}")).unwrap_or_default(),
                describe_sdk_error(&e)
            )
        })?;
        for component in page.inference_components() {
            if let (Some(name), Some(variant), Some(on)) = (
                component.inference_component_name(),
                component.variant_name(),
                component.endpoint_name(),
            ) {
                found
                    .entry(on.to_string())
                    .or_default()
                    .push((name.to_string(), variant.to_string()));
            }
        }
    }
    Ok(found)
}

async fn read_container_modes(
    aws: &Aws,
    config_name: Option<&str>,
    variant: &str,
) -> Result<Vec<String>> {
    let Some(config_name) = config_name else {
        return Ok(vec![]);
    };
    let config = aws
        .sagemaker
        .describe_endpoint_config()
        .endpoint_config_name(config_name)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "DescribeEndpointConfig {config_name} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    let Some(model) = config
        .production_variants()
        .iter()
        .find(|v| v.variant_name() == Some(variant))
        .and_then(|v| v.model_name())
    else {
        return Ok(vec![]);
    };
    let described = aws
        .sagemaker
        .describe_model()
        .model_name(model)
        .send()
        .await
        .map_err(|e| anyhow!("DescribeModel {model} failed: {}", describe_sdk_error(&e)))?;
    let containers = described
        .primary_container()
        .into_iter()
        .chain(described.containers());
    Ok(containers
        .map(|c| {
            c.mode()
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "SingleModel".into())
        })
        .collect())
}

/// All SageMaker scalable targets, policies and scheduled actions, in as few calls as the APIs
/// allow: each listed for the whole namespace (a page per 50), the three listings at once.
pub async fn read_scaling(aws: &Aws) -> Result<LiveScaling> {
    let (targets, policies, actions) = tokio::try_join!(
        read_targets(aws),
        read_policies(aws),
        read_scheduled_actions(aws)
    )?;
    Ok(LiveScaling {
        targets,
        policies,
        scheduled_actions: actions,
    })
}

async fn read_targets(aws: &Aws) -> Result<BTreeMap<String, (i64, i64)>> {
    let mut found = BTreeMap::new();
    let mut targets = aws
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .into_paginator()
        .send();
    while let Some(page) = targets.next().await {
        let page = page
            .map_err(|e| anyhow!("DescribeScalableTargets failed: {}", describe_sdk_error(&e)))?;
        for target in page.scalable_targets() {
            if target.scalable_dimension().as_str() == DIMENSION {
                found.insert(
                    target.resource_id().to_string(),
                    (
                        i64::from(target.min_capacity()),
                        i64::from(target.max_capacity()),
                    ),
                );
            }
        }
    }
    Ok(found)
}

async fn read_policies(aws: &Aws) -> Result<BTreeMap<String, Vec<LivePolicy>>> {
    let mut found: BTreeMap<String, Vec<LivePolicy>> = BTreeMap::new();
    let mut policies = aws
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Sagemaker)
        .into_paginator()
        .send();
    while let Some(page) = policies.next().await {
        let page = page
            .map_err(|e| anyhow!("DescribeScalingPolicies failed: {}", describe_sdk_error(&e)))?;
        for policy in page.scaling_policies() {
            let config = policy.target_tracking_scaling_policy_configuration();
            found
                .entry(policy.resource_id().to_string())
                .or_default()
                .push(LivePolicy {
                    name: policy.policy_name().to_string(),
                    metric: config
                        .and_then(|c| c.predefined_metric_specification())
                        .map(|m| m.predefined_metric_type().as_str().to_string()),
                    target_value: config.map(|c| c.target_value()),
                    scale_in_cooldown_seconds: config
                        .and_then(|c| c.scale_in_cooldown())
                        .map(i64::from),
                    scale_out_cooldown_seconds: config
                        .and_then(|c| c.scale_out_cooldown())
                        .map(i64::from),
                });
        }
    }
    Ok(found)
}

async fn read_scheduled_actions(aws: &Aws) -> Result<BTreeMap<String, Vec<String>>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut actions = aws
        .autoscaling
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Sagemaker)
        .into_paginator()
        .send();
    while let Some(page) = actions.next().await {
        let page = page.map_err(|e| {
            anyhow!(
                "DescribeScheduledActions failed: {}",
                describe_sdk_error(&e)
            )
        })?;
        for action in page.scheduled_actions() {
            found
                .entry(action.resource_id().to_string())
                .or_default()
                .push(action.scheduled_action_name().to_string());
        }
    }
    Ok(found)
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum VariantOperation {
    RegisterTarget {
        resource_id: String,
        min_capacity: i64,
        max_capacity: i64,
    },
    PutPolicy {
        resource_id: String,
        policy_name: String,
        target_value: f64,
        scale_in_cooldown_seconds: Option<i64>,
        scale_out_cooldown_seconds: Option<i64>,
    },
    DeletePolicy {
        resource_id: String,
        policy_name: String,
    },
    Deregister {
        resource_id: String,
    },
}

impl VariantOperation {
    /// The operation as a plan step of service `sagemaker`.
    pub fn into_step(self, description: String) -> Step {
        let api_calls = self.api_calls();
        Variants::step(description, api_calls, &self)
    }

    /// The API calls apply makes for it, as IAM names them.
    pub fn api_calls(&self) -> Vec<&'static str> {
        vec![match self {
            VariantOperation::RegisterTarget { .. } => {
                "application-autoscaling:RegisterScalableTarget"
            }
            VariantOperation::PutPolicy { .. } => "application-autoscaling:PutScalingPolicy",
            VariantOperation::DeletePolicy { .. } => "application-autoscaling:DeleteScalingPolicy",
            VariantOperation::Deregister { .. } => {
                "application-autoscaling:DeregisterScalableTarget"
            }
        }]
    }
}

fn step(description: String, operation: VariantOperation) -> Step {
    operation.into_step(description)
}

fn lane(resource_id: &str) -> String {
    format!("sagemaker:{resource_id}")
}

fn show_cooldown(value: Option<i64>) -> Option<String> {
    Some(value.map_or_else(|| "default".to_string(), |v| v.to_string()))
}

pub fn plan_variant(
    desired: &VariantDefinition,
    endpoint: Option<&LiveEndpoint>,
    scaling: &LiveScaling,
) -> (Option<Change>, Vec<PlanError>) {
    let id = ResourceId::new(VARIANT, format!("{}/{}", desired.endpoint, desired.variant));
    let error = |message: String, help: &str| {
        (
            None,
            vec![PlanError {
                resource: id.to_string(),
                message,
                help: help.to_string(),
            }],
        )
    };
    let Some(endpoint) = endpoint else {
        return error(
            format!("SageMaker endpoint {} does not exist", desired.endpoint),
            "pipectl scales existing endpoints and does not deploy models: create the endpoint first, or fix the name in [[sagemaker.endpoints]]",
        );
    };
    if endpoint.status != "InService" {
        return error(
            format!(
                "SageMaker endpoint {} is {}, not InService",
                desired.endpoint, endpoint.status
            ),
            "wait until the endpoint is InService (aws sagemaker wait endpoint-in-service), then plan again",
        );
    }
    if !endpoint.variants.contains(&desired.variant) {
        return error(
            format!(
                "endpoint {} has no variant {} (it has: {})",
                desired.endpoint,
                desired.variant,
                endpoint.variants.join(", ")
            ),
            "set variant to one of the endpoint's production variants",
        );
    }
    if endpoint.serverless_variants.contains(&desired.variant) {
        return error(
            format!(
                "variant {} of endpoint {} is serverless: Application Auto Scaling scales its provisioned concurrency (sagemaker:variant:DesiredProvisionedConcurrency), not an instance count",
                desired.variant, desired.endpoint
            ),
            "pipectl scales instance-based variants only: remove this entry from [[sagemaker.endpoints]] and scale the serverless variant's provisioned concurrency another way",
        );
    }
    let components: Vec<&str> = endpoint
        .inference_components
        .iter()
        .filter(|(_, variant)| *variant == desired.variant)
        .map(|(name, _)| name.as_str())
        .collect();
    if !components.is_empty() {
        return error(
            format!(
                "endpoint {} hosts inference components on variant {} ({}): they scale per component (inference-component/NAME, sagemaker:inference-component:DesiredCopyCount), not by the variant's instance count",
                desired.endpoint,
                desired.variant,
                components.join(", ")
            ),
            "pipectl scales instance-based variants only: remove this entry from [[sagemaker.endpoints]]; the endpoint's managed instance scaling follows the components' copies",
        );
    }
    if desired.multi_model {
        let modes = endpoint.container_modes.clone().unwrap_or_default();
        if !modes.iter().any(|m| m == "MultiModel") {
            return error(
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
            );
        }
    }
    let resource_id = desired.resource_id();
    let mut diffs = vec![];
    let mut steps = vec![];
    let live_target = scaling.targets.get(&resource_id);
    let wanted = (desired.min_capacity, desired.max_capacity);
    if live_target != Some(&wanted) {
        diffs.push(FieldDiff::new(
            "min_capacity",
            live_target.map(|t| t.0.to_string()),
            Some(desired.min_capacity.to_string()),
        ));
        diffs.push(FieldDiff::new(
            "max_capacity",
            live_target.map(|t| t.1.to_string()),
            Some(desired.max_capacity.to_string()),
        ));
        diffs.retain(|d| d.before != d.after);
        steps.push(step(
            format!(
                "RegisterScalableTarget {resource_id} ({}..={})",
                wanted.0, wanted.1
            ),
            VariantOperation::RegisterTarget {
                resource_id: resource_id.clone(),
                min_capacity: wanted.0,
                max_capacity: wanted.1,
            },
        ));
    }
    let live_policy = scaling
        .policies
        .get(&resource_id)
        .and_then(|ps| ps.iter().find(|p| p.name == desired.policy_name));
    let policy_diffs = [
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
    let metric_wrong = live_policy.is_some_and(|p| p.metric.as_deref() != Some(METRIC));
    let mut policy_changes = false;
    for (field, before, after) in policy_diffs {
        if before != after {
            policy_changes = true;
            diffs.push(FieldDiff::new(field, before, after));
        }
    }
    if metric_wrong {
        policy_changes = true;
        diffs.push(FieldDiff::new(
            "metric",
            live_policy.and_then(|p| p.metric.clone()),
            Some(METRIC.into()),
        ));
    }
    if policy_changes {
        steps.push(step(
            format!("PutScalingPolicy {} on {resource_id}", desired.policy_name),
            VariantOperation::PutPolicy {
                resource_id: resource_id.clone(),
                policy_name: desired.policy_name.clone(),
                target_value: desired.target_invocations_per_instance,
                scale_in_cooldown_seconds: desired.scale_in_cooldown_seconds,
                scale_out_cooldown_seconds: desired.scale_out_cooldown_seconds,
            },
        ));
    }
    let mut hazards = vec![];
    let others: Vec<&str> = scaling
        .policies
        .get(&resource_id)
        .into_iter()
        .flatten()
        .filter(|p| p.name != desired.policy_name)
        .map(|p| p.name.as_str())
        .collect();
    if !others.is_empty() && !steps.is_empty() {
        hazards.push(Hazard {
            message: format!(
                "the variant has other scaling policies pipectl does not manage ({}); Application Auto Scaling follows whichever asks for the most capacity",
                others.join(", ")
            ),
        });
    }
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
fn other_owners(scaling: &LiveScaling, resource_id: &str, policy: &str) -> Vec<String> {
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

/// Executes one of the kind's operations: one function per operation.
pub async fn execute(
    aws: &Aws,
    operation: &VariantOperation,
    progress: &StepProgress,
) -> Result<()> {
    match operation {
        VariantOperation::RegisterTarget {
            resource_id,
            min_capacity,
            max_capacity,
        } => register_target(aws, resource_id, *min_capacity, *max_capacity, progress).await,
        VariantOperation::PutPolicy { .. } => put_policy(aws, operation, progress).await,
        VariantOperation::DeletePolicy {
            resource_id,
            policy_name,
        } => delete_policy(aws, resource_id, policy_name, progress).await,
        VariantOperation::Deregister { resource_id } => {
            deregister(aws, resource_id, progress).await
        }
    }
}

/// RegisterScalableTarget: registering again updates min and max in place.
async fn register_target(
    aws: &Aws,
    resource_id: &str,
    min_capacity: i64,
    max_capacity: i64,
    progress: &StepProgress,
) -> Result<()> {
    progress.status(&format!("RegisterScalableTarget {resource_id}"));
    // Registering again updates min and max in place: safe to repeat.
    aws.autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .min_capacity(to_i32(min_capacity)?)
        .max_capacity(to_i32(max_capacity)?)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "RegisterScalableTarget {resource_id} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(())
}

/// PutScalingPolicy with the target-tracking configuration on invocations per instance.
async fn put_policy(
    aws: &Aws,
    operation: &VariantOperation,
    progress: &StepProgress,
) -> Result<()> {
    let VariantOperation::PutPolicy {
        resource_id,
        policy_name,
        target_value,
        scale_in_cooldown_seconds,
        scale_out_cooldown_seconds,
    } = operation
    else {
        bail!("not a scaling policy");
    };

    progress.status(&format!("PutScalingPolicy {policy_name}"));
    let configuration = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(*target_value)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::SageMakerVariantInvocationsPerInstance)
                .build()
                .map_err(|e| anyhow!("building the metric specification: {e}"))?,
        )
        .set_scale_in_cooldown(scale_in_cooldown_seconds.map(to_i32).transpose()?)
        .set_scale_out_cooldown(scale_out_cooldown_seconds.map(to_i32).transpose()?)
        .build()
        .map_err(|e| anyhow!("building the target-tracking configuration: {e}"))?;
    aws.autoscaling
        .put_scaling_policy()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .policy_name(policy_name)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(configuration)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "PutScalingPolicy {policy_name} on {resource_id} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(())
}

/// DeleteScalingPolicy; one already gone is fine.
async fn delete_policy(
    aws: &Aws,
    resource_id: &str,
    policy_name: &str,
    progress: &StepProgress,
) -> Result<()> {
    progress.status(&format!("DeleteScalingPolicy {policy_name}"));
    match aws
        .autoscaling
        .delete_scaling_policy()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .policy_name(policy_name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ObjectNotFoundException") => Ok(()),
        Err(e) => bail!(
            "DeleteScalingPolicy {policy_name} on {resource_id} failed: {}",
            describe_sdk_error(&e)
        ),
    }
}

/// DeregisterScalableTarget; one already gone is fine.
async fn deregister(aws: &Aws, resource_id: &str, progress: &StepProgress) -> Result<()> {
    progress.status(&format!("DeregisterScalableTarget {resource_id}"));
    match aws
        .autoscaling
        .deregister_scalable_target()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(resource_id)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ObjectNotFoundException") => Ok(()),
        Err(e) => bail!(
            "DeregisterScalableTarget {resource_id} failed: {}",
            describe_sdk_error(&e)
        ),
    }
}

/// SageMaker endpoint variants: their scalable targets and target-tracking policies.
pub struct Variants;
pub static VARIANTS: Variants = Variants;

impl TypedKind for Variants {
    const SERVICE: &'static str = "sagemaker";
    const IGNORABLE: &'static [(&'static str, &'static [&'static str])] = &[(
        "sagemaker.variant.",
        &[
            "min_capacity",
            "max_capacity",
            "target_invocations_per_instance",
            "scale_in_cooldown_seconds",
            "scale_out_cooldown_seconds",
        ],
    )];
    type Operation = VariantOperation;

    const IMPORT_FLAGS: &'static [crate::spec::write::ImportFlag] = import::FLAGS;

    fn import<'a>(
        &'a self,
        context: &'a crate::kinds::kind::ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<crate::kinds::kind::ImportedPart>>> {
        Box::pin(import::import(context))
    }

    fn sections() -> Vec<crate::spec::SectionKind> {
        vec![crate::spec::SectionKind::of::<section::SageMakerEndpoint>()]
    }

    fn offline_checks() -> Option<crate::spec::validate::KindCheck> {
        Some(validate::check)
    }

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        Box::pin(plan_variants(context))
    }

    fn run<'a>(
        &'a self,
        clients: &'a Clients,
        operation: VariantOperation,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(&clients.aws, &operation, progress).await })
    }
}

fn variant_id(variant: &VariantDefinition) -> String {
    format!("sagemaker.variant.{}/{}", variant.endpoint, variant.variant)
}

async fn plan_variants(context: &PlanContext<'_>) -> Result<KindPlan> {
    let spec = &context.stack.spec;
    let aws = context.aws;
    let mut out = KindPlan::default();
    let mut variants: Vec<VariantDefinition> = spec
        .entries::<SageMakerEndpoint>()
        .iter()
        .map(|e| VariantDefinition::from_spec(e, context.stack.name()))
        .collect();
    out.declared = variants.iter().map(variant_id).collect();
    variants.retain(|v| context.targets.selects(&variant_id(v)));
    // Many endpoints: their inference components in one account-wide listing, read at the same
    // time as the endpoints, not one listing per endpoint.
    let account_wide = variants.len() > ACCOUNT_LISTING_ABOVE;
    let list_components = async {
        if account_wide {
            read_inference_components(aws, None).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let filled_later = ComponentsByEndpoint::new();
    // Futures collected first: a closure in the stream's type would tie its lifetimes.
    let reads: Vec<_> = variants
        .iter()
        .map(|v| {
            read_endpoint(
                aws,
                &v.endpoint,
                v.multi_model.then_some(v.variant.as_str()),
                account_wide.then_some(&filled_later),
            )
        })
        .collect();
    let read_endpoints = stream::iter(reads)
        .buffered(context.parallelism)
        .try_collect::<Vec<_>>();
    // Read whenever the section exists, even empty, so variants removed from it are found.
    let read_targets = async {
        if spec.has_table(&["sagemaker"]) {
            read_scaling(aws).await
        } else {
            Ok(LiveScaling::default())
        }
    };
    let (mut live_endpoints, scaling, components) =
        tokio::try_join!(read_endpoints, read_targets, list_components)?;
    if let Some(components) = &components {
        for (variant, live) in variants.iter().zip(live_endpoints.iter_mut()) {
            if let Some(live) = live.as_mut() {
                live.inference_components = components
                    .get(&variant.endpoint)
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }
    for desired in variants.iter_mut() {
        for field in ignored_fields(spec, &variant_id(desired), &mut out.ignored) {
            desired.ignore(&field, &scaling);
        }
    }
    for (desired, live) in variants.iter().zip(&live_endpoints) {
        let (change, errors) = plan_variant(desired, live.as_ref(), &scaling);
        let observed = (live, scaling.of(&desired.resource_id()));
        out.changes.extend(stamped(change, &observed));
        out.errors.extend(errors);
    }
    out.changes.extend(plan_removed(
        &variants,
        &scaling,
        &policy_name(context.stack.name()),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> VariantDefinition {
        VariantDefinition {
            endpoint: "rcf".into(),
            variant: "AllTraffic".into(),
            min_capacity: 1,
            max_capacity: 10,
            target_invocations_per_instance: 1000.0,
            scale_in_cooldown_seconds: Some(300),
            scale_out_cooldown_seconds: Some(60),
            multi_model: false,
            policy_name: policy_name("s"),
        }
    }

    fn in_service() -> LiveEndpoint {
        LiveEndpoint {
            serverless_variants: vec![],
            inference_components: vec![],
            status: "InService".into(),
            variants: vec!["AllTraffic".into()],
            container_modes: None,
        }
    }

    #[test]
    fn resource_id_includes_the_variant() {
        assert_eq!(desired().resource_id(), "endpoint/rcf/variant/AllTraffic");
    }

    #[test]
    fn new_variant_registers_then_puts_the_policy() {
        let (change, errors) =
            plan_variant(&desired(), Some(&in_service()), &LiveScaling::default());
        assert!(errors.is_empty());
        let change = change.expect("change");
        assert_eq!(change.action, Action::Create);
        assert_eq!(change.steps.len(), 2);
        assert!(matches!(
            crate::providers::operation_of::<VariantOperation>(&change.steps[0]).expect("decodes"),
            VariantOperation::RegisterTarget { .. }
        ));
    }

    #[test]
    fn endpoint_not_in_service_and_single_model_are_plan_errors() {
        let mut creating = in_service();
        creating.status = "Creating".into();
        let (_, errors) = plan_variant(&desired(), Some(&creating), &LiveScaling::default());
        assert!(errors[0].message.contains("Creating, not InService"));

        let mut multi = desired();
        multi.multi_model = true;
        let mut single = in_service();
        single.container_modes = Some(vec!["SingleModel".into()]);
        let (_, errors) = plan_variant(&multi, Some(&single), &LiveScaling::default());
        assert!(errors[0].message.contains("runs in SingleModel mode"));
    }

    #[test]
    fn removed_variant_deletes_policies_before_deregistering() {
        let mut scaling = LiveScaling::default();
        let id = "endpoint/old/variant/AllTraffic".to_string();
        scaling.targets.insert(id.clone(), (1, 4));
        scaling.policies.insert(
            id,
            vec![LivePolicy {
                name: policy_name("s"),
                metric: Some(METRIC.into()),
                target_value: Some(5.0),
                scale_in_cooldown_seconds: None,
                scale_out_cooldown_seconds: None,
            }],
        );
        let changes = plan_removed(&[desired()], &scaling, &policy_name("s"));
        assert_eq!(changes.len(), 1);
        assert!(changes[0].destructive);
        assert_eq!(
            changes[0].id.to_string(),
            "sagemaker.variant.old/AllTraffic"
        );
        assert!(matches!(
            crate::providers::operation_of::<VariantOperation>(&changes[0].steps[0])
                .expect("decodes"),
            VariantOperation::DeletePolicy { .. }
        ));
        assert!(matches!(
            crate::providers::operation_of::<VariantOperation>(&changes[0].steps[1])
                .expect("decodes"),
            VariantOperation::Deregister { .. }
        ));
    }
}
