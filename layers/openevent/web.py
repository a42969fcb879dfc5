"""The thin HTTP layer every function group shares.

`create_app()` returns a Chalice app with CORS on every route and one middleware that turns
`ApiError`s, Chalice's own errors and unexpected exceptions into the JSON:API error format,
so no route can answer a 5xx for bad input or leak a stack trace. Views read the request
through the helpers below and return `jsonapi()` / `plain()` responses.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from chalice.app import Chalice, CORSConfig, Request, Response

from openevent import observability
from openevent.backend import RETRY_AFTER_SECONDS, is_backend_fault
from openevent.errors import TITLES, ApiError, NotFound, Unauthorized
from openevent.jsonapi.document import JSONAPI, MEDIA_TYPE
from openevent.jsonapi.request import read_json_object
from openevent.settings import get_settings

log = logging.getLogger("openevent")

# Routes accept both media types; each view enforces the one its contract requires (415).
CONTENT_TYPES = [MEDIA_TYPE, "application/json"]
CORS_HEADERS = ["Authorization", "Content-Type", "X-CSRF-Token", "Idempotency-Key"]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def jsonapi(doc: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
            ) -> Response:
    """A JSON:API response (`application/vnd.api+json`)."""
    return Response(body=dumps(doc), status_code=status,
                    headers={"Content-Type": MEDIA_TYPE, **(headers or {})})


def plain(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A plain `application/json` response (auth and action endpoints)."""
    return Response(body=dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def html_pending(page: str) -> Response:
    """202 + Retry-After with an HTML page: a document not rendered yet, asked for by a
    mailed link in a browser (`documents.pending`)."""
    from openevent.documents.pending import RETRY_AFTER_SECONDS

    return Response(body=page, status_code=202, headers={
        "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
        "Retry-After": str(RETRY_AFTER_SECONDS)})


def pdf(name: str, data: bytes, pending: bool = False) -> Response:
    """A PDF file in the answer (the web app saves downloads it fetched by XHR); `pending`:
    202 + Retry-After, the document is not rendered yet (`documents.pending`)."""
    from openevent.documents.pending import RETRY_AFTER_SECONDS

    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/pdf", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{name}"'}
    if pending:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return Response(body=data, status_code=202 if pending else 200, headers=headers)


def created(doc: dict[str, Any], location: str) -> Response:
    return jsonapi(doc, 201, {"Location": location})


def error_response(status: int, detail: str, *, pointer: str | None = None,
                   parameter: str | None = None, headers: dict[str, str] | None = None,
                   content_type: str = MEDIA_TYPE) -> Response:
    error: dict[str, Any] = {"status": status, "title": TITLES.get(status, "Error"),
                             "detail": detail}
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    elif parameter is not None:
        error["source"] = {"parameter": parameter}
    return Response(body=dumps({"errors": [error], "jsonapi": JSONAPI}), status_code=status,
                    headers={"Content-Type": content_type, **(headers or {})})


def _api_error_response(exc: ApiError) -> Response:
    return Response(body=dumps(exc.to_document()), status_code=exc.status,
                    headers={"Content-Type": MEDIA_TYPE, **exc.headers})


def _normalize_chalice_error(response: Response) -> Response:
    """Chalice answers 405/415/500 with {"Code","Message"}; rewrite those in our format."""
    body = response.body
    if isinstance(body, dict) and "Code" in body and response.status_code >= 400:
        status = response.status_code
        detail = "An internal error occurred" if status >= 500 else str(body.get("Message", ""))
        parameter = "Content-Type" if status == 415 else None
        return error_response(status, detail, parameter=parameter,
                              headers={k: str(v) for k, v in response.headers.items()
                                       if k.lower() != "content-type"})
    return response


def error_middleware(cors: CORSConfig) -> Callable[[Request, Callable[[Request], Response]],
                                                    Response]:
    """Render errors in the contract's format. Chalice adds CORS headers only to responses
    that views return, so errors get them here: a browser client must be able to read a 401
    or a 422 to show it."""
    cors_headers = cors.get_access_control_headers()

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        try:
            response = get_response(event)
        except ApiError as exc:
            response = _api_error_response(exc)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: log, answer
            if is_backend_fault(exc):  # the back end's fault, not the caller's: retry later
                log.warning("back end unavailable on %s: %s", getattr(event, "path", "?"), exc)
                response = error_response(
                    503, "The service's storage is temporarily unavailable; retry shortly.",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            else:
                log.exception("unhandled error on %s", getattr(event, "path", "?"))
                response = error_response(500, "An internal error occurred")
        else:
            response = _normalize_chalice_error(response)
        for key, value in cors_headers.items():
            response.headers.setdefault(key, value)
        return response

    return middleware


DOWNLOAD_PATHS = re.compile(r"^/v1/(orders/attendees/[^/]+|orders/invoices/[^/]+|tickets/[^/]+)$")


class _App(Chalice):
    """Chalice, except that the web app's document downloads (`DOWNLOAD_PATHS`) accept a PDF
    whatever their Accept header: the app fetches them by XHR with its JSON:API headers
    (`Accept: application/vnd.api+json`) and saves the bytes, and Chalice would refuse a
    binary answer to that Accept. (Behind API Gateway the REST API turns the answer into
    bytes for that Accept too: `gateway_binary_media_types`, docs/frontend-compat.md.)"""

    def __call__(self, event: Any, context: Any) -> Any:
        headers = event.get("headers") if isinstance(event, dict) else None
        path = ""
        if isinstance(headers, dict):
            path = str(event.get("path") or (event.get("requestContext") or {}).get("path") or "")
        if isinstance(headers, dict) and DOWNLOAD_PATHS.match(path):
            key = next((k for k in headers if k.lower() == "accept"), "accept")
            accept = str(headers.get(key) or "")
            if "application/pdf" not in accept:
                headers[key] = f"{accept}, application/pdf" if accept else "application/pdf"
        return super().__call__(event, context)


def read_check_middleware(app: Chalice) -> Callable[[Request, Callable[[Request], Response]],
                                                    Response]:
    """Install the caller's read rule (`openevent.rules.visibility`) for the request, so every
    relationship a view serializes shows only what the caller may read, and the request's
    memo of repeated reads (`openevent.request_memo`)."""
    from openevent.jsonapi.document import READ_CHECK

    def middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
        from openevent import request_memo
        from openevent.rules.visibility import reader

        token = READ_CHECK.set(reader(lambda: current_user(app)))
        try:
            with request_memo.scope():  # reads kept for this request only
                return get_response(event)
        finally:
            READ_CHECK.reset(token)

    return middleware


def gateway_binary_media_types(app: Chalice) -> list[str]:
    """The REST API's binary media types (`x-amazon-apigateway-binary-media-types`, set by
    infra/ from this): Chalice's (PDF among them) and the JSON:API type, because API Gateway
    turns a base64 answer into bytes only when the request's first Accept type is one of
    them, and the web app downloads PDFs with `Accept: application/vnd.api+json`. JSON:API
    request bodies then reach the function base64-encoded (Chalice decodes them); JSON:API
    answers are never base64 (Chalice encodes only its own binary types), so they pass as
    text. The local gateway applies the same rules (`openevent.local.gateway`)."""
    return [*app.api.binary_types, MEDIA_TYPE]


def create_app(name: str) -> Chalice:
    """A Chalice app for one function group, with CORS and the error middleware."""
    from openevent import data_key

    data_key.require_in_aws()
    app = _App(app_name=name)
    cors = CORSConfig(
        allow_origin=get_settings().cors_origin,
        allow_headers=CORS_HEADERS,
        expose_headers=["Location"],
        max_age=600,
    )
    observability.instrument(app)  # first: it sees the final status of every response
    app.api.cors = cors
    app.api.binary_types = list(app.api.binary_types) + ["application/pdf"]
    app.register_middleware(error_middleware(cors), "http")
    app.register_middleware(read_check_middleware(app), "http")
    app.log.setLevel(logging.INFO)
    return app


def route(app: Chalice, path: str, methods: list[str] | None = None) -> Callable[..., Any]:
    """`app.route` with our content types (views enforce the exact one they need)."""
    return app.route(path, methods=methods or ["GET"], content_types=CONTENT_TYPES)


# --- request helpers ------------------------------------------------------------------

def request_of(app: Chalice) -> Request:
    req = app.current_request
    if req is None:  # pragma: no cover - Chalice always sets it inside a view
        raise RuntimeError("no current request")
    return req


def query(app: Chalice) -> dict[str, str]:
    return dict(request_of(app).query_params or {})


def resource_document(app: Chalice, resource: Any) -> dict[str, Any]:
    """A single-resource document honouring the request's `include` and `fields[...]`."""
    from openevent.jsonapi.document import single_document
    from openevent.jsonapi.query import parse_params

    params = parse_params(query(app))
    return single_document(resource, params.include, params.fieldsets)


def content_type(app: Chalice) -> str | None:
    return request_of(app).headers.get("content-type")


def raw_body(app: Chalice) -> bytes:
    body = request_of(app).raw_body
    if isinstance(body, str):
        return body.encode("utf-8")
    return body or b""


def json_body(app: Chalice) -> dict[str, Any]:
    """A plain-JSON action body, validated as an object."""
    return read_json_object(raw_body(app), content_type(app))


def current_user(app: Chalice) -> Any:
    """The authenticated `User`, or None for anonymous requests; 401 for a bad token."""
    from openevent.models.users import User
    from openevent.security import bearer_token, decode_token

    req = request_of(app)
    cache = req.context.setdefault("openevent", {})
    if "user" in cache:
        return cache["user"]
    token = bearer_token(req.headers.get("authorization"))
    user = None
    if token is not None:
        claims = decode_token(token)
        from openevent import container_cache

        def load() -> Any:
            try:
                return User.get(claims.identity)
            except User.DoesNotExist:
                raise Unauthorized("User not found", parameter="Authorization") from None

        user = container_cache.get(("User", claims.identity), load)
        if not user.accepts_session(claims.password_version, claims.session):
            container_cache.invalidate(("User", claims.identity))  # changed elsewhere?
            user = container_cache.get(("User", claims.identity), load)
        if user.deleted_at is not None or not user.accepts_session(claims.password_version,
                                                                   claims.session):
            raise Unauthorized("Token is no longer valid", parameter="Authorization")
        cache["session"] = claims.session
    cache["user"] = user
    return user


def current_session(app: Chalice) -> str | None:
    """The session (login) id of the caller's access token, None when it has none."""
    current_user(app)
    return request_of(app).context.get("openevent", {}).get("session")  # type: ignore[no-any-return]


def parse_int_id(raw: str, what: str = "Object") -> int:
    """Path ids are numbers; anything else names no object (404, not 500)."""
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"{what} not found", parameter="id")
    return int(raw)
