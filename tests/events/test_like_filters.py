"""Issue 20, item 5: `like`/`ilike` match in time linear in the compared text (no backtracking
regex), and a pattern is capped in length and wildcards with a 400 naming the filter."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openevent.jsonapi import filtering

from tests.conftest import error_of


def _reference(value: str, pattern: str, insensitive: bool) -> bool:
    """What `like` means (SQL): `%` any run, `_` one character — as a regex, fine for the
    small inputs the property test draws."""
    regex = "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$"
    flags = re.DOTALL | (re.IGNORECASE if insensitive else 0)
    return re.match(regex, value, flags) is not None


@settings(max_examples=400, deadline=None)
@given(value=st.text(alphabet="abAB_%x ", max_size=12),
       pattern=st.text(alphabet="abAB_%x", max_size=8), insensitive=st.booleans())
def test_like_means_what_sql_means(value, pattern, insensitive):
    matcher = filtering.like_matcher(pattern, insensitive)
    assert matcher(value) == _reference(value, pattern, insensitive)


def test_no_pattern_is_run_as_a_backtracking_regex(monkeypatch):
    """The attacker's pattern: the only regexes compiled are fixed-length runs (literals and
    `.`) without repetition, each searched once per `%`-separated part — never `.*` twice,
    which is what backtracked (1.28 s per name for 14 characters of `%_`)."""
    compiled: list[str] = []
    real = re.compile

    def record(pattern, flags=0):
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(re, "compile", record)
    worst = "%_" * (filtering.MAX_LIKE_WILDCARDS // 2)
    assert filtering.like_matcher(worst + "x", True)("ab" * 120) is False
    assert filtering.like_matcher(worst, True)("ab" * 120) is True
    assert filtering.like_matcher("%a*b%", False)("xa*by") is True
    unescaped = [re.sub(r"\\.", "", p) for p in compiled]
    assert not any(set(p) & set("*+?{") for p in unescaped), compiled


def _list(api, pattern, op="ilike", token=None):
    spec = [{"name": "name", "op": op, "val": pattern}]
    return api.get(f"/v1/events?filter={quote(json.dumps(spec))}", token=token)


@pytest.mark.parametrize("pattern", [
    "a" * (filtering.MAX_LIKE_LENGTH + 1),
    "%_" * (filtering.MAX_LIKE_WILDCARDS // 2 + 1),
    "%" * (filtering.MAX_LIKE_WILDCARDS + 1),
])
@pytest.mark.parametrize("op", ["like", "ilike", "notilike"])
def test_a_pattern_over_the_caps_is_400_naming_the_filter(api, pattern, op):
    resp = _list(api, pattern, op)
    assert resp.status == 400, resp.body[:200]
    err = error_of(resp)
    assert err["source"] == {"parameter": "filter"}
    assert "name" in err["detail"] and op in err["detail"]


def test_the_worst_allowed_pattern_is_answered(api, make_user, make_event):
    owner = make_user()
    make_event(owner, name="ab" * 100, state="published")
    make_event(owner, name="Python Conference", state="published")
    worst = "%_" * (filtering.MAX_LIKE_WILDCARDS // 2)
    resp = _list(api, worst + "x")
    assert resp.status == 200
    assert [e["attributes"]["name"] for e in resp.json()["data"]] == []
    resp = _list(api, "%CONF%")
    assert [e["attributes"]["name"] for e in resp.json()["data"]] == ["Python Conference"]
