"""The embedded AWS keeps a client's HTTP/1.1 connection for its next call (issue #26), and
falls back to closing it where it cannot know where the next request starts: the real
server process (`python -m openevent.local.moto_server --data-dir`), real sockets."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from openevent.lab.localbroker import free_port
from openevent.local.moto_wire import fake_auth

ROOT = Path(__file__).resolve().parents[2]
TARGET = "DynamoDB_20120810."


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    data = tmp_path_factory.mktemp("moto-keepalive")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "openevent.local.moto_server", "-p",
                             str(port), "--data-dir", str(data)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
    yield "127.0.0.1", port
    proc.terminate()
    proc.wait(timeout=30)


def _call(conn: http.client.HTTPConnection, action: str, params: dict,
          **headers: str) -> http.client.HTTPResponse:
    conn.request("POST", "/", body=json.dumps(params), headers={
        "X-Amz-Target": TARGET + action, "Content-Type": "application/x-amz-json-1.0",
        "Authorization": fake_auth("us-east-1", "dynamodb"), **headers})
    return conn.getresponse()


def test_calls_share_one_connection(endpoint):
    conn = http.client.HTTPConnection(*endpoint, timeout=10)
    first = _call(conn, "ListTables", {})
    assert first.status == 200 and first.getheader("Connection") is None
    assert "TableNames" in json.loads(first.read())
    local = conn.sock.getsockname()
    for _ in range(3):
        again = _call(conn, "ListTables", {})
        assert again.status == 200
        again.read()
        assert conn.sock is not None and conn.sock.getsockname() == local  # not reconnected


def test_botocore_reads_and_writes_over_kept_connections(endpoint):
    host, port = endpoint
    client = boto3.client("dynamodb", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    client.create_table(TableName="keepalive-t", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    big = "x" * 200_000  # a body far larger than one socket read
    for i in range(20):
        client.put_item(TableName="keepalive-t", Item={"pk": {"S": f"k{i}"}, "v": {"S": big}})
    got = client.get_item(TableName="keepalive-t", Key={"pk": {"S": "k7"}})
    assert got["Item"]["v"]["S"] == big
    missing = client.get_item(TableName="keepalive-t", Key={"pk": {"S": "nope"}})
    assert "Item" not in missing
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_item(TableName="no-such-table", Key={"pk": {"S": "k"}})
    assert client.describe_table(TableName="keepalive-t")["Table"]["ItemCount"] >= 0


def test_an_error_answer_keeps_the_connection_usable(endpoint):
    conn = http.client.HTTPConnection(*endpoint, timeout=10)
    refused = _call(conn, "GetItem", {"TableName": "no-such-table",
                                      "Key": {"pk": {"S": "k"}}})
    assert refused.status == 400
    assert "ResourceNotFoundException" in refused.read().decode()
    after = _call(conn, "ListTables", {})
    assert after.status == 200 and "TableNames" in json.loads(after.read())


def test_chunked_requests_and_http_1_0_clients_are_answered_then_closed(endpoint):
    conn = http.client.HTTPConnection(*endpoint, timeout=10)
    body = json.dumps({}).encode()
    conn.putrequest("POST", "/")
    for name, value in {"X-Amz-Target": TARGET + "ListTables",
                        "Content-Type": "application/x-amz-json-1.0",
                        "Authorization": fake_auth("us-east-1", "dynamodb"),
                        "Transfer-Encoding": "chunked"}.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    chunked = conn.getresponse()
    assert chunked.status == 200 and chunked.getheader("Connection") == "close"
    assert "TableNames" in json.loads(chunked.read())

    old = http.client.HTTPConnection(*endpoint, timeout=10)
    old._http_vsn, old._http_vsn_str = 10, "HTTP/1.0"
    answer = _call(old, "ListTables", {})
    assert answer.status == 200 and answer.getheader("Connection") == "close"
    assert "TableNames" in json.loads(answer.read())
