"""`python -m bot [check | invite | backup PATH]`: without a command, settings → logging →
resources (`async with`) → run the bot; a command runs in `bot.cli`. `--help` at either level
prints usage and exits 0; a wrong command or argument prints a usage error and exits 2."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import ValidationError

from bot.cli import PROG, parse_args, run_command
from bot.settings import Settings, describe_errors, load_settings

EXIT_CONFIG = 2


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        print("Switchboard can't start:", file=sys.stderr)
        for line in describe_errors(exc):
            print(f"  - {line}", file=sys.stderr)
        print("Put these in .env (see .env.example) or the environment.", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _prog() -> str:
    """How the user called us: `python -m bot`, or the `switchboard` console script."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return PROG if name in {"", "-c", "__main__.py"} else name


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv, prog=_prog())
    if args.command is not None:
        raise SystemExit(run_command(args))
    settings = _settings_or_exit()
    from bot.app import run

    run(settings)


if __name__ == "__main__":
    main(sys.argv[1:])
