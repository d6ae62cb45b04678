//! Exactly the permissions a stack needs (issue 23): the policy `pipectl permissions` prints
//! is given to an IAM user, and its RBAC (applied with kubectl) to the Kubernetes group that
//! user's EKS access entry maps to; plan, apply and drift run as that user against the emulator
//! with IAM enforcement and the fake API server with RBAC on. A missing permission fails them
//! (AccessDenied, Forbidden); a statement or rule no call used fails the test too. The
//! preflight (`--check-permissions`) names what a policy lacks before anything is written.

mod common;

use std::collections::BTreeSet;

use common::{path_str, Emulator};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

/// `pipectl permissions` for `command` (IAM JSON), and the actions it says are needed only in
/// some cases.
fn policy_for(
    emulator: &Emulator,
    stack: &str,
    command: &str,
    extra: &[&str],
) -> (String, BTreeSet<String>) {
    let mut args = vec![
        "permissions",
        "-f",
        stack,
        "--for",
        command,
        "--account-id",
        ACCOUNT,
    ];
    args.extend(extra);
    let run = emulator.pipectl(&args);
    run.expect_code(0);
    let conditional = needed_only_sometimes(&run.stderr);
    (run.stdout, conditional)
}

/// The (action, resource) pairs a policy document allows.
fn actions_of(policy: &str) -> BTreeSet<String> {
    let document: Value = serde_json::from_str(policy).expect("policy JSON");
    assert_eq!(document["Version"], "2012-10-17");
    document["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| {
            assert_eq!(s["Effect"], "Allow");
            assert!(s["Sid"]
                .as_str()
                .is_some_and(|sid| sid.chars().all(|c| c.is_ascii_alphanumeric())));
            s["Action"].as_array().cloned().unwrap_or_default()
        })
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// The actions `user` was checked for, and any it was refused.
fn checked_as(emulator: &Emulator, user: &str) -> (BTreeSet<String>, Vec<Value>) {
    let arn = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
    let mine: Vec<Value> = emulator
        .authorizations()
        .into_iter()
        .filter(|a| a["principal"] == arn.as_str())
        .collect();
    let used = mine
        .iter()
        .filter_map(|a| a["action"].as_str().map(str::to_string))
        .collect();
    let denied = mine
        .into_iter()
        .filter(|a| a["decision"] != "allowed")
        .collect();
    (used, denied)
}

/// Runs `args` as `user` with exactly the generated policy for `command`, and checks that no
/// call was refused and that every action the policy allows was used (except those it says
/// are needed only in some cases).
fn run_as_generated_user(
    emulator: &Emulator,
    stack: &str,
    (command, narrowed_by): (&str, &[&str]),
    args: &[&str],
    expected_code: i32,
) {
    let (policy, conditional) = policy_for(emulator, stack, command, narrowed_by);
    let user = format!("ci-{command}");
    let (key, secret) = emulator.iam_user(&user, &policy);
    let rules = grant_rbac(emulator, stack, command, narrowed_by);
    let run = emulator.pipectl_with(
        args,
        &[
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    );
    assert_eq!(
        run.code,
        expected_code,
        "{command} as {user}: {}",
        run.all()
    );
    let (used, denied) = checked_as(emulator, &user);
    assert!(denied.is_empty(), "{command}: refused {denied:?}");
    let unused: Vec<String> = actions_of(&policy)
        .into_iter()
        .filter(|action| !used.contains(action) && !conditional.contains(action))
        .collect();
    assert!(
        unused.is_empty(),
        "{command}: the policy allows actions no call used: {unused:?}\n{policy}"
    );
    check_rbac_use(emulator, &user, command, rules);
}

/// The generated RBAC for `command` applied with kubectl (the admin's kubeconfig), bound to
/// the group the user's access entry maps to; the (verb, resource) pairs its rules allow and
/// those it says are needed only in some cases.
fn grant_rbac(
    emulator: &Emulator,
    stack: &str,
    command: &str,
    narrowed_by: &[&str],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let user = format!("ci-{command}");
    let group = format!("pipectl-{command}");
    let principal = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
    let mut args = vec![
        "permissions",
        "-f",
        stack,
        "--for",
        command,
        "--account-id",
        ACCOUNT,
        "--format",
        "k8s-rbac",
        "--kube-group",
        &group,
        "--principal-arn",
        &principal,
    ];
    args.extend(narrowed_by);
    let run = emulator.pipectl(&args);
    run.expect_code(0).expect_stdout(&format!(
        "aws eks create-access-entry --cluster-name kafka-logs --principal-arn {principal} --type STANDARD --kubernetes-groups {group}"
    ));
    let file = emulator.stack(&format!("rbac-{command}.yaml"), &run.stdout);
    emulator.cluster().apply_file(&file);
    let mut allowed = BTreeSet::new();
    for document in run.stdout.split("\n---\n") {
        let Some(start) = document.find('{') else {
            continue;
        };
        let object: Value = serde_json::from_str(&document[start..]).expect("RBAC object JSON");
        for rule in object["rules"].as_array().cloned().unwrap_or_default() {
            for resource in rule["resources"].as_array().cloned().unwrap_or_default() {
                for verb in rule["verbs"].as_array().cloned().unwrap_or_default() {
                    allowed.insert(format!(
                        "{} {}",
                        verb.as_str().unwrap_or(""),
                        resource.as_str().unwrap_or("")
                    ));
                }
            }
        }
    }
    let conditional = needed_only_sometimes(&run.stderr);
    (allowed, conditional)
}

/// No Kubernetes request of `user` was forbidden, and every rule was used.
fn check_rbac_use(
    emulator: &Emulator,
    user: &str,
    command: &str,
    (allowed, conditional): (BTreeSet<String>, BTreeSet<String>),
) {
    let mine: Vec<Value> = emulator
        .cluster()
        .authorizations()
        .into_iter()
        .filter(|a| a["user"] == user)
        .collect();
    let forbidden: Vec<&Value> = mine.iter().filter(|a| a["allowed"] != true).collect();
    assert!(forbidden.is_empty(), "{command}: forbidden {forbidden:?}");
    let used: BTreeSet<String> = mine
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["verb"].as_str().unwrap_or(""),
                a["resource"].as_str().unwrap_or("")
            )
        })
        .collect();
    let unused: Vec<&String> = allowed
        .iter()
        .filter(|rule| !used.contains(*rule) && !conditional.contains(*rule))
        .collect();
    assert!(
        unused.is_empty(),
        "{command}: RBAC rules no request used: {unused:?} (used {used:?}; all {:?})",
        emulator.cluster().authorizations()
    );
}
/// The seed article's "before" state, with IAM enforcement on and RBAC in the fake API server; EKS DescribeCluster answers the
/// fake API server's address, so pipectl reaches the cluster as the stack says ([eks] cluster),
/// with a token it signs with the IAM user's credentials.
fn enforcing_emulator() -> Emulator {
    let emulator = Emulator::start_seed_article(r#"{"iam_enforcement": true}"#);
    emulator.configure(&format!(
        "{{\"eks_endpoint\": \"{}\"}}",
        emulator.cluster().url
    ));
    // Each CI user's EKS access entry maps it to its own group, which the generated RBAC binds.
    let entries: serde_json::Map<String, Value> = ["plan", "apply", "drift", "import"]
        .iter()
        .map(|command| {
            (
                format!("arn:aws:iam::{ACCOUNT}:user/ci-{command}"),
                serde_json::json!({"username": format!("ci-{command}"), "groups": [format!("pipectl-{command}")]}),
            )
        })
        .chain(["lacking", "denied", "complete", "unsimulated"].iter().map(|user| {
            // The preflight test's users are about IAM: cluster admins in Kubernetes.
            (
                format!("arn:aws:iam::{ACCOUNT}:user/ci-{user}"),
                serde_json::json!({"username": format!("ci-{user}"), "groups": ["system:masters"]}),
            )
        }))
        .collect();
    emulator.cluster().configure(
        &serde_json::json!({"rbac": true, "sts_endpoint": emulator.endpoint, "access_entries": entries})
            .to_string(),
    );
    emulator
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_and_drift_run_with_exactly_the_generated_policy() {
    let emulator = enforcing_emulator();
    let stack = emulator.seed_article_stack().await;
    let stack = path_str(&stack);
    let plan_file = emulator.dir().join("reviewed.json");
    let plan_file = path_str(&plan_file);
    run_as_generated_user(
        &emulator,
        stack,
        ("plan", &[]),
        &["plan", stack, "--detailed-exitcode", "--out", plan_file],
        2,
    );
    // Apply's policy narrowed to what the reviewed plan does.
    run_as_generated_user(
        &emulator,
        stack,
        ("apply", &["--plan", plan_file]),
        &["apply", plan_file, "--allow-destroy"],
        0,
    );
    run_as_generated_user(&emulator, stack, ("drift", &[]), &["drift", stack], 0);
    // Import of what the stack names, as an adopting team runs it.
    let imported = emulator.dir().join("imported.toml");
    run_as_generated_user(
        &emulator,
        stack,
        ("import", &[]),
        &[
            "import",
            "--stack-name",
            "kafka-logs",
            "--table",
            "KafkaLogData",
            "--function",
            "kafka-log-lambda",
            "--endpoint",
            "rcf-anomaly-endpoint",
            "--statefulset",
            "kafka/kafka-broker",
            "--cluster",
            "kafka-logs",
            "--out",
            path_str(&imported),
        ],
        0,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preflight_names_what_the_policy_lacks_before_any_write() {
    let emulator = enforcing_emulator();
    let stack = emulator.seed_article_stack().await;
    let stack = path_str(&stack);
    // The users below may ask IAM about themselves (what --check-permissions needs).
    let (policy, _) = policy_for(
        &emulator,
        stack,
        "apply",
        &[
            "--check-permissions",
            "--principal-arn",
            &format!("arn:aws:iam::{ACCOUNT}:user/*"),
        ],
    );
    // One action taken out of the generated policy.
    let lacking = policy.replace("\"lambda:PutFunctionConcurrency\",", "");
    assert_ne!(
        lacking, policy,
        "the apply policy allows lambda:PutFunctionConcurrency"
    );
    let (key, secret) = emulator.iam_user("ci-lacking", &lacking);
    let as_user = [
        ("AWS_ACCESS_KEY_ID", key.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
    ];
    emulator.clear_log();
    let plan = emulator.pipectl_with(
        &["plan", stack, "--no-cost", "--check-permissions"],
        &as_user,
    );
    plan.expect_code(1)
        .expect_stderr("lambda:PutFunctionConcurrency on arn:aws:lambda:us-east-1:123456789012:function:kafka-log-lambda: no policy allows it (implicitDeny)");
    assert!(
        emulator.mutating_calls().is_empty(),
        "{:?}",
        emulator.mutating_calls()
    );
    let apply = emulator.pipectl_with(
        &[
            "apply",
            "-f",
            stack,
            "--auto-approve",
            "--allow-destroy",
            "--check-permissions",
        ],
        &as_user,
    );
    apply
        .expect_code(1)
        .expect_stderr("lambda:PutFunctionConcurrency");
    let stack_writes: Vec<_> = emulator
        .mutating_calls()
        .into_iter()
        .filter(|call| call.resource != "pipectl-locks")
        .collect();
    assert!(stack_writes.is_empty(), "{stack_writes:?}");

    // An explicit Deny is told as such.
    let mut document: Value = serde_json::from_str(&policy).expect("policy");
    document["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(serde_json::json!({"Sid": "NoTableChanges", "Effect": "Deny", "Action": "dynamodb:UpdateTable", "Resource": "*"}));
    let (key, secret) = emulator.iam_user("ci-denied", &document.to_string());
    emulator
        .pipectl_with(
            &["plan", stack, "--no-cost", "--check-permissions"],
            &[("AWS_ACCESS_KEY_ID", &key), ("AWS_SECRET_ACCESS_KEY", &secret)],
        )
        .expect_code(1)
        .expect_stderr("dynamodb:UpdateTable on arn:aws:dynamodb:us-east-1:123456789012:table/KafkaLogData: explicitly denied by a policy (explicitDeny)");

    // A caller who may not ask IAM is told so, and the plan goes on.
    let (without_simulation, _) = policy_for(&emulator, stack, "apply", &[]);
    let (key, secret) = emulator.iam_user("ci-unsimulated", &without_simulation);
    let unchecked = emulator.pipectl_with(
        &[
            "plan",
            stack,
            "--no-cost",
            "--check-permissions",
            "--detailed-exitcode",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    );
    unchecked
        .expect_code(2)
        .expect_stderr("warning: permissions could not be checked (iam:SimulatePrincipalPolicy")
        .expect_stderr("going on without the check");

    // With every permission, the preflight passes and says nothing.
    let (key, secret) = emulator.iam_user("ci-complete", &policy);
    let complete = emulator.pipectl_with(
        &[
            "plan",
            stack,
            "--no-cost",
            "--check-permissions",
            "--detailed-exitcode",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    );
    complete.expect_code(2);
    assert!(
        !complete.stderr.contains("may not make"),
        "{}",
        complete.stderr
    );
}

/// The Kafka ACLs `pipectl permissions --format kafka-acls` prints are given to the broker
/// double (which then authorizes every request as Kafka's authorizer does): plan and apply of the
/// seed article's stack need nothing more, and every ACL is used.
#[tokio::test(flavor = "multi_thread")]
async fn the_generated_kafka_acls_are_exactly_what_plan_and_apply_use() {
    let emulator = Emulator::start_seed_article("{}");
    // The template's own file (placeholders and all): ACLs name topics, not ARNs.
    let template = std::fs::read_to_string(common::repo().join("stacks/kafka-logs.toml"))
        .expect("stacks/kafka-logs.toml");
    let template = emulator.stack("template.toml", &template);
    let run = emulator.pipectl(&[
        "permissions",
        "-f",
        path_str(&template),
        "--for",
        "apply",
        "--account-id",
        ACCOUNT,
        "--format",
        "kafka-acls",
        "--kafka-principal",
        "User:pipectl-admin",
    ]);
    run.expect_code(0)
        .expect_stdout("kind\": \"KafkaUser\"")
        .expect_stdout("--allow-principal User:pipectl-admin");
    let acls = acl_flags(&run.stdout);
    assert!(!acls.is_empty(), "{}", run.stdout);
    let flags: Vec<String> = acls
        .iter()
        .flat_map(|a| ["--acl".to_string(), a.clone()])
        .collect();
    emulator.kafka_flags(&flags);
    let stack = emulator.seed_article_stack().await;
    let stack = path_str(&stack);
    let plan_file = emulator.dir().join("reviewed.json");
    let plan_file = path_str(&plan_file);
    emulator
        .pipectl(&[
            "--kube-context",
            "fake",
            "plan",
            stack,
            "--no-cost",
            "--detailed-exitcode",
            "--out",
            plan_file,
        ])
        .expect_code(2);
    emulator
        .pipectl(&[
            "--kube-context",
            "fake",
            "apply",
            plan_file,
            "--allow-destroy",
        ])
        .expect_code(0);
    // What that plan needs: the ACLs narrowed to it must all have been used.
    let narrowed = emulator.pipectl(&[
        "permissions",
        "-f",
        stack,
        "--for",
        "apply",
        "--plan",
        plan_file,
        "--account-id",
        ACCOUNT,
        "--format",
        "kafka-acls",
        "--kafka-principal",
        "User:pipectl-admin",
    ]);
    narrowed.expect_code(0);
    let needed = acl_flags(&narrowed.stdout);
    assert!(
        needed.iter().all(|acl| acls.contains(acl)),
        "{needed:?} not within {acls:?}"
    );
    let conditional: BTreeSet<String> = needed_only_sometimes(&narrowed.stderr);
    // Which operation each request the double saw is authorized as (Kafka protocol guide).
    let used: BTreeSet<&str> = emulator
        .seed_article_kafka()
        .requests()
        .iter()
        .filter_map(|request| match request.split(' ').next() {
            Some("Metadata") => Some("Describe"),
            Some("DescribeConfigs") => Some("DescribeConfigs"),
            Some("CreateTopics") => Some("Create"),
            Some("CreatePartitions") => Some("Alter"),
            Some("IncrementalAlterConfigs") => Some("AlterConfigs"),
            _ => None,
        })
        .collect();
    for acl in &needed {
        let operation = acl.split(':').nth(2).unwrap_or("");
        let topic = acl.rsplit("topic=").next().unwrap_or("");
        let noted = conditional.contains(&format!("{operation} on {topic}"));
        assert!(
            used.contains(operation) || noted,
            "ACL {acl} was not used by any request: {used:?}"
        );
    }
}

/// The broker double's `--acl` values for the `kafka-acls.sh` lines of `output`.
fn acl_flags(output: &str) -> Vec<String> {
    let mut acls = vec![];
    for line in output.lines().filter(|l| l.starts_with("kafka-acls.sh ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let resource = match words.iter().position(|w| *w == "--topic") {
            Some(at) => format!("topic={}", words[at + 1]),
            None => "cluster".to_string(),
        };
        for (at, word) in words.iter().enumerate() {
            if *word == "--operation" {
                acls.push(format!("User:pipectl-admin:{}:{resource}", words[at + 1]));
            }
        }
    }
    acls
}

/// What `pipectl permissions` says on stderr is needed only in some cases (`note: WHAT: needed
/// only when ...`): the actions, RBAC verbs or ACLs a run may leave unused.
fn needed_only_sometimes(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("note: "))
        .filter_map(|note| note.split_once(": needed only when"))
        .map(|(what, _)| what.to_string())
        .collect()
}

/// Every format's output for the seed article's stack (`--for apply`) is what the committed
/// golden files hold (`UPDATE_GOLDEN=1` rewrites them) and is valid: the IAM JSON a policy, the
/// Terraform an `aws_iam_policy_document` with the same statements, the CloudFormation template a
/// stack moto creates, whose policy then lets a user run drift under enforcement.
#[test]
fn every_format_is_stable_and_valid() {
    let emulator = Emulator::start(r#"{"iam_enforcement": true}"#);
    let template = std::fs::read_to_string(common::repo().join("stacks/kafka-logs.toml"))
        .expect("stacks/kafka-logs.toml");
    let stack = emulator.stack("kafka-logs.toml", &template);
    let stack = path_str(&stack);
    let output = |format: &str, command: &str| {
        let run = emulator.pipectl(&[
            "permissions",
            "-f",
            stack,
            "--for",
            command,
            "--account-id",
            ACCOUNT,
            "--format",
            format,
        ]);
        run.expect_code(0);
        run.stdout
    };
    let golden = common::repo().join("tests/golden/permissions");
    for (format, file) in [
        ("iam-json", "apply.json"),
        ("terraform", "apply.tf"),
        ("cloudformation", "apply.cfn.json"),
        ("k8s-rbac", "apply.rbac.yaml"),
        ("kafka-acls", "apply.acls.txt"),
    ] {
        let generated = output(format, "apply");
        let path = golden.join(file);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(&golden).expect("golden dir");
            std::fs::write(&path, &generated).expect("write golden file");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            generated, committed,
            "{file} differs: run with UPDATE_GOLDEN=1 and review"
        );
    }

    // Terraform: one data block whose statements are the IAM JSON's, in order.
    let policy: Value = serde_json::from_str(&output("iam-json", "apply")).expect("policy");
    let statements = policy["Statement"].as_array().expect("statements");
    let terraform = output("terraform", "apply");
    assert!(terraform.contains("data \"aws_iam_policy_document\" \"pipectl-kafka-logs-apply\" {"));
    assert_eq!(
        terraform.matches('{').count(),
        terraform.matches('}').count(),
        "{terraform}"
    );
    let blocks: Vec<&str> = terraform.split("  statement {\n").skip(1).collect();
    assert_eq!(blocks.len(), statements.len(), "{terraform}");
    for (block, statement) in blocks.iter().zip(statements) {
        let list = |key: &str| -> Vec<String> {
            let line = block
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{key} ")))
                .unwrap_or_else(|| panic!("no {key} in {block}"));
            let value = line.split_once('=').map(|(_, v)| v.trim()).unwrap_or("");
            serde_json::from_str::<Value>(value)
                .map(|v| match v {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_string))
                        .collect(),
                    Value::String(one) => vec![one],
                    _ => vec![],
                })
                .unwrap_or_else(|e| panic!("{key} = {value}: {e}"))
        };
        let json_list = |key: &str| -> Vec<String> {
            statement[key]
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        assert_eq!(
            list("sid"),
            vec![statement["Sid"].as_str().unwrap_or("").to_string()]
        );
        assert_eq!(list("effect"), vec!["Allow".to_string()]);
        assert_eq!(list("actions"), json_list("Action"));
        assert_eq!(list("resources"), json_list("Resource"));
    }

    // CloudFormation: moto creates the stack; its policy, attached to a user, lets drift of a
    // stack with one table run (and only its calls are allowed).
    let table_stack = emulator.stack(
        "table.toml",
        "[stack]\nname = \"tables\"\nregion = \"us-east-1\"\n\n[[dynamodb.tables]]\nname = \"Logs\"\nbilling_mode = \"PAY_PER_REQUEST\"\npartition_key = { name = \"id\", type = \"S\" }\n",
    );
    let table_stack = path_str(&table_stack);
    let run = emulator.pipectl(&[
        "permissions",
        "-f",
        table_stack,
        "--for",
        "drift",
        "--account-id",
        ACCOUNT,
        "--format",
        "cloudformation",
    ]);
    run.expect_code(0);
    let template = emulator.stack("drift.cfn.json", &run.stdout);
    let endpoint = Some(emulator.endpoint.as_str());
    common::aws_cli(
        &[
            "cloudformation",
            "create-stack",
            "--stack-name",
            "pipectl-drift",
            "--template-body",
            &format!("file://{}", path_str(&template)),
        ],
        endpoint,
    );
    let outputs: Value = serde_json::from_slice(&common::aws_cli(
        &[
            "cloudformation",
            "describe-stacks",
            "--stack-name",
            "pipectl-drift",
        ],
        endpoint,
    ))
    .expect("describe-stacks");
    let policy_arn = outputs["Stacks"][0]["Outputs"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["OutputKey"] == "PolicyArn"))
        .and_then(|o| o["OutputValue"].as_str())
        .expect("PolicyArn output")
        .to_string();
    let (key, secret) = emulator.iam_user("ci-cfn", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#);
    common::aws_cli(
        &[
            "iam",
            "attach-user-policy",
            "--user-name",
            "ci-cfn",
            "--policy-arn",
            &policy_arn,
        ],
        endpoint,
    );
    let drift = emulator.pipectl_with(
        &["drift", table_stack],
        &[
            ("AWS_ACCESS_KEY_ID", &key),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    );
    // The table does not exist: drift reports it (exit 2), having been allowed to look.
    assert_eq!(drift.code, 2, "{}", drift.all());
    let (used, denied) = checked_as(&emulator, "ci-cfn");
    assert!(denied.is_empty(), "{denied:?}");
    assert!(used.contains("dynamodb:DescribeTable"), "{used:?}");

    // A part the stack does not use says so, and exits 0.
    for (format, part) in [
        ("k8s-rbac", "Kubernetes permission"),
        ("kafka-acls", "Kafka ACL"),
    ] {
        let empty = emulator.pipectl(&[
            "permissions",
            "-f",
            table_stack,
            "--for",
            "apply",
            "--account-id",
            ACCOUNT,
            "--format",
            format,
        ]);
        empty
            .expect_code(0)
            .expect_stderr(&format!("no {part} is needed"));
        assert!(empty.stdout.is_empty(), "{}", empty.stdout);
    }
}

/// The emulator's IAM evaluator follows the policy language (IAM User Guide, "Policy evaluation
/// logic", "IAM JSON policy elements"), checked through SimulatePrincipalPolicy with the AWS CLI
/// and through real calls: NotAction and NotResource, `?` and `*`, an explicit Deny over an
/// Allow, group policies, an assumed role's policies, and each service's denial format.
#[test]
fn the_emulators_iam_evaluator_follows_the_policy_language() {
    let emulator = Emulator::start(r#"{"iam_enforcement": true}"#);
    let endpoint = Some(emulator.endpoint.as_str());
    let table = |name: &str| format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}");
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:Update?able", "NotResource": table("Mutable")},
    ]});
    let (key, secret) = emulator.iam_user("evaluated", &policy.to_string());
    let simulate = |actions: &[&str], resource: &str| -> Vec<String> {
        let mut args = vec!["iam", "simulate-principal-policy", "--policy-source-arn"];
        let principal = format!("arn:aws:iam::{ACCOUNT}:user/evaluated");
        args.push(&principal);
        args.push("--action-names");
        args.extend(actions);
        args.extend(["--resource-arns", resource]);
        let answer: Value =
            serde_json::from_slice(&common::aws_cli(&args, endpoint)).expect("JSON");
        answer["EvaluationResults"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["EvalDecision"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        simulate(
            &[
                "dynamodb:DescribeTable",
                "dynamodb:UpdateTable",
                "iam:CreateUser"
            ],
            &table("Logs")
        ),
        ["allowed", "explicitDeny", "implicitDeny"]
    );
    assert_eq!(
        simulate(&["dynamodb:UpdateTable"], &table("Mutable")),
        ["allowed"]
    );

    // A group's policy counts for its members.
    common::aws_cli(
        &["iam", "create-group", "--group-name", "readers"],
        endpoint,
    );
    common::aws_cli(
        &[
            "iam",
            "add-user-to-group",
            "--group-name",
            "readers",
            "--user-name",
            "evaluated",
        ],
        endpoint,
    );
    common::aws_cli(
        &[
            "iam",
            "put-group-policy",
            "--group-name",
            "readers",
            "--policy-name",
            "sts",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        ],
        endpoint,
    );
    assert_eq!(simulate(&["sts:AssumeRole"], "*"), ["allowed"]);

    // Real calls: the denial in each service's own format.
    let as_user = |args: &[&str]| {
        std::process::Command::new("aws")
            .args(args)
            .args([
                "--region",
                "us-east-1",
                "--endpoint-url",
                &emulator.endpoint,
            ])
            .env("AWS_ACCESS_KEY_ID", &key)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env_remove("AWS_PROFILE")
            .output()
            .expect("aws")
    };
    let denied = as_user(&[
        "dynamodb",
        "update-table",
        "--table-name",
        "Logs",
        "--billing-mode",
        "PAY_PER_REQUEST",
    ]);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.contains("(AccessDeniedException)") && stderr.contains("with an explicit deny"),
        "{stderr}"
    );
    let listed = as_user(&["iam", "list-users"]);
    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert!(
        stderr.contains("(AccessDenied)") && stderr.contains("iam:ListUsers"),
        "{stderr}"
    );
    let volumes = as_user(&["ec2", "describe-volumes"]);
    assert!(
        volumes.status.success(),
        "{}",
        String::from_utf8_lossy(&volumes.stderr)
    );

    // An assumed role carries the role's policies, not the user's.
    common::aws_cli(
        &[
            "iam",
            "create-role",
            "--role-name",
            "reader",
            "--assume-role-policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
        ],
        endpoint,
    );
    common::aws_cli(
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "reader",
            "--policy-name",
            "volumes",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVolumes","Resource":"*"}]}"#,
        ],
        endpoint,
    );
    let assumed = as_user(&[
        "sts",
        "assume-role",
        "--role-arn",
        &format!("arn:aws:iam::{ACCOUNT}:role/reader"),
        "--role-session-name",
        "ci-run",
    ]);
    assert!(
        assumed.status.success(),
        "{}",
        String::from_utf8_lossy(&assumed.stderr)
    );
    let credentials: Value = serde_json::from_slice(&assumed.stdout).expect("credentials");
    let as_role = |args: &[&str]| {
        std::process::Command::new("aws")
            .args(args)
            .args([
                "--region",
                "us-east-1",
                "--endpoint-url",
                &emulator.endpoint,
            ])
            .env(
                "AWS_ACCESS_KEY_ID",
                credentials["Credentials"]["AccessKeyId"]
                    .as_str()
                    .unwrap_or(""),
            )
            .env(
                "AWS_SECRET_ACCESS_KEY",
                credentials["Credentials"]["SecretAccessKey"]
                    .as_str()
                    .unwrap_or(""),
            )
            .env(
                "AWS_SESSION_TOKEN",
                credentials["Credentials"]["SessionToken"]
                    .as_str()
                    .unwrap_or(""),
            )
            .env_remove("AWS_PROFILE")
            .output()
            .expect("aws")
    };
    assert!(as_role(&["ec2", "describe-volumes"]).status.success());
    let refused = as_role(&["ec2", "describe-subnets"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("(UnauthorizedOperation)") && stderr.contains("assumed-role/reader/ci-run"),
        "{stderr}"
    );
}
