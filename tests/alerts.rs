//! Alerts (issue 12, item 2): `[kafka.alerts]` and `[[alerts]]` become one PrometheusRule and a
//! Grafana dashboard ConfigMap by server-side apply, when the cluster serves the Prometheus
//! Operator's CRD; planned, applied, drift-checked and ignorable, checked with kubectl.

mod common;

use common::{path_str, Emulator};

const STACK: &str = r#"[stack]
name = "a"

[eks]
kube_context = "fake"
namespace = "kafka"

[kafka.alerts]
consumer_lag_records = 10000
broker_memory_percent = 85

[[alerts]]
name = "LambdaErrors"
expr = "sum(rate(aws_lambda_errors_sum[5m])) > 1"
summary = "The consumer function fails"
"#;

#[test]
fn alerts_become_a_prometheus_rule_and_a_dashboard() {
    let emulator = Emulator::start_with_cluster("{}");
    // The Prometheus Operator's CRD is installed (seed.py does so; said here for the reader).
    let cluster = emulator.cluster();
    cluster.configure(r#"{"prometheus_operator": true}"#);
    let stack = emulator.stack("a.toml", STACK);
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", file])
        .expect_code(0)
        .expect_stdout("+ eks.prometheus_rule.kafka/pipectl-a-alerts will be created")
        .expect_stdout("+ eks.dashboard.kafka/pipectl-a-dashboard will be created")
        .expect_stdout("rules.KafkaConsumerLag");
    emulator
        .apply(&stack)
        .expect_code(0)
        .expect_stdout("Apply complete");
    let rule = cluster.get("prometheusrule", "pipectl-a-alerts");
    let rules = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .clone();
    let names: Vec<&str> = rules.iter().filter_map(|r| r["alert"].as_str()).collect();
    assert_eq!(
        names,
        vec![
            "KafkaUnderReplicatedPartitions",
            "KafkaConsumerLag",
            "KafkaBrokerMemory",
            "LambdaErrors"
        ]
    );
    assert!(
        rules[1]["expr"]
            .as_str()
            .unwrap_or_default()
            .ends_with("> 10000"),
        "{rule}"
    );
    let dashboards = cluster.kubectl(&[
        "get",
        "configmap",
        "-n",
        "kafka",
        "-l",
        "grafana_dashboard=1",
        "-o",
        "name",
    ]);
    dashboards
        .expect_code(0)
        .expect_stdout("configmap/pipectl-a-dashboard");
    emulator
        .pipectl(&["plan", file, "--detailed-exitcode"])
        .expect_code(0);

    // A threshold change is an in-place update of one rule.
    let raised = emulator.stack("raised.toml", &STACK.replace("10000", "50000"));
    emulator
        .pipectl(&["plan", path_str(&raised)])
        .expect_stdout("~ eks.prometheus_rule.kafka/pipectl-a-alerts will be updated in place")
        .expect_stdout("> 50000");
    // Someone edits the rule by hand: drift says so; an ignore rule leaves the rules to them.
    let mut edited = rules.clone();
    edited[3]["expr"] = "vector(1) > 0".into();
    let patch =
        serde_json::json!({"spec": {"groups": [{"name": "pipectl-kafka", "rules": edited}]}});
    cluster
        .merge_patch("prometheusrule", "pipectl-a-alerts", &patch.to_string())
        .expect_code(0);
    emulator
        .pipectl(&["drift", file])
        .expect_code(2)
        .expect_stdout("eks.prometheus_rule.kafka/pipectl-a-alerts changed outside pipectl")
        .expect_stdout("rules.LambdaErrors");
    let ignoring = emulator.stack(
        "ignoring.toml",
        &format!("{STACK}\n[[ignore]]\nresource = \"eks.prometheus_rule.kafka/pipectl-a-alerts\"\nfields = [\"rules\"]\n"),
    );
    emulator
        .pipectl(&["drift", path_str(&ignoring)])
        .expect_code(0);
    // The hand edit made `kubectl-patch` a field manager of the rules: apply takes them back
    // only when told to (as for the HPA).
    emulator
        .apply(&stack)
        .expect_code(1)
        .expect_stderr("spec.groups (owned by kubectl-patch)");
    emulator
        .pipectl(&["apply", "-f", file, "--auto-approve", "--force-conflicts"])
        .expect_code(0);
    let restored = cluster.get("prometheusrule", "pipectl-a-alerts");
    assert_eq!(
        restored["spec"]["groups"][0]["rules"][3]["expr"],
        "sum(rate(aws_lambda_errors_sum[5m])) > 1"
    );
}

#[test]
fn without_the_prometheus_operator_the_plan_says_so_and_writes_only_the_dashboard() {
    let emulator = Emulator::start_with_cluster("{}");
    // seed.py installs the operator's CRD; this cluster has none.
    emulator
        .cluster()
        .configure(r#"{"prometheus_operator": false}"#);
    let stack = emulator.stack("a.toml", STACK);
    emulator
        .pipectl(&["plan", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("does not serve monitoring.coreos.com/v1 PrometheusRule");
    emulator.apply(&stack).expect_code(0);
    emulator
        .cluster()
        .kubectl(&["get", "configmap", "pipectl-a-dashboard", "-n", "kafka"])
        .expect_code(0);
}

#[test]
fn alert_rules_import_as_no_changes_and_a_foreign_rule_is_flagged() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    cluster.configure(r#"{"prometheus_operator": true}"#);
    let stack = emulator.stack("a.toml", STACK);
    emulator.apply(&stack).expect_code(0);
    // pipectl's own rule, imported back, plans as no changes (rule and dashboard).
    let out = emulator.dir().join("imported.toml");
    emulator
        .pipectl(&[
            "import",
            "--stack-name",
            "a",
            "--kube-context",
            "fake",
            "--prometheus-rule",
            "kafka/pipectl-a-alerts",
            "--out",
            path_str(&out),
        ])
        .expect_code(0);
    let text = std::fs::read_to_string(&out).expect("imported");
    assert!(text.contains("name = \"KafkaConsumerLag\""), "{text}");
    assert!(text.contains("name = \"LambdaErrors\""), "{text}");
    emulator
        .pipectl(&["plan", path_str(&out), "--detailed-exitcode"])
        .expect_code(0)
        .expect_stdout("No changes");

    // A team's own rule (kubectl) with a recording rule and a 90 s `for`: its alerts are
    // imported, and the file says to delete the original after the first apply.
    let manifest = emulator.dir().join("team-rule.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: team-kafka\n  namespace: kafka\nspec:\n  groups:\n  - name: team\n    rules:\n    - record: kafka:lag:sum\n      expr: sum(kafka_consumergroup_lag)\n    - alert: KafkaLagHigh\n      expr: kafka:lag:sum > 5000\n      for: 90s\n      labels:\n        severity: page\n      annotations:\n        summary: Lag is high\n",
    )
    .expect("write manifest");
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--validate=false",
            "-f",
            path_str(&manifest),
        ])
        .expect_code(0);
    let team = emulator.pipectl(&[
        "import",
        "--stack-name",
        "a",
        "--kube-context",
        "fake",
        "--prometheus-rule",
        "kafka/team-kafka",
    ]);
    team.expect_code(0)
        .expect_stdout("name = \"KafkaLagHigh\"")
        .expect_stdout("for_minutes = 2")
        .expect_stdout("severity = \"page\"")
        .expect_stdout(
            "# REVIEW: pipectl writes these rules to PrometheusRule kafka/pipectl-a-alerts",
        )
        .expect_stderr("recording rules are not alerts and are left out: kafka:lag:sum")
        .expect_stderr("rounded up: KafkaLagHigh (for: 90s)");
}

/// Another field manager (a team's `kubectl apply --server-side`) wrote the rule pipectl
/// manages: the plan lists the fields it would take, and apply takes them only with
/// --force-conflicts, as for the HPA (issue 18, item 11).
#[test]
fn a_rule_another_field_manager_owns_is_taken_only_with_force_conflicts() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    cluster.configure(r#"{"prometheus_operator": true}"#);
    let manifest = emulator.dir().join("theirs.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: pipectl-a-alerts\n  namespace: kafka\nspec:\n  groups:\n  - name: theirs\n    rules:\n    - alert: TheirAlert\n      expr: up == 0\n",
    )
    .expect("write manifest");
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--field-manager",
            "team-gitops",
            "--validate=false",
            "-f",
            path_str(&manifest),
        ])
        .expect_code(0);
    let stack = emulator.stack("a.toml", STACK);
    emulator
        .pipectl(&["plan", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("eks.prometheus_rule.kafka/pipectl-a-alerts will be updated")
        .expect_stdout("another field manager owns")
        .expect_stdout("team-gitops");
    emulator
        .apply(&stack)
        .expect_code(1)
        .expect_stderr("--force-conflicts");
    let rule = cluster.get("prometheusrule", "pipectl-a-alerts");
    assert_eq!(rule["spec"]["groups"][0]["name"], "theirs", "{rule}");
    emulator
        .pipectl(&[
            "apply",
            "-f",
            path_str(&stack),
            "--auto-approve",
            "--force-conflicts",
        ])
        .expect_code(0)
        .expect_stdout("Apply complete");
}

/// The brokers and the alerts share the run's one cluster connection (issue 19, item 2): one
/// DescribeCluster per plan, and a cluster that cannot be reached is reported once.
#[test]
fn the_brokers_and_the_alerts_share_one_cluster_connection() {
    let emulator = Emulator::start_with_eks_token_cluster();
    emulator
        .cluster()
        .configure(r#"{"prometheus_operator": true}"#);
    let both = common::brokers_stack("min_replicas = 3\nmax_replicas = 6", "")
        .replace("kube_context = \"fake\"", "cluster = \"kafka-logs\"")
        + "\n[kafka.alerts]\nconsumer_lag_records = 10000\n";
    let stack = emulator.stack("both.toml", &both);
    // EKS's REST API: DescribeCluster is GET /clusters/NAME.
    let describe = "eks:GET /clusters/kafka-logs";
    let before = emulator.call_count(describe);
    emulator
        .pipectl(&["plan", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("eks.prometheus_rule.kafka/pipectl-k-alerts");
    assert_eq!(emulator.call_count(describe) - before, 1);
    // A cluster that does not exist: one error, not one per kind.
    let missing = emulator.stack(
        "missing.toml",
        &both.replace("kafka-logs", "no-such-cluster"),
    );
    let run = emulator.pipectl(&["plan", path_str(&missing)]);
    run.expect_code(1);
    assert_eq!(
        run.stderr
            .matches("error: eks.cluster.no-such-cluster")
            .count(),
        1,
        "{}",
        run.stderr
    );
}

/// `--target` reaches the brokers family too (issue 19): a plan that targets none of its
/// resources does not reach the cluster, and one that targets the HPA reads no volume.
#[test]
fn the_brokers_family_reads_only_what_a_target_can_select() {
    let emulator = Emulator::start_with_eks_token_cluster();
    emulator.seed_functions(&["app-fn"]);
    let text = common::brokers_stack(
        "min_replicas = 3\nmax_replicas = 6",
        common::STORAGE_AT_BASELINE,
    )
    .replace("kube_context = \"fake\"", "cluster = \"kafka-logs\"")
        + "\n[[lambda.functions]]\nname = \"app-fn\"\ntimeout_seconds = 30\n";
    let stack = emulator.stack("targets.toml", &text);
    let describe = "eks:GET /clusters/kafka-logs";
    let (clusters, volumes) = (
        emulator.call_count(describe),
        emulator.call_count("ec2:DescribeVolumes"),
    );
    emulator
        .pipectl(&[
            "plan",
            path_str(&stack),
            "--target",
            "lambda.function.app-fn",
        ])
        .expect_code(0)
        .expect_stdout("lambda.function.app-fn");
    assert_eq!(
        emulator.call_count(describe),
        clusters,
        "the cluster was reached"
    );
    emulator
        .pipectl(&["plan", path_str(&stack), "--target", "eks.hpa.*"])
        .expect_code(0)
        .expect_stdout("eks.hpa.kafka/");
    assert_eq!(emulator.call_count(describe), clusters + 1);
    assert_eq!(
        emulator.call_count("ec2:DescribeVolumes"),
        volumes,
        "volumes were read"
    );
    // Without targets, the volumes are read as before.
    emulator.pipectl(&["plan", path_str(&stack)]).expect_code(0);
    assert!(emulator.call_count("ec2:DescribeVolumes") > volumes);
}

/// A trigger that names no consumer group consumes as the group Lambda gave its mapping (the
/// mapping's UUID): the lag alert watches that group, read from the live mapping; before the
/// mapping exists nobody can know it, and the plan says to name a group (issue 21, item 9).
#[test]
fn the_lag_alert_watches_the_group_lambda_gave_the_mapping() {
    let emulator = Emulator::start_with_cluster("{}");
    emulator
        .cluster()
        .configure(r#"{"prometheus_operator": true}"#);
    emulator.seed_functions(&["consumer"]);
    let trigger = "[stack]\nname = \"a\"\n\n[eks]\nkube_context = \"fake\"\nnamespace = \"kafka\"\n\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\n";
    let alerts = "\n[kafka.alerts]\nconsumer_lag_records = 10000\n";
    let stack = emulator.stack("lag.toml", &format!("{trigger}{alerts}"));
    let file = path_str(&stack);
    emulator
        .pipectl(&["plan", file])
        .expect_code(1)
        .expect_stderr("the consumer lag alert cannot name consumer's consumer group")
        .expect_stderr("set consumer_group_id on the trigger");

    std::fs::write(&stack, trigger).expect("the stack without alerts");
    emulator.apply(&stack).expect_code(0);
    let listed = common::aws_cli(
        &[
            "lambda",
            "list-event-source-mappings",
            "--function-name",
            "consumer",
        ],
        Some(&emulator.endpoint),
    );
    let listed: serde_json::Value = serde_json::from_slice(&listed).expect("JSON");
    let uuid = listed["EventSourceMappings"][0]["UUID"]
        .as_str()
        .expect("the mapping's UUID")
        .to_string();
    std::fs::write(&stack, format!("{trigger}{alerts}")).expect("the stack with alerts");
    emulator.apply(&stack).expect_code(0);
    let rule = emulator.cluster().get("prometheusrule", "pipectl-a-alerts");
    let lag = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["alert"] == "KafkaConsumerLag"))
        .expect("the lag rule")
        .clone();
    let expr = lag["expr"].as_str().unwrap_or_default();
    assert!(
        expr.contains(&format!("consumergroup=~\"{uuid}\"")),
        "{expr}"
    );
    emulator
        .pipectl(&["plan", file, "--detailed-exitcode"])
        .expect_code(0);
}

/// The broker memory alert divides only by a real limit (cAdvisor reports 0 for a container
/// without one: the ratio would be +Inf and fire forever), and the plan says when the brokers
/// have none: the seeded StatefulSet sets only a memory request (issue 21, item 8).
#[test]
fn the_memory_alert_needs_a_memory_limit_and_says_so() {
    let emulator = Emulator::start_with_cluster("{}");
    emulator
        .cluster()
        .configure(r#"{"prometheus_operator": true}"#);
    let stack = emulator.stack(
        "memory.toml",
        &(common::brokers_stack("min_replicas = 3\nmax_replicas = 6", "")
            + "\n[kafka.alerts]\nbroker_memory_percent = 85\n"),
    );
    emulator
        .pipectl(&["plan", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("KafkaBrokerMemory never fires for container kafka of StatefulSet kafka/kafka-broker: it has no memory limit");
    emulator.apply(&stack).expect_code(0);
    let rule = emulator.cluster().get("prometheusrule", "pipectl-k-alerts");
    let memory = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["alert"] == "KafkaBrokerMemory"))
        .expect("the memory rule")
        .clone();
    let expr = memory["expr"].as_str().unwrap_or_default();
    assert!(
        expr.contains("/ (container_spec_memory_limit_bytes{") && expr.contains("} > 0))"),
        "{expr}"
    );
}

/// Rules Prometheus's loader (rulefmt) would refuse fail validate, located (issue 21, item 6):
/// an expr that is not PromQL, a summary or severity that is not a Go template. The fake API
/// server's Prometheus Operator webhook checks rules with promtool, the real loader: pipectl's
/// generated rules (escaped consumer groups included) pass it, and `promtool check rules` on
/// the applied group agrees.
#[test]
fn rules_prometheus_would_refuse_fail_validate_and_generated_ones_load() {
    let emulator = Emulator::start_with_cluster("{}");
    let bad = emulator.stack(
        "bad.toml",
        "[stack]\nname = \"a\"\n\n[eks]\nkube_context = \"fake\"\nnamespace = \"kafka\"\n\n[[alerts]]\nname = \"LambdaErrors\"\nexpr = \"sum(rate(aws_lambda_errors_sum[5m]) > 1\"\nsummary = \"Errors: {{ $value \"\n\n[[alerts]]\nname = \"Throttles\"\nexpr = \"sum(rate(aws_lambda_throttles_sum[5m])) > 0\"\nseverity = \"{{ }}\"\n",
    );
    emulator
        .pipectl(&["validate", path_str(&bad)])
        .expect_code(1)
        .expect_stderr("alerts[0].expr")
        .expect_stderr("expr is not PromQL Prometheus can load")
        .expect_stderr("bad.toml:10")
        .expect_stderr("summary is not a Go template Prometheus can parse: unclosed action")
        .expect_stderr("severity is not a Go template");

    // The double: the operator's webhook refuses what promtool refuses.
    let cluster = emulator.cluster();
    cluster.configure(r#"{"prometheus_operator": true, "prometheus_rule_webhook": true}"#);
    let broken = dir_file(
        &emulator,
        "broken.json",
        r#"{"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "broken", "namespace": "kafka"}, "spec": {"groups": [{"name": "g", "rules": [{"alert": "Broken", "expr": "sum(rate(x[5m])"}]}]}}"#,
    );
    cluster
        .kubectl(&["apply", "--validate=false", "-f", path_str(&broken)])
        .expect_code(1)
        .expect_stderr("denied the request");

    let good = emulator.stack(
        "good.toml",
        &format!(
            "{STACK}\n[[lambda.functions]]\nname = \"consumer\"\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"logs\"\nconsumer_group_id = \"logs.v2+blue@team/a*\"\nhealth_timeout_seconds = 0\n"
        ),
    );
    emulator.seed_functions(&["consumer"]);
    emulator.apply(&good).expect_code(0);
    let rule = cluster.get("prometheusrule", "pipectl-a-alerts");
    let groups = dir_file(&emulator, "groups.json", &rule["spec"].to_string());
    let checked = std::process::Command::new("promtool")
        .args(["check", "rules", path_str(&groups)])
        .output()
        .expect("promtool (Debian package prometheus; ./scripts/setup installs it)");
    assert!(
        checked.status.success(),
        "promtool refused pipectl's rules: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(String::from_utf8_lossy(&checked.stdout).contains("SUCCESS: 4 rules found"));
}

fn dir_file(emulator: &Emulator, name: &str, text: &str) -> std::path::PathBuf {
    let path = emulator.dir().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// A default kube-prometheus-stack Prometheus selects PrometheusRules by `release` (issue 21,
/// item 7): without that label the plan warns that no Prometheus loads the rule; with
/// `rule_labels` it is written on the object and the warning goes.
#[test]
fn a_rule_no_prometheus_selects_is_warned_about_and_rule_labels_fix_it() {
    let emulator = Emulator::start_with_cluster("{}");
    let cluster = emulator.cluster();
    cluster.configure(r#"{"prometheus_operator": true}"#);
    cluster.seed(&serde_json::json!([{
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "kube-prometheus-stack-prometheus", "namespace": "monitoring"},
        "spec": {
            "ruleSelector": {"matchLabels": {"release": "kube-prometheus-stack"}},
            "ruleNamespaceSelector": {}
        }
    }]));
    let stack = emulator.stack("a.toml", STACK);
    emulator
        .pipectl(&["plan", path_str(&stack)])
        .expect_code(0)
        .expect_stdout("no Prometheus in the cluster loads this rule")
        .expect_stdout("monitoring/kube-prometheus-stack-prometheus selects rules by release=kube-prometheus-stack in namespaces matching everything");
    emulator.apply(&stack).expect_code(0);

    let labelled = emulator.stack(
        "a.toml",
        &STACK.replace(
            "[kafka.alerts]\n",
            "[kafka.alerts]\nrule_labels = { release = \"kube-prometheus-stack\" }\n",
        ),
    );
    let plan = emulator.pipectl(&["plan", path_str(&labelled)]);
    plan.expect_code(0)
        .expect_stdout("+ labels.release: kube-prometheus-stack");
    assert!(!plan.stdout.contains("no Prometheus"), "{}", plan.stdout);
    emulator.apply(&labelled).expect_code(0);
    let rule = cluster.get("prometheusrule", "pipectl-a-alerts");
    assert_eq!(
        rule["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    emulator
        .pipectl(&["plan", path_str(&labelled), "--detailed-exitcode"])
        .expect_code(0);
}
