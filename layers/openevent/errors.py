"""API errors in the JSON:API error format of the wire contract (API.md §1 "Errors").

Views raise these; the web layer turns them into responses. They subclass Chalice's
`ChaliceUnhandledError` so that Chalice hands them to our middleware instead of turning them
into its own 500 response.
"""

from __future__ import annotations

from typing import Any

from chalice.app import ChaliceUnhandledError

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Access Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Request Limit Exceeded",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def attribute_pointer(name: str) -> str:
    """`source.pointer` for a request attribute, in its dasherized wire name."""
    return f"/data/attributes/{name.replace('_', '-')}"


def relationship_pointer(name: str) -> str:
    return f"/data/relationships/{name.replace('_', '-')}"


class ApiError(ChaliceUnhandledError):
    """An error answered to the client. `pointer` names the offending field."""

    status = 500

    def __init__(
        self,
        detail: str,
        pointer: str | None = None,
        *,
        parameter: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.title = title or TITLES.get(self.status, "Error")
        self.headers = headers or {}
        # Some Open Event endpoints answer errors in a legacy plain shape
        # (e.g. login's {"error": "Invalid Credentials"}); `body` carries extra keys for those.
        self.body = body

    def to_document(self) -> dict[str, Any]:
        error: dict[str, Any] = {"status": self.status, "title": self.title, "detail": self.detail}
        if self.pointer is not None:
            error["source"] = {"pointer": self.pointer}
        elif self.parameter is not None:
            error["source"] = {"parameter": self.parameter}
        doc: dict[str, Any] = {"errors": [error], "jsonapi": {"version": "1.0"}}
        if self.body:
            doc.update(self.body)
        return doc


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class Unprocessable(ApiError):
    status = 422


class TooManyRequests(ApiError):
    status = 429


class ServiceUnavailable(ApiError):
    status = 503
