"""``oligosim teach`` in a real browser: headless Chromium from Debian's packages, driven by
Playwright (pointed at the system browser: Playwright's own browser download is not used).

The test starts ``oligosim teach`` as a user would, opens every lesson page, waits for its
figures, changes the first control as a user would (clicks a slider's track, picks another option,
flips a switch), waits until the figures or the table are redrawn from the new run, and checks the page for
errors: console errors, uncaught exceptions, failed requests, Shiny's error outputs. The free
page runs a shipped scenario, offers the downloads, and reports an uploaded file's errors with
the same lines as ``oligosim check``. Screenshots before and after each change go to
``tests/artifacts/teach/`` (git-ignored), with the measured response times in ``timings.txt``
(recorded, not asserted: the machine's load is not the app's doing).

Skipped, with the reason, without the teach extra, Playwright or a Chromium executable
(``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "teach"
#: flags known to work for headless Chromium on the project's machines and CI
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: generous waits: the first start may compile the kernel (minutes on a loaded 2-core machine)
START_TIMEOUT_S = 900
CHANGE_TIMEOUT_MS = 120_000
#: what the model run draws on a lesson page: every figure and the table of outcomes (a control
#: may move only some of them: the disease-free interval of lesson 2 moves the ESTRO-EORTC
#: shares in the table, not the survival curves)
SNAPSHOT_JS = (
    "[...document.querySelectorAll('.teach-figures img')].map(i => i.getAttribute('src')).join('|')"
    " + (document.querySelector('#table') || {innerText: ''}).innerText"
)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def _skip_reason() -> str | None:
    for module, why in (("shiny", "the teach extra (shiny)"), ("playwright", "playwright")):
        try:
            __import__(module)
        except ImportError:
            return f"{why} is not installed: pip install '.[test]'"
    if _chromium() is None:
        return "no Chromium executable (Debian: apt-get install chromium; .ci/run installs it)"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """``oligosim teach --no-browser`` on a free port; yields its URL."""
    port = _free_port()
    log = tempfile.TemporaryFile()
    import oligosim

    # the server runs the oligosim this test imports (installed or the checkout), so it finds
    # the kernel that this process compiled in numba's cache
    where = str(Path(oligosim.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(
        [sys.executable, "-m", "oligosim.cli", "teach", "--no-browser", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"oligosim teach did not start (exit {proc.poll()}):\n{log.read().decode(errors='replace')}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser_context():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.txt").unlink(missing_ok=True)
    profile = tempfile.mkdtemp(prefix="oligosim-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 3400}, accept_downloads=True
        )
        try:
            yield ctx
        finally:
            ctx.close()
            shutil.rmtree(profile, ignore_errors=True)


class PageErrors:
    """Console errors, uncaught exceptions and failed requests of one page."""

    def __init__(self, page):
        self.items: list[str] = []
        page.on("console", lambda m: self.items.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.items.append(f"exception: {e}"))
        page.on("requestfailed", lambda r: self.items.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: self.items.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)


def assert_no_errors(page, errors: PageErrors, where: str):
    assert not errors.items, f"{where}: {errors.items}"
    shown = [t for t in page.locator(".shiny-output-error").all_inner_texts() if t.strip()]
    assert not shown, f"{where}: error output on the page: {shown}"
    body = page.inner_text("body")
    for word in ("Traceback", "An error has occurred"):
        assert word not in body, f"{where}: {word!r} on the page"


def change_first_control(page) -> str:
    """Move the page's first control as a user would; returns what was done."""
    first = page.locator(".bslib-sidebar-layout .shiny-input-container").first
    if first.locator(".irs").count():  # ionRangeSlider: click the track away from the handle
        track = first.locator(".irs-line").first
        box = track.bounding_box()
        handle = first.locator(".irs-handle").bounding_box()
        x = box["x"] + (0.15 if handle["x"] > box["x"] + box["width"] / 2 else 0.85) * box["width"]
        page.mouse.click(x, handle["y"] + handle["height"] / 2)
        return "slider"
    if first.locator("select").count():
        select = first.locator("select")
        options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        current = select.input_value()
        select.select_option(next(v for v in options if v != current))
        return "select"
    first.locator("input[type=checkbox]").click()
    return "switch"


def lesson_ids():
    from oligosim.teach import pages

    return [les.id for les in pages.lessons()]


def test_index_lists_every_lesson(server, browser_context):
    page = browser_context.new_page()
    errors = PageErrors(page)
    page.goto(server)
    links = page.locator(".teach-lessons a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert links == [f"/lesson/{i}/" for i in lesson_ids()]
    assert_no_errors(page, errors, "index")
    page.close()


@pytest.mark.parametrize("lesson_id", lesson_ids() if _skip_reason() is None else [])
def test_lesson_page_reruns_the_model_when_a_control_moves(server, browser_context, lesson_id):
    page = browser_context.new_page()
    errors = PageErrors(page)
    page.goto(f"{server}lesson/{lesson_id}/")
    fig = page.locator(".teach-figures img").first
    fig.wait_for(timeout=CHANGE_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    # the page quotes its consensus statements and says what the model can and cannot tell
    assert page.locator(".teach-statement").count() >= 1
    assert page.locator(".teach-take-home").count() == 1 and page.locator(".teach-cannot-tell").count() == 1
    before = page.evaluate(f"() => {SNAPSHOT_JS}")
    status_before = page.inner_text("#status")
    page.screenshot(path=str(ARTIFACTS / f"lesson_{lesson_id}_before.png"), full_page=True)
    assert_no_errors(page, errors, f"lesson {lesson_id} before the change")

    t0 = time.monotonic()
    what = change_first_control(page)
    page.wait_for_function(f"s => ({SNAPSHOT_JS}) !== s", arg=before, timeout=CHANGE_TIMEOUT_MS, polling=50)
    seconds = time.monotonic() - t0
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / f"lesson_{lesson_id}_after.png"), full_page=True)
    with open(ARTIFACTS / "timings.txt", "a", encoding="utf-8") as f:
        f.write(f"lesson {lesson_id}: {what} changed, figure redrawn after {seconds:.2f} s ({page.inner_text('#status')})\n")
    assert page.inner_text("#status").strip(), status_before
    assert_no_errors(page, errors, f"lesson {lesson_id} after the change ({what})")
    page.close()


def test_free_page_runs_a_scenario_and_offers_the_downloads(server, browser_context):
    page = browser_context.new_page()
    errors = PageErrors(page)
    page.goto(f"{server}free/")
    page.select_option("#scenario", "teaching/toxicity")
    page.wait_for_function("() => document.querySelectorAll('#arms input[type=checkbox]').length === 4", timeout=CHANGE_TIMEOUT_MS)
    page.locator("#arms input[type=checkbox]").nth(3).uncheck()
    page.fill("#patients", "500")
    page.click("#run")
    page.locator(".teach-figures img").first.wait_for(timeout=CHANGE_TIMEOUT_MS)
    assert "3 arms x 500 patients" in page.inner_text("#status")
    page.screenshot(path=str(ARTIFACTS / "free_run.png"), full_page=True)
    for button, first_line in (("#dl_summary", "arm,metric,value"), ("#dl_patients", "arm,patient,os_months")):
        with page.expect_download(timeout=CHANGE_TIMEOUT_MS) as dl:
            page.click(button)
        text = Path(dl.value.path()).read_text(encoding="utf-8")
        assert text.startswith(first_line), (button, text[:80])
    assert_no_errors(page, errors, "free page")
    page.close()


def test_free_page_reports_an_uploaded_file_as_check_does(server, browser_context, tmp_path):
    from oligosim.cli import main

    bad = tmp_path / "my_trial.toml"
    bad.write_text('extends = "default"\n[arms.consolidative]\nmetastasis_dose = 45.0\n', encoding="utf-8")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["check", str(bad)]) == 2
    expected = [line.replace(str(bad), bad.name) for line in stderr.getvalue().splitlines() if not line.startswith("oligosim check:")]
    assert expected and "metastasis_dose" in expected[0]

    page = browser_context.new_page()
    page.goto(f"{server}free/")
    page.check("input[name=source][value=upload]")
    page.set_input_files("#upload", str(bad))
    # until the upload arrives the page asks for a file; then it shows check's lines
    page.wait_for_function(
        "w => { const e = document.querySelector('.teach-problems'); return e && e.innerText.includes(w); }", arg=bad.name, timeout=CHANGE_TIMEOUT_MS
    )
    assert page.locator(".teach-problems").inner_text().splitlines() == expected
    page.screenshot(path=str(ARTIFACTS / "free_upload_errors.png"), full_page=True)
    page.close()
