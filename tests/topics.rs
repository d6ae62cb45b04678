//! Kafka topics (issue 12, item 1) through Kafka's admin API, against the test kit's broker
//! double, checked with kafka-python's KafkaAdminClient as the independent client: created,
//! grown (with the key-ordering hazard), never shrunk, configs set and drift-checked, ignorable;
//! a replication factor above the live brokers refused; SASL/SCRAM from a Secrets Manager secret
//! and TLS against a private CA. Plus the partitions-versus-consumers warnings (item 5).

mod common;

use common::{aws_cli, path_str, private_ca_for, Emulator, KafkaDouble};
use serde_json::Value;

const PASSWORD: &str = "s3cret-admin-password";

/// A Secrets Manager secret with the admin user's SCRAM credentials; returns its ARN.
fn admin_secret(emulator: &Emulator, password: &str) -> String {
    let secret = format!("{{\"username\": \"admin\", \"password\": \"{password}\"}}");
    let created = aws_cli(
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "kafka-logs/admin-scram",
            "--secret-string",
            &secret,
        ],
        Some(&emulator.endpoint),
    );
    let created: Value = serde_json::from_slice(&created).expect("create-secret JSON");
    created["ARN"].as_str().expect("ARN").to_string()
}

fn stack(bootstrap: &str, protocol: &str, secret: &str, topic: &str) -> String {
    format!(
        "[stack]\nname = \"topics\"\n\n[kafka.admin]\nbootstrap_servers = [\"{bootstrap}\"]\nsecurity_protocol = \"{protocol}\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_secret_arn = \"{secret}\"\n\n[[kafka.topics]]\nname = \"application-logs\"\n{topic}\n"
    )
}

/// A double of 3 brokers that requires SCRAM as user "admin" with PASSWORD.
fn scram_double(extra: &[&str]) -> KafkaDouble {
    let mut args = vec![
        "--brokers",
        "3",
        "--scram-user",
        "admin",
        "--scram-password",
        PASSWORD,
    ];
    args.extend_from_slice(extra);
    KafkaDouble::start(&args)
}

const SASL: &str = "security_protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-512', sasl_plain_username='admin', sasl_plain_password='s3cret-admin-password'";

/// Partitions, replicas per partition and the configs of a topic, as kafka-python reads them.
fn topic(double: &KafkaDouble, name: &str) -> Value {
    double.python(
        SASL,
        &format!(
            "t = admin.describe_topics([{name:?}])[0]\nc = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, {name:?}, ['retention.ms', 'min.insync.replicas', 'cleanup.policy'])])\nconfigs = {{k: v['value'] for k, v in c['topic'][{name:?}].items()}}\nout({{'partitions': len(t['partitions']), 'replicas': max(len(p['replica_nodes']) for p in t['partitions']), 'configs': configs}})"
        ),
    )
}

const WANTED: &str = "partitions = 6\nreplication_factor = 3\nretention_ms = 604800000\nmin_insync_replicas = 2\ncleanup_policy = \"delete\"";

#[test]
fn topics_are_created_grown_never_shrunk_drift_checked_and_ignorable() {
    let emulator = Emulator::start("{}");
    let secret = admin_secret(&emulator, PASSWORD);
    let double = scram_double(&[]);
    emulator.pin_kafka(&double.bootstrap, &secret);
    let write = |text: &str| {
        emulator.stack(
            "topics.toml",
            &stack(&double.bootstrap, "SASL_PLAINTEXT", &secret, text),
        )
    };
    let file = write(WANTED);
    let file = path_str(&file);

    let plan = emulator.pipectl(&["plan", file]);
    plan.expect_code(0)
        .expect_stdout("kafka.topic.application-logs will be created")
        .expect_stdout("partitions");
    // The whole read is one Metadata call (the topic does not exist, so nothing to describe).
    assert_eq!(double.count("Metadata"), 1, "{:?}", double.requests());
    assert_eq!(double.count("DescribeConfigs"), 0);
    assert!(!plan.all().contains(PASSWORD), "the password was printed");

    emulator
        .apply(std::path::Path::new(file))
        .expect_code(0)
        .expect_stdout("Apply complete");
    let live = topic(&double, "application-logs");
    assert_eq!(live["partitions"], 6, "{live}");
    assert_eq!(live["replicas"], 3, "{live}");
    assert_eq!(live["configs"]["retention.ms"], "604800000", "{live}");
    assert_eq!(live["configs"]["min.insync.replicas"], "2", "{live}");

    // In sync: one Metadata and one DescribeConfigs, and drift is silent with --quiet.
    double.clear_log();
    emulator
        .pipectl(&["drift", file, "--quiet"])
        .expect_code(0)
        .expect_stdout("");
    assert_eq!(double.count("Metadata"), 1, "{:?}", double.requests());
    assert_eq!(
        double.count("DescribeConfigs"),
        1,
        "{:?}",
        double.requests()
    );

    // Growth: one CreatePartitions, with the key-ordering hazard in the plan.
    let grown = WANTED.replace("partitions = 6", "partitions = 12");
    write(&grown);
    emulator
        .pipectl(&["plan", file])
        .expect_code(0)
        .expect_stdout("kafka.topic.application-logs will be updated")
        .expect_stdout("keyed messages change partition");
    double.clear_log();
    emulator.apply(std::path::Path::new(file)).expect_code(0);
    assert_eq!(
        double.count("CreatePartitions"),
        1,
        "{:?}",
        double.requests()
    );
    assert_eq!(topic(&double, "application-logs")["partitions"], 12);

    // A decrease is refused at plan time; apply makes no admin write.
    write(&WANTED.replace("partitions = 6", "partitions = 8"));
    emulator
        .pipectl(&["plan", file])
        .expect_code(1)
        .expect_stderr("Kafka cannot remove partitions")
        .expect_stderr("set partitions = 12");
    double.clear_log();
    emulator.apply(std::path::Path::new(file)).expect_code(1);
    let writes: Vec<String> = double
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("Create") || r.starts_with("Incremental"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(topic(&double, "application-logs")["partitions"], 12);

    // Someone shortens retention with another client: drift sees it; an ignore rule leaves it.
    write(&grown);
    double.python(
        SASL,
        "from kafka.admin import ConfigResource\nadmin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'application-logs', configs={'retention.ms': '3600000', 'min.insync.replicas': '2', 'cleanup.policy': 'delete'})])\nout(1)",
    );
    emulator
        .pipectl(&["drift", file])
        .expect_code(2)
        .expect_stdout("retention_ms");
    let ignoring = format!(
        "{}\n[[ignore]]\nresource = \"kafka.topic.application-logs\"\nfields = [\"retention_ms\"]\n",
        stack(&double.bootstrap, "SASL_PLAINTEXT", &secret, &grown)
    );
    let ignoring = emulator.stack("ignoring.toml", &ignoring);
    emulator
        .pipectl(&["drift", path_str(&ignoring), "--quiet"])
        .expect_code(0);
    // Without the rule, apply sets it back with one IncrementalAlterConfigs.
    double.clear_log();
    emulator.apply(std::path::Path::new(file)).expect_code(0);
    assert_eq!(
        double.count("IncrementalAlterConfigs"),
        1,
        "{:?}",
        double.requests()
    );
    assert_eq!(
        topic(&double, "application-logs")["configs"]["retention.ms"],
        "604800000"
    );
}

#[test]
fn replication_above_the_live_brokers_and_a_wrong_password_are_refused() {
    let emulator = Emulator::start("{}");
    let secret = admin_secret(&emulator, "not-the-password");
    let double = KafkaDouble::start(&[
        "--brokers",
        "2",
        "--scram-user",
        "admin",
        "--scram-password",
        PASSWORD,
    ]);
    let file = emulator.stack(
        "topics.toml",
        &stack(&double.bootstrap, "SASL_PLAINTEXT", &secret, WANTED),
    );
    let login = emulator.pipectl_with(
        &["plan", path_str(&file)],
        &[
            ("PIPECTL_KAFKA_BOOTSTRAP", &double.bootstrap),
            ("PIPECTL_KAFKA_ADMIN_SECRET", &secret),
        ],
    );
    login
        .expect_code(1)
        .expect_stderr("SASL login as the [kafka.admin] secret's user failed");
    assert!(!login.all().contains("not-the-password"), "{}", login.all());

    let double = KafkaDouble::start(&["--brokers", "2"]);
    let plaintext = stack(&double.bootstrap, "PLAINTEXT", &secret, WANTED);
    let file = emulator.stack("plain.toml", &plaintext);
    emulator
        .pipectl(&["plan", path_str(&file)])
        .expect_code(1)
        .expect_stderr("replication_factor 3 is above the 2 live broker(s)");
    double.clear_log();
    emulator.apply(&file).expect_code(1);
    assert_eq!(double.count("CreateTopics"), 0, "{:?}", double.requests());
}

/// A 3-broker double on a TLS listener whose certificate (from a private CA) is for `san`, and
/// a stack of an SSL [kafka.admin] reaching it; returns the double, the CA file and the stack.
fn tls_double(
    emulator: &Emulator,
    san: &str,
) -> (KafkaDouble, std::path::PathBuf, std::path::PathBuf) {
    let (ca, cert, key) = private_ca_for(emulator.dir(), san);
    let double = KafkaDouble::start(&[
        "--brokers",
        "3",
        "--tls-cert",
        path_str(&cert),
        "--tls-key",
        path_str(&key),
    ]);
    let file = emulator.stack(
        "tls.toml",
        &stack(&double.bootstrap, "SSL", "", WANTED).replace("sasl_secret_arn = \"\"\n", ""),
    );
    (double, ca, file)
}

#[test]
fn the_admin_api_is_reached_over_tls_with_the_ca_from_ssl_cert_file() {
    let emulator = Emulator::start("{}");
    let (_double, ca, file) = tls_double(&emulator, "IP:127.0.0.1");
    emulator
        .pipectl_with(
            &["plan", path_str(&file)],
            &[("SSL_CERT_FILE", path_str(&ca))],
        )
        .expect_code(0)
        .expect_stdout("kafka.topic.application-logs will be created");
    // Without the private CA the broker's certificate is not trusted.
    emulator
        .pipectl_with(
            &["plan", path_str(&file)],
            &[("SSL_CERT_FILE", "/dev/null/none")],
        )
        .expect_code(1)
        .expect_stderr("TLS handshake");
}

#[test]
fn consumers_and_brokers_beyond_the_partitions_are_warned_about() {
    let emulator = Emulator::start_with_cluster("{}");
    emulator.seed_functions(&["consumer"]);
    let double = KafkaDouble::start(&["--brokers", "3", "--topic", "application-logs:2:3"]);
    let text = format!(
        "[stack]\nname = \"partitions\"\n\n[eks]\ncluster = \"kafka-logs\"\nnamespace = \"kafka\"\n\n[kafka.brokers]\nstatefulset = \"kafka-broker\"\nmin_replicas = 3\nmax_replicas = 10\ntarget_cpu_utilization = 70\nreplication_factor = 3\nscale_down = {{ enabled = false }}\n\n[kafka.admin]\nbootstrap_servers = [\"{}\"]\nsecurity_protocol = \"PLAINTEXT\"\n\n[[kafka.topics]]\nname = \"application-logs\"\npartitions = 2\n\n[[lambda.functions]]\nname = \"consumer\"\nreserved_concurrency = 100\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.internal:9092\"]\ntopic = \"application-logs\"\nhealth_timeout_seconds = 0\nmaximum_pollers = 5\n",
        double.bootstrap
    );
    let file = emulator.stack("partitions.toml", &text);
    let plan = emulator.pipectl(&["plan", path_str(&file), "--kube-context", "fake"]);
    plan.expect_code(0)
        .expect_stdout(
            "reserved_concurrency 100 is above the 2 partitions of topic application-logs",
        )
        .expect_stdout("maximum_pollers 5 is above the 2 partitions")
        .expect_stdout("max_replicas 10 is above the 6 partition replicas");

    // In Queue mode (a share group) pollers read partitions concurrently: partitions bound
    // neither the reservation nor the pollers.
    let queue = emulator.stack(
        "queue.toml",
        &text.replace(
            "topic = \"application-logs\"\nhealth",
            "topic = \"application-logs\"\nconsumption_mode = \"Queue\"\nhealth",
        ),
    );
    let plan = emulator.pipectl(&["plan", path_str(&queue), "--kube-context", "fake"]);
    plan.expect_code(0)
        .expect_stdout("max_replicas 10 is above the 6 partition replicas");
    assert!(
        !plan.stdout.contains("partitions of topic"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("maximum_pollers 5"),
        "{}",
        plan.stdout
    );
}

#[test]
fn an_imported_topic_plans_as_no_changes() {
    let emulator = Emulator::start("{}");
    let secret = admin_secret(&emulator, PASSWORD);
    let double = scram_double(&["--topic", "application-logs:12:3"]);
    double.python(
        SASL,
        "admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'application-logs', configs={'retention.ms': '3600000', 'cleanup.policy': 'compact,delete'})])\nout(1)",
    );
    let out = emulator.dir().join("imported.toml");
    emulator
        .pipectl(&[
            "import",
            "--topic",
            "application-logs",
            "--kafka-bootstrap",
            &double.bootstrap,
            "--kafka-security-protocol",
            "SASL_PLAINTEXT",
            "--kafka-sasl-secret-arn",
            &secret,
            "--out",
            path_str(&out),
        ])
        .expect_code(0)
        .expect_stderr("these are local addresses");
    let text = std::fs::read_to_string(&out).expect("imported file");
    for line in [
        "partitions = 12",
        "replication_factor = 3",
        "retention_ms = 3600000",
        "min_insync_replicas = 1",
        "cleanup_policy = \"compact,delete\"",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    double.clear_log();
    emulator.pin_kafka(&double.bootstrap, &secret);
    emulator
        .pipectl(&["plan", path_str(&out), "--detailed-exitcode"])
        .expect_code(0)
        .expect_stdout("No changes");
    let writes = double
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("Create") || r.starts_with("Incremental"))
        .count();
    assert_eq!(writes, 0);
}

/// Apply waits until every new partition has a leader (the controller elects them a moment after
/// CreateTopics answers), so what follows the apply can produce to the topic.
#[test]
fn apply_waits_until_the_new_partitions_have_leaders() {
    let emulator = Emulator::start("{}");
    let double = KafkaDouble::start(&["--brokers", "3", "--leader-delay-ms", "2000"]);
    let text =
        stack(&double.bootstrap, "PLAINTEXT", "", WANTED).replace("sasl_secret_arn = \"\"\n", "");
    let file = emulator.stack("leaders.toml", &text);
    emulator
        .apply(&file)
        .expect_code(0)
        .expect_stdout("Apply complete");
    let leaders = double.python(
        "",
        "t = admin.describe_topics(['application-logs'])[0]\nout(sorted(p['leader_id'] for p in t['partitions']))",
    );
    let leaders: Vec<i64> = serde_json::from_value(leaders).expect("leader ids");
    assert_eq!(leaders.len(), 6);
    assert!(
        leaders.iter().all(|l| *l >= 1),
        "leaderless partitions after apply: {leaders:?}"
    );
}

/// A write the controller carries out but answers REQUEST_TIMED_OUT (retriable in Kafka) is
/// sent again; the retry's TOPIC_ALREADY_EXISTS / INVALID_PARTITIONS means the first attempt
/// took effect, so the apply succeeds and converges.
#[test]
fn writes_that_time_out_are_retried_and_converge() {
    let emulator = Emulator::start("{}");
    // Every other write (the 1st, 3rd, 5th) is carried out and answered REQUEST_TIMED_OUT.
    let double = KafkaDouble::start(&["--brokers", "3", "--time-out-every", "2"]);
    let plain = |topic: &str| {
        stack(&double.bootstrap, "PLAINTEXT", "", topic).replace("sasl_secret_arn = \"\"\n", "")
    };
    let file = emulator.stack("timeouts.toml", &plain(WANTED));
    emulator
        .apply(&file)
        .expect_code(0)
        .expect_stdout("Apply complete");
    assert_eq!(double.count("CreateTopics"), 2, "{:?}", double.requests());
    emulator.stack(
        "timeouts.toml",
        &plain(
            &WANTED
                .replace("partitions = 6", "partitions = 9")
                .replace("retention_ms = 604800000", "retention_ms = 86400000"),
        ),
    );
    emulator
        .apply(&file)
        .expect_code(0)
        .expect_stdout("Apply complete");
    assert_eq!(
        double.count("CreatePartitions"),
        2,
        "{:?}",
        double.requests()
    );
    let live = double.python("", "t = admin.describe_topics(['application-logs'])[0]\nc = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'application-logs', ['retention.ms'])])\nout([len(t['partitions']), c['topic']['application-logs']['retention.ms']['value']])");
    assert_eq!(live, serde_json::json!([9, "86400000"]));
    emulator
        .pipectl(&["drift", common::path_str(&file), "--quiet"])
        .expect_code(0);
}

/// A pull request cannot choose where the admin login goes (issue 18, item 1): a stack file
/// pointing [kafka.admin] at its own host gets no connection and no secret read without the
/// job's pins; with them, the pinned brokers are used and the file's host never; a file naming
/// another secret than the pinned one is refused before that secret is read.
#[test]
fn a_stack_file_cannot_choose_where_the_admin_login_goes() {
    let emulator = Emulator::start("{}");
    let secret = admin_secret(&emulator, PASSWORD);
    let double = scram_double(&[]);
    // The pull request's host: a listener that records whether anyone connected to it.
    let relay = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    relay.set_nonblocking(true).expect("nonblocking");
    let relay_address = relay.local_addr().expect("address").to_string();
    let nobody_connected = |relay: &std::net::TcpListener| relay.accept().is_err();
    let file = emulator.stack(
        "pr.toml",
        &stack(&relay_address, "SASL_PLAINTEXT", &secret, WANTED),
    );
    let file = path_str(&file);

    for command in [
        vec!["plan", file],
        vec!["drift", file],
        vec!["apply", "-f", file, "--auto-approve"],
    ] {
        let run = emulator.pipectl(&command);
        run.expect_code(1)
            .expect_stderr("the job has not pinned where that login may go")
            .expect_stderr("--kafka-bootstrap HOST:PORT and --kafka-admin-secret ARN");
    }
    assert_eq!(emulator.call_count("secretsmanager:GetSecretValue"), 0);
    assert!(
        nobody_connected(&relay),
        "pipectl connected to the file's host"
    );

    // Pinned by the job: the pinned brokers get the login, the file's host nothing.
    emulator.pin_kafka(&double.bootstrap, &secret);
    emulator
        .pipectl(&["plan", file])
        .expect_code(0)
        .expect_stdout("kafka.topic.application-logs will be created");
    assert!(
        nobody_connected(&relay),
        "pipectl connected to the file's host"
    );
    assert_eq!(
        double.count("SaslAuthenticate"),
        2,
        "{:?}",
        double.requests()
    );

    // Another readable secret named in the file (an RDS password, say) is never read.
    let other = aws_cli(
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            "rds/master",
            "--secret-string",
            "{\"username\": \"db\", \"password\": \"db-password\"}",
        ],
        Some(&emulator.endpoint),
    );
    let other: Value = serde_json::from_slice(&other).expect("create-secret JSON");
    let other = other["ARN"].as_str().expect("ARN");
    let reads = emulator.call_count("secretsmanager:GetSecretValue");
    let file = emulator.stack(
        "pr2.toml",
        &stack(&relay_address, "SASL_PLAINTEXT", other, WANTED),
    );
    emulator
        .pipectl(&["plan", path_str(&file)])
        .expect_code(1)
        .expect_stderr("is not the secret the job allows at its pinned brokers");
    assert_eq!(emulator.call_count("secretsmanager:GetSecretValue"), reads);
}

/// '.' and '_' are one character to Kafka (`Topic.hasCollision`): the double refuses a topic
/// that collides with a live one, as Kafka does; pipectl refuses it at plan (with 0 writes),
/// and two such names in one file offline.
#[test]
fn topic_names_that_collide_on_dot_and_underscore_are_refused() {
    let emulator = Emulator::start("{}");
    let double = KafkaDouble::start(&["--brokers", "3"]);
    let made = double.python(
        "",
        "from kafka.admin import NewTopic\nadmin.create_topics([NewTopic('app.logs', 1, 1)])\ntry:\n    admin.create_topics([NewTopic('app_logs', 1, 1)])\n    out('created')\nexcept Exception as e:\n    out(type(e).__name__ + ': ' + str(e))",
    );
    let refusal = made.as_str().unwrap_or_default().to_string();
    assert!(
        refusal.contains("InvalidTopic")
            && refusal.contains("collides with existing topic: app.logs"),
        "{refusal}"
    );
    let file = emulator.stack(
        "collide.toml",
        &format!(
            "[stack]\nname = \"topics\"\n\n[kafka.admin]\nbootstrap_servers = [\"{}\"]\nsecurity_protocol = \"PLAINTEXT\"\n\n[[kafka.topics]]\nname = \"app_logs\"\npartitions = 3\nreplication_factor = 3\n",
            double.bootstrap
        ),
    );
    double.clear_log();
    emulator
        .pipectl(&["plan", path_str(&file)])
        .expect_code(1)
        .expect_stderr("topic app_logs collides with the live topic app.logs");
    emulator.apply(&file).expect_code(1);
    assert_eq!(double.count("CreateTopics"), 0, "{:?}", double.requests());
}

/// TLS through a port-forward: the broker's certificate names the broker, not 127.0.0.1, and
/// the handshake error says so and how to fix it (issue 21, item 5).
#[test]
fn a_certificate_for_the_brokers_name_through_a_port_forward_says_what_to_do() {
    let emulator = Emulator::start("{}");
    let (_double, ca, file) = tls_double(&emulator, "DNS:kafka-broker-0.kafka-broker.kafka.svc");
    emulator
        .pipectl_with(
            &["plan", path_str(&file)],
            &[("SSL_CERT_FILE", path_str(&ca))],
        )
        .expect_code(1)
        .expect_stderr("not valid for name")
        .expect_stderr("map the broker's name to 127.0.0.1 in /etc/hosts");
}

/// A stack of PLAINTEXT brokers at `bootstrap` with the given `[[kafka.topics]]` text.
fn plain_stack(bootstrap: &str, topics: &str) -> String {
    format!(
        "[stack]\nname = \"topics\"\n\n[kafka.admin]\nbootstrap_servers = [\"{bootstrap}\"]\nsecurity_protocol = \"PLAINTEXT\"\n\n{topics}"
    )
}

/// Partition counts of the topics, as kafka-python (an independent client) reads them.
fn partition_counts(double: &KafkaDouble, names: &[&str]) -> Value {
    double.python(
        "",
        &format!(
            "out({{t['name']: len(t['partitions']) for t in admin.describe_topics({names:?})}})"
        ),
    )
}

const NEW_AND_GROWN: &str = "[[kafka.topics]]\nname = \"logs\"\npartitions = 4\n\n[[kafka.topics]]\nname = \"new-logs\"\npartitions = 3\nreplication_factor = 3\n";

/// In ZooKeeper mode only the controller creates topics and partitions; the bootstrap broker
/// answers NOT_CONTROLLER, and pipectl sends the writes (plan's validate-only ones too) to the
/// controller Metadata names, as Kafka's AdminClient does (issue 21, item 1).
#[test]
fn zookeeper_mode_writes_go_to_the_controller() {
    let emulator = Emulator::start("{}");
    let double = KafkaDouble::start(&[
        "--mode",
        "zookeeper",
        "--controller",
        "2",
        "--brokers",
        "3",
        "--topic",
        "logs:2:3",
    ]);
    // The double's rule, seen by an independent client that routes to the controller itself.
    let made = double.python(
        "",
        "from kafka.admin import NewTopic\nadmin.create_topics([NewTopic('probe', 1, 1)])\nout(sorted(admin.list_topics()))",
    );
    assert!(made.to_string().contains("probe"), "{made}");
    let file = emulator.stack("zk.toml", &plain_stack(&double.bootstrap, NEW_AND_GROWN));
    emulator
        .pipectl(&["plan", path_str(&file)])
        .expect_code(0)
        .expect_stdout("+ kafka.topic.new-logs");
    emulator.apply(&file).expect_code(0);
    let counts = partition_counts(&double, &["logs", "new-logs"]);
    assert_eq!(counts["logs"], 4, "{counts}");
    assert_eq!(counts["new-logs"], 3, "{counts}");
}

/// Through a port-forward to one broker the controller's advertised address is out of reach:
/// the error says which broker is the controller and what to forward to instead.
#[test]
fn an_unreachable_controller_says_what_to_forward_to() {
    let emulator = Emulator::start("{}");
    let double = KafkaDouble::start(&[
        "--mode",
        "zookeeper",
        "--controller",
        "3",
        "--brokers",
        "3",
        "--only-bootstrap-reachable",
    ]);
    let file = emulator.stack("zk.toml", &plain_stack(&double.bootstrap, NEW_AND_GROWN));
    emulator
        .pipectl(&["plan", path_str(&file)])
        .expect_code(1)
        .expect_stderr("the controller (broker 3 at 127.0.0.1:")
        .expect_stderr("kubectl port-forward` to the controller's pod");
}

/// Plan sends CreateTopics and CreatePartitions with validate_only: a broker's create policy
/// (POLICY_VIOLATION) and replica placement fail the plan, and nothing is created (item 4).
#[test]
fn plan_asks_the_brokers_to_validate_its_writes() {
    let emulator = Emulator::start("{}");
    let double = KafkaDouble::start(&[
        "--brokers",
        "3",
        "--create-policy-min-replication-factor",
        "3",
        "--topic",
        "logs:2:3",
    ]);
    let file = emulator.stack(
        "policy.toml",
        &plain_stack(
            &double.bootstrap,
            "[[kafka.topics]]\nname = \"new-logs\"\npartitions = 3\nreplication_factor = 2\n",
        ),
    );
    emulator
        .pipectl(&["plan", path_str(&file)])
        .expect_code(1)
        .expect_stderr("the brokers would refuse to create topic new-logs: POLICY_VIOLATION")
        .expect_stderr("create.topic.policy.class.name");
    assert_eq!(
        double
            .requests()
            .iter()
            .filter(|r| r.starts_with("CreateTopics"))
            .collect::<Vec<_>>(),
        vec!["CreateTopics validate_only"]
    );
    emulator.apply(&file).expect_code(1);
    let listed = double.python("", "out(sorted(admin.list_topics()))");
    assert_eq!(listed, serde_json::json!(["logs"]));
    // Within the policy the same plan passes.
    let fixed = emulator.stack(
        "fixed.toml",
        &plain_stack(
            &double.bootstrap,
            "[[kafka.topics]]\nname = \"new-logs\"\npartitions = 3\nreplication_factor = 3\n",
        ),
    );
    emulator.pipectl(&["plan", path_str(&fixed)]).expect_code(0);
}

/// After growing a topic, apply waits for the new partitions only (an old partition offline is
/// not this change's doing), and a connection dropped meanwhile is opened again (item 5).
#[test]
fn growth_waits_for_the_new_partitions_and_reconnects() {
    let emulator = Emulator::start("{}");
    let double = KafkaDouble::start(&[
        "--brokers",
        "3",
        "--topic",
        "logs:2:3",
        "--offline",
        "logs:0",
        "--close-after-write",
    ]);
    let file = emulator.stack(
        "grow.toml",
        &plain_stack(
            &double.bootstrap,
            "[[kafka.topics]]\nname = \"logs\"\npartitions = 4\n",
        ),
    );
    emulator.apply(&file).expect_code(0);
    let counts = partition_counts(&double, &["logs"]);
    assert_eq!(counts["logs"], 4, "{counts}");
}

/// With ACLs that cover only the stack's own topics (item 2): a topic only a Lambda trigger
/// consumes is a note when it may not be described; a managed topic the admin user may not
/// read, or may not alter, is a plan error naming the missing ACL. The double enforces Kafka's
/// ACLs per principal (Describe, DescribeConfigs, Create, Alter, AlterConfigs).
#[test]
fn acls_that_cover_only_the_stacks_topics() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["consumer"]);
    let secret = admin_secret(&emulator, PASSWORD);
    let double = scram_double(&[
        "--topic",
        "application-logs:2:3",
        "--topic",
        "raw-logs:6:3",
        "--acl",
        "User:admin:Describe:topic=application-logs",
        "--acl",
        "User:admin:DescribeConfigs:topic=application-logs",
        "--acl",
        "User:admin:AlterConfigs:topic=application-logs",
    ]);
    emulator.pin_kafka(&double.bootstrap, &secret);
    // The double's rule, through an independent client: raw-logs is not described.
    let described = double.python(
        SASL,
        "out([t['error_code'] for t in admin.describe_topics(['raw-logs'])])",
    );
    assert_eq!(
        described,
        serde_json::json!([29]),
        "TOPIC_AUTHORIZATION_FAILED"
    );

    let consumer = "\n[[lambda.functions]]\nname = \"consumer\"\nreserved_concurrency = 10\n\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.svc:9092\"]\ntopic = \"raw-logs\"\nhealth_timeout_seconds = 0\n";
    let file = emulator.stack(
        "own.toml",
        &format!(
            "{}{consumer}",
            stack(
                &double.bootstrap,
                "SASL_PLAINTEXT",
                &secret,
                "partitions = 2\nretention_ms = 86400000"
            )
        ),
    );
    emulator
        .pipectl(&["plan", path_str(&file)])
        .expect_code(0)
        .expect_stdout("topic raw-logs, which a Lambda trigger consumes, could not be read")
        .expect_stdout("retention_ms");

    // Growing needs Alter: the validate-only CreatePartitions is refused at plan.
    let grow = emulator.stack(
        "grow.toml",
        &stack(
            &double.bootstrap,
            "SASL_PLAINTEXT",
            &secret,
            "partitions = 4",
        ),
    );
    emulator
        .pipectl(&["plan", path_str(&grow)])
        .expect_code(1)
        .expect_stderr(
            "would refuse to add partitions to topic application-logs: TOPIC_AUTHORIZATION_FAILED",
        )
        .expect_stderr("--operation Alter --topic application-logs");

    // Managing the topic it may not describe: an error naming the ACL.
    let managed = emulator.stack(
        "managed.toml",
        &stack(
            &double.bootstrap,
            "SASL_PLAINTEXT",
            &secret,
            "partitions = 2",
        )
        .replace("application-logs", "raw-logs"),
    );
    emulator
        .pipectl(&["plan", path_str(&managed)])
        .expect_code(1)
        .expect_stderr("may not read topic raw-logs (TOPIC_AUTHORIZATION_FAILED: no Describe ACL)")
        .expect_stderr("--operation Describe --topic raw-logs");
}
