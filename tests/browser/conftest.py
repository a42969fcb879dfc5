"""One Playwright per test process for every browser test (the lab console's and the web
app's): two sync Playwright instances cannot run in one process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Playwright, sync_playwright


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running
