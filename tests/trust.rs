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
    // PIPECTL_LOG replaces the levels -v chooses: trace everywhere, SigV4 signing included
    // (its trace of the EKS token's presigned URL quoted the session token).
    for filter in ["trace", "aws_sigv4=trace,trace"] {
        let mut env = credentials().to_vec();
        env.push(("PIPECTL_LOG", filter));
        let run = emulator.pipectl_with(&["drift", "-f", file], &env);
        run.expect_code(0);
        assert!(
            run.stderr.contains("TRACE"),
            "PIPECTL_LOG={filter} logged nothing"
        );
        assert_no_secret(&format!("PIPECTL_LOG={filter} drift"), &run.all());
    }
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
        (
            vec!["validate", "-f", "/dev/zero"],
            "outside the working tree",
        ),
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
            "lambda.function.consumer: it has 3 steps, the plan now has 2",
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
    // The index deletion also takes the index out of the table's pipectl:indexes tag, and the
    // function changed for the first time is tagged with the stack's name (adopted).
    assert_eq!(
        operations,
        vec![
            "TagResource",
            "TagResource",
            "UpdateFunctionConfiguration",
            "UpdateTable"
        ]
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

/// A stack whose Kafka admin listener (here a socket that accepts and says nothing) never
/// answers: a topic stack of TLS and no login.
fn silent_kafka_stack(
    emulator: &Emulator,
    name: &str,
) -> (std::net::TcpListener, std::path::PathBuf) {
    // Bound and listening, never accepting: the kernel completes the TCP handshake, then silence.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = silent.local_addr().expect("address");
    let stack = emulator.stack(
        &format!("{name}.toml"),
        &format!("[stack]\nname = \"{name}\"\n\n[kafka.admin]\nbootstrap_servers = [\"{address}\"]\nsecurity_protocol = \"SSL\"\n\n[[kafka.topics]]\nname = \"logs\"\npartitions = 3\n"),
    );
    (silent, stack)
}

/// Issue 18, item 2: a peer that accepts TCP and stays silent no longer hangs the nightly drift
/// job: the stack runs out of its --timeout and is reported, and the other stack still is.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_peer_cannot_hang_drift() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["in-sync-fn"]);
    let (_silent, hanging) = silent_kafka_stack(&emulator, "hanging");
    let fine = emulator.stack(
        "fine.toml",
        "[stack]\nname = \"fine\"\n\n[[lambda.functions]]\nname = \"in-sync-fn\"\n",
    );
    let started = std::time::Instant::now();
    let run = emulator.pipectl(&[
        "drift",
        "--quiet",
        "--timeout",
        "3",
        path_str(&hanging),
        path_str(&fine),
        "--output",
        "json",
    ]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "drift took {:?}",
        started.elapsed()
    );
    run.expect_code(1)
        .expect_stderr("reading live state did not finish within 3 s (--timeout)");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON report");
    let statuses: Vec<&str> = report["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .filter_map(|s| s["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["error", "in_sync"], "{report}");
}

/// Issue 18, item 2: SIGTERM (what CI sends before it kills a job) stops an apply that is still
/// reading live state from a silent peer, releases its lock and exits 130.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_an_apply_that_is_still_reading_and_releases_the_lock() {
    let emulator = Emulator::start("{}");
    let (_silent, hanging) = silent_kafka_stack(&emulator, "hanging");
    let child = emulator
        .command(&["apply", "-f", path_str(&hanging), "--auto-approve"], &[])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start pipectl");
    let started = std::time::Instant::now();
    while !emulator
        .lock_calls()
        .iter()
        .any(|c| c.operation == "PutItem")
    {
        assert!(
            started.elapsed().as_secs() < 20,
            "apply never took its lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The read of the silent peer is under way (its TLS handshake waits up to 30 s).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let run: Run = child.wait_with_output().expect("apply finished").into();
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(10),
        "apply kept reading for {:?}",
        sent.elapsed()
    );
    run.expect_code(130)
        .expect_stderr("Cancelled while reading live state: nothing was changed")
        .expect_stderr("the lock is released");
    assert!(emulator
        .lock_calls()
        .iter()
        .any(|c| c.operation == "DeleteItem"));
}

/// A peer that answers ApiVersions with a frame claiming 4 billion entries (issue 18, item 3).
fn hostile_kafka_peer() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut length = [0u8; 4];
            if stream.read_exact(&mut length).is_err() {
                continue;
            }
            let mut request = vec![0u8; u32::from_be_bytes(length) as usize];
            if stream.read_exact(&mut request).is_err() {
                continue;
            }
            // Length 13: correlation id 1, error 0, a compact array of 4,294,967,294 entries.
            let answer = [
                0u8, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0,
            ];
            let _ = stream.write_all(&answer);
        }
    });
    address
}

/// 17 bytes from a broker used to abort pipectl (exit 134) and lose every stack's result of a
/// drift run: now that stack fails with a decoding error and the others report.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_broker_answer_fails_its_stack_only() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["in-sync-fn"]);
    let hostile = emulator.stack(
        "hostile.toml",
        &format!("[stack]\nname = \"hostile\"\n\n[kafka.admin]\nbootstrap_servers = [\"{}\"]\nsecurity_protocol = \"PLAINTEXT\"\n\n[[kafka.topics]]\nname = \"logs\"\npartitions = 3\n", hostile_kafka_peer()),
    );
    let fine = emulator.stack(
        "fine.toml",
        "[stack]\nname = \"fine\"\n\n[[lambda.functions]]\nname = \"in-sync-fn\"\n",
    );
    let run = emulator.pipectl(&["drift", path_str(&hostile), path_str(&fine)]);
    run.expect_code(1)
        .expect_stderr("ApiVersions")
        .expect_stdout("No drift. Live state matches")
        .expect_stdout("1 in sync, 0 drifted, 1 could not be checked");
}

/// Issue 18, item 4: a stack file (or a drift directory's entry) that is a symlink to a file of
/// the runner is refused without quoting it; the directory's other stacks are still checked.
#[tokio::test(flavor = "multi_thread")]
async fn a_stack_file_symlinked_outside_the_working_tree_is_refused_unquoted() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["in-sync-fn"]);
    let outside = tempfile::tempdir().expect("temp dir");
    let secret = outside.path().join("config");
    std::fs::write(
        &secret,
        "[default]\naws_secret_access_key = PLAINDISTINCTIVE\nrole = admin\n",
    )
    .expect("write");
    let stacks = emulator.dir().join("stacks");
    std::fs::create_dir(&stacks).expect("mkdir");
    std::fs::write(
        stacks.join("fine.toml"),
        "[stack]\nname = \"fine\"\n\n[[lambda.functions]]\nname = \"in-sync-fn\"\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(&secret, stacks.join("evil.toml")).expect("symlink");
    let run = emulator.pipectl(&["validate", "-f", path_str(&stacks.join("evil.toml"))]);
    run.expect_code(1).expect_stderr("outside the working tree");
    assert!(!run.all().contains("PLAINDISTINCTIVE") && !run.all().contains("role"));
    let run = emulator.pipectl(&["drift", path_str(&stacks)]);
    run.expect_code(1)
        .expect_stderr("outside the working tree")
        .expect_stdout("1 in sync, 0 drifted, 1 could not be checked");
    assert!(!run.all().contains("PLAINDISTINCTIVE") && !run.all().contains("role = "));
    // A .toml file inside the tree that is no TOML at all is named, not quoted.
    std::fs::remove_file(stacks.join("evil.toml")).expect("remove");
    std::fs::write(
        stacks.join("passwd.toml"),
        "root:x:0:0:root:/root:/bin/bash\n",
    )
    .expect("write");
    let run = emulator.pipectl(&["validate", "-f", path_str(&stacks.join("passwd.toml"))]);
    run.expect_code(1)
        .expect_stderr("is not a TOML file: line 1");
    assert!(!run.all().contains("root:x"), "{}", run.all());
}

/// Issue 18, item 7: an alert value that closes the diff fence, prints a fake
/// "**No changes.**" and opens an unclosed `<!--` stays inside its line of the PR comment.
/// (The value is the severity label, shown in the rule's diff: since issue 21 an expr must
/// parse as PromQL, which has no way to start a line with a fence.)
#[tokio::test(flavor = "multi_thread")]
async fn an_alert_expression_cannot_forge_the_pull_request_comment() {
    let emulator = Emulator::start_with_cluster("{}");
    emulator
        .cluster()
        .configure(r#"{"prometheus_operator": true}"#);
    let stack = emulator.stack(
        "forge.toml",
        "[stack]\nname = \"forge\"\n\n[eks]\nkube_context = \"fake\"\nnamespace = \"kafka\"\n\n[[alerts]]\nname = \"Forged\"\nexpr = \"up == 0\"\nseverity = \"warning\\n```\\n**No changes.**\\n::add-mask::x\\n<!--\"\nsummary = \"s\"\n",
    );
    let run = emulator.pipectl(&["plan", path_str(&stack), "--output", "markdown"]);
    run.expect_code(0);
    let comment = &run.stdout;
    // Nothing outside the fenced blocks opens a comment or says "No changes".
    let mut outside = String::new();
    let mut fence: Option<String> = None;
    for line in comment.lines() {
        match &fence {
            Some(open) if line == open.as_str() => fence = None,
            Some(_) => {}
            None if line.starts_with("```") => {
                fence = Some(
                    line.trim_end_matches(|c: char| c.is_alphanumeric())
                        .to_string(),
                )
            }
            None => {
                outside.push_str(line);
                outside.push('\n');
            }
        }
    }
    assert!(fence.is_none(), "a fence was left open:\n{comment}");
    assert_eq!(
        outside.matches("<!--").count(),
        1,
        "only the marker:\n{comment}"
    );
    assert!(
        outside.starts_with("<!-- pipectl-plan: forge -->"),
        "{comment}"
    );
    assert!(!outside.contains("No changes"), "{comment}");
    assert!(
        comment.contains("No changes.**"),
        "the value is shown, inside its line:\n{comment}"
    );
    // In the text plan (a CI log), the value runs no workflow command.
    let text = emulator.pipectl(&["plan", path_str(&stack)]);
    assert!(
        text.stdout
            .lines()
            .all(|l| !l.trim_start().starts_with("::")),
        "{}",
        text.stdout
    );
}
