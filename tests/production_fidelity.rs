//! What real AWS and EKS do that the first test doubles let pass (issue 8): each test here
//! runs against a double that now enforces the AWS or Kubernetes rule (cited in
//! docs/testing.md), and checks pipectl's behaviour with independent clients.

mod common;

use aws_sdk_applicationautoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use common::{brokers_stack, path_str, Emulator, STORAGE_AT_BASELINE};

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
    let operations = emulator.operations();
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

/// The brokers' stack reached through `[eks] cluster` alone: pipectl signs its own EKS tokens.
fn token_cluster_stack(storage: &str) -> String {
    brokers_stack("min_replicas = 3\nmax_replicas = 10", storage)
        .replace("kube_context = \"fake\"", "cluster = \"kafka-logs\"")
}

/// EKS refuses a token 15 minutes after it was signed; a claim resize can take longer. With
/// the fake's token lifetime cut to 2 s and a resize that takes 5 s, polls after the first
/// seconds meet a stale token: pipectl must sign a new one and carry on. (Not 1 s: a token's
/// X-Amz-Date has whole seconds, so a token signed just now can already look a second old, and
/// the one retry with a fresh token would then meet a 401 too.)
#[tokio::test(flavor = "multi_thread")]
async fn a_wait_longer_than_the_token_lifetime_still_reaches_the_cluster() {
    let emulator = Emulator::start_with_eks_token_cluster();
    let cluster = emulator.cluster();
    cluster.configure(r#"{"token_lifetime_seconds": 2, "claim_resize_seconds": 5}"#);
    let grow = emulator.stack(
        "grow.toml",
        &token_cluster_stack(&format!("{STORAGE_AT_BASELINE}volume_size_gib = 600\n")),
    );
    cluster.clear_log();
    emulator
        .apply(&grow)
        .expect_code(0)
        .expect_stdout("Apply complete.");
    let statuses = cluster.statuses();
    assert!(
        statuses.contains(&401),
        "the wait should have outlived a token: {statuses:?}"
    );
    // After the last refused token, a new one was signed and the cluster answered again.
    let last_refused = statuses.iter().rposition(|s| *s == 401).unwrap_or_default();
    assert!(
        statuses[last_refused..].contains(&200),
        "a request after the last refused token succeeded with a new token: {statuses:?}"
    );
    // Checked with a token the AWS CLI signs, as an independent client.
    let token = aws_cli_eks_token();
    cluster.configure(r#"{"token_lifetime_seconds": 900}"#);
    for ordinal in 0..3 {
        let (status, body) = cluster.get_with_token(
            &format!("/api/v1/namespaces/kafka/persistentvolumeclaims/data-kafka-broker-{ordinal}"),
            &token,
        );
        assert_eq!(status, 200, "{body}");
        let claim: serde_json::Value = serde_json::from_str(&body).expect("a claim");
        assert_eq!(claim["status"]["capacity"]["storage"], "600Gi");
    }
}

/// `aws eks get-token --cluster-name kafka-logs`, as kubectl's exec plugin runs it.
fn aws_cli_eks_token() -> String {
    let output = common::aws_cli(&["eks", "get-token", "--cluster-name", "kafka-logs"], None);
    let credential: serde_json::Value =
        serde_json::from_slice(&output).expect("ExecCredential JSON");
    credential["status"]["token"]
        .as_str()
        .expect("a token")
        .to_string()
}

/// The fake accepts what EKS accepts: a token from `aws eks get-token`, and refuses it once
/// it is older than the token lifetime.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_aws_eks_get_token_is_accepted_until_it_expires() {
    let emulator = Emulator::start_with_eks_token_cluster();
    let token = aws_cli_eks_token();
    let token = token.as_str();
    let cluster = emulator.cluster();
    assert_eq!(
        cluster
            .get_with_token("/api/v1/namespaces/kafka/persistentvolumeclaims", token)
            .0,
        200
    );
    assert_eq!(
        cluster
            .get_with_token("/api/v1/namespaces", "k8s-aws-v1.bm90LWEtdXJs")
            .0,
        401
    );
    cluster.configure(r#"{"token_lifetime_seconds": 0}"#);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(cluster.get_with_token("/api/v1/namespaces", token).0, 401);
}

/// A claim whose resize fails is reported at once with Kubernetes' reason, not waited on
/// for hours.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_claim_resize_is_reported_at_once() {
    for failure in ["ControllerResizeInfeasible", "NodeResizeError"] {
        let emulator = Emulator::start_with_cluster("{}");
        emulator
            .cluster()
            .configure(&format!(r#"{{"claim_resize_failure": "{failure}"}}"#));
        let grow = emulator.stack(
            "grow.toml",
            &brokers_stack(
                "min_replicas = 3\nmax_replicas = 10",
                &format!("{STORAGE_AT_BASELINE}volume_size_gib = 600\n"),
            ),
        );
        let started = std::time::Instant::now();
        emulator
            .apply(&grow)
            .expect_code(1)
            .expect_stdout("growing claim kafka/data-kafka-broker-0 failed")
            .expect_stdout(if failure == "NodeResizeError" {
                "NodeResizeError: resize volume"
            } else {
                "ControllerResizeInfeasible (Kubernetes will not retry it)"
            });
        // Reported on the first poll, not after the 4-hour wait deadline.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }
}

/// A StorageClass replace keeps what pipectl does not manage: the reclaim policy (absent, it
/// would default to Delete and new broker volumes would die with their claims), mount
/// options, topologies, labels and the default-class annotation. Parameter names compare as
/// the EBS CSI driver reads them, case-insensitively.
#[tokio::test(flavor = "multi_thread")]
async fn a_storage_class_replace_keeps_what_pipectl_does_not_manage() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let class = emulator.stack(
        "class.yaml",
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: kafka-gp3\n  labels: {team: streaming}\n  annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}\nprovisioner: ebs.csi.aws.com\nparameters: {type: gp3, IOPS: \"3000\", Throughput: \"125\", encrypted: \"true\"}\nreclaimPolicy: Retain\nvolumeBindingMode: WaitForFirstConsumer\nallowVolumeExpansion: true\nmountOptions: [noatime]\n",
    );
    cluster
        .kubectl(&["delete", "storageclass", "kafka-gp3"])
        .expect_code(0);
    cluster
        .kubectl(&["create", "-f", path_str(&class), "--validate=false"])
        .expect_code(0);

    // Same settings, other spelling of the parameter names: nothing to do.
    let same = emulator.stack(
        "same.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", STORAGE_AT_BASELINE),
    );
    let plan = emulator.pipectl(&["plan", "-f", path_str(&same)]);
    plan.expect_code(0);
    assert!(
        !plan.stdout.contains("eks.storage_class.kafka-gp3"),
        "{}",
        plan.stdout
    );

    let faster = emulator.stack(
        "faster.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10",
            &STORAGE_AT_BASELINE.replace("iops = 3000", "iops = 6000"),
        ),
    );
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&faster),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0);
    let replaced = cluster.get("storageclass", "kafka-gp3");
    assert_eq!(replaced["parameters"]["iops"], "6000", "{replaced}");
    assert!(replaced["parameters"].get("IOPS").is_none(), "{replaced}");
    assert_eq!(replaced["reclaimPolicy"], "Retain");
    assert_eq!(replaced["mountOptions"], serde_json::json!(["noatime"]));
    assert_eq!(replaced["metadata"]["labels"]["team"], "streaming");
    assert_eq!(
        replaced["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    assert_eq!(replaced["volumeBindingMode"], "WaitForFirstConsumer");
    emulator
        .pipectl(&["plan", "-f", path_str(&faster), "--detailed-exitcode"])
        .expect_code(0);
}

/// EBS: a completed modification no longer blocks the next one for 6 hours (AWS's current
/// rule is "completed" plus four per rolling 24 h); pipectl waits for the modification it
/// started (by its start time), not for an older one DescribeVolumesModifications may still
/// report; a refusal over the daily count is reported with AWS's text.
#[tokio::test(flavor = "multi_thread")]
async fn ebs_volumes_follow_the_completed_and_daily_count_rule() {
    let emulator = Emulator::start_with_cluster("{}");
    let ec2 = emulator.ec2().await;
    let ids = emulator.broker_volume_ids(0..3).await;
    for id in &ids {
        // Modified by hand earlier and completed (the emulator completes it at once).
        ec2.modify_volume()
            .volume_id(id)
            .iops(3000)
            .send()
            .await
            .expect("out-of-band ModifyVolume");
    }
    emulator.configure(
        r#"{"volume_modification_seconds": 4, "volume_modification_report_lag_seconds": 1}"#,
    );
    emulator.clear_log();
    let faster = emulator.stack(
        "faster.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10",
            &STORAGE_AT_BASELINE.replace("iops = 3000", "iops = 4000"),
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&faster)])
        .expect_code(0)
        .expect_stdout("~ iops: 3000 -> 4000")
        .expect_stdout("AWS allows 4 modifications of a volume per rolling 24 h");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&faster),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0);
    let modified = emulator.resources_of("ModifyVolume");
    assert_eq!(modified, ids);
    // pipectl returned only once its own modification had left `modifying` (2 s of the 4):
    // past the report lag, the last volume's modification is no longer `modifying`. Had
    // pipectl taken the previous (completed) modification for its own, it would have returned
    // at once and this one would still be modifying.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let described = ec2
        .describe_volumes_modifications()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("volume-id")
                .values(&ids[2])
                .build(),
        )
        .send()
        .await
        .expect("DescribeVolumesModifications");
    let state = described.volumes_modifications()[0]
        .modification_state()
        .map(|s| s.as_str().to_string());
    assert_ne!(state.as_deref(), Some("modifying"));
    assert_eq!(emulator.broker_volume(2).await.iops(), Some(4000));

    // Over the rolling day's count, AWS refuses: reported, not retried, exit 1.
    emulator.configure(r#"{"volume_modification_seconds": 0, "volume_modifications_per_day": 2}"#);
    let fastest = emulator.stack(
        "fastest.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10",
            &STORAGE_AT_BASELINE.replace("iops = 3000", "iops = 5000"),
        ),
    );
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&fastest),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(1)
        .expect_stdout("VolumeModificationRateExceeded");
    assert_eq!(emulator.broker_volume(0).await.iops(), Some(4000));
}

/// Serverless variants scale provisioned concurrency and inference-component endpoints scale
/// copies per component: pipectl cannot scale either by instance count, so plan says so
/// instead of an apply failing halfway.
#[tokio::test(flavor = "multi_thread")]
async fn serverless_and_inference_component_endpoints_are_plan_errors() {
    let emulator = Emulator::start("{}");
    emulator.seed(&["sagemaker-serverless", "scores"]);
    emulator.seed(&["sagemaker-inference-components", "ranker"]);
    emulator.clear_log();
    let stack = emulator.stack("s.toml", &sagemaker_stack(&["scores", "ranker"]));
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(1)
        .expect_stderr("variant AllTraffic of endpoint scores is serverless")
        .expect_stderr("DesiredProvisionedConcurrency")
        .expect_stderr(
            "endpoint ranker hosts inference components on variant AllTraffic (ranker-component)",
        )
        .expect_stderr("DesiredCopyCount");
    emulator.apply(&stack).expect_code(1);
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
}

/// A broker volume provisioned by EKS Auto Mode (`ebs.csi.eks.amazonaws.com`) is EKS's to
/// manage: pipectl recognises it, says why it leaves it alone, and modifies only the others.
#[tokio::test(flavor = "multi_thread")]
async fn eks_auto_mode_volumes_are_recognised_and_not_modified() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let claim = cluster.get("pvc", "data-kafka-broker-0");
    let pv_name = claim["spec"]["volumeName"]
        .as_str()
        .expect("bound")
        .to_string();
    let mut pv = cluster.get("pv", &pv_name);
    pv["spec"]["csi"]["driver"] = serde_json::json!("ebs.csi.eks.amazonaws.com");
    pv["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("resourceVersion");
    cluster.seed(&serde_json::json!([pv]));
    emulator.clear_log();
    let faster = emulator.stack(
        "faster.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10",
            &STORAGE_AT_BASELINE.replace("iops = 3000", "iops = 4000"),
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&faster)])
        .expect_code(0)
        .expect_stdout(
            "claim data-kafka-broker-0 is an EKS Auto Mode volume (ebs.csi.eks.amazonaws.com)",
        );
    // The volume EKS manages is reported as not started, so the run says the stack is not
    // fully applied; the others are modified.
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&faster),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(1)
        .expect_stdout("eks.volume.kafka/data-kafka-broker-0")
        .expect_stdout("not started");
    assert_eq!(
        emulator.resources_of("ModifyVolume"),
        emulator.broker_volume_ids(1..3).await
    );
}

/// Brokers on EKS are private to the cluster's VPC and need authentication: a mapping that
/// reaches `Enabled` without the VPC's subnets and security group, or without the brokers'
/// SASL/SCRAM secret, cannot consume. pipectl waits for `LastProcessingResult` and reports
/// AWS's PROBLEM text as a failed change; with both, the trigger becomes healthy.
#[tokio::test(flavor = "multi_thread")]
async fn a_kafka_trigger_is_done_only_when_it_can_reach_the_brokers() {
    let emulator = Emulator::start(r#"{"esm_transition_seconds": 0.5, "esm_connect_seconds": 1}"#);
    emulator.seed_functions(&["consumer"]);
    let ec2 = emulator.ec2().await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .expect("CreateSubnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string();
    let group = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name("kafka-clients")
        .description("Lambda pollers")
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_string();
    emulator.configure(&format!(
        r#"{{"kafka_brokers": {{"b-1.kafka.svc:9092": {{"vpc": "{vpc}", "auth": "SASL_SCRAM_512_AUTH"}}}}}}"#
    ));
    let stack = |access: &str| {
        format!(
            "[stack]\nname = \"f\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nconsumer_group_id = \"log-consumers\"\nhealth_timeout_seconds = 30\n{access}"
        )
    };
    let open = emulator.stack("open.toml", &stack(""));
    emulator
        .apply(&open)
        .expect_code(1)
        .expect_stdout("PROBLEM: Connection error");

    let vpc_only = emulator.stack(
        "vpc.toml",
        &stack(&format!(
            "vpc_subnets = [\"{subnet}\"]\nvpc_security_groups = [\"{group}\"]\n"
        )),
    );
    emulator
        .apply(&vpc_only)
        .expect_code(1)
        .expect_stdout("+ access: VPC_SECURITY_GROUP=security_group:")
        .expect_stdout("+ access: VPC_SUBNET=subnet:")
        .expect_stdout("PROBLEM: SASL authentication failed");

    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-logs-scram";
    let secured = emulator.stack(
        "secured.toml",
        &stack(&format!(
            "vpc_subnets = [\"{subnet}\"]\nvpc_security_groups = [\"{group}\"]\nsasl_scram_512_secret_arn = \"{secret}\"\n"
        )),
    );
    emulator.apply(&secured).expect_code(0);
    let mappings = emulator
        .lambda()
        .await
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .expect("ListEventSourceMappings");
    let mapping = &mappings.event_source_mappings()[0];
    assert_eq!(mappings.event_source_mappings().len(), 1);
    assert_eq!(mapping.last_processing_result(), Some("OK"));
    assert_eq!(
        mapping
            .self_managed_kafka_event_source_config()
            .and_then(|c| c.consumer_group_id()),
        Some("log-consumers")
    );
    let mut kinds: Vec<&str> = mapping
        .source_access_configurations()
        .iter()
        .filter_map(|c| c.r#type().map(|t| t.as_str()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec!["SASL_SCRAM_512_AUTH", "VPC_SECURITY_GROUP", "VPC_SUBNET"]
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&secured), "--detailed-exitcode"])
        .expect_code(0);
}

/// EKS has no metrics server by default, and a CPU utilization target needs CPU requests:
/// without either the HPA can never scale, so plan warns. A cron drift check stays silent.
#[tokio::test(flavor = "multi_thread")]
async fn an_hpa_that_can_never_scale_is_warned_about() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", ""),
    );
    // The seeded cluster serves metrics.k8s.io and requests CPU: no warning.
    let plan = emulator.pipectl(&["plan", "-f", path_str(&stack)]);
    plan.expect_code(0);
    assert!(!plan.stdout.contains("warning:"), "{}", plan.stdout);

    cluster.configure(r#"{"metrics_api": false}"#);
    cluster
        .merge_patch(
            "statefulset",
            "kafka-broker",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"kafka","image":"apache/kafka:3.9.0"}]}}}}"#,
        )
        .expect_code(0);
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("the cluster does not serve metrics.k8s.io")
        .expect_stdout("container kafka of StatefulSet kafka/kafka-broker has no CPU request");
    emulator
        .pipectl(&["apply", "-f", path_str(&stack), "--auto-approve"])
        .expect_code(0);
    let quiet = emulator.pipectl(&["drift", "--quiet", "-f", path_str(&stack)]);
    quiet.expect_code(0);
    assert_eq!(quiet.stdout, "", "drift --quiet stays silent when in sync");
}

/// Before a server-side apply with force, pipectl reads managedFields: fields a client-side
/// `kubectl apply` (or Helm, Argo CD, Flux) owns are named in the plan, and apply takes them
/// only with --force-conflicts. Fields the API server defaulted belong to nobody and never
/// show as a conflict or a diff.
#[tokio::test(flavor = "multi_thread")]
async fn fields_another_manager_owns_are_named_and_taken_only_with_force_conflicts() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    cluster
        .kubectl(&["delete", "hpa", "kafka-broker-hpa", "-n", "kafka"])
        .expect_code(0);
    let manifest = emulator.stack(
        "hpa.yaml",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: kafka-broker-hpa\n  namespace: kafka\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: kafka-broker}\n  minReplicas: 3\n  maxReplicas: 12\n  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n",
    );
    cluster
        .kubectl(&["apply", "-f", path_str(&manifest), "--validate=false"])
        .expect_code(0);
    let stored = cluster.get("hpa", "kafka-broker-hpa");
    assert!(
        stored["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string(),
        "{stored}"
    );

    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", ""),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("spec.maxReplicas (owned by kubectl-client-side-apply)");
    cluster.clear_log();
    emulator
        .apply(&stack)
        .expect_code(1)
        .expect_stderr("nothing was changed; re-run with --force-conflicts");
    assert!(cluster.writes().is_empty());
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&stack),
            "--auto-approve",
            "--force-conflicts",
        ])
        .expect_code(0);
    let taken = cluster.get("hpa", "kafka-broker-hpa");
    assert_eq!(taken["spec"]["maxReplicas"], 10);
    // The API server defaulted the scale-up rules pipectl does not set: no diff, no conflict.
    assert_eq!(
        taken["spec"]["behavior"]["scaleUp"]["selectPolicy"], "Max",
        "{taken}"
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&stack), "--detailed-exitcode"])
        .expect_code(0);
}

/// A consumer group change replaces the mapping, old one first (AWS allows one mapping per
/// function, source and topic: creating first would be refused), and the plan says where the
/// new mapping starts reading. AT_TIMESTAMP is accepted for Kafka sources.
#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_group_change_replaces_the_mapping_old_one_first() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let stack = |extra: &str| {
        format!(
            "[stack]\nname = \"f\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nhealth_timeout_seconds = 5\n{extra}"
        )
    };
    let at_timestamp = emulator.stack(
        "a.toml",
        &stack("starting_position = \"AT_TIMESTAMP\"\nstarting_position_timestamp = 1767225600\nconsumer_group_id = \"team-a\"\n"),
    );
    emulator.apply(&at_timestamp).expect_code(0);
    let lambda = emulator.lambda().await;
    let first = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .expect("ListEventSourceMappings");
    let first = &first.event_source_mappings()[0];
    assert_eq!(
        first.starting_position().map(|p| p.as_str()),
        Some("AT_TIMESTAMP")
    );
    emulator.clear_log();

    let other_group = emulator.stack("b.toml", &stack("consumer_group_id = \"team-b\"\n"));
    emulator
        .pipectl(&["plan", "-f", path_str(&other_group)])
        .expect_code(0)
        .expect_stdout("~ consumer_group_id: team-a -> team-b")
        .expect_stdout("is deleted first")
        .expect_stdout("joins consumer group team-b");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&other_group),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0);
    let operations = emulator.operations();
    assert_eq!(
        operations,
        vec!["DeleteEventSourceMapping", "CreateEventSourceMapping"]
    );
    let now = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .expect("ListEventSourceMappings");
    assert_eq!(now.event_source_mappings().len(), 1);
    assert_eq!(
        now.event_source_mappings()[0]
            .self_managed_kafka_event_source_config()
            .and_then(|c| c.consumer_group_id()),
        Some("team-b")
    );
}

/// A Queue-mode mapping (a Kafka share group; set at creation only) is read as Queue: import
/// writes the mode, a file without it plans a replacement rather than drifting silently, a
/// Queue trigger is created without the starting position and batching window Lambda refuses
/// in that mode, and the partition notes (which assume one poller per partition) are left out.
#[tokio::test(flavor = "multi_thread")]
async fn a_queue_mode_mapping_is_read_compared_and_imported() {
    use aws_sdk_lambda::types::{
        EndPointType, KafkaEventSourceMappingConsumptionMode, SelfManagedEventSource,
        SelfManagedKafkaEventSourceConfig,
    };
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let lambda = emulator.lambda().await;
    lambda
        .create_event_source_mapping()
        .function_name("consumer")
        .topics("logs")
        .self_managed_event_source(
            SelfManagedEventSource::builder()
                .endpoints(
                    EndPointType::KafkaBootstrapServers,
                    vec!["b-1.kafka.svc:9092".to_string()],
                )
                .build(),
        )
        .self_managed_kafka_event_source_config(
            SelfManagedKafkaEventSourceConfig::builder()
                .consumption_mode(KafkaEventSourceMappingConsumptionMode::Queue)
                .build(),
        )
        .send()
        .await
        .expect("CreateEventSourceMapping in Queue mode");

    let out = emulator.dir().join("imported.toml");
    emulator
        .pipectl(&[
            "import",
            "--stack-name",
            "q",
            "--function",
            "consumer",
            "--out",
            path_str(&out),
        ])
        .expect_code(0);
    let imported = std::fs::read_to_string(&out).expect("the imported stack");
    assert!(
        imported.contains("consumption_mode = \"Queue\""),
        "{imported}"
    );
    assert!(!imported.contains("batching_window_seconds"), "{imported}");
    emulator
        .pipectl(&["plan", "-f", path_str(&out), "--detailed-exitcode"])
        .expect_code(0);

    let stream = emulator.stack(
        "stream.toml",
        "[stack]\nname = \"q\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nprune = true\nhealth_timeout_seconds = 5\n",
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&stream)])
        .expect_code(0)
        .expect_stdout("~ consumption_mode: Queue -> Stream")
        .expect_stdout("is deleted first");

    // Created in Queue mode by pipectl: Lambda's double refuses a starting position there.
    lambda
        .delete_event_source_mapping()
        .uuid(
            lambda
                .list_event_source_mappings()
                .function_name("consumer")
                .send()
                .await
                .expect("ListEventSourceMappings")
                .event_source_mappings()[0]
                .uuid()
                .expect("uuid"),
        )
        .send()
        .await
        .expect("DeleteEventSourceMapping");
    let queue = emulator.stack(
        "queue.toml",
        "[stack]\nname = \"q\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nconsumption_mode = \"Queue\"\nhealth_timeout_seconds = 0\n",
    );
    emulator.apply(&queue).expect_code(0);
    let created = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .expect("ListEventSourceMappings");
    let created = &created.event_source_mappings()[0];
    assert_eq!(
        created
            .self_managed_kafka_event_source_config()
            .and_then(|c| c.consumption_mode())
            .map(|m| m.as_str()),
        Some("Queue")
    );
    assert_eq!(created.starting_position(), None);
    emulator
        .pipectl(&["plan", "-f", path_str(&queue), "--detailed-exitcode"])
        .expect_code(0);

    // Offline: Queue mode takes no starting position or batching window, and no MSK source.
    let invalid = emulator.stack(
        "invalid.toml",
        "[stack]\nname = \"q\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nmsk_cluster_arn = \"arn:aws:kafka:us-east-1:123456789012:cluster/logs/abc\"\ntopic = \"logs\"\nconsumption_mode = \"Queue\"\nstarting_position = \"TRIM_HORIZON\"\nbatching_window_seconds = 5\n",
    );
    emulator
        .pipectl(&["validate", path_str(&invalid)])
        .expect_code(1)
        .expect_stderr("consumption_mode \"Queue\" is for self-managed Kafka")
        .expect_stderr("starting_position does not apply to consumption_mode \"Queue\"")
        .expect_stderr("batching_window_seconds does not apply");
}
