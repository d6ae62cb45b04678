//! What a plan costs (issue 22): list prices built into the binary, per resource before and
//! after with floor and ceiling, the plan's totals, the JSON contract (checked against the
//! schema), the Markdown table, and the budget guard — run against the doubles.

mod common;

use common::{assert_matches_schema, aws_cli, brokers_stack, path_str, Emulator};
use serde_json::Value;

/// The broker volumes at the gp3 baseline (3,000 IOPS, 125 MiB/s) raised to 6,000 / 250.
const FASTER_VOLUMES: &str = "[kafka.storage]\nstorage_class = \"kafka-gp3\"\nvolume_type = \"gp3\"\niops = 6000\nthroughput_mibps = 250\nencrypted = true\n";

fn change<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no change {id} in {plan}"))
}

/// The issue's cross-check: gp3 500 GiB at 3000 IOPS / 125 MiB/s → 6000 / 250 is $40.00 →
/// $60.00 a volume-month; with 3 brokers +$60.00 a month, and the autoscaler's max_replicas 10
/// bounds the ceiling at ten volumes.
#[test]
fn broker_volumes_are_priced_per_volume_and_up_to_max_replicas() {
    let emulator = Emulator::start_with_cluster("{}");
    let stack = emulator.stack(
        "k.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", FASTER_VOLUMES),
    );
    let json = emulator.pipectl(&["plan", path_str(&stack), "-o", "json"]);
    json.expect_code(0);
    assert_matches_schema(&json.stdout);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let volume = &change(&plan, "eks.volume.kafka/data-kafka-broker-0")["cost"];
    assert_eq!(volume["currency"], "USD");
    assert_eq!(volume["monthly_before"], "40.00", "{volume}");
    assert_eq!(volume["monthly_after"], "60.00", "{volume}");
    assert_eq!(volume["floor_after"], "60.00");
    assert_eq!(volume["ceiling_after"], "60.00");
    assert_eq!(volume["basis"], "list price");
    let components: Vec<(&str, &str)> = volume["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or(""),
                c["monthly"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        components,
        vec![
            ("storage", "40.00"),
            ("IOPS above 3,000", "15.00"),
            ("throughput above 125 MiB/s", "5.00")
        ]
    );
    let total = &plan["cost"];
    assert_eq!(total["monthly_before"], "120.00", "{total}");
    assert_eq!(total["monthly_after"], "180.00", "{total}");
    // Ten volumes at the maximum: the three that exist and seven the autoscaler may add.
    assert_eq!(total["ceiling_after"], "600.00", "{total}");
    assert_eq!(total["region"], "us-east-1");

    let text = emulator.pipectl(&["plan", path_str(&stack)]);
    text.expect_code(0)
        .expect_stdout("$/month: 40.00 -> 60.00")
        .expect_stdout("Monthly cost: $120.00 -> $180.00 (+$60.00); at maximum scale:")
        .expect_stdout("List prices, us-east-1, of ");
    let markdown = emulator.pipectl(&["plan", path_str(&stack), "-o", "markdown"]);
    markdown
        .expect_code(0)
        .expect_stdout("| resource | $/month before | $/month after | floor | ceiling |")
        .expect_stdout(
            "| `eks.volume.kafka/data-kafka-broker-0` | 40.00 | 60.00 | 60.00 | 60.00 |",
        );

    // --no-cost: nothing priced, nothing said.
    let bare = emulator.pipectl(&["plan", path_str(&stack), "-o", "json", "--no-cost"]);
    let bare: Value = serde_json::from_str(&bare.stdout).expect("JSON");
    assert!(bare.get("cost").is_none(), "{bare}");
    // A discount is taken off every list price and said.
    emulator
        .pipectl(&["plan", path_str(&stack), "--discount", "10"])
        .expect_code(0)
        .expect_stdout("Monthly cost: $108.00 -> $162.00 (+$54.00)")
        .expect_stdout("List prices less 10%");
}

/// The budget guard for CI: a plan that raises the monthly cost by more than allowed exits 1,
/// naming the stack file and the changes that cost more; within the budget it passes.
#[test]
fn the_budget_guard_stops_a_plan_that_costs_more_than_allowed() {
    let emulator = Emulator::start_with_cluster("{}");
    let stack = emulator.stack(
        "k.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", FASTER_VOLUMES),
    );
    emulator
        .pipectl(&["plan", path_str(&stack), "--max-monthly-increase", "50"])
        .expect_code(1)
        .expect_stderr("k.toml: the plan raises the monthly cost by +$60.00 ($120.00 -> $180.00), more than --max-monthly-increase $50.00")
        .expect_stderr("eks.volume.kafka/data-kafka-broker-0 (+$20.00)");
    emulator
        .pipectl(&["plan", path_str(&stack), "--max-monthly-increase", "60"])
        .expect_code(0);
    emulator
        .pipectl(&["plan", path_str(&stack), "--max-ceiling-increase", "100"])
        .expect_code(1)
        .expect_stderr("more than --max-ceiling-increase $100.00");
    emulator
        .pipectl(&["plan", path_str(&stack), "--max-monthly-increase", "lots"])
        .expect_code(1)
        .expect_stderr("is not an amount");
}

/// The seed article's stack: every cost centre it has is priced — the SageMaker variant by its
/// instance type (read from the endpoint config) between min and max capacity, the table's
/// provisioned throughput before its switch to on-demand and the on-demand month from 14 days
/// of measured use (CloudWatch GetMetricData through the emulator's CBOR protocol), the
/// function's month from its measured invocations and its reservation ceiling, the broker
/// volumes and the volumes the autoscaler may add. What is not known is named and left out.
#[tokio::test(flavor = "multi_thread")]
async fn the_seed_stacks_cost_centres_are_priced() {
    let emulator = Emulator::start_seed_article("{}");
    let stack = emulator.seed_article_stack().await;
    let json = emulator.pipectl(&[
        "--kube-context",
        "fake",
        "plan",
        path_str(&stack),
        "-o",
        "json",
    ]);
    json.expect_code(0);
    assert_matches_schema(&json.stdout);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");

    let variant = &change(&plan, "sagemaker.variant.rcf-anomaly-endpoint/AllTraffic")["cost"];
    assert_eq!(
        variant["components"][0]["name"], "ml.m5.large hosting",
        "{variant}"
    );
    assert_eq!(variant["components"][0]["unit_price"], "0.134");
    assert_eq!(variant["monthly_after"], "97.82");
    assert_eq!(variant["floor_after"], "97.82");
    assert_eq!(variant["ceiling_after"], "978.20");
    assert_eq!(variant["range"], "min 1 .. max 10 × ml.m5.large");

    // 14 days of CloudWatch use (emulator/seed.py usage), projected to a 730-hour month.
    let basis = "usage over 14 days to ";
    let table = &change(&plan, "dynamodb.table.KafkaLogData")["cost"];
    assert_eq!(table["monthly_before"], "2.85", "5 RCU and 5 WCU: {table}");
    // 200,000 reads and 300,000 writes a day: 6,083,333 RRU × $0.125/M + 9,125,000 WRU ×
    // $0.625/M = $0.76 + $5.70: on demand costs more than the provisioned 5/5 here.
    assert_eq!(table["monthly_after"], "6.46", "{table}");
    assert!(
        table["basis"].as_str().unwrap_or("").starts_with(basis),
        "{table}"
    );

    // Contributor Insights, turned on for the table (a sort key: 4 rules) and its index (2):
    // $0.50 a rule-month, and the table's 15,208,333 consumed units a month as events at $0.03
    // per million ($0.46); the index has no use of its own yet.
    let insights = &change(&plan, "dynamodb.contributor_insights.KafkaLogData")["cost"];
    assert_eq!(insights["monthly_before"], "0.00", "{insights}");
    assert_eq!(insights["monthly_after"], "2.46", "{insights}");
    assert_eq!(insights["components"][0]["quantity"], "4", "{insights}");
    assert_eq!(insights["components"][0]["unit_price"], "0.50");
    assert_eq!(insights["components"][1]["quantity"], "15208333");
    assert!(insights["basis"].as_str().unwrap_or("").starts_with(basis));
    let index_insights = &change(
        &plan,
        "dynamodb.contributor_insights.KafkaLogData/AnomalyScoreIndex",
    )["cost"];
    assert_eq!(index_insights["monthly_after"], "1.00", "{index_insights}");

    let function = &change(&plan, "lambda.function.kafka-log-lambda")["cost"];
    // 2,000,000 invocations of 120 ms a day: 60,833,333 requests ($12.17) and 7,300,000
    // seconds, at 128 MiB 912,500 GB-s ($15.21), at 2048 MiB 14,600,000 GB-s ($243.33).
    assert_eq!(function["monthly_before"], "27.38", "{function}");
    assert_eq!(function["monthly_after"], "255.50", "{function}");
    assert_eq!(function["floor_after"], "0.00");
    assert_eq!(function["ceiling_after"], "8760.02");
    assert_eq!(
        function["ceiling_before"],
        Value::Null,
        "no reservation before"
    );
    assert!(function["basis"].as_str().unwrap_or("").starts_with(basis));

    let headroom = &change(&plan, "eks.hpa.kafka/kafka-broker-hpa")["cost"];
    assert_eq!(headroom["monthly_after"], "0.00");
    assert_eq!(
        headroom["ceiling_before"], "280.00",
        "7 more volumes at $40: {headroom}"
    );
    assert_eq!(headroom["ceiling_after"], "420.00", "7 more volumes at $60");

    let total = &plan["cost"];
    // The new table's usage is not known (it has none yet), and the function had no ceiling
    // before its reservation: both are named, and left out of the sums they cannot be in.
    let unpriced: Vec<&str> = total["unpriced"]
        .as_array()
        .expect("unpriced")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        unpriced,
        vec![
            "dynamodb.table.AnomalyScores",
            "lambda.function.kafka-log-lambda"
        ]
    );
    // Months: table 2.85 -> 6.46, function 27.38 -> 255.50, variant 97.82, volumes 120 -> 180,
    // Contributor Insights 0 -> 3.46.
    assert_eq!(total["monthly_before"], "248.05", "{total}");
    assert_eq!(total["monthly_after"], "543.24", "{total}");

    let text = emulator.pipectl(&["--kube-context", "fake", "plan", path_str(&stack)]);
    text.expect_code(0)
        .expect_stdout("floor 97.82, ceiling 978.20 (min 1 .. max 10 × ml.m5.large)")
        .expect_stdout("Not fully priced (usage or a price unknown): dynamodb.table.AnomalyScores");

    // Without usage (--usage-window 0), what is billed by use is unknown, never $0.
    let bare = emulator.pipectl(&[
        "--kube-context",
        "fake",
        "plan",
        path_str(&stack),
        "-o",
        "json",
        "--usage-window",
        "0",
    ]);
    let bare: Value = serde_json::from_str(&bare.stdout).expect("JSON");
    let table = &change(&bare, "dynamodb.table.KafkaLogData")["cost"];
    assert_eq!(table["monthly_after"], Value::Null, "{table}");
    assert_eq!(table["basis"], "unit price only");
    let function = &change(&bare, "lambda.function.kafka-log-lambda")["cost"];
    assert_eq!(function["monthly_after"], Value::Null, "{function}");
    assert_eq!(function["ceiling_after"], "8760.02");
}

/// Where nothing was measured (no metric in CloudWatch), the file's `usage = {...}` prices what
/// is billed by use, said as `declared usage`; negative or impossible use is refused offline.
#[test]
fn declared_usage_prices_what_nothing_measured() {
    // 4 GiB stored: DynamoDB Standard storage, $0.25 per GB-month = $1.00.
    let emulator = Emulator::start(r#"{"table_size_bytes": {"Events": 4294967296}}"#);
    emulator.seed_functions(&["worker"]);
    aws_cli(
        &[
            "dynamodb",
            "create-table",
            "--table-name",
            "Events",
            "--billing-mode",
            "PAY_PER_REQUEST",
            "--attribute-definitions",
            "AttributeName=id,AttributeType=S",
            "--key-schema",
            "AttributeName=id,KeyType=HASH",
        ],
        Some(&emulator.endpoint),
    );
    let stack = emulator.stack(
        "declared.toml",
        "[stack]\nname = \"d\"\n\n[[lambda.functions]]\nname = \"worker\"\nmemory_mib = 1024\nusage = { invocations_per_month = 1000000, average_duration_ms = 200 }\n\n[[dynamodb.tables]]\nname = \"Events\"\nbilling_mode = \"PAY_PER_REQUEST\"\npartition_key = { name = \"id\", type = \"S\" }\nusage = { reads_per_month = 10000000, writes_per_month = 2000000 }\n",
    );
    let json = emulator.pipectl(&["plan", path_str(&stack), "-o", "json"]);
    json.expect_code(0);
    assert_matches_schema(&json.stdout);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let function = &change(&plan, "lambda.function.worker")["cost"];
    // 1,000,000 requests ($0.20) and 200,000 GB-s at 1 GiB ($3.33).
    assert_eq!(function["monthly_after"], "3.53", "{function}");
    assert_eq!(function["basis"], "declared usage");
    let table = &change(&plan, "dynamodb.table.Events")["cost"];
    // 10,000,000 RRU × $0.125/M + 2,000,000 WRU × $0.625/M, and 4 GB stored × $0.25.
    assert_eq!(table["monthly_after"], "3.50", "{table}");
    assert_eq!(table["monthly_before"], "3.50", "{table}");
    assert_eq!(table["basis"], "declared usage");
    let storage = table["components"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "table storage"))
        .expect("a storage component");
    assert_eq!(storage["monthly"], "1.00", "{storage}");

    let impossible = emulator.stack(
        "impossible.toml",
        "[stack]\nname = \"d\"\n\n[[lambda.functions]]\nname = \"worker\"\nusage = { invocations_per_month = -1, average_duration_ms = 200 }\n",
    );
    emulator
        .pipectl(&["validate", path_str(&impossible)])
        .expect_code(1)
        .expect_stderr("lambda.functions[0].usage");
}

/// `pipectl prices update` reads the list prices from the AWS Price List Query API (the
/// emulator's GetProducts, in AWS's response shape) into the price cache, says what changed,
/// and plans then price with them and their date; a region whose products the Price List lacks
/// is warned about and keeps the earlier prices.
#[test]
fn prices_update_reads_the_price_list_into_the_cache_plans_then_use() {
    let emulator = Emulator::start_with_cluster(
        r#"{"price_overrides": {"EBS:VolumeUsage.gp3": "0.0900000000"}}"#,
    );
    emulator
        .pipectl(&["prices", "update"])
        .expect_code(0)
        .expect_stdout("us-east-1 ebs:gp3:storage: 0.08 -> 0.09")
        .expect_stdout("1 price(s) changed; 21 read for us-east-1");
    let cache: Value = serde_json::from_str(
        &std::fs::read_to_string(emulator.dir().join("prices.json")).expect("the cache"),
    )
    .expect("JSON");
    assert_eq!(
        cache["regions"]["us-east-1"]["ebs:gp3:storage"]["price"],
        "0.09"
    );
    // gp3 throughput comes per GiB/s-month from the Price List: $40.96 / 1024 = $0.04.
    assert_eq!(
        cache["regions"]["us-east-1"]["ebs:gp3:throughput"]["price"],
        "0.04"
    );

    let stack = emulator.stack(
        "k.toml",
        &brokers_stack("min_replicas = 3\nmax_replicas = 10", FASTER_VOLUMES),
    );
    let json = emulator.pipectl(&["plan", path_str(&stack), "-o", "json"]);
    json.expect_code(0);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let volume = &change(&plan, "eks.volume.kafka/data-kafka-broker-0")["cost"];
    assert_eq!(
        volume["monthly_before"], "45.00",
        "500 GiB at $0.09: {volume}"
    );
    assert_eq!(volume["price_date"], cache["date"]);

    emulator
        .pipectl(&["prices", "update", "us-east-2"])
        .expect_code(0)
        .expect_stdout("us-east-2 ebs:gp3:storage: none -> 0.08")
        .expect_stderr("warning: us-east-2 lambda:requests: not found in the Price List");
}
