"""The local logs are rotated by size with a kept count (issue #27, 6): the request log
(`<data dir>/logs/openevent.log`, one JSON line per request) and the embedded AWS's log
never grow without bound; a log on a full disk drops lines without a traceback."""

from __future__ import annotations

import contextlib
import io
import json

from chalice.test import Client

from tests.infra.test_observability import _app, fresh  # noqa: F401 - the fixture


def test_the_request_log_rotates_by_size_and_keeps_a_count(fresh, tmp_path):  # noqa: F811
    fresh.setenv("OPENEVENT_DATA_DIR", str(tmp_path))
    fresh.setenv("OPENEVENT_LOG_MAX_BYTES", "20000")
    fresh.setenv("OPENEVENT_LOG_BACKUPS", "2")
    with Client(_app()) as client:
        for i in range(400):  # ~300 bytes a request: ~120 kB written in all
            assert client.http.get(f"/v1/things/{i}").status_code == 200
    logs = tmp_path / "logs"
    names = sorted(p.name for p in logs.iterdir())
    assert names == ["openevent.log", "openevent.log.1", "openevent.log.2"]
    sizes = [(logs / name).stat().st_size for name in names]
    assert all(size <= 20000 for size in sizes), sizes
    newest = [json.loads(x) for x in (logs / "openevent.log").read_text().splitlines()]
    assert newest[-1]["message"] == "request" and newest[-1]["status"] == 200


def test_the_embedded_aws_log_rotates_too(tmp_path, monkeypatch):
    from openevent.local.supervisor import relay_lines

    monkeypatch.setenv("OPENEVENT_LOG_MAX_BYTES", "5000")
    monkeypatch.setenv("OPENEVENT_LOG_BACKUPS", "1")
    stream = io.BytesIO(b"".join(b"moto line %05d of its stderr\n" % i for i in range(1000)))
    last: list[str] = []
    relay_lines(stream, tmp_path / "moto.log", last)
    assert last == ["moto line 00999 of its stderr"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moto.log", "moto.log.1"]
    assert all(p.stat().st_size <= 5000 for p in tmp_path.iterdir())


def test_a_log_that_cannot_be_written_drops_lines_quietly(fresh, tmp_path, capfd):  # noqa: F811
    fresh.setenv("OPENEVENT_DATA_DIR", str(tmp_path))
    with Client(_app()) as client:
        assert client.http.get("/v1/things/1").status_code == 200
        from openevent import log_files, observability

        handler = next(h for h in observability.logger().handlers
                       if isinstance(h, log_files.RotatingLog))
        handler.stream.close()
        handler.stream = open("/dev/full", "w")  # noqa: SIM115 - every write: ENOSPC
        for i in range(5):
            assert client.http.get(f"/v1/things/{i}").status_code == 200
        with contextlib.suppress(OSError):
            handler.stream.close()
        handler.stream = None  # reopened on the next record: writing works again
        assert client.http.get("/v1/things/ok").status_code == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Logging error" not in err, err
    assert err.count("cannot write the log") == 1, err
    assert '"route":"/v1/things/{thing_id}"' in (tmp_path / "logs" / "openevent.log"
                                                 ).read_text().replace(" ", "")
