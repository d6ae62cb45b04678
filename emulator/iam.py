"""IAM enforcement for the emulator (setting `iam_enforcement`): every request is mapped to the
IAM action and resource ARN(s) AWS authorizes it as, and the caller's identity-based policies
are evaluated before the request is served.

Sources (docs/testing.md lists them):
* Service Authorization Reference ("Actions, resources, and condition keys for ..."): each
  action's service prefix (CloudWatch is signed as `monitoring` but authorized as
  `cloudwatch:`), and which actions have a resource type (the rest are authorized on `*`).
* IAM User Guide, "Policy evaluation logic": an explicit Deny wins; otherwise an Allow is
  needed; no statement = implicit deny. "IAM JSON policy elements": Action/NotAction,
  Resource/NotResource, `*` and `?` wildcards (actions case-insensitive, resources
  case-sensitive).
* IAM User Guide, "AWS account root user": credentials of no IAM user are the account root
  (the default test keys), which identity policies do not restrict.
* IAM API reference, SimulatePrincipalPolicy: EvaluationResults with EvalActionName,
  EvalResourceName and EvalDecision (allowed, explicitDeny, implicitDeny).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import unquote

SIGNING_TO_PREFIX = {"monitoring": "cloudwatch"}

# (service, operation) -> True when the Service Authorization Reference gives the action no
# resource type, so it is authorized on "*".
NO_RESOURCE_TYPE = {
    ("dynamodb", "ListTables"),
    ("lambda", "ListEventSourceMappings"),
    ("lambda", "CreateEventSourceMapping"),
    ("lambda", "GetAccountSettings"),
    ("lambda", "ListFunctions"),
    ("sagemaker", "ListInferenceComponents"),
    ("sagemaker", "ListEndpoints"),
}


class Caller:
    """Whose credentials signed a request: an IAM user, an assumed role, or the root."""

    def __init__(self, account: str, arn: str, policies: list[dict] | None):
        self.account = account
        self.arn = arn
        # None: the account root, which identity policies do not restrict.
        self.policies = policies


def caller_of(environ) -> Caller:
    from moto.iam.access_control import CreateAccessKeyFailure, IAMPolicy, create_access_key
    from moto.iam.models import get_account_id_from

    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=([^/]+)/", auth)
    key_id = match.group(1) if match else ""
    account = get_account_id_from(key_id)
    headers = {}
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    if token:
        headers["X-Amz-Security-Token"] = token
    try:
        key = create_access_key(account, "aws", key_id, headers)
    except CreateAccessKeyFailure:
        return Caller(account, f"arn:aws:iam::{account}:root", None)
    documents = []
    for policy in key.collect_policies():
        try:
            documents.append(IAMPolicy(policy)._policy_json)
        except (ValueError, KeyError, StopIteration):
            continue
    return Caller(account, key.arn, documents)


def principal_policies(account: str, principal_arn: str) -> list[dict] | None:
    """The identity policies of a user or role by ARN (SimulatePrincipalPolicy's source)."""
    from moto.iam.access_control import IAMPolicy
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    name = principal_arn.rsplit("/", 1)[-1]
    raw: list[Any] = []
    if ":user/" in principal_arn:
        raw += [backend.get_user_policy(name, p) for p in backend.list_user_policies(name)]
        raw += backend.list_attached_user_policies(name)[0]
        for group in backend.get_groups_for_user(name):
            raw += [backend.get_group_policy(group.name, p) for p in backend.list_group_policies(group.name)]
            raw += backend.list_attached_group_policies(group.name)[0]
    elif ":role/" in principal_arn:
        raw += [backend.get_role_policy(name, p)[1] for p in backend.list_role_policies(name)]
        raw += backend.list_attached_role_policies(name)[0]
    else:
        return None
    return [IAMPolicy(p)._policy_json for p in raw]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def _statement_applies(statement: dict, action: str, resource: str) -> bool:
    if "Condition" in statement:
        # Conditions are not evaluated here: a conditional statement never applies, so a policy
        # that needs one fails loudly instead of passing by accident.
        return False
    if "Action" in statement:
        acts = any(_wildcard(p, action, True) for p in _as_list(statement["Action"]))
    else:
        acts = not any(_wildcard(p, action, True) for p in _as_list(statement.get("NotAction")))
    if "Resource" in statement:
        on = any(_wildcard(p, resource, False) for p in _as_list(statement["Resource"]))
    else:
        on = not any(_wildcard(p, resource, False) for p in _as_list(statement.get("NotResource")))
    return acts and on


def decide(policies: list[dict] | None, action: str, resource: str) -> str:
    """allowed, explicitDeny or implicitDeny (the words of SimulatePrincipalPolicy)."""
    if policies is None:
        return "allowed"
    allowed = False
    for policy in policies:
        for statement in _as_list(policy.get("Statement")):
            if not isinstance(statement, dict) or not _statement_applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return "explicitDeny"
            if statement.get("Effect") == "Allow":
                allowed = True
    return "allowed" if allowed else "implicitDeny"


def denial_message(caller: Caller, action: str, resource: str, decision: str) -> str:
    why = ("with an explicit deny in an identity-based policy" if decision == "explicitDeny"
           else f"because no identity-based policy allows the {action} action")
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {why}"


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
        return body if isinstance(body, dict) else {}
    except ValueError:
        return {}


def authorizations(request, account: str, secret_arn=None) -> list[tuple[str, str]]:
    """(action, resource ARN) pairs a request is authorized as; empty for calls every
    principal may make (sts:GetCallerIdentity)."""
    region = request.region
    service = request.service
    op = request.operation
    prefix = SIGNING_TO_PREFIX.get(service, service)

    def arn(svc: str, resource: str) -> str:
        return f"arn:aws:{svc}:{region}:{account}:{resource}"

    if service == "sts" and op == "GetCallerIdentity":
        return []
    if (service, op) in NO_RESOURCE_TYPE:
        return [(f"{prefix}:{op}", "*")]
    if service == "dynamodb":
        body = _json_body(request)
        if op in ("TagResource", "ListTagsOfResource", "UntagResource"):
            return [(f"dynamodb:{op}", body.get("ResourceArn", "*"))]
        table = arn("dynamodb", f"table/{body.get('TableName', '')}")
        if op in ("DescribeContributorInsights", "UpdateContributorInsights") and body.get("IndexName"):
            table = f"{table}/index/{body['IndexName']}"
        pairs = [(f"dynamodb:{op}", table)]
        if op == "CreateTable" and body.get("Tags"):
            # Tagging on create is authorized as TagResource too (DynamoDB developer guide,
            # "Tagging resources": dynamodb:TagResource is required to add tags on create).
            pairs.append(("dynamodb:TagResource", table))
        return pairs
    if service == "lambda":
        params = getattr(request, "params", {}) or {}
        if "fn" in params:
            return [(f"lambda:{op}", arn("lambda", f"function:{_function_name(params['fn'])}"))]
        if "id" in params:
            return [(f"lambda:{op}", arn("lambda", f"event-source-mapping:{params['id']}"))]
        if "arn" in params:
            return [(f"lambda:{op}", unquote(params["arn"]))]
        pairs = [(f"lambda:{op}", "*")]
        if op == "CreateEventSourceMapping" and _json_body(request).get("Tags"):
            # Lambda authorizes the tags of a create as TagResource on the new mapping.
            pairs.append(("lambda:TagResource", arn("lambda", f"event-source-mapping:{uuid.uuid4()}")))
        return pairs
    if service == "ec2":
        if op == "ModifyVolume":
            return [("ec2:ModifyVolume", arn("ec2", f"volume/{request.form.get('VolumeId', '')}"))]
        return [(f"ec2:{op}", "*")]
    if service == "sts" and op == "AssumeRole":
        return [("sts:AssumeRole", request.form.get("RoleArn", "*"))]
    if service == "iam":
        if op == "SimulatePrincipalPolicy":
            return [("iam:SimulatePrincipalPolicy", request.form.get("PolicySourceArn", "*"))]
        return [(f"iam:{op}", "*")]
    if service == "sagemaker":
        body = _json_body(request)
        for key, kind in (("EndpointName", "endpoint"), ("EndpointConfigName", "endpoint-config"),
                          ("ModelName", "model")):
            if op.startswith("Describe") and body.get(key):
                return [(f"sagemaker:{op}", arn("sagemaker", f"{kind}/{body[key].lower()}"))]
        if body.get("ResourceArn"):
            return [(f"sagemaker:{op}", body["ResourceArn"])]
        return [(f"sagemaker:{op}", "*")]
    if service == "secretsmanager":
        secret = _json_body(request).get("SecretId", "")
        resolved = secret_arn(account, region, secret) if secret_arn else None
        return [(f"secretsmanager:{op}", resolved or arn("secretsmanager", f"secret:{secret}"))]
    if service == "eks":
        match = re.fullmatch(r"/clusters/([^/]+)", request.path)
        if match and request.method == "GET":
            return [("eks:DescribeCluster", arn("eks", f"cluster/{unquote(match.group(1))}"))]
        return [(f"eks:{op}", "*")]
    # CloudWatch, Pricing, Application Auto Scaling: the actions pipectl calls have no
    # resource type (Service Authorization Reference).
    return [(f"{prefix}:{op}", "*")]


def _function_name(name_or_arn: str) -> str:
    name = unquote(name_or_arn)
    if ":function:" in name:
        name = name.split(":function:", 1)[1]
    return name.split(":", 1)[0]


def simulate_response(policies: list[dict] | None, actions: list[str], resources: list[str]) -> bytes:
    """SimulatePrincipalPolicy's XML answer: one EvaluationResult per action and resource."""
    from xml.sax.saxutils import escape

    results = []
    for action in actions:
        for resource in resources or ["*"]:
            decision = decide(policies, action, resource)
            results.append(
                "<member>"
                f"<EvalActionName>{escape(action)}</EvalActionName>"
                f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
                f"<EvalDecision>{decision}</EvalDecision>"
                "<MatchedStatements/><MissingContextValues/>"
                "</member>"
            )
    return (
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
        f"<EvaluationResults>{''.join(results)}</EvaluationResults>"
        "</SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    ).encode()


def members(form: dict[str, str], name: str) -> list[str]:
    """`Name.member.N` values of a query request, in order."""
    found = []
    for key, value in form.items():
        match = re.fullmatch(rf"{name}\.member\.(\d+)", key)
        if match:
            found.append((int(match.group(1)), value))
    return [value for _, value in sorted(found)]
