"""`python -m bot`: settings → logging → resources (`async with`) → run the bot."""

from __future__ import annotations

import sys

from pydantic import ValidationError

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


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args:
        from bot.cli import run_command

        raise SystemExit(run_command(args))
    settings = _settings_or_exit()
    from bot.app import run

    run(settings)


if __name__ == "__main__":
    main(sys.argv[1:])
