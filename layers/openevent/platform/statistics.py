"""Admin statistics (`/v1/admin/statistics/...`) from counters maintained as things happen.

Each figure is spread over `SHARDS` items of the statistics table (`users#verified#0` ...
`users#verified#7`), one of them changed at random with an atomic ADD by the write that
changes the figure (a user verified, a mail sent, a role granted), so no figure is one item
that every signup in the platform writes (docs/scale.md); the event figures are the sharded
list counts of `openevent.platform.list_counts`, changed inside the event writes'
transactions. Reading the admin dashboard is a BatchGet of the shards, whatever the number of
events or users. The past events are `events#published` minus a count of the published
events not ended yet (`_past_events`), which grows with the live events, not the table. Mails
are counted per UTC day (`mails#<date>`), so "the last 7 days" is the sum of seven day
counters.

A counter update that fails is logged, never raised into the request that did the work: the
figures are a dashboard, not a ledger.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from openevent.models.base import now
from openevent.models.system import Statistic

log = logging.getLogger("openevent.statistics")
PREFIX = ""

EVENT_FIGURES = ("draft", "published", "past")
USER_FIGURES = ("super_admin", "admin", "verified", "unverified", "owner", "organizer",
                "coorganizer", "attendee", "track_organizer")
MAIL_WINDOWS = {"one_day": 1, "three_days": 3, "seven_days": 7, "thirty_days": 30}
SESSION_FIGURES = ("confirmed", "accepted", "submitted", "draft", "rejected", "pending")
GROUP_FIGURES = ("groups", "followers", "group_events")
# Event roles that have a figure of their own on the dashboard.
ROLE_FIGURES = {"owner": "owner", "organizer": "organizer", "coorganizer": "coorganizer",
                "track_organizer": "track_organizer"}


SHARDS = 8
MAIL_SHARDS = 3  # 30 day counters x 3 = one BatchGetItem for the mail figures


def _shards(name: str) -> int:
    return MAIL_SHARDS if name.startswith("mails#") else SHARDS


def bump(name: str, delta: int = 1) -> None:
    """Add `delta` to one shard of counter `name`, chosen at random (atomic; failures are
    logged, not raised)."""
    if not delta:
        return
    shard = secrets.randbelow(_shards(name))
    try:
        Statistic(f"{PREFIX}{name}#{shard}").update(actions=[Statistic.value.add(delta)])
    except Exception as exc:  # noqa: BLE001 - statistics never break the write they count
        log.warning("statistic %s not updated: %s", name, type(exc).__name__)


def read(names: Iterable[str]) -> dict[str, int]:
    """The figures `names`: the sum of each one's shards (plus its unsharded item, where
    figures were kept before they were sharded)."""
    wanted = list(dict.fromkeys(names))
    keys = [f"{PREFIX}{n}#{i}" for n in wanted for i in range(_shards(n))]
    keys += [PREFIX + n for n in wanted]
    owner = {f"{PREFIX}{n}#{i}": n for n in wanted for i in range(_shards(n))}
    owner.update({PREFIX + n: n for n in wanted})
    totals = dict.fromkeys(wanted, 0)
    for start in range(0, len(keys), 100):
        for c in Statistic.batch_get(keys[start:start + 100]):
            totals[owner[str(c.name)]] += int(c.value or 0)
    return {n: max(0, v) for n, v in totals.items()}


# --- the writes that move the figures ------------------------------------------------------

def user_created(is_verified: bool, is_admin: bool, is_super_admin: bool) -> None:
    bump("users#verified" if is_verified else "users#unverified")
    if is_super_admin:
        bump("users#super_admin")
    elif is_admin:
        bump("users#admin")


def user_verified() -> None:
    bump("users#verified")
    bump("users#unverified", -1)


def role_granted(role: str, previous: str | None = None) -> None:
    if previous in ROLE_FIGURES:
        bump(f"users#{ROLE_FIGURES[previous]}", -1)
    if role in ROLE_FIGURES:
        bump(f"users#{ROLE_FIGURES[role]}")


def mail_sent() -> None:
    bump(f"mails#{now().date().isoformat()}")


# --- the dashboard -------------------------------------------------------------------------

def event_statistics() -> dict[str, Any]:
    # The event figures are the list counts (openevent.platform.list_counts), kept exact by
    # the transactions that create, publish and delete events.
    from openevent.platform import list_counts

    counts = list_counts.read(list_counts.event_figure(s) for s in ("draft", "published"))
    published = counts["events#published"]
    return {"draft": counts["events#draft"], "published": published,
            "past": _past_events(published)}


def _past_events(published: int) -> int:
    """Published events that have ended: the maintained `events#published` figure minus the
    published events not ended yet, counted on the ends index from now on (a key condition).
    The read is bounded by the live events, never by the past ones the table accumulates."""
    from openevent.models.events import Event

    live = Event.ends_index.count("published", range_key_condition=Event.ends_at >= now(),
                                  filter_condition=Event.deleted_at.does_not_exist())
    return max(0, published - int(live))


def user_statistics() -> dict[str, Any]:
    counts = read(f"users#{n}" for n in USER_FIGURES)
    return {n: counts[f"users#{n}"] for n in USER_FIGURES}


def mail_statistics() -> dict[str, Any]:
    today = now().date()
    days = [(today - timedelta(days=i)).isoformat() for i in range(30)]
    counts = read(f"mails#{d}" for d in days)
    per_day = [counts[f"mails#{d}"] for d in days]
    return {name: sum(per_day[:window]) for name, window in MAIL_WINDOWS.items()}


def session_statistics() -> dict[str, Any]:
    return dict.fromkeys(SESSION_FIGURES, 0)  # sessions are outside this API's scope


def group_statistics() -> dict[str, Any]:
    return dict.fromkeys(GROUP_FIGURES, 0)  # groups are outside this API's scope
