//! What real AWS and EKS do that the first test doubles let pass (issue 8): each test here
//! runs against a double that now enforces the AWS or Kubernetes rule (cited in
//! docs/testing.md), and checks pipectl's behaviour with independent clients.

mod common;

use aws_sdk_applicationautoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use common::{path_str, Emulator};

const RANKER: &str = "endpoint/ranker/variant/AllTraffic";

fn sagemaker_stack(endpoints: &[&str]) -> String {
    let mut text = String::from("[stack]\nname = \"s\"\n\n[sagemaker]\n");
    for endpoint in endpoints {
        text.push_str(&format!(
            "\n[[sagemaker.endpoints]]\nendpoint = \"{endpoint}\"\nmin_capacity = 1\nmax_capacity = 4\ntarget_invocations_per_instance = 100.0\n"
        ));
    }
    text
}

/// DeregisterScalableTarget deletes every policy and scheduled action on the target, so a
/// variant leaving the stack must not take another team's policy or schedule with it.
#[tokio::test(flavor = "multi_thread")]
async fn removing_a_variant_keeps_other_owners_policies_and_scheduled_actions() {
    let emulator = Emulator::start("{}");
    emulator.seed(&["sagemaker", "scores", "ranker"]);
    emulator
        .apply(&emulator.stack("both.toml", &sagemaker_stack(&["scores", "ranker"])))
        .expect_code(0);
    // Another team adds its own policy (the name AWS's SageMaker guide uses) and a schedule.
    let autoscaling = emulator.autoscaling().await;
    autoscaling
        .put_scaling_policy()
        .policy_name("SageMakerEndpointInvocationScalingPolicy")
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RANKER)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .policy_type(aws_sdk_applicationautoscaling::types::PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(70.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::SageMakerVariantInvocationsPerInstance)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("PutScalingPolicy");
    autoscaling
        .put_scheduled_action()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RANKER)
        .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
        .scheduled_action_name("business-hours")
        .schedule("cron(0 8 * * ? *)")
        .send()
        .await
        .expect("PutScheduledAction");
    emulator.clear_log();

    let one = emulator.stack("one.toml", &sagemaker_stack(&["scores"]));
    emulator
        .pipectl(&["plan", "-f", path_str(&one)])
        .expect_code(0)
        .expect_stdout("the scalable target stays registered (min 1, max 4)")
        .expect_stdout("scaling policy SageMakerEndpointInvocationScalingPolicy")
        .expect_stdout("scheduled action business-hours");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&one),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0);
    let operations: Vec<String> = emulator
        .mutating_calls()
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert_eq!(operations, vec!["DeleteScalingPolicy"]);

    let policies = autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RANKER)
        .send()
        .await
        .expect("DescribeScalingPolicies");
    let names: Vec<&str> = policies
        .scaling_policies()
        .iter()
        .map(|p| p.policy_name())
        .collect();
    assert_eq!(names, vec!["SageMakerEndpointInvocationScalingPolicy"]);
    let actions = autoscaling
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_id(RANKER)
        .send()
        .await
        .expect("DescribeScheduledActions");
    assert_eq!(actions.scheduled_actions().len(), 1);
    let targets = autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .resource_ids(RANKER)
        .send()
        .await
        .expect("DescribeScalableTargets");
    assert_eq!(targets.scalable_targets().len(), 1);
    // Nothing of pipectl's is left on it: the next plan has nothing to do.
    emulator
        .pipectl(&["plan", "-f", path_str(&one), "--detailed-exitcode"])
        .expect_code(0);
}
