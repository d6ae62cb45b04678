//! Carrying out a variant's operations: one function per call, each followed by its wait.

use super::*;

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
pub(super) async fn register_target(
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
pub(super) async fn put_policy(
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
pub(super) async fn delete_policy(
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
pub(super) async fn deregister(
    aws: &Aws,
    resource_id: &str,
    progress: &StepProgress,
) -> Result<()> {
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
