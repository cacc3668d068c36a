"""Headless Chromium for rendering the dashboards in tests and CI (Debian's `chromium`).

`ensure_chromium()` returns the browser's path, installing Debian's package with apt-get
when it is missing (as root, or with passwordless sudo), and fails with a message naming
what to install otherwise. `headless_chromium(...)` runs one browser with the DevTools
protocol on a loopback port for the duration of a `with` block.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.apt import apt_install
from infra.process import ServiceError, end_child, free_port

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
APT_PACKAGE = "chromium"


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> str:
    """The path of a Chromium binary, installed with apt-get when missing."""
    found = find_chromium()
    if found:
        return found
    apt_install("chromium", APT_PACKAGE)
    found = find_chromium()
    if not found:
        raise ServiceError("chromium: apt installed the package but no binary was found")
    return found


@dataclass(frozen=True)
class Browser:
    """A running headless Chromium: its DevTools HTTP endpoint on loopback."""

    port: int
    process: subprocess.Popen[bytes]

    def devtools(self, path: str, method: str = "GET") -> object:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def page_websocket(self) -> str:
        """The DevTools websocket URL of a fresh tab."""
        target = self.devtools("/json/new?about:blank", method="PUT")
        assert isinstance(target, dict)
        return str(target["webSocketDebuggerUrl"])


@contextlib.contextmanager
def headless_chromium(
    profile_dir: Path, width: int = 1400, height: int = 1800, log_file: Path | None = None
) -> Iterator[Browser]:
    binary = ensure_chromium()
    port = free_port()
    command = [
        binary,
        "--headless=new",
        "--no-sandbox",  # runs as root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--remote-debugging-port={port}",
        "--remote-debugging-address=127.0.0.1",
        f"--user-data-dir={profile_dir}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    out = log_file.open("wb") if log_file else subprocess.DEVNULL
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    browser = Browser(port, proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                browser.devtools("/json/version")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise ServiceError(
                        f"chromium did not start (exit {proc.poll()}); see {log_file}"
                    ) from None
                time.sleep(0.2)
        yield browser
    finally:
        end_child(proc, grace_s=10)
        if log_file:
            out.close()  # type: ignore[union-attr]
