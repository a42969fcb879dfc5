"""The local runtime's WebSocket for live lab streams: ``GET /v1/lab/stream`` (Upgrade).

The gateway hands an upgrade request on that path to :func:`serve_websocket` in the request's
own thread. The JWT is checked before the handshake completes (a refused login is a plain HTTP
401 with the API's error document, as API Gateway's ``$connect`` answers); then the connection
is a ``websockets`` connection (the library's sans-I/O handshake and frame codec over the
gateway's socket) served by :class:`openevent.lab.streamhub.StreamHub` until it ends.
"""

from __future__ import annotations

import logging
from typing import Any

from openevent.errors import ApiError, BadRequest
from openevent.lab import streamauth
from openevent.lab.streamhub import StreamHub

log = logging.getLogger("openevent.lab.streams")
PATH = "/v1/lab/stream"
#: A browser → server message larger than this closes the connection (they are tiny).
MAX_MESSAGE_BYTES = 16 * 1024


def is_stream_request(path: str, headers: Any) -> bool:
    return path.split("?", 1)[0] == PATH and \
        (headers.get("Upgrade") or "").lower() == "websocket"


def serve_websocket(hub: StreamHub, handler: Any) -> None:
    """Authenticate, complete the handshake on ``handler.connection`` and serve the viewer."""
    from websockets.datastructures import Headers
    from websockets.http11 import Request
    from websockets.server import ServerProtocol
    from websockets.sync.connection import Connection

    headers = Headers(list(handler.headers.items()))
    from websockets.typing import Subprotocol

    ours = Subprotocol(streamauth.SUBPROTOCOL)
    proto = ServerProtocol(select_subprotocol=lambda _p, offered: ours if ours in offered
                           else None, max_size=MAX_MESSAGE_BYTES)
    # The gateway has read the request already; the protocol parses it again from its bytes
    # (its parser must see the request before it reads WebSocket frames).
    head = f"GET {handler.path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in handler.headers.items()) + "\r\n"
    proto.receive_data(head.encode("latin-1"))
    events = proto.events_received()
    request = events[0] if events and isinstance(events[0], Request) else None
    if request is None:
        _refuse(handler, BadRequest("Not a WebSocket request", parameter="Upgrade"))
        return
    try:
        user = streamauth.authenticate(streamauth.token_from_headers(dict(headers.raw_items())))
    except ApiError as exc:
        _refuse(handler, exc)
        return
    response = proto.accept(request)
    proto.send_response(response)
    for chunk in proto.data_to_send():
        handler.connection.sendall(chunk)
    handler.close_connection = True
    if response.status_code != 101:
        return
    connection = Connection(handler.connection, proto, ping_interval=20, ping_timeout=20,
                            close_timeout=2, max_queue=4)
    hub.serve(connection, user.user_id, user.expires_at)


def _refuse(handler: Any, error: ApiError) -> None:
    from openevent.web import dumps

    body = dumps(error.to_document()).encode()
    handler.close_connection = True
    handler.send_response(error.status)
    handler.send_header("Content-Type", "application/vnd.api+json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)

