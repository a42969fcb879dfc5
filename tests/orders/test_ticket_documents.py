"""Ticket PDFs and mail after completion (API.md §6 "Ticket PDFs and mail").

The S3 event is simulated here by calling the handler with the manifest the completion hook
wrote; the slow end-to-end test in tests/e2e drives the real moto → SQS → handler path.
"""

from __future__ import annotations

import re
import subprocess
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from openevent.documents import pipeline
from openevent.settings import get_settings

from tests.conftest import mails_to as _mails
from tests.orders.conftest import attendee_doc, order_doc

pytestmark = pytest.mark.slow  # renders real PDFs


def _s3():
    return boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def completed(world, people, shop, api):
    """A zero-amount classic order of two seats, completed by the server at creation."""
    ids = []
    for first, mail in (("Ada", "ada@example.com"), ("Grace", "grace@example.com")):
        resp = api.post("/v1/attendees", attendee_doc(shop.event, shop.free, firstname=first,
                                                      lastname="Tester", email=mail),
                        token=people.buyer.token)
        assert resp.status == 201, resp.body
        ids.append(resp.json()["data"]["id"])
    resp = api.post("/v1/orders", order_doc(shop.event, ids), token=people.buyer.token)
    assert resp.status == 201, resp.body
    order = resp.json()["data"]
    assert order["attributes"]["status"] == "completed"
    identifier = order["attributes"]["identifier"]
    key = f"manifests/{identifier}.json"
    _s3().head_object(Bucket=get_settings().documents_bucket, Key=key)  # the hook wrote it
    return {"identifier": identifier, "attendees": ids, "key": key}


def test_completion_renders_stores_links_and_mails(api, people, completed, outbox):
    assert pipeline.process_manifest(get_settings().documents_bucket, completed["key"]) == \
        completed["identifier"]
    bucket = get_settings().documents_bucket
    for attendee_id in completed["attendees"]:
        body = _s3().get_object(Bucket=bucket, Key=pipeline.attendee_pdf_key(
            completed["identifier"], attendee_id))["Body"].read()
        assert body.startswith(b"%PDF")
        attendee = api.get(f"/v1/attendees/{attendee_id}", token=people.buyer.token).json()
        assert attendee["data"]["attributes"]["pdf-url"].endswith(
            f"/v1/attendees/{attendee_id}/ticket-pdf")
    order = api.get(f"/v1/orders/{completed['identifier']}", token=people.buyer.token).json()
    assert order["data"]["attributes"]["tickets-pdf-url"].endswith(
        f"/v1/orders/{completed['identifier']}/tickets-pdf")
    ada = _mails(outbox, "ada@example.com")
    assert len(ada) == 1
    text = ada[0].get_body(("plain",)).get_content()
    assert f"/v1/attendees/{completed['attendees'][0]}/ticket-pdf?token=" in text
    assert ada[0].get_body(("html",)) is not None
    assert len(_mails(outbox, "grace@example.com")) == 1
    summary = [m for m in _mails(outbox, people.buyer.email) if "ticket" in
               m.get_body(("plain",)).get_content().lower()]
    assert summary


def test_redelivered_event_sends_no_duplicate_mails(people, completed, outbox):
    bucket = get_settings().documents_bucket
    pipeline.process_manifest(bucket, completed["key"])
    before = len(list(outbox.glob("*.eml")))
    pipeline.process_manifest(bucket, completed["key"])
    assert len(list(outbox.glob("*.eml"))) == before


def test_an_event_for_a_deleted_manifest_is_skipped_not_retried(completed, outbox):
    """S3 events come at least once and can outlive their object: a re-delivered event for a
    manifest that is gone renders and mails nothing, and does not raise (no endless retry)."""
    bucket = get_settings().documents_bucket
    _s3().delete_object(Bucket=bucket, Key=completed["key"])
    mails_before = sorted(outbox.glob("*.eml"))
    assert pipeline.process_manifest(bucket, completed["key"]) == f"gone:{completed['identifier']}"
    assert sorted(outbox.glob("*.eml")) == mails_before
    assert not pipeline.pdf_exists(pipeline.order_pdf_key(completed["identifier"]))


def test_failed_mail_is_retried_without_resending_the_others(people, completed, outbox,
                                                             monkeypatch):
    import openevent.documents.pipeline as module

    real = module.send_mail
    monkeypatch.setattr(module, "send_mail",
                        lambda to, *a: False if to == "grace@example.com" else real(to, *a))
    with pytest.raises(pipeline.MailNotSent):
        pipeline.process_manifest(get_settings().documents_bucket, completed["key"])
    assert len(_mails(outbox, "ada@example.com")) == 1
    assert _mails(outbox, "grace@example.com") == []
    monkeypatch.setattr(module, "send_mail", real)
    pipeline.process_manifest(get_settings().documents_bucket, completed["key"])
    assert len(_mails(outbox, "ada@example.com")) == 1
    assert len(_mails(outbox, "grace@example.com")) == 1


def _link(outbox, to):
    text = _mails(outbox, to)[-1].get_body(("plain",)).get_content()
    return re.search(r"(http\S+/ticket-pdf\?token=\S+)", text).group(1)


def test_mailed_link_downloads_without_login(api, people, completed, outbox):
    pipeline.process_manifest(get_settings().documents_bucket, completed["key"])
    url = urlparse(_link(outbox, "ada@example.com"))
    token = parse_qs(url.query)["token"][0]
    resp = api.get(f"{url.path}?token={token}")
    assert resp.status == 302
    location = urlparse(resp.headers["Location"])
    assert location.path.endswith(f"attendee-{completed['attendees'][0]}.pdf")
    forged = api.get(f"{url.path}?token={'0' * 40}")
    assert forged.status == 403


# The permission matrix of both download routes. "attendee" is Ada (a seat of the buyer's
# order) logged in with a *verified* account of her email: her own ticket, not the order's
# PDF (it holds every seat). "attendee_unverified" signed up with Ada's email but never proved
# it: nothing — anyone can sign up with any address.
@pytest.mark.parametrize("who,attendee_status,order_status", [
    ("anonymous", 401, 401), ("stranger", 403, 403), ("buyer", 302, 302),
    ("coorganizer", 302, 302), ("admin", 302, 302),
    ("attendee", 302, 403), ("attendee_unverified", 403, 403)])
def test_ticket_download_permissions(api, people, completed, make_user, who, attendee_status,
                                     order_status):
    pipeline.process_manifest(get_settings().documents_bucket, completed["key"])
    if who == "anonymous":
        token = None
    elif who.startswith("attendee"):
        token = make_user(email="ada@example.com", verified=who == "attendee").token
    else:
        token = getattr(people, who).token
    path = f"/v1/attendees/{completed['attendees'][0]}/ticket-pdf"
    assert api.get(path, token=token).status == attendee_status
    order_path = f"/v1/orders/{completed['identifier']}/tickets-pdf"
    assert api.get(order_path, token=token).status == order_status


def test_unverified_namesake_learns_nothing_from_the_ticket(api, completed, make_user):
    """The unverified signup gets no PDF and no presigned URL to it (no Location, no url)."""
    pipeline.process_manifest(get_settings().documents_bucket, completed["key"])
    namesake = make_user(email="ada@example.com", verified=False)
    resp = api.get(f"/v1/attendees/{completed['attendees'][0]}/ticket-pdf",
                   token=namesake.token)
    assert resp.status == 403
    assert "Location" not in resp.headers
    assert "X-Amz-Signature" not in resp.body.decode()


@pytest.mark.parametrize("path", ["/v1/attendees/{missing}/ticket-pdf",
                                  "/v1/attendees/{pending}/ticket-pdf",
                                  "/v1/orders/{missing_order}/tickets-pdf",
                                  "/v1/orders/{pending_order}/tickets-pdf"])
def test_anonymous_caller_cannot_tell_which_documents_exist(api, people, shop, path):
    """Authentication comes first: an anonymous caller gets 401 whether the attendee or order
    is missing, has no document yet, or has one — never a 404 that tells them apart."""
    resp = api.post("/v1/attendees", attendee_doc(shop.event, shop.paid, firstname="P",
                                                  lastname="Q", email="p@example.com"),
                    token=people.buyer.token)
    aid = resp.json()["data"]["id"]
    order = api.post("/v1/orders", order_doc(shop.event, [aid], **{"payment-mode": "stripe"}),
                     token=people.buyer.token).json()["data"]
    url = path.format(missing=987654, pending=aid, missing_order="00000000-dead-beef",
                      pending_order=order["attributes"]["identifier"])
    resp = api.get(url)
    assert resp.status == 401
    assert api.get(f"{url}?token={'0' * 40}").status == 403


def _render_queued(gateway) -> list:
    """Deliver what the documents queue holds to the renderer, as its event source would."""
    from openevent.local.events import sqs_event

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=get_settings().documents_queue)["QueueUrl"]
    handler = gateway.apps("orders").handler_map["render_tickets"]  # as the renderer's role
    results = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            results.append(handler(sqs_event(message, "arn:aws:sqs:us-east-1:1:q",
                                             "us-east-1"), None))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return results


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_a_missing_pdf_is_queued_for_the_renderer_never_rendered_by_the_api(
        api, people, completed, gateway, monkeypatch, tmp_path):
    """Before the renderer has run, downloads answer 202 + Retry-After with a PDF saying the
    tickets are being prepared (what the web app saves), and the order is queued again; the
    renderer's run makes the same downloads answer the tickets."""
    bucket = get_settings().documents_bucket
    _render_queued(gateway)
    key = pipeline.attendee_pdf_key(completed["identifier"], completed["attendees"][1])
    _s3().delete_object(Bucket=bucket, Key=key)
    monkeypatch.setattr(pipeline, "RENDER_WAIT_SECONDS", 0)  # the manifest is seconds old
    attendee = completed["attendees"][1]
    resp = api.get(f"/v1/orders/attendees/{attendee}.pdf", token=people.buyer.token,
                   headers={"Accept": "application/vnd.api+json"})  # the web app's download
    assert resp.status == 202, resp.body[:200]
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Retry-After"] == "10"
    assert "Your tickets are being prepared" in _pdf_text(resp.body, tmp_path)
    resp = api.get(f"/v1/attendees/{attendee}/ticket-pdf", token=people.buyer.token,
                   headers={"Accept": "text/html,*/*;q=0.8"})  # a mailed link, in a browser
    assert resp.status == 202 and resp.headers["Content-Type"].startswith("text/html")
    assert b'http-equiv="refresh"' in resp.body and resp.headers["Retry-After"] == "10"
    assert not pipeline.pdf_exists(key)  # the API functions never render
    assert completed["identifier"] in ",".join(str(r) for r in _render_queued(gateway))
    resp = api.get(f"/v1/orders/attendees/{attendee}.pdf", token=people.buyer.token,
                   headers={"Accept": "application/vnd.api+json"})
    assert resp.status == 200 and resp.body.startswith(b"%PDF-")
    assert "Ada" in _pdf_text(resp.body, tmp_path) or "Grace" in _pdf_text(resp.body, tmp_path)
    assert api.get(f"/v1/attendees/{attendee}/ticket-pdf", token=people.buyer.token
                   ).status == 302


def test_a_download_right_after_completion_does_not_queue_twice(api, people, completed):
    """The manifest was just written, so its render is on its way: no second message."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=get_settings().documents_queue)["QueueUrl"]
    before = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    resp = api.get(f"/v1/tickets/{completed['identifier']}", token=people.buyer.token,
                   headers={"Accept": "application/vnd.api+json"})
    assert resp.status == 202 and resp.body.startswith(b"%PDF-")
    after = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    assert after == before


@pytest.mark.parametrize("accept,binary", [("application/vnd.api+json", True),
                                           ("application/pdf", True),
                                           ("application/json", False), (None, False)])
def test_pdf_answers_follow_api_gateways_binary_rules(api, people, completed, accept, binary):
    """As the deployed REST API: a base64 answer becomes bytes only when the first Accept
    type is one of its binary media types (the web app's JSON:API type is), else the caller
    gets the base64 text."""
    import base64

    pipeline.process_manifest(get_settings().documents_bucket, completed["key"])
    headers = {"Accept": accept} if accept else {}
    resp = api.get(f"/v1/orders/invoices/{completed['identifier']}", token=people.buyer.token,
                   headers=headers)
    assert resp.status == 200
    if binary:
        assert resp.body.startswith(b"%PDF-")
    else:
        assert base64.b64decode(resp.body).startswith(b"%PDF-")


def test_ticket_qr_decodes_to_the_signed_code_of_the_attendee(completed, tmp_path):
    bucket = get_settings().documents_bucket
    pipeline.process_manifest(bucket, completed["key"])
    attendee_id = completed["attendees"][0]
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(_s3().get_object(Bucket=bucket, Key=pipeline.attendee_pdf_key(
        completed["identifier"], attendee_id))["Body"].read())
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "p")], check=True)
    png = sorted(tmp_path.glob("p*.png"))[0]
    decoded = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True,
                             text=True).stdout.strip()
    # the signed ticket code (openevent.signing.codes), verified with the public key alone
    from openevent.signing import codes, keys

    claim = codes.verify(decoded, keys.ring().public)
    assert (claim.attendee_id, claim.version) == (int(attendee_id), 1)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Ada Tester" in text and "PyCon" in text


def test_order_not_completed_has_no_documents(api, people, world, shop):
    resp = api.post("/v1/attendees", attendee_doc(shop.event, shop.paid, firstname="P",
                                                  lastname="Q", email="p@example.com"),
                    token=people.buyer.token)
    aid = resp.json()["data"]["id"]
    order = api.post("/v1/orders", order_doc(shop.event, [aid], **{"payment-mode": "stripe"}),
                     token=people.buyer.token)
    assert order.json()["data"]["attributes"]["status"] == "pending"
    assert api.get(f"/v1/attendees/{aid}/ticket-pdf", token=people.buyer.token).status == 404


def test_manifest_notification_reaches_the_renderer_through_sqs(api, gateway, completed):
    """The real wiring: the documents bucket notifies the queue, the orders group's
    `render_tickets` handler consumes the SQS event (as the event source mapping would)."""
    from openevent.local.events import sqs_event

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=get_settings().documents_queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    messages = []
    for _ in range(5):
        messages += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    handler = gateway.apps("orders").handler_map["render_tickets"]
    results = []
    for message in messages:
        results.append(handler(sqs_event(message, arn, "us-east-1"), None))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [completed["identifier"]] in results  # other messages: s3:TestEvent, nothing to do
    key = pipeline.attendee_pdf_key(completed["identifier"], completed["attendees"][0])
    body = _s3().get_object(Bucket=get_settings().documents_bucket, Key=key)["Body"].read()
    assert body.startswith(b"%PDF")


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("stranger", 403), ("buyer", 200),
                                        ("coorganizer", 200), ("admin", 200)])
def test_web_app_download_paths_answer_the_pdf_bytes(api, people, completed, who, status):
    pipeline.process_manifest(get_settings().documents_bucket, completed["key"])
    token = None if who == "anonymous" else getattr(people, who).token
    ident, first = completed["identifier"], completed["attendees"][0]
    for path in (f"/v1/tickets/{ident}", f"/v1/orders/attendees/{first}.pdf",
                 f"/v1/orders/invoices/{ident}"):
        # with the JSON:API Accept header the app's XHR sends
        resp = api.get(path, token=token, headers={"Accept": "application/vnd.api+json"})
        assert resp.status == status, (path, resp.body[:200])
        if status == 200:
            assert resp.headers["Content-Type"] == "application/pdf"
            assert resp.body.startswith(b"%PDF-"), path
