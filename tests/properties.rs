//! Property tests (issue 9): the validator never panics, whatever numbers and names a stack
//! file holds, and a valid generated stack applied to the test doubles plans to no changes.

mod common;

use common::{path_str, Emulator};
use proptest::prelude::*;

/// A stack using every numeric key, with values from the whole i64 range (and sensible ones
/// often, so that validation gets past the first check).
fn any_stack() -> impl Strategy<Value = String> {
    let number = prop_oneof![any::<i64>(), -10i64..100_000];
    let text = "[a-zA-Z0-9_./:-]{0,20}";
    (
        proptest::collection::vec(number, 16),
        text,
        text,
        any::<bool>(),
    )
        .prop_map(|(n, name, region, enabled)| {
            format!(
                r#"[stack]
name = "{name}"
region = "{region}"

[eks]
namespace = "kafka"

[kafka.brokers]
statefulset = "kafka-broker"
min_replicas = {}
max_replicas = {}
target_cpu_utilization = {}
replication_factor = {}
scale_down = {{ enabled = {enabled}, stabilization_window_seconds = {} }}

[kafka.storage]
storage_class = "kafka-gp3"
iops = {}
throughput_mibps = {}
volume_size_gib = {}
max_parallel_volume_changes = {}

[[lambda.functions]]
name = "consumer"
timeout_seconds = {}
memory_mib = {}
reserved_concurrency = {}

[lambda.functions.kafka_trigger]
bootstrap_servers = ["b-1.kafka.internal:9092"]
topic = "logs"
batch_size = {}
batching_window_seconds = {}

[[sagemaker.endpoints]]
endpoint = "scores"
min_capacity = {}
max_capacity = {}
target_invocations_per_instance = 10.0
"#,
                n[0],
                n[1],
                n[2],
                n[3],
                n[4],
                n[5],
                n[6],
                n[7],
                n[8],
                n[9],
                n[10],
                n[11],
                n[12],
                n[13],
                n[14],
                n[15]
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Validation answers every file with a verdict, never a panic.
    #[test]
    fn validation_never_panics(text in any_stack()) {
        let rules = pipectl::engine::registry::kind_rules();
        let _ = pipectl::spec::parse(std::path::Path::new("generated.toml"), &text, &rules);
    }
}

/// A valid table and function with generated settings, applied to the doubles: the next plan
/// finds nothing to change (no perpetual diff, nothing the apply left half-done).
#[test]
fn planning_after_applying_generated_stacks_finds_no_changes() {
    let settings = (
        prop_oneof![Just("PAY_PER_REQUEST"), Just("PROVISIONED")],
        1i64..=40_000,
        1i64..=40_000,
        1i64..=900,
        128i64..=10240,
        0i64..=300,
        any::<bool>(),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 4,
        ..ProptestConfig::default()
    });
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    runner
        .run(&settings, |(billing, read, write, timeout, memory, reserved, with_index)| {
            let capacity = if billing == "PROVISIONED" {
                format!("capacity = {{ read = {read}, write = {write} }}\n")
            } else {
                String::new()
            };
            let mut text = format!(
                "[stack]\nname = \"p\"\n\n[[dynamodb.tables]]\nname = \"Logs\"\nbilling_mode = \"{billing}\"\npartition_key = {{ name = \"logId\", type = \"S\" }}\n{capacity}"
            );
            if with_index {
                text.push_str(&format!(
                    "\n[[dynamodb.tables.global_secondary_indexes]]\nname = \"ByScore\"\npartition_key = {{ name = \"score\", type = \"N\" }}\n{capacity}"
                ));
            }
            text.push_str(&format!(
                "\n[[lambda.functions]]\nname = \"consumer\"\ntimeout_seconds = {timeout}\nmemory_mib = {memory}\nreserved_concurrency = {reserved}\n"
            ));
            let stack = emulator.stack("p.toml", &text);
            let apply = emulator.pipectl(&[
                "apply",
                "-f",
                path_str(&stack),
                "--auto-approve",
                "--allow-destroy",
            ]);
            prop_assert_eq!(apply.code, 0, "{}", apply.all());
            let plan = emulator.pipectl(&["plan", "-f", path_str(&stack), "--detailed-exitcode"]);
            prop_assert_eq!(plan.code, 0, "{}", plan.all());
            Ok(())
        })
        .expect("every generated stack converges");
}
