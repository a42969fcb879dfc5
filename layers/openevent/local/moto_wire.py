"""The AWS wire as the embedded AWS sees it: which calls change state, and WSGI calls
made without a socket.

Guarantees: `classify` names (service, region) for exactly the state-changing DynamoDB and
S3 calls (reads, presigned GETs and other services give None); `call` runs a WSGI app on an
environ and returns its whole answer, closing the app's iterable; `make_environ` builds a
complete environ around a body; `create_params` turns a DescribeTable answer back into the
CreateTable parameters that rebuild the table.
"""

from __future__ import annotations

import io
import sys
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

JOURNALED = ("dynamodb", "s3")
_DYNAMODB_READS = ("Get", "BatchGet", "Query", "Scan", "TransactGet", "Describe", "List")


def classify(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, region) of a state-changing call to a journaled service, else None."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:  # a presigned URL carries its scope in the query
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        scope = (query.get("X-Amz-Credential") or [""])[0]
    parts = scope.split("/")
    if len(parts) != 5:
        return None
    region, service = parts[2], parts[3].lower()
    if service not in JOURNALED:
        return None
    if service == "dynamodb":
        action = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        if not action or action.startswith(_DYNAMODB_READS):
            return None
    elif environ.get("REQUEST_METHOD", "GET").upper() in {"GET", "HEAD", "OPTIONS"}:
        return None
    return service, region


def read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


def make_environ(base: dict[str, str], body: bytes) -> dict[str, Any]:
    environ: dict[str, Any] = dict(base)
    environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                    "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
                    "wsgi.url_scheme": "http", "wsgi.multithread": True,
                    "wsgi.multiprocess": False, "wsgi.run_once": False})
    environ.setdefault("SERVER_NAME", "127.0.0.1")
    environ.setdefault("SERVER_PORT", "80")
    environ.setdefault("REMOTE_ADDR", "127.0.0.1")
    environ.setdefault("SCRIPT_NAME", "")
    return environ


def call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app on an environ; (status line, headers, body)."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    result: Iterable[bytes] = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], body


def fake_auth(region: str, service: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0")


def create_params(desc: dict[str, Any]) -> dict[str, Any]:
    """CreateTable parameters that rebuild a table described by DescribeTable."""
    params: dict[str, Any] = {k: desc[k] for k in ("TableName", "KeySchema",
                                                   "AttributeDefinitions")}
    on_demand = desc.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"

    def throughput(source: dict[str, Any]) -> dict[str, int]:
        given = source.get("ProvisionedThroughput") or {}
        return {"ReadCapacityUnits": int(given.get("ReadCapacityUnits") or 1),
                "WriteCapacityUnits": int(given.get("WriteCapacityUnits") or 1)}

    if on_demand:
        params["BillingMode"] = "PAY_PER_REQUEST"
    else:
        params["ProvisionedThroughput"] = throughput(desc)
    if desc.get("GlobalSecondaryIndexes"):
        params["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
             "Projection": g["Projection"], **({} if on_demand else
                                               {"ProvisionedThroughput": throughput(g)})}
            for g in desc["GlobalSecondaryIndexes"]]
    if desc.get("LocalSecondaryIndexes"):
        params["LocalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"],
             "Projection": g["Projection"]} for g in desc["LocalSecondaryIndexes"]]
    stream = desc.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        params["StreamSpecification"] = stream
    return params
