"""Logs, metrics and traces for every function group, through Powertools for AWS Lambda.

`instrument(app)` (called by `web.create_app`) adds one Chalice middleware for every event
type. Per invocation it sets a correlation id (the `X-Correlation-Id` header, else API
Gateway's request id, else the Lambda request id), writes one structured JSON log line with
route, status and duration, counts business metrics (orders placed, payments applied, ticket
renders, lab calls, errors) as CloudWatch EMF, and annotates the X-Ray trace.

- In Lambda: JSON logs to stdout (CloudWatch Logs), metrics flushed as EMF, X-Ray tracing
  (POWERTOOLS_* variables set by infra/stack.py).
- Locally: when `OPENEVENT_DATA_DIR` is set, the same JSON lines go to
  `<data dir>/logs/openevent.log`, rotated by size: at `OPENEVENT_LOG_MAX_BYTES` (10 MiB)
  it becomes `openevent.log.1` (the older ones shift up) and `OPENEVENT_LOG_BACKUPS` (5)
  are kept, so the logs never take more than (backups + 1) × max bytes. A line that cannot
  be written (a full disk) is dropped, with one line on stderr per outage, no traceback.
  Metrics are counted but not emitted; tracing is off.
The core's own `logging.getLogger("openevent...")` loggers share the JSON format.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Powertools loads on the first invocation, not with the core
    from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "OpenEvent"
CORRELATION_HEADER = "x-correlation-id"

# (method, Chalice route) → metric counted when the route answers 2xx.
ROUTE_METRICS: dict[tuple[str, str], str] = {
    ("POST", "/v1/orders"): "OrdersCreated",
    ("POST", "/v1/orders/create-order"): "OrdersCreated",
    ("POST", "/v1/orders/{order_ref}/charge"): "PaymentsApplied",
    ("POST", "/v1/orders/{order_ref}/verify"): "PaymentsApplied",
    ("POST", "/v1/webhooks/stripe"): "PaymentWebhooks",
    ("POST", "/v1/webhooks/paypal"): "PaymentWebhooks",
    ("POST", "/v1/lab/calls"): "LabCalls",
    ("POST", "/v1/lab/scripts/{script_id}/runs"): "LabRuns",
    ("POST", "/v1/lab/examples/{name}/runs"): "LabRuns",
}
# Chalice event type → metric counted per successful invocation.
EVENT_METRICS = {"SQSEvent": "TicketRenders", "CloudWatchEvent": "ExpirySweeps",
                 "LambdaFunctionEvent": "LabMessages"}


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or "openevent-api"


_logger_lock = threading.Lock()
def logger() -> Logger:
    """The process's Powertools logger (JSON); locally also to `<data dir>/logs/`.

    Built once under a lock: two threads' first invocations (the local runtime runs HTTP and
    SQS handlers at once) would otherwise build two Loggers for one service, and the second
    can see the service's logging.Logger before the first registered its handler."""
    with _logger_lock:
        return _build_logger()


@lru_cache(maxsize=1)
def _build_logger() -> Logger:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    handler: logging.Handler | None = None
    data_dir = os.environ.get("OPENEVENT_DATA_DIR")
    if not in_lambda():
        # leave the root logger's handlers alone locally (Powertools would filter them)
        os.environ.setdefault("POWERTOOLS_LOG_DEDUPLICATION_DISABLED", "true")
        if data_dir:
            path = Path(data_dir) / "logs"
            path.mkdir(parents=True, exist_ok=True)
            from openevent.log_files import rotating_log  # local only: not in Lambda's cold start

            handler = rotating_log(path / "openevent.log")
    level = os.environ.get("POWERTOOLS_LOG_LEVEL") or (
        "INFO" if in_lambda() or handler is not None else "WARNING")
    # Powertools names its logging.Logger after the service: "openevent-<group>" in Lambda,
    # "openevent-api" locally (never "openevent", the core's own loggers' parent)
    log = Logger(service=_service(), level=level, logger_handler=handler)
    if in_lambda():
        # the core's `openevent.*` loggers: same handler, same JSON on stdout
        copy_config_to_registered_loggers(source_logger=log, include={"openevent"})
    elif handler is not None:
        # locally: the core's loggers also write JSON lines to the file, and still propagate
        core = logging.getLogger("openevent")
        core.addHandler(handler)
        if core.level == logging.NOTSET or core.level > logging.INFO:
            core.setLevel(logging.INFO)
    return log


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE),
                   service=_service())


@lru_cache(maxsize=1)
def tracer() -> Tracer:
    # Powertools disables tracing outside Lambda (and with POWERTOOLS_TRACE_DISABLED).
    from aws_lambda_powertools import Tracer

    return Tracer(service=_service())


def count(name: str, value: float = 1) -> None:
    """Add to a business metric (flushed at the end of the invocation in Lambda)."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def _flush() -> None:
    m = metrics()
    if in_lambda():
        m.flush_metrics()  # EMF on stdout; CloudWatch turns it into metrics
    else:
        m.clear_metrics()


def _correlation_id(event: Any) -> str:
    headers = getattr(event, "headers", None) or {}
    given = headers.get(CORRELATION_HEADER) if hasattr(headers, "get") else None
    if given and re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", given):
        return str(given)
    context = getattr(event, "context", None)
    if isinstance(context, dict) and context.get("requestId"):
        return str(context["requestId"])
    lambda_context = getattr(event, "lambda_context", None) or context
    return str(getattr(lambda_context, "aws_request_id", "") or "local")


def _http(event: Any, get_response: Callable[[Any], Any]) -> Any:
    method = getattr(event, "method", "")
    route = (getattr(event, "context", None) or {}).get("resourcePath", "")
    started = time.perf_counter()
    status = 500
    try:
        response = get_response(event)
        status = int(getattr(response, "status_code", 200))
        return response
    finally:
        ms = round((time.perf_counter() - started) * 1000, 1)
        if status >= 500:
            count("Errors")
        elif status < 300 and (method, route) in ROUTE_METRICS:
            count(ROUTE_METRICS[(method, route)])
        logger().info("request", extra={"method": method, "route": route, "status": status,
                                        "duration_ms": ms})
        tracer().put_annotation("route", route[:200] or "?")
        tracer().put_annotation("status", str(status))


def _other(event: Any, get_response: Callable[[Any], Any]) -> Any:
    kind = type(event).__name__
    started = time.perf_counter()
    try:
        result = get_response(event)
    except Exception as exc:
        from openevent.backend import is_backend_fault

        count("Errors")
        if is_backend_fault(exc):  # an outage of the back end: retried, one line each
            logger().warning("invocation failed: back end unavailable: %s", exc,
                             extra={"event_type": kind})
        else:
            logger().exception("invocation failed", extra={"event_type": kind})
        raise
    if kind in EVENT_METRICS:
        count(EVENT_METRICS[kind])
    logger().info("invocation", extra={"event_type": kind, "duration_ms": round(
        (time.perf_counter() - started) * 1000, 1)})
    return result


def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware ('all'): correlation id, one log line, metrics, trace annotations."""
    log = logger()
    log.set_correlation_id(_correlation_id(event))
    try:
        if hasattr(event, "method") and hasattr(event, "path"):
            return _http(event, get_response)
        return _other(event, get_response)
    finally:
        _flush()
        log.set_correlation_id(None)


def instrument(app: Any) -> None:
    """Register the middleware on a Chalice app (before any other: it sees final statuses)."""
    if in_lambda():
        tracer()  # patches botocore for X-Ray before the first client is built
    app.register_middleware(middleware, "all")
