"""Outgoing mail: SES, plus an `.eml` copy in the outbox directory when one is configured.

The local runtime sets an outbox so a newcomer can read every sent mail as a file. A mail
failure is logged and reported to the caller, never raised into a request that already did
its work (the user is created even if SES is down).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from email.message import EmailMessage

from openevent import aws
from openevent.settings import get_settings

log = logging.getLogger("openevent.mail")
_outbox_lock = threading.Lock()


def build_message(to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = get_settings().mail_sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4()}@openevent.local>"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def _write_outbox(msg: EmailMessage, outbox: str) -> str:
    os.makedirs(outbox, exist_ok=True)
    safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", str(msg["To"]))[:80]
    with _outbox_lock:
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{safe_to}.eml"
        path = os.path.join(outbox, name)
        with open(path, "wb") as fh:
            fh.write(msg.as_bytes())
    return path


def send_mail(to: str, subject: str, text: str, html: str | None = None) -> bool:
    """Send through SES (raw MIME, so HTML and text parts survive); True when sent."""
    msg = build_message(to, subject, text, html)
    settings = get_settings()
    ok = True
    try:
        aws.client("ses").send_raw_email(
            Source=settings.mail_sender, Destinations=[to], RawMessage={"Data": msg.as_bytes()}
        )
    except Exception as exc:  # noqa: BLE001 - mail must never break the request that sent it
        log.warning("mail to %s failed: %s", to.split("@")[-1], type(exc).__name__)
        ok = False
    wrote = False
    if settings.outbox_dir:
        try:
            _write_outbox(msg, settings.outbox_dir)
            wrote = True
        except OSError as exc:  # a full disk: the copy is lost, the request's work is not
            log.warning("mail to %s not copied to the outbox: %s", to.split("@")[-1],
                        exc.strerror or type(exc).__name__)
    if ok or wrote:
        from openevent.platform.statistics import mail_sent

        mail_sent()
    return ok
