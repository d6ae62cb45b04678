"""The benchmark's fast fake AWS: records the answers of the local emulator once, then replays
them to pipectl after a fixed latency per call, with AWS's request-rate quotas enforced or not.
The emulator (moto) answers in milliseconds to tens of milliseconds depending on the call, which
would hide pipectl's own cost; replaying makes every call cost the same, like a region's API.

  replay.py --record UPSTREAM --out RECORDING.json      forward, and write what was answered
  replay.py --replay RECORDING.json [--latency-ms 25] [--quotas]

Prints "listening on http://127.0.0.1:PORT". GET /_replay/calls gives the calls and throttled
calls by "service:Operation" and each call's (start, end, name), in seconds; POST /_replay/reset
clears them (and refills the quota buckets). A request that was never recorded is a 599.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulator"))
from quotas import QUOTA_SOURCES, TokenBucket, lambda_operation, quota_bucket  # noqa: E402

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}
# Headers the SDK varies per call (signature, time, invocation id): not part of a call's identity.
VARYING = re.compile(r"^(authorization|x-amz-date|x-amz-security-token|amz-sdk-invocation-id|amz-sdk-request|user-agent|x-amz-user-agent|x-amz-content-sha256|content-length|host)$", re.I)


def identify(method: str, path: str, headers, body: bytes) -> tuple[str, str, dict]:
    """(service, operation, EC2 form) of a call, as the emulator names them."""
    auth = headers.get("Authorization", "")
    scope = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", auth)
    service = scope.group(1) if scope else "other"
    target = headers.get("X-Amz-Target", "")
    form: dict = {}
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif service == "lambda":
        operation = lambda_operation(method, path.split("?", 1)[0])
    elif service in ("ec2", "sts"):
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        operation = form.get("Action", "")
    else:
        operation = f"{method} {path.split('?', 1)[0]}"
    return service, operation, form


def access_key(headers) -> str:
    """The signing access key: whose call it is (a fleet's accounts each have their own)."""
    found = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
    return found.group(1) if found else ""


def key_of(method: str, path: str, body: bytes, key_id: str = "") -> str:
    return f"{key_id} {method} {path} {hashlib.sha256(body).hexdigest()}"


THROTTLED = {
    "lambda": (429, "application/json", b'{"Type": "User", "message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"}',
               [("x-amzn-ErrorType", "TooManyRequestsException")]),
    "ec2": (503, "text/xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>replay</RequestID></Response>', []),
    "dynamodb": (400, "application/x-amz-json-1.0", b'{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate of requests exceeds the allowed throughput."}', []),
}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.recording: dict[str, list[dict]] = {}
        self.served: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.throttled: dict[str, int] = {}
        self.spans: list[tuple[float, float]] = []
        self.buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self.epoch = time.monotonic()
        if args.replay:
            with open(args.replay) as f:
                self.recording = json.load(f)

    def take(self, service: str, operation: str, form: dict, caller: str = "") -> bool:
        """A token of the call's bucket, per caller (an access key: one per account here, as AWS
        keeps quotas per account)."""
        if not self.args.quotas:
            return True
        bucket = quota_bucket(service, operation, form)
        if bucket is None:
            return True
        per_api = operation if bucket in ("ec2:non-mutating", "ec2:unfiltered", "ec2:mutating") else ""
        with self.lock:
            if (caller, bucket, per_api) not in self.buckets:
                self.buckets[(caller, bucket, per_api)] = TokenBucket(*QUOTA_SOURCES[bucket])
            return self.buckets[(caller, bucket, per_api)].take()


def handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status: int, headers: list, body: bytes):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def control(self) -> bool:
            if self.path == "/_replay/calls":
                with state.lock:
                    body = json.dumps({"calls": state.calls, "throttled": state.throttled, "spans": state.spans}).encode()
                self.reply(200, [("Content-Type", "application/json")], body)
                return True
            if self.path == "/_replay/reset":
                with state.lock:
                    state.calls.clear(); state.throttled.clear(); state.spans.clear(); state.buckets.clear()
                    state.served.clear(); state.epoch = time.monotonic()
                self.reply(200, [("Content-Type", "application/json")], b"{}")
                return True
            return False

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/_replay/"):
                if self.control():
                    return
            started = time.monotonic()
            service, operation, form = identify(self.command, self.path, self.headers, body)
            name = f"{service}:{operation}"
            caller = access_key(self.headers)
            key = key_of(self.command, self.path, body, caller)
            if state.args.record:
                status, headers, answer = self.forward(body)
                with state.lock:
                    state.recording.setdefault(key, []).append({"status": status, "headers": headers, "body": answer.decode("latin-1")})
                self.reply(status, headers, answer)
                return
            time.sleep(state.args.latency_ms / 1000.0)
            with state.lock:
                state.calls[name] = state.calls.get(name, 0) + 1
            if not state.take(service, operation, form, caller) and service in THROTTLED:
                status, content_type, answer, extra = THROTTLED[service]
                with state.lock:
                    state.throttled[name] = state.throttled.get(name, 0) + 1
                self.reply(status, [("Content-Type", content_type)] + extra, answer)
            else:
                answers = state.recording.get(key)
                if not answers:
                    self.reply(599, [("Content-Type", "text/plain")], f"not recorded: {key}".encode())
                    return
                with state.lock:
                    n = state.served.get(key, 0)
                    state.served[key] = n + 1
                recorded = answers[min(n, len(answers) - 1)]
                self.reply(recorded["status"], [tuple(h) for h in recorded["headers"]], recorded["body"].encode("latin-1"))
            with state.lock:
                state.spans.append((started - state.epoch, time.monotonic() - state.epoch, name))

        def forward(self, body: bytes):
            url = state.args.record.rstrip("/") + self.path
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(url, data=body if body or self.command in ("POST", "PUT") else None,
                                             headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request) as response:
                    answer = response.read()
                    status = response.status
                    out = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            except urllib.error.HTTPError as err:
                answer = err.read()
                status = err.code
                out = [(k, v) for k, v in err.headers.items() if k.lower() not in HOP_BY_HOP]
            return status, out, answer

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", metavar="UPSTREAM")
    parser.add_argument("--out", help="where --record writes the recording (on SIGTERM/exit)")
    parser.add_argument("--replay", metavar="RECORDING")
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--quotas", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if bool(args.record) == bool(args.replay):
        parser.error("give --record UPSTREAM --out FILE, or --replay FILE")
    state = State(args)

    class Server(ThreadingHTTPServer):
        # pipectl opens dozens of connections at once; the default backlog of 5 would make the
        # server, not pipectl, the bottleneck.
        request_queue_size = 1024

    server = Server(("127.0.0.1", args.port), handler(state))
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    import signal

    def stop(*_):
        if args.record and args.out:
            with state.lock, open(args.out, "w") as f:
                json.dump(state.recording, f)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
