"""IAM enforced locally: every function runs with exactly its deployed role's statements.

Guarantee: while a function's code runs locally (an API request of its group, an SQS or
scheduled handler), every AWS call it makes is evaluated against the statements its role
has in the synthesized CloudFormation template — `iam_policies.json`, written from the
template by `python -m infra.policies`, never a second hand-kept list — and refused the way
AWS refuses it (a `ClientError` with `AccessDeniedException` / `AccessDenied` and AWS's
message) when no statement allows it or one denies it. Code outside a function (the
runtime's provisioning, test fixtures) runs as the operator, unchecked.

Where the check runs: at the client boundary (`botocore.client.BaseClient._make_api_call`),
for every client in the process (boto3's, PynamoDB's, Powertools'). moto's own IAM
enforcement was not enough: it authorizes DynamoDB, SES, Secrets Manager and IoT data
calls by action only (resource `*`), so a role missing one table's grant would still pass,
and it needs a distinct signed identity per call, while the groups share one process. The
evaluation here is IAM's for identity policies without conditions: an explicit Deny wins,
else an Allow whose Action and Resource patterns (`*`, `?`) match; a statement with a
Condition is never taken as allowing (stricter than AWS, never looser). The IAM action and
resource of each call follow AWS's service authorization reference for the calls this
project makes (e.g. HeadObject needs s3:GetObject, TransactWriteItems each item's own
action on its table, SendMessageBatch sqs:SendMessage).

Every refusal is also recorded (`denials()`), so a test fails on a refused call even when
the code swallows the error (mail sending does).
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("openevent.iam")
POLICIES = Path(__file__).with_name("iam_policies.json")
ACCOUNT = "123456789012"  # moto's default account: the ARNs moto itself hands out
_current: contextvars.ContextVar[Role | None] = contextvars.ContextVar("iam_role",
                                                                         default=None)
_denials: list[str] = []
_denials_lock = threading.Lock()
_installed = False


def enabled() -> bool:
    return os.environ.get("OPENEVENT_IAM", "1") != "0"


# --- statements ------------------------------------------------------------------------------

def _pattern(value: str, *, fold: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    return re.compile(f"^{regex}$", re.IGNORECASE if fold else 0)


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[re.Pattern[str], ...]
    not_actions: tuple[re.Pattern[str], ...]
    resources: tuple[re.Pattern[str], ...]
    not_resources: tuple[re.Pattern[str], ...]
    conditional: bool

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Statement:
        def many(key: str, fold: bool) -> tuple[re.Pattern[str], ...]:
            values = raw.get(key) or []
            return tuple(_pattern(v, fold=fold) for v in
                         ([values] if isinstance(values, str) else values))

        return cls(raw["Effect"], many("Action", True), many("NotAction", True),
                   many("Resource", False), many("NotResource", False), "Condition" in raw)

    def applies(self, action: str, resource: str) -> bool:
        if self.actions and not any(p.match(action) for p in self.actions):
            return False
        if self.not_actions and any(p.match(action) for p in self.not_actions):
            return False
        if self.resources and not any(p.match(resource) for p in self.resources):
            return False
        return not (self.not_resources and any(p.match(resource) for p in self.not_resources))


@dataclass
class Role:
    name: str
    function: str
    statements: list[Statement]
    decided: dict[tuple[str, str], bool] = field(default_factory=dict)

    def decide(self, action: str, resource: str) -> bool:
        key = (action, resource)
        found = self.decided.get(key)
        if found is None:
            found = self.decided[key] = self._decide(action, resource)
        return found

    def _decide(self, action: str, resource: str) -> bool:
        allowed = False
        for statement in self.statements:
            if not statement.applies(action, resource):
                continue
            if statement.effect == "Deny":
                return False
            if not statement.conditional:
                allowed = True
        return allowed


def _placeholders() -> dict[str, str]:
    from openevent.settings import get_settings

    s = get_settings()
    secret = os.environ.get("OPENEVENT_SECRETS_ARN") or (
        f"arn:aws:secretsmanager:{s.region}:{ACCOUNT}:secret:openevent-local")
    # the prefix of the tables the models call (fixed when they were defined), which is what
    # a request names: settings read again later may see another environment
    from openevent.models.base import TABLE_PREFIX

    return {"${Region}": s.region, "${Account}": ACCOUNT, "${TablePrefix}": TABLE_PREFIX,
            "${Bucket:Documents}": s.documents_bucket, "${Bucket:Media}": s.media_bucket,
            "${Queue:" + s.documents_queue + "}": s.documents_queue,
            "${Secret}": secret,
            "${MailIdentity}": s.mail_sender}


def _fill(value: str, names: dict[str, str]) -> str:
    for key, local in names.items():
        value = value.replace(key, local)
    return value


@functools.lru_cache(maxsize=4)
def _document(path: str, mtime: float) -> dict[str, Any]:
    return json.loads(Path(path).read_text())  # type: ignore[no-any-return]


def policies(path: Path | None = None) -> dict[str, Any]:
    path = path or POLICIES
    return _document(str(path), path.stat().st_mtime)


_overrides: dict[str, list[dict[str, Any]]] = {}
_roles: dict[tuple[Any, ...], Role] = {}
_generation = [0]  # bumped when a test replaces a role's statements


def role_for(function: str) -> Role:
    """The role `function` (e.g. "orders-api", "renderer") runs with, names filled in for
    this installation (built once per function, names and override)."""
    doc = policies()
    name = doc["functions"][function]["role"]
    names = _placeholders()
    override = _overrides.get(name)
    key = (function, id(doc), tuple(names.items()), _generation[0])
    role = _roles.get(key)
    if role is None:
        raw = doc["roles"][name] if override is None else override
        statements = [Statement.of({k: ([_fill(x, names) for x in v] if isinstance(v, list)
                                         else v) for k, v in s.items()}) for s in raw]
        role = _roles[key] = Role(name, function, statements)
    return role


def function_for(group: str, handler: str = "app") -> str | None:
    """The deployed function running `handler` (app, render_tickets...) of `group`."""
    for name, spec in policies()["functions"].items():
        if spec["group"] == group and spec["handler"] == f"app.{handler}":
            return str(name)
    return None


@contextmanager
def acting_as(function: str | None) -> Iterator[None]:
    """Run the block as the deployed `function` (None: as the operator, unchecked)."""
    role = role_for(function) if function and enabled() else None
    token = _current.set(role)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def statements_replaced(role: str, statements: list[dict[str, Any]]) -> Iterator[None]:
    """Tests: run with `role`'s statements replaced (e.g. one removed)."""
    _overrides[role] = statements
    _generation[0] += 1
    try:
        yield
    finally:
        _overrides.pop(role, None)
        _generation[0] += 1


def wrap(function: str | None, handler: Callable[..., Any]) -> Callable[..., Any]:
    if function is None:
        return handler

    @functools.wraps(handler)
    def as_function(*args: Any, **kwargs: Any) -> Any:
        with acting_as(function):
            return handler(*args, **kwargs)

    return as_function


def denials() -> list[str]:
    with _denials_lock:
        return list(_denials)


def clear_denials() -> None:
    with _denials_lock:
        _denials.clear()


# --- calls → (action, resource) ---------------------------------------------------------------

_PREFIX = {"iot-data": "iot", "dynamodb": "dynamodb", "s3": "s3", "sqs": "sqs", "ses": "ses",
           "sesv2": "ses", "secretsmanager": "secretsmanager", "sts": "sts", "iot": "iot"}
_S3_ACTIONS = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket",
               "ListObjects": "ListBucket", "HeadBucket": "ListBucket",
               "DeleteObjects": "DeleteObject", "CreateMultipartUpload": "PutObject",
               "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
               "GetBucketNotificationConfiguration": "GetBucketNotification",
               "PutBucketNotificationConfiguration": "PutBucketNotification"}
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
             "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _table(region: str, name: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def requests_of(service: str, operation: str, params: dict[str, Any],
                region: str) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS authorizes for one call."""
    prefix = _PREFIX.get(service, service)
    if service == "dynamodb":
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _table(region, t))
                    for t in params.get("RequestItems", {})]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for item in params.get("TransactItems", []):
                for kind, op in item.items():
                    out.append((f"dynamodb:{_TRANSACT[kind]}", _table(region, op["TableName"])))
            return out
        if "TableName" in params:
            return [(f"dynamodb:{operation}",
                     _table(region, params["TableName"], params.get("IndexName")))]
        return [(f"dynamodb:{operation}", "*")]
    if service == "s3":
        action = "s3:" + _S3_ACTIONS.get(operation, operation)
        bucket = params.get("Bucket")
        if bucket is None:
            return [(action, "*")]
        if operation == "CopyObject":
            source = params["CopySource"]
            if isinstance(source, dict):
                source = f"{source['Bucket']}/{source['Key']}"
            return [("s3:GetObject", f"arn:aws:s3:::{str(source).lstrip('/')}"),
                    ("s3:PutObject", f"arn:aws:s3:::{bucket}/{params['Key']}")]
        if operation == "DeleteObjects":
            return [(action, f"arn:aws:s3:::{bucket}/{o['Key']}")
                    for o in params.get("Delete", {}).get("Objects", [])]
        if "Key" in params:
            return [(action, f"arn:aws:s3:::{bucket}/{params['Key']}")]
        return [(action, f"arn:aws:s3:::{bucket}")]
    if service == "sqs":
        action = "sqs:" + operation.removesuffix("Batch")
        name = params.get("QueueName") or str(params.get("QueueUrl", "")).rstrip("/").split(
            "/")[-1]
        if operation in ("ListQueues", "CreateQueue") and not params.get("QueueUrl"):
            return [(action, f"arn:aws:sqs:{region}:{ACCOUNT}:{name or '*'}")]
        return [(action, f"arn:aws:sqs:{region}:{ACCOUNT}:{name}")]
    if service in ("ses", "sesv2") and operation in ("SendRawEmail", "SendEmail"):
        source = str(params.get("Source") or params.get("FromEmailAddress") or "")
        address = source.rpartition("<")[2].rstrip(">").strip()
        return [(f"ses:{operation}", f"arn:aws:ses:{region}:{ACCOUNT}:identity/{address}|"
                 f"arn:aws:ses:{region}:{ACCOUNT}:identity/{address.rpartition('@')[2]}")]
    if service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        if not secret.startswith("arn:"):
            secret = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}"
        return [(f"secretsmanager:{operation}", secret)]
    if service == "iot-data" and "topic" in params:
        return [(f"iot:{operation}", f"arn:aws:iot:{region}:{ACCOUNT}:topic/{params['topic']}")]
    return [(f"{prefix}:{operation}", "*")]


def _refusal(role: Role, service: str, operation: str, action: str,
             resource: str) -> Exception:
    from botocore.exceptions import ClientError

    message = (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role.name}/{role.function} is not "
               f"authorized to perform: {action} on resource: {resource} because no "
               "identity-based policy allows the " f"{action} action")
    code, status = (("AccessDeniedException", 400)
                    if service in ("dynamodb", "secretsmanager", "iot-data")
                    else ("AccessDenied", 403))
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def check(service: str, operation: str, params: dict[str, Any], region: str) -> None:
    """Raise AWS's refusal when the current function's role does not allow the call."""
    role = _current.get()
    if role is None:
        return
    for action, resource in requests_of(service, operation, params, region):
        # SES authorizes a send on the identity in use: the address's or its domain's
        if any(role.decide(action, r) for r in resource.split("|")):
            continue
        error = _refusal(role, service, operation, action, resource.split("|")[0])
        with _denials_lock:
            _denials.append(f"{role.function}: {action} on {resource.split('|')[0]}")
        log.error("IAM refused %s (%s)", action, error)
        raise error


def install() -> None:
    """Check every botocore call of this process (idempotent)."""
    global _installed
    if _installed:
        return
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    @functools.wraps(original)
    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if _current.get() is not None:
            check(self.meta.service_model.service_name, operation_name, api_params,
                  self.meta.region_name or "us-east-1")
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    _installed = True
