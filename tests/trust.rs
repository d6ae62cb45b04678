//! Stack files and plan files come from other people (issue 9): nothing in them may make
//! pipectl read outside the stack or print a secret. These tests run the binary the way a CI
//! job runs it, with distinctive credentials in its environment, and look for them everywhere.

mod common;

use common::{brokers_stack, path_str, Emulator, Run};

const SECRET_KEY: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYDISTINCTIVESECRET";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEDISTINCTIVESESSIONTOKENdontleakme0123456789";

fn credentials() -> [(&'static str, &'static str); 2] {
    [
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
    ]
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [SECRET_KEY, SESSION_TOKEN, "k8s-aws-v1."] {
        assert!(!text.contains(secret), "{what} shows {secret:?}:\n{text}");
    }
    // Not even a recognisable piece of them.
    assert!(
        !text.contains("DISTINCTIVE"),
        "{what} shows part of a secret:\n{text}"
    );
}

/// plan, apply and drift at -vvv, every output format and a saved plan, with the AWS
/// credentials and an EKS token pipectl signs in play: no secret appears anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn no_output_ever_shows_a_credential_or_an_eks_token() {
    let emulator = Emulator::start_with_eks_token_cluster();
    let stack = emulator.stack(
        "stack.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 11", "")
            .replace("kube_context = \"fake\"", "cluster = \"kafka-logs\""),
    );
    let file = path_str(&stack);
    let plan_file = emulator.dir().join("plan.json");
    let runs: Vec<(String, Run)> = [
        vec!["plan", "-f", file, "-vvv"],
        vec!["plan", "-f", file, "-vvv", "--output", "json"],
        vec!["plan", "-f", file, "-vvv", "--output", "markdown"],
        vec!["plan", "-f", file, "-vvv", "--out", path_str(&plan_file)],
        vec!["apply", "-f", file, "-vvv", "--auto-approve"],
        vec!["drift", "-f", file, "-vvv"],
        vec!["drift", "-f", file, "-vvv", "--output", "json"],
    ]
    .into_iter()
    .map(|args| (args.join(" "), emulator.pipectl_with(&args, &credentials())))
    .collect();
    for (command, run) in &runs {
        assert_no_secret(command, &run.all());
    }
    runs[4].1.expect_code(0);
    let saved = std::fs::read_to_string(&plan_file).expect("the saved plan");
    assert_no_secret("the saved plan", &saved);
}

/// `extends` in a pull request's stack file cannot read the runner's files: not
/// /proc/self/environ (which holds the credentials), not a file outside the stack's tree,
/// not a symlink pointing out of it, not a file that is not .toml; and no error quotes them.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_extends_reads_nothing_outside_the_stack() {
    let emulator = Emulator::start("{}");
    let outside = tempfile::tempdir().expect("temp dir");
    let credentials_file = outside.path().join("credentials.toml");
    std::fs::write(
        &credentials_file,
        format!("[default]\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .expect("write");
    let inside = emulator.dir().join("stacks");
    std::fs::create_dir_all(&inside).expect("mkdir");
    let not_toml = inside.join("notes.txt");
    std::fs::write(&not_toml, format!("aws_session_token = {SESSION_TOKEN}\n")).expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&credentials_file, inside.join("linked.toml")).expect("symlink");
    let targets = [
        "/proc/self/environ".to_string(),
        path_str(&credentials_file).to_string(),
        "linked.toml".to_string(),
        "notes.txt".to_string(),
        "/dev/zero".to_string(),
    ];
    for target in targets {
        let stack = inside.join("pr.toml");
        std::fs::write(
            &stack,
            format!("extends = \"{target}\"\n\n[stack]\nname = \"pr\"\n"),
        )
        .expect("write");
        for command in ["validate", "plan"] {
            let run =
                emulator.pipectl_with(&[command, "-f", path_str(&stack), "-vvv"], &credentials());
            run.expect_code(1).expect_stderr("pr.toml");
            assert_no_secret(&format!("{command} with extends = {target}"), &run.all());
        }
    }
    // The same base is fine when the user allows its directory.
    std::fs::write(&credentials_file, "[stack]\nname = \"base\"\n").expect("write");
    let stack = inside.join("pr.toml");
    std::fs::write(
        &stack,
        format!(
            "extends = \"{}\"\n\n[stack]\nname = \"pr\"\n",
            path_str(&credentials_file)
        ),
    )
    .expect("write");
    emulator
        .pipectl(&[
            "validate",
            "-f",
            path_str(&stack),
            "--allow-extends-from",
            path_str(outside.path()),
        ])
        .expect_code(0);
}

/// `-f` and a plan file: only bounded regular files. /dev/zero used to take 8.5 GB of memory;
/// a FIFO used to hang forever.
#[tokio::test(flavor = "multi_thread")]
async fn devices_fifos_and_huge_files_are_refused_at_once() {
    let emulator = Emulator::start("{}");
    let fifo = emulator.dir().join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let huge = emulator.dir().join("huge.toml");
    std::fs::File::create(&huge)
        .expect("create")
        .set_len(11 * 1024 * 1024)
        .expect("grow");
    let started = std::time::Instant::now();
    for (args, message) in [
        (vec!["validate", "-f", "/dev/zero"], "does not end in .toml"),
        (
            vec!["validate", "-f", path_str(&fifo)],
            "is not a regular file",
        ),
        (
            vec!["validate", "-f", path_str(&huge)],
            "larger than 10 MiB",
        ),
        (vec!["apply", "/dev/zero"], "is not a regular file"),
        (vec!["apply", path_str(&fifo)], "is not a regular file"),
    ] {
        emulator
            .pipectl(&args)
            .expect_code(1)
            .expect_stderr(message);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(emulator.mutating_calls().is_empty());
}

/// Sets every `key` found anywhere inside `value` to `new`.
fn set_everywhere(value: &mut serde_json::Value, key: &str, new: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == key {
                    *v = new.clone();
                } else {
                    set_everywhere(v, key, new);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                set_everywhere(item, key, new);
            }
        }
        _ => {}
    }
}

/// A saved plan is data to check, not a script: every kind of edit of the file is refused as
/// stale, naming the first difference, with no call made; the untouched file applies.
#[tokio::test(flavor = "multi_thread")]
async fn an_edited_saved_plan_is_refused_with_no_call() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let with_index = "[stack]\nname = \"t\"\n\n[[dynamodb.tables]]\nname = \"Logs\"\nbilling_mode = \"PAY_PER_REQUEST\"\npartition_key = { name = \"logId\", type = \"S\" }\n";
    let index = "\n[[dynamodb.tables.global_secondary_indexes]]\nname = \"ByScore\"\npartition_key = { name = \"score\", type = \"N\" }\n";
    emulator
        .apply(&emulator.stack("before.toml", &format!("{with_index}{index}")))
        .expect_code(0);
    let stack = emulator.stack(
        "after.toml",
        &format!("{with_index}\n[[lambda.functions]]\nname = \"consumer\"\nmemory_mib = 2048\n"),
    );
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
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).expect("plan")).expect("JSON");
    let position = |id: &str| {
        saved["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .position(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} in the plan"))
    };
    let (index_at, function_at) = (
        position("dynamodb.index.Logs/ByScore"),
        position("lambda.function.consumer"),
    );
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit, &str)> = vec![
        (
            "a flipped destructive flag",
            Box::new(move |p| p["changes"][index_at]["destructive"] = false.into()),
            "its destructive is false, the plan now has true",
        ),
        (
            "an edited value behind an unchanged diff",
            Box::new(move |p| {
                set_everywhere(
                    &mut p["changes"][function_at]["steps"],
                    "memory_mib",
                    &10240.into(),
                )
            }),
            "lambda.function.consumer: step 1",
        ),
        (
            "an added step",
            Box::new(move |p| {
                let step = p["changes"][index_at]["steps"][0].clone();
                p["changes"][function_at]["steps"]
                    .as_array_mut()
                    .expect("steps")
                    .push(step);
            }),
            "lambda.function.consumer: it has 2 steps, the plan now has 1",
        ),
        (
            "a step moved to another resource",
            Box::new(move |p| {
                let step = p["changes"][index_at]["steps"][0].take();
                p["changes"][index_at]["steps"] = serde_json::json!([]);
                p["changes"][function_at]["steps"] = serde_json::json!([step]);
            }),
            "steps, the plan now has",
        ),
        (
            "a resource outside the stack",
            Box::new(move |p| {
                let mut other = p["changes"][function_at].clone();
                other["id"] = "lambda.function.other-team-fn".into();
                set_everywhere(&mut other, "function", &"other-team-fn".into());
                p["changes"].as_array_mut().expect("changes").push(other);
            }),
            "lambda.function.other-team-fn: not part of the plan of the stack file now",
        ),
    ];
    for (what, edit, difference) in edits {
        let mut edited = saved.clone();
        edit(&mut edited);
        let file = emulator.dir().join("edited.json");
        std::fs::write(&file, edited.to_string()).expect("write");
        emulator.clear_log();
        let run = emulator.pipectl(&["apply", path_str(&file), "--allow-destroy"]);
        run.expect_code(1)
            .expect_stderr("plan is stale")
            .expect_stderr(difference);
        assert!(
            emulator.mutating_calls().is_empty(),
            "{what}: {:?}",
            emulator.mutating_calls()
        );
    }
    // A policy tool reads the typed values and api_calls: an edit of only those is refused too.
    for (what, pointer, value, refusal) in [
        (
            "a typed after",
            "/diffs/0/after",
            serde_json::json!(128),
            "was edited",
        ),
        (
            "an api_calls list",
            "/steps/0/api_calls",
            serde_json::json!(["lambda:GetFunction"]),
            "plan is stale",
        ),
    ] {
        let mut edited = saved.clone();
        *edited["changes"][function_at]
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer} in the plan")) = value;
        let file = emulator.dir().join("edited.json");
        std::fs::write(&file, edited.to_string()).expect("write");
        emulator.clear_log();
        emulator
            .pipectl(&["apply", path_str(&file), "--allow-destroy"])
            .expect_code(1)
            .expect_stderr(refusal);
        assert!(emulator.mutating_calls().is_empty(), "{what}");
    }
    // The file as pipectl wrote it still applies (with --allow-destroy for the index).
    emulator
        .pipectl(&["apply", path_str(&plan_file), "--allow-destroy"])
        .expect_code(0);
    let mut operations = emulator.operations();
    operations.sort();
    // The index deletion also takes the index out of the table's pipectl:indexes tag.
    assert_eq!(
        operations,
        vec!["TagResource", "UpdateFunctionConfiguration", "UpdateTable"]
    );
}

/// A region becomes part of AWS endpoint host names: whatever it came from (the file,
/// --region, AWS_REGION), only a region code is accepted, before any call.
#[tokio::test(flavor = "multi_thread")]
async fn a_region_that_is_not_a_region_code_is_refused() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("s.toml", "[stack]\nname = \"s\"\n");
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(&stack),
            "--region",
            "../../evil.example.com/",
        ])
        .expect_code(1)
        .expect_stderr("\"../../evil.example.com/\" is not an AWS region name");
    emulator
        .pipectl_with(
            &["plan", "-f", path_str(&stack)],
            &[("AWS_REGION", "us-east-1.evil.example.com")],
        )
        .expect_code(1)
        .expect_stderr("is not an AWS region name");
    emulator
        .pipectl(&["plan", "-f", path_str(&stack), "--region", "eu-central-1"])
        .expect_code(0);
}
