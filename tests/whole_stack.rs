//! The seed article's whole stack, all five services, in one `apply`: stacks/kafka-logs.toml
//! against the "before" state of `seed.py before` (AWS emulator + fake Kubernetes API server),
//! each setting then checked with an independent client (AWS SDK, kubectl).

mod common;

use aws_sdk_applicationautoscaling::types::ServiceNamespace;
use aws_sdk_dynamodb::types::BillingMode;
use common::{path_str, Emulator};

#[tokio::test(flavor = "multi_thread")]
async fn seed_article_stack_is_applied_in_one_run() {
    let emulator =
        Emulator::start_with_cluster(r#"{"lambda_update_seconds": 1, "gsi_create_seconds": 1}"#);
    // `start_with_cluster` seeded the brokers; add the rest of the article's "before".
    emulator.seed_functions(&["kafka-log-lambda"]);
    emulator.seed(&["sagemaker", "rcf-anomaly-endpoint"]);
    emulator
        .dynamodb()
        .await
        .create_table()
        .table_name("KafkaLogData")
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(5)
                .build()
                .expect("throughput"),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("logId")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("timestamp")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::N)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("logId")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .expect("key"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("timestamp")
                .key_type(aws_sdk_dynamodb::types::KeyType::Range)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("CreateTable KafkaLogData");

    let stack = emulator.seed_article_stack().await;
    let run = emulator.pipectl(&[
        "apply",
        "-f",
        path_str(&stack),
        "--kube-context",
        "fake",
        "--auto-approve",
        "--allow-destroy",
        "--poll-interval",
        "200",
    ]);
    run.expect_code(0)
        // The StorageClass replace is the one destruction.
        .expect_stdout(" 1 to destroy.")
        .expect_applied_kinds(common::SEED_STACK_KINDS)
        .expect_stdout("Apply complete. Live state matches");

    // Alerts: the PrometheusRule with the article's three rules, seen with kubectl.
    let rule = emulator
        .cluster()
        .get("prometheusrule", "pipectl-kafka-logs-alerts");
    assert_eq!(
        rule["spec"]["groups"][0]["rules"].as_array().map(Vec::len),
        Some(3),
        "{rule}"
    );

    // Kafka: the topic grown to 100 partitions with min.insync.replicas 2, seen with kafka-python.
    let topic = emulator.seed_article_kafka().python(
        "security_protocol='SASL_SSL', ssl_cafile=__import__('os').environ['CA'], sasl_mechanism='SCRAM-SHA-512', sasl_plain_username='pipectl-admin', sasl_plain_password='kafka-double-admin-password'",
        "t = admin.describe_topics(['application-logs'])[0]\nc = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'application-logs', ['min.insync.replicas'])])\nout([len(t['partitions']), c['topic']['application-logs']['min.insync.replicas']['value']])",
    );
    assert_eq!(topic, serde_json::json!([100, "2"]));

    // DynamoDB: on-demand with the anomaly-score index, and the scores table.
    let logs = emulator.table("KafkaLogData").await;
    assert_eq!(
        logs.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let indexes: Vec<&str> = logs
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    assert_eq!(indexes, vec!["AnomalyScoreIndex"]);
    emulator.table("AnomalyScores").await;

    // Lambda: timeout, memory, reservation, and the Kafka trigger's batch size.
    let lambda = emulator.lambda().await;
    let config = lambda
        .get_function_configuration()
        .function_name("kafka-log-lambda")
        .send()
        .await
        .expect("GetFunctionConfiguration");
    assert_eq!(
        (config.timeout(), config.memory_size()),
        (Some(60), Some(2048))
    );
    let concurrency = lambda
        .get_function_concurrency()
        .function_name("kafka-log-lambda")
        .send()
        .await
        .expect("GetFunctionConcurrency");
    assert_eq!(concurrency.reserved_concurrent_executions(), Some(100));
    let mappings = lambda
        .list_event_source_mappings()
        .function_name("kafka-log-lambda")
        .send()
        .await
        .expect("ListEventSourceMappings");
    assert_eq!(mappings.event_source_mappings().len(), 1);
    let mapping = &mappings.event_source_mappings()[0];
    assert_eq!(mapping.batch_size(), Some(500));
    // Self-managed Kafka on EKS, reached in the VPC with SASL/SCRAM: Lambda can consume.
    assert_eq!(mapping.last_processing_result(), Some("OK"));
    assert_eq!(mapping.source_access_configurations().len(), 4);

    // SageMaker: the variant's scalable target, with the id AWS accepts.
    let targets = emulator
        .autoscaling()
        .await
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Sagemaker)
        .send()
        .await
        .expect("DescribeScalableTargets");
    let target = &targets.scalable_targets()[0];
    assert_eq!(
        target.resource_id(),
        "endpoint/rcf-anomaly-endpoint/variant/AllTraffic"
    );
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 10));

    // EKS: the HPA and StorageClass through kubectl, the volumes through EC2.
    let cluster = emulator.cluster();
    let hpa = cluster.get("hpa", "kafka-broker-hpa");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(
        hpa["spec"]["behavior"]["scaleDown"]["selectPolicy"],
        "Disabled"
    );
    let class = cluster.get("storageclass", "kafka-gp3");
    assert_eq!(class["parameters"]["iops"], "6000");
    assert_eq!(class["parameters"]["throughput"], "250");
    for ordinal in 0..3 {
        let volume = emulator.broker_volume(ordinal).await;
        assert_eq!(
            (volume.iops(), volume.throughput()),
            (Some(6000), Some(250))
        );
    }
    assert!(cluster
        .writes()
        .iter()
        .all(|w| !w.path.contains("statefulsets")));

    emulator
        .pipectl(&["drift", "-f", path_str(&stack), "--kube-context", "fake"])
        .expect_code(0);

    // Every resource of all five services carries a live-object digest in a saved plan, so
    // a stale plan is caught whichever of them changed.
    let json = emulator.pipectl(&[
        "plan",
        "-f",
        path_str(&stack),
        "--kube-context",
        "fake",
        "--output",
        "json",
    ]);
    json.expect_code(0);
    common::assert_matches_schema(&json.stdout);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let changes = document["changes"].as_array().expect("changes");
    assert!(changes.len() >= 10, "{}", changes.len());
    for change in changes {
        assert!(
            change["fingerprint"]
                .as_str()
                .is_some_and(|f| f.len() == 64),
            "no digest for {}",
            change["id"]
        );
    }
}
