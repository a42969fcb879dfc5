"""The edge agent: receive commands, validate them again, run them, publish the results.

Trust nothing from the broker: every function string is parsed again with the lab grammar
(the allow-list decides), commands are de-duplicated by id (QoS 1 may redeliver), expired
commands are refused, and the device is used under one lock (calls and script runs
interleave, one device operation at a time). Outputs are reset when the agent starts and
stops, and before every script run (each run starts from a known device state). Live streams
(``stream`` commands) run in :class:`edge_agent.streaming.StreamRunner`. Results go only to
this device's own ``res`` topic, with the command's correlation
id in the payload and as MQTT 5 correlation data.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from openevent.lab import protocol
from openevent.lab.grammar import FunctionStringError, parse_call
from openevent.lab.mqtt5 import Message

from edge_agent.devices import Device
from edge_agent.sandbox import SandboxLimits, run_script
from edge_agent.streaming import StreamRunner

log = logging.getLogger(__name__)

#: How many command ids are remembered for de-duplication.
SEEN_IDS = 10_000
#: Run widgets are flushed to the broker at least this often while a script runs.
FLUSH_SECONDS = 0.25
#: ...or as soon as this many bytes of widgets are waiting.
FLUSH_BYTES = 32_000
HEARTBEAT_SECONDS = 30.0


class Publish(Protocol):
    def __call__(self, topic: str, payload: bytes, *, correlation_data: bytes | None = None,
                 retain: bool = False, qos: int = 1) -> Any: ...


class Agent:
    """Executes commands for one device. Transport-agnostic: give it a ``publish`` function
    and feed it messages with :meth:`handle_message` (the MQTT session does both)."""

    def __init__(self, device_id: str, device: Device, publish: Publish, *,
                 limits: SandboxLimits | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.device_id = protocol.check_device_id(device_id)
        self.device = device
        self._publish = publish
        self.limits = limits or SandboxLimits()
        self._clock = clock
        self._device_lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._cancels: dict[str, threading.Event] = {}
        self._calls: queue.Queue[Any] = queue.Queue()
        self._runs: queue.Queue[Any] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.executed = 0  # device calls carried out (for tests and logs)
        self.streams = StreamRunner(self.device_id, self.execute, self._publish_frame,
                                    clock=clock)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Reset the device's outputs and start the call and run workers."""
        with self._device_lock:
            self.device.reset()
        self._stopping.clear()
        for name, q in (("calls", self._calls), ("runs", self._runs)):
            t = threading.Thread(target=self._work, args=(q,), name=f"agent-{name}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Stop the workers (after the command in hand) and reset the device's outputs."""
        self._stopping.set()
        self.streams.stop()
        for q in (self._calls, self._runs):
            q.put(None)
        for t in self._threads:
            t.join(timeout=self.limits.wall_seconds + 5)
        self._threads.clear()
        with self._device_lock:
            self.device.reset()

    def publish_status(self, online: bool = True) -> Any:
        """Retained online/offline status (also the heartbeat); returns the publish's result."""
        return self._publish(protocol.status_topic(self.device_id),
                      protocol.encode(protocol.make_status(self.device_id, online)),
                      retain=True)

    # -- receiving -----------------------------------------------------------------------

    def handle_message(self, message: Message) -> None:
        """Accept one message from the command topic; never blocks on the device."""
        if self._stream_command(message):
            message.ack()
            return
        try:
            command = protocol.parse_command(message.payload)
        except protocol.ProtocolError as exc:
            self._refuse_unparsed(message, str(exc))
            message.ack()
            return
        corr = message.correlation_data or command.id.encode()
        if not self._first_time(command.id):
            log.info("ignored redelivered command %s", command.id)
            message.ack()
            return
        if command.expired(self._clock()):
            self._finish(command, corr, "failed", error="the command expired before it ran")
            message.ack()
            return
        # Acknowledged once handled (see Mqtt5Session manual_ack): after the result for a
        # call, after the start of a run.
        queue_ = self._calls if command.kind == "call" else self._runs
        queue_.put((command, corr, message.ack))

    def _stream_command(self, message: Message) -> bool:
        """Hand a ``stream`` command to the stream runner; False for any other message."""
        try:
            raw = protocol.decode(message.payload)
        except protocol.ProtocolError:
            return False
        if raw.get("kind") == "cancel":
            self._cancel_run(raw.get("run"))
            return True
        if raw.get("kind") != "stream":
            return False
        try:
            self.streams.handle(raw)
        except protocol.ProtocolError as exc:
            log.warning("dropped stream command: %s", exc)
        return True

    def _cancel_run(self, run_id: Any) -> None:
        """Stop a run (running or still queued) at its user's request."""
        if not isinstance(run_id, str) or not 0 < len(run_id) <= 128:
            return
        with self._seen_lock:
            event = self._cancels.setdefault(run_id, threading.Event())
            while len(self._cancels) > 1000:
                self._cancels.pop(next(iter(self._cancels)))
        event.set()

    def _publish_frame(self, topic: str, payload: bytes) -> Any:
        return self._publish(topic, payload, qos=0)

    def _first_time(self, command_id: str) -> bool:
        with self._seen_lock:
            if command_id in self._seen:
                return False
            self._seen[command_id] = None
            while len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
            return True

    def _refuse_unparsed(self, message: Message, why: str) -> None:
        """A malformed command: answer it if it at least names a call id, else drop it."""
        try:
            raw = protocol.decode(message.payload)
        except protocol.ProtocolError:
            log.warning("dropped malformed command: %s", why)
            return
        cid = raw.get("id")
        if raw.get("kind") == "call" and isinstance(cid, str) and 0 < len(cid) <= 128 \
                and self._first_time(cid):
            try:
                self._send(protocol.make_call_result(cid, self.device_id, "failed",
                                                     error=f"malformed command: {why}"),
                           message.correlation_data or cid.encode())
            except protocol.ProtocolError:
                log.warning("dropped malformed command: %s", why)
        else:
            log.warning("dropped malformed command: %s", why)

    # -- executing -----------------------------------------------------------------------

    def _work(self, q: queue.Queue[Any]) -> None:
        while True:
            item = q.get()
            if item is None:
                return
            command, corr, ack = item
            try:
                if command.expired(self._clock()):
                    self._finish(command, corr, "failed",
                                 error="the command expired before it ran")
                elif command.kind == "call":
                    self._run_call(command, corr)
                else:
                    self._run_script(command, corr, ack)
            except Exception:  # a worker must survive anything one command does
                log.exception("command %s failed", command.id)
                self._finish(command, corr, "failed", error="internal error in the agent")
            finally:
                ack()

    def execute(self, function: str) -> Any:
        """Validate ``function`` with the grammar and run it on the device under the lock.

        Raises FunctionStringError for a refused string; device errors propagate.
        """
        call = parse_call(function)
        with self._device_lock:
            self.executed += 1
            return self.device.call(call.name, call.args)

    def _run_call(self, command: protocol.Command, corr: bytes) -> None:
        try:
            result = self.execute(command.function or "")
        except FunctionStringError as exc:
            self._finish(command, corr, "failed", error=exc.detail)
            return
        except Exception as exc:
            log.warning("device call %s failed: %s", command.id, exc)
            self._finish(command, corr, "failed", error=f"device error: {exc}"[:300])
            return
        self._finish(command, corr, "done", result=result)

    def _run_script(self, command: protocol.Command, corr: bytes,
                    ack: Callable[[], None] = lambda: None) -> None:
        seq = 0
        pending: list[dict[str, Any]] = []
        pending_bytes = 0
        last_flush = time.monotonic()
        lock = threading.Lock()  # emit (the sandbox's reader) and the ticker both flush

        def flush(status: str = "running", final: bool = False,
                  reason: str | None = None) -> None:
            nonlocal seq, pending, pending_bytes, last_flush
            chunks = list(protocol.chunk_widgets(pending)) or [[]]
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                self._send(protocol.make_run_update(
                    command.id, self.device_id, status if (final and last) else "running",
                    seq, chunk, final=final and last, reason=reason), corr)
                seq += 1
            pending, pending_bytes, last_flush = [], 0, time.monotonic()

        def emit(widget: dict[str, Any]) -> None:
            nonlocal pending_bytes
            with lock:
                pending.append(widget)
                pending_bytes += len(str(widget))
                if pending_bytes >= FLUSH_BYTES or \
                        time.monotonic() - last_flush >= FLUSH_SECONDS:
                    flush()

        finished = threading.Event()

        def tick() -> None:
            # Output of a script that then computes (or waits) a long time still shows
            # within FLUSH_SECONDS, not only when its next widget comes.
            while not finished.wait(FLUSH_SECONDS):
                with lock:
                    if pending and not finished.is_set():
                        flush()

        with self._device_lock:
            self.device.reset()  # a known state: nothing a previous run or user set is left on
        flush()  # tells the cloud the run has started (seq 0, status running)
        ack()
        with self._seen_lock:
            cancel = self._cancels.setdefault(command.id, threading.Event())
        ticker = threading.Thread(target=tick, name="agent-run-flush", daemon=True)
        ticker.start()
        try:
            outcome = run_script(command.code or "", call_device=self.execute, emit=emit,
                                 limits=self.limits, check_button=parse_call, cancel=cancel)
        finally:
            with lock:
                finished.set()
            ticker.join(timeout=5)
            with self._seen_lock:
                self._cancels.pop(command.id, None)
        flush(outcome.status, final=True, reason=outcome.reason)

    def _finish(self, command: protocol.Command, corr: bytes, status: str,
                result: Any = None, error: str | None = None) -> None:
        if command.kind == "call":
            msg = protocol.make_call_result(command.id, self.device_id, status, result=result,
                                            error=error)
        else:
            msg = protocol.make_run_update(command.id, self.device_id, status, 0, [],
                                           final=True, reason=error)
        self._send(msg, corr)

    def _send(self, msg: dict[str, Any], corr: bytes | None) -> None:
        self._publish(protocol.res_topic(self.device_id), protocol.encode(msg),
                      correlation_data=corr)


class SessionPublisher:
    """Adapts an :class:`openevent.lab.mqtt5.Mqtt5Session` to the agent's ``publish``."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, topic: str, payload: bytes, *, correlation_data: bytes | None = None,
                 retain: bool = False, qos: int = 1) -> Any:
        # Not waiting for the PUBACK: awscrt queues it and retries while offline.
        return self.session.publish(topic, payload, correlation_data=correlation_data,
                                    retain=retain, qos=qos)


def heartbeat(agent: Agent, stop: threading.Event,
              every: float = HEARTBEAT_SECONDS) -> threading.Thread:
    """Publish ``online`` every ``every`` seconds until ``stop`` is set."""
    def beat() -> None:
        while not stop.wait(every):
            try:
                agent.publish_status(True)
            except Exception:
                log.warning("heartbeat failed", exc_info=True)

    t = threading.Thread(target=beat, name="agent-heartbeat", daemon=True)
    t.start()
    return t
