//! The CI/CD and cron contract: saved plans and their staleness, JSON and Markdown output,
//! exit codes, multi-stack drift. The pipectl binary against the local emulator, checked with
//! independent SDK clients, the emulator's call log and Python's `jsonschema`.

mod common;

use common::{assert_matches_schema, path_str, Emulator};

/// An emulator with function `app-fn` at Lambda's defaults, and stack app.toml asking for a
/// 30 s timeout and 256 MiB.
fn app() -> (Emulator, std::path::PathBuf) {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", &function_stack("app", 30));
    (emulator, stack)
}

/// `apply PLAN` must refuse the plan as stale for `reason`, and call nothing.
#[track_caller]
fn expect_stale(emulator: &Emulator, plan_file: &std::path::Path, reason: &str) {
    emulator
        .pipectl(&["apply", path_str(plan_file)])
        .expect_code(1)
        .expect_stderr("plan is stale")
        .expect_stderr(reason)
        .expect_stderr("nothing was changed");
    assert!(emulator.mutating_calls().is_empty());
}

fn function_stack(name: &str, timeout: i64) -> String {
    format!(
        "[stack]\nname = \"{name}\"\n\n[[lambda.functions]]\nname = \"{name}-fn\"\ntimeout_seconds = {timeout}\nmemory_mib = 256\n"
    )
}

async fn timeout_of(emulator: &Emulator, function: &str) -> Option<i32> {
    emulator
        .lambda()
        .await
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("GetFunctionConfiguration")
        .timeout()
}

fn operations(emulator: &Emulator) -> Vec<String> {
    emulator
        .mutating_calls()
        .into_iter()
        .map(|c| format!("{} {}", c.operation, c.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_plan_applies_exactly_once_and_holds_no_secrets() {
    let (emulator, stack) = app();
    let plan_file = emulator.dir().join("plan.json");
    emulator.clear_log();
    let secret = "wJalrXUtnFEMI-do-not-leak-this";
    let run = emulator.pipectl_with(
        &[
            "plan",
            "-f",
            path_str(&stack),
            "--out",
            path_str(&plan_file),
        ],
        &[
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", "session-token-do-not-leak"),
        ],
    );
    run.expect_code(0)
        .expect_stdout("~ timeout_seconds: 3 -> 30")
        .expect_stderr("Saved the plan to");
    let saved = std::fs::read_to_string(&plan_file).expect("plan file");
    assert_matches_schema(&saved);
    assert!(!saved.contains(secret) && !saved.contains("do-not-leak"));
    assert!(!saved.contains("k8s-aws-v1."));
    assert!(saved.contains("\"format_version\": \"2\""));
    assert!(
        emulator.mutating_calls().is_empty(),
        "plan changed something"
    );

    emulator
        .pipectl(&["apply", path_str(&plan_file)])
        .expect_code(0)
        .expect_stdout("1 applied, 0 failed, 0 not started")
        .expect_stdout("Apply complete");
    // Exactly the planned steps: one UpdateFunctionConfiguration with timeout and memory, then
    // the stack's name on the function it adopted (issue 20).
    assert_eq!(
        operations(&emulator),
        vec!["UpdateFunctionConfiguration 200", "TagResource 200"]
    );
    assert_eq!(timeout_of(&emulator, "app-fn").await, Some(30));

    // The same plan again: the function it was made from has changed, so it is stale.
    emulator.clear_log();
    expect_stale(
        &emulator,
        &plan_file,
        "lambda.function.app-fn: changed live since the plan was made: memory_mib: 128 when planned, as in the stack file now; owner: not set when planned, as in the stack file now; timeout_seconds: 3 when planned, as in the stack file now",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_plan_is_refused_after_an_out_of_band_change_or_a_spec_edit() {
    let (emulator, stack) = app();
    let plan_file = emulator.dir().join("plan.json");
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(&stack),
            "--out",
            path_str(&plan_file),
        ])
        .expect_code(0);

    // Someone changes the function's memory by hand after the plan was made.
    emulator
        .lambda()
        .await
        .update_function_configuration()
        .function_name("app-fn")
        .memory_size(512)
        .send()
        .await
        .expect("out-of-band update");
    emulator.clear_log();
    expect_stale(
        &emulator,
        &plan_file,
        "lambda.function.app-fn: changed live since the plan was made: memory_mib: 128 when planned, 512 now",
    );
    assert_eq!(timeout_of(&emulator, "app-fn").await, Some(3));

    // A fresh plan, then an edit of the stack file: stale too.
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(&stack),
            "--out",
            path_str(&plan_file),
        ])
        .expect_code(0);
    std::fs::write(&stack, function_stack("app", 45)).expect("edit the stack");
    expect_stale(
        &emulator,
        &plan_file,
        "app.toml changed since the plan was made",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_for_plan_and_drift() {
    let (emulator, stack) = app();
    let file = path_str(&stack);
    // Changes: 2. Errors: 1. No changes: 0 (explicitly: a bug class in other tools).
    emulator
        .pipectl(&["plan", "-f", file, "--detailed-exitcode"])
        .expect_code(2);
    emulator.pipectl(&["drift", "-f", file]).expect_code(2);
    emulator.apply(&stack).expect_code(0);
    let no_change = emulator.pipectl(&["plan", "-f", file, "--detailed-exitcode"]);
    no_change.expect_code(0).expect_stdout("No changes");
    emulator.pipectl(&["plan", "-f", file]).expect_code(0);
    let in_sync = emulator.pipectl(&["drift", "-f", file, "--quiet"]);
    in_sync.expect_code(0);
    assert_eq!(in_sync.stdout, "", "--quiet prints nothing when in sync");
    let missing = emulator.stack("missing.toml", &function_stack("ghost", 30));
    emulator
        .pipectl(&["plan", "-f", path_str(&missing), "--detailed-exitcode"])
        .expect_code(1);
    emulator
        .pipectl(&["drift", "-f", path_str(&missing)])
        .expect_code(1)
        .expect_stderr("Lambda function ghost-fn does not exist");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_markdown_output() {
    let (emulator, stack) = app();
    let file = path_str(&stack);
    let json = emulator.pipectl(&[
        "plan",
        "-f",
        file,
        "--output",
        "json",
        "--detailed-exitcode",
    ]);
    json.expect_code(2);
    assert_matches_schema(&json.stdout);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(document["kind"], "plan");
    assert_eq!(document["summary"]["change"], 1);
    assert_eq!(document["changes"][0]["id"], "lambda.function.app-fn");
    // Typed for policy tools, with the text the plan shows beside them.
    let diff = &document["changes"][0]["diffs"][0];
    assert_eq!(diff["field"], "timeout_seconds");
    assert_eq!(diff["before"], 3);
    assert_eq!(diff["after"], 30);
    assert_eq!(diff["before_text"], "3");
    assert_eq!(diff["after_text"], "30");
    let step = &document["changes"][0]["steps"][0];
    assert_eq!(
        step["api_calls"],
        serde_json::json!(["lambda:UpdateFunctionConfiguration", "lambda:GetFunction"])
    );

    let markdown = emulator.pipectl(&["plan", "-f", file, "--output", "markdown"]);
    markdown.expect_code(0);
    let text = &markdown.stdout;
    let summary = text.find("**Plan: 0 to create, 1 to change, 0 to destroy.**");
    let details = text.find("<details>");
    assert!(
        summary.is_some() && details.is_some() && summary < details,
        "summary first, then collapsible details:\n{text}"
    );
    assert!(text.contains("- timeout_seconds: 3\n+ timeout_seconds: 30"));

    let drift = emulator.pipectl(&["drift", "-f", file, "--output", "json"]);
    drift.expect_code(2);
    assert_matches_schema(&drift.stdout);
    let document: serde_json::Value = serde_json::from_str(&drift.stdout).expect("JSON");
    assert_eq!(document["kind"], "drift");
    assert_eq!(document["drifted"], 1);
    assert_eq!(document["stacks"][0]["status"], "drifted");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_of_a_directory_of_stacks_reports_the_drifted_one() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["a-fn", "b-fn", "c-fn"]);
    let dir = emulator.dir().join("stacks");
    std::fs::create_dir(&dir).expect("stacks dir");
    for name in ["a", "b", "c"] {
        std::fs::write(dir.join(format!("{name}.toml")), function_stack(name, 30))
            .expect("write stack");
    }
    for name in ["a", "b", "c"] {
        emulator
            .apply(&dir.join(format!("{name}.toml")))
            .expect_code(0);
    }
    let quiet = emulator.pipectl(&["drift", "--quiet", path_str(&dir)]);
    quiet.expect_code(0);
    assert_eq!(quiet.stdout, "");

    // b drifts.
    emulator
        .lambda()
        .await
        .update_function_configuration()
        .function_name("b-fn")
        .timeout(99)
        .send()
        .await
        .expect("out-of-band update");
    let report = emulator.pipectl(&["drift", path_str(&dir)]);
    report
        .expect_code(2)
        .expect_stdout("No drift. Live state matches")
        .expect_stdout("Drift detected in stack \"b\"")
        .expect_stdout("timeout_seconds: live 99, spec 30")
        .expect_stdout("3 stacks checked: 2 in sync, 1 drifted, 0 could not be checked.");
    let quiet = emulator.pipectl(&["drift", "--quiet", path_str(&dir)]);
    quiet.expect_code(2);
    assert!(!quiet.stdout.contains("No drift"), "{}", quiet.stdout);
    assert!(quiet.stdout.contains("Drift detected in stack \"b\""));

    // One broken stack among them: the combined exit code is 1, the others are still checked.
    std::fs::write(
        dir.join("d.toml"),
        "[stack]\nname = \"d\"\n\n[[lambda.functions]]\nname = \"d-fn\"\ntimeout_seconds = 901\n",
    )
    .expect("write stack");
    let report = emulator.pipectl(&["drift", "--output", "json", path_str(&dir)]);
    report.expect_code(1).expect_stderr("d.toml:6:");
    assert_matches_schema(&report.stdout);
    let document: serde_json::Value = serde_json::from_str(&report.stdout).expect("JSON");
    assert_eq!(document["drifted"], 1);
    assert_eq!(document["errors"], 1);
    assert_eq!(document["stacks"].as_array().map(|s| s.len()), Some(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn ignore_rules_leave_fields_alone_in_plan_apply_and_drift() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack(
        "app.toml",
        &format!(
            "{}\n[[ignore]]\nresource = \"lambda.function.*\"\nfields = [\"timeout_seconds\"]\nreason = \"the app team tunes it\"\n",
            function_stack("app", 30)
        ),
    );
    let file = path_str(&stack);
    let plan = emulator.pipectl(&["plan", "-f", file, "-v"]);
    plan.expect_code(0)
        .expect_stdout("ignored: lambda.function.app-fn timeout_seconds (the app team tunes it)")
        .expect_stdout("~ memory_mib: 128 -> 256");
    assert!(
        !plan.stdout.contains("timeout_seconds: 3 -> 30"),
        "{}",
        plan.stdout
    );
    emulator.apply(&stack).expect_code(0);
    assert_eq!(timeout_of(&emulator, "app-fn").await, Some(3));

    // The app team changes the timeout: not drift. A memory change still is.
    emulator
        .lambda()
        .await
        .update_function_configuration()
        .function_name("app-fn")
        .timeout(77)
        .send()
        .await
        .expect("out-of-band update");
    emulator.pipectl(&["drift", "-f", file]).expect_code(0);
    emulator
        .lambda()
        .await
        .update_function_configuration()
        .function_name("app-fn")
        .memory_size(1024)
        .send()
        .await
        .expect("out-of-band update");
    let drift = emulator.pipectl(&["drift", "-f", file]);
    drift
        .expect_code(2)
        .expect_stdout("memory_mib: live 1024, spec 256");
    assert!(!drift.stdout.contains("timeout"), "{}", drift.stdout);

    // An unknown field in a rule is a located error, before anything is read.
    let bad = emulator.stack(
        "bad.toml",
        &format!(
            "{}\n[[ignore]]\nresource = \"lambda.function.app-fn\"\nfields = [\"timeout\"]\n",
            function_stack("app", 30)
        ),
    );
    emulator
        .pipectl(&["plan", "-f", path_str(&bad)])
        .expect_code(1)
        .expect_stderr("bad.toml:11:11")
        .expect_stderr("use one of: timeout_seconds, memory_mib, reserved_concurrency");
}

#[tokio::test(flavor = "multi_thread")]
async fn environments_extend_a_base_and_errors_point_at_the_file_that_set_the_value() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer", "scorer"]);
    emulator.stack(
        "base.toml",
        "[stack]\nname = \"logs\"\n\n[[lambda.functions]]\nname = \"consumer\"\ntimeout_seconds = 30\nmemory_mib = 512\n\n[[lambda.functions]]\nname = \"scorer\"\ntimeout_seconds = 60\n",
    );
    let prod = emulator.stack(
        "prod.toml",
        "extends = \"base.toml\"\n\n[stack]\nname = \"logs-prod\"\n\n[[lambda.functions]]\nname = \"consumer\"\nmemory_mib = 2048\n",
    );
    emulator
        .apply(&prod)
        .expect_code(0)
        .expect_stdout("stack \"logs-prod\"");
    let lambda = emulator.lambda().await;
    let consumer = lambda
        .get_function_configuration()
        .function_name("consumer")
        .send()
        .await
        .expect("consumer");
    // The base's timeout, prod's memory; the scorer entry comes from the base alone.
    assert_eq!(
        (consumer.timeout(), consumer.memory_size()),
        (Some(30), Some(2048))
    );
    assert_eq!(timeout_of(&emulator, "scorer").await, Some(60));

    // A bad value in the child points at the child's line.
    std::fs::write(
        &prod,
        "extends = \"base.toml\"\n\n[stack]\nname = \"logs-prod\"\n\n[[lambda.functions]]\nname = \"consumer\"\nmemory_mib = 20480\n",
    )
    .expect("edit prod");
    emulator
        .pipectl(&["plan", "-f", path_str(&prod)])
        .expect_code(1)
        .expect_stderr("prod.toml:8:14")
        .expect_stderr("memory_mib = 20480");
    // A bad value the child inherits points at the base's line.
    emulator.stack(
        "staging.toml",
        "extends = \"base.toml\"\n\n[[lambda.functions]]\nname = \"scorer\"\nmemory_mib = 64\n",
    );
    std::fs::write(
        emulator.dir().join("base.toml"),
        "[stack]\nname = \"logs\"\n\n[[lambda.functions]]\nname = \"consumer\"\ntimeout_seconds = 30\n\n[[lambda.functions]]\nname = \"scorer\"\ntimeout_seconds = 6000\n",
    )
    .expect("edit base");
    let run = emulator.pipectl(&[
        "validate",
        "-f",
        path_str(&emulator.dir().join("staging.toml")),
    ]);
    run.expect_code(1)
        .expect_stderr("base.toml:10:19")
        .expect_stderr("staging.toml:5:14");
    // A directory drift checks the environments, not the base they share.
    let report = emulator.pipectl(&["drift", path_str(emulator.dir())]);
    assert!(
        !report.stderr.contains("base.toml is invalid"),
        "{}",
        report.all()
    );
}

#[test]
fn example_stacks_are_valid() {
    let stacks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
    for file in [
        "kafka-logs.toml",
        "environments/dev.toml",
        "environments/prod.toml",
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pipectl"))
            .args(["validate", "-f", path_str(&stacks.join(file))])
            .output()
            .expect("run pipectl validate");
        assert!(
            output.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A mistyped flag is an error (1), never "changes" or "drifted" (2), for every subcommand;
/// help and version still exit 0.
#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let pipectl = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pipectl"))
            .args(args)
            .output()
            .expect("run pipectl")
    };
    for subcommand in ["validate", "plan", "apply", "drift", "unlock"] {
        let output = pipectl(&[subcommand, "--quite", "stacks/"]);
        assert_eq!(output.status.code(), Some(1), "{subcommand} --quite");
        assert!(String::from_utf8_lossy(&output.stderr).contains("--quite"));
        assert_eq!(
            pipectl(&[subcommand, "--help"]).status.code(),
            Some(0),
            "{subcommand} --help"
        );
    }
    assert_eq!(pipectl(&["no-such-command"]).status.code(), Some(1));
    assert_eq!(pipectl(&[]).status.code(), Some(1), "no subcommand");
    assert_eq!(pipectl(&["--help"]).status.code(), Some(0));
    assert_eq!(pipectl(&["--version"]).status.code(), Some(0));
}

/// Without a terminal a long wait prints a heartbeat every 30 s (what it waits for, its state,
/// the time so far): CI systems kill jobs whose log stays silent.
#[tokio::test(flavor = "multi_thread")]
async fn long_waits_print_a_heartbeat_in_ci_logs() {
    let emulator = common::Emulator::start(r#"{"lambda_update_seconds": 38}"#);
    emulator.seed_functions(&["consumer"]);
    let stack = emulator.stack(
        "f.toml",
        "[stack]\nname = \"f\"\n\n[[lambda.functions]]\nname = \"consumer\"\ntimeout_seconds = 30\n",
    );
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stderr("lambda.function.consumer: still waiting: ")
        .expect_stderr("s into this change)");
}
