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

pub mod cost;
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

use crate::plan::{
    Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Step, Unhealthy,
};
use crate::progress::StepProgress;
use crate::providers::to_i32;
use crate::providers::{describe_sdk_error, Aws};
use section::SageMakerEndpoint;

mod diff;
mod execute;
mod permissions;
mod read;
pub use diff::*;
pub use execute::*;
pub use read::*;

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
                // IAM also checks the caller for the service-linked role Application Auto
                // Scaling creates at the account's first registration.
                return vec![
                    "application-autoscaling:RegisterScalableTarget",
                    "iam:CreateServiceLinkedRole",
                ];
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
    const PRICE_SOURCES: &'static [crate::plan::cost::PriceSource] = cost::PRICE_SOURCES;
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

    fn permissions(
        spec: &crate::spec::StackSpec,
        scope: &crate::plan::permissions::Scope,
    ) -> crate::plan::permissions::Permissions {
        permissions::permissions(spec, scope)
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
    let mut out = KindPlan::default();
    let mut variants: Vec<VariantDefinition> = spec
        .entries::<SageMakerEndpoint>()
        .iter()
        .map(|e| VariantDefinition::from_spec(e, context.stack.name()))
        .collect();
    out.declared = variants.iter().map(variant_id).collect();
    variants.retain(|v| context.targets.selects(&variant_id(v)));
    let own_policy = policy_name(context.stack.name());
    let (live_endpoints, (scaling, leftovers_unchecked)) = tokio::try_join!(
        read_endpoints(context, &variants),
        read_targets(context, &own_policy)
    )?;
    for desired in variants.iter_mut() {
        for field in ignored_fields(spec, &variant_id(desired), &mut out.ignored) {
            desired.ignore(&field, &scaling);
        }
    }
    for (desired, live) in variants.iter().zip(&live_endpoints) {
        let (mut change, errors) = plan_variant(desired, live.as_ref(), &scaling);
        if let (Some(change), Some(live)) = (change.as_mut(), live.as_ref()) {
            change.billable = cost::variant_billable(desired, live, &scaling);
        }
        let observed = (live, scaling.of(&desired.resource_id()));
        out.changes.extend(stamped(change, &observed));
        out.errors.extend(errors);
    }
    out.changes
        .extend(plan_removed(&variants, &scaling, &own_policy));
    out.notes.extend(leftovers_unchecked);
    Ok(out)
}

/// The variants' endpoints with their inference components. Many endpoints: their components
/// in one account-wide listing, read at the same time as the endpoints, not one listing per
/// endpoint.
async fn read_endpoints(
    context: &PlanContext<'_>,
    variants: &[VariantDefinition],
) -> Result<Vec<Option<LiveEndpoint>>> {
    let aws = context.aws;
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
                context.priced,
            )
        })
        .collect();
    let read_endpoints = stream::iter(reads)
        .buffered(context.parallelism)
        .try_collect::<Vec<_>>();
    let (mut live_endpoints, components) = tokio::try_join!(read_endpoints, list_components)?;
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
    Ok(live_endpoints)
}

/// The namespace's scaling, and a note when what the stack may have left behind could not be
/// checked. Read whenever the section exists, even empty, so variants removed from it are
/// found. Without the section, its policies alone (one listing) tell whether the stack scaled
/// variants before the section was removed; the rest is read only then.
async fn read_targets(
    context: &PlanContext<'_>,
    own_policy: &str,
) -> Result<(LiveScaling, Option<String>)> {
    let aws = context.aws;
    if context.stack.spec.has_table(&["sagemaker"]) {
        return read_scaling(aws).await.map(|scaling| (scaling, None));
    }
    if !context.targets.is_whole_stack() {
        return Ok((LiveScaling::default(), None));
    }
    // A stack that never used SageMaker may lack the permission: its plan goes on.
    match read_policies(aws).await {
        Ok(policies) if policies.values().flatten().any(|p| p.name == own_policy) => {
            read_scaling(aws).await.map(|scaling| (scaling, None))
        }
        Ok(_) => Ok((LiveScaling::default(), None)),
        Err(error) => Ok((
            LiveScaling::default(),
            Some(format!(
                "SageMaker scaling this stack may have left behind was not checked: {error:#}"
            )),
        )),
    }
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
            failure_reason: None,
            serverless_variants: vec![],
            inference_components: vec![],
            status: "InService".into(),
            variants: vec!["AllTraffic".into()],
            container_modes: None,
            instances: BTreeMap::new(),
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
