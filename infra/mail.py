"""The deployment's mail sender: `mail_sender` context (`make deploy MAIL_SENDER=...`).

An address (`tickets@example.org`) is verified as an SES email identity and used as the
sender. A domain (`example.org`) is verified as an SES domain identity (DKIM records to add
to its DNS) and the sender becomes `no-reply@<domain>` — a bare domain is no address, and
mail sent "from" it would be refused. Anything else is refused at synthesis with a message
naming the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOMAIN_SENDER = "no-reply"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")


@dataclass(frozen=True)
class MailSender:
    identity: str  # what SES verifies: the address, or the domain
    is_domain: bool
    address: str  # the From address the functions send as


def mail_sender(value: str) -> MailSender:
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at:
        if _DOMAIN.fullmatch(value):
            return MailSender(value.lower(), True, f"{DOMAIN_SENDER}@{value.lower()}")
    elif _LOCAL.fullmatch(local) and _DOMAIN.fullmatch(domain) and ".." not in local:
        return MailSender(value, False, value)
    raise ValueError(f"mail_sender {value!r} is neither an email address nor a domain: set "
                     "MAIL_SENDER=tickets@example.org (an address SES verifies) or "
                     "MAIL_SENDER=example.org (a domain; mail is sent as "
                     f"{DOMAIN_SENDER}@example.org)")
