//! Issue 20: plan and drift tell the whole truth, and no command loses a file. Each test runs
//! the binary against the doubles as a user would.

mod common;

use common::{brokers_stack, path_str, Emulator, STORAGE_AT_BASELINE};

fn function_stack(timeout: i64) -> String {
    format!(
        "[stack]\nname = \"app\"\n\n[[lambda.functions]]\nname = \"app-fn\"\ntimeout_seconds = {timeout}\nmemory_mib = 256\n"
    )
}

/// `plan --out stack.toml` (the hint that used to be printed) refuses to replace the stack
/// file; an earlier plan is written over; `apply STACK.toml` plans the stack as `-f` does.
#[test]
fn no_command_loses_the_stack_file() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let text = function_stack(30);
    let stack = emulator.stack("stack.toml", &text);
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", "-f", file, "--out", file])
        .expect_code(1)
        .expect_stderr("exists and is not a pipectl plan");
    assert_eq!(std::fs::read_to_string(&stack).expect("stack"), text);
    // Nothing was read: the refusal comes before the plan.
    let plan = emulator.dir().join("plan.json");
    let plan_path = path_str(&plan);
    emulator
        .pipectl(&["plan", "-f", file, "--out", plan_path])
        .expect_code(0);
    emulator
        .pipectl(&["plan", "-f", file, "--out", plan_path])
        .expect_code(0)
        .expect_stderr("Saved the plan to");
    // An empty file (a script's mktemp) takes a plan.
    let empty = emulator.stack("empty.json", "");
    emulator
        .pipectl(&["plan", "-f", file, "--out", path_str(&empty)])
        .expect_code(0);
    // A stack file where a saved plan goes is the stack file.
    let applied = emulator.pipectl(&["apply", file, "--auto-approve"]);
    applied.expect_code(0).expect_stdout("Apply complete");
    assert!(
        !applied.stderr.contains("--out stack.toml"),
        "{}",
        applied.stderr
    );
    // A file that is no plan gets a hint that names no command writing over it.
    let notes = emulator.stack("notes.json", "not json");
    let refused = emulator.pipectl(&["apply", path_str(&notes)]);
    refused
        .expect_code(1)
        .expect_stderr("is not JSON, so not a saved plan");
    assert!(
        !refused.stderr.contains("--out notes.json"),
        "{}",
        refused.stderr
    );
}

/// An `[[ignore]]` rule with a typo protects nothing: it is a plan error with a "did you mean",
/// and nothing is applied. A `--target` typo gets one too.
#[test]
fn rules_and_targets_that_match_nothing_are_errors_with_a_suggestion() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack(
        "typo.toml",
        &format!(
            "{}\n[[ignore]]\nresource = \"lambda.function.app-fm\"\nfields = [\"timeout_seconds\"]\n",
            function_stack(30)
        ),
    );
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", "-f", file])
        .expect_code(1)
        .expect_stderr("ignore[0].resource: [[ignore]] resource \"lambda.function.app-fm\" matches no resource of stack app")
        .expect_stderr("did you mean \"lambda.function.app-fn\"?")
        .expect_stderr("nothing was changed");
    emulator.clear_log();
    emulator
        .pipectl(&["apply", "-f", file, "--auto-approve"])
        .expect_code(1);
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
    // A rule that matches (a prefix) is fine.
    let good = emulator.stack(
        "good.toml",
        &format!(
            "{}\n[[ignore]]\nresource = \"lambda.function.*\"\nfields = [\"timeout_seconds\"]\n",
            function_stack(30)
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&good)])
        .expect_code(0);
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(&good),
            "--target",
            "lambda.function.app-fm",
        ])
        .expect_code(1)
        .expect_stderr("did you mean \"lambda.function.app-fn\"?");
}

/// `drift` and `validate` take directories as the README's cron recipe does: subdirectories are
/// read, hidden files (the `.taplo.toml` editor config) and TOML without a `[stack]` table are
/// passed over (listed at `-v`), a base that others extend is no stack, and each command says how
/// many stacks it read.
#[test]
fn directories_are_read_whole() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn", "env-fn"]);
    let dir = emulator.dir().join("stacks");
    let environments = dir.join("environments");
    std::fs::create_dir_all(&environments).expect("dirs");
    std::fs::write(dir.join("app.toml"), function_stack(30)).expect("app");
    std::fs::write(
        environments.join("base.toml"),
        "[stack]\nname = \"env\"\n\n[[lambda.functions]]\nname = \"env-fn\"\ntimeout_seconds = 30\n",
    )
    .expect("base");
    std::fs::write(
        environments.join("dev.toml"),
        "extends = \"base.toml\"\n\n[stack]\nname = \"env-dev\"\n",
    )
    .expect("dev");
    std::fs::write(
        dir.join(".taplo.toml"),
        "[formatting]\nalign_entries = true\n",
    )
    .expect("taplo");
    std::fs::write(dir.join("notes.toml"), "title = \"not a stack\"\n").expect("notes");
    let path = path_str(&dir);

    let validated = emulator.pipectl(&["validate", path, "-v"]);
    validated
        .expect_code(0)
        .expect_stdout("2 stacks read: 2 valid, 0 with errors.")
        .expect_stdout("app.toml is valid")
        .expect_stdout("dev.toml is valid")
        .expect_stderr("notes.toml: no [stack] table")
        .expect_stderr("base.toml: another stack extends it");
    assert!(
        !validated.stderr.contains(".taplo.toml"),
        "{}",
        validated.stderr
    );

    for stack in [dir.join("app.toml"), environments.join("dev.toml")] {
        emulator.apply(&stack).expect_code(0);
    }
    let quiet = emulator.pipectl(&["drift", "--quiet", path]);
    quiet.expect_code(0);
    assert!(quiet.stdout.trim().is_empty(), "{}", quiet.stdout);
    emulator
        .pipectl(&["drift", path])
        .expect_code(0)
        .expect_stdout("environments/dev.toml")
        .expect_stdout("2 stacks checked: 2 in sync");

    // A broken stack in a subdirectory is reported, not passed over.
    std::fs::write(environments.join("broken.toml"), "[stack]\nname = \n").expect("broken");
    emulator
        .pipectl(&["validate", path])
        .expect_code(1)
        .expect_stdout("3 stacks read: 2 valid, 1 with errors.")
        .expect_stderr("broken.toml");
}

/// A Kafka trigger that apply left broken (its pollers cannot reach the brokers) is not "in
/// sync": plan shows it with Lambda's reason, `--detailed-exitcode` and drift exit 2 with the
/// reason in the JSON, and an apply with nothing to change exits 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_trigger_is_unhealthy_in_plan_drift_and_apply() {
    let emulator =
        Emulator::start(r#"{"esm_transition_seconds": 0.2, "esm_connect_seconds": 0.5}"#);
    emulator.seed_functions(&["consumer"]);
    let vpc = emulator
        .ec2()
        .await
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    emulator.configure(&format!(
        r#"{{"kafka_brokers": {{"b-1.kafka.svc:9092": {{"vpc": "{vpc}"}}}}}}"#
    ));
    let stack = emulator.stack(
        "broken.toml",
        "[stack]\nname = \"f\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nconsumer_group_id = \"log-consumers\"\nhealth_timeout_seconds = 5\n",
    );
    let file = path_str(&stack);
    emulator
        .apply(&stack)
        .expect_code(1)
        .expect_stdout("PROBLEM: Connection error");

    emulator
        .pipectl(&["plan", "-f", file])
        .expect_code(0)
        .expect_stdout("unhealthy: lambda.kafka_trigger.consumer does not work: mapping")
        .expect_stdout("PROBLEM: Connection error")
        .expect_stdout("No changes to make, but 1 resource of");
    emulator
        .pipectl(&["plan", "-f", file, "--detailed-exitcode"])
        .expect_code(2);
    emulator
        .pipectl(&["drift", file])
        .expect_code(2)
        .expect_stdout("lambda.kafka_trigger.consumer matches the stack file, but does not work")
        .expect_stdout("vpc_subnets");
    let json = emulator.pipectl(&["drift", file, "--output", "json"]);
    json.expect_code(2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("drift JSON");
    let change = &report["stacks"][0]["changes"][0];
    assert_eq!(change["id"], "lambda.kafka_trigger.consumer", "{report}");
    assert!(
        change["unhealthy"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("PROBLEM: Connection error")),
        "{report}"
    );
    emulator.clear_log();
    emulator
        .pipectl(&["apply", "-f", file, "--auto-approve"])
        .expect_code(1)
        .expect_stdout("does not work");
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
}

/// `--replace ID` recreates a stuck Kafka mapping (delete, then create: Lambda allows one
/// mapping per function, source and topic), only with `--allow-destroy`; an id that is not
/// recreatable or does not exist is a plan error.
#[tokio::test(flavor = "multi_thread")]
async fn replace_recreates_a_stuck_trigger() {
    let emulator =
        Emulator::start(r#"{"kafka_brokers": {"b-1.kafka.svc:9092": {"vpc": "vpc-00000000"}}}"#);
    emulator.seed_functions(&["consumer"]);
    let stack = emulator.stack(
        "stuck.toml",
        "[stack]\nname = \"f\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nconsumer_group_id = \"log-consumers\"\nhealth_timeout_seconds = 2\n",
    );
    let file = path_str(&stack);
    emulator.apply(&stack).expect_code(1);
    let old_uuids = emulator.resources_of("CreateEventSourceMapping");

    emulator
        .pipectl(&[
            "plan",
            "-f",
            file,
            "--replace",
            "lambda.kafka_trigger.consumer",
        ])
        .expect_code(0)
        .expect_stdout("-/+ lambda.kafka_trigger.consumer")
        .expect_stdout("(recreated: --replace)");
    emulator
        .pipectl(&[
            "plan",
            "-f",
            file,
            "--replace",
            "lambda.kafka_trigger.consumr",
        ])
        .expect_code(1)
        .expect_stderr("names no resource of stack f")
        .expect_stderr("did you mean \"lambda.kafka_trigger.consumer\"");
    emulator
        .pipectl(&["plan", "-f", file, "--replace", "lambda.function.consumer"])
        .expect_code(1)
        .expect_stderr("pipectl cannot recreate it")
        .expect_stderr("lambda.kafka_trigger.*");

    emulator.clear_log();
    emulator
        .pipectl(&[
            "apply",
            "-f",
            file,
            "--auto-approve",
            "--replace",
            "lambda.kafka_trigger.consumer",
        ])
        .expect_code(1)
        .expect_stderr("--allow-destroy");
    assert!(emulator.mutating_calls().is_empty());
    emulator
        .pipectl(&[
            "apply",
            "-f",
            file,
            "--auto-approve",
            "--allow-destroy",
            "--replace",
            "lambda.kafka_trigger.consumer",
        ])
        .expect_code(1)
        .expect_stdout("(destructive, allowed)")
        .expect_stdout("PROBLEM: Connection error");
    let operations = emulator.operations();
    let delete = operations
        .iter()
        .position(|o| o == "DeleteEventSourceMapping");
    let create = operations
        .iter()
        .position(|o| o == "CreateEventSourceMapping");
    assert!(
        matches!((delete, create), (Some(d), Some(c)) if d < c),
        "{operations:?}"
    );
    let mappings = emulator
        .lambda()
        .await
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .expect("ListEventSourceMappings");
    assert_eq!(mappings.event_source_mappings().len(), 1);
    assert!(!old_uuids
        .iter()
        .any(|u| Some(u.as_str()) == mappings.event_source_mappings()[0].uuid()));
}

/// A resource that carries another stack's name is a plan error naming that stack, with no
/// write, until `--take-over` names it; then its `pipectl:stack` tag moves.
#[tokio::test(flavor = "multi_thread")]
async fn another_stacks_resource_is_not_taken_silently() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["shared-fn"]);
    let table = |stack: &str, read: u32| {
        format!(
            "[stack]\nname = \"{stack}\"\n\n[[dynamodb.tables]]\nname = \"SharedTable\"\npartition_key = {{ name = \"id\", type = \"S\" }}\nbilling_mode = \"PROVISIONED\"\ncapacity = {{ read = {read}, write = 5 }}\n"
        )
    };
    let team_a = emulator.stack("team-a.toml", &table("team-a", 5));
    let team_b = emulator.stack("team-b.toml", &table("team-b", 50));
    emulator.apply(&team_a).expect_code(0);
    emulator.clear_log();
    emulator
        .pipectl(&["apply", "-f", path_str(&team_b), "--auto-approve"])
        .expect_code(1)
        .expect_stderr("dynamodb.table.SharedTable belongs to stack \"team-a\"")
        .expect_stderr("--take-over dynamodb.table.SharedTable");
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(&team_b),
            "--take-over",
            "lambda.function.nope",
        ])
        .expect_code(1)
        .expect_stderr("--take-over \"lambda.function.nope\": no resource");
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(&team_b),
            "--take-over",
            "dynamodb.table.SharedTable",
        ])
        .expect_code(0)
        .expect_stdout("owner: team-a -> team-b");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&team_b),
            "--auto-approve",
            "--take-over",
            "dynamodb.table.SharedTable",
        ])
        .expect_code(0);
    let arn = emulator
        .table("SharedTable")
        .await
        .table_arn()
        .expect("arn")
        .to_string();
    let tags = emulator
        .dynamodb()
        .await
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("ListTagsOfResource");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "pipectl:stack" && t.value() == "team-b"),
        "{tags:?}"
    );
    // Now team-a is the one told.
    emulator
        .pipectl(&["plan", "-f", path_str(&team_a)])
        .expect_code(1)
        .expect_stderr("belongs to stack \"team-b\"");

    // A function tagged by another stack: the same.
    let lambda = emulator.lambda().await;
    let function_arn = lambda
        .get_function()
        .function_name("shared-fn")
        .send()
        .await
        .expect("GetFunction")
        .configuration()
        .and_then(|c| c.function_arn())
        .expect("arn")
        .to_string();
    lambda
        .tag_resource()
        .resource(&function_arn)
        .tags("pipectl:stack", "team-a")
        .send()
        .await
        .expect("TagResource");
    let function = emulator.stack(
        "fn.toml",
        "[stack]\nname = \"team-b\"\n\n[[lambda.functions]]\nname = \"shared-fn\"\nmemory_mib = 512\n",
    );
    emulator
        .pipectl(&["drift", path_str(&function)])
        .expect_code(1)
        .expect_stderr("lambda.function.shared-fn belongs to stack \"team-a\"");
}

/// A template's placeholders (`<<WHAT>>`) never reach AWS: `validate` warns with file and line,
/// plan and apply refuse the stack before any call, and a filled-in stack plans.
#[test]
fn template_placeholders_are_refused_before_any_call() {
    let emulator = Emulator::start("{}");
    let dir = emulator.dir().join("consumers");
    emulator
        .pipectl(&["init", "--template", "lambda-consumers", path_str(&dir)])
        .expect_code(0);
    let stack = dir.join("stack.toml");
    let file = path_str(&stack);
    emulator
        .pipectl(&["validate", file])
        .expect_code(0)
        .expect_stderr("still holds 6 placeholders of its template")
        .expect_stderr("stack.toml:19:")
        .expect_stderr("<<SUBNET_ID_1>>");
    emulator.clear_log();
    for args in [
        vec!["plan", "-f", file],
        vec!["apply", "-f", file, "--auto-approve"],
        vec!["drift", file],
    ] {
        emulator
            .pipectl(&args)
            .expect_code(1)
            .expect_stderr("placeholder <<SUBNET_ID_1>>")
            .expect_stderr("nothing was read from or changed in AWS or Kubernetes");
    }
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
    assert_eq!(
        emulator.call_count("sts:GetCallerIdentity"),
        0,
        "AWS was asked"
    );

    // Filled in, the stack is planned (the counter above counts for real).
    let text = std::fs::read_to_string(&stack).expect("stack");
    let filled = regex_free_fill(&text);
    std::fs::write(&stack, filled).expect("filled");
    let plan = emulator.pipectl(&["plan", "-f", file]);
    assert!(!plan.stderr.contains("placeholder"), "{}", plan.stderr);
    assert!(emulator.call_count("sts:GetCallerIdentity") > 0);
}

/// Each `<<WHAT>>` replaced by a plausible value.
fn regex_free_fill(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<<") {
        let end = rest[start..]
            .find(">>")
            .map_or(rest.len(), |e| start + e + 2);
        out.push_str(&rest[..start]);
        out.push_str("0abc1234");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `drift` on `stack` exits 2 with `id`'s unhealthy reason containing `reason`, and the JSON
/// report carries it.
fn expect_unhealthy(emulator: &Emulator, stack: &std::path::Path, id: &str, reason: &str) {
    let file = path_str(stack);
    emulator
        .pipectl(&["drift", file])
        .expect_code(2)
        .expect_stdout(id)
        .expect_stdout(&format!("does not work: {reason}"));
    let json = emulator.pipectl(&["drift", file, "--output", "json"]);
    json.expect_code(2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("drift JSON");
    let changes = report["stacks"][0]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let change = changes
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {report}"));
    assert!(
        change["unhealthy"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(reason)),
        "{report}"
    );
}

/// Tables: DynamoDB's own states, a KMS key it cannot use and an index still being built.
#[tokio::test(flavor = "multi_thread")]
async fn a_table_that_does_not_serve_is_unhealthy() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack(
        "tables.toml",
        "[stack]\nname = \"t\"\n\n[[dynamodb.tables]]\nname = \"events\"\npartition_key = { name = \"id\", type = \"S\" }\nbilling_mode = \"PAY_PER_REQUEST\"\n\n[[dynamodb.tables.global_secondary_indexes]]\nname = \"by-user\"\npartition_key = { name = \"user\", type = \"S\" }\n",
    );
    emulator.apply(&stack).expect_code(0);
    emulator
        .pipectl(&["drift", path_str(&stack)])
        .expect_code(0);
    emulator.configure(
        r#"{"table_status": {"events": {"status": "INACCESSIBLE_ENCRYPTION_CREDENTIALS"}}}"#,
    );
    expect_unhealthy(
        &emulator,
        &stack,
        "dynamodb.table.events",
        "table events is INACCESSIBLE_ENCRYPTION_CREDENTIALS",
    );
    emulator.configure(r#"{"table_status": {"events": {"status": "ARCHIVED", "reason": "Archived due to table being inaccessible for more than seven days."}}}"#);
    expect_unhealthy(
        &emulator,
        &stack,
        "dynamodb.table.events",
        "table events is ARCHIVED: Archived due to table being inaccessible",
    );
    // An index another client started is CREATING for a while: not serving yet.
    emulator.configure(r#"{"table_status": {}, "gsi_create_seconds": 600}"#);
    emulator
        .dynamodb()
        .await
        .update_table()
        .table_name("events")
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("day")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(
                    aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                        .index_name("by-day")
                        .key_schema(
                            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                                .attribute_name("day")
                                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                                .build()
                                .expect("key"),
                        )
                        .projection(
                            aws_sdk_dynamodb::types::Projection::builder()
                                .projection_type(aws_sdk_dynamodb::types::ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .expect("index"),
                )
                .build(),
        )
        .send()
        .await
        .expect("UpdateTable");
    let with_index = emulator.stack(
        "with-index.toml",
        &format!(
            "{}\n[[dynamodb.tables.global_secondary_indexes]]\nname = \"by-day\"\npartition_key = {{ name = \"day\", type = \"S\" }}\n",
            std::fs::read_to_string(&stack).expect("stack")
        ),
    );
    expect_unhealthy(
        &emulator,
        &with_index,
        "dynamodb.table.events",
        "index by-day CREATING",
    );
}

/// SageMaker: an endpoint that failed is shown with SageMaker's FailureReason, and its scaling
/// is left alone.
#[test]
fn a_failed_endpoint_is_unhealthy() {
    let emulator = Emulator::start("{}");
    emulator.seed(&["sagemaker", "scores"]);
    let stack = emulator.stack(
        "endpoints.toml",
        "[stack]\nname = \"s\"\n\n[sagemaker]\n\n[[sagemaker.endpoints]]\nendpoint = \"scores\"\nmin_capacity = 1\nmax_capacity = 4\ntarget_invocations_per_instance = 100.0\n",
    );
    emulator.apply(&stack).expect_code(0);
    emulator.configure(r#"{"endpoint_status": {"scores": {"status": "Failed", "reason": "The primary container for production variant AllTraffic did not pass the ping health check."}}}"#);
    expect_unhealthy(
        &emulator,
        &stack,
        "sagemaker.variant.scores/AllTraffic",
        "endpoint is Failed: The primary container for production variant AllTraffic did not pass",
    );
    emulator.clear_log();
    emulator
        .pipectl(&["apply", "-f", path_str(&stack), "--auto-approve"])
        .expect_code(1)
        .expect_stdout("does not work");
    assert!(emulator.mutating_calls().is_empty());
}

/// The brokers: a claim Kubernetes could not resize, an EBS modification that failed, and an
/// HPA whose controller says it cannot scale are each unhealthy, with the service's words.
#[tokio::test(flavor = "multi_thread")]
async fn broker_storage_and_autoscaler_failures_are_unhealthy() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    let replicas = "min_replicas = 3\nmax_replicas = 10";
    let baseline = emulator.stack(
        "baseline.toml",
        &brokers_stack(replicas, STORAGE_AT_BASELINE),
    );
    emulator.apply(&baseline).expect_code(0);
    emulator
        .pipectl(&["drift", path_str(&baseline)])
        .expect_code(0);

    // The HPA controller reports that it cannot read the brokers' CPU.
    cluster
        .kubectl(&[
            "patch",
            "hpa",
            "kafka-broker-hpa",
            "-n",
            "kafka",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"conditions":[{"type":"AbleToScale","status":"True","reason":"SucceededGetScale","lastTransitionTime":"2026-12-06T00:00:00Z"},{"type":"ScalingActive","status":"False","reason":"FailedGetResourceMetric","message":"the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API","lastTransitionTime":"2026-12-06T00:00:00Z"}]}}"#,
        ])
        .expect_code(0);
    expect_unhealthy(
        &emulator,
        &baseline,
        "eks.hpa.kafka/kafka-broker-hpa",
        "ScalingActive is False (FailedGetResourceMetric)",
    );

    // EC2 fails the IOPS modification: the volume keeps its old settings.
    emulator.configure(r#"{"volume_modification_failure": "The volume could not be modified (emulated failure)."}"#);
    let faster = emulator.stack(
        "faster.toml",
        &brokers_stack(
            replicas,
            &STORAGE_AT_BASELINE.replace("iops = 3000", "iops = 4000"),
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
        .expect_code(1);
    expect_unhealthy(
        &emulator,
        &faster,
        "eks.volume.kafka/data-kafka-broker-0",
        "the last modification of EBS volume",
    );

    // Kubernetes cannot grow a claim: after apply fails, the claim asks for the size the file
    // says, so only its health tells that the volume never grew.
    emulator.configure(r#"{"volume_modification_failure": null}"#);
    cluster.configure(r#"{"claim_resize_failure": "ControllerResizeError"}"#);
    let bigger = emulator.stack(
        "bigger.toml",
        &brokers_stack(
            replicas,
            &format!(
                "{}volume_size_gib = 600\n",
                STORAGE_AT_BASELINE.replace("iops = 3000", "iops = 4000")
            ),
        ),
    );
    emulator.apply(&bigger).expect_code(1);
    expect_unhealthy(
        &emulator,
        &bigger,
        "eks.volume.kafka/data-kafka-broker-0",
        "resizing claim data-kafka-broker-0 failed: ControllerResizeError",
    );
}

/// Smaller things: a --region other than the stack's pinned one is refused unless forced;
/// --expect-account must look like an account id; `-o` is `--output`.
#[test]
fn region_account_and_output_flags_say_what_is_wrong() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack(
        "pinned.toml",
        &function_stack(30).replace(
            "name = \"app\"\n",
            "name = \"app\"\nregion = \"us-east-1\"\n",
        ),
    );
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", "-f", file, "--region", "eu-west-1"])
        .expect_code(1)
        .expect_stderr(
            "the stack pins region us-east-1, but --region (or PIPECTL_REGION) says eu-west-1",
        )
        .expect_stderr("--force-region");
    emulator
        .pipectl_with(&["plan", "-f", file], &[("PIPECTL_REGION", "eu-west-1")])
        .expect_code(1)
        .expect_stderr("the stack pins region us-east-1");
    // Forced, the plan reads eu-west-1, where the function does not exist.
    emulator
        .pipectl(&[
            "plan",
            "-f",
            file,
            "--region",
            "eu-west-1",
            "--force-region",
        ])
        .expect_code(1)
        .expect_stderr("region eu-west-1");
    emulator
        .pipectl(&["plan", "-f", file, "--region", "us-east-1"])
        .expect_code(0);
    emulator
        .pipectl(&["plan", "-f", file, "--expect-account", "12345678901"])
        .expect_code(1)
        .expect_stderr("is not an AWS account id: it is 12 digits");
    let json = emulator.pipectl(&["plan", "-f", file, "-o", "json"]);
    json.expect_code(0);
    serde_json::from_str::<serde_json::Value>(&json.stdout).expect("-o json prints JSON");
    // The PR comment names where it was read.
    emulator
        .pipectl(&["plan", "-f", file, "-o", "markdown"])
        .expect_code(0)
        .expect_stdout("AWS account 123456789012, region us-east-1");
}

/// A stack that cannot be checked is reported once by `drift`: the error on stderr, and the
/// report on stdout names the stack without repeating it; it still exits 1.
#[test]
fn a_drift_error_is_printed_once() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("gone.toml", &function_stack(30));
    let run = emulator.pipectl(&["drift", path_str(&stack)]);
    run.expect_code(1)
        .expect_stderr("Lambda function app-fn does not exist")
        .expect_stdout("gone.toml: not checked");
    let all = run.all();
    assert_eq!(
        all.matches("Lambda function app-fn does not exist").count(),
        1,
        "{all}"
    );
    // JSON carries the text for programs.
    let json = emulator.pipectl(&["drift", path_str(&stack), "-o", "json"]);
    json.expect_code(1)
        .expect_stdout("Lambda function app-fn does not exist");
}
