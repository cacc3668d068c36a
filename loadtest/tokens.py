"""Bearer tokens for the load test's calls to the enforcement API.

Signed with the API's own code and settings (`API_JWT_SECRET`) when the package is
importable, else one token from its CLI (`python -m enforcement_api token`). A light
module on purpose: the officers' process imports it before Locust patches the standard
library.
"""

from __future__ import annotations

import subprocess
import sys


def issue_token(role: str, subject: str = "loadtest") -> str:
    """A token from the API's own CLI (`python -m enforcement_api token`), same secret."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "enforcement_api",
            "token",
            "--role",
            role,
            "--city",
            "*",
            "--subject",
            subject,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(
            f"could not issue a {role} token with `python -m enforcement_api token` "
            f"({done.stderr.strip()[-300:]}); pass --{role}-token"
        )
    return done.stdout.strip().splitlines()[-1]


def issue_tokens(role: str, count: int, subject: str = "loadtest") -> list[str]:
    """`count` tokens with distinct subjects (the API limits requests per token), signed
    in-process with the API's own code and settings (`API_JWT_SECRET`); without the API
    package, one token from its CLI."""
    try:
        from enforcement_api.core.config import ApiSettings
        from enforcement_api.core.security import issue_token as sign
    except ImportError:
        return [issue_token(role, subject)]
    settings = ApiSettings.from_env()
    return [
        sign(
            settings.jwt_secret,
            subject=f"{subject}-{role}-{i}",
            role=role,
            cities=["*"],
            ttl_s=settings.token_ttl_s,
            issuer=settings.jwt_issuer,
        )
        for i in range(count)
    ]
