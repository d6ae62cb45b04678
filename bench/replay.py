"""The benchmark's fast fake AWS: records the answers of the local emulator once, then replays
them to pipectl after a fixed latency per call, with AWS's request-rate quotas enforced or not.
The emulator (moto) answers in milliseconds to tens of milliseconds depending on the call, which
would hide pipectl's own cost; replaying makes every call cost the same, like a region's API.

  replay.py --record UPSTREAM --out RECORDING.json      forward, and write what was answered
  replay.py --replay RECORDING.json [--latency-ms 25] [--quotas]

Prints "listening on http://127.0.0.1:PORT". GET /_replay/calls gives the calls and throttled
calls by "service:Operation", each call's (start, end, name), in seconds, and the server's own
CPU seconds (`cpu_s`); POST /_replay/reset
clears them (and refills the quota buckets). A request that was never recorded is a 599.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
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
        # The server's own CPU from here (the recording loaded) or the last reset: what serving
        # cost, for the machine's CPU bound of a run.
        self.cpu_epoch = time.process_time()

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


class Headers(dict):
    """Request headers by lower-cased name; `get` takes any case."""

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


def response_bytes(status: int, headers, body: bytes) -> bytes:
    head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    head += [f"{k}: {v}" for k, v in headers]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable", 599: "Not Recorded"}


class Server:
    """One asyncio loop: a call's latency is a timer, not a sleeping thread, so thousands of
    calls in flight cost no threads and the server's own cost per call stays small next to
    pipectl's (the threaded http.server answered about 2,200 calls a second on this machine)."""

    def __init__(self, state: State):
        self.state = state

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                method, path, headers, body = request
                started = time.monotonic()
                status, out, answer, name = await self.answer(method, path, headers, body)
                writer.write(response_bytes(status, out, answer))
                await writer.drain()
                if name is not None:
                    # A call's span ends once its answer is sent, as the client sees it.
                    state = self.state
                    state.spans.append((started - state.epoch, time.monotonic() - state.epoch, name))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, path: str, headers: Headers, body: bytes):
        """(status, headers, body, the call's name for its span, or None for none)."""
        state = self.state
        if path == "/_replay/calls":
            return 200, [("Content-Type", "application/json")], json.dumps(
                {"calls": state.calls, "throttled": state.throttled, "spans": state.spans,
                 "cpu_s": time.process_time() - state.cpu_epoch}).encode(), None
        if path == "/_replay/reset":
            state.calls.clear(); state.throttled.clear(); state.spans.clear(); state.buckets.clear()
            state.served.clear(); state.epoch = time.monotonic(); state.cpu_epoch = time.process_time()
            return 200, [("Content-Type", "application/json")], b"{}", None
        service, operation, form = identify(method, path, headers, body)
        name = f"{service}:{operation}"
        caller = access_key(headers)
        key = key_of(method, path, body, caller)
        if state.args.record:
            status, out, answer = await asyncio.get_running_loop().run_in_executor(
                None, forward, state.args.record, method, path, headers, body)
            state.recording.setdefault(key, []).append({"status": status, "headers": out, "body": answer.decode("latin-1")})
            return status, out, answer, None
        await asyncio.sleep(state.args.latency_ms / 1000.0)
        state.calls[name] = state.calls.get(name, 0) + 1
        if not state.take(service, operation, form, caller) and service in THROTTLED:
            status, content_type, answer, extra = THROTTLED[service]
            state.throttled[name] = state.throttled.get(name, 0) + 1
            return status, [("Content-Type", content_type)] + extra, answer, name
        answers = state.recording.get(key)
        if not answers:
            return 599, [("Content-Type", "text/plain")], f"not recorded: {key}".encode(), None
        n = state.served.get(key, 0)
        state.served[key] = n + 1
        recorded = answers[min(n, len(answers) - 1)]
        return recorded["status"], recorded["headers"], recorded["body"].encode("latin-1"), name


async def read_request(reader: asyncio.StreamReader):
    """(method, path, headers, body) of the next request on a keep-alive connection, or None
    when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = Headers()
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    return method, path, headers, body


def forward(upstream: str, method: str, path: str, headers: Headers, body: bytes):
    """The upstream's answer to one call (recording)."""
    url = upstream.rstrip("/") + path
    sent = {k: v for k, v in headers.items() if k not in ("host", "content-length")}
    request = urllib.request.Request(url, data=body if body or method in ("POST", "PUT") else None,
                                     headers=sent, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP], response.read()
    except urllib.error.HTTPError as err:
        return err.code, [(k, v) for k, v in err.headers.items() if k.lower() not in HOP_BY_HOP], err.read()


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

    def stop(*_):
        if args.record and args.out:
            with open(args.out, "w") as f:
                json.dump(state.recording, f)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    async def serve() -> None:
        # pipectl opens dozens of connections at once: a deep backlog keeps the server from
        # being the bottleneck.
        server = await asyncio.start_server(Server(state).connection, "127.0.0.1", args.port, backlog=1024)
        print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
