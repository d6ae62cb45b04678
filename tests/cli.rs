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
    // Files and directories, as drift and validate take them: one stack named twice is one.
    let twice = emulator.pipectl(&["plan", file, "-f", file, "--detailed-exitcode"]);
    twice.expect_code(2);
    assert_eq!(twice.stdout, by_flag.stdout);
}

#[test]
fn every_run_names_the_account_and_refuses_another_one() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", VALID);
    let file = path_str(&stack);
    emulator.pipectl(&["plan", file]).expect_stderr(
        "Stack app: AWS account 123456789012 as arn:aws:sts::123456789012:user/moto, region us-east-1",
    );
    emulator.clear_log();
    emulator
        .pipectl(&["--expect-account", "210987654321", "apply", "-f", file, "--auto-approve"])
        .expect_code(1)
        .expect_stderr("--expect-account names account 210987654321, but the AWS credentials are of account 123456789012");
    let pinned = emulator.stack(
        "pinned.toml",
        &VALID.replace(
            "name = \"app\"",
            "name = \"app\"\naccount_id = \"210987654321\"",
        ),
    );
    emulator
        .pipectl(&["drift", path_str(&pinned)])
        .expect_code(1)
        .expect_stderr("account_id of")
        .expect_stderr("names account 210987654321");
    assert!(
        emulator.operations().is_empty(),
        "changed another account: {:?}",
        emulator.operations()
    );
    // The right account goes on.
    emulator
        .pipectl(&["--expect-account", "123456789012", "plan", file])
        .expect_code(0);
    // drift --quiet stays silent when in sync: no identity line either.
    let synced = emulator.stack("synced.toml", "[stack]\nname = \"synced\"\n");
    let quiet = emulator.pipectl(&["drift", "--quiet", path_str(&synced)]);
    quiet.expect_code(0);
    assert_eq!(quiet.stdout, "", "{}", quiet.all());
    assert_eq!(quiet.stderr, "", "{}", quiet.all());
}

#[test]
fn a_profile_that_does_not_exist_is_an_error_not_other_credentials() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("app.toml", VALID);
    let config = emulator.stack(
        "aws-config",
        "[profile deploy]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    );
    let env = [
        ("AWS_CONFIG_FILE", path_str(&config)),
        ("AWS_SHARED_CREDENTIALS_FILE", path_str(&config)),
    ];
    // The environment holds working credentials: the AWS CLI would still refuse the profile.
    emulator
        .pipectl_with(&["--profile", "nosuch", "plan", path_str(&stack)], &env)
        .expect_code(1)
        .expect_stderr("the AWS profile \"nosuch\" could not be found")
        .expect_stderr("profiles there: deploy");
    let via_env = [env[0], env[1], ("PIPECTL_PROFILE", "nosuch")];
    emulator
        .pipectl_with(&["plan", path_str(&stack)], &via_env)
        .expect_code(1)
        .expect_stderr("could not be found");
    assert!(
        emulator.operations().is_empty(),
        "{:?}",
        emulator.operations()
    );
}

#[test]
fn missing_credentials_say_what_to_do_without_a_debug_dump() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("app.toml", VALID);
    let empty = emulator.stack("empty-aws-config", "");
    let run = emulator.pipectl_with(
        &["plan", path_str(&stack)],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_CONFIG_FILE", path_str(&empty)),
            ("AWS_SHARED_CREDENTIALS_FILE", path_str(&empty)),
        ],
    );
    run.expect_code(1)
        .expect_stderr("no usable AWS credentials")
        .expect_stderr("aws sso login")
        .expect_stderr("AWS_PROFILE");
    for dump in [
        "DispatchFailure(",
        "ConnectorError {",
        "CredentialsNotLoaded(",
        "Attempted:",
    ] {
        assert!(!run.stderr.contains(dump), "{dump} in\n{}", run.all());
    }
    let verbose = emulator.pipectl_with(
        &["-v", "plan", path_str(&stack)],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_CONFIG_FILE", path_str(&empty)),
            ("AWS_SHARED_CREDENTIALS_FILE", path_str(&empty)),
        ],
    );
    verbose.expect_code(1).expect_stderr("Environment:");
}

/// Runs pipectl under a pseudo-terminal (util-linux `script`), as a person at a terminal does;
/// returns what the terminal showed.
fn on_terminal(emulator: &Emulator, args: &[&str], env: &[(&str, &str)]) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_pipectl"))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let command = emulator.command(&[], env);
    let output = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .envs(
            command
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .current_dir(emulator.dir())
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn in_pipe(emulator: &Emulator, args: &[&str], env: &[(&str, &str)]) -> common::Run {
    emulator
        .command(args, env)
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run pipectl")
        .into()
}

const ESCAPE: &str = "\u{1b}[";

#[test]
fn colours_follow_the_terminal_the_flag_no_color_and_clicolor_force() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", VALID);
    let plan = ["plan", path_str(&stack)];
    let terminal = on_terminal(&emulator, &plan, &[]);
    assert!(terminal.contains("app-fn"), "{terminal}");
    assert!(
        terminal.contains(ESCAPE),
        "no colour on a terminal:\n{terminal}"
    );
    let no_color = on_terminal(&emulator, &plan, &[("NO_COLOR", "1")]);
    assert!(
        no_color.contains("app-fn") && !no_color.contains(ESCAPE),
        "{no_color}"
    );
    let never = on_terminal(
        &emulator,
        &["--color", "never", "plan", path_str(&stack)],
        &[],
    );
    assert!(
        never.contains("app-fn") && !never.contains(ESCAPE),
        "{never}"
    );

    let piped = in_pipe(&emulator, &plan, &[]);
    assert!(piped.stdout.contains("app-fn") && !piped.stdout.contains(ESCAPE));
    let forced = in_pipe(&emulator, &plan, &[("CLICOLOR_FORCE", "1")]);
    assert!(forced.stdout.contains(ESCAPE), "{}", forced.all());
    let always = in_pipe(
        &emulator,
        &["--color", "always", "plan", path_str(&stack)],
        &[],
    );
    assert!(always.stdout.contains(ESCAPE), "{}", always.all());
}

#[test]
fn show_prints_a_saved_plan_in_every_format_without_calling_aws() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", VALID);
    let plan_file = emulator.dir().join("plan.json");
    let planned = emulator.pipectl(&["plan", path_str(&stack), "--out", path_str(&plan_file)]);
    planned.expect_code(0);
    // No AWS at all: show reads only the file.
    let offline = [("AWS_ENDPOINT_URL", "http://127.0.0.1:1")];
    let text = emulator.pipectl_with(&["show", path_str(&plan_file)], &offline);
    text.expect_code(0)
        .expect_stdout("Saved plan")
        .expect_stdout("of stack app")
        .expect_stdout("timeout_seconds: 3 -> 30");
    let json = emulator.pipectl_with(
        &["show", path_str(&plan_file), "--output", "json"],
        &offline,
    );
    json.expect_code(0);
    common::assert_matches_schema(&json.stdout);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).expect("plan")).expect("JSON");
    let shown: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(shown, saved);
    // The schema types each service's operations: an operation lambda has no call for fails.
    let mut bogus = saved.clone();
    bogus["changes"][0]["steps"][0]["operation"]["call"] = "drop_everything".into();
    let errors = common::schema_errors(&bogus.to_string()).expect("the schema refuses it");
    assert!(errors.contains("drop_everything"), "{errors}");
    emulator
        .pipectl_with(
            &["show", path_str(&plan_file), "--output", "markdown"],
            &offline,
        )
        .expect_code(0)
        .expect_stdout("<details>");
}

#[test]
fn version_completion_and_man_come_from_the_same_definitions() {
    let emulator = Emulator::start("{}");
    let text = emulator.pipectl(&["version"]);
    text.expect_code(0).expect_stdout(env!("CARGO_PKG_VERSION"));
    let json = emulator.pipectl(&["version", "--output", "json"]);
    json.expect_code(0);
    let version: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["format_version"], "2");
    assert!(
        version["target"].as_str().is_some_and(|t| t.contains('-')),
        "{version}"
    );
    let commit = version["commit"].as_str().expect("commit");
    assert!(commit == "unknown" || commit.len() == 12, "{commit}");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = emulator.pipectl(&["completion", shell]);
        script.expect_code(0);
        for word in ["drift", "detailed-exitcode", "expect-account"] {
            assert!(
                script.stdout.contains(word),
                "{shell} completion lacks {word}"
            );
        }
    }
    let bash = emulator.pipectl(&["completion", "bash"]);
    let checked = std::process::Command::new("bash")
        .args(["-n", "-c", &bash.stdout])
        .status()
        .expect("bash -n");
    assert!(checked.success(), "the bash completion is not valid bash");
    let man = emulator.pipectl(&["man"]);
    man.expect_code(0)
        .expect_stdout(".TH pipectl 1")
        .expect_stdout("drift");
    let dir = emulator.dir().join("man");
    emulator
        .pipectl(&["man", "--out-dir", path_str(&dir)])
        .expect_code(0);
    let plan_page = std::fs::read_to_string(dir.join("pipectl-plan.1")).expect("pipectl-plan.1");
    assert!(plan_page.contains("detailed\\-exitcode"), "{plan_page}");
    // What clap does not know, on every page: exit codes, environment, examples (issue 20).
    for page in [man.stdout.clone(), plan_page] {
        for section in [
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH EXAMPLES",
            "PIPECTL_EXPECT_ACCOUNT",
            "130",
        ] {
            assert!(page.contains(section), "the man page lacks {section}");
        }
    }
    let rendered = std::process::Command::new("man")
        .args(["-l", path_str(&dir.join("pipectl-drift.1"))])
        .env("MANPAGER", "cat")
        .output();
    if let Some(rendered) = rendered.ok().filter(|r| r.status.success()) {
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(
            text.contains("EXIT STATUS") && text.contains("EXAMPLES"),
            "{text}"
        );
    }

    // Completion offers the template names; help puts a command's own flags first.
    let bash = emulator.pipectl(&["completion", "bash"]);
    for template in ["seed-pipeline", "lambda-consumers", "ci-github"] {
        assert!(
            bash.stdout.contains(template),
            "completion lacks {template}"
        );
    }
    let help = emulator.pipectl(&["plan", "--help"]);
    help.expect_code(0);
    let own = help
        .stdout
        .find("--detailed-exitcode")
        .expect("plan's own flag");
    let global = help
        .stdout
        .find("Global options:")
        .expect("a Global options heading");
    assert!(own < global, "{}", help.stdout);
    assert!(
        help.stdout[global..].contains("--expect-account"),
        "{}",
        help.stdout
    );
}

const TWO_FUNCTIONS: &str = "[stack]\nname = \"app\"\n\n[[lambda.functions]]\nname = \"app-fn\"\ntimeout_seconds = 30\n\n[[lambda.functions]]\nname = \"other-fn\"\ntimeout_seconds = 40\n";

#[test]
fn target_acts_on_part_of_a_stack_with_a_warning_and_saved_plans_keep_it() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn", "other-fn"]);
    let stack = emulator.stack("app.toml", TWO_FUNCTIONS);
    let file = path_str(&stack);
    let plan = emulator.pipectl(&[
        "plan",
        file,
        "--target",
        "lambda.*.app-*",
        "--output",
        "json",
    ]);
    plan.expect_code(0)
        .expect_stderr("warning: resource targeting is in effect");
    let document: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    let ids: Vec<&str> = document["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["lambda.function.app-fn"]);
    assert!(document["notes"]
        .to_string()
        .contains("targeting is in effect"));

    emulator
        .pipectl(&["plan", file, "--target", "lambda.function.app-fm"])
        .expect_code(1)
        .expect_stderr("--target \"lambda.function.app-fm\" selects no resource")
        .expect_stderr("lambda.function.other-fn");

    let plan_file = emulator.dir().join("plan.json");
    emulator
        .pipectl(&[
            "plan",
            file,
            "--target",
            "lambda.function.app-fn",
            "--out",
            path_str(&plan_file),
        ])
        .expect_code(0);
    emulator
        .pipectl(&[
            "apply",
            path_str(&plan_file),
            "--target",
            "lambda.function.other-fn",
        ])
        .expect_code(1)
        .expect_stderr("was planned with --target");
    emulator.clear_log();
    emulator
        .pipectl(&["apply", path_str(&plan_file)])
        .expect_code(0);
    assert_eq!(
        emulator.resources_of("UpdateFunctionConfiguration"),
        vec!["app-fn".to_string()]
    );
    // The rest of the stack is still to do, and a full drift says so.
    emulator
        .pipectl(&["drift", file, "--parallelism", "1"])
        .expect_code(2)
        .expect_stdout("other-fn");
}

#[test]
fn drift_reads_as_drift_and_markdown_carries_a_sticky_marker() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", VALID);
    let file = path_str(&stack);
    let drift = emulator.pipectl(&["drift", file]);
    drift
        .expect_code(2)
        .expect_stdout("1 resource differs from")
        .expect_stdout("lambda.function.app-fn changed outside pipectl")
        .expect_stdout("timeout_seconds: live 3, spec 30")
        .expect_stdout("memory_mib: live 128, spec 256");
    assert!(
        !drift.stdout.contains(" -> "),
        "plan wording in drift:\n{}",
        drift.stdout
    );
    let markdown = emulator.pipectl(&["drift", file, "--output", "markdown"]);
    // Values are Markdown text there: `_` is escaped (GitHub shows timeout_seconds).
    markdown
        .expect_code(2)
        .expect_stdout("timeout\\_seconds: live 3, spec 30");
    assert!(
        markdown.stdout.starts_with("<!-- pipectl-drift -->\n"),
        "{}",
        markdown.stdout
    );
    let plan = emulator.pipectl(&["plan", file, "--output", "markdown"]);
    assert!(
        plan.stdout.starts_with("<!-- pipectl-plan: app -->\n"),
        "{}",
        plan.stdout
    );
}

#[test]
fn on_an_80_column_terminal_a_long_resource_id_leaves_room_for_the_wait() {
    let emulator = Emulator::start(r#"{"lambda_update_seconds": 3}"#);
    let function = "kafka-log-consumer-for-the-anomaly-scoring-pipeline";
    emulator.seed_functions(&[function]);
    let stack = emulator.stack(
        "long.toml",
        &format!("[stack]\nname = \"long\"\n\n[[lambda.functions]]\nname = \"{function}\"\ntimeout_seconds = 30\n"),
    );
    let apply = format!(
        "stty cols 80 rows 24; {} apply -f {} --auto-approve",
        env!("CARGO_BIN_EXE_pipectl"),
        path_str(&stack)
    );
    let command = emulator.command(&[], &[]);
    let output = std::process::Command::new("script")
        .args(["-qec", &apply, "/dev/null"])
        .envs(
            command
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .current_dir(emulator.dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("Apply complete"), "{shown}");
    // The wait's state is drawn on its own line, whole. Under the old one-line template the
    // 68-character id left the message about ten columns, and this text never appeared.
    assert!(
        shown.contains("waiting: LastUpdateStatus InProgress ("),
        "the wait's state was cut:\n{shown}"
    );
}
