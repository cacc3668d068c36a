"""Installing a Debian package a service needs (ClickHouse, Chromium), or saying why not.

Runs `apt-get update` and `apt-get install --no-install-recommends` as root, or through
passwordless sudo; anything else is a `ServiceError` naming the package to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from infra.process import ServiceError


def apt_install(service: str, package: str) -> None:
    apt = shutil.which("apt-get")
    root = os.geteuid() == 0
    sudo: list[str] = [] if root else (["sudo", "-n"] if shutil.which("sudo") else [])
    if apt is None or (not root and not sudo):
        raise ServiceError(
            f"{service}: `{package}` is missing and cannot be installed here (needs apt-get and "
            f"root or passwordless sudo); install Debian's `{package}` package"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        [*sudo, apt, "update", "-q"],
        [*sudo, apt, "install", "-y", "-q", "--no-install-recommends", package],
    ):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise ServiceError(
                f"{service}: `{' '.join(cmd)}` failed:\n" + (result.stdout + result.stderr)[-3000:]
            )
