"""Helpers for running built Lambda artifacts the way Lambda does, against a moto server.

An artifact runs in a fresh interpreter of the Lambda runtime's version (CPython 3.12, pyenv's:
`package.lambda_python()`) started with `-S -I` (no site-packages, no user site,
no PYTHON* variables), whose path holds only the unpacked function zip (`/var/task`), its
layers merged (`/opt/python`) and a boto3 standing in for the runtime's own — so an import of
something the artifact does not ship fails exactly as it would in AWS.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra import package

ROOT = package.ROOT
RESULT = "ARTIFACT-RESULT "

# Modules every zip function must import, and the ones only some may (need their layer).
NEEDS_EXTRA = ("openevent.local", "openevent.sandboxes", "openevent.openapi",
               "openevent.documents.render", "openevent.documents.mail",
               "openevent.documents.pipeline", "openevent.payments.stripe_gateway",
               "openevent.payments.paypal_gateway", "openevent.lab.mqtt5",
               "openevent.lab.localbroker")
ORDERS_EXTRA = ("openevent.payments.stripe_gateway", "openevent.payments.paypal_gateway")
RENDERER_EXTRA = ("openevent.documents.render", "openevent.documents.mail",
                  "openevent.documents.pipeline")


@contextmanager
def _lock() -> Iterator[None]:
    package.OUT.mkdir(parents=True, exist_ok=True)
    with open(package.OUT / ".lock", "w") as fh:  # xdist workers build once, in turn
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_once() -> tuple[package.Manifest, Path]:
    """Build (cached) artifacts and a stand-in for the runtime's boto3; both under build/."""
    with _lock():
        manifest = package.build()
        boto = package._dependency_layer("runtime-boto3", ["boto3"], set(), force=False,
                                         platform=None)
        if not any((boto / "python" / "botocore").glob("__pycache__/*.pyc")):
            package._compile(boto / "python")  # the runtime's own boto3 comes compiled
    return manifest, boto / "python"


def core_modules() -> list[str]:
    base = ROOT / "layers"
    mods = []
    for path in sorted((base / "openevent").rglob("*.py")):
        rel = path.relative_to(base).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not ".".join(parts).startswith("openevent.lab.examples."):  # scripts, as data
            mods.append(".".join(parts))
    return mods


def importable(extra: tuple[str, ...] = ()) -> list[str]:
    return [m for m in core_modules()
            if not m.startswith(NEEDS_EXTRA) or m.startswith(extra)]


def unpack(manifest: package.Manifest, group_zip: str, layers: list[str], dest: Path) -> Path:
    """Lambda's layout: the code zip in task/, every layer extracted over opt/ in order."""
    shutil.rmtree(dest, ignore_errors=True)
    with zipfile.ZipFile(ROOT / group_zip) as z:
        z.extractall(dest / "task")
    for layer in layers:
        shutil.copytree(ROOT / manifest.layers[layer], dest / "opt", dirs_exist_ok=True)
    return dest


DRIVER = r"""
import importlib, json, os, sys, time
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["path"]
t0 = time.perf_counter()
module, _, attr = spec["handler"].rpartition(".")
handler = getattr(importlib.import_module(module), attr)
init = time.perf_counter() - t0

class Context:
    function_name = spec["name"]; memory_limit_in_mb = 512; aws_request_id = "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + spec["name"]
    def get_remaining_time_in_millis(self): return 29000

results = [handler(event, Context()) for event in spec["events"]]
imported, missing = [], {}
for name in spec["importable"]:
    try:
        importlib.import_module(name); imported.append(name)
    except Exception as exc:
        missing[name] = repr(exc)
absent = {}
for name in spec["absent"]:
    try:
        importlib.import_module(name)
    except ImportError:
        absent[name] = True
    else:
        absent[name] = False
probe = {}
if spec.get("probe"):
    exec(spec["probe"], {"probe": probe})
roots = tuple(spec["path"]) + (os.path.dirname(os.__file__),)
strays = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())
                 if getattr(m, "__file__", None) and not m.__file__.startswith(roots)})
print("__RESULT__" + json.dumps({"init_s": init, "results": results, "missing": missing,
      "absent": absent, "strays": strays, "probe": probe,
      "python": "%d.%d" % sys.version_info[:2]}, default=str))
""".replace("__RESULT__", RESULT)


def run(name: str, handler: str, path: list[Path], env: dict[str, str],
        events: list[dict[str, Any]], importable_mods: list[str], absent: list[str],
        probe: str = "") -> dict[str, Any]:
    spec = {"name": name, "handler": handler, "path": [str(p) for p in path],
            "events": events, "importable": importable_mods, "absent": absent,
            "probe": probe}
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - our interpreter, our driver
        [str(package.lambda_python()), "-S", "-I", "-c", DRIVER, json.dumps(spec)],
        capture_output=True, text=True, env=env, timeout=300, cwd=path[0])
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT)]
    assert proc.returncode == 0 and lines, (
        f"{name} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(lines[-1][len(RESULT):])
    assert out["python"] == package.PYTHON, f"{name} ran on Python {out['python']}"
    out["wall_s"] = time.perf_counter() - started
    out["logs"] = [ln for ln in proc.stdout.splitlines() if not ln.startswith(RESULT)]
    return out


# --- a moto server standing in for AWS --------------------------------------------------

def lambda_env(endpoint: str, secret_arn: str, name: str) -> dict[str, str]:
    """What infra/stack.py sets on every function, pointed at moto."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "OPENEVENT_SECRETS_ARN": secret_arn,
        "OPENEVENT_TABLE_PREFIX": "openevent-",
        "OPENEVENT_DOCUMENTS_BUCKET": "openevent-documents",
        "OPENEVENT_MEDIA_BUCKET": "openevent-media",
        "OPENEVENT_DOCUMENTS_QUEUE": "openevent-document-events",
        "OPENEVENT_MAIL_SENDER": "tickets@example.com",
        "BOTO_DISABLE_CRT": "true",
        "POWERTOOLS_SERVICE_NAME": "openevent",
        "POWERTOOLS_METRICS_NAMESPACE": "OpenEvent",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    }


PROVISION = r"""
import json, sys
import boto3
from cryptography.fernet import Fernet
sm = boto3.client("secretsmanager", region_name="us-east-1")
arn = sm.create_secret(Name="openevent-app", SecretString=json.dumps(
    {"jwt_secret": "artifact-test-jwt-secret-0123456789abcdef",
     "data_key": Fernet.generate_key().decode()}))["ARN"]
import os
os.environ["OPENEVENT_SECRETS_ARN"] = arn
from openevent.local.provision import provision
provision()
from openevent.accounts import users as accounts
user = accounts.create_user({"email": "artifact@example.com", "password": "correct-horse-1",
                             "is_verified": True, "first_name": "A", "last_name": "T"},
                            send_verification=False)
print(json.dumps({"arn": arn, "user_id": user.id,
                  "token": accounts.tokens_for(user, with_refresh=False)["access_token"]}))
"""


@contextmanager
def moto_server() -> Iterator[dict[str, Any]]:
    """A moto server on a free 127.0.0.1 port, provisioned like a deployment, with a user."""
    from openevent.lab.localbroker import free_port

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, fixed argv
        [sys.executable, "-m", "openevent.local.moto_server", "-H", "127.0.0.1", "-p",
         str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        env = {**lambda_env(endpoint, "", "provision"), "OPENEVENT_SECRETS_ARN": ""}
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", PROVISION], capture_output=True, text=True, env={
                **env, "PYTHONPATH": str(ROOT / "layers")}, check=False, timeout=120)
        assert out.returncode == 0, out.stderr[-3000:]
        info = json.loads(out.stdout.strip().splitlines()[-1])
        yield {"endpoint": endpoint, **info}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def api_event(method: str, resource: str, path: str, *, body: Any = None,
              token: str | None = None, params: dict[str, str] | None = None,
              ) -> dict[str, Any]:
    """An API Gateway REST proxy event as the API declared from Chalice's routes sends it."""
    headers = {"host": "api.example.com", "content-type": "application/vnd.api+json",
               "accept": "application/vnd.api+json", "x-forwarded-for": "198.51.100.7"}
    if token:
        headers["authorization"] = f"JWT {token}"
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": params, "stageVariables": None, "isBase64Encoded": False,
        "body": None if body is None else json.dumps(body),
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": path,
                           "stage": "api", "requestId": "req-1",
                           "identity": {"sourceIp": "198.51.100.7"}},
    }
