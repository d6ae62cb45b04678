//! End-to-end: the pipectl binary against a private local AWS emulator per test, with results
//! checked through independent AWS SDK clients and the emulator's log of mutating calls.

mod common;

use aws_sdk_dynamodb::types::BillingMode;
use common::{aws_cli, path_str, Call, Emulator};

const MSK: &str =
    "arn:aws:kafka:us-east-1:123456789012:cluster/logs/6f0c2a52-4a51-4bde-9a4e-2d4e8c1f0a11-1";

/// An index in a generated stack: name, partition key attribute (type N), optional capacity.
type IndexSpec<'a> = (&'a str, &'a str, Option<(i64, i64)>);

fn table_stack(billing: &str, indexes: &[IndexSpec], capacity: Option<(i64, i64)>) -> String {
    format!(
        "[stack]\nname = \"t\"\n{}",
        logs_table(billing, indexes, capacity)
    )
}

/// The `Logs` table section alone, to add to another stack.
fn logs_table(billing: &str, indexes: &[IndexSpec], capacity: Option<(i64, i64)>) -> String {
    let mut text = format!(
        "\n[[dynamodb.tables]]\nname = \"Logs\"\nbilling_mode = \"{billing}\"\npartition_key = {{ name = \"logId\", type = \"S\" }}\n"
    );
    if let Some((r, w)) = capacity {
        text.push_str(&format!("capacity = {{ read = {r}, write = {w} }}\n"));
    }
    for (name, attribute, capacity) in indexes {
        text.push_str(&format!(
            "\n[[dynamodb.tables.global_secondary_indexes]]\nname = \"{name}\"\npartition_key = {{ name = \"{attribute}\", type = \"N\" }}\n"
        ));
        if let Some((r, w)) = capacity {
            text.push_str(&format!("capacity = {{ read = {r}, write = {w} }}\n"));
        }
    }
    text
}

fn function_stack(body: &str) -> String {
    format!("[stack]\nname = \"f\"\n\n[[lambda.functions]]\nname = \"consumer\"\n{body}")
}

fn calls(emulator: &Emulator, operation: &str) -> Vec<Call> {
    emulator.calls(operation)
}

#[tokio::test(flavor = "multi_thread")]
async fn creates_a_stack_from_nothing_and_converges() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let stack = emulator.stack(
        "stack.toml",
        &format!(
            "{}\n[lambda.functions.kafka_trigger]\nmsk_cluster_arn = \"{MSK}\"\ntopic = \"logs\"\nbatch_size = 500\n\n{}",
            function_stack("timeout_seconds = 60\nmemory_mib = 2048\nreserved_concurrency = 100\n"),
            logs_table("PAY_PER_REQUEST", &[("ByScore", "score", None)], None)
        ),
    );
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", "-f", file])
        .expect_code(0)
        .expect_stdout("+ dynamodb.table.Logs will be created")
        .expect_stdout("~ timeout_seconds: 3 -> 60")
        .expect_stdout("Plan: 2 to create, 1 to change, 0 to destroy.");
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stdout("Apply complete.");

    // An independent client sees every setting.
    let table = emulator.table("Logs").await;
    assert_eq!(
        table.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );
    assert_eq!(
        table.global_secondary_indexes()[0].index_name(),
        Some("ByScore")
    );
    let lambda = emulator.lambda().await;
    let function = lambda
        .get_function()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    let configuration = function.configuration().unwrap();
    assert_eq!(
        (configuration.timeout(), configuration.memory_size()),
        (Some(60), Some(2048))
    );
    assert_eq!(
        function
            .concurrency()
            .unwrap()
            .reserved_concurrent_executions(),
        Some(100)
    );
    let mappings = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    let mapping = &mappings.event_source_mappings()[0];
    assert_eq!(
        (mapping.batch_size(), mapping.topics()),
        (Some(500), &["logs".to_string()][..])
    );

    // Converged: no changes, no drift, and plan's detailed exit code is 0 (not 2).
    emulator
        .pipectl(&["plan", "-f", file, "--detailed-exitcode"])
        .expect_code(0)
        .expect_stdout("No changes. Live state matches");
    emulator
        .pipectl(&["drift", "-f", file])
        .expect_code(0)
        .expect_stdout("No drift.");
}

#[tokio::test(flavor = "multi_thread")]
async fn billing_mode_switches_both_ways_with_index_capacity() {
    let emulator = Emulator::start("{}");
    let on_demand = emulator.stack(
        "a.toml",
        &table_stack("PAY_PER_REQUEST", &[("ByScore", "score", None)], None),
    );
    emulator.apply(&on_demand).expect_code(0);

    let provisioned = emulator.stack(
        "b.toml",
        &table_stack(
            "PROVISIONED",
            &[("ByScore", "score", Some((3, 4)))],
            Some((7, 8)),
        ),
    );
    emulator
        .apply(&provisioned)
        .expect_code(0)
        .expect_stdout("~ billing_mode: PAY_PER_REQUEST -> PROVISIONED")
        .expect_stdout("+ index.ByScore.capacity: read 3 / write 4")
        .expect_stdout("Apply complete.");
    let table = emulator.table("Logs").await;
    assert_eq!(
        table.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::Provisioned)
    );
    assert_eq!(
        table
            .provisioned_throughput()
            .unwrap()
            .read_capacity_units(),
        Some(7)
    );
    let index_throughput = table.global_secondary_indexes()[0]
        .provisioned_throughput()
        .unwrap();
    assert_eq!(
        (
            index_throughput.read_capacity_units(),
            index_throughput.write_capacity_units()
        ),
        (Some(3), Some(4))
    );
    // The switch to PROVISIONED carried the index throughput in the same single call.
    assert_eq!(
        calls(&emulator, "UpdateTable")
            .iter()
            .filter(|c| c.status == 200)
            .count(),
        1
    );

    emulator
        .apply(&on_demand)
        .expect_code(0)
        .expect_stdout("~ billing_mode: PROVISIONED -> PAY_PER_REQUEST");
    let described = emulator.table("Logs").await;
    assert_eq!(
        described.billing_mode_summary().unwrap().billing_mode(),
        Some(&BillingMode::PayPerRequest)
    );
    assert!(calls(&emulator, "UpdateTable")
        .iter()
        .all(|c| c.status == 200));
}

/// AWS rejects an UpdateTable whose table or index throughput equals the current value
/// ("The provisioned throughput for the table will not change"): an index-only capacity change,
/// and one where the table's capacity is left to another owner, must not resend it.
#[tokio::test(flavor = "multi_thread")]
async fn index_capacity_change_does_not_resend_unchanged_table_throughput() {
    let emulator = Emulator::start("{}");
    let index_capacity = |read, write| {
        table_stack(
            "PROVISIONED",
            &[("ByScore", "score", Some((read, write)))],
            Some((7, 8)),
        )
    };
    emulator
        .apply(&emulator.stack("a.toml", &index_capacity(3, 4)))
        .expect_code(0);
    emulator.clear_log();

    emulator
        .apply(&emulator.stack("b.toml", &index_capacity(5, 6)))
        .expect_code(0)
        .expect_stdout("index.ByScore.capacity: read 3 / write 4 -> read 5 / write 6");
    let statuses: Vec<u64> = calls(&emulator, "UpdateTable")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![200]);
    let table = emulator.table("Logs").await;
    let index = table.global_secondary_indexes()[0]
        .provisioned_throughput()
        .unwrap();
    assert_eq!(
        (index.read_capacity_units(), index.write_capacity_units()),
        (Some(5), Some(6))
    );

    // Another owner (e.g. DynamoDB auto scaling) sets the table's capacity; the stack ignores it.
    emulator
        .dynamodb()
        .await
        .update_table()
        .table_name("Logs")
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(20)
                .write_capacity_units(20)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    emulator.clear_log();
    let ignored = format!(
        "{}\n[[ignore]]\nresource = \"dynamodb.table.Logs\"\nfields = [\"capacity\"]\nreason = \"auto scaling\"\n",
        index_capacity(9, 9)
    );
    emulator
        .apply(&emulator.stack("c.toml", &ignored))
        .expect_code(0);
    let statuses: Vec<u64> = calls(&emulator, "UpdateTable")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![200]);
    let table = emulator.table("Logs").await;
    let throughput = table.provisioned_throughput().unwrap();
    assert_eq!(
        (
            throughput.read_capacity_units(),
            throughput.write_capacity_units()
        ),
        (Some(20), Some(20))
    );
}

/// AWS's rules as they are now: up to four switches to on-demand per rolling 24 h (the plan
/// says so, it does not refuse), and 40,000 capacity units is a default quota an account can
/// have raised, not a limit: plan warns, and an account with a raised quota gets the table.
#[tokio::test(flavor = "multi_thread")]
async fn on_demand_switches_and_the_capacity_quota_follow_aws_rules() {
    let emulator = Emulator::start(r#"{"table_capacity_quota": 80000}"#);
    let provisioned = emulator.stack("p.toml", &table_stack("PROVISIONED", &[], Some((5, 5))));
    let on_demand = emulator.stack("o.toml", &table_stack("PAY_PER_REQUEST", &[], None));
    emulator.apply(&provisioned).expect_code(0);
    emulator.apply(&on_demand).expect_code(0);
    emulator.apply(&provisioned).expect_code(0);
    // A second switch within the day: warned with AWS's rule, and AWS allows it.
    emulator
        .apply(&on_demand)
        .expect_code(0)
        .expect_stdout("AWS allows 4 switches to on-demand per rolling 24 h");

    let big = emulator.stack(
        "big.toml",
        &table_stack("PROVISIONED", &[], Some((50_000, 5))),
    );
    emulator
        .pipectl(&["validate", "-f", path_str(&big)])
        .expect_code(0);
    emulator.apply(&big).expect_code(0).expect_stdout(
        "more than 40000 read or write capacity units, DynamoDB's default per-table quota",
    );
    let table = emulator.table("Logs").await;
    assert_eq!(
        table
            .provisioned_throughput()
            .unwrap()
            .read_capacity_units(),
        Some(50_000)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_new_indexes_are_created_one_after_the_other() {
    let emulator = Emulator::start(r#"{"gsi_create_seconds": 1.5, "table_update_seconds": 0.3}"#);
    let base = emulator.stack("a.toml", &table_stack("PAY_PER_REQUEST", &[], None));
    emulator.apply(&base).expect_code(0);
    emulator.clear_log();

    let two = emulator.stack(
        "b.toml",
        &table_stack(
            "PAY_PER_REQUEST",
            &[("ByScore", "score", None), ("ByHost", "host", None)],
            None,
        ),
    );
    emulator
        .apply(&two)
        .expect_code(0)
        .expect_stderr("create index ByScore (1 of 2)")
        .expect_stderr("create index ByHost (2 of 2)")
        .expect_stdout("Apply complete.");
    let updates = calls(&emulator, "UpdateTable");
    // Exactly two calls, both accepted: no LimitExceededException from overlapping index builds.
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates.iter().all(|c| c.status == 200), "{updates:?}");
    // The second started only after the first index finished backfilling.
    assert!(updates[1].at - updates[0].at >= 1.5, "{updates:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn index_removal_needs_allow_destroy() {
    let emulator = Emulator::start("{}");
    let with_index = emulator.stack(
        "a.toml",
        &table_stack("PAY_PER_REQUEST", &[("ByScore", "score", None)], None),
    );
    emulator.apply(&with_index).expect_code(0);
    emulator.clear_log();

    let without = emulator.stack("b.toml", &table_stack("PAY_PER_REQUEST", &[], None));
    emulator
        .apply(&without)
        .expect_code(1)
        .expect_stdout("- dynamodb.index.Logs/ByScore will be destroyed")
        .expect_stderr("re-run with --allow-destroy");
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );

    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&without),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0);
    let described = emulator.table("Logs").await;
    assert!(described.global_secondary_indexes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_change_waits_through_in_progress() {
    let emulator = Emulator::start(r#"{"lambda_update_seconds": 2}"#);
    emulator.seed_functions(&["consumer"]);
    let stack = emulator.stack(
        "a.toml",
        &function_stack("timeout_seconds = 120\nmemory_mib = 1024\nreserved_concurrency = 50\n"),
    );
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stdout("Apply complete.");
    let update = &calls(&emulator, "UpdateFunctionConfiguration")[0];
    let put = &calls(&emulator, "PutFunctionConcurrency")[0];
    assert_eq!((update.status, put.status), (200, 200));
    // The next call on the function came only after LastUpdateStatus left InProgress.
    assert!(put.at - update.at >= 2.0, "{update:?} {put:?}");
    assert!(
        emulator.mutating_calls().iter().all(|c| c.status != 409),
        "a call hit ResourceConflictException"
    );

    // A failed update is reported with AWS's reason and the run fails, while an independent
    // resource (a table, in its own lane) is still applied; a re-run then converges.
    emulator.configure(r#"{"fail_next_lambda_update": "The function could not be updated: EniLimitExceeded", "lambda_update_seconds": 0.5}"#);
    let failing = emulator.stack(
        "b.toml",
        &format!(
            "{}{}",
            function_stack("timeout_seconds = 30\n"),
            logs_table("PAY_PER_REQUEST", &[], None)
        ),
    );
    let run = emulator.apply(&failing);
    run.expect_code(1)
        .expect_stdout("EniLimitExceeded")
        .expect_stdout("1 applied, 1 failed, 0 not started.");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("dynamodb.table.Logs") && l.contains("applied")),
        "{}",
        run.all()
    );
    emulator.apply(&failing).expect_code(0);
    emulator
        .pipectl(&["drift", "-f", path_str(&failing)])
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn reservation_over_the_account_limit_is_refused_at_plan_time() {
    let emulator = Emulator::start(r#"{"account_concurrency_limit": 1000}"#);
    emulator.seed_functions(&["consumer", "other"]);
    emulator
        .lambda()
        .await
        .put_function_concurrency()
        .function_name("other")
        .reserved_concurrent_executions(300)
        .send()
        .await
        .unwrap();
    emulator.clear_log();
    let stack = emulator.stack(
        "a.toml",
        &function_stack("timeout_seconds = 10\nreserved_concurrency = 700\n"),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(1)
        .expect_stderr("Lambda keeps at least 100 unreserved")
        .expect_stderr("at most 600 more can be reserved");
    emulator.apply(&stack).expect_code(1);
    // Refused before anything was applied: not even the timeout change went out.
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_trigger_batch_size_updates_in_place_and_topic_change_replaces() {
    let emulator = Emulator::start(r#"{"esm_transition_seconds": 0.5}"#);
    emulator.seed_functions(&["consumer"]);
    let trigger = |topic: &str, batch: i64| {
        function_stack(&format!(
            "\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.internal:9092\"]\ntopic = \"{topic}\"\nbatch_size = {batch}\n"
        ))
    };
    let first = emulator.stack("a.toml", &trigger("logs", 100));
    emulator.apply(&first).expect_code(0);

    let bigger = emulator.stack("b.toml", &trigger("logs", 500));
    emulator
        .apply(&bigger)
        .expect_code(0)
        .expect_stdout("~ batch_size: 100 -> 500");
    let lambda = emulator.lambda().await;
    let listed = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.event_source_mappings().len(), 1);
    assert_eq!(listed.event_source_mappings()[0].batch_size(), Some(500));
    let original = listed.event_source_mappings()[0]
        .uuid()
        .unwrap()
        .to_string();

    let moved = emulator.stack("c.toml", &trigger("app-logs", 500));
    emulator
        .apply(&moved)
        .expect_code(1)
        .expect_stdout("-/+ lambda.kafka_trigger.consumer must be replaced")
        .expect_stderr("--allow-destroy");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&moved),
            "--auto-approve",
            "--allow-destroy",
        ])
        .expect_code(0)
        .expect_stdout("~ topic: logs -> app-logs");
    let listed = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    let mappings = listed.event_source_mappings();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    assert_eq!(mappings[0].topics(), &["app-logs".to_string()][..]);
    assert_ne!(mappings[0].uuid().unwrap(), original);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_names_the_field_changed_out_of_band() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let stack = emulator.stack(
        "a.toml",
        &function_stack("timeout_seconds = 60\nmemory_mib = 512\n"),
    );
    let file = path_str(&stack);
    emulator.apply(&stack).expect_code(0);
    emulator.pipectl(&["drift", "-f", file]).expect_code(0);

    // Someone changes the timeout by hand, with the SDK.
    emulator
        .lambda()
        .await
        .update_function_configuration()
        .function_name("consumer")
        .timeout(15)
        .send()
        .await
        .unwrap();
    emulator
        .pipectl(&["drift", "-f", file])
        .expect_code(2)
        .expect_stdout("timeout_seconds: live 15, spec 60")
        .expect_stdout("lambda.function.consumer");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_function_is_a_plan_error_and_apply_needs_approval() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("a.toml", &function_stack("timeout_seconds = 60\n"));
    emulator
        .pipectl(&["plan", "-f", path_str(&stack)])
        .expect_code(1)
        .expect_stderr("Lambda function consumer does not exist")
        .expect_stderr("does not deploy code");

    emulator.seed_functions(&["consumer"]);
    emulator.clear_log();
    // No terminal and no --auto-approve: refused, with a hint, and nothing changed.
    emulator
        .pipectl(&["apply", "-f", path_str(&stack)])
        .expect_code(1)
        .expect_stderr("--auto-approve");
    assert!(emulator.mutating_calls().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_replies_are_safe_to_repeat() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let stack = emulator.stack(
        "a.toml",
        &format!(
            "{}\n[lambda.functions.kafka_trigger]\nmsk_cluster_arn = \"{MSK}\"\ntopic = \"logs\"\n\n{}",
            function_stack(""),
            logs_table("PAY_PER_REQUEST", &[], None)
        ),
    );
    let file = path_str(&stack);
    // The first apply creates pipectl's lock table: do that first, so that the lost reply
    // below is the stack table's.
    emulator
        .apply(&emulator.stack("warm.toml", &function_stack("")))
        .expect_code(0);

    // CreateTable succeeds but its reply is lost: the retry finds the table already there.
    emulator.configure(r#"{"lose_next_reply": "CreateTable"}"#);
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stdout("Apply complete.");
    let creates = calls(&emulator, "CreateTable");
    assert_eq!(
        creates.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![500, 400],
        "{creates:?}"
    );

    // The same for a Kafka mapping: exactly one mapping exists afterwards.
    let lambda = emulator.lambda().await;
    let uuid = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap()
        .event_source_mappings()[0]
        .uuid()
        .unwrap()
        .to_string();
    lambda
        .delete_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    emulator.configure(r#"{"lose_next_reply": "CreateEventSourceMapping"}"#);
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stdout("Apply complete.");
    let listed = lambda
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.event_source_mappings().len(), 1);
    let creates = calls(&emulator, "CreateEventSourceMapping");
    assert_eq!(
        creates.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![202, 500, 409],
        "{creates:?}"
    );
    emulator.pipectl(&["drift", "-f", file]).expect_code(0);
}

/// A reservation of 0 (the function stops consuming) is applied once and then read back as 0:
/// GetFunction returns `Concurrency: {ReservedConcurrentExecutions: 0}` (the double used to drop
/// it, as moto does; found by tests/properties.rs).
#[test]
fn a_reservation_of_zero_converges() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let stack = emulator.stack("zero.toml", &function_stack("reserved_concurrency = 0\n"));
    emulator.apply(&stack).expect_code(0);
    let replan = emulator.pipectl(&["plan", path_str(&stack), "--detailed-exitcode"]);
    replan.expect_code(0).expect_stdout("No changes");
    let described: serde_json::Value = serde_json::from_slice(&aws_cli(
        &["lambda", "get-function", "--function-name", "consumer"],
        Some(&emulator.endpoint),
    ))
    .expect("get-function JSON");
    assert_eq!(described["Concurrency"]["ReservedConcurrentExecutions"], 0);
}
