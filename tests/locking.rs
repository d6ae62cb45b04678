//! The apply lock, with real concurrent pipectl processes against one emulator: a second apply
//! of the same stack waits for the first and never interleaves with it; an expired lease is
//! taken over; a held lock makes apply give up naming the holder; `unlock --force` clears it.

mod common;

use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use common::{path_str, Emulator, Run, LOCK_TABLE};

fn app_stack(setting: &str) -> String {
    format!("[stack]\nname = \"app\"\n\n[[lambda.functions]]\nname = \"app-fn\"\n{setting}\n")
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Writes a lock item as another run would have left it (with a `lease_seconds` lease and a
/// record version that stays as planted: a run that no longer renews).
async fn plant_lock(emulator: &Emulator, holder: &str, lease_expires_at: i64, lease_seconds: u64) {
    emulator
        .dynamodb()
        .await
        .put_item()
        .table_name(LOCK_TABLE)
        .item(
            "LockId",
            AttributeValue::S("stack/123456789012/us-east-1/app".into()),
        )
        .item("Holder", AttributeValue::S(holder.into()))
        .item("Command", AttributeValue::S("pipectl apply".into()))
        .item(
            "AcquiredAt",
            AttributeValue::N((epoch_now() - 900).to_string()),
        )
        .item(
            "LeaseExpiresAt",
            AttributeValue::N(lease_expires_at.to_string()),
        )
        .item("LeaseId", AttributeValue::S("someone-else".into()))
        .item("LeaseSeconds", AttributeValue::N(lease_seconds.to_string()))
        .item("RecordVersion", AttributeValue::S("planted".into()))
        .send()
        .await
        .expect("plant a lock item");
}

/// Starts `pipectl apply` (no terminal, one lane at a time) of a stack `name` with two
/// functions whose updates each stay InProgress for `update_seconds`, and returns once the
/// first update has been sent. Returns the emulator, the stack file and the running apply.
fn apply_two_functions(
    name: &str,
    update_seconds: u32,
    extra_args: &[&str],
) -> (Emulator, std::path::PathBuf, std::process::Child) {
    let emulator = Emulator::start(&format!(r#"{{"lambda_update_seconds": {update_seconds}}}"#));
    emulator.seed_functions(&["first-fn", "second-fn"]);
    let stack = emulator.stack(
        "two.toml",
        &format!("[stack]\nname = \"{name}\"\n\n[[lambda.functions]]\nname = \"first-fn\"\ntimeout_seconds = 30\n\n[[lambda.functions]]\nname = \"second-fn\"\ntimeout_seconds = 30\n"),
    );
    emulator.clear_log();
    let mut args = vec![
        "apply",
        "-f",
        path_str(&stack),
        "--auto-approve",
        "--parallelism",
        "1",
        "--poll-interval",
        "200",
    ];
    args.extend_from_slice(extra_args);
    let child = emulator
        .command(&args, &[])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pipectl");
    let started = std::time::Instant::now();
    while emulator.calls("UpdateFunctionConfiguration").is_empty() {
        assert!(
            started.elapsed().as_secs() < 20,
            "the first update never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (emulator, stack, child)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_applies_take_turns() {
    // Each Lambda update stays InProgress for 3 s, so the first apply holds its lock a while.
    let emulator = Emulator::start(r#"{"lambda_update_seconds": 3}"#);
    emulator.seed_functions(&["app-fn"]);
    let first = emulator.stack("first.toml", &app_stack("timeout_seconds = 30"));
    let second = emulator.stack("second.toml", &app_stack("memory_mib = 512"));
    emulator.clear_log();

    let spawn = |stack: &std::path::Path| {
        emulator
            .command(
                &[
                    "apply",
                    "-f",
                    path_str(stack),
                    "--auto-approve",
                    "--poll-interval",
                    "200",
                ],
                // A CI job: no $USER, GitHub Actions' variables.
                &[
                    ("GITHUB_SERVER_URL", "https://github.com"),
                    ("GITHUB_REPOSITORY", "acme/pipeline"),
                    ("GITHUB_RUN_ID", "42"),
                ],
            )
            .env_remove("USER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pipectl")
    };
    let a = spawn(&first);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let b = spawn(&second);
    let a: Run = a.wait_with_output().expect("first apply").into();
    let b: Run = b.wait_with_output().expect("second apply").into();
    a.expect_code(0).expect_stdout("Apply complete");
    b.expect_code(0)
        .expect_stdout("Apply complete")
        .expect_stderr(
            "Stack app is locked by GitHub Actions job https://github.com/acme/pipeline/actions/runs/42",
        )
        .expect_stderr("(pipectl apply)");

    // No interleaving: the first apply's update, then its release of the lock, then the
    // second apply's update.
    let updates: Vec<f64> = emulator
        .calls("UpdateFunctionConfiguration")
        .into_iter()
        .map(|c| c.at)
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    let releases: Vec<f64> = emulator
        .lock_calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteItem")
        .map(|c| c.at)
        .collect();
    assert_eq!(releases.len(), 2);
    assert!(
        updates[0] < releases[0] && releases[0] < updates[1],
        "update {} < release {} < update {}",
        updates[0],
        releases[0],
        updates[1]
    );
    let config = emulator
        .lambda()
        .await
        .get_function_configuration()
        .function_name("app-fn")
        .send()
        .await
        .expect("GetFunctionConfiguration");
    assert_eq!(
        (config.timeout(), config.memory_size()),
        (Some(30), Some(512))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_lock_is_taken_over_and_a_held_one_is_waited_for_then_reported() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["app-fn"]);
    let stack = emulator.stack("app.toml", &app_stack("timeout_seconds = 30"));
    // The first apply creates the lock table.
    emulator
        .apply(&emulator.stack("noop.toml", &app_stack("")))
        .expect_code(0);

    // A run that died ten seconds after its lease ran out.
    plant_lock(&emulator, "ghost@build-7 (pid 4242)", epoch_now() - 10, 2).await;
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stderr("Took over the lock of stack app: the lease of ghost@build-7 (pid 4242)")
        .expect_stderr("expired");

    // A live holder: apply waits --lock-timeout, then fails naming it, having changed nothing.
    plant_lock(&emulator, "alice@laptop (pid 42)", epoch_now() + 600, 600).await;
    emulator.clear_log();
    let changed = emulator.stack("changed.toml", &app_stack("timeout_seconds = 40"));
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&changed),
            "--auto-approve",
            "--lock-timeout",
            "2",
        ])
        .expect_code(1)
        .expect_stderr("stack app is locked by alice@laptop (pid 42)")
        .expect_stderr("gave up after waiting 2s");
    assert!(emulator.mutating_calls().is_empty());

    // unlock: refused without --force, asks (no terminal: needs --auto-approve), then removes.
    emulator
        .pipectl(&["unlock", "app"])
        .expect_code(1)
        .expect_stderr("--force");
    emulator
        .pipectl(&["unlock", "app", "--force"])
        .expect_code(1)
        .expect_stdout("locked by alice@laptop (pid 42)")
        .expect_stderr("--auto-approve");
    emulator
        .pipectl(&["unlock", path_str(&changed), "--force", "--auto-approve"])
        .expect_code(0)
        .expect_stdout("Removed the lock of stack app.");
    emulator
        .pipectl(&["unlock", "app", "--force", "--auto-approve"])
        .expect_code(0)
        .expect_stdout("Stack app is not locked.");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&changed),
            "--auto-approve",
            "--lock-timeout",
            "2",
        ])
        .expect_code(0);
}

/// A wait can last hours: the first Ctrl-C, or SIGTERM (what CI sends), stops waiting at once,
/// leaves what was sent running on AWS's side, reports it as started but not confirmed,
/// releases the lock and exits 130.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_and_sigterm_stop_waiting_report_and_release_the_lock() {
    for signal in ["-TERM", "-INT"] {
        // Each update stays InProgress for 60 s: far longer than this test waits.
        let (emulator, stack, child) = apply_two_functions("two", 60, &[]);
        let sent = std::time::Instant::now();
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let run: Run = child.wait_with_output().expect("apply finished").into();
        assert!(
            sent.elapsed() < std::time::Duration::from_secs(15),
            "{signal}: apply kept waiting for {:?}",
            sent.elapsed()
        );
        run.expect_code(130)
            .expect_stderr("interrupted: no new changes will start")
            .expect_stdout("lambda.function.first-fn")
            .expect_stdout("started, not confirmed")
            .expect_stdout("0 applied, 0 failed, 1 started but not confirmed, 1 not started.")
            .expect_stdout("not started: cancelled")
            .expect_stdout("started, not confirmed: cancelled while it ran; what was sent may still complete on AWS's side")
            .expect_stderr("Cancelled: the lock is released; re-run apply to finish what was left.");
        // Each thing is said once: no "fix the errors" (there are none), one "re-run".
        let said = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(said.matches("re-run").count(), 1, "{said}");
        assert_eq!(said.matches("started, not confirmed").count(), 1, "{said}");
        assert!(!said.contains("Fix the errors"), "{said}");
        // The update in flight was sent (and goes on); the second was never sent; the lock is
        // released.
        let updates = emulator.calls("UpdateFunctionConfiguration");
        assert_eq!(updates.len(), 1, "{signal}: {updates:?}");
        assert!(emulator
            .lock_calls()
            .iter()
            .any(|c| c.operation == "DeleteItem"));
        // Re-running apply finishes the job (the first function's update already went out).
        emulator.configure(r#"{"lambda_update_seconds": 0}"#);
        emulator
            .apply(&stack)
            .expect_code(0)
            .expect_stdout("1 applied, 0 failed, 0 not started.");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_that_loses_its_lock_starts_no_further_change() {
    // Each update stays InProgress for 6 s; a 3 s lease renewed every second.
    let (emulator, _, child) = apply_two_functions("app", 6, &["--lock-lease", "3"]);
    // Someone breaks the lock and another run takes it.
    emulator
        .pipectl(&["unlock", "app", "--force", "--auto-approve"])
        .expect_code(0);
    plant_lock(&emulator, "bob@ci-runner (pid 7)", epoch_now() + 600, 600).await;

    let run: Run = child.wait_with_output().expect("apply finished").into();
    run.expect_code(1)
        .expect_stderr("was removed or taken by someone else: no further change will start")
        .expect_stdout("1 applied, 0 failed, 1 not started.")
        .expect_stdout("the stack's lock was lost");
    assert_eq!(emulator.calls("UpdateFunctionConfiguration").len(), 1);
    // Its release did not delete the new holder's lock.
    emulator
        .pipectl(&["unlock", "app", "--force"])
        .expect_code(1)
        .expect_stdout("locked by bob@ci-runner (pid 7)");
}

/// A machine whose clock runs ten minutes ahead sees every lease as long expired. The lock
/// must not care: a waiter takes over only a record it watched go unrenewed for a whole lease
/// on its own monotonic clock, so a live holder keeps its lock and the skewed run waits.
#[tokio::test(flavor = "multi_thread")]
async fn a_skewed_clock_never_lets_two_applies_run_at_once() {
    let (emulator, stack, holder) = apply_two_functions("app", 3, &["--lock-lease", "3"]);
    let clock = common::skewed_clock("+600");
    let clock: Vec<(&str, &str)> = clock.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let skewed = emulator
        .command(
            &[
                "apply",
                "-f",
                path_str(&stack),
                "--auto-approve",
                "--lock-lease",
                "3",
                "--lock-timeout",
                "4",
            ],
            &clock,
        )
        .stdin(Stdio::null())
        .output()
        .expect("run the skewed apply");
    let skewed: Run = skewed.into();
    skewed
        .expect_code(1)
        .expect_stderr("stack app is locked by")
        .expect_stderr("gave up after waiting 4s");
    let holder: Run = holder.wait_with_output().expect("first apply").into();
    holder.expect_code(0).expect_stdout("2 applied, 0 failed");
    // Only the holder's two updates: the skewed run changed nothing.
    assert_eq!(emulator.calls("UpdateFunctionConfiguration").len(), 2);
}
