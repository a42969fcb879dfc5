"""Retried requests never book twice: the `Idempotency-Key` header on the routes that take
seats or money (`create-order`, `POST /v1/orders`, `POST /v1/attendees`, `charge`).

The same key with the same body, from the same caller on the same route, answers the first
result for 24 hours; the same key with another body is 422; a retry while the first is still
running is 409. Powertools for AWS Lambda's idempotency utility does the bookkeeping in
DynamoDB (its persistence layer, table `idempotency`); a request that failed is not
remembered, so it can be retried. Without the header nothing changes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Response

from openevent.errors import Conflict, Unprocessable

HEADER = "Idempotency-Key"
TTL_SECONDS = 24 * 3600
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, like Stripe's keys


@functools.lru_cache(maxsize=1)
def _persistence() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from openevent import aws
    from openevent.models.system import IdempotencyRecord

    return DynamoDBPersistenceLayer(table_name=IdempotencyRecord.Meta.table_name,
                                    boto3_client=aws.client("dynamodb"))


def _config(lambda_context: Any) -> Any:
    """Per request: the in-progress lock expires with this invocation's remaining time."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="body",
                               expires_after_seconds=TTL_SECONDS,
                               raise_on_no_idempotency_key=True)
    if hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)
    return config


def _response_dict(response: Any) -> dict[str, Any]:
    if not isinstance(response, Response):
        response = Response(body=response)
    body = response.body
    if not isinstance(body, str):
        body = json.dumps(body)
    return {"status": response.status_code, "headers": dict(response.headers or {}),
            "body": body}


def idempotent(app: Chalice, caller: Callable[[], Any]) -> Callable[[Callable[..., Any]], Any]:
    """Make a view honour `Idempotency-Key`. `caller()` names who is asking (a user id), so
    one caller's key never answers another's request."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = app.current_request
            assert request is not None  # a view always runs inside a request
            key = request.headers.get(HEADER.lower()) if request.headers else None
            if key is None:
                return view(*args, **kwargs)
            if not _KEY_RE.match(key):
                raise Unprocessable(f"'{HEADER}' must be 1 to 255 printable characters",
                                    parameter=HEADER)
            from aws_lambda_powertools.utilities.idempotency import idempotent_function
            from aws_lambda_powertools.utilities.idempotency.exceptions import (
                IdempotencyAlreadyInProgressError,
                IdempotencyValidationError,
            )

            raw = request.raw_body or b""
            if isinstance(raw, str):
                raw = raw.encode()
            scope = f"{request.method} {request.context.get('resourcePath', '')}"
            data = {"key": f"{scope}#{caller()}#{key}",
                    "body": hashlib.sha256(raw + json.dumps(kwargs, sort_keys=True).encode()
                                           ).hexdigest()}

            @idempotent_function(data_keyword_argument="data", persistence_store=_persistence(),
                                 config=_config(app.lambda_context))
            def first_answer(data: dict[str, Any]) -> dict[str, Any]:
                return _response_dict(view(*args, **kwargs))

            try:
                answer = first_answer(data=data)
            except IdempotencyValidationError:
                raise Unprocessable(f"This '{HEADER}' was used with another request body",
                                    parameter=HEADER) from None
            except IdempotencyAlreadyInProgressError:
                raise Conflict(f"A request with this '{HEADER}' is still being processed",
                               parameter=HEADER) from None
            return Response(body=answer["body"], status_code=answer["status"],
                            headers=answer["headers"])

        return wrapper

    return decorate
