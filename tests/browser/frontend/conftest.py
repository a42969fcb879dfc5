"""The real Open Event web app (Ember, built by `make frontend`) in Debian's Chromium,
driven by Playwright against the real local runtime (`make run`) serving the app at `/`.

Every step asserts what the person sees; any API answer ≥ 400 that the step did not declare
with `browser.expect_errors(...)` fails the test (`assert_no_api_errors`).

Two runtimes: `web` serves http only (`OPENEVENT_HTTPS_PORT=off`, its own http origin the
frontend URL), where most tests run; `web_https` is started as `make run` starts it (TLS on,
the frontend URL its https origin by default) and `https_browser` opens the app there, in a
browser that accepts the runtime's locally signed certificate (`ignore_https_errors`, as a
person clicks through the warning once).
"""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

import pytest
import requests
from openevent.lab.localbroker import free_port

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CACHE = Path(os.environ.get("OPENEVENT_FRONTEND_CACHE",
                            Path.home() / ".cache" / "openevent-frontend"))
DIST = Path(os.environ.get("OPENEVENT_FRONTEND_DIR", CACHE / "dist"))
SCREENSHOTS = ROOT / "docs" / "images"
ADMIN = ("admin@openevent.local", "open-event-admin")
TIMEOUT_MS = 30_000


@dataclass
class WebSystem:
    """The local runtime serving the API and the web app on one origin."""

    base: str
    data_dir: Path
    process: subprocess.Popen[str]
    log: Path
    verify: str | bool = True  # requests' `verify`: the runtime's CA on its https origin

    def api(self, method: str, path: str, body: Any = None, token: str | None = None,
            jsonapi: bool = True) -> requests.Response:
        headers = {"Content-Type": "application/vnd.api+json" if jsonapi
                   else "application/json"}
        if token:
            headers["Authorization"] = f"JWT {token}"
        return requests.request(method, self.base + path, json=body, headers=headers,
                                timeout=60, verify=self.verify)

    def login(self, email_address: str, password: str) -> str:
        resp = self.api("POST", "/auth/session", {"email": email_address,
                                                  "password": password}, jsonapi=False)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted((self.data_dir / "outbox").glob("*.eml"),
                           key=lambda p: p.stat().st_mtime):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(msg["To"]).lower():
                found.append(msg)
        return found

    def wait_for_mail(self, address: str, subject_word: str, timeout: float = 30) -> str:
        """The text of the newest mail to `address` whose subject has `subject_word`."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in reversed(self.mails_to(address)):
                if subject_word.lower() in str(msg["Subject"]).lower():
                    body = msg.get_body(preferencelist=("plain", "html"))
                    assert body is not None
                    return str(body.get_content())
            if time.monotonic() > deadline:
                raise AssertionError(f"no '{subject_word}' mail to {address}")
            time.sleep(0.2)


def _start(data_dir: Path, port: int, https: bool) -> WebSystem:
    """The runtime as `make run` starts it, serving the built app at / (no lab): on http
    only (`OPENEVENT_HTTPS_PORT=off`), or with its https origin too (`https`), which is then
    the system's `base`. Neither sets the frontend URL: the runtime's default is used."""
    from tests.e2e.conftest import start_system

    system = start_system(data_dir, port, extra_env={
        "OPENEVENT_FRONTEND_DIR": str(DIST), "OPENEVENT_LAB": "0",
        "OPENEVENT_MODULES": "ticket,payment,donation",
        # the app's own request for https://js.stripe.com/v3 is answered by the test
        # (test_checkout.py), not preloaded by the gateway
        "OPENEVENT_PRELOAD_STRIPE_JS": "0",
        "OPENEVENT_HTTPS_PORT": "free" if https else "off"})
    if https:
        assert system.https_base is not None
        return WebSystem(system.https_base, system.data_dir, system.process, system.log,
                         verify=str(system.ca))
    return WebSystem(system.base, system.data_dir, system.process, system.log)


def _web_system(tmp_path_factory: pytest.TempPathFactory, https: bool) -> Iterator[WebSystem]:
    if not (DIST / "index.html").is_file():
        if os.environ.get("OPENEVENT_REQUIRE_FRONTEND") == "1":
            raise AssertionError(f"the web app is not built at {DIST}: run `make frontend`")
        pytest.skip(f"the web app is not built at {DIST} (make frontend)")
    data_dir = tmp_path_factory.mktemp("webapp-https" if https else "webapp") / "data"
    system = _start(data_dir, free_port(), https)
    yield system
    system.process.send_signal(signal.SIGINT)
    try:
        system.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        system.process.kill()


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSystem]:
    """The runtime on http only: its http origin is the frontend URL in effect."""
    yield from _web_system(tmp_path_factory, https=False)


@pytest.fixture(scope="session")
def web_https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSystem]:
    """The runtime as `make run` starts it, TLS on; `base` is its https origin."""
    yield from _web_system(tmp_path_factory, https=True)


@pytest.fixture(scope="session")
def chromium(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium (the shared Playwright is tests/browser/conftest.py's)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
    yield browser
    browser.close()


@dataclass
class Browser:
    """One person's browser tab on the web app, recording every API answer."""

    web: WebSystem
    page: Any
    failures: list[str] = field(default_factory=list)
    expected: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)

    def on_response(self, response: Any) -> None:
        url = response.url
        if url.startswith(self.web.base) and url[len(self.web.base):].startswith(("/v1", "/auth")):
            self.trace.append(f"{response.request.method} {url[len(self.web.base):][:120]} "
                              f"{response.status}")
        if not url.startswith(self.web.base) or response.status < 400:
            return
        path = url[len(self.web.base):]
        if not path.startswith(("/v1", "/auth")):
            return
        for status, pattern in self.expected:
            if response.status == status and pattern.search(path):
                return
        try:
            body = response.text()[:300]
        except Exception:  # noqa: BLE001 - the body may be gone already
            body = ""
        self.failures.append(f"{response.request.method} {path} -> {response.status} {body}")

    @contextmanager
    def expect_errors(self, status: int, path_pattern: str) -> Iterator[None]:
        """Within the block, `status` answers on paths matching `path_pattern` are expected."""
        entry = (status, re.compile(path_pattern))
        self.expected.append(entry)
        try:
            yield
        finally:
            self.expected.remove(entry)

    def assert_no_api_errors(self) -> None:
        failures, self.failures = self.failures, []
        assert not failures, "unexpected API errors:\n" + "\n".join(failures)

    def goto(self, path: str) -> None:
        self.page.goto(self.web.base + path, wait_until="domcontentloaded")

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)

    def submit(self, button: Any, until: Any, attempts: int = 3) -> None:
        """Click a form's button until the app navigates to `until` (a URL pattern) or shows
        `until` (a locator). Semantic UI forms wire their validation after rendering, so a
        click that comes first is lost; a person clicks again, and so does this."""
        for attempt in range(attempts):
            button.click()
            try:
                if isinstance(until, re.Pattern):
                    self.page.wait_for_url(until, timeout=10_000)
                else:
                    until.wait_for(state="visible", timeout=10_000)
                return
            except Exception:  # noqa: BLE001 - playwright's TimeoutError
                if attempt == attempts - 1:
                    raise

    def order_one_seat(self, identifier: str, ticket_id: str) -> None:
        """On the event's public page choose one seat of the ticket, order it, and on the
        order form fill the holder from the buyer (the step before the form's own button)."""
        from playwright.sync_api import expect

        page = self.page
        self.goto(f"/e/{identifier}")
        self.settle()
        dropdown = page.locator(f"input[id='{ticket_id}_quantity']").locator("xpath=..")
        dropdown.click()
        dropdown.locator(".menu .item", has_text="1").first.click()
        self.submit(page.get_by_role("button", name="Order Now"),
                    re.compile(r"/orders/[0-9a-f-]{36}/new"))
        self.settle()
        # The countdown above re-renders the form every second: click without waiting for it
        # to stand still.
        same = page.get_by_text("Ticket holder is the same person as ticket buyer").first
        same.dispatch_event("click")
        expect(page.locator("input[name^=firstname]").first).not_to_have_value(
            "", timeout=TIMEOUT_MS)

    def download_ticket(self) -> bytes:
        """Click the page's first "Download Ticket" and return the file it downloads."""
        with self.page.expect_download(timeout=TIMEOUT_MS) as download:
            self.page.get_by_text("Download Ticket").first.click()
        path = download.value.path()
        assert path is not None
        with open(path, "rb") as fh:
            return fh.read()

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=False)

    def log_in(self, email_address: str, password: str) -> None:
        self.goto("/login")
        self.settle()
        # The form wires its validation after it renders; a click before that is lost, so a
        # person would click again: so does this (what is checked is that login works).
        for attempt in range(3):
            self.page.fill("input[name=email]", email_address)
            self.page.fill("input[name=password]", password)
            self.page.locator("form button[type=submit]", has_text="Login").click()
            try:
                self.page.wait_for_url(lambda url: "/login" not in url, timeout=10_000)
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError
                if attempt == 2:
                    raise
        self.settle()


# Third-party origins the app loads (fonts, captcha, maps, payment scripts): answered empty
# inside the browser, since only 127.0.0.1 is reachable.
def _stub_outside(route: Any) -> None:
    url = route.request.url
    kind = route.request.resource_type
    if kind == "script":
        route.fulfill(status=200, content_type="application/javascript", body="")
    elif kind == "stylesheet":
        route.fulfill(status=200, content_type="text/css", body="")
    elif "nominatim" in url:
        route.fulfill(status=200, content_type="application/json", body="[]")
    else:
        route.fulfill(status=204, body="")


def _open(chromium: Any, web: WebSystem) -> tuple[Any, Browser]:
    # on the https origin: the certificate is the runtime's own (a local CA no browser
    # knows); a person accepts the warning once, the test's browser accepts it throughout
    context = chromium.new_context(viewport={"width": 1280, "height": 900},
                                   accept_downloads=True, locale="en-US",
                                   timezone_id="Europe/Berlin",
                                   ignore_https_errors=web.base.startswith("https://"))
    context.set_default_timeout(TIMEOUT_MS)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), _stub_outside)
    page = context.new_page()
    tab = Browser(web, page)
    page.on("response", tab.on_response)
    page.on("console", lambda msg: tab.console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: tab.console.append(f"pageerror: {exc}"))
    return context, tab


@pytest.fixture
def browser(chromium: Any, web: WebSystem, request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A person's browser (its own cookies and storage) on the web app. What it last showed,
    its console and its API errors are kept for a failing test's report."""
    yield from _person(chromium, web, request, tmp_path_factory)


@pytest.fixture
def https_browser(chromium: Any, web_https: WebSystem, request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """`browser`, on the https origin of the runtime started as `make run` (`web_https`)."""
    yield from _person(chromium, web_https, request, tmp_path_factory)


def _person(chromium: Any, web: WebSystem, request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    context, tab = _open(chromium, web)
    yield tab
    shot = tmp_path_factory.getbasetemp() / f"{request.node.name}.png"
    try:
        tab.page.screenshot(path=str(shot), full_page=True)
    except Exception:  # noqa: BLE001 - a closed page has nothing to show
        pass
    print(f"last page: {tab.page.url} (screenshot {shot})")
    print("console:\n" + "\n".join(tab.console[-30:]))
    print("API errors:\n" + "\n".join(tab.failures))
    print("API calls:\n" + "\n".join(tab.trace[-40:]))
    context.close()
    tab.assert_no_api_errors()


@pytest.fixture
def other_browser(chromium: Any, web: WebSystem) -> Iterator[Browser]:
    """A second, logged-out browser (opening a mailed link elsewhere)."""
    context, tab = _open(chromium, web)
    yield tab
    context.close()
    tab.assert_no_api_errors()


_accounts = iter(range(1, 10**6))


@pytest.fixture
def new_account(web: WebSystem) -> Any:
    """A verified account made through the API: `(email, password, token)`."""
    return _account_maker(web)


@pytest.fixture
def new_https_account(web_https: WebSystem) -> Any:
    """`new_account` on the runtime started as `make run` (`web_https`)."""
    return _account_maker(web_https)


def _account_maker(web: WebSystem) -> Any:
    def make(verified: bool = True) -> tuple[str, str, str]:
        address = f"person{next(_accounts)}-{os.getpid()}@example.com"
        password = "correct-horse-1"
        resp = web.api("POST", "/v1/users", {"data": {"type": "user", "attributes": {
            "email": address, "password": password, "first-name": "Ada",
            "last-name": "Lovelace", "public-name": "Ada"}}})
        assert resp.status_code == 201, resp.text
        if verified:
            text = web.wait_for_mail(address, "verif")
            token = re.search(r"token=([A-Za-z0-9_\-.~%]+)", text)
            assert token, text
            done = web.api("POST", "/v1/auth/verify-email",
                           {"data": {"token": token.group(1)}}, jsonapi=False)
            assert done.status_code == 200, done.text
        return address, password, web.login(address, password)

    return make
