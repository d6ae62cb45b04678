//! End-to-end for the Kafka brokers on EKS (HPA, StorageClass, live volumes) and SageMaker
//! endpoint autoscaling: the pipectl binary against the AWS emulator and the project's fake
//! Kubernetes API server, checked with independent clients (kubectl, the AWS SDK) and the
//! request logs of both test doubles.

mod common;

use common::{brokers_stack, path_str, Emulator, STORAGE_AT_BASELINE};

fn storage(iops: i64, throughput: i64, size: Option<i64>) -> String {
    let mut text = format!(
        "[kafka.storage]\nstorage_class = \"kafka-gp3\"\nvolume_type = \"gp3\"\niops = {iops}\nthroughput_mibps = {throughput}\nencrypted = true\n"
    );
    if let Some(size) = size {
        text.push_str(&format!("volume_size_gib = {size}\n"));
    }
    text
}

fn ec2_calls(emulator: &Emulator, operation: &str) -> Vec<String> {
    emulator
        .calls(operation)
        .into_iter()
        .map(|c| c.resource)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hpa_and_storage_class_are_created_from_nothing_and_converge() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    // A new HPA name and a new class: nothing of either exists yet.
    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack(
            "hpa_name = \"brokers\"\nmin_replicas = 3\nmax_replicas = 12",
            "[kafka.storage]\nstorage_class = \"kafka-fast\"\niops = 6000\nthroughput_mibps = 500\nvolume_size_gib = 500\n",
        ),
    );
    cluster.clear_log();
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("+ eks.hpa.kafka/brokers will be created")
        .expect_stdout("+ eks.storage_class.kafka-fast will be created")
        .expect_stdout("partition reassignment")
        .expect_stdout("Plan: 2 to create, 0 to change, 0 to destroy.");
    assert!(cluster.writes().is_empty(), "plan wrote to the cluster");

    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stdout("2 applied, 0 failed, 0 not started")
        .expect_stdout("Apply complete");

    // What kubectl sees.
    let hpa = cluster.get("hpa", "brokers");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(hpa["spec"]["maxReplicas"], 12);
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "kafka-broker");
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    assert_eq!(
        hpa["spec"]["behavior"]["scaleDown"]["selectPolicy"],
        "Disabled"
    );
    assert_eq!(hpa["metadata"]["labels"]["pipectl.io/stack"], "k");
    let class = cluster.get("storageclass", "kafka-fast");
    assert_eq!(class["provisioner"], "ebs.csi.aws.com");
    assert_eq!(class["parameters"]["type"], "gp3");
    assert_eq!(class["parameters"]["iops"], "6000");
    assert_eq!(class["parameters"]["throughput"], "500");
    assert_eq!(class["parameters"]["encrypted"], "true");
    assert_eq!(class["volumeBindingMode"], "WaitForFirstConsumer");
    assert_eq!(class["allowVolumeExpansion"], true);

    // Written with server-side apply under the field manager `pipectl`, and nothing else:
    // in particular the StatefulSet (whose replicas the HPA owns) is never written.
    let writes = cluster.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    for write in &writes {
        assert_eq!(write.method, "PATCH");
        assert_eq!(write.content_type, "application/apply-patch+yaml");
        assert_eq!(write.field_manager, "pipectl");
        assert!(!write.path.contains("statefulsets"));
    }
    assert!(!writes[0].body.to_string().contains("v2beta2"));

    cluster.clear_log();
    emulator
        .pipectl(&["plan", "-f", path_str(&stack), "--detailed-exitcode"])
        .expect_code(0)
        .expect_stdout("No changes");
    emulator
        .pipectl(&["drift", "-f", path_str(&stack)])
        .expect_code(0);
    assert!(cluster.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn hpa_limits_change_in_place_and_min_below_replication_factor_is_refused() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack("min_replicas = 4\nmax_replicas = 15", ""),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("~ eks.hpa.kafka/kafka-broker-hpa will be updated in place")
        .expect_stdout("~ min_replicas: 3 -> 4")
        .expect_stdout("~ max_replicas: 10 -> 15")
        .expect_stdout("~ scale_down: enabled after a 300s window -> disabled");
    let before = cluster.get("hpa", "kafka-broker-hpa");
    emulator.apply(&stack).expect_code(0);
    let after = cluster.get("hpa", "kafka-broker-hpa");
    assert_eq!(after["spec"]["minReplicas"], 4);
    assert_eq!(after["spec"]["maxReplicas"], 15);
    // Updated in place: same object, new resourceVersion.
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
    assert_ne!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );

    cluster.clear_log();
    let unsafe_stack = emulator.stack(
        "unsafe.toml",
        &brokers_stack("min_replicas = 2\nmax_replicas = 15", ""),
    );
    let run = emulator.apply(&unsafe_stack);
    run.expect_code(1)
        .expect_stderr("unsafe.toml:12:")
        .expect_stderr("replication factor");
    assert!(cluster.writes().is_empty());
    assert_eq!(
        cluster.get("hpa", "kafka-broker-hpa")["spec"]["minReplicas"],
        4
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_class_parameter_change_is_a_destructive_replace() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10",
            &storage(6000, 250, None),
        ),
    );
    cluster.clear_log();
    emulator.clear_log();
    emulator
        .apply(&stack)
        .expect_code(1)
        .expect_stdout("-/+ eks.storage_class.kafka-gp3 must be replaced")
        .expect_stdout("~ parameters.iops: 3000 -> 6000")
        .expect_stdout("keep their old settings")
        .expect_stderr("deletes live resources: eks.storage_class.kafka-gp3")
        .expect_stderr("--allow-destroy");
    assert!(
        cluster.writes().is_empty(),
        "refused apply wrote to the cluster"
    );
    assert!(emulator.mutating_calls().is_empty());

    let old_uid = cluster.get("storageclass", "kafka-gp3")["metadata"]["uid"].clone();
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&stack),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0)
        .expect_stdout("Apply complete");
    let class = cluster.get("storageclass", "kafka-gp3");
    assert_eq!(class["parameters"]["iops"], "6000");
    assert_eq!(class["parameters"]["throughput"], "250");
    assert_ne!(class["metadata"]["uid"], old_uid, "the class was recreated");
    let class_writes: Vec<String> = cluster
        .writes()
        .into_iter()
        .filter(|w| w.path.contains("storageclasses"))
        .map(|w| format!("{} {}", w.method, w.status))
        .collect();
    assert_eq!(class_writes, vec!["DELETE 200", "PATCH 201"]);

    // And each live broker volume got the new performance through ModifyVolume.
    assert_eq!(ec2_calls(&emulator, "ModifyVolume").len(), 3);
    for ordinal in 0..3 {
        let volume = emulator.broker_volume(ordinal).await;
        assert_eq!(volume.iops(), Some(6000));
        assert_eq!(volume.throughput(), Some(250));
        assert_eq!(volume.size(), Some(500));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_grow_and_shrinking_is_refused() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let grow = emulator.stack(
        "grow.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10",
            &format!("{STORAGE_AT_BASELINE}volume_size_gib = 600\n"),
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&grow)])
        .expect_code(0)
        .expect_stdout("~ eks.volume.kafka/data-kafka-broker-2 will be updated in place")
        .expect_stdout("~ size: 500Gi -> 600Gi");
    emulator.apply(&grow).expect_code(0);
    for ordinal in 0..3 {
        let claim = cluster.get("pvc", &format!("data-kafka-broker-{ordinal}"));
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "600Gi");
        assert_eq!(claim["status"]["capacity"]["storage"], "600Gi");
    }
    // Only the size changed: the claims were patched and no ModifyVolume was needed.
    assert!(ec2_calls(&emulator, "ModifyVolume").is_empty());

    cluster.clear_log();
    let shrink = emulator.stack(
        "shrink.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10",
            &format!("{STORAGE_AT_BASELINE}volume_size_gib = 550\n"),
        ),
    );
    emulator
        .apply(&shrink)
        .expect_code(1)
        .expect_stderr("would shrink claim data-kafka-broker-0 (600Gi)")
        .expect_stderr("volume_size_gib to at least 600");
    assert!(cluster.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_broker_volume_is_modified_and_one_still_modifying_is_skipped() {
    let emulator = Emulator::start_with_cluster("{}");
    // Someone started a long modification on broker 1's volume.
    let busy = emulator.broker_volume(1).await;
    let busy_id = busy.volume_id().expect("id").to_string();
    emulator.configure(r#"{"volume_modification_seconds": 3600}"#);
    emulator
        .ec2()
        .await
        .modify_volume()
        .volume_id(&busy_id)
        .iops(4000)
        .send()
        .await
        .expect("out-of-band ModifyVolume");
    emulator.configure(r#"{"volume_modification_seconds": 0}"#);
    emulator.clear_log();

    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack(
            "min_replicas = 3\nmax_replicas = 10\nscale_down = { enabled = true, stabilization_window_seconds = 600 }",
            &format!(
                "{}max_parallel_volume_changes = 1\n",
                STORAGE_AT_BASELINE
                    .replace("iops = 3000", "iops = 6000")
                    .replace("throughput_mibps = 125", "throughput_mibps = 250")
            ),
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("deferred: the previous modification of")
        .expect_stdout("still modifying");
    let run = emulator.pipectl(&[
        "apply",
        "-f",
        path_str(&stack),
        "--auto-approve",
        "--allow-destroy",
    ]);
    run.expect_code(1)
        .expect_stdout("eks.volume.kafka/data-kafka-broker-1")
        .expect_stdout("still modifying")
        .expect_stdout("not started");
    let modified = ec2_calls(&emulator, "ModifyVolume");
    let expected: Vec<String> = vec![
        emulator
            .broker_volume(0)
            .await
            .volume_id()
            .expect("id")
            .into(),
        emulator
            .broker_volume(2)
            .await
            .volume_id()
            .expect("id")
            .into(),
    ];
    assert_eq!(
        modified, expected,
        "one at a time, in ordinal order, skipping broker 1"
    );
    assert_eq!(emulator.broker_volume(0).await.iops(), Some(6000));
    assert_eq!(emulator.broker_volume(1).await.iops(), Some(4000));
    assert_eq!(emulator.broker_volume(2).await.throughput(), Some(250));
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_band_hpa_edit_is_drift_and_apply_takes_it_back() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", ""),
    );
    emulator.apply(&stack).expect_code(0);
    cluster
        .merge_patch("hpa", "kafka-broker-hpa", r#"{"spec":{"maxReplicas":20}}"#)
        .expect_code(0);
    emulator
        .pipectl(&["drift", "-f", path_str(&stack)])
        .expect_code(2)
        .expect_stdout("eks.hpa.kafka/kafka-broker-hpa")
        .expect_stdout("max_replicas: live 20, spec 10");
    // kubectl's patch made kubectl-patch the field's manager: as `kubectl apply --server-side`
    // would, apply refuses to take it without --force-conflicts, having changed nothing...
    cluster.clear_log();
    emulator
        .apply(&stack)
        .expect_code(1)
        .expect_stdout("spec.maxReplicas (owned by kubectl-patch)")
        .expect_stderr("eks.hpa.kafka/kafka-broker-hpa spec.maxReplicas (owned by kubectl-patch)")
        .expect_stderr("--force-conflicts");
    assert!(cluster.writes().is_empty());
    // ...and with it, the spec wins: pipectl takes the field back.
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&stack),
            "--auto-approve",
            "--force-conflicts",
        ])
        .expect_code(0);
    assert_eq!(
        cluster.get("hpa", "kafka-broker-hpa")["spec"]["maxReplicas"],
        10
    );
    emulator
        .pipectl(&["drift", "-f", path_str(&stack)])
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_statefulset_cluster_and_not_active_cluster_are_plan_errors() {
    let emulator = Emulator::start_with_cluster("{}");
    let wrong_sts = emulator.stack(
        "sts.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", "")
            .replace("statefulset = \"kafka-broker\"", "statefulset = \"kafka\""),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&wrong_sts)])
        .expect_code(1)
        .expect_stderr("the broker StatefulSet kafka/kafka does not exist");

    let missing_cluster = emulator.stack(
        "cluster.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", "")
            .replace("kube_context = \"fake\"", "cluster = \"nope\""),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&missing_cluster)])
        .expect_code(1)
        .expect_stderr("EKS cluster nope does not exist");

    emulator.configure(r#"{"eks_cluster_status": {"kafka-logs": "UPDATING"}}"#);
    let updating = emulator.stack(
        "updating.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", "")
            .replace("kube_context = \"fake\"", "cluster = \"kafka-logs\""),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&updating)])
        .expect_code(1)
        .expect_stderr("EKS cluster kafka-logs is UPDATING, not ACTIVE");
}

#[tokio::test(flavor = "multi_thread")]
async fn eks_token_signed_by_pipectl_reaches_the_cluster() {
    let emulator = Emulator::start_with_eks_token_cluster();
    let cluster = emulator.cluster();
    // kubectl's kubeconfig token is not an EKS token: the fake refuses it, as EKS would.
    cluster
        .kubectl(&["get", "hpa", "-n", "kafka"])
        .expect_code(1)
        .expect_stderr("You must be logged in to the server");
    // No kube_context: pipectl reads the endpoint from DescribeCluster and signs a token.
    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 11", "")
            .replace("kube_context = \"fake\"", "cluster = \"kafka-logs\""),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("~ max_replicas: 10 -> 11");
}

fn sagemaker_stack(variants: &[(&str, i64, i64, f64)]) -> String {
    let mut text = String::from("[stack]\nname = \"s\"\n\n[sagemaker]\n");
    for (endpoint, min, max, target) in variants {
        text.push_str(&format!(
            "\n[[sagemaker.endpoints]]\nendpoint = \"{endpoint}\"\nmin_capacity = {min}\nmax_capacity = {max}\ntarget_invocations_per_instance = {target:.1}\nscale_in_cooldown_seconds = 300\nscale_out_cooldown_seconds = 60\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn sagemaker_targets_and_policies_are_created_updated_and_deleted() {
    let emulator = Emulator::start("{}");
    emulator.seed(&["sagemaker", "scores", "ranker"]);
    let both = emulator.stack(
        "both.toml",
        &sagemaker_stack(&[("scores", 1, 10, 1000.0), ("ranker", 2, 4, 50.0)]),
    );
    emulator
        .apply(&both)
        .expect_code(0)
        .expect_stdout("+ sagemaker.variant.scores/AllTraffic will be created")
        .expect_stdout("2 applied, 0 failed");
    let autoscaling = emulator.autoscaling().await;
    let targets = autoscaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
        .send()
        .await
        .expect("DescribeScalableTargets");
    let mut found: Vec<(String, i32, i32)> = targets
        .scalable_targets()
        .iter()
        .map(|t| {
            (
                t.resource_id().to_string(),
                t.min_capacity(),
                t.max_capacity(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("endpoint/ranker/variant/AllTraffic".to_string(), 2, 4),
            ("endpoint/scores/variant/AllTraffic".to_string(), 1, 10),
        ]
    );
    let policies = autoscaling
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
        .resource_id("endpoint/scores/variant/AllTraffic")
        .send()
        .await
        .expect("DescribeScalingPolicies");
    let policy = &policies.scaling_policies()[0];
    assert_eq!(policy.policy_name(), "pipectl-s-invocations");
    let config = policy
        .target_tracking_scaling_policy_configuration()
        .expect("target tracking");
    assert_eq!(config.target_value(), 1000.0);
    assert_eq!(config.scale_in_cooldown(), Some(300));
    assert_eq!(config.scale_out_cooldown(), Some(60));
    assert_eq!(
        config
            .predefined_metric_specification()
            .map(|m| m.predefined_metric_type().as_str()),
        Some("SageMakerVariantInvocationsPerInstance")
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&both), "--detailed-exitcode"])
        .expect_code(0);

    // Update: only the target's maximum changes, so only RegisterScalableTarget is called.
    emulator.clear_log();
    let bigger = emulator.stack(
        "bigger.toml",
        &sagemaker_stack(&[("scores", 1, 20, 1000.0), ("ranker", 2, 4, 50.0)]),
    );
    emulator
        .apply(&bigger)
        .expect_code(0)
        .expect_stdout("~ max_capacity: 10 -> 20");
    let operations: Vec<String> = emulator
        .mutating_calls()
        .into_iter()
        .map(|c| format!("{} {}", c.operation, c.resource))
        .collect();
    assert_eq!(
        operations,
        vec!["RegisterScalableTarget endpoint/scores/variant/AllTraffic"]
    );

    // Removing a variant from the spec: destructive, policies first, then the target.
    emulator.clear_log();
    let one = emulator.stack("one.toml", &sagemaker_stack(&[("scores", 1, 20, 1000.0)]));
    emulator
        .apply(&one)
        .expect_code(1)
        .expect_stdout("- sagemaker.variant.ranker/AllTraffic will be destroyed")
        .expect_stderr("--allow-destroy");
    assert!(emulator.mutating_calls().is_empty());
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
    assert_eq!(
        operations,
        vec!["DeleteScalingPolicy", "DeregisterScalableTarget"]
    );
    let left = autoscaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
        .send()
        .await
        .expect("DescribeScalableTargets");
    assert_eq!(left.scalable_targets().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_endpoint_and_single_model_endpoint_are_plan_errors_and_multi_model_passes() {
    let emulator = Emulator::start("{}");
    emulator.seed(&["sagemaker", "scores"]);
    emulator.clear_log();
    let missing = emulator.stack(
        "missing.toml",
        &sagemaker_stack(&[("rcf-anomaly-endpoint", 1, 10, 1000.0)]),
    );
    emulator
        .apply(&missing)
        .expect_code(1)
        .expect_stderr("SageMaker endpoint rcf-anomaly-endpoint does not exist");
    let multi = emulator.stack(
        "multi.toml",
        &format!(
            "{}multi_model = true\n",
            sagemaker_stack(&[("scores", 1, 10, 1000.0)])
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&multi)])
        .expect_code(1)
        .expect_stderr("runs in SingleModel mode");
    assert!(emulator.mutating_calls().is_empty());

    // A multi-model endpoint passes the check and is scaled.
    emulator.seed(&["sagemaker-multi-model", "ranker"]);
    let ranker = emulator.stack(
        "ranker.toml",
        &format!(
            "{}multi_model = true\n",
            sagemaker_stack(&[("ranker", 1, 3, 20.0)])
        ),
    );
    emulator
        .apply(&ranker)
        .expect_code(0)
        .expect_stdout("+ sagemaker.variant.ranker/AllTraffic will be created");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ignored_hpa_field_is_left_to_whoever_owns_it() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let stack = emulator.stack(
        "stack.toml",
        &format!(
            "{}\n[[ignore]]\nresource = \"eks.hpa.kafka/kafka-broker-hpa\"\nfields = [\"max_replicas\"]\nreason = \"raised by on-call during incidents\"\n",
            brokers_stack("min_replicas = 3\nmax_replicas = 10", "")
        ),
    );
    emulator.apply(&stack).expect_code(0);
    cluster
        .merge_patch("hpa", "kafka-broker-hpa", r#"{"spec":{"maxReplicas":25}}"#)
        .expect_code(0);
    emulator
        .pipectl(&["drift", "-f", path_str(&stack), "-v"])
        .expect_code(0);
    emulator
        .pipectl(&["plan", "-f", path_str(&stack), "-v"])
        .expect_code(0)
        .expect_stdout("ignored: eks.hpa.kafka/kafka-broker-hpa max_replicas (raised by on-call during incidents)")
        .expect_stdout("No changes");
    // A change to a field that is not ignored is applied, and keeps on-call's maximum.
    let tighter = emulator.stack(
        "tighter.toml",
        &std::fs::read_to_string(&stack)
            .expect("stack")
            .replace("target_cpu_utilization = 70", "target_cpu_utilization = 60"),
    );
    emulator.apply(&tighter).expect_code(0);
    let hpa = cluster.get("hpa", "kafka-broker-hpa");
    assert_eq!(hpa["spec"]["maxReplicas"], 25);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        60
    );
}
