"""The embedded AWS's journal, in-process: a mutating call is journaled before it answers,
and a snapshot cut plus the journal rebuild the same tables (binary values included)."""

from __future__ import annotations

import io
import json

import moto.dynamodb.models as backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from openevent.local import store
from openevent.local.durable import DurableApp
from openevent.local.moto_wire import fake_auth

TABLE = {"TableName": "durable-t", "BillingMode": "PAY_PER_REQUEST",
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "g", "AttributeType": "S"}],
         "GlobalSecondaryIndexes": [{"IndexName": "gi", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}]}
ITEM = {"pk": {"S": "a"}, "g": {"S": "x"}, "b": {"B": "aGVsbG8="}, "n": {"NULL": True},
        "m": {"M": {"l": {"L": [{"N": "1"}, {"SS": ["p", "q"]}]}}}}


def _post(app, action, params):
    body = json.dumps(params).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-amz-json-1.0",
               "HTTP_HOST": "127.0.0.1", "HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{action}",
               "HTTP_AUTHORIZATION": fake_auth("us-east-1", "dynamodb")}
    status = []
    out = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    return status[0], out


def _tables():
    return {name: table for account in backend.dynamodb_backends.values()
            for region in account.values() for name, table in region.tables.items()}


def test_journal_then_cut_rebuild_the_same_state(aws, tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    app = DurableApp(DomainDispatcherApplication(create_backend_app), root)
    app.open_journal()
    assert _post(app, "CreateTable", TABLE)[0].startswith("200")
    assert _post(app, "PutItem", {"TableName": "durable-t", "Item": ITEM})[0].startswith("200")
    refused = _post(app, "PutItem", {"TableName": "durable-t", "Item": ITEM,
                                     "ConditionExpression": "attribute_not_exists(pk)"})
    assert refused[0].startswith("400")
    assert _post(app, "GetItem", {"TableName": "durable-t", "Key": {"pk": {"S": "a"}}}
                 )[0].startswith("200")
    assert app.journal.synced == 2  # the two writes that succeeded, durable; no reads
    before = app._capture_dynamodb()
    mine = [t for t in before["tables"] if t["create"]["TableName"] == "durable-t"]
    assert mine[0]["items"] == [ITEM]

    for account in backend.dynamodb_backends.values():  # the process dies
        for region in account.values():
            region.tables.pop("durable-t", None)
    reborn = DurableApp(DomainDispatcherApplication(create_backend_app), root)
    counts = reborn.load(store.plan(root))
    assert counts["replayed"] == 2 and counts["replay_failures"] == 0
    assert reborn._capture_dynamodb() == before
    assert "durable-t" in _tables()
