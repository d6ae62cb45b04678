//! Adoption (issue 11): a team that already runs the seed article's stack, made by hand, brings
//! it under pipectl. `pipectl import` writes the stack file, `plan` shows no changes, an edit is
//! planned and applied, and importing again gives the file back. The "by hand" state is made
//! with the AWS CLI and kubectl, independent clients, as the seed article does.

mod common;

use std::path::{Path, PathBuf};

use common::{path_str, Emulator, Run};

/// `pipectl import` of the seed article's stack into `out`.
fn import(emulator: &Emulator, out: &Path) -> Run {
    emulator.pipectl(&[
        "--kube-context",
        "fake",
        "import",
        "--stack-name",
        "kafka-logs",
        "--table",
        "KafkaLogData",
        "--function",
        "kafka-log-lambda",
        "--endpoint",
        "rcf-anomaly-endpoint",
        "--statefulset",
        "kafka/kafka-broker",
        "--out",
        path_str(out),
    ])
}

fn imported(emulator: &Emulator, name: &str) -> (PathBuf, String) {
    let out = emulator.dir().join(name);
    import(emulator, &out)
        .expect_code(0)
        .expect_stderr("Importing from AWS account 123456789012");
    let text = std::fs::read_to_string(&out).expect("the imported stack file");
    (out, text)
}

/// The AWS CLI against the emulator, as the seed article runs it.
fn aws(emulator: &Emulator, args: &[&str]) {
    common::aws_cli(args, Some(&emulator.endpoint));
}

#[test]
fn a_stack_made_by_hand_imports_as_no_changes_and_a_newcomer_can_edit_and_apply_it() {
    let emulator = Emulator::start_seed_article("{}");
    let (file, text) = imported(&emulator, "kafka-logs.toml");
    // Deterministic and self-describing.
    assert!(
        text.contains("# From DynamoDB table KafkaLogData."),
        "{text}"
    );
    assert!(text.contains("timeout_seconds = 3\n"), "{text}");
    assert!(!text.contains("2026-"), "a timestamp in the file:\n{text}");
    emulator
        .pipectl(&["validate", path_str(&file)])
        .expect_code(0);
    emulator
        .pipectl(&["plan", path_str(&file), "--detailed-exitcode"])
        .expect_code(0)
        .expect_stdout("No changes");

    // Importing again gives the same file.
    let (_, again) = imported(&emulator, "again.toml");
    assert_eq!(again, text);

    // The newcomer edits one setting, plans and applies it.
    let edited = emulator.stack(
        "edited.toml",
        &text.replace("timeout_seconds = 3\n", "timeout_seconds = 60\n"),
    );
    emulator
        .pipectl(&["plan", path_str(&edited), "--detailed-exitcode"])
        .expect_code(2)
        .expect_stdout("~ timeout_seconds: 3 -> 60");
    emulator
        .apply(&edited)
        .expect_code(0)
        .expect_stdout("Apply complete");
    // import -> apply -> import gives the applied file.
    let (_, after_apply) = imported(&emulator, "after-apply.toml");
    assert_eq!(
        after_apply,
        std::fs::read_to_string(&edited).expect("edited")
    );
}

#[test]
fn settings_pipectl_would_not_choose_are_kept_flagged_and_never_changed_silently() {
    let emulator = Emulator::start_seed_article("{}");
    let out = emulator.dir().join("kafka-logs.toml");
    let run = import(&emulator, &out);
    run.expect_code(0)
        .expect_stderr("Review before the first apply")
        .expect_stderr("replication factor")
        .expect_stderr("scale-down is enabled with a 300s window")
        .expect_stderr("rcf-anomaly-endpoint/AllTraffic: not scaled");
    let text = std::fs::read_to_string(&out).expect("imported");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("# REVIEW:")).count(),
        2,
        "{text}"
    );
    // The seed HPA scales down after 300 s, which pipectl does not accept for brokers: the
    // file asks for the safe setting, and an ignore rule keeps the live one until decided.
    assert!(text.contains("scale_down = { enabled = false }"), "{text}");
    assert!(
        text.contains(
            "[[ignore]]\nresource = \"eks.hpa.kafka/kafka-broker-hpa\"\nfields = [\"scale_down\"]"
        ),
        "{text}"
    );
    emulator.clear_log();
    emulator.apply(&out).expect_code(0);
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
    let hpa = emulator.cluster().get("hpa", "kafka-broker-hpa");
    assert!(
        hpa["spec"]["behavior"].is_null(),
        "the HPA's scale-down was changed: {hpa}"
    );
    // An existing file is never overwritten.
    import(&emulator, &out)
        .expect_code(1)
        .expect_stderr("does not overwrite");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_articles_after_state_made_with_the_aws_cli_is_adopted_not_duplicated() {
    let emulator = Emulator::start_seed_article("{}");
    let reference = std::fs::read_to_string(emulator.seed_article_stack().await).expect("stack");
    let subnets: Vec<&str> = reference
        .lines()
        .find(|l| l.starts_with("vpc_subnets"))
        .map(|l| l.split('"').skip(1).step_by(2).collect())
        .expect("subnets");
    let group = reference
        .lines()
        .find(|l| l.starts_with("vpc_security_groups"))
        .and_then(|l| l.split('"').nth(1))
        .expect("security group");
    // The seed article's "after", by hand.
    aws(
        &emulator,
        &[
            "dynamodb",
            "update-table",
            "--table-name",
            "KafkaLogData",
            "--billing-mode",
            "PAY_PER_REQUEST",
        ],
    );
    aws(
        &emulator,
        &[
            "dynamodb",
            "update-table",
            "--table-name",
            "KafkaLogData",
            "--attribute-definitions",
            "AttributeName=anomalyScore,AttributeType=N",
            "--global-secondary-index-updates",
            r#"[{"Create":{"IndexName":"AnomalyScoreIndex","KeySchema":[{"AttributeName":"anomalyScore","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}}]"#,
        ],
    );
    aws(
        &emulator,
        &[
            "lambda",
            "update-function-configuration",
            "--function-name",
            "kafka-log-lambda",
            "--timeout",
            "60",
            "--memory-size",
            "2048",
        ],
    );
    aws(
        &emulator,
        &[
            "lambda",
            "put-function-concurrency",
            "--function-name",
            "kafka-log-lambda",
            "--reserved-concurrent-executions",
            "100",
        ],
    );
    let access = format!(
        r#"[{{"Type":"VPC_SUBNET","URI":"subnet:{}"}},{{"Type":"VPC_SUBNET","URI":"subnet:{}"}},{{"Type":"VPC_SECURITY_GROUP","URI":"security_group:{group}"}},{{"Type":"SASL_SCRAM_512_AUTH","URI":"arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-logs/lambda-scram"}}]"#,
        subnets[0], subnets[1]
    );
    aws(
        &emulator,
        &[
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            "kafka-log-lambda",
            "--topics",
            "application-logs",
            "--starting-position",
            "LATEST",
            "--self-managed-event-source",
            r#"{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["kafka-broker-0.kafka-logs.internal:9096"]}}"#,
            "--self-managed-kafka-event-source-config",
            "ConsumerGroupId=kafka-log-lambda",
            "--source-access-configurations",
            &access,
            "--batch-size",
            "500",
            "--maximum-batching-window-in-seconds",
            "1",
        ],
    );
    let resource = "endpoint/rcf-anomaly-endpoint/variant/AllTraffic";
    aws(
        &emulator,
        &[
            "application-autoscaling",
            "register-scalable-target",
            "--service-namespace",
            "sagemaker",
            "--resource-id",
            resource,
            "--scalable-dimension",
            "sagemaker:variant:DesiredInstanceCount",
            "--min-capacity",
            "1",
            "--max-capacity",
            "10",
        ],
    );
    // The policy under the name AWS's SageMaker guide uses.
    aws(
        &emulator,
        &[
            "application-autoscaling",
            "put-scaling-policy",
            "--policy-name",
            "SageMakerEndpointInvocationScalingPolicy",
            "--service-namespace",
            "sagemaker",
            "--resource-id",
            resource,
            "--scalable-dimension",
            "sagemaker:variant:DesiredInstanceCount",
            "--policy-type",
            "TargetTrackingScaling",
            "--target-tracking-scaling-policy-configuration",
            r#"{"TargetValue":1000.0,"PredefinedMetricSpecification":{"PredefinedMetricType":"SageMakerVariantInvocationsPerInstance"},"ScaleInCooldown":300,"ScaleOutCooldown":60}"#,
        ],
    );
    emulator
        .cluster()
        .merge_patch(
            "hpa",
            "kafka-broker-hpa",
            r#"{"spec":{"behavior":{"scaleDown":{"selectPolicy":"Disabled"}}}}"#,
        )
        .expect_code(0);

    let (file, text) = imported(&emulator, "imported.toml");
    for line in [
        "billing_mode = \"PAY_PER_REQUEST\"",
        "name = \"AnomalyScoreIndex\"",
        "timeout_seconds = 60",
        "reserved_concurrency = 100",
        "topic = \"application-logs\"",
        "consumer_group_id = \"kafka-log-lambda\"",
        "batch_size = 500",
        "policy_name = \"SageMakerEndpointInvocationScalingPolicy\"",
        "target_invocations_per_instance = 1000",
        "scale_down = { enabled = false }",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(!text.contains("[[ignore]]"), "{text}");
    emulator
        .pipectl(&["plan", path_str(&file), "--detailed-exitcode"])
        .expect_code(0);

    // From now on pipectl manages the hand-made policy by its name: no second policy.
    let raised = emulator.stack(
        "raised.toml",
        &text.replace(
            "target_invocations_per_instance = 1000",
            "target_invocations_per_instance = 1200",
        ),
    );
    emulator.clear_log();
    emulator.apply(&raised).expect_code(0);
    let policies = emulator
        .autoscaling()
        .await
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
        .resource_id(resource)
        .send()
        .await
        .expect("DescribeScalingPolicies");
    let names: Vec<(&str, Option<f64>)> = policies
        .scaling_policies()
        .iter()
        .map(|p| {
            (
                p.policy_name(),
                p.target_tracking_scaling_policy_configuration()
                    .map(|c| c.target_value()),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![("SageMakerEndpointInvocationScalingPolicy", Some(1200.0))]
    );
}

#[test]
fn another_owners_kafka_mapping_is_left_alone_unless_the_trigger_prunes() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    // Another team's mapping, made with the AWS CLI.
    aws(
        &emulator,
        &[
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            "consumer",
            "--topics",
            "audit-logs",
            "--starting-position",
            "LATEST",
            "--self-managed-event-source",
            r#"{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["b-1.kafka.internal:9092"]}}"#,
        ],
    );
    let stack = |prune: bool| {
        format!(
            "[stack]\nname = \"c\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.internal:9092\"]\ntopic = \"application-logs\"\nhealth_timeout_seconds = 0\nprune = {prune}\n"
        )
    };
    let keep = emulator.stack("keep.toml", &stack(false));
    emulator
        .pipectl(&["plan", path_str(&keep)])
        .expect_code(0)
        .expect_stdout("was not created by pipectl: it is left alone");
    emulator.apply(&keep).expect_code(0);
    assert_eq!(emulator.calls("DeleteEventSourceMapping").len(), 0);
    assert_eq!(
        emulator.calls("CreateEventSourceMapping").len(),
        2,
        "the other team's mapping and pipectl's"
    );
    // pipectl's own mapping (tagged pipectl:stack when it was created) is pipectl's to
    // replace; the other team's is not.
    let moved = emulator.stack(
        "moved.toml",
        &stack(false).replace("application-logs", "app-logs"),
    );
    let plan = emulator.pipectl(&["plan", path_str(&moved), "--output", "json"]);
    plan.expect_code(0);
    let document: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    let trigger = document["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["id"] == "lambda.kafka_trigger.consumer")
        .expect("the trigger");
    assert_eq!(trigger["action"], "replace", "{trigger:#}");
    let deletes = trigger["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["api_calls"][0] == "lambda:DeleteEventSourceMapping")
        .count();
    assert_eq!(deletes, 1, "{trigger:#}");
    assert!(trigger["hazards"]
        .to_string()
        .contains("not created by pipectl"));
    // With prune, every other Kafka mapping of the function goes.
    let prune = emulator.stack(
        "prune.toml",
        &stack(true).replace("application-logs", "app-logs"),
    );
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&prune),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0);
    assert_eq!(emulator.calls("DeleteEventSourceMapping").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn import_discovers_by_name_prefix_and_by_tag() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["logs-consumer", "billing-consumer"]);
    let dynamodb = emulator.dynamodb().await;
    for name in ["logs-raw", "logs-scores", "billing-ledger"] {
        dynamodb
            .create_table()
            .table_name(name)
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .attribute_definitions(
                aws_sdk_dynamodb::types::AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                    .build()
                    .expect("attribute"),
            )
            .key_schema(
                aws_sdk_dynamodb::types::KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                    .build()
                    .expect("key"),
            )
            .tags(
                aws_sdk_dynamodb::types::Tag::builder()
                    .key("team")
                    .value(if name.starts_with("logs") {
                        "logs"
                    } else {
                        "billing"
                    })
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("CreateTable");
    }
    let by_prefix = emulator.pipectl(&["import", "--name-prefix", "logs-"]);
    by_prefix.expect_code(0);
    let text = &by_prefix.stdout;
    assert!(
        text.contains("name = \"logs\"\n"),
        "the stack is named after the prefix:\n{text}"
    );
    for wanted in [
        "name = \"logs-raw\"",
        "name = \"logs-scores\"",
        "name = \"logs-consumer\"",
    ] {
        assert!(text.contains(wanted), "{wanted} missing:\n{text}");
    }
    assert!(!text.contains("billing-"), "{text}");
    let by_tag = emulator.pipectl(&["import", "--tag", "team=billing", "--stack-name", "billing"]);
    by_tag.expect_code(0);
    assert!(
        by_tag.stdout.contains("name = \"billing-ledger\""),
        "{}",
        by_tag.stdout
    );
    assert!(!by_tag.stdout.contains("logs-raw"), "{}", by_tag.stdout);
    // What was discovered plans as no changes.
    let file = emulator.stack("logs.toml", text);
    emulator
        .pipectl(&["plan", path_str(&file), "--detailed-exitcode"])
        .expect_code(0);
    emulator
        .pipectl(&["import"])
        .expect_code(1)
        .expect_stderr("nothing to import");
}
