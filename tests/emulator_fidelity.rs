//! The test double itself: the emulator layer must refuse what AWS refuses, with AWS's error
//! codes and 400-class statuses, and show AWS's transitional states. Checked with the AWS SDK
//! directly (not through pipectl), so pipectl's own caution cannot hide a gap in the emulator.

mod common;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate,
    KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use aws_sdk_lambda::types::EventSourcePosition;
use common::Emulator;

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("attribute")
}

fn create_index(name: &str, attribute: &str) -> GlobalSecondaryIndexUpdate {
    GlobalSecondaryIndexUpdate::builder()
        .create(
            CreateGlobalSecondaryIndexAction::builder()
                .index_name(name)
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(attribute)
                        .key_type(KeyType::Hash)
                        .build()
                        .expect("key"),
                )
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("create action"),
        )
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_index_rules_and_transitions() {
    let emulator = Emulator::start(r#"{"gsi_create_seconds": 2}"#);
    let client = emulator.dynamodb().await;
    client
        .create_table()
        .table_name("Logs")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("id", ScalarAttributeType::S))
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let definitions = vec![
        attribute("id", ScalarAttributeType::S),
        attribute("a", ScalarAttributeType::N),
        attribute("b", ScalarAttributeType::N),
    ];

    let two_at_once = client
        .update_table()
        .table_name("Logs")
        .set_attribute_definitions(Some(definitions.clone()))
        .global_secondary_index_updates(create_index("ByA", "a"))
        .global_secondary_index_updates(create_index("ByB", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(two_at_once.code(), Some("LimitExceededException"));
    assert_eq!(
        two_at_once.raw_response().map(|r| r.status().as_u16()),
        Some(400)
    );

    client
        .update_table()
        .table_name("Logs")
        .set_attribute_definitions(Some(definitions.clone()))
        .global_secondary_index_updates(create_index("ByA", "a"))
        .send()
        .await
        .unwrap();
    let described = client
        .describe_table()
        .table_name("Logs")
        .send()
        .await
        .unwrap();
    let index = &described.table().unwrap().global_secondary_indexes()[0];
    assert_eq!(index.index_status().map(|s| s.as_str()), Some("CREATING"));
    assert_eq!(index.backfilling(), Some(true));

    let while_backfilling = client
        .update_table()
        .table_name("Logs")
        .set_attribute_definitions(Some(definitions.clone()))
        .global_secondary_index_updates(create_index("ByB", "b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(while_backfilling.code(), Some("LimitExceededException"));

    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let duplicate = client
        .update_table()
        .table_name("Logs")
        .set_attribute_definitions(Some(definitions))
        .global_secondary_index_updates(create_index("ByA", "a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Some("ValidationException"));
    assert_eq!(
        duplicate.raw_response().map(|r| r.status().as_u16()),
        Some(400)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_ranges_conflicts_account_settings_and_kafka_mappings() {
    let emulator =
        Emulator::start(r#"{"lambda_update_seconds": 2, "account_concurrency_limit": 500}"#);
    emulator.seed_functions(&["consumer"]);
    let client = emulator.lambda().await;

    for (timeout, memory) in [(Some(901), None), (None, Some(64))] {
        let refused = client
            .update_function_configuration()
            .function_name("consumer")
            .set_timeout(timeout)
            .set_memory_size(memory)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Some("ValidationException"),
            "{timeout:?} {memory:?}"
        );
        assert_eq!(
            refused.raw_response().map(|r| r.status().as_u16()),
            Some(400)
        );
    }

    client
        .update_function_configuration()
        .function_name("consumer")
        .timeout(30)
        .send()
        .await
        .unwrap();
    let status = client
        .get_function_configuration()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status.last_update_status().map(|s| s.as_str()),
        Some("InProgress")
    );
    let conflict = client
        .update_function_configuration()
        .function_name("consumer")
        .memory_size(256)
        .send()
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), Some("ResourceConflictException"));
    assert_eq!(
        conflict.raw_response().map(|r| r.status().as_u16()),
        Some(409)
    );

    let settings = client.get_account_settings().send().await.unwrap();
    let limit = settings.account_limit().unwrap();
    assert_eq!(
        (
            limit.concurrent_executions(),
            limit.unreserved_concurrent_executions()
        ),
        (500, Some(500))
    );
    let over = client
        .put_function_concurrency()
        .function_name("consumer")
        .reserved_concurrent_executions(401)
        .send()
        .await
        .unwrap_err();
    assert_eq!(over.code(), Some("InvalidParameterValueException"));

    let msk =
        "arn:aws:kafka:us-east-1:123456789012:cluster/logs/6f0c2a52-4a51-4bde-9a4e-2d4e8c1f0a11-1";
    let too_big = client
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(msk)
        .topics("logs")
        .starting_position(EventSourcePosition::Latest)
        .batch_size(20000)
        .send()
        .await
        .unwrap_err();
    assert_eq!(too_big.code(), Some("ValidationException"));
    assert_eq!(
        too_big.raw_response().map(|r| r.status().as_u16()),
        Some(400)
    );
    let created = client
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(msk)
        .topics("logs")
        .starting_position(EventSourcePosition::Latest)
        .batch_size(100)
        .send()
        .await
        .unwrap();
    let listed = client
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.event_source_mappings()[0].uuid(), created.uuid());
}

#[tokio::test(flavor = "multi_thread")]
async fn ebs_modification_states_and_refusals() {
    let emulator =
        Emulator::start(r#"{"volume_modification_seconds": 4, "volume_modifications_per_day": 2}"#);
    let ec2 = emulator.ec2().await;
    let volume = ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(100)
        .volume_type(aws_sdk_ec2::types::VolumeType::Gp3)
        .send()
        .await
        .expect("CreateVolume");
    let id = volume.volume_id().expect("id").to_string();
    let started = ec2
        .modify_volume()
        .volume_id(&id)
        .iops(4000)
        .send()
        .await
        .expect("first ModifyVolume");
    let state = started
        .volume_modification()
        .and_then(|m| m.modification_state())
        .map(|s| s.as_str().to_string());
    assert_eq!(state.as_deref(), Some("modifying"));
    let again = ec2
        .modify_volume()
        .volume_id(&id)
        .iops(5000)
        .send()
        .await
        .expect_err("a second modification while the first runs");
    assert_eq!(again.code(), Some("IncorrectModificationState"));
    assert_eq!(again.raw_response().map(|r| r.status().as_u16()), Some(400));

    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let described = ec2
        .describe_volumes_modifications()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("volume-id")
                .values(&id)
                .build(),
        )
        .send()
        .await
        .expect("DescribeVolumesModifications");
    let modification = &described.volumes_modifications()[0];
    assert_eq!(
        modification.modification_state().map(|s| s.as_str()),
        Some("completed")
    );
    // Completed: the volume can be modified again (no 6-hour wait any more)...
    emulator.configure(r#"{"volume_modification_seconds": 0}"#);
    ec2.modify_volume()
        .volume_id(&id)
        .iops(5000)
        .send()
        .await
        .expect("a second modification once the first completed");
    // ...until the rolling 24-hour count is used up.
    let over = ec2
        .modify_volume()
        .volume_id(&id)
        .iops(6000)
        .send()
        .await
        .expect_err("a third modification within 24 hours (limit set to 2)");
    assert_eq!(over.code(), Some("VolumeModificationRateExceeded"));
}

/// AWS keeps each account's functions, reservations and event source mappings apart (a
/// function ARN names its account; account settings are per account). moto is multi-account;
/// the layer's own rules must be too, or a fleet's writes in one account would be checked
/// against another's state.
#[test]
fn each_account_keeps_its_own_functions_reservations_and_mappings() {
    let emulator = Emulator::start("{}");
    let accounts = ["222222222222", "333333333333"];
    for account in accounts {
        emulator.seed(&[
            "--role-arn",
            &format!("arn:aws:iam::{account}:role/seeder"),
            "function",
            "consumer",
        ]);
    }
    let first = emulator.account_credentials(accounts[0]);
    let second = emulator.account_credentials(accounts[1]);
    // A reservation of 900 in each account: the 1,000 a region allows is per account.
    for credentials in [&first, &second] {
        emulator.aws_as(
            credentials,
            &[
                "lambda",
                "put-function-concurrency",
                "--function-name",
                "consumer",
                "--reserved-concurrent-executions",
                "900",
            ],
        );
    }
    let settings = emulator.aws_as(&first, &["lambda", "get-account-settings"]);
    assert_eq!(
        settings["AccountLimit"]["UnreservedConcurrentExecutions"],
        100
    );
    // A reservation of 0 shows in its own account only.
    emulator.aws_as(
        &first,
        &[
            "lambda",
            "put-function-concurrency",
            "--function-name",
            "consumer",
            "--reserved-concurrent-executions",
            "0",
        ],
    );
    let read = |credentials| {
        emulator.aws_as(
            credentials,
            &["lambda", "get-function", "--function-name", "consumer"],
        )
    };
    let mine = read(&first);
    assert_eq!(mine["Concurrency"]["ReservedConcurrentExecutions"], 0);
    assert_eq!(
        mine["Configuration"]["FunctionArn"],
        "arn:aws:lambda:us-east-1:222222222222:function:consumer"
    );
    assert_eq!(
        read(&second)["Concurrency"]["ReservedConcurrentExecutions"],
        900
    );
    // The default account has no function of that name.
    let default = serde_json::json!({"AccessKeyId": "testing", "SecretAccessKey": "testing"});
    let missing = emulator.aws_as_command(
        &default,
        &[
            "lambda",
            "put-function-concurrency",
            "--function-name",
            "consumer",
            "--reserved-concurrent-executions",
            "5",
        ],
    );
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains(
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:consumer"
        ),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    // A Kafka mapping is its account's: listed and found there only.
    let created = emulator.aws_as(
        &first,
        &[
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            "consumer",
            "--topics",
            "logs",
            "--starting-position",
            "LATEST",
            "--self-managed-event-source",
            r#"{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["broker-1.example.com:9092"]}}"#,
        ],
    );
    let uuid = created["UUID"].as_str().expect("mapping UUID");
    assert!(created["FunctionArn"]
        .as_str()
        .unwrap_or("")
        .contains(":222222222222:"));
    let listed = |credentials| {
        emulator.aws_as(credentials, &["lambda", "list-event-source-mappings"])
            ["EventSourceMappings"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    };
    assert_eq!(listed(&first), 1);
    assert_eq!(listed(&second), 0);
    let elsewhere = emulator.aws_as_command(
        &second,
        &["lambda", "get-event-source-mapping", "--uuid", uuid],
    );
    assert!(!elsewhere.status.success());
}

/// Every EKS cluster has an API server endpoint of its own ("Cluster API server endpoint", EKS
/// user guide): DescribeCluster of kafka-logs answers each account's own fake API server, and
/// the cluster exists only in the accounts that made it.
#[test]
fn each_accounts_eks_cluster_has_its_own_endpoint() {
    let emulator = Emulator::start("{}");
    let accounts = ["222222222222", "333333333333"];
    let clusters: Vec<_> = accounts
        .iter()
        .map(|account| emulator.eks_cluster_in(account))
        .collect();
    assert_ne!(clusters[0].url, clusters[1].url);
    for (account, cluster) in accounts.iter().zip(&clusters) {
        let credentials = emulator.account_credentials(account);
        let described = emulator.aws_as(
            &credentials,
            &["eks", "describe-cluster", "--name", "kafka-logs"],
        );
        assert_eq!(described["cluster"]["endpoint"], cluster.url.as_str());
        assert!(described["cluster"]["arn"]
            .as_str()
            .unwrap_or("")
            .contains(&format!(":{account}:cluster/kafka-logs")));
    }
    let elsewhere = emulator.aws_as_command(
        &emulator.account_credentials("444444444444"),
        &["eks", "describe-cluster", "--name", "kafka-logs"],
    );
    assert!(
        String::from_utf8_lossy(&elsewhere.stderr).contains("ResourceNotFoundException"),
        "{}",
        String::from_utf8_lossy(&elsewhere.stderr)
    );
}
