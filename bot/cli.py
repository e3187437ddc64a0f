"""Operator commands: `python -m bot check | invite | backup PATH | migrate-to URL`.

`check` tells, one plain line each, what is fine and what is not (settings, database, the LLM
endpoint, the Discord token and its intents) without starting the bot; exit 0 when nothing is
wrong. `invite` prints the URL that adds the bot to a server with exactly the permissions it
needs. `backup` writes a consistent copy of the database, safe while the bot runs.
`migrate-to` copies the SQLite file into an empty PostgreSQL database and checks the copy.

The command line is an argparse parser (`build_parser`): `--help` at the top level and after
each command prints usage and exits 0; an unknown command or a missing argument prints a
usage error and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from pydantic import ValidationError

from bot import __version__
from bot.config_file import load_directory, load_mcp_servers
from bot.errors import ConfigurationError, UserFacingError
from bot.llm.client import LLMClient
from bot.llm.protocols import protocol_for
from bot.llm.providers import DEFAULT_PROVIDER, ModelDirectory
from bot.settings import Settings, describe_errors, load_settings
from bot.storage.database import Database, is_postgresql_url
from bot.storage.postgres_url import redacted
from bot.storage.transfer import TransferError, TransferReport, copy_database

# View Channels, Send Messages, Embed Links, Attach Files, Read Message History,
# Create Public Threads, Send Messages in Threads: nothing more is needed.
PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 35) | (1 << 38)
SCOPES = "bot%20applications.commands"
# Application flags saying the Message Content intent is enabled (GATEWAY_MESSAGE_CONTENT or
# its limited form for unverified bots under 100 servers).
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)
CHECK_TIMEOUT_S = 10.0

PROG = "python -m bot"
DESCRIPTION = "Switchboard: an LLM agent in Discord. Without a command, it starts the bot."
EPILOG = """\
Settings come from the environment or .env (see .env.example); without a command the bot
starts and runs until SIGTERM or Ctrl-C. `%(prog)s COMMAND --help` tells more about one
command. Exit codes: 0 fine, 1 a problem found, 2 a usage or settings error."""
# One entry per command: the one-line help (shown in the command list) and its description.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "check settings, database, LLM endpoint and Discord token; start nothing",
        "Tell, one plain line each, what is fine and what is not: the settings, the "
        "configuration file, the database, every LLM endpoint (and whether it lists the "
        "configured models), the Discord token and its Message Content intent. Starts "
        "nothing. Exit 0 when nothing is wrong, 1 when something is, 2 when settings are "
        "missing.",
    ),
    "invite": (
        "print the URL that adds the bot to a server",
        "Print the URL that adds the bot to a server with the scopes `bot "
        "applications.commands` and exactly the permissions it needs.",
    ),
    "backup": (
        "write a consistent copy of the database to PATH (safe while the bot runs)",
        "Write a consistent copy of the database to PATH, safe while the bot runs: "
        "SQLite's online backup of DATABASE_PATH (PATH must differ from it), or with "
        "DATABASE_URL a pg_dump archive (custom format, restore with pg_restore).",
    ),
    "migrate-to": (
        "copy the SQLite database into an empty PostgreSQL database at URL",
        "Copy everything in the SQLite file (DATABASE_PATH) into the empty PostgreSQL "
        "database at URL (postgresql://user:password@host/db), ledger included, and check "
        "the copy's row counts and money totals before keeping it. Stop the bot first; "
        "afterwards set DATABASE_URL=URL.",
    ),
}


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line: no command starts the bot; `check`, `invite`, `backup PATH`,
    `migrate-to URL`."""
    parser = argparse.ArgumentParser(
        prog=prog,
        usage="%(prog)s [-h] [check | invite | backup PATH | migrate-to URL]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command",
        title="commands",
        metavar="command",
        help="one of these; without one, start the bot",
        required=False,
    )
    for name, (summary, description) in COMMANDS.items():
        # prog spelled out: argparse would otherwise prefix the parent's whole usage line.
        command = commands.add_parser(
            name, prog=f"{prog} {name}", help=summary, description=description
        )
        if name == "backup":
            command.add_argument("path", metavar="PATH", type=Path, help="where to write the copy")
        if name == "migrate-to":
            command.add_argument("url", metavar="URL", help="the PostgreSQL database to fill")
    return parser


def parse_args(argv: Sequence[str], prog: str = PROG) -> argparse.Namespace:
    """Parse the command line; `--help` exits 0, a usage error prints usage and exits 2.

    `help [COMMAND]` is kept as a spelling of `[COMMAND] --help`.
    """
    args = list(argv)
    if args[:1] == ["help"]:
        args = [*args[1:2], "--help"]
    return build_parser(prog).parse_args(args)


@dataclass
class Report:
    out: TextIO = sys.stdout
    problems: int = 0
    lines: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self._say("✓", text)

    def warn(self, text: str) -> None:
        self._say("!", text)

    def bad(self, text: str) -> None:
        self.problems += 1
        self._say("✗", text)

    def _say(self, mark: str, text: str) -> None:
        line = f"{mark} {text}"
        self.lines.append(line)
        print(line, file=self.out, flush=True)


def invite_url(application_id: int) -> str:
    return (
        "https://discord.com/oauth2/authorize"
        f"?client_id={application_id}&scope={SCOPES}&permissions={PERMISSIONS}"
    )


async def _discord_get(
    http: aiohttp.ClientSession, settings: Settings, path: str
) -> tuple[int, Any]:
    headers = {
        "Authorization": f"Bot {settings.discord_token.get_secret_value()}",
        "User-Agent": f"DiscordBot (https://github.com/switchboard, {__version__})",
    }
    url = settings.discord_api_base + path
    async with http.get(url, headers=headers) as response:
        body = await response.json(content_type=None) if response.status < 500 else None
        return response.status, body


async def check(settings: Settings, report: Report) -> None:
    report.ok(f"settings: model {settings.llm_model} at {settings.llm_base_url}")
    directory: ModelDirectory | None = None
    try:
        directory = load_directory(settings)
    except ConfigurationError as exc:
        for problem in exc.problems:
            report.bad(problem)
    else:
        named = len(directory.providers) - 1
        if named:
            report.ok(f"{settings.config_file}: {named} providers, {len(directory.models)} models")
    await _check_database(settings, report)
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        if directory is not None:
            await _check_providers(settings, directory, http, report)
            await _check_mcp(settings, report)
        await _check_discord(settings, http, report)


async def _check_database(settings: Settings, report: Report) -> None:
    try:
        async with Database.open(settings.database_target) as db:
            version = await db.schema_version()
            async with db.reading() as conn:
                count = await conn.scalar("SELECT COUNT(*) FROM conversations")
        report.ok(f"database {settings.database_name}: schema v{version}, {count} conversations")
    except ConfigurationError as exc:
        for problem in exc.problems:
            report.bad(f"database: {problem}")
    except OSError as exc:
        report.bad(f"database {settings.database_path}: {exc.strerror or exc}")


async def _check_providers(
    settings: Settings, directory: ModelDirectory, http: aiohttp.ClientSession, report: Report
) -> None:
    """Every provider's endpoint answers, and lists the models configured for it."""
    wanted: dict[str, set[str]] = {name: set() for name in directory.providers}
    for ref in (settings.llm_model, *directory.models):
        provider, model = directory.split(ref)
        wanted[provider].add(model)
        for fallback in directory.resolve(ref).config.fallback:
            fallback_provider, fallback_model = directory.split(fallback)
            wanted[fallback_provider].add(fallback_model)
    for config in directory:
        label = "LLM endpoint" if config.name == DEFAULT_PROVIDER else f"provider {config.name}"
        client = LLMClient(
            http,
            config.base_url,
            config.api_key,
            protocol=protocol_for(config.protocol),
            connect_timeout=CHECK_TIMEOUT_S,
            first_byte_timeout=CHECK_TIMEOUT_S,
            max_retries=0,
        )
        try:
            models = await client.list_models()
        except UserFacingError as exc:
            report.bad(f"{label} {config.base_url}: {exc.user_message}")
            continue
        names = {m.id for m in models}
        report.ok(f"{label} {config.base_url} answers ({len(names)} models)")
        if not names:
            continue
        for model in sorted(wanted[config.name] | set(config.models or ())):
            if model not in names:
                ref = directory.reference(config.name, model)
                what = "LLM_MODEL " if ref == directory.canonical(settings.llm_model) else ""
                report.warn(f"{what}{ref} is not in the {label}'s model list")


async def _check_mcp(settings: Settings, report: Report) -> None:
    """Every MCP server of the configuration file starts and lists its tools."""
    servers = load_mcp_servers(settings)
    if not servers:
        return
    # Imported only here: the MCP SDK takes most of a second to load.
    from bot.tools.mcp.manager import check_servers

    for status in await check_servers(servers):
        if status.state == "ready":
            report.ok(f"MCP server {status.line()}")
        else:
            report.bad(f"MCP server {status.line()}")


async def _check_discord(settings: Settings, http: aiohttp.ClientSession, report: Report) -> None:
    try:
        status, me = await _discord_get(http, settings, "/users/@me")
        if status == 401:
            report.bad("Discord refused DISCORD_TOKEN: reset it in the Developer Portal (Bot)")
            return
        if status != 200 or not isinstance(me, dict):
            report.bad(f"Discord answered {status} to /users/@me at {settings.discord_api_base}")
            return
        report.ok(f"Discord token belongs to {me.get('username')} ({me.get('id')})")
        status, app = await _discord_get(http, settings, "/oauth2/applications/@me")
    except (aiohttp.ClientError, TimeoutError) as exc:
        report.bad(f"can't reach Discord at {settings.discord_api_base} ({type(exc).__name__})")
        return
    if status != 200 or not isinstance(app, dict):
        report.warn("could not read the application's settings (intents unknown)")
        return
    if int(app.get("flags") or 0) & MESSAGE_CONTENT_FLAGS:
        report.ok("Message Content intent is enabled")
    else:
        report.warn(
            "Message Content intent is off (Developer Portal → Bot → Privileged Gateway "
            "Intents): /chat, mentions and DMs work; thread follow-ups need a mention"
        )


async def invite(settings: Settings, out: TextIO) -> int:
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        try:
            status, app = await _discord_get(http, settings, "/oauth2/applications/@me")
        except (aiohttp.ClientError, TimeoutError) as exc:
            print(f"Can't reach Discord ({type(exc).__name__}).", file=sys.stderr)
            return 1
    if status != 200 or not isinstance(app, dict):
        print("Discord refused DISCORD_TOKEN; check it in the Developer Portal.", file=sys.stderr)
        return 1
    print(invite_url(int(app["id"])), file=out)
    return 0


async def _backup(source: Path | str, destination: Path) -> None:
    async with Database.open(source) as db:
        await db.backup(destination)


def backup(settings: Settings, destination: Path, out: TextIO) -> int:
    if settings.database_url.get_secret_value():
        try:
            asyncio.run(_backup(settings.database_target, destination))
        except ConfigurationError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return 1
        size = destination.stat().st_size
        print(f"Backed up {settings.database_name} to {destination} ({size:,} bytes).", file=out)
        return 0
    if destination.resolve() == settings.database_path.resolve():
        print("The backup path must differ from DATABASE_PATH.", file=sys.stderr)
        return 2
    if not settings.database_path.exists():
        print(f"There is no database at {settings.database_path} yet.", file=sys.stderr)
        return 1
    asyncio.run(_backup(settings.database_path, destination))
    size = destination.stat().st_size
    print(f"Backed up {settings.database_path} to {destination} ({size:,} bytes).", file=out)
    return 0


def migrate_to(settings: Settings, url: str, out: TextIO) -> int:
    if not is_postgresql_url(url):
        print("migrate-to needs a postgresql://user:password@host/db URL.", file=sys.stderr)
        return 2
    if not settings.database_path.exists():
        print(f"There is no database at {settings.database_path} to copy.", file=sys.stderr)
        return 1
    try:
        report = asyncio.run(_migrate_to(settings.database_path, url))
    except ConfigurationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except TransferError as exc:
        print(f"Nothing was copied: {exc}.", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line, file=out)
    print(f"Copied {settings.database_path} into {redacted(url)}; set DATABASE_URL.", file=out)
    return 0


async def _migrate_to(source: Path, url: str) -> TransferReport:
    async with Database.open(source) as old, Database.open(url) as new:
        return await copy_database(old, new)


def run_command(argv: Sequence[str] | argparse.Namespace) -> int:
    """Run an operator command; returns the process exit code.

    `argv` is the command line after `python -m bot` or what `parse_args` made of it. Help
    and usage errors end here with their exit code (0 and 2) instead of raising SystemExit.
    """
    if isinstance(argv, argparse.Namespace):
        args = argv
    else:
        try:
            args = parse_args(argv)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        build_parser().print_usage(sys.stderr)
        return 2
    try:
        settings = load_settings()
    except ValidationError as exc:
        report = Report()
        for line in describe_errors(exc):
            report.bad(line)
        return 2
    if args.command == "check":
        report = Report()
        asyncio.run(check(settings, report))
        if report.problems:
            print(f"{report.problems} problem(s) found.")
            return 1
        print("All good: `make run` (or `python -m bot`) starts the bot.")
        return 0
    if args.command == "invite":
        return asyncio.run(invite(settings, sys.stdout))
    if args.command == "migrate-to":
        return migrate_to(settings, str(args.url), sys.stdout)
    path: Path = args.path
    return backup(settings, path, sys.stdout)
