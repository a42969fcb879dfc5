"""moto's transactions roll back item by item (not by deep-copying whole tables): a failed
transaction leaves every item it named exactly as it was."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError


def test_a_failed_transaction_leaves_every_named_item_as_it_was(aws):
    import moto.dynamodb.models as backend
    from openevent.local.moto_patches import _NoTableCopies

    assert backend.copy is _NoTableCopies  # no whole-table deep copies
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(TableName="tx-test", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])
    ddb.put_item(TableName="tx-test", Item={"pk": {"S": "a"}, "sk": {"S": "1"},
                                            "n": {"N": "1"}})
    ddb.put_item(TableName="tx-test", Item={"pk": {"S": "gone"}, "sk": {"S": "1"}})
    ddb.put_item(TableName="tx-test", Item={"pk": {"S": "guard"}, "sk": {"S": "1"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "tx-test", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "tx-test", "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}}}},
            {"Delete": {"TableName": "tx-test", "Key": {"pk": {"S": "gone"}, "sk": {"S": "1"}}}},
            {"ConditionCheck": {"TableName": "tx-test", "Key": {"pk": {"S": "guard"},
                                                                "sk": {"S": "1"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}}])
    items = ddb.scan(TableName="tx-test")["Items"]
    assert sorted((i["pk"]["S"], i.get("n", {}).get("N")) for i in items) == [
        ("a", "1"), ("gone", None), ("guard", None)]
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": "tx-test", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
    got = ddb.get_item(TableName="tx-test", Key={"pk": {"S": "a"}, "sk": {"S": "1"}})
    assert got["Item"]["n"]["N"] == "2"
