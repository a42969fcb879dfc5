"""Idle and hostile connections cannot hold the gateway's threads (issue #27, 8): an
idle-connection storm (keep-alive clients gone quiet) plus slowloris clients trickling
header bytes. Beyond the connection cap the answer is 503; past the header and idle
deadlines a connection is closed however it trickles; threads come back down."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from openevent.local.gateway import Gateway

IDLE, SLOW, CAP = 200, 300, 256


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("OPENEVENT_HEADER_TIMEOUT", "2")
    monkeypatch.setenv("OPENEVENT_IDLE_TIMEOUT", "3")
    monkeypatch.setenv("OPENEVENT_MAX_CONNECTIONS", str(CAP))
    running = Gateway(pool_size=1, groups=(), mounts=[]).serve("127.0.0.1", 0)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.drain(timeout=1)
    running.server_close()


def _read_all(conn: socket.socket) -> bytes:
    conn.settimeout(15)
    data = b""
    try:
        while chunk := conn.recv(4096):
            data += chunk
    except OSError:
        pass
    return data


def test_an_idle_and_slowloris_storm_is_capped_and_cut_off(server):
    port = server.server_port
    base = threading.active_count()
    sockets: list[socket.socket] = []
    try:
        for _ in range(IDLE):  # one request each, then quiet on the kept-alive connection
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"GET /v1/none HTTP/1.1\r\nHost: x\r\n\r\n")
            sockets.append(conn)
        for _ in range(SLOW):  # headers that never end
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"GET /v1/none HTTP/1.1\r\nHost: x\r\n")
            sockets.append(conn)
        peak = 0
        started = time.monotonic()
        while time.monotonic() - started < 1.5:  # trickle: one header byte per socket
            for conn in sockets[IDLE:]:
                try:
                    conn.send(b"X")
                except OSError:
                    pass
            peak = max(peak, threading.active_count() - base)
            time.sleep(0.3)
        assert peak <= CAP + 5, f"{peak} threads held by {IDLE + SLOW} connections"
        answers = [_read_all(conn) for conn in sockets]
    finally:
        for conn in sockets:
            conn.close()
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    assert len(refused) >= IDLE + SLOW - CAP, len(refused)
    assert all(b"Retry-After: 1" in a and b'"status":503' in a for a in refused)
    # every connection was closed by the server (the reads above saw EOF), in time
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 5
    while threading.active_count() - base > 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threading.active_count() - base <= 2, threading.active_count() - base
    resp = requests.get(f"http://127.0.0.1:{port}/v1/none", timeout=10)
    assert resp.status_code == 404  # and the server still serves


def test_a_connection_that_trickles_headers_is_cut_at_the_header_deadline(server):
    conn = socket.create_connection(("127.0.0.1", server.server_port))
    started = time.monotonic()
    conn.sendall(b"GET /v1/none HTTP/1.1\r\n")
    closed = False
    while time.monotonic() - started < 10:
        try:
            conn.send(b"X-A: b\r\n")  # a header line every 0.2 s: never idle, never done
        except OSError:
            closed = True
            break
        conn.settimeout(0.2)
        try:
            if conn.recv(1) == b"":
                closed = True
                break
        except TimeoutError:
            pass
    conn.close()
    assert closed and 1.5 < time.monotonic() - started < 4
