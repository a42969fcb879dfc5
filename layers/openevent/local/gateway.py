"""Serve every function group's Chalice app behind one origin, as API Gateway would.

Each group's `functions/<group>/app.py` is loaded into a small pool of instances; a request
checks one out, so concurrent requests run in parallel like concurrent Lambda containers
(a Chalice app object holds the current request and is not shared between threads).
The route table (`openevent.routing`) picks the group.

Connections are bounded (`GatewayServer`): a new connection must deliver its request's
headers within `OPENEVENT_HEADER_TIMEOUT` seconds (10) and its body within
`OPENEVENT_BODY_TIMEOUT` (30); a keep-alive connection may wait `OPENEVENT_IDLE_TIMEOUT`
seconds (15) for its next request; a slow client is cut off at those deadlines however it
trickles its bytes. At most `OPENEVENT_MAX_CONNECTIONS` (256) are open at once: one more is
answered 503 with Retry-After and closed, so idle or hostile clients cannot hold a thread each
for as long as they like.

`Gateway.serve(..., tls=context)` serves the same over TLS (the local runtime's https
origin, `openevent.local.tls`): a connection's handshake runs in its own thread under the
header deadline, the gateway is told the scheme (`X-Forwarded-Proto`, set by the server,
never taken from the client), and plain HTTP on that port is redirected to https.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import os
import queue
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ForbiddenError, LocalGateway

from openevent.errors import (
    TITLES,
    ApiError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from openevent.local import iam, static
from openevent.local.tls import answer_plain_http
from openevent.routing import GROUPS, group_for
from openevent.web import dumps

log = logging.getLogger("openevent.gateway")
ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS_DIR = ROOT / "functions"
_load_lock = threading.Lock()
_load_count = 0


def load_app(group: str) -> Chalice:
    """Import `functions/<group>/app.py` as a fresh module and return its `app`."""
    global _load_count
    path = FUNCTIONS_DIR / group / "app.py"
    with _load_lock:
        _load_count += 1
        name = f"openevent_fn_{group}_{_load_count}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    app: Chalice = module.app
    # Event handlers (SQS, schedules, IoT rules) run as their deployed function's role.
    for handler_name, handler in list(app.handler_map.items()):
        function = iam.function_for(group, handler_name)
        if function is not None and function != iam.function_for(group):
            app.handler_map[handler_name] = iam.wrap(function, handler)
    return app


@dataclass
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode()) if self.body else None


def _not_found(path: str) -> GatewayResponse:
    error = NotFound(f"No route for {path.split('?')[0]}", parameter="path")
    return GatewayResponse(404, {"Content-Type": "application/vnd.api+json",
                                 "Access-Control-Allow-Origin": "*"},
                           dumps(error.to_document()).encode())


def _media_type(value: str | None) -> str:
    return (value or "").split(",")[0].split(";")[0].strip().lower()


def matches_binary(media_type: str, binary_types: list[str]) -> bool:
    """API Gateway's match of a media type against the binary media types (`*` wildcards)."""
    if not media_type:
        return False
    kind, _, sub = media_type.partition("/")
    for pattern in binary_types:
        p_kind, _, p_sub = pattern.lower().partition("/")
        if p_kind in ("*", kind) and p_sub in ("*", sub):
            return True
    return False


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


@dataclass
class _Pool:
    group: str
    size: int
    idle: queue.Queue[tuple[Chalice, LocalGateway]] = field(default_factory=queue.Queue)
    binary_types: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from openevent.web import gateway_binary_media_types

        for _ in range(self.size):
            app = load_app(self.group)
            gw = LocalGateway(app, Config(chalice_stage="local"))
            self.binary_types = gateway_binary_media_types(app)
            # As the REST API: a request body whose Content-Type is a binary media type
            # reaches the function base64-encoded (Chalice's local check is case-sensitive
            # on the header name and ignores parameters).
            def is_binary(headers: Any, types: Any = self.binary_types) -> bool:
                return matches_binary(_media_type(_header(headers, "content-type")), types)

            gw.event_converter._is_binary = is_binary  # type: ignore[method-assign]
            self.idle.put((app, gw))


class Gateway:
    """All groups behind one `request()` method; `serve()` puts it on a TCP port."""

    def __init__(self, pool_size: int = 4, groups: tuple[str, ...] = GROUPS,
                 mounts: list[static.StaticMount] | None = None) -> None:
        iam.install()
        self.functions = {g: iam.function_for(g) for g in groups}  # "<group>-api"
        self.pools = {g: _Pool(g, pool_size) for g in groups}
        self.mounts = static.default_mounts() if mounts is None else mounts
        #: ``websocket(handler) -> bool``: serves an upgrade request and returns True, or
        #: returns False for any other request (set by the lab; None without it).
        self.websocket: Any = None

    def apps(self, group: str) -> Chalice:
        app, gw = self.pools[group].idle.get()
        self.pools[group].idle.put((app, gw))
        return app

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> GatewayResponse:
        headers = dict(headers or {})
        group = group_for(path)
        if group is None and method.upper() in {"GET", "HEAD"}:
            found = static.find(self.mounts, path)
            if found is not None:
                body = found.read_bytes()
                if found.name == "index.html":
                    host = _header(headers, "host")
                    scheme = "https" if _header(headers, "x-forwarded-proto") == "https" \
                        else "http"
                    body = static.with_configured_lab_stream(static.with_preloaded_stripe_js(
                        static.same_origin_page(body, host, scheme)))
                return GatewayResponse(200, {"Content-Type": static.content_type(found),
                                             "Cache-Control": "no-cache"}, body)
            building = static.building_page(self.mounts, path)
            if building is not None:
                return GatewayResponse(503, {"Content-Type": "text/html; charset=utf-8",
                                             "Retry-After": "5", "Cache-Control": "no-store"},
                                       building)
        if group is None or group not in self.pools:
            return _not_found(path)
        pool = self.pools[group]
        accept = _media_type(_header(headers, "accept"))  # API Gateway reads the first one
        app, gw = pool.idle.get()
        try:
            with iam.acting_as(self.functions[group]):
                raw = gw.handle_request(method=method.upper(), path=path, headers=headers,
                                        body=body or b"")
        except ForbiddenError:
            return _not_found(path)
        finally:
            pool.idle.put((app, gw))
        out_headers = {k: str(v) for k, v in (raw.get("headers") or {}).items()}
        for key, values in (raw.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(str(v) for v in values)
        data = raw.get("body")
        if data is None:
            payload = b""
        elif raw.get("isBase64Encoded") and matches_binary(accept, pool.binary_types):
            payload = base64.b64decode(data)  # else: the base64 text, as API Gateway does
        else:
            payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        return GatewayResponse(int(raw["statusCode"]), out_headers, payload)

    def serve(self, host: str, port: int, tls: ssl.SSLContext | None = None
              ) -> GatewayServer:
        """`host:port` over HTTP, or over TLS with `tls` (`openevent.local.tls`)."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server: GatewayServer

            def setup(self) -> None:
                super().setup()
                # An answer that is two writes (headers, then body; a HEAD's or a WebSocket's)
                # would wait under Nagle's algorithm for the ACK of the first, which a
                # keep-alive client delays by up to 40 ms. Send each write at once, as API
                # Gateway's front end does.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            timeout = 60  # any single send or receive (a client that stops reading)
            served = 0

            def handle_one_request(self) -> None:
                # Wait for the next request's first byte under the idle (or, on a fresh
                # connection, the header) deadline; then the headers get their own.
                limits = self.server.limits
                self.server.expect(self.connection, limits.idle if self.served
                                   else limits.header)
                if self.server.tls is not None and not self.served:
                    try:
                        if answer_plain_http(self.connection):  # http:// on this port
                            self.close_connection = True
                            return
                    except OSError:
                        self.close_connection = True
                        return
                try:
                    first = self.rfile.peek(1)  # type: ignore[attr-defined]
                except OSError:
                    first = b""
                if not first:  # closed by the client, or cut off at its deadline
                    self.close_connection = True
                    return
                self.server.expect(self.connection, limits.header)
                self.served += 1
                super().handle_one_request()

            def _handle(self) -> None:
                if not self.server.enter(self.connection):  # stopping: refuse, nothing was done
                    self.close_connection = True
                    self._send(_error_response(ServiceUnavailable(
                        "The server is stopping; retry shortly.")))
                    return
                try:
                    self._serve()
                finally:
                    self.server.leave(self.connection)
                    if self.server.closing:
                        self.close_connection = True

            def _serve(self) -> None:
                if gateway.websocket is not None:
                    # a WebSocket lives as long as its viewer (its pings keep it honest): no
                    # header or idle deadline of the HTTP side applies to it
                    self.server.working(self.connection)
                    if gateway.websocket(self):
                        return  # a WebSocket upgrade (live lab streams), served to its end
                length = int(self.headers.get("Content-Length") or 0)
                if length > 10 * 1024 * 1024:  # API Gateway's own payload limit
                    self.close_connection = True
                    self._send(_error_response(PayloadTooLarge(
                        "Request body is larger than 10 MiB", parameter="Content-Length")))
                    return
                self.server.expect(self.connection, self.server.limits.body)
                body = self.rfile.read(length) if length else b""
                self.server.working(self.connection)  # no deadline while it is answered
                # the scheme the client used, as CloudFront says it (never the client's word)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() != "x-forwarded-proto"}
                headers["X-Forwarded-Proto"] = self.server.scheme
                try:
                    resp = gateway.request(self.command, self.path, headers, body)
                except Exception:  # noqa: BLE001 - keep serving; the error is logged
                    log.exception("gateway failure on %s %s", self.command, self.path)
                    resp = GatewayResponse(502, {"Content-Type": "application/json"},
                                           b'{"message": "Bad Gateway"}')
                self._send(resp)

            def _send(self, resp: GatewayResponse) -> None:
                self.send_response(resp.status)
                for key, value in resp.headers.items():
                    if key.lower() not in {"content-length", "connection"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(resp.body)))
                if self.close_connection or self.server.closing:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                # the head and the body leave in one write (one segment for small answers)
                buffered = getattr(self, "_headers_buffer", None)
                if buffered is not None and self.command != "HEAD":
                    buffered.extend((b"\r\n", resp.body))
                    self.flush_headers()
                    return
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.body)

            def _not_allowed(self) -> None:
                self.close_connection = True
                self._send(_error_response(MethodNotAllowed(
                    f"Method {self.command} is not supported", parameter="method"),
                    {"Allow": ", ".join(ALLOWED_METHODS)}))

            def __getattr__(self, name: str) -> Any:
                # http.server answers methods it has no do_X for with a 501 HTML page
                if name.startswith("do_"):
                    return self._not_allowed
                raise AttributeError(name)

            def send_error(self, code: int, message: str | None = None,
                           explain: str | None = None) -> None:
                # malformed request lines, oversized headers…: a JSON:API error, not HTML
                error = ApiError(message or explain or "Bad request")
                error.status = code
                error.title = TITLES.get(code, "Error")
                self.close_connection = True
                self._send(_error_response(error))

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.info("%s %s", self.address_string(), format % args)

        return GatewayServer((host, port), Handler, limits=Limits.from_env(), tls=tls)


ALLOWED_METHODS = ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS")


def _error_response(error: ApiError, headers: dict[str, str] | None = None
                    ) -> GatewayResponse:
    return GatewayResponse(error.status, {"Content-Type": "application/vnd.api+json",
                                          "Access-Control-Allow-Origin": "*", **(headers or {})},
                           dumps(error.to_document()).encode())


@dataclass(frozen=True)
class Limits:
    """Connection limits (seconds, count); see the module docstring."""

    header: float = 10.0
    body: float = 30.0
    idle: float = 15.0
    max_connections: int = 256

    @classmethod
    def from_env(cls) -> Limits:
        env = os.environ
        return cls(header=float(env.get("OPENEVENT_HEADER_TIMEOUT", cls.header)),
                   body=float(env.get("OPENEVENT_BODY_TIMEOUT", cls.body)),
                   idle=float(env.get("OPENEVENT_IDLE_TIMEOUT", cls.idle)),
                   max_connections=int(env.get("OPENEVENT_MAX_CONNECTIONS",
                                               cls.max_connections)))


_TOO_MANY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/vnd.api+json\r\n"
             b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s")


class GatewayServer(ThreadingHTTPServer):
    """A threading HTTP server with bounded connections (`Limits`: deadlines enforced by a
    reaper thread that shuts a late connection down, and a cap answered with 503) that
    stops cleanly: `drain()` stops accepting, closes idle keep-alive connections, lets
    requests in progress finish (their answer says `Connection: close`) and refuses new
    ones on open connections with a 503."""

    daemon_threads = True
    request_queue_size = 512  # the default (5) resets bursts of simultaneous connects

    def __init__(self, *args: Any, limits: Limits | None = None,
                 tls: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        self.closing = False
        #: TLS: each accepted socket is wrapped here and shakes hands in its own thread, on
        #: its first read, under the header deadline (a slow handshake holds up no other).
        self.tls = tls
        self.scheme = "https" if tls is not None else "http"
        self.limits = limits or Limits()
        self._busy = 0
        self._state = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._busy_sockets: set[socket.socket] = set()
        #: Called first by drain(): long-lived connections (lab streams) close themselves.
        self.before_drain: list[Any] = []
        self._deadlines: dict[socket.socket, float] = {}
        self._reaping = True
        self._tls_refusals = threading.BoundedSemaphore(16)  # refusals shaking hands at once
        super().__init__(*args, **kwargs)
        threading.Thread(target=self._reap, name="gateway-reaper", daemon=True).start()

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = self.socket.accept()
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            log.debug("connection from %s ended: %s", client_address, sys.exc_info()[1])
            return  # a client that left or would not shake hands: not a server fault
        super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._state:
            if self.closing:
                self.shutdown_request(request)
                return
            if len(self._connections) >= self.limits.max_connections:
                refuse = True
            else:
                refuse = False
                self._connections.add(request)
                self._deadlines[request] = time.monotonic() + self.limits.header
        if refuse:
            self._refuse(request)
            return
        super().process_request(request, client_address)

    def _refuse(self, request: socket.socket) -> None:
        if self.tls is not None:  # the 503 needs a handshake first: not in the accept loop
            if not self._tls_refusals.acquire(blocking=False):
                self.shutdown_request(request)  # a storm of them: closed unanswered
                return
            threading.Thread(target=self._refuse_tls, args=(request,), daemon=True).start()
            return
        self._answer_503(request)

    def _refuse_tls(self, request: socket.socket) -> None:
        try:
            self._answer_503(request)
        finally:
            self._tls_refusals.release()

    def _answer_503(self, request: socket.socket) -> None:
        error = ServiceUnavailable("Too many open connections; retry shortly.")
        body = dumps(error.to_document()).encode()
        try:
            request.settimeout(1.0)
            request.sendall(_TOO_MANY % (len(body), body))
        except OSError:
            pass
        self.shutdown_request(request)

    def expect(self, conn: socket.socket, seconds: float) -> None:
        """`conn` must make progress within `seconds` (until `working`)."""
        with self._state:
            if conn in self._connections:
                self._deadlines[conn] = time.monotonic() + seconds

    def working(self, conn: socket.socket) -> None:
        with self._state:
            self._deadlines.pop(conn, None)

    def server_close(self) -> None:
        self._reaping = False
        super().server_close()

    def _reap(self) -> None:
        while self._reaping:
            time.sleep(0.25)
            now = time.monotonic()
            with self._state:
                late = [conn for conn, deadline in self._deadlines.items() if deadline < now]
                for conn in late:
                    del self._deadlines[conn]
            for conn in late:
                _cut(conn)

    def shutdown_request(self, request: Any) -> None:
        with self._state:
            self._connections.discard(request)
            self._deadlines.pop(request, None)
        super().shutdown_request(request)

    def enter(self, conn: socket.socket) -> bool:
        with self._state:
            if self.closing:
                return False
            self._busy += 1
            self._busy_sockets.add(conn)
            return True

    def leave(self, conn: socket.socket) -> None:
        with self._state:
            self._busy -= 1
            self._busy_sockets.discard(conn)
            self._state.notify_all()

    def drain(self, timeout: float = 15.0) -> int:
        """Stop as described above; returns how many requests were still running at the
        timeout (0 when every one finished)."""
        with self._state:
            self.closing = True
        for callback in self.before_drain:
            try:
                callback()
            except Exception:  # noqa: BLE001 - draining goes on
                log.warning("before-drain callback failed", exc_info=True)
        self.shutdown()  # no more accepts
        self.socket.close()
        deadline = time.monotonic() + timeout
        with self._state:
            while self._busy and time.monotonic() < deadline:
                self._state.wait(0.05)
                self._close_idle()
            self._close_idle()
            return self._busy

    def _close_idle(self) -> None:
        # A connection waiting for its next request gets EOF; one in a request finishes it
        # first (its handler closes the connection after answering).
        for conn in list(self._connections - self._busy_sockets):
            _cut(conn)


def _cut(conn: socket.socket) -> None:
    """End a connection from another thread: its reader sees EOF. On a TLS socket, the TCP
    socket itself (`SSLSocket.shutdown` would also drop the TLS state under the reader)."""
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
    except OSError:
        pass
