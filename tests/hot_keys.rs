//! Contributor Insights (issue 12, hot keys): a kind added as its own module and one line in
//! the registry. Planned, applied, drift-checked and ignorable, against the emulator's
//! DescribeContributorInsights/UpdateContributorInsights, checked with an independent SDK client.

mod common;

use aws_sdk_dynamodb::types::{
    ContributorInsightsAction, ContributorInsightsMode, ContributorInsightsStatus,
};
use common::{path_str, Emulator};

const STACK: &str = r#"[stack]
name = "hot"

[[dynamodb.tables]]
name = "KafkaLogData"
billing_mode = "PAY_PER_REQUEST"
partition_key = { name = "logId", type = "S" }
contributor_insights = true

[[dynamodb.tables.global_secondary_indexes]]
name = "AnomalyScoreIndex"
partition_key = { name = "anomalyScore", type = "N" }
contributor_insights = true
"#;

async fn status(emulator: &Emulator, index: Option<&str>) -> Option<ContributorInsightsStatus> {
    emulator
        .dynamodb()
        .await
        .describe_contributor_insights()
        .table_name("KafkaLogData")
        .set_index_name(index.map(str::to_string))
        .send()
        .await
        .expect("DescribeContributorInsights")
        .contributor_insights_status()
        .cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn contributor_insights_are_planned_applied_drift_checked_and_ignorable() {
    let emulator = Emulator::start(r#"{"contributor_insights_seconds": 1}"#);
    let stack = emulator.stack("hot.toml", STACK);
    let file = path_str(&stack);
    // The table does not exist yet: created, then its insights enabled, in one apply.
    emulator
        .pipectl(&["plan", file])
        .expect_code(0)
        .expect_stdout("dynamodb.contributor_insights.KafkaLogData will be updated")
        .expect_stdout("dynamodb.contributor_insights.KafkaLogData/AnomalyScoreIndex")
        .expect_stdout("anomalyScore is a number named like a score or flag");
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stdout("Apply complete");
    assert_eq!(
        status(&emulator, None).await,
        Some(ContributorInsightsStatus::Enabled)
    );
    assert_eq!(
        status(&emulator, Some("AnomalyScoreIndex")).await,
        Some(ContributorInsightsStatus::Enabled)
    );
    emulator.pipectl(&["drift", file]).expect_code(0);

    // Someone turns the table's off: drift sees it, apply turns it back on.
    emulator
        .dynamodb()
        .await
        .update_contributor_insights()
        .table_name("KafkaLogData")
        .contributor_insights_action(ContributorInsightsAction::Disable)
        .send()
        .await
        .expect("UpdateContributorInsights");
    emulator
        .pipectl(&["drift", file])
        .expect_code(2)
        .expect_stdout("dynamodb.contributor_insights.KafkaLogData changed outside pipectl")
        .expect_stdout("enabled: live false, spec true");
    // An ignore rule leaves it to whoever turned it off.
    let ignoring = emulator.stack(
        "ignoring.toml",
        &format!("{STACK}\n[[ignore]]\nresource = \"dynamodb.contributor_insights.KafkaLogData\"\nfields = [\"enabled\"]\n"),
    );
    emulator
        .pipectl(&["drift", path_str(&ignoring)])
        .expect_code(0);
    emulator.clear_log();
    emulator.apply(&stack).expect_code(0);
    assert_eq!(
        emulator.operations(),
        vec!["UpdateContributorInsights".to_string()]
    );
    assert_eq!(
        status(&emulator, None).await,
        Some(ContributorInsightsStatus::Enabled)
    );

    // Importable: the imported file says so, and plans as no changes.
    let imported = emulator.pipectl(&["import", "--table", "KafkaLogData", "--stack-name", "hot"]);
    imported.expect_code(0);
    assert_eq!(
        imported
            .stdout
            .matches("contributor_insights = true")
            .count(),
        2,
        "{}",
        imported.stdout
    );
    let file = emulator.stack("imported.toml", &imported.stdout);
    emulator
        .pipectl(&["plan", path_str(&file), "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_answers_contributor_insights_as_dynamodb_does() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack(
        "hot.toml",
        &STACK.replace("contributor_insights = true\n", ""),
    );
    emulator.apply(&stack).expect_code(0);
    assert_eq!(
        status(&emulator, None).await,
        Some(ContributorInsightsStatus::Disabled)
    );
    let missing = emulator
        .dynamodb()
        .await
        .describe_contributor_insights()
        .table_name("KafkaLogData")
        .index_name("NoSuchIndex")
        .send()
        .await
        .expect_err("an unknown index");
    assert_eq!(
        aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&missing),
        Some("ResourceNotFoundException")
    );
    let no_table = emulator
        .dynamodb()
        .await
        .describe_contributor_insights()
        .table_name("NoSuchTable")
        .send()
        .await
        .expect_err("an unknown table");
    assert_eq!(
        aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&no_table),
        Some("ResourceNotFoundException")
    );
    // The rules DynamoDB keeps (what the rules bill): most accessed and most throttled
    // partition keys, sort keys too when there is one; only the throttled ones in
    // THROTTLED_KEYS mode.
    let sorted = emulator.stack(
        "sorted.toml",
        "[stack]\nname = \"sorted\"\n\n[[dynamodb.tables]]\nname = \"Sorted\"\nbilling_mode = \"PAY_PER_REQUEST\"\npartition_key = { name = \"id\", type = \"S\" }\nsort_key = { name = \"at\", type = \"N\" }\n",
    );
    emulator.apply(&sorted).expect_code(0);
    let rules = |table: &'static str, mode: ContributorInsightsMode| {
        let emulator = &emulator;
        async move {
            let client = emulator.dynamodb().await;
            client
                .update_contributor_insights()
                .table_name(table)
                .contributor_insights_action(ContributorInsightsAction::Enable)
                .contributor_insights_mode(mode)
                .send()
                .await
                .expect("UpdateContributorInsights");
            let described = client
                .describe_contributor_insights()
                .table_name(table)
                .send()
                .await
                .expect("DescribeContributorInsights");
            let kinds: Vec<String> = described
                .contributor_insights_rule_list()
                .iter()
                .map(|rule| rule.split('-').nth(1).unwrap_or_default().to_string())
                .collect();
            kinds
        }
    };
    assert_eq!(
        rules("Sorted", ContributorInsightsMode::AccessedAndThrottledKeys).await,
        ["PKC", "PKT", "SKC", "SKT"]
    );
    assert_eq!(
        rules("KafkaLogData", ContributorInsightsMode::ThrottledKeys).await,
        ["PKT"]
    );
}

/// An enable that DynamoDB cannot carry out ends FAILED with a `FailureException`: the first
/// enable in an account without iam:CreateServiceLinkedRole, or the account's rule limit.
/// Apply, plan and drift say DynamoDB's reason and what to do; a plan that enables it says the
/// keys show in plain text.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_enable_says_dynamodbs_reason() {
    let emulator = Emulator::start("{}");
    emulator
        .configure(r#"{"contributor_insights_failure": {"KafkaLogData": "service_linked_role"}}"#);
    let stack = emulator.stack("hot.toml", STACK);
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", file])
        .expect_code(0)
        .expect_stdout("keys in plain text in CloudWatch graphs");
    emulator
        .apply(&stack)
        .expect_code(1)
        .expect_stdout("FAILED: AccessDeniedException: Failed to create service-linked role for Contributor Insights due to insufficient permissions.")
        .expect_stdout("iam:CreateServiceLinkedRole");
    let drift = emulator.pipectl(&["drift", file]);
    drift
        .expect_code(2)
        .expect_stdout("is FAILED: AccessDeniedException: Failed to create service-linked role");
    // An independent client sees the same FailureException.
    let described = emulator
        .dynamodb()
        .await
        .describe_contributor_insights()
        .table_name("KafkaLogData")
        .send()
        .await
        .expect("DescribeContributorInsights");
    assert_eq!(
        described.contributor_insights_status(),
        Some(&ContributorInsightsStatus::Failed)
    );
    assert_eq!(
        described
            .failure_exception()
            .and_then(|f| f.exception_name()),
        Some("AccessDeniedException")
    );
}

/// `contributor_insights_mode` is set, compared (a table switched to THROTTLED_KEYS by hand is
/// drift) and imported; the emulator keeps the mode as DynamoDB does.
#[tokio::test(flavor = "multi_thread")]
async fn the_contributor_insights_mode_is_set_compared_and_imported() {
    let emulator = Emulator::start("{}");
    let throttled = STACK.replacen(
        "contributor_insights = true\n",
        "contributor_insights = true\ncontributor_insights_mode = \"THROTTLED_KEYS\"\n",
        1,
    );
    let stack = emulator.stack("hot.toml", &throttled);
    let file = path_str(&stack);
    emulator.apply(&stack).expect_code(0);
    let mode = |emulator: &Emulator| {
        let out = common::aws_cli(
            &[
                "dynamodb",
                "describe-contributor-insights",
                "--table-name",
                "KafkaLogData",
            ],
            Some(&emulator.endpoint),
        );
        let described: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        described["ContributorInsightsMode"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(mode(&emulator), "THROTTLED_KEYS");
    emulator.pipectl(&["drift", file]).expect_code(0);

    // Switched back by hand: drift names the mode, apply switches it again.
    emulator
        .dynamodb()
        .await
        .update_contributor_insights()
        .table_name("KafkaLogData")
        .contributor_insights_action(ContributorInsightsAction::Enable)
        .contributor_insights_mode(
            aws_sdk_dynamodb::types::ContributorInsightsMode::AccessedAndThrottledKeys,
        )
        .send()
        .await
        .expect("UpdateContributorInsights");
    emulator
        .pipectl(&["drift", file])
        .expect_code(2)
        .expect_stdout("mode");
    emulator.apply(&stack).expect_code(0);
    assert_eq!(mode(&emulator), "THROTTLED_KEYS");

    let imported = emulator.dir().join("imported.toml");
    emulator
        .pipectl(&[
            "import",
            "--stack-name",
            "hot",
            "--table",
            "KafkaLogData",
            "--out",
            path_str(&imported),
        ])
        .expect_code(0);
    let text = std::fs::read_to_string(&imported).expect("imported");
    assert!(
        text.contains("contributor_insights_mode = \"THROTTLED_KEYS\""),
        "{text}"
    );
}
