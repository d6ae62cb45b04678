//! Issue 20: plan and drift tell the whole truth, and no command loses a file. Each test runs
//! the binary against the doubles as a user would.

mod common;

use common::{path_str, Emulator};

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
