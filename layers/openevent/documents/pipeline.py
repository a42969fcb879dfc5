"""Ticket documents after an order completes: render, store, link, mail — exactly once.

The orders group writes `manifests/<order identifier>.json` to the documents bucket; the S3
event runs `process_manifest()` (in AWS through Lambda, locally through the runtime's event
pump — the same function). It renders every PDF, stores them under stable keys, sets
`attendee.pdf-url` and `order.tickets-pdf-url` (stable API URLs that redirect to short-lived
presigned S3 URLs), and mails each attendee their ticket and the purchaser the summary.

Retries: a failure raises, so the event is delivered again (an event whose manifest no
longer exists is skipped, not retried). Each mail is claimed with a
conditional put before it is sent (and the claim dropped if sending fails), so a re-delivered
event never sends a mail twice and a retry sends only what was not sent.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from pynamodb.exceptions import PutError

from openevent import aws
from openevent.mail import send_mail
from openevent.models.base import Unique
from openevent.settings import get_settings

log = logging.getLogger("openevent.documents")
MANIFEST_PREFIX = "manifests/"
PRESIGN_SECONDS = 300


class MailNotSent(RuntimeError):
    """Raised after a pass in which some mails failed, so the event is retried."""


def _s3() -> Any:
    return aws.client("s3")


def order_pdf_key(identifier: str) -> str:
    return f"tickets/{identifier}/order.pdf"


def attendee_pdf_key(identifier: str, attendee_id: str) -> str:
    return f"tickets/{identifier}/attendee-{attendee_id}.pdf"


def download_token(kind: str, object_id: str) -> str:
    """A link token for a mailed download (attendees may have no account)."""
    from openevent.security import _secret

    message = f"ticket-download:{kind}:{object_id}".encode()
    return hmac.new(_secret().encode(), message, hashlib.sha256).hexdigest()[:40]


def check_download_token(kind: str, object_id: str, token: str) -> bool:
    return hmac.compare_digest(download_token(kind, object_id), token or "")


def attendee_pdf_url(attendee_id: str) -> str:
    return f"{get_settings().api_base_url}/v1/attendees/{attendee_id}/ticket-pdf"


def order_pdf_url(identifier: str) -> str:
    return f"{get_settings().api_base_url}/v1/orders/{identifier}/tickets-pdf"


def load_manifest(identifier: str) -> Any:
    from openevent.documents.manifest import OrderManifest

    body = _s3().get_object(Bucket=get_settings().documents_bucket,
                            Key=f"{MANIFEST_PREFIX}{identifier}.json")["Body"].read()
    return OrderManifest.from_json(body)


def render_and_store(manifest: Any) -> None:
    """Render every PDF of the order and store them under their stable keys."""
    from openevent.documents.render import render_order

    rendered = render_order(manifest)
    bucket = get_settings().documents_bucket
    _s3().put_object(Bucket=bucket, Key=order_pdf_key(manifest.identifier),
                     Body=rendered.purchaser_pdf, ContentType="application/pdf")
    for attendee_id, pdf in rendered.attendee_pdfs.items():
        _s3().put_object(Bucket=bucket, Key=attendee_pdf_key(manifest.identifier, attendee_id),
                         Body=pdf, ContentType="application/pdf")


def _link_documents(manifest: Any) -> None:
    from openevent.models.orders import Attendee, Order

    for attendee in manifest.attendees:
        Attendee(int(attendee.id)).update(
            actions=[Attendee.pdf_url.set(attendee_pdf_url(attendee.id))])
    for order in Order.identifier_index.query(manifest.identifier, limit=1):
        order.update(actions=[Order.tickets_pdf_url.set(order_pdf_url(manifest.identifier))])


def _send_once(claim: str, to: str, subject: str, text: str, html: str) -> bool:
    """Send unless already sent; True when this call sent it or it was sent before."""
    try:
        Unique(claim, owner="mail").save(condition=Unique.key.does_not_exist())
    except PutError:
        return True  # an earlier delivery sent it
    if send_mail(to, subject, text, html):
        return True
    Unique(claim).delete()  # let the retry send it
    return False


def _mail_documents(manifest: Any) -> None:
    from openevent.documents.mail import attendee_mail, purchaser_mail

    ok = True
    links = {}
    for attendee in manifest.attendees:
        link = (f"{attendee_pdf_url(attendee.id)}"
                f"?token={download_token('attendee', attendee.id)}")
        links[attendee.id] = link
        if not attendee.email:
            continue
        body = attendee_mail(manifest, attendee, link)
        ok &= _send_once(f"mail#ticket#{manifest.identifier}#{attendee.id}", attendee.email,
                         body.subject, body.text, body.html)
    if manifest.purchaser.email:
        order_link = (f"{order_pdf_url(manifest.identifier)}"
                      f"?token={download_token('order', manifest.identifier)}")
        body = purchaser_mail(manifest, order_link, links)
        ok &= _send_once(f"mail#summary#{manifest.identifier}", manifest.purchaser.email,
                         body.subject, body.text, body.html)
    if not ok:
        raise MailNotSent(f"some mails of order {manifest.identifier} were not sent")


def process_manifest(bucket: str, key: str) -> str:
    """The S3-event entry point for `manifests/<identifier>.json`."""
    if bucket != get_settings().documents_bucket or not key.startswith(MANIFEST_PREFIX):
        return "ignored"
    identifier = key[len(MANIFEST_PREFIX):].removesuffix(".json")
    try:
        manifest = load_manifest(identifier)
    except _s3().exceptions.NoSuchKey:
        # S3 events arrive at least once and may outlive their object (a re-delivery after
        # the manifest was deleted): nothing to render, and retrying would never succeed.
        log.warning("manifest %s is gone; nothing to render", key)
        return f"gone:{identifier}"
    render_and_store(manifest)
    _link_documents(manifest)
    _mail_documents(manifest)
    return identifier


def process_notification(body: str) -> str:
    """One SQS message carrying an S3 event notification (keys arrive URL-encoded)."""
    import json
    from urllib.parse import unquote_plus

    done = []
    for record in json.loads(body).get("Records", []):  # s3:TestEvent has no Records
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        done.append(process_manifest(record["s3"]["bucket"]["name"],
                                     unquote_plus(record["s3"]["object"]["key"])))
    return ",".join(done) or "nothing to do"


def presigned_url(key: str) -> str:
    return str(_s3().generate_presigned_url(
        "get_object", Params={"Bucket": get_settings().documents_bucket, "Key": key,
                              "ResponseContentType": "application/pdf"},
        ExpiresIn=PRESIGN_SECONDS))


RENDER_WAIT_SECONDS = 10  # a render takes a few seconds: queue an order again only after


def pdf_exists(key: str) -> bool:
    try:
        _s3().head_object(Bucket=get_settings().documents_bucket, Key=key)
        return True
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, imported lazily
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code not in {"404", "NoSuchKey", "NotFound"}:
            raise
    return False


def request_render(identifier: str) -> bool:
    """Queue the order for the renderer again (the API functions never render): its
    manifest is written anew, so the bucket notifies the renderer's queue. Not when the
    manifest is younger than `RENDER_WAIT_SECONDS` (its render is still on its way); True
    when queued."""
    from datetime import UTC, datetime

    bucket, key = get_settings().documents_bucket, f"{MANIFEST_PREFIX}{identifier}.json"
    try:
        head = _s3().head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError, imported lazily
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            log.error("order %s has no manifest: its documents cannot be rendered", identifier)
            return False
        raise
    age = (datetime.now(UTC) - head["LastModified"]).total_seconds()
    if age < RENDER_WAIT_SECONDS:
        return False
    body = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    _s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    log.info("documents of order %s queued for the renderer again", identifier)
    return True


def ensure_pdf(identifier: str, key: str) -> bool:
    """True when the PDF is there; otherwise the order is queued for the renderer
    (`request_render`) and False: the caller answers `documents.pending`."""
    if pdf_exists(key):
        return True
    request_render(identifier)
    return False
