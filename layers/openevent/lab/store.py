"""Lab state in DynamoDB (PynamoDB): devices, calls, scripts, runs and run output.

Tables (prefix ``OPENEVENT_TABLE_PREFIX``, default ``openevent-``; region
``AWS_DEFAULT_REGION``, default us-east-1; ``AWS_ENDPOINT_URL`` is honoured by PynamoDB, so
there is no host setting). Table names are read from the environment at import time.

==================  ======================  ==========================================
table               keys                    holds
==================  ======================  ==========================================
lab-devices         kind (="device"), id    online, last-seen (Query kind="device")
lab-calls           id                      user, device, function, status, result
lab-scripts         user_id, id             a user's own scripts (Query by user)
lab-runs            id                      user, device, source, status, reason
lab-run-output      run_id, seq             widgets of one run update (Query by run)
==================  ======================  ==========================================

Every function below uses GetItem, Query or conditional writes on keys: no Scan.
State transitions are conditional (a call leaves ``pending`` once; a run never leaves a
final status), so redelivered or late MQTT messages cannot undo a result.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from openevent.lab.protocol import RUN_FINAL_STATUSES
from openevent.models.base import table_meta

#: A device counts as offline if it was last seen longer ago than this, even without a will.
DEVICE_STALE_SECONDS = 120


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random, URL- and topic-safe id."""
    return uuid.uuid4().hex


class Device(Model):
    """A lab host (edge agent). All devices share the partition ``kind="device"``."""

    Meta = table_meta("lab-devices")  # type: ignore[assignment]

    kind = UnicodeAttribute(hash_key=True, default="device")
    id = UnicodeAttribute(range_key=True)
    online = BooleanAttribute(default=False)
    last_seen = UTCDateTimeAttribute(null=True)
    #: Agent clock of the last status message (information only).
    status_at = NumberAttribute(default=0)

    def is_online(self, now: float | None = None) -> bool:
        """Online per the last status, and seen recently."""
        if not self.online or self.last_seen is None:
            return False
        now = time.time() if now is None else now
        return now - self.last_seen.timestamp() <= DEVICE_STALE_SECONDS

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "online": self.is_online(),
                "last-seen": self.last_seen.isoformat() if self.last_seen else None}


class CallRecord(Model):
    """One function call: ``pending`` until the agent's result makes it ``done``/``failed``."""

    Meta = table_meta("lab-calls")  # type: ignore[assignment]

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    function = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")
    result = JSONAttribute(null=True)
    error = UnicodeAttribute(null=True)
    downsampled = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=_now)
    expires_at = NumberAttribute()
    finished_at = UTCDateTimeAttribute(null=True)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status, "device": self.device_id,
                               "function": self.function}
        if self.status == "done":
            out["result"] = self.result
            if self.downsampled:
                out["downsampled"] = int(self.downsampled)
        if self.status == "failed":
            out["error"] = self.error
        return out


class Script(Model):
    """A user's saved script. Keyed by user so listing one user's scripts is a Query."""

    Meta = table_meta("lab-scripts")  # type: ignore[assignment]

    user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    title = UnicodeAttribute()
    code = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(default=_now)
    updated_at = UTCDateTimeAttribute(default=_now)


class Run(Model):
    """One script run: queued → running → done | failed | timeout."""

    Meta = table_meta("lab-runs")  # type: ignore[assignment]

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    #: ``script:<id>`` or ``example:<name>``.
    source = UnicodeAttribute()
    status = UnicodeAttribute(default="queued")
    reason = UnicodeAttribute(null=True)
    #: seq of the final update, once known: output is complete when seq 0..last_seq are stored.
    last_seq = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=_now)
    expires_at = NumberAttribute()
    finished_at = UTCDateTimeAttribute(null=True)


class RunOutput(Model):
    """Widgets of one run update, stored by (run, seq): idempotent and order-free."""

    Meta = table_meta("lab-run-output")  # type: ignore[assignment]

    run_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    widgets = JSONAttribute()


MODELS: tuple[type[Model], ...] = (Device, CallRecord, Script, Run, RunOutput)


def create_tables() -> None:
    """Create the lab tables that do not exist yet (idempotent)."""
    for model in MODELS:
        if not model.exists():
            model.create_table(wait=True)


# ------------------------------------------------------------------ devices


def record_device_status(device_id: str, online: bool, at: float | None = None) -> None:
    """Apply a status message from ``device_id`` (last write wins).

    The agent's own clock (``at``) is kept for information only: the offline status is the
    MQTT last will, prepared when the agent connected, so its time is older than it looks.
    """
    Device(kind="device", id=device_id).update(actions=[
        Device.online.set(online), Device.last_seen.set(_now()),
        Device.status_at.set(at if at is not None else time.time())])


def touch_device(device_id: str) -> None:
    """Mark a known device as seen now (any result from it proves it is alive)."""
    try:
        Device(kind="device", id=device_id).update(
            actions=[Device.last_seen.set(_now())],
            condition=Device.id.exists(),
        )
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise


def list_devices() -> list[Device]:
    """Every lab device (one Query on the shared partition)."""
    return list(Device.query("device"))


def get_device(device_id: str) -> Device | None:
    try:
        return Device.get("device", device_id)
    except DoesNotExist:
        return None


def pick_device(device_id: str | None = None) -> str | None:
    """``device_id`` if it is online; with None, the first online device. None if none is."""
    if device_id is not None:
        dev = get_device(device_id)
        return dev.id if dev is not None and dev.is_online() else None
    for dev in list_devices():
        if dev.is_online():
            return dev.id
    return None


# -------------------------------------------------------------------- calls


def create_call(user_id: str, device_id: str, function: str,
                ttl: float, call_id: str | None = None) -> CallRecord:
    """Store a new ``pending`` call for the canonical function string ``function``."""
    rec = CallRecord(id=call_id or new_id(), user_id=user_id, device_id=device_id,
                     function=function, status="pending", expires_at=time.time() + ttl)
    rec.save(condition=CallRecord.id.does_not_exist())
    return rec


def get_call(call_id: str) -> CallRecord | None:
    """The call, or None. A pending call past its expiry (plus grace) is failed here."""
    try:
        rec = CallRecord.get(call_id, consistent_read=True)
    except DoesNotExist:
        return None
    if rec.status == "pending" and time.time() > rec.expires_at + 5:
        complete_call(call_id, "failed", error="the device did not answer in time")
        rec.refresh(consistent_read=True)
    return rec


def complete_call(call_id: str, status: str, result: Any = None, error: str | None = None,
                  downsampled: int | None = None) -> bool:
    """Move a pending call to ``done``/``failed``. False if it was not pending (duplicate)."""
    if status not in ("done", "failed"):
        raise ValueError(f"bad call status {status!r}")
    actions: list[Any] = [CallRecord.status.set(status), CallRecord.finished_at.set(_now())]
    if status == "done":
        actions.append(CallRecord.result.set(result))
        if downsampled:
            actions.append(CallRecord.downsampled.set(downsampled))
    else:
        actions.append(CallRecord.error.set((error or "failed")[:500]))
    try:
        CallRecord(id=call_id).update(actions=actions,
                                      condition=CallRecord.status == "pending")
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def wait_for_call(call_id: str, timeout: float, interval: float = 0.01) -> CallRecord | None:
    """Poll the call until it is no longer pending or ``timeout`` seconds pass.

    Returns the last record read (possibly still pending), or None if there is no such call.
    The interval grows from ``interval`` (a device answers in milliseconds on a LAN) to
    0.25 s, so a quick answer is seen quickly and long waits cost few reads.
    """
    deadline = time.monotonic() + max(timeout, 0)
    delay = interval
    while True:
        rec = get_call(call_id)
        if rec is None or rec.status != "pending":
            return rec
        left = deadline - time.monotonic()
        if left <= 0:
            return rec
        time.sleep(min(delay, left))
        delay = min(delay * 1.5, 0.25)


# ------------------------------------------------------------------ scripts


def create_script(user_id: str, title: str, code: str) -> Script:
    script = Script(user_id=user_id, id=new_id(), title=title, code=code)
    script.save(condition=Script.id.does_not_exist())
    return script


def get_script(user_id: str, script_id: str) -> Script | None:
    """The user's script, or None (someone else's script is None too)."""
    try:
        return Script.get(user_id, script_id)
    except DoesNotExist:
        return None


def list_scripts(user_id: str, limit: int | None = None,
                 last_key: dict[str, Any] | None = None) -> list[Script]:
    """The user's scripts, oldest id first (one Query). Page with ``limit``/``last_key``."""
    return list(Script.query(user_id, limit=limit, last_evaluated_key=last_key))


def update_script(user_id: str, script_id: str, title: str | None = None,
                  code: str | None = None) -> Script | None:
    """Change title and/or code of the user's script; None if there is no such script."""
    script = Script(user_id=user_id, id=script_id)
    actions: list[Any] = [Script.updated_at.set(_now())]
    if title is not None:
        actions.append(Script.title.set(title))
    if code is not None:
        actions.append(Script.code.set(code))
    try:
        script.update(actions=actions, condition=Script.id.exists())
    except UpdateError as exc:
        if _conditional_failed(exc):
            return None
        raise
    return script


def delete_script(user_id: str, script_id: str) -> bool:
    """Delete the user's script; False if there was none."""
    try:
        Script(user_id=user_id, id=script_id).delete(condition=Script.id.exists())
    except DeleteError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


# --------------------------------------------------------------------- runs


def create_run(user_id: str, device_id: str, source: str, ttl: float,
               run_id: str | None = None) -> Run:
    """Store a new ``queued`` run."""
    run = Run(id=run_id or new_id(), user_id=user_id, device_id=device_id, source=source,
              status="queued", expires_at=time.time() + ttl)
    run.save(condition=Run.id.does_not_exist())
    return run


def get_run(run_id: str) -> Run | None:
    """The run, or None. A run still queued past its expiry (plus grace) is failed here."""
    try:
        run = Run.get(run_id, consistent_read=True)
    except DoesNotExist:
        return None
    if run.status == "queued" and time.time() > run.expires_at + 5:
        set_run_status(run_id, "failed", reason="the device did not start the run in time")
        run.refresh(consistent_read=True)
    return run


def set_run_status(run_id: str, status: str, reason: str | None = None,
                   last_seq: int | None = None) -> bool:
    """Move a run forward; never out of a final status. False if the move was refused."""
    actions: list[Any] = [Run.status.set(status)]
    if status in RUN_FINAL_STATUSES:
        actions.append(Run.finished_at.set(_now()))
        if reason:
            actions.append(Run.reason.set(reason[:500]))
    if last_seq is not None:
        actions.append(Run.last_seq.set(last_seq))
    allowed_from = ["queued"] if status == "running" else ["queued", "running"]
    try:
        Run(id=run_id).update(actions=actions, condition=Run.id.exists()
                              & Run.status.is_in(*allowed_from))
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def put_run_output(run_id: str, seq: int, widgets: list[dict[str, Any]]) -> None:
    """Store the widgets of update ``seq`` (idempotent)."""
    try:
        RunOutput(run_id=run_id, seq=seq, widgets=widgets).save(
            condition=RunOutput.seq.does_not_exist())
    except PutError as exc:
        if not _conditional_failed(exc):
            raise


def get_run_output(run_id: str) -> list[dict[str, Any]]:
    """All widgets of the run, in the order the script emitted them (one Query)."""
    out: list[dict[str, Any]] = []
    for chunk in RunOutput.query(run_id, consistent_read=True):
        out.extend(chunk.widgets or [])
    return out


def run_to_json(run: Run) -> dict[str, Any]:
    """``{"id","status","reason","device","source","output"}`` for ``GET /v1/lab/runs/<id>``
    (``source`` is ``script:<id>`` or ``example:<name>``: a reloaded run page names it)."""
    return {"id": run.id, "status": run.status, "reason": run.reason,
            "device": run.device_id, "source": run.source, "output": get_run_output(run.id)}


def _conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"
