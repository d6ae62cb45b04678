//! Test kit: a private local AWS emulator per test (moto + pipectl's layer, see
//! docs/testing.md), the pipectl binary pointed at it through AWS_ENDPOINT_URL, and
//! independent AWS SDK clients to check what pipectl did.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const REGION: &str = "us-east-1";
/// The table pipectl keeps apply locks in (its default).
pub const LOCK_TABLE: &str = "pipectl-locks";

/// The brokers as the seed article wants them, reached through the kubeconfig context `fake`.
pub fn brokers_stack(brokers: &str, storage: &str) -> String {
    format!(
        "[stack]\nname = \"k\"\n\n[eks]\nkube_context = \"fake\"\nnamespace = \"kafka\"\n\n[kafka.brokers]\nstatefulset = \"kafka-broker\"\nreplication_factor = 3\ntarget_cpu_utilization = 70\n{brokers}\n{storage}"
    )
}

/// The kinds the seed article's stack (stacks/kafka-logs.toml) changes from its "before" state,
/// as resource id prefixes: one line per kind, so a new kind adds a line and edits no total.
pub const SEED_STACK_KINDS: &[&str] = &[
    "dynamodb.table.",
    "dynamodb.index.",
    "dynamodb.contributor_insights.",
    "lambda.function.",
    "lambda.kafka_trigger.",
    "sagemaker.variant.",
    "eks.hpa.",
    "eks.storage_class.",
    "eks.volume.",
    "eks.prometheus_rule.",
    "eks.dashboard.",
    "kafka.topic.",
];

pub const STORAGE_AT_BASELINE: &str = "[kafka.storage]\nstorage_class = \"kafka-gp3\"\nvolume_type = \"gp3\"\niops = 3000\nthroughput_mibps = 125\nencrypted = true\n";

pub struct Emulator {
    child: Child,
    pub endpoint: String,
    host_port: String,
    workdir: tempfile::TempDir,
    /// The fake Kubernetes API server, when the test started one.
    pub kube: Option<FakeKube>,
    /// The Kafka broker double behind the seed article's stack, and the CA its certificate is
    /// signed by (pipectl reaches it with PIPECTL_KAFKA_BOOTSTRAP and SSL_CERT_FILE).
    kafka: std::sync::OnceLock<(KafkaDouble, PathBuf)>,
    /// More flags for the seed article's broker double (e.g. `--acl`), set before it starts.
    kafka_flags: std::sync::Mutex<Vec<String>>,
    /// The job's Kafka pins (PIPECTL_KAFKA_BOOTSTRAP, PIPECTL_KAFKA_ADMIN_SECRET) every run gets.
    kafka_pin: std::sync::Mutex<Option<(String, String)>>,
}

/// The project's fake Kubernetes API server (emulator/kube_apiserver.py) and a kubeconfig
/// whose context `fake` reaches it.
pub struct FakeKube {
    child: Child,
    pub url: String,
    host_port: String,
    pub kubeconfig: PathBuf,
}

/// Starts a helper script that prints "listening on http://HOST:PORT" first.
fn start_listening(args: &[&str]) -> (Child, String) {
    let python = python();
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/setup (or ./scripts/test) first",
        python.display()
    );
    let mut child = Command::new(&python)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a test server");
    let stdout = child.stdout.take().expect("server stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the server's address");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected server output: {line:?}"))
        .to_string();
    (child, url)
}

fn http(host_port: &str, method: &str, path: &str, body: &str) -> Value {
    let mut stream = TcpStream::connect(host_port).expect("connect to the test server");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host_port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("bad reply {response:?}: {e}"))
}

/// One request the fake API server received.
#[derive(Debug, Clone)]
pub struct KubeRequest {
    pub method: String,
    pub path: String,
    pub status: u64,
    pub field_manager: String,
    pub content_type: String,
    pub body: Value,
}

impl FakeKube {
    /// `eks_cluster`: require EKS bearer tokens, as EKS does.
    fn start(workdir: &Path, eks_cluster: Option<&str>) -> FakeKube {
        let script = repo().join("emulator/kube_apiserver.py");
        let mut args = vec![path_str(&script), "--port", "0"];
        if let Some(cluster) = eks_cluster {
            args.extend(["--eks-cluster", cluster]);
        }
        let (child, url) = start_listening(&args);
        let kubeconfig = workdir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{url}\"}}\nusers:\n- name: fake\n  user: {{token: not-checked}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: fake, namespace: kafka}}\ncurrent-context: fake\n"
            ),
        )
        .expect("write kubeconfig");
        FakeKube {
            child,
            host_port: url.trim_start_matches("http://").to_string(),
            url,
            kubeconfig,
        }
    }

    /// Requests that could change something (everything but GET), oldest first.
    pub fn writes(&self) -> Vec<KubeRequest> {
        http(&self.host_port, "GET", "/_fake/log", "")
            .as_array()
            .expect("log is a list")
            .iter()
            .filter(|e| e["method"] != "GET")
            .map(|e| KubeRequest {
                method: e["method"].as_str().unwrap_or_default().to_string(),
                path: e["path"].as_str().unwrap_or_default().to_string(),
                status: e["status"].as_u64().unwrap_or_default(),
                field_manager: e["query"]["fieldManager"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                content_type: e["content_type"].as_str().unwrap_or_default().to_string(),
                body: e["body"].clone(),
            })
            .collect()
    }

    pub fn clear_log(&self) {
        http(&self.host_port, "POST", "/_fake/log/clear", "");
    }

    /// Every RBAC decision the fake made with `rbac` on (user, verb, group, resource,
    /// namespace, name, allowed), oldest first.
    pub fn authorizations(&self) -> Vec<Value> {
        http(&self.host_port, "GET", "/_fake/authorizations", "")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Stores objects as given, status included (POST /_fake/seed), replacing any of the same name.
    pub fn seed(&self, objects: &Value) {
        http(&self.host_port, "POST", "/_fake/seed", &objects.to_string());
    }

    /// Changes the fake's behaviour (POST /_fake/config, see emulator/kube_apiserver.py).
    pub fn configure(&self, settings: &str) {
        http(&self.host_port, "POST", "/_fake/config", settings);
    }

    /// The HTTP status of every request the fake answered, oldest first.
    pub fn statuses(&self) -> Vec<u64> {
        http(&self.host_port, "GET", "/_fake/log", "")
            .as_array()
            .expect("log is a list")
            .iter()
            .map(|e| e["status"].as_u64().unwrap_or_default())
            .collect()
    }

    /// The status and body the fake answers a GET of `path` with this bearer token (kubectl
    /// sends no token to a plain-HTTP server, so token tests speak HTTP themselves).
    pub fn get_with_token(&self, path: &str, token: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.host_port).expect("connect to the fake");
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
            self.host_port
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status in {response:?}"));
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (status, body)
    }

    /// Runs kubectl, an independent client, against the fake server. `--validate=false`
    /// because the fake serves no OpenAPI document.
    pub fn kubectl(&self, args: &[&str]) -> Run {
        let output = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl (is it installed?)");
        Run::from(output)
    }

    /// `kubectl apply --server-side` of a file of objects pipectl printed (RBAC, deploy/), as an
    /// administrator would; fails the test when kubectl does.
    pub fn apply_file(&self, file: &Path) {
        let applied = self.kubectl(&[
            "apply",
            "--server-side",
            "--validate=false",
            "-f",
            path_str(file),
        ]);
        assert_eq!(
            applied.code,
            0,
            "kubectl apply -f {}: {}",
            file.display(),
            applied.all()
        );
    }

    /// `kubectl patch KIND NAME -n kafka --type merge -p PATCH`, as someone editing by hand.
    pub fn merge_patch(&self, kind: &str, name: &str, patch: &str) -> Run {
        self.kubectl(&[
            "patch", kind, name, "-n", "kafka", "--type", "merge", "-p", patch,
        ])
    }

    /// `kubectl get KIND NAME -o json`, parsed.
    pub fn get(&self, kind: &str, name: &str) -> Value {
        let run = self.kubectl(&["get", kind, name, "-n", "kafka", "-o", "json"]);
        run.expect_code(0);
        serde_json::from_str(&run.stdout).expect("kubectl prints JSON")
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment that runs a process with its wall clock moved by `offset` (libfaketime's
/// syntax, e.g. "+600") and its monotonic clock untouched, through the libfaketime.so.1 the
/// pinned `libfaketime` wheel ships in the test venv.
pub fn skewed_clock(offset: &str) -> Vec<(&'static str, String)> {
    let output = Command::new(python())
        .args([
            "-c",
            "import libfaketime, os; print(os.path.join(os.path.dirname(libfaketime.__file__), 'vendor/libfaketime/src/libfaketime.so.1'))",
        ])
        .output()
        .expect("find libfaketime (run ./scripts/setup)");
    let library = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(
        Path::new(&library).exists(),
        "no libfaketime at {library:?}"
    );
    vec![
        ("LD_PRELOAD", library),
        ("FAKETIME", offset.to_string()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
    ]
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    std::env::var_os("PIPECTL_EMULATOR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

impl Emulator {
    /// Starts an emulator on a free port with the given settings (JSON, see emulator/server.py).
    pub fn start(settings: &str) -> Emulator {
        let script = repo().join("emulator/server.py");
        let (child, endpoint) =
            start_listening(&[path_str(&script), "--port", "0", "--config", settings]);
        let host_port = endpoint.trim_start_matches("http://").to_string();
        Emulator {
            child,
            endpoint,
            host_port,
            workdir: tempfile::tempdir().expect("temp dir"),
            kube: None,
            kafka: std::sync::OnceLock::new(),
            kafka_flags: std::sync::Mutex::new(vec![]),
            kafka_pin: std::sync::Mutex::new(None),
        }
    }

    /// An emulator plus a fake Kubernetes API server, seeded with the Kafka brokers as a team
    /// runs them before pipectl (see `seed.py kafka`): EKS cluster kafka-logs, StatefulSet
    /// kafka/kafka-broker with three 500 GiB gp3 volumes at 3000 IOPS / 125 MiB/s, StorageClass
    /// kafka-gp3 at that baseline, and the seed article's HPA. pipectl reaches it through the
    /// kubeconfig context `fake`.
    pub fn start_with_cluster(settings: &str) -> Emulator {
        let mut emulator = Emulator::start(settings);
        emulator.kube = Some(FakeKube::start(emulator.workdir.path(), None));
        emulator.seed(&["kafka"]);
        emulator
    }

    /// An emulator and a fake API server seeded with the seed article's whole "before" state
    /// (`seed.py before`: the brokers and their VPC, the function, the endpoint, the table).
    pub fn start_seed_article(settings: &str) -> Emulator {
        let mut emulator = Emulator::start(settings);
        emulator.kube = Some(FakeKube::start(emulator.workdir.path(), None));
        emulator.seed(&["before"]);
        emulator
    }

    /// Like `start_with_cluster`, but the fake API server accepts only EKS tokens and
    /// DescribeCluster points at it, so pipectl must sign its own token to get in.
    pub fn start_with_eks_token_cluster() -> Emulator {
        let mut emulator = Emulator::start("{}");
        let kube = FakeKube::start(emulator.workdir.path(), Some("kafka-logs"));
        emulator.configure(&format!("{{\"eks_endpoint\": \"{}\"}}", kube.url));
        emulator.kube = Some(kube);
        emulator.seed(&["kafka"]);
        emulator
    }

    /// The brokers' EKS cluster, its VPC and volumes in `account`, as `eks_cluster_in` makes
    /// them; `cluster()` is its fake API server.
    pub fn start_with_eks_cluster_in(account: &str) -> Emulator {
        let mut emulator = Emulator::start("{}");
        emulator.kube = Some(emulator.eks_cluster_in(account));
        emulator
    }

    /// The brokers' EKS cluster kafka-logs, its VPC and volumes in `account` (`seed.py kafka`
    /// through the account's role `seeder`), with a fake API server of its own: DescribeCluster
    /// in that account answers its URL (`eks_endpoints`), as every EKS cluster has an endpoint
    /// of its own. The fake knows a caller by the EKS token it sends (kubectl, sending none,
    /// acts as an administrator).
    pub fn eks_cluster_in(&self, account: &str) -> FakeKube {
        let workdir = self.workdir.path().join(format!("cluster-{account}"));
        std::fs::create_dir_all(&workdir).expect("cluster dir");
        let kube = FakeKube::start(&workdir, None);
        let mut endpoints = self.http("GET", "/_emulator/config", "")["eks_endpoints"].clone();
        endpoints[account] = Value::String(kube.url.clone());
        self.configure(&serde_json::json!({ "eks_endpoints": endpoints }).to_string());
        let role = format!("arn:aws:iam::{account}:role/seeder");
        self.seed_into(Some(&kube), &["--role-arn", &role, "kafka"]);
        kube
    }

    pub fn cluster(&self) -> &FakeKube {
        self.kube
            .as_ref()
            .expect("this test started a fake cluster")
    }

    /// Credentials of `account`: a role `seeder` in it, assumed with the default account's
    /// keys (moto is multi-account; without enforcement any role may be assumed).
    pub fn account_credentials(&self, account: &str) -> Value {
        let assumed: Value = serde_json::from_slice(&aws_cli(
            &[
                "sts",
                "assume-role",
                "--role-arn",
                &format!("arn:aws:iam::{account}:role/seeder"),
                "--role-session-name",
                "seed",
            ],
            Some(&self.endpoint),
        ))
        .expect("assume-role JSON");
        assumed["Credentials"].clone()
    }

    /// The AWS CLI against the emulator with the given credentials (`account_credentials`);
    /// its JSON answer, Null when it printed none.
    pub fn aws_as(&self, credentials: &Value, args: &[&str]) -> Value {
        let output = self.aws_as_command(credentials, args);
        assert!(
            output.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
    }

    /// The AWS CLI as `aws_as`, whatever its exit status.
    pub fn aws_as_command(&self, credentials: &Value, args: &[&str]) -> std::process::Output {
        let key = |name: &str| credentials[name].as_str().unwrap_or("").to_string();
        Command::new("aws")
            .args(args)
            .args([
                "--region",
                REGION,
                "--output",
                "json",
                "--endpoint-url",
                &self.endpoint,
            ])
            .env("AWS_ACCESS_KEY_ID", key("AccessKeyId"))
            .env("AWS_SECRET_ACCESS_KEY", key("SecretAccessKey"))
            .env("AWS_SESSION_TOKEN", key("SessionToken"))
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run the AWS CLI")
    }

    /// Runs emulator/seed.py with the given scenario and arguments.
    pub fn seed(&self, args: &[&str]) {
        self.seed_into(self.kube.as_ref(), args);
    }

    /// Runs emulator/seed.py, its Kubernetes objects going to `kube`.
    fn seed_into(&self, kube: Option<&FakeKube>, args: &[&str]) {
        let mut command = Command::new(python());
        command
            .arg(repo().join("emulator/seed.py"))
            .args(["--endpoint", &self.endpoint]);
        if let Some(kube) = kube {
            command.args(["--kube", &kube.url]);
        }
        let output = command.args(args).output().expect("run seed.py");
        assert!(
            output.status.success(),
            "seed.py {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// stacks/kafka-logs.toml with its `<<PLACEHOLDER>>`s (subnets, security group, secrets) replaced by
    /// those `seed.py kafka` made in the cluster's VPC (found through EC2 by their names),
    /// written into this test's directory.
    pub async fn seed_article_stack(&self) -> PathBuf {
        let ec2 = self.ec2().await;
        let subnets = ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:Name")
                    .values("kafka-logs-private-a")
                    .values("kafka-logs-private-b")
                    .build(),
            )
            .send()
            .await
            .expect("DescribeSubnets");
        let mut subnets: Vec<(String, String)> = subnets
            .subnets()
            .iter()
            .map(|s| {
                let name = s
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some("Name"))
                    .and_then(|t| t.value())
                    .unwrap_or_default()
                    .to_string();
                (name, s.subnet_id().unwrap_or_default().to_string())
            })
            .collect();
        subnets.sort();
        assert_eq!(subnets.len(), 2, "seed.py kafka makes two subnets");
        let groups = ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-name")
                    .values("kafka-lambda-pollers")
                    .build(),
            )
            .send()
            .await
            .expect("DescribeSecurityGroups");
        let group = groups.security_groups()[0].group_id().unwrap_or_default();
        let secret = self.kafka_admin_secret();
        let text = std::fs::read_to_string(repo().join("stacks/kafka-logs.toml"))
            .expect("read stacks/kafka-logs.toml")
            .replace("subnet-<<SUBNET_ID_1>>", &subnets[0].1)
            .replace("subnet-<<SUBNET_ID_2>>", &subnets[1].1)
            .replace("sg-<<SECURITY_GROUP_ID>>", group)
            .replace(
                "arn:aws:secretsmanager:us-east-1:<<ACCOUNT_ID>>:secret:<<ADMIN_SCRAM_SECRET>>",
                &secret,
            )
            .replace(
                "arn:aws:secretsmanager:us-east-1:<<ACCOUNT_ID>>:secret:<<LAMBDA_SCRAM_SECRET>>",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-logs/lambda-scram",
            );
        let bootstrap = self.seed_article_kafka().bootstrap.clone();
        self.pin_kafka(&bootstrap, &secret);
        self.stack("kafka-logs.toml", &text)
    }

    /// The ARN of the admin secret seed.py made.
    fn kafka_admin_secret(&self) -> String {
        let described = aws_cli(
            &[
                "secretsmanager",
                "describe-secret",
                "--secret-id",
                "kafka-logs/admin-scram",
            ],
            Some(&self.endpoint),
        );
        let described: Value = serde_json::from_slice(&described).expect("describe-secret JSON");
        described["ARN"].as_str().expect("ARN").to_string()
    }

    /// The seed article's brokers for the topic kind: TLS with a private CA, SASL/SCRAM with
    /// seed.py's admin user, topic application-logs at 6 partitions × 3 replicas.
    pub fn seed_article_kafka(&self) -> &KafkaDouble {
        &self
            .kafka
            .get_or_init(|| {
                let (ca, cert, key) = private_ca_for(self.workdir.path(), "IP:127.0.0.1");
                let extra = self
                    .kafka_flags
                    .lock()
                    .map(|f| f.clone())
                    .unwrap_or_default();
                let mut args = vec![
                    "--brokers",
                    "3",
                    "--scram-user",
                    "pipectl-admin",
                    "--scram-password",
                    "kafka-double-admin-password",
                    "--tls-cert",
                    path_str(&cert),
                    "--tls-key",
                    path_str(&key),
                    "--topic",
                    "application-logs:6:3",
                ];
                args.extend(extra.iter().map(String::as_str));
                let mut double = KafkaDouble::start(&args);
                double.ca = Some(ca.clone());
                (double, ca)
            })
            .0
    }

    /// Flags the seed article's broker double starts with besides its own (call before
    /// `seed_article_stack`), e.g. `--acl User:pipectl-admin:Describe:topic=application-logs`.
    pub fn kafka_flags(&self, flags: &[String]) {
        if let Ok(mut extra) = self.kafka_flags.lock() {
            extra.extend(flags.iter().cloned());
        }
    }

    /// What a CI job sets so that a stack's SASL login may go to `bootstrap` with `secret`:
    /// every later run of pipectl gets both.
    pub fn pin_kafka(&self, bootstrap: &str, secret: &str) {
        if let Ok(mut pin) = self.kafka_pin.lock() {
            *pin = Some((bootstrap.to_string(), secret.to_string()));
        }
    }

    /// How many calls of `service:Operation` (e.g. `secretsmanager:GetSecretValue`) the
    /// emulator received, reads included.
    pub fn call_count(&self, operation: &str) -> u64 {
        self.http("GET", "/_emulator/calls", "")["calls"][operation]
            .as_u64()
            .unwrap_or(0)
    }

    /// Writes a stack file into this test's directory and returns its path.
    pub fn stack(&self, name: &str, text: &str) -> PathBuf {
        let path = self.workdir.path().join(name);
        std::fs::write(&path, text).expect("write stack file");
        path
    }

    /// Runs pipectl against this emulator, as a user or CI job would (no terminal, no colour).
    pub fn pipectl(&self, args: &[&str]) -> Run {
        self.pipectl_with(args, &[])
    }

    /// `pipectl` with extra environment variables.
    pub fn pipectl_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.command(args, env)
            .stdin(Stdio::null())
            .output()
            .expect("run pipectl")
            .into()
    }

    /// `pipectl` with `input` on its standard input (a pipe).
    pub fn pipectl_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run pipectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("pipectl finished").into()
    }

    /// The pipectl command line `pipectl` runs, for tests that need to start it themselves.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pipectl"));
        command
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            // Each test's own price cache (none unless it runs `prices update`): a cache the
            // developer's `prices update` left in ~/.cache must not change what tests price.
            .env(
                "PIPECTL_PRICES_FILE",
                self.workdir.path().join("prices.json"),
            )
            .env_remove("AWS_PROFILE")
            .env(
                "KUBECONFIG",
                self.kube
                    .as_ref()
                    .map(|k| k.kubeconfig.clone())
                    .unwrap_or_else(|| self.workdir.path().join("no-kubeconfig")),
            )
            .envs(env.iter().copied());
        if let Some((_, ca)) = self.kafka.get() {
            command.env("SSL_CERT_FILE", ca);
        }
        if let Some((bootstrap, secret)) = self.kafka_pin.lock().ok().and_then(|p| p.clone()) {
            command
                .env("PIPECTL_KAFKA_BOOTSTRAP", bootstrap)
                .env("PIPECTL_KAFKA_ADMIN_SECRET", secret);
        }
        // As in CI: run from the checkout that holds the stack files (the working tree).
        command.current_dir(self.workdir.path());
        command
    }

    /// The directory stack files of this test are written to.
    pub fn dir(&self) -> &Path {
        self.workdir.path()
    }

    /// `pipectl apply -f FILE --auto-approve`, as a CI job runs it.
    pub fn apply(&self, stack: &Path) -> Run {
        self.pipectl(&["apply", "-f", path_str(stack), "--auto-approve"])
    }

    /// Creates Lambda functions at their defaults, through boto3 (pipectl does not deploy code).
    pub fn seed_functions(&self, names: &[&str]) {
        let mut args = vec!["function"];
        args.extend_from_slice(names);
        self.seed(&args);
    }

    /// Every IAM check the emulator made under `iam_enforcement` (principal, action,
    /// resource, decision), oldest first.
    pub fn authorizations(&self) -> Vec<Value> {
        self.http("GET", "/_emulator/authorizations", "")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// An IAM user with exactly `policy` (inline), made with the account root's keys; its
    /// access key id and secret.
    pub fn iam_user(&self, name: &str, policy: &str) -> (String, String) {
        let endpoint = Some(self.endpoint.as_str());
        aws_cli(&["iam", "create-user", "--user-name", name], endpoint);
        aws_cli(
            &[
                "iam",
                "put-user-policy",
                "--user-name",
                name,
                "--policy-name",
                "pipectl",
                "--policy-document",
                policy,
            ],
            endpoint,
        );
        let key: Value = serde_json::from_slice(&aws_cli(
            &["iam", "create-access-key", "--user-name", name],
            endpoint,
        ))
        .expect("create-access-key JSON");
        let field = |f: &str| {
            key["AccessKey"][f]
                .as_str()
                .expect("access key")
                .to_string()
        };
        (field("AccessKeyId"), field("SecretAccessKey"))
    }

    fn http(&self, method: &str, path: &str, body: &str) -> Value {
        http(&self.host_port, method, path, body)
    }

    /// Every mutating AWS call the emulator received on the stack's resources, oldest first
    /// (calls on pipectl's lock table are in `lock_calls`).
    pub fn mutating_calls(&self) -> Vec<Call> {
        self.all_mutating_calls()
            .into_iter()
            .filter(|c| c.resource != LOCK_TABLE)
            .collect()
    }

    /// The operation names of the stack's mutating calls, oldest first.
    pub fn operations(&self) -> Vec<String> {
        self.mutating_calls()
            .into_iter()
            .map(|c| c.operation)
            .collect()
    }

    /// The resources (e.g. volume ids) of one operation's mutating calls, oldest first.
    pub fn resources_of(&self, operation: &str) -> Vec<String> {
        self.calls(operation)
            .into_iter()
            .map(|c| c.resource)
            .collect()
    }

    /// The EBS volume ids of the seeded brokers `ordinals`.
    pub async fn broker_volume_ids(&self, ordinals: std::ops::Range<usize>) -> Vec<String> {
        let mut ids = vec![];
        for ordinal in ordinals {
            let volume = self.broker_volume(ordinal).await;
            ids.push(volume.volume_id().expect("a volume id").to_string());
        }
        ids
    }

    /// The mutating calls of one operation (e.g. "ModifyVolume"), oldest first.
    pub fn calls(&self, operation: &str) -> Vec<Call> {
        self.mutating_calls()
            .into_iter()
            .filter(|c| c.operation == operation)
            .collect()
    }

    /// Calls on pipectl's lock table.
    pub fn lock_calls(&self) -> Vec<Call> {
        self.all_mutating_calls()
            .into_iter()
            .filter(|c| c.resource == LOCK_TABLE)
            .collect()
    }

    fn all_mutating_calls(&self) -> Vec<Call> {
        let log = self.http("GET", "/_emulator/log", "");
        log.as_array()
            .expect("log is a list")
            .iter()
            .map(|entry| Call {
                operation: entry["operation"].as_str().unwrap_or_default().to_string(),
                resource: entry["resource"].as_str().unwrap_or_default().to_string(),
                status: entry["status"].as_u64().unwrap_or_default(),
                at: entry["at"].as_f64().unwrap_or_default(),
                fault: entry["fault"].as_str().map(str::to_string),
            })
            .collect()
    }

    /// Mutating calls (the lock's included) the emulator injected a fault into.
    pub fn injected_faults(&self) -> usize {
        self.all_mutating_calls()
            .iter()
            .filter(|c| c.fault.is_some())
            .count()
    }

    pub fn clear_log(&self) {
        self.http("POST", "/_emulator/log/clear", "");
    }

    pub fn configure(&self, settings: &str) {
        self.http("POST", "/_emulator/config", settings);
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(REGION))
            // Checks see each answer as the service gave it: the SDK would retry some
            // (LimitExceededException counts as throttling) and hide the first reply.
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// DescribeTable through an independent SDK client.
    pub async fn table(&self, name: &str) -> aws_sdk_dynamodb::types::TableDescription {
        let described = self
            .dynamodb()
            .await
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeTable {name}: {e:?}"));
        described
            .table()
            .cloned()
            .unwrap_or_else(|| panic!("DescribeTable {name} returned no table"))
    }

    pub async fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    pub async fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk_config().await)
    }

    pub async fn autoscaling(&self) -> aws_sdk_applicationautoscaling::Client {
        aws_sdk_applicationautoscaling::Client::new(&self.sdk_config().await)
    }

    /// The EBS volume behind broker `ordinal`'s claim, found as a user would: the claim's PV
    /// (kubectl), its CSI volume handle, then DescribeVolumes (an independent EC2 client).
    pub async fn broker_volume(&self, ordinal: usize) -> aws_sdk_ec2::types::Volume {
        let cluster = self.cluster();
        let claim = cluster.get("pvc", &format!("data-kafka-broker-{ordinal}"));
        let pv_name = claim["spec"]["volumeName"].as_str().expect("bound claim");
        let pv = cluster.get("pv", pv_name);
        let id = pv["spec"]["csi"]["volumeHandle"]
            .as_str()
            .expect("EBS CSI volume");
        self.ec2()
            .await
            .describe_volumes()
            .volume_ids(id)
            .send()
            .await
            .expect("DescribeVolumes")
            .volumes()[0]
            .clone()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub resource: String,
    pub status: u64,
    pub at: f64,
    /// The fault the emulator injected into this call, if any (throttle, error, lost, reset).
    pub fault: Option<String>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.all());
        self
    }

    #[track_caller]
    pub fn expect_stdout(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.all()
        );
        self
    }

    /// The resource ids apply's summary lists as applied.
    pub fn applied(&self) -> Vec<String> {
        let summary = self
            .stdout
            .rsplit("Apply summary:")
            .next()
            .unwrap_or_default();
        summary
            .lines()
            .filter(|line| line.trim_end().ends_with("applied") && line.starts_with("  "))
            .filter_map(|line| line.split_whitespace().next().map(str::to_string))
            .collect()
    }

    /// Every change of the apply was applied (none failed, unconfirmed or not started), and
    /// each of `kinds` (resource id prefixes such as `lambda.function.`) had one at least.
    /// Per kind rather than a whole-stack total, so a new kind adds its line and edits none.
    #[track_caller]
    pub fn expect_applied_kinds(&self, kinds: &[&str]) -> &Self {
        assert!(
            self.stdout.contains(" applied, 0 failed, 0 not started."),
            "not every change was applied:\n{}",
            self.all()
        );
        let applied = self.applied();
        for kind in kinds {
            assert!(
                applied.iter().any(|id| id.starts_with(kind)),
                "no {kind} change was applied: {applied:?}\n{}",
                self.all()
            );
        }
        self
    }

    #[track_caller]
    pub fn expect_stderr(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.all()
        );
        self
    }
}

/// Validates a JSON document against docs/schema/pipectl.schema.json with Python's
/// `jsonschema` (in the emulator's venv), an implementation independent of pipectl.
#[track_caller]
pub fn assert_matches_schema(document: &str) {
    if let Some(errors) = schema_errors(document) {
        panic!("the document does not match the schema: {errors}\n{document}");
    }
}

/// What Python's `jsonschema` says is wrong with a document against
/// docs/schema/pipectl.schema.json, if anything.
pub fn schema_errors(document: &str) -> Option<String> {
    let schema = repo().join("docs/schema/pipectl.schema.json");
    let mut child = Command::new(python())
        .args([
            "-c",
            "import json, sys, jsonschema\nschema = json.load(open(sys.argv[1]))\njsonschema.Draft202012Validator.check_schema(schema)\njsonschema.validate(json.load(sys.stdin), schema, format_checker=jsonschema.FormatChecker())",
            path_str(&schema),
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python jsonschema");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(document.as_bytes())
        .expect("write the document");
    let output = child.wait_with_output().expect("jsonschema finished");
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The AWS CLI, an independent client, with the emulator's dummy credentials; against
/// `endpoint` when given. Panics with the CLI's stderr when it fails.
pub fn aws_cli(args: &[&str], endpoint: Option<&str>) -> Vec<u8> {
    let mut command = Command::new("aws");
    command
        .args(args)
        .args(["--region", REGION, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE");
    if let Some(endpoint) = endpoint {
        command.args(["--endpoint-url", endpoint]);
    }
    let output = command.output().expect("run the AWS CLI");
    assert!(
        output.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The test kit's Kafka broker double (emulator/kafka_broker), built as the example target
/// `kafka-broker-double` (`./scripts/test` builds it; so does `cargo test` without a filter).
pub struct KafkaDouble {
    child: Child,
    /// host:port to bootstrap from.
    pub bootstrap: String,
    log: tempfile::NamedTempFile,
    /// The CA of its TLS certificate (environment variable CA of `python`), when it has one.
    pub ca: Option<PathBuf>,
}

impl KafkaDouble {
    /// Starts the double with its flags (e.g. `["--brokers", "3", "--topic", "logs:6:3"]`).
    pub fn start(args: &[&str]) -> KafkaDouble {
        let exe = std::env::current_exe().expect("test exe");
        let target = exe.parent().and_then(Path::parent).expect("target dir");
        let double = target.join("examples/kafka-broker-double");
        assert!(
            double.exists(),
            "{} is missing: run `cargo build --examples` (./scripts/test does)",
            double.display()
        );
        let log = tempfile::NamedTempFile::new().expect("log file");
        let mut child = Command::new(&double)
            .args(["--port", "0", "--log", path_str(log.path())])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Kafka broker double");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the double's address");
        let bootstrap = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected output: {line:?}"))
            .to_string();
        KafkaDouble {
            child,
            bootstrap,
            log,
            ca: None,
        }
    }

    /// The requests the double answered, by API name, in order; a write sent with
    /// validate_only (which changes nothing) is `NAME validate_only`.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.log.path())
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|v| {
                let api = v["api"].as_str()?;
                Some(match v["validate_only"].as_bool() {
                    Some(true) => format!("{api} validate_only"),
                    _ => api.to_string(),
                })
            })
            .collect()
    }

    pub fn count(&self, api: &str) -> usize {
        self.requests().iter().filter(|r| *r == api).count()
    }

    pub fn clear_log(&self) {
        std::fs::write(self.log.path(), "").expect("clear log");
    }

    /// Runs `body` with kafka-python's KafkaAdminClient (an independent client) bound to
    /// `admin`; prints of `out(value)` come back as JSON. `security` are the client's
    /// keyword arguments (e.g. SASL settings).
    pub fn python(&self, security: &str, body: &str) -> Value {
        let script = format!(
            "import json\nfrom kafka.admin import KafkaAdminClient, NewPartitions, ConfigResource, ConfigResourceType\nadmin = KafkaAdminClient(bootstrap_servers={:?}, request_timeout_ms=10000, {security})\ndef out(v):\n    print(json.dumps(v))\n{body}\n",
            self.bootstrap
        );
        let output = Command::new(python())
            .args(["-c", &script])
            .env("CA", self.ca.as_deref().unwrap_or(Path::new("")))
            .output()
            .expect("run kafka-python");
        assert!(
            output.status.success(),
            "kafka-python failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("kafka-python printed JSON")
    }
}

impl Drop for KafkaDouble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private CA and a certificate it signed for `san` (`IP:127.0.0.1`, `DNS:kafka-broker-0`),
/// made with openssl: (CA, cert, key).
pub fn private_ca_for(dir: &Path, san: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key) = (dir.join("broker.pem"), dir.join("broker.key"));
    let openssl = |args: &[&str]| {
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "1"])
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    };
    openssl(&[
        "-subj",
        "/CN=test-ca",
        "-keyout",
        path_str(&ca_key),
        "-out",
        path_str(&ca),
    ]);
    openssl(&[
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        &format!("subjectAltName={san}"),
        "-addext",
        "basicConstraints=CA:FALSE",
        "-CA",
        path_str(&ca),
        "-CAkey",
        path_str(&ca_key),
        "-keyout",
        path_str(&key),
        "-out",
        path_str(&cert),
    ]);
    (ca, cert, key)
}
