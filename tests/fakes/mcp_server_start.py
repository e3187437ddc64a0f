"""`python -m tests.fakes.mcp_server_start [--delay-start S] [--exit-at-start CODE] [...]`:
how a test starts `tests.fakes.mcp_server`, with two ways of starting badly handled before
the MCP SDK is imported.

`--delay-start S` sleeps S seconds, then serves (the other options go to the server): a
server slow to start, such as one waiting on a download, uses no CPU meanwhile, while the
SDK's import would cost a second of it. `--exit-at-start CODE` dies at once with a line on
stderr, as a server missing its configuration does.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time

SERVER = "tests.fakes.mcp_server"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.mcp_server_start")
    parser.add_argument("--delay-start", type=float, default=0.0)
    parser.add_argument("--exit-at-start", type=int, default=None)
    args, server_args = parser.parse_known_args()
    if args.exit_at_start is not None:
        sys.stderr.write("cannot start: configuration missing\n")
        raise SystemExit(args.exit_at_start)
    if args.delay_start:
        time.sleep(args.delay_start)
    sys.argv = [sys.argv[0], *server_args]
    runpy.run_module(SERVER, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
