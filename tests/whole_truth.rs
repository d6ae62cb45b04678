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

    // plan takes the directory too: each stack's plan in full, then how many were read.
    std::fs::write(dir.join("app.toml"), function_stack(45)).expect("app");
    emulator
        .pipectl(&["plan", path, "--detailed-exitcode"])
        .expect_code(2)
        .expect_stdout("~ timeout_seconds: 30 -> 45")
        .expect_stdout("No changes")
        .expect_stderr("2 stacks read: 2 planned (1 with changes or unhealthy resources, 0 over the cost budget), 0 could not be planned.");
    let json = emulator.pipectl(&["plan", path, "-o", "json"]);
    json.expect_code(0);
    let plans: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plans.as_array().map(Vec::len), Some(2), "{plans}");
    emulator
        .pipectl(&[
            "plan",
            path,
            "--out",
            path_str(&emulator.dir().join("plan.json")),
        ])
        .expect_code(1)
        .expect_stderr("--out, --replace and --take-over take one stack, and 2 stacks were given");

    // A broken stack in a subdirectory is reported, not passed over; the others are planned.
    std::fs::write(environments.join("broken.toml"), "[stack]\nname = \n").expect("broken");
    emulator
        .pipectl(&["validate", path])
        .expect_code(1)
        .expect_stdout("3 stacks read: 2 valid, 1 with errors.")
        .expect_stderr("broken.toml");
    emulator
        .pipectl(&["plan", path])
        .expect_code(1)
        .expect_stdout("~ timeout_seconds: 30 -> 45")
        .expect_stderr("broken.toml")
        .expect_stderr("3 stacks read: 2 planned");
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
        .expect_stderr("dynamodb.table.SharedTable: it belongs to stack \"team-a\"")
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
        .expect_stderr("lambda.function.shared-fn: it belongs to stack \"team-a\"");
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

/// What `aws` (the CLI, an independent client) says: the JSON it prints.
fn aws_json(emulator: &Emulator, args: &[&str]) -> serde_json::Value {
    let out = common::aws_cli(args, Some(&emulator.endpoint));
    serde_json::from_slice(&out).expect("the AWS CLI prints JSON")
}

/// Blocks removed from the file leave nothing behind unmentioned: the Kafka trigger's mapping,
/// the SageMaker scaling policy (the whole `[sagemaker]` table removed) and the PrometheusRule
/// and dashboard this stack made are destroys in the plan, applied only with `--allow-destroy`;
/// another stack's objects are not touched.
#[test]
fn removed_blocks_are_destroyed_only_when_allowed() {
    let emulator = Emulator::start_with_cluster("{}");
    emulator
        .cluster()
        .configure(r#"{"prometheus_operator": true}"#);
    emulator.seed_functions(&["consumer"]);
    emulator.seed(&["sagemaker", "scores"]);
    let head = "[stack]\nname = \"left\"\n\n[eks]\nkube_context = \"fake\"\nnamespace = \"kafka\"\n\n[[lambda.functions]]\nname = \"consumer\"\nmemory_mib = 512\n";
    let trigger = "\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nconsumer_group_id = \"log-consumers\"\n";
    let rest = "\n[sagemaker]\n\n[[sagemaker.endpoints]]\nendpoint = \"scores\"\nmin_capacity = 1\nmax_capacity = 4\ntarget_invocations_per_instance = 100.0\n\n[kafka.alerts]\nconsumer_lag_records = 10000\n";
    let stack = emulator.stack("left.toml", &format!("{head}{trigger}{rest}"));
    let file = path_str(&stack);
    emulator.apply(&stack).expect_code(0);
    let rule = emulator
        .cluster()
        .get("prometheusrule", "pipectl-left-alerts");
    assert_eq!(
        rule["metadata"]["labels"]["pipectl.io/stack"], "left",
        "{rule}"
    );
    assert_eq!(
        aws_json(
            &emulator,
            &[
                "lambda",
                "list-event-source-mappings",
                "--function-name",
                "consumer"
            ]
        )["EventSourceMappings"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // The function existed before (no stack's name on it): the apply that changed its memory
    // adopted it, so it carries this stack's name now, and another stack may not take it.
    let function = aws_json(
        &emulator,
        &["lambda", "get-function", "--function-name", "consumer"],
    );
    assert_eq!(function["Tags"]["pipectl:stack"], "left", "{function}");
    let rival = emulator.stack("rival.toml", "[stack]\nname = \"rival\"\n\n[[lambda.functions]]\nname = \"consumer\"\nmemory_mib = 1024\n");
    emulator
        .pipectl(&["plan", path_str(&rival)])
        .expect_code(1)
        .expect_stderr("lambda.function.consumer: it belongs to stack \"left\"");

    // Another stack names the same objects' names nowhere: its plan finds none of them.
    let other = emulator.stack(
        "other.toml",
        "[stack]\nname = \"other\"\n\n[eks]\nkube_context = \"fake\"\nnamespace = \"kafka\"\n",
    );
    emulator
        .pipectl(&["plan", path_str(&other)])
        .expect_code(0)
        .expect_stdout("No changes");

    std::fs::write(&stack, head).expect("the stack file is written");
    emulator
        .pipectl(&["plan", file])
        .expect_code(0)
        .expect_stdout("- lambda.kafka_trigger.consumer will be destroyed")
        .expect_stdout("- sagemaker.variant.scores/AllTraffic will be destroyed")
        .expect_stdout("- eks.prometheus_rule.kafka/pipectl-left-alerts will be destroyed")
        .expect_stdout("- eks.dashboard.kafka/pipectl-left-dashboard will be destroyed");
    let json = emulator.pipectl(&["plan", file, "--output", "json"]);
    json.expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    assert_eq!(plan["destructive"], true, "{plan}");

    // The inventory lists what the stack owns, its leftovers, and (for the rival) the claim.
    emulator
        .pipectl(&["inventory", file])
        .expect_code(0)
        .expect_stdout("owned     lambda.function.consumer")
        .expect_stdout("leftover  lambda.kafka_trigger.consumer")
        .expect_stdout("leftover  eks.prometheus_rule.kafka/pipectl-left-alerts")
        .expect_stdout("4 leftover, 0 claimed");
    let listed = emulator.pipectl(&["inventory", path_str(&rival), "-o", "json"]);
    listed.expect_code(0);
    let inventory: serde_json::Value =
        serde_json::from_str(&listed.stdout).expect("inventory JSON");
    assert_eq!(
        inventory["resources"][0]["id"], "lambda.function.consumer",
        "{inventory}"
    );
    assert_eq!(
        inventory["resources"][0]["standing"], "claimed",
        "{inventory}"
    );
    assert_eq!(inventory["resources"][0]["owner"], "left", "{inventory}");
    assert_eq!(inventory["errors"], serde_json::json!([]), "{inventory}");

    emulator.clear_log();
    emulator
        .pipectl(&["apply", "-f", file, "--auto-approve"])
        .expect_code(1)
        .expect_stderr("--allow-destroy");
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );

    emulator
        .pipectl(&["apply", "-f", file, "--auto-approve", "--allow-destroy"])
        .expect_code(0);
    assert_eq!(
        aws_json(
            &emulator,
            &[
                "lambda",
                "list-event-source-mappings",
                "--function-name",
                "consumer"
            ]
        )["EventSourceMappings"],
        serde_json::json!([])
    );
    let policies = aws_json(
        &emulator,
        &[
            "application-autoscaling",
            "describe-scaling-policies",
            "--service-namespace",
            "sagemaker",
        ],
    );
    assert_eq!(
        policies["ScalingPolicies"],
        serde_json::json!([]),
        "{policies}"
    );
    emulator
        .cluster()
        .kubectl(&[
            "get",
            "prometheusrule",
            "pipectl-left-alerts",
            "-n",
            "kafka",
        ])
        .expect_code(1)
        .expect_stderr("NotFound");
    emulator
        .cluster()
        .kubectl(&["get", "configmap", "pipectl-left-dashboard", "-n", "kafka"])
        .expect_code(1)
        .expect_stderr("NotFound");
    emulator
        .pipectl(&["plan", file, "--detailed-exitcode"])
        .expect_code(0)
        .expect_stdout("No changes");
}

/// A CI run of the templates, against the doubles: the release served from a local directory
/// (binary and SHA256SUMS as release.yml publishes them), `gh` and `apt-get` as recording shims,
/// and tests/workflow_runner.py running each job's own steps.
struct CiRun<'a> {
    emulator: &'a Emulator,
    workdir: std::path::PathBuf,
    state: std::path::PathBuf,
    shims: std::path::PathBuf,
    server: std::process::Child,
    release_url: String,
}

impl Drop for CiRun<'_> {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl<'a> CiRun<'a> {
    fn new(emulator: &'a Emulator, template: &str) -> CiRun<'a> {
        let root = emulator.dir().join(format!("ci-{template}"));
        let workdir = root.join("checkout");
        let (state, shims, release) =
            (root.join("state"), root.join("shims"), root.join("release"));
        for dir in [&state, &shims, &release.join("v0.1.0")] {
            std::fs::create_dir_all(dir).expect("directory");
        }
        emulator
            .pipectl(&["init", "--template", template, path_str(&workdir)])
            .expect_code(0);
        std::fs::create_dir_all(workdir.join("stacks")).expect("stacks directory");
        // The release, packed as release.yml packs it.
        let name = "pipectl-v0.1.0-x86_64-unknown-linux-musl";
        let package = release.join("v0.1.0").join(name);
        std::fs::create_dir_all(&package).expect("package directory");
        std::fs::copy(env!("CARGO_BIN_EXE_pipectl"), package.join("pipectl")).expect("binary");
        let script = format!(
            "cd {dir} && tar czf {name}.tar.gz {name} && rm -r {name} && sha256sum {name}.tar.gz > SHA256SUMS",
            dir = release.join("v0.1.0").display()
        );
        let packed = std::process::Command::new("bash")
            .args(["-c", &script])
            .status()
            .expect("pack");
        assert!(packed.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = std::process::Command::new(common::python())
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
                path_str(&release),
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve the release");
        let release_url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let gh = format!(
            "#!/bin/sh\necho \"$*\" >> {log}\ncase \"$*\" in\n  *comments*--paginate*) echo '[]' ;;\nesac\n",
            log = state.join("gh.log").display()
        );
        let apt = "#!/bin/sh\n# The job's image has what the template installs: curl and jq.\ncommand -v curl >/dev/null && command -v jq >/dev/null\n";
        for (name, text) in [("gh", gh.as_str()), ("apt-get", apt)] {
            std::fs::write(shims.join(name), text).expect("shim");
            let made = std::process::Command::new("chmod")
                .args(["+x", path_str(&shims.join(name))])
                .status();
            assert!(made.is_ok_and(|s| s.success()));
        }
        CiRun {
            emulator,
            workdir,
            state,
            shims,
            server,
            release_url,
        }
    }

    fn stack(&self, text: &str) {
        std::fs::write(self.workdir.join("stacks/kafka-logs.toml"), text).expect("stack file");
    }

    /// Runs one job of `file` (relative to the checkout) with the event's context.
    fn job(&self, service: &str, file: &str, job: &str, context: serde_json::Value) -> common::Run {
        let path = self.workdir.join(file);
        // The release is this test's local one, not GitHub's.
        let text = std::fs::read_to_string(&path).expect("template");
        std::fs::write(
            &path,
            text.replace(
                "https://github.com/OWNER/pipectl/releases/download",
                &self.release_url,
            ),
        )
        .expect("template");
        let mut context = context;
        let path_var = format!(
            "{}:{}",
            self.shims.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        context["env"] = serde_json::json!({
            "AWS_ENDPOINT_URL": self.emulator.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
            "PATH": path_var,
        });
        std::process::Command::new(common::python())
            .arg(common::repo().join("tests/workflow_runner.py"))
            .args([
                service,
                path_str(&path),
                job,
                path_str(&self.workdir),
                path_str(&self.state),
            ])
            .arg(context.to_string())
            .output()
            .expect("run the workflow runner")
            .into()
    }

    fn gh_calls(&self) -> String {
        std::fs::read_to_string(self.state.join("gh.log")).unwrap_or_default()
    }
}

const CI_STACK: &str = "[stack]\nname = \"kafka-logs\"\nregion = \"us-east-1\"\n\n[[lambda.functions]]\nname = \"consumer\"\nmemory_mib = MEMORY\nTRIGGER";
const CI_TRIGGER: &str = "\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nconsumer_group_id = \"log-consumers\"\n";

fn ci_stack(memory: i64, trigger: bool) -> String {
    CI_STACK
        .replace("MEMORY", &memory.to_string())
        .replace("TRIGGER", if trigger { CI_TRIGGER } else { "" })
}

/// Someone sets the consumer's memory by hand (the AWS CLI): drift for the cron to find.
fn memory_changed_by_hand(emulator: &Emulator) {
    common::aws_cli(
        &[
            "lambda",
            "update-function-configuration",
            "--function-name",
            "consumer",
            "--memory-size",
            "1024",
        ],
        Some(&emulator.endpoint),
    );
}

fn mappings_of(emulator: &Emulator, function: &str) -> usize {
    aws_json(
        emulator,
        &[
            "lambda",
            "list-event-source-mappings",
            "--function-name",
            function,
        ],
    )["EventSourceMappings"]
        .as_array()
        .map_or(0, Vec::len)
}

/// The GitHub templates, run job by job as Actions would: the pull request's plan comments, the
/// main branch's plan is shown in the run's summary before the apply job, a destructive plan
/// goes to the job that allows destroy (and only it), and the hourly drift job opens an issue.
#[test]
fn the_github_templates_work_end_to_end() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let ci = CiRun::new(&emulator, "ci-github");
    let workflow = ".github/workflows/pipectl.yml";
    let pull_request =
        serde_json::json!({"event": "pull_request", "ref": "refs/pull/7/merge", "number": 7});
    let push = serde_json::json!({"event": "push", "ref": "refs/heads/main"});

    ci.stack(&ci_stack(512, true));
    emulator.clear_log();
    let plan = ci.job("github", workflow, "plan", pull_request.clone());
    plan.expect_code(0);
    assert!(
        ci.gh_calls()
            .contains("api -X POST repos/owner/repo/issues/7/comments -F body=@plan.md"),
        "{}",
        ci.gh_calls()
    );
    ci.job("github", workflow, "apply", pull_request)
        .expect_code(0)
        .expect_stdout("skipped");
    assert!(
        emulator.mutating_calls().is_empty(),
        "a pull request changed something"
    );

    ci.job("github", workflow, "plan", push.clone())
        .expect_code(0);
    let summary =
        std::fs::read_to_string(ci.state.join("plan.summary")).expect("the run's summary");
    assert!(
        summary.contains("lambda.kafka_trigger.consumer"),
        "{summary}"
    );
    ci.job("github", workflow, "apply-destructive", push.clone())
        .expect_code(0)
        .expect_stdout("skipped");
    ci.job("github", workflow, "apply", push.clone())
        .expect_code(0)
        .expect_stdout("Apply complete");
    assert_eq!(mappings_of(&emulator, "consumer"), 1);

    // The trigger removed: a destructive plan, applied only by the job that allows destroy.
    ci.stack(&ci_stack(512, false));
    ci.job("github", workflow, "plan", push.clone())
        .expect_code(0);
    emulator.clear_log();
    ci.job("github", workflow, "apply", push.clone())
        .expect_code(0)
        .expect_stdout("skipped");
    assert!(emulator.mutating_calls().is_empty());
    ci.job("github", workflow, "apply-destructive", push)
        .expect_code(0)
        .expect_stdout("Apply complete");
    assert_eq!(mappings_of(&emulator, "consumer"), 0);

    // Drift: memory changed by hand; the scheduled job opens an issue with the report.
    memory_changed_by_hand(&emulator);
    let schedule = serde_json::json!({"event": "schedule", "ref": "refs/heads/main"});
    ci.job(
        "github",
        ".github/workflows/pipectl-drift.yml",
        "drift",
        schedule,
    )
    .expect_code(0);
    assert!(
        ci.gh_calls().contains(
            "issue create --title Drift detected by pipectl --label drift --body-file drift.md"
        ),
        "{}",
        ci.gh_calls()
    );
    let report = std::fs::read_to_string(ci.workdir.join("drift.md")).expect("drift report");
    assert!(report.contains("live 1024, spec 512"), "{report}");
}

/// The GitLab template, job by job: plan on the default branch prints the plan in its log and
/// passes `destructive` on; the manual apply applies it, and stops before any change on a
/// destructive plan unless ALLOW_DESTROY=yes; the scheduled drift job fails on drift.
#[test]
fn the_gitlab_template_works_end_to_end() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let ci = CiRun::new(&emulator, "ci-gitlab");
    let pipeline = ".gitlab-ci.yml";
    let main = serde_json::json!({"variables": {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}});

    ci.stack(&ci_stack(512, true));
    ci.job("gitlab", pipeline, "plan", main.clone())
        .expect_code(0)
        .expect_stdout("lambda.kafka_trigger.consumer will be created");
    ci.job("gitlab", pipeline, "apply", main.clone())
        .expect_code(0)
        .expect_stdout("Apply complete");
    assert_eq!(mappings_of(&emulator, "consumer"), 1);

    ci.stack(&ci_stack(512, false));
    ci.job("gitlab", pipeline, "plan", main.clone())
        .expect_code(0)
        .expect_stdout("lambda.kafka_trigger.consumer will be destroyed");
    emulator.clear_log();
    ci.job("gitlab", pipeline, "apply", main.clone())
        .expect_code(1)
        .expect_stderr("ALLOW_DESTROY=yes");
    assert!(emulator.mutating_calls().is_empty());
    let mut allowed = main;
    allowed["variables"]["ALLOW_DESTROY"] = "yes".into();
    ci.job("gitlab", pipeline, "apply", allowed)
        .expect_code(0)
        .expect_stdout("Apply complete");
    assert_eq!(mappings_of(&emulator, "consumer"), 0);

    let schedule = serde_json::json!({"variables": {"CI_PIPELINE_SOURCE": "schedule"}});
    ci.job("gitlab", pipeline, "drift", schedule.clone())
        .expect_code(0);
    memory_changed_by_hand(&emulator);
    ci.job("gitlab", pipeline, "drift", schedule)
        .expect_code(2)
        .expect_stdout("memory_mib");
}

/// An endpoint that refuses connections is an error after three quick attempts of the run's
/// first call (the retries shown at -v), not after minutes of silence; and -v names every API
/// call as IAM names its action.
#[test]
fn a_refused_connection_fails_fast_and_v_names_every_call() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", &function_stack(30));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    emulator
        .pipectl_with(
            &["plan", path_str(&stack), "-v"],
            &[("AWS_ENDPOINT_URL", &endpoint)],
        )
        .expect_code(1)
        .expect_stderr("attempt #2 failed")
        .expect_stderr("out of attempts attempts=3 max_attempts=3")
        .expect_stderr("cannot tell whose AWS credentials these are (STS GetCallerIdentity)")
        .expect_stderr("Connection refused");

    let verbose = emulator.pipectl(&["plan", path_str(&stack), "-v"]);
    verbose
        .expect_code(0)
        .expect_stderr("pipectl::api: call sts:GetCallerIdentity")
        .expect_stderr("pipectl::api: call lambda:GetFunction");
    let quiet = emulator.pipectl(&["plan", path_str(&stack)]);
    assert!(!quiet.stderr.contains("pipectl::api"), "{}", quiet.stderr);
}

/// Kubernetes objects carry the stack's name as a label: a StorageClass another stack made is
/// a plan error for this one, until `--take-over` moves the label (checked with kubectl).
#[test]
fn a_storage_class_of_another_stack_is_taken_only_on_take_over() {
    let emulator = Emulator::start_with_cluster("{}");
    let stack = |name: &str| {
        let storage = STORAGE_AT_BASELINE.replace("kafka-gp3", "shared-gp3");
        format!("[stack]\nname = \"{name}\"\n\n[eks]\nkube_context = \"fake\"\nnamespace = \"kafka\"\n\n{storage}")
    };
    let team_a = emulator.stack("team-a.toml", &stack("team-a"));
    let team_b = emulator.stack("team-b.toml", &stack("team-b"));
    emulator.apply(&team_a).expect_code(0);
    let label = |emulator: &Emulator| {
        let class = emulator.cluster().kubectl(&[
            "get",
            "storageclass",
            "shared-gp3",
            "-o",
            "jsonpath={.metadata.labels.pipectl\\.io/stack}",
        ]);
        class.expect_code(0);
        class.stdout.clone()
    };
    assert_eq!(label(&emulator), "team-a");
    emulator
        .pipectl(&["plan", path_str(&team_b)])
        .expect_code(1)
        .expect_stderr("eks.storage_class.shared-gp3: it belongs to stack \"team-a\"");
    emulator
        .pipectl(&[
            "plan",
            path_str(&team_b),
            "--take-over",
            "eks.storage_class.shared-gp3",
        ])
        .expect_code(0)
        .expect_stdout("~ owner: team-a -> team-b");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&team_b),
            "--auto-approve",
            "--take-over",
            "eks.storage_class.shared-gp3",
        ])
        .expect_code(0);
    assert_eq!(label(&emulator), "team-b");
    emulator
        .pipectl(&["plan", path_str(&team_a)])
        .expect_code(1)
        .expect_stderr("it belongs to stack \"team-b\"");
    emulator
        .pipectl(&["plan", path_str(&team_b), "--detailed-exitcode"])
        .expect_code(0);
}

/// The README's sample plan is what pipectl prints for the seed article's stack against the
/// demo's "before" state: every line of it (a line cut with "..." up to the cut) is in the plan.
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_sample_plan_is_the_demo_plan() {
    let emulator = Emulator::start_seed_article("{}");
    let stack = emulator.seed_article_stack().await;
    // The demo reaches the cluster with the token pipectl signs; the fake's context here.
    let plan = emulator.pipectl(&["plan", path_str(&stack), "--kube-context", "fake"]);
    plan.expect_code(0);
    let readme = std::fs::read_to_string(common::repo().join("README.md")).expect("README");
    let start = readme
        .find("A plan looks like this (from the demo):")
        .expect("the sample");
    let block = readme[start..]
        .split("```")
        .nth(1)
        .expect("the sample's block");
    for line in block
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "...")
    {
        let expected = line.trim_end().trim_end_matches("...").trim_end();
        assert!(
            plan.stdout.contains(expected),
            "the README's sample says {expected:?}, the plan does not:\n{}",
            plan.stdout
        );
    }
}
