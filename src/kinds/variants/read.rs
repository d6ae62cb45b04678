//! The live read of variants: the endpoint (and its model's container modes, and inference components),
//! and the SageMaker namespace's scalable targets, policies and scheduled actions.

use super::*;

/// The endpoint as DescribeEndpoint (and, for multi-model checks, the model) reports it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveEndpoint {
    pub status: String,
    /// Why the endpoint is `Failed` or `OutOfService`, in SageMaker's words (`FailureReason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub variants: Vec<String>,
    /// Container modes of the variant's model, when a multi-model check asked for them.
    pub container_modes: Option<Vec<String>>,
    /// Variants running serverless (DescribeEndpoint reports a `CurrentServerlessConfig`).
    #[serde(default)]
    pub serverless_variants: Vec<String>,
    /// Inference components hosted on the endpoint, with their variant.
    #[serde(default)]
    pub inference_components: Vec<(String, String)>,
    /// Each variant's instance type (from the endpoint config) and current instance count,
    /// read only when the plan is priced. Not fingerprinted: the count moves by itself.
    #[serde(skip)]
    pub instances: BTreeMap<String, (Option<String>, Option<i64>)>,
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
pub(super) const ACCOUNT_LISTING_ABOVE: usize = 3;

/// Reads an endpoint; its inference components come from `components` (an account-wide
/// listing) when given, else from a listing of its own.
pub async fn read_endpoint(
    aws: &Aws,
    endpoint: &str,
    variant_for_mode: Option<&str>,
    components: Option<&ComponentsByEndpoint>,
    priced: bool,
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
    let types = if priced {
        read_instance_types(aws, described.endpoint_config_name()).await?
    } else {
        BTreeMap::new()
    };
    let instances = described
        .production_variants()
        .iter()
        .filter_map(|v| {
            let name = v.variant_name()?.to_string();
            let count = v.current_instance_count().map(i64::from);
            Some((name.clone(), (types.get(&name).cloned(), count)))
        })
        .collect();
    Ok(Some(LiveEndpoint {
        instances,
        status: described
            .endpoint_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Unknown".into()),
        failure_reason: described.failure_reason().map(str::to_string),
        variants,
        container_modes,
        serverless_variants,
        inference_components,
    }))
}

/// (component, variant) of each inference component, by endpoint: of one endpoint, or of the
/// whole account. Such endpoints scale per component, not per variant.
pub(super) async fn read_inference_components(
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

/// One DescribeEndpointConfig.
async fn describe_endpoint_config(
    aws: &Aws,
    config_name: &str,
) -> Result<aws_sdk_sagemaker::operation::describe_endpoint_config::DescribeEndpointConfigOutput> {
    aws.sagemaker
        .describe_endpoint_config()
        .endpoint_config_name(config_name)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "DescribeEndpointConfig {config_name} failed: {}",
                describe_sdk_error(&e)
            )
        })
}

/// Each variant's instance type, from the endpoint config (one DescribeEndpointConfig).
async fn read_instance_types(
    aws: &Aws,
    config_name: Option<&str>,
) -> Result<BTreeMap<String, String>> {
    let Some(config_name) = config_name else {
        return Ok(BTreeMap::new());
    };
    let config = describe_endpoint_config(aws, config_name).await?;
    Ok(config
        .production_variants()
        .iter()
        .filter_map(|v| {
            Some((
                v.variant_name()?.to_string(),
                v.instance_type()?.as_str().to_string(),
            ))
        })
        .collect())
}

pub(super) async fn read_container_modes(
    aws: &Aws,
    config_name: Option<&str>,
    variant: &str,
) -> Result<Vec<String>> {
    let Some(config_name) = config_name else {
        return Ok(vec![]);
    };
    let config = describe_endpoint_config(aws, config_name).await?;
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

pub(super) async fn read_targets(aws: &Aws) -> Result<BTreeMap<String, (i64, i64)>> {
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

pub(super) async fn read_policies(aws: &Aws) -> Result<BTreeMap<String, Vec<LivePolicy>>> {
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

pub(super) async fn read_scheduled_actions(aws: &Aws) -> Result<BTreeMap<String, Vec<String>>> {
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
