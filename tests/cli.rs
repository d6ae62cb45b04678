//! The command line as a CI job and an on-call engineer use it (issue 10): how stack files are
//! given, how their errors read, and the conventions of Terraform and kubectl that pipectl
//! follows. The pipectl binary against the local emulator.

mod common;

use common::{path_str, Emulator};

const VALID: &str =
    "[stack]\nname = \"app\"\n\n[[lambda.functions]]\nname = \"app-fn\"\ntimeout_seconds = 30\nmemory_mib = 256\n";

/// Four mistakes, of the parser, of a value and of validation: all reported in one run, each
/// with its location and its own help, and nothing read from AWS.
const FOUR_MISTAKES: &str = r#"[stack]
name = "app"
regoin = "us-east-1"

[[lambda.functions]]
name = "app-fn"
timeout_seconds = 901
reserved_concurrency = "lots"

[kafka.brokers]
statefulset = "kafka"
minReplicas = 3
max_replicas = 10
target_cpu_utilization = 70
replication_factor = 3
"#;

#[test]
fn every_error_of_a_stack_file_is_reported_at_once_with_the_key_it_meant() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("mistakes.toml", FOUR_MISTAKES);
    let file = path_str(&stack);
    let run = emulator.pipectl(&["validate", file]);
    run.expect_code(1)
        .expect_stderr(&format!("{file}:3:1"))
        .expect_stderr("did you mean `region`?")
        .expect_stderr(&format!("{file}:7:19"))
        .expect_stderr("between 1 and 900")
        .expect_stderr(&format!("{file}:8:24"))
        .expect_stderr("\"none\" to remove the reservation")
        .expect_stderr(&format!("{file}:12:1"))
        .expect_stderr("did you mean `min_replicas`? `minReplicas` is the name in Kubernetes")
        .expect_stderr("4 errors");
    assert!(
        !run.stderr.contains("TOML syntax"),
        "a value error got the syntax hint\n{}",
        run.all()
    );
    assert!(
        !run.stderr.contains("missing field"),
        "a misspelt key was also reported missing\n{}",
        run.all()
    );
    // The gutter is aligned: every `|` of one snippet sits in the same column.
    let snippet: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.contains(":12:1"))
        .take(4)
        .collect();
    let columns: Vec<usize> = snippet.iter().skip(1).filter_map(|l| l.find('|')).collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{snippet:#?}");
    assert!(
        emulator.operations().is_empty(),
        "{:?}",
        emulator.operations()
    );
}

#[test]
fn validate_json_gives_file_line_column_and_message_for_ci_annotations() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("mistakes.toml", FOUR_MISTAKES);
    let run = emulator.pipectl(&["validate", "--output", "json", path_str(&stack)]);
    run.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(report["valid"], false);
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 4, "{report:#}");
    assert_eq!(errors[1]["line"], 7);
    assert_eq!(errors[1]["column"], 19);
    assert_eq!(errors[1]["end_column"], 22);
    assert_eq!(errors[1]["field"], "lambda.functions[0].timeout_seconds");
    assert_eq!(errors[1]["file"], path_str(&stack));

    let valid = emulator.stack("app.toml", VALID);
    let run = emulator.pipectl(&["validate", "--output", "json", path_str(&valid)]);
    run.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(report["valid"], true);
    assert_eq!(report["stack"], "app");
}

#[test]
fn plan_takes_the_stack_file_as_an_argument_or_on_stdin() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", VALID);
    let file = path_str(&stack);
    let by_flag = emulator.pipectl(&["plan", "-f", file, "--detailed-exitcode"]);
    by_flag.expect_code(2).expect_stdout("app-fn");
    let positional = emulator.pipectl(&["plan", file, "--detailed-exitcode"]);
    positional.expect_code(2);
    assert_eq!(positional.stdout, by_flag.stdout);
    let piped = emulator.pipectl_stdin(&["plan", "-f", "-", "--detailed-exitcode"], VALID);
    piped.expect_code(2).expect_stdout("app-fn");
    emulator
        .pipectl_stdin(&["validate", "-"], "[stack]\nnmae = \"x\"\n")
        .expect_code(1)
        .expect_stderr("<stdin>:2:1");
    emulator
        .pipectl(&["plan", file, "-f", file])
        .expect_code(1)
        .expect_stderr("cannot be used with");
}
