"""Powertools observability through the shared request path (openevent.observability)."""

from __future__ import annotations

import json
import logging

import pytest
from chalice.test import Client
from openevent import observability, web
from openevent.errors import NotFound


def _reset() -> None:
    for fn in (observability._build_logger, observability.metrics, observability.tracer):
        fn.cache_clear()
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if name.startswith("openevent") and isinstance(lg, logging.Logger):
            for h in lg.handlers:
                if isinstance(h, logging.FileHandler):
                    h.close()
            lg.handlers = [h for h in lg.handlers if not isinstance(h, logging.FileHandler)]
            lg.propagate = True  # as pytest's log capture expects for the rest of the run
    powertools = logging.getLogger(observability._service())
    powertools.handlers = []
    for attr in [a for a in powertools.__dict__ if a == "init" or a.startswith("powertools")]:
        del powertools.__dict__[attr]  # let Powertools configure it afresh


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    _reset()
    yield monkeypatch
    _reset()


def _app():
    app = web.create_app("observed")

    @web.route(app, "/v1/things/{thing_id}")
    def thing(thing_id: str):
        if thing_id == "boom":
            raise RuntimeError("unexpected")
        if thing_id == "warn":
            logging.getLogger("openevent.things").warning("a core warning")
        if thing_id == "none":
            raise NotFound("Thing not found", parameter="id")
        return web.plain({"id": thing_id})

    return app


def test_local_requests_log_json_lines_with_correlation_id_to_the_data_dir(fresh, tmp_path):
    fresh.setenv("OPENEVENT_DATA_DIR", str(tmp_path))
    with Client(_app()) as client:
        assert client.http.get("/v1/things/1", headers={"X-Correlation-Id": "abc-123"}
                               ).status_code == 200
        assert client.http.get("/v1/things/none").status_code == 404
        assert client.http.get("/v1/things/boom").status_code == 500
        assert client.http.get("/v1/things/warn", headers={"X-Correlation-Id": "w-1"}
                               ).status_code == 200
    lines = [json.loads(x) for x in (tmp_path / "logs" / "openevent.log").read_text()
             .splitlines()]
    requests = [x for x in lines if x["message"] == "request"]
    assert [r["status"] for r in requests] == [200, 404, 500, 200]
    assert requests[0]["correlation_id"] == "abc-123"
    assert requests[0]["route"] == "/v1/things/{thing_id}" and requests[0]["method"] == "GET"
    # the core's own loggers land in the same file, as JSON with the correlation id
    (warning,) = [x for x in lines if x["message"] == "a core warning"]
    assert warning["level"] == "WARNING" and warning["correlation_id"] == "w-1"


def test_in_lambda_metrics_are_flushed_as_emf_per_invocation(fresh, capsys):
    fresh.setenv("AWS_LAMBDA_FUNCTION_NAME", "observed")
    fresh.setenv("POWERTOOLS_METRICS_NAMESPACE", "OpenEventTest")
    with Client(_app()) as client:
        assert client.http.get("/v1/things/boom").status_code == 500
    captured = capsys.readouterr().out
    out = [json.loads(x) for x in captured.splitlines() if x.startswith("{")]
    emf = [x for x in out if "_aws" in x]
    assert emf and emf[-1]["Errors"] in ([1.0], 1.0)
    assert emf[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "OpenEventTest"
    assert any(x.get("message") == "request" and x.get("status") == 500 for x in out)


def test_a_hostile_correlation_header_is_not_echoed_into_logs(fresh, tmp_path):
    fresh.setenv("OPENEVENT_DATA_DIR", str(tmp_path))
    with Client(_app()) as client:
        client.http.get("/v1/things/1", headers={"X-Correlation-Id": "x\ny" * 100})
    (line,) = [json.loads(x) for x in (tmp_path / "logs" / "openevent.log").read_text()
               .splitlines() if '"request"' in x]
    assert "\n" not in line["correlation_id"] and len(line["correlation_id"]) <= 128
