"""Faults of the AWS back end (DynamoDB, S3, SQS...) are 503s, never the caller's fault.

Guarantees (once `install()` ran; `openevent.models.base` runs it):
- An AWS call (botocore: PynamoDB's DynamoDB calls and every boto3 client) that fails
  because of the service — it answered 5xx after botocore's own retries, or could not be
  reached at all (refused, reset, timed out) — raises `BackendUnavailable`, which is *not*
  a PynamoDB or botocore exception. So no `except PutError` / `except TransactWriteError` /
  `except ClientError` of a service ("the condition failed: the email is taken") can
  mistake an outage for a business answer. It is a `ServiceUnavailable` API error: the
  route answers 503 with `Retry-After`.
  Throttling codes (4xx) stay what they were: the transaction helper retries those itself.
- `is_backend_fault(exc)` says the same of any exception (a boto3 client's `ClientError`,
  a connection error, throttling); the web layer answers every such fault that reaches it
  with 503 and `Retry-After`.
- Client-side errors (a failed condition, a validation error, a missing item) are left
  exactly as they were.
"""

from __future__ import annotations

from typing import Any

from openevent.errors import ServiceUnavailable

RETRY_AFTER_SECONDS = 5
# Error codes that are the service's state, not the request's (AWS's retryable codes).
SERVER_CODES = frozenset({
    "ServiceUnavailable", "ServiceUnavailableException", "InternalServerError",
    "InternalFailure", "InternalError", "ThrottlingException", "Throttling",
    "ProvisionedThroughputExceededException", "RequestLimitExceeded", "SlowDown",
    "TransactionInProgressException", "RequestTimeout", "RequestTimeoutException",
})


class BackendUnavailable(ServiceUnavailable):
    """The back end could not serve the call (see the module docstring); `str()` says which
    call and why, the answer only that the storage is unavailable."""

    def __init__(self, operation: str, cause: BaseException) -> None:
        super().__init__("The service's storage is temporarily unavailable; retry shortly.",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        self.operation = operation
        self.cause = cause

    def __str__(self) -> str:
        return f"{self.operation}: {type(self.cause).__name__}: {self.cause}"


def is_backend_fault(exc: BaseException, *, throttling: bool = True) -> bool:
    """Whether `exc` is a fault of the service or of the way to it (not of the request);
    `throttling`: count the throttling codes too."""
    from botocore import exceptions as bx

    if isinstance(exc, BackendUnavailable):
        return True
    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        return True  # refused, reset, DNS, connect/read timeouts
    if isinstance(exc, bx.ClientError):
        response: dict[str, Any] = exc.response or {}
        status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        code = str((response.get("Error") or {}).get("Code") or "")
        return status >= 500 or (throttling and code in SERVER_CODES)
    cause = getattr(exc, "cause", None)  # PynamoDB's wrappers keep botocore's error
    if cause is not None and cause is not exc and isinstance(cause, BaseException):
        return is_backend_fault(cause, throttling=throttling)
    return False


def install() -> None:
    """Make botocore raise `BackendUnavailable` for back-end faults (idempotent)."""
    from botocore.client import BaseClient

    if getattr(BaseClient, "_openevent_faults", False):
        return
    original = BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        try:
            return original(self, operation_name, api_params)
        except Exception as exc:
            if is_backend_fault(exc, throttling=False):
                raise BackendUnavailable(operation_name, exc) from exc
            raise

    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    BaseClient._openevent_faults = True  # type: ignore[attr-defined]
