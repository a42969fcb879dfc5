"""moto's server as the local runtime's embedded AWS: atomic per call, and durable.

The process around the embedded AWS. Guarantees:
- Atomic: moto's DynamoDB backend is serialized per call before it serves
  (`openevent.local.moto_patches`), and its model objects are not kept per request.
- Durable (with `--data-dir`): the store is locked (one server per data dir), the newest
  snapshot generation is loaded and the journal replayed on top before the first answer;
  every acknowledged write is in the fsync'd journal (`openevent.local.durable`). A
  consistent snapshot generation is cut every `OPENEVENT_SNAPSHOT_SECONDS` (60) or
  `OPENEVENT_SNAPSHOT_RECORDS` (5000) journal records, and at SIGTERM; each starts a new
  journal. A deleted journal is detected within a second and everything in memory is
  written as a new generation. A damaged store or a store in use is refused (exit 3).
- The server ignores SIGINT (Ctrl-C in the terminal reaches the whole process group; the
  runtime drains the API first, then sends SIGTERM) and exits when its stdin closes, i.e.
  when the runtime is gone, even after a kill -9.

    python -m openevent.local.moto_server -H 127.0.0.1 -p 5000 [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from openevent.local import store
from openevent.local.durable import DurableApp, say
from openevent.local.moto_patches import (
    lock_moto_dynamodb,
    model_transaction_conflicts,
    untrack_moto_models,
)
from openevent.local.moto_speed import speed_up_moto_dynamodb
from openevent.local.process import limit_malloc_retention

log = logging.getLogger("openevent.moto")


# -- process ------------------------------------------------------------------------------
def _watch_parent() -> None:
    """Exit when stdin reaches EOF: the runtime that holds its other end is gone."""
    def watch() -> None:
        try:
            while os.read(0, 1):
                pass
        except OSError:
            pass
        os._exit(0)  # every acknowledged write is already in the fsync'd journal

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _trace_memory(data_dir: Path) -> None:
    """`OPENEVENT_MOTO_TRACEMALLOC=1` (diagnosis): the first SIGUSR1 starts tracing
    allocations; each later one appends the 25 largest growths since the previous one, by
    traceback, to `<data dir>/moto-tracemalloc.txt`."""
    import tracemalloc

    previous: list[Any] = []

    def dump(*_: Any) -> None:
        import gc

        gc.collect()
        if not tracemalloc.is_tracing():
            tracemalloc.start(25)
            previous[:] = [tracemalloc.take_snapshot()]
            return
        now = tracemalloc.take_snapshot()
        with (data_dir / "moto-tracemalloc.txt").open("a") as out:
            out.write(f"--- {time.ctime()} traced {tracemalloc.get_traced_memory()[0]} B\n")
            for stat in now.compare_to(previous[0], "traceback")[:25]:
                out.write(f"{stat.size_diff / 1024:.0f} KiB in {stat.count_diff} blocks\n")
                out.write("\n".join(stat.traceback.format()[-14:]) + "\n")
        previous[0] = now

    signal.signal(signal.SIGUSR1, dump)


def serve_durable(host: str, port: int, data_dir: Path, watch_parent: bool) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from openevent.local.moto_http import KeepAliveHandler

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    app_box: list[DurableApp] = []

    def on_term(*_: Any) -> None:
        stop.set()
        if app_box:
            app_box[0].wake.set()

    signal.signal(signal.SIGTERM, on_term)
    if watch_parent:
        _watch_parent()
    if os.environ.get("OPENEVENT_MOTO_TRACEMALLOC") == "1":
        _trace_memory(data_dir)
    store_dir = store.store_dir(data_dir)
    try:
        store.lock(store_dir, wait=10.0)
    except store.InUse as exc:
        print(str(exc), file=sys.stderr, flush=True)
        sys.exit(3)
    try:
        plan = store.plan(store_dir)
    except store.DamagedData as exc:
        print(store.describe(exc), file=sys.stderr, flush=True)
        sys.exit(3)
    app = DurableApp(DomainDispatcherApplication(create_backend_app), store_dir)
    app_box.append(app)
    counts = app.load(plan)
    store_dir.mkdir(parents=True, exist_ok=True)
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveHandler)
    app.endpoint = f"http://{host}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    try:
        app.open_journal()
    except store.JournalFull as exc:  # start anyway: reads work; writes wait for space
        app.disk_full = str(exc)
        say(f"openevent: the disk is full ({exc}); writes answer 503 until space is freed.")
    if plan.records and app.journal is not None:
        app.dirty = plan.records  # fold the replayed journal into a fresh generation
        try:
            app.snapshot()
        except OSError as exc:  # the journals still hold everything
            log.warning("snapshot at start failed: %s", exc)
    app.ready = counts
    seconds = float(os.environ.get("OPENEVENT_SNAPSHOT_SECONDS", "60"))
    records = int(os.environ.get("OPENEVENT_SNAPSHOT_RECORDS", "5000"))
    while not stop.is_set():
        app.wake.wait(1.0)
        app.wake.clear()
        journal = app.journal
        if app.lost is None and journal is not None and journal.unlinked():
            with app.lock:
                app._lose(f"the journal {journal.path} was deleted or replaced")
        if app.lost is not None:
            try:
                app.rescue()
            except Exception as exc:  # noqa: BLE001 - retried every second
                log.warning("writing a snapshot from memory failed: %s", exc)
            continue
        due = app.dirty and (app.dirty >= records or time.monotonic() - app.last_cut >= seconds
                             or (app.journal is not None and app.journal.size > 64 << 20))
        if due:
            try:
                app.snapshot()
            except Exception as exc:  # noqa: BLE001 - the journal still holds everything
                log.warning("snapshot failed (%s); the journal keeps every write", exc)
    try:  # while still serving: the cut reads through the API (the runtime has drained)
        app.snapshot()
    except Exception:  # noqa: BLE001
        log.exception("final snapshot failed; the journal keeps every write")
    server.shutdown()
    if app.journal is not None:
        app.journal.close()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    lock_moto_dynamodb()
    untrack_moto_models()
    speed_up_moto_dynamodb()
    args = list(sys.argv[1:] if argv is None else argv)
    if "--transaction-ms" in args:  # benchmarks: DynamoDB's transaction conflicts modelled
        at = args.index("--transaction-ms")
        model_transaction_conflicts(float(args[at + 1]))
        del args[at:at + 2]
    if "--data-dir" not in args:
        from moto.server import main as moto_main

        moto_main(args)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--watch-parent", action="store_true")
    opts = parser.parse_args(args)
    limit_malloc_retention()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    serve_durable(opts.host, opts.port, opts.data_dir, opts.watch_parent)


if __name__ == "__main__":
    main()
