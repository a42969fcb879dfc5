"""The console finds the stream WebSocket where its page says (issue 25, in AWS).

Deployed, the console is on CloudFront and the WebSocket on API Gateway's own host; the
upload writes that URL into the console's `<meta name="openevent-lab-stream">`
(`infra/lab_streams.py`). Here a local runtime is given such a URL
(`OPENEVENT_LAB_STREAM_URL`): a WebSocket relay on another port with a stage-like path
(`/live`) that forwards to the runtime's own stream, so the browser can only see frames if it
connected where the page said. The default case — no URL given, the page's own origin — is
`test_instruments.py::test_without_a_configured_url_the_stream_is_on_the_pages_own_origin`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from openevent.lab.localbroker import free_port
from playwright.sync_api import Page, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.sync.server import Server, ServerConnection, serve

from tests.browser.lab.test_instruments import open_scope, wait_frames
from tests.e2e.conftest import LocalSystem, start_system, stop_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STAGE_PATH = "/live"


@dataclass
class Relay:
    """A WebSocket endpoint on a host:port of its own, passing messages both ways to the
    runtime's stream (as API Gateway stands between the browser and the stream functions);
    it records each connection's path and offered subprotocols, and counts what it relayed
    to the browser."""

    upstream: str
    url: str
    connections: list[tuple[str, list[str]]] = field(default_factory=list)
    to_browser: int = 0
    server: Server | None = None

    def handle(self, browser: ServerConnection) -> None:
        offered = [p.strip() for p in
                   (browser.request.headers.get("Sec-WebSocket-Protocol") or "").split(",")
                   if p.strip()] if browser.request else []
        self.connections.append((browser.request.path if browser.request else "", offered))
        with connect(self.upstream, subprotocols=offered) as runtime:  # type: ignore[arg-type]
            def browser_to_runtime() -> None:
                try:
                    for message in browser:
                        runtime.send(message)
                except ConnectionClosed:
                    pass
                finally:
                    runtime.close()

            threading.Thread(target=browser_to_runtime, daemon=True).start()
            try:
                for message in runtime:
                    browser.send(message)
                    self.to_browser += 1
            except ConnectionClosed:
                pass


@pytest.fixture(scope="module")
def relay_and_system(tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[Relay, LocalSystem]]:
    runtime_port, relay_port = free_port(), free_port()
    relay = Relay(f"ws://127.0.0.1:{runtime_port}/v1/lab/stream",
                  f"ws://127.0.0.1:{relay_port}{STAGE_PATH}")
    relay.server = serve(relay.handle, "127.0.0.1", relay_port,
                         subprotocols=["openevent-lab.v1"])  # type: ignore[list-item]
    threading.Thread(target=relay.server.serve_forever, daemon=True).start()
    data_dir = tmp_path_factory.mktemp("lab-stream-url") / "data"
    running = start_system(data_dir, runtime_port,
                           extra_env={"OPENEVENT_LAB_STREAM_URL": relay.url})
    yield relay, running
    if running.process.poll() is None:
        stop_system(running)
    relay.server.shutdown()


@pytest.fixture(scope="module")
def system(relay_and_system: tuple[Relay, LocalSystem]) -> LocalSystem:
    """The runtime the console's fixtures (`logged_in`, ...) use: the configured one."""
    return relay_and_system[1]


def test_the_console_streams_from_the_url_its_page_gives(
        logged_in: Page, relay_and_system: tuple[Relay, LocalSystem]) -> None:
    relay, running = relay_and_system
    page = logged_in
    configured = relay.url
    expect(page.locator('meta[name="openevent-lab-stream"]')).to_have_attribute(
        "content", configured)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_scope(page)
    page.get_by_role("button", name="Run").click()
    wait_frames(page, 2)
    assert sockets == [configured]  # not the page's own origin
    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    assert relay.connections == [(STAGE_PATH, ["openevent-lab.v1", f"jwt.{token}"])]
    assert relay.to_browser >= 3  # the frames drawn came through the configured URL
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#scope-state")).to_have_text("Stopped")
    assert running.process.poll() is None


def test_stream_url_rules_in_the_browser(logged_in: Page) -> None:
    """What `streamUrl()` makes of the `<meta>`: an AWS wss:// URL is kept as it is (never
    downgraded to ws://), http(s) and relative URLs follow the page, none is its origin."""
    results = logged_in.evaluate("""async () => {
        const { streamUrl } = await import(new URL('js/stream.js', location.href).href);
        const meta = document.querySelector('meta[name="openevent-lab-stream"]');
        const out = {};
        for (const content of ['wss://abc123.execute-api.eu-west-1.amazonaws.com/live',
                               'https://stream.example.org/live', '', '../v1/lab/stream']) {
            meta.content = content;
            out[content] = streamUrl();
        }
        return out;
    }""")
    origin = logged_in.evaluate("location.host")
    assert results == {
        "wss://abc123.execute-api.eu-west-1.amazonaws.com/live":
            "wss://abc123.execute-api.eu-west-1.amazonaws.com/live",
        "https://stream.example.org/live": "wss://stream.example.org/live",
        "": f"ws://{origin}/v1/lab/stream",
        "../v1/lab/stream": f"ws://{origin}/v1/lab/stream",
    }
