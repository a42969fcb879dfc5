"""The embedded AWS's direct AttributeValue writer (`openevent.local.moto_speed`) answers the
same bytes as moto's own serializer, for every DynamoDB type, nested, empty and binary, in
every read and write that returns items — and comparisons order keys as moto's do."""

from __future__ import annotations

import base64
import json

import pytest
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from openevent.local.moto_speed import speed_up_moto_dynamodb

from tests.reliability.test_durable_app import _post

_ITEM = {
    "pk": {"S": "p"}, "sk": {"N": "1"},
    "s": {"S": "héllo \"quoted\" \n"}, "empty": {"S": ""}, "n": {"N": "-12.50"},
    "big": {"N": "123456789012345678901234567890"},
    "b": {"B": base64.b64encode(b"\x00\xffbinary").decode()},
    "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [base64.b64encode(b"\x01").decode(), base64.b64encode(b"\x02\x03").decode()]},
    "t": {"BOOL": True}, "f": {"BOOL": False}, "null": {"NULL": True},
    "l": {"L": [{"S": "x"}, {"N": "3"}, {"L": []}, {"M": {}}, {"BOOL": False},
                {"B": base64.b64encode(b"nested").decode()}]},
    "m": {"M": {"inner": {"M": {"deep": {"SS": ["z"]}, "n": {"NULL": True}}},
                "list": {"L": [{"M": {"k": {"S": ""}}}]}, "empty": {"M": {}}}},
    "el": {"L": []},
}


def _exchange(app):
    table = {"TableName": "speed-t", "BillingMode": "PAY_PER_REQUEST",
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}],
             "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "N"}]}
    key = {"pk": {"S": "p"}, "sk": {"N": "1"}}
    calls = [
        ("CreateTable", table),
        ("PutItem", {"TableName": "speed-t", "Item": _ITEM}),
        ("PutItem", {"TableName": "speed-t", "Item": {**_ITEM, "sk": {"N": "2"}},
                     "ReturnValues": "ALL_OLD"}),
        ("PutItem", {"TableName": "speed-t", "Item": _ITEM, "ReturnValues": "ALL_OLD"}),
        ("GetItem", {"TableName": "speed-t", "Key": key}),
        ("GetItem", {"TableName": "speed-t", "Key": key, "ProjectionExpression": "m.inner, l[1]"}),
        ("Query", {"TableName": "speed-t", "KeyConditionExpression": "pk = :p",
                   "ExpressionAttributeValues": {":p": {"S": "p"}}, "Limit": 1}),
        ("Scan", {"TableName": "speed-t"}),
        ("BatchGetItem", {"RequestItems": {"speed-t": {"Keys": [key]}}}),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "speed-t", "Key": key}}]}),
        ("UpdateItem", {"TableName": "speed-t", "Key": key, "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "7"}},
                        "ReturnValues": "ALL_NEW"}),
        ("DeleteItem", {"TableName": "speed-t", "Key": key, "ReturnValues": "ALL_OLD"}),
        ("GetItem", {"TableName": "speed-t", "Key": key}),
        ("DeleteTable", {"TableName": "speed-t"}),
    ]
    answers = []
    for action, params in calls:
        status, body = _post(app, action, params)
        assert status.startswith("200"), (action, body)
        answers.append((action, body))
    return answers[1:-1]  # the table's own description holds its creation time


def test_the_direct_writer_answers_moto_s_own_bytes(aws, monkeypatch):
    speed_up_moto_dynamodb()
    app = DomainDispatcherApplication(create_backend_app)
    fast = _exchange(app)
    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure",
                        BaseJSONSerializer._openevent_generic)
    generic = _exchange(app)
    assert fast == generic
    item = json.loads(dict(fast)["Scan"])["Items"][0]
    assert item["b"] == {"B": base64.b64encode(b"\x00\xffbinary").decode()}
    assert item["m"]["M"]["inner"]["M"]["n"] == {"NULL": True}
    assert item["f"] == {"BOOL": False} and item["empty"] == {"S": ""}


def test_comparisons_cast_as_moto_does():
    speed_up_moto_dynamodb()
    from decimal import Decimal

    assert DynamoType({"N": "1.0"}) == DynamoType({"N": "1"})
    assert DynamoType({"N": "9"}) < DynamoType({"N": "10"})
    assert DynamoType({"S": "9"}) > DynamoType({"S": "10"})
    assert DynamoType({"S": "1"}) != DynamoType({"N": "1"})
    assert DynamoType({"N": "2.50"}).cast_value == Decimal("2.5")
    assert DynamoType({"SS": ["a"]}).cast_value == {"a"}
    assert DynamoType({"NULL": True}).cast_value is None
    assert DynamoType({"M": {"k": {"N": "1"}}}).cast_value == {"k": Decimal(1)}


def test_a_query_reads_its_partition_and_sees_every_write(aws):
    """Index partitions are rebuilt after every kind of write; reads reuse them."""
    import boto3
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table
    from openevent.local import moto_speed

    speed_up_moto_dynamodb()
    db = boto3.client("dynamodb", region_name="us-east-1")
    db.create_table(
        TableName="narrow-t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"},
                              {"AttributeName": "state", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "state-index", "Projection": {
            "ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "state", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"}]}])
    for i in range(6):
        item = {"id": {"N": str(i)}}
        if i != 5:  # one item outside the index
            item["state"] = {"S": "draft" if i % 2 else "published"}
        db.put_item(TableName="narrow-t", Item=item)

    def ids(state):
        answer = db.query(TableName="narrow-t", IndexName="state-index",
                          KeyConditionExpression="#s = :s", ExpressionAttributeNames={
                              "#s": "state"}, ExpressionAttributeValues={":s": {"S": state}})
        return [int(i["id"]["N"]) for i in answer["Items"]]

    assert ids("published") == [0, 2, 4] and ids("draft") == [1, 3]
    table = next(t for region in dynamodb_backends.values() for backend in region.values()
                 for name, t in backend.tables.items() if name == "narrow-t")
    assert isinstance(table, Table)
    built = moto_speed._partitions[table]["state-index"]
    assert ids("published") == [0, 2, 4]
    assert moto_speed._partitions[table]["state-index"] is built  # a read reuses them

    db.update_item(TableName="narrow-t", Key={"id": {"N": "1"}}, UpdateExpression="SET #s = :s",
                   ExpressionAttributeNames={"#s": "state"},
                   ExpressionAttributeValues={":s": {"S": "published"}})
    assert ids("published") == [0, 1, 2, 4] and ids("draft") == [3]
    db.delete_item(TableName="narrow-t", Key={"id": {"N": "0"}})
    assert ids("published") == [1, 2, 4]
    db.transact_write_items(TransactItems=[
        {"Put": {"TableName": "narrow-t", "Item": {"id": {"N": "5"}, "state": {"S": "draft"}}}},
        {"Update": {"TableName": "narrow-t", "Key": {"id": {"N": "2"}},
                    "UpdateExpression": "REMOVE #s", "ExpressionAttributeNames": {
                        "#s": "state"}}}])
    assert ids("published") == [1, 4] and ids("draft") == [3, 5]
    db.batch_write_item(RequestItems={"narrow-t": [
        {"PutRequest": {"Item": {"id": {"N": "9"}, "state": {"S": "published"}}}},
        {"DeleteRequest": {"Key": {"id": {"N": "4"}}}}]})
    assert ids("published") == [1, 9]
    # a refused conditional write changes nothing, and the partitions still match
    with pytest.raises(db.exceptions.ConditionalCheckFailedException):
        db.put_item(TableName="narrow-t", Item={"id": {"N": "1"}, "state": {"S": "gone"}},
                    ConditionExpression="attribute_not_exists(id)")
    assert ids("published") == [1, 9] and ids("gone") == []
    # the base table's partitions, paging and descending order are moto's own
    page = db.query(TableName="narrow-t", IndexName="state-index", Limit=1,
                    ScanIndexForward=False, KeyConditionExpression="#s = :s",
                    ExpressionAttributeNames={"#s": "state"},
                    ExpressionAttributeValues={":s": {"S": "published"}})
    assert [i["id"]["N"] for i in page["Items"]] == ["9"] and "LastEvaluatedKey" in page
    got = db.query(TableName="narrow-t", KeyConditionExpression="id = :i",
                   ExpressionAttributeValues={":i": {"N": "3"}})
    assert got["Items"] == [{"id": {"N": "3"}, "state": {"S": "draft"}}]
    assert db.query(TableName="narrow-t", KeyConditionExpression="id = :i",
                    ExpressionAttributeValues={":i": {"N": "404"}})["Items"] == []
