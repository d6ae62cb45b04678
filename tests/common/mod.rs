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

pub struct Emulator {
    child: Child,
    pub endpoint: String,
    host_port: String,
    workdir: tempfile::TempDir,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    std::env::var_os("PIPECTL_EMULATOR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"))
}

impl Emulator {
    /// Starts an emulator on a free port with the given settings (JSON, see emulator/server.py).
    pub fn start(settings: &str) -> Emulator {
        let python = python();
        assert!(
            python.exists(),
            "{} is missing: run ./scripts/setup (or ./scripts/test) first",
            python.display()
        );
        let mut child = Command::new(&python)
            .arg(repo().join("emulator/server.py"))
            .args(["--port", "0", "--config", settings])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the emulator's address");
        let endpoint = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected emulator output: {line:?}"))
            .to_string();
        let host_port = endpoint.trim_start_matches("http://").to_string();
        Emulator {
            child,
            endpoint,
            host_port,
            workdir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Writes a stack file into this test's directory and returns its path.
    pub fn stack(&self, name: &str, text: &str) -> PathBuf {
        let path = self.workdir.path().join(name);
        std::fs::write(&path, text).expect("write stack file");
        path
    }

    /// Runs pipectl against this emulator, as a user or CI job would (no terminal, no colour).
    pub fn pipectl(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_pipectl"))
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .output()
            .expect("run pipectl");
        Run::from(output)
    }

    /// `pipectl apply -f FILE --auto-approve`, as a CI job runs it.
    pub fn apply(&self, stack: &Path) -> Run {
        self.pipectl(&["apply", "-f", path_str(stack), "--auto-approve"])
    }

    /// Creates Lambda functions at their defaults, through boto3 (pipectl does not deploy code).
    pub fn seed_functions(&self, names: &[&str]) {
        let status = Command::new(python())
            .arg(repo().join("emulator/seed.py"))
            .args(["--endpoint", &self.endpoint, "function"])
            .args(names)
            .stderr(Stdio::null())
            .status()
            .expect("run seed.py");
        assert!(status.success(), "seeding functions failed");
    }

    fn http(&self, method: &str, path: &str, body: &str) -> Value {
        let mut stream = TcpStream::connect(&self.host_port).expect("connect to emulator");
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host_port,
            body.len()
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
        serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("bad emulator reply {response:?}: {e}"))
    }

    /// Every mutating AWS call the emulator received, oldest first.
    pub fn mutating_calls(&self) -> Vec<Call> {
        let log = self.http("GET", "/_emulator/log", "");
        log.as_array()
            .expect("log is a list")
            .iter()
            .map(|entry| Call {
                operation: entry["operation"].as_str().unwrap_or_default().to_string(),
                resource: entry["resource"].as_str().unwrap_or_default().to_string(),
                status: entry["status"].as_u64().unwrap_or_default(),
                at: entry["at"].as_f64().unwrap_or_default(),
            })
            .collect()
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

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
