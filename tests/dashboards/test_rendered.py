"""The dashboards rendered by headless Chromium against the running Streamlit app.

Each page is opened in Debian's Chromium (DevTools protocol), waited for until its charts
are drawn, screenshotted into `test-artifacts/dashboards/`, and checked: the expected
number of charts drawn with real marks, no error box, and a screenshot that is not blank.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import websocket
from PIL import Image

from infra.browser import Browser, headless_chromium
from infra.process import Health, ServiceError, free_port
from infra.services import http_probe
from infra.settings import REPO_ROOT

pytestmark = pytest.mark.integration
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboards"

# (url path, city, charts the page draws for that city's seeded data)
PAGES = [
    ("Occupancy", "nis", 2),
    ("Revenue", "nis", 2),
    ("Compliance", "nis", 2),
    ("Transit", "tarnow", 2),
    ("Operations", "nis", 2),
]

PROBE = """(() => {
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
  const drawn = charts.filter(c => c.querySelector('canvas, svg .mark-rect, svg .mark-line,'
    + ' svg .mark-area, svg path')).length;
  const errors = document.querySelectorAll(
    '[data-testid="stException"], [data-testid="stAlertContentError"]').length;
  const running = !!document.querySelector('[data-testid="stStatusWidget"] button, '
    + '[data-testid="stStatusWidgetRunningIcon"]');
  const metrics = document.querySelectorAll('[data-testid="stMetric"]').length;
  return JSON.stringify({charts: charts.length, drawn, errors, running, metrics,
                         title: document.title});
})()"""


class Tab:
    """One Chromium tab driven over the DevTools protocol."""

    def __init__(self, browser: Browser) -> None:
        self.ws = websocket.create_connection(browser.page_websocket(), timeout=30)
        self._ids = itertools.count(1)

    def call(self, method: str, **params: object) -> dict:
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def dashboards_url(seeded_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "CLICKHOUSE_DATABASE": seeded_database, "PYTHONUNBUFFERED": "1",
           "DASHBOARDS_REFRESH_SECONDS": "60"}  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboards" / "Home.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while http_probe(f"{url}/_stcore/health", "ok").health is not Health.READY:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = tmp_path_factory.mktemp("chromium")
    try:
        with headless_chromium(home / "profile", log_file=home / "chromium.log") as running:
            yield running
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)


def screenshot_is_not_blank(png: bytes) -> int:
    """Distinct colours in the screenshot (a blank or error-only page has very few)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    return len(colours) if colours else 1 << 20


@pytest.mark.parametrize(("page", "city", "expected"), PAGES)
def test_page_renders_charts_in_chromium(
    dashboards_url: str, browser: Browser, page: str, city: str, expected: int
) -> None:
    tab = Tab(browser)
    try:
        tab.call("Page.enable")
        tab.call("Page.navigate", url=f"{dashboards_url}/{page}?city={city}")
        deadline = time.monotonic() + 60
        state: dict = {}
        while time.monotonic() < deadline:
            state = json.loads(str(tab.evaluate(PROBE)))
            if state["errors"] or (state["drawn"] >= expected and not state["running"]):
                break
            time.sleep(0.5)
        time.sleep(1.0)  # let the charts' last animation frame land before the picture
        shot = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        png = base64.b64decode(shot["data"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{page.lower()}-{city}.png").write_bytes(png)
        body_text = str(tab.evaluate("document.body.innerText"))
    finally:
        tab.close()
    assert state["errors"] == 0, body_text[:2000]
    assert state["drawn"] >= expected, (state, body_text[:2000])
    assert state["metrics"] >= 3, state
    assert "No " not in body_text.split("\n")[0]
    assert screenshot_is_not_blank(png) > 200, "screenshot looks blank"
