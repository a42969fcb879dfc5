"""The embedded AWS's HTTP connections kept alive between calls, as AWS's endpoints keep them.

Guarantees: `KeepAliveHandler` serves the same WSGI app with the same environ as moto's own
request handler (werkzeug's, with moto's header spelling), and answers a request with
a `Content-Length` body on the connection it came in on, ready for the next request.
werkzeug's development server closes every connection after one answer (its comment: it
cannot drain a request body it did not read without reading into the next request), so
every botocore call paid a TCP connect, an accept and a new server thread. Here a request's
body is read exactly (`Content-Length`) before the app runs, so the stream always stands at
the next request line, and the answer is sent with its exact length in one write.

Not kept alive, exactly as before (werkzeug's own path, `Connection: close`): requests sent
with chunked transfer encoding, and HTTP/1.0 clients. An idle connection is closed after
`IDLE_SECONDS`; an app error answers 500 and closes the connection.
"""

from __future__ import annotations

import io
import logging
import socket
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

log = logging.getLogger("openevent.moto")
IDLE_SECONDS = 30
_NO_BODY = frozenset({204, 304})


class KeepAliveHandler(MotoRequestHandler):
    """moto's request handler, answering on a kept-alive HTTP/1.1 connection."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS  # an idle keep-alive connection's socket timeout

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        length_text = self.headers.get("Content-Length") or "0"
        if chunked or self.request_version != "HTTP/1.1" or not length_text.isdigit():
            super().run_wsgi()  # werkzeug's path: answers with `Connection: close`
            return
        length = int(length_text)
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True  # the client went away mid-body
            return
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        self.environ = environ
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:  # noqa: BLE001 - as werkzeug: a 500, logged, and the link closed
            log.exception("the embedded AWS failed on %s %s", self.command, self.path)
            started[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            chunks[:] = [b"Internal Server Error"]
            self.close_connection = True
        self._answer(started[0], started[1], b"".join(chunks))

    def _answer(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        head = self.command == "HEAD"
        lines = [f"{self.protocol_version} {code} {reason}\r\n",
                 f"Server: {self.version_string()}\r\n",
                 f"Date: {self.date_time_string()}\r\n"]
        for name, value in headers:
            lowered = name.lower()
            if lowered in ("connection", "transfer-encoding") or (
                    lowered == "content-length" and not head):
                continue  # the length is the payload's own (a HEAD keeps the object's)
            lines.append(f"{name}: {value}\r\n")
        if not head and code not in _NO_BODY and code >= 200:
            lines.append(f"Content-Length: {len(payload)}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        out = "".join(lines).encode("latin-1")
        if not head and code not in _NO_BODY:
            out += payload
        self.wfile.write(out)
        self.wfile.flush()
        self.log_request(code, len(payload))
