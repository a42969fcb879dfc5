"""The lab console in Debian's Chromium (Playwright, sync API) against the real local runtime.

`system` is the e2e fixture: `python -m openevent.local` in a child process on a free port
with its own data dir (API + mosquitto + the simulated lab device). Every page records the
API's answers: a status >= 400 that the test did not declare with `page_errors.expect(...)`
fails the test, and so does any uncaught script error. A failing test leaves a screenshot in
ARTIFACTS (`$OPENEVENT_TEST_ARTIFACTS`, default `build/test-artifacts/browser/`).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.e2e.conftest import ROOT, LocalSystem, system  # noqa: F401 - the shared fixture

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("OPENEVENT_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts")) \
    / "browser"
PASSWORD = "lab-console-pw"
API_PATH = re.compile(r"^/(v1|auth)/")

expect.set_options(timeout=20_000)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    launched = playwright.chromium.launch(executable_path=CHROMIUM)
    yield launched
    launched.close()


@dataclass
class ApiErrors:
    """API answers >= 400 seen by the page; the expected ones are declared by the test."""

    seen: list[tuple[int, str, str]] = field(default_factory=list)
    expected: list[tuple[int, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def expect(self, status: int, path: str) -> None:
        """Allow answers with `status` on a path starting with `path`."""
        self.expected.append((status, path))

    def unexpected(self) -> list[tuple[int, str, str]]:
        return [(s, m, p) for s, m, p in self.seen
                if not any(s == es and p.startswith(ep) for es, ep in self.expected)]


@pytest.fixture
def page_errors() -> ApiErrors:
    return ApiErrors()


def _context_page(browser: Browser, system: LocalSystem, errors: ApiErrors,  # noqa: F811
                  viewport: dict[str, int]) -> Page:
    context = browser.new_context(base_url=system.base, viewport=viewport)
    page = context.new_page()

    def on_response(response: Any) -> None:
        path = "/" + response.url.split("/", 3)[3] if response.url.count("/") >= 3 else ""
        if response.status >= 400:
            errors.seen.append((response.status, response.request.method, path))

    page.on("response", on_response)
    page.on("pageerror", lambda exc: errors.page_errors.append(str(exc)))
    return page


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1280, "height": 900}


@pytest.fixture
def page(browser: Browser, system: LocalSystem, page_errors: ApiErrors,  # noqa: F811
         viewport: dict[str, int], request: pytest.FixtureRequest) -> Iterator[Page]:
    opened = _context_page(browser, system, page_errors, viewport)
    yield opened
    failed = any(getattr(request.node, f"rep_{when}", None) is not None
                 and getattr(request.node, f"rep_{when}").failed for when in ("setup", "call"))
    if failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{request.node.name}.png"
        try:
            opened.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}")
        except Exception as exc:  # the page may be gone; the test's own failure matters
            print(f"no screenshot: {exc}")
    opened.context.close()
    if not failed:
        assert not page_errors.page_errors, f"script errors in the page: {page_errors.page_errors}"
        unexpected = page_errors.unexpected()
        assert not unexpected, f"unexpected API answers >= 400: {unexpected}"


def new_email() -> str:
    return f"lab-{uuid.uuid4().hex[:10]}@example.org"


def sign_up_via_api(system: LocalSystem, name: str = "Lab User") -> str:  # noqa: F811
    email = new_email()
    body = {"data": {"type": "user", "attributes": {
        "email": email, "password": PASSWORD, "first-name": name, "public-name": name}}}
    response = system.send("POST", "/v1/users", body)
    assert response.status_code == 201, response.text
    return email


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/lab/")
    form = page.locator("#view-login")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Home")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("Signed in as")


@pytest.fixture
def logged_in(page: Page, system: LocalSystem) -> Page:  # noqa: F811
    """A page on the console's home, logged in as a fresh user."""
    log_in(page, sign_up_via_api(system))
    return page


def api_token(system: LocalSystem, email: str) -> str:  # noqa: F811
    response = system.send("POST", "/v1/auth/login", {"email": email, "password": PASSWORD},
                           jsonapi=False)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def plot_ink(page: Page, plot_selector: str) -> dict[str, Any]:
    """What a uPlot box really drew: points claimed and pixels of the series colour."""
    return page.locator(plot_selector).first.evaluate("""box => {
        const canvas = box.querySelector('canvas');
        if (!canvas) return {points: Number(box.dataset.points || 0), ink: 0, width: 0};
        const ctx = canvas.getContext('2d');
        const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0;  // pixels close to the first series colour #1565c0
        const rows = new Set();  // canvas rows the line passes through: a flat line has few
        for (let i = 0; i < img.length; i += 4) {
            if (img[i + 3] > 200 && Math.abs(img[i] - 0x15) < 40 && Math.abs(img[i + 1] - 0x65) < 40
                && Math.abs(img[i + 2] - 0xc0) < 40) {
                ink++;
                rows.add(Math.floor(i / 4 / canvas.width));
            }
        }
        return {points: Number(box.dataset.points), ink, rows: rows.size,
                height: canvas.height, series: Number(box.dataset.series)};
    }""")
