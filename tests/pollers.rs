//! Provisioned mode for Kafka event source mappings (issue 12): `minimum_pollers` and
//! `maximum_pollers` are planned and applied in place (same mapping), drift-checked and
//! imported; the emulator enforces AWS's ranges for Kafka sources.

mod common;

use aws_sdk_lambda::types::ProvisionedPollerConfig;
use common::{path_str, Emulator};

fn stack(minimum: i64, maximum: i64) -> String {
    format!(
        "[stack]\nname = \"p\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.internal:9092\"]\ntopic = \"application-logs\"\nhealth_timeout_seconds = 0\nminimum_pollers = {minimum}\nmaximum_pollers = {maximum}\n"
    )
}

async fn pollers(emulator: &Emulator) -> Vec<(String, Option<i32>, Option<i32>)> {
    let mappings = emulator
        .lambda()
        .await
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .expect("ListEventSourceMappings");
    mappings
        .event_source_mappings()
        .iter()
        .map(|m| {
            let config = m.provisioned_poller_config();
            (
                m.uuid().unwrap_or_default().to_string(),
                config.and_then(|c| c.minimum_pollers()),
                config.and_then(|c| c.maximum_pollers()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pollers_are_applied_in_place_drift_checked_and_imported() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let first = emulator.stack("first.toml", &stack(1, 10));
    emulator.apply(&first).expect_code(0);
    let created = pollers(&emulator).await;
    assert_eq!(created.len(), 1);
    assert_eq!((created[0].1, created[0].2), (Some(1), Some(10)));

    let raised = emulator.stack("raised.toml", &stack(2, 50));
    emulator
        .pipectl(&["plan", path_str(&raised)])
        .expect_code(0)
        .expect_stdout("~ minimum_pollers: 1 -> 2")
        .expect_stdout("~ maximum_pollers: 10 -> 50");
    // What the pollers bill: Event Poller Unit-hours at $0.185, the minimum as EPUs of 10 all
    // month (1 EPU: $135.05), up to the maximum at 4 busy pollers an EPU (3, then 13 EPUs).
    let json = emulator.pipectl(&["plan", path_str(&raised), "-o", "json"]);
    json.expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let cost = plan["changes"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["id"] == "lambda.kafka_trigger.consumer")
        })
        .map(|c| c["cost"].clone())
        .expect("the trigger's change");
    assert_eq!(cost["monthly_before"], "135.05", "{cost}");
    assert_eq!(cost["monthly_after"], "135.05", "{cost}");
    assert_eq!(cost["ceiling_before"], "405.15", "{cost}");
    assert_eq!(cost["ceiling_after"], "1755.65", "{cost}");
    assert_eq!(cost["range"], "min 2 .. max 50 pollers: 1 .. 13 EPU");
    emulator.clear_log();
    emulator.apply(&raised).expect_code(0);
    assert_eq!(
        emulator.operations(),
        vec!["UpdateEventSourceMapping".to_string()],
        "in place"
    );
    let updated = pollers(&emulator).await;
    assert_eq!(updated[0].0, created[0].0, "the same mapping");
    assert_eq!((updated[0].1, updated[0].2), (Some(2), Some(50)));

    // Changed by hand: drift says so.
    emulator
        .lambda()
        .await
        .update_event_source_mapping()
        .uuid(&updated[0].0)
        .provisioned_poller_config(
            ProvisionedPollerConfig::builder()
                .minimum_pollers(2)
                .maximum_pollers(80)
                .build(),
        )
        .send()
        .await
        .expect("UpdateEventSourceMapping");
    emulator
        .pipectl(&["drift", path_str(&raised)])
        .expect_code(2)
        .expect_stdout("maximum_pollers: live 80, spec 50");
    let imported = emulator.pipectl(&["import", "--function", "consumer"]);
    imported
        .expect_code(0)
        .expect_stdout("minimum_pollers = 2\nmaximum_pollers = 80");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_enforces_the_poller_ranges_for_kafka() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    emulator
        .apply(&emulator.stack("s.toml", &stack(1, 10)))
        .expect_code(0);
    let uuid = pollers(&emulator).await[0].0.clone();
    for (minimum, maximum) in [(0, 10), (201, 300), (1, 2001), (20, 10)] {
        let refused = emulator
            .lambda()
            .await
            .update_event_source_mapping()
            .uuid(&uuid)
            .provisioned_poller_config(
                ProvisionedPollerConfig::builder()
                    .minimum_pollers(minimum)
                    .maximum_pollers(maximum)
                    .build(),
            )
            .send()
            .await;
        assert!(refused.is_err(), "{minimum}..{maximum} was accepted");
    }
    // pipectl refuses the same offline.
    emulator
        .pipectl(&[
            "validate",
            path_str(&emulator.stack("bad.toml", &stack(20, 10))),
        ])
        .expect_code(1)
        .expect_stderr("minimum_pollers 20 is above maximum_pollers 10");
    emulator
        .pipectl(&[
            "validate",
            path_str(&emulator.stack("big.toml", &stack(1, 2001))),
        ])
        .expect_code(1)
        .expect_stderr("maximum_pollers");
}
