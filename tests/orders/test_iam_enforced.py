"""Every function runs locally with its deployed role's statements (`openevent.local.iam`,
read from the synthesized template): what the role does not allow, the embedded AWS refuses
as AWS would, and a test fails."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from openevent.local import iam
from openevent.settings import get_settings

from tests.orders.conftest import attendee_doc, order_doc


def _statements(role: str) -> list[dict]:
    return [dict(s) for s in iam.policies()["roles"][role]]


def _without(role: str, predicate) -> list[dict]:
    kept = [s for s in _statements(role) if not predicate(s)]
    assert len(kept) == len(_statements(role)) - 1, "exactly one statement removed"
    return kept


def _grants_table(table: str, write: bool):
    def predicate(statement: dict) -> bool:
        return (("dynamodb:PutItem" in statement["Action"]) == write
                and any(r.endswith(f"table/${{TablePrefix}}{table}")
                        for r in statement["Resource"]))
    return predicate


def _attendee(api, people, shop) -> str:
    resp = api.post("/v1/attendees", attendee_doc(shop.event, shop.free, firstname="Ada",
                                                  lastname="Lovelace", email="ada@example.com"),
                    token=people.buyer.token)
    assert resp.status == 201, resp.body
    return resp.json()["data"]["id"]


def _buy(api, people, shop, attendee: str | None = None):
    attendee = attendee or _attendee(api, people, shop)
    return api.post("/v1/orders", order_doc(shop.event, [attendee]), token=people.buyer.token)


def test_the_roles_come_from_the_template_and_the_renderer_has_its_own():
    functions = iam.policies()["functions"]
    assert functions["renderer"]["role"] == "RendererRole"
    assert {functions[f"{g}-api"]["role"] for g in ("auth", "events", "orders", "lab")} == {
        "AuthRole", "EventsRole", "OrdersRole", "LabRole"}
    assert functions["orders-expire"]["role"] == functions["orders-api"]["role"]


def test_with_its_role_an_order_is_placed(api, people, shop):
    assert _buy(api, people, shop).status == 201
    assert iam.denials() == []


@pytest.mark.iam_refusals
def test_one_statement_removed_fails_the_calls_that_need_it(api, people, shop):
    attendee = _attendee(api, people, shop)
    # the statement granting the orders group's read-write tables (orders among them)
    with iam.statements_replaced("OrdersRole",
                                 _without("OrdersRole", _grants_table("orders", write=True))):
        resp = _buy(api, people, shop, attendee)
    assert resp.status == 500, resp.body  # as the deployed function would answer
    refused = iam.denials()
    assert refused and all(r.startswith("orders-api: dynamodb:") for r in refused), refused
    iam.clear_denials()
    assert _buy(api, people, shop, attendee).status == 201  # statement back: allowed again
    assert iam.denials() == []


@pytest.mark.iam_refusals
def test_renderer_without_its_ticket_write_statement_fails(api, people, shop, gateway):
    import json

    from openevent.local.events import sqs_event

    assert _buy(api, people, shop).status == 201
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=get_settings().documents_queue)["QueueUrl"]
    messages = [m for _ in range(5) for m in sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if json.loads(m["Body"]).get("Records")]
    assert messages
    event = sqs_event(messages[0], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    handler = gateway.apps("orders").handler_map["render_tickets"]
    with iam.statements_replaced("RendererRole", _without(
            "RendererRole", lambda s: s["Action"] == ["s3:GetObject", "s3:PutObject"])):
        with pytest.raises(ClientError) as raised:
            handler(event, None)
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert iam.denials() == [f"renderer: s3:PutObject on arn:aws:s3:::"
                             f"{get_settings().documents_bucket}/tickets/" +
                             raised.value.response["Error"]["Message"].split("/tickets/")[1]
                             .split(" ")[0]]


@pytest.mark.iam_refusals
def test_a_refusal_has_aws_wire_format(aws):
    from openevent.models.orders import Order

    with iam.acting_as("lab-api"), pytest.raises(Exception) as raised:
        Order.get(1)
    cause = raised.value.cause  # PynamoDB's GetError wraps botocore's error
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "AccessDeniedException"
    assert "assumed-role/LabRole/lab-api is not authorized to perform: dynamodb:GetItem" in \
        cause.response["Error"]["Message"]


@pytest.mark.iam_refusals
def test_only_the_renderer_consumes_the_document_queue(aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=get_settings().documents_queue)["QueueUrl"]
    with iam.acting_as("renderer"):
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    for function in ("orders-api", "events-api"):
        with iam.acting_as(function), pytest.raises(ClientError) as raised:
            sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        assert raised.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.iam_refusals
def test_api_functions_cannot_write_rendered_documents(aws):
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = get_settings().documents_bucket
    with iam.acting_as("orders-api"), pytest.raises(ClientError):
        s3.put_object(Bucket=bucket, Key="tickets/x/order.pdf", Body=b"%PDF-")
    with iam.acting_as("renderer"):
        s3.put_object(Bucket=bucket, Key="tickets/x/order.pdf", Body=b"%PDF-")
    with iam.acting_as("orders-api"):  # reading them (downloads) is allowed
        assert s3.get_object(Bucket=bucket, Key="tickets/x/order.pdf")["Body"].read()


def test_calls_map_to_the_actions_aws_authorizes():
    r = "us-east-1"
    assert iam.requests_of("s3", "HeadObject", {"Bucket": "b", "Key": "k"}, r) == [
        ("s3:GetObject", "arn:aws:s3:::b/k")]
    assert iam.requests_of("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t1"}}, {"ConditionCheck": {"TableName": "t2"}}]}, r) == [
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t1"),
        ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123456789012:table/t2")]
    assert iam.requests_of("dynamodb", "Query", {"TableName": "t", "IndexName": "i"}, r) == [
        ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/t/index/i")]
    assert iam.requests_of("sqs", "DeleteMessageBatch",
                           {"QueueUrl": "http://x/123456789012/q"}, r) == [
        ("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:q")]


def test_deny_wins_and_conditions_never_allow():
    role = iam.Role("R", "f", [
        iam.Statement.of({"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}),
        iam.Statement.of({"Effect": "Deny", "Action": "s3:PutObject",
                          "Resource": "arn:aws:s3:::b/tickets/*"}),
        iam.Statement.of({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
                          "Condition": {"Bool": {"aws:SecureTransport": "true"}}})])
    assert role.decide("s3:GetObject", "arn:aws:s3:::b/tickets/1")
    assert not role.decide("s3:PutObject", "arn:aws:s3:::b/tickets/1")
    assert role.decide("S3:PutObject", "arn:aws:s3:::b/manifests/1")
    assert not role.decide("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")
