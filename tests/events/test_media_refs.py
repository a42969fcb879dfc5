"""Which URLs name objects in the media bucket (and so are copied with an event)."""

from __future__ import annotations

import pytest
from openevent.events.copying import MediaRef, media_ref


@pytest.fixture(autouse=True)
def bucket(monkeypatch):
    from openevent.settings import get_settings

    monkeypatch.setenv("OPENEVENT_MEDIA_BUCKET", "media-b")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("url,ref", [
    ("s3://media-b/events/1/logo.png", MediaRef("s3://media-b/", "events/1/logo.png")),
    ("https://media-b.s3.amazonaws.com/events/1/a.png",
     MediaRef("https://media-b.s3.amazonaws.com/", "events/1/a.png")),
    ("https://media-b.s3.eu-west-1.amazonaws.com/x/y.jpg",
     MediaRef("https://media-b.s3.eu-west-1.amazonaws.com/", "x/y.jpg")),
    ("https://s3.us-east-1.amazonaws.com/media-b/k.png",
     MediaRef("https://s3.us-east-1.amazonaws.com/media-b/", "k.png")),
])
def test_media_urls_are_recognized(url, ref):
    assert media_ref(url) == ref


@pytest.mark.parametrize("url", [
    None, "", "https://other.s3.amazonaws.com/events/1/a.png", "https://cdn.example.com/a.png",
    "s3://other/a.png", "https://media-b.s3.amazonaws.com/", "https://media-b.evil.com/a.png",
    "https://media-b.s3.amazonaws.com/a.png?X-Amz-Signature=1",
])
def test_other_urls_are_not_media(url):
    assert media_ref(url) is None
