"""The embedded AWS's memory grows with the data, not with the number of requests (issue
#27, 5): moto kept every model object it ever made (`instances_tracked`), so every Query's
copies of its items stayed alive. Measured in-process with tracemalloc over real wire
requests to the durable WSGI app."""

from __future__ import annotations

import gc
import json
import tracemalloc

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from openevent.local.durable import DurableApp
from openevent.local.moto_patches import untrack_moto_models

from tests.reliability.test_durable_app import _post


def test_reads_do_not_keep_copies_of_the_items(aws, tmp_path):
    untrack_moto_models()
    root = tmp_path / "store"
    root.mkdir()
    app = DurableApp(DomainDispatcherApplication(create_backend_app), root)
    app.open_journal()
    table = {"TableName": "memory-t", "BillingMode": "PAY_PER_REQUEST",
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}],
             "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "S"}]}
    assert _post(app, "CreateTable", table)[0].startswith("200")
    for i in range(20):
        assert _post(app, "PutItem", {"TableName": "memory-t", "Item": {
            "pk": {"S": "p"}, "sk": {"S": f"{i:03d}"}, "body": {"S": "x" * 200},
            "m": {"M": {"n": {"N": str(i)}}}}})[0].startswith("200")
    query = {"TableName": "memory-t", "KeyConditionExpression": "pk = :p",
             "ExpressionAttributeValues": {":p": {"S": "p"}}}

    def reads(n: int) -> None:
        for _ in range(n):
            status, out = _post(app, "Query", query)
            assert status.startswith("200") and json.loads(out)["Count"] == 20

    reads(50)  # warm: caches of the parser and serializer
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        reads(300)  # 6,000 item copies
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"{grown / 1024:.0f} KiB kept by 300 reads"
