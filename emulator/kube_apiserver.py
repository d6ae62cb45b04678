"""pipectl's fake Kubernetes API server: a TEST DOUBLE for the tests and the demo.

No kube-apiserver can run here, so this small HTTP server answers the part of the Kubernetes
API that pipectl (and kubectl, as an independent client) touches, the way the real server does:

* discovery: /version, /api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION;
* core/v1 namespaces, persistentvolumes, persistentvolumeclaims; apps/v1 statefulsets;
  autoscaling/v2 horizontalpodautoscalers; storage.k8s.io/v1 storageclasses;
* GET, LIST (with `kind: XList` and labelSelector equality), POST (201, 409 AlreadyExists),
  PUT (409 Conflict on a stale resourceVersion), PATCH (server-side apply with field managers,
  conflicts and `force`; JSON merge patch; strategic merge patch treated as a merge patch),
  DELETE; `resourceVersion`, `uid`, `generation` and `managedFields` on every object;
  404 NotFound as a proper `Status`; `dryRun=All` validates and answers without storing;
* 422 Invalid for object names that are not DNS-1123 subdomains and labels whose keys are not
  qualified names or whose values are longer than 63 characters or do not start and end with
  an alphanumeric character (apimachinery's ValidateObjectMeta);
* 422 Invalid for what pipectl must never do: changing a StorageClass's immutable fields,
  changing a StatefulSet's volumeClaimTemplates (or other immutable spec fields), shrinking a
  PVC, growing a PVC whose class does not allow expansion; and the HPA's own validation
  (minReplicas >= 1, maxReplicas >= minReplicas, scale-down select policy, windows);
* a PVC whose requested size grows gets `status.capacity` raised to match, as the volume
  resizer does once the EBS volume has grown;
* optional bearer-token checks (--eks-cluster NAME): requests must carry an EKS token
  (`k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL that signs the
  `x-k8s-aws-id` header naming the cluster), as EKS's authenticator expects;
* a log of requests for assertions.

Control endpoints (not Kubernetes APIs): GET /_fake/log, POST /_fake/log/clear,
POST /_fake/seed (a JSON list of objects stored as given, status included).

Run: python emulator/kube_apiserver.py --port 0   (prints "listening on http://127.0.0.1:PORT")
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

import rbac


class Resource:
    def __init__(self, group: str, version: str, plural: str, kind: str, namespaced: bool,
                 short_names: list[str], has_status: bool):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = short_names
        self.has_status = has_status

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def discovery(self) -> dict[str, Any]:
        return {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update"],
            "shortNames": self.short_names,
        }


RESOURCES = [
    Resource("", "v1", "namespaces", "Namespace", False, ["ns"], True),
    Resource("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], True),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], True),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], True),
    Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True,
             ["hpa"], True),
    Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"], False),
    Resource("", "v1", "configmaps", "ConfigMap", True, ["cm"], False),
    # What deploy/kubernetes/ holds: stored and served as they are (no controllers run them).
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"], False),
    Resource("batch", "v1", "cronjobs", "CronJob", True, ["cj"], True),
    # The Prometheus Operator's CRD (monitoring.coreos.com/v1, PrometheusRule): served only when
    # the operator is installed (setting prometheus_operator), as a CRD is, and found through
    # discovery like any API group.
    Resource("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", True, ["promrule"], False),
    # The operator's Prometheus objects, whose ruleSelector and ruleNamespaceSelector say which
    # PrometheusRules each loads (Prometheus Operator API reference, PrometheusSpec).
    Resource("monitoring.coreos.com", "v1", "prometheuses", "Prometheus", True, ["prom"], False),
    # RBAC (enforced with the setting `rbac`, emulator/rbac.py).
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", True, [], False),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, [], False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, [], False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, [],
             False),
]
# API groups that exist only when something installs them, and the setting that installs them.
OPTIONAL_GROUPS = {"monitoring.coreos.com": "prometheus_operator"}
GROUPS: dict[str, list[Resource]] = {}
for _r in RESOURCES:
    GROUPS.setdefault(_r.group, []).append(_r)


# The resource metrics API the Kubernetes metrics server registers (an aggregated API). EKS
# does not install the metrics server by default, so the fake serves it only when told to.
METRICS_GROUP = {"name": "metrics.k8s.io",
                 "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
                 "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}}


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> dict[str, Any]:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def qualified(word: str, resource: Resource) -> str:
    """'horizontalpodautoscalers.autoscaling', or just 'persistentvolumeclaims' for core/v1."""
    return f"{word}.{resource.group}" if resource.group else word


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(resource.plural, resource)} "{name}" not found',
                    {"name": name, "group": resource.group, "kind": resource.plural})


def invalid(resource: Resource, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """causes: (reason, field, message) like the real server's field errors."""
    text = ", ".join(f"{field}: {message}" for _, field, message in causes)
    return ApiError(422, "Invalid", f'{qualified(resource.kind, resource)} "{name}" is invalid: {text}',
                    {"name": name, "group": resource.group, "kind": resource.kind,
                     "causes": [{"reason": r, "field": f, "message": m} for r, f, m in causes]})


# ------------------------------------------------------------------------------ quantities

_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


def quantity_bytes(value: Any) -> int:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(value))
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


# ---------------------------------------------------------------------- field ownership (SSA)

IGNORED_TOP = {"status"}
OWNED_METADATA = {"labels", "annotations"}


def leaves(obj: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    """Leaf fields of an object as paths. Lists are atomic (one leaf), which is how the real
    server treats the lists pipectl writes (metrics, policies, parameters are maps)."""
    out: dict[tuple, Any] = {}
    if isinstance(obj, dict) and (obj or not prefix):
        for key, value in obj.items():
            if not prefix and key in IGNORED_TOP:
                continue
            if not prefix and key == "metadata":
                for meta_key in OWNED_METADATA:
                    if isinstance(value, dict) and meta_key in value:
                        out.update(leaves(value[meta_key], ("metadata", meta_key)))
                continue
            if not prefix and key in ("apiVersion", "kind"):
                continue
            out.update(leaves(value, prefix + (key,)))
    else:
        out[prefix] = obj
    return out


def get_path(obj: Any, path: tuple) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def set_path(obj: dict, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = value


def remove_path(obj: dict, path: tuple) -> None:
    parents = []
    for key in path[:-1]:
        if not isinstance(obj, dict) or key not in obj:
            return
        parents.append((obj, key))
        obj = obj[key]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)
    # Drop maps the removal left empty.
    for parent, key in reversed(parents):
        if parent[key] == {}:
            del parent[key]


def fields_v1(paths: list[tuple]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --------------------------------------------------------------------------------- the store

def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[tuple, dict] = {}
        # (resource plural, namespace, name) -> {manager: {path: operation}}
        self.owners: dict[tuple, dict[str, set]] = {}
        self.revision = 1000
        self.log: list[dict[str, Any]] = []
        # Behaviour a test can change through POST /_fake/config.
        self.settings: dict[str, Any] = {
            "token_lifetime_seconds": DEFAULT_TOKEN_LIFETIME_SECONDS,
            # How long the volume resizer takes to grow a claim (0: at once).
            "claim_resize_seconds": 0.0,
            # None, or how the next claim resizes fail: ControllerResizeError, NodeResizeError
            # (a retried error condition), ControllerResizeInfeasible, NodeResizeInfeasible
            # (allocatedResourceStatuses: the resizer gave up).
            "claim_resize_failure": None,
            # Whether metrics.k8s.io is served (the metrics server is installed).
            "metrics_api": False,
            # Whether the Prometheus Operator's CRDs are installed (monitoring.coreos.com/v1).
            "prometheus_operator": False,
            # Whether its validating admission webhook checks PrometheusRules (promtool).
            "prometheus_rule_webhook": False,
            # Injected faults: {"seed": 7, "throttle_rate": 0.3, "error_rate": 0.05}: 429
            # TooManyRequests with Retry-After (API priority and fairness), 503 ServiceUnavailable.
            # Decided per (method, path, n-th call) from the seed, as in the AWS emulator.
            "faults": {},
            # RBAC (emulator/rbac.py): enforce Roles, ClusterRoles and their bindings for the
            # identity an EKS token maps to. A request without a token is the kubeconfig's
            # admin (system:masters), as kubectl in the tests is.
            "rbac": False,
            # EKS access entries: IAM principal ARN -> {"username": ..., "groups": [...]}.
            "access_entries": {},
            # Where the authenticator sends the token's GetCallerIdentity (the AWS emulator).
            "sts_endpoint": None,
        }
        # Every RBAC decision: {"user", "verb", "group", "resource", "namespace", "name",
        # "allowed"} (GET /_fake/authorizations).
        self.authorizations: list[dict[str, Any]] = []
        # token -> principal ARN (the authenticator caches its STS answers too).
        self.principals: dict[str, str | None] = {}
        self.fault_counts: dict[tuple, int] = {}
        # claim key -> (time the resize completes, requested size)
        self.pending_resizes: dict[tuple, tuple[float, str]] = {}

    def start_resize(self, key: tuple, obj: dict, previous: dict | None) -> None:
        """The volume resizer's part when a claim's request grows beyond its capacity, with the
        status fields Kubernetes documents for it (PersistentVolumeClaimStatus: conditions
        Resizing, ControllerResizeError, NodeResizeError; allocatedResourceStatuses
        ControllerResizeInProgress, ControllerResizeInfeasible, NodeResizeInfeasible)."""
        requested = get_path(obj, ("spec", "resources", "requests", "storage"))
        capacity = get_path(obj, ("status", "capacity", "storage"))
        before = get_path(previous or {}, ("spec", "resources", "requests", "storage"))
        if not requested or not capacity or quantity_bytes(requested) <= quantity_bytes(capacity):
            return
        if before == requested and previous is not None:
            return
        status = obj.setdefault("status", {})
        failure = self.settings.get("claim_resize_failure")
        if failure:
            if failure.endswith("Infeasible"):
                status["allocatedResourceStatuses"] = {"storage": failure}
                condition = "ControllerResizeError" if failure.startswith("Controller") else "NodeResizeError"
            else:
                condition = failure
            status["conditions"] = [{
                "type": condition, "status": "True", "lastTransitionTime": now_iso(),
                "message": f"resize volume {key[2]} failed: rpc error: code = Internal desc = "
                           "Could not resize volume: the volume is in an incompatible state (emulated)"}]
            return
        seconds = float(self.settings.get("claim_resize_seconds") or 0)
        if seconds <= 0:
            # The resizer grew the volume: the claim now reports the new capacity.
            set_path(obj, ("status", "capacity", "storage"), requested)
            return
        status["allocatedResourceStatuses"] = {"storage": "ControllerResizeInProgress"}
        status["conditions"] = [{"type": "Resizing", "status": "True", "lastTransitionTime": now_iso()}]
        self.pending_resizes[key] = (time.time() + seconds, requested)

    def fault_for(self, method: str, path: str) -> str | None:
        faults = self.settings.get("faults") or {}
        if not faults or path.startswith("/_fake/"):
            return None
        key = (method, path)
        n = self.fault_counts.get(key, 0)
        self.fault_counts[key] = n + 1
        digest = hashlib.sha256(f"{faults.get('seed', 0)}|{key}|{n}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        throttle, error = faults.get("throttle_rate", 0.0), faults.get("error_rate", 0.0)
        if draw < throttle:
            return "throttle"
        if draw < throttle + error:
            return "error"
        return None

    def settle_resizes(self) -> None:
        """Completes the resizes whose time has come (called before every request)."""
        for key, (due, requested) in list(self.pending_resizes.items()):
            if due > time.time():
                continue
            del self.pending_resizes[key]
            obj = self.objects.get(key)
            if obj is None:
                continue
            status = obj.setdefault("status", {})
            set_path(obj, ("status", "capacity", "storage"), requested)
            status.pop("allocatedResourceStatuses", None)
            status.pop("conditions", None)
            obj["metadata"]["resourceVersion"] = self.next_revision()

    def next_revision(self) -> str:
        self.revision += 1
        return str(self.revision)

    def key(self, resource: Resource, namespace: str | None, name: str) -> tuple:
        return (resource.plural, namespace if resource.namespaced else None, name)

    def finish(self, resource: Resource, key: tuple, obj: dict, previous: dict | None,
               dry_run: bool) -> dict:
        """Fills server-set metadata, simulates controllers, and stores unless dry-run."""
        meta = obj.setdefault("metadata", {})
        if previous is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            meta["generation"] = 1
        else:
            for k in ("uid", "creationTimestamp"):
                meta[k] = previous["metadata"][k]
            generation = previous["metadata"].get("generation", 1)
            if obj.get("spec") != previous.get("spec") or (
                    resource.kind == "StorageClass" and obj != previous):
                generation += 1
            meta["generation"] = generation
            if resource.has_status and "status" in previous:
                obj["status"] = copy.deepcopy(previous["status"])
        if resource.namespaced:
            meta["namespace"] = key[1]
        obj["apiVersion"] = resource.group_version
        obj["kind"] = resource.kind
        if resource.kind == "HorizontalPodAutoscaler":
            default_hpa(obj)
        if resource.kind == "StorageClass":
            # Kubernetes' defaulting (pkg/apis/storage/v1/defaults.go, SetDefaults_StorageClass):
            # an absent reclaimPolicy is Delete, an absent volumeBindingMode is Immediate.
            obj.setdefault("reclaimPolicy", "Delete")
            obj.setdefault("volumeBindingMode", "Immediate")
        if resource.kind == "PersistentVolumeClaim" and not dry_run:
            self.start_resize(key, obj, previous)
        owners = self.owners.get(key, {})
        meta["managedFields"] = [
            {"manager": manager, "operation": operation, "apiVersion": resource.group_version,
             "time": now_iso(), "fieldsType": "FieldsV1", "fieldsV1": fields_v1(sorted(paths))}
            for (manager, operation), paths in sorted(owners.items()) if paths
        ]
        if dry_run:
            obj["metadata"]["resourceVersion"] = (previous or {}).get("metadata", {}).get(
                "resourceVersion", "0")
            return obj
        meta["resourceVersion"] = self.next_revision()
        self.objects[key] = obj
        return copy.deepcopy(obj)


# Kubernetes' autoscaling/v2 defaulting (pkg/apis/autoscaling/v2/defaults.go): minReplicas 1;
# no metrics means 80% CPU; a behavior that is given gets every rule it leaves out
# (GenerateHPAScaleUpRules / GenerateHPAScaleDownRules). Defaulted fields belong to no manager.
HPA_SCALE_UP_DEFAULT = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                     {"type": "Percent", "value": 100, "periodSeconds": 15}]}
HPA_SCALE_DOWN_DEFAULT = {"selectPolicy": "Max",
                          "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def default_hpa(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for rule, default in (("scaleUp", HPA_SCALE_UP_DEFAULT), ("scaleDown", HPA_SCALE_DOWN_DEFAULT)):
            given = behavior.get(rule) or {}
            behavior[rule] = {**copy.deepcopy(default), **given}


# -------------------------------------------------------------------------------- validation

STATEFULSET_MUTABLE_SPEC = {"replicas", "ordinals", "template", "updateStrategy",
                            "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}
STORAGECLASS_IMMUTABLE = ["parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"]


# Object metadata as the API server validates it on every write (apimachinery
# pkg/api/validation ValidateObjectMeta and pkg/util/validation: IsDNS1123Subdomain for names,
# IsQualifiedName for label keys, IsValidLabelValue for label values; "Labels and Selectors:
# Syntax and character set").
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS1123_MESSAGE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                   "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_VALUE_MESSAGE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                       "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                       "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def metadata_causes(obj: dict) -> list[tuple[str, str, str]]:
    causes = []
    name = get_path(obj, ("metadata", "name")) or ""
    if len(name) > 253:
        causes.append(("FieldValueInvalid", "metadata.name", f"Invalid value: {json.dumps(name)}: must be no more than 253 characters"))
    elif not DNS1123_SUBDOMAIN.match(name):
        causes.append(("FieldValueInvalid", "metadata.name", f"Invalid value: {json.dumps(name)}: {DNS1123_MESSAGE}"))
    for key, value in (get_path(obj, ("metadata", "labels")) or {}).items():
        prefix, _, local = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix))) \
                or len(local) > 63 or not QUALIFIED_NAME.match(local):
            causes.append(("FieldValueInvalid", "metadata.labels",
                           f"Invalid value: {json.dumps(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', "
                           "and must start and end with an alphanumeric character"))
        value = str(value)
        if len(value) > 63:
            causes.append(("FieldValueInvalid", "metadata.labels", f"Invalid value: {json.dumps(value)}: must be no more than 63 characters"))
        elif not LABEL_VALUE.match(value):
            causes.append(("FieldValueInvalid", "metadata.labels", f"Invalid value: {json.dumps(value)}: {LABEL_VALUE_MESSAGE}"))
    return causes


def validate(store: Store, resource: Resource, name: str, obj: dict, previous: dict | None) -> None:
    causes: list[tuple[str, str, str]] = []
    meta_name = get_path(obj, ("metadata", "name"))
    if meta_name != name:
        causes.append(("FieldValueInvalid", "metadata.name",
                       f"Invalid value: {json.dumps(meta_name)}: the name of the object does not match the name on the URL"))
    causes.extend(metadata_causes(obj))
    if resource.kind == "HorizontalPodAutoscaler":
        spec = obj.get("spec") or {}
        minimum = spec.get("minReplicas", 1)
        maximum = spec.get("maxReplicas")
        if not isinstance(minimum, int) or minimum < 1:
            causes.append(("FieldValueInvalid", "spec.minReplicas",
                           f"Invalid value: {minimum}: must be greater than or equal to 1"))
        if not isinstance(maximum, int) or maximum < 1:
            causes.append(("FieldValueInvalid", "spec.maxReplicas",
                           f"Invalid value: {maximum}: must be greater than 0"))
        elif isinstance(minimum, int) and maximum < minimum:
            causes.append(("FieldValueInvalid", "spec.maxReplicas",
                           f"Invalid value: {maximum}: must be greater than or equal to `minReplicas`"))
        ref = spec.get("scaleTargetRef") or {}
        for field in ("kind", "name"):
            if not ref.get(field):
                causes.append(("FieldValueRequired", f"spec.scaleTargetRef.{field}", "Required value"))
        for direction in ("scaleUp", "scaleDown"):
            rules = get_path(spec, ("behavior", direction)) or {}
            policy = rules.get("selectPolicy")
            if policy is not None and policy not in ("Max", "Min", "Disabled"):
                causes.append(("FieldValueNotSupported", f"spec.behavior.{direction}.selectPolicy",
                               f'Unsupported value: "{policy}": supported values: "Disabled", "Max", "Min"'))
            window = rules.get("stabilizationWindowSeconds")
            if window is not None and not (0 <= window <= 3600):
                causes.append(("FieldValueInvalid", f"spec.behavior.{direction}.stabilizationWindowSeconds",
                               f"Invalid value: {window}: must be less than or equal to 3600"))
            for i, rule in enumerate(rules.get("policies") or []):
                period = rule.get("periodSeconds", 0)
                if not (0 < period <= 1800):
                    causes.append(("FieldValueInvalid", f"spec.behavior.{direction}.policies[{i}].periodSeconds",
                                   f"Invalid value: {period}: must be greater than zero and less than or equal to 1800"))
        for i, metric in enumerate(spec.get("metrics") or []):
            target = get_path(metric, ("resource", "target")) or {}
            utilization = target.get("averageUtilization")
            if target.get("type") == "Utilization" and (not isinstance(utilization, int) or utilization < 1):
                causes.append(("FieldValueInvalid", f"spec.metrics[{i}].resource.target.averageUtilization",
                               f"Invalid value: {utilization}: must be greater than 0"))
    if resource.kind == "StorageClass":
        if not obj.get("provisioner"):
            causes.append(("FieldValueRequired", "provisioner", "Required value"))
        if previous is not None:
            defaults = {"reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}
            for field in STORAGECLASS_IMMUTABLE:
                before = previous.get(field, defaults.get(field))
                after = obj.get(field, defaults.get(field))
                if (before or None) != (after or None):
                    causes.append(("FieldValueForbidden", field,
                                   f"Forbidden: updates to {field} are forbidden."))
    if resource.kind == "StatefulSet" and previous is not None:
        before = {k: v for k, v in (previous.get("spec") or {}).items() if k not in STATEFULSET_MUTABLE_SPEC}
        after = {k: v for k, v in (obj.get("spec") or {}).items() if k not in STATEFULSET_MUTABLE_SPEC}
        if before != after:
            causes.append(("FieldValueForbidden", "spec",
                           "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                           "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                           "'minReadySeconds' are forbidden"))
    if resource.kind == "PersistentVolumeClaim" and previous is not None:
        path = ("spec", "resources", "requests", "storage")
        before, after = get_path(previous, path), get_path(obj, path)
        try:
            before_bytes, after_bytes = quantity_bytes(before), quantity_bytes(after)
        except ValueError as err:
            causes.append(("FieldValueInvalid", "spec.resources.requests.storage", f"Invalid value: {after}: {err}"))
        else:
            if after_bytes < before_bytes:
                causes.append(("FieldValueForbidden", "spec.resources.requests.storage",
                               "Forbidden: field can not be less than previous value"))
            elif after_bytes > before_bytes:
                class_name = get_path(previous, ("spec", "storageClassName"))
                storage_class = store.objects.get(("storageclasses", None, class_name))
                if not storage_class or storage_class.get("allowVolumeExpansion") is not True:
                    causes.append(("FieldValueForbidden", "spec",
                                   "Forbidden: only dynamically provisioned pvc can be resized and the "
                                   "storageclass that provisions the pvc must support resize"))
    if causes:
        raise invalid(resource, name, causes)
    if resource.kind == "PrometheusRule" and store.settings.get("prometheus_rule_webhook"):
        check_rules_as_the_operator_webhook(obj)


PROMETHEUS_RULE_WEBHOOK = "prometheusrulevalidate.monitoring.coreos.com"


def check_rules_as_the_operator_webhook(obj: dict) -> None:
    """The Prometheus Operator's validating admission webhook (on by default in
    kube-prometheus-stack) refuses a PrometheusRule whose groups Prometheus's rule loader
    (rulefmt: PromQL of each expr, label names and values, templates of labels and annotations)
    refuses. Checked here by that loader itself, `promtool check rules` (Debian's prometheus
    package). A denial is answered as the API server answers a webhook's: 400 with
    'admission webhook "NAME" denied the request: ...' (Kubernetes "Dynamic Admission Control";
    apiserver webhookerrors.ToStatusErr raises codes below 400 to 400)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise ApiError(500, "InternalError",
                       f'Internal error occurred: failed calling webhook "{PROMETHEUS_RULE_WEBHOOK}": '
                       "the fake's webhook needs promtool (Debian package prometheus)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as rules:
        json.dump(obj.get("spec") or {}, rules)
    try:
        checked = subprocess.run([promtool, "check", "rules", rules.name], capture_output=True,
                                 text=True, timeout=30)
    finally:
        os.unlink(rules.name)
    if checked.returncode != 0:
        detail = " ".join((checked.stdout + checked.stderr).split())
        raise ApiError(400, "BadRequest",
                       f'admission webhook "{PROMETHEUS_RULE_WEBHOOK}" denied the request: Rules are not valid: {detail}')


# ----------------------------------------------------------------------------------- tokens

# Query parameters aws-iam-authenticator accepts in the presigned URL (pkg/token/token.go,
# parameterWhitelist), compared case-insensitively.
TOKEN_PARAMETERS = {"action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                    "x-amz-expires", "x-amz-security-token", "x-amz-signature",
                    "x-amz-signedheaders"}
# aws-iam-authenticator's presignedURLExpiration: a token is refused 15 minutes after its
# X-Amz-Date, whatever X-Amz-Expires says.
DEFAULT_TOKEN_LIFETIME_SECONDS = 15 * 60


def check_eks_token(header: str | None, lifetime_seconds: float) -> None:
    """What EKS's authenticator (aws-iam-authenticator, tokenVerifier.Verify) checks before it
    calls STS: the 'k8s-aws-v1.' prefix; unpadded base64url; an https URL to an STS host with
    path '/'; only whitelisted query parameters, each once; Action GetCallerIdentity; the
    x-k8s-aws-id header signed; X-Amz-Expires between 0 and 900; X-Amz-Date present and no
    older than the token lifetime. STS's own part (the signature) can only be checked for its
    shape here. Anything else is 401, as EKS answers."""
    unauthorized = ApiError(401, "Unauthorized", "Unauthorized")
    if not header or not header.startswith("Bearer k8s-aws-v1."):
        raise unauthorized
    encoded = header[len("Bearer k8s-aws-v1."):]
    if "=" in encoded:
        raise unauthorized
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except Exception:
        raise unauthorized
    parsed = urlparse(url)
    if parsed.scheme != "https" or (parsed.path or "/") != "/":
        raise unauthorized
    if not re.fullmatch(r"sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?", parsed.hostname or ""):
        raise unauthorized
    raw = parse_qs(parsed.query, keep_blank_values=True)
    query: dict[str, str] = {}
    for key, values in raw.items():
        if key.lower() not in TOKEN_PARAMETERS or len(values) != 1:
            raise unauthorized
        query[key.lower()] = values[0]
    signed = [h.lower() for h in query.get("x-amz-signedheaders", "").split(";")]
    try:
        expires = int(query.get("x-amz-expires", ""))
        signed_at = datetime.strptime(query.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise unauthorized
    ok = (query.get("action") == "GetCallerIdentity"
          and "x-k8s-aws-id" in signed
          and 0 <= expires <= 900
          and datetime.now(timezone.utc).timestamp() <= signed_at.timestamp() + lifetime_seconds
          # STS's part: a SigV4 signature over the request.
          and query.get("x-amz-algorithm") == "AWS4-HMAC-SHA256"
          and re.fullmatch(r"[0-9a-f]{64}", query.get("x-amz-signature", ""))
          and "/sts/aws4_request" in query.get("x-amz-credential", ""))
    if not ok:
        raise unauthorized


# --------------------------------------------------------------------------------- handlers

class Server:
    def __init__(self, eks_cluster: str | None):
        self.store = Store()
        self.eks_cluster = eks_cluster
        self.settings = self.store.settings

    def served(self, group: str) -> bool:
        setting = OPTIONAL_GROUPS.get(group)
        return setting is None or bool(self.settings.get(setting))

    def resource_for(self, group: str, version: str, plural: str) -> Resource:
        for resource in RESOURCES:
            if (resource.group, resource.version, resource.plural) == (group, version, plural) \
                    and self.served(group):
                return resource
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def discovery(self, path: str, host: str) -> dict[str, Any] | None:
        if path == "/version":
            return {"major": "1", "minor": "33", "gitVersion": "v1.33.0-pipectl-fake",
                    "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}
        if path == "/api/v1":
            return {"kind": "APIResourceList", "groupVersion": "v1",
                    "resources": [r.discovery() for r in GROUPS[""]]}
        metrics = bool(self.settings.get("metrics_api"))
        if path == "/apis":
            groups = [self.group_doc(g) for g in GROUPS if g and self.served(g)]
            if metrics:
                groups.append(METRICS_GROUP)
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if metrics and path == "/apis/metrics.k8s.io":
            return {"kind": "APIGroup", "apiVersion": "v1", **METRICS_GROUP}
        if metrics and path == "/apis/metrics.k8s.io/v1beta1":
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "metrics.k8s.io/v1beta1",
                    "resources": [{"name": n, "singularName": "", "namespaced": ns, "kind": k, "verbs": ["get", "list"]}
                                  for n, ns, k in (("nodes", False, "NodeMetrics"), ("pods", True, "PodMetrics"))]}
        match = re.fullmatch(r"/apis/([^/]+)(?:/([^/]+))?", path)
        if match and match.group(1) in GROUPS and match.group(1) and self.served(match.group(1)):
            group, version = match.group(1), match.group(2)
            if version is None:
                return {"kind": "APIGroup", "apiVersion": "v1", **self.group_doc(group)}
            resources = [r for r in GROUPS[group] if r.version == version]
            if resources:
                return {"kind": "APIResourceList", "apiVersion": "v1",
                        "groupVersion": f"{group}/{version}",
                        "resources": [r.discovery() for r in resources]}
        return None

    def group_doc(self, group: str) -> dict[str, Any]:
        versions = sorted({r.version for r in GROUPS[group]})
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def parse_path(self, path: str) -> tuple[Resource, str | None, str | None, str | None]:
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        resource = self.resource_for(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if resource.namespaced and name is not None and namespace is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return resource, namespace, name, sub

    def handle(self, method: str, path: str, query: dict[str, str], headers, body: bytes,
               host: str) -> tuple[int, Any]:
        with self.store.lock:
            self.store.settle_resizes()
            fault = self.store.fault_for(method, path)
        if fault == "throttle":
            raise ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                           {"retryAfterSeconds": 1})
        if fault == "error":
            raise ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        if self.eks_cluster is not None:
            check_eks_token(headers.get("Authorization"), self.settings["token_lifetime_seconds"])
        user = self.authenticate(headers.get("Authorization"))
        if method == "GET":
            doc = self.discovery(path, host)
            if doc is not None:
                return 200, doc
            if path.startswith("/openapi"):
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource, namespace, name, sub = self.parse_path(path)
        if sub not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if user is not None:
            self.authorize(user, method, query, headers, resource, namespace, name)
        dry_run = query.get("dryRun") == "All"
        manager = query.get("fieldManager") or self.default_manager(headers, method)
        with self.store.lock:
            if name is None:
                if method == "GET":
                    return 200, self.list(resource, namespace, query.get("labelSelector"))
                if method == "POST":
                    obj = self.decode(body, headers)
                    return 201, self.create(resource, namespace, obj, manager, dry_run)
                raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")
            key = self.store.key(resource, namespace, name)
            live = self.store.objects.get(key)
            if method == "GET":
                if live is None:
                    raise not_found(resource, name)
                return 200, copy.deepcopy(live)
            if method == "DELETE":
                if live is None:
                    raise not_found(resource, name)
                if not dry_run:
                    del self.store.objects[key]
                    self.store.owners.pop(key, None)
                return 200, live
            if method == "PUT":
                obj = self.decode(body, headers)
                if live is None:
                    raise not_found(resource, name)
                sent = get_path(obj, ("metadata", "resourceVersion"))
                if sent and sent != live["metadata"]["resourceVersion"]:
                    raise ApiError(409, "Conflict",
                                   f'Operation cannot be fulfilled on {qualified(resource.plural, resource)} "{name}": '
                                   "the object has been modified; please apply your changes to the latest version and try again",
                                   {"name": name, "group": resource.group, "kind": resource.plural})
                return 200, self.update(resource, key, live, obj, manager, dry_run, sub)
            if method == "PATCH":
                content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
                patch = self.decode(body, headers)
                if content_type == "application/apply-patch+yaml":
                    force = query.get("force") == "true"
                    return self.server_side_apply(resource, key, live, patch, manager, force, dry_run)
                if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                    if live is None:
                        raise not_found(resource, name)
                    return 200, self.update(resource, key, live, merge_patch(live, patch), manager, dry_run, sub)
                raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml, application/merge-patch+json, application/strategic-merge-patch+json")
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def authenticate(self, authorization: str | None) -> tuple[str, list[str]] | None:
        """With `rbac`: the request's (username, groups), None when RBAC is off. A token whose
        principal has no access entry is 401, as EKS answers."""
        if not self.settings.get("rbac"):
            return None
        if not authorization:
            return "kubernetes-admin", ["system:masters", "system:authenticated"]
        with self.store.lock:
            known = authorization in self.store.principals
            principal = self.store.principals.get(authorization)
        if not known:
            principal = rbac.principal_from_token(authorization, self.settings.get("sts_endpoint") or "")
            with self.store.lock:
                self.store.principals[authorization] = principal
        found = rbac.identity(self.settings.get("access_entries") or {}, principal)
        if found is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return found

    def authorize(self, user: tuple[str, list[str]], method: str, query: dict[str, str], headers,
                  resource: Resource, namespace: str | None, name: str | None) -> None:
        """Each verb the request is authorized as must be allowed by a bound role (403)."""
        username, groups = user
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        with self.store.lock:
            exists = name is not None and self.store.key(resource, namespace, name) in self.store.objects
            for verb in rbac.request_verbs(method, name, query, content_type, exists):
                ok = rbac.allowed(self.store.objects, username, groups, verb, resource.group,
                                  resource.plural, namespace, name)
                self.store.authorizations.append({
                    "user": username, "verb": verb, "group": resource.group,
                    "resource": resource.plural, "namespace": namespace, "name": name, "allowed": ok})
                if not ok:
                    message = rbac.forbidden_message(username, verb, resource.group, resource.plural,
                                                     qualified(resource.plural, resource), namespace, name)
                    raise ApiError(403, "Forbidden", message,
                                   {"name": name or "", "group": resource.group, "kind": resource.plural})

    @staticmethod
    def default_manager(headers, method: str) -> str:
        """Like the real server: without ?fieldManager, the client's user agent names it."""
        del method
        return (headers.get("User-Agent") or "unknown").split("/")[0]

    @staticmethod
    def decode(body: bytes, headers) -> Any:
        try:
            return json.loads(body or b"{}")
        except json.JSONDecodeError:
            try:
                return yaml.safe_load(body)
            except yaml.YAMLError as err:
                raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {err}")

    def list(self, resource: Resource, namespace: str | None, selector: str | None) -> dict[str, Any]:
        wanted = {}
        for term in (selector or "").split(","):
            if "=" in term:
                k, v = term.replace("==", "=").split("=", 1)
                wanted[k.strip()] = v.strip()
        items = []
        for (plural, ns, _), obj in sorted(self.store.objects.items(), key=lambda kv: str(kv[0])):
            if plural != resource.plural or (namespace is not None and ns != namespace):
                continue
            labels = get_path(obj, ("metadata", "labels")) or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                item = copy.deepcopy(obj)
                # The real server leaves kind and apiVersion off list items.
                item.pop("kind", None)
                item.pop("apiVersion", None)
                items.append(item)
        return {"kind": f"{resource.kind}List", "apiVersion": resource.group_version,
                "metadata": {"resourceVersion": str(self.store.revision)}, "items": items}

    def create(self, resource: Resource, namespace: str | None, obj: dict, manager: str,
               dry_run: bool) -> dict[str, Any]:
        name = get_path(obj, ("metadata", "name"))
        if not name:
            raise invalid(resource, "", [("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")])
        key = self.store.key(resource, namespace, name)
        if key in self.store.objects:
            raise ApiError(409, "AlreadyExists", f'{qualified(resource.plural, resource)} "{name}" already exists',
                           {"name": name, "group": resource.group, "kind": resource.plural})
        obj = copy.deepcopy(obj)
        obj.pop("status", None)
        validate(self.store, resource, name, obj, None)
        if not dry_run:
            self.store.owners[key] = {(manager, "Update"): set(leaves(obj))}
        return self.store.finish(resource, key, obj, None, dry_run)

    def update(self, resource: Resource, key: tuple, live: dict, obj: dict, manager: str,
               dry_run: bool, sub: str | None) -> dict[str, Any]:
        name = key[2]
        obj = copy.deepcopy(obj)
        if sub == "status":
            new = copy.deepcopy(live)
            new["status"] = obj.get("status", {})
            obj = new
        validate(self.store, resource, name, obj, live)
        changed = {p for p, v in leaves(obj).items() if get_path(live, p) != v}
        changed |= {p for p in leaves(live) if get_path(obj, p) is None}
        if not dry_run:
            self.take_ownership(key, manager, "Update", changed, keep=set(leaves(obj)))
        result = self.store.finish(resource, key, obj, live, dry_run)
        if sub == "status" and not dry_run:
            self.store.objects[key]["status"] = copy.deepcopy(obj.get("status", {}))
            result["status"] = copy.deepcopy(obj.get("status", {}))
        return result

    def take_ownership(self, key: tuple, manager: str, operation: str, paths: set, keep: set) -> None:
        owners = self.store.owners.setdefault(key, {})
        for (other, op), owned in owners.items():
            if (other, op) != (manager, operation):
                owned -= paths
        mine = owners.setdefault((manager, operation), set())
        mine |= paths
        for owned in owners.values():
            owned &= keep

    def server_side_apply(self, resource: Resource, key: tuple, live: dict | None, patch: dict,
                          manager: str, force: bool, dry_run: bool) -> tuple[int, dict]:
        if not isinstance(patch, dict) or not patch.get("apiVersion") or not patch.get("kind"):
            raise ApiError(400, "BadRequest", "apply patches must specify apiVersion and kind")
        name = key[2]
        applied = leaves(patch)
        if live is None:
            obj = copy.deepcopy(patch)
            obj.pop("status", None)
            obj.setdefault("metadata", {})["name"] = get_path(patch, ("metadata", "name"))
            validate(self.store, resource, name, obj, None)
            if not dry_run:
                self.store.owners[key] = {(manager, "Apply"): set(applied)}
            return 201, self.store.finish(resource, key, obj, None, dry_run)
        owners = self.store.owners.get(key, {})
        conflicts = []
        for path, value in applied.items():
            if get_path(live, path) == value:
                continue
            for (other, _), owned in owners.items():
                if other != manager and path in owned:
                    conflicts.append((other, path))
        if conflicts and not force:
            text = "; ".join(f'conflict with "{m}": .{".".join(p)}' for m, p in conflicts)
            raise ApiError(409, "Conflict", f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: {text}",
                           {"causes": [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}"',
                                        "field": "." + ".".join(p)} for m, p in conflicts]})
        obj = copy.deepcopy(live)
        previously_mine = owners.get((manager, "Apply"), set())
        others = set().union(*[owned for (m, op), owned in owners.items() if (m, op) != (manager, "Apply")]) if owners else set()
        for path in previously_mine - set(applied) - others:
            remove_path(obj, path)
        for path, value in applied.items():
            set_path(obj, path, copy.deepcopy(value))
        validate(self.store, resource, name, obj, live)
        if not dry_run:
            owners = self.store.owners.setdefault(key, {})
            for (other, op), owned in owners.items():
                if (other, op) != (manager, "Apply"):
                    owned -= set(applied)
            owners[(manager, "Apply")] = set(applied)
        return 200, self.store.finish(resource, key, obj, live, dry_run)

    def seed(self, objects: list[dict]) -> None:
        with self.store.lock:
            for obj in objects:
                group_version = obj["apiVersion"]
                group, _, version = group_version.rpartition("/")
                resource = next(r for r in RESOURCES
                                if r.group == group and r.version == version and r.kind == obj["kind"])
                meta = obj.setdefault("metadata", {})
                key = self.store.key(resource, meta.get("namespace"), meta["name"])
                previous = self.store.objects.get(key)
                status = obj.get("status")
                stored = self.store.finish(resource, key, copy.deepcopy(obj), previous, False)
                if status is not None:
                    self.store.objects[key]["status"] = status
                del stored


def make_handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - quiet; the request log is the record
            pass

        def respond(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if code == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(data)

        def dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path.startswith("/_fake/"):
                self.control(url.path, body)
                return
            try:
                code, result = server.handle(self.command, url.path, query, self.headers, body,
                                             self.headers.get("Host", ""))
            except ApiError as err:
                code, result = err.code, err.status()
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                code, result = 400, ApiError(400, "BadRequest", f"bad request: {err}").status()
            entry = {"method": self.command, "path": url.path, "query": query,
                     "content_type": self.headers.get("Content-Type"), "status": code,
                     "user_agent": self.headers.get("User-Agent")}
            if self.command in ("POST", "PUT", "PATCH") and body:
                try:
                    entry["body"] = Server.decode(body, self.headers)
                except ApiError:
                    entry["body"] = None
            with server.store.lock:
                server.store.log.append(entry)
            self.respond(code, result)

        def control(self, path: str, body: bytes) -> None:
            if path == "/_fake/log" and self.command == "GET":
                with server.store.lock:
                    self.respond(200, list(server.store.log))
            elif path == "/_fake/log/clear" and self.command == "POST":
                with server.store.lock:
                    server.store.log.clear()
                self.respond(200, {"cleared": True})
            elif path == "/_fake/seed" and self.command == "POST":
                server.seed(json.loads(body or b"[]"))
                self.respond(200, {"seeded": True})
            elif path == "/_fake/config" and self.command == "POST":
                changes = json.loads(body or b"{}")
                unknown = [k for k in changes if k not in server.settings]
                if unknown:
                    self.respond(400, {"error": f"unknown settings {unknown}"})
                    return
                with server.store.lock:
                    server.settings.update(changes)
                self.respond(200, server.settings)
            elif path == "/_fake/authorizations" and self.command == "GET":
                with server.store.lock:
                    self.respond(200, list(server.store.authorizations))
            elif path == "/_fake/health":
                self.respond(200, {"ok": True})
            else:
                self.respond(404, {"error": f"unknown control endpoint {path}"})

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--eks-cluster", default=None,
                        help="require EKS bearer tokens (k8s-aws-v1.*) for this cluster")
    parser.add_argument("--seed", default=None, help="a JSON file with objects to store at start")
    args = parser.parse_args()
    server = Server(args.eks_cluster)
    if args.seed:
        with open(args.seed) as f:
            server.seed(json.load(f))
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(server))
    httpd.daemon_threads = True
    print(f"listening on http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
