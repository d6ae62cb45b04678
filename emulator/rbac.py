"""RBAC for the fake Kubernetes API server (setting `rbac`): who a request is, and whether the
Roles and ClusterRoles bound to them allow it, answered with 403 Forbidden as the real server
does.

Sources (docs/testing.md lists them):
* Kubernetes docs, "Using RBAC Authorization": Role/ClusterRole rules (apiGroups, resources,
  verbs, resourceNames; "*" matches all), RoleBinding (a Role or ClusterRole, in its namespace)
  and ClusterRoleBinding (everywhere); subjects User and Group; rules only add permissions.
  `system:discovery` lets every authenticated user read the discovery endpoints (/api, /apis,
  /version, /openapi).
* Kubernetes docs, "Authorization Overview" (request verbs): GET of one object `get`, of a
  collection `list` (`watch` with ?watch), POST `create`, PUT `update`, PATCH `patch`, DELETE
  `delete`. k8s.io/apiserver/pkg/endpoints/handlers/patch.go: a server-side apply that creates
  the object is also authorized as `create` on that name.
* EKS user guide, "Grant IAM users access to Kubernetes with EKS access entries": the
  authenticator verifies the token with STS GetCallerIdentity, maps the IAM principal (for an
  assumed role, its role ARN) to a username and Kubernetes groups; a principal without an
  access entry is refused (401).
* The Forbidden Status: reason Forbidden, code 403, message `RESOURCE "NAME" is forbidden: User
  "USER" cannot VERB resource "PLURAL" in API group "GROUP" in the namespace "NS"`.
"""

from __future__ import annotations

import base64
import re
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlparse

RBAC_GROUP = "rbac.authorization.k8s.io"
DISCOVERY_PATHS = re.compile(r"^/(api|apis|version|openapi)(/.*)?$")


def request_verbs(method: str, name: str | None, query: dict[str, str], content_type: str,
                  exists: bool) -> list[str]:
    """The verbs a request is authorized as (apply creating an object: patch and create)."""
    if method == "GET":
        if name is None:
            return ["watch"] if query.get("watch") in ("1", "true") else ["list"]
        return ["get"]
    if method == "POST":
        return ["create"]
    if method == "PUT":
        return ["update"]
    if method == "PATCH":
        if content_type == "application/apply-patch+yaml" and not exists:
            return ["patch", "create"]
        return ["patch"]
    if method == "DELETE":
        return ["delete"] if name is not None else ["deletecollection"]
    return [method.lower()]


def principal_from_token(header: str | None, sts_endpoint: str) -> str | None:
    """The IAM principal of an EKS token: the presigned GetCallerIdentity is sent to STS (the
    emulator's) with the token's credentials, as the authenticator does; an assumed role's ARN
    is turned into its role's."""
    if not header or not header.startswith("Bearer k8s-aws-v1."):
        return None
    encoded = header[len("Bearer k8s-aws-v1."):]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except Exception:  # noqa: BLE001 - not a token: no principal
        return None
    query = {k.lower(): v[-1] for k, v in parse_qs(urlparse(url).query).items()}
    credential = query.get("x-amz-credential", "")
    access_key = credential.split("/", 1)[0]
    scope = credential.split("/", 1)[1] if "/" in credential else ""
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders=host, Signature=0",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    if query.get("x-amz-security-token"):
        headers["X-Amz-Security-Token"] = query["x-amz-security-token"]
    request = urllib.request.Request(sts_endpoint, data=b"Action=GetCallerIdentity&Version=2011-06-15",
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            body = reply.read().decode()
    except Exception:  # noqa: BLE001 - STS refused: not authenticated
        return None
    match = re.search(r"<Arn>([^<]+)</Arn>", body)
    if not match:
        return None
    arn = match.group(1)
    assumed = re.fullmatch(r"arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/.*", arn)
    if assumed:
        return f"arn:{assumed.group(1)}:iam::{assumed.group(2)}:role/{assumed.group(3)}"
    return arn


def _matches(values: list[str], value: str) -> bool:
    return "*" in values or value in values


def rule_allows(rule: dict, verb: str, group: str, resource: str, name: str | None) -> bool:
    if not _matches(rule.get("verbs") or [], verb):
        return False
    if not _matches(rule.get("apiGroups") or [], group):
        return False
    if not _matches(rule.get("resources") or [], resource):
        return False
    names = rule.get("resourceNames") or []
    # A rule with resourceNames allows only requests that name one of them (never list).
    return not names or (name is not None and name in names)


def _bound(binding: dict, user: str, groups: list[str]) -> bool:
    for subject in binding.get("subjects") or []:
        kind = subject.get("kind")
        if kind == "User" and subject.get("name") == user:
            return True
        if kind == "Group" and subject.get("name") in groups:
            return True
    return False


def allowed(objects: dict[tuple, dict], user: str, groups: list[str], verb: str, group: str,
            resource: str, namespace: str | None, name: str | None) -> bool:
    """Whether any Role or ClusterRole bound to the user or a group allows the request."""
    if "system:masters" in groups:
        return True

    def role(kind: str, ns: str | None, role_name: str) -> dict | None:
        plural = "roles" if kind == "Role" else "clusterroles"
        return objects.get((plural, ns if kind == "Role" else None, role_name))

    for (plural, ns, _), binding in list(objects.items()):
        if plural == "clusterrolebindings":
            scope_ok = True
        elif plural == "rolebindings":
            scope_ok = namespace is not None and ns == namespace
        else:
            continue
        if not scope_ok or not _bound(binding, user, groups):
            continue
        ref = binding.get("roleRef") or {}
        bound_role = role(ref.get("kind", ""), ns, ref.get("name", ""))
        if bound_role is None:
            continue
        for rule in bound_role.get("rules") or []:
            if rule_allows(rule, verb, group, resource, name):
                return True
    return False


def forbidden_message(user: str, verb: str, group: str, plural: str, qualified: str,
                      namespace: str | None, name: str | None) -> str:
    subject = f'{qualified} "{name}"' if name else qualified
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    return (f'{subject} is forbidden: User "{user}" cannot {verb} resource "{plural}" '
            f'in API group "{group}"{where}')


def identity(entries: dict[str, Any], principal: str | None) -> tuple[str, list[str]] | None:
    """(username, groups) of the access entry for the principal, or None."""
    if principal is None:
        return None
    entry = entries.get(principal)
    if entry is None:
        return None
    return entry.get("username", principal), ["system:authenticated", *entry.get("groups", [])]
