"""Command line: `python -m enforcement_api token ...` and `python -m enforcement_api serve`.

python -m enforcement_api token --role warden --city nis --subject W-17 [--ttl 8h]
python -m enforcement_api serve [--host 127.0.0.1] [--port 8000] [--workers 1]
"""

from __future__ import annotations

import argparse
import logging
import re
import sys

from enforcement_api.core.config import ApiSettings
from enforcement_api.core.security import ROLES, issue_token

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: use seconds or 30m, 8h, 2d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m enforcement_api")
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="issue a bearer token (signed with API_JWT_SECRET)")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument(
        "--city", action="append", required=True, help="city id, repeatable; '*' for all"
    )
    token.add_argument("--subject", required=True, help="officer or system id, e.g. W-17")
    token.add_argument("--ttl", type=parse_duration, default=None, help="lifetime, e.g. 8h")

    serve = sub.add_parser("serve", help="run the API (uvicorn)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1, help="processes, each with a replica")
    serve.add_argument("--log-level", default="info")

    args = parser.parse_args(argv)
    settings = ApiSettings.from_env()
    if args.command == "token":
        print(
            issue_token(
                settings.jwt_secret,
                subject=args.subject,
                role=args.role,
                cities=args.city,
                ttl_s=args.ttl or settings.token_ttl_s,
                issuer=settings.jwt_issuer,
            )
        )
        return 0

    import uvicorn

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its INFO is per-connection chatter
    uvicorn.run(
        "enforcement_api.main:create_app_from_env",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        access_log=False,  # paths carry plates and phone numbers (issue: no plates in logs)
        log_level=args.log_level,
        loop="uvloop",
        http="httptools",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
