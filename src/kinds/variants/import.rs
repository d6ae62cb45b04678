//! `pipectl import --endpoint NAME[/VARIANT]` (or found by `--tag`, `--name-prefix`): the
//! variants of live endpoints with their scalable targets and target-tracking policies, written
//! as `[[sagemaker.endpoints]]`.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

use super::{policy_name, read_endpoint, read_scaling, resource_id, LivePolicy, LiveScaling};
use crate::kinds::kind::{ImportContext, ImportedPart};
use crate::providers::{describe_sdk_error, Aws};
use crate::spec::write::{number, quoted, ImportFlag, StackWriter};

pub const FLAGS: &[ImportFlag] = &[ImportFlag {
    long: "endpoint",
    value_name: "NAME[/VARIANT]",
    help: "A SageMaker endpoint (every variant) or one variant (repeatable)",
    repeatable: true,
    selects: true,
}];

/// A live variant in the terms of the stack file.
#[derive(Debug)]
struct ImportedVariant {
    endpoint: String,
    variant: String,
    multi_model: bool,
    /// The scalable target's (min, max), if the variant is registered.
    target: Option<(i64, i64)>,
    /// The target-tracking policy on invocations per instance, if any.
    policy: Option<LivePolicy>,
    /// Other scalable targets of the endpoint whose id names no variant.
    variantless_ids: Vec<String>,
}

pub async fn import(context: &ImportContext<'_>) -> Result<Option<ImportedPart>> {
    let aws = context.aws;
    let candidates = if context.discovers() {
        list_endpoints(aws, context.prefix()).await?
    } else {
        vec![]
    };
    let endpoints = context
        .names("endpoint", candidates, |arn| async move {
            sagemaker_tags(aws, &arn).await
        })
        .await?;
    if endpoints.is_empty() {
        return Ok(None);
    }
    let scaling = read_scaling(aws).await?;
    let mut out = StackWriter::default();
    for given in &endpoints {
        for variant in read_variants(aws, &scaling, given).await? {
            write_variant(&mut out, &variant, context.stack_name);
        }
    }
    Ok(Some(ImportedPart {
        writer: out,
        namespace: None,
    }))
}

async fn list_endpoints(aws: &Aws, prefix: &str) -> Result<Vec<(String, String)>> {
    let endpoints: Vec<_> = aws
        .sagemaker
        .list_endpoints()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| anyhow!("ListEndpoints failed: {}", describe_sdk_error(&e)))?;
    Ok(endpoints
        .iter()
        .filter_map(|e| {
            Some((
                e.endpoint_name()?.to_string(),
                e.endpoint_arn()?.to_string(),
            ))
        })
        .filter(|(name, _)| name.starts_with(prefix))
        .collect())
}

async fn sagemaker_tags(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = aws
        .sagemaker
        .list_tags()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| anyhow!("ListTags {arn} failed: {}", describe_sdk_error(&e)))?;
    Ok(output
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

/// The variants of one `ENDPOINT` or `ENDPOINT/VARIANT` with their scaling: one
/// DescribeEndpoint, and one more per variant for its container modes.
async fn read_variants(
    aws: &Aws,
    scaling: &LiveScaling,
    given: &str,
) -> Result<Vec<ImportedVariant>> {
    let (endpoint, only) = match given.split_once('/') {
        Some((endpoint, variant)) => (endpoint, Some(variant)),
        None => (given, None),
    };
    let live = read_endpoint(aws, endpoint, None, None, false)
        .await?
        .ok_or_else(|| {
            anyhow!(
                "SageMaker endpoint {endpoint} does not exist in {}",
                aws.region
            )
        })?;
    if let Some(variant) = only {
        if !live.variants.iter().any(|v| v == variant) {
            bail!(
                "SageMaker endpoint {endpoint} has no variant {variant}; it has {}",
                live.variants.join(", ")
            );
        }
    }
    let variantless_ids: Vec<String> = scaling
        .targets
        .keys()
        .filter(|id| *id == &format!("endpoint/{endpoint}"))
        .cloned()
        .collect();
    let mut variants = vec![];
    for variant in live
        .variants
        .iter()
        .filter(|v| only.is_none_or(|o| o == *v))
    {
        let multi_model = match read_endpoint(aws, endpoint, Some(variant), None, false).await? {
            Some(with_modes) => with_modes
                .container_modes
                .is_some_and(|modes| modes.iter().any(|m| m == "MultiModel")),
            None => false,
        };
        let (target, policies) = scaling.of(&resource_id(endpoint, variant));
        let policy = policies.and_then(|ps| {
            ps.iter()
                .find(|p| p.metric.as_deref() == Some("SageMakerVariantInvocationsPerInstance"))
                .cloned()
        });
        variants.push(ImportedVariant {
            endpoint: endpoint.to_string(),
            variant: variant.clone(),
            multi_model,
            target: target.copied(),
            policy,
            variantless_ids: variantless_ids.clone(),
        });
    }
    Ok(variants)
}

fn write_variant(out: &mut StackWriter, variant: &ImportedVariant, stack: &str) {
    let id = resource_id(&variant.endpoint, &variant.variant);
    out.line("");
    for variantless in &variant.variantless_ids {
        out.flag(format!(
            "scalable target {variantless}: its resource id names no variant, so it scales nothing; pipectl scales {id}. Deregister it by hand"
        ));
    }
    let complete = match (&variant.target, &variant.policy) {
        (Some(target), Some(policy)) => policy.target_value.map(|value| (target, policy, value)),
        _ => None,
    };
    let Some(((min, max), policy, target_value)) = complete else {
        write_unscaled(out, variant);
        return;
    };
    out.line(&format!(
        "# From scalable target {id} and its policy {}.",
        policy.name
    ));
    out.line("[[sagemaker.endpoints]]");
    out.key("endpoint", quoted(&variant.endpoint));
    out.key("variant", quoted(&variant.variant));
    out.key("min_capacity", min);
    out.key("max_capacity", max);
    out.key("target_invocations_per_instance", number(target_value));
    if let Some(cooldown) = policy.scale_in_cooldown_seconds {
        out.key("scale_in_cooldown_seconds", cooldown);
    }
    if let Some(cooldown) = policy.scale_out_cooldown_seconds {
        out.key("scale_out_cooldown_seconds", cooldown);
    }
    if variant.multi_model {
        out.key("multi_model", true);
    }
    if policy.name != policy_name(stack) {
        out.key("policy_name", quoted(&policy.name));
    }
}

/// A variant no invocations-per-instance policy scales: its block, commented out.
fn write_unscaled(out: &mut StackWriter, variant: &ImportedVariant) {
    out.flag(format!(
        "SageMaker variant {}/{}: not scaled by a target-tracking policy on invocations per instance; its block is commented out (uncomment it to have pipectl register it)",
        variant.endpoint, variant.variant
    ));
    out.line(&format!(
        "# SageMaker variant {}/{} has no scalable target with an invocations-per-instance policy.",
        variant.endpoint, variant.variant
    ));
    out.line("# Uncomment to have pipectl scale it:");
    out.line("# [[sagemaker.endpoints]]");
    out.line(&format!("# endpoint = {}", quoted(&variant.endpoint)));
    out.line(&format!("# variant = {}", quoted(&variant.variant)));
    let (min, max) = variant.target.unwrap_or((1, 1));
    out.line(&format!("# min_capacity = {min}"));
    out.line(&format!("# max_capacity = {max}"));
    out.line("# target_invocations_per_instance = 1000");
}
