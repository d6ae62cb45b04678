"""pipectl's local AWS emulator: moto's server with a layer that fills the gaps pipectl needs.

This is a TEST DOUBLE. It never talks to AWS. moto answers most calls; this layer (a WSGI
middleware in moto's own process) adds what moto lacks or gets wrong, following AWS's documented
behaviour and error codes:

* Lambda Kafka event source mappings (MSK and self-managed), with AWS's validation and the
  Creating/Updating/Deleting -> Enabled transitions.
* Lambda GetAccountSettings with a configurable account concurrency limit, and the
  "unreserved concurrency may not drop below its minimum (100)" rule on PutFunctionConcurrency.
* Timed state transitions: Lambda LastUpdateStatus InProgress after UpdateFunctionConfiguration,
  DynamoDB table UPDATING after UpdateTable, GSIs CREATING (Backfilling) and DELETING; and the
  errors AWS gives during them (ResourceConflictException, ResourceInUseException,
  LimitExceededException).
* 400-class validation errors where moto accepts bad input or answers 500.
* EC2 EBS volume modifications: ModifyVolume starts a modification that is `modifying`, then
  `optimizing`, then `completed` over a configurable time (moto completes it at once), and
  AWS's refusals until it has completed (IncorrectModificationState) or past four
  modifications per volume in a rolling 24 h (VolumeModificationRateExceeded);
  DescribeVolumesModifications reports those states, optionally a moment late.
* EKS DescribeCluster: the cluster's API endpoint can point at the project's fake Kubernetes
  API server (emulator/kube_apiserver.py), one per account if need be, and a cluster's status
  can be set (e.g. CREATING).
* A log of every mutating call, so tests can assert that a refused plan changed nothing.

Control endpoints (not AWS APIs): GET /_emulator/health, GET /_emulator/log,
POST /_emulator/log/clear, GET|POST /_emulator/config (JSON body with any of the Settings keys).

Run: python emulator/server.py --port 0   (prints "listening on http://127.0.0.1:PORT")
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import re
import socket
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
import zlib
from xml.sax.saxutils import escape as xml_escape
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qs, unquote

import cbor2

import iam
from quotas import LAMBDA_ROUTES, QUOTA_SOURCES, TokenBucket, quota_bucket
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class Scope(NamedTuple):
    """Where a call acts: the account whose credentials sign it and the region. moto keeps a
    backend per account and region (an assumed role's keys act in the role's account), and so
    does this layer's own state: one account never sees another's functions, tables, volumes
    or mappings, as in AWS."""

    account: str
    region: str


@dataclass
class Settings:
    """Knobs a test turns to make AWS's asynchronous behaviour observable."""

    lambda_update_seconds: float = 0.0
    table_update_seconds: float = 0.0
    gsi_create_seconds: float = 0.0
    gsi_delete_seconds: float = 0.0
    esm_transition_seconds: float = 0.0
    # Contributor Insights: ENABLING/DISABLING for this long before ENABLED/DISABLED.
    contributor_insights_seconds: float = 0.0
    # Self-managed Kafka brokers the emulated Lambda pollers can reach only in some way:
    # {"host:port": {"vpc": "vpc-...", "auth": "SASL_SCRAM_512_AUTH"}}. A broker with a vpc is
    # private to it: a mapping needs subnets of that VPC and a security group of it, both
    # existing in EC2. A broker with an auth needs that SourceAccessConfiguration type.
    # Brokers not listed are reachable without either.
    kafka_brokers: dict = field(default_factory=dict)
    # How long after a mapping is Enabled its LastProcessingResult stays "No records processed".
    esm_connect_seconds: float = 0.0
    account_concurrency_limit: int = 1000
    minimum_unreserved_concurrency: int = 100
    pay_per_request_switches_per_day: int = 4
    # DynamoDB's per-table quota of read and of write capacity units (default 40,000; raised
    # per account through Service Quotas).
    table_capacity_quota: int = 40000
    # When set, the next UpdateFunctionConfiguration ends in LastUpdateStatus=Failed with this reason.
    fail_next_lambda_update: str | None = None
    # EBS: how long a modification stays modifying+optimizing; how many modifications a volume
    # may start per rolling 24 h (AWS: 4, ModifyVolume API reference); and how long
    # DescribeVolumesModifications keeps reporting the previous modification after a new one
    # started (AWS's reads are eventually consistent).
    volume_modification_seconds: float = 0.0
    volume_modifications_per_day: int = 4
    volume_modification_report_lag_seconds: float = 0.0
    # EBS: when set, each new modification ends in the `failed` state with this StatusMessage
    # and the volume keeps its previous settings (DescribeVolumesModifications API reference:
    # ModificationState `failed`, StatusMessage "a status message about the modification
    # progress or failure").
    volume_modification_failure: str | None = None
    # DynamoDB: table name -> {"status": TableStatus, "reason": ArchivalReason} to report, for the
    # states a table can fall into by itself (DescribeTable API reference, TableDescription:
    # INACCESSIBLE_ENCRYPTION_CREDENTIALS, ARCHIVING, ARCHIVED).
    table_status: dict = field(default_factory=dict)
    # DynamoDB: table name -> TableSizeBytes to report (moto reports 0 whatever the table holds;
    # AWS refreshes the figure about every six hours: DescribeTable API reference).
    table_size_bytes: dict = field(default_factory=dict)
    # SageMaker: endpoint name -> {"status": EndpointStatus, "reason": FailureReason} to report
    # (DescribeEndpoint API reference: OutOfService, Failed, ... with FailureReason).
    endpoint_status: dict = field(default_factory=dict)
    # Contributor Insights enables that end FAILED, by "TABLE" or "TABLE/INDEX": one of the
    # causes DescribeContributorInsights documents for FailureException ("rule_limit",
    # "rules_denied", "service_linked_role", "internal").
    contributor_insights_failure: dict = field(default_factory=dict)
    # Price List: {usagetype: "USD per unit"} replacing the fixture's price (AWS publishing new
    # prices), for `pipectl prices update`.
    price_overrides: dict = field(default_factory=dict)
    # EKS: DescribeCluster answers this endpoint (e.g. the fake API server) instead of moto's.
    eks_endpoint: str | None = None
    # EKS: account id -> the endpoint DescribeCluster answers for that account's clusters,
    # before `eks_endpoint`. Every EKS cluster has an API server endpoint of its own ("Cluster
    # API server endpoint", EKS user guide), so a fleet's accounts each get their own fake.
    eks_endpoints: dict = field(default_factory=dict)
    # EKS: cluster name -> status to report (e.g. {"kafka-logs": "CREATING"}).
    eks_cluster_status: dict = field(default_factory=dict)
    # When set to an operation name (e.g. "CreateTable"), the next successful call of it is
    # carried out but its reply is lost: the client gets a 500 and will retry.
    lose_next_reply: str | None = None
    # Injected faults, reproducible: {"seed": 7, "throttle_rate": 0.3, "error_rate": 0.05,
    # "lost_reply_rate": 0.1, "reset_rate": 0.0, "services": [...], "operations": [...]}.
    # Whether the n-th call of one (service, operation) fails is a hash of the seed and those,
    # so a seed gives the same faults in every run, whichever resource's call comes n-th.
    faults: dict = field(default_factory=dict)
    # AWS's documented request-rate quotas (see QUOTA_SOURCES), enforced per account as token
    # buckets and answered with each service's throttling error. Off by default (tests that need
    # speed); the benchmark turns them on. `quota_scale` multiplies every rate (a test can make
    # throttling show at small sizes).
    quotas: bool = False
    quota_scale: float = 1.0
    # IAM: authorize every request against the caller's identity policies (emulator/iam.py)
    # and answer denials in the service's own error format. Off by default: the default test
    # keys belong to no IAM user and act as the account root either way.
    iam_enforcement: bool = False


class AwsError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def now() -> float:
    return time.time()


def function_name_of(name_or_arn: str) -> str:
    """Lambda accepts a name, a partial ARN or a full ARN wherever it takes FunctionName."""
    name = unquote(name_or_arn)
    if ":function:" in name:
        name = name.split(":function:", 1)[1]
    return name.split(":", 1)[0]


class Layer:
    """WSGI middleware in front of moto. Each handler either answers, or lets moto answer and
    then adjusts what moto said to what AWS would say at this moment."""

    def __init__(self, moto_app: Callable, settings: Settings):
        self.moto_app = moto_app
        self.settings = settings
        self.lock = threading.RLock()
        self.log: list[dict[str, Any]] = []
        # (scope, function) -> {"until": t, "fail": reason|None}
        self.lambda_updates: dict[tuple[str, str], dict[str, Any]] = {}
        # (scope, table) -> t (UPDATING until)
        self.table_busy: dict[tuple[str, str], float] = {}
        # (scope, table, index) -> {"status": CREATING|DELETING, "until": t, "description": {...}}
        self.index_ops: dict[tuple[str, str, str], dict[str, Any]] = {}
        # (scope, table) -> [timestamps of switches to PAY_PER_REQUEST]
        self.ppr_switches: dict[tuple[str, str], list[float]] = {}
        # (service, operation) -> calls seen, for reproducible fault injection
        self.fault_counts: dict[tuple[str, str], int] = {}
        # (scope, table, index or "") -> {"status": ENABLING|ENABLED|DISABLING|DISABLED, "until": t}
        # (Contributor Insights; moto has none)
        self.contributor_insights: dict[tuple[str, str, str], dict[str, Any]] = {}
        # uuid -> mapping dict (Kafka mappings only; moto does not support them)
        self.kafka_mappings: dict[str, dict[str, Any]] = {}
        # (scope, name) -> inference component summary (moto has none)
        self.inference_components: dict[tuple[str, str], dict[str, Any]] = {}
        # (scope, volume id) -> {"start": t, "seconds": duration, "visible_at": t, "previous": t|None}
        self.volume_modifications: dict[tuple[str, str], dict[str, Any]] = {}
        # (scope, volume id) -> start times of its modifications
        self.volume_modification_starts: dict[tuple[str, str], list[float]] = {}
        # Quotas: (bucket, account, region, EC2 action) -> TokenBucket; every call and every throttled
        # call by "service:Operation" (GET /_emulator/calls), for the benchmark.
        self.buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self.calls: dict[str, int] = {}
        self.throttled: dict[str, int] = {}
        # IAM enforcement: every check made, {"principal", "action", "resource", "decision"}
        # (GET /_emulator/authorizations), so a test can tell which statements were used.
        self.authorizations: list[dict[str, str]] = []

    # ------------------------------------------------------------------ plumbing
    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/_emulator/"):
            status, headers, payload = self.control(method, path, body)
            start_response(status, headers + [("Content-Length", str(len(payload)))])
            return [payload]
        request = Request(environ, body)
        if request.service == "lambda":
            self.resolve_lambda(request)
        name = f"{request.service}:{request.operation}"
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1
        if not self.within_quota(request):
            with self.lock:
                self.throttled[name] = self.throttled.get(name, 0) + 1
            status, headers, payload = request.error(AwsError(*THROTTLING[request.service]))
            headers.append(("Content-Length", str(len(payload))))
            start_response(f"{status} {STATUS_TEXT.get(status, 'OK')}", headers)
            return [payload]
        fault = self.fault_for(request)
        if fault == "reset":
            # The connection drops before the request reaches the service.
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise ConnectionResetError("emulated connection reset")
        try:
            if fault in ("throttle", "error"):
                raise fault_error(request, fault)
            self.authorize(request)
            with self.lock:
                self.expire_transitions()
            response = self.route(request)
        except AwsError as err:
            response = request.error(err)
        with self.lock:
            lose = (self.settings.lose_next_reply == request.operation or fault == "lost")
            if lose and response[0] < 300:
                if self.settings.lose_next_reply == request.operation:
                    self.settings.lose_next_reply = None
                response = request.error(
                    AwsError(500, "InternalServerError", "emulated lost reply: the call was carried out")
                )
        if request.mutating:
            with self.lock:
                self.log.append(
                    {
                        "at": now(),
                        "service": request.service,
                        "operation": request.operation,
                        "resource": request.resource,
                        "region": request.region,
                        "status": response[0],
                        "fault": fault,
                    }
                )
        status, headers, payload = response
        # The body may have been rewritten: DynamoDB clients verify x-amz-crc32, so recompute it.
        headers = [(k, v) for k, v in headers if k.lower() not in ("x-amz-crc32", "content-length")]
        headers.append(("x-amz-crc32", str(zlib.crc32(payload) & 0xFFFFFFFF)))
        headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {STATUS_TEXT.get(status, 'OK')}", headers)
        return [payload]

    def within_quota(self, request: "Request") -> bool:
        """Takes a token from the call's quota bucket: per account (the caller's, from its
        access key: AWS applies quotas to the account whose credentials call, Service Quotas
        user guide) and region; EC2's per API."""
        if not self.settings.quotas:
            return True
        bucket = quota_bucket(request.service, request.operation, request.form)
        if bucket is None:
            return True
        per_api = request.operation if bucket in ("ec2:non-mutating", "ec2:unfiltered", "ec2:mutating") else ""
        key = (bucket, request.account, request.region, per_api)
        with self.lock:
            if key not in self.buckets:
                capacity, rate = QUOTA_SOURCES[bucket]
                scale = self.settings.quota_scale
                self.buckets[key] = TokenBucket(max(1.0, capacity * scale), rate * scale)
            return self.buckets[key].take()

    def fault_for(self, request: "Request") -> str | None:
        """The injected fault for this call, if any: throttle, error (5xx), reset (before the
        service sees it) or lost (the reply of a mutating call that was carried out)."""
        faults = self.settings.faults or {}
        if not faults:
            return None
        if faults.get("services") and request.service not in faults["services"]:
            return None
        if faults.get("operations") and request.operation not in faults["operations"]:
            return None
        # Keyed by operation, not resource: resource ids (volumes, mappings) differ per run.
        key = (request.service, request.operation)
        with self.lock:
            n = self.fault_counts.get(key, 0)
            self.fault_counts[key] = n + 1
        digest = hashlib.sha256(f"{faults.get('seed', 0)}|{key}|{n}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        for fault, rate in (("reset", faults.get("reset_rate", 0.0)),
                            ("throttle", faults.get("throttle_rate", 0.0)),
                            ("error", faults.get("error_rate", 0.0)),
                            ("lost", faults.get("lost_reply_rate", 0.0) if request.mutating else 0.0)):
            if draw < rate:
                return fault
            draw -= rate
        return None

    def authorize(self, request: "Request") -> None:
        """With `iam_enforcement`, refuses a request the caller's policies do not allow, as
        the service would (emulator/iam.py); every check is recorded."""
        if not self.settings.iam_enforcement:
            return
        caller = iam.caller_of(request.environ)
        request.caller = caller
        for action, resource in iam.authorizations(request, caller.account, self.secret_arn):
            decision = iam.decide(caller.policies, action, resource)
            with self.lock:
                self.authorizations.append({"principal": caller.arn, "action": action,
                                            "resource": resource, "decision": decision})
            if decision != "allowed":
                code = {"ec2": "UnauthorizedOperation", "sts": "AccessDenied", "iam": "AccessDenied",
                        "monitoring": "AccessDenied"}.get(request.service, "AccessDeniedException")
                status = 400 if request.service == "dynamodb" else 403
                raise AwsError(status, code, iam.denial_message(caller, action, resource, decision))

    def secret_arn(self, account: str, region: str, secret_id: str) -> str | None:
        """The full ARN of a secret given by name or partial ARN (what IAM authorizes)."""
        from moto.secretsmanager.models import secretsmanager_backends

        try:
            return secretsmanager_backends[account][region].describe_secret(secret_id).arn
        except Exception:  # noqa: BLE001 - unknown secret: authorized on the name as given
            return None

    def iam_SimulatePrincipalPolicy(self, request):
        """IAM's SimulatePrincipalPolicy with the evaluator enforcement uses."""
        source = request.form.get("PolicySourceArn", "")
        account = source.split(":")[4] if source.count(":") >= 5 else DEFAULT_ACCOUNT_ID
        try:
            policies = iam.principal_policies(account, source)
        except Exception as err:  # noqa: BLE001 - moto's NotFound: the principal does not exist
            raise AwsError(404, "NoSuchEntity", f"The principal {source} cannot be found: {err}")
        body = iam.simulate_response(policies, iam.members(request.form, "ActionNames"),
                                     iam.members(request.form, "ResourceArns"))
        return 200, [("Content-Type", "text/xml")], body

    def call_moto(self, request: "Request") -> tuple[int, list[tuple[str, str]], bytes]:
        environ = dict(request.environ)
        environ["wsgi.input"] = io.BytesIO(request.body)
        environ["CONTENT_LENGTH"] = str(len(request.body))
        captured: dict[str, Any] = {}

        def start_response(status, headers, exc_info=None):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = [(k, v) for k, v in headers if k.lower() != "content-length"]

        chunks = self.moto_app(environ, start_response)
        payload = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return captured["status"], captured["headers"], payload

    def pricing_GetProducts(self, request):
        """The Price List Query API's GetProducts (moto has none): the products of
        emulator/price_list.json of the `ServiceCode` that match every `TERM_MATCH` filter (on a
        product attribute, or `productFamily`), `MaxResults` (1-100, default 100) a page with a
        `NextToken`, each entry a JSON string in the offer-file shape (GetProducts API reference:
        `PriceList` is "a list of JSON strings"; FormatVersion `aws_v1`). The setting
        `price_overrides` ({usagetype: USD}) stands in for AWS publishing new prices."""
        params = request.json()
        service = params.get("ServiceCode") or ""
        max_results = int(params.get("MaxResults") or 100)
        if not 1 <= max_results <= 100:
            raise AwsError(400, "InvalidParameterException", "MaxResults must be between 1 and 100.")
        filters = params.get("Filters") or []
        for f in filters:
            if f.get("Type", "TERM_MATCH") != "TERM_MATCH":
                raise AwsError(400, "InvalidParameterException", f"Unsupported filter type {f.get('Type')}")
        overrides = self.settings.price_overrides or {}

        def matches(product: dict) -> bool:
            attributes = {**product["product"]["attributes"], "productFamily": product["product"]["productFamily"]}
            return product["serviceCode"] == service and all(attributes.get(f["Field"]) == f["Value"] for f in filters)

        found = []
        for product in PRICE_LIST:
            if not matches(product):
                continue
            product = copy.deepcopy(product)
            price = overrides.get(product["product"]["attributes"]["usagetype"])
            if price is not None:
                for term in product["terms"]["OnDemand"].values():
                    for dimension in term["priceDimensions"].values():
                        dimension["pricePerUnit"]["USD"] = price
            found.append(json.dumps(product))
        start = int(params.get("NextToken") or 0)
        page = found[start:start + max_results]
        body = {"FormatVersion": "aws_v1", "PriceList": page}
        if start + max_results < len(found):
            body["NextToken"] = str(start + max_results)
        return 200, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(body).encode()

    def call_moto_as_json(self, request: "Request") -> tuple[int, list[tuple[str, str]], bytes]:
        """Smithy RPC v2 CBOR, the protocol CloudWatch's current SDKs speak (aws-sdk-cloudwatch
        1.140: `Smithy-Protocol: rpc-v2-cbor`, POST /service/GraniteServiceVersion20100801/
        operation/OP, a CBOR body, timestamps as tag 1). moto serves CloudWatch only in its Query
        and JSON protocols (getmoto/moto#9195), so the layer carries the call to moto as
        awsJson1_0 and answers in CBOR, errors included (`__type` and `message` in the CBOR map,
        as the Smithy RPC v2 CBOR specification has them)."""
        try:
            params = cbor2.loads(request.body) if request.body else {}
        except Exception:
            raise AwsError(400, "SerializationException", "The request body is not valid CBOR")
        environ = dict(request.environ)
        environ["PATH_INFO"] = "/"
        environ["HTTP_X_AMZ_TARGET"] = f"{request.cbor_service}.{request.operation}"
        environ["CONTENT_TYPE"] = "application/x-amz-json-1.0"
        environ.pop("HTTP_SMITHY_PROTOCOL", None)
        body = json.dumps(params, default=epoch_seconds).encode()
        status, _, payload = self.call_moto(Request(environ, body))
        answer = json.loads(payload or b"{}")
        if status >= 300:
            kind = str(answer.get("__type", "InternalFailure")).rsplit("#", 1)[-1]
            answer = {"__type": kind, "message": answer.get("message") or answer.get("Message", "")}
        headers = [("Content-Type", "application/cbor"), ("Smithy-Protocol", "rpc-v2-cbor")]
        return status, headers, cbor2.dumps(cbor_timestamps(answer), datetime_as_timestamp=True)

    def control(self, method: str, path: str, body: bytes):
        ok = "200 OK"
        json_headers = [("Content-Type", "application/json")]
        with self.lock:
            if path == "/_emulator/health":
                return ok, json_headers, b'{"status": "ok"}'
            if path == "/_emulator/log" and method == "GET":
                return ok, json_headers, json.dumps(self.log).encode()
            if path == "/_emulator/log/clear" and method == "POST":
                self.log.clear()
                return ok, json_headers, b"[]"
            if path == "/_emulator/authorizations" and method == "GET":
                return ok, json_headers, json.dumps(self.authorizations).encode()
            if path == "/_emulator/authorizations/clear" and method == "POST":
                self.authorizations.clear()
                return ok, json_headers, b"[]"
            if path == "/_emulator/calls" and method == "GET":
                return ok, json_headers, json.dumps({"calls": self.calls, "throttled": self.throttled}).encode()
            if path == "/_emulator/calls/clear" and method == "POST":
                self.calls.clear()
                self.throttled.clear()
                self.buckets.clear()
                return ok, json_headers, b"{}"
            if path == "/_emulator/config":
                if method == "POST":
                    changes = json.loads(body or b"{}")
                    for key, value in changes.items():
                        if not hasattr(self.settings, key):
                            return "400 Bad Request", json_headers, json.dumps(
                                {"error": f"unknown setting {key}"}
                            ).encode()
                        setattr(self.settings, key, value)
                return ok, json_headers, json.dumps(asdict(self.settings)).encode()
        return "404 Not Found", json_headers, b'{"error": "no such emulator endpoint"}'

    def expire_transitions(self) -> None:
        t = now()
        for key in [k for k, v in self.index_ops.items() if v["until"] <= t]:
            del self.index_ops[key]
        for key in [k for k, v in self.table_busy.items() if v <= t]:
            del self.table_busy[key]
        for mapping in self.kafka_mappings.values():
            if mapping["_until"] <= t and mapping["State"] in ("Creating", "Updating", "Enabling"):
                mapping["State"] = "Enabled"
            if mapping["State"] == "Enabled" and mapping["_until"] + self.settings.esm_connect_seconds <= t:
                mapping["LastProcessingResult"] = self.kafka_connection_result(mapping)
        for key in [k for k, m in self.kafka_mappings.items() if m["State"] == "Deleting" and m["_until"] <= t]:
            del self.kafka_mappings[key]

    def route(self, request: "Request"):
        if request.cbor:
            return self.call_moto_as_json(request)
        if request.service == "dynamodb":
            handler = getattr(self, f"dynamodb_{request.operation}", None)
            if handler:
                return handler(request)
        elif request.service == "lambda":
            return self.lambda_route(request)
        elif request.service == "ec2":
            handler = getattr(self, f"ec2_{request.operation}", None)
            if handler:
                return handler(request)
        elif request.service == "sagemaker":
            handler = getattr(self, f"sagemaker_{request.operation}", None)
            if handler:
                return handler(request)
        elif request.service == "iam" and request.operation == "SimulatePrincipalPolicy":
            return self.iam_SimulatePrincipalPolicy(request)
        elif request.service == "pricing" and request.operation == "GetProducts":
            return self.pricing_GetProducts(request)
        elif request.service == "application-autoscaling" and request.operation == "DeregisterScalableTarget":
            return self.autoscaling_DeregisterScalableTarget(request)
        elif request.service == "eks" and request.method == "GET":
            match = re.fullmatch(r"/clusters/([^/]+)", request.path)
            if match:
                return self.eks_DescribeCluster(request, unquote(match.group(1)))
        return self.call_moto(request)

    # ------------------------------------------------------------------ EC2 (EBS volumes)
    def volume_state(self, scope: Scope, volume_id: str) -> tuple[str, int, float] | None:
        """(state, progress, start) of the layer-tracked modification, or None."""
        record = self.volume_modifications.get((scope, volume_id))
        if record is None:
            return None
        elapsed = now() - record["start"]
        if elapsed < record["seconds"] / 2:
            return "modifying", int(100 * elapsed / record["seconds"]), record["start"]
        if elapsed < record["seconds"]:
            return "optimizing", int(100 * elapsed / record["seconds"]), record["start"]
        if record.get("fail"):
            return "failed", 100, record["start"]
        return "completed", 100, record["start"]

    def reported_volume_state(self, scope: Scope, volume_id: str) -> tuple[str, int, float] | None:
        """What DescribeVolumesModifications shows: for a moment after a new modification
        starts, still the previous (completed) one."""
        record = self.volume_modifications.get((scope, volume_id))
        if record and record.get("previous") is not None and now() < record["visible_at"]:
            return "completed", 100, record["previous"]
        return self.volume_state(scope, volume_id)

    def ec2_ModifyVolume(self, request):
        """AWS (ModifyVolume API reference): "you must wait for that modification to reach the
        completed state before you can initiate another modification for the same volume. You
        can modify a volume up to four times within a rolling 24-hour period"."""
        volume_id = request.form.get("VolumeId", "")
        key = (request.scope, volume_id)
        with self.lock:
            current = self.volume_state(request.scope, volume_id)
            recent = [t for t in self.volume_modification_starts.get(key, []) if t > now() - 86400]
        if current is not None and current[0] not in ("completed", "failed"):
            raise AwsError(400, "IncorrectModificationState",
                           f"Volume {volume_id} cannot be modified in modification state {current[0].upper()}")
        limit = int(self.settings.volume_modifications_per_day)
        if len(recent) >= limit:
            next_at = datetime.fromtimestamp(min(recent) + 86400, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise AwsError(400, "VolumeModificationRateExceeded",
                           f"You've reached the maximum modification rate per volume limit of {limit} "
                           f"modifications in a rolling 24 hours. You can modify {volume_id} again after {next_at}.")
        failure = self.settings.volume_modification_failure
        before = self.volume_settings(request.scope, volume_id) if failure else None
        response = self.call_moto(request)
        if response[0] == 200:
            if before is not None:
                self.restore_volume_settings(request.scope, volume_id, before)
            with self.lock:
                t = now()
                self.volume_modifications[key] = {
                    "start": t,
                    "seconds": float(self.settings.volume_modification_seconds),
                    "visible_at": t + float(self.settings.volume_modification_report_lag_seconds),
                    "previous": current[2] if current else None,
                    "fail": failure,
                }
                self.volume_modification_starts.setdefault(key, []).append(t)
            response = self.rewrite_modifications(request, response, reported=False)
        return response

    VOLUME_SETTINGS = ("size", "volume_type", "iops", "throughput")

    def volume_settings(self, scope: Scope, volume_id: str) -> dict | None:
        """A volume's size, type, IOPS and throughput as moto holds them."""
        from moto.ec2.models import ec2_backends

        try:
            volume = ec2_backends[scope.account][scope.region].get_volume(volume_id)
        except Exception:
            return None
        return {name: getattr(volume, name, None) for name in self.VOLUME_SETTINGS}

    def restore_volume_settings(self, scope: Scope, volume_id: str, settings: dict) -> None:
        """A failed modification leaves the volume as it was."""
        from moto.ec2.models import ec2_backends

        volume = ec2_backends[scope.account][scope.region].get_volume(volume_id)
        for name, value in settings.items():
            setattr(volume, name, value)

    def ec2_DescribeVolumesModifications(self, request):
        return self.rewrite_modifications(request, self.call_moto(request), reported=True)

    def rewrite_modifications(self, request, response, reported: bool):
        """Puts the layer's state, progress and start time into moto's XML answer."""
        status, headers, payload = response
        if status != 200:
            return response
        root = ET.fromstring(payload)
        namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        ET.register_namespace("", namespace)
        q = (lambda tag: f"{{{namespace}}}{tag}") if namespace else (lambda tag: tag)
        with self.lock:
            for element in root.iter():
                volume = element.find(q("volumeId"))
                state_el = element.find(q("modificationState"))
                if volume is None or state_el is None:
                    continue
                state_of = self.reported_volume_state if reported else self.volume_state
                current = state_of(request.scope, volume.text or "")
                if current is None:
                    continue
                state, progress, start = current
                state_el.text = state
                record = self.volume_modifications.get((request.scope, volume.text or ""), {})
                if state == "failed" and record.get("fail"):
                    message = element.find(q("statusMessage"))
                    if message is None:
                        message = ET.SubElement(element, q("statusMessage"))
                    message.text = record["fail"]
                for tag, value in (("progress", str(progress)),
                                   ("startTime", datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"))):
                    child = element.find(q(tag))
                    if child is None:
                        child = ET.SubElement(element, q(tag))
                    child.text = value
                end = element.find(q("endTime"))
                if end is not None and state != "completed":
                    element.remove(end)
        return status, headers, ET.tostring(root, encoding="utf-8", xml_declaration=True)

    # ------------------------------------------------------------------ SageMaker inference components
    def sagemaker_CreateInferenceComponent(self, request):
        """moto lacks inference components: CreateInferenceComponent on an existing endpoint and
        variant (SageMaker API reference), stored InService at once."""
        params = request.json()
        endpoint = params.get("EndpointName", "")
        probe = request.derived("SageMaker.DescribeEndpoint", json.dumps({"EndpointName": endpoint}).encode())
        status, _, payload = self.call_moto(probe)
        if status != 200:
            raise AwsError(400, "ValidationException", f'Could not find endpoint "{endpoint}".')
        described = json.loads(payload)
        variants = [v.get("VariantName") for v in described.get("ProductionVariants", [])]
        if params.get("VariantName") not in variants:
            raise AwsError(400, "ValidationException",
                           f"Variant {params.get('VariantName')} does not exist on endpoint {endpoint}.")
        name = params.get("InferenceComponentName", "")
        arn = f"arn:aws:sagemaker:{request.region}:{request.account}:inference-component/{name}"
        with self.lock:
            self.inference_components[(request.scope, name)] = {
                "InferenceComponentName": name, "InferenceComponentArn": arn,
                "EndpointName": endpoint, "EndpointArn": described.get("EndpointArn", ""),
                "VariantName": params.get("VariantName"), "InferenceComponentStatus": "InService",
                "CreationTime": now(), "LastModifiedTime": now(),
            }
        return request.json_response(200, {"InferenceComponentArn": arn})

    def sagemaker_DescribeEndpoint(self, request):
        """moto's endpoints are InService at once; `endpoint_status` reports the states an
        endpoint can fall into (Failed with its FailureReason, OutOfService)."""
        response = self.call_moto(request)
        forced = self.settings.endpoint_status.get(request.json().get("EndpointName", ""))
        if response[0] != 200 or not forced:
            return response
        described = json.loads(response[2])
        described["EndpointStatus"] = forced.get("status", "InService")
        if forced.get("reason"):
            described["FailureReason"] = forced["reason"]
        return request.json_response(200, described)

    def sagemaker_ListInferenceComponents(self, request):
        params = request.json()
        with self.lock:
            found = [c for (scope, _), c in sorted(self.inference_components.items())
                     if scope == request.scope
                     and params.get("EndpointNameEquals") in (None, c["EndpointName"])
                     and params.get("VariantNameEquals") in (None, c["VariantName"])]
        return request.json_response(200, {"InferenceComponents": found})

    # ------------------------------------------------------------------ Application Auto Scaling
    def autoscaling_DeregisterScalableTarget(self, request):
        """AWS: "Deregistering a scalable target deletes the scaling policies and the scheduled
        actions that are associated with it" (Application Auto Scaling API reference,
        DeregisterScalableTarget). moto keeps them; this does what AWS does."""
        response = self.call_moto(request)
        if response[0] != 200:
            return response
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        params = request.json()
        key = (params.get("ServiceNamespace"), params.get("ResourceId"), params.get("ScalableDimension"))
        backend = applicationautoscaling_backends[request.account][request.region]
        with self.lock:
            on_target = lambda item: (item.service_namespace, item.resource_id, item.scalable_dimension) == key
            for policy_key in [k for k, p in backend.policies.items() if on_target(p)]:
                del backend.policies[policy_key]
            backend.scheduled_actions[:] = [a for a in backend.scheduled_actions if not on_target(a)]
        return response

    # ------------------------------------------------------------------ EKS
    def eks_DescribeCluster(self, request, name: str):
        status, headers, payload = self.call_moto(request)
        if status != 200:
            return status, headers, payload
        body = json.loads(payload)
        cluster = body.get("cluster", {})
        with self.lock:
            endpoint = self.settings.eks_endpoints.get(request.account, self.settings.eks_endpoint)
            if endpoint:
                cluster["endpoint"] = endpoint
                if endpoint.startswith("http://"):
                    # A plain-HTTP test endpoint has no certificate to trust.
                    cluster.pop("certificateAuthority", None)
            if name in self.settings.eks_cluster_status:
                cluster["status"] = self.settings.eks_cluster_status[name]
        return request.json_response(200, body)

    # ------------------------------------------------------------------ DynamoDB
    def check_capacity_quota(self, params: dict[str, Any]) -> None:
        """DynamoDB service quotas: table-level read and write throughput (table plus its
        GSIs' counted separately per table here, as the per-table quota applies to each)."""
        quota = int(self.settings.table_capacity_quota)
        throughputs = [params.get("ProvisionedThroughput") or {}]
        for gsi in params.get("GlobalSecondaryIndexes", []) or []:
            throughputs.append(gsi.get("ProvisionedThroughput") or {})
        for update in params.get("GlobalSecondaryIndexUpdates", []) or []:
            for action in ("Create", "Update"):
                throughputs.append((update.get(action) or {}).get("ProvisionedThroughput") or {})
        for throughput in throughputs:
            for unit in ("ReadCapacityUnits", "WriteCapacityUnits"):
                if int(throughput.get(unit, 0) or 0) > quota:
                    raise AwsError(
                        400,
                        "LimitExceededException",
                        f"Subscriber limit exceeded: {unit} {throughput[unit]} exceeds the per-table quota of {quota} for this account",
                    )

    def dynamodb_CreateTable(self, request):
        params = request.json()
        validate_billing_and_throughput(params, creating=True)
        self.check_capacity_quota(params)
        for gsi in params.get("GlobalSecondaryIndexes", []) or []:
            validate_index_throughput(params.get("BillingMode", "PROVISIONED"), gsi)
        return self.call_moto(request)

    def dynamodb_UpdateTable(self, request):
        params = request.json()
        table = params.get("TableName", "")
        key = (request.scope, table)
        live = self.describe_live_table(request, table)
        self.check_capacity_quota(params)
        with self.lock:
            if key in self.table_busy:
                raise AwsError(
                    400,
                    "ResourceInUseException",
                    f"Attempt to change a resource which is still in use: Table is being updated: {table}",
                )
            index_updates = params.get("GlobalSecondaryIndexUpdates", []) or []
            structural = [u for u in index_updates if "Create" in u or "Delete" in u]
            in_flight = [k for k in self.index_ops if k[0] == request.scope and k[1] == table]
            if len(structural) > 1 or (structural and in_flight):
                raise AwsError(
                    400,
                    "LimitExceededException",
                    "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
                )
        live_mode = live.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        new_mode = params.get("BillingMode", live_mode)
        if new_mode == "PAY_PER_REQUEST" and params.get("ProvisionedThroughput"):
            raise AwsError(
                400,
                "ValidationException",
                "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            )
        if new_mode == "PROVISIONED" and live_mode == "PAY_PER_REQUEST":
            if not params.get("ProvisionedThroughput"):
                raise AwsError(
                    400,
                    "ValidationException",
                    "One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
                )
            updated = {
                u["Update"]["IndexName"]
                for u in index_updates
                if "Update" in u and u["Update"].get("ProvisionedThroughput")
            }
            for gsi in live.get("GlobalSecondaryIndexes", []) or []:
                if gsi["IndexName"] not in updated:
                    raise AwsError(
                        400,
                        "ValidationException",
                        f"One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {gsi['IndexName']}",
                    )
        existing = {g["IndexName"]: g for g in live.get("GlobalSecondaryIndexes", []) or []}
        if live_mode == "PROVISIONED":
            reject_unchanged_throughput("table", live.get("ProvisionedThroughput"), params.get("ProvisionedThroughput"))
            for update in index_updates:
                if "Update" in update and update["Update"].get("IndexName") in existing:
                    name = update["Update"]["IndexName"]
                    reject_unchanged_throughput(
                        f"index {name}",
                        existing[name].get("ProvisionedThroughput"),
                        update["Update"].get("ProvisionedThroughput"),
                    )
        for update in structural:
            if "Create" in update:
                create = update["Create"]
                if create.get("IndexName") in existing:
                    raise AwsError(
                        400,
                        "ValidationException",
                        f"One or more parameter values were invalid: Index with name {create.get('IndexName')} already exists",
                    )
                validate_index_throughput(new_mode, create)
                defined = {a["AttributeName"] for a in params.get("AttributeDefinitions", []) or []}
                for element in create.get("KeySchema", []):
                    if element["AttributeName"] not in defined:
                        raise AwsError(
                            400,
                            "ValidationException",
                            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. "
                            f"Keys: [{element['AttributeName']}]",
                        )
            else:
                name = update["Delete"].get("IndexName")
                if name not in existing:
                    raise AwsError(
                        400,
                        "ResourceNotFoundException",
                        f"Requested resource not found: Index: {name} not found for table {table}",
                    )
        switching_to_ppr = new_mode == "PAY_PER_REQUEST" and live_mode != "PAY_PER_REQUEST"
        if switching_to_ppr:
            with self.lock:
                recent = [t for t in self.ppr_switches.get(key, []) if t > now() - 86400]
                if len(recent) >= self.settings.pay_per_request_switches_per_day:
                    raise AwsError(
                        400,
                        "LimitExceededException",
                        "Subscriber limit exceeded: Update to PayPerRequest mode are limited to "
                        f"{self.settings.pay_per_request_switches_per_day} times in 1 day(s).",
                    )
        if params.get("AttributeDefinitions"):
            # AWS keeps the table's attribute definitions and adds those of a new index (UpdateTable
            # API reference, AttributeDefinitions: "If you are adding a new global secondary index
            # to the table, AttributeDefinitions must include the key element(s) of the new
            # index"); moto replaces the table's list with the request's, losing the table's keys.
            given = {a["AttributeName"]: a for a in params["AttributeDefinitions"]}
            kept = [a for a in live.get("AttributeDefinitions", []) or [] if a["AttributeName"] not in given]
            params["AttributeDefinitions"] = kept + list(given.values())
            request = request.derived(request.environ.get("HTTP_X_AMZ_TARGET", ""), json.dumps(params).encode())
        response = self.call_moto(request)
        if response[0] != 200:
            return response
        with self.lock:
            t = now()
            if self.settings.table_update_seconds > 0:
                self.table_busy[key] = t + self.settings.table_update_seconds
            if switching_to_ppr:
                self.ppr_switches.setdefault(key, []).append(t)
            for update in structural:
                if "Create" in update:
                    name = update["Create"]["IndexName"]
                    if self.settings.gsi_create_seconds > 0:
                        self.index_ops[(request.scope, table, name)] = {
                            "status": "CREATING",
                            "until": t + self.settings.gsi_create_seconds,
                        }
                else:
                    name = update["Delete"]["IndexName"]
                    if self.settings.gsi_delete_seconds > 0:
                        self.index_ops[(request.scope, table, name)] = {
                            "status": "DELETING",
                            "until": t + self.settings.gsi_delete_seconds,
                            "description": existing[name],
                        }
        return self.respond_with_table(request, response, "TableDescription")

    # Contributor Insights (DescribeContributorInsights and UpdateContributorInsights API
    # references): per table or global secondary index, DISABLED until enabled; ENABLE goes
    # ENABLING then ENABLED, DISABLE goes DISABLING then DISABLED; an unknown table or index is
    # ResourceNotFoundException; an action other than ENABLE or DISABLE is a ValidationException.
    def insights_target(self, request) -> tuple[tuple[str, str, str], dict[str, Any]]:
        params = request.json()
        table = params.get("TableName", "")
        index = params.get("IndexName") or ""
        live = self.describe_live_table(request, table)
        request.resource = table
        if index and index not in [g.get("IndexName") for g in live.get("GlobalSecondaryIndexes", []) or []]:
            raise AwsError(400, "ResourceNotFoundException", f"Requested resource not found: Index: {index} not found for table {table}")
        return (request.scope, table, index), params

    # The FailureException causes DescribeContributorInsights documents ("The most common
    # exceptions for a FAILED status are"), with its words.
    INSIGHTS_FAILURES = {
        "rule_limit": ("LimitExceededException", "Per-account Amazon CloudWatch Contributor Insights rule limit reached. Please disable Contributor Insights for other tables/indexes OR disable Contributor Insights rules before retrying."),
        "rules_denied": ("AccessDeniedException", "Amazon CloudWatch Contributor Insights rules cannot be modified due to insufficient permissions."),
        "service_linked_role": ("AccessDeniedException", "Failed to create service-linked role for Contributor Insights due to insufficient permissions."),
        "internal": ("InternalServerError", "Failed to create Amazon CloudWatch Contributor Insights rules. Please retry request."),
    }

    def insights_status(self, key: tuple[str, str, str]) -> str:
        state = self.contributor_insights.get(key)
        if state is None:
            return "DISABLED"
        if state["status"] in ("ENABLING", "DISABLING") and state["until"] <= now():
            if state["status"] == "ENABLING":
                state["status"] = "FAILED" if state.get("failure") else "ENABLED"
            else:
                state["status"] = "DISABLED"
        return state["status"]

    def insights_body(self, key: tuple[str, str, str], status: str) -> dict[str, Any]:
        _, table, index = key
        body: dict[str, Any] = {"TableName": table, "ContributorInsightsStatus": status}
        if index:
            body["IndexName"] = index
        return body

    def dynamodb_DescribeContributorInsights(self, request):
        key, _ = self.insights_target(request)
        with self.lock:
            status = self.insights_status(key)
        body = self.insights_body(key, status)
        failure = (self.contributor_insights.get(key) or {}).get("failure")
        mode = (self.contributor_insights.get(key) or {}).get("mode")
        if mode and status in ("ENABLING", "ENABLED"):
            body["ContributorInsightsMode"] = mode
        if status == "FAILED" and failure:
            body["FailureException"] = {"ExceptionName": failure[0], "ExceptionDescription": failure[1]}
        if status == "ENABLED":
            body["ContributorInsightsRuleList"] = self.insights_rules(request, key, mode)
        return request.json_response(200, body)

    def insights_rules(self, request, key: tuple, mode: str | None) -> list[str]:
        """The rules DynamoDB keeps (DynamoDB developer guide, "CloudWatch contributor insights
        for DynamoDB: How it works"): most accessed (PKC) and most throttled (PKT) partition
        keys, and SKC and SKT too when the table or index has a sort key; in THROTTLED_KEYS
        mode only the throttled keys are tracked ("Throttled keys mode"), so only their rules."""
        _, table, index = key
        live = self.describe_live_table(request, table)
        if index:
            owner = next((g for g in live.get("GlobalSecondaryIndexes", []) or [] if g.get("IndexName") == index), {})
        else:
            owner = live
        sorted_keys = any(k.get("KeyType") == "RANGE" for k in owner.get("KeySchema", []) or [])
        scope = f"{table}-{index}" if index else table
        kinds = ["PKT"] if mode == "THROTTLED_KEYS" else ["PKC", "PKT"]
        if sorted_keys:
            kinds += [k.replace("PK", "SK") for k in kinds]
        return [f"DynamoDBContributorInsights-{kind}-{scope}" for kind in kinds]

    def dynamodb_UpdateContributorInsights(self, request):
        key, params = self.insights_target(request)
        action = params.get("ContributorInsightsAction")
        if action not in ("ENABLE", "DISABLE"):
            raise AwsError(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{action}' at 'contributorInsightsAction' failed to satisfy constraint: Member must satisfy enum value set: [ENABLE, DISABLE]",
            )
        mode = params.get("ContributorInsightsMode")
        if mode is not None and mode not in ("ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS"):
            raise AwsError(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{mode}' at 'contributorInsightsMode' failed to satisfy constraint: Member must satisfy enum value set: [ACCESSED_AND_THROTTLED_KEYS, THROTTLED_KEYS]",
            )
        with self.lock:
            status = "ENABLING" if action == "ENABLE" else "DISABLING"
            scope = f"{key[1]}/{key[2]}" if key[2] else key[1]
            cause = self.settings.contributor_insights_failure.get(scope) if action == "ENABLE" else None
            self.contributor_insights[key] = {"status": status, "until": now() + self.settings.contributor_insights_seconds,
                                              "failure": self.INSIGHTS_FAILURES.get(cause) if cause else None,
                                              "mode": (mode or "ACCESSED_AND_THROTTLED_KEYS") if action == "ENABLE" else None}
        return request.json_response(200, self.insights_body(key, status))

    def dynamodb_DescribeTable(self, request):
        response = self.call_moto(request)
        if response[0] != 200:
            return response
        return self.respond_with_table(request, response, "Table")

    def describe_live_table(self, request, table: str) -> dict[str, Any]:
        probe = request.derived(
            "DynamoDB_20120810.DescribeTable", json.dumps({"TableName": table}).encode()
        )
        status, _, payload = self.call_moto(probe)
        if status != 200:
            raise AwsError(
                400,
                "ResourceNotFoundException",
                f"Requested resource not found: Table: {table} not found",
            )
        return json.loads(payload)["Table"]

    def respond_with_table(self, request, response, wrapper: str):
        status, headers, payload = response
        document = json.loads(payload)
        table = document.get(wrapper)
        if table is not None:
            self.adjust_table(request.scope, table)
        return status, headers, json.dumps(document).encode()

    def adjust_table(self, scope: Scope, table: dict[str, Any]) -> None:
        """What DescribeTable shows in AWS right now, given the transitions in flight."""
        name = table.get("TableName", "")
        with self.lock:
            if (scope, name) in self.table_busy:
                table["TableStatus"] = "UPDATING"
            size = self.settings.table_size_bytes.get(name)
            if size is not None:
                table["TableSizeBytes"] = size
            forced = self.settings.table_status.get(name)
            if forced:
                table["TableStatus"] = forced.get("status", "ACTIVE")
                if forced.get("reason"):
                    table["ArchivalSummary"] = {"ArchivalDateTime": now(), "ArchivalReason": forced["reason"]}
            mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
            if mode == "PAY_PER_REQUEST":
                # AWS reports zero provisioned throughput in on-demand mode; moto keeps the old numbers.
                table["ProvisionedThroughput"] = {
                    "NumberOfDecreasesToday": 0,
                    "ReadCapacityUnits": 0,
                    "WriteCapacityUnits": 0,
                }
            # Kept after a switch back to PROVISIONED: it records when PAY_PER_REQUEST was last set.
            switches = self.ppr_switches.get((scope, name))
            if switches:
                summary = table.setdefault("BillingModeSummary", {"BillingMode": mode})
                summary["LastUpdateToPayPerRequestDateTime"] = switches[-1]
            indexes = table.get("GlobalSecondaryIndexes") or []
            for index in indexes:
                op = self.index_ops.get((scope, name, index["IndexName"]))
                if mode == "PAY_PER_REQUEST":
                    index["ProvisionedThroughput"] = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
                if op and op["status"] == "CREATING":
                    index["IndexStatus"] = "CREATING"
                    index["Backfilling"] = True
            for (r, t, index_name), op in self.index_ops.items():
                if r == scope and t == name and op["status"] == "DELETING":
                    ghost = copy.deepcopy(op["description"])
                    ghost["IndexStatus"] = "DELETING"
                    indexes.append(ghost)
            if indexes:
                table["GlobalSecondaryIndexes"] = indexes

    # ------------------------------------------------------------------ Lambda
    LAMBDA_ROUTES = LAMBDA_ROUTES

    def resolve_lambda(self, request) -> bool:
        """Names a Lambda REST call by its route (operation, function or mapping id)."""
        for method, pattern, operation in self.LAMBDA_ROUTES:
            match = re.match(pattern, request.path)
            if match and request.method == method:
                request.operation = operation
                request.params = match.groupdict()
                if "fn" in request.params:
                    request.resource = function_name_of(request.params["fn"])
                elif "id" in request.params:
                    request.resource = request.params["id"]
                return True
        return False

    def lambda_route(self, request):
        # A named route this layer has no rule of its own for (TagResource) is moto's.
        if self.resolve_lambda(request) and hasattr(self, f"lambda_{request.operation}"):
            return getattr(self, f"lambda_{request.operation}")(request)
        return self.call_moto(request)

    def lambda_backend(self, scope: Scope):
        from moto.awslambda.models import lambda_backends

        return lambda_backends[scope.account][scope.region]

    def lambda_function(self, scope: Scope, name: str):
        """moto's function object, if it exists."""
        return next((f for f in self.lambda_backend(scope).list_functions() if f.function_name == name), None)

    def lambda_function_exists(self, scope: Scope, name: str) -> bool:
        return any(f.function_name == name for f in self.lambda_backend(scope).list_functions())

    def reserved_by_others(self, scope: Scope, name: str | None) -> int:
        total = 0
        for function in self.lambda_backend(scope).list_functions():
            if function.reserved_concurrency and function.function_name != name:
                total += int(function.reserved_concurrency)
        return total

    def lambda_GetAccountSettings(self, request):
        limit = self.settings.account_concurrency_limit
        functions = list(self.lambda_backend(request.scope).list_functions())
        body = {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit - self.reserved_by_others(request.scope, None),
            },
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(functions)},
        }
        return request.json_response(200, body)

    def lambda_PutFunctionConcurrency(self, request):
        name = request.resource
        params = request.json()
        wanted = params.get("ReservedConcurrentExecutions")
        if not isinstance(wanted, int) or wanted < 0:
            raise AwsError(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{wanted}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0",
            )
        if not self.lambda_function_exists(request.scope, name):
            raise lambda_not_found(request.scope, name)
        unreserved = self.settings.account_concurrency_limit - self.reserved_by_others(request.scope, name) - wanted
        if unreserved < self.settings.minimum_unreserved_concurrency:
            raise AwsError(
                400,
                "InvalidParameterValueException",
                "Specified ReservedConcurrentExecutions for function decreases account's "
                "UnreservedConcurrentExecution below its minimum value of "
                f"[{self.settings.minimum_unreserved_concurrency}].",
            )
        return self.call_moto(request)

    def lambda_UpdateFunctionConfiguration(self, request):
        name = request.resource
        params = request.json()
        check_range(params, "Timeout", "timeout", 1, 900)
        check_range(params, "MemorySize", "memorySize", 128, 10240)
        key = (request.scope, name)
        with self.lock:
            update = self.lambda_updates.get(key)
            if update and update["until"] > now():
                raise AwsError(
                    409,
                    "ResourceConflictException",
                    "The operation cannot be performed at this time. An update is in progress for resource: "
                    f"arn:aws:lambda:{request.region}:{request.account}:function:{name}",
                )
        response = self.call_moto(request)
        if response[0] != 200:
            return response
        with self.lock:
            fail = self.settings.fail_next_lambda_update
            self.settings.fail_next_lambda_update = None
            self.lambda_updates[key] = {"until": now() + self.settings.lambda_update_seconds, "fail": fail}
        return self.adjust_function_response(request, response, None)

    def lambda_GetFunctionConfiguration(self, request):
        return self.adjust_function_response(request, self.call_moto(request), None)

    def lambda_GetFunction(self, request):
        return self.adjust_function_response(request, self.call_moto(request), "Configuration")

    def adjust_function_response(self, request, response, wrapper: str | None):
        status, headers, payload = response
        if status != 200:
            return response
        document = json.loads(payload)
        configuration = document.get(wrapper) if wrapper else document
        if configuration is not None:
            with self.lock:
                update = self.lambda_updates.get((request.scope, request.resource))
            configuration["LastUpdateStatus"] = "Successful"
            configuration.pop("LastUpdateStatusReason", None)
            configuration.pop("LastUpdateStatusReasonCode", None)
            if update:
                if update["until"] > now():
                    configuration["LastUpdateStatus"] = "InProgress"
                    configuration["LastUpdateStatusReason"] = "The function is being updated."
                    configuration["LastUpdateStatusReasonCode"] = "Creating"
                elif update["fail"]:
                    configuration["LastUpdateStatus"] = "Failed"
                    configuration["LastUpdateStatusReason"] = update["fail"]
                    configuration["LastUpdateStatusReasonCode"] = "InternalError"
        if wrapper and "Concurrency" not in document:
            # moto leaves out a reservation of 0 (a falsy check); GetFunction returns
            # {"ReservedConcurrentExecutions": 0} for it (Lambda API reference, GetFunction:
            # Concurrency, "the function's reserved concurrency"), which stops every invocation.
            function = self.lambda_function(request.scope, request.resource)
            if function is not None and str(getattr(function, "reserved_concurrency", None)) == "0":
                document["Concurrency"] = {"ReservedConcurrentExecutions": 0}
        return status, headers, json.dumps(document).encode()

    # Kafka event source mappings ------------------------------------------------
    def lambda_CreateEventSourceMapping(self, request):
        params = request.json()
        source_arn = params.get("EventSourceArn") or ""
        self_managed = params.get("SelfManagedEventSource")
        is_msk = source_arn.startswith("arn:aws:kafka:")
        if not is_msk and not self_managed:
            return self.call_moto(request)
        if is_msk and self_managed:
            raise invalid_parameter("You cannot specify both EventSourceArn and SelfManagedEventSource.")
        name = function_name_of(params.get("FunctionName") or "")
        request.resource = name
        if not name:
            raise invalid_parameter("FunctionName is required.")
        if not self.lambda_function_exists(request.scope, name):
            raise lambda_not_found(request.scope, name)
        topics = params.get("Topics") or []
        if len(topics) != 1:
            raise invalid_parameter("Kafka event source mappings require exactly one topic in Topics.")
        if not re.fullmatch(r"[A-Za-z0-9._\-]{1,249}", topics[0]):
            raise AwsError(
                400,
                "ValidationException",
                f"1 validation error detected: Value '[{topics[0]}]' at 'topics' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 249, Member must satisfy regular expression pattern: ^[^.]([a-zA-Z0-9\\-_.]+)]",
            )
        mode = consumption_mode(params, is_msk)
        position = params.get("StartingPosition")
        if mode == "Queue":
            # Queue mode reads through a share group: no starting position or batching window
            # (Lambda developer guide, "All self-managed Apache Kafka event source configuration
            # parameters": "When Queue, StartingPosition, StartingPositionTimestamp, and
            # MaximumBatchingWindowInSeconds do not apply").
            for key in ("StartingPosition", "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds"):
                if params.get(key) is not None:
                    raise invalid_parameter(f"{key} is not supported when ConsumptionMode is Queue.")
        elif position not in ("LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"):
            raise invalid_parameter("StartingPosition is required for Kafka event sources (LATEST or TRIM_HORIZON).")
        check_range(params, "BatchSize", "batchSize", 1, 10000)
        check_range(params, "MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds", 0, 300)
        servers = []
        if self_managed:
            servers = (self_managed.get("Endpoints") or {}).get("KAFKA_BOOTSTRAP_SERVERS") or []
            if not servers:
                raise invalid_parameter("SelfManagedEventSource must contain Endpoints.KAFKA_BOOTSTRAP_SERVERS.")
        access = validate_source_access(params.get("SourceAccessConfigurations") or [], is_msk)
        config_key = "AmazonManagedKafkaEventSourceConfig" if is_msk else "SelfManagedKafkaEventSourceConfig"
        group = (params.get(config_key) or {}).get("ConsumerGroupId")
        # ConsumerGroupId: length 1-200, pattern [a-zA-Z0-9-\/*:_+=.@-]* (API reference).
        if group is not None and not re.fullmatch(r"[a-zA-Z0-9\-/*:_+=.@]{1,200}", group):
            raise AwsError(
                400,
                "ValidationException",
                f"1 validation error detected: Value '{group}' at '{config_key[0].lower() + config_key[1:]}.consumerGroupId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-\\/*:_+=.@-]*",
            )
        function_arn = f"arn:aws:lambda:{request.region}:{request.account}:function:{name}"
        with self.lock:
            for mapping in self.kafka_mappings.values():
                same_source = (
                    mapping.get("EventSourceArn") == source_arn
                    if is_msk
                    else mapping.get("SelfManagedEventSource", {}).get("Endpoints", {}).get("KAFKA_BOOTSTRAP_SERVERS") == servers
                )
                if (
                    mapping["FunctionArn"] == function_arn
                    and same_source
                    and mapping["Topics"] == topics
                    and mapping["State"] != "Deleting"
                ):
                    raise AwsError(
                        409,
                        "ResourceConflictException",
                        f"An event source mapping with event source and function {function_arn} already exists. "
                        f"Please update or delete the existing mapping with UUID {mapping['UUID']}",
                    )
            mapping_id = str(uuid.uuid4())
            mapping = {
                "UUID": mapping_id,
                # Lambda returns the mapping's ARN, which ListTags/TagResource take (API reference,
                # EventSourceMappingConfiguration.EventSourceMappingArn).
                "EventSourceMappingArn": f"arn:aws:lambda:{request.region}:{request.account}:event-source-mapping:{mapping_id}",
                "_tags": dict(params.get("Tags") or {}),
                "BatchSize": params.get("BatchSize", 100),
                "FunctionArn": function_arn,
                "LastModified": now(),
                "LastProcessingResult": "No records processed",
                "State": "Creating" if self.settings.esm_transition_seconds > 0 else "Enabled",
                "StateTransitionReason": "USER_INITIATED",
                "Topics": topics,
                "_until": now() + self.settings.esm_transition_seconds,
                "_scope": request.scope,
            }
            if mode == "Stream":
                mapping["StartingPosition"] = position
                mapping["MaximumBatchingWindowInSeconds"] = params.get("MaximumBatchingWindowInSeconds", 0)
            if access:
                mapping["SourceAccessConfigurations"] = access
            pollers = validated_pollers(params)
            if pollers:
                mapping["ProvisionedPollerConfig"] = pollers
            if position == "AT_TIMESTAMP":
                if params.get("StartingPositionTimestamp") is None:
                    raise invalid_parameter("StartingPositionTimestamp is required when StartingPosition is AT_TIMESTAMP.")
                mapping["StartingPositionTimestamp"] = params["StartingPositionTimestamp"]
            # AWS's default batching window for Kafka sources is 500 ms, reported as 0 whole seconds
            # until one is set; we report what was sent, or 0.
            if is_msk:
                mapping["EventSourceArn"] = source_arn
                mapping["AmazonManagedKafkaEventSourceConfig"] = {
                    "ConsumerGroupId": params.get("AmazonManagedKafkaEventSourceConfig", {}).get("ConsumerGroupId", mapping_id)
                }
            else:
                mapping["SelfManagedEventSource"] = {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": servers}}
                mapping["SelfManagedKafkaEventSourceConfig"] = {
                    "ConsumerGroupId": params.get("SelfManagedKafkaEventSourceConfig", {}).get("ConsumerGroupId", mapping_id),
                    "ConsumptionMode": mode,
                }
            self.kafka_mappings[mapping_id] = mapping
            self.expire_transitions()
        return request.json_response(202, public_mapping(mapping))

    def lambda_ListTags(self, request):
        """Tags of a Kafka mapping this layer keeps (CreateEventSourceMapping takes `Tags`, and
        ListTags takes an event source mapping's ARN: Lambda API reference); anything else is
        moto's."""
        arn = unquote(request.params.get("arn", ""))
        mapping_id = arn.rsplit(":", 1)[-1] if ":event-source-mapping:" in arn else ""
        with self.lock:
            mapping = self.kafka_mappings.get(mapping_id)
            if mapping is None or mapping["_scope"] != request.scope:
                return self.call_moto(request)
            return request.json_response(200, {"Tags": dict(mapping.get("_tags", {}))})

    def kafka_connection_result(self, mapping: dict[str, Any]) -> str:
        """What Lambda's pollers report once they tried the brokers: OK, or the PROBLEM texts
        AWS documents for Kafka event sources (Lambda developer guide, "Troubleshooting
        self-managed Apache Kafka event source mapping errors")."""
        servers = mapping.get("SelfManagedEventSource", {}).get("Endpoints", {}).get("KAFKA_BOOTSTRAP_SERVERS", [])
        access = mapping.get("SourceAccessConfigurations", [])
        kinds = {c.get("Type") for c in access}
        uris = lambda kind, prefix: [c.get("URI", "").removeprefix(prefix) for c in access if c.get("Type") == kind]
        for server in servers:
            broker = (self.settings.kafka_brokers or {}).get(server)
            if not broker:
                continue
            vpc = broker.get("vpc")
            if vpc and not self.reaches_vpc(mapping["_scope"], vpc, uris("VPC_SUBNET", "subnet:"),
                                            uris("VPC_SECURITY_GROUP", "security_group:")):
                return ("PROBLEM: Connection error. Please check your event source connection configuration. "
                        "If your event source lives in a VPC, try setting up a new Lambda function or EventBridge "
                        "Pipe with the same VPC, Subnet, and Security Group settings.")
            auth = broker.get("auth")
            if auth and auth not in kinds:
                if auth.startswith("SASL"):
                    return "PROBLEM: SASL authentication failed."
                return "PROBLEM: Connection error. The broker requires TLS client authentication."
        return "OK"

    def reaches_vpc(self, scope: Scope, vpc: str, subnets: list[str], groups: list[str]) -> bool:
        """Subnets and security groups that exist in EC2 and belong to the broker's VPC."""
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[scope.account][scope.region]
        if not subnets or not groups:
            return False
        try:
            subnet_vpcs = {backend.get_subnet(s).vpc_id for s in subnets}
        except Exception:
            return False
        group_vpcs = set()
        for group_id in groups:
            group = backend.get_security_group_from_id(group_id)
            if group is None:
                return False
            group_vpcs.add(group.vpc_id)
        return subnet_vpcs == {vpc} and group_vpcs == {vpc}

    def lambda_ListEventSourceMappings(self, request):
        query = parse_qs(request.environ.get("QUERY_STRING", ""))
        wanted = function_name_of(query.get("FunctionName", [""])[0]) if query.get("FunctionName") else None
        status, headers, payload = self.call_moto(request)
        listed = json.loads(payload).get("EventSourceMappings", []) if status == 200 else []
        with self.lock:
            for mapping in self.kafka_mappings.values():
                if mapping["_scope"] != request.scope:
                    continue
                if wanted is None or function_name_of(mapping["FunctionArn"]) == wanted:
                    listed.append(public_mapping(mapping))
        return request.json_response(200, {"EventSourceMappings": listed})

    def kafka_mapping(self, request) -> dict[str, Any] | None:
        mapping = self.kafka_mappings.get(request.params["id"])
        if mapping and mapping["_scope"] != request.scope:
            return None  # another account's mapping: not found, as in AWS
        if mapping:
            request.resource = function_name_of(mapping["FunctionArn"])
        return mapping

    def lambda_GetEventSourceMapping(self, request):
        with self.lock:
            mapping = self.kafka_mapping(request)
            if mapping is None:
                return self.call_moto(request)
            return request.json_response(200, public_mapping(mapping))

    def lambda_UpdateEventSourceMapping(self, request):
        with self.lock:
            mapping = self.kafka_mapping(request)
            if mapping is None:
                return self.call_moto(request)
            params = request.json()
            if mapping["State"] in ("Creating", "Updating", "Deleting"):
                raise AwsError(
                    400,
                    "ResourceInUseException",
                    f"Cannot update the event source mapping because it is in use. Current state: {mapping['State']}",
                )
            check_range(params, "BatchSize", "batchSize", 1, 10000)
            check_range(params, "MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds", 0, 300)
            mode = mapping.get("SelfManagedKafkaEventSourceConfig", {}).get("ConsumptionMode", "Stream")
            if mode == "Queue" and params.get("MaximumBatchingWindowInSeconds") is not None:
                raise invalid_parameter("MaximumBatchingWindowInSeconds is not supported when ConsumptionMode is Queue.")
            asked = (params.get("SelfManagedKafkaEventSourceConfig") or {}).get("ConsumptionMode")
            if asked is not None and asked != mode:
                # "You cannot change ConsumptionMode after you create the event source mapping"
                # (SelfManagedKafkaEventSourceConfig, Lambda API reference).
                raise invalid_parameter("ConsumptionMode cannot be changed after the event source mapping is created; create a new event source mapping.")
            for key in ("BatchSize", "MaximumBatchingWindowInSeconds"):
                if key in params:
                    mapping[key] = params[key]
            pollers = validated_pollers(params, mapping.get("ProvisionedPollerConfig"))
            if pollers:
                mapping["ProvisionedPollerConfig"] = pollers
            if "SourceAccessConfigurations" in params:
                mapping["SourceAccessConfigurations"] = validate_source_access(
                    params["SourceAccessConfigurations"] or [], "EventSourceArn" in mapping)
                mapping["LastProcessingResult"] = "No records processed"
            if self.settings.esm_transition_seconds > 0:
                mapping["State"] = "Updating"
                mapping["_until"] = now() + self.settings.esm_transition_seconds
            mapping["LastModified"] = now()
            mapping["_until"] = max(mapping["_until"], now()) if self.settings.esm_transition_seconds > 0 else now()
            self.expire_transitions()
            return request.json_response(202, public_mapping(mapping))

    def lambda_DeleteEventSourceMapping(self, request):
        with self.lock:
            mapping = self.kafka_mapping(request)
            if mapping is None:
                return self.call_moto(request)
            if mapping["State"] in ("Creating", "Updating", "Deleting"):
                raise AwsError(
                    400,
                    "ResourceInUseException",
                    f"Cannot delete the event source mapping because it is in use. Current state: {mapping['State']}",
                )
            mapping["State"] = "Deleting"
            mapping["_until"] = now() + self.settings.esm_transition_seconds
            body = public_mapping(mapping)
            if self.settings.esm_transition_seconds <= 0:
                del self.kafka_mappings[mapping["UUID"]]
            return request.json_response(202, body)


def consumption_mode(params: dict[str, Any], is_msk: bool) -> str:
    """SelfManagedKafkaEventSourceConfig.ConsumptionMode: Stream (the default) or Queue, for
    self-managed Apache Kafka only, set at creation (Lambda API reference,
    SelfManagedKafkaEventSourceConfig; developer guide, "Polling Kafka topics in Queue mode")."""
    if is_msk:
        if (params.get("AmazonManagedKafkaEventSourceConfig") or {}).get("ConsumptionMode") is not None:
            raise invalid_parameter("ConsumptionMode is supported only for self-managed Apache Kafka event sources.")
        return "Stream"
    mode = (params.get("SelfManagedKafkaEventSourceConfig") or {}).get("ConsumptionMode", "Stream")
    if mode not in ("Stream", "Queue"):
        raise AwsError(
            400,
            "ValidationException",
            f"1 validation error detected: Value '{mode}' at 'selfManagedKafkaEventSourceConfig.consumptionMode' failed to satisfy constraint: Member must satisfy enum value set: [Stream, Queue]",
        )
    return mode


KAFKA_ACCESS_TYPES = {"VPC_SUBNET", "VPC_SECURITY_GROUP", "SASL_SCRAM_256_AUTH", "SASL_SCRAM_512_AUTH",
                      "CLIENT_CERTIFICATE_TLS_AUTH", "SERVER_ROOT_CA_CERTIFICATE", "BASIC_AUTH"}


def validate_source_access(access: list[dict[str, Any]], is_msk: bool) -> list[dict[str, Any]]:
    """SourceAccessConfigurations as CreateEventSourceMapping takes them for Kafka (Lambda API
    reference, SourceAccessConfiguration): known types; subnets and security groups together
    (self-managed Kafka in a VPC); VPC types are not for MSK."""
    kinds = [c.get("Type") for c in access]
    for kind in kinds:
        if kind not in KAFKA_ACCESS_TYPES:
            raise invalid_parameter(f"Unsupported source access configuration type {kind} for a Kafka event source.")
    has_subnet, has_group = "VPC_SUBNET" in kinds, "VPC_SECURITY_GROUP" in kinds
    if is_msk and (has_subnet or has_group):
        raise invalid_parameter("VPC_SUBNET and VPC_SECURITY_GROUP are not supported for Amazon MSK event sources.")
    if has_subnet != has_group:
        raise invalid_parameter("The VPC_SUBNET and VPC_SECURITY_GROUP source access configurations must be specified together.")
    return access


# How each service answers when it throttles or fails (the error codes its SDKs retry on):
# DynamoDB ThrottlingException 400 (ProvisionedThroughputExceededException for item calls),
# Lambda TooManyRequestsException 429, EC2 RequestLimitExceeded 503, Application Auto Scaling
# and SageMaker ThrottlingException 400 (each service's API reference, "Errors").
THROTTLING = {
    "dynamodb": (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    "lambda": (429, "TooManyRequestsException", "Rate exceeded"),
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
    "application-autoscaling": (400, "ThrottlingException", "Rate exceeded"),
    "sagemaker": (400, "ThrottlingException", "Rate exceeded"),
}
SERVER_ERRORS = {
    "dynamodb": (500, "InternalServerError", "Internal server error"),
    "lambda": (500, "ServiceException", "An internal error occurred"),
    "ec2": (503, "Unavailable", "The server is overloaded and can't handle the request."),
}
DYNAMODB_ITEM_CALLS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}


def fault_error(request: "Request", fault: str) -> AwsError:
    if fault == "throttle":
        if request.service == "dynamodb" and request.operation in DYNAMODB_ITEM_CALLS:
            return AwsError(400, "ProvisionedThroughputExceededException",
                            "The level of configured provisioned throughput for the table was exceeded.")
        return AwsError(*THROTTLING.get(request.service, (400, "ThrottlingException", "Rate exceeded")))
    return AwsError(*SERVER_ERRORS.get(request.service, (500, "InternalFailure", "Internal failure")))


PRICE_LIST = json.load(open(__file__.rsplit("/", 1)[0] + "/price_list.json"))["products"]


def epoch_seconds(value: Any) -> Any:
    """JSON for what CBOR decodes and JSON has no type for: a timestamp as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON")


def cbor_timestamps(value: Any, key: str = "") -> Any:
    """moto's JSON answer with its timestamps (fields named ...Timestamp(s), ...Time) as
    datetimes, which cbor2 writes as tag 1 (epoch), the way the SDK reads them."""
    def stamp(item: Any) -> Any:
        if isinstance(item, (int, float)):
            return datetime.fromtimestamp(item, timezone.utc)
        if isinstance(item, str):
            try:
                return datetime.fromisoformat(item.replace("Z", "+00:00"))
            except ValueError:
                return item
        return item
    if isinstance(value, dict):
        return {k: cbor_timestamps(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key.endswith("Timestamps"):
            return [stamp(item) for item in value]
        return [cbor_timestamps(item) for item in value]
    if key.endswith(("Timestamp", "Time")) and key not in ("ScanBy",):
        return stamp(value)
    return value


def public_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if not k.startswith("_")}


def validated_pollers(params: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """ProvisionedPollerConfig of a Kafka mapping (ProvisionedPollerConfig API reference: for
    Amazon MSK and self-managed Kafka, MinimumPollers 1-200, default 1; MaximumPollers 1-2000,
    default 200); the minimum may not exceed the maximum."""
    config = params.get("ProvisionedPollerConfig")
    if config is None:
        return current
    check_range(config, "MinimumPollers", "provisionedPollerConfig.minimumPollers", 1, 200)
    check_range(config, "MaximumPollers", "provisionedPollerConfig.maximumPollers", 1, 2000)
    merged = {"MinimumPollers": 1, "MaximumPollers": 200, **(current or {}), **config}
    if merged["MinimumPollers"] > merged["MaximumPollers"]:
        raise invalid_parameter("MinimumPollers must be less than or equal to MaximumPollers.")
    return {"MinimumPollers": merged["MinimumPollers"], "MaximumPollers": merged["MaximumPollers"]}


def check_range(params: dict[str, Any], key: str, wire_name: str, low: int, high: int) -> None:
    if key not in params:
        return
    value = params[key]
    if not isinstance(value, int) or value < low:
        raise AwsError(
            400,
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{wire_name}' failed to satisfy constraint: Member must have value greater than or equal to {low}",
        )
    if value > high:
        raise AwsError(
            400,
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{wire_name}' failed to satisfy constraint: Member must have value less than or equal to {high}",
        )


def invalid_parameter(message: str) -> AwsError:
    return AwsError(400, "InvalidParameterValueException", message)


def lambda_not_found(scope: Scope, name: str) -> AwsError:
    return AwsError(
        404,
        "ResourceNotFoundException",
        f"Function not found: arn:aws:lambda:{scope.region}:{scope.account}:function:{name}",
    )


def validate_billing_and_throughput(params: dict[str, Any], creating: bool) -> None:
    mode = params.get("BillingMode", "PROVISIONED")
    throughput = params.get("ProvisionedThroughput")
    if mode == "PAY_PER_REQUEST" and throughput:
        raise AwsError(
            400,
            "ValidationException",
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )
    if mode == "PROVISIONED" and creating and not throughput:
        raise AwsError(
            400,
            "ValidationException",
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )
    if throughput:
        for unit in ("ReadCapacityUnits", "WriteCapacityUnits"):
            if int(throughput.get(unit, 0)) < 1:
                raise AwsError(
                    400,
                    "ValidationException",
                    f"One or more parameter values were invalid: {unit} must be greater than 0",
                )


def reject_unchanged_throughput(what: str, current: dict[str, Any] | None, requested: dict[str, Any] | None) -> None:
    """UpdateTable is not idempotent: throughput equal to the current value is an error
    (AWS's own message, as reported in cortexproject/cortex#441 and aws-controllers-k8s#1067)."""
    if not current or not requested:
        return
    have = (int(current.get("ReadCapacityUnits", 0)), int(current.get("WriteCapacityUnits", 0)))
    want = (int(requested.get("ReadCapacityUnits", 0)), int(requested.get("WriteCapacityUnits", 0)))
    if have == want:
        raise AwsError(
            400,
            "ValidationException",
            f"The provisioned throughput for the {what} will not change. The requested value equals the current value. "
            f"Current ReadCapacityUnits provisioned for the {what}: {have[0]}. Requested ReadCapacityUnits: {want[0]}. "
            f"Current WriteCapacityUnits provisioned for the {what}: {have[1]}. Requested WriteCapacityUnits: {want[1]}. "
            "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
        )


def validate_index_throughput(mode: str, index: dict[str, Any]) -> None:
    throughput = index.get("ProvisionedThroughput")
    name = index.get("IndexName")
    if mode == "PAY_PER_REQUEST" and throughput:
        raise AwsError(
            400,
            "ValidationException",
            f"One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST",
        )
    if mode == "PROVISIONED" and not throughput:
        raise AwsError(
            400,
            "ValidationException",
            f"One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {name}",
        )


STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}

DYNAMODB_READS = {"DescribeTable", "ListTables", "GetItem", "Query", "Scan", "BatchGetItem", "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups", "DescribeLimits", "DescribeEndpoints", "DescribeContributorInsights"}


READ_PREFIXES = ("Describe", "List", "Get")


class Request:
    """One AWS call as the layer sees it: service, operation, region, and the raw body."""

    def __init__(self, environ, body: bytes):
        self.environ = environ
        self.body = body
        self.path = environ.get("PATH_INFO", "")
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.params: dict[str, str] = {}
        self.form: dict[str, str] = {}
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", auth)
        self.region = scope.group(1) if scope else "us-east-1"
        key_id = re.search(r"Credential=([^/]+)/", auth)
        self.access_key = key_id.group(1) if key_id else ""
        signed_service = scope.group(2) if scope else ""
        self.resource = ""
        cbor_operation = re.fullmatch(r"/service/([^/]+)/operation/([^/]+)", self.path)
        self.cbor = environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor" and cbor_operation is not None
        if self.cbor:
            # Smithy RPC v2 CBOR: /service/SERVICE/operation/OPERATION (CloudWatch's SDKs).
            self.service = signed_service or "other"
            self.cbor_service, self.operation = cbor_operation.groups()
        elif target.startswith("DynamoDB_"):
            self.service = "dynamodb"
            self.operation = target.split(".", 1)[1]
            try:
                self.resource = json.loads(body or b"{}").get("TableName", "")
            except ValueError:
                self.resource = ""
        elif signed_service == "lambda" or re.match(r"^/20\d\d-\d\d-\d\d/", self.path):
            self.service = "lambda"
            self.operation = f"{self.method} {self.path}"
        elif signed_service in ("ec2", "sts", "iam"):
            # Query protocols: the operation is the form's Action.
            self.service = signed_service
            self.form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            self.operation = self.form.get("Action", "")
            self.resource = self.form.get("VolumeId", "")
        elif target:
            # JSON protocols (SageMaker, Application Auto Scaling): "Prefix.Operation".
            self.service = signed_service or "other"
            self.operation = target.rsplit(".", 1)[-1]
            try:
                parsed = json.loads(body or b"{}")
                self.resource = parsed.get("ResourceId") or parsed.get("EndpointName") or ""
            except ValueError:
                self.resource = ""
        else:
            self.service = signed_service or "other"
            self.operation = f"{self.method} {self.path}"

    @property
    def account(self) -> str:
        """The account whose credentials sign the call (moto's multi-account: an assumed role's
        keys belong to the role's account)."""
        from moto.iam.models import get_account_id_from

        return get_account_id_from(self.access_key)

    @property
    def scope(self) -> Scope:
        return Scope(self.account, self.region)

    @property
    def mutating(self) -> bool:
        if self.service == "dynamodb":
            return self.operation not in DYNAMODB_READS
        if self.service == "lambda":
            return self.method in ("POST", "PUT", "DELETE", "PATCH")
        if self.service in ("ec2", "sts", "iam") or self.cbor or self.environ.get("HTTP_X_AMZ_TARGET"):
            # IAM's policy simulation reads (IAM API reference: it changes nothing).
            return not self.operation.startswith(READ_PREFIXES + ("Simulate",))
        return self.method != "GET"

    def json(self) -> dict[str, Any]:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise AwsError(400, "SerializationException", "The request body is not valid JSON")

    def derived(self, target: str, body: bytes) -> "Request":
        environ = dict(self.environ)
        environ["HTTP_X_AMZ_TARGET"] = target
        environ["CONTENT_LENGTH"] = str(len(body))
        return Request(environ, body)

    def json_response(self, status: int, body: Any):
        return status, [("Content-Type", "application/json")], json.dumps(body, default=str).encode()

    def error(self, err: AwsError):
        if self.cbor:
            body = cbor2.dumps({"__type": err.code, "message": err.message})
            return err.status, [("Content-Type", "application/cbor"), ("Smithy-Protocol", "rpc-v2-cbor")], body
        if self.service == "ec2":
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{err.code}</Code>'
                    f"<Message>{xml_escape(err.message)}</Message></Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>")
            return err.status, [("Content-Type", "text/xml")], body.encode()
        if self.service in ("sts", "iam"):
            body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{err.code}</Code>'
                    f"<Message>{xml_escape(err.message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
            return err.status, [("Content-Type", "text/xml")], body.encode()
        if self.service == "dynamodb":
            body = {"__type": f"com.amazonaws.dynamodb.v20120810#{err.code}", "message": err.message}
            return err.status, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(body).encode()
        body = {"Type": "User", "message": err.message}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", f"{err.code}:http://internal.amazon.com/coral/com.amazonaws.awslambda/")]
        return err.status, headers, json.dumps(body).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description="pipectl's local AWS test double (moto + emulator layer)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055, help="0 picks a free port")
    parser.add_argument("--config", default="{}", help="initial settings as JSON, e.g. '{\"lambda_update_seconds\": 2}'")
    args = parser.parse_args()
    settings = Settings(**json.loads(args.config))
    moto_app = DomainDispatcherApplication(create_backend_app)
    layer = Layer(moto_app, settings)
    server = make_server(args.host, args.port, layer, threaded=True)
    print(f"listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
