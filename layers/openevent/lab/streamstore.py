"""Live streams in DynamoDB, for the API Gateway WebSocket API (AWS; see ``streamws``).

One table, ``lab-streams``, keyed ``(pk, sk)``:

- ``("conn#<connection id>", "conn")`` — a connected viewer: user, token expiry, device.
- ``("device#<device>", "stream")`` — the device's one stream: id, instrument, settings, key,
  when its lease was last renewed.
- ``("device#<device>", "conn#<connection id>")`` — a viewer of that stream (fan-out reads
  them with one Query).

Guarantees: at most one stream item per device — it is created with a condition that none
exists and changed with a condition on its id, so two Lambdas racing to open different
settings cannot both win; the loser answers ``busy``. Items carry ``expires_at`` (DynamoDB
TTL) so a connection that never said goodbye disappears by itself.
"""

from __future__ import annotations

import json
import time
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from openevent.models.base import table_meta

#: A stream item outlives its last renewal by this much (then TTL may remove it).
STREAM_TTL = 3600


class StreamItem(Model):
    """Connections, device streams and viewers of live lab streams (see the module doc)."""

    Meta = table_meta("lab-streams")  # type: ignore[assignment]

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute(null=True)
    device = UnicodeAttribute(null=True)
    stream_id = UnicodeAttribute(null=True)
    instrument = UnicodeAttribute(null=True)
    settings = UnicodeAttribute(null=True)  # canonical JSON
    key = UnicodeAttribute(null=True)
    token_expires_at = NumberAttribute(null=True)
    last_active = NumberAttribute(null=True)
    renewed_at = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # DynamoDB TTL

    @property
    def connection_id(self) -> str:
        return self.sk.split("#", 1)[1] if self.sk.startswith("conn#") else \
            self.pk.split("#", 1)[1]

    def settings_dict(self) -> dict[str, Any]:
        return json.loads(self.settings or "{}")


def _conn_pk(connection_id: str) -> str:
    return f"conn#{connection_id}"


def _device_pk(device: str) -> str:
    return f"device#{device}"


def add_connection(connection_id: str, user_id: str, token_expires_at: float) -> None:
    StreamItem(_conn_pk(connection_id), "conn", user_id=user_id,
               token_expires_at=token_expires_at, last_active=time.time(),
               expires_at=int(token_expires_at) + 60).save()


def get_connection(connection_id: str) -> StreamItem | None:
    try:
        return StreamItem.get(_conn_pk(connection_id), "conn")
    except DoesNotExist:
        return None


def touch_connection(connection_id: str, device: str | None = None) -> None:
    """The viewer said something: not idle (on its connection and its viewer item)."""
    items = [(_conn_pk(connection_id), "conn")]
    if device:
        items.append((_device_pk(device), f"conn#{connection_id}"))
    for pk, sk in items:
        try:
            StreamItem(pk, sk).update(actions=[StreamItem.last_active.set(time.time())],
                                      condition=StreamItem.pk.exists())
        except UpdateError:
            pass


def get_stream(device: str) -> StreamItem | None:
    try:
        return StreamItem.get(_device_pk(device), "stream")
    except DoesNotExist:
        return None


def create_stream(device: str, stream_id: str, instrument: str, settings: dict[str, Any],
                  key: str) -> bool:
    """Create the device's stream; False if it already has one (someone else won)."""
    try:
        StreamItem(_device_pk(device), "stream", device=device, stream_id=stream_id,
                   instrument=instrument, settings=json.dumps(settings, sort_keys=True),
                   key=key, renewed_at=time.time(),
                   expires_at=int(time.time()) + STREAM_TTL).save(
            condition=StreamItem.pk.does_not_exist())
        return True
    except PutError:
        return False


def change_stream(device: str, stream_id: str, instrument: str, settings: dict[str, Any],
                  key: str) -> bool:
    """New settings for the stream ``stream_id``; False if it is no longer the device's."""
    try:
        StreamItem(_device_pk(device), "stream").update(actions=[
            StreamItem.instrument.set(instrument),
            StreamItem.settings.set(json.dumps(settings, sort_keys=True)),
            StreamItem.key.set(key), StreamItem.renewed_at.set(time.time())],
            condition=StreamItem.stream_id == stream_id)
        return True
    except UpdateError:
        return False


def renew_stream(device: str, stream_id: str) -> None:
    try:
        StreamItem(_device_pk(device), "stream").update(actions=[
            StreamItem.renewed_at.set(time.time()),
            StreamItem.expires_at.set(int(time.time()) + STREAM_TTL)],
            condition=StreamItem.stream_id == stream_id)
    except UpdateError:
        pass


def delete_stream(device: str, stream_id: str) -> bool:
    """Delete the stream if it is still ``stream_id``; True if this call deleted it."""
    from pynamodb.exceptions import DeleteError

    try:
        StreamItem(_device_pk(device), "stream").delete(
            condition=StreamItem.stream_id == stream_id)
        return True
    except DeleteError:
        return False


def viewers(device: str) -> list[StreamItem]:
    return list(StreamItem.query(_device_pk(device), StreamItem.sk.startswith("conn#")))


def add_viewer(device: str, connection: StreamItem) -> None:
    cid = connection.connection_id
    StreamItem(_device_pk(device), f"conn#{cid}", user_id=connection.user_id,
               token_expires_at=connection.token_expires_at, last_active=time.time(),
               expires_at=connection.expires_at).save()
    StreamItem(_conn_pk(cid), "conn").update(actions=[StreamItem.device.set(device)])


def remove_viewer(device: str, connection_id: str) -> None:
    StreamItem(_device_pk(device), f"conn#{connection_id}").delete()
    try:
        StreamItem(_conn_pk(connection_id), "conn").update(
            actions=[StreamItem.device.remove()], condition=StreamItem.pk.exists())
    except UpdateError:
        pass


def remove_connection(connection_id: str) -> None:
    StreamItem(_conn_pk(connection_id), "conn").delete()
