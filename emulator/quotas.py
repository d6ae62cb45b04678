"""AWS's documented request-rate quotas for the calls pipectl makes, as token buckets: shared
by the emulator (server.py) and the benchmark's replay server (bench/replay.py). Each figure
cites its page; docs/testing.md lists them."""

from __future__ import annotations

import time

# The request-rate quotas AWS documents for the calls pipectl makes (bucket capacity, refill
# per second), each with its page; docs/testing.md lists them. Services without a documented
# rate (SageMaker's Describe*, Application Auto Scaling, EKS DescribeCluster, STS, Secrets
# Manager) are not limited here.
QUOTA_SOURCES = {
    # Lambda quotas page, "API requests": GetFunction 100 requests per second; every other
    # control plane call (all but invocation, GetFunction and GetPolicy) 15 per second across all
    # APIs. Neither can be increased. AWS documents rates, not bursts: one second's worth here.
    "lambda:GetFunction": (100, 100),
    "lambda:control-plane": (15, 15),
    # "Request throttling for the Amazon EC2 API": a bucket per API. Non-mutating 100 / 20 per
    # second; DescribeVolumes (and the other "unfiltered and unpaginated" ones) without a filter
    # or pagination 50 / 10; mutating (ModifyVolume) 50 / 5; CreateVolume, CreateTags 100 / 5, 100 / 10.
    "ec2:non-mutating": (100, 20),
    "ec2:unfiltered": (50, 10),
    "ec2:mutating": (50, 5),
    "ec2:CreateVolume": (100, 5),
    "ec2:CreateTags": (100, 10),
    # "Best practices for managing the control plane in DynamoDB": a control plane throttle limit
    # of 2,500 requests per second.
    "dynamodb:control-plane": (2500, 2500),
    # DynamoDB API reference, TagResource and UntagResource: "You can call TagResource up to five
    # times per second, per account" (and UntagResource alike).
    "dynamodb:TagResource": (5, 5),
    "dynamodb:UntagResource": (5, 5),
}
EC2_UNFILTERED_BUCKET = {"DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces",
                         "DescribeSecurityGroups", "DescribeSnapshots", "DescribeSpotInstanceRequests",
                         "DescribeVolumes"}


READ_PREFIXES = ("Describe", "List", "Get", "Search")
DYNAMODB_ITEM_CALLS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}


def quota_bucket(service: str, operation: str, form: dict) -> str | None:
    """The documented quota bucket a call draws from (Lambda operations by name, EC2 by Action
    with its form), or None when its service documents none."""
    if service == "lambda":
        return "lambda:GetFunction" if operation == "GetFunction" else "lambda:control-plane"
    if service == "ec2":
        if operation in ("CreateVolume", "CreateTags"):
            return f"ec2:{operation}"
        if not operation.startswith(READ_PREFIXES):
            return "ec2:mutating"
        filtered = any(k.startswith("Filter.") for k in form) or "MaxResults" in form
        if operation in EC2_UNFILTERED_BUCKET and not filtered:
            return "ec2:unfiltered"
        return "ec2:non-mutating"
    if service == "dynamodb" and operation in ("TagResource", "UntagResource"):
        return f"dynamodb:{operation}"
    if service == "dynamodb" and operation not in DYNAMODB_ITEM_CALLS:
        return "dynamodb:control-plane"
    return None


class TokenBucket:
    def __init__(self, capacity: float, rate: float):
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.last = time.monotonic()

    def take(self) -> bool:
        now_ = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now_ - self.last) * self.rate)
        self.last = now_
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False




# Lambda's REST routes pipectl calls, by operation name (Lambda API reference, each operation's
# "Request Syntax").
LAMBDA_ROUTES = [
    ("GET", r"^/2016-08-19/account-settings/?$", "GetAccountSettings"),
    ("PUT", r"^/2015-03-31/functions/(?P<fn>[^/]+)/configuration/?$", "UpdateFunctionConfiguration"),
    ("GET", r"^/2015-03-31/functions/(?P<fn>[^/]+)/configuration/?$", "GetFunctionConfiguration"),
    ("GET", r"^/2015-03-31/functions/(?P<fn>[^/]+)/?$", "GetFunction"),
    ("PUT", r"^/2017-10-31/functions/(?P<fn>[^/]+)/concurrency/?$", "PutFunctionConcurrency"),
    ("DELETE", r"^/2017-10-31/functions/(?P<fn>[^/]+)/concurrency/?$", "DeleteFunctionConcurrency"),
    ("GET", r"^/2015-03-31/functions/?$", "ListFunctions"),
    ("POST", r"^/2015-03-31/event-source-mappings/?$", "CreateEventSourceMapping"),
    ("GET", r"^/2015-03-31/event-source-mappings/?$", "ListEventSourceMappings"),
    ("GET", r"^/2015-03-31/event-source-mappings/(?P<id>[^/]+)/?$", "GetEventSourceMapping"),
    ("PUT", r"^/2015-03-31/event-source-mappings/(?P<id>[^/]+)/?$", "UpdateEventSourceMapping"),
    ("DELETE", r"^/2015-03-31/event-source-mappings/(?P<id>[^/]+)/?$", "DeleteEventSourceMapping"),
    ("GET", r"^/2017-03-31/tags/(?P<arn>.+)$", "ListTags"),
    ("POST", r"^/2017-03-31/tags/(?P<arn>.+)$", "TagResource"),
]


def lambda_operation(method: str, path: str) -> str:
    """A Lambda REST call's operation name, or "METHOD PATH" when it is not one pipectl uses."""
    import re
    for route_method, pattern, operation in LAMBDA_ROUTES:
        if method == route_method and re.match(pattern, path):
            return operation
    return f"{method} {path}"
