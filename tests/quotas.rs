//! AWS's request-rate quotas (issue 13): the emulator enforces the documented buckets and
//! answers with each service's throttling error; pipectl reads at the API minimum (one
//! account-wide ListEventSourceMappings once more than a few functions have triggers) and paces
//! itself under the quotas, so a plan is not throttled at all.

mod common;

use common::{python, Emulator};
use serde_json::Value;

/// The emulator's call counts by "service:Operation", and its throttled calls.
fn calls(emulator: &Emulator) -> (Value, Value) {
    let url = format!("{}/_emulator/calls", emulator.endpoint);
    let output = std::process::Command::new("curl")
        .args(["-fsS", &url])
        .output()
        .expect("curl");
    let value: Value = serde_json::from_slice(&output.stdout).expect("calls JSON");
    (value["calls"].clone(), value["throttled"].clone())
}

#[test]
fn the_emulator_throttles_getfunction_above_100_per_second_with_lambdas_error() {
    // A hundredth of the documented rates (a bucket of 1, refilled once a second), so a client
    // this emulator answers far slower than AWS would, on a loaded CI machine, still meets it.
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["f"]);
    emulator.configure(r#"{"quotas": true, "quota_scale": 0.01}"#);
    // boto3 (an independent client) without retries: 12 GetFunction as fast as it can (it takes a few tenths of a second over a throttled answer).
    let script = format!(
        "import boto3, botocore.config, json\nc = boto3.client('lambda', endpoint_url={:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing', config=botocore.config.Config(retries={{'max_attempts': 1}}))\ncodes = []\nfor _ in range(12):\n    try:\n        c.get_function(FunctionName='f'); codes.append('ok')\n    except c.exceptions.TooManyRequestsException as e:\n        codes.append(e.response['ResponseMetadata']['HTTPStatusCode'])\nprint(json.dumps(codes))",
        emulator.endpoint
    );
    let output = std::process::Command::new(python())
        .args(["-c", &script])
        .output()
        .expect("python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let codes: Vec<Value> = serde_json::from_slice(&output.stdout).expect("codes");
    let throttled = codes.iter().filter(|c| **c == 429).count();
    let answered = codes.iter().filter(|c| *c == "ok").count();
    assert!(answered >= 1, "{answered} answered");
    assert!(throttled > 0, "nothing throttled: {codes:?}");
}

#[test]
fn a_plan_of_many_functions_reads_at_the_api_minimum_and_is_never_throttled() {
    let emulator = Emulator::start("{}");
    let names: Vec<String> = (0..120).map(|i| format!("fn-{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    emulator.seed_functions(&refs);
    let mut stack = String::from("[stack]\nname = \"many\"\n");
    for (i, name) in names.iter().enumerate() {
        stack.push_str(&format!(
            "\n[[lambda.functions]]\nname = \"{name}\"\ntimeout_seconds = 3\n"
        ));
        if i < 10 {
            stack.push_str("\n[lambda.functions.kafka_trigger]\nbootstrap_servers = [\"b-1.kafka.internal:9092\"]\ntopic = \"logs\"\nhealth_timeout_seconds = 0\n");
        }
    }
    let file = emulator.stack("many.toml", &stack);
    // Seeded; now AWS's quotas, at their documented rates.
    emulator.configure(r#"{"quotas": true}"#);
    let before = calls(&emulator).0;
    emulator
        .pipectl(&["plan", common::path_str(&file)])
        .expect_code(0)
        .expect_stdout("10 to create");
    let (after, throttled) = calls(&emulator);
    let count = |op: &str| after[op].as_u64().unwrap_or(0) - before[op].as_u64().unwrap_or(0);
    assert_eq!(count("lambda:GetFunction"), 120);
    // One account-wide listing instead of ten per-function ones.
    assert_eq!(count("lambda:ListEventSourceMappings"), 1, "{after}");
    assert_eq!(throttled, serde_json::json!({}), "throttled: {throttled}");
}

/// Apply's writes share the limiter: 40 functions' UpdateFunctionConfiguration (Lambda's
/// 15-per-second control-plane bucket) go out concurrently, lane by lane, yet none is throttled.
#[test]
fn an_apply_of_many_functions_writes_under_the_control_plane_quota() {
    let emulator = Emulator::start("{}");
    let names: Vec<String> = (0..40).map(|i| format!("fn-{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    emulator.seed_functions(&refs);
    let mut stack = String::from("[stack]\nname = \"writes\"\n");
    for name in &names {
        stack.push_str(&format!(
            "\n[[lambda.functions]]\nname = \"{name}\"\ntimeout_seconds = 30\n"
        ));
    }
    let file = emulator.stack("writes.toml", &stack);
    emulator.configure(r#"{"quotas": true}"#);
    let share = std::env::var("QUOTA_TEST_SHARE").unwrap_or_else(|_| "0.5".into());
    emulator
        .pipectl(&[
            "apply",
            "-f",
            common::path_str(&file),
            "--auto-approve",
            "--api-rate-share",
            &share,
        ])
        .expect_code(0)
        .expect_stdout("40 applied");
    let (after, throttled) = calls(&emulator);
    assert_eq!(after["lambda:UpdateFunctionConfiguration"], 40, "{after}");
    assert_eq!(throttled, serde_json::json!({}), "throttled: {throttled}");
}

/// Many endpoints: their inference components come from one account-wide
/// ListInferenceComponents, and an endpoint that hosts components is still found.
#[test]
fn many_endpoints_list_inference_components_once() {
    let emulator = Emulator::start("{}");
    emulator.seed(&["sagemaker", "e1", "e2", "e3", "e4"]);
    emulator.seed(&["sagemaker-inference-components", "ranker"]);
    let mut stack = String::from("[stack]\nname = \"endpoints\"\n");
    for endpoint in ["e1", "e2", "e3", "e4", "ranker"] {
        stack.push_str(&format!(
            "\n[[sagemaker.endpoints]]\nendpoint = \"{endpoint}\"\nmin_capacity = 1\nmax_capacity = 2\ntarget_invocations_per_instance = 100.0\n"
        ));
    }
    let file = emulator.stack("endpoints.toml", &stack);
    let before = calls(&emulator).0;
    emulator
        .pipectl(&["plan", common::path_str(&file)])
        .expect_code(1)
        .expect_stderr(
            "endpoint ranker hosts inference components on variant AllTraffic (ranker-component)",
        );
    let after = calls(&emulator).0;
    let listed = after["sagemaker:ListInferenceComponents"]
        .as_u64()
        .unwrap_or(0)
        - before["sagemaker:ListInferenceComponents"]
            .as_u64()
            .unwrap_or(0);
    assert_eq!(listed, 1, "{after}");
}

/// The paced clients are the SDK's own HTTPS client: HTTP_PROXY from the environment is still
/// honoured (a forwarding proxy sees Lambda's GetFunction go through it).
#[test]
fn paced_requests_still_go_through_the_environments_proxy() {
    let emulator = Emulator::start("{}");
    emulator.seed_functions(&["f"]);
    let proxy_log = emulator.dir().join("proxy.log");
    let script = r#"
import http.server, sys, urllib.request
log = open(sys.argv[1], "a", buffering=1)
class Proxy(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        log.write(self.command + " " + self.path + "\n")
        request = urllib.request.Request(self.path, data=body or None, method=self.command,
                                         headers={k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection",)})
        try:
            with urllib.request.urlopen(request) as r:
                status, headers, data = r.status, r.getheaders(), r.read()
        except urllib.error.HTTPError as e:
            status, headers, data = e.code, list(e.headers.items()), e.read()
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_PUT = do_DELETE = forward
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
"#;
    let mut proxy = std::process::Command::new(python())
        .args(["-c", script, common::path_str(&proxy_log)])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the proxy");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(proxy.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("proxy address");
    let proxy_url = line.trim().trim_start_matches("listening on ").to_string();
    let file = emulator.stack(
        "p.toml",
        "[stack]\nname = \"p\"\n\n[[lambda.functions]]\nname = \"f\"\ntimeout_seconds = 3\n",
    );
    let run = emulator.pipectl_with(
        &["plan", common::path_str(&file)],
        &[("HTTP_PROXY", proxy_url.as_str()), ("NO_PROXY", "")],
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
    run.expect_code(0);
    let log = std::fs::read_to_string(&proxy_log).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.starts_with("GET ") && l.ends_with("/2015-03-31/functions/f")),
        "GetFunction did not go through the proxy:\n{log}"
    );
}

/// DynamoDB's TagResource and UntagResource are limited to five calls per second per account
/// (their API reference), far below the control plane's 2,500: adopting many tables at once
/// (each tagged with the stack's name at its first change) stays under it.
#[test]
fn table_tags_are_written_under_five_per_second() {
    let emulator = Emulator::start("{}");
    let names: Vec<String> = (0..12).map(|i| format!("adopted-{i:02}")).collect();
    let mut stack = String::from("[stack]\nname = \"tags\"\n");
    for name in &names {
        common::aws_cli(
            &[
                "dynamodb",
                "create-table",
                "--table-name",
                name,
                "--attribute-definitions",
                "AttributeName=id,AttributeType=S",
                "--key-schema",
                "AttributeName=id,KeyType=HASH",
                "--billing-mode",
                "PAY_PER_REQUEST",
            ],
            Some(&emulator.endpoint),
        );
        stack.push_str(&format!(
            "\n[[dynamodb.tables]]\nname = \"{name}\"\nbilling_mode = \"PROVISIONED\"\ncapacity = {{ read = 5, write = 5 }}\npartition_key = {{ name = \"id\", type = \"S\" }}\n"
        ));
    }
    let file = emulator.stack("tags.toml", &stack);
    emulator.configure(r#"{"quotas": true}"#);
    emulator
        .pipectl(&["apply", "-f", common::path_str(&file), "--auto-approve"])
        .expect_code(0)
        .expect_stdout("12 applied");
    let (after, throttled) = calls(&emulator);
    assert_eq!(after["dynamodb:TagResource"], 12, "{after}");
    assert_eq!(throttled, serde_json::json!({}), "throttled: {throttled}");
}
