//! Faults (issue 9): AWS and Kubernetes throttle, fail and lose replies; CI jobs get killed.
//! The doubles inject each fault the way the service answers it, reproducibly from a seed
//! (docs/testing.md), and the seed article's stack must still converge in one apply.
//! `PIPECTL_SOAK=1` runs the longer versions.

mod common;

use common::{path_str, Emulator};

fn soak() -> bool {
    std::env::var_os("PIPECTL_SOAK").is_some()
}

/// Applies the seed article's stack with `extra` flags against the cluster context `fake`.
fn apply_seed_stack(emulator: &Emulator, stack: &std::path::Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "apply",
        "-f",
        path_str(stack),
        "--kube-context",
        "fake",
        "--auto-approve",
        "--allow-destroy",
        "--poll-interval",
        "200",
    ];
    args.extend_from_slice(extra);
    emulator.pipectl(&args)
}

fn converged(emulator: &Emulator, stack: &std::path::Path) {
    emulator.configure(r#"{"faults": {}}"#);
    emulator.cluster().configure(r#"{"faults": {}}"#);
    emulator
        .pipectl(&[
            "plan",
            "-f",
            path_str(stack),
            "--kube-context",
            "fake",
            "--detailed-exitcode",
        ])
        .expect_code(0);
}

/// 30% throttling and 5% server errors on every service, AWS and Kubernetes: one apply.
#[tokio::test(flavor = "multi_thread")]
async fn the_seed_stack_converges_in_one_apply_under_throttling_and_server_errors() {
    let seeds: Vec<u64> = if soak() { (1..=10).collect() } else { vec![7] };
    for seed in seeds {
        let emulator = Emulator::start_seed_article("{}");
        let stack = emulator.seed_article_stack().await;
        let faults = format!(
            r#"{{"faults": {{"seed": {seed}, "throttle_rate": 0.3, "error_rate": 0.05, "reset_rate": 0.05}}}}"#
        );
        emulator.configure(&faults);
        emulator.cluster().configure(&faults);
        apply_seed_stack(&emulator, &stack, &[])
            .expect_code(0)
            .expect_applied_kinds(common::SEED_STACK_KINDS);
        assert!(
            emulator.injected_faults() > 0,
            "seed {seed}: no fault was injected"
        );
        converged(&emulator, &stack);
    }
}

/// 10% of mutating calls carried out but answered with a 500: the SDK retries, the retry
/// meets "already exists"/"in progress", and pipectl recognises its own change instead of
/// failing or duplicating it.
#[tokio::test(flavor = "multi_thread")]
async fn lost_replies_never_fail_an_apply_or_duplicate_a_resource() {
    // Transitions long enough that an SDK retry meets them in progress, as on AWS.
    const DELAYS: &str = r#"{"table_update_seconds": 1, "gsi_create_seconds": 2, "esm_transition_seconds": 1, "volume_modification_seconds": 3}"#;
    // The changes pipectl made, per operation and resource: a call carried out (2xx, or with
    // its reply lost) counts once, and the SDK's retry of a lost reply counts with it (the
    // client cannot know the first went through; pipectl must not add a third).
    let carried_out = |emulator: &Emulator| {
        let mut calls: std::collections::BTreeMap<(String, String), usize> =
            std::collections::BTreeMap::new();
        let mut retrying = std::collections::BTreeSet::new();
        for call in emulator.mutating_calls() {
            // Volume and mapping ids differ between runs; the operation counts do not.
            let resource = if call.resource.starts_with("vol-")
                || call.operation.contains("EventSourceMapping")
            {
                String::new()
            } else {
                call.resource.clone()
            };
            let key = (call.operation.clone(), resource);
            // A retry counts with the call it repeats; a retry whose reply is lost too is
            // retried again, and that one counts with them as well.
            if retrying.contains(&key) {
                if call.fault.as_deref() != Some("lost") {
                    retrying.remove(&key);
                }
                continue;
            }
            if call.fault.as_deref() == Some("lost") {
                retrying.insert(key.clone());
            }
            if call.status < 300 || call.fault.as_deref() == Some("lost") {
                *calls.entry(key).or_default() += 1;
            }
        }
        calls
    };
    let baseline = {
        let emulator = Emulator::start_seed_article(DELAYS);
        let stack = emulator.seed_article_stack().await;
        emulator.clear_log();
        apply_seed_stack(&emulator, &stack, &[]).expect_code(0);
        carried_out(&emulator)
    };
    let seeds: Vec<u64> = match std::env::var("PIPECTL_FAULT_SEEDS") {
        Ok(list) => list.split(',').filter_map(|s| s.parse().ok()).collect(),
        Err(_) if soak() => (1..=10).collect(),
        Err(_) => vec![1, 3, 6],
    };
    for seed in seeds {
        let emulator = Emulator::start_seed_article(DELAYS);
        let stack = emulator.seed_article_stack().await;
        emulator.configure(&format!(
            r#"{{"faults": {{"seed": {seed}, "lost_reply_rate": 0.1}}}}"#
        ));
        emulator.clear_log();
        let run = apply_seed_stack(&emulator, &stack, &[]);
        run.expect_code(0)
            .expect_applied_kinds(common::SEED_STACK_KINDS);
        assert!(
            !run.stderr.contains("is locked by"),
            "seed {seed}: waited on its own lock"
        );
        converged(&emulator, &stack);
        let mappings = emulator
            .lambda()
            .await
            .list_event_source_mappings()
            .function_name("kafka-log-lambda")
            .send()
            .await
            .expect("ListEventSourceMappings");
        assert_eq!(mappings.event_source_mappings().len(), 1, "seed {seed}");
        let table = emulator.table("KafkaLogData").await;
        assert_eq!(table.global_secondary_indexes().len(), 1, "seed {seed}");
        // No resource changed more often than needed: the calls carried out (answered 2xx,
        // or carried out with the reply lost) are exactly those of the same apply without
        // faults; the lock's calls are not the stack's resources.
        let lost: Vec<String> = emulator
            .mutating_calls()
            .into_iter()
            .filter(|c| c.fault.as_deref() == Some("lost"))
            .map(|c| c.operation)
            .collect();
        eprintln!("seed {seed}: lost the replies of {lost:?}");
        assert_eq!(carried_out(&emulator), baseline, "seed {seed}");
    }
}

/// A CI job killed at any moment (SIGKILL: no cleanup at all), then a plain apply with
/// default flags: it takes over the dead run's lock after one of its leases and converges.
/// Each round starts from the seed article's "before" state, so every kill lands in real work.
#[tokio::test(flavor = "multi_thread")]
async fn applies_killed_at_random_moments_converge_on_the_next_run() {
    let kills: u64 = if soak() { 20 } else { 3 };
    for kill in 0..kills {
        let emulator = Emulator::start_seed_article(
            r#"{"lambda_update_seconds": 1, "table_update_seconds": 0.5, "gsi_create_seconds": 1.5, "esm_transition_seconds": 0.5, "volume_modification_seconds": 1}"#,
        );
        let stack = emulator.seed_article_stack().await;
        // A reproducible moment between 0.2 and 4.2 s into the run.
        let delay = 200 + (kill * 7919 + 13) % 4000;
        let mut child = emulator
            .command(
                &[
                    "apply",
                    "-f",
                    path_str(&stack),
                    "--kube-context",
                    "fake",
                    "--auto-approve",
                    "--allow-destroy",
                    "--lock-lease",
                    "3",
                ],
                &[],
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start pipectl");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        emulator
            .pipectl(&[
                "apply",
                "-f",
                path_str(&stack),
                "--kube-context",
                "fake",
                "--auto-approve",
                "--allow-destroy",
            ])
            .expect_code(0);
        converged(&emulator, &stack);
    }
}
