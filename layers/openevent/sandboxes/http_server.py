"""The HTTP plumbing the provider fakes share: a threaded stdlib server on 127.0.0.1, a free
port, a request log, start/stop as a context manager."""

from __future__ import annotations

import json
import secrets
import string
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

_ALNUM = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 24, alphabet: str = _ALNUM) -> str:
    """`prefix` + `length` random characters, like the providers' object ids."""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class FakeRequest:
    """One request as the fake received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class FakeResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: Any, headers: dict[str, str] | None = None) -> FakeResponse:
        return cls(status, json.dumps(obj, indent=2).encode(),
                   {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def html(cls, status: int, text: str) -> FakeResponse:
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str) -> FakeResponse:
        return cls(303, b"", {"Location": location})


class FakeHTTPServer:
    """Base of the fakes: subclasses implement `handle(request) -> FakeResponse`."""

    def __init__(self, port: int = 0) -> None:
        self.lock = threading.RLock()
        self.requests: list[FakeRequest] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect
            # Headers and body leave in one segment; otherwise Nagle + delayed ACK add ~40 ms
            # to every keep-alive response.
            wbufsize = 64 * 1024
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                request = FakeRequest(
                    method=self.command, path=url.path,
                    query=parse_qs(url.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                )
                with fake.lock:
                    fake.requests.append(request)
                try:
                    response = fake.handle(request)
                except Exception:  # a fake bug must show up as a 500, not a hung client
                    traceback.print_exc(file=sys.stderr)
                    response = FakeResponse.json(500, {"error": {"type": "api_error",
                                                                 "message": "fake crashed"}})
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # quiet: tests read fake.requests instead

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def handle(self, request: FakeRequest) -> FakeResponse:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"{type(self).__name__}:{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (the standalone entry points)."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, path: str) -> list[FakeRequest]:
        """The recorded requests whose path is `path`."""
        with self.lock:
            return [r for r in self.requests if r.path == path]
