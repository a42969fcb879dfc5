"""The PSLab remote-lab user guide, step by step, in a real browser (issue 11).

Each test drives the console at /lab/ of the real local runtime (API + MQTT broker + the
simulated device) as a person would: by labels, roles and keys.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.lab.conftest import (
    ARTIFACTS,
    PASSWORD,
    ROOT,
    api_token,
    new_email,
    plot_ink,
    sign_up_via_api,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The guide's small script: sinusoidal coordinates, printed and plotted.
SINE_SCRIPT = """from math import sin
x = [i / 10 for i in range(63)]
for a in x: print(round(a, 1), round(sin(a), 3))
plot(x, [sin(a) for a in x])
"""


def home_form(page: Page):  # noqa: ANN201 - a Locator
    return page.locator("#exec-form")


def execute(page: Page, text: str) -> None:
    box = page.get_by_role("combobox", name="Function string")
    box.fill(text)
    page.get_by_role("button", name="Execute").click()


def editor_text(page: Page, text: str) -> None:
    """Replace the editor's content, as a paste does."""
    page.locator("#view-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def wait_run(page: Page, status: str = "done") -> None:
    expect(page.locator("#view-run")).to_have_attribute("data-status", status, timeout=45_000)


# --- 1. sign up, log in, log out ------------------------------------------------------


def test_sign_up_log_in_and_log_out(page: Page, page_errors, system) -> None:
    email = new_email()
    page.goto("/lab/")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_focused()
    page.get_by_role("link", name="Sign up").click()
    form = page.locator("#view-signup")
    expect(page.get_by_role("heading", level=1, name="Sign up")).to_be_visible()
    form.get_by_label("Name").fill("Ada Lovelace")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill("short")
    form.get_by_role("button", name="Sign up").click()
    expect(form.get_by_role("alert")).to_have_text("The password needs at least 8 characters.")
    expect(form.get_by_label("Password")).to_be_focused()
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign up").click()

    # landed on the home page, logged in; the token is in sessionStorage, never in a URL
    expect(page.get_by_role("heading", level=1, name="Home")).to_be_visible()
    expect(page.locator("#who")).to_have_text("Signed in as Ada Lovelace")
    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    assert token and api_token(system, email)
    assert token not in page.url
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.reload()
    expect(page.locator("#who")).to_have_text("Signed in as Ada Lovelace")  # survives a reload
    assert requested and not any(token in url for url in requested)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    expect(page.locator("#flash")).to_have_text("You are logged out.")
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    page.goto("/lab/#/home")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()

    # a wrong password is refused with a message; the right one logs in again
    page_errors.expect(401, "/v1/auth/login")
    login = page.locator("#view-login")
    login.get_by_label("Email").fill(email)
    login.get_by_label("Password").fill("not-the-password")
    login.get_by_role("button", name="Log in").click()
    expect(login.get_by_role("alert")).to_have_text("Wrong email or password.")
    login.get_by_label("Password").fill(PASSWORD)
    login.get_by_label("Password").press("Enter")
    expect(page.locator("#who")).to_have_text("Signed in as Ada Lovelace")

    # the email is the login id: signing up twice with it is refused
    page.get_by_role("button", name="Log out").click()
    page_errors.expect(409, "/v1/users")
    page.get_by_role("link", name="Sign up").click()
    form.get_by_label("Name").fill("Someone Else")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    expect(form.get_by_role("alert")).to_have_text("An account with this email already exists.")


def test_log_in_with_the_keyboard_only(page: Page, system) -> None:
    email = sign_up_via_api(system, "Key Board")
    page.goto("/lab/")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#login-email")).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.locator("#login-password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Log in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Home")).to_be_focused()


# --- 2. execute a function string ------------------------------------------------------


def test_execute_shows_a_number_a_table_and_a_plot(logged_in: Page) -> None:
    page = logged_in
    result = page.locator("#exec-result")

    execute(page, "get_resistance()")
    expect(result.locator("output.value")).to_have_text("1000 Ω")  # the simulated 1 kΩ

    execute(page, "get_states()")
    table = result.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(5)  # header + LA1..LA4
    expect(table.get_by_role("row", name="LA3 false")).to_be_visible()

    execute(page, "set_sine1(1000)")  # SI1 → CH1 on the simulated board
    expect(result.locator("output.value")).to_have_text("1000")
    execute(page, "capture1('CH1', 500, 4)")
    plot = result.locator(".plot-box")
    expect(plot).to_have_attribute("data-points", "500")
    expect(plot).to_have_attribute("role", "img")
    expect(plot).to_have_attribute("aria-label", re.compile(r"Line chart of 500 points"))
    expect(plot.locator(".u-axis")).to_have_count(2)  # real axes
    drawn = plot_ink(page, "#exec-result .plot-box")
    assert drawn["points"] == 500 and drawn["series"] == 1
    # 2 ms of a 1 kHz sine: the line crosses most of the plot's height, not a flat line
    assert drawn["ink"] > 1000 and drawn["rows"] > drawn["height"] * 0.4, drawn


def test_a_refused_string_shows_the_reason_and_nothing_runs(logged_in: Page, page_errors,
                                                           system) -> None:
    page = logged_in
    page_errors.expect(422, "/v1/lab/calls")
    box = page.get_by_role("combobox", name="Function string")
    error = page.locator("#exec-error")

    execute(page, "get_voltage('CH9')")
    expect(error).to_contain_text("argument 'channel' must be one of 'CH1'")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()
    expect(page.locator("#exec-result")).to_be_empty()

    execute(page, "capture1('CH1', 5000, 4)")
    expect(error).to_contain_text("samples")
    expect(error).to_contain_text("2000")

    execute(page, "set_pv1(9)")  # out of range: rejected, not clamped
    expect(error).to_contain_text("voltage")
    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    assert system.send("POST", "/v1/lab/calls", {"function": "get_pv1()"}, token,
                       jsonapi=False).json()["result"] == 0.0  # PV1 was never set

    execute(page, "__import__('os').system('id')")
    expect(error).to_contain_text("Refused:")
    expect(page.locator("#exec-result")).to_be_empty()

    execute(page, "get_voltage('CH1')")  # a good one clears the error
    expect(error).to_be_empty()
    expect(box).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#exec-result output.value")).to_have_text(re.compile(r"V$"))


def test_functions_are_offered_with_their_docs(logged_in: Page, system) -> None:
    page = logged_in
    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    functions = system.get("/v1/lab/functions", token).json()
    options = page.locator("#function-list option")
    expect(options).to_have_count(len(functions))
    values = options.evaluate_all("os => os.map(o => o.value)")
    assert "get_voltage('CH1')" in values and "get_resistance()" in values
    assert {v.split("(")[0] for v in values} == {f["name"] for f in functions}
    expect(page.get_by_role("combobox", name="Function string")).to_have_attribute(
        "list", "function-list")

    entry = page.locator("#functions li.function[data-name=capture1]")
    entry.get_by_text("capture1(channel, samples, timegap)").click()
    expect(entry).to_contain_text("Number of samples per channel (10 to 2000)")
    expect(entry).to_contain_text("Time between samples (0.5 to 1000 µs)")
    entry.get_by_role("button", name="Use capture1('CH1', 10, 1)").click()
    box = page.get_by_role("combobox", name="Function string")
    expect(box).to_have_value("capture1('CH1', 10, 1)")
    expect(box).to_be_focused()
    box.press("Enter")
    expect(page.locator("#exec-result .plot-box")).to_have_attribute("data-points", "10")


# --- 3 and 4. example scripts, running apps ---------------------------------------------


def test_examples_list_view_source_and_run(logged_in: Page, system) -> None:
    page = logged_in
    items = page.locator("#examples > li")
    expect(items).to_have_count(3)
    for name in ("multimeter.py", "plot_sine.py", "power_sweep.py"):
        expect(page.locator(f"#examples li[data-name='{name}']")).to_be_visible()

    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    code = system.get("/v1/lab/examples/plot_sine.py", token).json()["code"]
    view = page.get_by_role("button", name="View source of plot_sine.py")
    view.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert page.locator("#source-code").text_content() == code
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(view).to_be_focused()

    # Run (play): the app's widgets — a label and a real plot of the captured sine
    page.get_by_role("button", name="Run plot_sine.py").click()
    expect(page.get_by_role("heading", level=1, name="Run: plot_sine.py")).to_be_visible()
    wait_run(page)
    expect(page.locator("#run-status")).to_have_text("done")
    output = page.locator("#run-output")
    expect(output.locator(".w-label")).to_contain_text("SI1 (1 kHz sine) seen on CH1")
    plot = output.locator(".w-plot")
    expect(plot).to_have_count(1)
    expect(plot).to_have_attribute("data-points", "500")
    drawn = plot_ink(page, "#run-output .w-plot")
    assert drawn["ink"] > 1000 and drawn["rows"] > drawn["height"] * 0.4, drawn

    # the source can be seen while the app is shown
    page.locator("#run-source-box summary").click()
    expect(page.locator("#run-source")).to_have_text(code)

    # "Capture again" re-draws the same plot in place
    page.get_by_role("button", name="Capture again").click()
    expect(plot).to_have_attribute("data-updates", "1")
    expect(output.locator(".w-plot")).to_have_count(1)
    expect(plot).to_have_attribute("data-target", "scope")
    assert plot_ink(page, "#run-output .w-plot")["points"] == 500


def test_multimeter_buttons_update_their_targets(logged_in: Page) -> None:
    page = logged_in
    page.get_by_role("button", name="Run multimeter.py").click()
    wait_run(page)
    output = page.locator("#run-output")
    expect(output.locator(".w-label")).to_have_text("Multimeter")
    expect(output.get_by_text("RES = 1000.0 Ω")).to_be_visible()
    row = output.locator(".w-button-row").filter(has_text="Measure resistance")
    target = row.locator("output")
    expect(target).to_have_text("—")
    row.get_by_role("button", name="Measure resistance").click()
    expect(target).to_have_text("1000 Ω")
    expect(target).to_have_attribute("data-updates", "1")
    cap = output.locator(".w-button-row").filter(has_text="Measure capacitance")
    cap.get_by_role("button").click()
    expect(cap.locator("output")).to_have_text("1.0000e-9 F")
    expect(row.locator("output")).to_have_text("1000 Ω")  # the other target is untouched


def test_run_status_and_script_errors_are_shown(logged_in: Page, system) -> None:
    page = logged_in
    email_token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    slow = {"data": {"type": "lab-script", "attributes": {
        "title": "slow then broken",
        "code": "import time\nprint('first')\ntime.sleep(2)\nprint('second')\nx = 1 / 0\n"}}}
    assert system.send("POST", "/v1/lab/scripts", slow, email_token).status_code == 201
    page.reload()
    page.get_by_role("button", name="Run slow then broken").click()
    # while it runs, its status and the output so far are shown
    wait_run(page, "running")
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.locator("#run-output .w-text").first).to_have_text("first")
    wait_run(page, "failed")
    expect(page.locator("#run-output .w-text")).to_have_text(["first", "second"])
    expect(page.locator("#run-error")).to_have_text(
        "The script failed: ZeroDivisionError: division by zero (line 5)")


def test_a_script_that_runs_too_long_shows_timeout(logged_in: Page, system) -> None:
    page = logged_in
    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    body = {"data": {"type": "lab-script", "attributes": {
        "title": "sleeper", "code": "import time\nprint('waiting')\ntime.sleep(600)\n"}}}
    assert system.send("POST", "/v1/lab/scripts", body, token).status_code == 201
    page.reload()
    page.get_by_role("button", name="Run sleeper").click()
    wait_run(page, "timeout")  # the sandbox's wall clock: 30 s
    expect(page.locator("#run-error")).to_contain_text("The script ran too long and was stopped")


# --- 5. own scripts ---------------------------------------------------------------------


def test_new_script_editor_save_list_edit_delete_run(logged_in: Page) -> None:
    page = logged_in
    expect(page.locator("#scripts-empty")).to_be_visible()
    page.get_by_role("button", name="New Python Script").click()
    expect(page.get_by_role("heading", level=1, name="New Python Script")).to_be_visible()
    editor = page.locator("#view-editor .CodeMirror")
    expect(editor.locator(".CodeMirror-code .CodeMirror-linenumber").first).to_have_text("1")

    # tab handling and Python highlighting, typed key by key
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("for i in range(3):")
    page.keyboard.press("Enter")  # Python mode indents the block
    page.keyboard.type("print(i)")
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")  # dedent
    page.keyboard.press("Tab")
    page.keyboard.type("label('x')")
    expect(editor.locator(".cm-keyword", has_text="for")).to_be_visible()
    expect(editor.locator(".cm-builtin", has_text="range")).to_be_visible()
    expect(editor.locator(".CodeMirror-code .CodeMirror-linenumber")).to_have_text(["1", "2", "3"])
    lines = page.evaluate(
        "[...document.querySelectorAll('#view-editor .CodeMirror-line')].map(l => l.textContent)")
    assert lines == ["for i in range(3):", "    print(i)", "    label('x')"], lines
    # Esc then Tab leaves the editor: keyboard users are not trapped
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_focused()

    # a title is required
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#editor-error")).to_have_text("Give the script a title.")
    expect(page.get_by_label("Title", exact=True)).to_be_focused()
    page.get_by_label("Title", exact=True).fill("Counting")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#editor-status")).to_have_text("Saved “Counting”.")
    expect(page.get_by_role("heading", level=1, name="Edit script")).to_be_visible()
    assert re.search(r"#/edit/[0-9a-f]+$", page.url)

    page.get_by_role("link", name="Back").first.click()
    item = page.locator("#scripts > li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Counting")

    # edit: change the title
    page.get_by_role("button", name="Edit Counting").click()
    expect(page.get_by_label("Title", exact=True)).to_have_value("Counting")
    page.get_by_label("Title", exact=True).fill("Counting to three")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#editor-status")).to_have_text("Saved “Counting to three”.")
    page.get_by_role("link", name="Back").first.click()
    expect(item).to_have_text(re.compile("Counting to three"))

    # run from the list
    page.get_by_role("button", name="Run Counting to three").click()
    wait_run(page)
    expect(page.locator("#run-output .w-text")).to_have_text(["0", "1", "2"])
    expect(page.locator("#run-output .w-label")).to_have_text(["x", "x", "x"])
    page.get_by_role("link", name="Back").last.click()

    # delete asks first; Cancel keeps the script
    delete = page.get_by_role("button", name="Delete Counting to three")
    delete.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete the script “Counting to three”?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(item).to_have_count(1)
    expect(delete).to_be_focused()
    delete.click()
    dialog.get_by_role("button", name="Delete").click()
    expect(item).to_have_count(0)
    expect(page.locator("#flash")).to_have_text("Deleted “Counting to three”.")
    expect(page.locator("#scripts-empty")).to_be_visible()


def test_the_guides_sine_script(logged_in: Page) -> None:
    page = logged_in
    page.get_by_role("button", name="New Python Script").click()
    page.get_by_label("Title", exact=True).fill("Sine coordinates")
    editor_text(page, SINE_SCRIPT)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#editor-status")).to_have_text("Saved “Sine coordinates”.")
    page.get_by_role("button", name="Save and run").click()
    expect(page.get_by_role("heading", level=1, name="Run: Sine coordinates")).to_be_visible()
    wait_run(page)
    lines = page.locator("#run-output .w-text")
    expect(lines).to_have_count(63)
    expect(lines.nth(0)).to_have_text("0.0 0.0")
    expect(lines.nth(16)).to_have_text("1.6 1.0")
    plot = page.locator("#run-output .w-plot")
    expect(plot).to_have_attribute("data-points", "63")
    drawn = plot_ink(page, "#run-output .w-plot")
    assert drawn["ink"] > 300 and drawn["rows"] > drawn["height"] * 0.4, drawn
    expect(page.locator("#run-source")).to_have_text(SINE_SCRIPT)
    page.get_by_role("link", name="Back").last.click()
    expect(page.locator("#scripts > li")).to_have_count(1)


# --- 6. copy an example and change it ------------------------------------------------------


def test_copy_an_example_into_own_scripts_and_change_it(logged_in: Page, system) -> None:
    page = logged_in
    token = page.evaluate("sessionStorage.getItem('openevent.lab.token')")
    original = system.get("/v1/lab/examples/power_sweep.py", token).json()
    page.get_by_role("button", name="Copy power_sweep.py to my scripts").click()
    expect(page.get_by_role("heading", level=1, name="Edit script")).to_be_visible()
    expect(page.locator("#editor-status")).to_contain_text("Copied power_sweep.py")
    expect(page.get_by_label("Title", exact=True)).to_have_value(f"{original['title']} (copy)")
    assert page.evaluate(
        "document.querySelector('#view-editor .CodeMirror').CodeMirror.getValue()"
    ) == original["code"]

    # change it: fewer setpoints, and a title of its own
    changed = original["code"].replace("setpoints = [-4, -2, 0, 2, 4]", "setpoints = [1, 3]")
    assert changed != original["code"]
    editor_text(page, changed)
    page.get_by_label("Title", exact=True).fill("My sweep")
    page.get_by_role("button", name="Save and run").click()
    wait_run(page)
    expect(page.locator("#run-output .w-text")).to_have_text(
        [re.compile(r"^PV1 = \+1\.0 V → CH1 = "), re.compile(r"^PV1 = \+3\.0 V → CH1 = ")])
    expect(page.locator("#run-output .w-plot")).to_have_attribute("data-points", "2")

    scripts = system.get("/v1/lab/scripts", token).json()["data"]
    assert [s["attributes"]["title"] for s in scripts] == ["My sweep"]
    assert scripts[0]["attributes"]["code"] == changed
    assert system.get("/v1/lab/examples/power_sweep.py", token).json() == original


# --- phone width, and the README's screenshot -------------------------------------------------


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}])
def test_usable_on_a_phone_width_screen(logged_in: Page) -> None:
    page = logged_in
    wide = "document.scrollingElement.scrollWidth > window.innerWidth"
    assert not page.evaluate(wide)
    execute(page, "capture1('CH1', 200, 4)")
    plot = page.locator("#exec-result .plot-box")
    expect(plot).to_have_attribute("data-points", "200")
    assert plot.bounding_box()["width"] <= 390
    assert not page.evaluate(wide)
    page.get_by_role("button", name="Run multimeter.py").click()
    wait_run(page)
    assert not page.evaluate(wide)
    page.get_by_role("link", name="Back").last.click()
    page.get_by_role("button", name="New Python Script").click()
    expect(page.locator("#view-editor .CodeMirror")).to_be_visible()
    assert not page.evaluate(wide)


def test_screenshot_for_the_readme(logged_in: Page) -> None:
    """docs/images/lab-console.png: written when missing or with OPENEVENT_UPDATE_SCREENSHOTS=1;
    always kept in the test artifacts."""
    page = logged_in
    page.set_viewport_size({"width": 1100, "height": 760})
    execute(page, "set_sine1(500)")
    expect(page.locator("#exec-result output.value")).to_have_text("500")
    execute(page, "capture2(400, 5)")
    expect(page.locator("#exec-result .plot-box")).to_have_attribute("data-points", "400")
    page.get_by_role("button", name="Run plot_sine.py").click()
    wait_run(page)
    expect(page.locator("#run-output .w-plot")).to_have_attribute("data-points", "500")
    page.get_by_role("link", name="Back").last.click()
    expect(page.locator("#exec-result .plot-box")).to_have_attribute("data-points", "400")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "lab-console.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    readme_image = ROOT / "docs" / "images" / "lab-console.png"
    if os.environ.get("OPENEVENT_UPDATE_SCREENSHOTS") == "1" or not readme_image.exists():
        readme_image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, readme_image)


def test_console_is_local_relative_and_announced(system) -> None:
    """No CDN, no absolute URL: the console works from S3 behind the same origin, offline;
    the runtime's banner says where it is."""
    assert f"Lab console  {system.base}/lab/" in system.log.read_text()
    html = requests.get(system.url("/lab/"), timeout=30).text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    for match in re.findall(r'(?:src|href)="([^"]+)"', html):
        if match.startswith(("#", "data:")):
            continue
        assert not match.startswith("/"), match
        response = requests.get(system.url("/lab/" + match), timeout=30)
        assert response.status_code == 200, match
    for name in ("uplot/LICENSE", "codemirror/LICENSE"):
        assert requests.get(system.url(f"/lab/vendor/{name}"), timeout=30).status_code == 200
