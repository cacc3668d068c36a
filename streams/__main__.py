"""`python -m streams worker [faust worker options]` starts a stream worker."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] != "worker":
        print("usage: python -m streams worker [-l info] [--without-web]", file=sys.stderr)
        raise SystemExit(2)
    from streams.app import app, prepare

    prepare()
    app.main()


if __name__ == "__main__":
    main()
