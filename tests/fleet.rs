//! Drift across a fleet (issue 24): four accounts on the emulator (moto is multi-account:
//! assuming a role in another account gives credentials of it), each with a `pipectl-drift`
//! role holding exactly `pipectl permissions --for drift`, a table and a Lambda function of the
//! same names in every account; the runner may assume three of the roles.
//! One run checks every stack with its account's role, once per account, and reports per
//! stack, grouped by cause, as OpenMetrics, in shards and merged.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{aws_cli, path_str, Emulator};
use serde_json::Value;

const IN_SYNC: &str = "111111111111";
const DRIFTED_1: &str = "222222222222";
const DRIFTED_2: &str = "333333333333";
const DENIED: &str = "444444444444";
const RUNNER_ACCOUNT: &str = "123456789012";

/// A stack of one table in `account`.
fn table_stack(account: &str) -> String {
    format!(
        "[stack]\nname = \"logs\"\nregion = \"us-east-1\"\naccount_id = \"{account}\"\n\n[[dynamodb.tables]]\nname = \"Logs\"\nbilling_mode = \"PAY_PER_REQUEST\"\npartition_key = {{ name = \"id\", type = \"S\" }}\n"
    )
}

/// The logs stack: the table Logs and the Lambda function consumer with 1024 MiB.
fn stack_text(account: &str) -> String {
    format!(
        "{}\n[[lambda.functions]]\nname = \"consumer\"\nmemory_mib = 1024\n",
        table_stack(account)
    )
}

/// A table keyed on `id` (S), made with an account's credentials, billed as `billing` says.
fn create_table(emulator: &Emulator, credentials: &Value, name: &str, billing: &[&str]) {
    let mut create = vec![
        "dynamodb",
        "create-table",
        "--table-name",
        name,
        "--attribute-definitions",
        "AttributeName=id,AttributeType=S",
        "--key-schema",
        "AttributeName=id,KeyType=HASH",
    ];
    create.extend(billing);
    emulator.aws_as(credentials, &create);
}

/// The role pipectl-drift in `account`: trusting the runner's account, with exactly the policy
/// `pipectl permissions --for drift` generates for `stack`.
fn drift_role(emulator: &Emulator, account: &str, stack: &std::path::Path) {
    let credentials = emulator.account_credentials(account);
    emulator.aws_as(
        &credentials,
        &[
            "iam",
            "create-role",
            "--role-name",
            "pipectl-drift",
            "--assume-role-policy-document",
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{RUNNER_ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            ),
        ],
    );
    grant_drift(emulator, &credentials, stack, "drift");
}

/// Adds to the account's pipectl-drift role, as the inline policy `name`, what `pipectl
/// permissions --for drift` generates for `stack`.
fn grant_drift(emulator: &Emulator, credentials: &Value, stack: &std::path::Path, name: &str) {
    let policy = emulator.pipectl(&["permissions", "-f", path_str(stack), "--for", "drift"]);
    policy.expect_code(0);
    emulator.aws_as(
        credentials,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "pipectl-drift",
            "--policy-name",
            name,
            "--policy-document",
            &policy.stdout,
        ],
    );
}

/// The fleet: in each account the role pipectl-drift with the generated drift policy and the
/// table Logs (on demand where in sync, provisioned where drifted); a second stack in the
/// in-sync account (its role is assumed once for both); the runner, an IAM user of another
/// account, may assume the roles of all but the denied account.
fn fleet(emulator: &Emulator) -> (std::path::PathBuf, (String, String)) {
    let dir = emulator.dir().join("fleet");
    std::fs::create_dir_all(&dir).expect("fleet dir");
    for account in [IN_SYNC, DRIFTED_1, DRIFTED_2, DENIED] {
        let stack = dir.join(format!("logs-{account}.toml"));
        std::fs::write(&stack, stack_text(account)).expect("stack");
        drift_role(emulator, account, &stack);
        let credentials = emulator.account_credentials(account);
        let billing: &[&str] = if account == DRIFTED_1 || account == DRIFTED_2 {
            &[
                "--billing-mode",
                "PROVISIONED",
                "--provisioned-throughput",
                "ReadCapacityUnits=5,WriteCapacityUnits=5",
            ]
        } else {
            &["--billing-mode", "PAY_PER_REQUEST"]
        };
        create_table(emulator, &credentials, "Logs", billing);
        // The function consumer of the same name in every account (the emulator keeps each
        // account's functions apart, as AWS does); half the memory where drifted.
        emulator.seed(&[
            "--role-arn",
            &format!("arn:aws:iam::{account}:role/seeder"),
            "function",
            "consumer",
        ]);
        let drifted = account == DRIFTED_1 || account == DRIFTED_2;
        emulator.aws_as(
            &credentials,
            &[
                "lambda",
                "update-function-configuration",
                "--function-name",
                "consumer",
                "--memory-size",
                if drifted { "512" } else { "1024" },
            ],
        );
    }
    // A second stack of the in-sync account: its table Audit.
    let audit = table_stack(IN_SYNC)
        .replace("name = \"logs\"", "name = \"audit\"")
        .replace("name = \"Logs\"", "name = \"Audit\"");
    std::fs::write(dir.join("audit.toml"), &audit).expect("stack");
    let credentials = emulator.account_credentials(IN_SYNC);
    // The account's role may drift-check both of its stacks.
    grant_drift(
        emulator,
        &credentials,
        &dir.join("audit.toml"),
        "drift-audit",
    );
    create_table(
        emulator,
        &credentials,
        "Audit",
        &["--billing-mode", "PAY_PER_REQUEST"],
    );
    let allowed: Vec<String> = [IN_SYNC, DRIFTED_1, DRIFTED_2]
        .iter()
        .map(|a| format!("arn:aws:iam::{a}:role/pipectl-drift"))
        .collect();
    let runner = emulator.iam_user(
        "fleet-runner",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": allowed},
            {"Sid": "CoverageHasNoResourceType", "Effect": "Allow", "Action": "organizations:ListAccounts", "Resource": "*"}
        ]})
        .to_string(),
    );
    // The organization (the runner's account is its management account) with two member
    // accounts moto names itself.
    let endpoint = Some(emulator.endpoint.as_str());
    aws_cli(
        &[
            "organizations",
            "create-organization",
            "--feature-set",
            "ALL",
        ],
        endpoint,
    );
    for name in ["payments", "search"] {
        aws_cli(
            &[
                "organizations",
                "create-account",
                "--email",
                &format!("{name}@example.com"),
                "--account-name",
                name,
            ],
            endpoint,
        );
    }
    emulator.configure(r#"{"iam_enforcement": true, "quotas": true}"#);
    emulator.clear_log();
    (dir, runner)
}

fn drift(emulator: &Emulator, runner: &(String, String), args: &[&str]) -> common::Run {
    let mut all = vec![
        "drift",
        "--role-arn-template",
        "arn:aws:iam::{account_id}:role/pipectl-drift",
    ];
    all.extend(args);
    emulator.pipectl_with(
        &all,
        &[
            ("AWS_ACCESS_KEY_ID", &runner.0),
            ("AWS_SECRET_ACCESS_KEY", &runner.1),
        ],
    )
}

fn statuses(report: &Value) -> BTreeSet<(String, String, String)> {
    report["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            (
                s["account_id"].as_str().unwrap_or("").to_string(),
                s["stack"].as_str().unwrap_or("").to_string(),
                s["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_fleet_is_checked_account_by_account_and_reported_by_cause() {
    let emulator = Emulator::start("{}");
    let (dir, runner) = fleet(&emulator);
    let dir = path_str(&dir);
    let before = emulator.call_count("sts:AssumeRole");
    let identities_before = emulator.call_count("sts:GetCallerIdentity");

    let json = drift(&emulator, &runner, &[dir, "-o", "json"]);
    json.expect_code(1);
    let report: Value = serde_json::from_str(&json.stdout).expect("report");
    common::assert_matches_schema(&json.stdout);
    let expected: BTreeSet<(String, String, String)> = [
        (IN_SYNC, "logs", "in_sync"),
        (IN_SYNC, "audit", "in_sync"),
        (DRIFTED_1, "logs", "drifted"),
        (DRIFTED_2, "logs", "drifted"),
        (DENIED, "logs", "error"),
    ]
    .iter()
    .map(|(a, s, t)| (a.to_string(), s.to_string(), t.to_string()))
    .collect();
    assert_eq!(statuses(&report), expected);
    assert!(report["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .all(|s| s["region"] == "us-east-1"));
    let denied = report["stacks"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["account_id"] == DENIED))
        .expect("denied stack");
    let error = denied["error"].as_str().unwrap_or("");
    assert!(
        error.contains(&format!(
            "assuming role arn:aws:iam::{DENIED}:role/pipectl-drift failed"
        )),
        "{error}"
    );
    // One AssumeRole per account (the in-sync account's two stacks share theirs), and no
    // GetCallerIdentity: AssumeRole's answer says whose the credentials are.
    assert_eq!(emulator.call_count("sts:AssumeRole") - before, 4);
    assert_eq!(
        emulator.call_count("sts:GetCallerIdentity") - identities_before,
        0
    );
    // Each account was read as its own role, which only its generated policy allows.
    let refused: Vec<Value> = emulator
        .authorizations()
        .into_iter()
        .filter(|a| a["decision"] != "allowed" && a["action"] != "sts:AssumeRole")
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    // Read-only: nothing written anywhere.
    assert!(
        emulator
            .mutating_calls()
            .iter()
            .all(|c| c.operation == "AssumeRole"),
        "{:?}",
        emulator.mutating_calls()
    );

    // The text report tells the shared difference once.
    let text = drift(&emulator, &runner, &[dir]);
    text.expect_code(1)
        .expect_stdout("The same difference in several stacks:")
        .expect_stdout(&format!(
            "`dynamodb.table.Logs billing_mode`: file PAY_PER_REQUEST, live PROVISIONED in 2 stacks: {DRIFTED_1} (logs), {DRIFTED_2} (logs)"
        ))
        .expect_stdout(&format!(
            "`lambda.function.consumer memory_mib`: file 1024, live 512 in 2 stacks: {DRIFTED_1} (logs), {DRIFTED_2} (logs)"
        ));

    // The Markdown report (a PR comment or an issue) tells it once too, under its heading.
    let markdown = drift(&emulator, &runner, &[dir, "-o", "markdown"]);
    markdown
        .expect_code(1)
        .expect_stdout(
            "**The same difference in several stacks:**\n\n- `dynamodb.table.Logs billing_mode`",
        )
        .expect_stdout(&format!(
            "in 2 stacks: {DRIFTED_1} (logs), {DRIFTED_2} (logs)"
        ));

    // OpenMetrics for the textfile collector.
    let metrics = drift(&emulator, &runner, &[dir, "-o", "openmetrics"]);
    metrics.expect_code(1);
    assert!(metrics.stdout.ends_with("# EOF\n"), "{}", metrics.stdout);
    for line in [
        format!("pipectl_drift_resources{{account=\"{DRIFTED_1}\",region=\"us-east-1\",stack=\"logs\"}} 2"),
        format!("pipectl_drift_resources{{account=\"{IN_SYNC}\",region=\"us-east-1\",stack=\"audit\"}} 0"),
        format!("pipectl_drift_stack_errors{{account=\"{DENIED}\",region=\"us-east-1\",stack=\"logs\"}} 1"),
        "pipectl_drift_run_success 0".to_string(),
    ] {
        assert!(metrics.stdout.contains(&line), "{line} missing:\n{}", metrics.stdout);
    }
    promtool_accepts(&emulator, &metrics.stdout);

    // Two shards check every stack once; merged, they are the whole report. The
    // organization's coverage is the whole fleet's, listed by shard 0 only.
    let mut shards = vec![];
    for index in 0..2 {
        let shard = drift(
            &emulator,
            &runner,
            &[
                dir,
                "-o",
                "json",
                "--organization",
                "--shard",
                &format!("{index}/2"),
            ],
        );
        let report: Value = serde_json::from_str(&shard.stdout).expect("shard report");
        let outside = report["coverage"]["stacks_outside"]
            .as_array()
            .map(Vec::len);
        assert_eq!(outside, (index == 0).then_some(5), "{}", shard.stdout);
        let file = emulator.stack(&format!("shard-{index}.json"), &shard.stdout);
        shards.push((statuses(&report), file));
    }
    assert!(shards[0].0.is_disjoint(&shards[1].0), "{shards:?}");
    let union: BTreeSet<_> = shards[0].0.union(&shards[1].0).cloned().collect();
    assert_eq!(union, expected);
    let merged = emulator.pipectl(&[
        "drift",
        "--merge",
        path_str(&shards[0].1),
        path_str(&shards[1].1),
        "-o",
        "json",
    ]);
    merged.expect_code(1);
    let merged_report: Value = serde_json::from_str(&merged.stdout).expect("merged");
    assert_eq!(statuses(&merged_report), expected);
    assert_eq!(
        merged_report["coverage"]["stacks_outside"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );

    // Coverage: the organization's accounts no stack names, and stacks outside it.
    let covered = drift(&emulator, &runner, &[dir, "--organization", "-o", "json"]);
    covered.expect_code(1);
    let coverage = &serde_json::from_str::<Value>(&covered.stdout).expect("report")["coverage"];
    let uncovered: Vec<&str> = coverage["uncovered_accounts"]
        .as_array()
        .expect("uncovered")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(
        uncovered.contains(&"payments") && uncovered.contains(&"search"),
        "{coverage}"
    );
    assert_eq!(
        coverage["stacks_outside"].as_array().map(Vec::len),
        Some(5),
        "{coverage}"
    );
    drift(&emulator, &runner, &[dir, "--organization"])
        .expect_stdout("active accounts of the organization have no stack:")
        .expect_stdout("(payments)");

    // A stack may name its own role (`[stack] role_arn`): no template needed, the same role.
    let own_role = emulator.stack(
        "own-role.toml",
        &stack_text(IN_SYNC).replace(
            &format!("account_id = \"{IN_SYNC}\"\n"),
            &format!(
                "account_id = \"{IN_SYNC}\"\nrole_arn = \"arn:aws:iam::{IN_SYNC}:role/pipectl-drift\"\n"
            ),
        ),
    );
    let before_own = emulator.call_count("sts:AssumeRole");
    let own = emulator.pipectl_with(
        &["drift", path_str(&own_role), "-o", "json"],
        &[
            ("AWS_ACCESS_KEY_ID", &runner.0),
            ("AWS_SECRET_ACCESS_KEY", &runner.1),
        ],
    );
    own.expect_code(0);
    let own: Value = serde_json::from_str(&own.stdout).expect("report");
    assert_eq!(
        statuses(&own),
        BTreeSet::from([(
            IN_SYNC.to_string(),
            "logs".to_string(),
            "in_sync".to_string()
        )])
    );
    assert_eq!(emulator.call_count("sts:AssumeRole") - before_own, 1);

    // A scheduled job writes the report whole to a file, and drift alone need not fail it.
    let mut drifted_only: Value = serde_json::from_str(&merged.stdout).expect("merged");
    if let Some(stacks) = drifted_only["stacks"].as_array_mut() {
        stacks.retain(|s| s["status"] == "drifted");
    }
    let drifted_file = emulator.stack("drifted.json", &drifted_only.to_string());
    let out = emulator.dir().join("merged.prom");
    emulator
        .pipectl(&[
            "drift",
            "--merge",
            path_str(&drifted_file),
            "-o",
            "openmetrics",
            "--out",
            path_str(&out),
        ])
        .expect_code(2);
    let written = std::fs::read_to_string(&out).expect("--out file");
    assert!(
        written.ends_with("# EOF\n") && written.contains("pipectl_drift_run_success 1"),
        "{written}"
    );
    emulator
        .pipectl(&[
            "drift",
            "--merge",
            path_str(&drifted_file),
            "--drift-exit-code",
            "0",
        ])
        .expect_code(0);
}

/// promtool (Prometheus's own parser) reads the OpenMetrics text.
fn promtool_accepts(emulator: &Emulator, text: &str) {
    let file = emulator.stack("drift.prom", text);
    let output = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("metrics file"))
        .output()
        .expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!said.contains("error"), "promtool: {said}");
}

/// deploy/kubernetes/ is accepted by the (fake) API server through kubectl, and its CronJob
/// runs an Indexed Job whose shard count matches its completions, the merge step reading what
/// the shards write.
#[test]
fn the_kubernetes_deployment_applies_and_shards_as_its_job_runs() {
    let emulator = Emulator::start_with_cluster("{}");
    let deploy = common::repo().join("deploy/kubernetes");
    let applied = emulator.cluster().kubectl(&[
        "apply",
        "--server-side",
        "--validate=false",
        "-f",
        path_str(&deploy),
    ]);
    assert_eq!(applied.code, 0, "{}", applied.all());
    let cronjob = emulator.cluster().kubectl(&[
        "get",
        "cronjob",
        "pipectl-drift",
        "-n",
        "pipectl",
        "-o",
        "json",
    ]);
    assert_eq!(cronjob.code, 0, "{}", cronjob.all());
    let cronjob: Value = serde_json::from_str(&cronjob.stdout).expect("CronJob JSON");
    let job = &cronjob["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"], "Indexed");
    let completions = job["completions"].as_u64().expect("completions");
    assert_eq!(job["parallelism"].as_u64(), Some(completions));
    let pod = &job["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "pipectl-drift");
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let shard = args
        .iter()
        .position(|a| *a == "--shard")
        .map(|at| args[at + 1])
        .expect("--shard");
    assert_eq!(shard, format!("$(SHARD_INDEX)/{completions}"));
    assert!(
        args.contains(&"/reports/shard-$(SHARD_INDEX).json"),
        "{args:?}"
    );
    let index_env = container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "SHARD_INDEX"))
        .expect("SHARD_INDEX");
    assert_eq!(
        index_env["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    // The shard argument as each pod gets it: the pods together check a stack exactly once.
    let dir = emulator.dir().join("stacks");
    std::fs::create_dir_all(&dir).expect("stacks dir");
    std::fs::write(dir.join("logs.toml"), stack_text(IN_SYNC)).expect("stack");
    let mut checked_by = vec![];
    for index in 0..completions {
        let own = shard.replace("$(SHARD_INDEX)", &index.to_string());
        let run = emulator.pipectl(&["drift", path_str(&dir), "--shard", &own, "-o", "json"]);
        let report: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{own}: {e}: {}", run.all()));
        if !report["stacks"].as_array().expect("stacks").is_empty() {
            checked_by.push(index);
        }
    }
    assert_eq!(checked_by.len(), 1, "{checked_by:?}");
    let merge = emulator.cluster().kubectl(&[
        "get",
        "cronjob",
        "pipectl-drift-merge",
        "-n",
        "pipectl",
        "-o",
        "json",
    ]);
    let merge: Value = serde_json::from_str(&merge.stdout).expect("merge CronJob JSON");
    let merge_args = merge["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        ["args"]
        .to_string();
    assert!(
        merge_args.contains("\"--merge\",\"/reports\""),
        "{merge_args}"
    );
    let account = emulator.cluster().kubectl(&[
        "get",
        "serviceaccount",
        "pipectl-drift",
        "-n",
        "pipectl",
        "-o",
        "json",
    ]);
    assert_eq!(account.code, 0, "{}", account.all());
}

/// A role template that is no role ARN, or names no account, is refused before any call.
#[test]
fn a_bad_role_template_is_refused_before_any_call() {
    let emulator = Emulator::start("{}");
    let stack = emulator.stack("logs.toml", &stack_text(IN_SYNC));
    for template in [
        "arn:aws:iam::123456789012:role/fixed",
        "pipectl-drift-{account_id}",
    ] {
        let run = emulator.pipectl(&["drift", path_str(&stack), "--role-arn-template", template]);
        run.expect_code(1)
            .expect_stderr("is not a role ARN template");
    }
    assert_eq!(emulator.call_count("sts:AssumeRole"), 0);
}

/// The brokers' stack of `account`: its EKS cluster kafka-logs as `seed.py kafka` makes it.
fn brokers_stack(account: &str) -> String {
    format!(
        "[stack]\nname = \"brokers\"\nregion = \"us-east-1\"\naccount_id = \"{account}\"\n\n\
         [eks]\ncluster = \"kafka-logs\"\nnamespace = \"kafka\"\n\n\
         [kafka.brokers]\nstatefulset = \"kafka-broker\"\nmin_replicas = 3\nmax_replicas = 10\n\
         target_cpu_utilization = 70\nreplication_factor = 3\n\n\
         [kafka.storage]\nstorage_class = \"kafka-gp3\"\nvolume_type = \"gp3\"\niops = 3000\n\
         throughput_mibps = 125\nencrypted = true\nvolume_size_gib = 500\n"
    )
}

/// A fleet's brokers on EKS in two accounts, each cluster with an endpoint and a fake API
/// server of its own. The token pipectl signs for each account's cluster is that account's
/// role's (the fake asks the emulator's STS whose token it is and maps the role through its
/// access entry; the other account's role has none there), the volumes are read as that role
/// too, each stack is compared with its own cluster, and the RBAC `pipectl permissions --for
/// drift` generates is all it needs.
#[test]
fn each_accounts_cluster_is_read_with_a_token_of_its_role() {
    let accounts = [DRIFTED_1, DRIFTED_2];
    let emulator = Emulator::start("{}");
    let dir = emulator.dir().join("fleet");
    std::fs::create_dir_all(&dir).expect("fleet dir");
    let mut clusters = vec![];
    for (account, max_replicas) in [(DRIFTED_1, 10), (DRIFTED_2, 12)] {
        let cluster = emulator.eks_cluster_in(account);
        // The brokers scale down no more (the file's default); in the second account someone
        // raised the ceiling by hand.
        let hpa = serde_json::json!({"spec": {"maxReplicas": max_replicas,
            "behavior": {"scaleDown": {"selectPolicy": "Disabled"}}}});
        cluster
            .merge_patch("hpa", "kafka-broker-hpa", &hpa.to_string())
            .expect_code(0);
        let stack = dir.join(format!("brokers-{account}.toml"));
        std::fs::write(&stack, brokers_stack(account)).expect("stack");
        drift_role(&emulator, account, &stack);
        let role = format!("arn:aws:iam::{account}:role/pipectl-drift");
        let rbac = emulator.pipectl(&[
            "permissions",
            "-f",
            path_str(&stack),
            "--for",
            "drift",
            "--format",
            "k8s-rbac",
            "--kube-group",
            "pipectl-drift",
            "--principal-arn",
            &role,
        ]);
        rbac.expect_code(0);
        cluster.apply_file(&emulator.stack(&format!("rbac-{account}.yaml"), &rbac.stdout));
        cluster.configure(
            &serde_json::json!({"rbac": true, "sts_endpoint": emulator.endpoint, "access_entries": {
                role: {"username": format!("drift-{account}"), "groups": ["pipectl-drift"]}
            }})
            .to_string(),
        );
        clusters.push(cluster);
    }
    let runner = emulator.iam_user(
        "fleet-runner",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Resource": "arn:aws:iam::*:role/pipectl-drift"}
        ]})
        .to_string(),
    );
    emulator.configure(r#"{"iam_enforcement": true}"#);

    let run = drift(&emulator, &runner, &[path_str(&dir), "-o", "json"]);
    run.expect_code(2);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()));
    let expected: BTreeSet<(String, String, String)> = [
        (DRIFTED_1, "brokers", "in_sync"),
        (DRIFTED_2, "brokers", "drifted"),
    ]
    .iter()
    .map(|(a, s, t)| (a.to_string(), s.to_string(), t.to_string()))
    .collect();
    assert_eq!(statuses(&report), expected, "{}", run.all());
    let drifted = report["stacks"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["account_id"] == DRIFTED_2))
        .expect("the second account's stack");
    assert!(
        drifted.to_string().contains("max_replicas"),
        "the second cluster's HPA ceiling: {drifted}"
    );
    for (account, cluster) in accounts.iter().zip(&clusters) {
        // Every request to an account's cluster was its own role's (through its access entry)
        // and allowed.
        let requests = cluster.authorizations();
        assert!(
            !requests.is_empty(),
            "{account}: no request reached its cluster"
        );
        assert!(
            requests
                .iter()
                .all(|a| a["user"] == format!("drift-{account}") && a["allowed"] == true),
            "{account}: {requests:?}"
        );
        // The volumes were read in the account, as its role.
        assert!(emulator.authorizations().iter().any(|a| {
            a["action"] == "ec2:DescribeVolumes"
                && a["principal"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!("{account}:assumed-role/pipectl-drift"))
        }));
    }
    let refused: Vec<Value> = emulator
        .authorizations()
        .into_iter()
        .filter(|a| a["decision"] != "allowed")
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}
